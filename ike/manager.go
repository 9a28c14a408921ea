package ike

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike/wire"
	"github.com/ikego/ikego/pki"
)

// Manager runs the IKE SAs of a gateway: it takes the IKE datagrams the
// Bind receives (HandleDatagram, fed by esp.EngineConfig.IKE), finds their
// session by SPI, answers IKE_SA_INIT requests (statelessly when it asks
// for a cookie or another key exchange group), runs each session's timers
// and sends what the sessions produce. Junk is dropped before any state is
// allocated: a datagram must parse as an IKE header, name a session we
// have or be a well-formed IKE_SA_INIT request, and the half-open SAs are
// bounded. A Manager is safe for concurrent use.
type Manager struct {
	cfg   Config
	env   *env
	log   *slog.Logger
	peers atomic.Pointer[[]*PeerConfig]

	cookies Cookies
	queue   chan inbound
	// prio are the queues of datagrams of known SAs and IKE_SA_INIT with
	// a valid cookie, one per worker: the datagrams of one SA (by SPI)
	// always take the same, so that they are handled in the order they
	// came (IKEv1 peers send the next message before they have an
	// answer, an XAuth ACK and a Mode Config request at once).
	prio []chan inbound
	// halfOpenN mirrors halfOpen for the receive path, which must not wait
	// for m.mu under a flood.
	halfOpenN atomic.Int64
	stats     managerCounters
	nextID    atomic.Uint64
	policyID  atomic.Uint32

	mu      sync.Mutex
	traps   map[trapKey]uint32 // trap policies by connection and child
	trapped map[uint32]string  // connection of each trap policy
	bySPI   map[uint64]*box
	byInit  map[initKey]*box // responder SAs by (SPIi, peer), for IKE_SA_INIT retransmissions
	// childIKE tells which IKE SA (our SPI) holds the CHILD_SA of each
	// dataplane SA, so that an expiry event finds its session without
	// asking them all. A hint: CHILD_SAs that moved are found by search.
	childIKE map[esp.SAKey]uint64
	halfOpen int
	// halfOpenV1 counts the half-open IKEv1 SAs, apart from halfOpen.
	halfOpenV1 int
	// reauth maps the IKE SA being made by a reauthentication to the one
	// it replaces.
	reauth map[*box]*box
	// up counts the established IKE SAs per connection.
	up map[string]int
	// halfOpenFrom counts the half-open IKE SAs per peer address.
	halfOpenFrom map[netip.Addr]int

	// manualTimers leaves timers to tick (tests with a controlled clock).
	manualTimers bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	start  sync.Once
}

// inbound is a received datagram.
type inbound struct {
	data []byte
	ep   esp.Endpoint
}

type trapKey struct{ peer, child string }

type initKey struct {
	spii   uint64
	remote netip.AddrPort
}

// box holds a session with the lock that serializes its handling and its
// timer.
type box struct {
	mu      sync.Mutex
	s       *session
	timer   *time.Timer
	initKey initKey
	// reqHash is the digest of the IKE_SA_INIT request that created a
	// responder session, to recognise its retransmissions.
	reqHash [32]byte
	resp    []byte
	counted bool // counted as half-open
	v1      bool // an IKEv1 SA, counted in halfOpenV1
}

// NewManager checks cfg and returns a Manager; Start starts it.
func NewManager(cfg Config) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HalfOpenLimit <= 0 {
		cfg.HalfOpenLimit = 4096
	}
	if cfg.HalfOpenPerSource <= 0 {
		cfg.HalfOpenPerSource = 8
	}
	if cfg.CookieThreshold == 0 {
		cfg.CookieThreshold = cfg.HalfOpenLimit / 4
	}
	if cfg.HalfOpenTimeout <= 0 {
		cfg.HalfOpenTimeout = 30 * time.Second
	}
	if cfg.IKEv1Timeout <= 0 {
		cfg.IKEv1Timeout = 30 * time.Second
	}
	if cfg.FragmentSize <= 0 {
		cfg.FragmentSize = 1280 - 40 - 8 // strongSwan's fragment_size over IPv6 and UDP
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	m := &Manager{
		cfg:          cfg,
		log:          cfg.Logger,
		cookies:      Cookies{Rand: cfg.Rand, Now: cfg.Now},
		queue:        make(chan inbound, 1024),
		bySPI:        map[uint64]*box{},
		traps:        map[trapKey]uint32{},
		halfOpenFrom: map[netip.Addr]int{},
		up:           map[string]int{},
		reauth:       map[*box]*box{},
		trapped:      map[uint32]string{},
		byInit:       map[initKey]*box{},
		childIKE:     map[esp.SAKey]uint64{},
	}
	peers := cfg.Peers
	m.peers.Store(&peers)
	m.env = &env{
		rand: cfg.Rand, now: cfg.Now, log: cfg.Logger, dp: cfg.Dataplane, pools: cfg.Pools,
		retransmit: cfg.Retransmit, fragmentSize: cfg.FragmentSize, halfOpenTime: cfg.HalfOpenTimeout, v1Timeout: cfg.IKEv1Timeout,
		natt: esp.NATTPort, policyID: &m.policyID,
		peers:  func() []*PeerConfig { return *m.peers.Load() },
		nextID: func() uint64 { return m.nextID.Add(1) },
		established: func(peer string) int {
			m.mu.Lock()
			defer m.mu.Unlock()
			return m.up[peer]
		},
		noteChild: func(ike uint64, keys ...esp.SAKey) {
			m.mu.Lock()
			defer m.mu.Unlock()
			for _, k := range keys {
				m.childIKE[k] = ike
			}
		},
		forgetChild: func(keys ...esp.SAKey) {
			m.mu.Lock()
			defer m.mu.Unlock()
			for _, k := range keys {
				delete(m.childIKE, k)
			}
		},
		trapFor: func(peer, child string) uint32 {
			m.mu.Lock()
			defer m.mu.Unlock()
			return m.traps[trapKey{peer, child}]
		},
	}
	m.prio = make([]chan inbound, cfg.Workers)
	for i := range m.prio {
		m.prio[i] = make(chan inbound, 256)
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m, nil
}

// prioFor returns the priority queue of the SA with SPI spi.
func (m *Manager) prioFor(spi uint64) chan inbound {
	return m.prio[spi%uint64(len(m.prio))]
}

// Start starts the goroutines that process datagrams.
func (m *Manager) Start() {
	m.start.Do(func() {
		for i := range m.cfg.Workers {
			m.wg.Add(1)
			go m.worker(m.prio[i])
		}
		m.wg.Add(1)
		go m.dataplaneEvents()
		for _, p := range *m.peers.Load() {
			switch p.StartAction {
			case StartInitiate:
				if err := m.Initiate(p.Name); err != nil {
					m.log.Warn("cannot start connection", "conn", p.Name, "err", err)
				}
			case StartTrap:
				m.installTraps(p)
			}
		}
	})
}

// installTraps installs trap policies for the CHILD_SAs of p (once): the
// first packet that matches one makes the dataplane raise an Acquire, and
// the Manager initiates p. The CHILD_SAs then use the trap policies, so the
// packets held meanwhile go out through them.
func (m *Manager) installTraps(p *PeerConfig) {
	for _, c := range p.Children {
		m.mu.Lock()
		_, done := m.traps[trapKey{p.Name, c.Name}]
		m.mu.Unlock()
		if done {
			continue
		}
		local, remote := c.LocalTS, c.RemoteTS
		if len(local) == 0 {
			local = []esp.Selector{hostSelector(p.LocalAddr)}
		}
		if len(remote) == 0 {
			remote = []esp.Selector{hostSelector(p.RemoteHost.Addr())}
		}
		id := m.policyID.Add(1)
		if err := m.cfg.Dataplane.SetPolicy(esp.Policy{ID: id, Priority: 100, Action: esp.ActionTrap, Local: local, Remote: remote}); err != nil {
			m.log.Warn("cannot install trap policy", "conn", p.Name, "child", c.Name, "err", err)
			continue
		}
		m.mu.Lock()
		m.traps[trapKey{p.Name, c.Name}] = id
		m.trapped[id] = p.Name
		m.mu.Unlock()
		m.log.Info("trap policy installed", "conn", p.Name, "child", c.Name, "local_ts", fmt.Sprint(local), "remote_ts", fmt.Sprint(remote))
	}
}

// Route installs the trap policies of the connection name (start action
// trap, or "route" by hand): the first packet that matches one initiates
// it. Policies already installed stay.
func (m *Manager) Route(name string) error {
	for _, p := range *m.peers.Load() {
		if p.Name == name {
			if !p.RemoteHost.IsValid() || !p.LocalAddr.IsValid() {
				return fmt.Errorf("ike: connection %q: a trap needs RemoteHost and LocalAddr", name)
			}
			m.installTraps(p)
			return nil
		}
	}
	return fmt.Errorf("ike: no connection %q", name)
}

// Unroute removes the trap policies of the connection name.
func (m *Manager) Unroute(name string) int {
	m.mu.Lock()
	var ids []uint32
	for k, id := range m.traps {
		if k.peer == name {
			ids = append(ids, id)
			delete(m.traps, k)
			delete(m.trapped, id)
		}
	}
	m.mu.Unlock()
	for _, id := range ids {
		m.cfg.Dataplane.DeletePolicy(id)
	}
	return len(ids)
}

// active reports whether the connection name has an IKE SA that is not
// closed or being deleted.
func (m *Manager) active(name string) bool {
	for _, b := range m.boxes() {
		b.mu.Lock()
		s := b.s
		ok := s.peer != nil && s.peer.Name == name && (s.state == StateConnecting || s.state == StateEstablished) && s.supersededAt.IsZero()
		b.mu.Unlock()
		if ok {
			return true
		}
	}
	return false
}

// dataplaneEvents follows the dataplane's lifetime events: a soft expiry
// rekeys the CHILD_SA, a hard one removes it.
func (m *Manager) dataplaneEvents() {
	defer m.wg.Done()
	evs := m.cfg.Dataplane.Events()
	for {
		select {
		case <-m.ctx.Done():
			return
		case ev := <-evs:
			m.dataplaneEvent(ev)
		}
	}
}

func (m *Manager) dataplaneEvent(ev esp.Event) {
	switch ev.Kind {
	case esp.EventAcquire:
		m.mu.Lock()
		name, ok := m.trapped[ev.PolicyID]
		m.mu.Unlock()
		if ok && !m.active(name) {
			m.log.Info("traffic for a trap policy: initiating", "conn", name, "flow", fmt.Sprint(ev.Flow))
			if err := m.Initiate(name); err != nil {
				m.log.Warn("cannot initiate", "conn", name, "err", err)
			}
		}
	case esp.EventSoftExpire, esp.EventHardExpire:
		k := ev.SA()
		try := func(b *box) (found bool) {
			m.with(b, func(s *session) {
				if ev.Kind == esp.EventSoftExpire {
					found = s.rekeyChild(k)
				} else {
					found = s.expireChild(k)
				}
			})
			return found
		}
		m.mu.Lock()
		hint := m.bySPI[m.childIKE[k]]
		m.mu.Unlock()
		if hint != nil && try(hint) {
			return
		}
		for _, b := range m.boxes() {
			if b != hint && try(b) {
				return
			}
		}
	}
}

// RekeyIKE rekeys the IKE SAs of the connection name; it reports how many
// rekeys were started.
func (m *Manager) RekeyIKE(name string) int {
	n := 0
	for _, b := range m.boxes() {
		m.with(b, func(s *session) {
			if s.peer != nil && s.peer.Name == name && s.state == StateEstablished && !s.rekeyingIKE {
				s.rekeyIKE()
				n++
			}
		})
	}
	return n
}

// Rekey rekeys the CHILD_SAs of the connection name; it reports how many
// rekeys were started.
func (m *Manager) Rekey(name string) int {
	n := 0
	for _, b := range m.boxes() {
		m.with(b, func(s *session) {
			if s.peer == nil || s.peer.Name != name || s.state != StateEstablished {
				return
			}
			for _, c := range s.children {
				if c.replacedBy == nil && s.rekeyChild(esp.InSA(c.inSPI)) {
					n++
				}
			}
		})
	}
	return n
}

// Close deletes every IKE SA (sending deletes to the peers, best effort),
// removes their SAs from the dataplane and stops the Manager.
func (m *Manager) Close() error {
	for _, b := range m.boxes() {
		m.with(b, func(s *session) { s.close(errors.New("ike: shutting down"), true) })
	}
	m.cancel()
	m.wg.Wait()
	return nil
}

// SetPeers replaces the connections. Existing IKE SAs keep the
// configuration they were made with.
func (m *Manager) SetPeers(peers []*PeerConfig) error {
	return m.Update(peers, m.env.currentPools())
}

// Update replaces the connections and the pools, after checking them
// together; on an error nothing changes. Existing IKE SAs keep the
// configuration they were made with and their leases: a pool that stays
// should be the same *Pool, so that its leases carry over. Trap policies
// of connections that are gone are removed.
func (m *Manager) Update(peers []*PeerConfig, pools Pools) error {
	c := m.cfg
	c.Peers, c.Pools = peers, pools
	if err := c.Validate(); err != nil {
		return err
	}
	m.env.poolsMu.Lock()
	m.env.pools = pools
	m.env.poolsMu.Unlock()
	m.peers.Store(&peers)
	names := map[string]bool{}
	for _, p := range peers {
		names[p.Name] = true
	}
	m.mu.Lock()
	var gone []string
	for k := range m.traps {
		if !names[k.peer] {
			gone = append(gone, k.peer)
		}
	}
	m.mu.Unlock()
	for _, name := range gone {
		m.Unroute(name)
	}
	return nil
}

// HandleDatagram takes an IKE datagram (without the non-ESP marker)
// received on ep and returns at once. It sorts before it copies, the way
// strongSwan's receiver does, so that a flood of spoofed IKE_SA_INIT
// requests cannot crowd out real peers: datagrams of IKE SAs we have go to
// a priority queue, datagrams for unknown SPIs are dropped, and above the
// cookie threshold an IKE_SA_INIT request without a valid COOKIE is
// answered with one right here (no copy, no queue, no state); a request
// with a valid cookie takes the priority queue. A full queue drops the
// datagram before it is copied. Stats counts all of it.
func (m *Manager) HandleDatagram(pkt []byte, ep esp.Endpoint) {
	if len(pkt) < 28 {
		return
	}
	if isV1(pkt) {
		m.handleV1Datagram(pkt, ep)
		return
	}
	q := m.queue
	if spir := binary.BigEndian.Uint64(pkt[8:]); spir == 0 && wire.Flags(pkt[19])&wire.FlagResponse == 0 {
		if wire.ExchangeType(pkt[18]) != wire.ExchangeIKESAInit {
			return
		}
		cookieMode := m.cfg.CookieThreshold < 0 || m.halfOpenN.Load() >= int64(m.cfg.CookieThreshold)
		if cookieMode {
			if !m.accepts(ep) {
				m.stats.refused.Add(1)
				return // no connection takes this peer: no answer at all
			}
			switch m.cookieFront(pkt, ep) {
			case frontAnswered, frontDrop:
				return
			case frontValid:
				q = m.prioFor(binary.BigEndian.Uint64(pkt))
			}
		}
	} else {
		spi := binary.BigEndian.Uint64(pkt)
		if wire.Flags(pkt[19])&wire.FlagInitiator != 0 {
			spi = spir
		}
		m.mu.Lock()
		_, known := m.bySPI[spi]
		m.mu.Unlock()
		if !known {
			m.stats.unknownSPI.Add(1)
			return
		}
		q = m.prioFor(spi)
	}
	if len(q) == cap(q) {
		m.stats.queueFull.Add(1)
		return
	}
	select {
	case q <- inbound{data: append([]byte(nil), pkt...), ep: ep}:
	default:
	}
}

const (
	frontQueue = iota
	frontAnswered
	frontDrop
	frontValid
)

// cookieFront answers an IKE_SA_INIT request without a valid cookie with
// N(COOKIE) at once, in the receiving goroutine, with no allocation but the
// MAC's: it walks the payload chain only as far as Ni and N(COOKIE).
func (m *Manager) cookieFront(pkt []byte, ep esp.Endpoint) int {
	next := wire.PayloadType(pkt[16])
	var ni, cookie []byte
	first := true
	for off := 28; next != wire.PayloadNone; {
		if off+4 > len(pkt) {
			return frontDrop
		}
		n := int(binary.BigEndian.Uint16(pkt[off+2:]))
		if n < 4 || off+n > len(pkt) {
			return frontDrop
		}
		body := pkt[off+4 : off+n]
		switch next {
		case wire.PayloadNonce:
			ni = body
		case wire.PayloadNotify:
			if first && len(body) >= 4 && body[1] == 0 && wire.NotifyType(binary.BigEndian.Uint16(body[2:])) == wire.NotifyCookie {
				cookie = body[4:]
			}
		}
		first = false
		next = wire.PayloadType(pkt[off])
		off += n
	}
	if ni == nil {
		return frontDrop
	}
	spii := binary.BigEndian.Uint64(pkt)
	if cookie != nil && m.cookies.Verify(cookie, ni, ep.Remote.Addr(), spii) {
		return frontValid
	}
	c, err := m.cookies.Make(ni, ep.Remote.Addr(), spii)
	if err != nil {
		return frontDrop
	}
	var buf [28 + 8 + CookieLen + 4]byte
	resp := buf[:0]
	resp = binary.BigEndian.AppendUint64(resp, spii)
	resp = binary.BigEndian.AppendUint64(resp, 0)
	resp = append(resp, byte(wire.PayloadNotify), 0x20, byte(wire.ExchangeIKESAInit), byte(wire.FlagResponse))
	resp = binary.BigEndian.AppendUint32(resp, 0)
	resp = binary.BigEndian.AppendUint32(resp, uint32(28+8+len(c)))
	resp = append(resp, 0, 0)
	resp = binary.BigEndian.AppendUint16(resp, uint16(8+len(c)))
	resp = append(resp, 0, 0)
	resp = binary.BigEndian.AppendUint16(resp, uint16(wire.NotifyCookie))
	resp = append(resp, c...)
	m.send([]datagram{{data: resp, ep: ep}})
	m.stats.cookies.Add(1)
	return frontAnswered
}

// accepts reports whether some connection takes IKE SAs between ep's
// addresses.
func (m *Manager) accepts(ep esp.Endpoint) bool {
	for _, p := range *m.peers.Load() {
		if p.matchesAddrs(ep.Local.Addr(), ep.Remote.Addr()) {
			return true
		}
	}
	return false
}

// managerCounters count what the Manager drops and answers before any
// state exists.
type managerCounters struct {
	queueFull, unknownSPI, cookies, refused, limited atomic.Uint64
}

// ManagerStats are the Manager's counters of datagrams it dropped or
// answered without state.
type ManagerStats struct {
	// QueueFull: datagrams dropped because the workers were behind.
	QueueFull uint64
	// UnknownSPI: datagrams for no IKE SA we have.
	UnknownSPI uint64
	// Cookies: IKE_SA_INIT requests answered with a COOKIE alone.
	Cookies uint64
	// Refused: IKE_SA_INIT requests from peers no connection accepts.
	Refused uint64
	// HalfOpenLimited: IKE_SA_INIT requests dropped at the half-open
	// limits (overall or per source).
	HalfOpenLimited uint64
	// HalfOpen is the number of half-open IKEv2 SAs now, HalfOpenV1 that
	// of IKEv1 SAs (at most a quarter of Config.HalfOpenLimit).
	HalfOpen, HalfOpenV1 int
}

// Stats returns the counters.
func (m *Manager) Stats() ManagerStats {
	return ManagerStats{QueueFull: m.stats.queueFull.Load(), UnknownSPI: m.stats.unknownSPI.Load(),
		Cookies: m.stats.cookies.Load(), Refused: m.stats.refused.Load(), HalfOpenLimited: m.stats.limited.Load(),
		HalfOpen: int(m.halfOpenN.Load()), HalfOpenV1: m.v1HalfOpen()}
}

func (m *Manager) v1HalfOpen() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.halfOpenV1
}

// worker handles the datagrams of its priority queue first, then new ones.
func (m *Manager) worker(prio chan inbound) {
	defer m.wg.Done()
	for {
		select {
		case in := <-prio:
			m.receive(in.data, in.ep)
			continue
		default:
		}
		select {
		case <-m.ctx.Done():
			return
		case in := <-prio:
			m.receive(in.data, in.ep)
		case in := <-m.queue:
			m.receive(in.data, in.ep)
		}
	}
}

// receive handles one datagram.
func (m *Manager) receive(data []byte, ep esp.Endpoint) {
	if isV1(data) {
		m.receiveV1(data, ep)
		return
	}
	h, err := wire.ParseHeader(data)
	if err != nil || h.MajorVersion != 2 {
		return // junk is dropped silently
	}
	if h.Exchange == wire.ExchangeIKESAInit && !h.IsResponse() && h.ResponderSPI == 0 {
		m.receiveSAInit(data, ep)
		return
	}
	spi := h.InitiatorSPI
	if h.IsInitiator() {
		spi = h.ResponderSPI
	}
	m.mu.Lock()
	b := m.bySPI[spi]
	m.mu.Unlock()
	if b == nil {
		m.log.Debug("datagram for an unknown IKE SA", "remote", ep.Remote.String(), "spi", fmt.Sprintf("%016x", spi))
		return
	}
	msg, err := wire.Parse(data)
	if err != nil {
		m.log.Debug("malformed IKE message", "remote", ep.Remote.String(), "err", err)
		return
	}
	m.with(b, func(s *session) {
		if (s.initiator && msg.Header.InitiatorSPI != s.spii) || (!s.initiator && msg.Header.InitiatorSPI != s.spii) {
			return
		}
		s.handleMessage(msg, ep)
	})
}

// receiveSAInit answers an IKE_SA_INIT request.
func (m *Manager) receiveSAInit(data []byte, ep esp.Endpoint) {
	key := initKey{binary.BigEndian.Uint64(data), ep.Remote}
	hash := sha256.Sum256(data)
	// Check the retransmission index and the half-open limit, and take a
	// place in both at once, so that concurrent workers neither exceed the
	// limit nor make two SAs of one request.
	src := ep.Remote.Addr()
	m.mu.Lock()
	b, dup := m.byInit[key]
	halfOpen := m.halfOpen
	fromSrc := m.halfOpenFrom[src]
	limited := halfOpen >= m.cfg.HalfOpenLimit || fromSrc >= m.cfg.HalfOpenPerSource
	if !dup && !limited {
		b = &box{initKey: key, reqHash: hash, counted: true}
		m.byInit[key] = b
		m.halfOpen++
		m.halfOpenN.Store(int64(m.halfOpen))
		m.halfOpenFrom[src]++
	}
	m.mu.Unlock()
	if dup {
		// A retransmission: the same response again (§2.1).
		b.mu.Lock()
		if hash == b.reqHash && b.resp != nil {
			m.send([]datagram{{data: b.resp, ep: ep}})
		}
		b.mu.Unlock()
		return
	}
	if limited {
		m.stats.limited.Add(1)
		m.log.Debug("half-open limit reached, IKE_SA_INIT dropped", "remote", ep.Remote.String(), "from_source", fromSrc)
		return
	}
	var resp []byte
	var s *session
	defer func() {
		if s == nil { // give the place back
			m.mu.Lock()
			delete(m.byInit, key)
			m.halfOpen--
			m.halfOpenN.Store(int64(m.halfOpen))
			m.unsource(src)
			m.mu.Unlock()
		}
		if resp != nil {
			m.send([]datagram{{data: resp, ep: ep}})
		}
		if s != nil {
			m.with(b, func(*session) {})
		}
	}()
	msg, err := wire.Parse(data)
	if err != nil {
		m.log.Debug("malformed IKE_SA_INIT", "remote", ep.Remote.String(), "err", err)
		return
	}
	var cand *PeerConfig
	var cas []*x509.Certificate
	for _, p := range *m.peers.Load() {
		if !p.speaks(2) || !p.matchesAddrs(ep.Local.Addr(), ep.Remote.Addr()) {
			continue
		}
		if cand == nil {
			cand = p
		}
		if p.Remote.Method == AuthPubKey {
			cas = append(cas, p.Remote.CAs...)
		}
	}
	if cand == nil {
		m.log.Info("IKE_SA_INIT from a peer no connection accepts", "remote", ep.Remote.String(), "local", ep.Local.String())
		return
	}
	if m.cfg.Redirect != nil {
		_, supported := wire.FindNotify(msg.Payloads, wire.NotifyRedirectSupported)
		_, redirected := wire.FindNotify(msg.Payloads, wire.NotifyRedirectedFrom)
		ni, okN := wire.Find[*wire.Nonce](msg.Payloads)
		if supported && !redirected && okN {
			if gw := m.cfg.Redirect(ep.Local, ep.Remote); gw.IsValid() {
				out := wire.Message{
					Header: wire.Header{InitiatorSPI: msg.Header.InitiatorSPI, Exchange: wire.ExchangeIKESAInit,
						Flags: wire.FlagResponse, MajorVersion: 2},
					Payloads: []wire.Payload{&wire.Notify{Kind: wire.NotifyRedirect, Data: append(gwIdent(gw), ni.Data...)}},
				}
				if b, err := out.Marshal(); err == nil {
					resp = b
				}
				m.log.Info("redirecting", "remote", ep.Remote.String(), "to", gw.String())
				return
			}
		}
	}
	r := &saInitResponder{rand: m.cfg.Rand, proposals: cand.ikeProposals(), forceEncap: cand.ForceEncap}
	if m.cfg.CookieThreshold < 0 || halfOpen >= m.cfg.CookieThreshold {
		r.cookies = &m.cookies
	}
	if len(cas) > 0 {
		r.certReq = certReqPayload(uniqueCAs(cas))
	}
	resp, res, err := r.Respond(msg, ep.Local, ep.Remote)
	if err != nil {
		m.log.Info("IKE_SA_INIT refused", "remote", ep.Remote.String(), "err", err)
	}
	if res != nil && m.log.Enabled(context.Background(), slog.LevelDebug) {
		// charon's three lines (its CFG level 2).
		if sa, ok := wire.Find[*wire.SA](msg.Payloads); ok {
			for _, l := range LogLines(ProposalsFromSA(sa), r.proposals, res.Proposal, true) {
				m.log.Debug(l, "remote", ep.Remote.String())
			}
		}
	}
	if res == nil {
		return
	}
	ns := m.newSession(false, cand)
	ns.local, ns.remote = ep.Local, ep.Remote
	ns.spii = res.SPIi
	ns.recvID = 1
	ns.lastResp = [][]byte{resp}
	ns.setKeys(res)
	ns.peer = nil // chosen in IKE_AUTH
	// Registered before the response leaves, so that the IKE_AUTH that
	// follows finds it.
	b.mu.Lock()
	b.s, b.resp = ns, resp
	b.mu.Unlock()
	m.mu.Lock()
	if _, taken := m.bySPI[ns.spir]; taken {
		m.mu.Unlock()
		resp = nil
		return // a 64-bit collision: let the peer retry
	}
	m.bySPI[ns.spir] = b
	m.mu.Unlock()
	s = ns
}

// unsource gives back a half-open place of a peer address; m.mu held.
func (m *Manager) unsource(a netip.Addr) {
	if m.halfOpenFrom[a]--; m.halfOpenFrom[a] <= 0 {
		delete(m.halfOpenFrom, a)
	}
}

// uniqueCAs drops repeated certificates.
func uniqueCAs(cas []*x509.Certificate) []*x509.Certificate {
	var out []*x509.Certificate
	for _, c := range cas {
		if !slices.ContainsFunc(out, func(o *x509.Certificate) bool { return o.Equal(c) }) {
			out = append(out, c)
		}
	}
	return out
}

// newSession makes a session with a fresh number.
func (m *Manager) newSession(initiator bool, p *PeerConfig) *session {
	now := m.cfg.Now()
	return &session{env: m.env, id: m.nextID.Add(1), peer: p, initiator: initiator, state: StateConnecting,
		created: now, lastHeard: now}
}

// with runs fn on the session under its lock, then sends its output,
// delivers its events, re-arms its timer and forgets it once closed.
func (m *Manager) with(b *box, fn func(*session)) {
	b.mu.Lock()
	s := b.s
	wasConnecting := s.state == StateConnecting
	wasUp := s.state == StateEstablished && s.peer != nil
	fn(s)
	if isUp := s.state == StateEstablished && s.peer != nil; isUp != wasUp {
		m.mu.Lock()
		if isUp {
			m.up[s.peer.Name]++
		} else if m.up[s.peer.Name]--; m.up[s.peer.Name] <= 0 {
			delete(m.up, s.peer.Name)
		}
		m.mu.Unlock()
	}
	out, spawned := s.out, s.spawned
	s.out, s.spawned = nil, nil
	// The events are copied out so that the session keeps (and reuses)
	// its buffer: a handshake then allocates it once.
	var evbuf [4]Event
	events := evbuf[:0]
	if len(s.events) > len(evbuf) {
		events = make([]Event, 0, len(s.events))
	}
	events = append(events, s.events...)
	clear(s.events)
	s.events = s.events[:0]
	closed := s.state == StateClosed
	if !closed {
		m.arm(b)
	} else if b.timer != nil {
		b.timer.Stop()
	}
	// INITIAL_CONTACT counts once the SA is up: after EAP or XAuth rounds.
	initialContact := s.initialContact && s.state == StateEstablished
	if initialContact {
		s.initialContact = false
	}
	unique := UniqueNo
	if wasConnecting && s.state == StateEstablished && !s.initiator && s.peer != nil {
		unique = s.peer.Unique
	}
	adopt := s.v1 != nil && wasConnecting && s.state == StateEstablished && !s.initiator
	isV1 := s.v1 != nil
	var orphans []uint32
	if isV1 {
		orphans, s.v1.orphanDeletes = s.v1.orphanDeletes, nil
	}
	var failed *PeerConfig
	if closed && s.failedOpen {
		failed, s.failedOpen = s.peer, false
	}
	leftConnecting := wasConnecting && s.state != StateConnecting
	nowUp := s.state == StateEstablished
	ourSPI := s.ourSPI()
	var reauthPeer string
	if s.wantReauth && s.peer != nil {
		s.wantReauth = false
		reauthPeer = s.peer.Name
	}
	b.mu.Unlock()

	m.send(out)
	for _, n := range spawned {
		nb := &box{s: n}
		m.mu.Lock()
		m.bySPI[n.ourSPI()] = nb
		if n.state == StateEstablished && n.peer != nil {
			m.up[n.peer.Name]++
		}
		m.mu.Unlock()
		m.with(nb, func(*session) {})
	}
	if reauthPeer != "" {
		if nb, err := m.initiate(reauthPeer); err != nil {
			m.log.Warn("cannot reauthenticate", "conn", reauthPeer, "err", err)
			m.with(b, func(s *session) { s.reauthing = false; s.reauthAt = s.env.now().Add(time.Minute) })
		} else {
			m.mu.Lock()
			m.reauth[nb] = b
			m.mu.Unlock()
		}
	}
	if leftConnecting || closed {
		m.mu.Lock()
		old, ok := m.reauth[b]
		delete(m.reauth, b)
		m.mu.Unlock()
		if ok && nowUp && isV1 {
			// IKEv1: the new SA negotiates its CHILD_SAs by Quick Mode
			// after it is up; the old one and its CHILD_SAs go a little
			// later, make before break.
			m.with(old, func(s *session) {
				s.logger().Info("reauthenticated: the old IKEv1 SA goes once the new one has its CHILD_SAs")
				s.v1.deleteAt = s.env.now().Add(min(v1ReauthOverlap, s.peer.v1Life()/4))
			})
		} else if ok && nowUp {
			// Make before break: the new IKE SA is up, the old one goes.
			m.with(old, func(s *session) {
				s.logger().Info("reauthenticated: deleting the old IKE SA")
				s.deleteSA()
			})
		} else if ok {
			m.with(old, func(s *session) { s.reauthing = false; s.reauthAt = s.env.now().Add(time.Minute) })
		}
	}
	if leftConnecting {
		m.mu.Lock()
		if b.counted {
			b.counted = false
			if b.v1 {
				m.halfOpenV1--
			} else {
				m.halfOpen--
				m.halfOpenN.Store(int64(m.halfOpen))
			}
			m.unsource(b.initKey.remote.Addr())
		}
		if b.initKey != (initKey{}) {
			delete(m.byInit, b.initKey)
		}
		m.mu.Unlock()
	}
	if closed {
		m.mu.Lock()
		if m.bySPI[ourSPI] == b {
			delete(m.bySPI, ourSPI)
		}
		m.mu.Unlock()
	}
	for _, e := range events {
		if m.cfg.OnEvent != nil {
			m.cfg.OnEvent(e)
		}
	}
	if adopt {
		m.v1Adopt(b)
	}
	if len(orphans) > 0 {
		m.v1OrphanDeletes(b, orphans)
	}
	if initialContact {
		m.initialContact(b)
	} else if unique != UniqueNo {
		m.uniqueness(b, unique)
	}
	if failed != nil {
		switch failed.DPDAction {
		case DPDRestart:
			if err := m.Initiate(failed.Name); err != nil {
				m.log.Warn("cannot restart", "conn", failed.Name, "err", err)
			}
		case DPDHold:
			m.installTraps(failed)
		}
	}
}

// initialContact closes the other IKE SAs of the same connection and
// identity (RFC 7296 §2.4: the peer has rebooted and forgotten them).
func (m *Manager) initialContact(keep *box) {
	keep.mu.Lock()
	peer, id, client := keep.s.peer, keep.s.remoteID, keep.s.clientKey()
	keep.mu.Unlock()
	for _, b := range m.boxes() {
		if b == keep {
			continue
		}
		m.with(b, func(s *session) {
			if s.peer == peer && s.state == StateEstablished && s.remoteID.Equal(id) && s.clientKey() == client {
				s.logger().Info("replaced after INITIAL_CONTACT", "id", id.String())
				s.close(errors.New("ike: replaced after INITIAL_CONTACT"), false)
			}
		})
	}
}

// uniqueness applies the connection's unique policy after the IKE SA of
// keep came up: other IKE SAs of its connection and identity are deleted
// (replace), or it is (keep).
func (m *Manager) uniqueness(keep *box, u Uniqueness) {
	keep.mu.Lock()
	peer, id, client := keep.s.peer, keep.s.remoteID, keep.s.clientKey()
	keep.mu.Unlock()
	for _, b := range m.boxes() {
		if b == keep {
			continue
		}
		found := false
		m.with(b, func(s *session) {
			if s.peer == peer && s.state == StateEstablished && s.supersededAt.IsZero() && s.remoteID.Equal(id) &&
				s.clientKey() == client {
				found = true
				if u == UniqueReplace {
					s.logger().Info("replaced by a new IKE SA of the same identity", "id", id.String())
					s.deleteSA()
				}
			}
		})
		if found && u == UniqueKeep {
			m.with(keep, func(s *session) {
				s.logger().Info("an IKE SA of this identity exists: deleting the new one", "id", id.String())
				s.deleteSA()
			})
			return
		}
	}
}

// arm sets the session's timer to its next deadline; called with b.mu held.
func (m *Manager) arm(b *box) {
	if m.manualTimers {
		return
	}
	d := b.s.nextDeadline()
	if d.IsZero() {
		if b.timer != nil {
			b.timer.Stop()
		}
		return
	}
	wait := max(d.Sub(m.cfg.Now()), time.Millisecond)
	if b.timer == nil {
		b.timer = time.AfterFunc(wait, func() {
			if m.ctx.Err() != nil {
				return
			}
			m.with(b, func(s *session) { s.handleTimeout(m.cfg.Now()) })
		})
		return
	}
	b.timer.Reset(wait)
}

// tick runs the timers of every session that is due (tests).
func (m *Manager) tick() {
	now := m.cfg.Now()
	for _, b := range m.boxes() {
		m.with(b, func(s *session) {
			if d := s.nextDeadline(); !d.IsZero() && !now.Before(d) {
				s.handleTimeout(now)
			}
		})
	}
}

// send sends datagrams, with the non-ESP marker on the NAT-T port.
func (m *Manager) send(out []datagram) {
	var one [1][]byte
	for _, d := range out {
		buf := d.data
		if !d.keepalive && d.ep.Local.Port() == m.env.natt {
			buf = append([]byte{0, 0, 0, 0}, buf...)
		}
		one[0] = buf
		if err := m.cfg.Sender.Send(one[:], d.ep); err != nil {
			m.log.Debug("send failed", "remote", d.ep.Remote.String(), "err", err)
		}
	}
}

func (m *Manager) boxes() []*box {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*box, 0, len(m.bySPI))
	for _, b := range m.bySPI {
		out = append(out, b)
	}
	return out
}

// Initiate starts an IKE SA for the connection name with its CHILD_SAs.
func (m *Manager) Initiate(name string) error {
	_, err := m.initiate(name)
	return err
}

// initiate starts an IKE SA for the connection name and returns its box.
func (m *Manager) initiate(name string) (*box, error) {
	var p *PeerConfig
	for _, c := range *m.peers.Load() {
		if c.Name == name {
			p = c
		}
	}
	if p == nil {
		return nil, fmt.Errorf("ike: no connection %q", name)
	}
	if !p.RemoteHost.IsValid() || !p.LocalAddr.IsValid() {
		return nil, fmt.Errorf("ike: connection %q: initiating needs RemoteHost and LocalAddr", name)
	}
	remote := p.RemoteHost
	if remote.Port() == 0 {
		remote = netip.AddrPortFrom(remote.Addr(), 500)
	}
	s := m.newSession(true, p)
	s.local = netip.AddrPortFrom(p.LocalAddr, 500)
	if remote.Port() != 500 {
		s.local = netip.AddrPortFrom(p.LocalAddr, m.env.natt)
	}
	s.remote = remote
	b := &box{s: s, counted: false}
	// The SPI is chosen and the session indexed before the request
	// leaves, so that a quick response finds it.
	b.mu.Lock()
	var err error
	if p.Version == VersionIKEv1 {
		err = s.v1StartInitiator()
	} else {
		err = s.startInitiator()
	}
	b.mu.Unlock()
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.bySPI[s.spii] = b
	m.mu.Unlock()
	m.with(b, func(*session) {})
	return b, nil
}

// Terminate deletes the IKE SAs of the connection name; it reports how
// many there were.
func (m *Manager) Terminate(name string) int {
	n := 0
	for _, b := range m.boxes() {
		m.with(b, func(s *session) {
			if s.peer != nil && s.peer.Name == name && s.state != StateClosed {
				n++
				s.deleteSA()
			}
		})
	}
	return n
}

// SAInfo describes an IKE SA for the connection table.
type SAInfo struct {
	ID   uint64
	Peer string
	// Version is the IKE major version, 1 or 2; XAuthUser the name an
	// IKEv1 client logged in with.
	Version       int
	XAuthUser     string
	State         State
	Initiator     bool
	SPIi, SPIr    uint64
	Local, Remote netip.AddrPort
	RemoteID      pki.Identity
	VIPs          []netip.Addr
	Proposal      Proposal
	NAT           NATResult
	Established   time.Time
	Children      []ChildInfo
}

// ChildInfo describes a CHILD_SA.
type ChildInfo struct {
	Name          string
	InSPI, OutSPI uint32
	// Policy is the ID of the CHILD_SA's dataplane policy (InSA and OutSA
	// name its SAs in the dataplane).
	Policy            uint32
	Proposal          Proposal
	Mode              esp.Mode
	LocalTS, RemoteTS []esp.Selector
	Installed         time.Time
}

// InSA names the CHILD_SA's inbound SA in the dataplane.
func (c ChildInfo) InSA() esp.SAKey { return esp.InSA(c.InSPI) }

// OutSA names the CHILD_SA's outbound SA in the dataplane.
func (c ChildInfo) OutSA() esp.SAKey { return esp.OutSA(c.Policy, c.OutSPI) }

// SAs returns the IKE SAs, oldest first.
func (m *Manager) SAs() []SAInfo {
	var out []SAInfo
	for _, b := range m.boxes() {
		b.mu.Lock()
		s := b.s
		i := SAInfo{ID: s.id, State: s.state, Initiator: s.initiator, SPIi: s.spii, SPIr: s.spir, Local: s.local,
			Remote: s.remote, RemoteID: s.remoteID, VIPs: s.vips, Proposal: s.prop, NAT: s.nat, Established: s.up}
		if s.peer != nil {
			i.Peer = s.peer.Name
		}
		i.Version = 2
		if s.v1 != nil {
			i.Version, i.XAuthUser = 1, s.v1.user
		}
		for _, c := range s.children {
			i.Children = append(i.Children, ChildInfo{Name: c.cfg.Name, InSPI: c.inSPI, OutSPI: c.outSPI, Policy: c.policyID, Proposal: c.proposal,
				Mode: c.mode, LocalTS: c.localTS, RemoteTS: c.remoteTS, Installed: c.installed})
		}
		b.mu.Unlock()
		out = append(out, i)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out
}
