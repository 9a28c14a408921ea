package wire

import (
	"crypto/sha1"
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// Notify is the Notify payload (RFC 7296 Section 3.10).
type Notify struct {
	// Protocol is AH or ESP when SPI names a Child SA; it is sent as
	// zero, and read as zero, when SPI is empty.
	Protocol ProtocolID
	// SPI is empty for notifications about the IKE SA; 4 octets for AH
	// and ESP.
	SPI  []byte
	Kind NotifyType
	// Data is the notification data, whose format Kind determines.
	Data []byte
}

// Type returns PayloadNotify.
func (*Notify) Type() PayloadType { return PayloadNotify }

func (p *Notify) decode(b []byte) error {
	*p = Notify{}
	s := cryptobyte.String(b)
	var proto, spiSize uint8
	var kind uint16
	// RFC 7296 Section 3.10: Protocol ID (1 octet), SPI Size (1 octet),
	// Notify Message Type (2 octets), SPI, Notification Data.
	if !s.ReadUint8(&proto) || !s.ReadUint8(&spiSize) || !s.ReadUint16(&kind) {
		return errTruncated("Notify payload")
	}
	p.Kind = NotifyType(kind)
	// RFC 7296 Section 3.10: the SPI Size is that of the protocol's SPI,
	// or zero; the IKE SA's SPIs are in the header (strongSwan also takes
	// 8 for IKE, as IKEv1 notifications have it).
	switch ProtocolID(proto) {
	case ProtocolNone, ProtocolIKE:
		if spiSize != 0 && spiSize != 8 {
			return errSyntax("%s: IKE SPI size %d", p.Kind, spiSize)
		}
	case ProtocolAH, ProtocolESP:
		if spiSize != 0 && spiSize != 4 {
			return errSyntax("%s: %s SPI size %d", p.Kind, ProtocolID(proto), spiSize)
		}
	}
	var spi []byte
	if !s.ReadBytes(&spi, int(spiSize)) {
		return newError(ErrTruncated, "%s: SPI size %d, %d octets left", p.Kind, spiSize, len(s))
	}
	// RFC 7296 Section 3.10: with no SPI, the Protocol ID is sent as zero
	// and ignored on receipt.
	if spiSize > 0 {
		p.Protocol = ProtocolID(proto)
		p.SPI = clip(spi)
	}
	p.Data = clip(s)
	if err := checkNotifyData(p.Kind, p.Data); err != nil {
		return err
	}
	return nil
}

// checkNotifyData checks the length of the notification data of the types
// whose data has a fixed form.
func checkNotifyData(kind NotifyType, data []byte) error {
	ok := true
	switch kind {
	case NotifyNATDetectionSourceIP, NotifyNATDetectionDestinationIP:
		// RFC 7296 Section 2.23: a SHA-1 hash.
		ok = len(data) == sha1.Size
	case NotifyInvalidKEPayload:
		// RFC 7296 Section 3.10.1: the accepted DH group, 2 octets.
		ok = len(data) == 2
	case NotifyCookie:
		// RFC 7296 Section 2.6: between 1 and 64 octets.
		ok = len(data) >= 1 && len(data) <= 64
	case NotifySetWindowSize, NotifyAuthLifetime:
		// RFC 7296 Section 3.10.1, RFC 4478 Section 3: 4 octets.
		ok = len(data) == 4
	case NotifyIPCompSupported:
		// RFC 7296 Section 3.10.1: CPI (2 octets), Transform ID
		// (1 octet).
		ok = len(data) == 3
	case NotifyAdditionalIP4Address:
		// RFC 4555 Section 4.3.
		ok = len(data) == 4
	case NotifyAdditionalIP6Address:
		ok = len(data) == 16
	case NotifySignatureHashAlgorithms:
		// RFC 7427 Section 4: a list of 2-octet hash algorithm IDs.
		ok = len(data)%2 == 0
	}
	if !ok {
		return errSyntax("%s with %d octets of data", kind, len(data))
	}
	return nil
}

// SignatureHashAlgorithms returns the hash algorithm identifiers of a
// SIGNATURE_HASH_ALGORITHMS notification (RFC 7427 Section 4).
func (p *Notify) SignatureHashAlgorithms() []uint16 {
	out := make([]uint16, 0, len(p.Data)/2)
	for d := p.Data; len(d) >= 2; d = d[2:] {
		out = append(out, binary.BigEndian.Uint16(d))
	}
	return out
}

func (p *Notify) appendTo(b []byte) []byte {
	proto := p.Protocol
	if len(p.SPI) == 0 {
		proto = ProtocolNone
	}
	b = append(b, byte(proto), byte(len(p.SPI)))
	b = binary.BigEndian.AppendUint16(b, uint16(p.Kind))
	b = append(b, p.SPI...)
	return append(b, p.Data...)
}

func (p *Notify) check() error {
	if len(p.SPI) > 255 {
		return fmt.Errorf("wire: %s with an SPI of %d octets", p.Kind, len(p.SPI))
	}
	return nil
}
