package ikego

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/l2tp"
	"github.com/ikego/ikego/ppp"
)

// L2TPPort is the UDP port of L2TP (RFC 2661, Section 8.1), where the
// L2TP/IPsec clients' transport-mode SAs carry their datagrams.
const L2TPPort = 1701

// L2TPConfig configures the L2TP/IPsec service of a Gateway
// (GatewayConfig.L2TP): an LNS on UDP port 1701 of the gateway itself,
// reached through transport-mode SAs, with a PPP server on every call whose
// clients get an address from Pool and whose IPv4 packets go to and from
// the TUN device. The host should own LocalAddr and route Pool into the TUN
// device, as it routes the remote subnets of tunnel-mode SAs.
type L2TPConfig struct {
	// Password returns the CHAP password of a PPP user, and false for an
	// unknown user. Required. It is called with the service's lock held,
	// so it must not block or call the service.
	Password func(user string) (password string, ok bool)
	// Pool is the IPv4 prefix, /16 to /30, that PPP clients get their
	// addresses from: one per call, so a user who calls twice gets two.
	// Its first and last addresses and LocalAddr are never handed out. An
	// address returns to the pool when its call ends. Required.
	Pool netip.Prefix
	// LocalAddr is the gateway's IPv4 address on the PPP links, sent to
	// the clients in IPCP; invalid means the first address of Pool after
	// its network address.
	LocalAddr netip.Addr
	// DNS holds up to two IPv4 DNS servers for the clients (RFC 1877).
	DNS []netip.Addr
	// L2TP holds the LNS's knobs: the tunnel secret, limits, timers and
	// Rand. Its PPP callback is the service's and is ignored here; a nil
	// Logger means the service's.
	L2TP l2tp.Config
	// PPP is the template of every call's PPP configuration: the CHAP
	// algorithms, MRU (zero: the largest client packet that fits one
	// outer packet of GatewayConfig.PathMTU, which TCP SYNs both ways are
	// clamped to as well), echo keepalives, timers, Name and Rand. Its Secret,
	// AssignAddr, LocalAddr and DNS are the service's (from the fields
	// above) and ignored here; a nil Logger means the service's.
	PPP ppp.Config
	// OnEvent, when set, is called with every L2TP event (tunnels and
	// calls up and down, a client's user and address) after the service
	// acted on it, with the service's lock held: it must not block or call
	// the service.
	OnEvent func(l2tp.Event)
	// Logger gets the service's log lines (never one per packet); nil
	// means the gateway's.
	Logger *slog.Logger
}

// L2TPStats are the counters of an L2TPService. Packets that go nowhere
// are counted here, never logged.
type L2TPStats struct {
	// FromClients counts the IPv4 packets from PPP clients written to
	// the TUN device, ToClients those from the TUN device sent to a
	// client.
	FromClients, ToClients uint64
	// Spoofed counts the packets from clients dropped because their
	// source was not the address the client was given.
	Spoofed uint64
	// Dropped counts the packets from the TUN device for a client that
	// could not take them (its network layer not up, or going away), and
	// packets the TUN device refused.
	Dropped uint64
	// SendErrors counts the datagrams that could not be sent through the
	// clients' SAs.
	SendErrors uint64
	// Calls is the number of PPP calls, Leases the number of addresses
	// handed out.
	Calls, Leases int
	// Server holds the LNS's own counters.
	Server l2tp.Stats
}

// L2TPSession describes one call of an L2TPService.
type L2TPSession struct {
	// PolicyID is the ESP policy whose transport-mode SAs carry the call.
	PolicyID uint32
	// Peer is the client's address and port as they appear inside ESP.
	Peer netip.AddrPort
	// User is the PPP user, once the client asked for an address.
	User string
	// Addr is the client's address, once given; Up reports that its
	// network layer is open and packets flow.
	Addr netip.Addr
	Up   bool
}

// L2TPService serves the L2TP/IPsec clients of a Gateway: it owns one
// l2tp.Server, feeds it the datagrams that the engine's transport-mode SAs
// deliver to UDP port 1701, sends its datagrams back through the same SAs,
// and runs its timers. The packets the host routes to a client's address
// reach the client's PPP session (esp.Engine.AddLocalAddr), and the packets
// a client sends from its own address go to the TUN device
// (esp.Engine.WriteTUN). One mutex guards the l2tp.Server; the data path
// takes it once per packet and allocates nothing. Its methods are safe for
// concurrent use.
type L2TPService struct {
	engine  *esp.Engine
	conn    *esp.LocalConn
	log     *slog.Logger
	onEvent func(l2tp.Event)
	ppp     ppp.Config       // the template, with Secret, LocalAddr and DNS set
	handler func(pkt []byte) // fromTUN, made once

	pool        netip.Prefix
	first, last netip.Addr // the addresses a lease may have
	local       netip.Addr
	// mtu is the largest client packet that fits one outer packet of the
	// path MTU: TCP SYNs both ways are clamped to it, and it is the MRU
	// PPP asks for unless the template sets one.
	mtu int

	mu          sync.Mutex
	srv         *l2tp.Server
	calls       map[l2tp.SessionRef]*l2tpCall
	leases      map[netip.Addr]l2tp.SessionRef
	next        netip.Addr // where the search for a free address starts
	sendBuf     []byte     // AppendIP's buffer
	closed      bool
	toClients   atomic.Uint64
	fromClients atomic.Uint64
	spoofed     atomic.Uint64
	dropped     atomic.Uint64
	sendErrs    atomic.Uint64

	wake      chan struct{}
	done      chan struct{}
	wg        sync.WaitGroup
	startOnce sync.Once
	closeOnce sync.Once
}

// l2tpCall is what the service keeps about one call, under mu.
type l2tpCall struct {
	peer l2tp.Peer
	user string
	addr netip.Addr // leased; invalid until PPP asks
	up   bool       // network up: addr is registered with the engine
}

// newL2TPService checks cfg and returns a service that listens on the
// engine's port 1701 but does not run yet.
func newL2TPService(cfg L2TPConfig, e *esp.Engine, pathMTU int, log *slog.Logger) (*L2TPService, error) {
	if cfg.Password == nil {
		return nil, errors.New("ikego: L2TP needs a Password callback")
	}
	pool := cfg.Pool.Masked()
	if !pool.IsValid() || !pool.Addr().Is4() || pool.Bits() < 16 || pool.Bits() > 30 {
		return nil, fmt.Errorf("ikego: L2TP pool %v is not an IPv4 prefix from /16 to /30", cfg.Pool)
	}
	if len(cfg.DNS) > 2 {
		return nil, errors.New("ikego: L2TP takes at most two DNS servers")
	}
	for _, a := range cfg.DNS {
		if !a.Is4() {
			return nil, fmt.Errorf("ikego: L2TP DNS server %v is not IPv4", a)
		}
	}
	if cfg.Logger != nil {
		log = cfg.Logger
	}
	s := &L2TPService{
		engine: e, log: log, onEvent: cfg.OnEvent, pool: pool,
		calls:   map[l2tp.SessionRef]*l2tpCall{},
		leases:  map[netip.Addr]l2tp.SessionRef{},
		sendBuf: make([]byte, 0, 65535+64),
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	s.first = pool.Addr().Next()
	s.last = lastAddr(pool).Prev()
	s.local = cfg.LocalAddr.Unmap()
	if !s.local.IsValid() {
		s.local = s.first
	}
	if !s.local.Is4() {
		return nil, fmt.Errorf("ikego: L2TP local address %v is not IPv4", cfg.LocalAddr)
	}
	s.next = s.first
	if pathMTU <= 0 {
		pathMTU = 1500
	}
	s.mtu = max(pathMTU-l2tpOverhead, 576)
	s.handler = s.fromTUN
	s.ppp = cfg.PPP
	s.ppp.Secret, s.ppp.LocalAddr, s.ppp.DNS = cfg.Password, s.local, cfg.DNS
	if s.ppp.MRU == 0 {
		s.ppp.MRU = uint16(s.mtu) // what arrives in one outer packet
	}
	if s.ppp.Logger == nil {
		s.ppp.Logger = log
	}
	lc := cfg.L2TP
	lc.PPP = s.pppConfigLocked
	if lc.Logger == nil {
		lc.Logger = log
	}
	srv, err := l2tp.NewServer(&lc)
	if err != nil {
		return nil, err
	}
	s.srv = srv
	if s.conn, err = e.ListenLocal(L2TPPort); err != nil {
		return nil, err
	}
	return s, nil
}

// l2tpOverhead is the most that carrying a PPP client's IPv4 packet adds:
// the outer IPv4 header (20), UDP encapsulation of ESP (8), the ESP
// header, IV, padding, trailer and ICV (8+16+17+16), UDP (8), the L2TP
// data header with length, sequence numbers and offset (16) and PPP's
// address, control and protocol fields (4).
const l2tpOverhead = 20 + 8 + 8 + 16 + 17 + 16 + 8 + 16 + 4

// lastAddr returns the last address of the IPv4 prefix p.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// start runs the service's two goroutines: one reads the datagrams from the
// LocalConn, one runs the l2tp.Server's timers.
func (s *L2TPService) start() {
	s.startOnce.Do(func() {
		s.wg.Add(2)
		go s.readLoop()
		go s.timerLoop()
	})
}

// Close tears down every tunnel with a StopCCN (their calls end, their
// addresses are released and deregistered), stops the service's goroutines
// and closes its LocalConn. The Gateway calls it from its Close; it may be
// called more than once.
func (s *L2TPService) Close() error {
	s.closeOnce.Do(func() {
		now := time.Now()
		s.mu.Lock()
		s.srv.Close(now)
		s.flushLocked(now)
		s.closed = true
		s.mu.Unlock()
		close(s.done)
		s.conn.Close()
		s.wg.Wait()
	})
	return nil
}

// CloseConn ends at once, without telling the clients, the tunnels that
// the SAs of the ESP policy policyID carry, and returns how many it ended:
// for when those SAs are gone and nothing could reach the clients any more.
// Their calls end and their addresses return to the pool. The Gateway calls
// it when its IKE daemon removes a CHILD_SA for good.
func (s *L2TPService) CloseConn(policyID uint32) int {
	now := time.Now()
	s.mu.Lock()
	n := 0
	if !s.closed {
		n = s.srv.CloseConn(uint64(policyID), now)
		s.flushLocked(now)
	}
	s.mu.Unlock()
	s.kick()
	if n > 0 {
		s.log.Info("L2TP tunnels closed: their SA is gone", "policy", policyID, "tunnels", n)
	}
	return n
}

// Stats returns a snapshot of the service's counters.
func (s *L2TPService) Stats() L2TPStats {
	s.mu.Lock()
	st := L2TPStats{Calls: len(s.calls), Leases: len(s.leases), Server: s.srv.Stats()}
	s.mu.Unlock()
	st.FromClients, st.ToClients = s.fromClients.Load(), s.toClients.Load()
	st.Spoofed, st.Dropped, st.SendErrors = s.spoofed.Load(), s.dropped.Load(), s.sendErrs.Load()
	return st
}

// Sessions returns the service's calls, in no particular order.
func (s *L2TPService) Sessions() []L2TPSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]L2TPSession, 0, len(s.calls))
	for _, c := range s.calls {
		out = append(out, L2TPSession{PolicyID: uint32(c.peer.Conn), Peer: c.peer.Addr, User: c.user, Addr: c.addr, Up: c.up})
	}
	return out
}

// pppConfigLocked is the l2tp.Server's PPP callback, run under mu: each call
// gets the template with an AssignAddr that leases for that call.
func (s *L2TPService) pppConfigLocked(info l2tp.SessionInfo) (*ppp.Config, error) {
	ref := info.Ref
	s.calls[ref] = &l2tpCall{peer: info.Peer}
	c := s.ppp
	c.AssignAddr = func(user string) (netip.Addr, error) { return s.leaseLocked(ref, user) }
	return &c, nil
}

// errPoolExhausted is what AssignAddr returns when no address is free.
var errPoolExhausted = errors.New("ikego: L2TP address pool exhausted")

// leaseLocked gives the call ref an address from the pool.
func (s *L2TPService) leaseLocked(ref l2tp.SessionRef, user string) (netip.Addr, error) {
	c := s.calls[ref]
	if c == nil {
		return netip.Addr{}, errors.New("ikego: L2TP call unknown")
	}
	c.user = user
	if c.addr.IsValid() {
		return c.addr, nil
	}
	a := s.next
	for {
		if _, used := s.leases[a]; !used && a != s.local {
			break
		}
		if a = s.nextAddr(a); a == s.next {
			s.log.Warn("L2TP address pool exhausted", "pool", s.pool.String(), "user", user)
			return netip.Addr{}, errPoolExhausted
		}
	}
	s.next = s.nextAddr(a)
	c.addr = a
	s.leases[a] = ref
	return a, nil
}

// nextAddr returns the address after a in the pool's range, wrapping.
func (s *L2TPService) nextAddr(a netip.Addr) netip.Addr {
	if a == s.last {
		return s.first
	}
	return a.Next()
}

// flushLocked sends the l2tp.Server's datagrams and acts on its events,
// until neither is left (acting on an event may close a call, which queues
// a CDN).
func (s *L2TPService) flushLocked(now time.Time) {
	for {
		d, ok := s.srv.NextDatagram()
		if ok {
			if _, err := s.conn.WriteTo(d.Data, esp.LocalAddr{PolicyID: uint32(d.To.Conn), Peer: d.To.Addr}); err != nil {
				s.sendErrs.Add(1)
			}
			continue
		}
		ev, ok := s.srv.NextEvent()
		if !ok {
			return
		}
		switch ev.Kind {
		case l2tp.EventNetworkUp:
			s.networkUpLocked(ev, now)
		case l2tp.EventSessionDown:
			s.endCallLocked(ev.Ref)
		}
		if s.onEvent != nil {
			s.onEvent(ev)
		}
	}
}

// networkUpLocked registers a client's address with the engine, so that
// the packets to it come to fromTUN.
func (s *L2TPService) networkUpLocked(ev l2tp.Event, now time.Time) {
	c := s.calls[ev.Ref]
	if c == nil || !c.addr.IsValid() || c.addr != ev.Addr {
		// PPP opened IPCP with an address we did not lease: never
		// expected, and not to be routed.
		s.log.Error("L2TP client has an address it was not given; call closed", "user", ev.User, "addr", ev.Addr.String())
		s.srv.CloseSession(ev.Ref, now)
		return
	}
	if err := s.engine.AddLocalAddr(c.addr, s.handler); err != nil {
		s.log.Error("L2TP client address not routable; call closed", "user", ev.User, "addr", c.addr.String(), "err", err)
		s.srv.CloseSession(ev.Ref, now)
		return
	}
	c.up = true
	s.log.Info("L2TP client connected", "user", ev.User, "addr", c.addr.String(),
		"policy", uint32(c.peer.Conn), "peer", c.peer.Addr.String())
}

// endCallLocked forgets a call that ended and gives its address back.
func (s *L2TPService) endCallLocked(ref l2tp.SessionRef) {
	c := s.calls[ref]
	if c == nil {
		return
	}
	delete(s.calls, ref)
	if !c.addr.IsValid() {
		return
	}
	if c.up {
		s.engine.DeleteLocalAddr(c.addr)
		s.log.Info("L2TP client disconnected", "user", c.user, "addr", c.addr.String(), "policy", uint32(c.peer.Conn))
	}
	delete(s.leases, c.addr)
}

// fromTUN is the engine's handler for the clients' addresses: it sends the
// packet to the client's PPP session. It runs on the engine's TUN reader
// and allocates nothing.
func (s *L2TPService) fromTUN(pkt []byte) {
	if len(pkt) < 20 || pkt[0]>>4 != 4 {
		s.dropped.Add(1)
		return
	}
	dst := netip.AddrFrom4([4]byte(pkt[16:20]))
	esp.ClampMSS(pkt, s.mtu)
	s.mu.Lock()
	ref, ok := s.leases[dst]
	if !ok || s.closed {
		s.mu.Unlock()
		s.dropped.Add(1)
		return
	}
	out, to, err := s.srv.AppendIP(s.sendBuf[:0], ref, pkt)
	if err != nil {
		s.mu.Unlock()
		s.dropped.Add(1)
		return
	}
	s.sendBuf = out[:0]
	// Sent under the lock: AppendIP numbered the message, and the
	// numbers must leave in order.
	_, err = s.conn.WriteTo(out, esp.LocalAddr{PolicyID: uint32(to.Conn), Peer: to.Addr})
	s.mu.Unlock()
	if err != nil {
		s.sendErrs.Add(1)
		return
	}
	s.toClients.Add(1)
}

// readLoop takes the datagrams of the LocalConn until it is closed.
func (s *L2TPService) readLoop() {
	defer s.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		s.handleDatagram(buf[:n], from)
	}
}

// handleDatagram runs one datagram through the l2tp.Server. An IPv4 packet
// from a client goes to the TUN device when its source is the client's
// address; the data path allocates nothing.
func (s *L2TPService) handleDatagram(pkt []byte, from esp.LocalAddr) {
	now := time.Now()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	ip, ref, _ := s.srv.HandleDatagram(pkt, l2tp.Peer{Conn: uint64(from.PolicyID), Addr: from.Peer}, now)
	if ip != nil {
		c := s.calls[ref]
		ok := c != nil && c.up && len(ip) >= 20 && ip[0]>>4 == 4 && netip.AddrFrom4([4]byte(ip[12:16])) == c.addr
		s.mu.Unlock()
		if !ok {
			s.spoofed.Add(1)
			return
		}
		// ip aliases pkt, which is the caller's: no lock needed.
		esp.ClampMSS(ip, s.mtu)
		if err := s.engine.WriteTUN(ip); err != nil {
			s.dropped.Add(1)
			return
		}
		s.fromClients.Add(1)
		return
	}
	s.flushLocked(now)
	s.mu.Unlock()
	s.kick()
}

// kick makes the timer goroutine look at the deadlines again.
func (s *L2TPService) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// timerLoop calls the l2tp.Server's HandleTimeout at its deadlines.
func (s *L2TPService) timerLoop() {
	defer s.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		s.mu.Lock()
		d := s.srv.NextDeadline()
		s.mu.Unlock()
		t.Stop()
		if !d.IsZero() {
			t.Reset(time.Until(d))
		}
		select {
		case <-s.done:
			return
		case <-s.wake:
		case <-t.C:
			now := time.Now()
			s.mu.Lock()
			if !s.closed {
				s.srv.HandleTimeout(now)
				s.flushLocked(now)
			}
			s.mu.Unlock()
		}
	}
}
