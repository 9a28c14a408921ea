package ike

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"encoding/binary"
	"hash"
	mrand "math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike/wire"
)

// prfByName maps the section names of testdata/ikev2_kdf.txt to PRFs.
var prfByName = map[string]wire.PRFID{
	"PRF_HMAC_SHA1":     wire.PRFHMACSHA1,
	"PRF_HMAC_SHA2_256": wire.PRFHMACSHA2_256,
	"PRF_HMAC_SHA2_384": wire.PRFHMACSHA2_384,
	"PRF_HMAC_SHA2_512": wire.PRFHMACSHA2_512,
}

// TestPRFRFC4868 checks the PRFs against the PRF-HMAC-SHA-256/384/512 test
// cases of RFC 4868 Section 2.7.1 (PRF-1 to PRF-6; they are RFC 4231's
// HMAC cases), transcribed from strongSwan's test_vectors plugin
// (sha2_hmac.c, "SHA-256, SHA384, SHA512 HMAC test vectors from RFC 4868"),
// which leaves out PRF-2; PRF-2 is from RFC 4231 Section 4.3.
func TestPRFRFC4868(t *testing.T) {
	aa20 := bytes.Repeat([]byte{0xaa}, 20)
	aa131 := bytes.Repeat([]byte{0xaa}, 131)
	key25 := unhex(t, "0102030405060708090a0b0c0d0e0f10111213141516171819")
	cases := []struct {
		name      string
		key, data []byte
		out       map[wire.PRFID]string
	}{
		{"PRF-1", bytes.Repeat([]byte{0x0b}, 20), []byte("Hi There"), map[wire.PRFID]string{
			wire.PRFHMACSHA2_256: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
			wire.PRFHMACSHA2_384: "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6",
			wire.PRFHMACSHA2_512: "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
		}},
		{"PRF-2", []byte("Jefe"), []byte("what do ya want for nothing?"), map[wire.PRFID]string{
			wire.PRFHMACSHA2_256: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
			wire.PRFHMACSHA2_384: "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
			wire.PRFHMACSHA2_512: "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
		}},
		{"PRF-3", aa20, bytes.Repeat([]byte{0xdd}, 50), map[wire.PRFID]string{
			wire.PRFHMACSHA2_256: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
			wire.PRFHMACSHA2_384: "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b2a5ab39dc13814b94e3ab6e101a34f27",
			wire.PRFHMACSHA2_512: "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb",
		}},
		{"PRF-4", key25, bytes.Repeat([]byte{0xcd}, 50), map[wire.PRFID]string{
			wire.PRFHMACSHA2_256: "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
			wire.PRFHMACSHA2_384: "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674cffb",
			wire.PRFHMACSHA2_512: "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd",
		}},
		{"PRF-5", aa131, []byte("Test Using Larger Than Block-Size Key - Hash Key First"), map[wire.PRFID]string{
			wire.PRFHMACSHA2_256: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
			wire.PRFHMACSHA2_384: "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952",
			wire.PRFHMACSHA2_512: "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
		}},
		{"PRF-6", aa131, []byte("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."), map[wire.PRFID]string{
			wire.PRFHMACSHA2_256: "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
			wire.PRFHMACSHA2_384: "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c46523e",
			wire.PRFHMACSHA2_512: "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58",
		}},
	}
	for _, c := range cases {
		for id, want := range c.out {
			p, err := prfByID(id)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.sum(c.key, c.data); !bytes.Equal(got, unhex(t, want)) {
				t.Errorf("%s %s = %x, want %s", c.name, id, got, want)
			}
			// Split data: prf(K, a | b) is the PRF of the concatenation.
			if got := p.sum(c.key, c.data[:3], c.data[3:]); !bytes.Equal(got, unhex(t, want)) {
				t.Errorf("%s %s on split data = %x", c.name, id, got)
			}
		}
	}
}

// refPRFPlus is prf+ (RFC 7296 Section 2.13) written out independently of
// prfPlus: T(n) = HMAC(K, T(n-1) | S | n), concatenated.
func refPRFPlus(h func() hash.Hash, key, seed []byte, n int) []byte {
	var out, t []byte
	for i := byte(1); len(out) < n; i++ {
		m := hmac.New(h, key)
		m.Write(append(append(append([]byte{}, t...), seed...), i))
		t = m.Sum(nil)
		out = append(out, t...)
	}
	return out[:n]
}

// TestPRFPlus cross-checks prfPlus against refPRFPlus for every PRF and
// many lengths, including the 255-block limit.
func TestPRFPlus(t *testing.T) {
	r := mrand.New(mrand.NewChaCha8([32]byte{7}))
	for id, p := range prfs {
		for _, n := range []int{0, 1, p.size - 1, p.size, p.size + 1, 3*p.size + 5, 132, 255 * p.size} {
			key := make([]byte, r.IntN(80))
			seed := make([]byte, r.IntN(300))
			for i := range key {
				key[i] = byte(r.Uint32())
			}
			for i := range seed {
				seed[i] = byte(r.Uint32())
			}
			got := prfPlus(p, key, seed, n)
			if want := refPRFPlus(p.newHash, key, seed, n); !bytes.Equal(got, want) || len(got) != n {
				t.Fatalf("%s prf+ of %d octets differs", id, n)
			}
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: prf+ beyond 255 blocks did not panic", id)
				}
			}()
			prfPlus(p, []byte("k"), []byte("s"), 255*p.size+1)
		}()
	}
	if _, err := prfByID(wire.PRFAES128XCBC); err == nil {
		t.Error("AES-XCBC PRF accepted")
	}
}

// kdfCase is one section of testdata/ikev2_kdf.txt.
type kdfCase struct {
	name, kind string
	prf        *prf
	v          map[string][]byte
}

func readKDFCases(t *testing.T) []kdfCase {
	t.Helper()
	f, err := os.Open("testdata/ikev2_kdf.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []kdfCase
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			name, kind, _ := strings.Cut(strings.Trim(line, "[]"), " ")
			id, ok := prfByName[name]
			if !ok {
				t.Fatalf("unknown PRF %s", name)
			}
			cases = append(cases, kdfCase{name: name, kind: kind, prf: prfs[id], v: map[string][]byte{}})
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || len(cases) == 0 {
				t.Fatalf("bad line %q", line)
			}
			cases[len(cases)-1].v[strings.TrimSpace(k)] = unhex(t, v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

// TestKDFKnownAnswers checks SKEYSEED, the IKE SA key material, the
// CHILD_SA key material with and without PFS, and the rekeyed SKEYSEED
// against the NIST CAVS IKEv2 KDF samples (see testdata/ikev2_kdf.txt for
// where they were found).
func TestKDFKnownAnswers(t *testing.T) {
	cases := readKDFCases(t)
	seen := map[string]int{}
	for _, c := range cases {
		v := c.v
		seen[c.name]++
		if got := skeyseed(c.prf, v["ni"], v["nr"], v["gir"]); !bytes.Equal(got, v["skeyseed"]) {
			t.Errorf("%s %s: SKEYSEED = %x, want %x", c.name, c.kind, got, v["skeyseed"])
		}
		if c.kind != "nist-ikev2" {
			continue
		}
		spii, spir := binary.BigEndian.Uint64(v["spii"]), binary.BigEndian.Uint64(v["spir"])
		dkm := ikeKeymat(c.prf, v["skeyseed"], v["ni"], v["nr"], spii, spir, len(v["dkm"]))
		if len(v["dkm"]) != 132 || !bytes.Equal(dkm, v["dkm"]) {
			t.Errorf("%s: DKM = %x, want %x", c.name, dkm, v["dkm"])
		}
		skd := v["dkm"][:c.prf.size]
		if got := rekeySKEYSEED(c.prf, skd, v["gir_new"], v["ni"], v["nr"]); !bytes.Equal(got, v["skeyseed_rekey"]) {
			t.Errorf("%s: SKEYSEED(rekey) = %x, want %x", c.name, got, v["skeyseed_rekey"])
		}
		if want, ok := v["dkm_child"]; ok {
			if got := childKeymat(c.prf, skd, nil, v["ni"], v["nr"], len(want)); !bytes.Equal(got, want) {
				t.Errorf("%s: DKM(Child SA) = %x, want %x", c.name, got, want)
			}
		}
		if want, ok := v["dkm_child_dh"]; ok {
			if got := childKeymat(c.prf, skd, v["gir_new"], v["ni"], v["nr"], len(want)); !bytes.Equal(got, want) {
				t.Errorf("%s: DKM(Child SA D-H) = %x, want %x", c.name, got, want)
			}
		}

		// The exported API cuts the same material: for the proposal
		// below the seven keys are a prefix of DKM (or DKM of them).
		p := MustParseProposals("aes128-sha1-prf"+strings.ToLower(strings.TrimPrefix(strings.ReplaceAll(c.name, "_SHA2_", "_SHA"), "PRF_HMAC_"))+"-modp2048", wire.ProtocolIKE)[0]
		k, err := DeriveIKEKeys(p, v["gir"], v["ni"], v["nr"], spii, spir)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		all := bytes.Join([][]byte{k.SKd, k.SKai, k.SKar, k.SKei, k.SKer, k.SKpi, k.SKpr}, nil)
		if n := min(len(all), len(v["dkm"])); !bytes.Equal(all[:n], v["dkm"][:n]) {
			t.Errorf("%s: DeriveIKEKeys does not cut DKM", c.name)
		}
		if k.PRF != c.prf.id || len(k.SKd) != c.prf.size || len(k.SKai) != 20 || len(k.SKei) != 16 || len(k.SKpr) != c.prf.size {
			t.Errorf("%s: key lengths %d %d %d %d", c.name, len(k.SKd), len(k.SKai), len(k.SKei), len(k.SKpr))
		}
		// Rekey uses the old PRF and SK_d.
		rk, err := k.Rekey(p, v["gir_new"], v["ni"], v["nr"], spii, spir)
		if err != nil {
			t.Fatal(err)
		}
		want := ikeKeymat(c.prf, v["skeyseed_rekey"], v["ni"], v["nr"], spii, spir, c.prf.size)
		if !bytes.Equal(rk.SKd, want) {
			t.Errorf("%s: rekeyed SK_d = %x, want %x", c.name, rk.SKd, want)
		}
		// CHILD_SA keys through the API: AES-128-CBC and HMAC-SHA1-96
		// take 2*(16+20) octets of KEYMAT.
		if dc, ok := v["dkm_child"]; ok {
			esp1 := MustParseProposals("aes128-sha1", wire.ProtocolESP)[0]
			for _, shared := range [][]byte{nil, v["gir_new"]} {
				ck, err := k.ChildKeys(esp1, shared, v["ni"], v["nr"])
				if err != nil {
					t.Fatal(err)
				}
				if shared != nil {
					dc = v["dkm_child_dh"]
				}
				got := bytes.Join([][]byte{ck.InitiatorToResponder.EncrKey, ck.InitiatorToResponder.IntegKey,
					ck.ResponderToInitiator.EncrKey, ck.ResponderToInitiator.IntegKey}, nil)
				if !bytes.Equal(got, dc[:72]) {
					t.Errorf("%s: ChildKeys (PFS %v) = %x, want %x", c.name, shared != nil, got, dc[:72])
				}
			}
		}
	}
	for name := range prfByName {
		if seen[name] < 2 {
			t.Errorf("%s: %d known-answer cases, want 2", name, seen[name])
		}
	}
}

// TestIKEKeyLengths checks the lengths and order of the seven keys for
// the kinds of cipher (RFC 7296 Section 2.14; AEAD salts RFC 5282
// Section 7.1 and RFC 7634 Section 4).
func TestIKEKeyLengths(t *testing.T) {
	ni, nr := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	shared := bytes.Repeat([]byte{3}, 32)
	for _, c := range []struct {
		proposal                string
		prf, integ, encr, total int
	}{
		{"aes256gcm16-prfsha384-ecp384", 48, 0, 36, 3*48 + 2*36},
		{"aes128gcm8-prfsha256-x25519", 32, 0, 20, 3*32 + 2*20},
		{"chacha20poly1305-prfsha256-x25519", 32, 0, 36, 3*32 + 2*36},
		{"aes128-sha256-modp2048", 32, 32, 16, 3*32 + 2*32 + 2*16},
		{"aes192-sha512-prfsha1-ecp521", 20, 64, 24, 3*20 + 2*64 + 2*24},
		{"3des-sha1-modp1024", 20, 20, 24, 3*20 + 2*20 + 2*24},
	} {
		p := MustParseProposals(c.proposal, wire.ProtocolIKE)[0]
		k, err := DeriveIKEKeys(p, shared, ni, nr, 1, 2)
		if err != nil {
			t.Fatalf("%s: %v", c.proposal, err)
		}
		pr := prfs[k.PRF]
		km := refPRFPlus(pr.newHash, skeyseedRef(pr, ni, nr, shared), append(append(append(append([]byte{}, ni...), nr...), 0, 0, 0, 0, 0, 0, 0, 1), 0, 0, 0, 0, 0, 0, 0, 2), c.total)
		got := bytes.Join([][]byte{k.SKd, k.SKai, k.SKar, k.SKei, k.SKer, k.SKpi, k.SKpr}, nil)
		if !bytes.Equal(got, km) {
			t.Errorf("%s: keys are not prf+ in order", c.proposal)
		}
		if len(k.SKd) != c.prf || len(k.SKpi) != c.prf || len(k.SKpr) != c.prf ||
			len(k.SKai) != c.integ || len(k.SKar) != c.integ || len(k.SKei) != c.encr || len(k.SKer) != c.encr {
			t.Errorf("%s: lengths d %d a %d e %d p %d", c.proposal, len(k.SKd), len(k.SKai), len(k.SKei), len(k.SKpi))
		}
	}
}

// skeyseedRef is SKEYSEED = prf(Ni | Nr, g^ir) with crypto/hmac directly.
func skeyseedRef(p *prf, ni, nr, shared []byte) []byte {
	m := hmac.New(p.newHash, append(append([]byte{}, ni...), nr...))
	m.Write(shared)
	return m.Sum(nil)
}

// TestChildKeys checks the order of KEYMAT (RFC 7296 Section 2.17: the
// initiator-to-responder encryption key, then its integrity key, then the
// responder-to-initiator keys), the lengths from package esp, and
// SAParams.
func TestChildKeys(t *testing.T) {
	k := &IKEKeys{PRF: wire.PRFHMACSHA2_256, SKd: bytes.Repeat([]byte{9}, 32)}
	ni, nr, gir := []byte("nonce-of-initiator"), []byte("nonce-of-responder"), []byte("shared secret")
	for _, c := range []struct {
		proposal     string
		encr, integ  int
		pfs, esn     bool
		wantEncr     esp.EncrID
		wantIntegAlg esp.IntegID
	}{
		{"aes256gcm16", 36, 0, false, false, esp.EncrAESGCM16, esp.IntegNone},
		{"aes128gcm12-esn", 20, 0, false, true, esp.EncrAESGCM12, esp.IntegNone},
		{"chacha20poly1305-modp2048", 36, 0, true, false, esp.EncrChaCha20Poly1305, esp.IntegNone},
		{"aes256-sha256-modp2048", 32, 32, true, false, esp.EncrAESCBC, esp.IntegHMACSHA256_128},
		{"aes128-sha1", 16, 20, false, false, esp.EncrAESCBC, esp.IntegHMACSHA1_96},
		{"null-sha512", 0, 64, false, false, esp.EncrNull, esp.IntegHMACSHA512_256},
		{"3des-sha384", 24, 48, false, false, esp.EncrDES3, esp.IntegHMACSHA384_192},
	} {
		p := MustParseProposals(c.proposal, wire.ProtocolESP)[0]
		var shared []byte
		if c.pfs {
			shared = gir
		}
		ck, err := k.ChildKeys(p, shared, ni, nr)
		if err != nil {
			t.Fatalf("%s: %v", c.proposal, err)
		}
		km := refPRFPlus(prfs[k.PRF].newHash, k.SKd, append(append(append([]byte{}, shared...), ni...), nr...), 2*(c.encr+c.integ))
		want := [][]byte{km[:c.encr], km[c.encr : c.encr+c.integ], km[c.encr+c.integ : 2*c.encr+c.integ], km[2*c.encr+c.integ:]}
		got := [][]byte{ck.InitiatorToResponder.EncrKey, ck.InitiatorToResponder.IntegKey, ck.ResponderToInitiator.EncrKey, ck.ResponderToInitiator.IntegKey}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Errorf("%s: key %d = %x, want %x", c.proposal, i, got[i], want[i])
			}
		}
		if ck.Encr != c.wantEncr || ck.Integ != c.wantIntegAlg || ck.ESN != c.esn {
			t.Errorf("%s: algorithms %s %s esn %v", c.proposal, ck.Encr, ck.Integ, ck.ESN)
		}
		out, in := ck.SAParams(true)
		if !bytes.Equal(out.EncrKey, want[0]) || !bytes.Equal(out.IntegKey, want[1]) || !bytes.Equal(in.EncrKey, want[2]) || !bytes.Equal(in.IntegKey, want[3]) {
			t.Errorf("%s: initiator SAParams keys", c.proposal)
		}
		rout, rin := ck.SAParams(false)
		if !bytes.Equal(rout.EncrKey, in.EncrKey) || !bytes.Equal(rin.EncrKey, out.EncrKey) || rout.Encr != c.wantEncr || rin.ESN != c.esn {
			t.Errorf("%s: responder SAParams", c.proposal)
		}
		// The keys work with package esp.
		out.SPI, in.SPI = 0x1000, 0x1001
		if _, err := esp.NewSA(out); err != nil {
			t.Errorf("%s: esp.NewSA: %v", c.proposal, err)
		}
	}
}

func TestKeymatErrors(t *testing.T) {
	ike := MustParseProposals("aes128-sha256-modp2048", wire.ProtocolIKE)[0]
	ok := []byte("x")
	if _, err := DeriveIKEKeys(ike, nil, ok, ok, 1, 2); err == nil {
		t.Error("empty shared secret accepted")
	}
	if _, err := DeriveIKEKeys(ike, ok, nil, ok, 1, 2); err == nil {
		t.Error("empty Ni accepted")
	}
	noKeyLen := ike.clone()
	noKeyLen.Encr[0].KeyBits = 0
	if _, err := DeriveIKEKeys(noKeyLen, ok, ok, ok, 1, 2); err == nil {
		t.Error("AES without a key length accepted")
	}
	noPRF := ike.clone()
	noPRF.PRF = nil
	if _, err := DeriveIKEKeys(noPRF, ok, ok, ok, 1, 2); err == nil {
		t.Error("proposal without PRF accepted")
	}
	noInteg := ike.clone()
	noInteg.Integ = nil
	if _, err := DeriveIKEKeys(noInteg, ok, ok, ok, 1, 2); err == nil {
		t.Error("AES-CBC without integrity accepted")
	}
	espP := MustParseProposals("aes128gcm16", wire.ProtocolESP)[0]
	if _, err := DeriveIKEKeys(espP, ok, ok, ok, 1, 2); err == nil {
		t.Error("IKE keys from an ESP proposal")
	}
	k, err := DeriveIKEKeys(ike, ok, ok, ok, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.ChildKeys(ike, nil, ok, ok); err == nil {
		t.Error("CHILD_SA keys from an IKE proposal")
	}
	if _, err := k.ChildKeys(espP, nil, nil, ok); err == nil {
		t.Error("CHILD_SA keys with an empty nonce")
	}
	if _, err := (&IKEKeys{PRF: wire.PRFHMACSHA1}).Rekey(ike, ok, ok, ok, 1, 2); err == nil {
		t.Error("rekey without SK_d")
	}
}

// BenchmarkDeriveIKEKeys measures SKEYSEED and the seven keys of an IKE SA
// from a 32-octet shared secret and 32-octet nonces, per PRF.
func BenchmarkDeriveIKEKeys(b *testing.B) {
	ni, nr, shared := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{3}, 32)
	for _, s := range []string{"aes256gcm16-prfsha256-x25519", "aes256gcm16-prfsha384-x25519", "aes256-sha512-prfsha512-x25519", "aes128-sha1-prfsha1-modp2048"} {
		p := MustParseProposals(s, wire.ProtocolIKE)[0]
		b.Run(p.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DeriveIKEKeys(p, shared, ni, nr, 1, 2); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
