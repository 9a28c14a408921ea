package l2tp

import (
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"time"

	"github.com/ikego/ikego/ppp"
)

// Peer identifies the sender of a datagram and the destination of replies.
// It is comparable and used as a map key. Conn is chosen by the caller to
// tell apart peers that share an address: for L2TP/IPsec the gateway puts
// an identifier of the transport-mode ESP SA there, since many clients
// behind one NAT may all use the inner address 10.0.0.2:1701. Addr is the
// peer's UDP address as the caller sees it; the Server only compares it.
type Peer struct {
	Conn uint64
	Addr netip.AddrPort
}

// SessionRef names a session by the IDs this Server assigned: its tunnel's
// and its own.
type SessionRef struct {
	Tunnel  uint16
	Session uint16
}

// SessionInfo describes a session whose call is connected, for the caller's
// PPP configuration callback.
type SessionInfo struct {
	Peer          Peer
	Ref           SessionRef
	HostName      string // the LAC's Host Name from its SCCRQ
	CallingNumber string // from the ICRQ, often empty
}

// Config configures a Server. It is copied by NewServer.
type Config struct {
	// HostName is sent in the Host Name AVP; empty means "ikego".
	HostName string
	// VendorName is sent in the Vendor Name AVP; empty means "ikego".
	VendorName string
	// Secret is the tunnel secret shared with the LACs (RFC 2661, Section
	// 5.1.1). When set, every tunnel is authenticated with the Challenge
	// and Challenge Response AVPs, and hidden AVPs are revealed with it.
	// When empty, an SCCRQ carrying a Challenge is refused.
	Secret []byte
	// ReceiveWindow is the Receive Window Size we announce: how many
	// control messages ahead of the expected one we keep. Zero means 4.
	ReceiveWindow int
	// RetransmitInitial, RetransmitMax and MaxRetransmits govern control
	// message retransmission (RFC 2661, Section 5.8); zero means 1 s, 8 s
	// and 5.
	RetransmitInitial time.Duration
	RetransmitMax     time.Duration
	MaxRetransmits    int
	// HelloInterval is the idle time after which a HELLO is sent; zero
	// means 60 s and a negative value disables HELLOs.
	HelloInterval time.Duration
	// StopHold is how long a tunnel is kept after the peer's StopCCN, to
	// acknowledge its retransmissions (RFC 2661, Section 5.7); zero means
	// 31 s, the full retransmission cycle with the default timers.
	StopHold time.Duration
	// SetupTimeout bounds the wait for the SCCCN after our SCCRP and for
	// the ICCN after our ICRP; zero means 60 s. A tunnel that is not
	// connected in time is stopped, a call is disconnected.
	SetupTimeout time.Duration
	// MaxTunnels limits the tunnels; zero means 1024. SCCRQs beyond it are
	// refused with a StopCCN.
	MaxTunnels int
	// MaxSessions limits the sessions of one tunnel; zero means 16. ICRQs
	// beyond it are refused with a CDN.
	MaxSessions int
	// PPP returns the PPP configuration for a session whose call has just
	// connected (ICCN). Required. An error refuses the call with a CDN.
	PPP func(SessionInfo) (*ppp.Config, error)
	// Rand supplies tunnel and session IDs and challenges; nil means
	// crypto/rand.Reader.
	Rand io.Reader
	// Logger receives tunnel and session events; nil discards them.
	Logger *slog.Logger
}

// EventKind says what an Event reports.
type EventKind uint8

// Server events.
const (
	// EventTunnelUp: a control connection is established (SCCCN).
	EventTunnelUp EventKind = iota + 1
	// EventTunnelDown: a tunnel ended; its sessions were reported down
	// before it.
	EventTunnelDown
	// EventSessionUp: a call is connected (ICCN) and PPP starts on it.
	EventSessionUp
	// EventNetworkUp: PPP authenticated the user and IPCP is open:
	// Event.User and Event.Addr are set and IPv4 packets flow.
	EventNetworkUp
	// EventSessionDown: a session ended; Event.User and Event.Addr are
	// those PPP had, so the caller can release the address.
	EventSessionDown
)

// String returns the event kind's name.
func (k EventKind) String() string {
	switch k {
	case EventTunnelUp:
		return "tunnel up"
	case EventTunnelDown:
		return "tunnel down"
	case EventSessionUp:
		return "session up"
	case EventNetworkUp:
		return "network up"
	case EventSessionDown:
		return "session down"
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Event is a change of a tunnel's or session's state.
type Event struct {
	Kind   EventKind
	Peer   Peer
	Ref    SessionRef // Session is zero for tunnel events
	User   string
	Addr   netip.Addr
	Reason string
}

// Datagram is a UDP payload to send to a peer.
type Datagram struct {
	To   Peer
	Data []byte
}

// Server errors.
var (
	// ErrConfig reports a Config without PPP.
	ErrConfig = errors.New("l2tp: invalid config")
	// ErrUnknownTunnel reports a message for a tunnel that does not exist,
	// is not established, or belongs to another peer.
	ErrUnknownTunnel = errors.New("l2tp: unknown tunnel")
	// ErrUnknownSession reports a data message or packet for a session
	// that does not exist or is not connected.
	ErrUnknownSession = errors.New("l2tp: unknown session")
	// ErrOutOfOrder reports a sequenced data message older than one
	// already received (RFC 2661, Section 5.4).
	ErrOutOfOrder = errors.New("l2tp: data message out of order")
	// ErrNotSCCRQ reports a control message for Tunnel ID 0 that is not a
	// valid SCCRQ.
	ErrNotSCCRQ = errors.New("l2tp: message to tunnel 0 is not an SCCRQ")
)

// peerTunnel finds the tunnel of a retransmitted SCCRQ.
type peerTunnel struct {
	peer Peer
	tid  uint16
}

// Server is an L2TP network server (LNS): it accepts the tunnels and
// incoming calls of LACs and runs a PPP server on each session. It is
// sans-I/O: HandleDatagram takes received UDP payloads, NextDatagram yields
// those to send, NextEvent reports state changes, and the caller calls
// HandleTimeout at NextDeadline. A Server is not safe for concurrent use;
// one goroutine owns it.
type Server struct {
	cfg    Config
	timing ctrlTiming
	log    *slog.Logger
	rand   io.Reader

	tunnels map[uint16]*tunnel
	byPeer  map[peerTunnel]*tunnel

	out    []Datagram
	events []Event
	stats  Stats
}

// Stats counts what a Server did with datagrams; bad ones are counted, not
// logged.
type Stats struct {
	Datagrams      uint64 // datagrams received
	Malformed      uint64 // dropped: bad header or message
	UnknownTunnel  uint64 // dropped: no such tunnel for this peer
	UnknownSession uint64 // dropped: data for no connected session
	OutOfOrder     uint64 // dropped: stale sequenced data messages
	Retransmits    uint64 // control messages sent again
}

// Stats returns the counters.
func (s *Server) Stats() Stats { return s.stats }

// NewServer returns a Server for cfg, with defaults for its zero fields.
func NewServer(cfg *Config) (*Server, error) {
	if cfg == nil || cfg.PPP == nil {
		return nil, ErrConfig
	}
	s := &Server{cfg: *cfg, tunnels: make(map[uint16]*tunnel), byPeer: make(map[peerTunnel]*tunnel)}
	c := &s.cfg
	c.Secret = append([]byte(nil), c.Secret...)
	if c.HostName == "" {
		c.HostName = "ikego"
	}
	if c.VendorName == "" {
		c.VendorName = "ikego"
	}
	if c.ReceiveWindow <= 0 {
		c.ReceiveWindow = DefaultReceiveWindow
	}
	c.ReceiveWindow = min(c.ReceiveWindow, 0x7FFF)
	if c.RetransmitInitial <= 0 {
		c.RetransmitInitial = DefaultRetransmitInitial
	}
	if c.RetransmitMax <= 0 {
		c.RetransmitMax = DefaultRetransmitMax
	}
	if c.MaxRetransmits <= 0 {
		c.MaxRetransmits = DefaultMaxRetransmits
	}
	if c.HelloInterval == 0 {
		c.HelloInterval = DefaultHelloInterval
	}
	if c.StopHold <= 0 {
		c.StopHold = 31 * time.Second
	}
	if c.SetupTimeout <= 0 {
		c.SetupTimeout = 60 * time.Second
	}
	if c.MaxTunnels <= 0 {
		c.MaxTunnels = 1024
	}
	if c.MaxSessions <= 0 {
		c.MaxSessions = 16
	}
	s.rand = c.Rand
	if s.rand == nil {
		s.rand = rand.Reader
	}
	s.log = c.Logger
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.timing = ctrlTiming{initial: c.RetransmitInitial, max: c.RetransmitMax, maxRetries: c.MaxRetransmits, rws: c.ReceiveWindow, hello: c.HelloInterval}
	return s, nil
}

// HandleDatagram processes one UDP payload from peer. For a data message
// carrying an IPv4 packet on a session whose network layer is up it returns
// the packet, aliasing pkt, and the session; this path allocates nothing.
// For everything else it returns nil, and an error when the datagram was
// dropped; the Server stays usable. HandleDatagram never panics.
func (s *Server) HandleDatagram(pkt []byte, from Peer, now time.Time) ([]byte, SessionRef, error) {
	s.stats.Datagrams++
	h, payload, err := ParseHeader(pkt)
	if err != nil {
		s.stats.Malformed++
		return nil, SessionRef{}, err
	}
	if !h.Control {
		return s.handleData(&h, payload, from, now)
	}
	var t *tunnel
	if h.TunnelID == 0 {
		t, err = s.handleSCCRQ(&h, payload, from, now)
		if t == nil {
			if err != nil {
				s.stats.Malformed++
			}
			return nil, SessionRef{}, err
		}
	} else {
		t = s.tunnels[h.TunnelID]
		if t == nil || t.peer != from {
			s.stats.UnknownTunnel++
			return nil, SessionRef{}, ErrUnknownTunnel
		}
	}
	err = t.handleControl(&h, payload, now)
	t.settle(now)
	return nil, SessionRef{}, err
}

func (s *Server) handleData(h *Header, payload []byte, from Peer, now time.Time) ([]byte, SessionRef, error) {
	t := s.tunnels[h.TunnelID]
	if t == nil || t.peer != from || t.state != tunnelEstablished {
		s.stats.UnknownTunnel++
		return nil, SessionRef{}, ErrUnknownTunnel
	}
	ss := t.sessions[h.SessionID]
	if ss == nil || ss.ppp == nil {
		s.stats.UnknownSession++
		return nil, SessionRef{}, ErrUnknownSession
	}
	ref := SessionRef{t.id, ss.id}
	t.ctl.lastRecv = now
	if h.Sequenced {
		// RFC 2661, Section 5.4: a peer that numbers its data messages
		// gets numbered ones back, and stale ones are dropped.
		if ss.seqSeen && seqBefore(h.Ns, ss.dataNr) {
			s.stats.OutOfOrder++
			return nil, ref, ErrOutOfOrder
		}
		ss.seqSeen, ss.seq = true, true
		ss.dataNr = h.Ns + 1
	}
	ip, err := ss.ppp.HandleFrame(payload, now)
	if ip != nil {
		return ip, ref, nil
	}
	t.drainPPP(ss, now)
	t.settle(now)
	return nil, ref, err
}

// handleSCCRQ finds the tunnel of a retransmitted SCCRQ or creates one.
func (s *Server) handleSCCRQ(h *Header, payload []byte, from Peer, now time.Time) (*tunnel, error) {
	m, err := ParseMessage(payload, s.cfg.Secret)
	if err != nil || m.Type != MsgSCCRQ {
		return nil, ErrNotSCCRQ
	}
	peerTID, err := m.Uint16(AVPAssignedTunnelID)
	if err != nil || peerTID == 0 {
		return nil, ErrNotSCCRQ
	}
	if t := s.byPeer[peerTunnel{from, peerTID}]; t != nil {
		return t, nil
	}
	if h.Ns != 0 {
		return nil, ErrNotSCCRQ
	}
	if len(s.tunnels) >= s.cfg.MaxTunnels {
		s.log.Warn("L2TP tunnel refused: too many tunnels", "peer", from.Addr, "max", s.cfg.MaxTunnels)
		s.refuse(from, peerTID, Result{Code: StopError, Error: ErrCodeResources, Message: "too many tunnels"})
		return nil, nil
	}
	id, ok := s.newID(func(id uint16) bool { return s.tunnels[id] != nil })
	if !ok {
		s.refuse(from, peerTID, Result{Code: StopError, Error: ErrCodeResources, Message: "no tunnel ID"})
		return nil, nil
	}
	t := &tunnel{srv: s, id: id, peerTID: peerTID, peer: from, sessions: make(map[uint16]*session), started: now}
	t.log = s.log.With("tunnel", id, "peer_tunnel", peerTID, "peer", from.Addr.String())
	t.ctl = newCtrlConn(&s.timing, peerTID, 0, now, func(pkt []byte) {
		s.out = append(s.out, Datagram{To: from, Data: pkt})
	})
	t.ctl.retransmits = &s.stats.Retransmits
	s.tunnels[id] = t
	s.byPeer[peerTunnel{from, peerTID}] = t
	return t, nil
}

// refuse answers an SCCRQ it will keep no state for with a StopCCN, sent
// once: a retransmitted SCCRQ gets another.
func (s *Server) refuse(to Peer, peerTID uint16, r Result) {
	m := NewMessage(MsgStopCCN)
	m.AddUint16(AVPAssignedTunnelID, 0)
	m.Add(AVPResultCode, appendResult(nil, r))
	pkt, err := AppendControl(nil, Header{TunnelID: peerTID, Nr: 1}, &m, nil)
	if err == nil {
		s.out = append(s.out, Datagram{To: to, Data: pkt})
	}
}

// newID returns a random non-zero ID for which used is false.
func (s *Server) newID(used func(uint16) bool) (uint16, bool) {
	var b [2]byte
	for range 64 {
		if _, err := io.ReadFull(s.rand, b[:]); err != nil {
			return 0, false
		}
		id := uint16(b[0])<<8 | uint16(b[1])
		if id != 0 && !used(id) {
			return id, true
		}
	}
	return 0, false
}

func (s *Server) emit(e Event) { s.events = append(s.events, e) }

// NextDatagram returns the next datagram to send, and false when none is
// queued. The caller owns the returned Data.
func (s *Server) NextDatagram() (Datagram, bool) {
	if len(s.out) == 0 {
		return Datagram{}, false
	}
	d := s.out[0]
	s.out[0] = Datagram{}
	s.out = s.out[1:]
	return d, true
}

// NextEvent returns the next queued event, and false when none is queued.
func (s *Server) NextEvent() (Event, bool) {
	if len(s.events) == 0 {
		return Event{}, false
	}
	e := s.events[0]
	s.events = s.events[1:]
	return e, true
}

// NextDeadline returns when HandleTimeout must be called next, or the zero
// time when no timer runs. It looks at every tunnel and session.
func (s *Server) NextDeadline() time.Time {
	var d time.Time
	for _, t := range s.tunnels {
		d = earliest(d, t.nextDeadline())
	}
	return d
}

// HandleTimeout runs the timers that have expired at now: retransmissions,
// HELLOs, the StopCCN hold, and the PPP sessions' timers.
func (s *Server) HandleTimeout(now time.Time) {
	for _, t := range s.tunnels {
		t.handleTimeout(now)
		t.settle(now)
	}
}

// SendIP queues the IPv4 packet ip to the session ref as a data message.
// It fails with ErrUnknownSession for a session that is gone and with
// ppp.ErrNetworkDown before IPCP is open.
func (s *Server) SendIP(ref SessionRef, ip []byte) error {
	pkt, to, err := s.AppendIP(nil, ref, ip)
	if err != nil {
		return err
	}
	s.out = append(s.out, Datagram{To: to, Data: pkt})
	return nil
}

// AppendIP appends to dst the datagram carrying the IPv4 packet ip to the
// session ref and returns it with its destination, for callers that send it
// themselves. It allocates only if dst lacks capacity.
func (s *Server) AppendIP(dst []byte, ref SessionRef, ip []byte) ([]byte, Peer, error) {
	t := s.tunnels[ref.Tunnel]
	if t == nil || t.state != tunnelEstablished {
		return dst, Peer{}, ErrUnknownSession
	}
	ss := t.sessions[ref.Session]
	if ss == nil || ss.ppp == nil {
		return dst, Peer{}, ErrUnknownSession
	}
	h := ss.dataHeader(t.peerTID)
	start := len(dst)
	dst = AppendHeader(dst, h, 0)
	dst, err := ss.ppp.AppendIPFrame(dst, ip)
	if err != nil {
		return dst[:start], Peer{}, err
	}
	n := len(dst) - start
	dst[start+2], dst[start+3] = byte(n>>8), byte(n) // the L bit is always set
	if h.Sequenced {
		ss.dataNs++
	}
	return dst, t.peer, nil
}

// Close tears down every tunnel with a StopCCN (result 6, shutting down).
// The tunnels go away once their StopCCN is acknowledged or given up on.
func (s *Server) Close(now time.Time) {
	for _, t := range s.tunnels {
		if t.state == tunnelWaitCtlConn || t.state == tunnelEstablished {
			t.stop(Result{Code: StopShutdown}, "server shutting down", now)
		}
		t.settle(now)
	}
}

// CloseSession disconnects one session: PPP is torn down at once and a
// CDN (result 3, administrative) goes to the LAC.
func (s *Server) CloseSession(ref SessionRef, now time.Time) error {
	t := s.tunnels[ref.Tunnel]
	if t == nil {
		return ErrUnknownSession
	}
	ss := t.sessions[ref.Session]
	if ss == nil {
		return ErrUnknownSession
	}
	t.closeSession(ss, Result{Code: CDNAdministrative}, "closed locally", true, now)
	t.settle(now)
	return nil
}

// CloseConn ends at once, without a StopCCN, every tunnel whose Peer.Conn
// is conn, and returns how many it ended: for when the transport that
// carried them is gone (for L2TP/IPsec, the client's IPsec SA), so that
// nothing could reach the peer and waiting for acknowledgments would only
// hold the sessions' addresses. Their sessions and the tunnels are reported
// down (EventSessionDown, EventTunnelDown).
func (s *Server) CloseConn(conn uint64, now time.Time) int {
	n := 0
	for id, t := range s.tunnels {
		if t.peer.Conn != conn {
			continue
		}
		t.log.Info("L2TP tunnel closed: its transport is gone")
		t.down("transport gone", now)
		t.state = tunnelGone
		delete(s.tunnels, id)
		delete(s.byPeer, peerTunnel{t.peer, t.peerTID})
		n++
	}
	return n
}

// Tunnels returns the number of tunnels, those being stopped included.
func (s *Server) Tunnels() int { return len(s.tunnels) }

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}
