package pki

import (
	"golang.org/x/crypto/cryptobyte"

	"bytes"
	"crypto/x509"
	"encoding/pem"
	"testing"
)

// Fuzz targets for every import parser: go test -fuzz=FuzzParseCertificates
// ./pki/ (and so on). The seeds are valid inputs of each kind.

// seedFiles returns valid certificates, keys, a CSR, a CRL and PKCS#12
// files in PEM and DER.
func seedFiles(f *testing.F) [][]byte {
	f.Helper()
	ca := testCAForFuzz(f)
	cert, key, err := ca.Issue(Request{Profile: ProfileServer, Names: []string{"vpn.example.org", "198.51.100.2"}, KeyType: KeyTypeECDSAP256})
	if err != nil {
		f.Fatal(err)
	}
	keyPEM, _ := EncodePrivateKeyPEM(key)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
	csr, _ := x509.CreateCertificateRequest(nil, &x509.CertificateRequest{RawSubject: cert.RawSubject, DNSNames: cert.DNSNames}, key)
	crl, err := ca.CreateCRL(nil, []x509.RevocationListEntry{{SerialNumber: cert.SerialNumber, RevocationTime: testNow, ReasonCode: 1}})
	if err != nil {
		f.Fatal(err)
	}
	p12, _ := EncodePKCS12(key, cert, []*x509.Certificate{ca.Cert}, "pw", P12Legacy, nil)
	p12m, _ := EncodePKCS12(key, cert, nil, "pw", P12Modern, nil)
	return [][]byte{
		cert.Raw, EncodeCertificatesPEM(cert, ca.Cert), keyPEM, pkcs8,
		csr, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr}),
		crl.Raw, EncodeCRLPEM(crl), p12, p12m,
		append(EncodeCertificatesPEM(cert), keyPEM...),
	}
}

func testCAForFuzz(f *testing.F) *CA {
	ca, err := NewCA(fixedConfig(testNow), CAOptions{Subject: "C=CH, O=ikego, CN=fuzz CA", KeyType: KeyTypeECDSAP256})
	if err != nil {
		f.Fatal(err)
	}
	return ca
}

func FuzzParseCertificates(f *testing.F) {
	for _, s := range seedFiles(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := ParseCertificates(data)
		if err == nil && len(certs) == 0 {
			t.Fatal("no error and no certificate")
		}
		for _, c := range certs {
			CertificateIdentities(c)
			MatchCertificate(Identity{Type: IDTypeKeyID, Data: []byte{1}}, c)
		}
	})
}

func FuzzParsePrivateKey(f *testing.F) {
	for _, s := range seedFiles(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParsePrivateKey(data)
		if err == nil {
			if _, err := EncodePrivateKeyPEM(k); err != nil {
				t.Fatalf("parsed key does not encode: %v", err)
			}
		}
	})
}

func FuzzParseCSR(f *testing.F) {
	for _, s := range seedFiles(f) {
		f.Add(s)
	}
	ca := testCAForFuzz(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		csr, err := ParseCSR(data)
		if err != nil {
			return
		}
		if err := csr.CheckSignature(); err != nil {
			t.Fatalf("ParseCSR accepted a bad signature: %v", err)
		}
		_, _ = ca.SignCSR(csr, SignOptions{Profile: ProfileClient})
	})
}

func FuzzParseCRL(f *testing.F) {
	for _, s := range seedFiles(f) {
		f.Add(s)
	}
	ca := testCAForFuzz(f)
	leaf, _, _ := ca.Issue(Request{Profile: ProfileClient, Names: []string{"a@b.c"}, KeyType: KeyTypeECDSAP256})
	f.Fuzz(func(t *testing.T, data []byte) {
		crl, err := ParseCRL(data)
		if err != nil {
			return
		}
		_, _ = Verify(leaf, VerifyOptions{Roots: []*x509.Certificate{ca.Cert}, CRLs: []*x509.RevocationList{crl}, Time: testNow})
	})
}

// slowPKCS12 reports whether data may be a PKCS#12 file with more than
// 10000 key-derivation iterations: allowed (up to maxIterations, tested
// apart), but seconds per execution, which makes the fuzzing engine report
// a hang under load.
func slowPKCS12(data []byte) bool {
	return looksLikePKCS12(data) && checkIterations(cryptobyte.String(data), 0, 10_000) != nil
}

func FuzzDecodePKCS12(f *testing.F) {
	for _, s := range seedFiles(f) {
		f.Add(s, "pw")
	}
	f.Fuzz(func(t *testing.T, data []byte, password string) {
		if slowPKCS12(data) {
			return
		}
		b, err := DecodePKCS12(data, password)
		if err == nil && (b.Key == nil || b.Certificate == nil) {
			t.Fatal("bundle without key or certificate")
		}
	})
}

func FuzzParseBundle(f *testing.F) {
	for _, s := range seedFiles(f) {
		f.Add(s, "pw")
	}
	f.Fuzz(func(t *testing.T, data []byte, password string) {
		if slowPKCS12(data) {
			return
		}
		b, err := ParseBundle(data, password)
		if err == nil && b.Key == nil && b.Certificate == nil {
			t.Fatal("empty bundle")
		}
	})
}

var identitySeeds = []string{
	"198.51.100.2", "2001:db8::2", "::ffff:1.2.3.4", "vpn.example.org", "@vpn", "*.example.org",
	"alice@example.org", "*@example.org", "@@x", "keyid:abc", "keyid:#0a0b", "@#0a", "ab:cd",
	"C=CH, O=ikego, CN=vpn.example.org", "/C=CH/CN=x", "CN=*, O=ikego", "E=a@b.c", "CN=", "CN=x, ",
	"asn1dn:#300d310b300906035504061302434800", "asn1gn:#820178", "{4}:#0a000000ff000000", "fqdn:1.2.3.4",
	"%any", "", "ipv4:#01020304", "email:x", "CN=Müller",
}

func FuzzParseIdentity(f *testing.F) {
	for _, s := range identitySeeds {
		f.Add(s, "*.example.org")
	}
	f.Fuzz(func(t *testing.T, s, pattern string) {
		id, err := ParseIdentity(s)
		if err != nil {
			return
		}
		str := id.String()
		back, err := ParseIdentity(str)
		if err != nil || !back.Equal(id) {
			if id.Equal(id) { // NULs never compare equal
				t.Fatalf("%q: String %q parses to %v %x, %v", s, str, back.Type, back.Data, err)
			}
		}
		if id.Equal(id) && !id.Matches(id) {
			t.Fatalf("%q does not match itself", s)
		}
		if b, err := id.MarshalBinary(); err == nil {
			d, err := DecodeIdentity(b)
			if err != nil || d.Type != id.Type || !bytes.Equal(d.Data, id.Data) {
				t.Fatalf("%q: wire round trip: %v", s, err)
			}
		}
		if p, err := ParseIdentity(pattern); err == nil {
			for _, m := range []RDNMatching{RDNStrict, RDNReordered, RDNRelaxed} {
				l := id.Match(p, m)
				if l < MatchNone || l > MatchPerfect {
					t.Fatalf("match level %d", l)
				}
			}
		}
		id.HasWildcards()
	})
}

func FuzzDecodeIdentity(f *testing.F) {
	for _, s := range identitySeeds {
		if id, err := ParseIdentity(s); err == nil && id.Type != IDTypeAny {
			b, _ := id.MarshalBinary()
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := DecodeIdentity(b)
		if err != nil {
			return
		}
		enc, err := id.AppendBinary(nil)
		if err != nil {
			t.Fatalf("decoded identity does not encode: %v", err)
		}
		if enc[0] != b[0] || !bytes.Equal(enc[4:], b[4:]) {
			t.Fatalf("round trip %x -> %x", b, enc)
		}
		if id.Equal(id) {
			back, err := ParseIdentity(id.String())
			if err != nil || !back.Equal(id) {
				t.Fatalf("%x: String %q parses to %v %x, %v", b, id.String(), back.Type, back.Data, err)
			}
		}
		id.Match(id, RDNRelaxed)
	})
}

func FuzzParseDN(f *testing.F) {
	for _, s := range identitySeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		der, err := ParseDN(s)
		if err != nil {
			return
		}
		if _, err := parseDNDER(der); err != nil {
			t.Fatalf("ParseDN(%q) made bad DER: %v", s, err)
		}
		formatDN(der)
	})
}
