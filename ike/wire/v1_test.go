package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// v1Normalize clears what ParseV1 sets but Marshal does not take, so that a
// parsed message can be compared with the one it was built from.
func v1Normalize(m *V1Message) *V1Message {
	c := *m
	c.Raw = nil
	c.Header.Length = 0
	if !c.Header.Encrypted() {
		c.Header.NextPayload = V1PayloadNone
	}
	if c.Header.MajorVersion == 0 {
		c.Header.MajorVersion = 1
	}
	c.Payloads = v1NormalizePayloads(m.Payloads)
	return &c
}

func v1NormalizePayloads(ps []V1Payload) []V1Payload {
	out := make([]V1Payload, len(ps))
	for i, p := range ps {
		switch q := p.(type) {
		case *V1SA:
			c := *q
			c.raw = nil
			out[i] = &c
		case *V1ID:
			c := *q
			c.raw = nil
			out[i] = &c
		default:
			out[i] = p
		}
	}
	return out
}

// v1RoundTrip marshals m, parses the result and checks that it is m again
// and that marshalling that gives the same octets.
func v1RoundTrip(t *testing.T, m *V1Message) []byte {
	t.Helper()
	b, err := m.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	got, err := ParseV1(b)
	if err != nil {
		t.Fatalf("ParseV1(%x): %v", b, err)
	}
	if !bytes.Equal(got.Raw, b) || got.Header.Length != uint32(len(b)) {
		t.Errorf("Raw or Length wrong: %d octets, Length %d", len(b), got.Header.Length)
	}
	if g, w := v1Normalize(got), v1Normalize(m); !reflect.DeepEqual(g, w) {
		t.Errorf("round trip of %s differs", m)
		v1DiffMessages(t, g, w)
	}
	b2, err := got.Marshal()
	if err != nil || !bytes.Equal(b, b2) {
		t.Errorf("second Marshal = %x, %v; want %x", b2, err, b)
	}
	return b
}

func v1DiffMessages(t *testing.T, got, want *V1Message) {
	t.Helper()
	if got.Header != want.Header {
		t.Errorf("header: got %+v, want %+v", got.Header, want.Header)
	}
	if !bytes.Equal(got.Encrypted, want.Encrypted) {
		t.Errorf("encrypted body differs")
	}
	if len(got.Payloads) != len(want.Payloads) {
		t.Errorf("got %d payloads, want %d", len(got.Payloads), len(want.Payloads))
		return
	}
	for i := range got.Payloads {
		if !reflect.DeepEqual(got.Payloads[i], want.Payloads[i]) {
			t.Errorf("payload %d:\n got %+v\nwant %+v", i+1, got.Payloads[i], want.Payloads[i])
		}
	}
}

func v1TestHeader(exchange V1Exchange, flags V1Flags) V1Header {
	return V1Header{
		InitiatorCookie: 0x0102030405060708,
		ResponderCookie: 0xf1f2f3f4f5f6f7f8,
		MajorVersion:    1,
		Exchange:        exchange,
		Flags:           flags,
		MessageID:       0xfffffffe,
	}
}

// v1AllPayloads has every IKEv1 payload type with edge values.
func v1AllPayloads() []V1Payload {
	return []V1Payload{
		&V1SA{DOI: V1DOIIPsec, Situation: V1SitIdentityOnly, Proposals: []V1Proposal{
			{Number: 1, Protocol: V1ProtocolISAKMP, Transforms: []V1Transform{
				{Number: 1, ID: V1KeyIKE, Attributes: []V1Attribute{
					{Type: V1AttrEncryption, TV: true, Value: uint16(V1EncrAESCBC)},
					{Type: V1AttrKeyLength, TV: true, Value: 256},
					{Type: V1AttrHash, TV: true, Value: uint16(V1HashSHA2256)},
					{Type: V1AttrGroup, TV: true, Value: 14},
					{Type: V1AttrAuthMethod, TV: true, Value: uint16(V1AuthXAuthInitPSK)},
					{Type: V1AttrLifeType, TV: true, Value: uint16(V1LifeSeconds)},
					V1AttrUint(V1AttrLifeDuration, 86400),
				}},
				{Number: 2, ID: V1KeyIKE, Attributes: []V1Attribute{
					{Type: V1AttrEncryption, TV: true, Value: uint16(V1Encr3DES)},
					{Type: V1AttrHash, TV: true, Value: uint16(V1HashSHA1)},
					{Type: V1AttrLifeType, TV: true, Value: uint16(V1LifeKilobytes)},
					{Type: V1AttrLifeDuration, Data: seq(8, 0x80)},
					{Type: V1AttrGroupPrime, Data: seq(300, 0)},
					{Type: 0x7fff},
				}},
			}},
		}},
		&V1SA{DOI: V1DOIIPsec, Situation: V1SitIdentityOnly, Proposals: []V1Proposal{
			{Number: 1, Protocol: V1ProtocolAH, SPI: []byte{1, 2, 3, 4}, Transforms: []V1Transform{
				{Number: 1, ID: 5, Attributes: []V1Attribute{{Type: V1IPsecAttrAuthAlg, TV: true, Value: uint16(V1AuthAlgHMACSHA2256)}}},
			}},
			{Number: 1, Protocol: V1ProtocolESP, SPI: []byte{0xc1, 0xc2, 0xc3, 0xc4}, Transforms: []V1Transform{
				{Number: 1, ID: uint8(V1ESPAESCBC), Attributes: []V1Attribute{
					{Type: V1IPsecAttrLifeType, TV: true, Value: uint16(V1LifeSeconds)},
					V1AttrUint(V1IPsecAttrLifeDuration, 3600),
					{Type: V1IPsecAttrEncapMode, TV: true, Value: uint16(V1EncapUDPTunnel)},
					{Type: V1IPsecAttrAuthAlg, TV: true, Value: uint16(V1AuthAlgHMACSHA1)},
					{Type: V1IPsecAttrKeyLength, TV: true, Value: 256},
					{Type: V1IPsecAttrGroup, TV: true, Value: 14},
				}},
				{Number: 2, ID: uint8(V1ESPAESGCM16), Attributes: []V1Attribute{
					{Type: V1IPsecAttrEncapMode, TV: true, Value: uint16(V1EncapUDPTransportDraft)},
					{Type: V1IPsecAttrKeyLength, TV: true, Value: 128},
				}},
				{Number: 3, ID: 0xff},
			}},
			{Number: 2, Protocol: V1ProtocolIPComp, SPI: []byte{0x12, 0x34}, Transforms: []V1Transform{{Number: 1, ID: 2}}},
			{Number: 3, Protocol: 0xff, SPI: seq(255, 0), Transforms: []V1Transform{{Number: 0xff, ID: 0xff}}},
		}},
		&V1SA{DOI: 0x12345678, Situation: 0xffffffff, Proposals: []V1Proposal{
			{Number: 0, Protocol: 0, Transforms: []V1Transform{{}}},
		}},
		&V1KE{Data: seq(256, 1)},
		&V1KE{},
		&V1ID{IDType: V1IDIPv4Addr, Protocol: 17, Port: 500, Data: []byte{198, 51, 100, 1}},
		&V1ID{IDType: V1IDFQDN, Data: []byte("vpn.example.com")},
		&V1ID{IDType: V1IDUserFQDN, Data: []byte("client1@example.com")},
		&V1ID{IDType: V1IDIPv4AddrSubnet, Data: []byte{203, 0, 113, 0, 255, 255, 255, 192}},
		&V1ID{IDType: V1IDIPv6Addr, Data: seq(16, 0x20)},
		&V1ID{IDType: V1IDIPv6AddrSubnet, Protocol: 6, Port: 0xffff, Data: seq(32, 0x20)},
		&V1ID{IDType: V1IDIPv4AddrRange, Data: []byte{203, 0, 113, 0, 203, 0, 113, 63}},
		&V1ID{IDType: V1IDIPv6AddrRange, Data: seq(32, 0x40)},
		&V1ID{IDType: V1IDDERASN1DN, Data: seq(100, 0x30)},
		&V1ID{IDType: V1IDKeyID, Data: []byte("ikego-group")},
		&V1ID{IDType: 0xff},
		&V1Cert{Encoding: V1CertX509Sig, Data: seq(1000, 3)},
		&V1Cert{Encoding: 0xff},
		&V1CertReq{Encoding: V1CertX509Sig, Authority: seq(40, 0x50)},
		&V1CertReq{Encoding: V1CertX509Sig},
		&V1Hash{Data: seq(32, 0x11)},
		&V1Hash{},
		&V1Signature{Data: seq(384, 0x22)},
		&V1Nonce{Data: seq(32, 0x33)},
		&V1Notify{DOI: V1DOIIPsec, Protocol: V1ProtocolISAKMP, SPI: seq(16, 1), Kind: V1NotifyInitialContact},
		&V1Notify{DOI: V1DOIIPsec, Protocol: V1ProtocolISAKMP, SPI: seq(16, 1), Kind: V1NotifyRUThere, Data: []byte{0, 0, 0x12, 0x34}},
		&V1Notify{DOI: V1DOIIPsec, Protocol: V1ProtocolISAKMP, SPI: seq(16, 1), Kind: V1NotifyRUThereAck, Data: []byte{0xff, 0xff, 0xff, 0xff}},
		&V1Notify{DOI: V1DOIIPsec, Protocol: V1ProtocolESP, SPI: []byte{1, 2, 3, 4}, Kind: V1NotifyResponderLifetime,
			Data: appendV1Attributes(nil, []V1Attribute{{Type: V1IPsecAttrLifeType, TV: true, Value: 1}, V1AttrUint(V1IPsecAttrLifeDuration, 1<<20)})},
		&V1Notify{Kind: V1NotifyNoProposalChosen},
		&V1Notify{DOI: 0xffffffff, Protocol: 0xff, SPI: seq(255, 1), Kind: 0xffff, Data: seq(10, 1)},
		&V1Delete{DOI: V1DOIIPsec, Protocol: V1ProtocolISAKMP, SPIs: [][]byte{seq(16, 1)}},
		&V1Delete{DOI: V1DOIIPsec, Protocol: V1ProtocolESP, SPIs: [][]byte{{0, 0, 0, 0}, {0xff, 0xff, 0xff, 0xff}, {0x12, 0x34, 0x56, 0x78}}},
		&V1VendorID{},
		&V1VendorID{Data: seq(16, 0x88)},
		&V1Attributes{CfgType: V1CfgRequest, Identifier: 0x1234, Attributes: []V1Attribute{
			{Type: V1CfgXAuthType, TV: true, Value: 0},
			{Type: V1CfgXAuthUserName},
			{Type: V1CfgXAuthUserPassword},
		}},
		&V1Attributes{CfgType: V1CfgReply, Identifier: 0xffff, Attributes: []V1Attribute{
			{Type: V1CfgInternalIP4Address, Data: []byte{198, 18, 200, 1}},
			{Type: V1CfgInternalIP4DNS, Data: []byte{198, 51, 100, 53}},
			{Type: V1CfgInternalIP6Address, Data: append(seq(16, 0x20), 120)},
			{Type: V1CfgUnitySplitInclude, Data: []byte{203, 0, 113, 0, 255, 255, 255, 192, 0, 0, 0, 0, 0, 0}},
			{Type: V1CfgApplicationVersion, Data: seq(1000, 0)},
		}},
		&V1Attributes{CfgType: V1CfgSet, Attributes: []V1Attribute{{Type: V1CfgXAuthStatus, TV: true, Value: 1}}},
		&V1Attributes{CfgType: V1CfgAck},
		&V1NATD{Hash: seq(32, 0x44)},
		&V1NATD{Draft: true, Hash: seq(20, 0x55)},
		&V1NATOA{Addr: netip.MustParseAddr("198.51.100.1")},
		&V1NATOA{Draft: true, Addr: netip.MustParseAddr("2001:db8::1")},
		&V1NATOA{Addr: netip.MustParseAddr("::ffff:198.51.100.1")},
		&V1Fragment{ID: 0xbeef, Number: 1, Data: seq(500, 0)},
		&V1Fragment{ID: 0xbeef, Number: 255, Last: true},
		&V1Unknown{Kind: 200, Body: seq(5, 1)},
		&V1Unknown{Kind: V1PayloadProposal, Body: seq(8, 1)},
		&V1Unknown{Kind: 99},
	}
}

func TestV1RoundTripEveryPayload(t *testing.T) {
	ps := v1AllPayloads()
	seen := map[V1PayloadType]bool{}
	for _, p := range ps {
		seen[p.Type()] = true
		v1RoundTrip(t, &V1Message{Header: v1TestHeader(V1ExchangeIDProt, 0), Payloads: []V1Payload{p}})
	}
	for _, typ := range []V1PayloadType{V1PayloadSA, V1PayloadKE, V1PayloadID, V1PayloadCert, V1PayloadCertReq,
		V1PayloadHash, V1PayloadSignature, V1PayloadNonce, V1PayloadNotify, V1PayloadDelete, V1PayloadVendorID,
		V1PayloadAttributes, V1PayloadNATD, V1PayloadNATOA, V1PayloadNATDDraft, V1PayloadNATOADraft, V1PayloadFragment} {
		if !seen[typ] {
			t.Errorf("no %s payload tested", typ)
		}
	}
	b := v1RoundTrip(t, &V1Message{Header: v1TestHeader(V1ExchangeAggressive, V1FlagCommit|V1FlagAuthOnly), Payloads: ps})
	m, _ := ParseV1(b)
	if len(m.Payloads) != len(ps) {
		t.Fatalf("%d payloads, want %d", len(m.Payloads), len(ps))
	}
	// The chain of MarshalV1Payloads is what follows the header.
	body, err := MarshalV1Payloads(ps)
	if err != nil || !bytes.Equal(body, b[V1HeaderLen:]) {
		t.Fatalf("MarshalV1Payloads = %v, not the message body", err)
	}
	got, err := ParseV1Payloads(ps[0].Type(), body)
	if err != nil || !reflect.DeepEqual(v1NormalizePayloads(got), v1NormalizePayloads(ps)) {
		t.Fatalf("ParseV1Payloads: %v", err)
	}
	v1RoundTrip(t, &V1Message{Header: v1TestHeader(V1ExchangeInformational, 0)})
}

func TestV1HeaderAndEncrypted(t *testing.T) {
	h := v1TestHeader(V1ExchangeQuickMode, V1FlagEncryption)
	h.NextPayload = V1PayloadHash
	h.MinorVersion = 0
	m := &V1Message{Header: h, Encrypted: seq(48, 0x10)}
	b := v1RoundTrip(t, m)
	want := unhex(t, "0102030405060708f1f2f3f4f5f6f7f8"+"08102001"+"fffffffe"+"0000004c")
	if !bytes.Equal(b[:V1HeaderLen], want) {
		t.Fatalf("header = %x, want %x", b[:V1HeaderLen], want)
	}
	got, _ := ParseV1(b)
	if len(got.Payloads) != 0 || !bytes.Equal(got.Encrypted, seq(48, 0x10)) || got.Header.NextPayload != V1PayloadHash {
		t.Fatalf("encrypted message parsed as %+v", got)
	}
	if s := got.String(); s != "QUICK_MODE 4294967294 [ encrypted ]" {
		t.Errorf("String = %q", s)
	}
	// The body of an encrypted message is not parsed: garbage is fine.
	b[V1HeaderLen] = 0xff
	if _, err := ParseV1(b); err != nil {
		t.Fatalf("encrypted body parsed: %v", err)
	}
	// Unknown flag bits are ignored; a zero major version is sent as 1.
	b[19] |= 0xf8
	if got, err := ParseV1(b); err != nil || got.Header.Flags != V1FlagEncryption {
		t.Fatalf("flags %v, %v", got.Header.Flags, err)
	}
	m.Header.MajorVersion = 0
	if b, _ := m.Marshal(); b[17] != 0x10 {
		t.Fatalf("version octet %#x", b[17])
	}
	// Marshal refuses inconsistent messages.
	if _, err := (&V1Message{Header: h, Payloads: []V1Payload{&V1Hash{}}}).Marshal(); err == nil {
		t.Error("encrypted message with payloads marshalled")
	}
	if _, err := (&V1Message{Header: v1TestHeader(V1ExchangeIDProt, 0), Encrypted: []byte{1}}).Marshal(); err == nil {
		t.Error("plaintext message with an encrypted body marshalled")
	}
}

func TestV1HeaderErrors(t *testing.T) {
	good, err := (&V1Message{Header: v1TestHeader(V1ExchangeIDProt, 0), Payloads: []V1Payload{&V1VendorID{Data: seq(8, 1)}}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		mod  func([]byte) []byte
		kind error
	}{
		{"IKEv2", func(b []byte) []byte { b[17] = 0x20; return b }, ErrInvalidMajorVersion},
		{"major 0", func(b []byte) []byte { b[17] = 0x00; return b }, ErrInvalidMajorVersion},
		{"length short", func(b []byte) []byte { b[27]--; return b }, ErrInvalidSyntax},
		{"length long", func(b []byte) []byte { b[27]++; return b }, ErrTruncated},
		{"trailing octet", func(b []byte) []byte { return append(b, 0) }, ErrInvalidSyntax},
		{"trailing octet counted", func(b []byte) []byte { b[27]++; return append(b, 0) }, ErrInvalidSyntax},
		{"payload length past end", func(b []byte) []byte { b[31]++; return b }, ErrTruncated},
		{"payload length 3", func(b []byte) []byte { b[31] = 3; return b }, ErrInvalidSyntax},
		{"next payload past end", func(b []byte) []byte { b[28] = byte(V1PayloadNonce); return b }, ErrTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.mod(bytes.Clone(good))
			_, err := ParseV1(b)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("ParseV1 = %v, want %v", err, tc.kind)
			}
			typedError(t, err)
		})
	}
	if V1NotifyFor(errSyntax("x")) != V1NotifyPayloadMalformed || V1NotifyFor(errTruncated("x")) != V1NotifyPayloadMalformed ||
		V1NotifyFor(newError(ErrInvalidMajorVersion, "x")) != V1NotifyInvalidMajorVersion || V1NotifyFor(errors.New("x")) != 0 {
		t.Error("V1NotifyFor")
	}
	// A datagram too large for the header's 16-bit convention.
	big, err := (&V1Message{Header: v1TestHeader(V1ExchangeIDProt, V1FlagEncryption), Encrypted: make([]byte, MaxMessageLen)}).Marshal()
	if err == nil {
		t.Fatalf("message of %d octets marshalled", len(big))
	}
}

// TestV1Padding checks that a decrypted body may carry padding after its
// chain but a cleartext message may not.
func TestV1Padding(t *testing.T) {
	ps := []V1Payload{&V1Hash{Data: seq(20, 1)}, &V1Attributes{CfgType: V1CfgAck, Identifier: 7}}
	body, err := MarshalV1Payloads(ps)
	if err != nil {
		t.Fatal(err)
	}
	padded := append(bytes.Clone(body), 0, 0, 0, 0, 0, 0, 0, 7)
	got, err := ParseV1Payloads(V1PayloadHash, padded)
	if err != nil || !reflect.DeepEqual(got, ps) {
		t.Fatalf("ParseV1Payloads with padding = %v, %v", got, err)
	}
	h := v1TestHeader(V1ExchangeTransaction, 0)
	b := h.appendTo(nil, V1PayloadHash, V1HeaderLen+len(padded))
	if _, err := ParseV1(append(b, padded...)); !errors.Is(err, ErrInvalidSyntax) {
		t.Fatalf("cleartext message with padding: %v", err)
	}
	// Padding that is too short for the last payload is a truncation.
	if _, err := ParseV1Payloads(V1PayloadHash, body[:len(body)-1]); !errors.Is(err, ErrTruncated) {
		t.Fatalf("truncated body: %v", err)
	}
	if ps, err := ParseV1Payloads(V1PayloadNone, seq(16, 0)); err != nil || len(ps) != 0 {
		t.Fatalf("empty chain with padding: %v, %v", ps, err)
	}
}

// TestV1Attributes covers the TV and TLV formats and their limits.
func TestV1Attributes(t *testing.T) {
	for _, tc := range []struct {
		a    V1Attribute
		enc  string
		want uint64
		ok   bool
	}{
		{V1Attribute{Type: V1AttrLifeDuration, TV: true, Value: 0xffff}, "800cffff", 0xffff, true},
		{V1Attribute{Type: V1AttrLifeDuration, Data: []byte{0, 1, 0x51, 0x80}}, "000c000400015180", 86400, true},
		{V1Attribute{Type: V1AttrLifeDuration}, "000c0000", 0, true},
		{V1Attribute{Type: V1AttrLifeDuration, Data: seq(8, 1)}, "000c0008" + "0102030405060708", 0x0102030405060708, true},
		{V1Attribute{Type: V1AttrLifeDuration, Data: seq(9, 1)}, "000c0009" + "010203040506070809", 0, false},
		{V1Attribute{Type: 0x7fff, TV: true, Value: 1}, "ffff0001", 1, true},
		{V1Attribute{Type: 0x7fff, Data: []byte{0xab}}, "7fff0001ab", 0xab, true},
	} {
		enc := appendV1Attributes(nil, []V1Attribute{tc.a})
		if g := unhex(t, tc.enc); !bytes.Equal(enc, g) {
			t.Errorf("%+v encoded as %x, want %x", tc.a, enc, g)
		}
		back, err := readV1Attributes(enc)
		if err != nil || len(back) != 1 || !reflect.DeepEqual(back[0], tc.a) {
			t.Errorf("%x decoded as %+v, %v", enc, back, err)
		}
		v, ok := tc.a.Uint64()
		if v != tc.want || ok != tc.ok {
			t.Errorf("%+v: Uint64 = %d, %v", tc.a, v, ok)
		}
	}
	for v, n := range map[uint64]int{0: 4, 0xffff: 4, 0x10000: 8, 0xffffffff: 8, 1 << 32: 12} {
		a := V1AttrUint(V1AttrLifeDuration, v)
		if got, ok := a.Uint64(); !ok || got != v || len(appendV1Attributes(nil, []V1Attribute{a})) != n {
			t.Errorf("V1AttrUint(%d) = %+v", v, a)
		}
	}
	// TLV longer than its container, a truncated header.
	for _, s := range []string{"000c0005000151", "000c", "800c00"} {
		if _, err := readV1Attributes(unhex(t, s)); !errors.Is(err, ErrTruncated) {
			t.Errorf("%s: %v", s, err)
		}
	}
	// The same inside a transform: the TLV runs past the transform into
	// the next one, which the transform length forbids.
	sa := &V1SA{DOI: V1DOIIPsec, Situation: 1, Proposals: []V1Proposal{{Number: 1, Protocol: V1ProtocolISAKMP,
		Transforms: []V1Transform{{Number: 1, ID: 1, Attributes: []V1Attribute{{Type: V1AttrLifeDuration, Data: []byte{1, 2, 3, 4}}}},
			{Number: 2, ID: 1, Attributes: []V1Attribute{{Type: 1, TV: true, Value: 7}}}}}}}
	body := sa.appendTo(nil)
	// SA header 8 + proposal header 8 + transform header 8, then the
	// attribute's length field at offset 26.
	binary.BigEndian.PutUint16(body[26:], 8)
	if err := new(V1SA).decode(body); !errors.Is(err, ErrTruncated) {
		t.Errorf("TLV past its transform: %v", err)
	}
	// Marshal refuses attributes it cannot encode.
	for _, a := range []V1Attribute{{Type: 0x8001, TV: true}, {Type: 1, TV: true, Data: []byte{1}}, {Type: 1, Data: make([]byte, 0x10000)}} {
		if _, err := MarshalV1Payloads([]V1Payload{&V1Attributes{Attributes: []V1Attribute{a}}}); err == nil {
			t.Errorf("attribute %d/%v/%d marshalled", a.Type, a.TV, len(a.Data))
		}
	}
	cfg := &V1Attributes{Attributes: []V1Attribute{
		{Type: V1CfgInternalIP4Address, Data: []byte{198, 18, 200, 1}},
		{Type: V1CfgInternalIP6Address, Data: append(seq(16, 0x20), 64)},
		{Type: V1CfgInternalIP4DNS, Data: []byte{1, 2, 3}},
		{Type: V1CfgXAuthType, TV: true},
	}}
	if a, ok := cfg.Attribute(V1CfgInternalIP4Address); !ok || mustAddr(a) != netip.MustParseAddr("198.18.200.1") {
		t.Error("INTERNAL_IP4_ADDRESS")
	}
	if a, _ := cfg.Attribute(V1CfgInternalIP6Address); mustAddr(a) != netip.AddrFrom16([16]byte(seq(16, 0x20))) {
		t.Error("INTERNAL_IP6_ADDRESS")
	}
	for _, typ := range []V1AttrType{V1CfgInternalIP4DNS, V1CfgXAuthType, V1CfgUnityBanner} {
		a, _ := cfg.Attribute(typ)
		if _, ok := a.Addr(); ok {
			t.Errorf("Addr of %s", typ.CfgString())
		}
	}
}

func mustAddr(a V1Attribute) netip.Addr {
	addr, _ := a.Addr()
	return addr
}

// TestV1PayloadErrors feeds each payload body that must be rejected.
func TestV1PayloadErrors(t *testing.T) {
	saBody := func(mod func(b []byte)) []byte {
		sa := &V1SA{DOI: V1DOIIPsec, Situation: 1, Proposals: []V1Proposal{{Number: 1, Protocol: V1ProtocolESP, SPI: []byte{1, 2, 3, 4},
			Transforms: []V1Transform{{Number: 1, ID: 12, Attributes: []V1Attribute{{Type: 4, TV: true, Value: 1}}}}}}}
		b := sa.appendTo(nil)
		mod(b)
		return b
	}
	for _, tc := range []struct {
		name string
		t    V1PayloadType
		body []byte
		kind error
	}{
		{"SA short", V1PayloadSA, []byte{0, 0, 0, 1, 0, 0, 0}, ErrTruncated},
		{"SA without proposals", V1PayloadSA, []byte{0, 0, 0, 1, 0, 0, 0, 1}, ErrInvalidSyntax},
		{"SA secrecy", V1PayloadSA, saBody(func(b []byte) { b[7] = 3 }), ErrInvalidSyntax},
		{"proposal next 3", V1PayloadSA, saBody(func(b []byte) { b[8] = 3 }), ErrInvalidSyntax},
		{"proposal length 7", V1PayloadSA, saBody(func(b []byte) { b[11] = 7 }), ErrInvalidSyntax},
		{"proposal length long", V1PayloadSA, saBody(func(b []byte) { b[11]++ }), ErrTruncated},
		{"proposal length short", V1PayloadSA, saBody(func(b []byte) { b[11]-- }), ErrTruncated},
		{"proposal SPI long", V1PayloadSA, saBody(func(b []byte) { b[14] = 200 }), ErrTruncated},
		{"no transforms", V1PayloadSA, saBody(func(b []byte) { b[15] = 0 }), ErrInvalidSyntax},
		{"two transforms counted", V1PayloadSA, saBody(func(b []byte) { b[15] = 2 }), ErrTruncated},
		{"transform next 2", V1PayloadSA, saBody(func(b []byte) { b[20] = 2 }), ErrInvalidSyntax},
		{"transform length 7", V1PayloadSA, saBody(func(b []byte) { b[23] = 7 }), ErrInvalidSyntax},
		{"transform length short", V1PayloadSA, saBody(func(b []byte) { b[23] -= 4 }), ErrInvalidSyntax},
		{"transform attr truncated", V1PayloadSA, saBody(func(b []byte) { b[23] -= 2 }), ErrTruncated},
		{"ID short", V1PayloadID, []byte{1, 17, 1}, ErrTruncated},
		{"ID_IPV4_ADDR 5", V1PayloadID, []byte{1, 0, 0, 0, 1, 2, 3, 4, 5}, ErrInvalidSyntax},
		{"ID_IPV6_ADDR 4", V1PayloadID, []byte{5, 0, 0, 0, 1, 2, 3, 4}, ErrInvalidSyntax},
		{"ID_IPV4_ADDR_SUBNET 4", V1PayloadID, []byte{4, 0, 0, 0, 1, 2, 3, 4}, ErrInvalidSyntax},
		{"ID_IPV6_ADDR_RANGE 16", V1PayloadID, append([]byte{8, 0, 0, 0}, seq(16, 0)...), ErrInvalidSyntax},
		{"CERT empty", V1PayloadCert, nil, ErrTruncated},
		{"CR empty", V1PayloadCertReq, nil, ErrTruncated},
		{"N short", V1PayloadNotify, []byte{0, 0, 0, 1, 1, 0, 0}, ErrTruncated},
		{"N SPI long", V1PayloadNotify, []byte{0, 0, 0, 1, 1, 16, 0x60, 2, 1}, ErrTruncated},
		{"R-U-THERE 3", V1PayloadNotify, []byte{0, 0, 0, 1, 1, 0, 0x8d, 0x28, 1, 2, 3}, ErrInvalidSyntax},
		{"RESPONDER-LIFETIME bad", V1PayloadNotify, []byte{0, 0, 0, 1, 3, 0, 0x60, 0, 0, 2, 0, 9, 1}, ErrTruncated},
		{"D short", V1PayloadDelete, []byte{0, 0, 0, 1, 3, 4, 0}, ErrTruncated},
		{"D SPI size 0", V1PayloadDelete, []byte{0, 0, 0, 1, 3, 0, 0, 1}, ErrInvalidSyntax},
		{"D no SPIs", V1PayloadDelete, []byte{0, 0, 0, 1, 3, 4, 0, 0}, ErrInvalidSyntax},
		{"D SPIs short", V1PayloadDelete, []byte{0, 0, 0, 1, 3, 4, 0, 2, 1, 2, 3, 4}, ErrTruncated},
		{"D SPIs long", V1PayloadDelete, []byte{0, 0, 0, 1, 3, 4, 0, 1, 1, 2, 3, 4, 5}, ErrInvalidSyntax},
		{"ATTR short", V1PayloadAttributes, []byte{1, 0, 0}, ErrTruncated},
		{"ATTR TLV long", V1PayloadAttributes, []byte{1, 0, 0, 1, 0, 1, 0, 4, 1, 2, 3}, ErrTruncated},
		{"NAT-OA short", V1PayloadNATOA, []byte{1, 0, 0}, ErrTruncated},
		{"NAT-OA v4 16", V1PayloadNATOA, append([]byte{1, 0, 0, 0}, seq(16, 0)...), ErrInvalidSyntax},
		{"NAT-OA v6 4", V1PayloadNATOADraft, []byte{5, 0, 0, 0, 1, 2, 3, 4}, ErrInvalidSyntax},
		{"NAT-OA FQDN", V1PayloadNATOA, []byte{2, 0, 0, 0, 1, 2, 3, 4}, ErrInvalidSyntax},
		{"FRAG short", V1PayloadFragment, []byte{0, 1, 1}, ErrTruncated},
		{"FRAG number 0", V1PayloadFragment, []byte{0, 1, 0, 1}, ErrInvalidSyntax},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := append([]byte{0, 0, 0, 0}, tc.body...)
			binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
			_, err := ParseV1Payloads(tc.t, b)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("got %v, want %v", err, tc.kind)
			}
			typedError(t, err)
		})
	}
}

// TestV1MarshalErrors checks that Marshal refuses what it cannot encode.
func TestV1MarshalErrors(t *testing.T) {
	for _, p := range []V1Payload{
		nil,
		&V1SA{DOI: V1DOIIPsec, Situation: 1},
		&V1SA{DOI: V1DOIIPsec, Situation: 2, Proposals: []V1Proposal{{Transforms: []V1Transform{{}}}}},
		&V1SA{DOI: V1DOIIPsec, Situation: 1, Proposals: []V1Proposal{{}}},
		&V1SA{DOI: V1DOIIPsec, Situation: 1, Proposals: []V1Proposal{{SPI: make([]byte, 256), Transforms: []V1Transform{{}}}}},
		&V1SA{DOI: V1DOIIPsec, Situation: 1, Proposals: []V1Proposal{{Transforms: []V1Transform{
			{Attributes: []V1Attribute{{Data: make([]byte, 40000)}}}, {Attributes: []V1Attribute{{Data: make([]byte, 40000)}}}}}}},
		&V1ID{IDType: V1IDIPv4Addr, Data: []byte{1, 2, 3}},
		&V1Notify{SPI: make([]byte, 256)},
		&V1Notify{Kind: V1NotifyRUThere},
		&V1Notify{Kind: V1NotifyResponderLifetime, Data: []byte{0}},
		&V1Delete{Protocol: V1ProtocolESP},
		&V1Delete{Protocol: V1ProtocolESP, SPIs: [][]byte{{1, 2, 3, 4}, {1, 2, 3}}},
		&V1Delete{Protocol: V1ProtocolESP, SPIs: [][]byte{{}}},
		&V1NATOA{},
		&V1Fragment{},
		&V1Unknown{Kind: V1PayloadNonce},
		&V1Unknown{},
		&V1VendorID{Data: make([]byte, 0xffff)},
	} {
		if b, err := MarshalV1Payloads([]V1Payload{p}); err == nil {
			t.Errorf("%T %+v marshalled as %d octets", p, p, len(b))
		}
	}
}

// TestV1Body checks that Body returns the octets the Phase 1 hashes are
// computed over: for a parsed payload those received, even if not
// canonical, and for a constructed one its encoding.
func TestV1Body(t *testing.T) {
	sa := &V1SA{DOI: V1DOIIPsec, Situation: 1, Proposals: []V1Proposal{{Number: 1, Protocol: V1ProtocolISAKMP,
		Transforms: []V1Transform{{Number: 1, ID: 1, Attributes: []V1Attribute{{Type: 1, TV: true, Value: 7}}}}}}}
	id := &V1ID{IDType: V1IDIPv4Addr, Protocol: 17, Port: 500, Data: []byte{198, 51, 100, 2}}
	if want := unhex(t, "0000000100000001"+"0000001401010001"+"0000000c01010000"+"80010007"); !bytes.Equal(sa.Body(), want) {
		t.Errorf("SA Body = %x, want %x", sa.Body(), want)
	}
	if want := unhex(t, "011101f4c6336402"); !bytes.Equal(id.Body(), want) {
		t.Errorf("ID Body = %x, want %x", id.Body(), want)
	}
	body, _ := MarshalV1Payloads([]V1Payload{sa, id})
	// Set the reserved octets: they are ignored but kept in Body.
	body[4+8+1] = 0xaa
	body[4+8+8+1] = 0xbb
	ps, err := ParseV1Payloads(V1PayloadSA, body)
	if err != nil {
		t.Fatal(err)
	}
	gotSA, gotID := ps[0].(*V1SA), ps[1].(*V1ID)
	if !bytes.Equal(gotSA.Body(), body[4:4+len(sa.Body())]) || gotSA.Body()[9] != 0xaa {
		t.Errorf("parsed SA Body = %x", gotSA.Body())
	}
	if !bytes.Equal(gotID.Body(), id.Body()) {
		t.Errorf("parsed ID Body = %x", gotID.Body())
	}
	if a := gotID.Addrs(); len(a) != 1 || a[0] != netip.MustParseAddr("198.51.100.2") {
		t.Errorf("Addrs = %v", a)
	}
	sub := &V1ID{IDType: V1IDIPv6AddrSubnet, Data: append(netip.MustParseAddr("2001:db8:1::").AsSlice(), bytes.Repeat([]byte{0xff}, 16)...)}
	if a := sub.Addrs(); len(a) != 2 || a[0] != netip.MustParseAddr("2001:db8:1::") {
		t.Errorf("Addrs = %v", a)
	}
	if (&V1ID{IDType: V1IDFQDN, Data: []byte("x")}).Addrs() != nil {
		t.Error("Addrs of an FQDN")
	}
}

// TestV1Truncations checks that every prefix of a valid message fails with
// a typed error, and that every truncated payload of a padded body does.
func TestV1Truncations(t *testing.T) {
	msgs := v1SeedMessages(t)
	for _, b := range msgs {
		for n := 0; n < len(b); n++ {
			_, err := ParseV1(b[:n])
			if err == nil {
				t.Fatalf("prefix %d of %d octets parsed: %x", n, len(b), b)
			}
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrInvalidSyntax) {
				t.Fatalf("prefix %d: %v", n, err)
			}
		}
	}
	// Without the header's Length: a chain cut short is truncated at
	// every length, except at payload boundaries, where what remains of
	// the chain is missing (the previous Next Payload points past the
	// end).
	ps := v1AllPayloads()
	body, _ := MarshalV1Payloads(ps)
	for n := 0; n < len(body); n++ {
		if _, err := ParseV1Payloads(ps[0].Type(), body[:n]); !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrInvalidSyntax) {
			t.Fatalf("body prefix %d: %v", n, err)
		}
	}
}

func TestV1Strings(t *testing.T) {
	m := &V1Message{Header: v1TestHeader(V1ExchangeIDProt, 0), Payloads: []V1Payload{
		&V1SA{}, &V1VendorID{}, &V1Notify{Kind: V1NotifyInitialContact}, &V1Attributes{CfgType: V1CfgReply},
		&V1NATD{Draft: true}, &V1Fragment{Number: 3}, &V1Unknown{Kind: 99}}}
	if got, want := m.String(), "ID_PROT 4294967294 [ SA V N(INITIAL-CONTACT) CPRP NAT-D (draft) FRAG(3) UNKNOWN(99) ]"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	for _, tc := range []struct{ got, want string }{
		{V1PayloadNATOA.String(), "NAT-OA"},
		{V1PayloadType(250).String(), "V1PayloadType(250)"},
		{V1ExchangeAggressive.String(), "AGGRESSIVE"},
		{V1ExchangeQuickMode.String(), "QUICK_MODE"},
		{V1Exchange(99).String(), "V1Exchange(99)"},
		{(V1FlagEncryption | V1FlagAuthOnly).String(), "E|A"},
		{V1Flags(0).String(), "0"},
		{V1DOIIPsec.String(), "IPSEC"},
		{V1ProtocolESP.String(), "ESP"},
		{V1ESPAESGCM16.String(), "ESP_AES-GCM-16"},
		{V1AttrLifeDuration.String(), "12"},
		{V1AttrLifeDuration.Phase1String(), "Life Duration"},
		{V1IPsecAttrEncapMode.IPsecString(), "Encapsulation Mode"},
		{V1CfgXAuthStatus.CfgString(), "XAUTH-STATUS"},
		{V1CfgUnitySplitInclude.CfgString(), "UNITY_SPLIT_INCLUDE"},
		{V1CfgInternalIP4Subnet.CfgString(), "INTERNAL_IP4_SUBNET"},
		{V1AttrType(16530).CfgString(), "V1AttrType(16530)"},
		{V1AttrType(0).Phase1String(), "V1AttrType(0)"},
		{V1EncrAESCBC.String(), "AES-CBC"},
		{V1HashSHA2512.String(), "SHA2-512"},
		{V1AuthXAuthInitRSA.String(), "XAUTHInitRSA"},
		{V1AuthHybridInitRSA.String(), "HybridInitRSA"},
		{V1AuthRSASig.String(), "RSA-SIG"},
		{V1AuthMethod(65011).String(), "V1AuthMethod(65011)"},
		{V1LifeKilobytes.String(), "kilobytes"},
		{V1EncapUDPTunnelDraft.String(), "UDP-Encapsulated-Tunnel (draft)"},
		{V1AuthAlgHMACSHA2256.String(), "HMAC-SHA2-256"},
		{V1IDKeyID.String(), "ID_KEY_ID"},
		{V1CertX509Sig.String(), "X509_SIG"},
		{V1NotifyRUThereAck.String(), "R-U-THERE-ACK"},
		{V1NotifyAuthenticationFailed.String(), "AUTHENTICATION-FAILED"},
		{V1NotifyType(40000).String(), "V1NotifyType(40000)"},
		{V1CfgSet.String(), "CPS"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	// Every named constant has a name.
	for typ := V1PayloadType(0); typ < 255; typ++ {
		if newV1Payload(typ) != nil && strings.HasPrefix(typ.String(), "V1PayloadType(") {
			t.Errorf("payload type %d has no name", typ)
		}
	}
}

func TestV1NotifyHelpers(t *testing.T) {
	n := &V1Notify{Kind: V1NotifyRUThere, Data: []byte{0, 0, 1, 2}}
	if s, ok := n.Sequence(); !ok || s != 0x102 {
		t.Errorf("Sequence = %d, %v", s, ok)
	}
	if _, ok := (&V1Notify{Kind: V1NotifyInitialContact, Data: []byte{0, 0, 1, 2}}).Sequence(); ok {
		t.Error("Sequence of INITIAL-CONTACT")
	}
	attrs := []V1Attribute{{Type: V1IPsecAttrLifeType, TV: true, Value: 2}, V1AttrUint(V1IPsecAttrLifeDuration, 1<<20)}
	n = &V1Notify{Kind: V1NotifyResponderLifetime, Data: appendV1Attributes(nil, attrs)}
	if got, err := n.Attributes(); err != nil || !reflect.DeepEqual(got, attrs) {
		t.Errorf("Attributes = %v, %v", got, err)
	}
	if _, err := (&V1Notify{Kind: V1NotifyInitialContact}).Attributes(); err == nil {
		t.Error("Attributes of INITIAL-CONTACT")
	}
	tr := &V1Transform{Attributes: attrs}
	if a, ok := tr.Attribute(V1IPsecAttrLifeDuration); !ok || a.Data == nil {
		t.Errorf("Attribute = %+v, %v", a, ok)
	}
	if _, ok := tr.Attribute(V1IPsecAttrEncapMode); ok {
		t.Error("absent attribute found")
	}
	if _, ok := FindV1[*V1Notify]([]V1Payload{&V1Hash{}, n}); !ok {
		t.Error("FindV1")
	}
	if _, ok := FindV1[*V1SA]([]V1Payload{&V1Hash{}, n}); ok {
		t.Error("FindV1 found an absent payload")
	}
}
