package pki

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cliAt returns a CLI whose clock is at.
func cliAt(at time.Time, stdout, stderr *bytes.Buffer) *CLI {
	return &CLI{Config: fixedConfig(at), Stdout: stdout, Stderr: stderr}
}

func run(t *testing.T, at time.Time, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := cliAt(at, &out, &errb).Run(context.Background(), args)
	return out.String(), err
}

func mustRun(t *testing.T, at time.Time, args ...string) string {
	t.Helper()
	out, err := run(t, at, args...)
	if err != nil {
		t.Fatalf("pki %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func writeFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCLI(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "store")
	pw := writeFile(t, filepath.Join(tmp, "pw"), []byte("s3cret\n"))
	now := testNow

	out := mustRun(t, now, "init-ca", "-dir", dir, "-dn", "C=CH, O=ikego, CN=ikego CA", "-type", "ecdsa256")
	if !strings.Contains(out, `created CA "C=CH, O=ikego, CN=ikego CA"`) {
		t.Errorf("init-ca said %q", out)
	}
	mustRun(t, now, "issue", "-dir", dir, "-name", "vpn", "-profile", "server", "-san", "vpn.example.org", "-san", "198.51.100.2", "-type", "ecdsa256")
	mustRun(t, now, "issue", "-dir", dir, "-name", "alice", "-profile", "client", "-dn", "C=CH, O=ikego, CN=alice",
		"-san", "alice@example.org", "-type", "ecdsa256", "-days", "90")

	out = mustRun(t, now, "print", "-dir", dir, "-name", "vpn")
	for _, want := range []string{`subject:   "CN=vpn.example.org"`, "altNames:  vpn.example.org, 198.51.100.2",
		"flags:     serverAuth ikeIntermediate", "pubkey:    ECDSA P-256"} {
		if !strings.Contains(out, want) {
			t.Errorf("print lacks %q:\n%s", want, out)
		}
	}
	out = mustRun(t, now, "verify", "-dir", dir, "-name", "vpn", "-id", "vpn.example.org", "-eku", "server")
	if !strings.Contains(out, "certificate trusted") || !strings.Contains(out, `identity "vpn.example.org" matches`) {
		t.Errorf("verify said %q", out)
	}
	if _, err := run(t, now, "verify", "-dir", dir, "-name", "vpn", "-id", "other.example.org"); err == nil {
		t.Error("verify with a foreign identity passed")
	}
	if _, err := run(t, now, "verify", "-dir", dir, "-name", "alice", "-eku", "server"); !errors.Is(err, ErrUntrusted) {
		t.Errorf("client as server: %v", err)
	}

	// A CSR from another tool, signed and stored.
	key, _ := GenerateKey(KeyTypeECDSAP256, nil)
	csrDER, err := x509.CreateCertificateRequest(nil, &x509.CertificateRequest{RawSubject: mustDN(t, "C=CH, O=ikego, CN=bob"), EmailAddresses: []string{"bob@example.org"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	csrPath := writeFile(t, filepath.Join(tmp, "bob.csr"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER}))
	bobOut := filepath.Join(tmp, "bob.pem")
	mustRun(t, now, "sign-csr", "-dir", dir, "-in", csrPath, "-name", "bob", "-profile", "client", "-out", bobOut)
	bobPEM, err := os.ReadFile(bobOut)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := ParseCertificate(bobPEM)
	if err != nil || subjectString(bob) != "C=CH, O=ikego, CN=bob" || !publicKeysEqual(bob.PublicKey, key.Public()) {
		t.Fatalf("signed CSR: %v", err)
	}
	out = mustRun(t, now, "print", "-in", csrPath)
	if !strings.Contains(out, "PKCS10 request") || !strings.Contains(out, "bob@example.org") {
		t.Errorf("print CSR: %q", out)
	}

	// PKCS#12 export, and import into a second store.
	p12 := filepath.Join(tmp, "alice.p12")
	mustRun(t, now, "export-p12", "-dir", dir, "-name", "alice", "-out", p12, "-password-file", pw)
	if info, err := os.Stat(p12); err != nil || info.Mode() != 0o600 {
		t.Errorf("p12 mode %v %v", info.Mode(), err)
	}
	data, _ := os.ReadFile(p12)
	b, err := DecodePKCS12(data, "s3cret")
	if err != nil || subjectString(b.Certificate) != "C=CH, O=ikego, CN=alice" || len(b.Chain) != 1 {
		t.Fatalf("exported p12: %v", err)
	}
	if _, err := run(t, now, "export-p12", "-dir", dir, "-name", "alice", "-out", p12, "-password-file", pw); !errors.Is(err, ErrExists) {
		t.Errorf("export over an existing file: %v", err)
	}
	var env bytes.Buffer
	c := cliAt(now, &env, &env)
	c.Getenv = func(k string) string { return map[string]string{"P12PW": "fromenv"}[k] }
	if err := c.Run(context.Background(), []string{"export-p12", "-dir", dir, "-name", "alice", "-out", p12, "-password-env", "P12PW", "-format", "modern", "-force"}); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(p12)
	if _, err := DecodePKCS12(data, "fromenv"); err != nil {
		t.Errorf("modern p12 with env password: %v", err)
	}
	env.Reset()
	if err := c.Run(context.Background(), []string{"print", "-in", p12, "-password-env", "P12PW"}); err != nil ||
		!strings.Contains(env.String(), "privkey:   ECDSA P-256") || !strings.Contains(env.String(), `subject:   "C=CH, O=ikego, CN=alice"`) {
		t.Errorf("print p12: %v\n%s", err, env.String())
	}
	if _, err := run(t, now, "print", "-in", p12, "-password-file", pw); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("print p12 with the wrong password: %v", err)
	}
	dir2 := filepath.Join(tmp, "store2")
	mustRun(t, now, "import", "-dir", dir2, "-name", "alice", "-in", p12, "-password-file", writeFile(t, filepath.Join(tmp, "pw2"), []byte("fromenv")))
	if _, err := os.Stat(filepath.Join(dir2, KeyPath("alice"))); err != nil {
		t.Errorf("imported key: %v", err)
	}
	// Import of a certificate and a separate key.
	keyPEM, _ := EncodePrivateKeyPEM(key)
	keyPath := writeFile(t, filepath.Join(tmp, "bob.key"), keyPEM)
	mustRun(t, now, "import", "-dir", dir2, "-name", "bob", "-in", bobOut, "-key", keyPath)
	// And the CA, with its key, into the second store.
	mustRun(t, now, "import-ca", "-dir", dir2, "-cert", filepath.Join(dir, StoreCACert), "-key", filepath.Join(dir, StoreCAKey))
	mustRun(t, now, "verify", "-dir", dir2, "-name", "bob")

	// CA export.
	caPEM := mustRun(t, now, "export-ca", "-dir", dir)
	if c, err := ParseCertificate([]byte(caPEM)); err != nil || !c.IsCA {
		t.Errorf("export-ca PEM: %v", err)
	}
	caDER := filepath.Join(tmp, "ca.cer")
	mustRun(t, now, "export-ca", "-dir", dir, "-form", "der", "-out", caDER)
	if der, _ := os.ReadFile(caDER); len(der) == 0 || der[0] != 0x30 {
		t.Error("export-ca DER")
	}

	// Revocation.
	out = mustRun(t, now, "revoke", "-dir", dir, "-name", "alice", "-reason", "key-compromise")
	if !strings.Contains(out, "CRL number 1") {
		t.Errorf("revoke said %q", out)
	}
	_, err = run(t, now, "verify", "-dir", dir, "-name", "alice")
	if !errors.Is(err, ErrRevoked) || !strings.Contains(err.Error(), "certs/alice.cert.pem") {
		t.Errorf("verify revoked: %v", err)
	}
	mustRun(t, now, "revoke", "-dir", dir, "-serial", strings.ReplaceAll(formatSerial(bob.SerialNumber.Bytes()), ":", ""))
	out = mustRun(t, now, "crl", "-dir", dir, "-out", filepath.Join(tmp, "ca.crl"))
	if !strings.Contains(out, "CRL number 3, 2 entries") {
		t.Errorf("crl said %q", out)
	}
	out = mustRun(t, now, "print", "-in", filepath.Join(dir, StoreCRL))
	if !strings.Contains(out, "revoked:   2 certificate(s)") || !strings.Contains(out, "key-compromise") {
		t.Errorf("print CRL: %q", out)
	}
	out = mustRun(t, now, "list", "-dir", dir)
	if !strings.Contains(out, "certificate revoked") || !strings.Contains(out, "vpn ") || !strings.Contains(out, ": valid") {
		t.Errorf("list: %q", out)
	}
	// -cacert and -crl instead of the store.
	_, err = run(t, now, "verify", "-in", filepath.Join(dir, CertPath("alice")), "-cacert", filepath.Join(dir, StoreCACert), "-crl", filepath.Join(tmp, "ca.crl"))
	if !errors.Is(err, ErrRevoked) {
		t.Errorf("verify with -cacert -crl: %v", err)
	}
	mustRun(t, now, "verify", "-in", filepath.Join(dir, CertPath("vpn")), "-cacert", filepath.Join(dir, StoreCACert), "-require-crl",
		"-crl", filepath.Join(tmp, "ca.crl"), "-time", now.Add(time.Hour).Format(time.RFC3339))

	// Printing keys and PEM bundles.
	out = mustRun(t, now, "print", "-in", keyPath)
	if !strings.Contains(out, "privkey:   ECDSA P-256") {
		t.Errorf("print key: %q", out)
	}
	mustRun(t, now, "print", "-ca", "-dir", dir)
}

func TestCLIUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		nil,
		{"frobnicate"},
		{"init-ca", "-dir", dir},
		{"init-ca", "-dir", dir, "-dn", "CN=x", "extra"},
		{"init-ca", "-dir", dir, "-bogus"},
		{"issue", "-dir", dir, "-profile", "server"},
		{"issue", "-dir", dir, "-name", "x", "-profile", "ca"},
		{"sign-csr", "-dir", dir},
		{"revoke", "-dir", dir},
		{"revoke", "-dir", dir, "-name", "a", "-serial", "01"},
		{"export-p12", "-dir", dir, "-name", "a", "-out", filepath.Join(dir, "a.p12")},
		{"verify", "-dir", dir},
		{"verify", "-dir", dir, "-name", "a", "-eku", "ca"},
		{"verify", "-dir", dir, "-name", "a", "-time", "yesterday"},
		{"print", "-dir", dir},
	} {
		if _, err := run(t, testNow, args...); !errors.Is(err, ErrUsage) {
			t.Errorf("pki %q: %v, want a usage error", args, err)
		}
	}
	var out, errb bytes.Buffer
	if err := Command(context.Background(), []string{"help"}, &out, &errb); !errors.Is(err, flag.ErrHelp) || !strings.Contains(errb.String(), "export-p12") {
		t.Errorf("help: %v %q", err, errb.String())
	}
	if _, err := run(t, testNow, "issue", "-h"); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("issue -h: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Command(ctx, []string{"list", "-dir", dir}, &out, &errb); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
}

// TestCLIBadInputWritesNothing feeds each kind of bad input to the command
// that consumes it: the error names the file and the reason, and the store
// directory (and the output file) stay as they were.
func TestCLIBadInputWritesNothing(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "store")
	now := testNow
	later := now.Add(3 * 24 * time.Hour)
	mustRun(t, now, "init-ca", "-dir", dir, "-dn", "C=CH, O=ikego, CN=ikego CA", "-type", "ecdsa256")
	mustRun(t, now, "issue", "-dir", dir, "-name", "short", "-profile", "client", "-san", "short@example.org", "-type", "ecdsa256", "-days", "1")
	mustRun(t, now, "issue", "-dir", dir, "-name", "gone", "-profile", "client", "-san", "gone@example.org", "-type", "ecdsa256")
	mustRun(t, now, "revoke", "-dir", dir, "-name", "gone")
	pw := writeFile(t, filepath.Join(tmp, "pw"), []byte("right"))
	wrongPW := writeFile(t, filepath.Join(tmp, "wrongpw"), []byte("wrong"))

	// Inputs made outside the store.
	ca := newCA(t, now, "CN=outside")
	cert, key, err := ca.Issue(Request{Profile: ProfileClient, Names: []string{"x@example.org"}, KeyType: KeyTypeECDSAP256})
	if err != nil {
		t.Fatal(err)
	}
	p12, _ := EncodePKCS12(key, cert, nil, "right", P12Legacy, nil)
	p12Path := writeFile(t, filepath.Join(tmp, "x.p12"), p12)
	good := EncodeCertificatesPEM(cert)
	corrupt := writeFile(t, filepath.Join(tmp, "corrupt.pem"), append(append(good[:40:40], "%%%%"...), good[44:]...))
	csrDER, _ := x509.CreateCertificateRequest(nil, &x509.CertificateRequest{RawSubject: mustDN(t, "CN=mallory"), EmailAddresses: []string{"m@example.org"}}, key)
	goodCSR := writeFile(t, filepath.Join(tmp, "good.csr"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: bytes.Clone(csrDER)}))
	csrDER[len(csrDER)-4] ^= 0x10
	tampered := writeFile(t, filepath.Join(tmp, "tampered.csr"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER}))
	shortPEM, _ := os.ReadFile(filepath.Join(dir, CertPath("short")))
	expired := writeFile(t, filepath.Join(tmp, "expired.pem"), shortPEM)
	gonePEM, _ := os.ReadFile(filepath.Join(dir, CertPath("gone")))
	revoked := writeFile(t, filepath.Join(tmp, "revoked.pem"), gonePEM)
	outP12 := filepath.Join(tmp, "out.p12")

	tests := []struct {
		name   string
		at     time.Time
		args   []string
		target error
		file   string
		reason string
	}{
		{"corrupt PEM", now, []string{"import", "-dir", dir, "-name", "c", "-in", corrupt}, nil, corrupt, "corrupt PEM block"},
		{"corrupt PEM CA", now, []string{"import-ca", "-dir", dir, "-force", "-cert", corrupt, "-key", corrupt}, nil, corrupt, "corrupt PEM block"},
		{"wrong p12 password", now, []string{"import", "-dir", dir, "-name", "x", "-in", p12Path, "-password-file", wrongPW}, ErrWrongPassword, p12Path, "wrong password"},
		{"tampered CSR", now, []string{"sign-csr", "-dir", dir, "-in", tampered, "-name", "m", "-profile", "client", "-out", filepath.Join(tmp, "m.pem")}, ErrBadSignature, tampered, "bad signature"},
		{"expired import", later, []string{"import", "-dir", dir, "-name", "e", "-in", expired}, ErrExpired, expired, "certificate expired"},
		{"expired export", later, []string{"export-p12", "-dir", dir, "-name", "short", "-out", outP12, "-password-file", pw}, ErrExpired, CertPath("short"), "certificate expired"},
		{"expired verify", later, []string{"verify", "-dir", dir, "-in", expired}, ErrExpired, expired, "certificate expired"},
		{"revoked import", now, []string{"import", "-dir", dir, "-name", "g", "-in", revoked}, ErrRevoked, revoked, "certificate revoked"},
		{"revoked export", now, []string{"export-p12", "-dir", dir, "-name", "gone", "-out", outP12, "-password-file", pw}, ErrRevoked, CertPath("gone"), "certificate revoked"},
		{"revoked twice", now, []string{"revoke", "-dir", dir, "-name", "gone"}, nil, "", "already revoked"},
		{"existing name", now, []string{"issue", "-dir", dir, "-name", "short", "-profile", "client", "-san", "a@b.c", "-type", "ecdsa256"}, ErrExists, CertPath("short"), "file exists"},
		{"existing CA", now, []string{"init-ca", "-dir", dir, "-dn", "CN=again", "-type", "ecdsa256"}, ErrExists, StoreCACert, "file exists"},
		{"missing file", now, []string{"import", "-dir", dir, "-name", "n", "-in", filepath.Join(tmp, "nope.pem")}, nil, filepath.Join(tmp, "nope.pem"), "no such file"},
		{"unwritable -out", now, []string{"sign-csr", "-dir", dir, "-in", goodCSR, "-name", "m", "-profile", "client", "-out", filepath.Join(pw, "m.pem")}, nil, filepath.Join(pw, "m.pem"), "not a directory"},
		{"unwritable crl -out", now, []string{"crl", "-dir", dir, "-out", filepath.Join(pw, "c.crl")}, nil, filepath.Join(pw, "c.crl"), "not a directory"},
		{"foreign key", now, []string{"import", "-dir", dir, "-name", "f", "-in", expired, "-key", filepath.Join(dir, KeyPath("gone"))}, nil, filepath.Join(dir, KeyPath("gone")), "belongs to none"},
	}
	for _, tt := range tests {
		before := snapshot(t, tmp)
		_, err := run(t, tt.at, tt.args...)
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if tt.target != nil && !errors.Is(err, tt.target) {
			t.Errorf("%s: %v is not %v", tt.name, err, tt.target)
		}
		if !strings.HasPrefix(err.Error(), "pki: "+tt.file) || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("%s: error %q does not name %q and %q", tt.name, err, tt.file, tt.reason)
		}
		if after := snapshot(t, tmp); after != before {
			t.Errorf("%s: the directory changed:\n%s\n---\n%s", tt.name, before, after)
		}
	}
}
