package esp

import (
	"encoding/binary"

	"github.com/ikego/ikego/esp/ipcomp"
)

// scratchLen is the scratch space an AEAD seal or open uses after the packet:
// a 12-octet nonce and a 12-octet ESN AAD.
const scratchLen = 24

// Seal protects, in place, the packet that starts at b[off] and ends at
// len(b), with the SA's next sequence number. It returns the ESP packet
// (SPI to ICV) as a subslice of b[:cap(b)], ready to be sent over a UDP
// socket (port 4500) or a raw ESP socket, which add the outer IP header.
//
// In tunnel mode the packet is an IPv4 or IPv6 packet and is protected whole.
// In transport mode it is an IPv4 or IPv6 packet whose payload is protected;
// its IP header is consumed (the socket writes a new one).
//
// b[:off] is headroom: it must hold HeaderLen octets. After len(b), Seal
// needs cap(b) to hold the padding, trailer and ICV; with Tailroom octets of
// spare capacity it allocates nothing. Seal is safe for concurrent use.
func (sa *SA) Seal(b []byte, off int) ([]byte, error) {
	seq, err := sa.NextSeq()
	if err != nil {
		return nil, err
	}
	return sa.SealSeq(b, off, seq)
}

// SealSeq is Seal with a sequence number the caller reserved with NextSeq, so
// that a pipeline can number packets in order and seal them in parallel.
func (sa *SA) SealSeq(b []byte, off int, seq uint64) ([]byte, error) {
	if off < 0 || off > len(b) {
		return nil, ErrNoRoom
	}
	pkt := b[off:]
	if sa.mode == ModeTransport {
		hlen, proto, ok := transportHeader(pkt)
		if !ok {
			return nil, ErrTruncated
		}
		return sa.SealPayload(b, off+hlen, proto, seq)
	}
	nh, ok := innerNextHeader(pkt)
	if !ok {
		return nil, ErrNextHeader
	}
	if n := len(pkt); sa.tfc > n {
		// RFC 4303 §2.7: TFC padding follows the inner packet; the receiver
		// finds the packet's end from its own length field.
		if off+sa.tfc > cap(b) {
			return nil, ErrTooBig
		}
		b = b[:off+sa.tfc]
		clear(b[off+n:])
	}
	return sa.SealPayload(b, off, nh, seq)
}

// SealPayload protects b[off:] as the payload of one ESP packet with next
// header nh and sequence number seq, whatever the SA's mode: the building
// block of Seal, and of transport-mode senders that build their own payload
// (an L2TP endpoint hands in a UDP datagram with nh 17). Buffer rules as for
// Seal.
func (sa *SA) SealPayload(b []byte, off int, nh uint8, seq uint64) ([]byte, error) {
	if off < sa.hdrLen || off > len(b) {
		return nil, ErrNoRoom
	}
	n := len(b) - off
	if sa.comp != nil {
		var ok bool
		if b, n, ok = sa.compress(b, off, nh); ok {
			nh = ipcomp.Protocol
		}
	}
	pad := sa.padLen(n)
	end := off + n + pad + 2 // end of the plaintext
	total := end + sa.icvLen
	if total+sa.slack > cap(b) || total-off > 65535 {
		return nil, ErrTooBig
	}
	b = b[:cap(b)]
	// RFC 4303 §2.4: the default padding is the octets 1, 2, 3, ...
	for i := 0; i < pad; i++ {
		b[off+n+i] = byte(i + 1)
	}
	b[end-2], b[end-1] = byte(pad), nh
	s := off - sa.hdrLen
	binary.BigEndian.PutUint32(b[s:], sa.spi)
	binary.BigEndian.PutUint32(b[s+4:], uint32(seq))

	if sa.aead != nil {
		iv := b[s+8 : off]
		// RFC 4106 §3.1: the IV must not repeat under one key; the sequence
		// number never does.
		binary.BigEndian.PutUint64(iv, seq)
		if sa.testIV != nil {
			copy(iv, sa.testIV(seq))
		}
		// The scratch starts 16 octets on: a short-tag GCM writes the full
		// tag past total before truncating it.
		scratch := b[min(total+16, len(b)):]
		if len(scratch) < scratchLen {
			scratch = make([]byte, scratchLen)
		}
		nonce := scratch[:12]
		copy(nonce, sa.salt[:])
		copy(nonce[4:], iv)
		aad := b[s : s+8]
		if sa.esn {
			// RFC 4106 §5: SPI, then the high and low halves of the ESN.
			aad = scratch[12:24]
			binary.BigEndian.PutUint32(aad, sa.spi)
			binary.BigEndian.PutUint64(aad[4:], seq)
		}
		sa.aead.Seal(b[off:off], nonce, b[off:end], aad)
	} else {
		st := sa.pool.Get().(*cbcState)
		if sa.block != nil {
			iv := b[s+8 : off]
			clear(iv)
			binary.BigEndian.PutUint64(iv, seq)
			sa.ivGen.Encrypt(iv, iv)
			if sa.testIV != nil {
				copy(iv, sa.testIV(seq))
			}
			st.encIV.SetIV(iv)
			st.enc.CryptBlocks(b[off:end], b[off:end])
		}
		copy(b[end:total], sa.mac(st, b[s:end], b[end:end], seq))
		sa.pool.Put(st)
	}
	sa.packets.Add(1)
	sa.bytes.Add(uint64(n))
	return b[s:total], nil
}

// mac returns the untruncated HMAC over data (ESP header, IV, ciphertext)
// and, with ESN, the high half of the sequence number. It builds the result
// in out's spare capacity, which must not overlap data; with less than the
// hash size there, the hash allocates.
func (sa *SA) mac(st *cbcState, data, out []byte, seq uint64) []byte {
	st.mac.Reset()
	st.mac.Write(data)
	if sa.esn {
		// RFC 4303 §2.2.1: the high half of the ESN is covered by the ICV
		// as if it followed the payload, but is not sent.
		if cap(out) < 4 {
			out = make([]byte, 0, 4)
		}
		hi := out[:4]
		binary.BigEndian.PutUint32(hi, uint32(seq>>32))
		st.mac.Write(hi)
	}
	return st.mac.Sum(out[:0])
}

// compress replaces b[off:] with its IPComp form when that is smaller, and
// returns the buffer, the new payload length and whether it compressed.
func (sa *SA) compress(b []byte, off int, nh uint8) ([]byte, int, bool) {
	n := len(b) - off
	bufp := sa.comps.Get().(*[]byte)
	defer sa.comps.Put(bufp)
	m, ok := sa.comp.Compress(*bufp, nh, b[off:])
	if !ok || off+m > cap(b) {
		return b, n, false
	}
	b = b[:off+m]
	copy(b[off:], (*bufp)[:m])
	return b, m, true
}
