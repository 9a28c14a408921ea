package wire

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// normalize clears what Parse sets but Marshal does not take, so that a
// parsed message can be compared with the one it was built from.
func normalize(m *Message) *Message {
	c := *m
	c.Raw = nil
	c.Header.Length = 0
	c.Header.NextPayload = PayloadNone
	if c.Header.MajorVersion == 0 {
		c.Header.MajorVersion = 2
	}
	c.Payloads = normalizePayloads(m.Payloads)
	return &c
}

func normalizePayloads(ps []Payload) []Payload {
	out := make([]Payload, len(ps))
	for i, p := range ps {
		switch q := p.(type) {
		case *ID:
			c := *q
			c.raw = nil
			out[i] = &c
		case *SK:
			c := *q
			c.offset = 0
			out[i] = &c
		case *SKF:
			c := *q
			c.offset = 0
			out[i] = &c
		default:
			out[i] = p
		}
	}
	return out
}

// roundTrip marshals m, parses the result and checks that it is m again,
// and that marshalling that gives the same octets.
func roundTrip(t *testing.T, m *Message) []byte {
	t.Helper()
	b, err := m.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	got, err := Parse(b)
	if err != nil {
		t.Fatalf("Parse(%x): %v", b, err)
	}
	if !bytes.Equal(got.Raw, b) {
		t.Errorf("Raw is not the input")
	}
	if got.Header.Length != uint32(len(b)) {
		t.Errorf("Length = %d, want %d", got.Header.Length, len(b))
	}
	if g, w := normalize(got), normalize(m); !reflect.DeepEqual(g, w) {
		t.Errorf("round trip of %s differs", m)
		diffMessages(t, g, w)
	}
	b2, err := got.Marshal()
	if err != nil || !bytes.Equal(b, b2) {
		t.Errorf("second Marshal = %x, %v; want %x", b2, err, b)
	}
	return b
}

// diffMessages reports the first differences between two messages.
func diffMessages(t *testing.T, got, want *Message) {
	t.Helper()
	if got.Header != want.Header {
		t.Errorf("header: got %+v, want %+v", got.Header, want.Header)
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

func testHeader(exchange ExchangeType, flags Flags) Header {
	return Header{
		InitiatorSPI: 0x0102030405060708,
		ResponderSPI: 0xf1f2f3f4f5f6f7f8,
		MajorVersion: 2,
		Exchange:     exchange,
		Flags:        flags,
		MessageID:    0xfffffffe,
	}
}

func seq(n int, start byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

// allPayloads has every payload type with edge values, except SK and SKF,
// which end a message.
func allPayloads() []Payload {
	return []Payload{
		&SA{Proposals: []Proposal{
			{Number: 1, Protocol: ProtocolIKE, Transforms: []Transform{
				{Type: TransformEncr, ID: uint16(EncrAESCBC), Attributes: []Attribute{{Type: AttributeKeyLength, TV: true, Value: 256}}},
				{Type: TransformEncr, ID: uint16(EncrAESCBC), Attributes: []Attribute{{Type: AttributeKeyLength, TV: true, Value: 128}}},
				{Type: TransformPRF, ID: uint16(PRFHMACSHA2_256)},
				{Type: TransformInteg, ID: uint16(IntegHMACSHA2_256_128)},
				{Type: TransformKE, ID: uint16(DHGroupCurve25519)},
			}},
			{Number: 2, Protocol: ProtocolIKE, SPI: seq(8, 0xa0), Transforms: []Transform{
				{Type: 0xff, ID: 0xffff, Attributes: []Attribute{
					{Type: 0x7fff, Data: seq(3, 1)},
					{Type: 1},
					{Type: 2, TV: true, Value: 0xffff},
				}},
			}},
			{Number: 3, Protocol: ProtocolESP, SPI: []byte{0xff, 0xff, 0xff, 0xff}, Transforms: []Transform{
				{Type: TransformEncr, ID: uint16(EncrAESGCM16), Attributes: []Attribute{{Type: AttributeKeyLength, TV: true, Value: 256}}},
				{Type: TransformESN, ID: uint16(ESNNo)},
				{Type: TransformESN, ID: uint16(ESNYes)},
			}},
			{Number: 4, Protocol: 0xff, SPI: seq(255, 0)},
		}},
		&KE{Group: DHGroupCurve25519, Data: seq(32, 9)},
		&KE{Group: 0xffff},
		&ID{IDType: IDIPv4Addr, Data: []byte{198, 51, 100, 1}},
		&ID{Responder: true, IDType: IDFQDN, Data: []byte("vpn.example.com")},
		&ID{IDType: IDIPv6Addr, Data: seq(16, 0x20)},
		&ID{Responder: true, IDType: IDRFC822, Data: []byte("client1@example.com")},
		&ID{IDType: IDKeyID},
		&ID{IDType: 0xff, Data: seq(300, 0)},
		&Cert{Encoding: CertX509Signature, Data: seq(1000, 3)},
		&Cert{Encoding: 0xff},
		&CertReq{Encoding: CertX509Signature, Data: seq(40, 0x50)},
		&CertReq{Encoding: CertX509Signature},
		&Auth{Method: AuthDigitalSignature, Data: seq(300, 7)},
		&Auth{Method: AuthPSK, Data: seq(32, 1)},
		&Auth{Method: 0xff},
		&Nonce{Data: seq(MinNonceLen, 1)},
		&Nonce{Data: seq(MaxNonceLen, 2)},
		&Notify{Kind: NotifyNATDetectionSourceIP, Data: seq(20, 1)},
		&Notify{Kind: NotifyInitialContact},
		&Notify{Protocol: ProtocolESP, SPI: []byte{1, 2, 3, 4}, Kind: NotifyRekeySA},
		&Notify{Protocol: ProtocolIKE, SPI: seq(8, 1), Kind: NotifyInvalidIKESPI},
		&Notify{Protocol: 0xff, SPI: seq(255, 1), Kind: 0xffff, Data: seq(10, 1)},
		&Notify{Kind: NotifyCookie, Data: seq(64, 1)},
		&Notify{Kind: NotifyCookie, Data: seq(1, 1)},
		&Notify{Kind: NotifySignatureHashAlgorithms, Data: []byte{0, 2, 0, 3, 0, 4, 0, 5}},
		&Notify{Kind: NotifyInvalidKEPayload, Data: []byte{0, 31}},
		&Delete{Protocol: ProtocolIKE},
		&Delete{Protocol: ProtocolESP, SPIs: []uint32{0, 0xffffffff, 0x12345678}},
		&Delete{Protocol: ProtocolAH},
		&VendorID{},
		&VendorID{Data: seq(16, 0x88)},
		&TS{Selectors: []Selector{
			SelectorFromPrefix(netip.MustParsePrefix("0.0.0.0/0"), 0),
			{Type: TSIPv4AddrRange, IPProtocol: 1, StartPort: 0x0800, EndPort: 0x08ff,
				Start: netip.MustParseAddr("203.0.113.0"), End: netip.MustParseAddr("203.0.113.63")},
			SelectorFromPrefix(netip.MustParsePrefix("2001:db8:1::/64"), 17),
			{Type: TSSecLabel, IPProtocol: 0, Body: []byte("system_u:object_r")},
			{Type: 0xff},
		}},
		&TS{Responder: true},
		&CP{CfgType: CfgRequest, Attributes: []CPAttribute{
			{Type: CPInternalIP4Address}, {Type: CPInternalIP4DNS}, {Type: CPInternalIP6Address}, {Type: 0x7fff},
		}},
		&CP{CfgType: CfgReply, Attributes: []CPAttribute{
			{Type: CPInternalIP4Address, Value: []byte{198, 18, 200, 1}},
			{Type: CPInternalIP4Subnet, Value: []byte{203, 0, 113, 0, 255, 255, 255, 192}},
			{Type: CPApplicationVersion, Value: seq(1000, 0)},
		}},
		&CP{CfgType: 0xff},
		&EAP{Message: []byte{EAPRequest, 7, 0, 5, 1}},
		&EAP{Message: []byte{EAPSuccess, 8, 0, 4}},
		&EAP{Message: append([]byte{EAPResponse, 9, 0, 26, 26}, seq(21, 0)...)},
		&Unknown{Kind: 200, Body: seq(5, 1)},
		&Unknown{Kind: 1},
		&Unknown{Kind: PayloadPS, Body: seq(2, 1)},
	}
}

func TestRoundTripEveryPayload(t *testing.T) {
	ps := allPayloads()
	seen := map[PayloadType]bool{}
	for _, p := range ps {
		seen[p.Type()] = true
	}
	for _, want := range []PayloadType{PayloadSA, PayloadKE, PayloadIDi, PayloadIDr, PayloadCert, PayloadCertReq,
		PayloadAuth, PayloadNonce, PayloadNotify, PayloadDelete, PayloadVendorID, PayloadTSi, PayloadTSr,
		PayloadCP, PayloadEAP} {
		if !seen[want] {
			t.Errorf("no %s in allPayloads", want)
		}
	}
	// Each payload alone, then all together, then with SK and SKF last.
	for _, p := range ps {
		roundTrip(t, &Message{Header: testHeader(ExchangeIKEAuth, FlagInitiator), Payloads: []Payload{p}})
	}
	roundTrip(t, &Message{Header: testHeader(ExchangeInformational, FlagResponse|FlagVersion), Payloads: ps})
	roundTrip(t, &Message{Header: testHeader(ExchangeIKEAuth, 0), Payloads: append(allPayloads(),
		&SK{NextPayload: PayloadIDi, Body: seq(100, 1)})})
	roundTrip(t, &Message{Header: testHeader(ExchangeIKEAuth, 0), Payloads: []Payload{
		&SKF{NextPayload: PayloadIDi, Number: 1, Total: 2, Body: seq(30, 1)}}})
	roundTrip(t, &Message{Header: testHeader(ExchangeIKEAuth, 0), Payloads: []Payload{
		&SKF{Number: 0xffff, Total: 0xffff}}})
	roundTrip(t, &Message{Header: testHeader(ExchangeInformational, 0), Payloads: []Payload{&SK{}}})
	// No payloads at all.
	roundTrip(t, &Message{Header: Header{Exchange: 0xff, Flags: 0xff &^ 0xc7, MinorVersion: 0xf}})
	// The inner chain round-trips through ParseInner too.
	inner, err := appendChain(nil, ps)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseInner(ps[0].Type(), inner)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(normalizePayloads(got), ps) {
		t.Errorf("ParseInner round trip differs")
	}
}

func TestPayloadAccessors(t *testing.T) {
	ps := allPayloads()
	b := roundTrip(t, &Message{Header: testHeader(ExchangeIKEAuth, 0), Payloads: ps})
	m, _ := Parse(b)

	sa, _ := Find[*SA](m.Payloads)
	if kl, ok := sa.Proposals[0].Transforms[0].KeyLength(); !ok || kl != 256 {
		t.Errorf("KeyLength = %d, %v", kl, ok)
	}
	if _, ok := sa.Proposals[0].Transforms[2].KeyLength(); ok {
		t.Errorf("PRF has a key length")
	}
	id, _ := Find[*ID](m.Payloads)
	if want := []byte{byte(IDIPv4Addr), 0, 0, 0, 198, 51, 100, 1}; !bytes.Equal(id.Body(), want) {
		t.Errorf("ID Body = %x, want %x", id.Body(), want)
	}
	if !bytes.Equal((&ID{IDType: IDFQDN, Data: []byte("a")}).Body(), []byte{2, 0, 0, 0, 'a'}) {
		t.Errorf("constructed ID Body")
	}
	cr, _ := Find[*CertReq](m.Payloads)
	if cas, ok := cr.Authorities(); !ok || len(cas) != 2 || cas[1][0] != 0x50+20 {
		t.Errorf("Authorities = %x, %v", cas, ok)
	}
	if _, ok := (&CertReq{Data: seq(21, 0)}).Authorities(); ok {
		t.Errorf("Authorities of 21 octets")
	}
	n, ok := FindNotify(m.Payloads, NotifySignatureHashAlgorithms)
	if got := n.SignatureHashAlgorithms(); !ok || !reflect.DeepEqual(got, []uint16{2, 3, 4, 5}) {
		t.Errorf("SignatureHashAlgorithms = %v", got)
	}
	eap, _ := Find[*EAP](m.Payloads)
	if eap.Code() != EAPRequest || eap.Identifier() != 7 || eap.MethodType() != 1 {
		t.Errorf("EAP accessors")
	}
	if (&EAP{Message: []byte{3, 1, 0, 4}}).MethodType() != 0 {
		t.Errorf("EAP Success has a method type")
	}
	cps := []CPAttribute{
		{Type: CPInternalIP4Address, Value: []byte{198, 18, 200, 1}},
		{Type: CPInternalIP4Subnet, Value: []byte{203, 0, 113, 0, 255, 255, 255, 192}},
		{Type: CPInternalIP6Address, Value: append(netip.MustParseAddr("2001:db8:200::1").AsSlice(), 120)},
		{Type: CPInternalIP6DNS, Value: netip.MustParseAddr("2001:db8::53").AsSlice()},
	}
	wantAddr := []string{"198.18.200.1", "203.0.113.0", "2001:db8:200::1", "2001:db8::53"}
	for i, a := range cps {
		if got, ok := a.Addr(); !ok || got.String() != wantAddr[i] {
			t.Errorf("%s Addr = %v, %v", a.Type, got, ok)
		}
	}
	if p, ok := cps[1].Prefix(); !ok || p.String() != "203.0.113.0/26" {
		t.Errorf("IP4_SUBNET Prefix = %v, %v", p, ok)
	}
	if p, ok := cps[2].Prefix(); !ok || p.String() != "2001:db8:200::1/120" {
		t.Errorf("IP6_ADDRESS Prefix = %v, %v", p, ok)
	}
	for _, a := range []CPAttribute{
		{Type: CPInternalIP4Address},
		{Type: CPInternalIP4Address, Value: seq(5, 0)},
		{Type: CPApplicationVersion, Value: seq(4, 0)},
		{Type: CPInternalIP6Address, Value: seq(16, 0)},
	} {
		if _, ok := a.Addr(); ok {
			t.Errorf("%s with %d octets has an address", a.Type, len(a.Value))
		}
	}
	if _, ok := (CPAttribute{Type: CPInternalIP4Subnet, Value: []byte{1, 2, 3, 4, 255, 0, 255, 0}}).Prefix(); ok {
		t.Errorf("non-contiguous netmask accepted")
	}
	if _, ok := (CPAttribute{Type: CPInternalIP6Subnet, Value: append(seq(16, 0), 129)}).Prefix(); ok {
		t.Errorf("prefix length 129 accepted")
	}
	sel := SelectorFromPrefix(netip.MustParsePrefix("198.18.1.77/24"), 6)
	if sel.Start.String() != "198.18.1.0" || sel.End.String() != "198.18.1.255" || sel.EndPort != 0xffff || sel.Type != TSIPv4AddrRange {
		t.Errorf("SelectorFromPrefix = %+v", sel)
	}
	sel = SelectorFromPrefix(netip.MustParsePrefix("2001:db8::/127"), 0)
	if sel.End.String() != "2001:db8::1" || sel.Type != TSIPv6AddrRange {
		t.Errorf("SelectorFromPrefix = %+v", sel)
	}
	if TransformIDString(TransformEncr, 20) != "ENCR_AES_GCM_16" || TransformIDString(TransformKE, 31) != "CURVE_25519" ||
		TransformIDString(0xff, 7) != "7" || TransformIDString(TransformESN, 1) != "EXT_SEQ" {
		t.Errorf("TransformIDString")
	}
	if s := m.String(); !strings.HasPrefix(s, "IKE_AUTH request 4294967294 [ SA KE KE IDi IDr") ||
		!strings.Contains(s, "N(NAT_DETECTION_SOURCE_IP) N(INITIAL_CONTACT)") || !strings.Contains(s, "CP(CFG_REQUEST)") ||
		!strings.Contains(s, "UNKNOWN(200)") {
		t.Errorf("String = %q", s)
	}
}

// TestDecodeRejects feeds each payload decoder bodies that break one rule.
func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name string
		typ  PayloadType
		body string
		want error
	}{
		{"SA empty", PayloadSA, "", ErrInvalidSyntax},
		{"SA short proposal header", PayloadSA, "000000", ErrTruncated},
		{"SA last substruc 1", PayloadSA, "01000008 01010000", ErrInvalidSyntax},
		{"SA last substruc 3", PayloadSA, "03000008 01010000", ErrInvalidSyntax},
		{"SA proposal length 7", PayloadSA, "00000007 01010000", ErrInvalidSyntax},
		{"SA proposal length past end", PayloadSA, "00000009 01010000", ErrTruncated},
		{"SA ESP SPI size 8", PayloadSA, "0000000c 01030800 00000000", ErrInvalidSyntax},
		{"SA ESP SPI size 0", PayloadSA, "00000008 01030000", ErrInvalidSyntax},
		{"SA IKE SPI size 4", PayloadSA, "0000000c 01010400 00000000", ErrInvalidSyntax},
		{"SA SPI past end", PayloadSA, "0000000a 01030400 0000", ErrTruncated},
		{"SA missing transform", PayloadSA, "00000008 01010001", ErrTruncated},
		{"SA trailing after transforms", PayloadSA, "0000000c 01010000 00000000", ErrInvalidSyntax},
		{"SA transform last substruc 2", PayloadSA, "00000010 01010001 02000008 01000001", ErrInvalidSyntax},
		{"SA transform length 7", PayloadSA, "00000010 01010001 00000007 01000001", ErrInvalidSyntax},
		{"SA transform past end", PayloadSA, "00000010 01010001 0000000c 01000001", ErrTruncated},
		{"SA attribute truncated", PayloadSA, "00000012 01010001 0000000a 01000001 800e", ErrTruncated},
		{"SA TLV attribute past end", PayloadSA, "00000014 01010001 0000000c 01000001 00010005", ErrTruncated},
		{"SA key length TLV", PayloadSA, "00000016 01010001 0000000e 0100000c 000e0002 0080", ErrInvalidSyntax},
		{"SA duplicate attribute", PayloadSA, "00000018 01010001 00000010 0100000c 800e0080 800e0100", ErrInvalidSyntax},
		{"SA proposal number 0", PayloadSA, "00000008 00010000", ErrInvalidSyntax},
		{"SA proposals 1,1", PayloadSA, "02000008 01010000 00000008 01010000", ErrInvalidSyntax},
		{"SA proposals 2,3", PayloadSA, "02000008 02010000 00000008 03010000", ErrInvalidSyntax},
		{"KE short", PayloadKE, "001f00", ErrTruncated},
		{"ID short", PayloadIDi, "010000", ErrTruncated},
		{"ID IPv4 of 5", PayloadIDr, "01000000 c6336401 01", ErrInvalidSyntax},
		{"ID IPv4 of 3", PayloadIDi, "01000000 c63364", ErrInvalidSyntax},
		{"ID IPv6 of 4", PayloadIDi, "05000000 20010db8", ErrInvalidSyntax},
		{"CERT empty", PayloadCert, "", ErrTruncated},
		{"CERTREQ empty", PayloadCertReq, "", ErrTruncated},
		{"AUTH short", PayloadAuth, "020000", ErrTruncated},
		{"Nonce 15", PayloadNonce, strings.Repeat("ab", 15), ErrInvalidSyntax},
		{"Nonce 257", PayloadNonce, strings.Repeat("ab", 257), ErrInvalidSyntax},
		{"Nonce empty", PayloadNonce, "", ErrInvalidSyntax},
		{"Notify short", PayloadNotify, "000040", ErrTruncated},
		{"Notify IKE SPI size 4", PayloadNotify, "01044000 00000000", ErrInvalidSyntax},
		{"Notify ESP SPI size 8", PayloadNotify, "03084009 00000000 00000000", ErrInvalidSyntax},
		{"Notify SPI past end", PayloadNotify, "03044009 0000", ErrTruncated},
		{"Notify NAT-D of 19", PayloadNotify, "00004004" + strings.Repeat("00", 19), ErrInvalidSyntax},
		{"Notify NAT-D of 21", PayloadNotify, "00004005" + strings.Repeat("00", 21), ErrInvalidSyntax},
		{"Notify COOKIE empty", PayloadNotify, "00004006", ErrInvalidSyntax},
		{"Notify COOKIE of 65", PayloadNotify, "00004006" + strings.Repeat("00", 65), ErrInvalidSyntax},
		{"Notify INVALID_KE of 3", PayloadNotify, "00000011 001f00", ErrInvalidSyntax},
		{"Notify HASH_ALG odd", PayloadNotify, "0000402f 000200", ErrInvalidSyntax},
		{"Notify IPCOMP of 2", PayloadNotify, "00004003 0102", ErrInvalidSyntax},
		{"Notify ADD_4_ADDR of 16", PayloadNotify, "0000400d" + strings.Repeat("00", 16), ErrInvalidSyntax},
		{"Notify ADD_6_ADDR of 4", PayloadNotify, "0000400e 01020304", ErrInvalidSyntax},
		{"Notify SET_WINDOW_SIZE of 2", PayloadNotify, "00004001 0001", ErrInvalidSyntax},
		{"Delete short", PayloadDelete, "010000", ErrTruncated},
		{"Delete IKE SPI size 8", PayloadDelete, "01080000", ErrInvalidSyntax},
		{"Delete IKE with SPIs", PayloadDelete, "01000001", ErrInvalidSyntax},
		{"Delete IKE trailing", PayloadDelete, "01000000 00", ErrInvalidSyntax},
		{"Delete ESP SPI size 8", PayloadDelete, "03080001 00000000 00000000", ErrInvalidSyntax},
		{"Delete ESP SPI size 0", PayloadDelete, "03000000", ErrInvalidSyntax},
		{"Delete ESP missing SPI", PayloadDelete, "03040002 00000001 000000", ErrTruncated},
		{"Delete ESP extra octet", PayloadDelete, "03040001 00000001 00", ErrInvalidSyntax},
		{"TS short", PayloadTSi, "010000", ErrTruncated},
		{"TS missing selector", PayloadTSi, "02000000 07000010 0000ffff 00000000 ffffffff", ErrTruncated},
		{"TS trailing", PayloadTSr, "01000000 07000010 0000ffff 00000000 ffffffff 00", ErrInvalidSyntax},
		{"TS IPv4 length 40", PayloadTSi, "01000000 07000028 0000ffff" + strings.Repeat("00", 32), ErrInvalidSyntax},
		{"TS IPv6 length 16", PayloadTSi, "01000000 08000010 0000ffff 00000000 ffffffff", ErrInvalidSyntax},
		{"TS unknown length 3", PayloadTSi, "01000000 0a000003", ErrInvalidSyntax},
		{"TS selector past end", PayloadTSi, "01000000 07000010 0000ffff 00000000 ffffff", ErrTruncated},
		{"CP short", PayloadCP, "0100", ErrTruncated},
		{"CP attribute header", PayloadCP, "01000000 0001", ErrTruncated},
		{"CP attribute past end", PayloadCP, "01000000 00010004 c612c8", ErrTruncated},
		{"EAP short", PayloadEAP, "010100", ErrTruncated},
		{"EAP length past end", PayloadEAP, "01010007 0100", ErrTruncated},
		{"EAP length short", PayloadEAP, "01010005 010000", ErrInvalidSyntax},
		{"EAP code 0", PayloadEAP, "00010005 01", ErrInvalidSyntax},
		{"EAP code 7", PayloadEAP, "07010005 01", ErrInvalidSyntax},
		{"EAP request without type", PayloadEAP, "01010004", ErrInvalidSyntax},
		{"EAP success with data", PayloadEAP, "03010005 00", ErrInvalidSyntax},
		{"SKF short", PayloadSKF, "000100", ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := unhex(t, strings.ReplaceAll(tt.body, " ", ""))
			p := newPayload(tt.typ)
			err := p.decode(body)
			if !errors.Is(err, tt.want) {
				t.Fatalf("decode(%x) = %v, want %v", body, err, tt.want)
			}
			var pe *ProtocolError
			if !errors.As(err, &pe) || pe.Notify != NotifyInvalidSyntax {
				t.Errorf("error %v does not name INVALID_SYNTAX", err)
			}
			if !strings.HasPrefix(err.Error(), "wire: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			// In a message, the error also fails Parse.
			h := testHeader(ExchangeIKEAuth, 0)
			b := append(h.appendTo(nil, tt.typ, HeaderLen+4+len(body)),
				0, 0, byte((4+len(body))>>8), byte(4+len(body)))
			b = append(b, body...)
			if _, err := Parse(b); !errors.Is(err, tt.want) {
				t.Errorf("Parse = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestDecodeResets checks that decoding into a used payload forgets the
// previous contents.
func TestDecodeResets(t *testing.T) {
	for _, p := range allPayloads() {
		fresh := newPayload(p.Type())
		if fresh == nil {
			continue
		}
		body := p.appendTo(nil)
		if err := fresh.decode(body); err != nil {
			t.Fatalf("%s: %v", p.Type(), err)
		}
		want := reflect.ValueOf(fresh).Elem().Interface()
		for _, other := range allPayloads() {
			if other.Type() != p.Type() {
				continue
			}
			used := other
			if err := used.decode(body); err != nil {
				t.Fatal(err)
			}
			if got := reflect.ValueOf(used).Elem().Interface(); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: decode into a used payload = %+v, want %+v", p.Type(), got, want)
			}
		}
	}
}

func TestMarshalRejects(t *testing.T) {
	h := testHeader(ExchangeIKEAuth, 0)
	tests := []struct {
		name string
		ps   []Payload
	}{
		{"SK not last", []Payload{&SK{}, &Nonce{Data: seq(16, 0)}}},
		{"SKF not last", []Payload{&SKF{Number: 1, Total: 1}, &Nonce{Data: seq(16, 0)}}},
		{"Unknown of a known type", []Payload{&Unknown{Kind: PayloadSA}}},
		{"Unknown of type 0", []Payload{&Unknown{}}},
		{"short nonce", []Payload{&Nonce{Data: seq(15, 0)}}},
		{"long nonce", []Payload{&Nonce{Data: seq(257, 0)}}},
		{"payload over 64 KiB", []Payload{&VendorID{Data: make([]byte, 65532)}}},
		{"message over 64 KiB", []Payload{&VendorID{Data: make([]byte, 40000)}, &VendorID{Data: make([]byte, 40000)}}},
		{"256 selectors", []Payload{&TS{Selectors: make([]Selector, 256)}}},
		{"IPv6 address in an IPv4 selector", []Payload{&TS{Selectors: []Selector{{Type: TSIPv4AddrRange,
			Start: netip.IPv6Unspecified(), End: netip.IPv6Unspecified()}}}}},
		{"zero address in an IPv6 selector", []Payload{&TS{Selectors: []Selector{{Type: TSIPv6AddrRange}}}}},
		{"Delete IKE with SPIs", []Payload{&Delete{Protocol: ProtocolIKE, SPIs: []uint32{1}}}},
		{"Notify SPI of 256", []Payload{&Notify{Protocol: ProtocolESP, SPI: make([]byte, 256)}}},
		{"CP attribute over 64 KiB", []Payload{&CP{Attributes: []CPAttribute{{Type: 1, Value: make([]byte, 65536)}}}}},
		{"nil payload", []Payload{nil}},
	}
	for _, tt := range tests {
		m := &Message{Header: h, Payloads: tt.ps}
		if b, err := m.Marshal(); err == nil {
			t.Errorf("%s: Marshal = %x, want an error", tt.name, b)
		}
	}
}
