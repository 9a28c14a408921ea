package pki

import (
	"bytes"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"math/big"
	"net"
	"net/netip"
	"testing"
	"time"
)

func mustID(t *testing.T, s string) Identity {
	t.Helper()
	id, err := ParseIdentity(s)
	if err != nil {
		t.Fatalf("ParseIdentity(%q): %v", s, err)
	}
	return id
}

func mustDN(t *testing.T, s string) []byte {
	t.Helper()
	der, err := ParseDN(s)
	if err != nil {
		t.Fatalf("ParseDN(%q): %v", s, err)
	}
	return der
}

func TestParseIdentity(t *testing.T) {
	tests := []struct {
		in     string
		typ    IDType
		data   string // hex of Data, or the text with a leading '='
		string string // expected String(); "" means in
	}{
		{"198.51.100.2", IDTypeIPv4Addr, "c6336402", ""},
		{"2001:db8::2", IDTypeIPv6Addr, "20010db8000000000000000000000002", ""},
		{"::ffff:1.2.3.4", IDTypeIPv6Addr, "00000000000000000000ffff01020304", ""},
		{"vpn.example.com", IDTypeFQDN, "=vpn.example.com", ""},
		{"vpn", IDTypeFQDN, "=vpn", ""},
		{"*.example.com", IDTypeFQDN, "=*.example.com", ""},
		{"@vpn.example.com", IDTypeFQDN, "=vpn.example.com", "vpn.example.com"},
		{"@1.2.3.4", IDTypeFQDN, "=1.2.3.4", "fqdn:1.2.3.4"},
		{"fqdn:1.2.3.4", IDTypeFQDN, "=1.2.3.4", ""},
		{"dns:vpn.example.com", IDTypeFQDN, "=vpn.example.com", "vpn.example.com"},
		{"client1@example.com", IDTypeRFC822Addr, "=client1@example.com", ""},
		{"*@example.com", IDTypeRFC822Addr, "=*@example.com", ""},
		{"@@user@example.com", IDTypeRFC822Addr, "=user@example.com", "user@example.com"},
		{"@@noat", IDTypeRFC822Addr, "=noat", "email:noat"},
		{"email:user@example.com", IDTypeRFC822Addr, "=user@example.com", "user@example.com"},
		{"userfqdn:a@b", IDTypeRFC822Addr, "=a@b", "a@b"},
		{"keyid:ikego-group", IDTypeKeyID, "=ikego-group", ""},
		{"KEYID:ikego-group", IDTypeKeyID, "=ikego-group", "keyid:ikego-group"},
		{"keyid:#0a1b2c", IDTypeKeyID, "0a1b2c", ""},
		{"keyid:#0a:1b:2c", IDTypeKeyID, "0a1b2c", "keyid:#0a1b2c"},
		{"@#abc", IDTypeKeyID, "0abc", "keyid:#0abc"},
		{"ab:cd:ef", IDTypeKeyID, "=ab:cd:ef", "keyid:ab:cd:ef"},
		{"ipv4:#c6336402", IDTypeIPv4Addr, "c6336402", "198.51.100.2"},
		{"ipv4:198.51.100.2", IDTypeIPv4Addr, "c6336402", "198.51.100.2"},
		{"ipv6:::ffff:1.2.3.4", IDTypeIPv6Addr, "00000000000000000000ffff01020304", "::ffff:1.2.3.4"},
		{"ipv4:0.0.0.0", IDTypeIPv4Addr, "00000000", ""},
		{"ipv6:::", IDTypeIPv6Addr, "00000000000000000000000000000000", ""},
		{"ipv6:2001:db8::2", IDTypeIPv6Addr, "20010db8000000000000000000000002", "2001:db8::2"},
		{"{1}:#c6336402", IDTypeIPv4Addr, "c6336402", "198.51.100.2"},
		{"{0x0b}:abc", IDTypeKeyID, "=abc", "keyid:abc"},
		{"{4}:#c633640000ffffff", 4, "c633640000ffffff", "{4}:#c633640000ffffff"},
		{"asn1gn:#820376706e", IDTypeDERASN1GN, "820376706e", ""},
		{"%any", IDTypeAny, "", ""},
		{"", IDTypeAny, "", "%any"},
		{"*", IDTypeAny, "", "%any"},
		{"0.0.0.0", IDTypeAny, "", "%any"},
		{"::", IDTypeAny, "", "%any"},
		{"%any6", IDTypeAny, "", "%any"},
		{"C=CH, O=ikego, CN=vpn.example.org", IDTypeDERASN1DN,
			"3037310b3009060355040613024348310e300c060355040a1305696b65676f311830160603550403130f76706e2e6578616d706c652e6f7267", ""},
		{"/C=CH/O=ikego/CN=vpn.example.org", IDTypeDERASN1DN,
			"3037310b3009060355040613024348310e300c060355040a1305696b65676f311830160603550403130f76706e2e6578616d706c652e6f7267",
			"C=CH, O=ikego, CN=vpn.example.org"},
		{"c=CH,o = ikego ,  cn=vpn.example.org  ", IDTypeDERASN1DN,
			"3037310b3009060355040613024348310e300c060355040a1305696b65676f311830160603550403130f76706e2e6578616d706c652e6f7267",
			"C=CH, O=ikego, CN=vpn.example.org"},
		{"asn1dn:C=CH, O=ikego, CN=vpn.example.org", IDTypeDERASN1DN,
			"3037310b3009060355040613024348310e300c060355040a1305696b65676f311830160603550403130f76706e2e6578616d706c652e6f7267",
			"C=CH, O=ikego, CN=vpn.example.org"},
		// '*' and '@' are not PrintableString characters: UTF8String and,
		// for E, IA5String, as strongSwan encodes them.
		{"CN=*", IDTypeDERASN1DN, "300c310a300806035504030c012a", ""},
		{"E=a@b.c", IDTypeDERASN1DN, "3016311430120609" + "2a864886f70d010901" + "1605614062" + "2e63", ""},
		{"CN=a=b", IDTypeDERASN1DN, "300e310c300a06035504031303613d62", ""},
		{"CN=", IDTypeDERASN1DN, "300b310930070603550403130" + "0", ""},
		{"EN=1", IDTypeDERASN1DN, "30133111300f060a6086480186f842030103130131", "employeeNumber=1"},
	}
	for _, tt := range tests {
		id, err := ParseIdentity(tt.in)
		if err != nil {
			t.Errorf("ParseIdentity(%q): %v", tt.in, err)
			continue
		}
		want := []byte(tt.data[min(1, len(tt.data)):])
		if len(tt.data) == 0 || tt.data[0] != '=' {
			want, _ = hex.DecodeString(tt.data)
		}
		if id.Type != tt.typ || !bytes.Equal(id.Data, want) {
			t.Errorf("ParseIdentity(%q) = %v %x, want %v %x", tt.in, id.Type, id.Data, tt.typ, want)
		}
		ws := tt.string
		if ws == "" {
			ws = tt.in
		}
		if got := id.String(); got != ws {
			t.Errorf("ParseIdentity(%q).String() = %q, want %q", tt.in, got, ws)
		}
		back, err := ParseIdentity(id.String())
		if err != nil || !back.Equal(id) {
			t.Errorf("ParseIdentity(%q) of %q = %v, %v; not equal", id.String(), tt.in, back, err)
		}
	}
}

func TestParseIdentityErrors(t *testing.T) {
	for _, s := range []string{
		"X=1",                // unknown attribute (strongSwan: KEY_ID)
		"S=Smith",            // not in strongSwan 5.9.8's table
		"CN=x, O",            // unterminated attribute
		"CN=x,,O=y",          // empty RDN
		"=x",                 // no attribute name
		"E=ä@example.com",    // IA5String must be ASCII
		"ipv4:2001:db8::1",   // wrong family
		"ipv4:1.2.3",         // not an address
		"ipv6:1.2.3.4",       // wrong family
		"ipv4:#010203",       // 3 octets
		"keyid:#zz",          // bad hex
		"ipv4net:10.0.0.0/8", // unsupported types
		"xmppaddr:a@b",       // unsupported
		"asn1dn:#3001",       // malformed DER
		"asn1gn:notation",    // GN only as hex
		"@",                  // empty FQDN
		"{256}:x",            // type out of range
		"{0}:x",              // ID_ANY with data
		"CN=a\x00b",          // NUL
		"keyid:",             // empty key id
		"CN=\xff",            // not UTF-8
		"fe80::1%eth0=1",     // '=' makes it a DN, bad name
	} {
		if id, err := ParseIdentity(s); err == nil {
			t.Errorf("ParseIdentity(%q) = %v %x, want error", s, id.Type, id.Data)
		}
	}
}

func TestIdentityStringRoundTrip(t *testing.T) {
	dn := mustDN(t, "C=CH, O=ikego, CN=vpn.example.org")
	// A DN the string form cannot express: an unknown attribute.
	unknown, _ := asn1.Marshal(pkix.RDNSequence{{{Type: asn1.ObjectIdentifier{2, 5, 4, 97}, Value: "x"}}})
	// A value with a comma, and a multi-valued RDN.
	comma, _ := asn1.Marshal(pkix.RDNSequence{{{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "a, b"}}})
	multi, _ := asn1.Marshal(pkix.RDNSequence{{
		{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "a"},
		{Type: asn1.ObjectIdentifier{2, 5, 4, 10}, Value: "b"},
	}})
	ids := []Identity{
		{Type: IDTypeDERASN1DN, Data: dn},
		{Type: IDTypeDERASN1DN, Data: unknown},
		{Type: IDTypeDERASN1DN, Data: comma},
		{Type: IDTypeDERASN1DN, Data: multi},
		{Type: IDTypeDERASN1DN, Data: []byte{0x30, 0}},
		{Type: IDTypeFQDN, Data: []byte("1.2.3.4")},
		{Type: IDTypeFQDN, Data: []byte("a=b")},
		{Type: IDTypeFQDN, Data: []byte("a@b")},
		{Type: IDTypeFQDN, Data: []byte("%any")},
		{Type: IDTypeFQDN, Data: []byte("*")},
		{Type: IDTypeFQDN, Data: []byte("keyid:x")},
		{Type: IDTypeFQDN, Data: []byte("#x")},
		{Type: IDTypeFQDN, Data: []byte("tab\there")},
		{Type: IDTypeFQDN, Data: []byte("ab:cd")},
		{Type: IDTypeRFC822Addr, Data: []byte("@x")},
		{Type: IDTypeRFC822Addr, Data: []byte("x")},
		{Type: IDTypeRFC822Addr, Data: []byte("a=b@c")},
		{Type: IDTypeKeyID, Data: []byte{0, 1, 2, 0xff}},
		{Type: IDTypeKeyID, Data: []byte("#hash")},
		{Type: IDTypeKeyID, Data: bytes.Repeat([]byte{'a'}, 20)},
		{Type: IDTypeDERASN1GN, Data: []byte{0x82, 1, 'x'}},
		{Type: 7, Data: []byte{1, 2, 3, 4, 1, 2, 3, 5}},
		{Type: 200, Data: nil},
		AddrIdentity(netip.MustParseAddr("198.51.100.2")),
		AddrIdentity(netip.MustParseAddr("::ffff:198.51.100.2")),
		AddrIdentity(netip.MustParseAddr("2001:db8::1")),
		AddrIdentity(netip.MustParseAddr("0.0.0.0")), // not %any
		AddrIdentity(netip.MustParseAddr("::")),
		{},
	}
	for _, id := range ids {
		s := id.String()
		back, err := ParseIdentity(s)
		if err != nil || !back.Equal(id) {
			t.Errorf("%v %x: String %q parses to %v %x, %v", id.Type, id.Data, s, back.Type, back.Data, err)
		}
	}
	if s := (Identity{Type: IDTypeDERASN1DN, Data: unknown}).String(); s != "asn1dn:#"+hex.EncodeToString(unknown) {
		t.Errorf("unknown attribute DN prints as %q", s)
	}
	if s := (Identity{Type: IDTypeIPv4Addr, Data: []byte{1, 2, 3}}).String(); s != "(invalid ID_IPV4_ADDR)" {
		t.Errorf("3-octet ID_IPV4_ADDR prints as %q", s)
	}
	if s := (Identity{Type: IDTypeIPv6Addr, Data: []byte{1, 2, 3, 4}}).String(); s != "(invalid ID_IPV6_ADDR)" {
		t.Errorf("4-octet ID_IPV6_ADDR prints as %q", s)
	}
}

func TestIdentityWire(t *testing.T) {
	for _, s := range []string{"198.51.100.2", "2001:db8::2", "vpn.example.com", "a@b", "C=CH, CN=x", "keyid:#01", "asn1gn:#820178"} {
		id := mustID(t, s)
		b, err := id.MarshalBinary()
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if b[0] != byte(id.Type) || !bytes.Equal(b[1:4], []byte{0, 0, 0}) || !bytes.Equal(b[4:], id.Data) {
			t.Errorf("%s: wire form %x", s, b)
		}
		// IKEv1 puts protocol and port where IKEv2 has RESERVED.
		b[1], b[2], b[3] = 17, 0x01, 0xf4
		var back Identity
		if err := back.UnmarshalBinary(b); err != nil || !back.Equal(id) {
			t.Errorf("%s: decode %x = %v, %v", s, b, back, err)
		}
		b[4%len(b)] ^= 0 // back.Data must not alias b
		if len(back.Data) > 0 && &back.Data[0] == &b[4] {
			t.Errorf("%s: decoded Data aliases the input", s)
		}
	}
	bad := [][]byte{
		nil,
		{1, 0, 0},
		{0, 0, 0, 0},                   // reserved type 0
		{1, 0, 0, 0, 1, 2, 3},          // 3-octet IPv4
		{5, 0, 0, 0, 1, 2, 3, 4},       // 4-octet IPv6
		{2, 0, 0, 0},                   // empty FQDN
		{9, 0, 0, 0, 0x30, 1},          // truncated DN
		{9, 0, 0, 0, 0x30, 2, 0x31, 0}, // empty RDN SET
		{9, 0, 0, 0, 0x30, 0, 0},       // trailing byte
		{11, 0, 0, 0},                  // empty key id
	}
	for _, b := range bad {
		if id, err := DecodeIdentity(b); err == nil {
			t.Errorf("DecodeIdentity(%x) = %v, want error", b, id)
		}
	}
	if _, err := (Identity{}).MarshalBinary(); err == nil {
		t.Error("ID_ANY marshals")
	}
	if _, err := (Identity{Type: IDTypeIPv4Addr, Data: []byte{1}}).MarshalBinary(); err == nil {
		t.Error("1-octet ID_IPV4_ADDR marshals")
	}
	// Types this package does not define are kept.
	id, err := DecodeIdentity([]byte{4, 0, 0, 0, 10, 0, 0, 0, 255, 0, 0, 0})
	if err != nil || id.Type != 4 || len(id.Data) != 8 {
		t.Errorf("ID_IPV4_ADDR_SUBNET: %v %x %v", id.Type, id.Data, err)
	}
}

func TestIdentityEqual(t *testing.T) {
	tests := []struct {
		a, b  string
		equal bool
	}{
		{"vpn.example.com", "VPN.Example.COM", true},
		{"vpn.example.com", "vpn.example.co", false},
		{"a@example.com", "A@EXAMPLE.com", true},
		{"a@example.com", "vpn.example.com", false},
		{"C=CH, O=ikego, CN=vpn", "c=ch, o=IKEGO, cn=VPN", true},  // PrintableString: case ignored
		{"C=CH, O=ikego, CN=v*n", "C=CH, O=ikego, CN=V*N", false}, // UTF8String: case kept
		{"E=A@B.C", "E=a@b.c", true},                              // email: case ignored
		{"C=CH, O=ikego, CN=vpn", "O=ikego, C=CH, CN=vpn", false}, // order matters
		{"C=CH, O=ikego, CN=vpn", "C=CH, O=ikego", false},         // count matters
		{"CN=*", "CN=x", false},                                   // no wildcards in Equal
		{"198.51.100.2", "198.51.100.2", true},
		{"198.51.100.2", "198.51.100.3", false},
		{"198.51.100.2", "::ffff:198.51.100.2", false},
		{"keyid:abc", "keyid:ABC", false},
		{"%any", "*", true},
	}
	for _, tt := range tests {
		a, b := mustID(t, tt.a), mustID(t, tt.b)
		if a.Equal(b) != tt.equal || b.Equal(a) != tt.equal {
			t.Errorf("%q equal %q = %v, want %v", tt.a, tt.b, a.Equal(b), tt.equal)
		}
	}
	// A NUL never compares equal (strongSwan rejects such IDs).
	n := Identity{Type: IDTypeFQDN, Data: []byte("a\x00")}
	if n.Equal(n) {
		t.Error("FQDN with NUL equals itself")
	}
	// PrintableString against UTF8String of the same bytes: equal, as in
	// strongSwan (compared byte for byte).
	p := mustDN(t, "CN=vpn")
	u := bytes.Clone(p)
	u[len(u)-5] = asn1.TagUTF8String
	if !(Identity{Type: IDTypeDERASN1DN, Data: p}).Equal(Identity{Type: IDTypeDERASN1DN, Data: u}) {
		t.Error("PrintableString and UTF8String DN differ")
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		id, pattern string
		mode        RDNMatching
		want        MatchLevel
	}{
		// ID_ANY matches everything.
		{"vpn.example.com", "%any", RDNStrict, MatchAny},
		{"C=CH, CN=x", "%any", RDNStrict, MatchAny},
		{"198.51.100.2", "%any", RDNStrict, MatchAny},
		{"keyid:x", "%any", RDNStrict, MatchAny},
		// FQDN.
		{"vpn.example.com", "vpn.example.com", RDNStrict, MatchPerfect},
		{"vpn.example.com", "VPN.example.com", RDNStrict, MatchPerfect},
		{"vpn.example.com", "*.example.com", RDNStrict, MatchOneWildcard},
		{"a.b.example.com", "*.example.com", RDNStrict, MatchOneWildcard},
		{"VPN.EXAMPLE.COM", "*.example.com", RDNStrict, MatchOneWildcard},
		{"example.com", "*.example.com", RDNStrict, MatchNone},
		{"badexample.com", "*.example.com", RDNStrict, MatchNone},
		{"badexample.com", "*example.com", RDNStrict, MatchOneWildcard},
		{"vpn.example.org", "*.example.com", RDNStrict, MatchNone},
		{"vpn.example.com", "vpn.*.com", RDNStrict, MatchNone}, // only a leading '*' is a wildcard
		{"vpn.example.com", "fqdn:*", RDNStrict, MatchAny},
		{"vpn.example.com", "*@example.com", RDNStrict, MatchNone}, // type differs
		// RFC822.
		{"alice@example.com", "alice@example.com", RDNStrict, MatchPerfect},
		{"alice@example.com", "*@example.com", RDNStrict, MatchOneWildcard},
		{"alice@EXAMPLE.com", "*@example.com", RDNStrict, MatchOneWildcard},
		{"alice@sub.example.com", "*@example.com", RDNStrict, MatchNone},
		{"alice@sub.example.com", "*example.com", RDNStrict, MatchNone}, // "*example.com" is an FQDN
		{"alice@sub.example.com", "email:*example.com", RDNStrict, MatchOneWildcard},
		{"@example.com", "*@example.com", RDNStrict, MatchNone},
		{"alice@example.com", "alice.example.com", RDNStrict, MatchNone},
		// Addresses and key ids: exact.
		{"198.51.100.2", "198.51.100.2", RDNStrict, MatchPerfect},
		{"198.51.100.2", "198.51.100.3", RDNStrict, MatchNone},
		{"2001:db8::2", "2001:db8::2", RDNStrict, MatchPerfect},
		{"2001:db8::2", "198.51.100.2", RDNStrict, MatchNone},
		{"keyid:abc", "keyid:abc", RDNStrict, MatchPerfect},
		{"keyid:abc", "keyid:*", RDNStrict, MatchNone},
		// DN, strict: same RDNs in the same order; "*" any value.
		{"C=CH, O=ikego, CN=vpn", "C=CH, O=ikego, CN=vpn", RDNStrict, MatchPerfect},
		{"C=CH, O=ikego, CN=vpn", "c=ch, o=IKEGO, cn=vpn", RDNStrict, MatchPerfect},
		{"C=CH, O=ikego, CN=vpn", "C=CH, O=ikego, CN=*", RDNStrict, MatchOneWildcard},
		{"C=CH, O=ikego, CN=vpn", "C=*, O=*, CN=*", RDNStrict, MatchPerfect - 3},
		{"C=CH, O=ikego, CN=vpn", "C=CH, O=other, CN=*", RDNStrict, MatchNone},
		{"C=CH, O=ikego, CN=vpn", "O=ikego, C=CH, CN=vpn", RDNStrict, MatchNone},
		{"C=CH, O=ikego, CN=vpn", "C=CH, CN=vpn", RDNStrict, MatchNone},
		{"C=CH, CN=vpn", "C=CH, O=*, CN=vpn", RDNStrict, MatchNone},
		{"C=CH, O=ikego, CN=vpn", "C=CH, OU=*, CN=vpn", RDNStrict, MatchNone}, // wildcard keeps the type
		{"C=CH, O=ikego, CN=v*n", "C=CH, O=ikego, CN=v*n", RDNStrict, MatchPerfect},
		{"C=CH, O=ikego, CN=vpn", "C=CH, O=ikego, CN=v*", RDNStrict, MatchNone}, // no partial wildcards in RDNs
		{"C=CH, O=ikego, CN=*", "C=CH, O=ikego, CN=*", RDNStrict, MatchPerfect},
		// DN, reordered.
		{"C=CH, O=ikego, CN=vpn", "O=ikego, C=CH, CN=vpn", RDNReordered, MatchPerfect},
		{"C=CH, O=ikego, CN=vpn", "CN=*, C=CH, O=ikego", RDNReordered, MatchOneWildcard},
		{"C=CH, O=ikego, CN=vpn", "O=ikego, CN=vpn", RDNReordered, MatchNone},
		{"OU=a, OU=b, CN=x", "OU=*, OU=b, CN=x", RDNReordered, MatchOneWildcard},
		{"OU=b, OU=a, CN=x", "OU=*, OU=b, CN=x", RDNReordered, MatchOneWildcard},
		{"OU=a, OU=c, CN=x", "OU=*, OU=b, CN=x", RDNReordered, MatchNone},
		// DN, relaxed: extra RDNs of the DN count as wildcards.
		{"C=CH, O=ikego, OU=vpn, CN=vpn", "CN=vpn, O=ikego", RDNRelaxed, MatchPerfect - 2},
		{"C=CH, O=ikego, CN=vpn", "CN=vpn, O=other", RDNRelaxed, MatchNone},
		{"C=CH, CN=vpn", "C=CH, O=ikego, CN=vpn", RDNRelaxed, MatchNone},
		{"C=CH, O=ikego, CN=vpn", "C=CH, O=ikego, CN=vpn", RDNRelaxed, MatchPerfect},
		// Many wildcards never fall to MatchMaxWildcards or below.
		{"DC=a, DC=b, DC=c, DC=d, DC=e, DC=f, DC=g, DC=h, DC=i, DC=j, DC=k, DC=l, DC=m, DC=n, DC=o, DC=p, DC=q, DC=r, DC=s",
			"DC=*, DC=*, DC=*, DC=*, DC=*, DC=*, DC=*, DC=*, DC=*, DC=*, DC=*, DC=*, DC=*, DC=*, DC=*, DC=*, DC=*, DC=*, DC=*",
			RDNStrict, MatchPerfect - 17},
	}
	for _, tt := range tests {
		id, p := mustID(t, tt.id), mustID(t, tt.pattern)
		if got := id.Match(p, tt.mode); got != tt.want {
			t.Errorf("%q.Match(%q, %d) = %d, want %d", tt.id, tt.pattern, tt.mode, got, tt.want)
		}
		if tt.mode == RDNStrict && id.Matches(p) != (tt.want > MatchNone) {
			t.Errorf("%q.Matches(%q) = %v", tt.id, tt.pattern, id.Matches(p))
		}
	}
}

func TestHasWildcards(t *testing.T) {
	for s, want := range map[string]bool{
		"%any": true, "*.example.com": true, "*@example.com": true, "C=CH, CN=*": true,
		"vpn.example.com": false, "C=CH, CN=v*n": false, "198.51.100.2": false, "keyid:*": false,
	} {
		if got := mustID(t, s).HasWildcards(); got != want {
			t.Errorf("%q.HasWildcards() = %v", s, got)
		}
	}
}

// directoryNameSAN builds a subjectAltName extension with a dNSName and a
// directoryName, which crypto/x509 cannot make from a template.
func directoryNameSAN(t *testing.T, dns string, dn []byte) pkix.Extension {
	t.Helper()
	names := []asn1.RawValue{
		{Class: asn1.ClassContextSpecific, Tag: 2, Bytes: []byte(dns)},
		{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: dn},
	}
	v, err := asn1.Marshal(names)
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: oidSubjectAltName, Value: v}
}

func TestMatchCertificate(t *testing.T) {
	ca := testCA(t)
	cert, _, err := ca.Issue(Request{
		Profile: ProfileServer,
		Subject: "C=CH, O=ikego, CN=vpn.example.org",
		Names:   []string{"vpn.example.org", "198.51.100.2", "2001:db8::2", "admin@example.org"},
		KeyType: KeyTypeECDSAP256,
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id   string
		want MatchLevel
	}{
		{"C=CH, O=ikego, CN=vpn.example.org", MatchPerfect},
		{"C=CH, O=ikego, CN=*", MatchOneWildcard},
		{"O=ikego, C=CH, CN=vpn.example.org", MatchNone},
		{"vpn.example.org", MatchPerfect},
		{"VPN.example.ORG", MatchPerfect},
		{"*.example.org", MatchOneWildcard},
		{"other.example.org", MatchNone},
		{"198.51.100.2", MatchPerfect},
		{"198.51.100.3", MatchNone},
		{"2001:db8::2", MatchPerfect},
		{"admin@example.org", MatchPerfect},
		{"*@example.org", MatchOneWildcard},
		{"%any", MatchAny},
		{"keyid:#" + hex.EncodeToString(cert.SubjectKeyId), MatchPerfect},
		{"keyid:#" + hex.EncodeToString(cert.SerialNumber.Bytes()), MatchPerfect},
		{"keyid:#00", MatchNone},
	}
	for _, tt := range tests {
		if got := MatchCertificateLevel(mustID(t, tt.id), cert, RDNStrict); got != tt.want {
			t.Errorf("MatchCertificateLevel(%q) = %d, want %d", tt.id, got, tt.want)
		}
		if got := MatchCertificate(mustID(t, tt.id), cert); got != (tt.want > MatchNone) {
			t.Errorf("MatchCertificate(%q) = %v", tt.id, got)
		}
	}
	// Key ids as strongSwan computes them: SHA-1 of the public key and of
	// the SubjectPublicKeyInfo, and of the whole certificate.
	bits, _ := subjectPublicKeyBits(cert.RawSubjectPublicKeyInfo)
	for _, h := range [][20]byte{sha1.Sum(bits), sha1.Sum(cert.RawSubjectPublicKeyInfo), sha1.Sum(cert.Raw)} {
		if !MatchCertificate(Identity{Type: IDTypeKeyID, Data: h[:]}, cert) {
			t.Errorf("key id %x does not match", h)
		}
	}
	// A reordered match needs RDNReordered.
	if got := MatchCertificateLevel(mustID(t, "O=ikego, C=CH, CN=*"), cert, RDNReordered); got != MatchOneWildcard {
		t.Errorf("reordered: %d", got)
	}

	// A directoryName subjectAltName matches DN identities, and an empty
	// subject is not an identity.
	dn := mustDN(t, "O=ikego, CN=alt")
	key, _ := GenerateKey(KeyTypeECDSAP256, nil)
	tmpl := &x509.Certificate{
		SerialNumber:    big.NewInt(7),
		NotBefore:       time.Now().Add(-time.Hour),
		NotAfter:        time.Now().Add(time.Hour),
		ExtraExtensions: []pkix.Extension{directoryNameSAN(t, "alt.example.org", dn)},
	}
	der, err := x509.CreateCertificate(nil, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	alt, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ids := CertificateIdentities(alt)
	if len(ids) != 2 || ids[0].String() != "alt.example.org" || ids[1].String() != "O=ikego, CN=alt" {
		t.Errorf("CertificateIdentities = %v", ids)
	}
	if !MatchCertificate(mustID(t, "O=ikego, CN=*"), alt) || MatchCertificate(mustID(t, "O=x, CN=alt"), alt) {
		t.Error("directoryName matching")
	}
	_ = net.IP(nil)
}
