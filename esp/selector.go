package esp

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"
)

// Port ranges with a meaning of their own (RFC 7296, Section 3.13.1).
const (
	// Any port: Start Port 0, End Port 65535.
	anyStartPort, anyEndPort = 0, 0xffff
	// OPAQUE: Start Port 65535, End Port 0. The selector matches only
	// packets whose ports are not available (RFC 4301, Section 4.4.1.1).
	opaqueStartPort, opaqueEndPort = 0xffff, 0
)

// Selector is one traffic selector (RFC 4301, Section 4.4.1.1; RFC 7296,
// Section 3.13.1): an inclusive range of addresses of one family, an IP
// protocol (0 is any) and an inclusive port range (0-65535 is any; the pair
// 65535-0 is OPAQUE, see below).
//
// Ports. A packet whose ports are unknown (a non-initial fragment, a packet
// cut short inside its transport header) or whose protocol has none (ESP,
// GRE, ...) matches only selectors whose port range is any or OPAQUE
// (RFC 4301, Sections 4.4.1.1 and 7); an OPAQUE selector matches only such
// packets.
//
// ICMP and ICMPv6. The message type and code take the place of the port,
// Type<<8 | Code (RFC 7296, Section 3.13.1), and this package follows
// strongSwan in what that means for the two ends of a policy:
//
//   - Configuration: in "[icmp/N]" a value N below 256 is a message type with
//     code 0 (N<<8); 256 and above is Type<<8|Code; strongSwan prints type 3
//     code 4 as "3(4)" and type 8 code 0 as "8", and ParseSelector reads both
//     forms back (strongSwan traffic_selector.c: traffic_selector_create,
//     print_icmp; ipsec.conf(5) leftsubnet, "since 5.1.1").
//   - Negotiation: a trap triggered by an ICMP packet asks for a CHILD_SA
//     whose TSi and TSr both carry the packet's Type<<8|Code (strongSwan
//     kernel_netlink_ipsec.c selector2ts, which sets the same port on the
//     source and the destination selector of an acquire).
//   - Enforcement: a type/code restriction on either end, local or remote,
//     applies to the packet's own type and code, and in both directions
//     (kernel_netlink_ipsec.c ts2selector takes the port of whichever
//     selector restricts it and installs it, type in the kernel selector's
//     source port and code in its destination port, for the in and the out
//     policy alike).
//
// So ParseFlow puts an ICMP packet's Type<<8|Code into both SrcPort and
// DstPort, and Contains compares it with whichever selector restricts it: a
// policy with remote "10.1.0.0/16[icmp/8]" passes echo requests out to and in
// from 10.1.0.0/16 and nothing else of ICMP. Where both ends restrict ICMP, a
// packet must satisfy both (strongSwan's kernel interface keeps only one).
//
// Selector is a comparable value; its zero value is not Valid.
type Selector struct {
	Start, End         netip.Addr
	Proto              uint8
	StartPort, EndPort uint16
}

// SelectorFromPrefix returns the selector covering prefix p, any protocol
// and any port. Host bits of p are ignored; an invalid p gives an invalid
// selector.
func SelectorFromPrefix(p netip.Prefix) Selector {
	if !p.IsValid() {
		return Selector{}
	}
	p = p.Masked()
	host := p.Addr().BitLen() - p.Bits()
	start := toU128(p.Addr())
	return Selector{
		Start:   p.Addr(),
		End:     start.or(lowMask(host)).addr(p.Addr().Is4()),
		EndPort: anyEndPort,
	}
}

// SelectorError is the error of ParseSelector: Input is the refused text.
type SelectorError struct {
	Input  string
	Reason string
}

func (e *SelectorError) Error() string {
	return fmt.Sprintf("esp: invalid traffic selector %q: %s", e.Input, e.Reason)
}

// ParseSelector parses a traffic selector in strongSwan's syntax (swanctl.conf
// local_ts and remote_ts): an address part, then an optional protocol/port
// part in square brackets.
//
// The address part is a CIDR prefix ("10.0.0.0/24"; host bits are cleared, as
// strongSwan does), a single address ("192.0.2.1", "2001:db8::1") or an
// inclusive range ("10.0.0.1-10.0.0.9", or "10.0.0.1..10.0.0.9" as String
// prints it). "dynamic" is refused: IKE replaces it with an address before
// the dataplane sees it.
//
// The bracket holds a protocol, a name from /etc/protocols ("tcp", "udp",
// "icmp", "ipv6-icmp", "sctp", ...) or a number, or "any"; then optionally
// "/" and a port: a number, a range "1024-65535", "any" or "opaque". For ICMP
// and ICMPv6 the port is a type and code as the Selector documentation says:
// "[icmp/8]", "[icmp/3(4)]", "[ipv6-icmp/128-129]". Service names are not
// looked up. Examples: "0.0.0.0/0[tcp/80]", "::/0[udp/500-600]",
// "192.0.2.1[icmp/8]", "10.0.0.0/8[any/53]".
func ParseSelector(s string) (Selector, error) {
	fail := func(format string, args ...any) (Selector, error) {
		return Selector{}, &SelectorError{Input: s, Reason: fmt.Sprintf(format, args...)}
	}
	addrPart, protoPort, bracket := strings.Cut(s, "[")
	if bracket {
		var ok bool
		protoPort, ok = strings.CutSuffix(protoPort, "]")
		if !ok || strings.ContainsAny(protoPort, "[]") {
			return fail("protocol/port part must be one [...] at the end")
		}
	}
	if addrPart == "dynamic" || addrPart == "%dynamic" {
		return fail("dynamic selectors are resolved by IKE, not the dataplane")
	}
	var sel Selector
	switch {
	case addrPart == "":
		return fail("missing address")
	case strings.Contains(addrPart, "/"):
		p, err := netip.ParsePrefix(addrPart)
		if err != nil {
			return fail("bad prefix: %v", err)
		}
		sel = SelectorFromPrefix(p)
	case strings.Contains(addrPart, ".."), strings.Contains(addrPart, "-"):
		from, to, ok := strings.Cut(addrPart, "..")
		if !ok {
			from, to, _ = strings.Cut(addrPart, "-")
		}
		a, err1 := netip.ParseAddr(from)
		b, err2 := netip.ParseAddr(to)
		switch {
		case err1 != nil:
			return fail("bad range start: %v", err1)
		case err2 != nil:
			return fail("bad range end: %v", err2)
		case a.Zone() != "" || b.Zone() != "":
			return fail("addresses with a zone are not allowed")
		case a.BitLen() != b.BitLen():
			return fail("range mixes IPv4 and IPv6")
		case b.Less(a):
			return fail("range start is above its end")
		}
		sel = Selector{Start: a, End: b, EndPort: anyEndPort}
	default:
		a, err := netip.ParseAddr(addrPart)
		if err != nil {
			return fail("bad address: %v", err)
		}
		if a.Zone() != "" {
			return fail("addresses with a zone are not allowed")
		}
		sel = Selector{Start: a, End: a, EndPort: anyEndPort}
	}
	if !bracket {
		return sel, nil
	}
	protoStr, portStr, _ := strings.Cut(protoPort, "/")
	proto, ok := parseProto(protoStr)
	if !ok {
		return fail("unknown protocol %q", protoStr)
	}
	sel.Proto = proto
	start, end, reason := parsePortRange(proto, portStr)
	if reason != "" {
		return fail("%s", reason)
	}
	sel.StartPort, sel.EndPort = start, end
	return sel, nil
}

// protoNames are the /etc/protocols names strongSwan prints (it asks
// getprotobynumber) for the protocols a selector is likely to name.
var protoNames = map[uint8]string{
	ProtoICMP:    "icmp",
	2:            "igmp",
	ProtoIPv4:    "ipencap",
	ProtoTCP:     "tcp",
	ProtoUDP:     "udp",
	protoDCCP:    "dccp",
	ProtoIPv6:    "ipv6",
	47:           "gre",
	ProtoESP:     "esp",
	ProtoAH:      "ah",
	ProtoICMPv6:  "ipv6-icmp",
	89:           "ospf",
	103:          "pim",
	ProtoIPComp:  "ipcomp",
	112:          "vrrp",
	115:          "l2tp",
	ProtoSCTP:    "sctp",
	135:          "mobility-header",
	ProtoUDPLite: "udplite",
}

// protoAliases are further names getprotobyname knows, and "icmpv6", which
// people write.
var protoAliases = map[string]uint8{
	"ip-encap": ProtoIPv4, "ipv4": ProtoIPv4, "icmpv6": ProtoICMPv6,
	"icmp6": ProtoICMPv6, "udp-lite": ProtoUDPLite,
}

func parseProto(s string) (uint8, bool) {
	switch ls := strings.ToLower(s); ls {
	case "", "any", "%any":
		return 0, true
	default:
		for n, name := range protoNames {
			if name == ls {
				return n, true
			}
		}
		if n, ok := protoAliases[ls]; ok {
			return n, true
		}
	}
	n, err := strconv.ParseUint(s, 10, 8)
	return uint8(n), err == nil
}

func isICMP(proto uint8) bool { return proto == ProtoICMP || proto == ProtoICMPv6 }

// parsePortRange parses the port part of "[proto/port]"; it returns a reason
// when it refuses.
func parsePortRange(proto uint8, s string) (start, end uint16, reason string) {
	switch strings.ToLower(s) {
	case "", "any", "%any":
		return anyStartPort, anyEndPort, ""
	case "opaque", "%opaque":
		return opaqueStartPort, opaqueEndPort, ""
	}
	from, to, isRange := strings.Cut(s, "-")
	start, ok := parsePort(proto, from)
	if !ok {
		return 0, 0, fmt.Sprintf("bad port %q", from)
	}
	end = start
	if isRange {
		if end, ok = parsePort(proto, to); !ok {
			return 0, 0, fmt.Sprintf("bad port %q", to)
		}
	}
	if start > end {
		return 0, 0, "port range start is above its end"
	}
	return start, end, ""
}

// parsePort parses one port; for ICMP and ICMPv6 one type and code, as
// "type(code)" or as a number that is a type when below 256 (strongSwan's
// rule, see Selector).
func parsePort(proto uint8, s string) (uint16, bool) {
	if isICMP(proto) {
		if typ, rest, ok := strings.Cut(s, "("); ok {
			code, ok := strings.CutSuffix(rest, ")")
			t, err1 := strconv.ParseUint(typ, 10, 8)
			c, err2 := strconv.ParseUint(code, 10, 8)
			if !ok || err1 != nil || err2 != nil {
				return 0, false
			}
			return uint16(t)<<8 | uint16(c), true
		}
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, false
	}
	if isICMP(proto) && n < 256 {
		n <<= 8
	}
	return uint16(n), true
}

// String returns the selector in strongSwan's form: a prefix where the range
// is one ("10.0.0.0/24", "0.0.0.0/0" for any), else "start..end"; then, if
// the selector restricts them, "[protocol/port]" with protocol names from
// /etc/protocols, port ranges as "from-to", "OPAQUE", and ICMP types and
// codes as "8" or "3(4)". ParseSelector reads it back. An invalid selector
// prints as "invalid selector".
func (s Selector) String() string {
	if !s.Valid() {
		return "invalid selector"
	}
	var b strings.Builder
	if p, ok := s.prefix(); ok {
		b.WriteString(p.String())
	} else {
		b.WriteString(s.Start.String())
		b.WriteString("..")
		b.WriteString(s.End.String())
	}
	hasPorts := !s.anyPort()
	if s.Proto == 0 && !hasPorts {
		return b.String()
	}
	b.WriteByte('[')
	if name, ok := protoNames[s.Proto]; ok {
		b.WriteString(name)
	} else if s.Proto == 0 {
		b.WriteString("any")
	} else {
		b.WriteString(strconv.Itoa(int(s.Proto)))
	}
	if hasPorts {
		b.WriteByte('/')
		switch {
		case s.opaque():
			b.WriteString("OPAQUE")
		case s.StartPort == s.EndPort:
			s.writePort(&b, s.StartPort)
		default:
			s.writePort(&b, s.StartPort)
			b.WriteByte('-')
			s.writePort(&b, s.EndPort)
		}
	}
	b.WriteByte(']')
	return b.String()
}

func (s Selector) writePort(b *strings.Builder, port uint16) {
	if !isICMP(s.Proto) {
		b.WriteString(strconv.Itoa(int(port)))
		return
	}
	b.WriteString(strconv.Itoa(int(port >> 8)))
	if code := port & 0xff; code != 0 {
		fmt.Fprintf(b, "(%d)", code)
	}
}

// Valid reports whether s is usable: Start and End valid, of one family
// (IPv4-mapped IPv6 addresses count as IPv6), without zones, Start <= End,
// and StartPort <= EndPort unless the ports are OPAQUE.
func (s Selector) Valid() bool { return s.problem() == "" }

// problem says what is wrong with s, or "".
func (s Selector) problem() string {
	switch {
	case !s.Start.IsValid() || !s.End.IsValid():
		return "missing address"
	case s.Start.BitLen() != s.End.BitLen():
		return "mixes IPv4 and IPv6"
	case s.Start.Zone() != "" || s.End.Zone() != "":
		return "address has a zone"
	case s.End.Less(s.Start):
		return "start address above end address"
	case s.StartPort > s.EndPort && !s.opaque():
		return "start port above end port"
	}
	return ""
}

// Is6 reports whether s selects IPv6 addresses.
func (s Selector) Is6() bool { return s.Start.Is6() }

func (s Selector) anyPort() bool { return s.StartPort == anyStartPort && s.EndPort == anyEndPort }
func (s Selector) opaque() bool  { return s.StartPort == opaqueStartPort && s.EndPort == opaqueEndPort }

// Contains reports whether a packet from or to address a, of protocol proto
// and with port port at that end, lies in s. The port is ignored when s
// allows any port. A protocol without ports (see Flow) matches only selectors
// whose ports are any or OPAQUE; for ICMP and ICMPv6 port is Type<<8|Code.
// Non-initial fragments have no port either: match their Flow with
// Policy.MatchOut or MatchIn, which know Flow.Opaque.
func (s Selector) Contains(a netip.Addr, proto uint8, port uint16) bool {
	return s.contains(a.WithZone(""), proto, port, !hasPorts(proto))
}

// contains is Contains with the port's absence given (RFC 4301, Section
// 4.4.1.1: ANY matches OPAQUE, OPAQUE matches only an absent port). a must
// have no zone.
func (s *Selector) contains(a netip.Addr, proto uint8, port uint16, opaque bool) bool {
	if a.BitLen() != s.Start.BitLen() || a.BitLen() == 0 || a.Less(s.Start) || s.End.Less(a) {
		return false
	}
	if s.Proto != 0 && s.Proto != proto {
		return false
	}
	if s.anyPort() {
		return true
	}
	if opaque || s.opaque() {
		return opaque && s.opaque()
	}
	return s.StartPort <= port && port <= s.EndPort
}

// Intersect returns the largest selector contained in both s and o, for the
// narrowing of traffic selectors (RFC 7296, Section 2.9): the intersection
// of the address ranges and of the port ranges, and the protocol of the one
// that names one (0 is the wildcard). false if they share nothing: other
// families, different protocols, disjoint addresses or ports. OPAQUE ports
// meet any ports or OPAQUE as OPAQUE, as strongSwan's get_subset has it.
func (s Selector) Intersect(o Selector) (Selector, bool) {
	if !s.Valid() || !o.Valid() || s.Start.BitLen() != o.Start.BitLen() {
		return Selector{}, false
	}
	if s.Proto != o.Proto && s.Proto != 0 && o.Proto != 0 {
		return Selector{}, false
	}
	r := Selector{Proto: max(s.Proto, o.Proto), Start: s.Start, End: s.End}
	if s.opaque() && (o.opaque() || o.anyPort()) || o.opaque() && s.anyPort() {
		r.StartPort, r.EndPort = opaqueStartPort, opaqueEndPort
	} else {
		r.StartPort, r.EndPort = max(s.StartPort, o.StartPort), min(s.EndPort, o.EndPort)
		if r.StartPort > r.EndPort {
			return Selector{}, false
		}
	}
	if r.Start.Less(o.Start) {
		r.Start = o.Start
	}
	if o.End.Less(r.End) {
		r.End = o.End
	}
	if r.End.Less(r.Start) {
		return Selector{}, false
	}
	return r, true
}

// Prefixes returns the smallest set of prefixes that together cover exactly
// the address range of s, in address order: what routes to the range need.
// nil for an invalid selector.
func (s Selector) Prefixes() []netip.Prefix {
	if !s.Valid() {
		return nil
	}
	is4 := s.Start.Is4()
	width := s.Start.BitLen()
	cur, end := toU128(s.Start), toU128(s.End)
	var out []netip.Prefix
	for {
		// The largest block starting at cur, aligned on its size, that
		// does not run past end.
		host := min(cur.trailingZeros(), width)
		for host > 0 && end.less(cur.or(lowMask(host))) {
			host--
		}
		out = append(out, netip.PrefixFrom(cur.addr(is4), width-host))
		last := cur.or(lowMask(host))
		if last == end {
			return out
		}
		cur = last.add1()
	}
}

// prefix returns the prefix the range of s is, if it is one.
func (s Selector) prefix() (netip.Prefix, bool) {
	a, b := toU128(s.Start), toU128(s.End)
	x := u128{a.hi ^ b.hi, a.lo ^ b.lo}
	host := 128 - x.leadingZeros()
	m := lowMask(host)
	if a.and(m) != (u128{}) || b.and(m) != m {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(s.Start, s.Start.BitLen()-host), true
}

// u128 is an address as an unsigned integer; IPv4 addresses sit in the low 32
// bits.
type u128 struct{ hi, lo uint64 }

func toU128(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{0, uint64(binary.BigEndian.Uint32(b[:]))}
	}
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func (u u128) addr(is4 bool) netip.Addr {
	if is4 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(u.lo))
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], u.hi)
	binary.BigEndian.PutUint64(b[8:], u.lo)
	return netip.AddrFrom16(b)
}

// lowMask returns a value with the low n bits set, 0 <= n <= 128.
func lowMask(n int) u128 {
	if n >= 64 {
		return u128{1<<(n-64) - 1, ^uint64(0)}
	}
	return u128{0, 1<<n - 1}
}

func (u u128) or(v u128) u128  { return u128{u.hi | v.hi, u.lo | v.lo} }
func (u u128) and(v u128) u128 { return u128{u.hi & v.hi, u.lo & v.lo} }
func (u u128) less(v u128) bool {
	return u.hi < v.hi || u.hi == v.hi && u.lo < v.lo
}

func (u u128) add1() u128 {
	lo, carry := bits.Add64(u.lo, 1, 0)
	return u128{u.hi + carry, lo}
}

func (u u128) trailingZeros() int {
	if u.lo != 0 {
		return bits.TrailingZeros64(u.lo)
	}
	return 64 + bits.TrailingZeros64(u.hi)
}

func (u u128) leadingZeros() int {
	if u.hi != 0 {
		return bits.LeadingZeros64(u.hi)
	}
	return 64 + bits.LeadingZeros64(u.lo)
}
