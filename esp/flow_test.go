package esp

import (
	"encoding/binary"
	"testing"
)

// Packets for flow tests are built by hand: an IP header, extension
// headers, a transport header.

// pkt4 returns an IPv4 packet; frag is the flags and fragment offset word,
// opts the options (a multiple of 4 octets).
func pkt4(src, dst string, proto uint8, frag uint16, opts, payload []byte) []byte {
	hlen := 20 + len(opts)
	b := make([]byte, hlen+len(payload))
	b[0] = 0x40 | byte(hlen/4)
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	binary.BigEndian.PutUint16(b[4:], 0x1234)
	binary.BigEndian.PutUint16(b[6:], frag)
	b[8], b[9] = 64, proto
	s, d := addr(src).As4(), addr(dst).As4()
	copy(b[12:], s[:])
	copy(b[16:], d[:])
	copy(b[20:], opts)
	binary.BigEndian.PutUint16(b[10:], ^checksum(b[:hlen], 0))
	copy(b[hlen:], payload)
	return b
}

// pkt6 returns an IPv6 packet whose first header is nh.
func pkt6(src, dst string, nh uint8, rest []byte) []byte {
	b := make([]byte, 40+len(rest))
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], uint16(len(rest)))
	b[6], b[7] = nh, 64
	s, d := addr(src).As16(), addr(dst).As16()
	copy(b[8:], s[:])
	copy(b[24:], d[:])
	copy(b[40:], rest)
	return b
}

// ext6 returns an IPv6 extension header of total length n (a multiple of
// 8) followed by rest.
func ext6(next uint8, n int, rest []byte) []byte {
	b := make([]byte, n, n+len(rest))
	b[0], b[1] = next, byte(n/8-1)
	for i := 2; i < n; i++ {
		b[i] = 1 // PadN-ish filler; contents do not matter
	}
	return append(b, rest...)
}

// frag6 returns an IPv6 fragment header followed by rest.
func frag6(next uint8, offset uint16, more bool, rest []byte) []byte {
	b := make([]byte, 8, 8+len(rest))
	b[0] = next
	w := offset << 3
	if more {
		w |= 1
	}
	binary.BigEndian.PutUint16(b[2:], w)
	binary.BigEndian.PutUint32(b[4:], 0xdeadbeef)
	return append(b, rest...)
}

// ports returns a transport header of n octets starting with the two ports.
func ports(src, dst uint16, n int) []byte {
	b := make([]byte, n)
	binary.BigEndian.PutUint16(b[0:], src)
	binary.BigEndian.PutUint16(b[2:], dst)
	for i := 4; i < n; i++ {
		b[i] = byte(i)
	}
	return b
}

func icmpMsg(typ, code uint8) []byte {
	return []byte{typ, code, 0xab, 0xcd, 0, 1, 0, 2, 'p', 'i', 'n', 'g'}
}

func espMsg() []byte { return []byte{0, 0, 0x10, 0x01, 0, 0, 0, 1, 9, 9, 9, 9, 9, 9, 9, 9} }

type flowCase struct {
	name string
	pkt  []byte
	want Flow
}

func flowCases() []flowCase {
	a4, b4 := addr("198.18.200.2"), addr("203.0.113.10")
	a6, b6 := addr("2001:db8:200::2"), addr("2001:db8:1::10")
	const s4, d4, s6, d6 = "198.18.200.2", "203.0.113.10", "2001:db8:200::2", "2001:db8:1::10"
	return []flowCase{
		{"v4 tcp", pkt4(s4, d4, ProtoTCP, 0x4000, nil, ports(40000, 443, 20)),
			Flow{Src: a4, Dst: b4, Proto: ProtoTCP, SrcPort: 40000, DstPort: 443}},
		{"v4 udp", pkt4(s4, d4, ProtoUDP, 0, nil, ports(500, 4500, 8)),
			Flow{Src: a4, Dst: b4, Proto: ProtoUDP, SrcPort: 500, DstPort: 4500}},
		{"v4 udp options", pkt4(s4, d4, ProtoUDP, 0, []byte{1, 1, 1, 0, 1, 1, 1, 0}, ports(53, 5353, 12)),
			Flow{Src: a4, Dst: b4, Proto: ProtoUDP, SrcPort: 53, DstPort: 5353}},
		{"v4 udplite", pkt4(s4, d4, ProtoUDPLite, 0, nil, ports(7, 8, 8)),
			Flow{Src: a4, Dst: b4, Proto: ProtoUDPLite, SrcPort: 7, DstPort: 8}},
		{"v4 sctp", pkt4(s4, d4, ProtoSCTP, 0, nil, ports(36412, 36412, 12)),
			Flow{Src: a4, Dst: b4, Proto: ProtoSCTP, SrcPort: 36412, DstPort: 36412}},
		{"v4 dccp", pkt4(s4, d4, protoDCCP, 0, nil, ports(5004, 5005, 16)),
			Flow{Src: a4, Dst: b4, Proto: protoDCCP, SrcPort: 5004, DstPort: 5005}},
		{"v4 icmp echo", pkt4(s4, d4, ProtoICMP, 0, nil, icmpMsg(8, 0)),
			Flow{Src: a4, Dst: b4, Proto: ProtoICMP, SrcPort: 0x0800, DstPort: 0x0800}},
		{"v4 icmp frag needed", pkt4(s4, d4, ProtoICMP, 0, nil, icmpMsg(3, 4)),
			Flow{Src: a4, Dst: b4, Proto: ProtoICMP, SrcPort: 0x0304, DstPort: 0x0304}},
		{"v4 esp", pkt4(s4, d4, ProtoESP, 0, nil, espMsg()),
			Flow{Src: a4, Dst: b4, Proto: ProtoESP}},
		{"v4 gre", pkt4(s4, d4, 47, 0, nil, []byte{0, 0, 8, 0}),
			Flow{Src: a4, Dst: b4, Proto: 47}},
		{"v4 first fragment", pkt4(s4, d4, ProtoUDP, 0x2000, nil, ports(1, 2, 24)),
			Flow{Src: a4, Dst: b4, Proto: ProtoUDP, SrcPort: 1, DstPort: 2}},
		{"v4 later fragment", pkt4(s4, d4, ProtoUDP, 0x2003, nil, ports(1, 2, 24)),
			Flow{Src: a4, Dst: b4, Proto: ProtoUDP, Opaque: true}},
		{"v4 last fragment", pkt4(s4, d4, ProtoTCP, 0x0100, nil, ports(1, 2, 24)),
			Flow{Src: a4, Dst: b4, Proto: ProtoTCP, Opaque: true}},
		{"v4 later fragment esp", pkt4(s4, d4, ProtoESP, 0x0100, nil, espMsg()),
			Flow{Src: a4, Dst: b4, Proto: ProtoESP}},
		{"v4 udp header cut", pkt4(s4, d4, ProtoUDP, 0, nil, []byte{1, 2, 3}),
			Flow{Src: a4, Dst: b4, Proto: ProtoUDP, Opaque: true}},
		{"v4 icmp header cut", pkt4(s4, d4, ProtoICMP, 0, nil, []byte{8}),
			Flow{Src: a4, Dst: b4, Proto: ProtoICMP, Opaque: true}},
		{"v4 no payload", pkt4(s4, d4, ProtoTCP, 0, nil, nil),
			Flow{Src: a4, Dst: b4, Proto: ProtoTCP, Opaque: true}},
		{"v4 padded", append(pkt4(s4, d4, ProtoUDP, 0, nil, ports(9, 10, 8)), 0, 0, 0, 0, 0, 0),
			Flow{Src: a4, Dst: b4, Proto: ProtoUDP, SrcPort: 9, DstPort: 10}},
		{"v6 udp", pkt6(s6, d6, ProtoUDP, ports(546, 547, 8)),
			Flow{Src: a6, Dst: b6, Proto: ProtoUDP, SrcPort: 546, DstPort: 547}},
		{"v6 tcp after hbh, routing, dstopts", pkt6(s6, d6, protoHopByHop,
			ext6(protoRouting, 8, ext6(protoDstOpts, 24, ext6(ProtoTCP, 16, ports(22, 50000, 20))))),
			Flow{Src: a6, Dst: b6, Proto: ProtoTCP, SrcPort: 22, DstPort: 50000}},
		{"v6 atomic fragment", pkt6(s6, d6, protoFragment, frag6(ProtoUDP, 0, false, ports(5, 6, 8))),
			Flow{Src: a6, Dst: b6, Proto: ProtoUDP, SrcPort: 5, DstPort: 6}},
		{"v6 first fragment after dstopts", pkt6(s6, d6, protoDstOpts, ext6(protoFragment, 8, frag6(ProtoSCTP, 0, true, ports(5, 6, 32)))),
			Flow{Src: a6, Dst: b6, Proto: ProtoSCTP, SrcPort: 5, DstPort: 6}},
		{"v6 later fragment", pkt6(s6, d6, protoRouting, ext6(protoFragment, 8, frag6(ProtoTCP, 185, true, ports(5, 6, 32)))),
			Flow{Src: a6, Dst: b6, Proto: ProtoTCP, Opaque: true}},
		{"v6 later fragment of dstopts", pkt6(s6, d6, protoFragment, frag6(protoDstOpts, 1, false, make([]byte, 16))),
			Flow{Src: a6, Dst: b6, Proto: protoDstOpts}},
		{"v6 icmpv6 echo", pkt6(s6, d6, ProtoICMPv6, icmpMsg(128, 0)),
			Flow{Src: a6, Dst: b6, Proto: ProtoICMPv6, SrcPort: 0x8000, DstPort: 0x8000}},
		{"v6 icmpv6 packet too big", pkt6(s6, d6, protoDstOpts, ext6(ProtoICMPv6, 8, icmpMsg(2, 0))),
			Flow{Src: a6, Dst: b6, Proto: ProtoICMPv6, SrcPort: 0x0200, DstPort: 0x0200}},
		{"v6 esp after dstopts", pkt6(s6, d6, protoDstOpts, ext6(ProtoESP, 8, espMsg())),
			Flow{Src: a6, Dst: b6, Proto: ProtoESP}},
		{"v6 ah is final", pkt6(s6, d6, ProtoAH, append([]byte{ProtoTCP, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, ports(1, 2, 20)...)),
			Flow{Src: a6, Dst: b6, Proto: ProtoAH}},
		{"v6 no next header", pkt6(s6, d6, ProtoNone, nil),
			Flow{Src: a6, Dst: b6, Proto: ProtoNone}},
		{"v6 tcp header cut", pkt6(s6, d6, protoHopByHop, ext6(ProtoTCP, 8, []byte{0, 22})),
			Flow{Src: a6, Dst: b6, Proto: ProtoTCP, Opaque: true}},
		{"v6 padded", append(pkt6(s6, d6, ProtoUDP, ports(1, 2, 8)), 0xff, 0xff),
			Flow{Src: a6, Dst: b6, Proto: ProtoUDP, SrcPort: 1, DstPort: 2}},
	}
}

func TestParseFlow(t *testing.T) {
	for _, tc := range flowCases() {
		got, ok := ParseFlow(tc.pkt)
		if !ok || got != tc.want {
			t.Errorf("%s: ParseFlow = %+v, %v; want %+v", tc.name, got, ok, tc.want)
		}
	}
}

func TestParseFlowMalformed(t *testing.T) {
	const s4, d4, s6, d6 = "192.0.2.1", "192.0.2.2", "2001:db8::1", "2001:db8::2"
	bad := map[string][]byte{
		"empty":     nil,
		"version 5": {0x55, 0, 0, 20, 0, 0, 0, 0, 64, 6, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8},
		"version 0": make([]byte, 40),
		"v4 short":  pkt4(s4, d4, ProtoUDP, 0, nil, nil)[:19],
		"v6 short":  pkt6(s6, d6, ProtoUDP, nil)[:39],
		"v4 ihl 4": func() []byte {
			b := pkt4(s4, d4, ProtoUDP, 0, nil, ports(1, 2, 8))
			b[0] = 0x44
			return b
		}(),
		"v4 ihl past total length": func() []byte {
			b := pkt4(s4, d4, ProtoUDP, 0, nil, ports(1, 2, 8))
			b[0] = 0x4f
			return b
		}(),
		"v4 total length below header": func() []byte {
			b := pkt4(s4, d4, ProtoUDP, 0, nil, ports(1, 2, 8))
			binary.BigEndian.PutUint16(b[2:], 19)
			return b
		}(),
		"v4 total length past packet": func() []byte {
			b := pkt4(s4, d4, ProtoUDP, 0, nil, ports(1, 2, 8))
			binary.BigEndian.PutUint16(b[2:], uint16(len(b)+1))
			return b
		}(),
		"v6 payload length past packet": func() []byte {
			b := pkt6(s6, d6, ProtoUDP, ports(1, 2, 8))
			binary.BigEndian.PutUint16(b[4:], 9)
			return b
		}(),
		"v6 hop-by-hop not first": pkt6(s6, d6, protoDstOpts, ext6(protoHopByHop, 8, ext6(ProtoUDP, 8, ports(1, 2, 8)))),
		"v6 extension header past payload": func() []byte {
			b := pkt6(s6, d6, protoDstOpts, ext6(ProtoUDP, 16, ports(1, 2, 8)))
			b[41] = 3 // 32 octets claimed, 24 present
			return b
		}(),
		"v6 extension header cut":  pkt6(s6, d6, protoRouting, []byte{ProtoUDP, 0, 0, 0}),
		"v6 fragment header cut":   pkt6(s6, d6, protoFragment, []byte{ProtoUDP, 0, 0, 0, 0, 0, 0}),
		"v6 routing then nothing":  pkt6(s6, d6, protoRouting, nil),
		"v6 hbh loop to itself":    pkt6(s6, d6, protoHopByHop, ext6(protoHopByHop, 8, nil)),
		"v6 dstopts chain to cut":  pkt6(s6, d6, protoDstOpts, ext6(protoDstOpts, 8, ext6(protoDstOpts, 8, nil))),
		"v6 fragment chain to cut": pkt6(s6, d6, protoFragment, frag6(protoFragment, 0, false, nil)),
	}
	for name, pkt := range bad {
		if f, ok := ParseFlow(pkt); ok {
			t.Errorf("%s: ParseFlow = %+v, true; want false", name, f)
		}
	}
}

// checkFlow reports what is inconsistent in a flow that ParseFlow accepted
// from pkt.
func checkFlow(pkt []byte, f Flow) string {
	switch {
	case !f.Src.IsValid() || !f.Dst.IsValid():
		return "invalid address"
	case f.Src.Is4() != f.Dst.Is4() || f.Src.Is6() != f.Dst.Is6():
		return "addresses of two families"
	case f.Src.Is4() != (pkt[0]>>4 == 4):
		return "address family is not the IP version"
	case f.Src.Zone() != "" || f.Dst.Zone() != "":
		return "zone"
	case (f.Opaque || !hasPorts(f.Proto)) && (f.SrcPort != 0 || f.DstPort != 0):
		return "ports without ports"
	case f.Opaque && !hasPorts(f.Proto):
		return "opaque flow of a protocol without ports"
	case isICMP(f.Proto) && f.SrcPort != f.DstPort:
		return "ICMP type/code differs between the ports"
	}
	return ""
}

// TestParseFlowTruncated cuts every valid packet at every length, both as
// it is (the IP header then claims more than is there) and with the IP
// length fixed to the cut (the transport header is then cut short): ParseFlow
// must return false or a flow consistent with the whole packet's, and must
// not panic.
func TestParseFlowTruncated(t *testing.T) {
	for _, tc := range flowCases() {
		full, _ := ParseFlow(tc.pkt)
		for n := range len(tc.pkt) {
			cut := append([]byte(nil), tc.pkt[:n]...)
			if f, ok := ParseFlow(cut); ok && n < ipLen(tc.pkt) {
				t.Errorf("%s cut to %d: ParseFlow = %+v, true, for a packet shorter than its IP header claims", tc.name, n, f)
			}
			if n < 20 || tc.pkt[0]>>4 == 6 && n < 40 {
				continue
			}
			setIPLen(cut)
			f, ok := ParseFlow(cut)
			if !ok {
				continue
			}
			if why := checkFlow(cut, f); why != "" {
				t.Errorf("%s cut to %d: %+v: %s", tc.name, n, f, why)
			}
			if f.Src != full.Src || f.Dst != full.Dst {
				t.Errorf("%s cut to %d: addresses %v %v, want %v %v", tc.name, n, f.Src, f.Dst, full.Src, full.Dst)
			}
			if f != full && (f.Proto != full.Proto || !f.Opaque && !full.Opaque) {
				t.Errorf("%s cut to %d: %+v, want %+v or it opaque", tc.name, n, f, full)
			}
		}
	}
}

// ipLen returns the length the IP header of pkt claims.
func ipLen(pkt []byte) int {
	if pkt[0]>>4 == 4 {
		return int(binary.BigEndian.Uint16(pkt[2:]))
	}
	return 40 + int(binary.BigEndian.Uint16(pkt[4:]))
}

// setIPLen sets the IP length fields of pkt to len(pkt).
func setIPLen(pkt []byte) {
	if pkt[0]>>4 == 4 {
		binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
		return
	}
	binary.BigEndian.PutUint16(pkt[4:], uint16(len(pkt)-40))
}

func TestParseFlowAllocs(t *testing.T) {
	cases := flowCases()
	allocs := testing.AllocsPerRun(100, func() {
		for _, tc := range cases {
			if _, ok := ParseFlow(tc.pkt); !ok {
				t.Fatal(tc.name)
			}
		}
	})
	if allocs != 0 {
		t.Errorf("ParseFlow: %.1f allocations per run of %d packets", allocs, len(cases))
	}
}

func FuzzParseFlow(f *testing.F) {
	for _, tc := range flowCases() {
		f.Add(tc.pkt)
	}
	f.Add([]byte{0x45})
	f.Add([]byte{0x60, 0, 0, 0, 0, 8, 0, 64})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		orig := append([]byte(nil), pkt...)
		fl, ok := ParseFlow(pkt)
		if string(pkt) != string(orig) {
			t.Fatal("ParseFlow modified its input")
		}
		fl2, ok2 := ParseFlow(pkt)
		if fl != fl2 || ok != ok2 {
			t.Fatalf("ParseFlow not deterministic: %+v,%v then %+v,%v", fl, ok, fl2, ok2)
		}
		if !ok {
			if fl != (Flow{}) {
				t.Fatalf("ParseFlow = %+v with false", fl)
			}
			return
		}
		if why := checkFlow(pkt, fl); why != "" {
			t.Fatalf("ParseFlow = %+v: %s", fl, why)
		}
		// Trailing bytes past the IP length change nothing.
		if fl3, ok3 := ParseFlow(append(orig, 1, 2, 3)); !ok3 || fl3 != fl {
			t.Fatalf("padding changed the flow: %+v,%v then %+v,%v", fl, ok, fl3, ok3)
		}
	})
}

func BenchmarkParseFlow(b *testing.B) {
	for _, bc := range []struct {
		name string
		pkt  []byte
	}{
		{"v4-tcp", pkt4("198.18.200.2", "203.0.113.10", ProtoTCP, 0x4000, nil, ports(40000, 443, 1400))},
		{"v6-ext-udp", pkt6("2001:db8:200::2", "2001:db8:1::10", protoHopByHop,
			ext6(protoDstOpts, 8, frag6(ProtoUDP, 0, true, ports(1, 2, 1200))))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var f Flow
			for b.Loop() {
				f, _ = ParseFlow(bc.pkt)
			}
			if !f.Src.IsValid() {
				b.Fatal("no flow")
			}
		})
	}
}
