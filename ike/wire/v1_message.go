package wire

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// V1HeaderLen is the length of the ISAKMP header (RFC 2408 Section 3.1),
// the same as that of the IKEv2 header.
const V1HeaderLen = HeaderLen

// V1Header is the ISAKMP header (RFC 2408 Section 3.1).
//
// Marshal computes Length, and NextPayload unless the message is
// encrypted; a zero MajorVersion is sent as 1.
type V1Header struct {
	InitiatorCookie uint64 // CKY-I, never zero
	ResponderCookie uint64 // CKY-R, zero in the first message of Phase 1
	// NextPayload is the type of the first payload; in an encrypted
	// message, the type of the first payload of the plaintext.
	NextPayload  V1PayloadType
	MajorVersion uint8 // 1 for IKEv1
	MinorVersion uint8 // 0
	Exchange     V1Exchange
	Flags        V1Flags
	// MessageID is zero in Phase 1 and random in Quick Mode,
	// Informational and Transaction exchanges.
	MessageID uint32
	Length    uint32 // of the whole message, header included
}

// Encrypted reports whether the Encryption flag is set.
func (h *V1Header) Encrypted() bool { return h.Flags&V1FlagEncryption != 0 }

// ParseV1Header parses the ISAKMP header at the start of b, which must hold
// the whole message. It returns the header whenever b has V1HeaderLen
// octets, even with an error. A major version other than 1 fails with
// ErrInvalidMajorVersion (RFC 2408 Section 5.2 answers
// INVALID-MAJOR-VERSION); the minor version is not checked.
func ParseV1Header(b []byte) (V1Header, error) {
	var h V1Header
	s := cryptobyte.String(b)
	var next, version, exchange, flags uint8
	// RFC 2408 Section 3.1: Initiator Cookie (8 octets), Responder
	// Cookie (8), Next Payload (1), MjVer (4 bits), MnVer (4 bits),
	// Exchange Type (1), Flags (1), Message ID (4), Length (4).
	if !s.ReadUint64(&h.InitiatorCookie) ||
		!s.ReadUint64(&h.ResponderCookie) ||
		!s.ReadUint8(&next) ||
		!s.ReadUint8(&version) ||
		!s.ReadUint8(&exchange) ||
		!s.ReadUint8(&flags) ||
		!s.ReadUint32(&h.MessageID) ||
		!s.ReadUint32(&h.Length) {
		return h, errTruncated("ISAKMP header")
	}
	h.NextPayload = V1PayloadType(next)
	h.MajorVersion = version >> 4
	h.MinorVersion = version & 0x0f
	h.Exchange = V1Exchange(exchange)
	// RFC 2408 Section 3.1: the other flag bits are set to zero before
	// transmission; they are ignored here.
	h.Flags = V1Flags(flags) & v1FlagsMask
	if h.MajorVersion != 1 {
		return h, newError(ErrInvalidMajorVersion, "ISAKMP header: major version %d", h.MajorVersion)
	}
	// RFC 2408 Section 3.1: Length is that of the total message, header
	// and payloads. The datagram holds exactly one message.
	switch {
	case h.Length > uint32(len(b)):
		return h, newError(ErrTruncated, "ISAKMP header: length %d, message has %d octets", h.Length, len(b))
	case h.Length < uint32(len(b)):
		return h, errSyntax("ISAKMP header: length %d, message has %d octets", h.Length, len(b))
	case len(b) > MaxMessageLen:
		return h, errSyntax("ISAKMP header: message of %d octets", len(b))
	}
	return h, nil
}

// appendTo appends the header with the given next payload and length.
func (h *V1Header) appendTo(b []byte, next V1PayloadType, length int) []byte {
	major := h.MajorVersion
	if major == 0 {
		major = 1
	}
	b = binary.BigEndian.AppendUint64(b, h.InitiatorCookie)
	b = binary.BigEndian.AppendUint64(b, h.ResponderCookie)
	b = append(b, byte(next), major<<4|h.MinorVersion&0x0f, byte(h.Exchange), byte(h.Flags&v1FlagsMask))
	b = binary.BigEndian.AppendUint32(b, h.MessageID)
	return binary.BigEndian.AppendUint32(b, uint32(length))
}

// V1Message is an IKEv1 (ISAKMP) message: the header and either the
// plaintext payloads or, when the Encryption flag is set, the encrypted
// body.
type V1Message struct {
	Header V1Header
	// Payloads are the payloads of a message sent in the clear. They are
	// empty when the message is encrypted: decrypt Encrypted and parse
	// it with ParseV1Payloads(Header.NextPayload, plaintext).
	Payloads []V1Payload
	// Encrypted is the encrypted body, the octets after the header,
	// when the Encryption flag is set (RFC 2409 Section 5.3). Marshal
	// sends it as it is after the header.
	Encrypted []byte
	// Raw is the message exactly as received, set by ParseV1 and
	// aliasing its input: the last cipher block of a Phase 1 message is
	// the IV of the next (RFC 2409 Appendix B), and retransmissions are
	// detected by comparing messages. Marshal ignores it.
	Raw []byte
}

// ParseV1 parses an IKEv1 message: the ISAKMP header (RFC 2408 Section
// 3.1) and, unless the Encryption flag is set, the chain of payloads, which
// must end exactly at Length. When the Encryption flag is set, the body is
// returned in Encrypted. b must hold exactly one message. ParseV1 does not
// copy: the V1Message and its payloads alias b, which the caller must not
// modify while using them.
//
// A payload of an unknown type is kept as *V1Unknown. ParseV1 checks
// syntax only, not which payloads the exchange allows. On error,
// ParseV1Header can still recover the header to answer the message.
func ParseV1(b []byte) (*V1Message, error) {
	h, err := ParseV1Header(b)
	if err != nil {
		return nil, err
	}
	m := &V1Message{Header: h, Raw: b}
	if h.Encrypted() {
		m.Encrypted = clip(b[V1HeaderLen:])
		return m, nil
	}
	m.Payloads, err = readV1Chain(cryptobyte.String(b[V1HeaderLen:]), h.NextPayload, false)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Marshal encodes the message. It takes the header from m.Header but
// computes its Length, and its Next Payload from the payloads unless the
// Encryption flag is set; then the message must have no Payloads and
// Encrypted is sent after the header. m.Raw is ignored.
func (m *V1Message) Marshal() ([]byte, error) {
	return m.Append(nil)
}

// Append appends the encoded message to b, as Marshal.
func (m *V1Message) Append(b []byte) ([]byte, error) {
	start := len(b)
	var err error
	if m.Header.Encrypted() {
		if len(m.Payloads) > 0 {
			return nil, errors.New("wire: encrypted IKEv1 message with plaintext payloads")
		}
		b = m.Header.appendTo(b, m.Header.NextPayload, 0)
		b = append(b, m.Encrypted...)
	} else {
		if len(m.Encrypted) > 0 {
			return nil, errors.New("wire: IKEv1 message with an encrypted body but no Encryption flag")
		}
		next := V1PayloadNone
		if len(m.Payloads) > 0 {
			next = m.Payloads[0].Type()
		}
		b = m.Header.appendTo(b, next, 0)
		b, err = appendV1Chain(b, m.Payloads)
		if err != nil {
			return nil, err
		}
	}
	n := len(b) - start
	if n > MaxMessageLen {
		return nil, fmt.Errorf("wire: message of %d octets", n)
	}
	putLength(b[start:], n)
	return b, nil
}

// String summarizes the message the way charon logs it, for example
// "ID_PROT 0 [ SA V V V V ]" or "QUICK_MODE 3233857536 [ encrypted ]".
func (m *V1Message) String() string {
	body := FormatV1Payloads(m.Payloads)
	if m.Header.Encrypted() && len(m.Payloads) == 0 {
		body = "encrypted"
	}
	return fmt.Sprintf("%s %d [ %s ]", m.Header.Exchange, m.Header.MessageID, body)
}

// FindV1 returns the first payload of type T in ps, for example
// wire.FindV1[*wire.V1Nonce](payloads).
func FindV1[T V1Payload](ps []V1Payload) (T, bool) {
	for _, p := range ps {
		if q, ok := p.(T); ok {
			return q, true
		}
	}
	var zero T
	return zero, false
}

// V1NotifyFor returns the IKEv1 notification that answers a message
// ParseV1 or ParseV1Payloads rejected with err (RFC 2408 Section 5):
// INVALID-MAJOR-VERSION for ErrInvalidMajorVersion, PAYLOAD-MALFORMED for
// other syntax errors, and 0 for errors that are not the package's. The
// Notify field of a ProtocolError is the IKEv2 notification.
func V1NotifyFor(err error) V1NotifyType {
	switch {
	case errors.Is(err, ErrInvalidMajorVersion):
		return V1NotifyInvalidMajorVersion
	case errors.Is(err, ErrTruncated), errors.Is(err, ErrInvalidSyntax):
		return V1NotifyPayloadMalformed
	}
	return 0
}
