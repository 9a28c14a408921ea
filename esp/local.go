package esp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// SAs that terminate in this process: L2TP/IPsec clients send UDP to port
// 1701 of the gateway itself inside a transport-mode SA (or, some of them,
// a tunnel-mode SA between the two hosts themselves). The engine hands
// those datagrams to a LocalConn instead of the TUN device, and a
// LocalConn's replies go out through the peer's SA, in the same mode.

// LocalAddr is the peer of a LocalConn datagram: the policy whose SAs carry
// it, and the peer's address and UDP port as they appear inside ESP. The
// policy tells clients apart even when several sit behind one NAT and use
// the same inner address and port.
type LocalAddr struct {
	PolicyID uint32
	Peer     netip.AddrPort
}

// String returns "policy/address:port".
func (a LocalAddr) String() string { return fmt.Sprintf("%d/%v", a.PolicyID, a.Peer) }

// ErrLocalClosed is returned by a closed LocalConn.
var ErrLocalClosed = errors.New("esp: local endpoint closed")

// localQueueLen bounds the datagrams waiting in a LocalConn; more are
// dropped and counted.
const localQueueLen = 256

// LocalConn receives the UDP datagrams that SAs carry to one local port
// (transport-mode SAs, and tunnel-mode SAs whose inner packets are
// addressed to the SA's own local address), and sends replies through the
// SA of the peer's policy. It is safe for concurrent use.
type LocalConn struct {
	e       *Engine
	port    uint16
	q       chan localDatagram
	done    chan struct{}
	once    sync.Once
	dropped atomic.Uint64
}

type localDatagram struct {
	p    *packet // the UDP payload is p.buf[p.start:p.end]
	from LocalAddr
}

// ListenLocal returns the LocalConn for UDP port port. Transport-mode
// packets to that port are delivered to it from now on, instead of to the
// TUN device.
func (e *Engine) ListenLocal(port uint16) (*LocalConn, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.locals[port]; ok {
		return nil, fmt.Errorf("esp: local UDP port %d already in use", port)
	}
	c := &LocalConn{e: e, port: port, q: make(chan localDatagram, localQueueLen), done: make(chan struct{})}
	next := map[uint16]*LocalConn{}
	for k, v := range e.locals {
		next[k] = v
	}
	next[port] = c
	e.locals = next
	e.localsSnap.Store(&next)
	return c, nil
}

// deliverLocal hands a packet of a transport-mode SA, or of a tunnel-mode
// SA addressed to the SA's own local address, to its LocalConn. handled
// reports that the packet was for a LocalConn (and must not go to the TUN
// device); queued that the conn now owns it (the caller must forget it).
func (e *Engine) deliverLocal(p *packet) (handled, queued bool) {
	locals := *e.localsSnap.Load()
	if len(locals) == 0 {
		return false, false
	}
	pkt := p.buf[p.start:p.end]
	hl, proto, ok := transportHeader(pkt)
	if !ok || proto != ProtoUDP || len(pkt) < hl+UDPHeaderLen {
		return false, false
	}
	if p.entry.sa.mode != ModeTransport {
		// Tunnel mode between the two hosts themselves: only what is
		// addressed to us is ours.
		if _, dst := ipAddrsOf(pkt); dst != p.entry.ep.Load().Local.Addr() {
			return false, false
		}
	}
	udp := pkt[hl:]
	c, ok := locals[binary.BigEndian.Uint16(udp[2:])]
	if !ok {
		return false, false
	}
	l := int(binary.BigEndian.Uint16(udp[4:]))
	if l < UDPHeaderLen || l > len(udp) {
		e.stats.dropped.Add(1)
		return true, false
	}
	src, _ := ipAddrsOf(pkt)
	d := localDatagram{p: p, from: LocalAddr{
		PolicyID: p.entry.policyID,
		Peer:     netip.AddrPortFrom(src, binary.BigEndian.Uint16(udp[0:])),
	}}
	p.start, p.end = p.start+hl+UDPHeaderLen, p.start+hl+l
	select {
	case c.q <- d:
		return true, true
	default:
		c.dropped.Add(1)
		return true, false
	}
}

// ipAddrsOf returns the addresses of an IP packet whose header is valid.
func ipAddrsOf(pkt []byte) (src, dst netip.Addr) {
	if pkt[0]>>4 == 4 {
		return netip.AddrFrom4([4]byte(pkt[12:16])), netip.AddrFrom4([4]byte(pkt[16:20]))
	}
	return netip.AddrFrom16([16]byte(pkt[8:24])), netip.AddrFrom16([16]byte(pkt[24:40]))
}

// ReadFrom waits for a datagram, copies its payload into b (truncating it
// to len(b)) and returns its length and sender.
func (c *LocalConn) ReadFrom(b []byte) (int, LocalAddr, error) {
	select {
	case d := <-c.q:
		n := copy(b, d.p.buf[d.p.start:d.p.end])
		c.e.release(d.p)
		return n, d.from, nil
	case <-c.done:
		return 0, LocalAddr{}, ErrLocalClosed
	}
}

// WriteTo sends b as a UDP datagram from the conn's port to the peer,
// through the outbound SA of the peer's policy: as its payload in transport
// mode, inside an IP packet from the SA's local address in tunnel mode.
func (c *LocalConn) WriteTo(b []byte, to LocalAddr) (int, error) {
	select {
	case <-c.done:
		return 0, ErrLocalClosed
	default:
	}
	_, st, ok := c.e.spd.Get(to.PolicyID)
	if !ok {
		return 0, fmt.Errorf("%w: %d", ErrNoPolicy, to.PolicyID)
	}
	ent := st.out.Load()
	if ent == nil {
		return 0, fmt.Errorf("esp: policy %d has no outbound SA", to.PolicyID)
	}
	ep := *ent.ep.Load()
	local, peer := ep.Local.Addr(), to.Peer.Addr()
	hl := 0
	if ent.sa.mode == ModeTunnel {
		if local.Is4() != peer.Is4() {
			return 0, fmt.Errorf("esp: %v is not of the family of the SA's address %v", peer, local)
		}
		hl = 40
		if local.Is4() {
			hl = 20
		}
	}
	if len(b) > 65535-hl-UDPHeaderLen-ent.sa.Overhead(hl+UDPHeaderLen+len(b)) {
		return 0, ErrTooBig
	}
	p := c.e.getPacket()
	defer c.e.release(p)
	off := tunOffset
	udp := p.buf[off+hl : off+hl+UDPHeaderLen+len(b)]
	binary.BigEndian.PutUint16(udp[0:], c.port)
	binary.BigEndian.PutUint16(udp[2:], to.Peer.Port())
	binary.BigEndian.PutUint16(udp[4:], uint16(len(udp)))
	binary.BigEndian.PutUint16(udp[6:], 0)
	copy(udp[UDPHeaderLen:], b)
	// The checksum over our address and the address the peer believes it
	// has (its NAT-OA is its own business: RFC 3948 §3.1.2 has the
	// receiver fix it up).
	if local.Is4() == peer.Is4() {
		c := ^udpChecksum(udp, local, peer)
		if c == 0 {
			c = 0xffff
		}
		binary.BigEndian.PutUint16(udp[6:], c)
	}
	var out []byte
	var err error
	if hl > 0 {
		putIPHeader(p.buf[off:off+hl], local, peer, ProtoUDP, len(udp))
		out, err = ent.sa.Seal(p.buf[:off+hl+len(udp)], off)
	} else {
		var seq uint64
		if seq, err = ent.sa.NextSeq(); err == nil {
			out, err = ent.sa.SealPayload(p.buf[:off+len(udp)], off, ProtoUDP, seq)
		}
	}
	if err != nil {
		return 0, err
	}
	p.one[0] = out
	err = c.e.cfg.Bind.Send(p.one[:], ep)
	p.one[0] = nil
	if err != nil {
		return 0, err
	}
	return len(b), nil
}

// Dropped returns how many datagrams were dropped because the conn's queue
// was full.
func (c *LocalConn) Dropped() uint64 { return c.dropped.Load() }

// LocalAddr returns the conn's port as a *net.UDPAddr without an address.
func (c *LocalConn) LocalAddr() net.Addr { return &net.UDPAddr{Port: int(c.port)} }

// Close stops delivery to the conn and unblocks ReadFrom; transport-mode
// packets to its port go to the TUN device again.
func (c *LocalConn) Close() error {
	c.once.Do(func() {
		close(c.done)
		e := c.e
		e.mu.Lock()
		next := map[uint16]*LocalConn{}
		for k, v := range e.locals {
			if k != c.port {
				next[k] = v
			}
		}
		e.locals = next
		e.localsSnap.Store(&next)
		e.mu.Unlock()
		for {
			select {
			case d := <-c.q:
				e.release(d.p)
			default:
				return
			}
		}
	})
	return nil
}
