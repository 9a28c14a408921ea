package pki

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// The layout of a Store directory. Private keys are mode 0600 in
// directories of mode 0700.
//
//	ca/ca.cert.pem       the CA certificate (PEM)
//	ca/ca.key.pem        the CA private key (PEM, 0600)
//	certs/NAME.cert.pem  issued, signed and imported certificates
//	private/NAME.key.pem their private keys, when we have them (0600)
//	crl/ca.crl.pem       the CA's current CRL: the record of revocations
const (
	StoreCACert = "ca/ca.cert.pem"
	StoreCAKey  = "ca/ca.key.pem"
	StoreCRL    = "crl/ca.crl.pem"
)

// Store keeps a CA, certificates, keys and the CRL in a directory (see
// StoreCACert for the layout). Writes are atomic, private keys get mode
// 0600, and existing files are never overwritten unless Overwrite is set.
// Every operation checks its input before it writes, so that a failed
// operation leaves the directory as it was. A Store holds no lock; see the
// package documentation.
type Store struct {
	// Dir is the root directory.
	Dir string
	// Config is used for the CA's operations.
	Config Config
	// Overwrite allows replacing existing files.
	Overwrite bool
}

// CertPath returns the path, relative to Dir, of the certificate NAME.
func CertPath(name string) string { return "certs/" + name + ".cert.pem" }

// KeyPath returns the path, relative to Dir, of the private key NAME.
func KeyPath(name string) string { return "private/" + name + ".key.pem" }

// CheckName reports whether name is usable as a Store entry name: 1 to 64
// characters of letters, digits, '.', '_', '-' and '@', not starting with
// '.'.
func CheckName(name string) error {
	if name == "" || len(name) > 64 || name[0] == '.' {
		return fmt.Errorf("pki: bad name %q", name)
	}
	for _, c := range name {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune("._-@", c)) {
			return fmt.Errorf("pki: bad name %q (use letters, digits, '.', '_', '-', '@')", name)
		}
	}
	return nil
}

func (s *Store) path(rel string) string { return filepath.Join(s.Dir, filepath.FromSlash(rel)) }

func (s *Store) read(rel string) ([]byte, error) {
	b, err := os.ReadFile(s.path(rel))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &FileError{Path: rel, Err: ErrNotFound}
	}
	if err != nil {
		return nil, fileErr(rel, err)
	}
	return b, nil
}

// certFile and keyFile describe files of the store, rel relative to Dir.
func (s *Store) certFile(rel string, cert *x509.Certificate) fileWrite {
	return fileWrite{path: s.path(rel), display: rel, data: EncodeCertificatesPEM(cert), perm: 0o644, dirPerm: 0o755}
}

func (s *Store) keyFile(rel string, key crypto.Signer) (fileWrite, error) {
	pemKey, err := EncodePrivateKeyPEM(key)
	if err != nil {
		return fileWrite{}, err
	}
	return fileWrite{path: s.path(rel), display: rel, data: pemKey, perm: 0o600, dirPerm: 0o700}, nil
}

// crlFile describes the CRL file, which is replaced whatever Overwrite says:
// it is the record of revocations.
func (s *Store) crlFile(crl *x509.RevocationList) fileWrite {
	return fileWrite{path: s.path(StoreCRL), display: StoreCRL, data: EncodeCRLPEM(crl), perm: 0o644, dirPerm: 0o755, replace: true}
}

// write writes files in one transaction (see writeFiles).
func (s *Store) write(files ...fileWrite) error {
	return writeFiles(files, s.Overwrite)
}

// checkFree fails with ErrExists if one of the files exists and Overwrite
// is not set, before any expensive work.
func (s *Store) checkFree(rels ...string) error {
	if s.Overwrite {
		return nil
	}
	for _, rel := range rels {
		if _, err := os.Lstat(s.path(rel)); err == nil {
			return &FileError{Path: rel, Err: ErrExists}
		}
	}
	return nil
}

// InitCA creates a new CA (see NewCA) and writes its certificate and key.
func (s *Store) InitCA(opts CAOptions) (*CA, error) {
	if err := s.checkFree(StoreCACert, StoreCAKey); err != nil {
		return nil, err
	}
	ca, err := NewCA(s.Config, opts)
	if err != nil {
		return nil, err
	}
	return ca, s.saveCA(ca)
}

// ImportCA stores an existing CA certificate and key (see LoadCA).
func (s *Store) ImportCA(cert *x509.Certificate, key crypto.Signer) (*CA, error) {
	ca, err := LoadCA(s.Config, cert, key)
	if err != nil {
		return nil, err
	}
	return ca, s.saveCA(ca)
}

func (s *Store) saveCA(ca *CA) error {
	kf, err := s.keyFile(StoreCAKey, ca.Key)
	if err != nil {
		return err
	}
	cf := s.certFile(StoreCACert, ca.Cert)
	cf.dirPerm = 0o700
	return s.write(kf, cf)
}

// CA loads the CA certificate and key.
func (s *Store) CA() (*CA, error) {
	cert, err := s.loadCert(StoreCACert)
	if err != nil {
		return nil, err
	}
	kb, err := s.read(StoreCAKey)
	if err != nil {
		return nil, err
	}
	key, err := ParsePrivateKey(kb)
	if err != nil {
		return nil, fileErr(StoreCAKey, err)
	}
	ca, err := LoadCA(s.Config, cert, key)
	return ca, fileErr(StoreCACert, err)
}

func (s *Store) loadCert(rel string) (*x509.Certificate, error) {
	b, err := s.read(rel)
	if err != nil {
		return nil, err
	}
	c, err := ParseCertificate(b)
	return c, fileErr(rel, err)
}

// Certificate loads the certificate NAME.
func (s *Store) Certificate(name string) (*x509.Certificate, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	return s.loadCert(CertPath(name))
}

// PrivateKey loads the private key NAME.
func (s *Store) PrivateKey(name string) (crypto.Signer, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	b, err := s.read(KeyPath(name))
	if err != nil {
		return nil, err
	}
	k, err := ParsePrivateKey(b)
	return k, fileErr(KeyPath(name), err)
}

// Names returns the names of the stored certificates, sorted.
func (s *Store) Names() ([]string, error) {
	ents, err := os.ReadDir(s.path("certs"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fileErr("certs", err)
	}
	var names []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".cert.pem"); ok && CheckName(n) == nil {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// Put stores cert as NAME, and key (if not nil) with it. The key must
// belong to cert.
func (s *Store) Put(name string, cert *x509.Certificate, key crypto.Signer) error {
	files, err := s.putFiles(name, cert, key)
	if err != nil {
		return err
	}
	return s.write(files...)
}

func (s *Store) putFiles(name string, cert *x509.Certificate, key crypto.Signer) ([]fileWrite, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	if key != nil && !publicKeysEqual(key.Public(), cert.PublicKey) {
		return nil, errors.New("pki: the private key does not belong to the certificate")
	}
	files := []fileWrite{s.certFile(CertPath(name), cert)}
	if key != nil {
		kf, err := s.keyFile(KeyPath(name), key)
		if err != nil {
			return nil, err
		}
		files = append([]fileWrite{kf}, files...)
	}
	return files, nil
}

// Issue issues a certificate with the stored CA (see CA.Issue) and stores
// it and its new key as NAME.
func (s *Store) Issue(name string, req Request) (*x509.Certificate, crypto.Signer, error) {
	if err := CheckName(name); err != nil {
		return nil, nil, err
	}
	rels := []string{CertPath(name)}
	if req.PublicKey == nil {
		rels = append(rels, KeyPath(name))
	}
	if err := s.checkFree(rels...); err != nil {
		return nil, nil, err
	}
	ca, err := s.CA()
	if err != nil {
		return nil, nil, err
	}
	cert, key, err := ca.Issue(req)
	if err != nil {
		return nil, nil, err
	}
	return cert, key, s.Put(name, cert, key)
}

// SignCSR signs a request with the stored CA (see CA.SignCSR) and stores
// the certificate as NAME.
func (s *Store) SignCSR(name string, csr *x509.CertificateRequest, opts SignOptions) (*x509.Certificate, error) {
	cert, files, err := s.signCSR(name, csr, opts)
	if err != nil {
		return nil, err
	}
	return cert, s.write(files...)
}

// signCSR signs and returns the files to write.
func (s *Store) signCSR(name string, csr *x509.CertificateRequest, opts SignOptions) (*x509.Certificate, []fileWrite, error) {
	if err := CheckName(name); err != nil {
		return nil, nil, err
	}
	if err := s.checkFree(CertPath(name)); err != nil {
		return nil, nil, err
	}
	ca, err := s.CA()
	if err != nil {
		return nil, nil, err
	}
	cert, err := ca.SignCSR(csr, opts)
	if err != nil {
		return nil, nil, err
	}
	files, err := s.putFiles(name, cert, nil)
	return cert, files, err
}

// CRL loads the CA's CRL; ErrNotFound if none was made yet. Its signature
// is checked against the CA certificate.
func (s *Store) CRL() (*x509.RevocationList, error) {
	b, err := s.read(StoreCRL)
	if err != nil {
		return nil, err
	}
	crl, err := ParseCRL(b)
	if err != nil {
		return nil, fileErr(StoreCRL, err)
	}
	caCert, err := s.loadCert(StoreCACert)
	if err != nil {
		return nil, err
	}
	if err := crl.CheckSignatureFrom(caCert); err != nil {
		return nil, &FileError{Path: StoreCRL, Err: fmt.Errorf("%w: not signed by the CA: %v", ErrBadSignature, err)}
	}
	return crl, nil
}

// crlEntries returns the entries and number of the current CRL, none if
// there is no CRL yet.
func (s *Store) crlEntries() ([]x509.RevocationListEntry, *big.Int, error) {
	crl, err := s.CRL()
	if errors.Is(err, ErrNotFound) {
		return nil, big.NewInt(0), nil
	}
	if err != nil {
		return nil, nil, err
	}
	n := crl.Number
	if n == nil {
		n = big.NewInt(0)
	}
	entries := make([]x509.RevocationListEntry, len(crl.RevokedCertificateEntries))
	for i, e := range crl.RevokedCertificateEntries {
		entries[i] = x509.RevocationListEntry{SerialNumber: e.SerialNumber, RevocationTime: e.RevocationTime, ReasonCode: e.ReasonCode}
	}
	return entries, n, nil
}

// Revoke adds serial to the CA's CRL and writes the new CRL, whose number
// is one more than the last. The CRL file is the record of revocations, so
// it is replaced even if Overwrite is not set. Revoking a serial twice is
// an error.
func (s *Store) Revoke(serial *big.Int, reason RevocationReason) (*x509.RevocationList, error) {
	if serial == nil || serial.Sign() <= 0 {
		return nil, errors.New("pki: bad serial number")
	}
	crl, err := s.nextCRL(serial, reason)
	if err != nil {
		return nil, err
	}
	return crl, s.write(s.crlFile(crl))
}

// UpdateCRL re-signs the CA's CRL with fresh thisUpdate and nextUpdate and
// the next number, creating an empty CRL if there is none.
func (s *Store) UpdateCRL() (*x509.RevocationList, error) {
	crl, err := s.nextCRL(nil, 0)
	if err != nil {
		return nil, err
	}
	return crl, s.write(s.crlFile(crl))
}

// nextCRL makes the next CRL, with serial added if not nil.
func (s *Store) nextCRL(serial *big.Int, reason RevocationReason) (*x509.RevocationList, error) {
	ca, err := s.CA()
	if err != nil {
		return nil, err
	}
	entries, n, err := s.crlEntries()
	if err != nil {
		return nil, err
	}
	if serial != nil {
		for _, e := range entries {
			if e.SerialNumber.Cmp(serial) == 0 {
				return nil, fmt.Errorf("pki: serial %s is already revoked (at %s)", formatSerial(serial.Bytes()), e.RevocationTime.UTC().Format(time.RFC3339))
			}
		}
		entries = append(entries, x509.RevocationListEntry{
			SerialNumber:   serial,
			RevocationTime: ca.Config.now().UTC().Truncate(time.Second),
			ReasonCode:     int(reason),
		})
	}
	return ca.CreateCRL(new(big.Int).Add(n, big.NewInt(1)), entries)
}

// Verify verifies cert against the stored CA and CRL (if any) at opts.Time
// with opts.KeyUsages; opts.Roots and opts.CRLs are filled in.
func (s *Store) Verify(cert *x509.Certificate, opts VerifyOptions) ([]*x509.Certificate, error) {
	caCert, err := s.loadCert(StoreCACert)
	if err != nil {
		return nil, err
	}
	opts.Roots = append(opts.Roots, caCert)
	crl, err := s.CRL()
	switch {
	case err == nil:
		opts.CRLs = append(opts.CRLs, crl)
	case !errors.Is(err, ErrNotFound):
		return nil, err
	}
	return Verify(cert, opts)
}
