package pki

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
)

func TestParseCertificates(t *testing.T) {
	ca := testCA(t)
	leaf := issue(t, ca, Request{Profile: ProfileClient, Names: []string{"a@b.c"}})
	pemBoth := EncodeCertificatesPEM(leaf, ca.Cert)
	withText := append([]byte("Bag Attributes\n    friendlyName: x\nsubject=CN = x\n"), pemBoth...)
	derBoth := append(append([]byte{}, leaf.Raw...), ca.Cert.Raw...)
	for name, in := range map[string][]byte{"PEM": pemBoth, "PEM with text": withText, "DER": derBoth} {
		certs, err := ParseCertificates(in)
		if err != nil || len(certs) != 2 || !certs[0].Equal(leaf) || !certs[1].Equal(ca.Cert) {
			t.Errorf("%s: %v %v", name, len(certs), err)
		}
	}
	if _, err := ParseCertificate(pemBoth); err == nil {
		t.Error("ParseCertificate accepted two certificates")
	}
	if c, err := ParseCertificate(leaf.Raw); err != nil || !c.Equal(leaf) {
		t.Errorf("ParseCertificate(DER): %v", err)
	}

	corrupt := bytes.Replace(EncodeCertificatesPEM(leaf), []byte("\n"), []byte("\n!"), 3)
	truncated := EncodeCertificatesPEM(leaf)[:200]
	// A corrupt first block must not be skipped for a good second one.
	skip := append(append([]byte{}, truncated...), EncodeCertificatesPEM(ca.Cert)...)
	garbledDER := append([]byte{}, leaf.Raw...)
	garbledDER[len(garbledDER)/2] ^= 0xff
	keyPEM, _ := EncodePrivateKeyPEM(ca.Key)
	for name, in := range map[string][]byte{
		"empty":         nil,
		"text":          []byte("hello"),
		"corrupt PEM":   corrupt,
		"truncated PEM": truncated,
		"skipped block": skip,
		"only a key":    keyPEM,
		"garbled DER":   garbledDER[:len(garbledDER)-3],
		"bad base64":    []byte("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"),
		"bad content":   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0}}),
	} {
		if _, err := ParseCertificates(in); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestParsePrivateKey(t *testing.T) {
	for _, kt := range []KeyType{KeyTypeRSA2048, KeyTypeECDSAP256, KeyTypeECDSAP384, KeyTypeEd25519} {
		key, err := GenerateKey(kt, nil)
		if err != nil {
			t.Fatal(err)
		}
		pemKey, err := EncodePrivateKeyPEM(key)
		if err != nil {
			t.Fatal(err)
		}
		pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
		inputs := map[string][]byte{
			"PEM":        pemKey,
			"PKCS#8 PEM": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
			"PKCS#8 DER": pkcs8,
		}
		block, _ := pem.Decode(pemKey)
		inputs["native DER"] = block.Bytes
		if kt == KeyTypeECDSAP256 {
			inputs["with EC PARAMETERS"] = append([]byte("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"), pemKey...)
		}
		for name, in := range inputs {
			k, err := ParsePrivateKey(in)
			if err != nil || !publicKeysEqual(k.Public(), key.Public()) {
				t.Errorf("%v %s: %v", kt, name, err)
			}
		}
	}
	key, _ := GenerateKey(KeyTypeECDSAP256, nil)
	pemKey, _ := EncodePrivateKeyPEM(key)
	encrypted := strings.Replace(string(pemKey), "-----BEGIN EC PRIVATE KEY-----\n",
		"-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00000000000000000000000000000000\n\n", 1)
	for name, in := range map[string][]byte{
		"empty":         nil,
		"garbage":       []byte{0x30, 0x03, 1, 2, 3},
		"encrypted":     []byte(encrypted),
		"PKCS#8 enc":    pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}),
		"two keys":      append(append([]byte{}, pemKey...), pemKey...),
		"bad key":       pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte{0x30, 0}}),
		"only a cert":   EncodeCertificatesPEM(testCA(t).Cert),
		"truncated PEM": pemKey[:len(pemKey)-10],
	} {
		if _, err := ParsePrivateKey(in); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := ParsePrivateKey([]byte(encrypted)); err == nil || !strings.Contains(err.Error(), "encrypted") {
		t.Errorf("encrypted key error %v does not say why", err)
	}
}

func TestParseCSRAndCRL(t *testing.T) {
	ca := testCA(t)
	key, _ := GenerateKey(KeyTypeECDSAP256, nil)
	der, err := x509.CreateCertificateRequest(nil, &x509.CertificateRequest{RawSubject: mustDN(t, "CN=x")}, key)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range [][]byte{der, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "NEW CERTIFICATE REQUEST", Bytes: der})} {
		if _, err := ParseCSR(in); err != nil {
			t.Error(err)
		}
	}
	tampered := append([]byte{}, der...)
	tampered[len(tampered)-5] ^= 1 // in the signature
	if _, err := ParseCSR(tampered); !errors.Is(err, ErrBadSignature) {
		t.Errorf("tampered CSR: %v", err)
	}
	if _, err := ParseCSR(EncodeCertificatesPEM(ca.Cert)); err == nil {
		t.Error("certificate accepted as CSR")
	}

	crl, err := ca.CreateCRL(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range [][]byte{crl.Raw, EncodeCRLPEM(crl)} {
		if c, err := ParseCRL(in); err != nil || c.Number.Int64() != 1 {
			t.Error(err)
		}
	}
	if _, err := ParseCRL(der); err == nil {
		t.Error("CSR accepted as CRL")
	}
	if _, err := ParseCRL(append(EncodeCRLPEM(crl), EncodeCRLPEM(crl)...)); err == nil {
		t.Error("two CRLs accepted")
	}
}

func TestPKCS12(t *testing.T) {
	ca := testCA(t)
	for _, kt := range []KeyType{KeyTypeRSA2048, KeyTypeECDSAP256, KeyTypeEd25519} {
		cert, key, err := ca.Issue(Request{Profile: ProfileClient, Names: []string{"a@b.c"}, KeyType: kt})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []P12Format{P12Legacy, P12LegacyRC2, P12Modern} {
			p12, err := EncodePKCS12(key, cert, []*x509.Certificate{ca.Cert}, "pässword", f, nil)
			if err != nil {
				t.Fatalf("%v %v: %v", kt, f, err)
			}
			b, err := DecodePKCS12(p12, "pässword")
			if err != nil {
				t.Fatalf("%v %v: %v", kt, f, err)
			}
			if !b.Certificate.Equal(cert) || !publicKeysEqual(b.Key.Public(), key.Public()) ||
				len(b.Chain) != 1 || !b.Chain[0].Equal(ca.Cert) {
				t.Errorf("%v %v: round trip differs", kt, f)
			}
			if _, err := DecodePKCS12(p12, "wrong"); !errors.Is(err, ErrWrongPassword) {
				t.Errorf("%v %v: wrong password: %v", kt, f, err)
			}
			if b2, err := ParseBundle(p12, "pässword"); err != nil || !b2.Certificate.Equal(cert) {
				t.Errorf("%v %v: ParseBundle: %v", kt, f, err)
			}
		}
	}
	cert, key, _ := ca.Issue(Request{Profile: ProfileClient, Names: []string{"a@b.c"}, KeyType: KeyTypeECDSAP256})
	if _, err := EncodePKCS12(key, cert, nil, "", P12Legacy, nil); err == nil {
		t.Error("empty password accepted")
	}
	if _, err := EncodePKCS12(ca.Key, cert, nil, "x", P12Legacy, nil); err == nil {
		t.Error("mismatched key accepted")
	}
	if _, err := EncodePKCS12(key, cert, nil, "x", 9, nil); err == nil {
		t.Error("unknown format accepted")
	}
	p12, _ := EncodePKCS12(key, cert, nil, "x", P12Legacy, nil)
	for i := range 40 {
		bad := append([]byte{}, p12...)
		bad[len(bad)*i/40] ^= 0x55
		_, _ = DecodePKCS12(bad, "x") // must not panic
	}
	// A file asking for 2^31-1 key derivation iterations is refused at once.
	type algo struct {
		OID  asn1.ObjectIdentifier
		Null asn1.RawValue
	}
	type digestInfo struct {
		Alg    algo
		Digest []byte
	}
	type macData struct {
		Mac        digestInfo
		Salt       []byte
		Iterations int
	}
	type contentInfo struct {
		OID     asn1.ObjectIdentifier
		Content asn1.RawValue `asn1:"tag:0,explicit"`
	}
	type pfx struct {
		Version  int
		AuthSafe contentInfo
		MacData  macData
	}
	octets, _ := asn1.Marshal([]byte{0x30, 0})
	huge, err := asn1.Marshal(pfx{
		Version:  3,
		AuthSafe: contentInfo{OID: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}, Content: asn1.RawValue{FullBytes: octets}},
		MacData: macData{Mac: digestInfo{Alg: algo{OID: asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}, Null: asn1.NullRawValue}, Digest: make([]byte, 20)},
			Salt: make([]byte, 8), Iterations: 1<<31 - 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodePKCS12(huge, "x"); err == nil || !strings.Contains(err.Error(), "iterations") {
		t.Errorf("2^31 iterations: %v", err)
	}
	if _, err := DecodePKCS12(cert.Raw, "x"); err == nil {
		t.Error("certificate accepted as PKCS#12")
	}
}

func TestParseBundle(t *testing.T) {
	ca := testCA(t)
	cert, key, _ := ca.Issue(Request{Profile: ProfileClient, Names: []string{"a@b.c"}, KeyType: KeyTypeECDSAP256})
	keyPEM, _ := EncodePrivateKeyPEM(key)
	// CA first, then the key, then the leaf: the leaf is found by its key.
	in := append(append(EncodeCertificatesPEM(ca.Cert), keyPEM...), EncodeCertificatesPEM(cert)...)
	b, err := ParseBundle(in, "")
	if err != nil || !b.Certificate.Equal(cert) || len(b.Chain) != 1 || b.Key == nil {
		t.Fatalf("bundle: %v", err)
	}
	// Without a key the first non-CA certificate is the leaf.
	b, err = ParseBundle(append(EncodeCertificatesPEM(ca.Cert), EncodeCertificatesPEM(cert)...), "")
	if err != nil || !b.Certificate.Equal(cert) || b.Key != nil {
		t.Fatalf("bundle without key: %v", err)
	}
	if b, err := ParseBundle(cert.Raw, ""); err != nil || !b.Certificate.Equal(cert) {
		t.Errorf("DER cert: %v", err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	if b, err := ParseBundle(der, ""); err != nil || b.Key == nil || b.Certificate != nil {
		t.Errorf("DER key: %v", err)
	}
	other, _ := GenerateKey(KeyTypeECDSAP256, nil)
	otherPEM, _ := EncodePrivateKeyPEM(other)
	if _, err := ParseBundle(append(EncodeCertificatesPEM(cert), otherPEM...), ""); err == nil {
		t.Error("foreign key accepted")
	}
	if _, err := ParseBundle([]byte("-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n"), ""); err == nil {
		t.Error("no certificate and no key accepted")
	}
	if _, err := ParseBundle([]byte{1, 2, 3}, ""); err == nil {
		t.Error("garbage accepted")
	}
}
