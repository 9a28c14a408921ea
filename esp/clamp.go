package esp

import "encoding/binary"

// Keeping inner packets under the tunnel's MTU: TCP MSS clamping, and ICMP
// "fragmentation needed" (RFC 792, RFC 1191) / ICMPv6 "packet too big" (RFC
// 4443 §3.2) for packets that would not fit, so that path MTU discovery works
// through the tunnel (the "some websites don't load" problem).

// innerMTU returns the largest inner packet that ent's SA carries in one
// outer packet of the engine's path MTU.
func (e *Engine) innerMTU(ent *saEntry) int {
	ep := ent.ep.Load()
	avail := e.cfg.PathMTU - 20
	if ep.Remote.Addr().Is6() && !ep.Remote.Addr().Is4In6() {
		avail = e.cfg.PathMTU - 40
	}
	if !ep.RawESP() {
		avail -= UDPHeaderLen
	}
	sa := ent.sa
	avail -= sa.hdrLen + sa.icvLen
	avail -= avail % sa.align
	return avail - 2
}

// tooBig answers a packet that does not fit the tunnel and may not be
// fragmented with the ICMP error that tells its sender the MTU, written back
// into the TUN device, and reports whether it did so (p is then released).
// IPv4 packets without DF are let through: the outer packet is fragmented.
func (e *Engine) tooBig(p *packet, ent *saEntry) bool {
	pkt := p.buf[p.start:p.end]
	mtu := e.innerMTU(ent)
	if len(pkt) <= mtu {
		return false
	}
	var reply int
	q := e.getPacket()
	out := q.buf[tunOffset:]
	switch pkt[0] >> 4 {
	case 4:
		if pkt[6]&0x40 == 0 { // DF clear
			e.release(q)
			return false
		}
		reply = icmp4FragNeeded(out, pkt, mtu)
	case 6:
		if mtu < 1280 {
			// IPv6 links carry 1280 octets; let the outer packet fragment.
			e.release(q)
			return false
		}
		reply = icmp6TooBig(out, pkt, mtu)
	}
	if reply > 0 {
		e.write([][]byte{q.buf[:tunOffset+reply]}, tunOffset)
	}
	e.release(q)
	e.stats.tooBig.Add(1)
	e.release(p)
	return true
}

// icmp4FragNeeded writes into out an ICMP destination unreachable, code 4,
// from the packet's destination to its source, quoting its header and the
// start of its payload, and returns its length.
func icmp4FragNeeded(out, pkt []byte, mtu int) int {
	hl := int(pkt[0]&0x0f) * 4
	if hl < 20 || len(pkt) < hl {
		return 0
	}
	quote := min(len(pkt), hl+8)
	n := 20 + 8 + quote
	h := out[:20]
	h[0], h[1] = 0x45, 0
	binary.BigEndian.PutUint16(h[2:], uint16(n))
	binary.BigEndian.PutUint32(h[4:], 0)
	h[8], h[9] = 64, ProtoICMP
	h[10], h[11] = 0, 0
	copy(h[12:16], pkt[16:20]) // from the original destination
	copy(h[16:20], pkt[12:16]) // to the original source
	binary.BigEndian.PutUint16(h[10:], ^checksum(h, 0))
	icmp := out[20:n]
	icmp[0], icmp[1] = 3, 4
	icmp[2], icmp[3] = 0, 0
	binary.BigEndian.PutUint16(icmp[4:], 0)
	binary.BigEndian.PutUint16(icmp[6:], uint16(mtu))
	copy(icmp[8:], pkt[:quote])
	binary.BigEndian.PutUint16(icmp[2:], ^checksum(icmp, 0))
	return n
}

// icmp6TooBig writes into out an ICMPv6 packet too big from the packet's
// destination to its source, quoting as much of it as fits in 1280 octets,
// and returns its length.
func icmp6TooBig(out, pkt []byte, mtu int) int {
	if len(pkt) < 40 {
		return 0
	}
	quote := min(len(pkt), 1280-40-8)
	n := 40 + 8 + quote
	h := out[:40]
	binary.BigEndian.PutUint32(h, 6<<28)
	binary.BigEndian.PutUint16(h[4:], uint16(8+quote))
	h[6], h[7] = 58, 64
	copy(h[8:24], pkt[24:40])
	copy(h[24:40], pkt[8:24])
	icmp := out[40:n]
	icmp[0], icmp[1] = 2, 0
	icmp[2], icmp[3] = 0, 0
	binary.BigEndian.PutUint32(icmp[4:], uint32(mtu))
	copy(icmp[8:], pkt[:quote])
	var sum uint32
	for i := 8; i < 40; i += 2 {
		sum += uint32(h[i])<<8 | uint32(h[i+1])
	}
	sum += 58 + uint32(len(icmp))
	binary.BigEndian.PutUint16(icmp[2:], ^checksum(icmp, sum))
	return n
}

// clampMSS lowers the MSS option of a TCP SYN to what fits the tunnel.
func (e *Engine) clampMSS(pkt []byte, f Flow, ent *saEntry) {
	if f.Proto != ProtoTCP || f.Opaque {
		return
	}
	if clampMSS(pkt, e.innerMTU(ent)) {
		e.stats.mss.Add(1)
	}
}

// ClampMSS lowers the MSS option of a TCP SYN in the IPv4 or IPv6 packet
// pkt so that the peer's segments fit packets of mtu octets, fixes the TCP
// checksum incrementally (RFC 1624), and reports whether it changed pkt.
// Other packets, fragments and SYNs with a smaller MSS are left alone. It
// allocates nothing: for paths that leave the engine's own clamping, such
// as PPP links.
func ClampMSS(pkt []byte, mtu int) bool {
	f, ok := ParseFlow(pkt)
	if !ok || f.Proto != ProtoTCP || f.Opaque {
		return false
	}
	return clampMSS(pkt, mtu)
}

// clampMSS is ClampMSS for a packet whose flow is known to be TCP and not
// a fragment.
func clampMSS(pkt []byte, mtu int) bool {
	hl, proto, ok := transportHeader(pkt)
	if !ok || proto != ProtoTCP || len(pkt) < hl+20 {
		return false
	}
	tcp := pkt[hl:]
	if tcp[13]&0x02 == 0 { // not a SYN
		return false
	}
	max := mtu - hl - 20
	if pkt[0]>>4 == 6 {
		max = mtu - 40 - 20
	}
	doff := int(tcp[12]>>4) * 4
	if doff < 20 || len(tcp) < doff {
		return false
	}
	opts := tcp[20:doff]
	for i := 0; i < len(opts); {
		switch opts[i] {
		case 0: // end of options
			return false
		case 1: // no-op
			i++
			continue
		}
		if i+1 >= len(opts) || opts[i+1] < 2 || i+int(opts[i+1]) > len(opts) {
			return false
		}
		if opts[i] == 2 && opts[i+1] == 4 {
			old := binary.BigEndian.Uint16(opts[i+2:])
			if int(old) <= max || max <= 0 {
				return false
			}
			binary.BigEndian.PutUint16(opts[i+2:], uint16(max))
			// HC' = ~(~HC + ~m + m')
			sum := uint32(^binary.BigEndian.Uint16(tcp[16:])) + uint32(^old) + uint32(max)
			for sum > 0xffff {
				sum = sum>>16 + sum&0xffff
			}
			binary.BigEndian.PutUint16(tcp[16:], ^uint16(sum))
			return true
		}
		i += int(opts[i+1])
	}
	return false
}
