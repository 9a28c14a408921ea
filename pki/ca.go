package pki

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// CA is a certificate authority: a CA certificate, its private key and the
// Config used when issuing. Issue, SignCSR and CreateCRL may be called
// concurrently; the fields must not change meanwhile.
type CA struct {
	// Cert is the CA certificate.
	Cert *x509.Certificate
	// Key is the CA's private key, matching Cert.
	Key crypto.Signer
	// Config gives the randomness, time and default lifetimes.
	Config Config
	// CRLURLs, if set, become the CRL distribution points (RFC 5280,
	// Section 4.2.1.13) of issued certificates, where strongSwan and Windows
	// fetch CRLs from.
	CRLURLs []string
}

// CAOptions describes a new CA.
type CAOptions struct {
	// Subject is the CA's DN in strongSwan's form (see ParseDN), e.g.
	// "C=CH, O=ikego, CN=ikego Root CA". It must not be empty.
	Subject string
	// KeyType is the type of the generated key; KeyTypeDefault means RSA
	// 3072. Ignored if Key is set.
	KeyType KeyType
	// Key, if not nil, is used instead of generating a key.
	Key crypto.Signer
	// Lifetime is the validity; zero means Config.CALifetime.
	Lifetime time.Duration
}

// NewCA creates a self-signed CA certificate: basicConstraints CA with path
// length 0 (this CA issues end entities only), keyUsage keyCertSign and
// cRLSign, a SHA-1 subjectKeyIdentifier, a random 128-bit serial number, and
// a validity from now minus Config.Backdate to now plus the lifetime.
func NewCA(cfg Config, opts CAOptions) (*CA, error) {
	if opts.Subject == "" {
		return nil, errors.New("pki: the CA needs a subject DN")
	}
	subject, err := ParseDN(opts.Subject)
	if err != nil {
		return nil, err
	}
	key := opts.Key
	if key == nil {
		kt := opts.KeyType
		if kt == KeyTypeDefault {
			kt = KeyTypeRSA3072
		}
		if key, err = GenerateKey(kt, cfg.rand()); err != nil {
			return nil, err
		}
	}
	if err := checkKeyPolicy(key.Public()); err != nil {
		return nil, err
	}
	serial, err := cfg.serialNumber()
	if err != nil {
		return nil, err
	}
	skid, err := keyID(key.Public())
	if err != nil {
		return nil, err
	}
	notBefore := cfg.notBefore()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		RawSubject:            subject,
		NotBefore:             notBefore,
		NotAfter:              cfg.now().Add(orDefault(opts.Lifetime, orDefault(cfg.CALifetime, DefaultCALifetime))).UTC().Truncate(time.Second),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		SubjectKeyId:          skid,
	}
	der, err := x509.CreateCertificate(cfg.rand(), tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("pki: creating the CA certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: %v", err)
	}
	return &CA{Cert: cert, Key: key, Config: cfg}, nil
}

// LoadCA returns a CA for an existing CA certificate and key, for example
// one made by strongSwan's `pki --self --ca` or by openssl. It checks that
// cert is a CA (basicConstraints), may sign certificates (keyUsage, if
// present) and that key belongs to it. An expired CA loads; issuing with it
// fails.
func LoadCA(cfg Config, cert *x509.Certificate, key crypto.Signer) (*CA, error) {
	if cert == nil || key == nil {
		return nil, errors.New("pki: a CA needs a certificate and a key")
	}
	if !cert.BasicConstraintsValid || !cert.IsCA {
		return nil, errors.New("pki: the certificate is not a CA certificate (no basicConstraints CA:TRUE)")
	}
	if cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, errors.New("pki: the CA certificate's keyUsage lacks keyCertSign")
	}
	if !publicKeysEqual(key.Public(), cert.PublicKey) {
		return nil, errors.New("pki: the private key does not belong to the CA certificate")
	}
	return &CA{Cert: cert, Key: key, Config: cfg}, nil
}

// validity returns NotBefore and NotAfter for a certificate of the given
// lifetime, NotAfter capped at the CA's NotAfter. It fails if the CA is not
// valid now.
func (ca *CA) validity(lifetime time.Duration) (time.Time, time.Time, error) {
	now := ca.Config.now()
	if now.After(ca.Cert.NotAfter) {
		return time.Time{}, time.Time{}, fmt.Errorf("%w: the CA certificate expired at %s", ErrExpired, ca.Cert.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.Before(ca.Cert.NotBefore) {
		return time.Time{}, time.Time{}, fmt.Errorf("%w: the CA certificate is valid from %s", ErrNotYetValid, ca.Cert.NotBefore.UTC().Format(time.RFC3339))
	}
	nb := ca.Config.notBefore()
	if nb.Before(ca.Cert.NotBefore) {
		nb = ca.Cert.NotBefore
	}
	na := now.Add(orDefault(lifetime, orDefault(ca.Config.Lifetime, DefaultLifetime))).UTC().Truncate(time.Second)
	if na.After(ca.Cert.NotAfter) {
		na = ca.Cert.NotAfter
	}
	return nb, na, nil
}

// sign creates and parses the certificate for tmpl with public key pub.
func (ca *CA) sign(tmpl *x509.Certificate, pub crypto.PublicKey) (*x509.Certificate, error) {
	if err := checkKeyPolicy(pub); err != nil {
		return nil, err
	}
	serial, err := ca.Config.serialNumber()
	if err != nil {
		return nil, err
	}
	skid, err := keyID(pub)
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	tmpl.SubjectKeyId = skid
	tmpl.BasicConstraintsValid = true
	tmpl.IsCA = false
	tmpl.CRLDistributionPoints = ca.CRLURLs
	der, err := x509.CreateCertificate(ca.Config.rand(), tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("pki: creating the certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: %v", err)
	}
	return cert, nil
}
