package pki

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// P12Format selects the encryption and MAC of a PKCS#12 file.
type P12Format uint8

const (
	// P12Legacy is the zero P12Format and the default for client bundles:
	// certificates and key encrypted with PBE-SHA1-3DES, HMAC-SHA1 MAC
	// (go-pkcs12's Legacy, OpenSSL's -descert). iOS and macOS import only
	// this kind of file: they reject the AES/SHA-256 files of OpenSSL 3 and
	// P12Modern with a "wrong password" error. Windows, Android and
	// strongSwan import it too, and OpenSSL 3 reads it with or without
	// -legacy. The encryption is weak: use a strong password and protect
	// the file in transit.
	P12Legacy P12Format = iota
	// P12LegacyRC2 encrypts the certificates with PBE-SHA1-RC2-40 as OpenSSL
	// 1.x did (go-pkcs12's LegacyRC2) for old software; OpenSSL 3 needs
	// -legacy to read it.
	P12LegacyRC2
	// P12Modern uses PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC and an
	// HMAC-SHA256 MAC, like OpenSSL 3 by default; Windows 10 1709 and
	// later, Android and strongSwan import it, Apple devices do not.
	P12Modern
)

// String returns "legacy", "legacy-rc2" or "modern".
func (f P12Format) String() string {
	switch f {
	case P12Legacy:
		return "legacy"
	case P12LegacyRC2:
		return "legacy-rc2"
	case P12Modern:
		return "modern"
	}
	return fmt.Sprintf("P12Format(%d)", uint8(f))
}

// ParseP12Format returns the P12Format named s (see P12Format.String); ""
// means P12Legacy.
func ParseP12Format(s string) (P12Format, error) {
	switch strings.ToLower(s) {
	case "", "legacy", "3des", "apple":
		return P12Legacy, nil
	case "legacy-rc2", "rc2":
		return P12LegacyRC2, nil
	case "modern", "aes":
		return P12Modern, nil
	}
	return 0, fmt.Errorf("pki: unknown PKCS#12 format %q (want legacy, legacy-rc2 or modern)", s)
}

// EncodePKCS12 returns a PKCS#12 file (RFC 7292) holding key, its
// certificate cert and the CA certificates chain, protected by password in
// the given format. The password must not be empty: Apple devices refuse
// such files. rand nil means crypto/rand.Reader.
func EncodePKCS12(key crypto.Signer, cert *x509.Certificate, chain []*x509.Certificate, password string, format P12Format, rand io.Reader) ([]byte, error) {
	if password == "" {
		return nil, errors.New("pki: a PKCS#12 file needs a password")
	}
	if key == nil || cert == nil {
		return nil, errors.New("pki: a PKCS#12 bundle needs a key and a certificate")
	}
	if !publicKeysEqual(key.Public(), cert.PublicKey) {
		return nil, errors.New("pki: the private key does not belong to the certificate")
	}
	var enc *pkcs12.Encoder
	switch format {
	case P12Legacy:
		enc = pkcs12.Legacy
	case P12LegacyRC2:
		enc = pkcs12.LegacyRC2
	case P12Modern:
		enc = pkcs12.Modern
	default:
		return nil, fmt.Errorf("pki: unknown PKCS#12 format %v", format)
	}
	if rand != nil {
		enc = enc.WithRand(rand)
	}
	p12, err := enc.Encode(key, cert, chain, password)
	if err != nil {
		return nil, fmt.Errorf("pki: %v", err)
	}
	return p12, nil
}

// looksLikePKCS12 reports whether data starts like a PFX PDU (RFC 7292,
// Section 4): SEQUENCE { version INTEGER (3), authSafe ContentInfo, ... }.
func looksLikePKCS12(data []byte) bool {
	s := cryptobyte.String(data)
	var pfx cryptobyte.String
	var version int
	return s.ReadASN1(&pfx, cbasn1.SEQUENCE) && pfx.ReadASN1Integer(&version) &&
		version == 3 && pfx.PeekASN1Tag(cbasn1.SEQUENCE)
}

// DecodePKCS12 reads the private key and certificates of a PKCS#12 file
// made by openssl, Windows, macOS or EncodePKCS12 (PBE-SHA1-3DES/RC2 or
// PBES2/AES). A wrong password gives an error wrapping ErrWrongPassword. The
// file must hold exactly one private key and at least one certificate; the
// certificate of the key becomes Bundle.Certificate whatever the bag order.
func DecodePKCS12(data []byte, password string) (b *Bundle, err error) {
	if !looksLikePKCS12(data) {
		return nil, errors.New("pki: not a PKCS#12 file")
	}
	defer func() {
		// go-pkcs12 is third-party code parsing untrusted input: turn a
		// panic into an error rather than crashing the caller.
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("pki: malformed PKCS#12 file (%v)", r)
		}
	}()
	if err := checkIterations(cryptobyte.String(data), 0, maxIterations); err != nil {
		return nil, err
	}
	k, cert, chain, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) || errors.Is(err, pkcs12.ErrDecryption) {
			return nil, ErrWrongPassword
		}
		return nil, fmt.Errorf("pki: malformed PKCS#12 file: %s", strings.TrimPrefix(err.Error(), "pkcs12: "))
	}
	key, err := asSigner(k)
	if err != nil {
		return nil, err
	}
	return newBundle(key, append([]*x509.Certificate{cert}, chain...))
}

// maxIterations bounds the key-derivation iterations of a PKCS#12 file we
// read. Common files use 1 to 600000; a file with 2^31 would keep a CPU busy
// for hours.
const maxIterations = 2_000_000

// checkIterations walks the cleartext DER of a PKCS#12 file, including DER
// nested in OCTET STRINGs, and rejects iteration counts above
// limit (maxIterations when reading files; the fuzz targets use less, to
// keep each execution short). An iteration count is an INTEGER right after an OCTET
// STRING in a SEQUENCE: the salt and count of MacData (RFC 7292, Section 4),
// of pkcs-12PbeParams (Appendix C) and of PBKDF2-params (RFC 8018, Appendix
// A.2). Parameters inside encrypted SafeContents cannot be seen here.
func checkIterations(s cryptobyte.String, depth int, limit int64) error {
	if depth > 24 {
		return nil
	}
	prevOctets := false
	for !s.Empty() {
		var elem, body cryptobyte.String
		var tag cbasn1.Tag
		if !s.ReadAnyASN1Element(&elem, &tag) {
			return nil // not DER; the parser will say so
		}
		e := elem
		e.ReadAnyASN1(&body, &tag)
		switch {
		case tag == cbasn1.INTEGER && prevOctets:
			var n int64
			if len(body) > 4 || (elem.ReadASN1Int64WithTag(&n, cbasn1.INTEGER) && n > limit) {
				return fmt.Errorf("pki: PKCS#12 file with too many key derivation iterations (more than %d)", limit)
			}
		case tag == cbasn1.OCTET_STRING, tag&0x20 != 0: // constructed
			if err := checkIterations(body, depth+1, limit); err != nil {
				return err
			}
		}
		prevOctets = tag == cbasn1.OCTET_STRING
	}
	return nil
}
