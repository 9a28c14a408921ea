package pki

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
)

// Profile is the purpose of an end-entity certificate, which decides its key
// usage and extended key usage.
type Profile uint8

const (
	// ProfileServer is an IKEv2 responder (VPN gateway) certificate:
	// keyUsage digitalSignature (and keyEncipherment for RSA), extended key
	// usages serverAuth and ikeIntermediate, a dNSName or iPAddress
	// subjectAltName for every name. Windows wants serverAuth (older
	// versions also ikeIntermediate); macOS and iOS want a subjectAltName
	// equal to the remote ID the user configured.
	ProfileServer Profile = 1
	// ProfileClient is a road-warrior certificate: keyUsage
	// digitalSignature (and keyEncipherment for RSA), extended key usage
	// clientAuth, rfc822Name or dNSName subjectAltNames.
	ProfileClient Profile = 2
)

// String returns "server" or "client".
func (p Profile) String() string {
	switch p {
	case ProfileServer:
		return "server"
	case ProfileClient:
		return "client"
	}
	return fmt.Sprintf("Profile(%d)", uint8(p))
}

// ParseProfile returns the Profile named "server" or "client".
func ParseProfile(s string) (Profile, error) {
	switch strings.ToLower(s) {
	case "server":
		return ProfileServer, nil
	case "client":
		return ProfileClient, nil
	}
	return 0, fmt.Errorf("pki: unknown profile %q (want server or client)", s)
}

// OIDExtKeyUsageIKEIntermediate is the IP Security IKE Intermediate extended
// key usage, 1.3.6.1.5.5.8.2.2, which older Windows versions require on IKEv2
// server certificates (RFC 4945, Section 5.1.3.12).
var OIDExtKeyUsageIKEIntermediate = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 8, 2, 2}

// Request describes an end-entity certificate for CA.Issue.
type Request struct {
	// Profile is ProfileServer or ProfileClient; it must be set.
	Profile Profile
	// Subject is the DN in strongSwan's form (see ParseDN). Empty means
	// "CN=" and the first of Names.
	Subject string
	// Names become subjectAltNames, classified as strongSwan's `pki --san`
	// does: an IP address is an iPAddress, a name with '@' an rfc822Name,
	// anything else a dNSName. A server needs at least one DNS name or
	// address.
	Names []string
	// KeyType is the type of the generated key; KeyTypeDefault means RSA
	// 2048. Ignored if PublicKey is set.
	KeyType KeyType
	// PublicKey, if not nil, is certified instead of a generated key.
	PublicKey crypto.PublicKey
	// Lifetime is the validity; zero means the CA's Config.Lifetime. It is
	// cut at the CA certificate's NotAfter.
	Lifetime time.Duration
}

// names holds classified subjectAltNames.
type names struct {
	dns    []string
	emails []string
	ips    []net.IP
}

func (n *names) empty() bool { return len(n.dns)+len(n.emails)+len(n.ips) == 0 }

// classifyNames sorts names into DNS names, e-mail addresses and IP
// addresses, checking their syntax.
func classifyNames(list []string) (names, error) {
	var n names
	for _, s := range list {
		if a, err := netip.ParseAddr(s); err == nil {
			if a.Zone() != "" {
				return n, fmt.Errorf("pki: address %q has a zone", s)
			}
			n.ips = append(n.ips, net.IP(a.Unmap().AsSlice()))
			continue
		}
		if strings.Contains(s, "@") {
			if err := checkEmail(s); err != nil {
				return n, err
			}
			n.emails = append(n.emails, s)
			continue
		}
		if err := checkDNSName(s); err != nil {
			return n, err
		}
		n.dns = append(n.dns, s)
	}
	return n, nil
}

// checkDNSName accepts ASCII host names (letters, digits, '-', '_'), with
// an optional leading "*." label, of at most 253 octets.
func checkDNSName(s string) error {
	if s == "" || len(s) > 253 {
		return fmt.Errorf("pki: bad DNS name %q", s)
	}
	for i, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("pki: bad DNS name %q", s)
		}
		if label == "*" && i == 0 {
			continue
		}
		for _, c := range label {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("pki: bad DNS name %q", s)
			}
		}
	}
	return nil
}

func checkEmail(s string) error {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || strings.ContainsAny(local, "@ \t\r\n") || !isPrintableASCII([]byte(local)) || checkDNSName(domain) != nil {
		return fmt.Errorf("pki: bad e-mail address %q", s)
	}
	return nil
}

// profileTemplate fills in what a profile decides for a certificate of pub.
func (ca *CA) profileTemplate(p Profile, subject []byte, n names, pub crypto.PublicKey, lifetime time.Duration) (*x509.Certificate, error) {
	nb, na, err := ca.validity(lifetime)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		RawSubject:     subject,
		NotBefore:      nb,
		NotAfter:       na,
		KeyUsage:       x509.KeyUsageDigitalSignature,
		DNSNames:       n.dns,
		EmailAddresses: n.emails,
		IPAddresses:    n.ips,
	}
	if _, ok := pub.(*rsa.PublicKey); ok {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	switch p {
	case ProfileServer:
		if len(n.dns)+len(n.ips) == 0 {
			return nil, errors.New("pki: a server certificate needs a DNS name or an IP address (macOS and iOS match the remote ID against it)")
		}
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.UnknownExtKeyUsage = []asn1.ObjectIdentifier{OIDExtKeyUsageIKEIntermediate}
	case ProfileClient:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	default:
		return nil, errors.New("pki: no certificate profile (server or client) given")
	}
	return tmpl, nil
}

// subjectOrFirstName parses subject, or makes "CN=<first name>".
func subjectOrFirstName(subject string, list []string) ([]byte, error) {
	if subject == "" {
		if len(list) == 0 {
			return nil, errors.New("pki: the certificate needs a subject DN or a name")
		}
		subject = "CN=" + list[0]
	}
	return ParseDN(subject)
}

// Issue creates an end-entity certificate signed by ca, for req.PublicKey
// or for a new key of req.KeyType, which it then returns (key is nil when
// req.PublicKey was given). The certificate has a random 128-bit serial
// number, a subjectKeyIdentifier, the CA's authorityKeyIdentifier, and a
// validity backdated by Config.Backdate and ending no later than the CA's.
func (ca *CA) Issue(req Request) (cert *x509.Certificate, key crypto.Signer, err error) {
	n, err := classifyNames(req.Names)
	if err != nil {
		return nil, nil, err
	}
	subject, err := subjectOrFirstName(req.Subject, req.Names)
	if err != nil {
		return nil, nil, err
	}
	pub := req.PublicKey
	if pub == nil {
		if err := checkProfile(req.Profile); err != nil {
			return nil, nil, err
		}
		if key, err = GenerateKey(req.KeyType, ca.Config.rand()); err != nil {
			return nil, nil, err
		}
		pub = key.Public()
	}
	tmpl, err := ca.profileTemplate(req.Profile, subject, n, pub, req.Lifetime)
	if err != nil {
		return nil, nil, err
	}
	if cert, err = ca.sign(tmpl, pub); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

func checkProfile(p Profile) error {
	if p != ProfileServer && p != ProfileClient {
		return errors.New("pki: no certificate profile (server or client) given")
	}
	return nil
}

// SignOptions is the policy applied by CA.SignCSR.
type SignOptions struct {
	// Profile is ProfileServer or ProfileClient; it must be set.
	Profile Profile
	// Subject, if not empty, replaces the request's subject DN.
	Subject string
	// Names, if not nil, replace the request's subjectAltNames (see
	// Request.Names).
	Names []string
	// Lifetime is the validity; zero means the CA's Config.Lifetime.
	Lifetime time.Duration
}

// SignCSR issues a certificate for a PKCS#10 request after checking its
// self-signature (ErrBadSignature) and key (RSA of 2048 to 8192 bits,
// ECDSA P-256/P-384/P-521, Ed25519). Our policy decides the content: the
// subject and the DNS, e-mail and IP subjectAltNames are taken from the
// request (or from opts); URIs, basicConstraints, key usages and every other
// requested extension are ignored and replaced by those of opts.Profile,
// and the lifetime is ours. A server request without a DNS or IP
// subjectAltName gets its common name as one if that is a host name or an
// address.
func (ca *CA) SignCSR(csr *x509.CertificateRequest, opts SignOptions) (*x509.Certificate, error) {
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%w: certificate request self-signature: %v", ErrBadSignature, err)
	}
	if err := checkProfile(opts.Profile); err != nil {
		return nil, err
	}
	list := opts.Names
	if list == nil {
		for _, ip := range csr.IPAddresses {
			a, ok := netip.AddrFromSlice(ip)
			if !ok {
				return nil, errors.New("pki: bad IP address in the request")
			}
			list = append(list, a.Unmap().String())
		}
		list = append(list, csr.DNSNames...)
		list = append(list, csr.EmailAddresses...)
	}
	n, err := classifyNames(list)
	if err != nil {
		return nil, err
	}
	var subject []byte
	if opts.Subject != "" {
		if subject, err = ParseDN(opts.Subject); err != nil {
			return nil, err
		}
	} else {
		if _, err := parseDNDER(csr.RawSubject); err != nil {
			return nil, fmt.Errorf("pki: the request's subject: %v", err)
		}
		subject = csr.RawSubject
	}
	if isEmptyDN(subject) && n.empty() {
		return nil, errors.New("pki: the request has neither a subject nor subjectAltNames")
	}
	if opts.Profile == ProfileServer && len(n.dns)+len(n.ips) == 0 && opts.Names == nil {
		if cn := csr.Subject.CommonName; cn != "" {
			if extra, err := classifyNames([]string{cn}); err == nil && len(extra.emails) == 0 {
				n.dns, n.ips = extra.dns, extra.ips
			}
		}
	}
	tmpl, err := ca.profileTemplate(opts.Profile, subject, n, csr.PublicKey, opts.Lifetime)
	if err != nil {
		return nil, err
	}
	return ca.sign(tmpl, csr.PublicKey)
}
