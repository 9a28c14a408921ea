package pki

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// VerifyOptions is the trust store and policy of Verify.
type VerifyOptions struct {
	// Roots are the trusted CA certificates. Required.
	Roots []*x509.Certificate
	// Intermediates are untrusted certificates that may complete a chain.
	Intermediates []*x509.Certificate
	// CRLs are checked for every certificate of the chain below the root.
	// A CRL counts for a certificate if its issuer name is the certificate's
	// issuer; its signature must then verify with the issuer's key
	// (otherwise Verify fails with ErrBadSignature). A listed certificate is
	// revoked from its revocation date on, even if the CRL is past its
	// nextUpdate, as in strongSwan.
	CRLs []*x509.RevocationList
	// Time is the time of the check. Zero means time.Now().
	Time time.Time
	// KeyUsages are the acceptable extended key usages; a certificate passes
	// if it has one of them, or has none. Nil means any: strongSwan does not
	// require extended key usages for IKE by default.
	KeyUsages []x509.ExtKeyUsage
	// RequireCRL, if set, fails verification (ErrNoCRL) unless every
	// certificate below the root has a CRL of its issuer that is current
	// (thisUpdate <= Time < nextUpdate), like strongSwan's strict CRL policy.
	RequireCRL bool
}

// Verify checks cert against the trust store of opts and returns the chain
// from cert to a root. The errors wrap ErrExpired or ErrNotYetValid (for
// cert or a CA of the chain), ErrUntrusted (no chain, or a chain that
// breaks a constraint), ErrBadSignature (a CRL's signature), ErrRevoked or
// ErrNoCRL.
func Verify(cert *x509.Certificate, opts VerifyOptions) ([]*x509.Certificate, error) {
	now := opts.Time
	if now.IsZero() {
		now = time.Now()
	}
	if err := checkTime(cert, now, "certificate"); err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	for _, r := range opts.Roots {
		roots.AddCert(r)
	}
	inter := x509.NewCertPool()
	for _, c := range opts.Intermediates {
		inter.AddCert(c)
	}
	usages := opts.KeyUsages
	if len(usages) == 0 {
		usages = []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
	}
	chains, err := cert.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     usages,
	})
	if err != nil {
		return nil, verifyError(err, cert, opts, now)
	}
	var first error
	for _, chain := range chains {
		err := checkRevocation(chain, opts, now)
		if err == nil {
			return chain, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}

func checkTime(c *x509.Certificate, now time.Time, what string) error {
	if now.After(c.NotAfter) {
		return fmt.Errorf("%w: %s %q expired at %s", ErrExpired, what, subjectString(c), c.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.Before(c.NotBefore) {
		return fmt.Errorf("%w: %s %q is valid from %s", ErrNotYetValid, what, subjectString(c), c.NotBefore.UTC().Format(time.RFC3339))
	}
	return nil
}

// verifyError explains an x509 verification failure with our sentinels.
func verifyError(err error, cert *x509.Certificate, opts VerifyOptions, now time.Time) error {
	var inv x509.CertificateInvalidError
	if errors.As(err, &inv) && inv.Reason == x509.Expired {
		// cert's own times were checked; find the CA that is out of date.
		for _, c := range append(append([]*x509.Certificate{}, opts.Intermediates...), opts.Roots...) {
			if bytes.Equal(c.RawSubject, cert.RawIssuer) {
				if e := checkTime(c, now, "CA certificate"); e != nil {
					return e
				}
			}
		}
		return fmt.Errorf("%w: %v", ErrExpired, err)
	}
	var sig x509.UnknownAuthorityError
	if errors.As(err, &sig) {
		return fmt.Errorf("%w: no trusted CA certificate issued %q", ErrUntrusted, subjectString(cert))
	}
	return fmt.Errorf("%w: %v", ErrUntrusted, err)
}

// checkRevocation checks every certificate of chain but the root against
// the CRLs of its issuer.
func checkRevocation(chain []*x509.Certificate, opts VerifyOptions, now time.Time) error {
	for i := 0; i+1 < len(chain); i++ {
		c, issuer := chain[i], chain[i+1]
		current := false
		for _, crl := range opts.CRLs {
			if !bytes.Equal(crl.RawIssuer, issuer.RawSubject) {
				continue
			}
			if err := crl.CheckSignatureFrom(issuer); err != nil {
				return fmt.Errorf("%w: CRL of %q: %v", ErrBadSignature, subjectString(issuer), err)
			}
			if !crl.ThisUpdate.After(now) && (crl.NextUpdate.IsZero() || now.Before(crl.NextUpdate)) {
				current = true
			}
			for _, e := range crl.RevokedCertificateEntries {
				if e.SerialNumber == nil || e.SerialNumber.Cmp(c.SerialNumber) != 0 {
					continue
				}
				if e.RevocationTime.After(now) {
					continue
				}
				reason := ""
				if e.ReasonCode != 0 {
					reason = " (" + RevocationReason(e.ReasonCode).String() + ")"
				}
				return fmt.Errorf("%w: %q (serial %s) at %s%s", ErrRevoked, subjectString(c),
					formatSerial(c.SerialNumber.Bytes()), e.RevocationTime.UTC().Format(time.RFC3339), reason)
			}
		}
		if opts.RequireCRL && !current {
			return fmt.Errorf("%w: of %q for %q", ErrNoCRL, subjectString(issuer), subjectString(c))
		}
	}
	return nil
}

// subjectString returns the certificate's subject in strongSwan's form.
func subjectString(c *x509.Certificate) string {
	if isEmptyDN(c.RawSubject) {
		return ""
	}
	return Identity{Type: IDTypeDERASN1DN, Data: c.RawSubject}.String()
}

// formatSerial returns b as colon-separated hex, as strongSwan prints serial
// numbers and key ids.
func formatSerial(b []byte) string {
	if len(b) == 0 {
		return "00"
	}
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 3*len(b))
	for i, c := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}
