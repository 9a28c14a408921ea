package pki

import (
	"crypto/x509"
	"errors"
	"math/big"
	"testing"
	"time"
)

func TestVerify(t *testing.T) {
	ca := testCA(t)
	server := issue(t, ca, Request{Profile: ProfileServer, Names: []string{"vpn.example.org"}})
	client := issue(t, ca, Request{Profile: ProfileClient, Names: []string{"a@example.org"}})
	roots := []*x509.Certificate{ca.Cert}

	chain, err := Verify(server, VerifyOptions{Roots: roots, Time: testNow})
	if err != nil || len(chain) != 2 || chain[1] != ca.Cert {
		t.Fatalf("Verify = %v, %v", chain, err)
	}
	// Extended key usage: any by default, configurable.
	if _, err := Verify(client, VerifyOptions{Roots: roots, Time: testNow, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); !errors.Is(err, ErrUntrusted) {
		t.Errorf("client cert as server: %v", err)
	}
	if _, err := Verify(server, VerifyOptions{Roots: roots, Time: testNow, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Errorf("server cert as server: %v", err)
	}

	// Times.
	if _, err := Verify(server, VerifyOptions{Roots: roots, Time: server.NotAfter.Add(time.Second)}); !errors.Is(err, ErrExpired) {
		t.Errorf("expired: %v", err)
	}
	if _, err := Verify(server, VerifyOptions{Roots: roots, Time: server.NotBefore.Add(-time.Second)}); !errors.Is(err, ErrNotYetValid) {
		t.Errorf("not yet valid: %v", err)
	}
	// Untrusted: another CA.
	other := newCA(t, testNow, "C=CH, O=ikego, CN=ikego Test CA") // same name, other key
	if _, err := Verify(server, VerifyOptions{Roots: []*x509.Certificate{other.Cert}, Time: testNow}); !errors.Is(err, ErrUntrusted) {
		t.Errorf("other CA: %v", err)
	}
	if _, err := Verify(server, VerifyOptions{Time: testNow}); !errors.Is(err, ErrUntrusted) {
		t.Errorf("no roots: %v", err)
	}
}

func TestVerifyExpiredCA(t *testing.T) {
	ca, err := NewCA(fixedConfig(testNow), CAOptions{Subject: "CN=CA", KeyType: KeyTypeECDSAP256, Lifetime: 48 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	leaf := issue(t, ca, Request{Profile: ProfileClient, Names: []string{"a@b.c"}})
	// Pretend the leaf outlives the CA by checking after the CA's end but
	// before the leaf's (the leaf was capped, so move the CA's end back).
	at := leaf.NotAfter.Add(-time.Minute)
	caCert := *ca.Cert
	caCert.NotAfter = at.Add(-time.Hour)
	_, err = Verify(leaf, VerifyOptions{Roots: []*x509.Certificate{&caCert}, Time: at})
	if !errors.Is(err, ErrExpired) {
		t.Errorf("expired CA: %v", err)
	}
}

func TestVerifyRevocation(t *testing.T) {
	ca := testCA(t)
	good := issue(t, ca, Request{Profile: ProfileClient, Names: []string{"good@example.org"}})
	bad := issue(t, ca, Request{Profile: ProfileClient, Names: []string{"bad@example.org"}})
	revokedAt := testNow.Add(time.Hour)
	crl, err := ca.CreateCRL(big.NewInt(2), []x509.RevocationListEntry{
		{SerialNumber: bad.SerialNumber, RevocationTime: revokedAt, ReasonCode: int(ReasonKeyCompromise)},
	})
	if err != nil {
		t.Fatal(err)
	}
	opts := VerifyOptions{Roots: []*x509.Certificate{ca.Cert}, CRLs: []*x509.RevocationList{crl}, Time: revokedAt.Add(time.Minute)}
	if _, err := Verify(good, opts); err != nil {
		t.Errorf("good: %v", err)
	}
	if _, err := Verify(bad, opts); !errors.Is(err, ErrRevoked) {
		t.Errorf("revoked: %v", err)
	}
	// Before its revocation date the certificate was fine.
	opts.Time = testNow
	if _, err := Verify(bad, opts); err != nil {
		t.Errorf("before revocation: %v", err)
	}
	// A stale CRL still revokes, as in strongSwan.
	opts.Time = crl.NextUpdate.Add(time.Hour)
	if _, err := Verify(bad, opts); !errors.Is(err, ErrRevoked) {
		t.Errorf("stale CRL: %v", err)
	}
	// ... but does not satisfy RequireCRL.
	opts.RequireCRL = true
	if _, err := Verify(good, opts); !errors.Is(err, ErrNoCRL) {
		t.Errorf("stale CRL with RequireCRL: %v", err)
	}
	opts.Time = testNow
	if _, err := Verify(good, opts); err != nil {
		t.Errorf("current CRL with RequireCRL: %v", err)
	}
	opts.CRLs = nil
	if _, err := Verify(good, opts); !errors.Is(err, ErrNoCRL) {
		t.Errorf("no CRL with RequireCRL: %v", err)
	}
	// A CRL with the CA's name but another key: a bad signature, not ignored.
	impostor := newCA(t, testNow, "C=CH, O=ikego, CN=ikego Test CA")
	forged, err := impostor.CreateCRL(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	opts = VerifyOptions{Roots: []*x509.Certificate{ca.Cert}, CRLs: []*x509.RevocationList{forged}, Time: testNow}
	if _, err := Verify(good, opts); !errors.Is(err, ErrBadSignature) {
		t.Errorf("forged CRL: %v", err)
	}
	// A CRL of an unrelated CA is ignored.
	unrelated := newCA(t, testNow, "CN=unrelated")
	ucrl, err := unrelated.CreateCRL(nil, []x509.RevocationListEntry{{SerialNumber: bad.SerialNumber, RevocationTime: testNow.Add(-time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	opts.CRLs = []*x509.RevocationList{ucrl}
	if _, err := Verify(bad, opts); err != nil {
		t.Errorf("unrelated CRL: %v", err)
	}
}
