package l2tp

import (
	"testing"
	"time"
)

type ctrlHarness struct {
	c   *ctrlConn
	out []Header
}

func newCtrlHarness(peerRWS int) *ctrlHarness {
	h := &ctrlHarness{}
	tm := &ctrlTiming{initial: time.Second, max: 8 * time.Second, maxRetries: 5, rws: 4, hello: time.Minute}
	h.c = newCtrlConn(tm, 9, peerRWS, t0, func(pkt []byte) {
		hd, _, err := ParseHeader(pkt)
		if err != nil {
			panic(err)
		}
		h.out = append(h.out, hd)
	})
	return h
}

func (h *ctrlHarness) take() []Header { o := h.out; h.out = nil; return o }

func TestControlWindow(t *testing.T) {
	h := newCtrlHarness(2)
	for range 4 {
		h.c.send(0, []byte{0x80, 8, 0, 0, 0, 0, 0, 6}, t0)
	}
	out := h.take()
	if len(out) != 2 || out[0].Ns != 0 || out[1].Ns != 1 {
		t.Fatalf("sent %+v with a window of 2", out)
	}
	// Nr 1 acknowledges Ns 0: one more goes out.
	h.c.ack(1, t0)
	if out = h.take(); len(out) != 1 || out[0].Ns != 2 {
		t.Fatalf("after ack: %+v", out)
	}
	// An Nr beyond what was sent is ignored.
	h.c.ack(9, t0)
	if len(h.c.unacked) != 2 {
		t.Fatalf("bogus Nr acknowledged: %d unacked", len(h.c.unacked))
	}
	// Timeout retransmits both outstanding messages with the current Nr.
	h.c.nr = 5
	h.c.handleTimeout(t0.Add(time.Second))
	if out = h.take(); len(out) != 2 || out[0].Ns != 1 || out[1].Ns != 2 || out[0].Nr != 5 {
		t.Fatalf("retransmitted %+v", out)
	}
	h.c.ack(3, t0.Add(time.Second))
	if out = h.take(); len(out) != 1 || out[0].Ns != 3 {
		t.Fatalf("after ack 3: %+v", out)
	}
	h.c.ack(4, t0.Add(time.Second))
	if !h.c.idle() || !h.c.nextDeadline().IsZero() {
		t.Fatal("not idle after everything was acknowledged")
	}
}

func TestControlReceive(t *testing.T) {
	h := newCtrlHarness(4)
	body := func(n byte) []byte { return []byte{0x80, 8, 0, 0, 0, n, 0, 6} }
	recv := func(ns uint16) int {
		return len(h.c.receive(&Header{Control: true, Ns: ns}, body(byte(ns)), t0))
	}
	// Reordered: 2 and 1 arrive before 0; all three come out with 0.
	if recv(2) != 0 || recv(1) != 0 {
		t.Fatal("delivered ahead of a gap")
	}
	got := h.c.receive(&Header{Control: true, Ns: 0}, body(0), t0)
	if len(got) != 3 || got[1][5] != 1 || got[2][5] != 2 || h.c.nr != 3 {
		t.Fatalf("delivered %d, nr %d", len(got), h.c.nr)
	}
	// Duplicate: acknowledged and dropped.
	h.c.needAck = false
	if recv(1) != 0 || !h.c.needAck {
		t.Fatal("duplicate not acknowledged")
	}
	h.c.flushAck()
	if out := h.take(); len(out) != 1 || out[0].Nr != 3 || out[0].Ns != 0 {
		t.Fatalf("ZLB %+v", out)
	}
	// Beyond our window of 4: dropped without being kept.
	if recv(3+4) != 0 || len(h.c.reorder) != 0 {
		t.Fatal("out-of-window message kept")
	}
	// Sequence numbers wrap.
	h.c.nr = 0xFFFF
	if recv(0xFFFF) != 1 || h.c.nr != 0 || recv(0) != 1 {
		t.Fatal("no wrap")
	}
}

func TestControlGiveUp(t *testing.T) {
	for _, max := range []int{0, 2, 5} {
		h := newCtrlHarness(4)
		h.c.t.maxRetries = max
		h.c.send(0, []byte{1}, t0)
		h.take()
		n := 0
		for d := h.c.nextDeadline(); !d.IsZero(); d = h.c.nextDeadline() {
			h.c.handleTimeout(d)
			n += len(h.take())
		}
		if n != max || !h.c.failed {
			t.Fatalf("max %d: %d retransmissions, failed %v", max, n, h.c.failed)
		}
	}
}

// TestControlLossyLink runs two control connections against each other
// through a link that loses, duplicates and reorders, and checks that every
// message arrives once, in order.
func TestControlLossyLink(t *testing.T) {
	tm := &ctrlTiming{initial: time.Second, max: 8 * time.Second, maxRetries: 50, rws: 4}
	type wire struct {
		pkt []byte
		to  int
	}
	var queue []wire
	var conns [2]*ctrlConn
	for i := range conns {
		to := 1 - i
		conns[i] = newCtrlConn(tm, 1, 4, t0, func(pkt []byte) { queue = append(queue, wire{pkt, to}) })
	}
	var got [2][]byte
	now := t0
	n := 0
	const total = 40
	for i := range total {
		conns[i%2].send(0, []byte{0x80, 8, 0, 0, 0, byte(i), 0, 6}, now)
	}
	rng := uint32(1)
	next := func() uint32 { rng = rng*1103515245 + 12345; return rng >> 16 }
	for step := 0; step < 10000 && (len(got[0])+len(got[1]) < total || len(queue) > 0); step++ {
		if len(queue) == 0 {
			d := earliest(conns[0].nextDeadline(), conns[1].nextDeadline())
			if d.IsZero() {
				break
			}
			now = d
			conns[0].handleTimeout(now)
			conns[1].handleTimeout(now)
			continue
		}
		// Pick a random queued datagram: reordering.
		k := int(next()) % len(queue)
		w := queue[k]
		queue = append(queue[:k], queue[k+1:]...)
		switch next() % 5 {
		case 0:
			continue // lost
		case 1:
			queue = append(queue, w) // duplicated
		}
		n++
		h, body, err := ParseHeader(w.pkt)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range conns[w.to].receive(&h, body, now) {
			got[w.to] = append(got[w.to], b[5])
		}
		conns[w.to].flushAck()
	}
	for side := range 2 {
		if len(got[side]) != total/2 {
			t.Fatalf("side %d got %d messages: %v", side, len(got[side]), got[side])
		}
		for i, v := range got[side] {
			if int(v) != 2*i+(1-side) {
				t.Fatalf("side %d out of order: %v", side, got[side])
			}
		}
	}
	if conns[0].failed || conns[1].failed || !conns[0].idle() || !conns[1].idle() {
		t.Fatal("connections not idle")
	}
}
