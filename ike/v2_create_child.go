package ike

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike/wire"
)

// The CREATE_CHILD_SA exchange for additional CHILD_SAs (RFC 7296 §1.3.1),
// with an optional key exchange for perfect forward secrecy:
//
//	HDR, SK { SA, Ni, [KEi], TSi, TSr } -->
//	<-- HDR, SK { SA, Nr, [KEr], TSi, TSr }
//
// A request with N(REKEY_SA) makes the replacement of an existing
// CHILD_SA (§1.3.3); the old one stays until its delete. A request with an
// IKE proposal rekeys the IKE SA (v2_rekey_ike.go).

// respondCreateChild answers a CREATE_CHILD_SA request.
func (s *session) respondCreateChild(inner []wire.Payload) []wire.Payload {
	refuse := func(n wire.NotifyType, data []byte, why string) []wire.Payload {
		s.logger().Info("CREATE_CHILD_SA refused", "notify", n.String(), "reason", why)
		return []wire.Payload{&wire.Notify{Kind: n, Data: data}}
	}
	if err := wire.CheckRules(wire.ExchangeCreateChildSA, false, true, inner); err != nil {
		return refuse(wire.NotifyInvalidSyntax, nil, err.Error())
	}
	sa, _ := wire.Find[*wire.SA](inner)
	ni, okN := wire.Find[*wire.Nonce](inner)
	if sa == nil || !okN {
		return refuse(wire.NotifyInvalidSyntax, nil, "no SA or nonce")
	}
	if !s.supersededAt.IsZero() || s.state != StateEstablished {
		// §2.25: an IKE SA we are closing (or that a rekey replaced).
		return refuse(wire.NotifyTemporaryFailure, nil, "the IKE SA is going away")
	}
	for _, p := range sa.Proposals {
		if p.Protocol == wire.ProtocolIKE {
			if s.childExchangeInFlight() {
				// §2.25.2: not while one of our CHILD_SA exchanges runs.
				return refuse(wire.NotifyTemporaryFailure, nil, "a CHILD_SA exchange is in progress")
			}
			return s.respondRekeyIKE(inner, sa, ni.Data)
		}
	}
	if s.ikeRekeyInFlight() {
		return refuse(wire.NotifyTemporaryFailure, nil, "the IKE SA is being rekeyed")
	}
	req, ok := parseChildPayloads(inner)
	if !ok {
		return refuse(wire.NotifyInvalidSyntax, nil, "no TSi or TSr")
	}
	var old *childSA
	if n, ok := wire.FindNotify(inner, wire.NotifyRekeySA); ok {
		if len(n.SPI) == 4 {
			old = s.childByOutSPI(binary.BigEndian.Uint32(n.SPI))
		}
		if old == nil {
			return refuse(wire.NotifyChildSANotFound, nil, fmt.Sprintf("rekey of unknown CHILD_SA %x", n.SPI))
		}
		if old.replacedBy != nil {
			// §2.25.1: we are closing it (our rekey of it is done).
			return refuse(wire.NotifyTemporaryFailure, nil, fmt.Sprintf("CHILD_SA %x is being deleted", n.SPI))
		}
		if old.rekeying && !s.rekeyInFlight(old) {
			// Our rekey of it has not left yet: theirs does the job.
			s.dropQueuedRekey(old)
		}
	}
	nc, err := s.respondChild(req, true, old)
	if err != nil {
		var ne *NotifyError
		if errors.As(err, &ne) {
			return refuse(ne.Notify, nil, ne.Reason)
		}
		return refuse(wire.NotifyNoProposalChosen, nil, err.Error())
	}
	nr := make([]byte, 32)
	if _, err := s.env.rand.Read(nr); err != nil {
		s.env.dp.ReleaseSPI(nc.child.inSPI)
		return refuse(wire.NotifyTemporaryFailure, nil, err.Error())
	}
	var shared []byte
	var ker *wire.KE
	if g := nc.child.proposal.Group(); g != 0 {
		ke, ok := wire.Find[*wire.KE](inner)
		if !ok || Group(ke.Group) != g {
			s.env.dp.ReleaseSPI(nc.child.inSPI)
			var d [2]byte
			binary.BigEndian.PutUint16(d[:], uint16(g))
			return refuse(wire.NotifyInvalidKEPayload, d[:], "PFS needs group "+g.String())
		}
		share, err := NewKeyShare(g, s.env.rand)
		if err == nil {
			shared, err = share.Shared(ke.Data)
		}
		if err != nil {
			s.env.dp.ReleaseSPI(nc.child.inSPI)
			return refuse(wire.NotifyInvalidSyntax, nil, err.Error())
		}
		ker = &wire.KE{Group: wire.DHGroup(g), Data: share.Public()}
	}
	keys, err := s.keys.ChildKeys(nc.child.proposal, shared, ni.Data, nr)
	if err == nil {
		nc.child.nonces = [2][]byte{append([]byte(nil), ni.Data...), nr}
		err = s.installNegotiated(nc, keys, false)
	}
	if err != nil {
		return refuse(wire.NotifyNoProposalChosen, nil, err.Error())
	}
	out := []wire.Payload{SAPayload([]Proposal{nc.ours}), &wire.Nonce{Data: nr}}
	if ker != nil {
		out = append(out, ker)
	}
	ps := nc.responsePayloads()
	return append(out, ps[1:]...)
}

// childByOutSPI finds a CHILD_SA by the peer's SPI.
func (s *session) childByOutSPI(spi uint32) *childSA {
	for _, c := range s.children {
		if c.outSPI == spi {
			return c
		}
	}
	return nil
}

// createChildTask creates an additional CHILD_SA as initiator.
type createChildTask struct {
	cfg   *ChildConfig
	offer *childOffer
	ni    []byte
	share *KeyShare
}

func (*createChildTask) exchange() wire.ExchangeType { return wire.ExchangeCreateChildSA }

func (t *createChildTask) build(s *session) ([]wire.Payload, error) {
	if s.state != StateEstablished {
		return nil, nil
	}
	o, cps, err := s.offerChild(t.cfg, false, true, nil)
	if err != nil {
		return nil, err
	}
	t.offer = o
	t.ni = make([]byte, 32)
	if _, err := s.env.rand.Read(t.ni); err != nil {
		return nil, err
	}
	out := []wire.Payload{cps[0], &wire.Nonce{Data: t.ni}}
	if g := o.proposals[0].Group(); g != 0 {
		if t.share, err = NewKeyShare(g, s.env.rand); err != nil {
			return nil, err
		}
		out = append(out, &wire.KE{Group: wire.DHGroup(g), Data: t.share.Public()})
	}
	return append(out, cps[1:]...), nil
}

func (t *createChildTask) process(s *session, inner []wire.Payload) error {
	err := s.acceptChild(t.offer, inner, func(p Proposal) (*ChildKeys, error) {
		nr, ok := wire.Find[*wire.Nonce](inner)
		if !ok {
			return nil, errors.New("ike: CREATE_CHILD_SA response without a nonce")
		}
		var shared []byte
		if g := p.Group(); g != 0 {
			ke, ok := wire.Find[*wire.KE](inner)
			if !ok || t.share == nil || Group(ke.Group) != t.share.Group() {
				return nil, errors.New("ike: CREATE_CHILD_SA response without the key exchange of the proposal")
			}
			var err error
			if shared, err = t.share.Shared(ke.Data); err != nil {
				return nil, err
			}
		}
		return s.keys.ChildKeys(p, shared, t.ni, nr.Data)
	})
	if err != nil {
		s.logger().Info("CHILD_SA failed", "child", t.cfg.Name, "err", err)
	}
	return err
}

// childLifetime is the lifetime of a CHILD_SA's SAs: the configured one,
// or strongSwan's defaults (rekey after 1 h, gone after 1 h 6 min); the
// soft limit comes earlier by a random part of the gap to the hard one,
// so that the two ends do not rekey at the same moment.
func (s *session) childLifetime(c *ChildConfig) esp.Lifetime {
	l := c.Lifetime
	if l.SoftTime == 0 && l.HardTime == 0 {
		l.SoftTime, l.HardTime = time.Hour, time.Hour+6*time.Minute
	}
	if l.HardTime > l.SoftTime && l.SoftTime > 0 {
		var b [8]byte
		if _, err := s.env.rand.Read(b[:]); err == nil {
			l.SoftTime -= time.Duration(binary.BigEndian.Uint64(b[:]) % uint64(l.HardTime-l.SoftTime))
		}
	}
	return l
}

// rekeyChild starts the rekey of the CHILD_SA whose inbound or outbound SA
// is k (its soft lifetime expired); it reports whether there was one.
func (s *session) rekeyChild(k esp.SAKey) bool {
	for _, c := range s.children {
		if !c.is(k) {
			continue
		}
		if c.rekeying || c.replacedBy != nil || s.state != StateEstablished {
			return true
		}
		if s.v1 != nil {
			if s.initiator { // IKEv1: the initiator of the IKE SA rekeys
				c.rekeying = true
				s.v1.toRekey = append(s.v1.toRekey, c)
				s.v1NextQuick()
			}
			return true
		}
		c.rekeying = true
		s.queue(&rekeyChildTask{old: c})
		return true
	}
	return false
}

// expireChild handles the hard expiry of an SA of a CHILD_SA: the
// dataplane removed it, the CHILD_SA goes and the peer is told.
func (s *session) expireChild(k esp.SAKey) bool {
	for _, c := range s.children {
		if !c.is(k) {
			continue
		}
		if s.v1 != nil {
			s.v1ExpireChild(c)
			return true
		}
		s.logger().Info("CHILD_SA expired", "child", c.cfg.Name, "in", fmt.Sprintf("%08x", c.inSPI))
		s.queue(&deleteChildTask{inSPI: c.inSPI})
		return true
	}
	return false
}

// rekeyChildTask replaces a CHILD_SA with a new one (RFC 7296 §1.3.3):
// CREATE_CHILD_SA with N(REKEY_SA), then the delete of the old one.
type rekeyChildTask struct {
	old   *childSA
	offer *childOffer
	ni    []byte
	share *KeyShare
}

func (*rekeyChildTask) exchange() wire.ExchangeType { return wire.ExchangeCreateChildSA }

func (t *rekeyChildTask) build(s *session) ([]wire.Payload, error) {
	if s.state != StateEstablished || !slices.Contains(s.children, t.old) || t.old.replacedBy != nil {
		return nil, nil
	}
	o, cps, err := s.offerChild(t.old.cfg, false, true, t.old)
	if err != nil {
		return nil, err
	}
	t.offer = o
	t.ni = make([]byte, 32)
	if _, err := s.env.rand.Read(t.ni); err != nil {
		return nil, err
	}
	out := []wire.Payload{cps[0], &wire.Nonce{Data: t.ni}}
	if g := o.proposals[0].Group(); g != 0 {
		if t.share, err = NewKeyShare(g, s.env.rand); err != nil {
			return nil, err
		}
		out = append(out, &wire.KE{Group: wire.DHGroup(g), Data: t.share.Public()})
	}
	s.logger().Info("rekeying CHILD_SA", "child", t.old.cfg.Name, "in", fmt.Sprintf("%08x", t.old.inSPI))
	return append(out, cps[1:]...), nil
}

func (t *rekeyChildTask) process(s *session, inner []wire.Payload) error {
	old := t.old
	if !slices.Contains(s.children, old) {
		// §2.25.1: the peer deleted the CHILD_SA meanwhile; what our
		// request made on its side is redundant.
		t.old.rekeying = false
		if r, ok := parseChildPayloads(inner); ok && r.sa != nil {
			s.queue(&deleteSPIsTask{spis: []uint32{t.offer.inSPI}})
		} else {
			s.env.dp.ReleaseSPI(t.offer.inSPI)
		}
		return nil
	}
	if n, ok := wire.FindNotify(inner, wire.NotifyTemporaryFailure); ok && n != nil {
		// §2.25: try again a little later.
		old.rekeying = false
		s.env.dp.ReleaseSPI(t.offer.inSPI)
		old.rekeyAt = s.env.now().Add(s.retryDelay())
		return &NotifyError{wire.NotifyTemporaryFailure, "CHILD_SA rekey postponed by the peer"}
	}
	theirs := old.replacedBy // the peer's simultaneous rekey, answered by us
	c := &createChildTask{cfg: old.cfg, offer: t.offer, ni: t.ni, share: t.share}
	if err := c.process(s, inner); err != nil {
		old.rekeying = false
		return err
	}
	ours := old.replacedBy
	if nr, ok := wire.Find[*wire.Nonce](inner); ok {
		ours.nonces = [2][]byte{t.ni, append([]byte(nil), nr.Data...)}
	}
	if theirs == nil || theirs == ours {
		// The old CHILD_SA's inbound SA lives until the peer answers our
		// delete.
		s.queue(&deleteChildTask{inSPI: old.inSPI})
		return nil
	}
	// §2.8.1: both ends rekeyed at once. The CHILD_SA made by the exchange
	// with the lowest of the four nonces is redundant; the end that
	// initiated that exchange deletes it, the other deletes the old one.
	if lowestNonce(ours.nonces, theirs.nonces) {
		s.logger().Info("CHILD_SA rekey collision lost", "child", old.cfg.Name, "redundant", fmt.Sprintf("%08x", ours.inSPI))
		old.replacedBy = theirs
		ours.ownsPolicy, theirs.ownsPolicy = false, true
		ours.replacedBy = theirs
		if theirs.outPending != nil {
			if _, err := s.env.dp.AddSA(esp.DirOut, *theirs.outPending, theirs.policyID, s.childLifetime(theirs.cfg)); err != nil {
				s.logger().Warn("cannot install the outbound SA of the new CHILD_SA", "err", err)
			}
			theirs.outPending = nil
		}
		s.queue(&deleteChildTask{inSPI: ours.inSPI})
		return nil
	}
	s.logger().Info("CHILD_SA rekey collision won", "child", old.cfg.Name, "redundant", fmt.Sprintf("%08x", theirs.inSPI))
	ours.ownsPolicy, theirs.ownsPolicy = true, false
	theirs.replacedBy = ours // the peer deletes it; it never sends
	s.queue(&deleteChildTask{inSPI: old.inSPI})
	return nil
}

// lowestNonce reports whether the lowest of the four nonces is one of a's
// (RFC 7296 §2.8.1, §2.8.2: compared as octet strings).
func lowestNonce(a, b [2][]byte) bool {
	min := func(x [2][]byte) []byte {
		if bytes.Compare(x[0], x[1]) <= 0 {
			return x[0]
		}
		return x[1]
	}
	return bytes.Compare(min(a), min(b)) < 0
}

// rekeyInFlight reports whether our rekey of c has been sent.
func (s *session) rekeyInFlight(c *childSA) bool {
	if s.pending == nil {
		return false
	}
	t, ok := s.pending.task.(*rekeyChildTask)
	return ok && t.old == c
}

// dropQueuedRekey removes our queued (unsent) rekey of c.
func (s *session) dropQueuedRekey(c *childSA) {
	s.tasks = slices.DeleteFunc(s.tasks, func(t v2Task) bool {
		r, ok := t.(*rekeyChildTask)
		return ok && r.old == c
	})
	c.rekeying = false
}

// childExchangeInFlight reports whether one of our CREATE_CHILD_SA
// exchanges for a CHILD_SA is outstanding.
func (s *session) childExchangeInFlight() bool {
	if s.pending == nil {
		return false
	}
	switch s.pending.task.(type) {
	case *rekeyChildTask, *createChildTask:
		return true
	}
	return false
}

// ikeRekeyInFlight reports whether our IKE rekey is outstanding.
func (s *session) ikeRekeyInFlight() bool {
	if s.pending == nil {
		return false
	}
	_, ok := s.pending.task.(*rekeyIKETask)
	return ok
}

// deleteSPIsTask deletes CHILD_SAs by our inbound SPIs that have no state
// here (redundant results of a collision).
type deleteSPIsTask struct{ spis []uint32 }

func (*deleteSPIsTask) exchange() wire.ExchangeType { return wire.ExchangeInformational }

func (t *deleteSPIsTask) build(*session) ([]wire.Payload, error) {
	return []wire.Payload{&wire.Delete{Protocol: wire.ProtocolESP, SPIs: t.spis}}, nil
}

func (t *deleteSPIsTask) process(s *session, _ []wire.Payload) error {
	for _, spi := range t.spis {
		s.env.dp.ReleaseSPI(spi)
	}
	return nil
}
