package ike

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/ikego/ikego/ike/wire"
)

func TestParseProposals(t *testing.T) {
	ike, esp := wire.ProtocolIKE, wire.ProtocolESP
	for _, c := range []struct {
		in    string
		proto wire.ProtocolID
		want  []string
	}{
		{"aes256gcm16-prfsha384-ecp384", ike, []string{"IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384"}},
		{"aes256-sha256-modp2048", ike, []string{"IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048"}},
		{"aes128-aes256-sha256-sha1-modp2048-ecp256", ike, []string{
			"IKE:AES_CBC_128/AES_CBC_256/HMAC_SHA2_256_128/HMAC_SHA1_96/PRF_HMAC_SHA2_256/PRF_HMAC_SHA1/MODP_2048/ECP_256"}},
		// The order of types does not matter, within a type it does.
		{"sha256-modp2048-aes256-ecp256-aes128", ike, []string{
			"IKE:AES_CBC_256/AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048/ECP_256"}},
		{"chacha20poly1305-prfsha256-x25519", ike, []string{"IKE:CHACHA20_POLY1305/PRF_HMAC_SHA2_256/CURVE_25519"}},
		{"chacha20poly1305-prfsha256-curve25519", ike, []string{"IKE:CHACHA20_POLY1305/PRF_HMAC_SHA2_256/CURVE_25519"}},
		// strongSwan's check_proposal: an AEAD IKE proposal without a
		// PRF takes the PRFs of its integrity keywords, then drops
		// the integrity algorithms.
		{"aes256gcm16-sha384-sha256-ecp384", ike, []string{"IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/PRF_HMAC_SHA2_256/ECP_384"}},
		// An explicit PRF wins over the derived ones.
		{"aes128-sha1-prfsha512-ecp256", ike, []string{"IKE:AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA2_512/ECP_256"}},
		// KE NONE is dropped from IKE proposals.
		{"aes128-sha256-ecp256-none", ike, []string{"IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/ECP_256"}},
		{"3des-sha1-modp1024", ike, []string{"IKE:3DES_CBC/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024"}},
		{"aes256gcm16", esp, []string{"ESP:AES_GCM_16_256/NO_EXT_SEQ"}},
		{"aes256-sha256-modp2048", esp, []string{"ESP:AES_CBC_256/HMAC_SHA2_256_128/MODP_2048/NO_EXT_SEQ"}},
		{"aes128-sha1-modp2048-none", esp, []string{"ESP:AES_CBC_128/HMAC_SHA1_96/MODP_2048/MODP_NONE/NO_EXT_SEQ"}},
		{"aes128gcm16-esn-noesn", esp, []string{"ESP:AES_GCM_16_128/EXT_SEQ/NO_EXT_SEQ"}},
		{"aes128gcm16-esn", esp, []string{"ESP:AES_GCM_16_128/EXT_SEQ"}},
		{"aes128gcm16-prfsha256", esp, []string{"ESP:AES_GCM_16_128/NO_EXT_SEQ"}},
		{"null-sha256", esp, []string{"ESP:NULL/HMAC_SHA2_256_128/NO_EXT_SEQ"}},
		// Aliases.
		{"aes128gcm128-aes192gcm64-aes256gcm96-aes256gcm", esp, []string{
			"ESP:AES_GCM_16_128/AES_GCM_8_192/AES_GCM_12_256/AES_GCM_16_256/NO_EXT_SEQ"}},
		{"aes-sha-sha2_256-sha2_384", esp, []string{"ESP:AES_CBC_128/HMAC_SHA1_96/HMAC_SHA2_256_128/HMAC_SHA2_384_192/NO_EXT_SEQ"}},
		{"AES128GCM16", esp, []string{"ESP:AES_GCM_16_128/NO_EXT_SEQ"}},
		// Lists, with spaces.
		{"aes128gcm16, aes256gcm16 ,aes256-sha256", esp, []string{
			"ESP:AES_GCM_16_128/NO_EXT_SEQ", "ESP:AES_GCM_16_256/NO_EXT_SEQ", "ESP:AES_CBC_256/HMAC_SHA2_256_128/NO_EXT_SEQ"}},
		// The log form.
		{"IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/CURVE_25519", ike, []string{
			"IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/CURVE_25519"}},
		{"ESP:AES_GCM_16_256/NO_EXT_SEQ, aes128gcm16", esp, []string{"ESP:AES_GCM_16_256/NO_EXT_SEQ", "ESP:AES_GCM_16_128/NO_EXT_SEQ"}},
		{"default", ike, []string{
			"IKE:AES_CBC_128/AES_CBC_192/AES_CBC_256/HMAC_SHA2_256_128/HMAC_SHA2_384_192/HMAC_SHA2_512_256/HMAC_SHA1_96/" +
				"PRF_HMAC_SHA2_256/PRF_HMAC_SHA2_384/PRF_HMAC_SHA2_512/PRF_HMAC_SHA1/CURVE_25519/ECP_256/ECP_384/ECP_521/MODP_3072/MODP_4096/MODP_2048",
			"IKE:AES_GCM_16_128/AES_GCM_16_192/AES_GCM_16_256/CHACHA20_POLY1305/" +
				"PRF_HMAC_SHA2_256/PRF_HMAC_SHA2_384/PRF_HMAC_SHA2_512/PRF_HMAC_SHA1/CURVE_25519/ECP_256/ECP_384/ECP_521/MODP_3072/MODP_4096/MODP_2048"}},
		{"aes256gcm16, default", esp, []string{
			"ESP:AES_GCM_16_256/NO_EXT_SEQ",
			"ESP:AES_GCM_16_128/AES_GCM_16_192/AES_GCM_16_256/CHACHA20_POLY1305/NO_EXT_SEQ",
			"ESP:AES_CBC_128/AES_CBC_192/AES_CBC_256/HMAC_SHA2_256_128/HMAC_SHA2_384_192/HMAC_SHA2_512_256/HMAC_SHA1_96/NO_EXT_SEQ"}},
	} {
		ps, err := ParseProposals(c.in, c.proto)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		var got []string
		for _, p := range ps {
			got = append(got, p.String())
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q:\n got %q\nwant %q", c.in, got, c.want)
		}
		checkReparse(t, ps, c.proto)
	}
}

// checkReparse checks that both written forms of ps parse back to ps.
func checkReparse(t *testing.T, ps []Proposal, proto wire.ProtocolID) {
	t.Helper()
	back, err := ParseProposals(FormatProposals(ps), proto)
	if err != nil || !reflect.DeepEqual(back, ps) {
		t.Fatalf("log form %q: %v\n got %v\nwant %v", FormatProposals(ps), err, back, ps)
	}
	kws := make([]string, len(ps))
	for i := range ps {
		kws[i] = ps[i].Keywords()
	}
	back, err = ParseProposals(strings.Join(kws, ","), proto)
	if err != nil || !reflect.DeepEqual(back, ps) {
		t.Fatalf("keywords %q: %v\n got %v\nwant %v", kws, err, back, ps)
	}
}

func TestKeywords(t *testing.T) {
	p := MustParseProposals("x25519-aes256-sha2_256-aes", wire.ProtocolIKE)[0]
	if got, want := p.Keywords(), "aes256-aes128-sha256-prfsha256-curve25519"; got != want {
		t.Errorf("Keywords = %q, want %q", got, want)
	}
	if got, want := MustParseProposals("aes256gcm128-modp2048-none", wire.ProtocolESP)[0].Keywords(), "aes256gcm16-modp2048-none-noesn"; got != want {
		t.Errorf("Keywords = %q, want %q", got, want)
	}
}

func TestParseProposalsErrors(t *testing.T) {
	ike, esp := wire.ProtocolIKE, wire.ProtocolESP
	for _, c := range []struct {
		in      string
		proto   wire.ProtocolID
		keyword string // the keyword the error names, if any
		unknown bool
	}{
		{"aes256-foo-modp2048", ike, "foo", true},
		{"aes256-sha256-camellia128-modp2048", ike, "camellia128", true},
		{"aes256-sha256-modp768", ike, "modp768", true},
		{"IKE:AES_CBC_128/HMAC_MD5_96/PRF_HMAC_SHA1/MODP_2048", ike, "HMAC_MD5_96", true},
		{"ESP:AES_GCM_16_128/NO_EXT_SEQ", ike, "ESP", false},
		{"aes256-sha256", ike, "", false},               // no key exchange
		{"aes256-sha256-none", ike, "", false},          // only NONE
		{"aes256gcm16-ecp256", ike, "", false},          // no PRF
		{"aes128-prfsha256-ecp256", ike, "", false},     // no integrity
		{"aes128-aes128gcm16-sha256", esp, "", false},   // AEAD mixed with classic
		{"aes128-modp2048", esp, "", false},             // no integrity
		{"sha256-modp2048", esp, "", false},             // no encryption
		{"null-sha256-modp2048", ike, "null", false},    // NULL for IKE
		{"aes128-sha256-ecp256-esn", ike, "esn", false}, // ESN for IKE
		{"", esp, "", false},
		{"aes128gcm16,", esp, "", false},
		{"aes128gcm16--noesn", esp, "", false},
	} {
		_, err := ParseProposals(c.in, c.proto)
		var pe *ProposalError
		if !errors.As(err, &pe) {
			t.Errorf("%q: %v, want a ProposalError", c.in, err)
			continue
		}
		if pe.Keyword != c.keyword || errors.Is(err, ErrUnknownKeyword) != c.unknown {
			t.Errorf("%q: %v (keyword %q)", c.in, err, pe.Keyword)
		}
		if c.keyword != "" && !strings.Contains(err.Error(), c.keyword) {
			t.Errorf("%q: error %q does not name %q", c.in, err, c.keyword)
		}
	}
	if _, err := ParseProposals("aes128-sha256", wire.ProtocolAH); err == nil {
		t.Error("AH proposals accepted")
	}
}

// parse1 parses one proposal or fails the test.
func parse1(t *testing.T, s string, proto wire.ProtocolID) []Proposal {
	t.Helper()
	ps, err := ParseProposals(s, proto)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// numbered numbers proposals as a received SA payload does.
func numbered(ps []Proposal) []Proposal {
	for i := range ps {
		ps[i].Number = uint8(i + 1)
	}
	return ps
}

func TestSelect(t *testing.T) {
	ike, esp := wire.ProtocolIKE, wire.ProtocolESP
	for _, c := range []struct {
		name                 string
		proto                wire.ProtocolID
		configured, received string
		preferConfigured     bool
		want                 string // "" for no match
		number               uint8
	}{
		{"configured order", ike, "aes128-sha256-ecp256, aes256gcm16-prfsha384-ecp384", "aes256gcm16-prfsha384-ecp384, aes128-sha256-ecp256", true,
			"IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/ECP_256", 2},
		{"received order", ike, "aes128-sha256-ecp256, aes256gcm16-prfsha384-ecp384", "aes256gcm16-prfsha384-ecp384, aes128-sha256-ecp256", false,
			"IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384", 1},
		{"algorithms in configured order", ike, "aes128-aes256-sha256-sha1-ecp256-modp2048", "aes256-aes128-sha1-sha256-modp2048-ecp256", true,
			"IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/ECP_256", 1},
		{"algorithms in received order", ike, "aes128-aes256-sha256-sha1-ecp256-modp2048", "aes256-aes128-sha1-sha256-modp2048-ecp256", false,
			"IKE:AES_CBC_256/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_2048", 1},
		{"key length differs", ike, "aes128-sha256-ecp256", "aes256-sha256-ecp256", true, "", 0},
		{"PRF differs", ike, "aes128-sha256-ecp256", "aes128-sha256-prfsha1-ecp256", true, "", 0},
		{"group differs", ike, "aes128-sha256-ecp256", "aes128-sha256-ecp384", true, "", 0},
		{"AEAD", ike, "aes256gcm16-aes128gcm16-prfsha256-x25519", "aes128gcm16-prfsha256-prfsha384-x25519-ecp256", true,
			"IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE_25519", 1},
		{"legacy when configured", ike, "3des-sha1-modp1024", "3des-sha1-modp1024", true, "IKE:3DES_CBC/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024", 1},
		{"legacy not in defaults", ike, "default", "3des-sha1-modp1024, aes128-sha1-modp1024", true, "", 0},
		{"ESP AEAD", esp, "aes128gcm16, aes256gcm16", "aes256gcm16-aes128gcm16", true, "ESP:AES_GCM_16_128/NO_EXT_SEQ", 1},
		// The peer's only proposal matches our first one, whose only
		// cipher is then chosen even in the peer's order.
		{"ESP AEAD peer proposal", esp, "aes128gcm16, aes256gcm16", "aes256gcm16-aes128gcm16", false, "ESP:AES_GCM_16_128/NO_EXT_SEQ", 1},
		{"ESP AEAD peer order", esp, "aes128gcm16-aes256gcm16", "aes256gcm16-aes128gcm16", false, "ESP:AES_GCM_16_256/NO_EXT_SEQ", 1},
		// RFC 7296 Section 3.3.3 and strongSwan: PFS must agree unless
		// a side offers NONE.
		{"PFS required by peer", esp, "aes128gcm16", "aes128gcm16-modp2048", true, "", 0},
		{"PFS optional for peer", esp, "aes128gcm16", "aes128gcm16-modp2048-none", true, "ESP:AES_GCM_16_128/NO_EXT_SEQ", 1},
		{"PFS required by us", esp, "aes128gcm16-modp2048", "aes128gcm16", true, "", 0},
		{"PFS optional for us", esp, "aes128gcm16-modp2048-none", "aes128gcm16", true, "ESP:AES_GCM_16_128/NO_EXT_SEQ", 1},
		{"PFS agreed", esp, "aes128gcm16-modp2048-none", "aes128gcm16-ecp256-modp2048", true, "ESP:AES_GCM_16_128/MODP_2048/NO_EXT_SEQ", 1},
		{"PFS none preferred", esp, "aes128gcm16-none-modp2048", "aes128gcm16-modp2048-none", true, "ESP:AES_GCM_16_128/NO_EXT_SEQ", 1},
		{"ESN differs", esp, "aes128gcm16", "aes128gcm16-esn", true, "", 0},
		{"ESN either", esp, "aes128gcm16-esn-noesn", "aes128gcm16-noesn-esn", false, "ESP:AES_GCM_16_128/NO_EXT_SEQ", 1},
		{"ESP classic", esp, "aes256-sha256-sha1", "aes256-sha1", true, "ESP:AES_CBC_256/HMAC_SHA1_96/NO_EXT_SEQ", 1},
	} {
		cfg := parse1(t, c.configured, c.proto)
		rcv := numbered(parse1(t, c.received, c.proto))
		got, ok := Select(cfg, rcv, c.preferConfigured)
		if c.want == "" {
			if ok {
				t.Errorf("%s: selected %s, want none", c.name, got)
			}
			continue
		}
		if !ok || got.String() != c.want || got.Number != c.number {
			t.Errorf("%s: selected %s #%d (%v), want %s #%d", c.name, got, got.Number, ok, c.want, c.number)
		}
	}
}

// strongSwanDefaultIKE builds the SA payload of strongSwan 5.9's default
// IKE proposals as sent by charon with its usual plugins (interop README:
// AES-CBC/CTR, Camellia, 3DES, SHA2/SHA1/XCBC/CMAC, Brainpool, Curve448 and
// big MODP groups that this package does not implement included).
func strongSwanDefaultIKE() *wire.SA {
	kl := func(bits uint16) []wire.Attribute {
		return []wire.Attribute{{Type: wire.AttributeKeyLength, TV: true, Value: bits}}
	}
	tr := func(t wire.TransformType, id uint16, attrs ...wire.Attribute) wire.Transform {
		return wire.Transform{Type: t, ID: id, Attributes: attrs}
	}
	var prfKE []wire.Transform
	for _, id := range []wire.PRFID{wire.PRFHMACSHA2_256, wire.PRFHMACSHA2_384, wire.PRFHMACSHA2_512, wire.PRFAES128XCBC, wire.PRFAES128CMAC, wire.PRFHMACSHA1} {
		prfKE = append(prfKE, tr(wire.TransformPRF, uint16(id)))
	}
	for _, g := range []wire.DHGroup{wire.DHGroupCurve25519, wire.DHGroupECP256, wire.DHGroupECP384, wire.DHGroupECP521,
		wire.DHGroupBrainpoolP256, wire.DHGroupBrainpoolP384, wire.DHGroupBrainpoolP512, wire.DHGroupCurve448,
		wire.DHGroupMODP3072, wire.DHGroupMODP4096, wire.DHGroupMODP6144, wire.DHGroupMODP8192, wire.DHGroupMODP2048} {
		prfKE = append(prfKE, tr(wire.TransformKE, uint16(g)))
	}
	var classic, aead []wire.Transform
	for _, id := range []wire.EncrID{wire.EncrAESCBC, wire.EncrAESCTR, wire.EncrCamelliaCBC, wire.EncrCamelliaCTR} {
		for _, bits := range aesKeyBits {
			classic = append(classic, tr(wire.TransformEncr, uint16(id), kl(bits)...))
		}
	}
	classic = append(classic, tr(wire.TransformEncr, uint16(wire.Encr3DES)))
	for _, id := range []wire.IntegID{wire.IntegHMACSHA2_256_128, wire.IntegHMACSHA2_384_192, wire.IntegHMACSHA2_512_256, wire.IntegAESXCBC_96, wire.IntegAESCMAC_96, wire.IntegHMACSHA1_96} {
		classic = append(classic, tr(wire.TransformInteg, uint16(id)))
	}
	for _, id := range []wire.EncrID{wire.EncrAESGCM16, wire.EncrAESCCM16, wire.EncrAESGCM12, wire.EncrAESGCM8} {
		for _, bits := range aesKeyBits {
			aead = append(aead, tr(wire.TransformEncr, uint16(id), kl(bits)...))
		}
		if id == wire.EncrAESCCM16 {
			aead = append(aead, tr(wire.TransformEncr, uint16(wire.EncrChaCha20Poly1305)))
		}
	}
	return &wire.SA{Proposals: []wire.Proposal{
		{Number: 1, Protocol: wire.ProtocolIKE, Transforms: append(classic, prfKE...)},
		{Number: 2, Protocol: wire.ProtocolIKE, Transforms: append(aead, prfKE...)},
	}}
}

// TestSelectStrongSwanDefault selects against strongSwan's default IKE
// proposals: with our defaults on both sides of the comparison the result
// is the one the interop README reports between two strongSwans.
func TestSelectStrongSwanDefault(t *testing.T) {
	rcv := ProposalsFromSA(strongSwanDefaultIKE())
	got, ok := Select(DefaultIKEProposals(), rcv, true)
	if want := "IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/CURVE_25519"; !ok || got.String() != want || got.Number != 1 {
		t.Fatalf("selected %s #%d, want %s #1", got, got.Number, want)
	}
	got, ok = Select(parse1(t, "aes256gcm16-prfsha384-ecp384", wire.ProtocolIKE), rcv, true)
	if want := "IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384"; !ok || got.String() != want || got.Number != 2 {
		t.Fatalf("selected %s #%d, want %s #2", got, got.Number, want)
	}
	// The received list prints unknown algorithms by their names.
	s := rcv[0].String()
	for _, name := range []string{"AES_CTR_128", "CAMELLIA_CBC_256", "AES_XCBC_96", "PRF_AES128_XCBC", "ECP_256_BP", "CURVE_448", "MODP_8192"} {
		if !strings.Contains(s, name) {
			t.Errorf("received proposal %s lacks %s", s, name)
		}
	}
}

func TestSelectResult(t *testing.T) {
	cfg := parse1(t, "aes128gcm16-modp2048-none", wire.ProtocolESP)
	rcv := numbered(parse1(t, "aes256gcm16, aes128gcm16-modp2048", wire.ProtocolESP))
	rcv[1].SPI = []byte{1, 2, 3, 4}
	got, ok := Select(cfg, rcv, true)
	if !ok || got.Number != 2 || string(got.SPI) != "\x01\x02\x03\x04" || got.Group() != GroupMODP2048 {
		t.Fatalf("selected %s #%d SPI %x", got, got.Number, got.SPI)
	}
	// The result shares nothing with the arguments.
	got.SPI[0], got.Encr[0].ID = 9, 99
	if rcv[1].SPI[0] != 1 || rcv[1].Encr[0].ID != uint16(wire.EncrAESGCM16) || cfg[0].Encr[0].ID != uint16(wire.EncrAESGCM16) {
		t.Fatal("Select result aliases its arguments")
	}
	// Protocol mismatch.
	if _, ok := Select(parse1(t, "aes128gcm16-prfsha256-ecp256", wire.ProtocolIKE), rcv, true); ok {
		t.Fatal("IKE proposal selected for ESP")
	}
}

// TestSelectStrictLenient shows the strict default and the lenient mode.
func TestSelectStrictLenient(t *testing.T) {
	cfg := parse1(t, "aes256gcm16-prfsha384-ecp384", wire.ProtocolIKE)
	rcv := numbered(parse1(t, "aes128-sha256-modp2048", wire.ProtocolIKE))
	if p, ok := Select(cfg, rcv, true); ok {
		t.Fatalf("strict mode selected %s", p)
	}
	p, ok := Select(AppendDefaults(cfg, wire.ProtocolIKE), rcv, true)
	if !ok || p.String() != "IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048" {
		t.Fatalf("lenient mode selected %s, %v", p, ok)
	}
	if n := len(AppendDefaults(cfg, wire.ProtocolESP)); n != 3 {
		t.Fatalf("AppendDefaults: %d proposals", n)
	}
}

// TestFromWire checks the conversion of received proposals: the Key Length
// attribute, unknown attributes (RFC 7296 Section 3.3.6), RFC 9370
// additional key exchanges and unknown transform types.
func TestFromWire(t *testing.T) {
	cfg := parse1(t, "aes128gcm16-prfsha256-x25519", wire.ProtocolIKE)
	base := func() wire.Proposal {
		return wire.Proposal{Number: 1, Protocol: wire.ProtocolIKE, Transforms: []wire.Transform{
			{Type: wire.TransformEncr, ID: uint16(wire.EncrAESGCM16), Attributes: []wire.Attribute{{Type: wire.AttributeKeyLength, TV: true, Value: 128}}},
			{Type: wire.TransformPRF, ID: uint16(wire.PRFHMACSHA2_256)},
			{Type: wire.TransformKE, ID: uint16(wire.DHGroupCurve25519)},
		}}
	}
	sel := func(wp wire.Proposal) bool {
		_, ok := Select(cfg, []Proposal{ProposalFromWire(wp)}, true)
		return ok
	}
	if !sel(base()) {
		t.Fatal("plain proposal not selected")
	}
	wp := base()
	wp.Transforms = append(wp.Transforms, wire.Transform{Type: wire.TransformInteg, ID: 0})
	if !sel(wp) {
		t.Error("AEAD with INTEG NONE not selected")
	}
	wp = base()
	wp.Transforms[0].Attributes = append(wp.Transforms[0].Attributes, wire.Attribute{Type: 17, TV: true, Value: 1})
	if sel(wp) {
		t.Error("transform with an unknown attribute selected")
	}
	wp = base()
	wp.Transforms = append(wp.Transforms, wire.Transform{Type: wire.TransformAddKE1, ID: 36}, wire.Transform{Type: wire.TransformAddKE1, ID: 0})
	if !sel(wp) {
		t.Error("proposal with an optional additional key exchange not selected")
	}
	wp = base()
	wp.Transforms = append(wp.Transforms, wire.Transform{Type: wire.TransformAddKE1, ID: 36})
	if sel(wp) {
		t.Error("proposal with a mandatory additional key exchange selected")
	}
	wp = base()
	wp.Transforms = append(wp.Transforms, wire.Transform{Type: 200, ID: 1})
	if p := ProposalFromWire(wp); sel(wp) || !strings.Contains(p.String(), "UNKNOWN_200_1") {
		t.Errorf("proposal with an unknown transform type: %s", p)
	}
}

// TestWireRoundTrip sends proposals through the wire codec and back.
func TestWireRoundTrip(t *testing.T) {
	for _, c := range []struct {
		s     string
		proto wire.ProtocolID
		spi   []byte
	}{
		{"default, aes256gcm16-prfsha384-ecp384, 3des-sha1-modp1024", wire.ProtocolIKE, nil},
		{"aes128-sha256-x25519", wire.ProtocolIKE, []byte{1, 2, 3, 4, 5, 6, 7, 8}},
		{"default, aes128-sha1-modp2048-none-esn", wire.ProtocolESP, []byte{0xc0, 0, 0, 1}},
	} {
		ps := parse1(t, c.s, c.proto)
		for i := range ps {
			ps[i].SPI = c.spi
		}
		msg := &wire.Message{Header: wire.Header{InitiatorSPI: 1, Exchange: wire.ExchangeIKESAInit, Flags: wire.FlagInitiator}, Payloads: []wire.Payload{SAPayload(ps)}}
		b, err := msg.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		m, err := wire.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		sa, ok := wire.Find[*wire.SA](m.Payloads)
		if !ok {
			t.Fatal("no SA payload")
		}
		// Key Length is a TV attribute on AES only.
		for _, wp := range sa.Proposals {
			for _, wt := range wp.Transforms {
				bits, has := wt.KeyLength()
				isAES := wt.Type == wire.TransformEncr && wt.ID != uint16(wire.EncrChaCha20Poly1305) && wt.ID != uint16(wire.Encr3DES)
				if has != isAES || (has && bits != 128 && bits != 192 && bits != 256) {
					t.Errorf("%s: transform %v: key length %d %v", c.s, wt, bits, has)
				}
			}
		}
		back := ProposalsFromSA(sa)
		for i := range back {
			if back[i].Number != uint8(i+1) {
				t.Errorf("proposal %d numbered %d", i+1, back[i].Number)
			}
			back[i].Number = 0
		}
		if !reflect.DeepEqual(back, ps) {
			t.Errorf("%s:\n got %v\nwant %v", c.s, back, ps)
		}
	}
}

func TestLogLines(t *testing.T) {
	cfg := parse1(t, "aes128-sha256-x25519, aes256gcm16-prfsha256-ecp256", wire.ProtocolIKE)
	rcv := numbered(parse1(t, "aes256gcm16-prfsha256-ecp256", wire.ProtocolIKE))
	sel, ok := Select(cfg, rcv, true)
	want := []string{
		"received proposals: IKE:AES_GCM_16_256/PRF_HMAC_SHA2_256/ECP_256",
		"configured proposals: IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/CURVE_25519, IKE:AES_GCM_16_256/PRF_HMAC_SHA2_256/ECP_256",
		"selected proposal: IKE:AES_GCM_16_256/PRF_HMAC_SHA2_256/ECP_256",
	}
	if got := LogLines(rcv, cfg, sel, ok); !reflect.DeepEqual(got, want) {
		t.Errorf("LogLines:\n got %q\nwant %q", got, want)
	}
	if got := LogLines(rcv, cfg[:1], Proposal{}, false); got[2] != "no acceptable proposal found" {
		t.Errorf("LogLines without a match: %q", got)
	}
}

func TestPromoteGroup(t *testing.T) {
	ps := parse1(t, "aes128-sha256-x25519-ecp256-modp2048, aes128gcm16-prfsha256-x25519", wire.ProtocolIKE)
	got := PromoteGroup(ps, GroupMODP2048)
	if got[0].Group() != GroupMODP2048 || got[0].String() != "IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048/CURVE_25519/ECP_256" {
		t.Errorf("promoted: %s", got[0])
	}
	if got[1].Group() != GroupCurve25519 || ps[0].Group() != GroupCurve25519 {
		t.Error("PromoteGroup changed a proposal without the group, or its argument")
	}
	if !ps[0].Has(wire.TransformKE, uint16(GroupECP256)) || ps[0].Has(wire.TransformKE, uint16(GroupECP384)) {
		t.Error("Has")
	}
}

func TestDefaultsAreCopies(t *testing.T) {
	d := DefaultIKEProposals()
	d[0].Encr[0].ID = 99
	if DefaultIKEProposals()[0].Encr[0].ID == 99 {
		t.Fatal("DefaultIKEProposals shares its slices")
	}
	for _, p := range append(DefaultIKEProposals(), DefaultESPProposals()...) {
		for _, tr := range p.all() {
			if transformInfos[transformKey{tr.Type, tr.ID}].legacy {
				t.Errorf("default proposal %s has legacy %s", p, tr)
			}
		}
	}
}

// FuzzParseProposals: ParseProposals must not panic, and what it accepts
// must come back unchanged through both of its written forms.
func FuzzParseProposals(f *testing.F) {
	for _, s := range []string{
		"aes256gcm16-prfsha384-ecp384", "aes128-aes256-sha256-sha1-modp2048-ecp256", "default",
		"chacha20poly1305-prfsha256-x25519", "aes256-sha256-modp2048-none-esn-noesn, aes128gcm16",
		"IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/CURVE_25519", "ESP:AES_GCM_16_256/NO_EXT_SEQ",
		"aes256gcm16-sha384-ecp384", ",,", "aes--sha", ":", "null-sha1",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, isIKE bool) {
		proto := wire.ProtocolESP
		if isIKE {
			proto = wire.ProtocolIKE
		}
		ps, err := ParseProposals(s, proto)
		if err != nil {
			var pe *ProposalError
			if !errors.As(err, &pe) {
				t.Fatalf("%q: error %v is not a ProposalError", s, err)
			}
			return
		}
		if len(ps) == 0 {
			t.Fatalf("%q: no proposals and no error", s)
		}
		checkReparse(t, ps, proto)
		// A parsed proposal is selectable against itself.
		if _, ok := Select(ps, ps, true); !ok {
			t.Fatalf("%q: does not select itself", s)
		}
	})
}
