package ike

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike/wire"
)

// IKEv1 Aggressive Mode (RFC 2409 Section 5) as initiator, with a
// pre-shared key (PeerConfig.Aggressive): how clients of Cisco-style
// gateways start, their group name as our identity (keyid:GROUP):
//
//	HDR, SA, KE, Ni, IDii           -->
//	                                <--  HDR, SA, KE, Nr, IDir, HASH_R [, NAT-D, NAT-D]
//	HDR*, HASH_I [, NAT-D, NAT-D]   -->
//
// The key exchange goes with the first message, so every transform we
// offer has the same group: that of our first proposal. Message 3 is
// encrypted, as strongSwan sends it.

// v1InitiateAggressive sends Aggressive Mode message 1 with the transforms
// of offer that have its first transform's group.
func (s *session) v1InitiateAggressive(offer []wire.V1Transform) error {
	v := s.v1
	group := uint16(0)
	var one []wire.V1Transform
	for _, t := range offer {
		for _, a := range t.Attributes {
			if a.Type != wire.V1AttrGroup {
				continue
			}
			if group == 0 {
				group = a.Value
			}
			if a.Value == group {
				t.Number = uint8(len(one) + 1)
				one = append(one, t)
			}
		}
	}
	if group == 0 || !Group(group).Supported() {
		return errors.New("ike: no IKE proposal with a key exchange group for Aggressive Mode")
	}
	sa := &wire.V1SA{DOI: wire.V1DOIIPsec, Situation: 1, Proposals: []wire.V1Proposal{{Number: 1,
		Protocol: wire.V1ProtocolISAKMP, Transforms: one}}}
	v.saiB = sa.Body()
	v.group = Group(group)
	if err := s.v1InitiatorShare(); err != nil {
		return err
	}
	our := s.v1OurID()
	idi := &wire.V1ID{IDType: wire.V1IDType(our.Type), Data: our.Data}
	v.idii = idi.Body()
	ps := append([]wire.V1Payload{sa, &wire.V1KE{Data: v.gxi}, &wire.V1Nonce{Data: v.ni}, idi}, s.v1InitiatorVIDs()...)
	out := wire.V1Message{Header: s.v1Header(wire.V1ExchangeAggressive, 0, 0), Payloads: ps}
	b, err := out.Marshal()
	if err != nil {
		return err
	}
	v.phase = v1SentAggressive
	s.v1SendPhase1("Aggressive Mode", b)
	return nil
}

// v1AggressiveInitiator takes Aggressive Mode message 2: the chosen
// transform, the responder's key exchange and nonce, its identity and
// HASH_R; it answers with message 3 (kept for the responder's
// retransmissions of message 2, whose digest is digest) and goes on as
// after Main Mode.
func (s *session) v1AggressiveInitiator(m *wire.V1Message, ep esp.Endpoint, digest [32]byte) error {
	v := s.v1
	sa, ok := wire.FindV1[*wire.V1SA](m.Payloads)
	ke, okKE := wire.FindV1[*wire.V1KE](m.Payloads)
	nr, okN := wire.FindV1[*wire.V1Nonce](m.Payloads)
	if !ok || len(sa.Proposals) != 1 || len(sa.Proposals[0].Transforms) != 1 || !okKE || !okN ||
		len(nr.Data) < 8 || len(nr.Data) > 256 {
		if n, ok := wire.FindV1[*wire.V1Notify](m.Payloads); ok {
			return fmt.Errorf("ike: the peer answers %v", n.Kind)
		}
		return errors.New("ike: Aggressive Mode message 2 without one transform, KE or nonce")
	}
	group := v.group
	c, err := s.v1TakeChoice(m, sa)
	if err != nil {
		return err
	}
	if c.group != group {
		return fmt.Errorf("ike: the peer chose group %v, our key exchange is %v", c.group, group)
	}
	gxy, err := v.share.Shared(ke.Data)
	if err != nil {
		return err
	}
	v.gxr, v.nr = bytes.Clone(ke.Data), bytes.Clone(nr.Data)
	if err := s.v1DeriveKeys(gxy); err != nil {
		return err
	}
	remoteID, err := s.v1VerifyResponder(m.Payloads)
	if err != nil {
		return err
	}
	if v.natt {
		s.v1DetectNAT(m.Payloads, ep)
		s.v1Float()
	}
	ps := []wire.V1Payload{&wire.V1Hash{Data: v.keys.hashI(v.gxi, v.gxr, s.spii, s.spir, v.saiB, v.idii)}}
	if v.natt {
		// RFC 3947 Section 3.2: the peer's address as we send to it,
		// then ours.
		ps = append(ps, &wire.V1NATD{Hash: s.v1NATHash(s.remote)}, &wire.V1NATD{Hash: s.v1NATHash(s.local)})
	}
	b, err := s.v1SealPhase1(wire.V1ExchangeAggressive, ps)
	if err != nil {
		return err
	}
	v.share = nil
	s.v1Reply(digest, b)
	if s.logs(slog.LevelInfo) {
		s.logger().Info("IKEv1 Aggressive Mode", "proposal", s.prop.String(), "auth", c.auth.String(), "id", remoteID.String())
	}
	s.v1InitiatorDone(esp.Endpoint{Local: s.local, Remote: s.remote}, remoteID)
	return nil
}
