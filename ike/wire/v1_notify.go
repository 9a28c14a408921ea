package wire

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// V1Notify is the IKEv1 Notification payload (RFC 2408 Section 3.14).
type V1Notify struct {
	DOI      V1DOI
	Protocol V1ProtocolID
	// SPI is that of the SA the notification is about: for ISAKMP
	// usually the 16-octet cookie pair (CKY-I | CKY-R) or empty, 4 octets
	// for AH and ESP.
	SPI  []byte
	Kind V1NotifyType
	// Data is the notification data, whose format Kind determines: the
	// sequence number of R-U-THERE, attributes for RESPONDER-LIFETIME.
	Data []byte
}

// Type returns V1PayloadNotify.
func (*V1Notify) Type() V1PayloadType { return V1PayloadNotify }

func (p *V1Notify) decode(b []byte) error {
	*p = V1Notify{}
	s := cryptobyte.String(b)
	var doi uint32
	var proto, spiSize uint8
	var kind uint16
	// RFC 2408 Section 3.14: DOI (4 octets), Protocol-ID (1 octet),
	// SPI Size (1 octet), Notify Message Type (2 octets), SPI,
	// Notification Data.
	if !s.ReadUint32(&doi) || !s.ReadUint8(&proto) || !s.ReadUint8(&spiSize) || !s.ReadUint16(&kind) {
		return errTruncated("Notification payload")
	}
	p.DOI = V1DOI(doi)
	p.Protocol = V1ProtocolID(proto)
	p.Kind = V1NotifyType(kind)
	var spi []byte
	if !s.ReadBytes(&spi, int(spiSize)) {
		return newError(ErrTruncated, "%s: SPI size %d, %d octets left", p.Kind, spiSize, len(s))
	}
	p.SPI = clip(spi)
	p.Data = clip(s)
	switch p.Kind {
	case V1NotifyRUThere, V1NotifyRUThereAck:
		// RFC 3706 Section 5.1: a 4-octet sequence number.
		if len(p.Data) != 4 {
			return errSyntax("%s with %d octets of data", p.Kind, len(p.Data))
		}
	case V1NotifyResponderLifetime:
		// RFC 2407 Section 4.6.3.1: SA attributes.
		if _, err := readV1Attributes(cryptobyte.String(p.Data)); err != nil {
			return withContext(err, "%s", p.Kind)
		}
	}
	return nil
}

// Sequence returns the sequence number of an R-U-THERE or R-U-THERE-ACK
// notification (RFC 3706 Section 5.1).
func (p *V1Notify) Sequence() (uint32, bool) {
	if (p.Kind != V1NotifyRUThere && p.Kind != V1NotifyRUThereAck) || len(p.Data) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(p.Data), true
}

// Attributes returns the SA attributes of a RESPONDER-LIFETIME
// notification (RFC 2407 Section 4.6.3.1).
func (p *V1Notify) Attributes() ([]V1Attribute, error) {
	if p.Kind != V1NotifyResponderLifetime {
		return nil, errSyntax("%s carries no attributes", p.Kind)
	}
	return readV1Attributes(cryptobyte.String(p.Data))
}

func (p *V1Notify) appendTo(b []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(p.DOI))
	b = append(b, byte(p.Protocol), byte(len(p.SPI)))
	b = binary.BigEndian.AppendUint16(b, uint16(p.Kind))
	b = append(b, p.SPI...)
	return append(b, p.Data...)
}

func (p *V1Notify) check() error {
	if len(p.SPI) > 255 {
		return fmt.Errorf("wire: %s with an SPI of %d octets", p.Kind, len(p.SPI))
	}
	if (p.Kind == V1NotifyRUThere || p.Kind == V1NotifyRUThereAck) && len(p.Data) != 4 {
		return fmt.Errorf("wire: %s with %d octets of data", p.Kind, len(p.Data))
	}
	if p.Kind == V1NotifyResponderLifetime {
		if _, err := readV1Attributes(cryptobyte.String(p.Data)); err != nil {
			return fmt.Errorf("wire: %s: %v", p.Kind, err)
		}
	}
	return nil
}

// V1Delete is the IKEv1 Delete payload (RFC 2408 Section 3.15).
type V1Delete struct {
	DOI      V1DOI
	Protocol V1ProtocolID
	// SPIs are the SAs to delete, all of the same size: for ISAKMP the
	// 16-octet cookie pair (CKY-I | CKY-R), for AH and ESP the 4-octet
	// inbound SPI of the sender.
	SPIs [][]byte
}

// Type returns V1PayloadDelete.
func (*V1Delete) Type() V1PayloadType { return V1PayloadDelete }

func (p *V1Delete) decode(b []byte) error {
	*p = V1Delete{}
	s := cryptobyte.String(b)
	var doi uint32
	var proto, spiSize uint8
	var num uint16
	// RFC 2408 Section 3.15: DOI (4 octets), Protocol-Id (1 octet),
	// SPI Size (1 octet), # of SPIs (2 octets), SPIs.
	if !s.ReadUint32(&doi) || !s.ReadUint8(&proto) || !s.ReadUint8(&spiSize) || !s.ReadUint16(&num) {
		return errTruncated("Delete payload")
	}
	p.DOI = V1DOI(doi)
	p.Protocol = V1ProtocolID(proto)
	if spiSize == 0 || num == 0 {
		return errSyntax("Delete %s with SPI size %d and %d SPIs", p.Protocol, spiSize, num)
	}
	want := int(spiSize) * int(num)
	if len(s) != want {
		if len(s) < want {
			return newError(ErrTruncated, "Delete %s: %d SPIs of %d octets in %d octets", p.Protocol, num, spiSize, len(s))
		}
		return errSyntax("Delete %s: %d SPIs of %d octets in %d octets", p.Protocol, num, spiSize, len(s))
	}
	p.SPIs = make([][]byte, num)
	for i := range p.SPIs {
		p.SPIs[i] = clip(s[i*int(spiSize) : (i+1)*int(spiSize)])
	}
	return nil
}

func (p *V1Delete) appendTo(b []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(p.DOI))
	size := 0
	if len(p.SPIs) > 0 {
		size = len(p.SPIs[0])
	}
	b = append(b, byte(p.Protocol), byte(size))
	b = binary.BigEndian.AppendUint16(b, uint16(len(p.SPIs)))
	for _, spi := range p.SPIs {
		b = append(b, spi...)
	}
	return b
}

func (p *V1Delete) check() error {
	if len(p.SPIs) == 0 || len(p.SPIs) > 0xffff {
		return fmt.Errorf("wire: IKEv1 Delete with %d SPIs", len(p.SPIs))
	}
	size := len(p.SPIs[0])
	for _, spi := range p.SPIs {
		if len(spi) != size || size == 0 || size > 255 {
			return fmt.Errorf("wire: IKEv1 Delete with SPIs of %d and %d octets", size, len(spi))
		}
	}
	return nil
}
