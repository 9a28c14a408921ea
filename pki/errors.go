package pki

import (
	"errors"
	"strings"
)

// The sentinel errors of the package. Errors returned by the package wrap
// them (test with errors.Is) and add the detail, e.g. which certificate
// expired when.
var (
	// ErrWrongPassword means a PKCS#12 file's MAC or encryption did not verify
	// with the password given.
	ErrWrongPassword = errors.New("pki: wrong password")
	// ErrBadSignature means a signature did not verify: a CSR's
	// self-signature, a certificate's or a CRL's signature by its issuer.
	ErrBadSignature = errors.New("pki: bad signature")
	// ErrExpired means a certificate or a CA certificate is past its NotAfter.
	ErrExpired = errors.New("pki: certificate expired")
	// ErrNotYetValid means a certificate is before its NotBefore.
	ErrNotYetValid = errors.New("pki: certificate not yet valid")
	// ErrRevoked means a certificate is listed in a valid CRL of its issuer.
	ErrRevoked = errors.New("pki: certificate revoked")
	// ErrUntrusted means no chain leads from the certificate to a trusted
	// root, or the chain violates a constraint (key usage, path length).
	ErrUntrusted = errors.New("pki: certificate not trusted")
	// ErrExists means a file already exists and overwriting was not allowed.
	ErrExists = errors.New("pki: file exists")
	// ErrNotFound means the Store has no such CA, certificate, key or CRL.
	ErrNotFound = errors.New("pki: not found")
	// ErrNoCRL means VerifyOptions.RequireCRL is set and no current CRL of an
	// issuer in the chain was given.
	ErrNoCRL = errors.New("pki: no current CRL")
)

// FileError is an error about a file: its Error is
// "pki: PATH: REASON". Path is the name the user knows: as given on the
// command line, or relative to the Store directory.
type FileError struct {
	// Path names the file.
	Path string
	// Err is the reason, often wrapping one of the sentinels.
	Err error
}

// Error returns "pki: PATH: REASON".
func (e *FileError) Error() string {
	return "pki: " + e.Path + ": " + strings.TrimPrefix(e.Err.Error(), "pki: ")
}

// Unwrap returns the reason, so that errors.Is finds the sentinels.
func (e *FileError) Unwrap() error { return e.Err }

// fileErr wraps err with path unless err is nil or already names a file.
func fileErr(path string, err error) error {
	if err == nil {
		return nil
	}
	var fe *FileError
	if errors.As(err, &fe) {
		return err
	}
	return &FileError{Path: path, Err: err}
}
