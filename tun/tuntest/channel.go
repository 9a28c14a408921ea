package tuntest

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/ikego/ikego/tun"
)

// ChannelConfig configures a Channel. The zero value gives a Channel named
// "tuntest" with MTU 1400, batches of 128 packets and queues of 1024.
type ChannelConfig struct {
	Name      string // what Name returns; "" means "tuntest"
	MTU       int    // what MTU returns; 0 means 1400. Packets are not checked against it.
	BatchSize int    // what BatchSize returns and the most packets one Read returns; 0 means 128
	Queue     int    // the capacity of Inbound and Outbound; 0 means 1024
}

// Channel is an in-memory tun.Device driven by a test through two channels:
// Read returns the packets the test sends on Inbound, and Write delivers
// copies of the packets it is given on Outbound. It needs no privilege.
//
// All methods are safe for concurrent use. After Close, Read and Write
// return os.ErrClosed (never io.EOF), and packets still queued on Inbound are
// not read. Inbound and Outbound are never closed, so a test can still send
// on Inbound after Close; a test that waits on Outbound should also watch
// Done.
type Channel struct {
	// Inbound takes packets for Read. The Channel owns a slice once it is
	// sent, and Read copies it into the caller's buffer.
	Inbound chan<- []byte
	// Outbound gives a new copy of every packet written, in order. A Write
	// blocks while Outbound is full, until the test receives or Close.
	Outbound <-chan []byte

	in     chan []byte
	out    chan []byte
	events chan tun.Event
	done   chan struct{}
	name   string
	mtu    int
	batch  int

	closeOnce sync.Once

	readMu  sync.Mutex // serialises reads; guards pending
	pending []byte     // a packet that did not fit the previous batch
}

var _ tun.Device = (*Channel)(nil)

// NewChannel returns a Channel with MTU mtu (0 means 1400) and the defaults
// of ChannelConfig otherwise.
func NewChannel(mtu int) *Channel { return ChannelConfig{MTU: mtu}.New() }

// New returns a Channel configured by cfg. Its Events channel holds one
// tun.EventUp.
func (cfg ChannelConfig) New() *Channel {
	if cfg.Name == "" {
		cfg.Name = "tuntest"
	}
	if cfg.MTU == 0 {
		cfg.MTU = 1400
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 128
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 1024
	}
	c := &Channel{
		in:     make(chan []byte, cfg.Queue),
		out:    make(chan []byte, cfg.Queue),
		events: make(chan tun.Event, 1),
		done:   make(chan struct{}),
		name:   cfg.Name,
		mtu:    cfg.MTU,
		batch:  cfg.BatchSize,
	}
	c.Inbound, c.Outbound = c.in, c.out
	c.events <- tun.EventUp
	return c
}

// Read blocks until a packet is queued on Inbound or the Channel is closed.
// It copies that packet to bufs[0][offset:], then, without blocking, as many
// more queued packets as there are buffers (up to BatchSize), and returns
// how many it copied, with their lengths in sizes. A packet that does not fit
// its buffer ends the batch and is returned first by the next Read; one that
// does not fit bufs[0] is dropped with an error wrapping io.ErrShortBuffer.
// After Close, Read returns 0 and os.ErrClosed.
func (c *Channel) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	if c.closed() {
		return 0, os.ErrClosed
	}
	n := 0
	limit := min(len(bufs), len(sizes), c.batch)
	for n < limit {
		var p []byte
		switch {
		case c.pending != nil:
			p, c.pending = c.pending, nil
		case n == 0:
			select {
			case p = <-c.in:
			case <-c.done:
				return 0, os.ErrClosed
			}
		default:
			select {
			case p = <-c.in:
			default:
				return n, nil
			}
		}
		if offset+len(p) > len(bufs[n]) {
			if n == 0 {
				return 0, fmt.Errorf("tuntest: %d-byte packet does not fit a %d-byte buffer at offset %d: %w", len(p), len(bufs[0]), offset, io.ErrShortBuffer)
			}
			c.pending = p
			return n, nil
		}
		sizes[n] = copy(bufs[n][offset:], p)
		n++
	}
	return n, nil
}

// Write sends a copy of bufs[i][offset:] on Outbound for every i, in order,
// blocking while Outbound is full. It returns how many packets it sent: all
// of them, or fewer and os.ErrClosed if the Channel is closed first. The
// caller keeps bufs.
func (c *Channel) Write(bufs [][]byte, offset int) (int, error) {
	for i, b := range bufs {
		if c.closed() {
			return i, os.ErrClosed
		}
		p := append([]byte(nil), b[offset:]...)
		select {
		case c.out <- p:
		case <-c.done:
			return i, os.ErrClosed
		}
	}
	return len(bufs), nil
}

// Close closes the Channel: it unblocks Read and Write, which return
// os.ErrClosed from then on, closes the Events channel and closes Done. It
// may be called more than once; it always returns nil.
func (c *Channel) Close() error {
	c.closeOnce.Do(func() {
		close(c.done)
		close(c.events)
	})
	return nil
}

// Done returns a channel that is closed when the Channel is.
func (c *Channel) Done() <-chan struct{} { return c.done }

func (c *Channel) closed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// File returns nil: a Channel has no file descriptor.
func (c *Channel) File() *os.File { return nil }

// MTU returns the configured MTU.
func (c *Channel) MTU() (int, error) { return c.mtu, nil }

// Name returns the configured name.
func (c *Channel) Name() (string, error) { return c.name, nil }

// Events returns a channel holding one tun.EventUp, closed by Close.
func (c *Channel) Events() <-chan tun.Event { return c.events }

// BatchSize returns the configured batch size.
func (c *Channel) BatchSize() int { return c.batch }

// Wire forwards the packets written to a into b's Read, and those written to
// b into a's Read, until stop is called or either Channel is closed. stop
// waits for the forwarding goroutines to end, and may be called more than
// once; a packet in flight when it is called may be dropped. a and b must be
// different Channels, and the test must not receive on their Outbound itself
// while they are wired.
func Wire(a, b *Channel) (stop func()) {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go pump(&wg, quit, a, b)
	go pump(&wg, quit, b, a)
	var once sync.Once
	return func() {
		once.Do(func() { close(quit) })
		wg.Wait()
	}
}

// pump moves packets from src's Outbound to dst's Inbound.
func pump(wg *sync.WaitGroup, quit <-chan struct{}, src, dst *Channel) {
	defer wg.Done()
	for {
		var p []byte
		select {
		case p = <-src.out:
		case <-quit:
			return
		case <-src.done:
			return
		case <-dst.done:
			return
		}
		select {
		case dst.in <- p:
		case <-quit:
			return
		case <-dst.done:
			return
		}
	}
}
