package tuntest

import (
	"encoding/binary"
	"net/netip"

	"golang.org/x/crypto/cryptobyte"
)

// IP protocol numbers and ICMP types the builders use.
const (
	protoICMP   = 1  // RFC 792
	protoUDP    = 17 // RFC 768
	protoICMPv6 = 58 // RFC 4443

	icmpEchoReply     = 0   // RFC 792
	icmpEchoRequest   = 8   // RFC 792
	icmpv6EchoRequest = 128 // RFC 4443, Section 4.1
	icmpv6EchoReply   = 129 // RFC 4443, Section 4.2

	ipv4HeaderLen = 20
	ipv6HeaderLen = 40
	icmpHeaderLen = 8 // type, code, checksum, identifier, sequence number
	udpHeaderLen  = 8
	hopLimit      = 64
)

// Ping returns a new IP packet carrying an echo request from src to dst with
// identifier id, sequence number seq and payload: ICMP (RFC 792) in IPv4 or
// ICMPv6 (RFC 4443, Section 4.1) in IPv6, every checksum set. IPv4-mapped
// IPv6 addresses are used as IPv4. It panics if src and dst are not both
// IPv4 or both IPv6, or if the packet would exceed 65535 bytes: a broken test.
func Ping(src, dst netip.Addr, id, seq uint16, payload []byte) []byte {
	src, dst = src.Unmap(), dst.Unmap()
	typ := uint8(icmpEchoRequest)
	if src.Is6() {
		typ = icmpv6EchoRequest
	}
	icmp := make([]byte, icmpHeaderLen, icmpHeaderLen+len(payload))
	icmp[0] = typ
	binary.BigEndian.PutUint16(icmp[4:], id)
	binary.BigEndian.PutUint16(icmp[6:], seq)
	icmp = append(icmp, payload...)
	if src.Is4() {
		return ipv4(src, dst, protoICMP, icmp, 2)
	}
	return ipv6(src, dst, protoICMPv6, icmp, 2)
}

// UDP returns a new IP packet carrying a UDP datagram (RFC 768) from src to
// dst with payload, every checksum set (RFC 768 in IPv4, RFC 8200, Section
// 8.1 in IPv6). It panics like Ping.
func UDP(src, dst netip.AddrPort, payload []byte) []byte {
	s, d := src.Addr().Unmap(), dst.Addr().Unmap()
	udp := make([]byte, udpHeaderLen, udpHeaderLen+len(payload))
	binary.BigEndian.PutUint16(udp[0:], src.Port())
	binary.BigEndian.PutUint16(udp[2:], dst.Port())
	binary.BigEndian.PutUint16(udp[4:], uint16(udpHeaderLen+len(payload)))
	udp = append(udp, payload...)
	if len(udp) > 0xffff {
		panic("tuntest: UDP datagram longer than 65535 bytes")
	}
	if s.Is4() {
		return ipv4(s, d, protoUDP, udp, 6)
	}
	return ipv6(s, d, protoUDP, udp, 6)
}

// ipv4 returns an IPv4 header (RFC 791, Section 3.1) from src to dst for
// protocol proto in front of body, after setting body's checksum at
// offset csumAt: over body alone for ICMP, with the pseudo-header for UDP.
func ipv4(src, dst netip.Addr, proto uint8, body []byte, csumAt int) []byte {
	if !src.Is4() || !dst.Is4() {
		panic("tuntest: source " + src.String() + " and destination " + dst.String() + " are not both IPv4 or both IPv6")
	}
	total := ipv4HeaderLen + len(body)
	if total > 0xffff {
		panic("tuntest: IPv4 packet longer than 65535 bytes")
	}
	pkt := make([]byte, ipv4HeaderLen, total)
	pkt[0] = 4<<4 | ipv4HeaderLen/4 // version, IHL
	binary.BigEndian.PutUint16(pkt[2:], uint16(total))
	binary.BigEndian.PutUint16(pkt[6:], 0x4000) // DF, so the zero ID is fine (RFC 6864)
	pkt[8] = hopLimit
	pkt[9] = proto
	s, d := src.As4(), dst.As4()
	copy(pkt[12:], s[:])
	copy(pkt[16:], d[:])
	binary.BigEndian.PutUint16(pkt[10:], ^fold(sum(0, pkt)))

	var c uint32
	if proto == protoUDP {
		c = pseudo(src, dst, proto, len(body))
	}
	putChecksum(body, csumAt, proto, c)
	return append(pkt, body...)
}

// ipv6 returns an IPv6 header (RFC 8200, Section 3) from src to dst for
// next header proto in front of body, after setting body's checksum at
// offset csumAt over the pseudo-header (RFC 8200, Section 8.1).
func ipv6(src, dst netip.Addr, proto uint8, body []byte, csumAt int) []byte {
	if !src.Is6() || !dst.Is6() {
		panic("tuntest: source " + src.String() + " and destination " + dst.String() + " are not both IPv4 or both IPv6")
	}
	if len(body) > 0xffff {
		panic("tuntest: IPv6 payload longer than 65535 bytes")
	}
	pkt := make([]byte, ipv6HeaderLen, ipv6HeaderLen+len(body))
	pkt[0] = 6 << 4 // version, traffic class, flow label
	binary.BigEndian.PutUint16(pkt[4:], uint16(len(body)))
	pkt[6] = proto
	pkt[7] = hopLimit
	s, d := src.As16(), dst.As16()
	copy(pkt[8:], s[:])
	copy(pkt[24:], d[:])
	putChecksum(body, csumAt, proto, pseudo(src, dst, proto, len(body)))
	return append(pkt, body...)
}

// putChecksum stores at body[at:] the Internet checksum of body started from
// the partial sum c. A UDP checksum that comes out zero is sent as all ones
// (RFC 768; RFC 8200, Section 8.1).
func putChecksum(body []byte, at int, proto uint8, c uint32) {
	body[at], body[at+1] = 0, 0
	v := ^fold(sum(c, body))
	if v == 0 && proto == protoUDP {
		v = 0xffff
	}
	binary.BigEndian.PutUint16(body[at:], v)
}

// pseudo returns the partial sum of the pseudo-header (RFC 768 for IPv4,
// RFC 8200, Section 8.1 for IPv6): the addresses, the upper-layer length and
// the protocol.
func pseudo(src, dst netip.Addr, proto uint8, length int) uint32 {
	c := sum(0, src.AsSlice())
	c = sum(c, dst.AsSlice())
	return c + uint32(proto) + uint32(length>>16) + uint32(length&0xffff)
}

// sum adds b to the one's-complement partial sum c as 16-bit big-endian
// words (RFC 1071), padding an odd byte with zero.
func sum(c uint32, b []byte) uint32 {
	for len(b) >= 2 {
		c += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
		if c&0x80000000 != 0 {
			c = c&0xffff + c>>16
		}
	}
	if len(b) == 1 {
		c += uint32(b[0]) << 8
	}
	return c
}

// fold folds a partial sum into 16 bits.
func fold(c uint32) uint16 {
	for c > 0xffff {
		c = c&0xffff + c>>16
	}
	return uint16(c)
}

// ipPacket is what parseIP found: the addresses, the protocol, the payload,
// and the pseudo-header sum (only meaningful for IPv6 and UDP in IPv4).
type ipPacket struct {
	src, dst netip.Addr
	proto    uint8
	body     []byte
	pseudo   uint32
}

// parseIP parses an IPv4 or IPv6 packet that fills pkt exactly, with a valid
// IPv4 header checksum and no fragmentation. IPv6 extension headers are not
// followed: proto is the Next Header of the fixed header.
func parseIP(pkt []byte) (p ipPacket, ok bool) {
	if len(pkt) == 0 {
		return p, false
	}
	s := cryptobyte.String(pkt)
	switch pkt[0] >> 4 {
	case 4:
		// RFC 791, Section 3.1.
		var vihl, tos, ttl uint8
		var total, id, frag, csum uint16
		var src, dst [4]byte
		if !s.ReadUint8(&vihl) || !s.ReadUint8(&tos) || !s.ReadUint16(&total) ||
			!s.ReadUint16(&id) || !s.ReadUint16(&frag) || !s.ReadUint8(&ttl) ||
			!s.ReadUint8(&p.proto) || !s.ReadUint16(&csum) ||
			!s.CopyBytes(src[:]) || !s.CopyBytes(dst[:]) {
			return p, false
		}
		ihl := int(vihl&0x0f) * 4
		if ihl < ipv4HeaderLen || int(total) != len(pkt) || ihl > int(total) {
			return p, false
		}
		if frag&0x3fff != 0 { // MF or a fragment offset
			return p, false
		}
		if fold(sum(0, pkt[:ihl])) != 0xffff {
			return p, false
		}
		p.src, p.dst = netip.AddrFrom4(src), netip.AddrFrom4(dst)
		p.body = pkt[ihl:]
	case 6:
		// RFC 8200, Section 3.
		var vtcfl uint32
		var plen uint16
		var hop uint8
		var src, dst [16]byte
		if !s.ReadUint32(&vtcfl) || !s.ReadUint16(&plen) || !s.ReadUint8(&p.proto) ||
			!s.ReadUint8(&hop) || !s.CopyBytes(src[:]) || !s.CopyBytes(dst[:]) {
			return p, false
		}
		if int(plen) != len(s) {
			return p, false
		}
		p.src, p.dst = netip.AddrFrom16(src), netip.AddrFrom16(dst)
		p.body = s
	default:
		return p, false
	}
	p.pseudo = pseudo(p.src, p.dst, p.proto, len(p.body))
	return p, true
}

// ParseEcho parses an ICMP echo request or reply (RFC 792) in IPv4 or an
// ICMPv6 echo request or reply (RFC 4443, Section 4) in IPv6. ok is true only
// for a whole, unfragmented packet that fills pkt exactly, with every
// checksum right and code zero; typ is the ICMP type: 8 or 0 for IPv4, 128
// or 129 for IPv6. IPv6 extension headers are not followed. pkt is not kept.
func ParseEcho(pkt []byte) (src, dst netip.Addr, typ uint8, id, seq uint16, ok bool) {
	p, ok := parseIP(pkt)
	if !ok {
		return src, dst, 0, 0, 0, false
	}
	c := uint32(0)
	switch {
	case p.src.Is4() && p.proto == protoICMP:
		// The ICMP checksum covers the ICMP message alone (RFC 792).
	case p.src.Is6() && p.proto == protoICMPv6:
		c = p.pseudo // RFC 4443, Section 2.3
	default:
		return src, dst, 0, 0, 0, false
	}
	s := cryptobyte.String(p.body)
	var code uint8
	var csum uint16
	if !s.ReadUint8(&typ) || !s.ReadUint8(&code) || !s.ReadUint16(&csum) ||
		!s.ReadUint16(&id) || !s.ReadUint16(&seq) {
		return src, dst, 0, 0, 0, false
	}
	switch {
	case code != 0:
		return src, dst, 0, 0, 0, false
	case p.src.Is4() && typ != icmpEchoRequest && typ != icmpEchoReply:
		return src, dst, 0, 0, 0, false
	case p.src.Is6() && typ != icmpv6EchoRequest && typ != icmpv6EchoReply:
		return src, dst, 0, 0, 0, false
	case fold(sum(c, p.body)) != 0xffff:
		return src, dst, 0, 0, 0, false
	}
	return p.src, p.dst, typ, id, seq, true
}

// ParseUDP parses a UDP datagram (RFC 768) in IPv4 or IPv6. ok is true only
// for a whole, unfragmented packet that fills pkt exactly, with a UDP length
// that matches and every checksum right; a zero UDP checksum is accepted in
// IPv4 only (RFC 768; RFC 8200, Section 8.1). payload is a subslice of pkt.
// IPv6 extension headers are not followed.
func ParseUDP(pkt []byte) (src, dst netip.AddrPort, payload []byte, ok bool) {
	p, ok := parseIP(pkt)
	if !ok || p.proto != protoUDP {
		return src, dst, nil, false
	}
	s := cryptobyte.String(p.body)
	var sport, dport, length, csum uint16
	if !s.ReadUint16(&sport) || !s.ReadUint16(&dport) || !s.ReadUint16(&length) ||
		!s.ReadUint16(&csum) || int(length) != len(p.body) {
		return src, dst, nil, false
	}
	switch {
	case csum == 0 && p.src.Is6():
		return src, dst, nil, false
	case csum != 0 && fold(sum(p.pseudo, p.body)) != 0xffff:
		return src, dst, nil, false
	}
	return netip.AddrPortFrom(p.src, sport), netip.AddrPortFrom(p.dst, dport), []byte(s), true
}
