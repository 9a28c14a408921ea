package bench

import (
	"bytes"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ikego/ikego/tun"
)

// A flow is the traffic of one benchmark run: packets that the sending
// side's memTUN makes up in Read, and that the receiving side's memTUN
// counts in Write. Flow control is a window: Read hands out a packet only
// while fewer than window packets are in flight, so the dataplanes' queues
// (and esptest's, which drop when full) are never overrun, and a packet
// lost on the way stays lost and is counted, not hidden by retries.
//
// Neither side allocates or takes a lock per packet beyond Read's (one
// reader at a time), so what a benchmark counts is the dataplane's.
type flow struct {
	pkt []byte // the packet Read makes and Write expects

	window atomic.Int64 // packets in flight at most
	limit  atomic.Int64 // packets Read may make in all
	sent   atomic.Int64 // packets Read has made
	recv   atomic.Int64 // packets written to the receiving side
	bad    atomic.Int64 // written packets that differ from pkt
	first  atomic.Int64 // UnixNano when Read made the first packet of a run
	last   atomic.Int64 // UnixNano of the last Write

	// credit tells a Read waiting for room that packets arrived or the
	// limit grew; arrived tells wait the same. Each holds at most one
	// token, so a signal is never lost and a send never blocks.
	credit  chan struct{}
	arrived chan struct{}
}

func newFlow(pkt []byte, window int) *flow {
	f := &flow{pkt: pkt, credit: make(chan struct{}, 1), arrived: make(chan struct{}, 1)}
	f.window.Store(int64(window))
	return f
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// delivered counts packets written to the receiving side.
func (f *flow) delivered(n int64) {
	f.last.Store(time.Now().UnixNano())
	f.recv.Add(n)
	signal(f.credit)
	signal(f.arrived)
}

// flowResult is what one run of a flow measured.
type flowResult struct {
	sent, recv, lost int64
	elapsed          time.Duration // first packet made to last packet written
}

// run lets n more packets through with at most window in flight, and waits
// until all of them have arrived or none has for idle (the rest are lost).
// It fails when the flow stops before all n were even sent: more than
// window packets were lost, or the dataplane is stuck.
func (f *flow) run(n, window int, idle time.Duration) (flowResult, error) {
	f.window.Store(int64(window))
	startSent, startRecv := f.sent.Load(), f.recv.Load()
	f.first.Store(0)
	target := f.limit.Add(int64(n))
	signal(f.credit)
	timer := time.NewTimer(idle)
	defer timer.Stop()
	seen := startRecv
	for f.recv.Load() < target {
		select {
		case <-f.arrived:
			continue
		case <-timer.C:
		}
		recv := f.recv.Load()
		if recv == seen {
			sent := f.sent.Load()
			r := flowResult{sent: sent - startSent, recv: recv - startRecv, lost: sent - recv}
			if sent < target {
				return r, fmt.Errorf("nothing arrived for %v after %d of %d packets were sent and %d arrived: %d in flight are lost",
					idle, r.sent, n, r.recv, r.lost)
			}
			r.elapsed = time.Duration(f.last.Load() - f.first.Load())
			return r, nil
		}
		seen = recv
		timer.Reset(idle)
	}
	sent, recv := f.sent.Load(), f.recv.Load()
	return flowResult{
		sent: sent - startSent, recv: recv - startRecv,
		elapsed: time.Duration(f.last.Load() - f.first.Load()),
	}, nil
}

// memTUN is an in-memory tun.Device at one end of a flow. At the sending
// end (gen true) Read makes copies of the flow's packet as the window
// allows; at the receiving end Read blocks until Close. Write checks and
// counts what it is given. Unlike tuntest.Channel it neither allocates nor
// goes through a channel per packet, so the benchmark measures the
// dataplane and not its test double. It is safe for concurrent use.
type memTUN struct {
	f      *flow
	gen    bool
	mtu    int
	batch  int
	readMu sync.Mutex
	events chan tun.Event
	done   chan struct{}
	once   sync.Once
}

var _ tun.Device = (*memTUN)(nil)

func newMemTUN(f *flow, gen bool, mtu, batch int) *memTUN {
	d := &memTUN{f: f, gen: gen, mtu: mtu, batch: batch, events: make(chan tun.Event, 1), done: make(chan struct{})}
	d.events <- tun.EventUp
	return d
}

// Read makes as many packets as the window, the limit, the buffers and the
// batch size allow, waiting until it can make one; at the receiving end it
// waits for Close.
func (d *memTUN) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	if !d.gen {
		<-d.done
		return 0, os.ErrClosed
	}
	d.readMu.Lock()
	defer d.readMu.Unlock()
	f := d.f
	for {
		select {
		case <-d.done:
			return 0, os.ErrClosed
		default:
		}
		sent := f.sent.Load()
		n := min(f.limit.Load()-sent, f.window.Load()-(sent-f.recv.Load()), int64(len(bufs)), int64(len(sizes)), int64(d.batch))
		if n > 0 {
			for i := range n {
				sizes[i] = copy(bufs[i][offset:], f.pkt)
			}
			if f.first.Load() == 0 {
				f.first.Store(time.Now().UnixNano())
			}
			f.sent.Add(n)
			return int(n), nil
		}
		select {
		case <-f.credit:
		case <-d.done:
			return 0, os.ErrClosed
		}
	}
}

// Write counts the packets, and those that are not the flow's packet. At
// the sending end, where nothing should arrive, every packet is bad.
func (d *memTUN) Write(bufs [][]byte, offset int) (int, error) {
	select {
	case <-d.done:
		return 0, os.ErrClosed
	default:
	}
	if d.gen {
		d.f.bad.Add(int64(len(bufs)))
		return len(bufs), nil
	}
	for _, b := range bufs {
		if !bytes.Equal(b[offset:], d.f.pkt) {
			d.f.bad.Add(1)
		}
	}
	d.f.delivered(int64(len(bufs)))
	return len(bufs), nil
}

// Close unblocks Read and Write; it may be called more than once.
func (d *memTUN) Close() error {
	d.once.Do(func() {
		close(d.done)
		close(d.events)
	})
	return nil
}

// File returns nil: there is no file descriptor.
func (d *memTUN) File() *os.File { return nil }

// MTU returns the MTU given to newMemTUN.
func (d *memTUN) MTU() (int, error) { return d.mtu, nil }

// Name returns "memtun".
func (d *memTUN) Name() (string, error) { return "memtun", nil }

// Events returns a channel holding one tun.EventUp, closed by Close.
func (d *memTUN) Events() <-chan tun.Event { return d.events }

// BatchSize returns the batch size given to newMemTUN.
func (d *memTUN) BatchSize() int { return d.batch }
