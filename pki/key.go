package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// KeyType is a kind and size of key pair that the package generates.
type KeyType uint8

// The key types. Windows and Apple's IKEv2 clients accept RSA and ECDSA
// certificates; Ed25519 works between strongSwan-based peers only.
const (
	// KeyTypeDefault is the zero KeyType: RSA 3072 for a CA, RSA 2048 for an
	// end entity, the sizes every IKEv2 client accepts.
	KeyTypeDefault KeyType = iota
	KeyTypeRSA2048
	KeyTypeRSA3072
	KeyTypeRSA4096
	KeyTypeECDSAP256
	KeyTypeECDSAP384
	KeyTypeEd25519
)

var keyTypeNames = [...]string{
	KeyTypeDefault:   "default",
	KeyTypeRSA2048:   "rsa2048",
	KeyTypeRSA3072:   "rsa3072",
	KeyTypeRSA4096:   "rsa4096",
	KeyTypeECDSAP256: "ecdsa256",
	KeyTypeECDSAP384: "ecdsa384",
	KeyTypeEd25519:   "ed25519",
}

// String returns the name ParseKeyType accepts: "rsa2048", "rsa3072",
// "rsa4096", "ecdsa256", "ecdsa384", "ed25519" or "default".
func (t KeyType) String() string {
	if int(t) < len(keyTypeNames) {
		return keyTypeNames[t]
	}
	return fmt.Sprintf("KeyType(%d)", uint8(t))
}

// ParseKeyType returns the KeyType named s (see KeyType.String), ignoring
// case. "rsa" means rsa3072 and "ecdsa" means ecdsa256; "" means
// KeyTypeDefault.
func ParseKeyType(s string) (KeyType, error) {
	switch strings.ToLower(s) {
	case "", "default":
		return KeyTypeDefault, nil
	case "rsa":
		return KeyTypeRSA3072, nil
	case "ecdsa", "ec", "p256", "ecdsa-p256":
		return KeyTypeECDSAP256, nil
	case "p384", "ecdsa-p384":
		return KeyTypeECDSAP384, nil
	}
	for i, n := range keyTypeNames {
		if strings.EqualFold(s, n) {
			return KeyType(i), nil
		}
	}
	return 0, fmt.Errorf("pki: unknown key type %q (want rsa2048, rsa3072, rsa4096, ecdsa256, ecdsa384 or ed25519)", s)
}

// GenerateKey returns a new private key of type t. KeyTypeDefault gives RSA
// 2048. rand is passed to the generator (see Config.Rand).
func GenerateKey(t KeyType, rand io.Reader) (crypto.Signer, error) {
	switch t {
	case KeyTypeDefault, KeyTypeRSA2048:
		return rsa.GenerateKey(rand, 2048)
	case KeyTypeRSA3072:
		return rsa.GenerateKey(rand, 3072)
	case KeyTypeRSA4096:
		return rsa.GenerateKey(rand, 4096)
	case KeyTypeECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand)
	case KeyTypeECDSAP384:
		return ecdsa.GenerateKey(elliptic.P384(), rand)
	case KeyTypeEd25519:
		_, k, err := ed25519.GenerateKey(rand)
		return k, err
	}
	return nil, fmt.Errorf("pki: unknown key type %v", t)
}

// describeKey returns "RSA 2048 bits", "ECDSA P-256", "Ed25519" or an
// error for keys this package does not handle.
func describeKey(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d bits", k.N.BitLen()), nil
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name, nil
	case ed25519.PublicKey:
		return "Ed25519", nil
	}
	return "", fmt.Errorf("pki: unsupported public key type %T", pub)
}

// checkKeyPolicy rejects public keys we do not certify: RSA below 2048 bits
// or above 8192, ECDSA curves other than P-256, P-384 and P-521.
func checkKeyPolicy(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < 2048 || n > 8192 {
			return fmt.Errorf("pki: RSA key of %d bits not accepted (want 2048 to 8192)", n)
		}
		return nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return nil
		}
		return fmt.Errorf("pki: ECDSA curve %s not accepted", k.Curve.Params().Name)
	case ed25519.PublicKey:
		return nil
	}
	return fmt.Errorf("pki: unsupported public key type %T", pub)
}

// publicKeysEqual reports whether a and b are the same public key.
func publicKeysEqual(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

// subjectPublicKeyBits returns the contents of the subjectPublicKey BIT
// STRING of pub's SubjectPublicKeyInfo.
func subjectPublicKeyBits(spki []byte) ([]byte, error) {
	s := cryptobyte.String(spki)
	var seq, alg cryptobyte.String
	var bits asn1.BitString
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() ||
		!seq.ReadASN1(&alg, cbasn1.SEQUENCE) ||
		!seq.ReadASN1BitString(&bits) || !seq.Empty() {
		return nil, errors.New("pki: malformed SubjectPublicKeyInfo")
	}
	return bits.Bytes, nil
}

// keyID returns the SHA-1 hash of the subjectPublicKey bits, the key
// identifier of RFC 5280, Section 4.2.1.2, method (1), which strongSwan also
// uses as the key's fingerprint.
func keyID(pub crypto.PublicKey) ([]byte, error) {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	bits, err := subjectPublicKeyBits(spki)
	if err != nil {
		return nil, err
	}
	h := sha1.Sum(bits)
	return h[:], nil
}
