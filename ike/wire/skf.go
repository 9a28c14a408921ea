package wire

import (
	"encoding/binary"

	"golang.org/x/crypto/cryptobyte"
)

// skfHeaderLen is the length of the Encrypted Fragment payload header:
// the generic header, Fragment Number and Total Fragments (RFC 7383
// Section 2.5).
const skfHeaderLen = genericHeaderLen + 4

// SKF is the Encrypted Fragment payload (RFC 7383 Section 2.5). Parse keeps
// the fields as received, including numbers a Reassembler will discard.
type SKF struct {
	// NextPayload is the type of the first inner payload in fragment 1
	// and zero in the others.
	NextPayload PayloadType
	// Number is the fragment's number, from 1 to Total.
	Number uint16
	// Total is the number of fragments of the message.
	Total uint16
	// Body is the Initialization Vector, the ciphertext and the
	// Integrity Checksum Data, as in SK.
	Body []byte

	offset int // of the generic payload header in Message.Raw
}

// Type returns PayloadSKF.
func (*SKF) Type() PayloadType { return PayloadSKF }

func (p *SKF) decode(b []byte) error {
	// The header fields are reset; NextPayload and offset come from the
	// generic header, set by the caller.
	p.Number, p.Total, p.Body = 0, 0, nil
	s := cryptobyte.String(b)
	// RFC 7383 Section 2.5: Fragment Number (2 octets), Total Fragments
	// (2 octets), then as the Encrypted payload.
	if !s.ReadUint16(&p.Number) || !s.ReadUint16(&p.Total) {
		return errTruncated("SKF payload")
	}
	p.Body = clip(s)
	return nil
}

func (p *SKF) appendTo(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, p.Number)
	b = binary.BigEndian.AppendUint16(b, p.Total)
	return append(b, p.Body...)
}
