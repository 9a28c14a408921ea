package wire

import "golang.org/x/crypto/cryptobyte"

// Cert is the Certificate payload (RFC 7296 Section 3.6).
type Cert struct {
	Encoding CertEncoding
	// Data is, for X509Signature, a DER-encoded X.509 certificate; for
	// the hash-and-URL encodings, a SHA-1 hash followed by a URL.
	Data []byte
}

// Type returns PayloadCert.
func (*Cert) Type() PayloadType { return PayloadCert }

func (p *Cert) decode(b []byte) error {
	*p = Cert{}
	s := cryptobyte.String(b)
	var enc uint8
	// RFC 7296 Section 3.6: Cert Encoding (1 octet), Certificate Data.
	if !s.ReadUint8(&enc) {
		return errTruncated("CERT payload")
	}
	p.Encoding = CertEncoding(enc)
	p.Data = clip(s)
	return nil
}

func (p *Cert) appendTo(b []byte) []byte {
	b = append(b, byte(p.Encoding))
	return append(b, p.Data...)
}
