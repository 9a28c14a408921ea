package esp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

func mustSelector(t testing.TB, s string) Selector {
	t.Helper()
	sel, err := ParseSelector(s)
	if err != nil {
		t.Fatal(err)
	}
	return sel
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestParseSelector(t *testing.T) {
	any4 := func(a, b string) Selector { return Selector{Start: addr(a), End: addr(b), EndPort: 0xffff} }
	with := func(s Selector, proto uint8, from, to uint16) Selector {
		s.Proto, s.StartPort, s.EndPort = proto, from, to
		return s
	}
	all4 := any4("0.0.0.0", "255.255.255.255")
	all6 := any4("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
	net8 := any4("10.0.0.0", "10.255.255.255")
	for _, tt := range []struct {
		in   string
		want Selector
		str  string // String(); "" if it is in
	}{
		{"10.0.0.0/24", any4("10.0.0.0", "10.0.0.255"), ""},
		{"10.0.0.77/24", any4("10.0.0.0", "10.0.0.255"), "10.0.0.0/24"},
		{"0.0.0.0/0", all4, ""},
		{"::/0", all6, ""},
		{"192.0.2.1", any4("192.0.2.1", "192.0.2.1"), "192.0.2.1/32"},
		{"192.0.2.1/32", any4("192.0.2.1", "192.0.2.1"), ""},
		{"2001:db8::1", any4("2001:db8::1", "2001:db8::1"), "2001:db8::1/128"},
		{"2001:db8:1::/64", any4("2001:db8:1::", "2001:db8:1::ffff:ffff:ffff:ffff"), ""},
		{"10.0.0.1-10.0.0.9", any4("10.0.0.1", "10.0.0.9"), "10.0.0.1..10.0.0.9"},
		{"10.0.0.1..10.0.0.9", any4("10.0.0.1", "10.0.0.9"), ""},
		{"10.0.0.0-10.0.0.255", any4("10.0.0.0", "10.0.0.255"), "10.0.0.0/24"},
		{"10.0.0.5-10.0.0.5", any4("10.0.0.5", "10.0.0.5"), "10.0.0.5/32"},
		{"0.0.0.0-255.255.255.255", all4, "0.0.0.0/0"},
		{"2001:db8::1-2001:db8::ff", any4("2001:db8::1", "2001:db8::ff"), "2001:db8::1..2001:db8::ff"},
		{"::ffff:10.0.0.0/104", any4("::ffff:10.0.0.0", "::ffff:10.255.255.255"), ""},
		{"0.0.0.0/0[tcp/80]", with(all4, ProtoTCP, 80, 80), ""},
		{"0.0.0.0/0[TCP/80]", with(all4, ProtoTCP, 80, 80), "0.0.0.0/0[tcp/80]"},
		{"0.0.0.0/0[6/80]", with(all4, ProtoTCP, 80, 80), "0.0.0.0/0[tcp/80]"},
		{"::/0[udp/500-600]", with(all6, ProtoUDP, 500, 600), ""},
		{"::/0[udp/0-65535]", with(all6, ProtoUDP, 0, 0xffff), "::/0[udp]"},
		{"::/0[udp/any]", with(all6, ProtoUDP, 0, 0xffff), "::/0[udp]"},
		{"::/0[udp/%any]", with(all6, ProtoUDP, 0, 0xffff), "::/0[udp]"},
		{"10.0.0.0/8[tcp]", with(net8, ProtoTCP, 0, 0xffff), ""},
		{"10.0.0.0/8[any/53]", with(net8, 0, 53, 53), ""},
		{"10.0.0.0/8[/53]", with(net8, 0, 53, 53), "10.0.0.0/8[any/53]"},
		{"10.0.0.0/8[%any/53]", with(net8, 0, 53, 53), "10.0.0.0/8[any/53]"},
		{"10.0.0.0/8[any]", net8, "10.0.0.0/8"},
		{"10.0.0.0/8[]", net8, "10.0.0.0/8"},
		{"10.0.0.0/8[%any/%any]", net8, "10.0.0.0/8"},
		{"10.0.0.0/8[udp/opaque]", with(net8, ProtoUDP, 0xffff, 0), "10.0.0.0/8[udp/OPAQUE]"},
		{"10.0.0.0/8[udp/OPAQUE]", with(net8, ProtoUDP, 0xffff, 0), ""},
		{"10.0.0.0/8[any/%opaque]", with(net8, 0, 0xffff, 0), "10.0.0.0/8[any/OPAQUE]"},
		{"10.0.0.0/8[253/1-2]", with(net8, 253, 1, 2), ""},
		{"10.0.0.0/8[sctp/5]", with(net8, ProtoSCTP, 5, 5), ""},
		{"10.0.0.0/8[udplite/5]", with(net8, ProtoUDPLite, 5, 5), ""},
		{"10.0.0.0/8[esp]", with(net8, ProtoESP, 0, 0xffff), ""},
		{"10.0.0.0/8[gre]", with(net8, 47, 0, 0xffff), ""},
		{"10.0.0.0/8[l2tp]", with(net8, 115, 0, 0xffff), ""},
		{"10.0.0.0/8[udp/1701]", with(net8, ProtoUDP, 1701, 1701), ""},
		// ICMP: below 256 a type (code 0), from 256 Type<<8|Code.
		{"192.0.2.1[icmp/8]", with(any4("192.0.2.1", "192.0.2.1"), ProtoICMP, 0x0800, 0x0800), "192.0.2.1/32[icmp/8]"},
		{"192.0.2.1/32[icmp/0]", with(any4("192.0.2.1", "192.0.2.1"), ProtoICMP, 0, 0), ""},
		{"10.0.0.0/8[icmp/3(4)]", with(net8, ProtoICMP, 0x0304, 0x0304), ""},
		{"10.0.0.0/8[icmp/772]", with(net8, ProtoICMP, 0x0304, 0x0304), "10.0.0.0/8[icmp/3(4)]"},
		{"10.0.0.0/8[icmp/2048]", with(net8, ProtoICMP, 0x0800, 0x0800), "10.0.0.0/8[icmp/8]"},
		{"10.0.0.0/8[icmp/8-8(255)]", with(net8, ProtoICMP, 0x0800, 0x08ff), ""},
		{"10.0.0.0/8[icmp/3(1)-3(4)]", with(net8, ProtoICMP, 0x0301, 0x0304), ""},
		{"10.0.0.0/8[icmp/0-255]", with(net8, ProtoICMP, 0, 0xff00), ""},
		{"10.0.0.0/8[icmp]", with(net8, ProtoICMP, 0, 0xffff), ""},
		{"10.0.0.0/8[icmp/0-65535]", with(net8, ProtoICMP, 0, 0xffff), "10.0.0.0/8[icmp]"},
		{"::/0[ipv6-icmp/128-129]", with(all6, ProtoICMPv6, 0x8000, 0x8100), ""},
		{"::/0[icmpv6/135]", with(all6, ProtoICMPv6, 0x8700, 0x8700), "::/0[ipv6-icmp/135]"},
		{"::/0[58/1(4)]", with(all6, ProtoICMPv6, 0x0104, 0x0104), "::/0[ipv6-icmp/1(4)]"},
	} {
		got, err := ParseSelector(tt.in)
		if err != nil {
			t.Errorf("ParseSelector(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseSelector(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
		if !got.Valid() {
			t.Errorf("ParseSelector(%q) is not Valid", tt.in)
		}
		str := tt.str
		if str == "" {
			str = tt.in
		}
		if s := got.String(); s != str {
			t.Errorf("ParseSelector(%q).String() = %q, want %q", tt.in, s, str)
		}
		if back, err := ParseSelector(got.String()); err != nil || back != got {
			t.Errorf("round trip of %q via %q: %v, %v", tt.in, got.String(), back, err)
		}
	}
}

// randSelector returns a random valid selector: either family, a prefix or
// a range, any protocol or a common one, any, OPAQUE or random ports.
func randSelector(r *rand.Rand) Selector {
	var a, b netip.Addr
	if r.IntN(2) == 0 {
		a, b = randAddr4(r), randAddr4(r)
	} else {
		a, b = randAddr6(r), randAddr6(r)
	}
	if b.Less(a) {
		a, b = b, a
	}
	s := Selector{Start: a, End: b, EndPort: 0xffff}
	if r.IntN(3) == 0 {
		s = SelectorFromPrefix(netip.PrefixFrom(a, r.IntN(a.BitLen()+1)))
	}
	protos := []uint8{0, ProtoTCP, ProtoUDP, ProtoICMP, ProtoICMPv6, ProtoSCTP, ProtoESP, 200}
	s.Proto = protos[r.IntN(len(protos))]
	switch r.IntN(4) {
	case 1:
		s.StartPort, s.EndPort = 0xffff, 0
	case 2, 3:
		p, q := uint16(r.Uint32()), uint16(r.Uint32())
		s.StartPort, s.EndPort = min(p, q), max(p, q)
	}
	return s
}

func randAddr4(r *rand.Rand) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], r.Uint32())
	return netip.AddrFrom4(b)
}

func randAddr6(r *rand.Rand) netip.Addr {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], r.Uint64())
	binary.BigEndian.PutUint64(b[8:], r.Uint64())
	if r.IntN(2) == 0 { // often share a long prefix, so ranges are prefixes
		b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
	}
	return netip.AddrFrom16(b)
}

func TestSelectorStringRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		s := randSelector(r)
		if !s.Valid() {
			t.Fatalf("randSelector gave invalid %#v", s)
		}
		str := s.String()
		back, err := ParseSelector(str)
		if err != nil {
			t.Fatalf("ParseSelector(%q) of %#v: %v", str, s, err)
		}
		if back != s {
			t.Fatalf("round trip of %#v via %q gave %#v", s, str, back)
		}
	}
}

func TestParseSelectorErrors(t *testing.T) {
	for _, in := range []string{
		"",
		"dynamic",
		"dynamic[tcp/80]",
		"%dynamic",
		"host.example",
		" 10.0.0.0/24",
		"10.0.0.0/24 ",
		"10.0.0.0/33",
		"::/129",
		"10.0.0.0/-1",
		"10.0.0.0/24[tcp/80",
		"10.0.0.0/24[tcp/80]x",
		"10.0.0.0/24]",
		"10.0.0.0/24[[tcp]]",
		"[tcp/80]",
		"10.0.0.9-10.0.0.1",
		"10.0.0.9..10.0.0.1",
		"10.0.0.1-2001:db8::1",
		"10.0.0.1..",
		"-10.0.0.1",
		"10.0.0.1-10.0.0.2-10.0.0.3",
		"fe80::1%eth0",
		"fe80::1%eth0-fe80::2",
		"fe80::1-fe80::2%eth0",
		"10.0.0.0/24[bogus]",
		"10.0.0.0/24[256]",
		"10.0.0.0/24[-1]",
		"10.0.0.0/24[tcp/65536]",
		"10.0.0.0/24[tcp/90-80]",
		"10.0.0.0/24[tcp/-1]",
		"10.0.0.0/24[tcp/1-]",
		"10.0.0.0/24[tcp/1-2-3]",
		"10.0.0.0/24[tcp/http]",
		"10.0.0.0/24[tcp/3(4)]",
		"10.0.0.0/24[icmp/3(256)]",
		"10.0.0.0/24[icmp/256(1)]",
		"10.0.0.0/24[icmp/3(4]",
		"10.0.0.0/24[icmp/3(4)x]",
		"10.0.0.0/24[icmp/9-8]",
		"10.0.0.0/24[icmp/8(1)-8]",
	} {
		s, err := ParseSelector(in)
		if err == nil {
			t.Errorf("ParseSelector(%q) = %v, want an error", in, s)
			continue
		}
		var se *SelectorError
		if !errors.As(err, &se) || se.Input != in {
			t.Errorf("ParseSelector(%q): error %#v is not a *SelectorError for the input", in, err)
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "esp: ") || !strings.Contains(msg, fmt.Sprintf("%q", in)) {
			t.Errorf("ParseSelector(%q): error %q does not quote the input", in, msg)
		}
		if s != (Selector{}) {
			t.Errorf("ParseSelector(%q) returned %v with its error", in, s)
		}
	}
}

func TestSelectorValid(t *testing.T) {
	a4, b4, a6 := addr("10.0.0.1"), addr("10.0.0.9"), addr("2001:db8::1")
	for _, tt := range []struct {
		s    Selector
		want bool
	}{
		{Selector{Start: a4, End: b4, EndPort: 0xffff}, true},
		{Selector{Start: a4, End: a4}, true}, // port 0 only
		{Selector{Start: a4, End: b4, StartPort: 0xffff}, true},
		{Selector{}, false},
		{Selector{Start: a4, EndPort: 0xffff}, false},
		{Selector{Start: b4, End: a4, EndPort: 0xffff}, false},
		{Selector{Start: a4, End: a6, EndPort: 0xffff}, false},
		{Selector{Start: addr("::ffff:10.0.0.1"), End: b4, EndPort: 0xffff}, false},
		{Selector{Start: addr("fe80::1%eth0"), End: addr("fe80::2"), EndPort: 0xffff}, false},
		{Selector{Start: a4, End: b4, StartPort: 9, EndPort: 8}, false},
		{Selector{Start: a4, End: b4, StartPort: 0xffff, EndPort: 1}, false},
	} {
		if got := tt.s.Valid(); got != tt.want {
			t.Errorf("%#v.Valid() = %v, want %v", tt.s, got, tt.want)
		}
		if !tt.want && tt.s.String() != "invalid selector" {
			t.Errorf("%#v.String() = %q", tt.s, tt.s.String())
		}
	}
	if !mustSelector(t, "2001:db8::/32").Is6() || mustSelector(t, "10.0.0.0/8").Is6() {
		t.Error("Is6 wrong")
	}
	if SelectorFromPrefix(netip.Prefix{}).Valid() {
		t.Error("SelectorFromPrefix of the zero prefix is Valid")
	}
	if got := SelectorFromPrefix(netip.MustParsePrefix("198.18.200.7/28")); got != mustSelector(t, "198.18.200.0-198.18.200.15") {
		t.Errorf("SelectorFromPrefix(198.18.200.7/28) = %v", got)
	}
}

func TestSelectorContains(t *testing.T) {
	for _, tt := range []struct {
		sel   string
		a     string
		proto uint8
		port  uint16
		want  bool
	}{
		// Address range edges.
		{"10.0.0.1-10.0.0.9", "10.0.0.0", ProtoTCP, 80, false},
		{"10.0.0.1-10.0.0.9", "10.0.0.1", ProtoTCP, 80, true},
		{"10.0.0.1-10.0.0.9", "10.0.0.9", ProtoTCP, 80, true},
		{"10.0.0.1-10.0.0.9", "10.0.0.10", ProtoTCP, 80, false},
		{"0.0.0.0/0", "0.0.0.0", 0, 0, true},
		{"0.0.0.0/0", "255.255.255.255", ProtoUDP, 65535, true},
		{"0.0.0.0/0", "::", ProtoUDP, 1, false},
		{"0.0.0.0/0", "::ffff:10.0.0.1", ProtoUDP, 1, false},
		{"::/0", "10.0.0.1", ProtoUDP, 1, false},
		{"::/0", "::ffff:10.0.0.1", ProtoUDP, 1, true},
		{"2001:db8::1-2001:db8::1:0", "2001:db8::", ProtoUDP, 1, false},
		{"2001:db8::1-2001:db8::1:0", "2001:db8::1", ProtoUDP, 1, true},
		{"2001:db8::1-2001:db8::1:0", "2001:db8::ffff", ProtoUDP, 1, true},
		{"2001:db8::1-2001:db8::1:0", "2001:db8::1:0", ProtoUDP, 1, true},
		{"2001:db8::1-2001:db8::1:0", "2001:db8::1:1", ProtoUDP, 1, false},
		{"fe80::/64", "fe80::1%eth0", ProtoUDP, 1, true},
		{"fe80::1", "fe80::1%eth0", ProtoUDP, 1, true},
		// Protocol wildcard and restriction.
		{"10.0.0.0/8", "10.1.2.3", 47, 0, true},
		{"10.0.0.0/8[tcp]", "10.1.2.3", ProtoTCP, 443, true},
		{"10.0.0.0/8[tcp]", "10.1.2.3", ProtoUDP, 443, false},
		// Port wildcard and range edges.
		{"10.0.0.0/8[udp/500-600]", "10.1.2.3", ProtoUDP, 499, false},
		{"10.0.0.0/8[udp/500-600]", "10.1.2.3", ProtoUDP, 500, true},
		{"10.0.0.0/8[udp/500-600]", "10.1.2.3", ProtoUDP, 600, true},
		{"10.0.0.0/8[udp/500-600]", "10.1.2.3", ProtoUDP, 601, false},
		{"10.0.0.0/8[udp/500-600]", "10.1.2.3", ProtoTCP, 550, false},
		{"10.0.0.0/8[any/53]", "10.1.2.3", ProtoTCP, 53, true},
		{"10.0.0.0/8[any/53]", "10.1.2.3", ProtoUDP, 53, true},
		{"10.0.0.0/8[any/53]", "10.1.2.3", ProtoUDP, 54, false},
		{"10.0.0.0/8[tcp/0]", "10.1.2.3", ProtoTCP, 0, true},
		// OPAQUE: protocols without ports match only any or OPAQUE ports.
		{"10.0.0.0/8", "10.1.2.3", ProtoESP, 0, true},
		{"10.0.0.0/8[esp]", "10.1.2.3", ProtoESP, 0, true},
		{"10.0.0.0/8[any/0]", "10.1.2.3", ProtoESP, 0, false},
		{"10.0.0.0/8[any/0-100]", "10.1.2.3", 47, 0, false},
		{"10.0.0.0/8[esp/0]", "10.1.2.3", ProtoESP, 0, false},
		{"10.0.0.0/8[any/opaque]", "10.1.2.3", ProtoESP, 0, true},
		{"10.0.0.0/8[any/opaque]", "10.1.2.3", ProtoTCP, 80, false},
		{"10.0.0.0/8[tcp/opaque]", "10.1.2.3", ProtoTCP, 0xffff, false},
		// ICMP: Type<<8 | Code.
		{"10.0.0.0/8[icmp/8]", "10.1.2.3", ProtoICMP, 8 << 8, true},
		{"10.0.0.0/8[icmp/8]", "10.1.2.3", ProtoICMP, 8<<8 | 1, false},
		{"10.0.0.0/8[icmp/8]", "10.1.2.3", ProtoICMP, 0, false},
		{"10.0.0.0/8[icmp/8]", "10.1.2.3", ProtoTCP, 8 << 8, false},
		{"10.0.0.0/8[icmp/3-3(255)]", "10.1.2.3", ProtoICMP, 3<<8 | 4, true},
		{"10.0.0.0/8[icmp/3-3(255)]", "10.1.2.3", ProtoICMP, 4 << 8, false},
		{"10.0.0.0/8[icmp/3(4)]", "10.1.2.3", ProtoICMP, 3<<8 | 4, true},
		{"10.0.0.0/8[icmp]", "10.1.2.3", ProtoICMP, 0xffff, true},
		{"::/0[ipv6-icmp/128-129]", "2001:db8::1", ProtoICMPv6, 129 << 8, true},
		{"::/0[ipv6-icmp/128-129]", "2001:db8::1", ProtoICMPv6, 129<<8 | 1, false},
		{"::/0[ipv6-icmp/128-129]", "2001:db8::1", ProtoICMP, 128 << 8, false},
	} {
		sel := mustSelector(t, tt.sel)
		if got := sel.Contains(addr(tt.a), tt.proto, tt.port); got != tt.want {
			t.Errorf("%s.Contains(%s, %d, %d) = %v, want %v", tt.sel, tt.a, tt.proto, tt.port, got, tt.want)
		}
	}
	if (Selector{}).Contains(addr("10.0.0.1"), 0, 0) || (Selector{}).Contains(netip.Addr{}, 0, 0) {
		t.Error("the zero Selector contains something")
	}
	if mustSelector(t, "0.0.0.0/0").Contains(netip.Addr{}, 0, 0) {
		t.Error("0.0.0.0/0 contains the zero Addr")
	}
}

// TestSelectorContainsOpaqueFlow checks the OPAQUE rule for ports that a
// packet does not show (RFC 4301, Section 4.4.1.1): only any and OPAQUE
// ports match.
func TestSelectorContainsOpaqueFlow(t *testing.T) {
	a := addr("10.1.2.3")
	for _, tt := range []struct {
		sel  string
		want bool
	}{
		{"10.0.0.0/8", true},
		{"10.0.0.0/8[tcp]", true},
		{"10.0.0.0/8[udp]", false},
		{"10.0.0.0/8[tcp/0-65534]", false},
		{"10.0.0.0/8[tcp/1-65535]", false},
		{"10.0.0.0/8[tcp/0]", false},
		{"10.0.0.0/8[tcp/opaque]", true},
		{"10.0.0.0/8[any/opaque]", true},
	} {
		sel := mustSelector(t, tt.sel)
		if got := sel.contains(a, ProtoTCP, 0, true); got != tt.want {
			t.Errorf("%s contains an opaque TCP flow: %v, want %v", tt.sel, got, tt.want)
		}
	}
}

func TestSelectorIntersect(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want string // "" for none
	}{
		{"10.0.0.0/24", "10.0.1.0/24", ""},
		{"10.0.0.0/24", "10.0.0.255-10.0.1.0", "10.0.0.255/32"},
		{"10.0.0.0/16", "10.0.5.0/24", "10.0.5.0/24"},
		{"10.0.5.0/24", "10.0.0.0/16", "10.0.5.0/24"},
		{"10.0.0.10-10.0.0.20", "10.0.0.15-10.0.0.30", "10.0.0.15..10.0.0.20"},
		{"10.0.0.15-10.0.0.30", "10.0.0.10-10.0.0.20", "10.0.0.15..10.0.0.20"},
		{"10.0.0.10-10.0.0.20", "10.0.0.20-10.0.0.30", "10.0.0.20/32"},
		{"10.0.0.10-10.0.0.20", "10.0.0.21-10.0.0.30", ""},
		{"0.0.0.0/0", "::/0", ""},
		{"::/0", "2001:db8::/32", "2001:db8::/32"},
		{"2001:db8::/32", "2001:db8:0:1::-2001:db9::", "2001:db8:0:1::..2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"0.0.0.0/0[tcp]", "0.0.0.0/0[udp]", ""},
		{"0.0.0.0/0[tcp]", "10.0.0.0/8", "10.0.0.0/8[tcp]"},
		{"10.0.0.0/8", "0.0.0.0/0[tcp]", "10.0.0.0/8[tcp]"},
		{"0.0.0.0/0[tcp/80-90]", "0.0.0.0/0[any/85-100]", "0.0.0.0/0[tcp/85-90]"},
		{"0.0.0.0/0[tcp/80]", "0.0.0.0/0[tcp/81]", ""},
		{"0.0.0.0/0[tcp/80]", "0.0.0.0/0[tcp]", "0.0.0.0/0[tcp/80]"},
		{"0.0.0.0/0[udp/opaque]", "10.0.0.0/8", "10.0.0.0/8[udp/OPAQUE]"},
		{"10.0.0.0/8", "0.0.0.0/0[udp/opaque]", "10.0.0.0/8[udp/OPAQUE]"},
		{"0.0.0.0/0[udp/opaque]", "0.0.0.0/0[udp/opaque]", "0.0.0.0/0[udp/OPAQUE]"},
		{"0.0.0.0/0[udp/opaque]", "0.0.0.0/0[udp/53]", ""},
		{"0.0.0.0/0[udp/53]", "0.0.0.0/0[udp/opaque]", ""},
		{"0.0.0.0/0[icmp/8]", "0.0.0.0/0[icmp/8-8(255)]", "0.0.0.0/0[icmp/8]"},
		{"0.0.0.0/0[icmp/0-8]", "0.0.0.0/0[icmp/3(1)-9]", "0.0.0.0/0[icmp/3(1)-8]"},
		{"0.0.0.0/0[icmp/8]", "0.0.0.0/0[icmp/0]", ""},
	} {
		got, ok := mustSelector(t, tt.a).Intersect(mustSelector(t, tt.b))
		switch {
		case tt.want == "" && ok:
			t.Errorf("%s ∩ %s = %v, want none", tt.a, tt.b, got)
		case tt.want != "" && !ok:
			t.Errorf("%s ∩ %s = none, want %s", tt.a, tt.b, tt.want)
		case ok && got.String() != tt.want:
			t.Errorf("%s ∩ %s = %v, want %s", tt.a, tt.b, got, tt.want)
		case !ok && got != (Selector{}):
			t.Errorf("%s ∩ %s = none but %#v", tt.a, tt.b, got)
		}
	}
	if _, ok := (Selector{}).Intersect(mustSelector(t, "0.0.0.0/0")); ok {
		t.Error("the zero Selector intersects 0.0.0.0/0")
	}
}

// TestSelectorIntersectBrute checks Intersect on small random selectors
// against Contains, point by point: a point is in both iff it is in the
// intersection.
func TestSelectorIntersectBrute(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	small := func() Selector {
		a, b := uint32(r.IntN(16)), uint32(r.IntN(16))
		s := Selector{Start: ip4(0x0a000000 + min(a, b)), End: ip4(0x0a000000 + max(a, b)), EndPort: 0xffff}
		s.Proto = []uint8{0, ProtoTCP, ProtoUDP}[r.IntN(3)]
		switch r.IntN(4) {
		case 1:
			s.StartPort, s.EndPort = 0xffff, 0
		case 2, 3:
			p, q := uint16(r.IntN(8)), uint16(r.IntN(8))
			s.StartPort, s.EndPort = min(p, q), max(p, q)
		}
		return s
	}
	for range 3000 {
		x, y := small(), small()
		z, ok := x.Intersect(y)
		if z2, ok2 := y.Intersect(x); z2 != z || ok2 != ok {
			t.Fatalf("Intersect not symmetric: %v ∩ %v = %v,%v but %v,%v", x, y, z, ok, z2, ok2)
		}
		if ok && !z.Valid() {
			t.Fatalf("%v ∩ %v = invalid %#v", x, y, z)
		}
		for a := uint32(0x0a000000 - 1); a <= 0x0a000000+16; a++ {
			for _, proto := range []uint8{ProtoTCP, ProtoUDP, ProtoESP} {
				for port := range uint16(9) {
					for _, opaque := range []bool{false, true} {
						in := x.contains(ip4(a), proto, port, opaque) && y.contains(ip4(a), proto, port, opaque)
						inZ := ok && z.contains(ip4(a), proto, port, opaque)
						if in != inZ {
							t.Fatalf("%v ∩ %v = %v,%v: point %v proto %d port %d opaque %v in both %v, in intersection %v",
								x, y, z, ok, ip4(a), proto, port, opaque, in, inZ)
						}
					}
				}
			}
		}
	}
}

func ip4(v uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}

func TestSelectorPrefixes(t *testing.T) {
	for _, tt := range []struct {
		sel  string
		want string
	}{
		{"10.0.0.1-10.0.0.9", "10.0.0.1/32 10.0.0.2/31 10.0.0.4/30 10.0.0.8/31"},
		{"10.0.0.0/24", "10.0.0.0/24"},
		{"10.0.0.0/24[tcp/80]", "10.0.0.0/24"},
		{"192.0.2.7", "192.0.2.7/32"},
		{"0.0.0.0/0", "0.0.0.0/0"},
		{"0.0.0.1-255.255.255.255", "0.0.0.1/32 0.0.0.2/31 0.0.0.4/30 0.0.0.8/29 0.0.0.16/28 0.0.0.32/27 0.0.0.64/26 0.0.0.128/25 " +
			"0.0.1.0/24 0.0.2.0/23 0.0.4.0/22 0.0.8.0/21 0.0.16.0/20 0.0.32.0/19 0.0.64.0/18 0.0.128.0/17 0.1.0.0/16 0.2.0.0/15 " +
			"0.4.0.0/14 0.8.0.0/13 0.16.0.0/12 0.32.0.0/11 0.64.0.0/10 0.128.0.0/9 1.0.0.0/8 2.0.0.0/7 4.0.0.0/6 8.0.0.0/5 " +
			"16.0.0.0/4 32.0.0.0/3 64.0.0.0/2 128.0.0.0/1"},
		{"0.0.0.0-255.255.255.254", "0.0.0.0/1 128.0.0.0/2 192.0.0.0/3 224.0.0.0/4 240.0.0.0/5 248.0.0.0/6 252.0.0.0/7 254.0.0.0/8 " +
			"255.0.0.0/9 255.128.0.0/10 255.192.0.0/11 255.224.0.0/12 255.240.0.0/13 255.248.0.0/14 255.252.0.0/15 255.254.0.0/16 " +
			"255.255.0.0/17 255.255.128.0/18 255.255.192.0/19 255.255.224.0/20 255.255.240.0/21 255.255.248.0/22 255.255.252.0/23 " +
			"255.255.254.0/24 255.255.255.0/25 255.255.255.128/26 255.255.255.192/27 255.255.255.224/28 255.255.255.240/29 " +
			"255.255.255.248/30 255.255.255.252/31 255.255.255.254/32"},
		{"::/0", "::/0"},
		{"2001:db8::/64", "2001:db8::/64"},
		{"2001:db8::ffff-2001:db8::1:0", "2001:db8::ffff/128 2001:db8::1:0/128"},
		{"::ffff:ffff:ffff:ffff:ffff:ffff:ffff-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "0:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128 " +
			"1::/16 2::/15 4::/14 8::/13 10::/12 20::/11 40::/10 80::/9 100::/8 200::/7 400::/6 800::/5 1000::/4 2000::/3 4000::/2 8000::/1"},
	} {
		var got []string
		for _, p := range mustSelector(t, tt.sel).Prefixes() {
			got = append(got, p.String())
		}
		if g := strings.Join(got, " "); g != tt.want {
			t.Errorf("%s.Prefixes() = %s, want %s", tt.sel, g, tt.want)
		}
	}
	if (Selector{}).Prefixes() != nil {
		t.Error("the zero Selector has prefixes")
	}
}

// refPrefixCount is the reference for the minimal number of prefixes that
// cover [lo, hi] exactly: the number of maximal prefix-tree nodes inside the
// range, found by descending from node (base, bits) of a width-bit space.
func refPrefixCount(lo, hi, base *big.Int, bits, width int) int {
	size := new(big.Int).Lsh(big.NewInt(1), uint(width-bits))
	last := new(big.Int).Sub(new(big.Int).Add(base, size), big.NewInt(1))
	switch {
	case last.Cmp(lo) < 0 || base.Cmp(hi) > 0:
		return 0
	case base.Cmp(lo) >= 0 && last.Cmp(hi) <= 0:
		return 1
	}
	half := new(big.Int).Rsh(size, 1)
	return refPrefixCount(lo, hi, base, bits+1, width) +
		refPrefixCount(lo, hi, new(big.Int).Add(base, half), bits+1, width)
}

func bigAddr(a netip.Addr) *big.Int { return new(big.Int).SetBytes(a.AsSlice()) }

// TestSelectorPrefixesBrute checks Prefixes on random small IPv4 ranges
// address by address (each address of the range in exactly one prefix,
// none outside), and the count against refPrefixCount; and on random IPv6
// ranges that the prefixes tile the range in order.
func TestSelectorPrefixesBrute(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 400 {
		base := r.Uint32() &^ 0xfff
		if r.IntN(8) == 0 {
			base = 0 // include the edges of the address space
		} else if r.IntN(8) == 0 {
			base = 0xfffff000
		}
		a, b := base+uint32(r.IntN(4096)), base+uint32(r.IntN(4096))
		lo, hi := min(a, b), max(a, b)
		s := Selector{Start: ip4(lo), End: ip4(hi), EndPort: 0xffff}
		ps := s.Prefixes()
		if want := refPrefixCount(bigAddr(s.Start), bigAddr(s.End), new(big.Int), 0, 32); len(ps) != want {
			t.Fatalf("%v: %d prefixes, the minimum is %d: %v", s, len(ps), want, ps)
		}
		for v := int64(base) - 1; v <= int64(base)+4096; v++ {
			if v < 0 || v > 0xffffffff {
				continue
			}
			n := 0
			for _, p := range ps {
				if p.Contains(ip4(uint32(v))) {
					n++
				}
			}
			if want := b2i(uint32(v) >= lo && uint32(v) <= hi); n != want {
				t.Fatalf("%v: %v is in %d of %v, want %d", s, ip4(uint32(v)), n, ps, want)
			}
		}
	}
	for range 2000 {
		s := randSelector(r)
		if !s.Is6() {
			continue
		}
		ps := s.Prefixes()
		if want := refPrefixCount(bigAddr(s.Start), bigAddr(s.End), new(big.Int), 0, 128); len(ps) != want {
			t.Fatalf("%v: %d prefixes, the minimum is %d", s, len(ps), want)
		}
		next := bigAddr(s.Start)
		for _, p := range ps {
			if p != p.Masked() || bigAddr(p.Addr()).Cmp(next) != 0 {
				t.Fatalf("%v: prefix %v does not start at %v", s, p, next)
			}
			size := new(big.Int).Lsh(big.NewInt(1), uint(128-p.Bits()))
			next.Add(next, size)
		}
		if end := bigAddr(s.End); next.Cmp(end.Add(end, big.NewInt(1))) != 0 {
			t.Fatalf("%v: prefixes %v end before or after the range", s, ps)
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
