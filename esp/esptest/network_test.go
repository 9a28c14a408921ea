package esptest_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/esp/esptest"
)

const testTimeout = 10 * time.Second

var (
	addrA   = netip.MustParseAddr("198.51.100.1")
	addrB   = netip.MustParseAddr("198.51.100.2")
	addrA6  = netip.MustParseAddr("2001:db8:0:1::1")
	addrB6  = netip.MustParseAddr("2001:db8:0:1::2")
	client1 = netip.MustParseAddr("198.18.64.1")
	client2 = netip.MustParseAddr("198.18.64.2")
	natAddr = netip.MustParseAddr("198.51.100.100")
)

func ap(a netip.Addr, port uint16) netip.AddrPort { return netip.AddrPortFrom(a, port) }

// host is an open bind with its ReceiveFunc; the test closes it at its end,
// or when it runs too long, which unblocks a waiting receive.
type host struct {
	t    *testing.T
	bind esp.Bind
	recv esp.ReceiveFunc
}

func newHost(t *testing.T, n *esptest.Network, addr netip.Addr) *host {
	t.Helper()
	b := n.NewBind(addr)
	fns, err := b.Open()
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) != 1 {
		t.Fatalf("Open returned %d ReceiveFuncs, want 1", len(fns))
	}
	timer := time.AfterFunc(testTimeout, func() { b.Close() })
	t.Cleanup(func() {
		timer.Stop()
		b.Close()
	})
	return &host{t, b, fns[0]}
}

type datagram struct {
	payload string
	ep      esp.Endpoint
}

// receive receives n datagrams.
func (h *host) receive(n int) []datagram {
	h.t.Helper()
	bufs, sizes, eps := testBufs(esptest.BatchSize, 2048)
	var got []datagram
	for len(got) < n {
		k, err := h.recv(bufs, sizes, eps)
		if err != nil {
			h.t.Fatalf("receive after %d of %d datagrams: %v", len(got), n, err)
		}
		for i := range k {
			got = append(got, datagram{string(bufs[i][:sizes[i]]), eps[i]})
		}
	}
	if len(got) != n {
		h.t.Fatalf("received %d datagrams, want %d", len(got), n)
	}
	return got
}

func (h *host) send(ep esp.Endpoint, payloads ...string) {
	h.t.Helper()
	bufs := make([][]byte, len(payloads))
	for i, p := range payloads {
		bufs[i] = []byte(p)
	}
	if err := h.bind.Send(bufs, ep); err != nil {
		h.t.Fatalf("Send %v: %v", ep, err)
	}
}

func testBufs(n, size int) ([][]byte, []int, []esp.Endpoint) {
	bufs := make([][]byte, n)
	for i := range bufs {
		bufs[i] = make([]byte, size)
	}
	return bufs, make([]int, n), make([]esp.Endpoint, n)
}

func check(t *testing.T, got []datagram, ep esp.Endpoint, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("received %d datagrams, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].payload != want[i] || got[i].ep != ep {
			t.Errorf("datagram %d: %q from %v, want %q from %v", i, got[i].payload, got[i].ep, want[i], ep)
		}
	}
}

func TestDelivery(t *testing.T) {
	for _, tt := range []struct {
		name string
		a, b netip.Addr
	}{{"IPv4", addrA, addrB}, {"IPv6", addrA6, addrB6}} {
		t.Run(tt.name, func(t *testing.T) {
			n := esptest.NewNetwork()
			a, b := newHost(t, n, tt.a), newHost(t, n, tt.b)
			var out []string
			for i := range 3 * esptest.BatchSize / 2 {
				out = append(out, fmt.Sprintf("datagram %d", i))
			}
			ep := esp.Endpoint{Local: ap(tt.a, 4500), Remote: ap(tt.b, 4500)}
			a.send(ep, out...)

			// All are queued: the first receive returns a full batch.
			bufs, sizes, eps := testBufs(2*esptest.BatchSize, 100)
			k, err := b.recv(bufs, sizes, eps)
			if err != nil || k != esptest.BatchSize {
				t.Fatalf("receive = %d, %v, want a batch of %d", k, err, esptest.BatchSize)
			}
			var got []datagram
			for i := range k {
				got = append(got, datagram{string(bufs[i][:sizes[i]]), eps[i]})
			}
			got = append(got, b.receive(len(out)-k)...)
			seen := esp.Endpoint{Local: ep.Remote, Remote: ep.Local}
			check(t, got, seen, out...)

			// The answer, from an unset local address, and on port 500.
			b.send(esp.Endpoint{Local: ap(netip.Addr{}, 500), Remote: ap(tt.a, 500)}, "answer")
			check(t, a.receive(1), esp.Endpoint{Local: ap(tt.a, 500), Remote: ap(tt.b, 500)}, "answer")

			if s := n.Stats(); s.Sent != uint64(len(out)+1) || s.Delivered != s.Sent {
				t.Errorf("stats %+v", s)
			}
			if a.bind.BatchSize() != esptest.BatchSize {
				t.Errorf("BatchSize() = %d", a.bind.BatchSize())
			}
		})
	}
}

func TestRawESP(t *testing.T) {
	n := esptest.NewNetwork()
	a, b := newHost(t, n, addrA), newHost(t, n, addrB)
	// A raw ESP endpoint has port 0 at both ends, whatever Local says.
	a.send(esp.Endpoint{Local: ap(addrA, 4500), Remote: ap(addrB, 0)}, "\x00\x00\x10\x00esp")
	check(t, b.receive(1), esp.Endpoint{Local: ap(addrB, 0), Remote: ap(addrA, 0)}, "\x00\x00\x10\x00esp")
	if !(esp.Endpoint{Local: ap(addrB, 0), Remote: ap(addrA, 0)}).RawESP() {
		t.Error("received endpoint is not raw ESP")
	}
}

func TestSendErrors(t *testing.T) {
	n := esptest.NewNetwork()
	a := newHost(t, n, addrA)
	for _, ep := range []esp.Endpoint{
		{Local: ap(addrB, 4500), Remote: ap(addrB, 4500)},  // not our address
		{Local: ap(addrA, 1234), Remote: ap(addrB, 4500)},  // not our port
		{Local: ap(addrA, 4500), Remote: ap(addrB6, 4500)}, // families differ
		{Local: ap(addrA, 4500)},                           // no remote
	} {
		if err := a.bind.Send([][]byte{{1}}, ep); err == nil {
			t.Errorf("Send %v succeeded", ep)
		}
	}
	b := n.NewBind(addrB)
	defer b.Close()
	if err := b.Send([][]byte{{1}}, esp.Endpoint{Remote: ap(addrA, 500)}); err == nil {
		t.Error("Send before Open succeeded")
	}
}

func TestUnroutable(t *testing.T) {
	n := esptest.NewNetwork()
	a, b := newHost(t, n, addrA), newHost(t, n, addrB)
	a.send(esp.Endpoint{Local: ap(addrA, 4500), Remote: ap(netip.MustParseAddr("198.51.100.9"), 4500)}, "nobody")
	a.send(esp.Endpoint{Local: ap(addrA, 4500), Remote: ap(addrB, 1701)}, "closed port")
	if s := n.Stats(); s.Unroutable != 2 || s.Delivered != 0 {
		t.Errorf("stats %+v, want 2 unroutable", s)
	}
	b.bind.Close()
	a.send(esp.Endpoint{Local: ap(addrA, 4500), Remote: ap(addrB, 4500)}, "closed bind")
	if s := n.Stats(); s.Unroutable != 3 || s.Delivered != 0 {
		t.Errorf("stats %+v, want 3 unroutable", s)
	}
	// The address is free again.
	c := newHost(t, n, addrB)
	a.send(esp.Endpoint{Local: ap(addrA, 4500), Remote: ap(addrB, 4500)}, "new bind")
	check(t, c.receive(1), esp.Endpoint{Local: ap(addrB, 4500), Remote: ap(addrA, 4500)}, "new bind")
}

func TestFilter(t *testing.T) {
	n := esptest.NewNetwork()
	a, b := newHost(t, n, addrA), newHost(t, n, addrB)
	ep := esp.Endpoint{Local: ap(addrA, 4500), Remote: ap(addrB, 4500)}
	seen := esp.Endpoint{Local: ep.Remote, Remote: ep.Local}
	var calls atomic.Int32
	n.SetFilter(func(from, to esp.Endpoint, pkt []byte) esptest.Verdict {
		calls.Add(1)
		if from.Local.Addr() == addrB {
			return esptest.Deliver
		}
		if from != ep || to != seen {
			t.Errorf("filter: from %v to %v, want %v to %v", from, to, ep, seen)
		}
		switch pkt[0] {
		case 'D':
			return esptest.Drop
		case 'U':
			return esptest.Duplicate
		case 'R':
			return esptest.Reorder
		}
		return esptest.Deliver
	})
	a.send(ep, "1", "R2", "3", "D4", "U5", "R6", "R7", "8")
	check(t, b.receive(8), seen, "1", "3", "R2", "U5", "U5", "8", "R6", "R7")
	if c := calls.Load(); c != 8 {
		t.Errorf("filter called %d times, want 8", c)
	}
	// A held datagram waits for the next of its own pair only.
	a.send(ep, "R9")
	b.send(seen, "other direction")
	check(t, a.receive(1), ep, "other direction")
	n.SetFilter(nil)
	a.send(ep, "10")
	check(t, b.receive(2), seen, "10", "R9")

	want := esptest.Stats{Sent: 11, Delivered: 11, Dropped: 1, Duplicated: 1, Reordered: 4}
	if s := n.Stats(); s != want {
		t.Errorf("stats %+v, want %+v", s, want)
	}
	if esptest.Reorder.String() != "Reorder" || esptest.Verdict(9).String() != "Verdict(9)" {
		t.Errorf("Verdict.String: %v, %v", esptest.Reorder, esptest.Verdict(9))
	}
}

func TestOverflow(t *testing.T) {
	n := esptest.NewNetwork()
	a, b := newHost(t, n, addrA), newHost(t, n, addrB)
	ep := esp.Endpoint{Local: ap(addrA, 4500), Remote: ap(addrB, 4500)}
	out := make([][]byte, esptest.QueueLen+10)
	for i := range out {
		out[i] = fmt.Appendf(nil, "%d", i)
	}
	if err := a.bind.Send(out, ep); err != nil {
		t.Fatal(err)
	}
	if s := n.Stats(); s.Overflow != 10 || s.Delivered != esptest.QueueLen {
		t.Errorf("stats %+v, want 10 overflows", s)
	}
	got := b.receive(esptest.QueueLen)
	for i, d := range got {
		if d.payload != string(out[i]) {
			t.Fatalf("datagram %d: %q, want %q", i, d.payload, out[i])
		}
	}
	// There is room again.
	a.send(ep, "after")
	check(t, b.receive(1), esp.Endpoint{Local: ep.Remote, Remote: ep.Local}, "after")
}

func TestTruncated(t *testing.T) {
	n := esptest.NewNetwork()
	a, b := newHost(t, n, addrA), newHost(t, n, addrB)
	ep := esp.Endpoint{Local: ap(addrA, 4500), Remote: ap(addrB, 4500)}
	a.send(ep, "too long for the buffer", "short", "too long as well", "fits")
	bufs, sizes, eps := testBufs(4, 8)
	var got []string
	for len(got) < 2 {
		k, err := b.recv(bufs, sizes, eps)
		if err != nil {
			t.Fatal(err)
		}
		for i := range k {
			got = append(got, string(bufs[i][:sizes[i]]))
		}
	}
	if len(got) != 2 || got[0] != "short" || got[1] != "fits" {
		t.Errorf("received %q", got)
	}
	if s := n.Stats(); s.Truncated != 2 {
		t.Errorf("stats %+v, want 2 truncated", s)
	}
}

func TestClose(t *testing.T) {
	n := esptest.NewNetwork()
	b := n.NewBind(addrA)
	fns, err := b.Open()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Open(); !errors.Is(err, esp.ErrBindOpen) {
		t.Errorf("second Open: %v, want esp.ErrBindOpen", err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("a second bind on an address in use did not panic")
			}
		}()
		n.NewBind(addrA)
	}()

	errc := make(chan error, 1)
	go func() {
		bufs, sizes, eps := testBufs(1, 10)
		_, err := fns[0](bufs, sizes, eps)
		errc <- err
	}()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if err != net.ErrClosed {
			t.Errorf("receive after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Close did not unblock the receive")
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := b.Open(); err != net.ErrClosed {
		t.Errorf("Open after Close: %v, want net.ErrClosed", err)
	}
	if err := b.Send([][]byte{{1}}, esp.Endpoint{Remote: ap(addrB, 4500)}); err != net.ErrClosed {
		t.Errorf("Send after Close: %v, want net.ErrClosed", err)
	}
	bufs, sizes, eps := testBufs(1, 10)
	if _, err := fns[0](bufs, sizes, eps); err != net.ErrClosed {
		t.Errorf("receive after Close: %v, want net.ErrClosed", err)
	}
}

func TestNAT(t *testing.T) {
	n := esptest.NewNetwork()
	server := newHost(t, n, addrB)
	c1, c2 := newHost(t, n, client1), newHost(t, n, client2)
	n.NAT(client1, natAddr)
	n.NAT(client2, natAddr)
	toServer := esp.Endpoint{Local: ap(client1, 4500), Remote: ap(addrB, 4500)}

	c1.send(toServer, "c1")
	c2.send(esp.Endpoint{Local: ap(client2, 4500), Remote: ap(addrB, 4500)}, "c2")
	c1.send(esp.Endpoint{Local: ap(client1, 500), Remote: ap(addrB, 500)}, "c1 ike")
	got := server.receive(3)
	first := esptest.FirstNATPort
	check(t, got[:1], esp.Endpoint{Local: ap(addrB, 4500), Remote: ap(natAddr, uint16(first))}, "c1")
	check(t, got[1:2], esp.Endpoint{Local: ap(addrB, 4500), Remote: ap(natAddr, uint16(first+1))}, "c2")
	check(t, got[2:], esp.Endpoint{Local: ap(addrB, 500), Remote: ap(natAddr, uint16(first+2))}, "c1 ike")

	// Answers find their way back through the mappings.
	server.send(got[1].ep, "to c2")
	server.send(got[0].ep, "to c1")
	check(t, c2.receive(1), esp.Endpoint{Local: ap(client2, 4500), Remote: ap(addrB, 4500)}, "to c2")
	check(t, c1.receive(1), esp.Endpoint{Local: ap(client1, 4500), Remote: ap(addrB, 4500)}, "to c1")

	// Raw ESP does not pass the NAT; nor does what has no mapping.
	c1.send(esp.Endpoint{Local: ap(client1, 0), Remote: ap(addrB, 0)}, "raw")
	server.send(esp.Endpoint{Local: ap(addrB, 4500), Remote: ap(natAddr, 4500)}, "unmapped")
	server.send(esp.Endpoint{Local: ap(addrB, 4500), Remote: ap(natAddr, uint16(first+3))}, "unmapped")
	if s := n.Stats(); s.Unroutable != 3 {
		t.Errorf("stats %+v, want 3 unroutable", s)
	}

	// The NAT forgets: new ports, and the old one leads nowhere.
	n.NAT(client1, natAddr)
	c1.send(toServer, "c1 again")
	check(t, server.receive(1), esp.Endpoint{Local: ap(addrB, 4500), Remote: ap(natAddr, uint16(first+3))}, "c1 again")
	server.send(got[0].ep, "old mapping")
	if s := n.Stats(); s.Unroutable != 4 {
		t.Errorf("stats %+v, want 4 unroutable", s)
	}

	// Without the NAT the client is seen as itself.
	n.NAT(client1, netip.Addr{})
	c1.send(toServer, "no NAT")
	check(t, server.receive(1), esp.Endpoint{Local: ap(addrB, 4500), Remote: ap(client1, 4500)}, "no NAT")
}

// TestAllocs asserts that steady-state Send and receive allocate nothing.
func TestAllocs(t *testing.T) {
	n := esptest.NewNetwork()
	a, b := newHost(t, n, addrA), newHost(t, n, addrB)
	ep := esp.Endpoint{Local: ap(addrA, 4500), Remote: ap(addrB, 4500)}
	out := make([][]byte, 16)
	for i := range out {
		out[i] = bytes.Repeat([]byte{byte(i + 1)}, 1400)
	}
	bufs, sizes, eps := testBufs(esptest.BatchSize, 2048)
	var failed error
	exchange := func() {
		if err := a.bind.Send(out, ep); err != nil {
			failed = err
			return
		}
		for got := 0; got < len(out); {
			k, err := b.recv(bufs, sizes, eps)
			if err != nil {
				failed = err
				return
			}
			got += k
		}
	}
	exchange()
	allocs := testing.AllocsPerRun(100, exchange)
	if failed != nil {
		t.Fatal(failed)
	}
	if allocs != 0 {
		t.Errorf("%v allocations per exchange of %d datagrams, want 0", allocs, len(out))
	}
	n.SetFilter(func(from, to esp.Endpoint, pkt []byte) esptest.Verdict { return esptest.Deliver })
	if allocs := testing.AllocsPerRun(100, exchange); allocs != 0 {
		t.Errorf("with a filter: %v allocations per exchange, want 0", allocs)
	}
}

// TestConcurrent sends, receives, sets the filter and reads the counters
// at once, for the race detector.
func TestConcurrent(t *testing.T) {
	n := esptest.NewNetwork()
	a, b := newHost(t, n, addrA), newHost(t, n, addrB)
	ep := esp.Endpoint{Local: ap(addrA, 4500), Remote: ap(addrB, 4500)}
	const senders, per = 4, 200
	filter := func(from, to esp.Endpoint, pkt []byte) esptest.Verdict {
		if pkt[1]%10 == 0 {
			return esptest.Duplicate
		}
		return esptest.Deliver
	}
	n.SetFilter(filter)
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			for i := range per {
				if err := a.bind.Send([][]byte{{byte(g), byte(i)}}, ep); err != nil {
					t.Error(err)
					return
				}
				if i%50 == 0 {
					n.SetFilter(filter)
				}
				_ = n.Stats()
			}
		})
	}
	const want = senders * (per + per/10)
	got := make(map[[2]byte]int)
	for _, d := range b.receive(want) {
		got[[2]byte([]byte(d.payload))]++
	}
	wg.Wait()
	for g := range senders {
		for i := range per {
			if k, w := got[[2]byte{byte(g), byte(i)}], 1+btoi(i%10 == 0); k != w {
				t.Errorf("datagram %d/%d received %d times, want %d", g, i, k, w)
			}
		}
	}
	if s := n.Stats(); s.Sent != senders*per || s.Delivered != want || s.Duplicated != want-senders*per {
		t.Errorf("stats %+v", s)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
