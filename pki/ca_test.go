package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNewCAKeyTypes(t *testing.T) {
	types := []KeyType{KeyTypeRSA2048, KeyTypeECDSAP256, KeyTypeECDSAP384, KeyTypeEd25519}
	if !testing.Short() {
		// The only RSA 3072 and 4096 generations of the tests.
		types = append(types, KeyTypeDefault, KeyTypeRSA4096)
	}
	for _, kt := range types {
		t.Run(kt.String(), func(t *testing.T) {
			t.Parallel()
			ca, err := NewCA(fixedConfig(testNow), CAOptions{Subject: "C=CH, O=ikego, CN=CA " + kt.String(), KeyType: kt})
			if err != nil {
				t.Fatal(err)
			}
			c := ca.Cert
			if !c.IsCA || !c.BasicConstraintsValid || c.MaxPathLen != 0 || !c.MaxPathLenZero {
				t.Errorf("basicConstraints: CA %v valid %v pathlen %d", c.IsCA, c.BasicConstraintsValid, c.MaxPathLen)
			}
			if c.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
				t.Errorf("keyUsage %b", c.KeyUsage)
			}
			if got := subjectString(c); got != "C=CH, O=ikego, CN=CA "+kt.String() {
				t.Errorf("subject %q", got)
			}
			if err := c.CheckSignatureFrom(c); err != nil {
				t.Errorf("self-signature: %v", err)
			}
			if want := testNow.Add(-DefaultBackdate); !c.NotBefore.Equal(want) {
				t.Errorf("NotBefore %v, want %v", c.NotBefore, want)
			}
			if want := testNow.Add(DefaultCALifetime); !c.NotAfter.Equal(want) {
				t.Errorf("NotAfter %v, want %v", c.NotAfter, want)
			}
			if len(c.SubjectKeyId) != 20 {
				t.Errorf("subjectKeyIdentifier %x", c.SubjectKeyId)
			}
			desc, _ := describeKey(c.PublicKey)
			want := map[KeyType]string{
				KeyTypeDefault: "RSA 3072 bits", KeyTypeRSA2048: "RSA 2048 bits", KeyTypeRSA4096: "RSA 4096 bits",
				KeyTypeECDSAP256: "ECDSA P-256", KeyTypeECDSAP384: "ECDSA P-384", KeyTypeEd25519: "Ed25519",
			}[kt]
			if desc != want {
				t.Errorf("key %s, want %s", desc, want)
			}
			// The CA issues and the result verifies.
			cert := issue(t, ca, Request{Profile: ProfileClient, Names: []string{"a@example.org"}})
			if _, err := Verify(cert, VerifyOptions{Roots: []*x509.Certificate{c}, Time: testNow}); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestSerialNumbers(t *testing.T) {
	ca := testCA(t)
	seen := map[string]bool{}
	for range 20 {
		c := issue(t, ca, Request{Profile: ProfileClient, Names: []string{"a@example.org"}})
		if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 128 {
			t.Fatalf("serial %x", c.SerialNumber)
		}
		if seen[c.SerialNumber.String()] {
			t.Fatalf("serial %x repeated", c.SerialNumber)
		}
		seen[c.SerialNumber.String()] = true
	}
	// A zero serial from the random source is skipped.
	cfg := Config{Rand: &zeroThenOnes{}}
	n, err := cfg.serialNumber()
	if err != nil || n.Sign() <= 0 {
		t.Errorf("serial %v, %v", n, err)
	}
}

type zeroThenOnes struct{ calls int }

func (z *zeroThenOnes) Read(p []byte) (int, error) {
	z.calls++
	for i := range p {
		p[i] = 0
		if z.calls > 1 {
			p[i] = 1
		}
	}
	return len(p), nil
}

func TestIssueServer(t *testing.T) {
	ca := testCA(t)
	cert, key, err := ca.Issue(Request{
		Profile: ProfileServer,
		Names:   []string{"vpn.example.org", "198.51.100.2", "2001:db8::2", "vpn2.example.org"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := key.(*rsa.PrivateKey); !ok || key.(*rsa.PrivateKey).N.BitLen() != 2048 {
		t.Errorf("default end-entity key %T", key)
	}
	if !publicKeysEqual(key.Public(), cert.PublicKey) {
		t.Error("key does not match the certificate")
	}
	if cert.Subject.CommonName != "vpn.example.org" || subjectString(cert) != "CN=vpn.example.org" {
		t.Errorf("subject %q", subjectString(cert))
	}
	if !slices.Equal(cert.DNSNames, []string{"vpn.example.org", "vpn2.example.org"}) {
		t.Errorf("DNS SANs %v", cert.DNSNames)
	}
	if len(cert.IPAddresses) != 2 || !cert.IPAddresses[0].Equal(net.ParseIP("198.51.100.2")) || len(cert.IPAddresses[0]) != 4 ||
		!cert.IPAddresses[1].Equal(net.ParseIP("2001:db8::2")) {
		t.Errorf("IP SANs %v", cert.IPAddresses)
	}
	if !slices.Equal(cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) ||
		len(cert.UnknownExtKeyUsage) != 1 || !cert.UnknownExtKeyUsage[0].Equal(OIDExtKeyUsageIKEIntermediate) {
		t.Errorf("EKU %v %v", cert.ExtKeyUsage, cert.UnknownExtKeyUsage)
	}
	if cert.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment {
		t.Errorf("keyUsage %b", cert.KeyUsage)
	}
	if cert.IsCA || !cert.BasicConstraintsValid {
		t.Error("basicConstraints")
	}
	if !slices.Equal(cert.AuthorityKeyId, ca.Cert.SubjectKeyId) || len(cert.SubjectKeyId) != 20 {
		t.Errorf("key ids: auth %x subj %x", cert.AuthorityKeyId, cert.SubjectKeyId)
	}
	if want := testNow.Add(-DefaultBackdate); !cert.NotBefore.Equal(want) {
		t.Errorf("NotBefore %v, want %v", cert.NotBefore, want)
	}
	if want := testNow.Add(DefaultLifetime); !cert.NotAfter.Equal(want) {
		t.Errorf("NotAfter %v, want %v", cert.NotAfter, want)
	}
	for _, id := range []string{"vpn.example.org", "198.51.100.2", "2001:db8::2", "CN=vpn.example.org"} {
		if !MatchCertificate(mustID(t, id), cert) {
			t.Errorf("%s does not match", id)
		}
	}

	// ECDSA keys get no keyEncipherment.
	ec := issue(t, ca, Request{Profile: ProfileServer, Names: []string{"vpn.example.org"}, KeyType: KeyTypeECDSAP384})
	if ec.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("ECDSA keyUsage %b", ec.KeyUsage)
	}
}

func TestIssueClient(t *testing.T) {
	ca := testCA(t)
	cert := issue(t, ca, Request{
		Profile:  ProfileClient,
		Subject:  "C=CH, O=ikego, CN=alice",
		Names:    []string{"alice@example.org", "alice.example.org"},
		Lifetime: 90 * 24 * time.Hour,
	})
	if !slices.Equal(cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) || len(cert.UnknownExtKeyUsage) != 0 {
		t.Errorf("EKU %v %v", cert.ExtKeyUsage, cert.UnknownExtKeyUsage)
	}
	if !slices.Equal(cert.EmailAddresses, []string{"alice@example.org"}) || !slices.Equal(cert.DNSNames, []string{"alice.example.org"}) {
		t.Errorf("SANs %v %v", cert.EmailAddresses, cert.DNSNames)
	}
	if want := testNow.Add(90 * 24 * time.Hour); !cert.NotAfter.Equal(want) {
		t.Errorf("NotAfter %v, want %v", cert.NotAfter, want)
	}
	// A client may have only a DN.
	issue(t, ca, Request{Profile: ProfileClient, Subject: "CN=bob"})
}

func TestIssueErrors(t *testing.T) {
	ca := testCA(t)
	smallRSA, err := rsa.GenerateKey(nil, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), nil)
	for _, tt := range []struct {
		name string
		req  Request
	}{
		{"no profile", Request{Names: []string{"a.example.org"}}},
		{"no names", Request{Profile: ProfileClient}},
		{"server without DNS or IP", Request{Profile: ProfileServer, Names: []string{"a@example.org"}}},
		{"server with DN only", Request{Profile: ProfileServer, Subject: "CN=x"}},
		{"bad DNS name", Request{Profile: ProfileServer, Names: []string{"bad name"}}},
		{"bad e-mail", Request{Profile: ProfileClient, Names: []string{"a@@b"}}},
		{"bad DN", Request{Profile: ProfileClient, Subject: "X=1", Names: []string{"a@b.c"}}},
		{"IP zone", Request{Profile: ProfileServer, Names: []string{"fe80::1%eth0"}}},
		{"small RSA", Request{Profile: ProfileClient, Names: []string{"a@b.c"}, PublicKey: &smallRSA.PublicKey}},
		{"P-224", Request{Profile: ProfileClient, Names: []string{"a@b.c"}, PublicKey: &p224.PublicKey}},
		{"unknown key type", Request{Profile: ProfileClient, Names: []string{"a@b.c"}, KeyType: 99}},
	} {
		if _, _, err := ca.Issue(tt.req); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

func TestIssueLifetimeCappedByCA(t *testing.T) {
	ca, err := NewCA(fixedConfig(testNow), CAOptions{Subject: "CN=short", KeyType: KeyTypeECDSAP256, Lifetime: 30 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	cert := issue(t, ca, Request{Profile: ProfileClient, Names: []string{"a@b.c"}})
	if !cert.NotAfter.Equal(ca.Cert.NotAfter) {
		t.Errorf("NotAfter %v, CA's %v", cert.NotAfter, ca.Cert.NotAfter)
	}
	// An expired CA issues nothing.
	ca.Config = fixedConfig(testNow.Add(31 * 24 * time.Hour))
	if _, _, err := ca.Issue(Request{Profile: ProfileClient, Names: []string{"a@b.c"}, KeyType: KeyTypeECDSAP256}); !errors.Is(err, ErrExpired) {
		t.Errorf("expired CA: %v", err)
	}
	ca.Config = fixedConfig(testNow.Add(-2 * time.Hour))
	if _, _, err := ca.Issue(Request{Profile: ProfileClient, Names: []string{"a@b.c"}, KeyType: KeyTypeECDSAP256}); !errors.Is(err, ErrNotYetValid) {
		t.Errorf("future CA: %v", err)
	}
	// No backdating, and a custom backdate.
	ca.Config = Config{Now: func() time.Time { return testNow }, Backdate: -1}
	if c := issue(t, ca, Request{Profile: ProfileClient, Names: []string{"a@b.c"}}); !c.NotBefore.Equal(testNow) {
		t.Errorf("NotBefore %v without backdating", c.NotBefore)
	}
	ca.Config.Backdate = 5 * time.Minute
	if c := issue(t, ca, Request{Profile: ProfileClient, Names: []string{"a@b.c"}}); !c.NotBefore.Equal(testNow.Add(-5 * time.Minute)) {
		t.Errorf("NotBefore %v with 5 min backdating", c.NotBefore)
	}
}

func TestLoadCA(t *testing.T) {
	ca := testCA(t)
	if _, err := LoadCA(Config{}, ca.Cert, ca.Key); err != nil {
		t.Fatal(err)
	}
	other, _ := GenerateKey(KeyTypeECDSAP256, nil)
	if _, err := LoadCA(Config{}, ca.Cert, other); err == nil {
		t.Error("wrong key accepted")
	}
	leaf, key, err := ca.Issue(Request{Profile: ProfileClient, Names: []string{"a@b.c"}, KeyType: KeyTypeECDSAP256})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCA(Config{}, leaf, key); err == nil {
		t.Error("end-entity certificate accepted as CA")
	}
	if _, err := LoadCA(Config{}, nil, nil); err == nil {
		t.Error("nil accepted")
	}
	if _, err := NewCA(Config{}, CAOptions{}); err == nil {
		t.Error("CA without subject")
	}
	// An existing key is used as given.
	k := ed25519.NewKeyFromSeed(make([]byte, 32))
	ca2, err := NewCA(fixedConfig(testNow), CAOptions{Subject: "CN=given", Key: k})
	if err != nil || !publicKeysEqual(ca2.Cert.PublicKey, k.Public()) {
		t.Errorf("CA with given key: %v", err)
	}
}

func makeCSR(t *testing.T, key crypto.Signer, subject string, dns []string, emails []string, ips []net.IP) *x509.CertificateRequest {
	t.Helper()
	tmpl := &x509.CertificateRequest{DNSNames: dns, EmailAddresses: emails, IPAddresses: ips}
	if subject != "" {
		tmpl.RawSubject = mustDN(t, subject)
	}
	der, err := x509.CreateCertificateRequest(nil, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := ParseCSR(der)
	if err != nil {
		t.Fatal(err)
	}
	return csr
}

func TestSignCSR(t *testing.T) {
	ca := testCA(t)
	key, _ := GenerateKey(KeyTypeECDSAP256, nil)

	// The request asks for CA powers and other usages: our policy wins.
	caReq := &x509.CertificateRequest{
		RawSubject: mustDN(t, "C=CH, O=ikego, CN=vpn.example.org"),
		DNSNames:   []string{"vpn.example.org"},
		ExtraExtensions: []pkix.Extension{
			{Id: []int{2, 5, 29, 19}, Critical: true, Value: []byte{0x30, 0x03, 0x01, 0x01, 0xff}}, // CA:TRUE
		},
	}
	der, err := x509.CreateCertificateRequest(nil, caReq, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := ParseCSR(der)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.SignCSR(csr, SignOptions{Profile: ProfileServer, Lifetime: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if cert.IsCA || !slices.Equal(cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) || len(cert.UnknownExtKeyUsage) != 1 {
		t.Errorf("policy not applied: CA %v EKU %v", cert.IsCA, cert.ExtKeyUsage)
	}
	if subjectString(cert) != "C=CH, O=ikego, CN=vpn.example.org" || !slices.Equal(cert.DNSNames, []string{"vpn.example.org"}) {
		t.Errorf("subject %q SANs %v", subjectString(cert), cert.DNSNames)
	}
	if want := testNow.Add(24 * time.Hour); !cert.NotAfter.Equal(want) {
		t.Errorf("NotAfter %v", cert.NotAfter)
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		t.Error("wrong public key")
	}

	// A server request without SANs gets its CN as dNSName or iPAddress.
	for cn, check := range map[string]func(*x509.Certificate) bool{
		"vpn.example.org": func(c *x509.Certificate) bool { return slices.Equal(c.DNSNames, []string{"vpn.example.org"}) },
		"198.51.100.2":    func(c *x509.Certificate) bool { return len(c.IPAddresses) == 1 },
	} {
		c, err := ca.SignCSR(makeCSR(t, key, "CN="+cn, nil, nil, nil), SignOptions{Profile: ProfileServer})
		if err != nil || !check(c) {
			t.Errorf("CN %s: %v", cn, err)
		}
	}
	// A server request whose CN is no host name is refused.
	if _, err := ca.SignCSR(makeCSR(t, key, "CN=Some Server", nil, nil, nil), SignOptions{Profile: ProfileServer}); err == nil {
		t.Error("server without names signed")
	}
	// Overrides.
	c, err := ca.SignCSR(makeCSR(t, key, "CN=x", []string{"x.example.org"}, nil, nil),
		SignOptions{Profile: ProfileClient, Subject: "C=CH, CN=alice", Names: []string{"alice@example.org"}})
	if err != nil || subjectString(c) != "C=CH, CN=alice" || !slices.Equal(c.EmailAddresses, []string{"alice@example.org"}) || len(c.DNSNames) != 0 {
		t.Errorf("overrides: %v %q %v %v", err, subjectString(c), c.EmailAddresses, c.DNSNames)
	}
	// Client request with e-mail and IP SANs.
	c, err = ca.SignCSR(makeCSR(t, key, "", nil, []string{"a@example.org"}, []net.IP{net.ParseIP("198.51.100.9")}), SignOptions{Profile: ProfileClient})
	if err != nil || len(c.IPAddresses) != 1 || len(c.EmailAddresses) != 1 {
		t.Errorf("client SANs: %v", err)
	}
	// Neither subject nor SANs.
	if _, err := ca.SignCSR(makeCSR(t, key, "", nil, nil, nil), SignOptions{Profile: ProfileClient}); err == nil {
		t.Error("empty request signed")
	}
	if _, err := ca.SignCSR(csr, SignOptions{}); err == nil {
		t.Error("no profile accepted")
	}
	// A tampered request (here: the subject changed after signing) fails.
	bad := *csr
	bad.RawTBSCertificateRequest = append([]byte(nil), csr.RawTBSCertificateRequest...)
	i := strings.Index(string(bad.RawTBSCertificateRequest), "vpn.example.org")
	bad.RawTBSCertificateRequest[i] = 'w'
	if _, err := ca.SignCSR(&bad, SignOptions{Profile: ProfileServer}); !errors.Is(err, ErrBadSignature) {
		t.Errorf("tampered request: %v", err)
	}
}

func TestCreateCRL(t *testing.T) {
	ca := testCA(t)
	cert := issue(t, ca, Request{Profile: ProfileClient, Names: []string{"a@b.c"}})
	crl, err := ca.CreateCRL(nil, []x509.RevocationListEntry{{SerialNumber: cert.SerialNumber, RevocationTime: testNow, ReasonCode: int(ReasonKeyCompromise)}})
	if err != nil {
		t.Fatal(err)
	}
	if crl.Number.Int64() != 1 || !crl.ThisUpdate.Equal(testNow.Add(-DefaultBackdate)) || !crl.NextUpdate.Equal(testNow.Add(DefaultCRLLifetime)) {
		t.Errorf("CRL number %v this %v next %v", crl.Number, crl.ThisUpdate, crl.NextUpdate)
	}
	if err := crl.CheckSignatureFrom(ca.Cert); err != nil {
		t.Error(err)
	}
	if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].ReasonCode != 1 {
		t.Errorf("entries %v", crl.RevokedCertificateEntries)
	}
	for _, r := range []RevocationReason{ReasonUnspecified, ReasonKeyCompromise, ReasonCACompromise, ReasonAffiliationChanged,
		ReasonSuperseded, ReasonCessationOfOperation, ReasonCertificateHold, ReasonPrivilegeWithdrawn} {
		if back, err := ParseRevocationReason(r.String()); err != nil || back != r {
			t.Errorf("reason %v: %v %v", r, back, err)
		}
	}
	if _, err := ParseRevocationReason("bored"); err == nil {
		t.Error("unknown reason accepted")
	}
}

func TestParseNames(t *testing.T) {
	for _, s := range []string{"rsa2048", "RSA3072", "rsa4096", "ecdsa256", "ecdsa384", "ed25519", "rsa", "ecdsa", "", "p384"} {
		if _, err := ParseKeyType(s); err != nil {
			t.Errorf("ParseKeyType(%q): %v", s, err)
		}
	}
	for kt := KeyTypeDefault; kt <= KeyTypeEd25519; kt++ {
		if back, err := ParseKeyType(kt.String()); err != nil || back != kt {
			t.Errorf("key type %v round trip: %v %v", kt, back, err)
		}
	}
	if _, err := ParseKeyType("dsa"); err == nil {
		t.Error("dsa accepted")
	}
	for _, p := range []Profile{ProfileServer, ProfileClient} {
		if back, err := ParseProfile(p.String()); err != nil || back != p {
			t.Errorf("profile %v: %v", p, err)
		}
	}
	if _, err := ParseProfile("ca"); err == nil {
		t.Error("profile ca accepted")
	}
	for _, f := range []P12Format{P12Legacy, P12LegacyRC2, P12Modern} {
		if back, err := ParseP12Format(f.String()); err != nil || back != f {
			t.Errorf("format %v: %v", f, err)
		}
	}
	if _, err := ParseP12Format("rot13"); err == nil {
		t.Error("format rot13 accepted")
	}
}
