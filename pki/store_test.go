package pki

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// snapshot lists every file and directory under dir with its mode and a
// hash of its content.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		line := rel + " " + info.Mode().String()
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h := sha256.Sum256(b)
			line += " " + hex.EncodeToString(h[:8])
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func TestStore(t *testing.T) {
	dir := t.TempDir()
	s := &Store{Dir: dir, Config: fixedConfig(testNow)}
	if _, err := s.CA(); !errors.Is(err, ErrNotFound) {
		t.Errorf("CA of an empty store: %v", err)
	}
	ca, err := s.InitCA(CAOptions{Subject: "C=CH, O=ikego, CN=ikego CA", KeyType: KeyTypeECDSAP256})
	if err != nil {
		t.Fatal(err)
	}
	for rel, mode := range map[string]fs.FileMode{
		"ca": fs.ModeDir | 0o700, StoreCACert: 0o644, StoreCAKey: 0o600,
	} {
		info, err := os.Stat(filepath.Join(dir, rel))
		if err != nil || info.Mode() != mode {
			t.Errorf("%s: mode %v, want %v (%v)", rel, info.Mode(), mode, err)
		}
	}
	before := snapshot(t, dir)
	if _, err := s.InitCA(CAOptions{Subject: "CN=second", KeyType: KeyTypeECDSAP256}); !errors.Is(err, ErrExists) ||
		!strings.Contains(err.Error(), "ca/ca.cert.pem") {
		t.Errorf("second InitCA: %v", err)
	}
	if after := snapshot(t, dir); after != before {
		t.Errorf("failed InitCA changed the store:\n%s\n%s", before, after)
	}
	loaded, err := s.CA()
	if err != nil || !loaded.Cert.Equal(ca.Cert) {
		t.Fatalf("CA: %v", err)
	}

	cert, key, err := s.Issue("vpn", Request{Profile: ProfileServer, Names: []string{"vpn.example.org"}, KeyType: KeyTypeECDSAP256})
	if err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(filepath.Join(dir, KeyPath("vpn"))); err != nil || info.Mode() != 0o600 {
		t.Errorf("key mode %v %v", info.Mode(), err)
	}
	if info, err := os.Stat(filepath.Join(dir, "private")); err != nil || info.Mode() != fs.ModeDir|0o700 {
		t.Errorf("private/ mode %v %v", info.Mode(), err)
	}
	if c, err := s.Certificate("vpn"); err != nil || !c.Equal(cert) {
		t.Errorf("Certificate: %v", err)
	}
	if k, err := s.PrivateKey("vpn"); err != nil || !publicKeysEqual(k.Public(), key.Public()) {
		t.Errorf("PrivateKey: %v", err)
	}
	if _, _, err := s.Issue("vpn", Request{Profile: ProfileServer, Names: []string{"x.example.org"}}); !errors.Is(err, ErrExists) {
		t.Errorf("Issue over vpn: %v", err)
	}
	s.Overwrite = true
	cert2, _, err := s.Issue("vpn", Request{Profile: ProfileServer, Names: []string{"x.example.org"}, KeyType: KeyTypeECDSAP256})
	if err != nil {
		t.Fatalf("Issue with Overwrite: %v", err)
	}
	s.Overwrite = false
	if c, _ := s.Certificate("vpn"); !c.Equal(cert2) {
		t.Error("Overwrite did not replace the certificate")
	}
	names, err := s.Names()
	if err != nil || len(names) != 1 || names[0] != "vpn" {
		t.Errorf("Names = %v, %v", names, err)
	}
	for _, bad := range []string{"", ".hidden", "a/b", "../x", "a b", strings.Repeat("x", 65)} {
		if _, _, err := s.Issue(bad, Request{Profile: ProfileClient, Names: []string{"a@b.c"}}); err == nil {
			t.Errorf("name %q accepted", bad)
		}
	}

	// Revocation bookkeeping lives in the CRL.
	if _, err := s.CRL(); !errors.Is(err, ErrNotFound) {
		t.Errorf("CRL before revocation: %v", err)
	}
	crl, err := s.Revoke(cert2.SerialNumber, ReasonSuperseded)
	if err != nil || crl.Number.Int64() != 1 || len(crl.RevokedCertificateEntries) != 1 {
		t.Fatalf("Revoke: %v", err)
	}
	if _, err := s.Revoke(cert2.SerialNumber, ReasonSuperseded); err == nil {
		t.Error("revoked twice")
	}
	crl, err = s.UpdateCRL()
	if err != nil || crl.Number.Int64() != 2 || len(crl.RevokedCertificateEntries) != 1 ||
		crl.RevokedCertificateEntries[0].ReasonCode != int(ReasonSuperseded) {
		t.Fatalf("UpdateCRL: %v", err)
	}
	if _, err := s.Verify(cert2, VerifyOptions{Time: testNow}); !errors.Is(err, ErrRevoked) {
		t.Errorf("Verify revoked: %v", err)
	}
	// A CRL file not signed by the CA is refused.
	other := newCA(t, testNow, "CN=other")
	ocrl, _ := other.CreateCRL(nil, nil)
	if err := os.WriteFile(filepath.Join(dir, StoreCRL), EncodeCRLPEM(ocrl), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CRL(); !errors.Is(err, ErrBadSignature) {
		t.Errorf("foreign CRL: %v", err)
	}
	if _, err := s.Verify(cert2, VerifyOptions{Time: testNow}); !errors.Is(err, ErrBadSignature) {
		t.Errorf("Verify with foreign CRL: %v", err)
	}
}

func TestWriteFilesAtomic(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.txt")
	if err := os.WriteFile(a, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The second target is a directory, so moving it into place fails
	// after the first file was replaced: the first must be restored.
	blocker := filepath.Join(dir, "sub", "b.txt")
	if err := os.MkdirAll(blocker, 0o755); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir)
	err := writeFiles([]fileWrite{
		{path: a, display: "a.txt", data: []byte("new"), perm: 0o600, dirPerm: 0o700},
		{path: blocker, display: "sub/b.txt", data: []byte("b"), perm: 0o600, dirPerm: 0o700},
	}, true)
	if err == nil || !strings.Contains(err.Error(), "sub/b.txt") {
		t.Errorf("writeFiles = %v, want an error naming sub/b.txt", err)
	}
	if after := snapshot(t, dir); after != before {
		t.Errorf("failed writeFiles changed the directory:\n%s\n---\n%s", before, after)
	}

	// A parent that is a file: nothing written, no directory left.
	err = writeFiles([]fileWrite{
		{path: filepath.Join(dir, "new", "c.txt"), display: "new/c.txt", data: []byte("c"), perm: 0o644, dirPerm: 0o755},
		{path: filepath.Join(a, "d.txt"), display: "a.txt/d.txt", data: []byte("d"), perm: 0o644, dirPerm: 0o755},
	}, false)
	if err == nil {
		t.Error("writing below a file succeeded")
	}
	if after := snapshot(t, dir); after != before {
		t.Errorf("failed writeFiles changed the directory:\n%s\n---\n%s", before, after)
	}

	// Success: modes as asked, no temporary files.
	err = writeFiles([]fileWrite{
		{path: filepath.Join(dir, "k", "key.pem"), display: "k/key.pem", data: []byte("secret"), perm: 0o600, dirPerm: 0o700},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, "k", "key.pem"))
	if err != nil || info.Mode() != 0o600 {
		t.Errorf("mode %v %v", info.Mode(), err)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "k"))
	if len(ents) != 1 {
		t.Errorf("leftover files: %v", ents)
	}
	// Refusing to overwrite.
	err = writeFiles([]fileWrite{{path: a, display: "a.txt", data: []byte("x"), perm: 0o644}}, false)
	if !errors.Is(err, ErrExists) || err.Error() != "pki: a.txt: file exists" {
		t.Errorf("overwrite refused with %v", err)
	}
}
