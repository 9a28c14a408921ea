package wire

import (
	"crypto/sha1"

	"golang.org/x/crypto/cryptobyte"
)

// CertReq is the Certificate Request payload (RFC 7296 Section 3.7).
type CertReq struct {
	Encoding CertEncoding
	// Data is the Certification Authority field: for X509Signature, a
	// concatenation of SHA-1 hashes of the trusted CAs' public keys
	// (SubjectPublicKeyInfo); it may be empty.
	Data []byte
}

// Type returns PayloadCertReq.
func (*CertReq) Type() PayloadType { return PayloadCertReq }

// Authorities splits Data into the 20-octet SHA-1 hashes of RFC 7296
// Section 3.7. It returns false if Data is not a whole number of hashes.
// The hashes alias Data.
func (p *CertReq) Authorities() ([][]byte, bool) {
	if len(p.Data)%sha1.Size != 0 {
		return nil, false
	}
	var out [][]byte
	for d := p.Data; len(d) > 0; d = d[sha1.Size:] {
		out = append(out, clip(d[:sha1.Size]))
	}
	return out, true
}

func (p *CertReq) decode(b []byte) error {
	*p = CertReq{}
	s := cryptobyte.String(b)
	var enc uint8
	// RFC 7296 Section 3.7: Cert Encoding (1 octet), Certification
	// Authority.
	if !s.ReadUint8(&enc) {
		return errTruncated("CERTREQ payload")
	}
	p.Encoding = CertEncoding(enc)
	p.Data = clip(s)
	return nil
}

func (p *CertReq) appendTo(b []byte) []byte {
	b = append(b, byte(p.Encoding))
	return append(b, p.Data...)
}
