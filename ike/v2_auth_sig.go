package ike

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	cryptorand "crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/ikego/ikego/ike/wire"
)

// Certificate (digital signature) authentication of IKEv2: the octets that
// are signed (RFC 7296 Section 2.15), the AUTH payload of the classic
// methods (RSA Digital Signature, RFC 7296 Section 3.8; ECDSA with SHA-256,
// SHA-384 and SHA-512, RFC 4754) and of the generic Digital Signature
// method (RFC 7427, with Ed25519 from RFC 8420), the
// SIGNATURE_HASH_ALGORITHMS notification (RFC 7427 Section 4), and the CERT
// and CERTREQ payloads of X.509 certificates (RFC 7296 Sections 3.6, 3.7).
//
// Policy:
//   - We announce SHA2-256, SHA2-384, SHA2-512 and Identity, never SHA-1
//     (RFC 8247 Section 3.2 says SHA-1 MUST NOT be used for signatures).
//     A peer that signs with SHA-1 in a Digital Signature AUTH used a hash
//     we did not offer (RFC 7427 Section 4), so it is refused; the classic
//     RSA Digital Signature method, which is defined with SHA-1, is
//     accepted, as strongSwan and older peers still send it.
//   - We sign RSA with PKCS#1 v1.5; RSASSA-PSS (RFC 4055) is verified, when
//     the MGF1 hash is the message hash and the salt length is not zero
//     (crypto/rsa cannot check either otherwise).

// IKEv2 hash algorithm identifiers of the SIGNATURE_HASH_ALGORITHMS
// notification (RFC 7427 Section 7, RFC 8420 Section 2).
const (
	sigHashSHA1     uint16 = 1 // SHA1, never offered nor accepted
	sigHashSHA2_256 uint16 = 2 // SHA2-256
	sigHashSHA2_384 uint16 = 3 // SHA2-384
	sigHashSHA2_512 uint16 = 4 // SHA2-512
	sigHashIdentity uint16 = 5 // Identity: the signature algorithm hashes itself (Ed25519)
)

// signatureHashNotify returns the N(SIGNATURE_HASH_ALGORITHMS) we send in
// IKE_SA_INIT (RFC 7427 Section 4): SHA2-256, SHA2-384, SHA2-512 and
// Identity.
func signatureHashNotify() *wire.Notify {
	ids := []uint16{sigHashSHA2_256, sigHashSHA2_384, sigHashSHA2_512, sigHashIdentity}
	data := make([]byte, 0, 2*len(ids))
	for _, id := range ids {
		data = binary.BigEndian.AppendUint16(data, id)
	}
	return &wire.Notify{Kind: wire.NotifySignatureHashAlgorithms, Data: data}
}

// signedOctets returns the octets a signature AUTH covers (RFC 7296
// Section 2.15):
//
//	SignedOctets = RealMessage | NonceOfThePeer | prf(SK_p, RestOfIDPayload)
//
// message is our IKE_SA_INIT message as sent, peerNonce the peer's nonce
// data, skp our SK_pi or SK_pr and idBody our ID payload's body (see
// idBody). The result is a new slice.
func signedOctets(prfID wire.PRFID, message, peerNonce, skp, idBody []byte) ([]byte, error) {
	p, err := prfByID(prfID)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(message)+len(peerNonce)+p.size)
	out = append(out, message...)
	out = append(out, peerNonce...)
	return append(out, p.sum(skp, idBody)...), nil
}

// Object identifiers of the signature and hash algorithms.
var (
	// RFC 3279 Section 2.2.1, RFC 4055 Section 2.1 and Section 5.
	oidSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}

	oidSHA1WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}
	oidSHA256WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidRSASSAPSS     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidMGF1          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}

	// RFC 3279 Section 2.2.3, RFC 5758 Section 3.2.
	oidECDSAWithSHA1   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 1}
	oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}

	// RFC 8410 Section 3.
	oidEd25519 = asn1.ObjectIdentifier{1, 3, 101, 112}
)

// sigKeyType is the kind of public key a signature algorithm needs.
type sigKeyType uint8

const (
	sigKeyRSA sigKeyType = iota + 1
	sigKeyECDSA
	sigKeyEd25519
)

// String names the key type for errors: "RSA", "ECDSA", "Ed25519".
func (k sigKeyType) String() string {
	switch k {
	case sigKeyRSA:
		return "RSA"
	case sigKeyECDSA:
		return "ECDSA"
	case sigKeyEd25519:
		return "Ed25519"
	}
	return fmt.Sprintf("sigKeyType(%d)", uint8(k))
}

// sigAlgorithm is the signature algorithm of a Digital Signature AUTH
// payload (RFC 7427 Section 3), as its AlgorithmIdentifier names it.
type sigAlgorithm struct {
	name string
	key  sigKeyType
	// hash hashes the signed octets; zero for Ed25519, which signs them
	// whole.
	hash crypto.Hash
	// pss is RSASSA-PSS (RFC 4055 Section 3.1) with saltLength octets of
	// salt and MGF1 with hash; otherwise RSA is PKCS#1 v1.5.
	pss        bool
	saltLength int
}

// simpleSigAlgorithms are the algorithms whose AlgorithmIdentifier has no
// parameters, or NULL ones: their OID says it all.
var simpleSigAlgorithms = []struct {
	oid asn1.ObjectIdentifier
	alg sigAlgorithm
}{
	{oidSHA1WithRSA, sigAlgorithm{name: "sha1WithRSAEncryption", key: sigKeyRSA, hash: crypto.SHA1}},
	{oidSHA256WithRSA, sigAlgorithm{name: "sha256WithRSAEncryption", key: sigKeyRSA, hash: crypto.SHA256}},
	{oidSHA384WithRSA, sigAlgorithm{name: "sha384WithRSAEncryption", key: sigKeyRSA, hash: crypto.SHA384}},
	{oidSHA512WithRSA, sigAlgorithm{name: "sha512WithRSAEncryption", key: sigKeyRSA, hash: crypto.SHA512}},
	{oidECDSAWithSHA1, sigAlgorithm{name: "ecdsa-with-SHA1", key: sigKeyECDSA, hash: crypto.SHA1}},
	{oidECDSAWithSHA256, sigAlgorithm{name: "ecdsa-with-SHA256", key: sigKeyECDSA, hash: crypto.SHA256}},
	{oidECDSAWithSHA384, sigAlgorithm{name: "ecdsa-with-SHA384", key: sigKeyECDSA, hash: crypto.SHA384}},
	{oidECDSAWithSHA512, sigAlgorithm{name: "ecdsa-with-SHA512", key: sigKeyECDSA, hash: crypto.SHA512}},
	{oidEd25519, sigAlgorithm{name: "Ed25519", key: sigKeyEd25519}},
}

// algorithmIdentifier returns the DER AlgorithmIdentifier (RFC 5280
// Section 4.1.1.2) of a PKCS#1 v1.5, ECDSA or Ed25519 algorithm. The
// sha*WithRSAEncryption parameters are NULL (RFC 4055 Section 5); those of
// ECDSA (RFC 5758 Section 3.2) and Ed25519 (RFC 8410 Section 3) are absent.
func algorithmIdentifier(oid asn1.ObjectIdentifier, key sigKeyType) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		if key == sigKeyRSA {
			b.AddASN1NULL()
		}
	})
	return b.BytesOrPanic()
}

// errBadAlgorithmIdentifier is a malformed AlgorithmIdentifier.
var errBadAlgorithmIdentifier = errors.New("malformed AlgorithmIdentifier")

// parseAlgorithmIdentifier parses the AlgorithmIdentifier of a Digital
// Signature AUTH payload (RFC 7427 Section 3, RFC 5280 Section 4.1.1.2):
//
//	AlgorithmIdentifier ::= SEQUENCE {
//	     algorithm    OBJECT IDENTIFIER,
//	     parameters   ANY DEFINED BY algorithm OPTIONAL }
//
// der must be exactly one AlgorithmIdentifier. SHA-1 algorithms are parsed
// (their name makes a clearer error); the caller refuses them.
func parseAlgorithmIdentifier(der []byte) (sigAlgorithm, error) {
	s := cryptobyte.String(der)
	var seq cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() || !seq.ReadASN1ObjectIdentifier(&oid) {
		return sigAlgorithm{}, errBadAlgorithmIdentifier
	}
	var params cryptobyte.String
	var paramsTag cbasn1.Tag
	hasParams := !seq.Empty()
	if hasParams && (!seq.ReadAnyASN1Element(&params, &paramsTag) || !seq.Empty()) {
		return sigAlgorithm{}, errBadAlgorithmIdentifier
	}
	// isNULL is the parameters being an ASN.1 NULL: 05 00.
	isNULL := hasParams && paramsTag == cbasn1.NULL && len(params) == 2
	if oid.Equal(oidRSASSAPSS) {
		if !hasParams {
			// RFC 7427 Appendix A.4.1: absent parameters are all the
			// defaults of RFC 4055 Section 3.1, whose hash is SHA-1.
			return sigAlgorithm{name: "RSASSA-PSS", key: sigKeyRSA, hash: crypto.SHA1, pss: true, saltLength: 20}, nil
		}
		return parsePSSParams(params)
	}
	for _, a := range simpleSigAlgorithms {
		if !oid.Equal(a.oid) {
			continue
		}
		switch {
		case !hasParams:
			// ECDSA and Ed25519 (RFC 5758 Section 3.2, RFC 8410
			// Section 3); RFC 4055 Section 5 has receivers of RSA
			// accept absent parameters too.
		case isNULL && a.alg.key != sigKeyEd25519:
			// RSA (RFC 4055 Section 5); NULL is also taken from an
			// ECDSA signer, which some send.
		default:
			return sigAlgorithm{}, fmt.Errorf("%s with unexpected parameters", a.alg.name)
		}
		return a.alg, nil
	}
	return sigAlgorithm{}, fmt.Errorf("unsupported signature algorithm %s", oid)
}

// PSS parameter tags (RFC 4055 Section 3.1: the module has EXPLICIT TAGS).
var (
	tagPSSHash    = cbasn1.Tag(0).Constructed().ContextSpecific()
	tagPSSMGF     = cbasn1.Tag(1).Constructed().ContextSpecific()
	tagPSSSalt    = cbasn1.Tag(2).Constructed().ContextSpecific()
	tagPSSTrailer = cbasn1.Tag(3).Constructed().ContextSpecific()
)

// maxPSSSalt bounds the salt length read from the parameters; crypto/rsa
// rejects a salt that does not fit the key anyway.
const maxPSSSalt = 1024

// parsePSSParams parses the parameters of id-RSASSA-PSS (RFC 4055
// Section 3.1):
//
//	RSASSA-PSS-params  ::=  SEQUENCE  {
//	    hashAlgorithm      [0] HashAlgorithm DEFAULT sha1Identifier,
//	    maskGenAlgorithm   [1] MaskGenAlgorithm DEFAULT mgf1SHA1Identifier,
//	    saltLength         [2] INTEGER DEFAULT 20,
//	    trailerField       [3] INTEGER DEFAULT 1  }
//
// Defaults encoded explicitly, which DER forbids, are tolerated.
func parsePSSParams(params cryptobyte.String) (sigAlgorithm, error) {
	alg := sigAlgorithm{key: sigKeyRSA, pss: true, hash: crypto.SHA1, saltLength: 20}
	mgfHash := crypto.SHA1
	var seq, field cryptobyte.String
	var present bool
	if !params.ReadASN1(&seq, cbasn1.SEQUENCE) || !params.Empty() {
		return sigAlgorithm{}, errors.New("RSASSA-PSS: malformed parameters")
	}
	if !seq.ReadOptionalASN1(&field, &present, tagPSSHash) {
		return sigAlgorithm{}, errors.New("RSASSA-PSS: malformed hashAlgorithm")
	}
	if present {
		h, err := parseHashAlgorithm(field)
		if err != nil {
			return sigAlgorithm{}, fmt.Errorf("RSASSA-PSS hashAlgorithm: %w", err)
		}
		alg.hash = h
	}
	if !seq.ReadOptionalASN1(&field, &present, tagPSSMGF) {
		return sigAlgorithm{}, errors.New("RSASSA-PSS: malformed maskGenAlgorithm")
	}
	if present {
		// MaskGenAlgorithm ::= AlgorithmIdentifier, whose parameters for
		// id-mgf1 are a HashAlgorithm.
		var mgf cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !field.ReadASN1(&mgf, cbasn1.SEQUENCE) || !field.Empty() || !mgf.ReadASN1ObjectIdentifier(&oid) {
			return sigAlgorithm{}, errors.New("RSASSA-PSS: malformed maskGenAlgorithm")
		}
		if !oid.Equal(oidMGF1) {
			return sigAlgorithm{}, fmt.Errorf("RSASSA-PSS: unsupported mask generation function %s", oid)
		}
		h, err := parseHashAlgorithm(mgf)
		if err != nil {
			return sigAlgorithm{}, fmt.Errorf("RSASSA-PSS MGF1 hash: %w", err)
		}
		mgfHash = h
	}
	if !seq.ReadOptionalASN1(&field, &present, tagPSSSalt) {
		return sigAlgorithm{}, errors.New("RSASSA-PSS: malformed saltLength")
	}
	if present {
		var salt int64
		if !field.ReadASN1Integer(&salt) || !field.Empty() {
			return sigAlgorithm{}, errors.New("RSASSA-PSS: malformed saltLength")
		}
		if salt <= 0 || salt > maxPSSSalt {
			// Zero cannot be told apart from "any length" in crypto/rsa.
			return sigAlgorithm{}, fmt.Errorf("RSASSA-PSS: unsupported salt length %d", salt)
		}
		alg.saltLength = int(salt)
	}
	if !seq.ReadOptionalASN1(&field, &present, tagPSSTrailer) {
		return sigAlgorithm{}, errors.New("RSASSA-PSS: malformed trailerField")
	}
	if present {
		var trailer int64
		if !field.ReadASN1Integer(&trailer) || !field.Empty() || trailer != 1 {
			// RFC 4055 Section 3.1: trailerFieldBC(1) is the only one.
			return sigAlgorithm{}, errors.New("RSASSA-PSS: trailerField is not 1")
		}
	}
	if !seq.Empty() {
		return sigAlgorithm{}, errors.New("RSASSA-PSS: trailing data in parameters")
	}
	if mgfHash != alg.hash {
		return sigAlgorithm{}, fmt.Errorf("RSASSA-PSS: MGF1 with %v and hash %v differ, unsupported", mgfHash, alg.hash)
	}
	alg.name = fmt.Sprintf("RSASSA-PSS(%v, MGF1 %v, salt %d)", alg.hash, mgfHash, alg.saltLength)
	return alg, nil
}

// parseHashAlgorithm parses a HashAlgorithm (RFC 4055 Section 2.1), which
// must fill s: SHA-1 or SHA-2 with NULL or absent parameters (RFC 4055
// Section 2.1 has receivers accept both).
func parseHashAlgorithm(s cryptobyte.String) (crypto.Hash, error) {
	var seq cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() || !seq.ReadASN1ObjectIdentifier(&oid) {
		return 0, errBadAlgorithmIdentifier
	}
	var null cryptobyte.String
	if !seq.Empty() && (!seq.ReadASN1(&null, cbasn1.NULL) || len(null) != 0 || !seq.Empty()) {
		return 0, fmt.Errorf("hash %s with unexpected parameters", oid)
	}
	switch {
	case oid.Equal(oidSHA1):
		return crypto.SHA1, nil
	case oid.Equal(oidSHA256):
		return crypto.SHA256, nil
	case oid.Equal(oidSHA384):
		return crypto.SHA384, nil
	case oid.Equal(oidSHA512):
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("unsupported hash %s", oid)
}

// digest returns the hash of octets.
func digest(h crypto.Hash, octets []byte) ([]byte, error) {
	switch h {
	case crypto.SHA1:
		d := sha1.Sum(octets)
		return d[:], nil
	case crypto.SHA256:
		d := sha256.Sum256(octets)
		return d[:], nil
	case crypto.SHA384:
		d := sha512.Sum384(octets)
		return d[:], nil
	case crypto.SHA512:
		d := sha512.Sum512(octets)
		return d[:], nil
	}
	return nil, fmt.Errorf("ike: unsupported hash %v", h)
}

// sigError is a signature AUTH payload that does not verify, or cannot be
// verified with the peer's key. It wraps ErrAuthFailed.
type sigError struct {
	method wire.AuthMethod
	alg    string // the signature algorithm, when it is known
	reason string
}

// Error says which method and algorithm failed, and why.
func (e *sigError) Error() string {
	if e.alg != "" {
		return fmt.Sprintf("ike: %s AUTH with %s: %s", e.method, e.alg, e.reason)
	}
	return fmt.Sprintf("ike: %s AUTH: %s", e.method, e.reason)
}

// Unwrap returns ErrAuthFailed.
func (e *sigError) Unwrap() error { return ErrAuthFailed }

// ecdsaCurve describes a curve of the classic ECDSA methods (RFC 4754
// Section 3): its method, hash, and the length of r and of s; and the
// hashes we prefer for it in a Digital Signature AUTH: its own, then a
// larger, then a smaller one.
type ecdsaCurve struct {
	name      string
	method    wire.AuthMethod
	hash      crypto.Hash
	size      int
	hashPrefs []uint16
}

// ecdsaCurves are keyed by the curve name of elliptic.CurveParams.
var ecdsaCurves = map[string]ecdsaCurve{
	"P-256": {"P-256", wire.AuthECDSA256, crypto.SHA256, 32, []uint16{sigHashSHA2_256, sigHashSHA2_384, sigHashSHA2_512}},
	"P-384": {"P-384", wire.AuthECDSA384, crypto.SHA384, 48, []uint16{sigHashSHA2_384, sigHashSHA2_512, sigHashSHA2_256}},
	"P-521": {"P-521", wire.AuthECDSA521, crypto.SHA512, 66, []uint16{sigHashSHA2_512, sigHashSHA2_384, sigHashSHA2_256}},
}

// methodCurve names the curve of a classic ECDSA method.
func methodCurve(m wire.AuthMethod) string {
	for _, c := range ecdsaCurves {
		if c.method == m {
			return c.name
		}
	}
	return "?"
}

// curveOf returns the classic method of an ECDSA key's curve.
func curveOf(k *ecdsa.PublicKey) (ecdsaCurve, bool) {
	if k == nil || k.Curve == nil {
		return ecdsaCurve{}, false
	}
	c, ok := ecdsaCurves[k.Params().Name]
	return c, ok
}

// verifyAuth verifies the signature of an AUTH payload over octets (see
// signedOctets) with the peer's public key: RSA Digital Signature (method
// 1: PKCS#1 v1.5 with SHA-1, RFC 7296 Section 3.8), ECDSA with SHA-256,
// SHA-384 and SHA-512 on P-256, P-384 and P-521 (methods 9 to 11: r | s,
// RFC 4754 Section 7), and Digital Signature (method 14, RFC 7427 Section
// 3) with PKCS#1 v1.5 or RSASSA-PSS, ECDSA (an Ecdsa-Sig-Value, RFC 3279
// Section 2.2.3) and Ed25519 (RFC 8420). The key and the method or
// algorithm must be of the same type. SHA-1 in a Digital Signature AUTH is
// refused: we never offer it.
//
// Any failure is a *sigError, which wraps ErrAuthFailed.
func verifyAuth(pub crypto.PublicKey, auth *wire.Auth, octets []byte) error {
	if auth == nil {
		return &sigError{reason: "no AUTH payload"}
	}
	fail := func(alg, format string, args ...any) error {
		return &sigError{method: auth.Method, alg: alg, reason: fmt.Sprintf(format, args...)}
	}
	switch auth.Method {
	case wire.AuthRSASig:
		k, ok := pub.(*rsa.PublicKey)
		if !ok || k == nil || k.N == nil {
			return fail("", "needs an RSA key, the peer's is %s", keyTypeName(pub))
		}
		d := sha1.Sum(octets)
		if err := rsa.VerifyPKCS1v15(k, crypto.SHA1, d[:], auth.Data); err != nil {
			return fail("", "RSA PKCS#1 v1.5 SHA-1 signature does not verify")
		}
		return nil
	case wire.AuthECDSA256, wire.AuthECDSA384, wire.AuthECDSA521:
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return fail("", "needs an ECDSA key, the peer's is %s", keyTypeName(pub))
		}
		c, ok := curveOf(k)
		if !ok || c.method != auth.Method {
			return fail("", "needs a key on %s, the peer's is %s", methodCurve(auth.Method), keyTypeName(pub))
		}
		// RFC 4754 Section 7: r and s, each of the curve's length.
		if len(auth.Data) != 2*c.size {
			return fail("", "signature of %d octets, want %d", len(auth.Data), 2*c.size)
		}
		d, _ := digest(c.hash, octets)
		if !ecdsa.VerifyASN1(k, d, rsToDER(auth.Data)) {
			return fail("", "ECDSA signature does not verify")
		}
		return nil
	case wire.AuthDigitalSignature:
		return verifyDigitalSignature(pub, auth.Data, octets)
	}
	return fail("", "unsupported authentication method")
}

// verifyDigitalSignature verifies the data of a Digital Signature AUTH
// payload (RFC 7427 Section 3):
//
//	1 octet   length of the ASN.1 AlgorithmIdentifier
//	variable  AlgorithmIdentifier (DER)
//	variable  signature
func verifyDigitalSignature(pub crypto.PublicKey, data, octets []byte) error {
	fail := func(alg, format string, args ...any) error {
		return &sigError{method: wire.AuthDigitalSignature, alg: alg, reason: fmt.Sprintf(format, args...)}
	}
	s := cryptobyte.String(data)
	var ai []byte
	var n uint8
	if !s.ReadUint8(&n) || !s.ReadBytes(&ai, int(n)) {
		return fail("", "truncated AlgorithmIdentifier")
	}
	sig := []byte(s)
	alg, err := parseAlgorithmIdentifier(ai)
	if err != nil {
		return fail("", "%v", err)
	}
	if alg.hash == crypto.SHA1 {
		// RFC 7427 Section 4: the signer uses a hash we announced, and
		// SHA-1 is not one (RFC 8247 Section 3.2).
		return fail(alg.name, "SHA-1 was not offered in SIGNATURE_HASH_ALGORITHMS")
	}
	if len(sig) == 0 {
		return fail(alg.name, "no signature")
	}
	if kt := keyTypeOf(pub); kt != alg.key {
		return fail(alg.name, "needs an %s key, the peer's is %s", alg.key, keyTypeName(pub))
	}
	switch alg.key {
	case sigKeyRSA:
		k := pub.(*rsa.PublicKey)
		d, _ := digest(alg.hash, octets)
		if alg.pss {
			err = rsa.VerifyPSS(k, alg.hash, d, sig, &rsa.PSSOptions{SaltLength: alg.saltLength})
		} else {
			err = rsa.VerifyPKCS1v15(k, alg.hash, d, sig)
		}
		if err != nil {
			return fail(alg.name, "signature does not verify")
		}
	case sigKeyECDSA:
		d, _ := digest(alg.hash, octets)
		if !ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), d, sig) {
			return fail(alg.name, "signature does not verify")
		}
	case sigKeyEd25519:
		if !ed25519.Verify(pub.(ed25519.PublicKey), octets, sig) {
			return fail(alg.name, "signature does not verify")
		}
	}
	return nil
}

// keyTypeOf returns the type of a usable public key, or zero.
func keyTypeOf(pub crypto.PublicKey) sigKeyType {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k != nil && k.N != nil {
			return sigKeyRSA
		}
	case *ecdsa.PublicKey:
		if k != nil && k.Curve != nil {
			return sigKeyECDSA
		}
	case ed25519.PublicKey:
		// ed25519.Verify panics on a key of another length.
		if len(k) == ed25519.PublicKeySize {
			return sigKeyEd25519
		}
	}
	return 0
}

// keyTypeName names a public key's type for errors.
func keyTypeName(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k != nil && k.N != nil {
			return fmt.Sprintf("RSA-%d", k.N.BitLen())
		}
	case *ecdsa.PublicKey:
		if k != nil && k.Curve != nil {
			return "ECDSA " + k.Params().Name
		}
	case ed25519.PublicKey:
		if len(k) == ed25519.PublicKeySize {
			return "Ed25519"
		}
	case nil:
		return "missing"
	}
	return fmt.Sprintf("an unusable %T", pub)
}

// rsToDER converts the r | s of RFC 4754 Section 7 (two unsigned integers
// of equal length) into an Ecdsa-Sig-Value (RFC 3279 Section 2.2.3).
func rsToDER(rs []byte) []byte {
	half := len(rs) / 2
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, v := range [][]byte{rs[:half], rs[half:]} {
			v = bytes.TrimLeft(v, "\x00")
			b.AddASN1(cbasn1.INTEGER, func(b *cryptobyte.Builder) {
				// DER INTEGER: minimal, positive, zero is one octet.
				if len(v) == 0 || v[0]&0x80 != 0 {
					b.AddUint8(0)
				}
				b.AddBytes(v)
			})
		}
	})
	return b.BytesOrPanic()
}

// derToRS converts an Ecdsa-Sig-Value (RFC 3279 Section 2.2.3) into the
// r | s of RFC 4754 Section 7, each size octets.
func derToRS(sig []byte, size int) ([]byte, error) {
	s := cryptobyte.String(sig)
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() {
		return nil, errors.New("ike: malformed ECDSA signature")
	}
	out := make([]byte, 2*size)
	for i := range 2 {
		var v cryptobyte.String
		if !seq.ReadASN1(&v, cbasn1.INTEGER) || len(v) == 0 || v[0]&0x80 != 0 {
			return nil, errors.New("ike: malformed ECDSA signature")
		}
		t := bytes.TrimLeft(v, "\x00")
		if len(t) > size {
			return nil, errors.New("ike: ECDSA signature value too long for the curve")
		}
		copy(out[(i+1)*size-len(t):(i+1)*size], t)
	}
	if !seq.Empty() {
		return nil, errors.New("ike: malformed ECDSA signature")
	}
	return out, nil
}

// hashIDs maps the SHA-2 identifiers of SIGNATURE_HASH_ALGORITHMS to
// crypto.Hash.
var hashIDs = map[uint16]crypto.Hash{
	sigHashSHA2_256: crypto.SHA256,
	sigHashSHA2_384: crypto.SHA384,
	sigHashSHA2_512: crypto.SHA512,
}

// rsaOIDs are the PKCS#1 v1.5 signature algorithms we sign with, by hash
// identifier.
var rsaOIDs = map[uint16]asn1.ObjectIdentifier{
	sigHashSHA2_256: oidSHA256WithRSA,
	sigHashSHA2_384: oidSHA384WithRSA,
	sigHashSHA2_512: oidSHA512WithRSA,
}

// ecdsaOIDs are the ECDSA signature algorithms we sign with, by hash
// identifier.
var ecdsaOIDs = map[uint16]asn1.ObjectIdentifier{
	sigHashSHA2_256: oidECDSAWithSHA256,
	sigHashSHA2_384: oidECDSAWithSHA384,
	sigHashSHA2_512: oidECDSAWithSHA512,
}

// firstOffered returns the first of prefs that the peer offered.
func firstOffered(peer []uint16, prefs ...uint16) (uint16, bool) {
	for _, p := range prefs {
		for _, h := range peer {
			if h == p {
				return p, true
			}
		}
	}
	return 0, false
}

// signAuth signs octets (see signedOctets) with our private key and returns
// the AUTH payload. peerHashes are the hash identifiers of the peer's
// SIGNATURE_HASH_ALGORITHMS, nil if it sent none; rand defaults to
// crypto/rand.
//
// With peer hashes it signs a Digital Signature AUTH (RFC 7427 Section 3):
// RSA with PKCS#1 v1.5 and SHA2-256, else SHA2-384, else SHA2-512; ECDSA
// with its curve's hash (P-256: SHA2-256, P-384: SHA2-384, P-521:
// SHA2-512), else a larger, else a smaller offered SHA-2, the signature
// being an Ecdsa-Sig-Value; Ed25519 when the peer offered Identity (RFC
// 8420). Without them, or when the peer offered no SHA-2 we can use, it
// falls back to the classic methods: RSA Digital Signature (PKCS#1 v1.5
// with SHA-1, RFC 7296 Section 3.8) and ECDSA on P-256, P-384 and P-521
// (RFC 4754, r | s). Ed25519 has no classic method: without Identity it is
// an error.
func signAuth(key crypto.Signer, octets []byte, peerHashes []uint16, rand io.Reader) (*wire.Auth, error) {
	if rand == nil {
		rand = cryptorand.Reader
	}
	switch pub := key.Public().(type) {
	case *rsa.PublicKey:
		if id, ok := firstOffered(peerHashes, sigHashSHA2_256, sigHashSHA2_384, sigHashSHA2_512); ok {
			return signDigitalSignature(key, rand, algorithmIdentifier(rsaOIDs[id], sigKeyRSA), hashIDs[id], octets)
		}
		d := sha1.Sum(octets)
		sig, err := key.Sign(rand, d[:], crypto.SHA1)
		if err != nil {
			return nil, fmt.Errorf("ike: RSA signature: %w", err)
		}
		return &wire.Auth{Method: wire.AuthRSASig, Data: sig}, nil
	case *ecdsa.PublicKey:
		c, ok := curveOf(pub)
		if !ok {
			return nil, fmt.Errorf("ike: cannot sign AUTH with %s", keyTypeName(pub))
		}
		if id, ok := firstOffered(peerHashes, c.hashPrefs...); ok {
			return signDigitalSignature(key, rand, algorithmIdentifier(ecdsaOIDs[id], sigKeyECDSA), hashIDs[id], octets)
		}
		d, _ := digest(c.hash, octets)
		sig, err := key.Sign(rand, d, c.hash)
		if err != nil {
			return nil, fmt.Errorf("ike: ECDSA signature: %w", err)
		}
		rs, err := derToRS(sig, c.size)
		if err != nil {
			return nil, err
		}
		return &wire.Auth{Method: c.method, Data: rs}, nil
	case ed25519.PublicKey:
		if _, ok := firstOffered(peerHashes, sigHashIdentity); !ok {
			return nil, errors.New("ike: an Ed25519 AUTH needs the peer to offer the Identity hash (RFC 8420)")
		}
		return signDigitalSignature(key, rand, algorithmIdentifier(oidEd25519, sigKeyEd25519), crypto.Hash(0), octets)
	default:
		return nil, fmt.Errorf("ike: cannot sign AUTH with a %T key", pub)
	}
}

// signDigitalSignature returns a Digital Signature AUTH payload (RFC 7427
// Section 3) with the AlgorithmIdentifier ai, signing octets hashed with h,
// or whole when h is zero (Ed25519).
func signDigitalSignature(key crypto.Signer, rand io.Reader, ai []byte, h crypto.Hash, octets []byte) (*wire.Auth, error) {
	msg := octets
	if h != 0 {
		var err error
		if msg, err = digest(h, octets); err != nil {
			return nil, err
		}
	}
	sig, err := key.Sign(rand, msg, h)
	if err != nil {
		return nil, fmt.Errorf("ike: signature: %w", err)
	}
	data := make([]byte, 0, 1+len(ai)+len(sig))
	data = append(data, byte(len(ai)))
	data = append(data, ai...)
	return &wire.Auth{Method: wire.AuthDigitalSignature, Data: append(data, sig...)}, nil
}

// certPayloads returns the CERT payloads of a certificate chain, leaf
// first (RFC 7296 Section 3.6: the first certificate holds the key that
// verifies AUTH), as X.509 Certificate - Signature. The payloads alias the
// certificates' Raw.
func certPayloads(chain []*x509.Certificate) []wire.Payload {
	out := make([]wire.Payload, 0, len(chain))
	for _, c := range chain {
		out = append(out, &wire.Cert{Encoding: wire.CertX509Signature, Data: c.Raw})
	}
	return out
}

// parseCertPayloads returns the certificates of the X.509 Certificate -
// Signature CERT payloads among ps: the first is the leaf (RFC 7296 Section
// 3.6), the others are intermediates. Other payloads and encodings are
// ignored; with no such CERT, all results are nil. The certificates do not
// alias ps.
func parseCertPayloads(ps []wire.Payload) (leaf *x509.Certificate, intermediates []*x509.Certificate, err error) {
	n := 0
	for _, p := range ps {
		c, ok := p.(*wire.Cert)
		if !ok || c.Encoding != wire.CertX509Signature {
			continue
		}
		n++
		cert, err := x509.ParseCertificate(bytes.Clone(c.Data))
		if err != nil {
			return nil, nil, fmt.Errorf("ike: CERT payload %d: %w", n, err)
		}
		if leaf == nil {
			leaf = cert
		} else {
			intermediates = append(intermediates, cert)
		}
	}
	return leaf, intermediates, nil
}

// caKeyHash returns the SHA-1 hash of a CA's SubjectPublicKeyInfo, how a
// CERTREQ names it (RFC 7296 Section 3.7).
func caKeyHash(ca *x509.Certificate) [sha1.Size]byte {
	return sha1.Sum(ca.RawSubjectPublicKeyInfo)
}

// certReqPayload returns the CERTREQ payload (RFC 7296 Section 3.7) asking
// for certificates issued by cas: X.509 Certificate - Signature, the
// concatenated SHA-1 hashes of their SubjectPublicKeyInfo.
func certReqPayload(cas []*x509.Certificate) *wire.CertReq {
	data := make([]byte, 0, sha1.Size*len(cas))
	for _, ca := range cas {
		h := caKeyHash(ca)
		data = append(data, h[:]...)
	}
	return &wire.CertReq{Encoding: wire.CertX509Signature, Data: data}
}

// certReqMatches reports whether an X.509 Certificate - Signature CERTREQ
// among reqs names ca (RFC 7296 Section 3.7). Requests of other encodings
// and malformed ones are skipped; an empty request names no CA, the caller
// decides what it means.
func certReqMatches(reqs []*wire.CertReq, ca *x509.Certificate) bool {
	if ca == nil {
		return false
	}
	want := caKeyHash(ca)
	for _, r := range reqs {
		if r == nil || r.Encoding != wire.CertX509Signature {
			continue
		}
		hashes, ok := r.Authorities()
		if !ok {
			continue
		}
		for _, h := range hashes {
			if bytes.Equal(h, want[:]) {
				return true
			}
		}
	}
	return false
}
