package bench

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"golang.zx2c4.com/wireguard/conn"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/esp/esptest"
)

// wgBind is a wireguard-go conn.Bind on a host of an esptest.Network, so
// that wireguard-go's datagrams travel exactly as ikego's do in the same
// benchmark: copied into esptest's pooled buffers, queued at the receiving
// host (up to esptest.QueueLen, then dropped and counted) and received in
// batches of esptest.BatchSize. WireGuard's messages go from UDP 4500 to
// UDP 4500, the port esptest hosts listen on; esptest does not look inside.
//
// wireguard-go closes and reopens its Bind whenever the listening port
// changes, and an esptest bind cannot be reopened, so Open takes a new one
// each time. The steady-state packet path allocates nothing: endpoints are
// made once per remote address.
type wgBind struct {
	net  *esptest.Network
	addr netip.Addr

	mu  sync.Mutex
	cur atomic.Pointer[esp.Bind] // the open bind; nil when closed

	eps  sync.Map // netip.AddrPort -> *wgEndpoint
	last atomic.Pointer[wgEndpoint]
}

var _ conn.Bind = (*wgBind)(nil)

func newWGBind(n *esptest.Network, addr netip.Addr) *wgBind {
	return &wgBind{net: n, addr: addr}
}

// Open opens a new esptest bind at the host's address and returns its one
// receive function, adapted; the port is always esptest.NATTPort.
func (b *wgBind) Open(uint16) ([]conn.ReceiveFunc, uint16, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cur.Load() != nil {
		return nil, 0, conn.ErrBindAlreadyOpen
	}
	eb := b.net.NewBind(b.addr)
	fns, err := eb.Open()
	if err != nil {
		eb.Close()
		return nil, 0, err
	}
	b.cur.Store(&eb)
	out := make([]conn.ReceiveFunc, len(fns))
	for i, fn := range fns {
		eps := make([]esp.Endpoint, esptest.BatchSize)
		out[i] = func(bufs [][]byte, sizes []int, ceps []conn.Endpoint) (int, error) {
			k := min(len(bufs), len(sizes), len(ceps), len(eps))
			n, err := fn(bufs[:k], sizes[:k], eps[:k])
			for j := range n {
				ceps[j] = b.endpoint(eps[j].Remote)
			}
			return n, err
		}
	}
	return out, esptest.NATTPort, nil
}

// Close closes the open esptest bind, if any.
func (b *wgBind) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if eb := b.cur.Swap(nil); eb != nil {
		return (*eb).Close()
	}
	return nil
}

// SetMark does nothing: there is no socket to mark.
func (b *wgBind) SetMark(uint32) error { return nil }

// Send sends bufs from the host's UDP 4500 to ep.
func (b *wgBind) Send(bufs [][]byte, ep conn.Endpoint) error {
	eb := b.cur.Load()
	if eb == nil {
		return net.ErrClosed
	}
	e, ok := ep.(*wgEndpoint)
	if !ok {
		return errors.New("bench: wgBind: foreign endpoint")
	}
	return (*eb).Send(bufs, esp.Endpoint{Local: netip.AddrPortFrom(b.addr, esptest.NATTPort), Remote: e.ap})
}

// ParseEndpoint parses "address:port".
func (b *wgBind) ParseEndpoint(s string) (conn.Endpoint, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return nil, err
	}
	return b.endpoint(ap), nil
}

// BatchSize returns esptest.BatchSize.
func (b *wgBind) BatchSize() int { return esptest.BatchSize }

// endpoint returns the one endpoint of remote address ap.
func (b *wgBind) endpoint(ap netip.AddrPort) *wgEndpoint {
	if e := b.last.Load(); e != nil && e.ap == ap {
		return e
	}
	v, _ := b.eps.LoadOrStore(ap, &wgEndpoint{ap: ap})
	e := v.(*wgEndpoint)
	b.last.Store(e)
	return e
}

// wgEndpoint is a peer's address as wireguard-go's conn.Endpoint.
type wgEndpoint struct{ ap netip.AddrPort }

var _ conn.Endpoint = (*wgEndpoint)(nil)

func (e *wgEndpoint) ClearSrc()           {}
func (e *wgEndpoint) SrcToString() string { return "" }
func (e *wgEndpoint) DstToString() string { return e.ap.String() }
func (e *wgEndpoint) DstToBytes() []byte  { b, _ := e.ap.MarshalBinary(); return b }
func (e *wgEndpoint) DstIP() netip.Addr   { return e.ap.Addr() }
func (e *wgEndpoint) SrcIP() netip.Addr   { return netip.Addr{} }
