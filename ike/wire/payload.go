package wire

import (
	"encoding/binary"
	"fmt"
	"strings"

	"golang.org/x/crypto/cryptobyte"
)

// PayloadType is the type of a payload, as carried in the Next Payload field
// of the preceding header (RFC 7296 Section 3.2; IANA "IKEv2 Payload Types").
// The names are the notation of RFC 7296 Section 3.2, except the nonce,
// which is "No" as in charon's logs since Ni and Nr depend on direction.
type PayloadType uint8

// Payload types. Types 1-32 are IKEv1's and are unknown to IKEv2.
const (
	PayloadNone     PayloadType = 0  // NONE
	PayloadSA       PayloadType = 33 // SA
	PayloadKE       PayloadType = 34 // KE
	PayloadIDi      PayloadType = 35 // IDi
	PayloadIDr      PayloadType = 36 // IDr
	PayloadCert     PayloadType = 37 // CERT
	PayloadCertReq  PayloadType = 38 // CERTREQ
	PayloadAuth     PayloadType = 39 // AUTH
	PayloadNonce    PayloadType = 40 // No
	PayloadNotify   PayloadType = 41 // N
	PayloadDelete   PayloadType = 42 // D
	PayloadVendorID PayloadType = 43 // V
	PayloadTSi      PayloadType = 44 // TSi
	PayloadTSr      PayloadType = 45 // TSr
	PayloadSK       PayloadType = 46 // SK
	PayloadCP       PayloadType = 47 // CP
	PayloadEAP      PayloadType = 48 // EAP
	PayloadGSPM     PayloadType = 49 // GSPM
	PayloadIDg      PayloadType = 50 // IDg
	PayloadGSA      PayloadType = 51 // GSA
	PayloadKD       PayloadType = 52 // KD
	PayloadSKF      PayloadType = 53 // SKF
	PayloadPS       PayloadType = 54 // PS
)

// Payload is one payload of a message: one of *SA, *KE, *ID, *Cert,
// *CertReq, *Auth, *Nonce, *Notify, *Delete, *VendorID, *TS, *CP, *EAP,
// *SK, *SKF and *Unknown. Use a type switch to get at the contents.
//
// The generic payload header (RFC 7296 Section 3.2) is not part of the
// payload structs: Marshal derives Next Payload from the list and Payload
// Length from the body, and sends the critical bit clear for every type
// this package knows.
type Payload interface {
	// Type returns the payload type.
	Type() PayloadType

	// decode parses the body (the octets after the generic payload
	// header), resetting the payload first. The payload keeps
	// sub-slices of body.
	decode(body []byte) error
	// appendTo appends the body to b.
	appendTo(b []byte) []byte
}

// newPayload returns an empty payload of a type this package knows, or nil.
func newPayload(t PayloadType) Payload {
	switch t {
	case PayloadSA:
		return new(SA)
	case PayloadKE:
		return new(KE)
	case PayloadIDi:
		return new(ID)
	case PayloadIDr:
		return &ID{Responder: true}
	case PayloadCert:
		return new(Cert)
	case PayloadCertReq:
		return new(CertReq)
	case PayloadAuth:
		return new(Auth)
	case PayloadNonce:
		return new(Nonce)
	case PayloadNotify:
		return new(Notify)
	case PayloadDelete:
		return new(Delete)
	case PayloadVendorID:
		return new(VendorID)
	case PayloadTSi:
		return new(TS)
	case PayloadTSr:
		return &TS{Responder: true}
	case PayloadSK:
		return new(SK)
	case PayloadCP:
		return new(CP)
	case PayloadEAP:
		return new(EAP)
	case PayloadSKF:
		return new(SKF)
	}
	return nil
}

// knownPayload reports whether Parse decodes payloads of type t itself
// rather than as *Unknown.
func knownPayload(t PayloadType) bool { return newPayload(t) != nil }

// genericHeaderLen is the length of the generic payload header.
const genericHeaderLen = 4

// criticalBit is the C flag of the generic payload header.
const criticalBit = 0x80

// readChain parses a chain of payloads starting with type first from s,
// which must be consumed exactly. base is the offset of s in the message,
// for the SK and SKF payloads that record where they start. If inner, the
// chain is the plaintext of an SK or SKF payload, which must not contain
// another one.
func readChain(s cryptobyte.String, first PayloadType, base int, inner bool) ([]Payload, error) {
	out := make([]Payload, 0, countChain(s, first))
	total := len(s)
	next := first
	for i := 0; next != PayloadNone; i++ {
		t := next
		off := base + total - len(s)
		var n, flags uint8
		var length uint16
		// RFC 7296 Section 3.2: Next Payload (1 octet), C (1 bit),
		// RESERVED (7 bits, ignored on receipt), Payload Length
		// (2 octets, including the generic payload header).
		if !s.ReadUint8(&n) || !s.ReadUint8(&flags) || !s.ReadUint16(&length) {
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
		next = PayloadType(n)

		p := newPayload(t)
		if p == nil {
			// RFC 7296 Section 2.5: an unrecognized payload with the
			// critical bit set fails the whole message; the answer
			// carries the payload type as notification data.
			if flags&criticalBit != 0 {
				e := newError(ErrUnsupportedCritical, "payload %d: unsupported critical payload type %d", i+1, uint8(t))
				e.Data = []byte{byte(t)}
				return nil, e
			}
			out = append(out, &Unknown{Kind: t, Body: clip(body)})
			continue
		}
		switch q := p.(type) {
		case *SK:
			q.NextPayload, q.offset = next, off
		case *SKF:
			q.NextPayload, q.offset = next, off
		}
		if err := p.decode(body); err != nil {
			return nil, withContext(err, "payload %d (%s)", i+1, t)
		}
		if t == PayloadSK || t == PayloadSKF {
			// RFC 7296 Section 3.14: no encrypted payload inside
			// another; RFC 7296 Section 3.14 and RFC 7383
			// Section 2.5: it is the last payload, and its Next
			// Payload names the first inner payload instead.
			if inner {
				return nil, errSyntax("payload %d: %s inside an encrypted payload", i+1, t)
			}
			out = append(out, p)
			break
		}
		out = append(out, p)
	}
	if !s.Empty() {
		return nil, errSyntax("%d octets after the last payload", len(s))
	}
	return out, nil
}

// countChain returns the number of payloads readChain will find if the
// chain is well formed, to size its result in one allocation.
func countChain(s cryptobyte.String, next PayloadType) int {
	n := 0
	for next != PayloadNone && len(s) >= genericHeaderLen {
		n++
		if next == PayloadSK || next == PayloadSKF {
			break
		}
		length := int(s[2])<<8 | int(s[3])
		if length < genericHeaderLen || length > len(s) {
			break
		}
		next = PayloadType(s[0])
		s = s[length:]
	}
	return n
}

// appendChain appends the payloads with their generic headers. The last
// payload's Next Payload is zero, or for SK and SKF the type of the first
// inner payload; an SK or SKF payload must come last.
func appendChain(b []byte, ps []Payload) ([]byte, error) {
	for i, p := range ps {
		t := p.Type()
		next := PayloadNone
		if i+1 < len(ps) {
			next = ps[i+1].Type()
		}
		var flags byte
		switch q := p.(type) {
		case *SK:
			if i != len(ps)-1 {
				return nil, fmt.Errorf("wire: SK payload %d of %d is not the last", i+1, len(ps))
			}
			next = q.NextPayload
		case *SKF:
			if i != len(ps)-1 {
				return nil, fmt.Errorf("wire: SKF payload %d of %d is not the last", i+1, len(ps))
			}
			next = q.NextPayload
		case *Unknown:
			if knownPayload(q.Kind) || q.Kind == PayloadNone {
				return nil, fmt.Errorf("wire: Unknown payload with type %s", q.Kind)
			}
			if q.Critical {
				flags = criticalBit
			}
		}
		start := len(b)
		b = append(b, byte(next), flags, 0, 0)
		b = p.appendTo(b)
		n := len(b) - start
		if n > 0xffff {
			return nil, fmt.Errorf("wire: %s payload of %d octets", t, n)
		}
		binary.BigEndian.PutUint16(b[start+2:], uint16(n))
	}
	return b, nil
}

// FormatPayloads lists payload types the way charon logs them, for example
// "SA KE No N(NAT_DETECTION_SOURCE_IP) V".
func FormatPayloads(ps []Payload) string {
	var sb strings.Builder
	for i, p := range ps {
		if i > 0 {
			sb.WriteByte(' ')
		}
		switch q := p.(type) {
		case *Notify:
			sb.WriteString("N(")
			sb.WriteString(q.Kind.String())
			sb.WriteByte(')')
		case *CP:
			sb.WriteString("CP(")
			sb.WriteString(q.CfgType.String())
			sb.WriteByte(')')
		case *Unknown:
			fmt.Fprintf(&sb, "UNKNOWN(%d)", uint8(q.Kind))
		case *SKF:
			fmt.Fprintf(&sb, "SKF(%d/%d)", q.Number, q.Total)
		default:
			sb.WriteString(p.Type().String())
		}
	}
	return sb.String()
}

// clip returns b with its capacity cut to its length, so that appending to
// a parsed field never overwrites the message it aliases, or nil if b is
// empty, so that parsed and constructed payloads compare equal.
func clip(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b[:len(b):len(b)]
}
