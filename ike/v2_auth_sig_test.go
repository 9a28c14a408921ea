package ike

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/ikego/ikego/ike/wire"
)

// sigHex decodes hex written with spaces and line breaks, as the RFCs
// print it.
func sigHex(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

// RFC 7427 Appendix A: the DER of the AlgorithmIdentifiers of the Digital
// Signature method, as the RFC prints them (the "0000:" offsets dropped).
var (
	// Appendix A.1.1, sha1WithRSAEncryption.
	rfc7427SHA1WithRSA = sigHex("300d 0609 2a86 4886 f70d 0101 0505 00")
	// Appendix A.1.2, sha256WithRSAEncryption.
	rfc7427SHA256WithRSA = sigHex("300d 0609 2a86 4886 f70d 0101 0b05 00")
	// Appendix A.1.3, sha384WithRSAEncryption.
	rfc7427SHA384WithRSA = sigHex("300d 0609 2a86 4886 f70d 0101 0c05 00")
	// Appendix A.1.4, sha512WithRSAEncryption.
	rfc7427SHA512WithRSA = sigHex("300d 0609 2a86 4886 f70d 0101 0d05 00")
	// Appendix A.2.2, dsa-with-sha256 (DSA is not supported).
	rfc7427DSAWithSHA256 = sigHex("300b 0609 6086 4801 6503 0403 02")
	// Appendix A.3.1, ecdsa-with-sha1.
	rfc7427ECDSAWithSHA1 = sigHex("3009 0607 2a86 48ce 3d04 01")
	// Appendix A.3.2, ecdsa-with-sha256.
	rfc7427ECDSAWithSHA256 = sigHex("300a 0608 2a86 48ce 3d04 0302")
	// Appendix A.3.3, ecdsa-with-sha384.
	rfc7427ECDSAWithSHA384 = sigHex("300a 0608 2a86 48ce 3d04 0303")
	// Appendix A.3.4, ecdsa-with-sha512.
	rfc7427ECDSAWithSHA512 = sigHex("300a 0608 2a86 48ce 3d04 0304")
	// Appendix A.4.1, RSASSA-PSS with empty parameters: all defaults,
	// so SHA-1.
	rfc7427PSSEmpty = sigHex("300d 0609 2a86 4886 f70d 0101 0a30 00")
	// Appendix A.4.3, RSASSA-PSS with SHA-256: hash SHA-256, MGF1 with
	// SHA-256, salt length 32.
	rfc7427PSSSHA256 = sigHex(`
		3041 0609 2a86 4886 f70d 0101 0a30 34a0
		0f30 0d06 0960 8648 0165 0304 0201 0500
		a11c 301a 0609 2a86 4886 f70d 0101 0830
		0d06 0960 8648 0165 0304 0201 0500 a203
		0201 20`)
	// RFC 8410 Section 3 (id-Ed25519, parameters absent), the
	// AlgorithmIdentifier RFC 8420 Section 2 puts in the AUTH payload;
	// it opens every Ed25519 SubjectPublicKeyInfo (RFC 8410 Section 10.1).
	rfc8410Ed25519 = sigHex("3005 0603 2b65 70")
)

// sigKeys are the keys of the tests: fixed RSA and P-256 keys from
// testdata/sig (see its README), the others made once per run.
type sigKeys struct {
	rsa, rsaOther    *rsa.PrivateKey
	p256, p384, p521 *ecdsa.PrivateKey
	p256Other, p224  *ecdsa.PrivateKey
	ed25519, edOther ed25519.PrivateKey
}

var testSigKeys = sync.OnceValues(func() (*sigKeys, error) {
	load := func(name string) (crypto.Signer, error) {
		b, err := os.ReadFile(filepath.Join("testdata", "sig", name))
		if err != nil {
			return nil, err
		}
		blk, _ := pem.Decode(b)
		if blk == nil {
			return nil, errors.New(name + ": no PEM block")
		}
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			return nil, err
		}
		return k.(crypto.Signer), nil
	}
	var k sigKeys
	var err error
	var s crypto.Signer
	if s, err = load("rsa2048.pem"); err != nil {
		return nil, err
	}
	k.rsa = s.(*rsa.PrivateKey)
	if s, err = load("rsa2048-other.pem"); err != nil {
		return nil, err
	}
	k.rsaOther = s.(*rsa.PrivateKey)
	if s, err = load("p256.pem"); err != nil {
		return nil, err
	}
	k.p256 = s.(*ecdsa.PrivateKey)
	gen := func(c elliptic.Curve) *ecdsa.PrivateKey {
		if err != nil {
			return nil
		}
		var p *ecdsa.PrivateKey
		p, err = ecdsa.GenerateKey(c, rand.Reader)
		return p
	}
	k.p256Other, k.p384, k.p521, k.p224 = gen(elliptic.P256()), gen(elliptic.P384()), gen(elliptic.P521()), gen(elliptic.P224())
	if err != nil {
		return nil, err
	}
	if _, k.ed25519, err = ed25519.GenerateKey(rand.Reader); err != nil {
		return nil, err
	}
	if _, k.edOther, err = ed25519.GenerateKey(rand.Reader); err != nil {
		return nil, err
	}
	return &k, nil
})

// keys returns the test keys, failing the test if they cannot be read.
func keys(tb testing.TB) *sigKeys {
	tb.Helper()
	k, err := testSigKeys()
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// splitDigitalSignature splits the data of a Digital Signature AUTH (RFC
// 7427 Section 3) into AlgorithmIdentifier and signature, independently of
// the code under test.
func splitDigitalSignature(t *testing.T, data []byte) (ai, sig []byte) {
	t.Helper()
	if len(data) < 1 || len(data) < 1+int(data[0]) {
		t.Fatalf("Digital Signature AUTH data too short: %x", data)
	}
	return data[1 : 1+int(data[0])], data[1+int(data[0]):]
}

// digitalSignatureAuth builds a Digital Signature AUTH payload by hand.
func digitalSignatureAuth(ai, sig []byte) *wire.Auth {
	data := append([]byte{byte(len(ai))}, ai...)
	return &wire.Auth{Method: wire.AuthDigitalSignature, Data: append(data, sig...)}
}

// checkAuthFailed asserts err is a signature verification failure.
func checkAuthFailed(t *testing.T, err error, what string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: verified", what)
		return
	}
	var se *sigError
	if !errors.Is(err, ErrAuthFailed) || !errors.As(err, &se) {
		t.Errorf("%s: error %v (%T) is not a *sigError wrapping ErrAuthFailed", what, err, err)
	}
}

func TestSigSignedOctets(t *testing.T) {
	msg, nonce, skp, id := []byte("IKE_SA_INIT message"), []byte("the peer's nonce"), []byte("SK_p key"), []byte{2, 0, 0, 0, 'a', 'b'}
	got, err := signedOctets(wire.PRFHMACSHA2_256, msg, nonce, skp, id)
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, skp)
	m.Write(id)
	want := append(append(append([]byte(nil), msg...), nonce...), m.Sum(nil)...)
	if !bytes.Equal(got, want) {
		t.Errorf("signedOctets = %x, want RealMessage | Nonce | prf(SK_p, ID') = %x", got, want)
	}
	got384, _ := signedOctets(wire.PRFHMACSHA2_384, msg, nonce, skp, id)
	if len(got384) != len(msg)+len(nonce)+48 {
		t.Errorf("HMAC-SHA2-384: %d octets", len(got384))
	}
	if _, err := signedOctets(wire.PRFID(999), msg, nonce, skp, id); err == nil {
		t.Error("unknown PRF accepted")
	}
}

func TestSigHashNotify(t *testing.T) {
	n := signatureHashNotify()
	if n.Kind != wire.NotifySignatureHashAlgorithms || len(n.SPI) != 0 {
		t.Fatalf("notify %v with SPI %x", n.Kind, n.SPI)
	}
	// RFC 7427 Section 4 and RFC 8420 Section 2: SHA2-256 (2),
	// SHA2-384 (3), SHA2-512 (4), Identity (5), two octets each.
	if want := sigHex("0002 0003 0004 0005"); !bytes.Equal(n.Data, want) {
		t.Errorf("data %x, want %x", n.Data, want)
	}
	if got := n.SignatureHashAlgorithms(); len(got) != 4 || got[0] != sigHashSHA2_256 || got[3] != sigHashIdentity {
		t.Errorf("SignatureHashAlgorithms() = %v", got)
	}
}

// TestSigAlgorithmIdentifierKnownAnswers compares our AlgorithmIdentifiers
// with the DER of RFC 7427 Appendix A, both ways.
func TestSigAlgorithmIdentifierKnownAnswers(t *testing.T) {
	enc := []struct {
		name string
		got  []byte
		want []byte
	}{
		{"sha256WithRSAEncryption", algorithmIdentifier(oidSHA256WithRSA, sigKeyRSA), rfc7427SHA256WithRSA},
		{"sha384WithRSAEncryption", algorithmIdentifier(oidSHA384WithRSA, sigKeyRSA), rfc7427SHA384WithRSA},
		{"sha512WithRSAEncryption", algorithmIdentifier(oidSHA512WithRSA, sigKeyRSA), rfc7427SHA512WithRSA},
		{"sha1WithRSAEncryption", algorithmIdentifier(oidSHA1WithRSA, sigKeyRSA), rfc7427SHA1WithRSA},
		{"ecdsa-with-SHA256", algorithmIdentifier(oidECDSAWithSHA256, sigKeyECDSA), rfc7427ECDSAWithSHA256},
		{"ecdsa-with-SHA384", algorithmIdentifier(oidECDSAWithSHA384, sigKeyECDSA), rfc7427ECDSAWithSHA384},
		{"ecdsa-with-SHA512", algorithmIdentifier(oidECDSAWithSHA512, sigKeyECDSA), rfc7427ECDSAWithSHA512},
		{"ecdsa-with-SHA1", algorithmIdentifier(oidECDSAWithSHA1, sigKeyECDSA), rfc7427ECDSAWithSHA1},
		{"Ed25519", algorithmIdentifier(oidEd25519, sigKeyEd25519), rfc8410Ed25519},
	}
	for _, c := range enc {
		if !bytes.Equal(c.got, c.want) {
			t.Errorf("%s: we encode %x, the RFC has %x", c.name, c.got, c.want)
		}
	}

	dec := []struct {
		der  []byte
		want sigAlgorithm
	}{
		{rfc7427SHA1WithRSA, sigAlgorithm{name: "sha1WithRSAEncryption", key: sigKeyRSA, hash: crypto.SHA1}},
		{rfc7427SHA256WithRSA, sigAlgorithm{name: "sha256WithRSAEncryption", key: sigKeyRSA, hash: crypto.SHA256}},
		{rfc7427SHA384WithRSA, sigAlgorithm{name: "sha384WithRSAEncryption", key: sigKeyRSA, hash: crypto.SHA384}},
		{rfc7427SHA512WithRSA, sigAlgorithm{name: "sha512WithRSAEncryption", key: sigKeyRSA, hash: crypto.SHA512}},
		{rfc7427ECDSAWithSHA1, sigAlgorithm{name: "ecdsa-with-SHA1", key: sigKeyECDSA, hash: crypto.SHA1}},
		{rfc7427ECDSAWithSHA256, sigAlgorithm{name: "ecdsa-with-SHA256", key: sigKeyECDSA, hash: crypto.SHA256}},
		{rfc7427ECDSAWithSHA384, sigAlgorithm{name: "ecdsa-with-SHA384", key: sigKeyECDSA, hash: crypto.SHA384}},
		{rfc7427ECDSAWithSHA512, sigAlgorithm{name: "ecdsa-with-SHA512", key: sigKeyECDSA, hash: crypto.SHA512}},
		{rfc7427PSSEmpty, sigAlgorithm{key: sigKeyRSA, hash: crypto.SHA1, pss: true, saltLength: 20}},
		{rfc7427PSSSHA256, sigAlgorithm{key: sigKeyRSA, hash: crypto.SHA256, pss: true, saltLength: 32}},
		{rfc8410Ed25519, sigAlgorithm{name: "Ed25519", key: sigKeyEd25519}},
	}
	for _, c := range dec {
		got, err := parseAlgorithmIdentifier(c.der)
		if err != nil {
			t.Errorf("%x: %v", c.der, err)
			continue
		}
		if c.want.name == "" {
			c.want.name = got.name
		}
		if got != c.want {
			t.Errorf("%x: parsed %+v, want %+v", c.der, got, c.want)
		}
	}
	// Appendix A.2.2: DSA is not supported.
	if _, err := parseAlgorithmIdentifier(rfc7427DSAWithSHA256); err == nil || !strings.Contains(err.Error(), "2.16.840.1.101.3.4.3.2") {
		t.Errorf("dsa-with-sha256: %v", err)
	}
}

// checkIndependently verifies an AUTH payload with the standard library
// directly, not with verifyAuth, so that a bug shared by signAuth and
// verifyAuth cannot hide.
func checkIndependently(t *testing.T, pub crypto.PublicKey, a *wire.Auth, octets []byte) {
	t.Helper()
	hashOf := map[string]crypto.Hash{
		string(rfc7427SHA256WithRSA): crypto.SHA256, string(rfc7427SHA384WithRSA): crypto.SHA384, string(rfc7427SHA512WithRSA): crypto.SHA512,
		string(rfc7427ECDSAWithSHA256): crypto.SHA256, string(rfc7427ECDSAWithSHA384): crypto.SHA384, string(rfc7427ECDSAWithSHA512): crypto.SHA512,
	}
	sum := func(h crypto.Hash) []byte {
		switch h {
		case crypto.SHA1:
			d := sha1.Sum(octets)
			return d[:]
		case crypto.SHA256:
			d := sha256.Sum256(octets)
			return d[:]
		case crypto.SHA384:
			d := sha512.Sum384(octets)
			return d[:]
		}
		d := sha512.Sum512(octets)
		return d[:]
	}
	ok := false
	switch a.Method {
	case wire.AuthRSASig:
		ok = rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), crypto.SHA1, sum(crypto.SHA1), a.Data) == nil
	case wire.AuthECDSA256, wire.AuthECDSA384, wire.AuthECDSA521:
		h := map[wire.AuthMethod]crypto.Hash{wire.AuthECDSA256: crypto.SHA256, wire.AuthECDSA384: crypto.SHA384, wire.AuthECDSA521: crypto.SHA512}[a.Method]
		n := len(a.Data) / 2
		r, s := new(big.Int).SetBytes(a.Data[:n]), new(big.Int).SetBytes(a.Data[n:])
		ok = ecdsa.Verify(pub.(*ecdsa.PublicKey), sum(h), r, s)
	case wire.AuthDigitalSignature:
		ai, sig := splitDigitalSignature(t, a.Data)
		switch k := pub.(type) {
		case *rsa.PublicKey:
			ok = rsa.VerifyPKCS1v15(k, hashOf[string(ai)], sum(hashOf[string(ai)]), sig) == nil
		case *ecdsa.PublicKey:
			ok = ecdsa.VerifyASN1(k, sum(hashOf[string(ai)]), sig)
		case ed25519.PublicKey:
			ok = bytes.Equal(ai, rfc8410Ed25519) && ed25519.Verify(k, octets, sig)
		}
	}
	if !ok {
		t.Errorf("the standard library does not verify the %v AUTH %x", a.Method, a.Data)
	}
}

func TestSigAuthRoundTrip(t *testing.T) {
	k := keys(t)
	octets := []byte("RealMessage | NonceOfThePeer | prf(SK_p, RestOfIDPayload)")
	all := []uint16{sigHashSHA2_256, sigHashSHA2_384, sigHashSHA2_512, sigHashIdentity}
	cases := []struct {
		name   string
		key    crypto.Signer
		other  crypto.Signer // same type, another key
		wrong  crypto.Signer // another type
		hashes []uint16
		method wire.AuthMethod
		ai     []byte // for method 14
		rsLen  int    // for methods 9 to 11
	}{
		{"RSA/none", k.rsa, k.rsaOther, k.p256, nil, wire.AuthRSASig, nil, 0},
		{"RSA/all", k.rsa, k.rsaOther, k.p256, all, wire.AuthDigitalSignature, rfc7427SHA256WithRSA, 0},
		{"RSA/SHA2-256", k.rsa, k.rsaOther, k.p256, []uint16{sigHashSHA2_256}, wire.AuthDigitalSignature, rfc7427SHA256WithRSA, 0},
		{"RSA/SHA2-384", k.rsa, k.rsaOther, k.p256, []uint16{sigHashSHA2_384}, wire.AuthDigitalSignature, rfc7427SHA384WithRSA, 0},
		{"RSA/SHA2-512", k.rsa, k.rsaOther, k.p256, []uint16{sigHashSHA2_512}, wire.AuthDigitalSignature, rfc7427SHA512WithRSA, 0},
		{"RSA/512,384", k.rsa, k.rsaOther, k.p256, []uint16{sigHashSHA2_512, sigHashSHA2_384}, wire.AuthDigitalSignature, rfc7427SHA384WithRSA, 0},
		{"RSA/Identity only", k.rsa, k.rsaOther, k.ed25519, []uint16{sigHashIdentity}, wire.AuthRSASig, nil, 0},
		{"RSA/SHA1 only", k.rsa, k.rsaOther, k.ed25519, []uint16{sigHashSHA1}, wire.AuthRSASig, nil, 0},
		{"P-256/none", k.p256, k.p256Other, k.rsa, nil, wire.AuthECDSA256, nil, 64},
		{"P-256/all", k.p256, k.p256Other, k.rsa, all, wire.AuthDigitalSignature, rfc7427ECDSAWithSHA256, 0},
		{"P-256/384,512", k.p256, k.p256Other, k.rsa, []uint16{sigHashSHA2_512, sigHashSHA2_384}, wire.AuthDigitalSignature, rfc7427ECDSAWithSHA384, 0},
		{"P-256/512", k.p256, k.p256Other, k.ed25519, []uint16{sigHashSHA2_512}, wire.AuthDigitalSignature, rfc7427ECDSAWithSHA512, 0},
		{"P-256/Identity only", k.p256, k.p256Other, k.rsa, []uint16{sigHashIdentity}, wire.AuthECDSA256, nil, 64},
		{"P-384/none", k.p384, k.p256, k.rsa, nil, wire.AuthECDSA384, nil, 96},
		{"P-384/all", k.p384, k.p256, k.rsa, all, wire.AuthDigitalSignature, rfc7427ECDSAWithSHA384, 0},
		{"P-384/256,512", k.p384, k.p256, k.rsa, []uint16{sigHashSHA2_256, sigHashSHA2_512}, wire.AuthDigitalSignature, rfc7427ECDSAWithSHA512, 0},
		{"P-384/256", k.p384, k.p256, k.rsa, []uint16{sigHashSHA2_256}, wire.AuthDigitalSignature, rfc7427ECDSAWithSHA256, 0},
		{"P-521/none", k.p521, k.p384, k.rsa, nil, wire.AuthECDSA521, nil, 132},
		{"P-521/all", k.p521, k.p384, k.ed25519, all, wire.AuthDigitalSignature, rfc7427ECDSAWithSHA512, 0},
		{"P-521/256,384", k.p521, k.p384, k.rsa, []uint16{sigHashSHA2_256, sigHashSHA2_384}, wire.AuthDigitalSignature, rfc7427ECDSAWithSHA384, 0},
		{"Ed25519/all", k.ed25519, k.edOther, k.rsa, all, wire.AuthDigitalSignature, rfc8410Ed25519, 0},
		{"Ed25519/Identity", k.ed25519, k.edOther, k.p256, []uint16{sigHashIdentity}, wire.AuthDigitalSignature, rfc8410Ed25519, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := signAuth(c.key, octets, c.hashes, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			if a.Method != c.method {
				t.Fatalf("method %v, want %v", a.Method, c.method)
			}
			if c.ai != nil {
				if ai, _ := splitDigitalSignature(t, a.Data); !bytes.Equal(ai, c.ai) {
					t.Fatalf("AlgorithmIdentifier %x, want %x", ai, c.ai)
				}
			}
			if c.rsLen != 0 && len(a.Data) != c.rsLen {
				t.Fatalf("r | s of %d octets, want %d", len(a.Data), c.rsLen)
			}
			pub := c.key.Public()
			if err := verifyAuth(pub, a, octets); err != nil {
				t.Fatalf("does not verify: %v", err)
			}
			checkIndependently(t, pub, a, octets)

			checkAuthFailed(t, verifyAuth(c.other.Public(), a, octets), "another key")
			checkAuthFailed(t, verifyAuth(c.wrong.Public(), a, octets), "a key of another type")
			for _, bit := range []int{0, 8*len(a.Data) - 1, 4 * len(a.Data)} {
				bad := bytes.Clone(a.Data)
				bad[bit/8] ^= 1 << (bit % 8)
				checkAuthFailed(t, verifyAuth(pub, &wire.Auth{Method: a.Method, Data: bad}, octets), "flipped bit in the AUTH data")
			}
			for _, bit := range []int{0, 8*len(octets) - 1} {
				bad := bytes.Clone(octets)
				bad[bit/8] ^= 1 << (bit % 8)
				checkAuthFailed(t, verifyAuth(pub, a, bad), "flipped bit in the octets")
			}
			for n := range len(a.Data) {
				if n > 20 && n < len(a.Data)-2 && n%16 != 0 {
					continue
				}
				checkAuthFailed(t, verifyAuth(pub, &wire.Auth{Method: a.Method, Data: a.Data[:n]}, octets), "truncated AUTH data")
			}
			for _, m := range []wire.AuthMethod{wire.AuthRSASig, wire.AuthPSK, wire.AuthECDSA256, wire.AuthECDSA384, wire.AuthECDSA521, wire.AuthDigitalSignature} {
				if m != a.Method {
					checkAuthFailed(t, verifyAuth(pub, &wire.Auth{Method: m, Data: a.Data}, octets), "another method")
				}
			}
		})
	}
}

// pssAlgorithmIdentifier builds an id-RSASSA-PSS AlgorithmIdentifier (RFC
// 4055 Section 3.1) by hand: hash and mgfHash are hash OIDs (nil to leave
// the field out), salt and trailer are left out when negative.
func pssAlgorithmIdentifier(hash, mgfHash asn1.ObjectIdentifier, salt, trailer int64) []byte {
	hashAlg := func(b *cryptobyte.Builder, oid asn1.ObjectIdentifier) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			b.AddASN1NULL()
		})
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10})
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			if hash != nil {
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { hashAlg(b, hash) })
			}
			if mgfHash != nil {
				b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1ObjectIdentifier(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8})
						hashAlg(b, mgfHash)
					})
				})
			}
			if salt >= 0 {
				b.AddASN1(cbasn1.Tag(2).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { b.AddASN1Int64(salt) })
			}
			if trailer >= 0 {
				b.AddASN1(cbasn1.Tag(3).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { b.AddASN1Int64(trailer) })
			}
		})
	})
	return b.BytesOrPanic()
}

func TestSigAuthRSAPSS(t *testing.T) {
	k := keys(t)
	octets := []byte("octets signed with RSASSA-PSS")
	sha1OID := asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	sha256OID := asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	sha384OID := asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	sha512OID := asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	if got := pssAlgorithmIdentifier(sha256OID, sha256OID, 32, -1); !bytes.Equal(got, rfc7427PSSSHA256) {
		t.Fatalf("the test's PSS encoder gives %x, RFC 7427 Appendix A.4.3 %x", got, rfc7427PSSSHA256)
	}
	sign := func(h crypto.Hash, salt int) []byte {
		d := h.New()
		d.Write(octets)
		sig, err := rsa.SignPSS(rand.Reader, k.rsa, h, d.Sum(nil), &rsa.PSSOptions{SaltLength: salt})
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	sig256 := sign(crypto.SHA256, 32)
	good := []struct {
		name string
		ai   []byte
		sig  []byte
	}{
		{"RFC 7427 A.4.3", rfc7427PSSSHA256, sig256},
		{"SHA-384, salt 48", pssAlgorithmIdentifier(sha384OID, sha384OID, 48, -1), sign(crypto.SHA384, 48)},
		{"SHA-512, salt 64, explicit trailer", pssAlgorithmIdentifier(sha512OID, sha512OID, 64, 1), sign(crypto.SHA512, 64)},
		{"SHA-256, default salt 20", pssAlgorithmIdentifier(sha256OID, sha256OID, -1, -1), sign(crypto.SHA256, 20)},
	}
	for _, c := range good {
		a := digitalSignatureAuth(c.ai, c.sig)
		if err := verifyAuth(k.rsa.Public(), a, octets); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		checkAuthFailed(t, verifyAuth(k.rsaOther.Public(), a, octets), c.name+" with another key")
		checkAuthFailed(t, verifyAuth(k.p256.Public(), a, octets), c.name+" with an ECDSA key")
		checkAuthFailed(t, verifyAuth(k.rsa.Public(), a, append([]byte("x"), octets...)), c.name+" over other octets")
	}
	bad := []struct {
		name string
		ai   []byte
		sig  []byte
		why  string
	}{
		{"salt 20 signed, 32 announced", rfc7427PSSSHA256, sign(crypto.SHA256, 20), "does not verify"},
		{"announced SHA-384, signed SHA-256", pssAlgorithmIdentifier(sha384OID, sha384OID, 32, -1), sig256, "does not verify"},
		{"PKCS#1 v1.5 identifier on a PSS signature", rfc7427SHA256WithRSA, sig256, "does not verify"},
		{"RFC 7427 A.4.1 (defaults: SHA-1)", rfc7427PSSEmpty, sig256, "SHA-1"},
		{"no parameters (SHA-1)", sigHex("300b 0609 2a86 4886 f70d 0101 0a"), sig256, "SHA-1"},
		{"explicit defaults (SHA-1)", pssAlgorithmIdentifier(sha1OID, sha1OID, 20, 1), sig256, "SHA-1"},
		{"MGF1 hash differs", pssAlgorithmIdentifier(sha256OID, sha512OID, 32, -1), sig256, "MGF1"},
		{"MGF1 default SHA-1", pssAlgorithmIdentifier(sha256OID, nil, 32, -1), sig256, "MGF1"},
		{"salt 0", pssAlgorithmIdentifier(sha256OID, sha256OID, 0, -1), sig256, "salt length 0"},
		{"salt 2000", pssAlgorithmIdentifier(sha256OID, sha256OID, 2000, -1), sig256, "salt length 2000"},
		{"trailer 2", pssAlgorithmIdentifier(sha256OID, sha256OID, 32, 2), sig256, "trailerField"},
	}
	for _, c := range bad {
		err := verifyAuth(k.rsa.Public(), digitalSignatureAuth(c.ai, c.sig), octets)
		checkAuthFailed(t, err, c.name)
		if err != nil && !strings.Contains(err.Error(), c.why) {
			t.Errorf("%s: error %q does not say %q", c.name, err, c.why)
		}
	}
}

func TestSigAuthRejects(t *testing.T) {
	k := keys(t)
	octets := []byte("octets")
	rsaSig, err := signAuth(k.rsa, octets, []uint16{sigHashSHA2_256}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, rsaRaw := splitDigitalSignature(t, rsaSig.Data)
	ecSig, err := signAuth(k.p256, octets, []uint16{sigHashSHA2_256}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, ecRaw := splitDigitalSignature(t, ecSig.Data)
	with := func(ai []byte, sig []byte) []byte { return digitalSignatureAuth(ai, sig).Data }
	nullParams := func(ai []byte) []byte { // appends NULL parameters
		b := append(bytes.Clone(ai), 0x05, 0x00)
		b[1] += 2
		return b
	}
	cases := []struct {
		name   string
		pub    crypto.PublicKey
		method wire.AuthMethod
		data   []byte
		why    string
	}{
		{"PSK method", k.rsa.Public(), wire.AuthPSK, rsaSig.Data, "unsupported"},
		{"DSS method", k.rsa.Public(), wire.AuthDSS, rsaSig.Data, "unsupported"},
		{"NULL method", k.rsa.Public(), wire.AuthNull, nil, "unsupported"},
		{"method 200", k.rsa.Public(), wire.AuthMethod(200), rsaSig.Data, "unsupported"},
		{"empty", k.rsa.Public(), wire.AuthDigitalSignature, nil, "truncated"},
		{"zero-length identifier", k.rsa.Public(), wire.AuthDigitalSignature, []byte{0}, "malformed"},
		{"length past the end", k.rsa.Public(), wire.AuthDigitalSignature, []byte{15, 0x30, 0x0d}, "truncated"},
		{"garbage identifier", k.rsa.Public(), wire.AuthDigitalSignature, with([]byte{0xde, 0xad, 0xbe, 0xef}, rsaRaw), "malformed"},
		{"identifier with trailing octet", k.rsa.Public(), wire.AuthDigitalSignature, with(append(bytes.Clone(rfc7427SHA256WithRSA), 0), rsaRaw), "malformed"},
		{"identifier length one short", k.rsa.Public(), wire.AuthDigitalSignature, append([]byte{14}, append(bytes.Clone(rfc7427SHA256WithRSA), rsaRaw...)...), "malformed"},
		{"not a SEQUENCE", k.rsa.Public(), wire.AuthDigitalSignature, with(sigHex("0609 2a86 4886 f70d 0101 0b"), rsaRaw), "malformed"},
		{"unknown algorithm (DSA)", k.rsa.Public(), wire.AuthDigitalSignature, with(rfc7427DSAWithSHA256, rsaRaw), "unsupported signature algorithm"},
		{"RSA with INTEGER parameters", k.rsa.Public(), wire.AuthDigitalSignature, with(sigHex("300e 0609 2a86 4886 f70d 0101 0b02 0100"), rsaRaw), "unexpected parameters"},
		{"RSA with two parameters", k.rsa.Public(), wire.AuthDigitalSignature, with(sigHex("300f 0609 2a86 4886 f70d 0101 0b05 0005 00"), rsaRaw), "malformed"},
		{"Ed25519 with NULL parameters", k.ed25519.Public(), wire.AuthDigitalSignature, with(nullParams(rfc8410Ed25519), make([]byte, 64)), "unexpected parameters"},
		{"no signature", k.rsa.Public(), wire.AuthDigitalSignature, with(rfc7427SHA256WithRSA, nil), "no signature"},
		{"sha1WithRSAEncryption", k.rsa.Public(), wire.AuthDigitalSignature, with(rfc7427SHA1WithRSA, rsaRaw), "SHA-1"},
		{"ecdsa-with-SHA1", k.p256.Public(), wire.AuthDigitalSignature, with(rfc7427ECDSAWithSHA1, ecRaw), "SHA-1"},
		{"RSA identifier, ECDSA key", k.p256.Public(), wire.AuthDigitalSignature, rsaSig.Data, "needs an RSA key"},
		{"ECDSA identifier, RSA key", k.rsa.Public(), wire.AuthDigitalSignature, ecSig.Data, "needs an ECDSA key"},
		{"Ed25519 identifier, RSA key", k.rsa.Public(), wire.AuthDigitalSignature, with(rfc8410Ed25519, make([]byte, 64)), "needs an Ed25519 key"},
		{"Ed25519 key of 31 octets", ed25519.PublicKey(make([]byte, 31)), wire.AuthDigitalSignature, with(rfc8410Ed25519, make([]byte, 64)), "unusable"},
		{"Ed25519 signature of 63 octets", k.ed25519.Public(), wire.AuthDigitalSignature, with(rfc8410Ed25519, make([]byte, 63)), "does not verify"},
		{"ECDSA signature not DER", k.p256.Public(), wire.AuthDigitalSignature, with(rfc7427ECDSAWithSHA256, make([]byte, 64)), "does not verify"},
		{"ECDSA with NULL parameters, wrong signature", k.p256.Public(), wire.AuthDigitalSignature, with(nullParams(rfc7427ECDSAWithSHA256), rsaRaw), "does not verify"},
		{"method 1, ECDSA key", k.p256.Public(), wire.AuthRSASig, rsaRaw, "needs an RSA key"},
		{"method 9, RSA key", k.rsa.Public(), wire.AuthECDSA256, make([]byte, 64), "needs an ECDSA key"},
		{"method 9, P-384 key", k.p384.Public(), wire.AuthECDSA256, make([]byte, 64), "P-256"},
		{"method 11, P-224 key", k.p224.Public(), wire.AuthECDSA521, make([]byte, 132), "P-521"},
		{"method 9, 63 octets", k.p256.Public(), wire.AuthECDSA256, make([]byte, 63), "63 octets"},
		{"method 9, zeros", k.p256.Public(), wire.AuthECDSA256, make([]byte, 64), "does not verify"},
		{"method 9, ones", k.p256.Public(), wire.AuthECDSA256, bytes.Repeat([]byte{0xff}, 64), "does not verify"},
		{"method 9, DER signature", k.p256.Public(), wire.AuthECDSA256, ecRaw, "octets"},
		{"no key", nil, wire.AuthRSASig, rsaRaw, "missing"},
		{"nil RSA key", (*rsa.PublicKey)(nil), wire.AuthDigitalSignature, rsaSig.Data, "unusable"},
		{"nil ECDSA key", (*ecdsa.PublicKey)(nil), wire.AuthECDSA256, make([]byte, 64), "unusable"},
		{"X25519 key", mustX25519(t), wire.AuthDigitalSignature, rsaSig.Data, "unusable"},
	}
	for _, c := range cases {
		err := verifyAuth(c.pub, &wire.Auth{Method: c.method, Data: c.data}, octets)
		checkAuthFailed(t, err, c.name)
		if err != nil && !strings.Contains(err.Error(), c.why) {
			t.Errorf("%s: error %q does not say %q", c.name, err, c.why)
		}
	}
	checkAuthFailed(t, verifyAuth(k.rsa.Public(), nil, octets), "nil AUTH")

	// ECDSA parameters NULL are tolerated, absent are the rule.
	if err := verifyAuth(k.p256.Public(), digitalSignatureAuth(nullParams(rfc7427ECDSAWithSHA256), ecRaw), octets); err != nil {
		t.Errorf("ecdsa-with-SHA256 with NULL parameters: %v", err)
	}
	// RFC 4055 Section 5: RSA parameters absent are accepted.
	if err := verifyAuth(k.rsa.Public(), digitalSignatureAuth(sigHex("300b 0609 2a86 4886 f70d 0101 0b"), rsaRaw), octets); err != nil {
		t.Errorf("sha256WithRSAEncryption without parameters: %v", err)
	}
}

// mustX25519 returns an X25519 key: a key type nobody signs with.
func mustX25519(t *testing.T) *ecdh.PublicKey {
	t.Helper()
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k.PublicKey()
}

// failingSigner is a crypto.Signer whose signatures fail, or whose key
// is of a type nobody signs AUTH with.
type failingSigner struct{ pub crypto.PublicKey }

// Public returns the configured public key.
func (s failingSigner) Public() crypto.PublicKey { return s.pub }

// Sign fails, as a removed hardware token would.
func (s failingSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("token removed")
}

// derSigner signs with an ECDSA key but returns a fixed signature.
type derSigner struct {
	*ecdsa.PrivateKey
	sig []byte
}

// Sign returns the fixed signature.
func (s derSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) { return s.sig, nil }

func TestSigSignAuthErrors(t *testing.T) {
	k := keys(t)
	octets := []byte("octets")
	cases := []struct {
		name   string
		key    crypto.Signer
		hashes []uint16
		why    string
	}{
		{"Ed25519 without hashes", k.ed25519, nil, "Identity"},
		{"Ed25519 without Identity", k.ed25519, []uint16{sigHashSHA2_256, sigHashSHA2_512}, "Identity"},
		{"P-224", k.p224, nil, "P-224"},
		{"P-224 with hashes", k.p224, []uint16{sigHashSHA2_256}, "P-224"},
		{"X25519", failingSigner{mustX25519(t)}, nil, "ecdh"},
		{"failing RSA signer", failingSigner{k.rsa.Public()}, nil, "token removed"},
		{"failing RSA signer, RFC 7427", failingSigner{k.rsa.Public()}, []uint16{sigHashSHA2_256}, "token removed"},
		{"failing ECDSA signer", failingSigner{k.p256.Public()}, nil, "token removed"},
		{"ECDSA signer returning garbage", derSigner{k.p256, []byte{0x30, 0x03, 0x02, 0x01}}, nil, "malformed"},
		{"ECDSA signer returning a negative r", derSigner{k.p256, sigHex("3006 0201 ff02 0101")}, nil, "malformed"},
		{"ECDSA signer returning a long r", derSigner{k.p256, append(sigHex("3026 0221 01"), make([]byte, 35)...)}, nil, "too long"},
	}
	for _, c := range cases {
		a, err := signAuth(c.key, octets, c.hashes, nil)
		if err == nil {
			t.Errorf("%s: signed %v %x", c.name, a.Method, a.Data)
			continue
		}
		if !strings.Contains(err.Error(), c.why) {
			t.Errorf("%s: error %q does not say %q", c.name, err, c.why)
		}
	}
	// A short DER r and s are padded to the curve's length.
	a, err := signAuth(derSigner{k.p256, sigHex("3006 0201 0102 0102")}, octets, nil, nil)
	if err != nil {
		t.Fatalf("short r and s: %v", err)
	}
	if want := append(append(make([]byte, 31), 1), append(make([]byte, 31), 2)...); a.Method != wire.AuthECDSA256 || !bytes.Equal(a.Data, want) {
		t.Errorf("short r and s: %v %x, want %x", a.Method, a.Data, want)
	}
}

func TestSigRSToDER(t *testing.T) {
	cases := []struct{ rs, der string }{
		{"0001 0002", "3006 0201 0102 0102"},
		{"0000 0000", "3006 0201 0002 0100"},
		{"8001 7f02", "3009 0203 0080 0102 027f 02"},
	}
	for _, c := range cases {
		if got := rsToDER(sigHex(c.rs)); !bytes.Equal(got, sigHex(c.der)) {
			t.Errorf("rsToDER(%s) = %x, want %s", c.rs, got, c.der)
		}
		if got, err := derToRS(sigHex(c.der), 2); err != nil || !bytes.Equal(got, sigHex(c.rs)) {
			t.Errorf("derToRS(%s) = %x, %v, want %s", c.der, got, err, c.rs)
		}
	}
}

// testCert issues a certificate for key, signed by parent (self-signed when
// parent is nil).
func testCert(t *testing.T, cn string, key crypto.Signer, parent *x509.Certificate, parentKey crypto.Signer) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		BasicConstraintsValid: true,
		IsCA:                  parent == nil || strings.Contains(cn, "CA"),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSigCertPayloads(t *testing.T) {
	k := keys(t)
	root := testCert(t, "Root CA", k.p384, nil, nil)
	inter := testCert(t, "Intermediate CA", k.p256Other, root, k.p384)
	leaf := testCert(t, "moon.example.com", k.rsa, inter, k.p256Other)

	ps := certPayloads([]*x509.Certificate{leaf, inter})
	if len(ps) != 2 {
		t.Fatalf("%d payloads", len(ps))
	}
	for i, want := range []*x509.Certificate{leaf, inter} {
		c, ok := ps[i].(*wire.Cert)
		if !ok || c.Encoding != wire.CertX509Signature || !bytes.Equal(c.Data, want.Raw) {
			t.Fatalf("payload %d: %#v", i, ps[i])
		}
	}

	// Among other payloads and another encoding, as a peer sends them.
	in := []wire.Payload{
		&wire.ID{IDType: wire.IDFQDN, Data: []byte("moon.example.com")},
		&wire.Cert{Encoding: wire.CertHashURLX509, Data: []byte("not a certificate")},
	}
	for _, p := range ps {
		c := p.(*wire.Cert)
		in = append(in, &wire.Cert{Encoding: c.Encoding, Data: bytes.Clone(c.Data)})
	}
	in = append(in, &wire.Auth{Method: wire.AuthRSASig})
	gotLeaf, gotInter, err := parseCertPayloads(in)
	if err != nil {
		t.Fatal(err)
	}
	if !gotLeaf.Equal(leaf) || len(gotInter) != 1 || !gotInter[0].Equal(inter) {
		t.Fatalf("leaf %v, intermediates %v", gotLeaf.Subject, gotInter)
	}
	// The certificates do not alias the payloads.
	clear(in[2].(*wire.Cert).Data)
	if !bytes.Equal(gotLeaf.Raw, leaf.Raw) {
		t.Error("the leaf aliases the CERT payload")
	}
	// The chain verifies with the root.
	pool := x509.NewCertPool()
	pool.AddCert(root)
	inters := x509.NewCertPool()
	for _, c := range gotInter {
		inters.AddCert(c)
	}
	if _, err := gotLeaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inters}); err != nil {
		t.Errorf("chain: %v", err)
	}

	if l, i, err := parseCertPayloads([]wire.Payload{&wire.Cert{Encoding: wire.CertCRL, Data: []byte{1}}}); l != nil || i != nil || err != nil {
		t.Errorf("no X.509 CERT: %v %v %v", l, i, err)
	}
	if _, _, err := parseCertPayloads([]wire.Payload{ps[0], &wire.Cert{Encoding: wire.CertX509Signature, Data: []byte{0x30, 0x03, 1, 2, 3}}}); err == nil || !strings.Contains(err.Error(), "CERT payload 2") {
		t.Errorf("garbage X.509: %v", err)
	}
	if _, _, err := parseCertPayloads([]wire.Payload{&wire.Cert{Encoding: wire.CertX509Signature, Data: leaf.Raw[:len(leaf.Raw)-1]}}); err == nil {
		t.Error("truncated X.509 accepted")
	}
}

func TestSigCertReq(t *testing.T) {
	k := keys(t)
	ca1 := testCert(t, "CA 1", k.p256, nil, nil)
	ca2 := testCert(t, "CA 2", k.rsa, nil, nil)
	ca3 := testCert(t, "CA 3", k.p384, nil, nil)
	// The same key as CA 1 under another name: a CERTREQ names keys.
	ca1b := testCert(t, "CA 1 reissued", k.p256, nil, nil)

	req := certReqPayload([]*x509.Certificate{ca1, ca2})
	if req.Encoding != wire.CertX509Signature || len(req.Data) != 2*sha1.Size {
		t.Fatalf("CERTREQ %v with %d octets", req.Encoding, len(req.Data))
	}
	// RFC 7296 Section 3.7: SHA-1 of the SubjectPublicKeyInfo,
	// recomputed from the key.
	for i, ca := range []*x509.Certificate{ca1, ca2} {
		spki, err := x509.MarshalPKIXPublicKey(ca.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		if h := sha1.Sum(spki); !bytes.Equal(req.Data[i*sha1.Size:(i+1)*sha1.Size], h[:]) {
			t.Errorf("hash %d: %x, want %x", i, req.Data[i*sha1.Size:(i+1)*sha1.Size], h)
		}
	}
	if r := certReqPayload(nil); r.Encoding != wire.CertX509Signature || len(r.Data) != 0 {
		t.Errorf("no CA: %v %x", r.Encoding, r.Data)
	}

	malformed := &wire.CertReq{Encoding: wire.CertX509Signature, Data: req.Data[:sha1.Size+1]}
	other := &wire.CertReq{Encoding: wire.CertHashURLX509, Data: req.Data}
	only3 := certReqPayload([]*x509.Certificate{ca3})
	cases := []struct {
		name string
		reqs []*wire.CertReq
		ca   *x509.Certificate
		want bool
	}{
		{"first", []*wire.CertReq{req}, ca1, true},
		{"second", []*wire.CertReq{req}, ca2, true},
		{"absent", []*wire.CertReq{req}, ca3, false},
		{"same key", []*wire.CertReq{req}, ca1b, true},
		{"second payload", []*wire.CertReq{only3, req}, ca2, true},
		{"in a malformed payload", []*wire.CertReq{malformed}, ca1, false},
		{"another encoding", []*wire.CertReq{other}, ca1, false},
		{"empty", []*wire.CertReq{{Encoding: wire.CertX509Signature}}, ca1, false},
		{"none", nil, ca1, false},
		{"nil request", []*wire.CertReq{nil, req}, ca1, true},
		{"nil CA", []*wire.CertReq{req}, nil, false},
	}
	for _, c := range cases {
		if got := certReqMatches(c.reqs, c.ca); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// needOpenSSL skips the test without openssl, or fails it when CI=true.
func needOpenSSL(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("openssl is needed in CI: %v", err)
		}
		t.Skipf("SKIPPED %s: openssl not on PATH", t.Name())
	}
	return path
}

// openssl runs the openssl command in dir and returns its standard output.
func openssl(t *testing.T, bin, dir string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		err = errors.New(err.Error() + ": " + strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), err
}

// mustOpenSSL runs openssl and fails the test if it fails.
func mustOpenSSL(t *testing.T, bin, dir string, args ...string) string {
	t.Helper()
	out, err := openssl(t, bin, dir, args...)
	if err != nil {
		t.Fatalf("openssl %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// readKey reads a PEM private key openssl wrote.
func readKey(t *testing.T, path string) crypto.Signer {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(crypto.Signer)
}

// certSignatureAlgorithm returns the DER signatureAlgorithm of a
// certificate (RFC 5280 Section 4.1.1.2).
func certSignatureAlgorithm(t *testing.T, der []byte) []byte {
	t.Helper()
	s := cryptobyte.String(der)
	var cert, alg cryptobyte.String
	if !s.ReadASN1(&cert, cbasn1.SEQUENCE) || !cert.SkipASN1(cbasn1.SEQUENCE) || !cert.ReadASN1Element(&alg, cbasn1.SEQUENCE) {
		t.Fatal("malformed certificate")
	}
	return alg
}

// TestSigOpenSSL checks our signatures and AlgorithmIdentifiers against
// OpenSSL, an independent implementation, both ways.
func TestSigOpenSSL(t *testing.T) {
	bin := needOpenSSL(t)
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	write := func(name string, b []byte) {
		if err := os.WriteFile(path(name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	v, _ := openssl(t, bin, dir, "version")
	t.Logf("%s", strings.TrimSpace(v))

	mustOpenSSL(t, bin, dir, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "rsa.pem")
	mustOpenSSL(t, bin, dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ec.pem")
	mustOpenSSL(t, bin, dir, "genpkey", "-algorithm", "ED25519", "-out", "ed.pem")
	for _, k := range []string{"rsa", "ec", "ed"} {
		mustOpenSSL(t, bin, dir, "pkey", "-in", k+".pem", "-pubout", "-out", k+".pub")
	}
	rsaKey, ecKey, edKey := readKey(t, path("rsa.pem")), readKey(t, path("ec.pem")), readKey(t, path("ed.pem"))
	octets := []byte("IKE_SA_INIT | Nr | prf(SK_pi, IDi') as OpenSSL sees them")
	write("octets", octets)

	t.Run("OpenSSLSigns", func(t *testing.T) {
		cases := []struct {
			name   string
			args   []string
			pub    crypto.PublicKey
			method wire.AuthMethod
			ai     []byte
		}{
			{"RSA SHA-256", []string{"dgst", "-sha256", "-sign", "rsa.pem"}, rsaKey.Public(), wire.AuthDigitalSignature, rfc7427SHA256WithRSA},
			{"RSA SHA-512", []string{"dgst", "-sha512", "-sign", "rsa.pem"}, rsaKey.Public(), wire.AuthDigitalSignature, rfc7427SHA512WithRSA},
			{"RSA SHA-1 (method 1)", []string{"dgst", "-sha1", "-sign", "rsa.pem"}, rsaKey.Public(), wire.AuthRSASig, nil},
			{"RSASSA-PSS SHA-256 salt 32", []string{"dgst", "-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32", "-sign", "rsa.pem"}, rsaKey.Public(), wire.AuthDigitalSignature, rfc7427PSSSHA256},
			{"ECDSA P-256 SHA-256", []string{"dgst", "-sha256", "-sign", "ec.pem"}, ecKey.Public(), wire.AuthDigitalSignature, rfc7427ECDSAWithSHA256},
			{"ECDSA P-256 SHA-384", []string{"dgst", "-sha384", "-sign", "ec.pem"}, ecKey.Public(), wire.AuthDigitalSignature, rfc7427ECDSAWithSHA384},
			{"Ed25519", []string{"pkeyutl", "-sign", "-inkey", "ed.pem", "-rawin", "-in", "octets"}, edKey.Public(), wire.AuthDigitalSignature, rfc8410Ed25519},
		}
		for _, c := range cases {
			args := append(append([]string(nil), c.args...), "-out", "sig")
			if c.args[0] == "dgst" {
				args = append(args, "octets")
			}
			mustOpenSSL(t, bin, dir, args...)
			sig, err := os.ReadFile(path("sig"))
			if err != nil {
				t.Fatal(err)
			}
			a := &wire.Auth{Method: c.method, Data: sig}
			if c.method == wire.AuthDigitalSignature {
				a = digitalSignatureAuth(c.ai, sig)
			}
			if err := verifyAuth(c.pub, a, octets); err != nil {
				t.Errorf("%s: OpenSSL's signature does not verify: %v", c.name, err)
			}
			checkAuthFailed(t, verifyAuth(c.pub, a, octets[1:]), c.name+" over other octets")
		}
		// Method 9 from OpenSSL's DER signature: r | s.
		mustOpenSSL(t, bin, dir, "dgst", "-sha256", "-sign", "ec.pem", "-out", "sig", "octets")
		der, _ := os.ReadFile(path("sig"))
		var rs struct{ R, S *big.Int }
		if _, err := asn1.Unmarshal(der, &rs); err != nil {
			t.Fatal(err)
		}
		data := append(rs.R.FillBytes(make([]byte, 32)), rs.S.FillBytes(make([]byte, 32))...)
		if err := verifyAuth(ecKey.Public(), &wire.Auth{Method: wire.AuthECDSA256, Data: data}, octets); err != nil {
			t.Errorf("OpenSSL's ECDSA signature as method 9: %v", err)
		}
	})

	t.Run("OpenSSLVerifies", func(t *testing.T) {
		cases := []struct {
			name   string
			key    crypto.Signer
			hashes []uint16
			method wire.AuthMethod
			args   []string // to verify the signature in "sig"
		}{
			{"RSA method 14 SHA-256", rsaKey, []uint16{sigHashSHA2_256}, wire.AuthDigitalSignature, []string{"dgst", "-sha256", "-verify", "rsa.pub", "-signature", "sig", "octets"}},
			{"RSA method 14 SHA-384", rsaKey, []uint16{sigHashSHA2_384}, wire.AuthDigitalSignature, []string{"dgst", "-sha384", "-verify", "rsa.pub", "-signature", "sig", "octets"}},
			{"RSA method 1", rsaKey, nil, wire.AuthRSASig, []string{"dgst", "-sha1", "-verify", "rsa.pub", "-signature", "sig", "octets"}},
			{"ECDSA method 14 SHA-256", ecKey, []uint16{sigHashSHA2_256}, wire.AuthDigitalSignature, []string{"dgst", "-sha256", "-verify", "ec.pub", "-signature", "sig", "octets"}},
			{"ECDSA method 14 SHA-512", ecKey, []uint16{sigHashSHA2_512}, wire.AuthDigitalSignature, []string{"dgst", "-sha512", "-verify", "ec.pub", "-signature", "sig", "octets"}},
			{"ECDSA method 9", ecKey, nil, wire.AuthECDSA256, []string{"dgst", "-sha256", "-verify", "ec.pub", "-signature", "sig", "octets"}},
			{"Ed25519 method 14", edKey, []uint16{sigHashIdentity}, wire.AuthDigitalSignature, []string{"pkeyutl", "-verify", "-pubin", "-inkey", "ed.pub", "-rawin", "-in", "octets", "-sigfile", "sig"}},
		}
		for _, c := range cases {
			a, err := signAuth(c.key, octets, c.hashes, nil)
			if err != nil {
				t.Fatal(err)
			}
			if a.Method != c.method {
				t.Fatalf("%s: method %v", c.name, a.Method)
			}
			sig := a.Data
			switch a.Method {
			case wire.AuthDigitalSignature:
				_, sig = splitDigitalSignature(t, a.Data)
			case wire.AuthECDSA256:
				// r | s to an Ecdsa-Sig-Value, here with encoding/asn1.
				sig, err = asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])})
				if err != nil {
					t.Fatal(err)
				}
			}
			write("sig", sig)
			out, err := openssl(t, bin, dir, c.args...)
			if err != nil || !strings.Contains(out, "Verified Successfully") && !strings.Contains(out, "Verified OK") && !strings.Contains(out, "Signature Verified Successfully") {
				t.Errorf("%s: OpenSSL does not verify our signature: %q %v", c.name, out, err)
			}
			// And OpenSSL can fail: the same signature over other octets.
			bad := append([]string(nil), c.args...)
			for i, a := range bad {
				if a == "octets" {
					bad[i] = "other"
				}
			}
			write("other", append([]byte("x"), octets...))
			if out, err := openssl(t, bin, dir, bad...); err == nil {
				t.Errorf("%s: OpenSSL verifies our signature over other octets: %q", c.name, out)
			}
		}
	})

	// The AlgorithmIdentifiers OpenSSL puts in the certificates it signs
	// are ours and the RFC's, byte for byte.
	t.Run("AlgorithmIdentifiers", func(t *testing.T) {
		cases := []struct {
			key  string
			args []string
			ours []byte
			rfc  []byte
		}{
			{"rsa.pem", []string{"-sha256"}, algorithmIdentifier(oidSHA256WithRSA, sigKeyRSA), rfc7427SHA256WithRSA},
			{"rsa.pem", []string{"-sha384"}, algorithmIdentifier(oidSHA384WithRSA, sigKeyRSA), rfc7427SHA384WithRSA},
			{"rsa.pem", []string{"-sha512"}, algorithmIdentifier(oidSHA512WithRSA, sigKeyRSA), rfc7427SHA512WithRSA},
			{"rsa.pem", []string{"-sha1"}, algorithmIdentifier(oidSHA1WithRSA, sigKeyRSA), rfc7427SHA1WithRSA},
			{"rsa.pem", []string{"-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32"}, nil, rfc7427PSSSHA256},
			{"ec.pem", []string{"-sha256"}, algorithmIdentifier(oidECDSAWithSHA256, sigKeyECDSA), rfc7427ECDSAWithSHA256},
			{"ec.pem", []string{"-sha384"}, algorithmIdentifier(oidECDSAWithSHA384, sigKeyECDSA), rfc7427ECDSAWithSHA384},
			{"ec.pem", []string{"-sha512"}, algorithmIdentifier(oidECDSAWithSHA512, sigKeyECDSA), rfc7427ECDSAWithSHA512},
			{"ec.pem", []string{"-sha1"}, algorithmIdentifier(oidECDSAWithSHA1, sigKeyECDSA), rfc7427ECDSAWithSHA1},
			{"ed.pem", nil, algorithmIdentifier(oidEd25519, sigKeyEd25519), rfc8410Ed25519},
		}
		for _, c := range cases {
			args := append([]string{"req", "-x509", "-new", "-key", c.key, "-subj", "/CN=ikego test", "-days", "1", "-outform", "DER", "-out", "cert.der"}, c.args...)
			mustOpenSSL(t, bin, dir, args...)
			der, err := os.ReadFile(path("cert.der"))
			if err != nil {
				t.Fatal(err)
			}
			got := certSignatureAlgorithm(t, der)
			if !bytes.Equal(got, c.rfc) {
				t.Errorf("%s %v: OpenSSL %x, RFC %x", c.key, c.args, got, c.rfc)
			}
			if c.ours != nil && !bytes.Equal(got, c.ours) {
				t.Errorf("%s %v: OpenSSL %x, ours %x", c.key, c.args, got, c.ours)
			}
			if _, err := parseAlgorithmIdentifier(got); err != nil {
				t.Errorf("%s %v: we cannot parse OpenSSL's %x: %v", c.key, c.args, got, err)
			}
		}
	})
}

// FuzzVerifyAuth feeds arbitrary AUTH payloads to verifyAuth with fixed
// RSA, ECDSA and Ed25519 keys: it must never panic, and fail with an error
// wrapping ErrAuthFailed.
func FuzzVerifyAuth(f *testing.F) {
	k := keys(f)
	octets := []byte("fuzzed octets")
	pubs := []crypto.PublicKey{k.rsa.Public(), k.p256.Public(), k.ed25519.Public()}
	for _, s := range []struct {
		key    crypto.Signer
		hashes []uint16
	}{
		{k.rsa, nil}, {k.rsa, []uint16{sigHashSHA2_256}}, {k.rsa, []uint16{sigHashSHA2_512}},
		{k.p256, nil}, {k.p256, []uint16{sigHashSHA2_384}}, {k.ed25519, []uint16{sigHashIdentity}},
	} {
		a, err := signAuth(s.key, octets, s.hashes, nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(a.Method), a.Data)
	}
	d := sha256.Sum256(octets)
	pss, err := rsa.SignPSS(rand.Reader, k.rsa, crypto.SHA256, d[:], &rsa.PSSOptions{SaltLength: 32})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(uint8(wire.AuthDigitalSignature), digitalSignatureAuth(rfc7427PSSSHA256, pss).Data)
	f.Add(uint8(wire.AuthDigitalSignature), digitalSignatureAuth(pssAlgorithmIdentifier(asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}, 32, 1), pss).Data)
	f.Add(uint8(wire.AuthDigitalSignature), []byte{0xff})
	f.Add(uint8(wire.AuthECDSA521), make([]byte, 132))
	f.Fuzz(func(t *testing.T, method uint8, data []byte) {
		a := &wire.Auth{Method: wire.AuthMethod(method), Data: data}
		for _, pub := range pubs {
			if err := verifyAuth(pub, a, octets); err != nil && !errors.Is(err, ErrAuthFailed) {
				t.Fatalf("error %v does not wrap ErrAuthFailed", err)
			}
		}
	})
}
