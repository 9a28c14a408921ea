package esptest

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/ikego/ikego/esp"
)

// The UDP ports every host listens on.
const (
	IKEPort  = 500          // IKEPort is the IKE port (RFC 7296 §2).
	NATTPort = esp.NATTPort // NATTPort is the NAT-T port (RFC 3948).
)

// QueueLen is how many datagrams wait at a bind before it drops the next
// (Stats.Overflow).
const QueueLen = 1024

// BatchSize is the BatchSize of the binds: the most datagrams a
// ReceiveFunc returns at once.
const BatchSize = 64

// FirstNATPort is the first port a NAT maps a flow to; later flows get the
// following ports, network-wide.
const FirstNATPort = 40000

// maxFree bounds the pool of packet buffers.
const maxFree = 4 * QueueLen

// Verdict is what a Network does with a datagram, as a filter decides.
type Verdict int

const (
	// Deliver queues the datagram at its destination; so does any value
	// not listed here.
	Deliver Verdict = iota
	// Drop discards it (Stats.Dropped).
	Drop
	// Duplicate delivers it twice.
	Duplicate
	// Reorder holds it back until the next datagram between the same two
	// endpoints has been delivered, then delivers it (Stats.Reordered);
	// if none follows, it stays held.
	Reorder
)

// String returns the verdict's name.
func (v Verdict) String() string {
	switch v {
	case Deliver:
		return "Deliver"
	case Drop:
		return "Drop"
	case Duplicate:
		return "Duplicate"
	case Reorder:
		return "Reorder"
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

// Stats counts what happened to the datagrams of a Network, as returned by
// Network.Stats.
type Stats struct {
	Sent       uint64 // datagrams given to Send
	Delivered  uint64 // queued at a bind; a duplicate counts twice
	Dropped    uint64 // dropped by the filter
	Duplicated uint64 // delivered twice by the filter
	Reordered  uint64 // held back by the filter
	Unroutable uint64 // no open bind or NAT mapping at the destination, a port nobody listens on, or raw ESP from behind a NAT
	Overflow   uint64 // dropped at a full queue
	Truncated  uint64 // dropped for being longer than the receiver's buffer
}

// packet is a queued datagram; its buffer is reused.
type packet struct {
	data []byte
	to   esp.Endpoint // as the receiver sees it
	dst  *bind
}

// natHost is a host behind a NAT.
type natHost struct {
	outside netip.Addr
	ports   map[uint16]uint16 // inside port -> outside port
}

// Network is an in-memory switch between binds, keyed by address. The zero
// value is not usable; call NewNetwork. It is safe for concurrent use.
type Network struct {
	filter atomic.Pointer[func(from, to esp.Endpoint, pkt []byte) Verdict]

	mu      sync.Mutex
	binds   map[netip.Addr]*bind
	held    map[esp.Endpoint][]*packet // Reorder, by the sender's endpoint
	nat     map[netip.Addr]*natHost    // by inside address
	natOut  map[netip.AddrPort]netip.AddrPort
	natPort uint32
	free    []*packet

	sent, delivered, dropped, duplicated, reordered atomic.Uint64
	unroutable, overflow, truncated                 atomic.Uint64
}

// NewNetwork returns an empty Network.
func NewNetwork() *Network {
	return &Network{
		binds:   make(map[netip.Addr]*bind),
		held:    make(map[esp.Endpoint][]*packet),
		nat:     make(map[netip.Addr]*natHost),
		natOut:  make(map[netip.AddrPort]netip.AddrPort),
		natPort: FirstNATPort,
	}
}

// NewBind returns the bind of a host at addr, listening on UDP 500 and 4500
// and on raw ESP. Datagrams to addr are queued from now on, before Open;
// after Close the address is free for another bind. It panics if addr is
// invalid or has an open bind.
func (n *Network) NewBind(addr netip.Addr) esp.Bind {
	addr = addr.Unmap()
	if !addr.IsValid() || addr.IsUnspecified() {
		panic("esptest: NewBind with address " + addr.String())
	}
	b := &bind{
		net:  n,
		addr: addr,
		q:    make(chan *packet, QueueLen),
		done: make(chan struct{}),
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.binds[addr] != nil {
		panic("esptest: address " + addr.String() + " already has a bind")
	}
	n.binds[addr] = b
	return b
}

// SetFilter makes f decide the fate of every datagram from now on; nil
// delivers them all. f sees only datagrams that have a receiver (the others
// are counted as Unroutable): from is the endpoint given to Send (its Local
// filled in), to the one the receiver will see (after NAT); pkt is the
// datagram, which f must neither change nor keep. f is called without locks
// held, possibly from several goroutines at once, and may call the Network.
func (n *Network) SetFilter(f func(from, to esp.Endpoint, pkt []byte) Verdict) {
	if f == nil {
		n.filter.Store(nil)
		return
	}
	n.filter.Store(&f)
}

// NAT puts the host at inside behind a NAT whose public address is
// outside: its UDP datagrams leave from outside, each of its ports mapped to
// a port of its own (FirstNATPort and up, never 500 or 4500), and datagrams
// to a mapped outside port reach it with their destination rewritten back.
// Its raw ESP is dropped, as NATs do. Calling NAT again for the same host
// forgets its mappings, so its next datagrams come from new ports (a NAT
// that rebooted or timed out); an invalid outside takes the NAT away.
// outside should not be the address of a bind.
func (n *Network) NAT(inside, outside netip.Addr) {
	inside, outside = inside.Unmap(), outside.Unmap()
	n.mu.Lock()
	defer n.mu.Unlock()
	if h := n.nat[inside]; h != nil {
		for _, op := range h.ports {
			delete(n.natOut, netip.AddrPortFrom(h.outside, op))
		}
		delete(n.nat, inside)
	}
	if outside.IsValid() {
		n.nat[inside] = &natHost{outside: outside, ports: make(map[uint16]uint16)}
	}
}

// Stats returns the counters of the Network.
func (n *Network) Stats() Stats {
	return Stats{
		Sent:       n.sent.Load(),
		Delivered:  n.delivered.Load(),
		Dropped:    n.dropped.Load(),
		Duplicated: n.duplicated.Load(),
		Reordered:  n.reordered.Load(),
		Unroutable: n.unroutable.Load(),
		Overflow:   n.overflow.Load(),
		Truncated:  n.truncated.Load(),
	}
}

// send carries one datagram; from has been checked by the bind.
func (n *Network) send(from esp.Endpoint, pkt []byte) {
	n.sent.Add(1)
	n.mu.Lock()
	to, dst := n.routeLocked(from)
	n.mu.Unlock()
	if dst == nil {
		n.unroutable.Add(1)
		return
	}
	v := Deliver
	if f := n.filter.Load(); f != nil {
		v = (*f)(from, to, pkt)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	switch v {
	case Drop:
		n.dropped.Add(1)
	case Reorder:
		n.reordered.Add(1)
		p := n.getLocked(pkt)
		p.to, p.dst = to, dst
		n.held[from] = append(n.held[from], p)
	case Duplicate:
		n.duplicated.Add(1)
		n.deliverLocked(dst, to, pkt)
		fallthrough
	default:
		n.deliverLocked(dst, to, pkt)
		if held := n.held[from]; len(held) > 0 {
			delete(n.held, from)
			for _, p := range held {
				n.queueLocked(p)
			}
		}
	}
}

// routeLocked returns what the receiver of a datagram sent from from will
// see, and its bind; nil if nobody would receive it.
func (n *Network) routeLocked(from esp.Endpoint) (esp.Endpoint, *bind) {
	src, dst := from.Local, from.Remote
	raw := from.RawESP()
	if h := n.nat[src.Addr()]; h != nil {
		if raw {
			return esp.Endpoint{}, nil
		}
		op, ok := h.ports[src.Port()]
		if !ok {
			for {
				op = uint16(n.natPort)
				n.natPort++
				if n.natPort > 65535 {
					n.natPort = FirstNATPort
				}
				if _, used := n.natOut[netip.AddrPortFrom(h.outside, op)]; !used && op != IKEPort && op != NATTPort {
					break
				}
			}
			h.ports[src.Port()] = op
			n.natOut[netip.AddrPortFrom(h.outside, op)] = src
		}
		src = netip.AddrPortFrom(h.outside, op)
	}
	if !raw {
		if in, ok := n.natOut[dst]; ok {
			dst = in
		} else if dst.Port() != IKEPort && dst.Port() != NATTPort {
			return esp.Endpoint{}, nil
		}
	}
	b := n.binds[dst.Addr()]
	if b == nil {
		return esp.Endpoint{}, nil
	}
	return esp.Endpoint{Local: dst, Remote: src}, b
}

// deliverLocked queues a copy of pkt at dst.
func (n *Network) deliverLocked(dst *bind, to esp.Endpoint, pkt []byte) {
	p := n.getLocked(pkt)
	p.to, p.dst = to, dst
	n.queueLocked(p)
}

func (n *Network) queueLocked(p *packet) {
	if p.dst.closed.Load() {
		n.unroutable.Add(1)
		n.putLocked(p)
		return
	}
	select {
	case p.dst.q <- p:
		n.delivered.Add(1)
	default:
		n.overflow.Add(1)
		n.putLocked(p)
	}
}

// getLocked returns a pooled packet holding a copy of data.
func (n *Network) getLocked(data []byte) *packet {
	var p *packet
	if k := len(n.free); k > 0 {
		p = n.free[k-1]
		n.free[k-1] = nil
		n.free = n.free[:k-1]
	} else {
		p = new(packet)
	}
	p.data = append(p.data[:0], data...)
	return p
}

func (n *Network) putLocked(p *packet) {
	p.dst = nil
	if len(n.free) < maxFree {
		n.free = append(n.free, p)
	}
}

func (n *Network) put(p *packet) {
	n.mu.Lock()
	n.putLocked(p)
	n.mu.Unlock()
}

// bind is a host's esp.Bind.
type bind struct {
	net    *Network
	addr   netip.Addr
	q      chan *packet
	done   chan struct{} // closed by Close
	mu     sync.Mutex    // serializes Open and Close
	opened atomic.Bool
	closed atomic.Bool
}

var _ esp.Bind = (*bind)(nil)

var errNotOpen = errors.New("esptest: bind not open")

// Open returns the bind's one ReceiveFunc.
func (b *bind) Open() ([]esp.ReceiveFunc, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed.Load():
		return nil, net.ErrClosed
	case b.opened.Load():
		return nil, esp.ErrBindOpen
	}
	b.opened.Store(true)
	return []esp.ReceiveFunc{b.receive}, nil
}

// Send queues a copy of each of bufs at the destination. ep.Local must be
// the bind's address or unset, and port 500 or 4500, or 0 for raw ESP.
// Datagrams nobody receives are counted, not reported.
func (b *bind) Send(bufs [][]byte, ep esp.Endpoint) error {
	if b.closed.Load() {
		return net.ErrClosed
	}
	if !b.opened.Load() {
		return errNotOpen
	}
	local := ep.Local.Addr().Unmap()
	if !local.IsValid() || local.IsUnspecified() {
		local = b.addr
	}
	if local != b.addr {
		return fmt.Errorf("esptest: send %v: %v is not the address of the bind (%v)", ep, local, b.addr)
	}
	remote := ep.Remote.Addr().Unmap()
	if !remote.IsValid() || remote.Is4() != local.Is4() {
		return fmt.Errorf("esptest: send %v: bad remote address", ep)
	}
	port := ep.Local.Port()
	switch {
	case ep.RawESP():
		port = 0
	case port != IKEPort && port != NATTPort:
		return fmt.Errorf("esptest: send %v: no socket on port %d", ep, port)
	}
	from := esp.Endpoint{Local: netip.AddrPortFrom(local, port), Remote: netip.AddrPortFrom(remote, ep.Remote.Port())}
	for _, buf := range bufs {
		b.net.send(from, buf)
	}
	return nil
}

// receive is the ReceiveFunc: it blocks for a first datagram, then takes
// what else is queued, up to the batch.
func (b *bind) receive(bufs [][]byte, sizes []int, eps []esp.Endpoint) (int, error) {
	limit := min(len(bufs), len(sizes), len(eps), BatchSize)
	if limit == 0 {
		return 0, nil
	}
	for {
		if b.closed.Load() {
			return 0, net.ErrClosed
		}
		var p *packet
		select {
		case p = <-b.q:
		case <-b.done:
			return 0, net.ErrClosed
		}
		if b.closed.Load() {
			b.net.put(p)
			return 0, net.ErrClosed
		}
		k := 0
		for {
			if len(p.data) > len(bufs[k]) {
				b.net.truncated.Add(1)
			} else {
				sizes[k] = copy(bufs[k], p.data)
				eps[k] = p.to
				k++
			}
			b.net.put(p)
			if k == limit {
				return k, nil
			}
			select {
			case p = <-b.q:
				continue
			default:
			}
			break
		}
		if k > 0 {
			return k, nil
		}
	}
}

// BatchSize returns BatchSize.
func (b *bind) BatchSize() int { return BatchSize }

// Close frees the address, drops what is queued and unblocks the
// ReceiveFunc.
func (b *bind) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed.Swap(true) {
		return nil
	}
	close(b.done)
	n := b.net
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.binds[b.addr] == b {
		delete(n.binds, b.addr)
	}
	for {
		select {
		case p := <-b.q:
			n.putLocked(p)
		default:
			return nil
		}
	}
}
