package ike

import (
	"compress/flate"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/esp/ipcomp"
	"github.com/ikego/ikego/ike/wire"
	"github.com/ikego/ikego/pki"
)

// An IKEv2 SA as a sans-I/O state machine (RFC 7296 §2.1-2.3): messages and
// time go in, datagrams and events come out. The session keeps the two
// message ID windows of size one — its own requests (one outstanding,
// retransmitted on a schedule) and the peer's requests (the last response
// cached and replayed for a retransmitted request) — and runs one exchange
// task at a time from its queue. It owns no socket, goroutine or timer: the
// Manager gives it one goroutine at a time and calls handleTimeout at
// nextDeadline.

// State is the state of an IKE SA.
type State uint8

// States of an IKE SA, as the connection table shows them.
const (
	// StateConnecting: IKE_SA_INIT or IKE_AUTH is running.
	StateConnecting State = iota + 1
	// StateEstablished: authenticated, CHILD_SAs may exist.
	StateEstablished
	// StateDeleting: our INFORMATIONAL delete is outstanding.
	StateDeleting
	// StateClosed: gone; its SAs are removed from the dataplane.
	StateClosed
)

// String returns the name used in configuration files and logs.
func (s State) String() string {
	switch s {
	case StateConnecting:
		return "CONNECTING"
	case StateEstablished:
		return "ESTABLISHED"
	case StateDeleting:
		return "DELETING"
	case StateClosed:
		return "CLOSED"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// EventKind says what happened to an IKE or CHILD SA.
type EventKind uint8

// Event kinds.
const (
	// EventIKEUp: the IKE SA is authenticated.
	EventIKEUp EventKind = iota + 1
	// EventIKEDown: the IKE SA is gone (Err says why if it failed).
	EventIKEDown
	// EventChildUp: a CHILD_SA is installed.
	EventChildUp
	// EventChildDown: a CHILD_SA was removed.
	EventChildDown
)

// String returns the name used in configuration files and logs.
func (k EventKind) String() string {
	switch k {
	case EventIKEUp:
		return "ike-up"
	case EventIKEDown:
		return "ike-down"
	case EventChildUp:
		return "child-up"
	case EventChildDown:
		return "child-down"
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Event reports a change of an IKE SA or one of its CHILD_SAs.
type Event struct {
	Kind EventKind
	// Peer is the connection's name, empty while it is not known (a
	// responder learns it from IKE_AUTH).
	Peer          string
	SPIi, SPIr    uint64
	Local, Remote netip.AddrPort
	RemoteID      pki.Identity
	VIPs          []netip.Addr
	// Child, InSPI, OutSPI, Policy, LocalTS, RemoteTS: the CHILD_SA of a
	// child event; Policy is the ID of its dataplane policy (InSA and
	// OutSA name its SAs in the dataplane).
	Child             string
	InSPI, OutSPI     uint32
	Policy            uint32
	LocalTS, RemoteTS []esp.Selector
	// Proposal is the IKE or ESP proposal selected.
	Proposal Proposal
	// Err is why an IKE SA failed or went down; nil for a clean delete.
	Err error
	// Rekey marks the up event of an SA that replaces another, and the
	// down event of the one replaced: the connection stayed up.
	Rekey bool
}

// InSA names the inbound SA of a child event's CHILD_SA in the dataplane.
func (e Event) InSA() esp.SAKey { return esp.InSA(e.InSPI) }

// OutSA names the outbound SA of a child event's CHILD_SA in the dataplane.
func (e Event) OutSA() esp.SAKey { return esp.OutSA(e.Policy, e.OutSPI) }

// datagram is one message to send.
type datagram struct {
	data []byte
	ep   esp.Endpoint
	// keepalive is a NAT keepalive: sent without the non-ESP marker.
	keepalive bool
}

// env is what the sessions of one Manager share.
type env struct {
	rand         io.Reader
	now          func() time.Time
	log          *slog.Logger
	dp           Dataplane
	poolsMu      sync.Mutex
	pools        Pools
	retransmit   Retransmit
	fragmentSize int
	halfOpenTime time.Duration
	v1Timeout    time.Duration
	natt         uint16
	// policyID numbers the dataplane policies.
	policyID *atomic.Uint32
	// peers returns the current connections.
	peers func() []*PeerConfig
	// nextID numbers sessions.
	nextID func() uint64
	// established returns the number of established IKE SAs of a
	// connection.
	established func(peer string) int
	// trapFor returns the trap policy of a connection's CHILD_SA, 0 if
	// there is none.
	trapFor func(peer, child string) uint32
	// noteChild tells the Manager that the dataplane SAs keys belong to a
	// CHILD_SA of the IKE SA with our SPI ike; forgetChild that they are
	// gone. Nil in tests that run sessions without a Manager.
	noteChild   func(ike uint64, keys ...esp.SAKey)
	forgetChild func(keys ...esp.SAKey)

	// leases counts the IKE SAs holding each virtual IP of an identity:
	// Pool.Acquire is idempotent per identity, so two IKE SAs of one
	// identity (a reconnect before the old SA is gone) share the lease,
	// which goes back to the pool with the last of them.
	leaseMu sync.Mutex
	leases  map[leaseKey]int
}

type leaseKey struct {
	id   string
	addr netip.Addr
}

// acquireVIPs takes addresses for id from pools and counts them.
func (e *env) acquireVIPs(pools Pools, id string, req []netip.Addr) ([]netip.Addr, error) {
	e.leaseMu.Lock()
	defer e.leaseMu.Unlock()
	vips, err := pools.AcquireAll(id, req)
	if err != nil {
		return nil, err
	}
	if e.leases == nil {
		e.leases = map[leaseKey]int{}
	}
	for _, v := range vips {
		e.leases[leaseKey{id, v}]++
	}
	return vips, nil
}

// currentPools returns the pools (Manager.Update replaces them).
func (e *env) currentPools() Pools {
	e.poolsMu.Lock()
	defer e.poolsMu.Unlock()
	return e.pools
}

// releaseVIPs gives addresses back once no IKE SA holds them.
func (e *env) releaseVIPs(id string, vips []netip.Addr) {
	e.leaseMu.Lock()
	defer e.leaseMu.Unlock()
	var last []netip.Addr
	for _, v := range vips {
		k := leaseKey{id, v}
		if e.leases[k] == 0 {
			continue // not counted: not ours
		}
		if e.leases[k]--; e.leases[k] <= 0 {
			delete(e.leases, k)
			last = append(last, v)
		}
	}
	e.currentPools().ReleaseAll(id, last)
}

// v2Task is an exchange we initiate: build makes the request's payloads,
// process handles the response's (decrypted) payloads.
type v2Task interface {
	exchange() wire.ExchangeType
	build(s *session) ([]wire.Payload, error)
	process(s *session, inner []wire.Payload) error
}

// outstanding is our request in flight.
type outstanding struct {
	task     v2Task
	id       uint32
	packets  [][]byte
	tries    int
	deadline time.Time
}

// childSA is one installed CHILD_SA.
type childSA struct {
	cfg               *ChildConfig
	inSPI, outSPI     uint32
	policyID          uint32
	proposal          Proposal
	localTS, remoteTS []esp.Selector
	mode              esp.Mode
	// ipcompIn and ipcompOut are the CPIs of IPComp (ours, the peer's);
	// zero without compression.
	ipcompIn, ipcompOut uint16
	// origLocal and origRemote are the addresses the peer used before NAT
	// in a transport-mode CHILD_SA (NAT-OA), for the checksum fix-up.
	origLocal, origRemote netip.Addr
	installed             time.Time

	// ownsPolicy: removing the CHILD_SA removes its policy (a rekeyed
	// CHILD_SA hands the policy to its successor).
	ownsPolicy bool
	// rekeying: our rekey of it is queued or in flight; replacedBy: the
	// CHILD_SA that replaced it, which it outlives until its delete.
	rekeying   bool
	replacedBy *childSA
	// outPending is the outbound SA of a CHILD_SA we created as rekey
	// responder: installed when the initiator deletes the old one, so
	// that nothing is sent on it before the initiator can receive it.
	outPending *esp.SAParams
	// nonces are Ni and Nr of the rekey that made the CHILD_SA, for
	// collisions (RFC 7296 §2.8.1).
	nonces [2][]byte
	// rekeyAt is when the session rekeys it if nothing else did: its soft
	// lifetime (the dataplane's soft expiry usually comes first), or a
	// retry after a TEMPORARY_FAILURE.
	rekeyAt time.Time
}

// outKey names the CHILD_SA's outbound SA in the dataplane.
func (c *childSA) outKey() esp.SAKey { return esp.OutSA(c.policyID, c.outSPI) }

// is reports whether the dataplane's SA k is one of the CHILD_SA's.
func (c *childSA) is(k esp.SAKey) bool {
	if k.Dir == esp.DirIn {
		return k.SPI == c.inSPI
	}
	return k == c.outKey()
}

// session is one IKEv2 SA.
type session struct {
	env *env
	// id numbers the session for logs and the API.
	id        uint64
	peer      *PeerConfig
	initiator bool
	state     State
	spii      uint64
	spir      uint64
	local     netip.AddrPort
	remote    netip.AddrPort
	nat       NATResult
	encap     bool
	fragOK    bool
	created   time.Time
	up        time.Time

	prop       Proposal
	keys       *IKEKeys
	send, recv wire.Cipher
	init       *saInitResult
	saInit     *saInitInitiator
	peerHashes []uint16

	// The peer's requests: the next ID expected, the cached response to
	// the last one and a digest of that request.
	recvID      uint32
	lastResp    [][]byte
	lastReqHash [32]byte
	reasm       wire.Reassembler

	// Our requests.
	sendID  uint32
	pending *outstanding
	tasks   []v2Task

	children []*childSA
	remoteID pki.Identity
	vips     []netip.Addr
	// leased: vips are leases from our pools (we are the gateway), given
	// back when the IKE SA goes.
	leased bool
	// initialContact: the peer sent INITIAL_CONTACT in IKE_AUTH.
	initialContact bool
	// mobike: both ends announced MOBIKE_SUPPORTED (RFC 4555).
	mobike bool
	// eap is the EAP conversation of IKE_AUTH as responder; eapIdentity
	// the identity it proved, which keys the peer's leases.
	eap         *eapState
	eapIdentity string

	lastHeard     time.Time
	nextKeepalive time.Time
	failure       error
	// nextRekey is when the IKE SA rekeys; rekeyingIKE: a rekey is queued
	// or in flight.
	nextRekey   time.Time
	rekeyingIKE bool
	// supersededAt is when a rekey replaced this IKE SA: it only answers
	// until the peer deletes it, or closes a while later.
	supersededAt time.Time
	// collision is the peer's IKE rekey answered while ours was out.
	collision *ikeCollision
	// reauthAt is when we reauthenticate; wantReauth asks the Manager to
	// make the new IKE SA; reauthing: one is being made.
	reauthAt   time.Time
	wantReauth bool
	reauthing  bool
	// spawned are new IKE SAs (from a rekey) for the Manager to index.
	spawned []*session
	// dpdQueued: a liveness check is queued or in flight; inPackets: the
	// ESP packets received on the CHILD_SAs at the last check.
	dpdQueued bool
	inPackets uint64
	// onFailure is the DPD action the Manager applies after a failed
	// established IKE SA closed (set by fail).
	onFailure  DPDAction
	failedOpen bool
	// later are actions postponed by a TEMPORARY_FAILURE.
	later []deferred

	out    []datagram
	events []Event

	// log is logger's result for logPeer and logRemote.
	log       *slog.Logger
	logPeer   *PeerConfig
	logRemote netip.AddrPort

	// v1 is set for an IKEv1 SA (v1_session.go).
	v1 *v1State
}

// logger returns the session's logger, with its number, the peer's address
// and the connection's name. It is made again only when those change, and
// not at all while the log takes nothing (the default discarding Logger).
func (s *session) logger() *slog.Logger {
	if !s.logs(slog.LevelError) {
		return s.env.log
	}
	if s.log == nil || s.logPeer != s.peer || s.logRemote != s.remote {
		l := s.env.log.With("ike", s.id, "remote", s.remote.String())
		if s.peer != nil {
			l = l.With("conn", s.peer.Name)
		}
		s.log, s.logPeer, s.logRemote = l, s.peer, s.remote
	}
	return s.log
}

// logs reports whether the log takes records of level: lines whose
// attributes cost formatting (proposals, selectors, identities) are built
// only then.
func (s *session) logs(level slog.Level) bool {
	return s.env.log.Enabled(context.Background(), level)
}

// ourSPI is the SPI the Manager indexes the session by.
func (s *session) ourSPI() uint64 {
	if s.initiator {
		return s.spii
	}
	return s.spir
}

func (s *session) header(ex wire.ExchangeType, response bool, id uint32) wire.Header {
	h := wire.Header{InitiatorSPI: s.spii, ResponderSPI: s.spir, Exchange: ex, MessageID: id, MajorVersion: 2}
	if s.initiator {
		h.Flags |= wire.FlagInitiator
	}
	if response {
		h.Flags |= wire.FlagResponse
	}
	return h
}

// seal encrypts a message, in fragments when it is too large and the peer
// supports them (RFC 7383).
func (s *session) seal(h wire.Header, ps []wire.Payload) ([][]byte, error) {
	b, err := wire.EncryptMessage(h, ps, s.send, s.env.rand)
	if err != nil {
		return nil, err
	}
	if !s.fragOK || len(b) <= s.env.fragmentSize {
		return [][]byte{b}, nil
	}
	return wire.Fragment(h, ps, s.send, s.env.rand, s.env.fragmentSize)
}

func (s *session) emit(e Event) {
	if s.peer != nil {
		e.Peer = s.peer.Name
	}
	e.SPIi, e.SPIr, e.Local, e.Remote = s.spii, s.spir, s.local, s.remote
	e.RemoteID = s.remoteID
	if e.VIPs == nil {
		e.VIPs = s.vips
	}
	if s.events == nil {
		s.events = make([]Event, 0, 4) // one allocation for the session's life
	}
	s.events = append(s.events, e)
}

func (s *session) sendPackets(ps [][]byte) {
	ep := esp.Endpoint{Local: s.local, Remote: s.remote}
	for _, p := range ps {
		s.out = append(s.out, datagram{data: p, ep: ep})
	}
}

// --- time ---

// nextDeadline is when handleTimeout must run next; zero when never.
func (s *session) nextDeadline() time.Time {
	if s.v1 != nil {
		return s.v1NextDeadline()
	}
	if s.state == StateClosed {
		return time.Time{}
	}
	var d time.Time
	min := func(t time.Time) {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	if s.pending != nil {
		min(s.pending.deadline)
	}
	if s.state == StateConnecting && !s.initiator {
		min(s.created.Add(s.env.halfOpenTime))
	}
	min(s.nextKeepalive)
	for _, l := range s.later {
		min(l.at)
	}
	if s.state == StateEstablished {
		for _, c := range s.children {
			if !c.rekeying && c.replacedBy == nil {
				min(c.rekeyAt)
			}
		}
	}
	if s.state == StateEstablished && !s.rekeyingIKE {
		min(s.nextRekey)
	}
	if s.state == StateEstablished && !s.reauthing && s.supersededAt.IsZero() {
		min(s.reauthAt)
	}
	if d := s.dpdDelay(); d > 0 && s.state == StateEstablished && !s.dpdQueued && s.supersededAt.IsZero() {
		min(s.lastHeard.Add(d))
	}
	if !s.supersededAt.IsZero() {
		min(s.supersededAt.Add(supersededLinger))
	}
	if s.reasm.Pending() > 0 {
		min(s.env.now().Add(time.Second))
	}
	return d
}

// handleTimeout retransmits, gives up, sends keepalives and expires
// fragments, as time requires.
func (s *session) handleTimeout(now time.Time) {
	if s.v1 != nil {
		s.v1Timeout(now)
		return
	}
	if s.state == StateClosed {
		return
	}
	s.reasm.Expire(now)
	if s.state == StateConnecting && !s.initiator && !now.Before(s.created.Add(s.env.halfOpenTime)) {
		s.close(fmt.Errorf("ike: not established within %v", s.env.halfOpenTime), false)
		return
	}
	if p := s.pending; p != nil && !now.Before(p.deadline) {
		wait, ok := s.env.retransmit.Wait(p.tries + 1)
		if !ok {
			s.logger().Info("giving up after retransmissions", "exchange", p.task.exchange().String(), "tries", p.tries+1)
			if s.collision != nil {
				// Our IKE rekey died, the peer's made a successor.
				s.adoptCollision()
				s.close(nil, false)
				return
			}
			s.fail(fmt.Errorf("ike: peer did not answer %v (message %d)", p.task.exchange(), p.id))
			return
		}
		p.tries++
		p.deadline = now.Add(wait)
		s.logger().Debug("retransmit", "exchange", p.task.exchange().String(), "message", p.id, "try", p.tries)
		s.sendPackets(p.packets)
	}
	if !s.supersededAt.IsZero() && !now.Before(s.supersededAt.Add(supersededLinger)) {
		s.close(nil, false)
		return
	}
	if len(s.later) > 0 {
		var due []deferred
		keep := s.later[:0]
		for _, l := range s.later {
			if now.Before(l.at) {
				keep = append(keep, l)
			} else {
				due = append(due, l)
			}
		}
		s.later = keep
		for _, l := range due {
			if s.state == StateEstablished {
				l.do(s)
			}
		}
	}
	if s.state == StateEstablished && s.supersededAt.IsZero() {
		var due []uint32
		for _, c := range s.children {
			if !c.rekeying && c.replacedBy == nil && !c.rekeyAt.IsZero() && !now.Before(c.rekeyAt) {
				due = append(due, c.inSPI)
			}
		}
		for _, spi := range due {
			s.rekeyChild(esp.InSA(spi))
		}
	}
	if d := s.dpdDelay(); d > 0 && s.state == StateEstablished && !s.dpdQueued && s.supersededAt.IsZero() &&
		!now.Before(s.lastHeard.Add(d)) {
		if n := s.inboundPackets(); n != s.inPackets {
			s.inPackets = n // ESP from the peer: it is alive
			s.lastHeard = now
		} else {
			s.dpdQueued = true
			s.queue(&dpdTask{})
		}
	}
	if s.state == StateEstablished && !s.reauthing && s.supersededAt.IsZero() && !s.reauthAt.IsZero() && !now.Before(s.reauthAt) {
		s.logger().Info("reauthenticating")
		s.reauthing, s.wantReauth = true, true
	}
	if s.state == StateEstablished && !s.rekeyingIKE && !s.nextRekey.IsZero() && !now.Before(s.nextRekey) {
		s.rekeyIKE()
	}
	if !s.nextKeepalive.IsZero() && !now.Before(s.nextKeepalive) {
		s.out = append(s.out, datagram{data: []byte{0xff}, ep: esp.Endpoint{Local: s.local, Remote: s.remote}, keepalive: true})
		s.nextKeepalive = now.Add(s.keepaliveInterval())
	}
}

func (s *session) keepaliveInterval() time.Duration {
	if s.peer == nil || s.peer.Keepalive == 0 {
		return 20 * time.Second
	}
	return s.peer.Keepalive
}

// --- our requests ---

// queue adds a task and starts it if nothing is outstanding.
func (s *session) queue(t v2Task) {
	s.tasks = append(s.tasks, t)
	s.startNext()
}

func (s *session) startNext() {
	for s.pending == nil && len(s.tasks) > 0 && s.state != StateClosed {
		t := s.tasks[0]
		s.tasks = s.tasks[1:]
		ps, err := t.build(s)
		if err != nil {
			s.logger().Warn("cannot build request", "exchange", t.exchange().String(), "err", err)
			if s.state == StateConnecting {
				s.close(err, false)
			}
			continue
		}
		if ps == nil {
			continue // nothing to do after all
		}
		packets, err := s.seal(s.header(t.exchange(), false, s.sendID), ps)
		if err != nil {
			s.close(err, false)
			return
		}
		s.sendRequest(t, s.sendID, packets)
	}
}

func (s *session) sendRequest(t v2Task, id uint32, packets [][]byte) {
	wait, _ := s.env.retransmit.Wait(0)
	s.pending = &outstanding{task: t, id: id, packets: packets, deadline: s.env.now().Add(wait)}
	s.sendPackets(packets)
}

// --- input ---

// handleMessage processes a message of this IKE SA that arrived on ep.
func (s *session) handleMessage(m *wire.Message, ep esp.Endpoint) {
	if s.state == StateClosed {
		return
	}
	if m.Header.IsResponse() {
		s.handleResponse(m, ep)
	} else {
		s.handleRequest(m, ep)
	}
	s.startNext()
}

// decrypt returns the inner payloads of an encrypted message, or nil
// without an error while fragments are missing.
func (s *session) decrypt(m *wire.Message) ([]wire.Payload, bool, error) {
	if _, ok := wire.Find[*wire.SKF](m.Payloads); ok {
		r, err := s.reasm.Add(m, s.recv, s.env.now())
		if err != nil || r == nil {
			return nil, false, err
		}
		ps, err := r.Payloads()
		return ps, err == nil, err
	}
	ps, err := wire.DecryptMessage(m, s.recv)
	return ps, err == nil, err
}

// authenticated notes a verified message from ep: the peer is alive, and
// behind a NAT its address may have changed (RFC 7296 §2.23).
func (s *session) authenticated(ep esp.Endpoint) {
	s.lastHeard = s.env.now()
	if (ep.Remote != s.remote || ep.Local != s.local) && s.encap {
		if s.state == StateEstablished {
			s.logger().Info("peer moved", "from", s.remote.String(), "to", ep.Remote.String())
		}
		s.remote = ep.Remote
		s.local = ep.Local
		s.updateChildEndpoints()
	}
}

func (s *session) handleResponse(m *wire.Message, ep esp.Endpoint) {
	p := s.pending
	if p == nil || m.Header.MessageID != p.id || m.Header.Exchange != p.task.exchange() {
		return // RFC 7296 §2.3: not a response to our outstanding request
	}
	if m.Header.Exchange == wire.ExchangeIKESAInit {
		s.handleSAInitResponse(m, ep)
		return
	}
	inner, done, err := s.decrypt(m)
	if err != nil {
		s.logger().Debug("dropped response", "err", err)
		return
	}
	if !done {
		return
	}
	s.authenticated(ep)
	s.pending = nil
	s.sendID++
	if err := p.task.process(s, inner); err != nil {
		s.logger().Info("exchange failed", "exchange", p.task.exchange().String(), "err", err)
	}
}

func (s *session) handleRequest(m *wire.Message, ep esp.Endpoint) {
	h := m.Header
	if h.IsInitiator() == s.initiator {
		return // a request must come from the other role
	}
	if s.lastResp != nil && h.MessageID == s.recvID-1 {
		// A retransmission: replay the response for an identical request
		// (the first fragment of a fragmented one).
		if f, ok := wire.Find[*wire.SKF](m.Payloads); ok && f.Number != 1 {
			return
		}
		if sha256.Sum256(m.Raw) == s.lastReqHash {
			s.logger().Debug("retransmitted request, replaying the response", "message", h.MessageID)
			for _, b := range s.lastResp {
				s.out = append(s.out, datagram{data: b, ep: ep})
			}
		}
		return
	}
	if h.MessageID != s.recvID {
		return // §2.3: outside the window
	}
	inner, done, err := s.decrypt(m)
	if err != nil {
		s.logger().Debug("dropped request", "exchange", h.Exchange.String(), "err", err)
		return
	}
	// Only a verified request (or first fragment) replaces the digest
	// that recognises retransmissions: a forged one must not stop the
	// replay of our last response.
	if f, ok := wire.Find[*wire.SKF](m.Payloads); !ok || f.Number == 1 {
		s.lastReqHash = sha256.Sum256(m.Raw)
	}
	if !done {
		return
	}
	s.authenticated(ep)
	var resp []wire.Payload
	switch h.Exchange {
	case wire.ExchangeIKEAuth:
		if s.initiator || s.state != StateConnecting || s.init == nil {
			resp = []wire.Payload{&wire.Notify{Kind: wire.NotifyInvalidSyntax}}
			break
		}
		resp = s.respondAuth(inner, ep)
	case wire.ExchangeCreateChildSA:
		if s.state != StateEstablished {
			resp = []wire.Payload{&wire.Notify{Kind: wire.NotifyTemporaryFailure}}
			break
		}
		resp = s.respondCreateChild(inner)
	case wire.ExchangeInformational:
		if s.state == StateConnecting {
			// Only after IKE_AUTH (an error notification about IKE_AUTH is
			// answered, and ends the attempt).
			resp = []wire.Payload{}
			err := errors.New("ike: peer sent INFORMATIONAL before the IKE SA was established")
			if s.eap != nil && s.eap.failed != nil {
				// It gave up after our MS-CHAPv2 Failure.
				err = fmt.Errorf("%w: EAP: %v", ErrAuthFailed, s.eap.failed)
			}
			s.close(err, false)
			break
		}
		resp = s.respondInformational(inner, ep)
	default:
		s.logger().Debug("ignored request of unknown exchange", "exchange", h.Exchange.String())
		return
	}
	if resp == nil {
		return
	}
	packets, err := s.seal(s.header(h.Exchange, true, h.MessageID), resp)
	if err != nil {
		s.logger().Warn("cannot build response", "err", err)
		return
	}
	s.recvID = h.MessageID + 1
	s.lastResp = packets
	for _, b := range packets {
		s.out = append(s.out, datagram{data: b, ep: ep})
	}
	if s.state == StateDeleting && s.pending == nil && s.supersededAt.IsZero() {
		s.close(nil, false)
	}
}

// --- IKE_SA_INIT as initiator ---

// startInitiator begins the IKE_SA_INIT of a new IKE SA to peer.
func (s *session) startInitiator() error {
	x, err := newSAInitInitiator(s.env.rand, s.peer.ikeProposals(), s.local, s.remote, s.peer.ForceEncap)
	if err != nil {
		return err
	}
	x.noFragmentation = s.peer.NoFragmentation
	s.saInit, s.spii = x, x.spii
	b, err := x.Request()
	if err != nil {
		return err
	}
	s.sendRequest(saInitTask{}, 0, [][]byte{b})
	return nil
}

// saInitTask marks the outstanding IKE_SA_INIT; the session handles its
// response itself (it is not encrypted and may be retried).
type saInitTask struct{}

func (saInitTask) exchange() wire.ExchangeType            { return wire.ExchangeIKESAInit }
func (saInitTask) build(*session) ([]wire.Payload, error) { return nil, nil }
func (saInitTask) process(*session, []wire.Payload) error { return nil }
func (s *session) handleSAInitResponse(m *wire.Message, ep esp.Endpoint) {
	res, retry, err := s.saInit.ProcessResponse(m)
	var redirect *RedirectError
	if errors.As(err, &redirect) {
		gw := netip.AddrPortFrom(redirect.Gateway, 500)
		if err := s.saInit.redirect(gw); err != nil {
			s.close(err, false)
			return
		}
		s.logger().Info("redirected", "to", gw.String())
		s.remote = gw
		s.local = netip.AddrPortFrom(s.local.Addr(), 500)
		retry, err = true, nil
	}
	if err != nil {
		s.close(err, false)
		return
	}
	if retry {
		s.logger().Info("retrying IKE_SA_INIT", "cookie", s.saInit.cookie != nil, "group", s.saInit.share.Group().String())
		b, err := s.saInit.Request()
		if err != nil {
			s.close(err, false)
			return
		}
		s.sendRequest(saInitTask{}, 0, [][]byte{b})
		return
	}
	s.pending = nil
	s.sendID = 1
	s.setKeys(res)
	s.saInit = nil
	if s.encap {
		// RFC 7296 §2.23: float to port 4500 for everything after
		// IKE_SA_INIT.
		s.local = netip.AddrPortFrom(s.local.Addr(), s.env.natt)
		if s.remote.Port() == 500 {
			s.remote = netip.AddrPortFrom(s.remote.Addr(), s.env.natt)
		}
	}
	s.queue(&authInitiatorTask{})
}

// setKeys takes the result of IKE_SA_INIT.
func (s *session) setKeys(res *saInitResult) {
	s.init = res
	s.spir = res.SPIr
	s.prop = res.Proposal
	s.keys = res.Keys
	s.nat = res.NAT
	s.encap = res.NAT.Any() || (s.peer != nil && s.peer.ForceEncap)
	s.fragOK = res.FragmentationSupported && (s.peer == nil || !s.peer.NoFragmentation)
	s.send, s.recv, _ = res.Keys.SKCiphers(res.Proposal, s.initiator)
	s.peerHashes = res.PeerHashes
	if s.logs(slog.LevelInfo) {
		s.logger().Info("IKE_SA_INIT done", "proposal", res.Proposal.String(), "nat_local", res.NAT.LocalBehindNAT,
			"nat_remote", res.NAT.RemoteBehindNAT)
	}
}

// --- closing ---

// close ends the IKE SA: its CHILD_SAs leave the dataplane, its virtual IPs
// go back to the pools. With notify, a delete is sent first (best effort,
// not retransmitted).
func (s *session) close(reason error, notify bool) {
	if s.state == StateClosed {
		return
	}
	if notify && s.v1 != nil {
		s.v1Close()
	}
	if notify && s.state == StateEstablished && s.send != nil {
		if packets, err := s.seal(s.header(wire.ExchangeInformational, false, s.sendID), []wire.Payload{&wire.Delete{Protocol: wire.ProtocolIKE}}); err == nil {
			s.sendPackets(packets)
			s.sendID++
		}
	}
	for _, c := range s.children {
		s.removeChild(c)
	}
	s.children = nil
	if len(s.vips) > 0 && s.leased {
		s.env.releaseVIPs(s.leaseKey(), s.vips)
	}
	wasUp := s.state != StateConnecting
	s.state = StateClosed
	s.pending = nil
	s.tasks = nil
	s.failure = reason
	if reason != nil {
		s.logger().Info("IKE SA closed", "err", reason, "established", wasUp)
	} else {
		s.logger().Info("IKE SA deleted")
	}
	s.emit(Event{Kind: EventIKEDown, Err: reason, Proposal: s.prop, Rekey: !s.supersededAt.IsZero()})
}

// deleteSA starts an INFORMATIONAL delete of the whole IKE SA.
func (s *session) deleteSA() {
	if s.v1 != nil {
		s.close(nil, true) // IKEv1 deletes are not acknowledged
		return
	}
	if s.state != StateEstablished {
		s.close(nil, false)
		return
	}
	s.state = StateDeleting
	s.tasks = append([]v2Task{&deleteIKETask{}}, s.tasks...)
	if s.pending != nil {
		// Our outstanding request is not going to matter.
		s.pending = nil
		s.sendID++
	}
	s.startNext()
}

// remoteAddrForTS returns the peer's address as a host selector ("dynamic").
func hostSelector(a netip.Addr) esp.Selector {
	a = a.Unmap()
	return esp.SelectorFromPrefix(netip.PrefixFrom(a, a.BitLen()))
}

// childEndpoints returns the outer endpoints of the ESP SAs: UDP ports
// with encapsulation, none (raw ESP) without.
func (s *session) childEndpoints() (local, remote netip.AddrPort) {
	if s.encap {
		return s.local, s.remote
	}
	return netip.AddrPortFrom(s.local.Addr(), 0), netip.AddrPortFrom(s.remote.Addr(), 0)
}

func (s *session) updateChildEndpoints() {
	l, r := s.childEndpoints()
	for _, c := range s.children {
		if err := s.env.dp.UpdateSA(c.outKey(), l, r); err != nil {
			s.logger().Warn("cannot move CHILD_SA", "spi", fmt.Sprintf("%08x", c.outSPI), "err", err)
		}
	}
}

// installChild puts a negotiated CHILD_SA into the dataplane: the policy,
// the inbound SA, then the outbound SA. weInitiated says whether we were
// the initiator of the exchange that created it (for the key order).
//
// A CHILD_SA that replaces old (a rekey) takes over old's policy, make
// before break: its inbound SA is installed next to old's; as rekey
// initiator its outbound SA replaces old's at once, as responder only when
// the initiator deletes old (RFC 7296 §2.8).
func (s *session) installChild(c *childSA, keys *ChildKeys, weInitiated bool, old *childSA) error {
	trap := uint32(0)
	if old == nil && s.peer != nil && s.env.trapFor != nil {
		trap = s.env.trapFor(s.peer.Name, c.cfg.Name)
	}
	if old != nil {
		c.policyID = old.policyID
	} else if trap != 0 {
		// The trap policy carries the CHILD_SA (and flushes the packets it
		// held); removing the CHILD_SA makes it a trap again.
		c.policyID = trap
	} else {
		c.policyID = s.env.policyID.Add(1)
		if err := s.env.dp.SetPolicy(esp.Policy{ID: c.policyID, Priority: 100, Action: esp.ActionProtect, Local: c.localTS, Remote: c.remoteTS}); err != nil {
			return err
		}
	}
	undoPolicy := func() {
		if old == nil && trap == 0 {
			s.env.dp.DeletePolicy(c.policyID)
		}
	}
	outP, inP := keys.SAParams(weInitiated)
	l, r := s.childEndpoints()
	inP.SPI, inP.Mode, inP.Local, inP.Remote = c.inSPI, c.mode, l, r
	inP.ReplayWindow = c.cfg.replayWindow()
	outP.SPI, outP.Mode, outP.Local, outP.Remote = c.outSPI, c.mode, l, r
	if c.mode == esp.ModeTransport && c.origRemote.IsValid() {
		inP.OrigLocal, inP.OrigRemote = c.origLocal, c.origRemote
	}
	if c.ipcompOut != 0 {
		outP.IPComp = &ipcomp.Compressor{CPI: c.ipcompOut, Level: flate.BestSpeed}
		inP.IPComp = &ipcomp.Compressor{CPI: c.ipcompIn, Level: flate.BestSpeed}
	}
	life := s.childLifetime(c.cfg)
	if _, err := s.env.dp.AddSA(esp.DirIn, inP, c.policyID, life); err != nil {
		undoPolicy()
		return err
	}
	if old != nil && !weInitiated {
		c.outPending = &outP
	} else if _, err := s.env.dp.AddSA(esp.DirOut, outP, c.policyID, life); err != nil {
		s.env.dp.DeleteSA(esp.InSA(c.inSPI))
		undoPolicy()
		return err
	}
	c.ownsPolicy = trap == 0
	if old != nil {
		c.ownsPolicy = old.ownsPolicy
		old.ownsPolicy = false
		old.replacedBy = c
		old.rekeying = false
	}
	s.noteChildren(c)
	c.installed = s.env.now()
	if life.SoftTime > 0 {
		c.rekeyAt = c.installed.Add(life.SoftTime)
	}
	s.children = append(s.children, c)
	if s.logs(slog.LevelInfo) {
		s.logger().Info("CHILD_SA installed", "child", c.cfg.Name, "proposal", c.proposal.String(),
			"in", fmt.Sprintf("%08x", c.inSPI), "out", fmt.Sprintf("%08x", c.outSPI),
			"local_ts", fmt.Sprint(c.localTS), "remote_ts", fmt.Sprint(c.remoteTS))
	}
	s.emit(Event{Kind: EventChildUp, Child: c.cfg.Name, InSPI: c.inSPI, OutSPI: c.outSPI, Policy: c.policyID, LocalTS: c.localTS,
		RemoteTS: c.remoteTS, Proposal: c.proposal, Rekey: old != nil})
	return nil
}

// noteChildren tells the Manager which IKE SA holds the CHILD_SAs cs.
func (s *session) noteChildren(cs ...*childSA) {
	if s.env.noteChild == nil {
		return
	}
	for _, c := range cs {
		s.env.noteChild(s.ourSPI(), esp.InSA(c.inSPI), c.outKey())
	}
}

// removeChild takes a CHILD_SA out of the dataplane.
func (s *session) removeChild(c *childSA) {
	s.env.dp.DeleteSA(c.outKey())
	if r, ok := s.env.dp.(saRetirer); ok && c.replacedBy != nil {
		// Rekeyed: what the peer sealed with it before it switched may
		// still be on its way, behind the delete exchange.
		r.RetireSA(esp.InSA(c.inSPI), rekeyedInboundDelay)
	} else {
		s.env.dp.DeleteSA(esp.InSA(c.inSPI))
	}
	if c.ownsPolicy {
		s.env.dp.DeletePolicy(c.policyID)
	}
	s.env.dp.ReleaseSPI(c.inSPI)
	if s.env.forgetChild != nil {
		s.env.forgetChild(esp.InSA(c.inSPI), c.outKey())
	}
	if s.logs(slog.LevelInfo) {
		s.logger().Info("CHILD_SA removed", "child", c.cfg.Name, "in", fmt.Sprintf("%08x", c.inSPI), "out", fmt.Sprintf("%08x", c.outSPI))
	}
	s.emit(Event{Kind: EventChildDown, Child: c.cfg.Name, InSPI: c.inSPI, OutSPI: c.outSPI, Policy: c.policyID, LocalTS: c.localTS,
		RemoteTS: c.remoteTS, Rekey: c.replacedBy != nil})
}

// deferred is an action for later.
type deferred struct {
	at time.Time
	do func(*session)
}

// retryLater runs do after a random 1 to 5 s (RFC 7296 §2.25: retry
// after a TEMPORARY_FAILURE, not at once, so that two peers that collide
// do not collide again).
func (s *session) retryLater(do func(*session)) {
	s.later = append(s.later, deferred{at: s.env.now().Add(s.retryDelay()), do: do})
}

// retryDelay is a random 1 to 5 s.
func (s *session) retryDelay() time.Duration {
	var b [2]byte
	s.env.rand.Read(b[:])
	return time.Second + time.Duration(binary.BigEndian.Uint16(b[:]))*4*time.Second/65536
}

// dpdDelay is the liveness check interval; 0 means none.
func (s *session) dpdDelay() time.Duration {
	if s.peer == nil {
		return 0
	}
	return s.peer.DPDDelay
}

// saRetirer is implemented by dataplanes that can remove an SA after a
// delay, such as *esp.Engine.
type saRetirer interface {
	RetireSA(k esp.SAKey, d time.Duration) bool
}

var _ saRetirer = (*esp.Engine)(nil)

// rekeyedInboundDelay is how long the inbound SA of a rekeyed CHILD_SA
// outlives its delete, for packets still in flight: strongSwan's
// delete_rekeyed_delay.
const rekeyedInboundDelay = 5 * time.Second

// saUsage is implemented by dataplanes that count packets per SA, such as
// *esp.Engine: ESP from the peer counts as life for liveness checks.
type saUsage interface {
	SA(k esp.SAKey) (*esp.SA, bool)
}

// inboundPackets returns the packets received on the CHILD_SAs so far.
func (s *session) inboundPackets() uint64 {
	u, ok := s.env.dp.(saUsage)
	if !ok {
		return 0
	}
	var n uint64
	for _, c := range s.children {
		if sa, ok := u.SA(esp.InSA(c.inSPI)); ok && sa != nil {
			p, _ := sa.Usage()
			n += p
		}
	}
	return n
}

// fail closes an IKE SA that failed; once it was established, the
// connection's DPD action follows (the Manager applies it).
func (s *session) fail(err error) {
	if s.state == StateEstablished && s.peer != nil {
		s.onFailure = s.peer.DPDAction
		s.failedOpen = true
		s.logger().Info("peer is dead", "action", s.peer.DPDAction.String())
	}
	s.close(err, false)
}

// supersededLinger is how long a rekeyed IKE SA waits for the peer's
// delete.
const supersededLinger = 30 * time.Second

// leaseKey is the identity the peer's virtual IPs are leased to: its EAP
// identity, or its IKE identity.
func (s *session) leaseKey() string {
	if s.v1 != nil && s.v1.user != "" {
		return "xauth:" + s.v1.user
	}
	if s.eapIdentity != "" {
		return "eap:" + s.eapIdentity
	}
	return s.remoteID.String()
}

// rekeyIKE queues a rekey of the IKE SA.
func (s *session) rekeyIKE() {
	if s.state != StateEstablished || s.rekeyingIKE {
		return
	}
	s.rekeyingIKE = true
	s.queue(&rekeyIKETask{})
}

// established marks the IKE SA up.
func (s *session) established() {
	s.state = StateEstablished
	s.up = s.env.now()
	s.nextRekey = s.ikeRekeyTime(s.up)
	if s.peer != nil && s.peer.ReauthTime > 0 && s.peer.RemoteHost.IsValid() {
		d := s.peer.ReauthTime
		var b [8]byte
		if _, err := s.env.rand.Read(b[:]); err == nil && d >= 10 {
			d -= time.Duration(binary.BigEndian.Uint64(b[:]) % uint64(d/10))
		}
		s.reauthAt = s.up.Add(d)
	}
	s.init.Request, s.init.Response = nil, nil // no longer needed
	if s.nat.LocalBehindNAT && s.keepaliveInterval() > 0 {
		s.nextKeepalive = s.up.Add(s.keepaliveInterval())
	}
	if s.logs(slog.LevelInfo) {
		s.logger().Info("IKE SA established", "id", s.remoteID.String(), "vips", fmt.Sprint(s.vips))
	}
	s.emit(Event{Kind: EventIKEUp, Proposal: s.prop})
}
