package wire

import "golang.org/x/crypto/cryptobyte"

// Auth is the Authentication payload (RFC 7296 Section 3.8).
type Auth struct {
	Method AuthMethod
	// Data is the signature or MAC. With AuthDigitalSignature (RFC 7427
	// Section 3) it starts with a one-octet length and the DER
	// AlgorithmIdentifier of the signature algorithm.
	Data []byte
}

// Type returns PayloadAuth.
func (*Auth) Type() PayloadType { return PayloadAuth }

func (p *Auth) decode(b []byte) error {
	*p = Auth{}
	s := cryptobyte.String(b)
	var method uint8
	// RFC 7296 Section 3.8: Auth Method (1 octet), RESERVED (3 octets,
	// ignored on receipt), Authentication Data.
	if !s.ReadUint8(&method) || !s.Skip(3) {
		return errTruncated("AUTH payload")
	}
	p.Method = AuthMethod(method)
	p.Data = clip(s)
	return nil
}

func (p *Auth) appendTo(b []byte) []byte {
	b = append(b, byte(p.Method), 0, 0, 0)
	return append(b, p.Data...)
}
