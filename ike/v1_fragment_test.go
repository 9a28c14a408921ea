package ike

import (
	"crypto/sha256"
	"slices"
	"testing"
	"time"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike/wire"
)

// TestV1FragmentsExchange: with a small fragment size on both ends (each
// announces the FRAGMENTATION vendor ID), Main Mode and Quick Mode go in
// fragments and both sides come up with paired keys.
func TestV1FragmentsExchange(t *testing.T) {
	for _, off := range []string{"", "initiator", "responder"} {
		t.Run("off="+off, func(t *testing.T) { testV1FragmentsExchange(t, off) })
	}
}

// testV1FragmentsExchange runs the exchange with fragments of at most 160
// octets, or with NoFragmentation on one side (off), when nothing may be
// fragmented (nor fit: the exchange then fails, which is not checked).
func testV1FragmentsExchange(t *testing.T, off string) {
	p := newV1Pair(t, true, func(i, r *PeerConfig) {
		i.NoFragmentation, r.NoFragmentation = off == "initiator", off == "responder"
	})
	p.i.env.fragmentSize, p.r.env.fragmentSize = 160, 160
	if err := p.i.Initiate("net"); err != nil {
		t.Fatal(err)
	}
	frags := 0
	for range 64 {
		moved := false
		for _, d := range [2]struct {
			from *capture
			to   *Manager
		}{{p.ic, p.r}, {p.rc, p.i}} {
			for _, in := range d.from.take() {
				moved = true
				if m, err := wire.ParseV1(in.data); err == nil && len(m.Payloads) == 1 {
					if _, ok := m.Payloads[0].(*wire.V1Fragment); ok {
						frags++
						if len(in.data) > 160 {
							t.Errorf("fragment of %d octets, limit 160", len(in.data))
						}
					}
				}
				d.to.receive(in.data, esp.Endpoint{Local: in.ep.Remote, Remote: in.ep.Local})
			}
		}
		if !moved {
			p.i.tick()
			p.r.tick()
			if len(p.ic.out)+len(p.rc.out) == 0 {
				break
			}
		}
	}
	if off != "" {
		if frags != 0 {
			t.Fatalf("%d fragments with fragmentation off at the %s", frags, off)
		}
		return
	}
	if frags == 0 {
		t.Fatal("no fragments sent")
	}
	if count(*p.ievs, EventChildUp) != 1 || count(*p.revs, EventChildUp) != 1 {
		t.Fatalf("events %+v / %+v", *p.ievs, *p.revs)
	}
	p.pairedKeys()
}

// TestV1FragmentReassembly: fragments in any order, with duplicates, make
// the message once; too many fragments, too much data or a stale
// reassembly change nothing.
func TestV1FragmentReassembly(t *testing.T) {
	gw := newV1GW(t)
	c := newV1rw(t, gw, wire.V1AuthXAuthInitPSK)
	c.handle2(c.one("message 1", c.send(c.msg1()))) // a session to hold fragments
	b := gw.m.boxes()[0]
	var s *session
	gw.m.with(b, func(x *session) { s = x })
	// A message whose digest has a stored answer: handled, it is resent.
	msg := wire.V1Message{Header: wire.V1Header{InitiatorCookie: s.spii, ResponderCookie: s.spir, MajorVersion: 1,
		Exchange: wire.V1ExchangeInformational, MessageID: 5, NextPayload: wire.V1PayloadHash, Flags: wire.V1FlagEncryption},
		Encrypted: make([]byte, 400)}
	whole, err := msg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	frag := func(parts int) []*wire.V1Fragment {
		var out []*wire.V1Fragment
		per := (len(whole) + parts - 1) / parts
		for i := 0; i < parts; i++ {
			end := min((i+1)*per, len(whole))
			out = append(out, &wire.V1Fragment{ID: 7, Number: uint8(i + 1), Last: end == len(whole), Data: whole[i*per : end]})
		}
		return out
	}
	deliver := func(fs []*wire.V1Fragment) int {
		n := 0
		gw.m.with(b, func(x *session) {
			x.v1.replies[sha256.Sum256(whole)] = [][]byte{[]byte("answer")}
			for _, f := range fs {
				x.v1Fragment(f, esp.Endpoint{Local: respAddr, Remote: c.addr})
			}
			for _, d := range x.out {
				if string(d.data) == "answer" {
					n++
				}
			}
		})
		gw.sent()
		return n
	}
	fs := frag(4)
	shuffled := []*wire.V1Fragment{fs[3], fs[1], fs[1], fs[0], fs[2]}
	if n := deliver(shuffled); n != 1 {
		t.Fatalf("reordered and duplicated fragments: handled %d times, want 1", n)
	}
	if n := deliver(slices.Clone(fs[:3])); n != 0 {
		t.Fatalf("handled without its last fragment")
	}
	// A stale reassembly starts over: the old fragments do not count.
	gw.clock.advance(v1FragmentWait + time.Second)
	if n := deliver([]*wire.V1Fragment{fs[3]}); n != 0 {
		t.Fatalf("stale fragments completed a message")
	}
	if n := deliver(fs[:3]); n != 1 {
		t.Fatalf("a fresh reassembly was not handled")
	}
	// A stray fragment numbered beyond the last one does not block it.
	gw.clock.advance(v1FragmentWait + time.Second)
	stray := &wire.V1Fragment{ID: 7, Number: 6, Data: []byte("stray")}
	if n := deliver(append([]*wire.V1Fragment{stray}, fs...)); n != 1 {
		t.Fatalf("with a stray fragment: handled %d times, want 1", n)
	}
	if n := deliver(frag(v1MaxFragments + 1)); n != 0 {
		t.Fatalf("a message of %d fragments was handled", v1MaxFragments+1)
	}
	big := make([]byte, v1MaxReassembly+1)
	if n := deliver([]*wire.V1Fragment{{ID: 9, Number: 1, Last: true, Data: big}}); n != 0 {
		t.Fatalf("an oversized fragment was handled")
	}
}
