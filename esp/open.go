package esp

import (
	"crypto/subtle"
	"encoding/binary"

	"github.com/ikego/ikego/esp/ipcomp"
)

// Open verifies and decrypts, in place, the ESP packet (SPI to ICV) that
// starts at b[off] and ends at len(b), and returns the packet it carried as a
// subslice of b[:cap(b)].
//
// In tunnel mode that is the inner IPv4 or IPv6 packet, without any TFC
// padding. In transport mode Open rebuilds the IP header in front of the
// payload from the SA's endpoints (Remote to Local) and, after NAT, fixes the
// TCP or UDP checksum (RFC 3948 §3.1.2); that needs room before the payload:
// b[:off] plus the ESP header must hold 40 octets for IPv6, 20 for IPv4.
//
// The replay window is checked before and updated after the ICV verifies
// (RFC 4303 §3.4.3). Every rejection is one of the package's errors and is
// counted in Stats; the packet's bytes are then unspecified. With Tailroom
// octets of spare capacity after len(b), Open allocates nothing (an IPComp
// payload needs its inflated size). Open is safe for concurrent use.
func (sa *SA) Open(b []byte, off int) ([]byte, error) {
	start, end, nh, err := sa.open(b, off)
	if err != nil {
		return nil, sa.count(err)
	}
	if sa.mode == ModeTransport {
		if nh == ProtoIPv4 || nh == ProtoIPv6 {
			return nil, sa.count(ErrNextHeader)
		}
		return sa.transportPacket(b, start, end, nh)
	}
	if nh != ProtoIPv4 && nh != ProtoIPv6 {
		return nil, sa.count(ErrNextHeader)
	}
	pkt := b[start:end]
	l, ok := innerLen(pkt, nh)
	if !ok {
		return nil, sa.count(ErrNextHeader)
	}
	return pkt[:l], nil
}

// OpenPayload verifies and decrypts the ESP packet at b[off:] like Open, and
// returns its payload and next header without interpreting them: the building
// block of Open, and of transport-mode receivers that take the payload
// themselves (an L2TP endpoint takes the UDP datagram).
func (sa *SA) OpenPayload(b []byte, off int) (payload []byte, nh uint8, err error) {
	start, end, nh, err := sa.open(b, off)
	if err != nil {
		return nil, 0, sa.count(err)
	}
	return b[start:end], nh, nil
}

// open does the ESP work of Open and returns where the payload lies in b.
func (sa *SA) open(b []byte, off int) (start, end int, nh uint8, err error) {
	if off < 0 || off > len(b) {
		return 0, 0, 0, ErrTruncated
	}
	pkt := b[off:]
	if len(pkt) < sa.hdrLen+2+sa.icvLen {
		return 0, 0, 0, ErrTruncated
	}
	if binary.BigEndian.Uint32(pkt) != sa.spi {
		return 0, 0, 0, ErrUnknownSPI
	}
	seq := sa.replay.inferSeq(binary.BigEndian.Uint32(pkt[4:]), sa.esn)
	if !sa.replay.check(seq) {
		return 0, 0, 0, ErrReplay
	}
	ct := off + sa.hdrLen     // ciphertext start
	icv := len(b) - sa.icvLen // ciphertext end
	if sa.aead != nil {
		scratch := b[len(b):cap(b)]
		if len(scratch) < scratchLen {
			scratch = make([]byte, scratchLen)
		}
		nonce := scratch[:12]
		copy(nonce, sa.salt[:])
		copy(nonce[4:], b[off+8:ct])
		aad := b[off : off+8]
		if sa.esn {
			aad = scratch[12:24]
			binary.BigEndian.PutUint32(aad, sa.spi)
			binary.BigEndian.PutUint64(aad[4:], seq)
		}
		if _, err := sa.aead.Open(b[ct:ct], nonce, b[ct:], aad); err != nil {
			return 0, 0, 0, ErrAuth
		}
	} else {
		if sa.block != nil && (icv-ct)%sa.align != 0 {
			return 0, 0, 0, ErrPadding
		}
		st := sa.pool.Get().(*cbcState)
		sum := sa.mac(st, b[off:icv], b[len(b):], seq)
		if subtle.ConstantTimeCompare(sum[:sa.icvLen], b[icv:]) != 1 {
			sa.pool.Put(st)
			return 0, 0, 0, ErrAuth
		}
		if sa.block != nil {
			st.decIV.SetIV(b[off+8 : ct])
			st.dec.CryptBlocks(b[ct:icv], b[ct:icv])
		}
		sa.pool.Put(st)
	}
	plain := b[ct:icv]
	pad := int(plain[len(plain)-2])
	nh = plain[len(plain)-1]
	if pad+2 > len(plain) {
		return 0, 0, 0, ErrPadding
	}
	payloadEnd := len(plain) - 2 - pad
	// RFC 4303 §2.4: the receiver should check the default padding.
	for i := 0; i < pad; i++ {
		if plain[payloadEnd+i] != byte(i+1) {
			return 0, 0, 0, ErrPadding
		}
	}
	if !sa.replay.accept(seq, payloadEnd) {
		return 0, 0, 0, ErrReplay
	}
	start, end = ct, ct+payloadEnd
	if nh == ProtoNone {
		return 0, 0, 0, ErrDummy
	}
	if nh == ipcomp.Protocol {
		if sa.comp == nil {
			return 0, 0, 0, ErrNextHeader
		}
		if end, nh, err = sa.decompress(b, start, end); err != nil {
			return 0, 0, 0, err
		}
	}
	return start, end, nh, nil
}

// decompress inflates the IPComp payload b[start:end] into a scratch buffer
// and copies it back to b[start:], within b's capacity.
func (sa *SA) decompress(b []byte, start, end int) (int, uint8, error) {
	bufp := sa.comps.Get().(*[]byte)
	defer sa.comps.Put(bufp)
	limit := min(len(*bufp), cap(b)-start)
	nh, _, n, err := ipcomp.Decompress((*bufp)[:limit], b[start:end])
	switch {
	case err == ipcomp.ErrTooBig:
		return 0, 0, ErrTooBig
	case err != nil:
		return 0, 0, ErrCompression
	case nh == ipcomp.Protocol:
		return 0, 0, ErrCompression // RFC 3173 §2.2: never nested
	}
	b = b[:cap(b)]
	copy(b[start:], (*bufp)[:n])
	return start + n, nh, nil
}

// transportPacket rebuilds the IP header in front of a transport-mode payload
// at b[start:end].
func (sa *SA) transportPacket(b []byte, start, end int, nh uint8) ([]byte, error) {
	src, dst := sa.remote.Addr(), sa.local.Addr()
	hl := 20
	if src.Is6() {
		hl = 40
	}
	if start < hl {
		return nil, sa.count(ErrNoRoom)
	}
	seg := b[start:end]
	if sa.origRemote.IsValid() || sa.origLocal.IsValid() {
		oSrc, oDst := sa.origRemote, sa.origLocal
		if !oSrc.IsValid() {
			oSrc = src
		}
		if !oDst.IsValid() {
			oDst = dst
		}
		if oSrc.Is4() == src.Is4() && oDst.Is4() == dst.Is4() {
			FixChecksum(nh, seg, oSrc, oDst, src, dst)
		}
	}
	putIPHeader(b[start-hl:start], src, dst, nh, len(seg))
	return b[start-hl : end], nil
}
