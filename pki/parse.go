package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
)

// PEM block types (RFC 7468, Section 5 onwards, and the OpenSSL traditional
// key types).
const (
	pemCertificate   = "CERTIFICATE"
	pemCSR           = "CERTIFICATE REQUEST"
	pemCSROld        = "NEW CERTIFICATE REQUEST"
	pemCRL           = "X509 CRL"
	pemPKCS8         = "PRIVATE KEY"
	pemPKCS8Enc      = "ENCRYPTED PRIVATE KEY"
	pemRSAPrivateKey = "RSA PRIVATE KEY"
	pemECPrivateKey  = "EC PRIVATE KEY"
	pemECParameters  = "EC PARAMETERS"
)

// isPEM reports whether data looks like PEM rather than DER: a DER element
// starts with a tag byte, never with text.
func isPEM(data []byte) bool {
	return bytes.Contains(data, []byte("-----BEGIN "))
}

// pemBlocks decodes every PEM block of data. Text before, between and after
// blocks is allowed (openssl writes "Bag Attributes" and the like), but every
// "-----BEGIN " must start a block that decodes: pem.Decode alone would skip
// a corrupt block and return the next good one.
func pemBlocks(data []byte) ([]*pem.Block, error) {
	var blocks []*pem.Block
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		blocks = append(blocks, b)
	}
	n := bytes.Count(data, []byte("-----BEGIN "))
	switch {
	case n == 0:
		return nil, errors.New("pki: not a PEM file")
	case n != len(blocks):
		return nil, errors.New("pki: corrupt PEM block")
	}
	return blocks, nil
}

// ParseCertificates parses one or more certificates from PEM ("CERTIFICATE"
// blocks; other blocks are skipped) or from concatenated DER. It fails if
// there is no certificate or a certificate is malformed.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	if !isPEM(data) {
		certs, err := x509.ParseCertificates(data)
		if err != nil {
			return nil, fmt.Errorf("pki: not a PEM or DER certificate: %v", err)
		}
		if len(certs) == 0 {
			return nil, errors.New("pki: no certificate found")
		}
		return certs, nil
	}
	blocks, err := pemBlocks(data)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for _, b := range blocks {
		if b.Type != pemCertificate {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("pki: malformed certificate: %v", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("pki: no CERTIFICATE in the PEM file")
	}
	return certs, nil
}

// ParseCertificate parses exactly one certificate in PEM or DER.
func ParseCertificate(data []byte) (*x509.Certificate, error) {
	certs, err := ParseCertificates(data)
	if err != nil {
		return nil, err
	}
	if len(certs) != 1 {
		return nil, fmt.Errorf("pki: %d certificates where one was expected", len(certs))
	}
	return certs[0], nil
}

// ParsePrivateKey parses an unencrypted RSA, ECDSA or Ed25519 private key in
// PEM ("PRIVATE KEY" PKCS#8, "RSA PRIVATE KEY" PKCS#1, "EC PRIVATE KEY"
// SEC 1; an "EC PARAMETERS" block is skipped) or in DER (PKCS#8, PKCS#1 or
// SEC 1). These are the forms `openssl genpkey` and strongSwan's `pki --gen`
// write. Encrypted PEM keys are refused with an explaining error; use
// PKCS#12 for keys in transit.
func ParsePrivateKey(data []byte) (crypto.Signer, error) {
	if !isPEM(data) {
		k, err := parseKeyDER(data)
		if err != nil {
			return nil, errors.New("pki: not a PEM or DER private key")
		}
		return k, nil
	}
	blocks, err := pemBlocks(data)
	if err != nil {
		return nil, err
	}
	var key crypto.Signer
	for _, b := range blocks {
		var k any
		switch b.Type {
		case pemECParameters, pemCertificate:
			continue
		case pemPKCS8Enc:
			return nil, errors.New("pki: encrypted private keys are not supported (decrypt with `openssl pkey` or use PKCS#12)")
		case pemPKCS8:
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case pemRSAPrivateKey:
			if _, enc := b.Headers["Proc-Type"]; enc {
				return nil, errors.New("pki: encrypted private keys are not supported (decrypt with `openssl pkey` or use PKCS#12)")
			}
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case pemECPrivateKey:
			if _, enc := b.Headers["Proc-Type"]; enc {
				return nil, errors.New("pki: encrypted private keys are not supported (decrypt with `openssl pkey` or use PKCS#12)")
			}
			k, err = x509.ParseECPrivateKey(b.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("pki: malformed %s: %v", b.Type, err)
		}
		if key != nil {
			return nil, errors.New("pki: more than one private key")
		}
		if key, err = asSigner(k); err != nil {
			return nil, err
		}
	}
	if key == nil {
		return nil, errors.New("pki: no private key in the PEM file")
	}
	return key, nil
}

func parseKeyDER(der []byte) (crypto.Signer, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return asSigner(k)
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	return nil, errors.New("pki: not a private key")
}

func asSigner(k any) (crypto.Signer, error) {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("pki: unsupported private key type %T", k)
}

// ParseCSR parses a PKCS#10 certificate request (RFC 2986) in PEM
// ("CERTIFICATE REQUEST" or "NEW CERTIFICATE REQUEST") or DER and checks
// its self-signature; a request whose signature does not verify is an error
// wrapping ErrBadSignature.
func ParseCSR(data []byte) (*x509.CertificateRequest, error) {
	der, err := onlyDER(data, "certificate request", "CERTIFICATE REQUEST", pemCSR, pemCSROld)
	if err != nil {
		return nil, err
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fmt.Errorf("pki: not a PEM or DER certificate request: %v", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%w: certificate request self-signature: %v", ErrBadSignature, err)
	}
	return csr, nil
}

// onlyDER returns data itself when it is DER, or the body of its one PEM
// block of the given types; what and label name the object in the errors.
func onlyDER(data []byte, what, label string, types ...string) ([]byte, error) {
	if !isPEM(data) {
		return data, nil
	}
	blocks, err := pemBlocks(data)
	if err != nil {
		return nil, err
	}
	var der []byte
	for _, b := range blocks {
		if slices.Contains(types, b.Type) {
			if der != nil {
				return nil, errors.New("pki: more than one " + what)
			}
			der = b.Bytes
		}
	}
	if der == nil {
		return nil, errors.New("pki: no " + label + " in the PEM file")
	}
	return der, nil
}

// ParseCRL parses a CRL (RFC 5280, Section 5) in PEM ("X509 CRL") or DER.
// It does not check the signature; Verify does, against the issuer.
func ParseCRL(data []byte) (*x509.RevocationList, error) {
	der, err := onlyDER(data, "CRL", "X509 CRL", pemCRL)
	if err != nil {
		return nil, err
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("pki: not a PEM or DER CRL: %v", err)
	}
	return crl, nil
}

// Bundle is a certificate with its private key and the other certificates
// that came with it, as imported from a PKCS#12 or PEM file.
type Bundle struct {
	// Key is the private key, nil if the input had none.
	Key crypto.Signer
	// Certificate is the end-entity certificate: the one whose public key
	// is Key's, else the first certificate that is not a CA, else the first.
	Certificate *x509.Certificate
	// Chain holds the other certificates in input order.
	Chain []*x509.Certificate
}

// ParseBundle reads a private key and certificates from a PKCS#12 file
// (password is used for it only), from PEM with any mix of certificate and
// key blocks, or from a DER certificate or DER private key. It fails if the
// input holds neither a certificate nor a key, or if a key does not belong
// to any of the certificates.
func ParseBundle(data []byte, password string) (*Bundle, error) {
	if !isPEM(data) {
		if looksLikePKCS12(data) {
			return DecodePKCS12(data, password)
		}
		if certs, err := x509.ParseCertificates(data); err == nil && len(certs) > 0 {
			return newBundle(nil, certs)
		}
		if k, err := parseKeyDER(data); err == nil {
			return &Bundle{Key: k}, nil
		}
		return nil, errors.New("pki: not a PKCS#12, PEM or DER certificate or key")
	}
	blocks, err := pemBlocks(data)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	hasKey := false
	for _, b := range blocks {
		switch b.Type {
		case pemCertificate:
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("pki: malformed certificate: %v", err)
			}
			certs = append(certs, c)
		case pemPKCS8, pemPKCS8Enc, pemRSAPrivateKey, pemECPrivateKey:
			hasKey = true
		}
	}
	var key crypto.Signer
	if hasKey {
		if key, err = ParsePrivateKey(data); err != nil {
			return nil, err
		}
	}
	if key == nil && len(certs) == 0 {
		return nil, errors.New("pki: no certificate or private key in the PEM file")
	}
	return newBundle(key, certs)
}

// newBundle picks the end-entity certificate of certs.
func newBundle(key crypto.Signer, certs []*x509.Certificate) (*Bundle, error) {
	b := &Bundle{Key: key}
	if len(certs) == 0 {
		return b, nil
	}
	leaf := -1
	if key != nil {
		for i, c := range certs {
			if publicKeysEqual(key.Public(), c.PublicKey) {
				leaf = i
				break
			}
		}
		if leaf < 0 {
			return nil, errors.New("pki: the private key belongs to none of the certificates")
		}
	}
	for i, c := range certs {
		if leaf < 0 && !c.IsCA {
			leaf = i
		}
	}
	if leaf < 0 {
		leaf = 0
	}
	b.Certificate = certs[leaf]
	for i, c := range certs {
		if i != leaf {
			b.Chain = append(b.Chain, c)
		}
	}
	return b, nil
}

// EncodeCertificatesPEM returns the certificates as "CERTIFICATE" PEM blocks.
func EncodeCertificatesPEM(certs ...*x509.Certificate) []byte {
	var buf bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&buf, &pem.Block{Type: pemCertificate, Bytes: c.Raw})
	}
	return buf.Bytes()
}

// EncodePrivateKeyPEM returns key in PEM, in the forms that strongSwan
// (swanctl's private/, rsa/ and ecdsa/ directories) and openssl read: RSA as
// PKCS#1 "RSA PRIVATE KEY", ECDSA as SEC 1 "EC PRIVATE KEY", Ed25519 as
// PKCS#8 "PRIVATE KEY". The PEM is not encrypted: write it with mode 0600.
func EncodePrivateKeyPEM(key crypto.Signer) ([]byte, error) {
	var b *pem.Block
	switch k := key.(type) {
	case *rsa.PrivateKey:
		b = &pem.Block{Type: pemRSAPrivateKey, Bytes: x509.MarshalPKCS1PrivateKey(k)}
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return nil, fmt.Errorf("pki: %v", err)
		}
		b = &pem.Block{Type: pemECPrivateKey, Bytes: der}
	case ed25519.PrivateKey:
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return nil, fmt.Errorf("pki: %v", err)
		}
		b = &pem.Block{Type: pemPKCS8, Bytes: der}
	default:
		return nil, fmt.Errorf("pki: unsupported private key type %T", key)
	}
	return pem.EncodeToMemory(b), nil
}

// EncodeCRLPEM returns crl as an "X509 CRL" PEM block.
func EncodeCRLPEM(crl *x509.RevocationList) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: pemCRL, Bytes: crl.Raw})
}
