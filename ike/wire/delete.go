package wire

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// Delete is the Delete payload (RFC 7296 Section 3.11).
type Delete struct {
	// Protocol is IKE, to delete the IKE SA the message belongs to, or
	// AH or ESP, to delete the Child SAs whose inbound SPIs (from the
	// sender's view) are listed.
	Protocol ProtocolID
	// SPIs is empty for IKE.
	SPIs []uint32
}

// Type returns PayloadDelete.
func (*Delete) Type() PayloadType { return PayloadDelete }

func (p *Delete) decode(b []byte) error {
	*p = Delete{}
	s := cryptobyte.String(b)
	var proto, spiSize uint8
	var num uint16
	// RFC 7296 Section 3.11: Protocol ID (1 octet), SPI Size (1 octet),
	// Num of SPIs (2 octets), SPIs.
	if !s.ReadUint8(&proto) || !s.ReadUint8(&spiSize) || !s.ReadUint16(&num) {
		return errTruncated("Delete payload")
	}
	p.Protocol = ProtocolID(proto)
	// RFC 7296 Section 3.11: SPI Size is zero for IKE (the SPIs are in
	// the header), with no SPIs, and four for AH and ESP.
	if p.Protocol == ProtocolIKE {
		if spiSize != 0 || num != 0 {
			return errSyntax("Delete IKE with SPI size %d and %d SPIs", spiSize, num)
		}
		if !s.Empty() {
			return errSyntax("Delete IKE with %d octets of SPIs", len(s))
		}
		return nil
	}
	if spiSize != 4 {
		return errSyntax("Delete %s with SPI size %d", p.Protocol, spiSize)
	}
	if len(s) != 4*int(num) {
		if len(s) < 4*int(num) {
			return newError(ErrTruncated, "Delete %s: %d SPIs in %d octets", p.Protocol, num, len(s))
		}
		return errSyntax("Delete %s: %d SPIs in %d octets", p.Protocol, num, len(s))
	}
	if num > 0 {
		p.SPIs = make([]uint32, num)
		for i := range p.SPIs {
			s.ReadUint32(&p.SPIs[i])
		}
	}
	return nil
}

func (p *Delete) appendTo(b []byte) []byte {
	if p.Protocol == ProtocolIKE {
		return append(b, byte(ProtocolIKE), 0, 0, 0)
	}
	b = append(b, byte(p.Protocol), 4)
	b = binary.BigEndian.AppendUint16(b, uint16(len(p.SPIs)))
	for _, spi := range p.SPIs {
		b = binary.BigEndian.AppendUint32(b, spi)
	}
	return b
}

func (p *Delete) check() error {
	if p.Protocol == ProtocolIKE && len(p.SPIs) > 0 {
		return fmt.Errorf("wire: Delete IKE with %d SPIs", len(p.SPIs))
	}
	if len(p.SPIs) > 0xffff {
		return fmt.Errorf("wire: Delete with %d SPIs", len(p.SPIs))
	}
	return nil
}
