package tuntest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ikego/ikego/tun"
)

// timeout bounds every wait in these tests.
const timeout = 5 * time.Second

// result is what a Read in a goroutine returned.
type result struct {
	n   int
	err error
}

// readAsync starts c.Read in a goroutine.
func readAsync(c tun.Device, bufs [][]byte, sizes []int, offset int) <-chan result {
	ch := make(chan result, 1)
	go func() {
		n, err := c.Read(bufs, sizes, offset)
		ch <- result{n, err}
	}()
	return ch
}

func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(timeout):
		t.Fatalf("timed out after %v waiting for %s", timeout, what)
		panic("unreachable")
	}
}

func makeBufs(n, size int) ([][]byte, []int) {
	bufs := make([][]byte, n)
	for i := range bufs {
		bufs[i] = make([]byte, size)
	}
	return bufs, make([]int, n)
}

func packet(i int) []byte { return []byte(fmt.Sprintf("packet %03d", i)) }

func TestChannelReadBatch(t *testing.T) {
	c := ChannelConfig{BatchSize: 4}.New()
	defer c.Close()
	if c.BatchSize() != 4 {
		t.Fatalf("BatchSize() = %d, want 4", c.BatchSize())
	}
	for i := range 7 {
		c.Inbound <- packet(i)
	}
	const offset = 16
	next := 0
	// 8 buffers, batch 4: 4 packets. 2 buffers: 2. Then the one left,
	// without waiting for more.
	for _, tc := range []struct{ bufs, want int }{{8, 4}, {2, 2}, {8, 1}} {
		bufs, sizes := makeBufs(tc.bufs, 64)
		r := wait(t, readAsync(c, bufs, sizes, offset), "Read of queued packets")
		if r.err != nil || r.n != tc.want {
			t.Fatalf("Read with %d buffers = %d, %v; want %d, nil", tc.bufs, r.n, r.err, tc.want)
		}
		for i := range r.n {
			if got := bufs[i][offset : offset+sizes[i]]; !bytes.Equal(got, packet(next)) {
				t.Errorf("packet %d = %q, want %q", next, got, packet(next))
			}
			if !bytes.Equal(bufs[i][:offset], make([]byte, offset)) {
				t.Errorf("Read wrote before offset in buffer %d", i)
			}
			next++
		}
	}

	// Nothing queued: Read blocks until one packet comes, then returns it
	// alone.
	bufs, sizes := makeBufs(4, 64)
	ch := readAsync(c, bufs, sizes, 0)
	c.Inbound <- packet(7)
	if r := wait(t, ch, "Read of a packet sent later"); r.err != nil || r.n != 1 || string(bufs[0][:sizes[0]]) != string(packet(7)) {
		t.Fatalf("Read = %d, %v, %q; want 1, nil, %q", r.n, r.err, bufs[0][:sizes[0]], packet(7))
	}
}

func TestChannelReadShortBuffer(t *testing.T) {
	c := NewChannel(0)
	defer c.Close()
	big := bytes.Repeat([]byte{0xab}, 100)

	// A packet too big for bufs[1] ends the batch and comes first next time.
	c.Inbound <- packet(0)
	c.Inbound <- big
	c.Inbound <- packet(1)
	bufs := [][]byte{make([]byte, 200), make([]byte, 50), make([]byte, 200)}
	sizes := make([]int, 3)
	r := wait(t, readAsync(c, bufs, sizes, 0), "Read")
	if r.err != nil || r.n != 1 {
		t.Fatalf("Read = %d, %v; want 1, nil", r.n, r.err)
	}
	r = wait(t, readAsync(c, bufs, sizes, 0), "Read")
	if r.err != nil || r.n != 2 || !bytes.Equal(bufs[0][:sizes[0]], big) || !bytes.Equal(bufs[1][:sizes[1]], packet(1)) {
		t.Fatalf("second Read = %d, %v; want the big packet then packet 1", r.n, r.err)
	}

	// A packet too big for bufs[0] is dropped with an error.
	c.Inbound <- big
	c.Inbound <- packet(2)
	r = wait(t, readAsync(c, [][]byte{make([]byte, 50)}, sizes, 0), "Read")
	if r.n != 0 || !errors.Is(r.err, io.ErrShortBuffer) {
		t.Fatalf("Read into a short buffer = %d, %v; want 0, io.ErrShortBuffer", r.n, r.err)
	}
	r = wait(t, readAsync(c, bufs, sizes, 0), "Read")
	if r.err != nil || r.n != 1 || !bytes.Equal(bufs[0][:sizes[0]], packet(2)) {
		t.Fatalf("Read after the dropped packet = %d, %v, %q; want packet 2", r.n, r.err, bufs[0][:sizes[0]])
	}
}

func TestChannelWrite(t *testing.T) {
	c := NewChannel(0)
	defer c.Close()
	const offset = 4
	bufs := [][]byte{append([]byte("hdr:"), packet(0)...), append([]byte("hdr:"), packet(1)...)}
	n, err := c.Write(bufs, offset)
	if n != 2 || err != nil {
		t.Fatalf("Write = %d, %v; want 2, nil", n, err)
	}
	bufs[0][offset] = 'X' // the Channel must have copied
	for i := range 2 {
		got := wait(t, c.Outbound, "Outbound")
		if !bytes.Equal(got, packet(i)) {
			t.Errorf("Outbound packet %d = %q, want %q", i, got, packet(i))
		}
	}
}

func TestChannelClose(t *testing.T) {
	c := NewChannel(0)
	if ev := wait(t, c.Events(), "EventUp"); ev != tun.EventUp {
		t.Fatalf("first event = %v, want EventUp", ev)
	}

	bufs, sizes := makeBufs(2, 64)
	blocked := readAsync(c, bufs, sizes, 0)
	if err := c.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if r := wait(t, blocked, "a blocked Read to return after Close"); r.n != 0 || !errors.Is(r.err, os.ErrClosed) {
		t.Fatalf("blocked Read after Close = %d, %v; want 0, os.ErrClosed", r.n, r.err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	// Packets queued after Close are not read.
	c.Inbound <- packet(0)
	if n, err := c.Read(bufs, sizes, 0); n != 0 || !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Read after Close = %d, %v; want 0, os.ErrClosed", n, err)
	}
	if n, err := c.Write([][]byte{packet(0)}, 0); n != 0 || !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Write after Close = %d, %v; want 0, os.ErrClosed", n, err)
	}
	if _, ok := <-c.Events(); ok {
		t.Fatal("Events channel not closed by Close")
	}
	select {
	case <-c.Done():
	default:
		t.Fatal("Done not closed by Close")
	}
}

func TestChannelCloseUnblocksWrite(t *testing.T) {
	c := ChannelConfig{Queue: 1}.New()
	ch := make(chan result, 1)
	go func() {
		n, err := c.Write([][]byte{packet(0), packet(1)}, 0)
		ch <- result{n, err}
	}()
	// The first packet fills Outbound; the Write then blocks on the second.
	if got := wait(t, c.Outbound, "first packet"); !bytes.Equal(got, packet(0)) {
		t.Fatalf("got %q", got)
	}
	c.Close()
	r := wait(t, ch, "Write to return after Close")
	// Whether the second packet went out before Close is a race the test
	// does not control; either way Write must return.
	if (r.n != 1 || !errors.Is(r.err, os.ErrClosed)) && (r.n != 2 || r.err != nil) {
		t.Fatalf("Write = %d, %v; want 1, os.ErrClosed or 2, nil", r.n, r.err)
	}
}

// TestChannelConcurrent runs readers, writers and Close at once; run with
// -race. Every packet read must be one that was sent, at most once.
func TestChannelConcurrent(t *testing.T) {
	c := ChannelConfig{BatchSize: 8, Queue: 16}.New()
	const senders, perSender = 4, 500
	var wg sync.WaitGroup
	seen := make(chan string, senders*perSender)
	for range 3 { // readers
		wg.Go(func() {
			bufs, sizes := makeBufs(8, 64)
			for {
				n, err := c.Read(bufs, sizes, 0)
				if err != nil {
					if !errors.Is(err, os.ErrClosed) {
						t.Errorf("Read: %v", err)
					}
					return
				}
				for i := range n {
					seen <- string(bufs[i][:sizes[i]])
				}
				if _, err := c.Write(bufs[:n], 0); err != nil && !errors.Is(err, os.ErrClosed) {
					t.Errorf("Write: %v", err)
				}
			}
		})
	}
	for s := range senders {
		wg.Go(func() {
			for i := range perSender {
				select {
				case c.Inbound <- []byte(fmt.Sprintf("%d/%d", s, i)):
				case <-c.Done():
					return
				}
			}
		})
	}
	wg.Go(func() { // drains Outbound
		for {
			select {
			case <-c.Outbound:
			case <-c.Done():
				return
			}
		}
	})
	got := map[string]bool{}
	record := func(p string) {
		var s, i int
		if _, err := fmt.Sscanf(p, "%d/%d", &s, &i); err != nil || s >= senders || i >= perSender {
			t.Errorf("read %q, which was never sent", p)
		}
		if got[p] {
			t.Errorf("read %q twice", p)
		}
		got[p] = true
	}
	// Close once half of the traffic went through.
	for range senders * perSender / 2 {
		record(wait(t, seen, "packets to be read"))
	}
	c.Close()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	wait(t, done, "all goroutines to stop after Close")
	close(seen)
	for p := range seen {
		record(p)
	}
}

func TestWire(t *testing.T) {
	a, b := NewChannel(0), NewChannel(0)
	defer a.Close()
	defer b.Close()
	stop := Wire(a, b)
	bufs, sizes := makeBufs(4, 64)

	if _, err := a.Write([][]byte{packet(1)}, 0); err != nil {
		t.Fatal(err)
	}
	if r := wait(t, readAsync(b, bufs, sizes, 0), "b to read a's packet"); r.err != nil || string(bufs[0][:sizes[0]]) != string(packet(1)) {
		t.Fatalf("b.Read = %d, %v, %q", r.n, r.err, bufs[0][:sizes[0]])
	}
	if _, err := b.Write([][]byte{packet(2)}, 0); err != nil {
		t.Fatal(err)
	}
	if r := wait(t, readAsync(a, bufs, sizes, 0), "a to read b's packet"); r.err != nil || string(bufs[0][:sizes[0]]) != string(packet(2)) {
		t.Fatalf("a.Read = %d, %v, %q", r.n, r.err, bufs[0][:sizes[0]])
	}

	stop()
	stop() // idempotent
	// Unwired: a's packets stay on its Outbound.
	if _, err := a.Write([][]byte{packet(3)}, 0); err != nil {
		t.Fatal(err)
	}
	if got := wait(t, a.Outbound, "a's Outbound after stop"); string(got) != string(packet(3)) {
		t.Fatalf("a.Outbound = %q, want %q", got, packet(3))
	}
}

func TestWireStopsOnClose(t *testing.T) {
	a, b := NewChannel(0), NewChannel(0)
	stop := Wire(a, b)
	a.Close()
	b.Close()
	done := make(chan struct{})
	go func() { stop(); close(done) }()
	wait(t, done, "stop to return after Close")
}

func TestForwardChannels(t *testing.T) {
	a, b := NewChannel(0), NewChannel(0)
	defer b.Close()
	errc := make(chan error, 1)
	go func() { errc <- Forward(b, a) }()
	for i := range 3 {
		a.Inbound <- packet(i)
	}
	for i := range 3 {
		if got := wait(t, b.Outbound, "forwarded packet"); string(got) != string(packet(i)) {
			t.Fatalf("forwarded packet %d = %q, want %q", i, got, packet(i))
		}
	}
	a.Close()
	if err := wait(t, errc, "Forward to return after Close"); err != nil {
		t.Fatalf("Forward = %v, want nil after Close", err)
	}
}
