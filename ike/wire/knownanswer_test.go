package wire

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"errors"
	"math/big"
	"reflect"
	"slices"
	"testing"
)

// Known answers. RFC 7296 has no test vectors; these are messages from
// other implementations and documents:
//
//   - RFC 7634 Appendix B: an INFORMATIONAL message encrypted with
//     ChaCha20-Poly1305, as reproduced in strongSwan's
//     src/libcharon/tests/suites/test_message_chapoly.c.
//   - Wireshark's test/captures/ikev2-decrypt-aes128ccm12.pcap, as
//     reproduced in scapy's test/contrib/ikev2.uts, with the keys of
//     Wireshark's test/config/ikev2_decryption_table.tmpl: IKE_SA_INIT with
//     AES-CCM-12, ECP-256 and RFC 7427 hash algorithms, and an encrypted
//     INFORMATIONAL exchange (Delete IKE SA). The payload order and the
//     responder's trailing N(MULTIPLE_AUTH_SUPPORTED) are strongSwan 5's.
//   - The IKE_SA_INIT request of "Example 2" of Wireshark's SampleCaptures,
//     as reproduced in the tests of sawp (sawp-ike/tests).
//   - A complete IKE_SA_INIT and IKE_AUTH exchange recorded against a real
//     responder (AES-CBC-128, HMAC-SHA1-96, MODP-1024, PSK "AAAA") in the
//     tests of RUB-NDS/IPsec-StateMachineExtractor
//     (ike/v2/IKEv2HandshakeIT.java), with the initiator's DH private key,
//     and its key derivation test (IKEv2HandshakeSessionSecretsTest.java).

const (
	// RFC 7634 Appendix B.
	rfc7634Message = "" +
		"c0c1c2c3c4c5c6c7d0d1d2d3d4d5d6d7" + "2e202500000000090000004529000029" +
		"1011121314151617" + "610394701f8d017f7c129248896b71bfe25236efd7cdc67066906315b2"
	rfc7634Key = "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f" + "a0a1a2a3"

	// Wireshark ikev2_decryption_table.tmpl, SPIs ea684d21597afd36 and
	// d9fe2ab22dac23ac: SK_ei and SK_er, each an AES-128 key and a
	// 3-octet CCM salt.
	wsSKei = "be83fe15f6a9976941870830fe26c014" + "b863b3"
	wsSKer = "79e0f4476861a76e64329e787b1c4ff3" + "8d732f"

	// IPsec-StateMachineExtractor: the initiator's MODP-1024 private value
	// (from its PKCS #8 key) and the group's prime (RFC 2409 Section 6.2).
	rubPrivate = "ca6b37206e30a93456570623c38627769c980d8cd011c4dffff39b1684757083b733ddaa7c47536edcaf1e2271382c8b" +
		"db1d114d2e7a4c6165e685f903b6179115b1b7a1b0c8055511004c0364c58bfef2e1e2e1d22cc5ff71af0664c657e22f" +
		"51bd4f5cdae5ceb5512a23261065bc689ae407188259abd04814e6667a2a2f82"
	modp1024 = "ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74020bbea63b139b22514a08798e3404dd" +
		"ef9519b3cd3a431b302b0a6df25f14374fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b0bff5cb6f406b7ed" +
		"ee386bfb5a899fa5ae9f24117c4b1fe649286651ece65381ffffffffffffffff"
	rubPSK = "AAAA"
)

const (
	wsSAInitRequest = "" +
		"ea684d21597afd3600000000000000002120220800000000000000f82200002800000024010100030300000c0100000f" +
		"800e008003000008020000050000000804000013280000480013000032c6dffe5c43b0d5811f7eaaa84c9f78bf99b906" +
		"9c2b072e0b82f46bf6f66dd45f97ef89ee285fd5df527a44776b529fc9d8a909d842a6fb59b96a095395617229000024" +
		"b655462d6f4b66f872ccd7f0f4b4857732921339cbaa5237edba244f262b68232900001c00004004949c9db5739d75a9" +
		"74a49c184618369b34b7f9422900001c000040053e721b46be07d53111425d7f80d2c6e220c6072e000000100000402f" +
		"0001000200030004"
	wsSAInitResponse = "" +
		"ea684d21597afd36d9fe2ab22dac23ac2120222000000000000000f02200002800000024010100030300000c0100000f" +
		"800e00800300000802000005000000080400001328000048001300002c66beadb6ce8535d6218cb401aa5a1eb4035b97" +
		"caddaf36374a979c0446b8800506bf9d6f950952326bf3011913da93bb8e40f815376be1a06801c0a63e3b5429000024" +
		"9e5d267379e681e7d38d81c710d383401de7e3607b926d90a9958adcb52831aa2900001c000040047a0785273d592038" +
		"29a697550f31cbb94eb72b432900001c00004005c3e58a8cc9933ce0b78f2a50e8de80134e12ce310000000800004014"
	wsInfoRequest = "" +
		"ea684d21597afd36d9fe2ab22dac23ac2e202508000000020000003d2a000021cca0b35de5abc51c9987cbf1f5ecff21" +
		"0eb767cdb85179383b964d78e2"
	wsInfoResponse = "" +
		"ea684d21597afd36d9fe2ab22dac23ac2e202520000000020000003500000019a80c957bac15c3f8afdf315a81cc4b7c" +
		"40e8660d44"
	example2SAInitRequest = "" +
		"89922c915f35570e000000000000000021202208000000000000012c2200002800000024010100030300000c01000014" +
		"800e0100030000080200000500000008040000132800004800130000db253178440ce776a794133cb8b69e5eb0747335" +
		"36570c64d7b630549c899c0712d828b37168500885e051024578afc75c101f73b8943cad62d74a30f2be1fca2b00002c" +
		"09cb538b2c3dbd4d0bb0eec8d318cb801a9b4715b207828d9b5ff1f4ec64ed58863707bcf14ccf052b000014eb4c1b78" +
		"8afd4a9cb7730a68d56c53212b000014c61baca1f1a60cc108000000000000002b0000184048b7d56ebce88525e7de7f" +
		"00d6c2d3c0000000290000144048b7d56ebce88525e7de7f00d6c2d3290000080000402e290000080000401600000010" +
		"0000402f0001000200030004"
	rubM1 = "" +
		"a150f12f598f9a0e00000000000000002120220800000000000000e8220000300000002c010100040300000c0100000c" +
		"800e00800300000802000002030000080300000200000008040000022800008800020000fb7f97f9f4eca31f7ac9ba05" +
		"16f8e616977bf606ab295295e6615ef91e8a15b4ad18940a448248ddf31c95415e5525050ee8803a084a0707733f8833" +
		"eb9c5cdf1ad55062f06c234856d7a580ba883bc8d7a864175708d59bec0c3bcd21acc495ca5b311167be6245222c1684" +
		"17d4a613b3ca04f961d7335ad13073e2279f542e00000014828755ecab3d7b8c1a20126dbcb078b3"
	rubM2 = "" +
		"a150f12f598f9a0e9fb14c9c853ad1b2212022200000000000000100220000300000002c010100040300000c0100000c" +
		"800e00800300000803000002030000080200000200000008040000022800008800020000c581b93b78222b7ed4b70cf3" +
		"6f0c1016d010695beedee8ceb55ead79380f20b3692ee6ca7ea33a4a89b0976bed9b829f92a81d2d68a07992b52f2bf7" +
		"f58968b3b064e9ba588259766db1dcf266f6563a81b364853d916ec3d22d4e9391ece402fb68b5cbd6aa8297cf747116" +
		"a2bdcfb6029c9a192928062925269bcd50d3d64f29000024f03a7ef00422adb77cecd38214ee50bb9cde6519639c3faa" +
		"63d3345a1b82e1f10000000800004014"
	rubM3 = "" +
		"a150f12f598f9a0e9fb14c9c853ad1b22e20230800000001000000cc230000b02bb84e27d979e2342446d5d9cff1bafb" +
		"136607c998c9fc1ff199ff1b2c38dc4eef44ad7712a9174945083b0862774f79c5a92ae2889823bca2cf7738e1d977b2" +
		"d34021479323988dcd48d40959678a364de324688aadde6be417698414a0ac0442759762ee2a34570efd79a0425e1a8a" +
		"e261073b587ee4a5a719ea6bc87d53799da221bbebde2048fdcc4d9ca26f468441916be99487517d67e96902b917b6af" +
		"dccb478adbfb818dd90760f5"
	rubM4 = "" +
		"a150f12f598f9a0e9fb14c9c853ad1b22e20232000000001000000cc240000b0a7188784512abc1324e1afb326db055a" +
		"72e6a474e7caea11918feed8da60ea76b272dd6093ed6424189dc57e7e961dc5bee67c68594b816e48ec30b253287bb9" +
		"ac1f2fac67b8ece47161f56662b0eed973e219466491358ea935669dd1ee3ce587e6e2e4dfff227478ef1a36a9f812a6" +
		"8d191cfb919a60b2e071f49d904cc1092dbeadee318782d1097a667ad712d95c8dc00edf209897ff39c077d3f7550f4c" +
		"93451af1126aee3a391eed81"
)

// fixedRand is an io.Reader returning given octets, for deterministic IVs
// and padding.
type fixedRand struct{ b []byte }

func (r *fixedRand) Read(p []byte) (int, error) {
	if len(r.b) < len(p) {
		return 0, errors.New("fixedRand exhausted")
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

func mustParse(t *testing.T, s string) *Message {
	t.Helper()
	m, err := Parse(unhex(t, s))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

// checkReencode checks that marshalling a parsed message gives its octets.
func checkReencode(t *testing.T, m *Message) {
	t.Helper()
	b, err := m.Marshal()
	if err != nil || !bytes.Equal(b, m.Raw) {
		t.Errorf("Marshal = %x, %v\nwant %x", b, err, m.Raw)
	}
}

func TestKnownAnswerRFC7634(t *testing.T) {
	c := newChaCha(t, unhex(t, rfc7634Key))
	h := Header{
		InitiatorSPI: 0xc0c1c2c3c4c5c6c7,
		ResponderSPI: 0xd0d1d2d3d4d5d6d7,
		Exchange:     ExchangeInformational,
		MessageID:    9,
	}
	inner := []Payload{&Notify{Kind: NotifySetWindowSize, Data: []byte{0, 0, 0, 10}}}
	got, err := EncryptMessage(h, inner, c, &fixedRand{unhex(t, "1011121314151617")})
	if err != nil {
		t.Fatal(err)
	}
	want := unhex(t, rfc7634Message)
	if !bytes.Equal(got, want) {
		t.Fatalf("EncryptMessage =\n%x\nwant\n%x", got, want)
	}
	m := mustParse(t, rfc7634Message)
	ps, err := DecryptMessage(m, c)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ps, inner) {
		t.Errorf("DecryptMessage = %v, want %v", FormatPayloads(ps), FormatPayloads(inner))
	}
	if err := CheckRules(m.Header.Exchange, m.Header.IsResponse(), true, ps); err != nil {
		t.Error(err)
	}
}

func TestKnownAnswerWiresharkCCM(t *testing.T) {
	// IKE_SA_INIT request.
	m := mustParse(t, wsSAInitRequest)
	checkReencode(t, m)
	h := m.Header
	if h.InitiatorSPI != 0xea684d21597afd36 || h.ResponderSPI != 0 || h.Exchange != ExchangeIKESAInit ||
		h.Flags != FlagInitiator || h.MessageID != 0 || h.Length != 248 || h.MajorVersion != 2 || h.NextPayload != PayloadSA {
		t.Errorf("header = %+v", h)
	}
	if got, want := m.String(), "IKE_SA_INIT request 0 [ SA KE No N(NAT_DETECTION_SOURCE_IP) "+
		"N(NAT_DETECTION_DESTINATION_IP) N(SIGNATURE_HASH_ALGORITHMS) ]"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	wantSA := &SA{Proposals: []Proposal{{Number: 1, Protocol: ProtocolIKE, Transforms: []Transform{
		{Type: TransformEncr, ID: uint16(EncrAESCCM12), Attributes: []Attribute{{Type: AttributeKeyLength, TV: true, Value: 128}}},
		{Type: TransformPRF, ID: uint16(PRFHMACSHA2_256)},
		{Type: TransformKE, ID: uint16(DHGroupECP256)},
	}}}}
	if !reflect.DeepEqual(m.Payloads[0], wantSA) {
		t.Errorf("SA = %+v", m.Payloads[0])
	}
	ke := m.Payloads[1].(*KE)
	if ke.Group != DHGroupECP256 || len(ke.Data) != 64 || !bytes.HasPrefix(ke.Data, unhex(t, "32c6dffe5c43b0d5")) {
		t.Errorf("KE = %+v", ke)
	}
	if no := m.Payloads[2].(*Nonce); !bytes.Equal(no.Data, unhex(t, "b655462d6f4b66f872ccd7f0f4b4857732921339cbaa5237edba244f262b6823")) {
		t.Errorf("Nonce = %x", no.Data)
	}
	natd := m.Payloads[3].(*Notify)
	if natd.Protocol != ProtocolNone || natd.SPI != nil || !bytes.Equal(natd.Data, unhex(t, "949c9db5739d75a974a49c184618369b34b7f942")) {
		t.Errorf("NATD_S = %+v", natd)
	}
	if n, ok := FindNotify(m.Payloads, NotifySignatureHashAlgorithms); !ok ||
		!reflect.DeepEqual(n.SignatureHashAlgorithms(), []uint16{1, 2, 3, 4}) {
		t.Errorf("HASH_ALG = %+v", n)
	}
	if err := CheckRules(ExchangeIKESAInit, false, false, m.Payloads); err != nil {
		t.Error(err)
	}

	// IKE_SA_INIT response.
	m = mustParse(t, wsSAInitResponse)
	checkReencode(t, m)
	if m.Header.ResponderSPI != 0xd9fe2ab22dac23ac || m.Header.Flags != FlagResponse {
		t.Errorf("header = %+v", m.Header)
	}
	if got, want := m.String(), "IKE_SA_INIT response 0 [ SA KE No N(NAT_DETECTION_SOURCE_IP) "+
		"N(NAT_DETECTION_DESTINATION_IP) N(MULTIPLE_AUTH_SUPPORTED) ]"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if !reflect.DeepEqual(m.Payloads[0], wantSA) {
		t.Errorf("SA = %+v", m.Payloads[0])
	}
	if ke := m.Payloads[1].(*KE); !bytes.HasPrefix(ke.Data, []byte(",f\xbe\xad")) {
		t.Errorf("KE = %x", ke.Data)
	}
	if err := CheckRules(ExchangeIKESAInit, true, false, m.Payloads); err != nil {
		t.Error(err)
	}

	// INFORMATIONAL request: Delete the IKE SA, encrypted with SK_ei.
	ei, er := newCCM(t, unhex(t, wsSKei), 12), newCCM(t, unhex(t, wsSKer), 12)
	m = mustParse(t, wsInfoRequest)
	checkReencode(t, m)
	if m.String() != "INFORMATIONAL request 2 [ SK ]" {
		t.Errorf("String = %q", m.String())
	}
	if _, err := DecryptMessage(m, er); !errors.Is(err, ErrIntegrity) {
		t.Errorf("decrypting with the wrong key: %v", err)
	}
	ps, err := DecryptMessage(m, ei)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ps, []Payload{&Delete{Protocol: ProtocolIKE}}) {
		t.Errorf("inner = %s", FormatPayloads(ps))
	}
	if err := CheckRules(ExchangeInformational, false, true, ps); err != nil {
		t.Error(err)
	}
	iv := m.Payloads[0].(*SK).Body[:8]
	out, err := EncryptMessage(m.Header, ps, ei, &fixedRand{iv})
	if err != nil || !bytes.Equal(out, m.Raw) {
		t.Errorf("re-encrypted request = %x, %v\nwant %x", out, err, m.Raw)
	}

	// INFORMATIONAL response: empty, encrypted with SK_er.
	m = mustParse(t, wsInfoResponse)
	ps, err = DecryptMessage(m, er)
	if err != nil || len(ps) != 0 {
		t.Fatalf("response = %v, %v", ps, err)
	}
	if err := CheckRules(ExchangeInformational, true, true, ps); err != nil {
		t.Error(err)
	}
	iv = m.Payloads[0].(*SK).Body[:8]
	out, err = EncryptMessage(m.Header, nil, er, &fixedRand{iv})
	if err != nil || !bytes.Equal(out, m.Raw) {
		t.Errorf("re-encrypted response = %x, %v\nwant %x", out, err, m.Raw)
	}
}

func TestKnownAnswerWiresharkExample2(t *testing.T) {
	m := mustParse(t, example2SAInitRequest)
	checkReencode(t, m)
	if m.Header.InitiatorSPI != 0x89922c915f35570e || m.Header.Length != 300 || m.Header.Flags != FlagInitiator {
		t.Errorf("header = %+v", m.Header)
	}
	if got, want := m.String(), "IKE_SA_INIT request 0 [ SA KE No V V V V N(IKEV2_FRAGMENTATION_SUPPORTED) "+
		"N(REDIRECT_SUPPORTED) N(SIGNATURE_HASH_ALGORITHMS) ]"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	sa := m.Payloads[0].(*SA)
	tr := sa.Proposals[0].Transforms
	if kl, _ := tr[0].KeyLength(); len(tr) != 3 || EncrID(tr[0].ID) != EncrAESGCM16 || kl != 256 ||
		PRFID(tr[1].ID) != PRFHMACSHA2_256 || DHGroup(tr[2].ID) != DHGroupECP256 {
		t.Errorf("transforms = %+v", tr)
	}
	if no := m.Payloads[2].(*Nonce); len(no.Data) != 40 {
		t.Errorf("nonce of %d octets", len(no.Data))
	}
	vids := [][]byte{
		unhex(t, "eb4c1b788afd4a9cb7730a68d56c5321"),
		unhex(t, "c61baca1f1a60cc10800000000000000"),
		unhex(t, "4048b7d56ebce88525e7de7f00d6c2d3c0000000"),
		unhex(t, "4048b7d56ebce88525e7de7f00d6c2d3"),
	}
	for i, want := range vids {
		if v := m.Payloads[3+i].(*VendorID); !bytes.Equal(v.Data, want) {
			t.Errorf("vendor ID %d = %x, want %x", i+1, v.Data, want)
		}
	}
	if err := CheckRules(ExchangeIKESAInit, false, false, m.Payloads); err != nil {
		t.Error(err)
	}
}

// hmacSHA1 is PRF_HMAC_SHA1.
func hmacSHA1(key, data []byte) []byte {
	m := hmac.New(sha1.New, key)
	m.Write(data)
	return m.Sum(nil)
}

// prfPlus is prf+ of RFC 7296 Section 2.13.
func prfPlus(key, seed []byte, n int) []byte {
	var out, t []byte
	for i := byte(1); len(out) < n; i++ {
		in := slices.Concat(t, seed, []byte{i})
		t = hmacSHA1(key, in)
		out = append(out, t...)
	}
	return out[:n]
}

type ikeKeys struct {
	skeyseed, d, ai, ar, ei, er, pi, pr []byte
}

// deriveKeys derives the keys of RFC 7296 Section 2.14 for HMAC-SHA1 as
// PRF and integrity algorithm and AES-128.
func deriveKeys(ni, nr, gir []byte, spii, spir uint64) ikeKeys {
	nonces := slices.Concat(ni, nr)
	skeyseed := hmacSHA1(nonces, gir)
	var spis [16]byte
	for i := range 8 {
		spis[i] = byte(spii >> (56 - 8*i))
		spis[8+i] = byte(spir >> (56 - 8*i))
	}
	km := prfPlus(skeyseed, slices.Concat(nonces, spis[:]), 20*3+16*2+20*2)
	cut := func(n int) []byte { b := km[:n]; km = km[n:]; return b }
	return ikeKeys{skeyseed: skeyseed, d: cut(20), ai: cut(20), ar: cut(20), ei: cut(16), er: cut(16), pi: cut(20), pr: cut(20)}
}

// TestKeyDerivationRUB checks the test's key derivation against
// IPsec-StateMachineExtractor's IKEv2HandshakeSessionSecretsTest, so that
// the recorded exchange below is decrypted with the right keys.
func TestKeyDerivationRUB(t *testing.T) {
	k := deriveKeys(
		unhex(t, "e762301bccfa1d6eddb38763b18a8477919490474f2c5cab79b98e3efd9a9db8"),
		unhex(t, "a917b901dee4be6f6d16751590593efd4b0925c7f7fd1f92212124e3ddbff363"),
		unhex(t, "86f307e06c76197cebac720d0bfe77084e10276312c00578cbc12d01fda2393fa7e482165e4277cb1a7ca924ed009823"+
			"c9a34ce1a3435ee3abfc8f2dc0c5089c089371f6b933c5e5478aef75ea98c87750b81d273c0f525cb8aa2bc65c4dd267"+
			"f529d563151a274f29b22bc0c59730a9cda0c255a2ed12616e42efa1ed2b093e"),
		0x63ff9cfe89d87d4d, 0xf5d983d823f8368e)
	for _, c := range []struct {
		name      string
		got, want []byte
	}{
		{"SKEYSEED", k.skeyseed, unhex(t, "74337bf3c908320f5df877c57d4e82b04d33778f")},
		{"SK_d", k.d, unhex(t, "5b2c8054e66dfc6aade3791225ad1922c213e0be")},
		{"SK_ai", k.ai, unhex(t, "7bfc0d2e7adb01053b678868706aa73afee8287d")},
		{"SK_ar", k.ar, unhex(t, "1441bd4d23dfe2d5fd72161f13112f807146e638")},
		{"SK_ei", k.ei, unhex(t, "331da949c7b71bf4e7da21a46479c6c2")},
		{"SK_er", k.er, unhex(t, "5250a02cd7150482df614fcfdbec850b")},
		{"SK_pi", k.pi, unhex(t, "15ff3616c546076e177a9bccebbe432b8a472b11")},
		{"SK_pr", k.pr, unhex(t, "2a5547f1ae6bcdcbf8a46a202c37d763148274f6")},
	} {
		if !bytes.Equal(c.got, c.want) {
			t.Errorf("%s = %x, want %x", c.name, c.got, c.want)
		}
	}
}

// TestKnownAnswerRecordedExchange parses, decrypts and re-encrypts a
// recorded IKE_SA_INIT and IKE_AUTH exchange, and verifies both AUTH
// payloads, which sign the IKE_SA_INIT messages as received (Raw) and the
// ID payload bodies (RFC 7296 Section 2.15).
func TestKnownAnswerRecordedExchange(t *testing.T) {
	m1, m2 := mustParse(t, rubM1), mustParse(t, rubM2)
	checkReencode(t, m1)
	checkReencode(t, m2)
	for _, m := range []*Message{m1, m2} {
		if err := CheckRules(m.Header.Exchange, m.Header.IsResponse(), false, m.Payloads); err != nil {
			t.Error(err)
		}
	}
	if got, want := m2.String(), "IKE_SA_INIT response 0 [ SA KE No N(MULTIPLE_AUTH_SUPPORTED) ]"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	ke1, _ := Find[*KE](m1.Payloads)
	ke2, _ := Find[*KE](m2.Payloads)
	ni, _ := Find[*Nonce](m1.Payloads)
	nr, _ := Find[*Nonce](m2.Payloads)
	if ke1.Group != DHGroupMODP1024 || ke2.Group != DHGroupMODP1024 || len(ni.Data) != 16 || len(nr.Data) != 32 {
		t.Fatalf("KE %v %v, nonces of %d and %d octets", ke1.Group, ke2.Group, len(ni.Data), len(nr.Data))
	}

	// The DH shared secret, after checking that the private value is the
	// one behind the initiator's KE payload.
	p := new(big.Int).SetBytes(unhex(t, modp1024))
	x := new(big.Int).SetBytes(unhex(t, rubPrivate))
	if gx := new(big.Int).Exp(big.NewInt(2), x, p); !bytes.Equal(gx.FillBytes(make([]byte, 128)), ke1.Data) {
		t.Fatalf("private value does not match KEi")
	}
	gir := new(big.Int).Exp(new(big.Int).SetBytes(ke2.Data), x, p).FillBytes(make([]byte, 128))
	k := deriveKeys(ni.Data, nr.Data, gir, m1.Header.InitiatorSPI, m2.Header.ResponderSPI)
	ci := newCBCHMAC(t, k.ei, k.ai, sha1.New, 12)
	cr := newCBCHMAC(t, k.er, k.ar, sha1.New, 12)
	prfPSK := hmacSHA1([]byte(rubPSK), []byte("Key Pad for IKEv2"))

	// IKE_AUTH request.
	m3 := mustParse(t, rubM3)
	checkReencode(t, m3)
	if _, err := DecryptMessage(m3, cr); !errors.Is(err, ErrIntegrity) {
		t.Errorf("decrypting with SK_er: %v", err)
	}
	inner, err := DecryptMessage(m3, ci)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := FormatPayloads(inner), "IDi AUTH SA TSi TSr"; got != want {
		t.Errorf("IKE_AUTH request = %q, want %q", got, want)
	}
	if err := CheckRules(ExchangeIKEAuth, false, true, inner); err != nil {
		t.Error(err)
	}
	idi := inner[0].(*ID)
	if idi.IDType != IDIPv4Addr || !bytes.Equal(idi.Data, []byte{10, 0, 3, 1}) {
		t.Errorf("IDi = %+v", idi)
	}
	sa := inner[2].(*SA)
	if prop := sa.Proposals[0]; prop.Protocol != ProtocolESP || !bytes.Equal(prop.SPI, unhex(t, "2a85e115")) {
		t.Errorf("SA = %+v", sa)
	}
	// RFC 7296 Section 2.15: AUTH = prf(prf(PSK, "Key Pad for IKEv2"),
	// RealMessage1 | NonceRData | prf(SK_pi, RestOfInitIDPayload)).
	auth := inner[1].(*Auth)
	signed := slices.Concat(m1.Raw, nr.Data, hmacSHA1(k.pi, idi.Body()))
	if want := hmacSHA1(prfPSK, signed); auth.Method != AuthPSK || !bytes.Equal(auth.Data, want) {
		t.Errorf("initiator AUTH = %x, want %x", auth.Data, want)
	}
	// Re-encrypting with the recorded IV and padding gives the recorded
	// message: the padding is minimal and the inner payloads canonical.
	sk := m3.Payloads[0].(*SK)
	iv := sk.Body[:16]
	pt, err := ci.Open(nil, iv, sk.Body[16:], m3.Raw[:HeaderLen+4])
	if err != nil {
		t.Fatal(err)
	}
	pad := pt[len(pt)-1]
	if !bytes.Equal(pt[len(pt)-1-int(pad):len(pt)-1], unhex(t, "689edb13a9ec81374f4c7c")) {
		t.Errorf("padding = %x", pt[len(pt)-1-int(pad):])
	}
	out, err := EncryptMessage(m3.Header, inner, ci, &fixedRand{slices.Concat(iv, pt[len(pt)-1-int(pad):len(pt)-1])})
	if err != nil || !bytes.Equal(out, m3.Raw) {
		t.Errorf("re-encrypted IKE_AUTH request = %x, %v\nwant %x", out, err, m3.Raw)
	}

	// IKE_AUTH response, from the real responder.
	m4 := mustParse(t, rubM4)
	inner, err = DecryptMessage(m4, cr)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := FormatPayloads(inner), "IDr AUTH SA TSi TSr"; got != want {
		t.Errorf("IKE_AUTH response = %q, want %q", got, want)
	}
	if err := CheckRules(ExchangeIKEAuth, true, true, inner); err != nil {
		t.Error(err)
	}
	idr, ok := Find[*ID](inner)
	if !ok || !idr.Responder {
		t.Fatalf("no IDr in %s", FormatPayloads(inner))
	}
	if idr.IDType != IDIPv4Addr || !bytes.Equal(idr.Data, []byte{10, 0, 3, 10}) {
		t.Errorf("IDr = %+v", idr)
	}
	if sa, _ := Find[*SA](inner); len(sa.Proposals) != 1 || sa.Proposals[0].Protocol != ProtocolESP || len(sa.Proposals[0].SPI) != 4 {
		t.Errorf("accepted SA = %+v", sa)
	}
	auth, _ = Find[*Auth](inner)
	// RFC 7296 Section 2.15: the responder signs RealMessage2 | NonceIData
	// | prf(SK_pr, RestOfRespIDPayload).
	signed = slices.Concat(m2.Raw, ni.Data, hmacSHA1(k.pr, idr.Body()))
	if want := hmacSHA1(prfPSK, signed); auth.Method != AuthPSK || !bytes.Equal(auth.Data, want) {
		t.Errorf("responder AUTH = %x, want %x", auth.Data, want)
	}
}
