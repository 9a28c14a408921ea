package wire

import "fmt"

// Nonce sizes, RFC 7296 Section 3.9.
const (
	MinNonceLen = 16
	MaxNonceLen = 256
)

// Nonce is the Nonce payload, Ni or Nr (RFC 7296 Section 3.9).
type Nonce struct {
	Data []byte // 16 to 256 random octets
}

// Type returns PayloadNonce.
func (*Nonce) Type() PayloadType { return PayloadNonce }

func (p *Nonce) decode(b []byte) error {
	*p = Nonce{}
	// RFC 7296 Section 3.9: the Nonce Data is between 16 and 256 octets,
	// inclusive.
	if len(b) < MinNonceLen || len(b) > MaxNonceLen {
		return errSyntax("nonce of %d octets", len(b))
	}
	p.Data = clip(b)
	return nil
}

func (p *Nonce) appendTo(b []byte) []byte { return append(b, p.Data...) }

func (p *Nonce) check() error {
	if len(p.Data) < MinNonceLen || len(p.Data) > MaxNonceLen {
		return fmt.Errorf("wire: nonce of %d octets", len(p.Data))
	}
	return nil
}
