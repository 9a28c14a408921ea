package pki

import (
	"crypto/x509"
	"sync"
	"testing"
	"time"
)

// testNow is the fixed clock of tests that do not involve external tools.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func fixedConfig(now time.Time) Config {
	return Config{Now: func() time.Time { return now }}
}

var (
	sharedCAOnce sync.Once
	sharedCA     *CA
	sharedCAErr  error
)

// testCA returns an ECDSA P-256 CA valid at testNow, shared by the tests
// that only need some CA. Tests must not modify it.
func testCA(t *testing.T) *CA {
	t.Helper()
	sharedCAOnce.Do(func() {
		sharedCA, sharedCAErr = NewCA(fixedConfig(testNow), CAOptions{
			Subject: "C=CH, O=ikego, CN=ikego Test CA",
			KeyType: KeyTypeECDSAP256,
		})
	})
	if sharedCAErr != nil {
		t.Fatal(sharedCAErr)
	}
	return sharedCA
}

// newCA makes a fresh ECDSA CA with its own clock.
func newCA(t *testing.T, now time.Time, subject string) *CA {
	t.Helper()
	ca, err := NewCA(fixedConfig(now), CAOptions{Subject: subject, KeyType: KeyTypeECDSAP256})
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func issue(t *testing.T, ca *CA, req Request) *x509.Certificate {
	t.Helper()
	if req.KeyType == KeyTypeDefault && req.PublicKey == nil {
		req.KeyType = KeyTypeECDSAP256
	}
	cert, _, err := ca.Issue(req)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
