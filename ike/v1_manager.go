package ike

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike/wire"
)

// The Manager's IKEv1 entry points: IKEv1 SAs are sessions indexed by our
// (responder) cookie like IKEv2 SAs by our SPI, with the same half-open
// limits.

// isV1 reports whether a datagram of at least an ISAKMP header's length
// is IKEv1 (major version 1).
func isV1(pkt []byte) bool { return len(pkt) >= wire.V1HeaderLen && pkt[17]>>4 == 1 }

// handleV1Datagram is HandleDatagram for IKEv1: a first Main Mode message
// from a peer some IKEv1 connection accepts takes the normal queue, a
// message of an SA we have the priority queue; the rest is dropped.
func (m *Manager) handleV1Datagram(pkt []byte, ep esp.Endpoint) {
	q := m.queue
	if binary.BigEndian.Uint64(pkt[8:]) == 0 {
		ex := wire.V1Exchange(pkt[18])
		if ex != wire.V1ExchangeIDProt && ex != wire.V1ExchangeAggressive || wire.V1Flags(pkt[19])&wire.V1FlagEncryption != 0 {
			return
		}
		if !m.acceptsV1(ep) {
			m.stats.refused.Add(1)
			return
		}
	} else {
		spi := binary.BigEndian.Uint64(pkt[8:])
		m.mu.Lock()
		_, known := m.bySPI[spi]
		if !known {
			spi = binary.BigEndian.Uint64(pkt) // an SA we initiated
			_, known = m.bySPI[spi]
		}
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

// acceptsV1 reports whether an IKEv1 connection takes SAs between ep's
// addresses, and returns the first.
func (m *Manager) acceptsV1(ep esp.Endpoint) bool { return m.v1Candidate(ep) != nil }

func (m *Manager) v1Candidate(ep esp.Endpoint) *PeerConfig {
	for _, p := range *m.peers.Load() {
		if p.speaks(1) && p.matchesAddrs(ep.Local.Addr(), ep.Remote.Addr()) {
			return p
		}
	}
	return nil
}

// receiveV1 handles one IKEv1 datagram.
func (m *Manager) receiveV1(data []byte, ep esp.Endpoint) {
	msg, err := wire.ParseV1(data)
	if err != nil {
		m.log.Debug("malformed IKEv1 message", "remote", ep.Remote.String(), "err", err)
		return
	}
	h := msg.Header
	if h.ResponderCookie == 0 {
		m.receiveV1Start(msg, ep)
		return
	}
	// Our cookie is the responder's, or the initiator's of the SAs we
	// started.
	m.mu.Lock()
	b := m.bySPI[h.ResponderCookie]
	if b == nil {
		b = m.bySPI[h.InitiatorCookie]
	}
	m.mu.Unlock()
	if b == nil {
		return
	}
	m.with(b, func(s *session) {
		if s.v1 == nil || s.spii != h.InitiatorCookie || s.initiator && s.spir != 0 && s.spir != h.ResponderCookie {
			return
		}
		s.handleV1(msg, ep)
	})
}

// receiveV1Start answers the first Main Mode message: a new responder
// session within the half-open limits, or the same answer again for a
// retransmission.
func (m *Manager) receiveV1Start(msg *wire.V1Message, ep esp.Endpoint) {
	key := initKey{msg.Header.InitiatorCookie, ep.Remote}
	hash := sha256.Sum256(msg.Raw)
	src := ep.Remote.Addr()
	m.mu.Lock()
	b, dup := m.byInit[key]
	fromSrc := m.halfOpenFrom[src]
	// IKEv1 has no stateless cookie: its half-open SAs have a share of
	// the limit of their own, so that a Main Mode flood cannot crowd out
	// IKEv2 clients (whose IKE_SA_INIT cookies keep working).
	limited := m.halfOpenV1 >= v1HalfOpenLimit(m.cfg.HalfOpenLimit) || fromSrc >= m.cfg.HalfOpenPerSource
	if !dup && !limited {
		b = &box{initKey: key, reqHash: hash, counted: true, v1: true}
		m.byInit[key] = b
		m.halfOpenV1++
		m.halfOpenFrom[src]++
	}
	m.mu.Unlock()
	if dup {
		b.mu.Lock()
		if hash == b.reqHash && b.resp != nil {
			m.send([]datagram{{data: b.resp, ep: ep}})
		}
		b.mu.Unlock()
		return
	}
	if limited {
		m.stats.limited.Add(1)
		m.log.Debug("half-open limit reached, IKEv1 Main Mode dropped", "remote", ep.Remote.String(), "from_source", fromSrc)
		return
	}
	var resp []byte
	var s *session
	defer func() {
		if s == nil {
			m.mu.Lock()
			delete(m.byInit, key)
			m.halfOpenV1--
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
	cand := m.v1Candidate(ep)
	if cand == nil {
		m.log.Info("IKEv1 Main Mode from a peer no IKEv1 connection accepts", "remote", ep.Remote.String())
		return
	}
	aggressive := msg.Header.Exchange == wire.V1ExchangeAggressive
	if aggressive {
		cand = nil // chosen by the peer's identity
	}
	ns := m.newSession(false, cand)
	ns.local, ns.remote = ep.Local, ep.Remote
	ns.spii = msg.Header.InitiatorCookie
	var c [8]byte
	for ns.spir == 0 {
		if _, err := m.cfg.Rand.Read(c[:]); err != nil {
			return
		}
		ns.spir = binary.BigEndian.Uint64(c[:])
	}
	ns.v1 = &v1State{ivs: map[uint32][]byte{}, replies: map[[32]byte][][]byte{}, quick: map[uint32]*v1Quick{}}
	var out []byte
	var err error
	var cands []*PeerConfig
	for _, p := range *m.peers.Load() {
		if p.speaks(1) && p.matchesAddrs(ep.Local.Addr(), ep.Remote.Addr()) {
			cands = append(cands, p)
		}
	}
	if aggressive {
		out, err = ns.v1StartAggressive(msg, cands, ep)
	} else {
		ns.peer = v1MainModeCandidate(msg, cands)
		out, err = ns.v1Start(msg)
	}
	if err != nil {
		ns.logger().Info("IKEv1 Main Mode refused", "err", err)
		resp = out
		return
	}
	resp = out
	b.mu.Lock()
	b.s, b.resp = ns, resp
	b.mu.Unlock()
	m.mu.Lock()
	if _, taken := m.bySPI[ns.spir]; taken {
		m.mu.Unlock()
		resp = nil
		return
	}
	m.bySPI[ns.spir] = b
	m.mu.Unlock()
	s = ns
}

// v1Adopt moves the CHILD_SAs of the IKEv1 SA that the new one in keep
// replaces into it. IKEv1 has no IKE SA rekey: a client reauthenticates
// with a new Main Mode (and XAuth) from the same address and identity, and
// keeps using its CHILD_SAs, which move to the new ISAKMP SA (strongSwan:
// "detected reauth of existing IKE_SA, adopting children"); the old
// ISAKMP SA is then deleted by the client, or expires, without them.
func (m *Manager) v1Adopt(keep *box) {
	keep.mu.Lock()
	s := keep.s
	peer, id, client, host := s.peer, s.remoteID, s.clientKey(), s.remote.Addr()
	keep.mu.Unlock()
	for _, b := range m.boxes() {
		if b == keep {
			continue
		}
		var moved []*childSA
		m.with(b, func(o *session) {
			if o.v1 == nil || o.peer != peer || o.state != StateEstablished || !o.remoteID.Equal(id) ||
				o.clientKey() != client || o.remote.Addr() != host || len(o.children) == 0 {
				return
			}
			moved, o.children = o.children, nil
			o.logger().Info("reauthenticated: CHILD_SAs move to the new IKEv1 SA", "children", len(moved))
		})
		m.v1Take(keep, moved)
	}
}

// v1Take adds the CHILD_SAs moved from another IKEv1 SA to the one in
// keep; the Quick Modes it was to start for their connections are not
// needed any more.
func (m *Manager) v1Take(keep *box, moved []*childSA) {
	if len(moved) == 0 {
		return
	}
	m.with(keep, func(n *session) {
		if n.state != StateEstablished {
			// Gone meanwhile: the CHILD_SAs go too.
			for _, c := range moved {
				n.removeChild(c)
			}
			return
		}
		n.children = append(n.children, moved...)
		n.noteChildren(moved...)
		n.v1.toStart = slices.DeleteFunc(n.v1.toStart, func(cfg *ChildConfig) bool {
			return slices.ContainsFunc(moved, func(c *childSA) bool { return c.cfg == cfg })
		})
	})
}

// v1StartInitiator sets an IKEv1 session up as initiator and sends Main
// Mode message 1.
func (s *session) v1StartInitiator() error {
	s.v1 = &v1State{ivs: map[uint32][]byte{}, replies: map[[32]byte][][]byte{}, quick: map[uint32]*v1Quick{}}
	var c [8]byte
	for s.spii == 0 {
		if _, err := s.env.rand.Read(c[:]); err != nil {
			return err
		}
		s.spii = binary.BigEndian.Uint64(c[:])
	}
	return s.v1Initiate()
}

// v1MainModeCandidate picks the connection for a Main Mode request among
// those that take the peer's address: the first that accepts one of the
// offered transforms with its authentication method (so that a PSK, a
// certificate and a hybrid connection can serve the same clients), else
// the first, which refuses it.
func v1MainModeCandidate(m *wire.V1Message, cands []*PeerConfig) *PeerConfig {
	sa, ok := wire.FindV1[*wire.V1SA](m.Payloads)
	if ok && len(sa.Proposals) == 1 {
		for _, p := range cands {
			for _, t := range sa.Proposals[0].Transforms {
				c, err := v1Phase1Transform(t)
				if err != nil || c.auth != p.v1AuthMethod() {
					continue
				}
				if _, ok := Select(p.ikeProposals(), []Proposal{c.proposal}, false); ok {
					return p
				}
			}
		}
	}
	return cands[0]
}

// v1OrphanDeletes applies the peer's ESP deletes that arrived on the IKEv1
// SA in from but name CHILD_SAs it no longer holds: they moved to another
// IKEv1 SA of the same client (v1Adopt).
func (m *Manager) v1OrphanDeletes(from *box, spis []uint32) {
	from.mu.Lock()
	peer, client, id := from.s.peer, from.s.clientKey(), from.s.remoteID
	from.mu.Unlock()
	for _, b := range m.boxes() {
		if b == from {
			continue
		}
		m.with(b, func(s *session) {
			if s.v1 == nil || s.peer != peer || s.clientKey() != client || !s.remoteID.Equal(id) {
				return
			}
			for _, spi := range spis {
				for _, c := range s.children {
					if c.outSPI == spi {
						s.logger().Info("peer deletes a CHILD_SA (through its older IKEv1 SA)", "child", c.cfg.Name,
							"out", fmt.Sprintf("%08x", spi))
						s.dropChild(c)
						break
					}
				}
			}
		})
	}
}

// v1HalfOpenLimit is the IKEv1 share of the half-open limit: a quarter.
func v1HalfOpenLimit(limit int) int { return max(limit/4, 1) }
