package ike

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"math/big"
	mrand "math/rand/v2"
	"os"
	"regexp"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	s = strings.Join(strings.Fields(s), "")
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// checkExchange runs a key exchange from both private keys and compares
// public values and shared secret with the known answers.
func checkExchange(t *testing.T, g Group, privI, pubI, privR, pubR, shared []byte) {
	t.Helper()
	i, err := newKeyShareFromPrivate(g, privI)
	if err != nil {
		t.Fatalf("%s: initiator key: %v", g, err)
	}
	r, err := newKeyShareFromPrivate(g, privR)
	if err != nil {
		t.Fatalf("%s: responder key: %v", g, err)
	}
	if !bytes.Equal(i.Public(), pubI) {
		t.Errorf("%s: g^i = %x, want %x", g, i.Public(), pubI)
	}
	if !bytes.Equal(r.Public(), pubR) {
		t.Errorf("%s: g^r = %x, want %x", g, r.Public(), pubR)
	}
	if len(pubI) != g.PublicLen() {
		t.Errorf("%s: PublicLen %d, vector %d", g, g.PublicLen(), len(pubI))
	}
	for name, pair := range map[string][2]*KeyShare{"initiator": {i, r}, "responder": {r, i}} {
		got, err := pair[0].Shared(pair[1].Public())
		if err != nil {
			t.Fatalf("%s: %s Shared: %v", g, name, err)
		}
		if !bytes.Equal(got, shared) {
			t.Errorf("%s: %s g^ir = %x, want %x", g, name, got, shared)
		}
	}
}

// TestECPRFC5903 checks the test vectors of RFC 5903 Section 8 (i, g^i,
// r, g^r and the x-coordinate of g^ir), as transcribed in open-source test
// suites (OpenSSL's ecdhtest "Keys and shared secrets from RFC 5903",
// nrf_crypto's "RFC 5903 256/384/521-Bit Random ECP Group").
func TestECPRFC5903(t *testing.T) {
	// RFC 5903 Section 8.1: 256-bit random ECP group.
	checkExchange(t, GroupECP256,
		unhex(t, "C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433"),
		unhex(t, "DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180"+
			"5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3"),
		unhex(t, "C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53"),
		unhex(t, "D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63"+
			"56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB"),
		unhex(t, "D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE"))
	// RFC 5903 Section 8.2: 384-bit random ECP group.
	checkExchange(t, GroupECP384,
		unhex(t, "099F3C7034D4A2C699884D73A375A67F7624EF7C6B3C0F160647B67414DCE655E35B538041E649EE3FAEF896783AB194"),
		unhex(t, "667842D7D180AC2CDE6F74F37551F55755C7645C20EF73E31634FE72B4C55EE6DE3AC808ACB4BDB4C88732AEE95F41AA"+
			"9482ED1FC0EEB9CAFC4984625CCFC23F65032149E0E144ADA024181535A0F38EEB9FCFF3C2C947DAE69B4C634573A81C"),
		unhex(t, "41CB0779B4BDB85D47846725FBEC3C9430FAB46CC8DC5060855CC9BDA0AA2942E0308312916B8ED2960E4BD55A7448FC"),
		unhex(t, "E558DBEF53EECDE3D3FCCFC1AEA08A89A987475D12FD950D83CFA41732BC509D0D1AC43A0336DEF96FDA41D0774A3571"+
			"DCFBEC7AACF3196472169E838430367F66EEBE3C6E70C416DD5F0C68759DD1FFF83FA40142209DFF5EAAD96DB9E6386C"),
		unhex(t, "11187331C279962D93D604243FD592CB9D0A926F422E47187521287E7156C5C4D603135569B9E9D09CF5D4A270F59746"))
	// RFC 5903 Section 8.3: 521-bit random ECP group.
	checkExchange(t, GroupECP521,
		unhex(t, "0037ADE9319A89F4DABDB3EF411AACCCA5123C61ACAB57B5393DCE47608172A095AA85A30FE1C2952C6771D937BA9777F5957B2639BAB072462F68C27A57382D4A52"),
		unhex(t, "0015417E84DBF28C0AD3C278713349DC7DF153C897A1891BD98BAB4357C9ECBEE1E3BF42E00B8E380AEAE57C2D107564941885942AF5A7F4601723C4195D176CED3E"+
			"017CAE20B6641D2EEB695786D8C946146239D099E18E1D5A514C739D7CB4A10AD8A788015AC405D7799DC75E7B7D5B6CF2261A6A7F1507438BF01BEB6CA3926F9582"),
		unhex(t, "0145BA99A847AF43793FDD0E872E7CDFA16BE30FDC780F97BCCC3F078380201E9C677D600B343757A3BDBF2A3163E4C2F869CCA7458AA4A4EFFC311F5CB151685EB9"),
		unhex(t, "00D0B3975AC4B799F5BEA16D5E13E9AF971D5E9B984C9F39728B5E5739735A219B97C356436ADC6E95BB0352F6BE64A6C2912D4EF2D0433CED2B6171640012D9460F"+
			"015C68226383956E3BD066E797B623C27CE0EAC2F551A10C2C724D9852077B87220B6536C5C408A1D2AEBB8E86D678AE49CB57091F4732296579AB44FCD17F0FC56A"),
		unhex(t, "01144C7D79AE6956BC8EDB8E7C787C4521CB086FA64407F97894E5E6B2D79B04D1427E73CA4BAA240A34786859810C06B3C715A3A8CC3151F2BEE417996D19F3DDEA"))
}

// TestX25519RFC7748 checks RFC 7748 Section 6.1 (Alice and Bob), which RFC
// 8031 Section 2 uses unchanged: the KE data is the 32-octet u-coordinate.
func TestX25519RFC7748(t *testing.T) {
	checkExchange(t, GroupCurve25519,
		unhex(t, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"),
		unhex(t, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"),
		unhex(t, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"),
		unhex(t, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"),
		unhex(t, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"))
}

// modpVector is one of strongSwan's generated MODP known answers.
type modpVector struct {
	privI, privR, pubI, pubR, shared []byte
}

var hexByte = regexp.MustCompile(`0x([0-9a-fA-F]{2})`)

func bytesOf(s string) []byte {
	var b []byte
	for _, m := range hexByte.FindAllStringSubmatch(s, -1) {
		v, _ := hex.DecodeString(m[1])
		b = append(b, v...)
	}
	return b
}

// readModpVectors reads testdata/modp_strongswan.txt, strongSwan's C
// arrays as they are written in its test_vectors plugin.
func readModpVectors(t *testing.T) map[string]modpVector {
	t.Helper()
	data, err := os.ReadFile("testdata/modp_strongswan.txt")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]modpVector{}
	for _, block := range strings.Split(string(data), "ke_test_vector_t ")[1:] {
		name, _, _ := strings.Cut(block, " ")
		field := func(f string) string {
			_, rest, ok := strings.Cut(block, "."+f+" = chunk_from_chars(")
			if !ok {
				t.Fatalf("%s: no %s", name, f)
			}
			body, _, _ := strings.Cut(rest, ")")
			return body
		}
		seedI, seedR, ok := strings.Cut(field("seed"), "/* - */")
		if !ok {
			t.Fatalf("%s: seed without separator", name)
		}
		out[name] = modpVector{
			privI: bytesOf(seedI), privR: bytesOf(seedR),
			pubI: bytesOf(field("pub_i")), pubR: bytesOf(field("pub_r")), shared: bytesOf(field("shared")),
		}
	}
	return out
}

// TestMODPStrongSwanVectors checks the MODP groups against strongSwan's own
// generated vectors: no RFC publishes MODP key exchange vectors, so these
// are an independent implementation's answers.
func TestMODPStrongSwanVectors(t *testing.T) {
	vs := readModpVectors(t)
	for name, g := range map[string]Group{"modp1024": GroupMODP1024, "modp2048": GroupMODP2048} {
		v, ok := vs[name]
		if !ok {
			t.Fatalf("no vector %s", name)
		}
		checkExchange(t, g, v.privI, v.pubI, v.privR, v.pubR, v.shared)
	}
}

// piBits returns floor(pi * 2^bits), from Machin's formula.
func piBits(bits int) *big.Int {
	const guard = 64
	one := new(big.Int).Lsh(big.NewInt(1), uint(bits+guard))
	atanInv := func(x int64) *big.Int {
		bx, x2 := big.NewInt(x), big.NewInt(x*x)
		term := new(big.Int).Quo(one, bx)
		sum := new(big.Int).Set(term)
		for n := int64(1); term.Sign() != 0; n++ {
			term.Quo(term, x2)
			d := new(big.Int).Quo(term, big.NewInt(2*n+1))
			if n%2 == 1 {
				sum.Sub(sum, d)
			} else {
				sum.Add(sum, d)
			}
		}
		return sum
	}
	pi := new(big.Int).Mul(atanInv(5), big.NewInt(16))
	pi.Sub(pi, new(big.Int).Mul(atanInv(239), big.NewInt(4)))
	return pi.Rsh(pi, guard)
}

// TestMODPPrimes recomputes each prime from the formula of RFC 2409
// Section 6.2 and RFC 3526, p = 2^n - 2^(n-64) - 1 + 2^64 * ([2^(n-130) pi]
// + k), and checks that it is a safe prime, the property the RFC 6989
// Section 2.1 range check relies on.
func TestMODPPrimes(t *testing.T) {
	for _, c := range []struct {
		g    Group
		n, k int64
	}{
		{GroupMODP1024, 1024, 129093},
		{GroupMODP1536, 1536, 741804},
		{GroupMODP2048, 2048, 124476},
		{GroupMODP3072, 3072, 1690314},
		{GroupMODP4096, 4096, 240904},
	} {
		p := new(big.Int).Lsh(big.NewInt(1), uint(c.n))
		p.Sub(p, new(big.Int).Lsh(big.NewInt(1), uint(c.n-64)))
		p.Sub(p, big.NewInt(1))
		f := piBits(int(c.n - 130))
		f.Add(f, big.NewInt(c.k))
		p.Add(p, f.Lsh(f, 64))
		info := groupInfos[c.g]
		if info.p.Cmp(p) != 0 {
			t.Errorf("%s: prime differs from the RFC formula", c.g)
			continue
		}
		if info.pLen*8 != int(c.n) || c.g.PublicLen() != int(c.n/8) {
			t.Errorf("%s: length %d octets", c.g, info.pLen)
		}
		q := new(big.Int).Rsh(p, 1)
		if testing.Short() && c.n > 2048 {
			continue
		}
		if !p.ProbablyPrime(1) || !q.ProbablyPrime(1) {
			t.Errorf("%s: not a safe prime", c.g)
		}
	}
}

// TestKeyShareRoundTrip runs every group with fresh keys on both sides.
func TestKeyShareRoundTrip(t *testing.T) {
	for _, g := range Groups() {
		t.Run(g.String(), func(t *testing.T) {
			a, err := NewKeyShare(g, nil)
			if err != nil {
				t.Fatal(err)
			}
			b, err := NewKeyShare(g, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			if a.Group() != g || len(a.Public()) != g.PublicLen() || len(b.Public()) != g.PublicLen() {
				t.Fatalf("group %s, public %d and %d octets, want %d", a.Group(), len(a.Public()), len(b.Public()), g.PublicLen())
			}
			s1, err1 := a.Shared(b.Public())
			s2, err2 := b.Shared(a.Public())
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if !bytes.Equal(s1, s2) {
				t.Fatalf("shared secrets differ:\n%x\n%x", s1, s2)
			}
			if bytes.Equal(a.Public(), b.Public()) {
				t.Fatal("two key shares are equal")
			}
		})
	}
}

// TestKeyShareDeterministic checks that the private key comes from the
// given reader (crypto/ecdh's GenerateKey ignores it since Go 1.26).
func TestKeyShareDeterministic(t *testing.T) {
	for _, g := range Groups() {
		a, err := NewKeyShare(g, mrand.NewChaCha8([32]byte{1}))
		if err != nil {
			t.Fatal(err)
		}
		b, err := NewKeyShare(g, mrand.NewChaCha8([32]byte{1}))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Public(), b.Public()) {
			t.Errorf("%s: same randomness, different key shares", g)
		}
	}
}

func TestKeyShareErrors(t *testing.T) {
	if _, err := NewKeyShare(Group(22), nil); !errors.Is(err, ErrUnsupportedGroup) {
		t.Errorf("group 22: %v, want ErrUnsupportedGroup", err)
	}
	if _, err := NewKeyShare(GroupNone, nil); !errors.Is(err, ErrUnsupportedGroup) {
		t.Errorf("group 0: %v, want ErrUnsupportedGroup", err)
	}
	if _, err := NewKeyShare(GroupECP256, bytes.NewReader(nil)); err == nil {
		t.Error("empty random source accepted")
	}
	if Group(22).Supported() || !GroupMODP2048.Supported() || Group(22).PublicLen() != 0 {
		t.Error("Supported or PublicLen wrong")
	}
	if GroupCurve25519.String() != "CURVE_25519" || GroupMODP2048.String() != "MODP_2048" || Group(22).String() != "MODP_1024_160" {
		t.Errorf("names: %s %s %s", GroupCurve25519, GroupMODP2048, Group(22))
	}
}

// expectInvalid checks that Shared refuses peer with a KEError.
func expectInvalid(t *testing.T, k *KeyShare, peer []byte, malformed bool, what string) {
	t.Helper()
	s, err := k.Shared(peer)
	var ke *KEError
	if !errors.As(err, &ke) || !errors.Is(err, ErrInvalidKE) {
		t.Errorf("%s: %s: Shared = %x, %v; want a KEError", k.Group(), what, s, err)
		return
	}
	if ke.Malformed != malformed || ke.Group != k.Group() {
		t.Errorf("%s: %s: %+v", k.Group(), what, ke)
	}
}

// TestMODPRejects checks RFC 6989 Section 2.1 (1 < y < p-1) and the length
// rule of RFC 7296 Section 3.4 for every MODP group.
func TestMODPRejects(t *testing.T) {
	for _, g := range []Group{GroupMODP1024, GroupMODP1536, GroupMODP2048, GroupMODP3072, GroupMODP4096} {
		k, err := NewKeyShare(g, nil)
		if err != nil {
			t.Fatal(err)
		}
		info := groupInfos[g]
		enc := func(v *big.Int) []byte { return v.FillBytes(make([]byte, info.pLen)) }
		p := info.p
		expectInvalid(t, k, enc(big.NewInt(0)), false, "y = 0")
		expectInvalid(t, k, enc(big.NewInt(1)), false, "y = 1")
		expectInvalid(t, k, enc(info.pm1), false, "y = p-1")
		expectInvalid(t, k, enc(p), false, "y = p")
		expectInvalid(t, k, bytes.Repeat([]byte{0xff}, info.pLen), false, "y = 2^n - 1 > p")
		expectInvalid(t, k, k.Public()[1:], true, "one octet short")
		expectInvalid(t, k, append([]byte{0}, k.Public()...), true, "one octet long")
		expectInvalid(t, k, nil, true, "empty")
		// The extremes of the valid range are accepted.
		for _, y := range []*big.Int{big.NewInt(2), new(big.Int).Sub(p, big.NewInt(2))} {
			if _, err := k.Shared(enc(y)); err != nil {
				t.Errorf("%s: y = %v refused: %v", g, y, err)
			}
		}
	}
}

// TestECPRejects checks that points off the curve, the all-zero encoding
// and wrong lengths are refused (RFC 6989 Section 2.3).
func TestECPRejects(t *testing.T) {
	for _, g := range []Group{GroupECP256, GroupECP384, GroupECP521} {
		k, _ := NewKeyShare(g, nil)
		peer, _ := NewKeyShare(g, nil)
		bad := bytes.Clone(peer.Public())
		bad[len(bad)-1] ^= 1
		expectInvalid(t, k, bad, false, "y flipped")
		expectInvalid(t, k, make([]byte, g.PublicLen()), false, "(0, 0)")
		expectInvalid(t, k, bytes.Repeat([]byte{0xff}, g.PublicLen()), false, "coordinates >= p")
		expectInvalid(t, k, append([]byte{4}, peer.Public()...), true, "SEC1 prefix included")
		expectInvalid(t, k, peer.Public()[:g.PublicLen()/2], true, "x only")
	}
}

// TestX25519Rejects checks that low-order points, whose X25519 output is
// all zeros, are refused (RFC 8031 Section 2, RFC 7748 Section 6.1), and
// the length.
func TestX25519Rejects(t *testing.T) {
	k, _ := NewKeyShare(GroupCurve25519, nil)
	for _, u := range []string{
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	} {
		expectInvalid(t, k, unhex(t, u), false, "low-order u "+u[:8])
	}
	expectInvalid(t, k, make([]byte, 31), true, "31 octets")
	expectInvalid(t, k, make([]byte, 33), true, "33 octets")
}

// FuzzKeyShareShared feeds arbitrary peer values to every group: Shared
// must not panic, must refuse wrong lengths, and what it accepts must be a
// shared secret of the group's size (for MODP, in the range it checks).
func FuzzKeyShareShared(f *testing.F) {
	groups := Groups()
	shares := make([]*KeyShare, len(groups))
	for i, g := range groups {
		k, err := NewKeyShare(g, mrand.NewChaCha8([32]byte{byte(i)}))
		if err != nil {
			f.Fatal(err)
		}
		shares[i] = k
		f.Add(uint8(i), k.Public())
		f.Add(uint8(i), make([]byte, g.PublicLen()))
	}
	f.Add(uint8(0), []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, which uint8, peer []byte) {
		k := shares[int(which)%len(shares)]
		g := k.Group()
		s, err := k.Shared(peer)
		if len(peer) != g.PublicLen() {
			var ke *KEError
			if !errors.As(err, &ke) || !ke.Malformed {
				t.Fatalf("%s: %d octets: %v", g, len(peer), err)
			}
			return
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidKE) {
				t.Fatalf("%s: error %v does not wrap ErrInvalidKE", g, err)
			}
			return
		}
		info := groupInfos[g]
		want := info.pLen
		if info.curve != nil {
			want = info.coordLen
		}
		if len(s) != want {
			t.Fatalf("%s: shared secret of %d octets", g, len(s))
		}
		if info.curve == nil {
			y := new(big.Int).SetBytes(peer)
			if y.Cmp(big.NewInt(1)) <= 0 || y.Cmp(info.pm1) >= 0 {
				t.Fatalf("%s: accepted y out of range", g)
			}
		}
		if bytes.Equal(s, make([]byte, len(s))) {
			t.Fatalf("%s: all-zero shared secret accepted", g)
		}
	})
}

// BenchmarkKeyExchange measures one side of a key exchange: NewKeyShare
// and Shared with the peer's public value, per group.
func BenchmarkKeyExchange(b *testing.B) {
	for _, g := range Groups() {
		b.Run(g.String(), func(b *testing.B) {
			peer, err := NewKeyShare(g, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				k, err := NewKeyShare(g, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := k.Shared(peer.Public()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
