package ike

import (
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
	for _, p := range sa.Proposals {
		if p.Protocol == wire.ProtocolIKE {
			return s.respondRekeyIKE(inner, sa, ni.Data)
		}
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
		if old == nil || old.replacedBy != nil {
			return refuse(wire.NotifyChildSANotFound, nil, fmt.Sprintf("rekey of unknown CHILD_SA %x", n.SPI))
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

// rekeyChild starts the rekey of the CHILD_SA with inbound or outbound SPI
// spi (its soft lifetime expired); it reports whether there was one.
func (s *session) rekeyChild(spi uint32) bool {
	for _, c := range s.children {
		if c.inSPI != spi && c.outSPI != spi {
			continue
		}
		if c.rekeying || c.replacedBy != nil || s.state != StateEstablished {
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
func (s *session) expireChild(spi uint32) bool {
	for _, c := range s.children {
		if c.inSPI != spi && c.outSPI != spi {
			continue
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
	c := &createChildTask{cfg: t.old.cfg, offer: t.offer, ni: t.ni, share: t.share}
	if err := c.process(s, inner); err != nil {
		t.old.rekeying = false
		return err
	}
	// The old CHILD_SA's inbound SA lives until the peer answers our
	// delete.
	s.queue(&deleteChildTask{inSPI: t.old.inSPI})
	return nil
}
