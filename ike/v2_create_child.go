package ike

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/ikego/ikego/ike/wire"
)

// The CREATE_CHILD_SA exchange for additional CHILD_SAs (RFC 7296 §1.3.1),
// with an optional key exchange for perfect forward secrecy:
//
//	HDR, SK { SA, Ni, [KEi], TSi, TSr } -->
//	<-- HDR, SK { SA, Nr, [KEr], TSi, TSr }
//
// A request with N(REKEY_SA) makes the replacement of an existing
// CHILD_SA (§1.3.3); the old one stays until its delete. Rekeying the IKE
// SA (§1.3.2) is refused until it is implemented.

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
			return refuse(wire.NotifyNoProposalChosen, nil, "IKE SA rekeying is not implemented yet")
		}
	}
	req, ok := parseChildPayloads(inner)
	if !ok {
		return refuse(wire.NotifyInvalidSyntax, nil, "no TSi or TSr")
	}
	if n, ok := wire.FindNotify(inner, wire.NotifyRekeySA); ok && len(n.SPI) == 4 {
		old := s.childByOutSPI(binary.BigEndian.Uint32(n.SPI))
		if old == nil {
			return refuse(wire.NotifyChildSANotFound, nil, fmt.Sprintf("rekey of unknown CHILD_SA %x", n.SPI))
		}
	}
	nc, err := s.respondChild(req, true)
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
	o, cps, err := s.offerChild(t.cfg, false, true)
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
