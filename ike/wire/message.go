package wire

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// Message is an IKEv2 message: the header and the top-level payloads. In
// an encrypted message the last payload is an *SK or *SKF, whose contents
// DecryptMessage or a Reassembler opens.
type Message struct {
	Header   Header
	Payloads []Payload
	// Raw is the message exactly as received, set by Parse and aliasing
	// its input. The AUTH payload of IKE_AUTH signs the IKE_SA_INIT
	// messages as sent and received (RFC 7296 Section 2.15), and the
	// SK payload's associated data is taken from it. Marshal ignores it.
	Raw []byte
}

// checker is implemented by payloads with limits the encoding cannot
// express, such as list lengths held in one octet.
type checker interface {
	check() error
}

// Parse parses an IKEv2 message: the header (RFC 7296 Section 3.1) and the
// chain of plaintext payloads, up to and including an SK or SKF payload
// whose contents stay encrypted. b must hold exactly one message. Parse
// does not copy: the Message and its payloads alias b, which the caller
// must not modify while using them.
//
// A payload of an unknown type is kept as *Unknown unless its critical bit
// is set, which fails the message with ErrUnsupportedCritical (RFC 7296
// Section 2.5). Parse checks syntax only; CheckRules checks which payloads
// the exchange allows. On error, ParseHeader can still recover the header
// to answer the message.
func Parse(b []byte) (*Message, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return nil, err
	}
	ps, err := readChain(cryptobyte.String(b[HeaderLen:]), h.NextPayload, HeaderLen, false)
	if err != nil {
		return nil, err
	}
	return &Message{Header: h, Payloads: ps, Raw: b}, nil
}

// ParseInner parses the payloads found inside an SK payload or a
// reassembled set of SKF payloads: plaintext is the decrypted content
// without padding and pad length, and next is the type of the first
// payload (SK.NextPayload, or that of fragment 1). The payloads alias
// plaintext. An SK or SKF payload inside is a syntax error.
func ParseInner(next PayloadType, plaintext []byte) ([]Payload, error) {
	return readChain(cryptobyte.String(plaintext), next, 0, true)
}

// Marshal encodes the message. It takes the header from m.Header but
// computes its Next Payload and Length; m.Raw is ignored. An SK or SKF
// payload, with its Body already encrypted, must come last; use
// EncryptMessage to build one.
func (m *Message) Marshal() ([]byte, error) {
	return m.Append(nil)
}

// Append appends the encoded message to b, as Marshal.
func (m *Message) Append(b []byte) ([]byte, error) {
	if err := checkPayloads(m.Payloads); err != nil {
		return nil, err
	}
	start := len(b)
	next := PayloadNone
	if len(m.Payloads) > 0 {
		next = m.Payloads[0].Type()
	}
	b = m.Header.appendTo(b, next, 0)
	b, err := appendChain(b, m.Payloads)
	if err != nil {
		return nil, err
	}
	n := len(b) - start
	if n > MaxMessageLen {
		return nil, fmt.Errorf("wire: message of %d octets", n)
	}
	putLength(b[start:], n)
	return b, nil
}

// putLength sets the Length field of the IKE header at the start of msg.
func putLength(msg []byte, n int) {
	msg[24], msg[25], msg[26], msg[27] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
}

// checkPayloads checks the limits of payloads that have them.
func checkPayloads(ps []Payload) error {
	for _, p := range ps {
		if p == nil {
			return fmt.Errorf("wire: nil payload")
		}
		if c, ok := p.(checker); ok {
			if err := c.check(); err != nil {
				return err
			}
		}
	}
	return nil
}

// String summarizes the message the way charon logs it, for example
// "IKE_SA_INIT request 0 [ SA KE No N(NAT_DETECTION_SOURCE_IP) ]".
func (m *Message) String() string {
	dir := "request"
	if m.Header.IsResponse() {
		dir = "response"
	}
	return fmt.Sprintf("%s %s %d [ %s ]", m.Header.Exchange, dir, m.Header.MessageID, FormatPayloads(m.Payloads))
}

// Find returns the first payload of type T in ps, for example
// wire.Find[*wire.Nonce](payloads).
func Find[T Payload](ps []Payload) (T, bool) {
	for _, p := range ps {
		if q, ok := p.(T); ok {
			return q, true
		}
	}
	var zero T
	return zero, false
}

// FindNotify returns the first Notify payload of the given type in ps.
func FindNotify(ps []Payload, kind NotifyType) (*Notify, bool) {
	for _, p := range ps {
		if n, ok := p.(*Notify); ok && n.Kind == kind {
			return n, true
		}
	}
	return nil, false
}
