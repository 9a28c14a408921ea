package wire

import (
	"encoding/binary"

	"golang.org/x/crypto/cryptobyte"
)

// KE is the Key Exchange payload (RFC 7296 Section 3.4).
type KE struct {
	// Group is the key exchange method of Data; it must match a
	// method of the proposal, or the peer answers INVALID_KE_PAYLOAD.
	Group DHGroup
	// Data is the public value, whose length the group fixes (checked
	// by the key exchange, not here).
	Data []byte
}

// Type returns PayloadKE.
func (*KE) Type() PayloadType { return PayloadKE }

func (p *KE) decode(b []byte) error {
	*p = KE{}
	s := cryptobyte.String(b)
	var group, reserved uint16
	// RFC 7296 Section 3.4: Diffie-Hellman Group Num (2 octets),
	// RESERVED (2 octets, ignored on receipt), Key Exchange Data.
	if !s.ReadUint16(&group) || !s.ReadUint16(&reserved) {
		return errTruncated("KE payload")
	}
	p.Group = DHGroup(group)
	p.Data = clip(s)
	return nil
}

func (p *KE) appendTo(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(p.Group))
	b = append(b, 0, 0)
	return append(b, p.Data...)
}
