package wire

import (
	"encoding/binary"
	"fmt"
	"strings"

	"golang.org/x/crypto/cryptobyte"
)

// V1Payload is one payload of an IKEv1 message: one of *V1SA, *V1KE, *V1ID,
// *V1Cert, *V1CertReq, *V1Hash, *V1Signature, *V1Nonce, *V1Notify,
// *V1Delete, *V1VendorID, *V1Attributes, *V1NATD, *V1NATOA, *V1Fragment and
// *V1Unknown. Use a type switch to get at the contents.
//
// The generic payload header (RFC 2408 Section 3.2) is not part of the
// payload structs: marshalling derives Next Payload from the list and
// Payload Length from the body, and sends RESERVED as zero.
type V1Payload interface {
	// Type returns the payload type.
	Type() V1PayloadType

	// decode parses the body (the octets after the generic payload
	// header), resetting the payload first but keeping what its type
	// selects (the draft flag of NAT-D and NAT-OA, the kind of an
	// unknown payload). The payload keeps sub-slices of body.
	decode(body []byte) error
	// appendTo appends the body to b.
	appendTo(b []byte) []byte
}

// newV1Payload returns an empty payload of a type this package knows, or
// nil.
func newV1Payload(t V1PayloadType) V1Payload {
	switch t {
	case V1PayloadSA:
		return new(V1SA)
	case V1PayloadKE:
		return new(V1KE)
	case V1PayloadID:
		return new(V1ID)
	case V1PayloadCert:
		return new(V1Cert)
	case V1PayloadCertReq:
		return new(V1CertReq)
	case V1PayloadHash:
		return new(V1Hash)
	case V1PayloadSignature:
		return new(V1Signature)
	case V1PayloadNonce:
		return new(V1Nonce)
	case V1PayloadNotify:
		return new(V1Notify)
	case V1PayloadDelete:
		return new(V1Delete)
	case V1PayloadVendorID:
		return new(V1VendorID)
	case V1PayloadAttributes:
		return new(V1Attributes)
	case V1PayloadNATD:
		return new(V1NATD)
	case V1PayloadNATDDraft:
		return &V1NATD{Draft: true}
	case V1PayloadNATOA:
		return new(V1NATOA)
	case V1PayloadNATOADraft:
		return &V1NATOA{Draft: true}
	case V1PayloadFragment:
		return new(V1Fragment)
	}
	return nil
}

// readV1Chain parses a chain of IKEv1 payloads starting with type first
// from s. If padded, the chain is a decrypted body and octets after its
// last payload are padding (RFC 2409 Section 5.3); otherwise s must be
// consumed exactly.
func readV1Chain(s cryptobyte.String, first V1PayloadType, padded bool) ([]V1Payload, error) {
	out := make([]V1Payload, 0, countV1Chain(s, first))
	next := first
	for i := 0; next != V1PayloadNone; i++ {
		t := next
		var n, reserved uint8
		var length uint16
		// RFC 2408 Section 3.2: Next Payload (1 octet), RESERVED (1
		// octet, zero; ignored on receipt), Payload Length (2 octets,
		// including the generic payload header).
		if !s.ReadUint8(&n) || !s.ReadUint8(&reserved) || !s.ReadUint16(&length) {
			return nil, withContext(errTruncated("generic payload header"), "payload %d (%s)", i+1, t)
		}
		if length < genericHeaderLen {
			return nil, errSyntax("payload %d (%s): length %d", i+1, t, length)
		}
		var body []byte
		if !s.ReadBytes(&body, int(length)-genericHeaderLen) {
			return nil, newError(ErrTruncated, "payload %d (%s): length %d, %d octets left",
				i+1, t, length, len(s)+genericHeaderLen)
		}
		next = V1PayloadType(n)
		p := newV1Payload(t)
		if p == nil {
			// Kept for the caller to decide: answer
			// INVALID-PAYLOAD-TYPE (RFC 2408 Section 5.2) or skip
			// an extension it does not use.
			p = &V1Unknown{Kind: t}
		}
		if err := p.decode(body); err != nil {
			return nil, withContext(err, "payload %d (%s)", i+1, t)
		}
		out = append(out, p)
	}
	if !padded && !s.Empty() {
		return nil, errSyntax("%d octets after the last payload", len(s))
	}
	return out, nil
}

// countV1Chain returns the number of payloads readV1Chain will find if the
// chain is well formed, to size its result in one allocation.
func countV1Chain(s cryptobyte.String, next V1PayloadType) int {
	n := 0
	for next != V1PayloadNone && len(s) >= genericHeaderLen {
		n++
		length := int(s[2])<<8 | int(s[3])
		if length < genericHeaderLen || length > len(s) {
			break
		}
		next = V1PayloadType(s[0])
		s = s[length:]
	}
	return n
}

// appendV1Chain appends the payloads with their generic headers; the last
// one's Next Payload is zero.
func appendV1Chain(b []byte, ps []V1Payload) ([]byte, error) {
	if err := checkV1Payloads(ps); err != nil {
		return nil, err
	}
	for i, p := range ps {
		next := V1PayloadNone
		if i+1 < len(ps) {
			next = ps[i+1].Type()
		}
		start := len(b)
		b = append(b, byte(next), 0, 0, 0)
		b = p.appendTo(b)
		n := len(b) - start
		if n > 0xffff {
			return nil, fmt.Errorf("wire: %s payload of %d octets", p.Type(), n)
		}
		binary.BigEndian.PutUint16(b[start+2:], uint16(n))
	}
	return b, nil
}

// checkV1Payloads checks the limits of payloads that have them.
func checkV1Payloads(ps []V1Payload) error {
	for i, p := range ps {
		if p == nil {
			return fmt.Errorf("wire: nil IKEv1 payload %d", i+1)
		}
		if u, ok := p.(*V1Unknown); ok && (u.Kind == V1PayloadNone || newV1Payload(u.Kind) != nil) {
			return fmt.Errorf("wire: V1Unknown payload with type %s", u.Kind)
		}
		if c, ok := p.(checker); ok {
			if err := c.check(); err != nil {
				return err
			}
		}
	}
	return nil
}

// ParseV1Payloads parses the payloads of a decrypted IKEv1 message body:
// first is the Next Payload of the ISAKMP header and plaintext the
// decrypted octets after the header. The chain ends with the payload whose
// Next Payload is zero; the octets after it are the padding of the cipher
// block (RFC 2409 Section 5.3) and are ignored. The payloads alias
// plaintext.
func ParseV1Payloads(first V1PayloadType, plaintext []byte) ([]V1Payload, error) {
	return readV1Chain(cryptobyte.String(plaintext), first, true)
}

// MarshalV1Payloads encodes a chain of payloads with their generic headers,
// as the body of an IKEv1 message before encryption, or as the payloads a
// Quick Mode or Informational HASH is computed over (RFC 2409 Sections 5.5
// and 5.7). The Next Payload of the ISAKMP header is ps[0].Type().
func MarshalV1Payloads(ps []V1Payload) ([]byte, error) {
	return appendV1Chain(nil, ps)
}

// FormatV1Payloads lists payload types the way charon logs them, for
// example "SA V V V V" or "HASH N(INITIAL-CONTACT)".
func FormatV1Payloads(ps []V1Payload) string {
	var sb strings.Builder
	for i, p := range ps {
		if i > 0 {
			sb.WriteByte(' ')
		}
		switch q := p.(type) {
		case *V1Notify:
			sb.WriteString("N(")
			sb.WriteString(q.Kind.String())
			sb.WriteByte(')')
		case *V1Attributes:
			sb.WriteString(q.CfgType.String())
		case *V1Unknown:
			fmt.Fprintf(&sb, "UNKNOWN(%d)", uint8(q.Kind))
		case *V1Fragment:
			fmt.Fprintf(&sb, "FRAG(%d)", q.Number)
		default:
			sb.WriteString(p.Type().String())
		}
	}
	return sb.String()
}

// V1Attribute is a data attribute (RFC 2408 Section 3.3): of a transform,
// of a Configuration payload, or of the RESPONDER-LIFETIME notification.
// In TV ("basic") format the value is the 16-bit Value and Data is nil; in
// TLV ("variable") format the value is Data.
type V1Attribute struct {
	Type  V1AttrType // 15 bits
	TV    bool
	Value uint16 // TV format
	Data  []byte // TLV format
}

// V1AttrUint returns an attribute holding v: in TV format when it fits in
// 16 bits, else in TLV format with 4 or 8 octets, as RFC 2409 Appendix A
// allows for Life Duration.
func V1AttrUint(t V1AttrType, v uint64) V1Attribute {
	switch {
	case v <= 0xffff:
		return V1Attribute{Type: t, TV: true, Value: uint16(v)}
	case v <= 0xffffffff:
		return V1Attribute{Type: t, Data: binary.BigEndian.AppendUint32(nil, uint32(v))}
	}
	return V1Attribute{Type: t, Data: binary.BigEndian.AppendUint64(nil, v)}
}

// Uint64 returns the value of a TV attribute, or of a TLV attribute of at
// most 8 octets read as a big-endian integer (RFC 2408 Section 3.3; Life
// Duration is often sent as 4 octets). An empty TLV value is zero. It
// returns false for longer values.
func (a V1Attribute) Uint64() (uint64, bool) {
	if a.TV {
		return uint64(a.Value), true
	}
	if len(a.Data) > 8 {
		return 0, false
	}
	var v uint64
	for _, c := range a.Data {
		v = v<<8 | uint64(c)
	}
	return v, true
}

// v1AttrTVBit is the AF bit: set for TV format.
const v1AttrTVBit = 0x8000

// readV1Attributes parses data attributes until s is empty.
func readV1Attributes(s cryptobyte.String) ([]V1Attribute, error) {
	var out []V1Attribute
	for i := 1; !s.Empty(); i++ {
		// RFC 2408 Section 3.3: AF (1 bit), Attribute Type (15
		// bits), then the value (TV) or its length and the value (TLV).
		var typeField, lv uint16
		if !s.ReadUint16(&typeField) || !s.ReadUint16(&lv) {
			return nil, newError(ErrTruncated, "attribute %d: truncated header", i)
		}
		a := V1Attribute{Type: V1AttrType(typeField &^ v1AttrTVBit), TV: typeField&v1AttrTVBit != 0}
		if a.TV {
			a.Value = lv
		} else {
			var data []byte
			if !s.ReadBytes(&data, int(lv)) {
				return nil, newError(ErrTruncated, "attribute %d (type %d): length %d, %d octets left", i, a.Type, lv, len(s))
			}
			a.Data = clip(data)
		}
		out = append(out, a)
	}
	return out, nil
}

// appendV1Attributes appends the attributes.
func appendV1Attributes(b []byte, as []V1Attribute) []byte {
	for _, a := range as {
		typeField := uint16(a.Type) &^ v1AttrTVBit
		if a.TV {
			b = binary.BigEndian.AppendUint16(b, typeField|v1AttrTVBit)
			b = binary.BigEndian.AppendUint16(b, a.Value)
		} else {
			b = binary.BigEndian.AppendUint16(b, typeField)
			b = binary.BigEndian.AppendUint16(b, uint16(len(a.Data)))
			b = append(b, a.Data...)
		}
	}
	return b
}

// checkV1Attributes checks that the attributes fit in limit octets and
// that TV attributes carry no Data.
func checkV1Attributes(as []V1Attribute, limit int) error {
	n := 0
	for _, a := range as {
		if a.TV && len(a.Data) > 0 {
			return fmt.Errorf("wire: TV attribute %d with data", a.Type)
		}
		if a.Type > 0x7fff {
			return fmt.Errorf("wire: attribute type %d", a.Type)
		}
		n += attributeHdrLen + len(a.Data)
		if len(a.Data) > 0xffff || n > limit {
			return fmt.Errorf("wire: %d octets of attributes", n)
		}
	}
	return nil
}

// findV1Attribute returns the first attribute of type t.
func findV1Attribute(as []V1Attribute, t V1AttrType) (V1Attribute, bool) {
	for _, a := range as {
		if a.Type == t {
			return a, true
		}
	}
	return V1Attribute{}, false
}
