package esp

import (
	"encoding/binary"
	"net/netip"
)

// More IP protocol numbers (IANA "Assigned Internet Protocol Numbers") that
// traffic selectors and flows deal with.
const (
	ProtoAH      = 51
	ProtoICMPv6  = 58
	ProtoSCTP    = 132
	ProtoUDPLite = 136
)

// IPv6 extension headers ParseFlow walks (RFC 8200, Section 4), and DCCP,
// whose ports sit where TCP's do (RFC 4340, Section 5.1).
const (
	protoHopByHop = 0
	protoRouting  = 43
	protoFragment = 44
	protoDstOpts  = 60
	protoDCCP     = 33
)

// Flow is what policies match on: the addresses, protocol and ports of an IP
// packet (RFC 4301, Section 4.4.1.1).
//
// Proto is the protocol after any IPv6 extension headers. SrcPort and
// DstPort are the transport ports for TCP, UDP, UDP-Lite, SCTP and DCCP; for
// ICMP and ICMPv6 both hold the message's Type<<8 | Code (see Selector for
// why both); for other protocols they are 0 and carry no meaning. Opaque
// reports that the protocol has ports but this packet does not show them: a
// non-initial fragment, or a packet that ends inside its transport header
// (RFC 4301, Sections 4.4.1.1 and 7). Such a flow, like one of a protocol
// without ports, matches only selectors whose ports are any or OPAQUE.
type Flow struct {
	Src, Dst         netip.Addr
	Proto            uint8
	SrcPort, DstPort uint16
	Opaque           bool
}

// hasPorts reports whether packets of proto carry ports, or an ICMP type and
// code in their place.
func hasPorts(proto uint8) bool {
	switch proto {
	case ProtoTCP, ProtoUDP, ProtoUDPLite, ProtoSCTP, protoDCCP, ProtoICMP, ProtoICMPv6:
		return true
	}
	return false
}

// noPorts reports whether f's ports are absent, for selector matching.
func (f *Flow) noPorts() bool { return f.Opaque || !hasPorts(f.Proto) }

// ParseFlow reads the flow of an IPv4 or IPv6 packet. pkt starts with the IP
// header; bytes after the length the header claims (TFC or link padding) are
// ignored. IPv6 hop-by-hop options (first only), routing, fragment and
// destination options headers are walked (RFC 8200, Section 4); AH and ESP
// end the walk and are the flow's protocol, since they are what a policy on
// them selects. False if the packet is not IP or its IP header or an
// extension header is malformed or runs past the packet; a transport header
// cut short gives an Opaque flow instead. ParseFlow does not allocate and
// does not keep pkt.
func ParseFlow(pkt []byte) (Flow, bool) {
	if len(pkt) == 0 {
		return Flow{}, false
	}
	switch pkt[0] >> 4 {
	case 4:
		return parseFlow4(pkt)
	case 6:
		return parseFlow6(pkt)
	}
	return Flow{}, false
}

// parseFlow4 parses an IPv4 header (RFC 791, Section 3.1).
func parseFlow4(pkt []byte) (Flow, bool) {
	if len(pkt) < 20 {
		return Flow{}, false
	}
	hlen := int(pkt[0]&0x0f) * 4                       // IHL, in 32-bit words
	total := int(binary.BigEndian.Uint16(pkt[2:4]))    // Total Length
	if hlen < 20 || total < hlen || total > len(pkt) { // Total Length includes the header
		return Flow{}, false
	}
	f := Flow{
		Src:   netip.AddrFrom4([4]byte(pkt[12:16])),
		Dst:   netip.AddrFrom4([4]byte(pkt[16:20])),
		Proto: pkt[9],
	}
	// A Fragment Offset other than 0: no transport header here.
	if binary.BigEndian.Uint16(pkt[6:8])&0x1fff != 0 {
		f.Opaque = hasPorts(f.Proto)
		return f, true
	}
	f.setPorts(pkt[hlen:total])
	return f, true
}

// parseFlow6 parses an IPv6 header (RFC 8200, Section 3) and its extension
// headers (Section 4).
func parseFlow6(pkt []byte) (Flow, bool) {
	if len(pkt) < 40 {
		return Flow{}, false
	}
	end := 40 + int(binary.BigEndian.Uint16(pkt[4:6])) // Payload Length excludes the header
	if end > len(pkt) {
		return Flow{}, false
	}
	f := Flow{
		Src: netip.AddrFrom16([16]byte(pkt[8:24])),
		Dst: netip.AddrFrom16([16]byte(pkt[24:40])),
	}
	off, nh := 40, pkt[6]
	for {
		switch nh {
		case protoHopByHop, protoRouting, protoDstOpts:
			// Next Header, Hdr Ext Len in 8-octet units not counting the
			// first 8 (Sections 4.3, 4.4, 4.6). Hop-by-hop options may
			// only follow the IPv6 header (Section 4.1).
			if nh == protoHopByHop && off != 40 || end-off < 8 {
				return Flow{}, false
			}
			l := (int(pkt[off+1]) + 1) * 8
			if end-off < l {
				return Flow{}, false
			}
			nh, off = pkt[off], off+l
		case protoFragment:
			// Next Header, Reserved, Fragment Offset (13 bits), Res, M,
			// Identification (Section 4.5).
			if end-off < 8 {
				return Flow{}, false
			}
			fragOff := binary.BigEndian.Uint16(pkt[off+2:off+4]) >> 3
			nh, off = pkt[off], off+8
			if fragOff != 0 {
				f.Proto = nh
				f.Opaque = hasPorts(nh)
				return f, true
			}
		default:
			f.Proto = nh
			f.setPorts(pkt[off:end])
			return f, true
		}
	}
}

// setPorts fills in the ports from transport header l4, or marks f Opaque
// when l4 is too short for them (TCP, RFC 9293 §3.1; UDP, RFC 768; UDP-Lite,
// RFC 3828 §3; SCTP, RFC 9260 §3.1; DCCP, RFC 4340 §5.1; ICMP, RFC 792;
// ICMPv6, RFC 4443 §2.1).
func (f *Flow) setPorts(l4 []byte) {
	switch f.Proto {
	case ProtoTCP, ProtoUDP, ProtoUDPLite, ProtoSCTP, protoDCCP:
		if len(l4) < 4 {
			f.Opaque = true
			return
		}
		f.SrcPort = binary.BigEndian.Uint16(l4[0:2])
		f.DstPort = binary.BigEndian.Uint16(l4[2:4])
	case ProtoICMP, ProtoICMPv6:
		if len(l4) < 2 {
			f.Opaque = true
			return
		}
		tc := uint16(l4[0])<<8 | uint16(l4[1]) // Type, Code
		f.SrcPort, f.DstPort = tc, tc
	}
}
