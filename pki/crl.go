package pki

import (
	"crypto/x509"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// RevocationReason is a CRLReason code (RFC 5280, Section 5.3.1).
type RevocationReason int

// The revocation reasons. ReasonUnspecified is the zero value and leaves
// the reasonCode extension out of the CRL entry.
const (
	ReasonUnspecified          RevocationReason = 0
	ReasonKeyCompromise        RevocationReason = 1
	ReasonCACompromise         RevocationReason = 2
	ReasonAffiliationChanged   RevocationReason = 3
	ReasonSuperseded           RevocationReason = 4
	ReasonCessationOfOperation RevocationReason = 5
	ReasonCertificateHold      RevocationReason = 6
	ReasonPrivilegeWithdrawn   RevocationReason = 9
)

var reasonNames = map[RevocationReason]string{
	ReasonUnspecified:          "unspecified",
	ReasonKeyCompromise:        "key-compromise",
	ReasonCACompromise:         "ca-compromise",
	ReasonAffiliationChanged:   "affiliation-changed",
	ReasonSuperseded:           "superseded",
	ReasonCessationOfOperation: "cessation-of-operation",
	ReasonCertificateHold:      "certificate-hold",
	ReasonPrivilegeWithdrawn:   "privilege-withdrawn",
}

// String returns the name strongSwan's `pki --signcrl --reason` uses, e.g.
// "key-compromise".
func (r RevocationReason) String() string {
	if s, ok := reasonNames[r]; ok {
		return s
	}
	return fmt.Sprintf("reason(%d)", int(r))
}

// ParseRevocationReason returns the reason named s (see String); "" means
// ReasonUnspecified.
func ParseRevocationReason(s string) (RevocationReason, error) {
	if s == "" {
		return ReasonUnspecified, nil
	}
	for r, n := range reasonNames {
		if strings.EqualFold(n, s) {
			return r, nil
		}
	}
	return 0, fmt.Errorf("pki: unknown revocation reason %q", s)
}

// CreateCRL returns a CRL signed by ca listing entries, with CRL number
// number (RFC 5280, Section 5.2.3; nil means 1), thisUpdate now minus
// Config.Backdate and nextUpdate now plus Config.CRLLifetime (but not after
// the CA certificate expires).
func (ca *CA) CreateCRL(number *big.Int, entries []x509.RevocationListEntry) (*x509.RevocationList, error) {
	if number == nil {
		number = big.NewInt(1)
	}
	now := ca.Config.now()
	next := now.Add(orDefault(ca.Config.CRLLifetime, DefaultCRLLifetime)).UTC().Truncate(time.Second)
	if next.After(ca.Cert.NotAfter) {
		next = ca.Cert.NotAfter
	}
	this := ca.Config.notBefore()
	if !next.After(this) {
		return nil, fmt.Errorf("%w: the CA certificate expired at %s", ErrExpired, ca.Cert.NotAfter.UTC().Format(time.RFC3339))
	}
	tmpl := &x509.RevocationList{
		Number:                    number,
		ThisUpdate:                this,
		NextUpdate:                next,
		RevokedCertificateEntries: entries,
	}
	der, err := x509.CreateRevocationList(ca.Config.rand(), tmpl, ca.Cert, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("pki: creating the CRL: %v", err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("pki: %v", err)
	}
	return crl, nil
}
