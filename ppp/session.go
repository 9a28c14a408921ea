package ppp

import (
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"time"
)

// Config configures the server side of PPP links. A Config may be shared by
// many Sessions and must not be modified after the first NewSession.
type Config struct {
	// Name is the CHAP Name we send in Challenges; empty means "ikego".
	Name string
	// Auth lists the CHAP algorithms to ask the peer for, preferred first.
	// Nil means AuthMSCHAPv2, then AuthCHAPMD5. A peer that Naks with
	// another listed algorithm gets it.
	Auth []AuthProtocol
	// Secret returns the password of the user named in a CHAP Response
	// (the Name field as received, which may carry a "DOMAIN\" prefix; the
	// prefix is left out of the MS-CHAPv2 hash). Required. It is called
	// from the goroutine driving the Session.
	Secret func(user string) (password string, ok bool)
	// LocalAddr is the server's IPv4 address on the link, sent in our IPCP
	// IP-Address option. Invalid means we do not send the option.
	LocalAddr netip.Addr
	// AssignAddr returns the peer's IPv4 address, for the authenticated
	// user. It is called at most once per Session, on the first IPCP
	// Configure-Request; the caller releases the address when the Session
	// ends (Session.PeerAddr tells which). Required.
	AssignAddr func(user string) (netip.Addr, error)
	// DNS holds up to two IPv4 DNS servers given to the peer (RFC 1877).
	// The peer's requests for DNS servers are rejected when empty.
	DNS []netip.Addr
	// NBNS holds up to two IPv4 NetBIOS name servers (RFC 1877), rejected
	// when empty.
	NBNS []netip.Addr
	// MRU is the Maximum-Receive-Unit we ask for; zero sends no MRU option
	// (the peer then uses 1500).
	MRU uint16
	// MinMRU is the smallest peer MRU accepted; smaller ones are Nak'd with
	// this value. Zero means 576.
	MinMRU uint16
	// Automaton holds the Restart timer and the counters of RFC 1661,
	// Section 4.6, for LCP and IPCP; the Restart timer and Max-Configure
	// also govern CHAP Challenge retransmission.
	Automaton AutomatonConfig
	// EchoInterval is the period of LCP Echo-Request keepalives once LCP is
	// up; zero disables them.
	EchoInterval time.Duration
	// EchoFailures is the number of unanswered Echo-Requests after which
	// the link is declared down; zero means 3.
	EchoFailures int
	// Rand supplies Magic-Numbers, CHAP Identifiers and challenges; nil
	// means crypto/rand.Reader.
	Rand io.Reader
	// Logger receives link-level events; nil discards them.
	Logger *slog.Logger
}

// Phase is the link phase of RFC 1661, Section 3.2.
type Phase uint8

// Link phases.
const (
	PhaseDead Phase = iota
	PhaseEstablish
	PhaseAuthenticate
	PhaseNetwork
	PhaseTerminate
)

// String returns the phase's name from RFC 1661.
func (p Phase) String() string {
	switch p {
	case PhaseDead:
		return "Dead"
	case PhaseEstablish:
		return "Establish"
	case PhaseAuthenticate:
		return "Authenticate"
	case PhaseNetwork:
		return "Network"
	case PhaseTerminate:
		return "Terminate"
	}
	return "Phase(" + strconv.Itoa(int(p)) + ")"
}

// EventKind says what an Event reports.
type EventKind uint8

// Session events.
const (
	// EventLinkUp: LCP reached Opened.
	EventLinkUp EventKind = iota + 1
	// EventAuthenticated: the peer passed CHAP; Event.User is its name.
	EventAuthenticated
	// EventNetworkUp: IPCP reached Opened; Event.Addr is the peer's
	// address and IP packets flow.
	EventNetworkUp
	// EventNetworkDown: IPCP left Opened.
	EventNetworkDown
	// EventLinkDown: the link is finished; Event.Reason says why. The
	// Session is dead and the caller tears down the L2TP session.
	EventLinkDown
)

// String returns the event kind's name.
func (k EventKind) String() string {
	switch k {
	case EventLinkUp:
		return "link up"
	case EventAuthenticated:
		return "authenticated"
	case EventNetworkUp:
		return "network up"
	case EventNetworkDown:
		return "network down"
	case EventLinkDown:
		return "link down"
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Event is a change of a Session's state.
type Event struct {
	Kind   EventKind
	User   string     // EventAuthenticated, and later events
	Addr   netip.Addr // EventNetworkUp: the IP-Address the peer configured
	Reason string     // EventLinkDown
}

// Session errors.
var (
	// ErrConfig reports a Config without Secret or AssignAddr, or with an
	// unknown CHAP algorithm.
	ErrConfig = errors.New("ppp: invalid config")
	// ErrNetworkDown reports an IP packet sent or received while IPCP is
	// not Opened.
	ErrNetworkDown = errors.New("ppp: network layer not open")
	// ErrDiscarded reports a frame silently discarded in the current
	// phase (RFC 1661, Section 3.2).
	ErrDiscarded = errors.New("ppp: frame discarded in this phase")
	// ErrDead reports a frame for a Session whose link is down.
	ErrDead = errors.New("ppp: link is down")
)

// Session is the server side of one PPP link, as carried by an L2TP
// session: LCP, then CHAP authentication of the peer, then IPCP, then IPv4
// packets. It is sans-I/O: HandleFrame takes received frames, NextFrame
// yields frames to send, NextEvent reports state changes, and the caller
// calls HandleTimeout at NextDeadline. A Session is not safe for concurrent
// use; one goroutine owns it.
//
//	Start -> Establish (LCP) -> Authenticate (CHAP) -> Network (IPCP) -> IPv4
//	            ^                                                  |
//	            +------------ LCP renegotiation -------------------+
//	LCP Terminate, CHAP failure, keepalive failure -> Dead (EventLinkDown)
type Session struct {
	cfg   *Config
	log   *slog.Logger
	lcp   *lcp
	chap  chapServer
	ipcp  *Automaton
	ipopt ipcpOptions

	phase  Phase
	dead   bool
	user   string
	reason string
	netUp  bool

	out    [][]byte
	events []Event
}

// NewSession returns a Session in the Dead phase for cfg; Start begins LCP.
func NewSession(cfg *Config) (*Session, error) {
	if cfg == nil || cfg.Secret == nil || cfg.AssignAddr == nil || len(cfg.DNS) > 2 || len(cfg.NBNS) > 2 {
		return nil, ErrConfig
	}
	auth := cfg.Auth
	if auth == nil {
		auth = []AuthProtocol{AuthMSCHAPv2, AuthCHAPMD5}
	}
	for _, a := range auth {
		if a != AuthCHAPMD5 && a != AuthMSCHAPv2 {
			return nil, ErrConfig
		}
	}
	if len(auth) == 0 {
		return nil, ErrConfig
	}
	r := cfg.Rand
	if r == nil {
		r = rand.Reader
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	minMRU := cfg.MinMRU
	if minMRU == 0 {
		minMRU = 576
	}
	echoMax := cfg.EchoFailures
	if echoMax <= 0 {
		echoMax = 3
	}
	ac := cfg.Automaton.withDefaults()
	s := &Session{cfg: cfg, log: log}
	s.lcp = newLCP(ac, lcpOptions{auth: auth, mru: cfg.MRU, minMRU: minMRU, rand: r, reqAuth: -1}, cfg.EchoInterval, echoMax)
	name := cfg.Name
	if name == "" {
		name = "ikego"
	}
	s.chap = chapServer{name: name, rand: r, secret: cfg.Secret, restart: ac.Restart, maxTx: ac.MaxConfigure}
	s.ipopt = ipcpOptions{local: cfg.LocalAddr, assign: func() (netip.Addr, error) { return cfg.AssignAddr(s.user) }}
	copy(s.ipopt.dns[:], cfg.DNS)
	copy(s.ipopt.nbns[:], cfg.NBNS)
	s.ipcp = NewAutomaton(ProtocolIPCP, &s.ipopt, ac)
	return s, nil
}

// Start signals that the L2TP session is up and opens LCP: the server sends
// the first Configure-Request.
func (s *Session) Start(now time.Time) {
	if s.dead || s.phase != PhaseDead {
		return
	}
	s.phase = PhaseEstablish
	s.lcp.Up(now)
	s.lcp.Open(now)
	s.pump(now)
}

// Close ends the link gracefully: LCP sends Terminate-Request, and
// EventLinkDown follows when the peer acks or the Restart timer gives up.
func (s *Session) Close(now time.Time) {
	if s.dead {
		return
	}
	s.terminate("closed locally", now)
	s.pump(now)
}

// Down signals that the lower layer (the L2TP session) went away; the link
// is dead at once.
func (s *Session) Down(now time.Time) {
	if s.dead {
		return
	}
	s.ipcp.Down(now)
	s.lcp.Down(now)
	s.pump(now)
	s.linkDown("lower layer down")
}

// Phase returns the link phase.
func (s *Session) Phase() Phase { return s.phase }

// User returns the authenticated user name, or "" before authentication.
func (s *Session) User() string { return s.user }

// PeerAddr returns the address AssignAddr gave the peer, or the invalid
// address if it was not called or failed.
func (s *Session) PeerAddr() netip.Addr { return s.ipopt.peer }

// PeerMRU returns the MRU the peer announced (1500 by default): the largest
// Information field to send it.
func (s *Session) PeerMRU() int { return int(s.lcp.opts.peerMRU) }

// Auth returns the outcome of the CHAP exchange, and false before the peer
// authenticated. For MS-CHAPv2 it carries the MPPE MasterKey (RFC 3079),
// from which GetAsymmetricStartKey derives the session keys.
func (s *Session) Auth() (AuthResult, bool) {
	if s.chap.state != chapSucceeded {
		return AuthResult{}, false
	}
	return s.chap.result, true
}

// LCPState returns the LCP automaton's state.
func (s *Session) LCPState() State { return s.lcp.State() }

// IPCPState returns the IPCP automaton's state.
func (s *Session) IPCPState() State { return s.ipcp.State() }

// NextFrame returns the next frame to send to the peer, from the Address
// field on, and false when none is queued. The caller owns the slice.
func (s *Session) NextFrame() ([]byte, bool) {
	if len(s.out) == 0 {
		return nil, false
	}
	f := s.out[0]
	s.out[0] = nil
	s.out = s.out[1:]
	return f, true
}

// NextEvent returns the next queued event, and false when none is queued.
func (s *Session) NextEvent() (Event, bool) {
	if len(s.events) == 0 {
		return Event{}, false
	}
	e := s.events[0]
	s.events = s.events[1:]
	return e, true
}

// NextDeadline returns when HandleTimeout must be called next, or the zero
// time when no timer runs.
func (s *Session) NextDeadline() time.Time {
	if s.dead {
		return time.Time{}
	}
	d := earliest(s.lcp.nextDeadline(), s.ipcp.NextDeadline())
	if s.chap.state == chapChallenged {
		d = earliest(d, s.chap.deadline)
	}
	return d
}

// HandleTimeout runs the timers that have expired at now.
func (s *Session) HandleTimeout(now time.Time) {
	if s.dead {
		return
	}
	s.lcp.handleTimeout(now)
	s.ipcp.HandleTimeout(now)
	s.chap.handleTimeout(now)
	s.pump(now)
}

// HandleFrame processes one PPP frame from the peer. For an IPv4 frame
// while the network layer is open it returns the IPv4 packet, aliasing
// frame, and allocates nothing; for every other frame it returns nil. Bad
// or unexpected frames are dropped with an error that says why; the Session
// stays usable. HandleFrame never panics.
func (s *Session) HandleFrame(frame []byte, now time.Time) ([]byte, error) {
	if s.dead {
		return nil, ErrDead
	}
	proto, info, err := ParseFrame(frame)
	if err != nil {
		return nil, err
	}
	if proto == ProtocolIPv4 {
		if s.ipcp.State() != StateOpened || s.phase != PhaseNetwork {
			return nil, ErrNetworkDown
		}
		return info, nil
	}
	if s.phase == PhaseDead {
		return nil, ErrDiscarded
	}
	switch {
	case proto == ProtocolLCP:
		err = s.lcp.handlePacket(info, now)
	case s.lcp.State() != StateOpened:
		// RFC 1661, Section 3.3: non-LCP packets are discarded while LCP
		// is not Opened.
		err = ErrDiscarded
	case proto == ProtocolCHAP && s.chap.state != chapIdle:
		err = s.chap.handlePacket(info)
	case proto == ProtocolIPCP:
		// RFC 1661, Section 3.5: NCP packets only in the Network phase.
		if s.phase != PhaseNetwork {
			err = ErrDiscarded
			break
		}
		err = s.ipcp.HandlePacket(info, now)
	default:
		// RFC 1661, Section 5.7: unsupported protocols (IPv6CP, CCP, PAP
		// when CHAP was negotiated, ...) are rejected once LCP is up.
		s.lcp.SendProtocolReject(proto, info, s.PeerMRU())
	}
	s.pump(now)
	return nil, err
}

// AppendIPFrame appends the PPP header for an IPv4 packet and the packet to
// dst, or returns ErrNetworkDown when IPCP is not Opened. It uses the
// compressed header when the peer asked for ACFC and PFC, and allocates
// only if dst lacks capacity.
func (s *Session) AppendIPFrame(dst, ip []byte) ([]byte, error) {
	if s.dead || s.ipcp.State() != StateOpened {
		return dst, ErrNetworkDown
	}
	dst = AppendFrameHeader(dst, ProtocolIPv4, s.lcp.opts.peerACFC, s.lcp.opts.peerPFC)
	return append(dst, ip...), nil
}

func (s *Session) emit(e Event) {
	if e.User == "" {
		e.User = s.user
	}
	s.events = append(s.events, e)
}

// terminate closes LCP, remembering the first reason.
func (s *Session) terminate(reason string, now time.Time) {
	if s.reason == "" {
		s.reason = reason
	}
	if s.phase != PhaseDead {
		s.phase = PhaseTerminate
	}
	s.ipcp.Close(now)
	s.lcp.Close(now)
}

func (s *Session) linkDown(reason string) {
	if s.dead {
		return
	}
	if s.reason == "" {
		s.reason = reason
	}
	s.dead = true
	s.phase = PhaseDead
	if s.netUp {
		s.netUp = false
		s.emit(Event{Kind: EventNetworkDown})
	}
	s.chap.reset()
	s.log.Info("PPP link down", "user", s.user, "reason", s.reason)
	s.emit(Event{Kind: EventLinkDown, Reason: s.reason})
}

// pump moves packets out of the protocols into frames and reacts to their
// layer events until nothing changes.
func (s *Session) pump(now time.Time) {
	for range 16 {
		progress := false
		for {
			p, ok := s.lcp.NextPacket()
			if !ok {
				break
			}
			progress = true
			s.out = append(s.out, AppendFrame(make([]byte, 0, FrameHeaderLen+len(p)), ProtocolLCP, p))
		}
		for {
			p, ok := s.ipcp.NextPacket()
			if !ok {
				break
			}
			progress = true
			s.out = append(s.out, AppendFrame(make([]byte, 0, FrameHeaderLen+len(p)), ProtocolIPCP, p))
		}
		for _, p := range s.chap.out {
			progress = true
			s.out = append(s.out, AppendFrame(make([]byte, 0, FrameHeaderLen+len(p)), ProtocolCHAP, p))
		}
		s.chap.out = s.chap.out[:0]

		for {
			e, ok := s.lcp.NextEvent()
			if !ok {
				break
			}
			progress = true
			s.lcpEvent(e, now)
		}
		for {
			e, ok := s.ipcp.NextEvent()
			if !ok {
				break
			}
			progress = true
			s.ipcpEvent(e, now)
		}
		progress = s.checks(now) || progress
		if !progress {
			return
		}
	}
}

// checks reacts to conditions the protocols only record.
func (s *Session) checks(now time.Time) bool {
	if s.dead {
		return false
	}
	switch {
	case s.lcp.echoFailed:
		s.lcp.echoFailed = false
		s.log.Info("PPP peer not responding to LCP echo", "user", s.user)
		s.terminate("peer not responding", now)
		s.linkDown("peer not responding")
		return true
	case s.lcp.opts.loops >= maxLoops:
		s.lcp.opts.loops = 0
		s.terminate("link looped back", now)
		return true
	case s.phase == PhaseAuthenticate && s.chap.state == chapSucceeded:
		s.user = s.chap.result.User
		s.phase = PhaseNetwork
		s.log.Info("PPP peer authenticated", "user", s.user, "method", s.chap.alg.String())
		s.emit(Event{Kind: EventAuthenticated, User: s.user})
		s.ipcp.Up(now)
		s.ipcp.Open(now)
		return true
	case s.phase == PhaseAuthenticate && s.chap.state == chapFailed:
		s.log.Info("PPP authentication failed", "reason", s.chap.reason)
		s.terminate(s.chap.reason, now)
		return true
	case s.ipopt.poolErr != nil && s.phase == PhaseNetwork:
		s.log.Info("PPP no address for peer", "user", s.user, "error", s.ipopt.poolErr)
		s.terminate("no address for the peer: "+s.ipopt.poolErr.Error(), now)
		return true
	}
	for _, p := range s.lcp.rejected {
		// RFC 1661, Section 5.7: the peer will not speak IPCP or CHAP;
		// without them the link is of no use.
		if (p == ProtocolIPCP || p == ProtocolCHAP) && s.phase != PhaseTerminate {
			s.lcp.rejected = s.lcp.rejected[:0]
			s.terminate("peer rejected "+p.String(), now)
			return true
		}
	}
	s.lcp.rejected = s.lcp.rejected[:0]
	return false
}

func (s *Session) lcpEvent(e LayerEvent, now time.Time) {
	switch e {
	case LayerUp:
		s.lcp.opened(now)
		s.emit(Event{Kind: EventLinkUp})
		if s.phase == PhaseTerminate || s.dead {
			return
		}
		alg, ok := s.lcp.opts.negotiatedAuth()
		if !ok {
			s.terminate("peer refused to authenticate", now)
			return
		}
		s.phase = PhaseAuthenticate
		if err := s.chap.start(alg, now); err != nil {
			s.terminate("no randomness for the CHAP challenge", now)
		}
	case LayerDown:
		// RFC 1661, Section 3.2: leaving Opened ends authentication and
		// the network layer; a renegotiation starts over.
		s.ipcp.Down(now)
		s.chap.reset()
		if s.phase != PhaseTerminate && s.phase != PhaseDead {
			s.phase = PhaseEstablish
		}
	case LayerFinished:
		s.ipcp.Down(now)
		reason := s.reason
		if reason == "" {
			reason = "LCP finished in state " + s.lcp.State().String()
			if s.lcp.State() == StateStopped || s.lcp.State() == StateStopping {
				reason = "terminated by peer or negotiation failed"
			}
		}
		s.linkDown(reason)
	}
}

func (s *Session) ipcpEvent(e LayerEvent, now time.Time) {
	switch e {
	case LayerUp:
		s.netUp = true
		addr := s.ipopt.acked
		s.log.Info("PPP network up", "user", s.user, "addr", addr)
		s.emit(Event{Kind: EventNetworkUp, Addr: addr})
	case LayerDown:
		if s.netUp {
			s.netUp = false
			s.emit(Event{Kind: EventNetworkDown})
		}
	case LayerFinished:
		// IPCP gave up (Max-Configure, or the peer closed it): without a
		// network layer the link has no use (RFC 1661, Section 3.5).
		if s.phase == PhaseNetwork {
			s.terminate("IPCP negotiation failed", now)
		}
	}
}
