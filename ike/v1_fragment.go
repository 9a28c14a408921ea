package ike

import (
	"bytes"
	"time"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike/wire"
)

// IKEv1 fragmentation as Cisco, Microsoft and strongSwan do it (no RFC):
// after both ends sent the FRAGMENTATION vendor ID, a large message goes
// out as several messages, each the header (cookies, exchange, message
// ID, no Encryption flag) and one FRAG payload; the fragments' data in
// number order is the whole original message. Certificates in Main Mode
// messages 5 and 6 need it on paths that drop IP fragments.

// v1VIDFragmentation is the FRAGMENTATION vendor ID; the peer may append
// capability flags (strongSwan: 80000000).
var v1VIDFragmentation = []byte{0x40, 0x48, 0xb7, 0xd5, 0x6e, 0xbc, 0xe8, 0x85, 0x25, 0xe7, 0xde, 0x7f, 0x00, 0xd6, 0xc2, 0xd3}

// Reassembly limits: fragments per message, octets per message, and how
// long a message may take to arrive whole.
const (
	v1MaxFragments  = 16
	v1MaxReassembly = 64 << 10
	v1FragmentWait  = 10 * time.Second
)

// v1Reassembly collects the fragments of one message.
type v1Reassembly struct {
	id      uint16
	parts   map[uint8][]byte
	last    uint8 // the number of the LAST fragment, 0 before it came
	size    int
	started time.Time
}

// isV1FragmentVID reports whether vid is the FRAGMENTATION vendor ID.
func isV1FragmentVID(vid []byte) bool { return bytes.HasPrefix(vid, v1VIDFragmentation) }

// v1Fragment adds a fragment of the peer's; when the message is whole it
// is handled as if it had come in one datagram.
func (s *session) v1Fragment(f *wire.V1Fragment, ep esp.Endpoint) {
	v := s.v1
	now := s.env.now()
	r := v.reasm
	if r == nil || r.id != f.ID || now.Sub(r.started) > v1FragmentWait {
		// A new message (the peer gave up on the old one, or it is late).
		r = &v1Reassembly{id: f.ID, parts: map[uint8][]byte{}, started: now}
		v.reasm = r
	}
	if f.Number > v1MaxFragments || (r.last != 0 && f.Number > r.last) || r.size+len(f.Data) > v1MaxReassembly {
		s.logger().Info("IKEv1 fragment beyond the limits: message dropped", "number", f.Number)
		v.reasm = nil
		return
	}
	if _, dup := r.parts[f.Number]; dup {
		return
	}
	r.parts[f.Number] = bytes.Clone(f.Data)
	r.size += len(f.Data)
	if f.Last {
		r.last = f.Number
		for n, b := range r.parts {
			if n > r.last { // cannot belong to this message
				r.size -= len(b)
				delete(r.parts, n)
			}
		}
	}
	if r.last == 0 || len(r.parts) != int(r.last) {
		return
	}
	whole := make([]byte, 0, r.size)
	for i := uint8(1); i <= r.last; i++ {
		whole = append(whole, r.parts[i]...)
	}
	v.reasm = nil
	m, err := wire.ParseV1(whole)
	if err != nil || m.Header.InitiatorCookie != s.spii || m.Header.ResponderCookie != s.spir {
		s.logger().Info("reassembled IKEv1 message dropped", "err", err)
		return
	}
	s.handleV1(m, ep)
}

// v1Fragments splits a message of ours into fragment messages when the
// peer takes fragments and it is larger than the fragment size; else it
// returns the message alone.
func (s *session) v1Fragments(b []byte) [][]byte {
	v := s.v1
	limit := s.env.fragmentSize
	if !v.fragPeer || (s.peer != nil && s.peer.NoFragmentation) || len(b) <= limit || limit < 2*wire.V1HeaderLen {
		return [][]byte{b}
	}
	h, err := wire.ParseV1Header(b)
	if err != nil {
		return [][]byte{b}
	}
	v.fragID++
	per := limit - wire.V1HeaderLen - 8 // the FRAG payload's own header
	var out [][]byte
	for i := 0; i*per < len(b); i++ {
		end := min((i+1)*per, len(b))
		fh := h
		fh.Flags &^= wire.V1FlagEncryption
		m := wire.V1Message{Header: fh, Payloads: []wire.V1Payload{&wire.V1Fragment{ID: v.fragID, Number: uint8(i + 1),
			Last: end == len(b), Data: b[i*per : end]}}}
		fb, err := m.Marshal()
		if err != nil || i+1 > v1MaxFragments {
			return [][]byte{b}
		}
		out = append(out, fb)
	}
	return out
}
