package esp

import (
	"encoding/binary"
	"net/netip"
)

// IP protocol numbers ESP deals with (IANA "Assigned Internet Protocol
// Numbers").
const (
	ProtoICMP   = 1
	ProtoIPv4   = 4 // IP in IP: tunnel mode, inner IPv4
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoIPv6   = 41 // tunnel mode, inner IPv6
	ProtoESP    = 50
	ProtoNone   = 59 // IPv6-NoNxt: ESP dummy packets (RFC 4303 §2.6)
	ProtoIPComp = 108
)

// innerNextHeader returns the next header for an IP packet carried in tunnel
// mode, from its version nibble.
func innerNextHeader(pkt []byte) (uint8, bool) {
	if len(pkt) == 0 {
		return 0, false
	}
	switch pkt[0] >> 4 {
	case 4:
		return ProtoIPv4, len(pkt) >= 20
	case 6:
		return ProtoIPv6, len(pkt) >= 40
	}
	return 0, false
}

// innerLen returns the length an inner IP packet claims for itself, so that
// TFC padding after it can be cut off (RFC 4303 §2.7); false if the header is
// malformed or claims more than it has.
func innerLen(pkt []byte, nh uint8) (int, bool) {
	switch nh {
	case ProtoIPv4:
		if len(pkt) < 20 || pkt[0]>>4 != 4 {
			return 0, false
		}
		l := int(binary.BigEndian.Uint16(pkt[2:4]))
		return l, l >= 20 && l <= len(pkt)
	case ProtoIPv6:
		if len(pkt) < 40 || pkt[0]>>4 != 6 {
			return 0, false
		}
		l := 40 + int(binary.BigEndian.Uint16(pkt[4:6]))
		return l, l <= len(pkt)
	}
	return 0, false
}

// transportHeader parses the IP header of a packet to be protected in
// transport mode and returns its length and the protocol of the payload that
// follows. IPv6 extension headers that routers must see (hop-by-hop, routing,
// fragment) stay outside ESP (RFC 4303 §3.1.1); destination options go inside.
func transportHeader(pkt []byte) (hlen int, proto uint8, ok bool) {
	if len(pkt) == 0 {
		return 0, 0, false
	}
	switch pkt[0] >> 4 {
	case 4:
		if len(pkt) < 20 {
			return 0, 0, false
		}
		hlen = int(pkt[0]&0x0f) * 4
		if hlen < 20 || hlen > len(pkt) {
			return 0, 0, false
		}
		return hlen, pkt[9], true
	case 6:
		if len(pkt) < 40 {
			return 0, 0, false
		}
		hlen, proto = 40, pkt[6]
		for proto == 0 || proto == 43 || proto == 44 {
			if len(pkt) < hlen+8 {
				return 0, 0, false
			}
			next := pkt[hlen]
			l := 8
			if proto != 44 {
				l = (int(pkt[hlen+1]) + 1) * 8
			}
			if len(pkt) < hlen+l {
				return 0, 0, false
			}
			hlen, proto = hlen+l, next
		}
		return hlen, proto, true
	}
	return 0, 0, false
}

// putIPHeader writes an IP header for a payload of n octets and protocol
// proto from src to dst into h, which must be 20 (IPv4) or 40 (IPv6) octets.
func putIPHeader(h []byte, src, dst netip.Addr, proto uint8, n int) {
	if src.Is4() {
		h[0], h[1] = 0x45, 0
		binary.BigEndian.PutUint16(h[2:], uint16(20+n))
		binary.BigEndian.PutUint32(h[4:], 0) // ID, flags, fragment offset
		h[8], h[9] = 64, proto
		h[10], h[11] = 0, 0
		s, d := src.As4(), dst.As4()
		copy(h[12:16], s[:])
		copy(h[16:20], d[:])
		binary.BigEndian.PutUint16(h[10:], ^checksum(h[:20], 0))
		return
	}
	binary.BigEndian.PutUint32(h[0:], 6<<28)
	binary.BigEndian.PutUint16(h[4:], uint16(n))
	h[6], h[7] = proto, 64
	s, d := src.As16(), dst.As16()
	copy(h[8:24], s[:])
	copy(h[24:40], d[:])
}

// checksum adds b to the ones'-complement sum (RFC 1071) and returns the
// folded 16-bit sum, not yet complemented.
func checksum(b []byte, sum uint32) uint16 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return uint16(sum)
}

// addrSum returns the ones'-complement sum of an address's 16-bit words.
func addrSum(a netip.Addr) uint32 {
	b := a.As16()
	s := b[:]
	if a.Is4() {
		s = s[12:]
	}
	var sum uint32
	for i := 0; i+1 < len(s); i += 2 {
		sum += uint32(s[i])<<8 | uint32(s[i+1])
	}
	return sum
}

// FixChecksum updates the TCP or UDP checksum of a transport-layer segment
// whose pseudo-header addresses changed from oldSrc, oldDst to newSrc, newDst,
// by the incremental update of RFC 1624 §3. Transport-mode ESP through a NAT
// needs it: the peer computed the checksum over its own addresses, which the
// NAT replaced (RFC 3948 §3.1.2). A UDP-over-IPv4 checksum of zero means
// "none" and stays zero. Other protocols and short segments are left alone.
// The address pairs must be of one family.
func FixChecksum(proto uint8, seg []byte, oldSrc, oldDst, newSrc, newDst netip.Addr) {
	var at int
	switch proto {
	case ProtoTCP:
		at = 16
	case ProtoUDP:
		at = 6
	default:
		return
	}
	if len(seg) < at+2 {
		return
	}
	hc := binary.BigEndian.Uint16(seg[at:])
	if proto == ProtoUDP && hc == 0 && newSrc.Is4() {
		return
	}
	// HC' = ~(~HC + ~m + m'), summed over every changed word.
	sum := uint32(^hc)
	sum += 0xffff*uint32(len(oldSrc.AsSlice())) - addrSum(oldSrc) - addrSum(oldDst) // two addresses of len/2 words
	sum += addrSum(newSrc) + addrSum(newDst)
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	res := ^uint16(sum)
	if proto == ProtoUDP && res == 0 {
		res = 0xffff // RFC 768: a computed zero is sent as all ones
	}
	binary.BigEndian.PutUint16(seg[at:], res)
}
