package ike

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike/wire"
	"github.com/ikego/ikego/pki"
)

// IKEv1 Aggressive Mode (RFC 2409 Section 5) as responder, with a
// pre-shared key chosen by the initiator's identity (a Cisco-style group
// name as ID_KEY_ID, usually):
//
//	HDR, SA, KE, Ni, IDii           -->
//	                                <--  HDR, SA, KE, Nr, IDir, HASH_R [, NAT-D, NAT-D]
//	HDR*, HASH_I [, NAT-D, NAT-D]   -->
//
// Message 2 carries a hash keyed by the PSK to whoever asks: an attacker
// can guess the PSK offline from it. PeerConfig.Aggressive must allow it.

// v1StartAggressive answers Aggressive Mode message 1 for a new responder
// session; candidates are the IKEv1 connections that accept the peer's
// address and Aggressive Mode, the first whose remote identity matches
// IDii is used.
func (s *session) v1StartAggressive(m *wire.V1Message, candidates []*PeerConfig, ep esp.Endpoint) ([]byte, error) {
	v := s.v1
	id, okID := wire.FindV1[*wire.V1ID](m.Payloads)
	_, okKE := wire.FindV1[*wire.V1KE](m.Payloads)
	ni, okN := wire.FindV1[*wire.V1Nonce](m.Payloads)
	if !okID || !okKE || !okN {
		return nil, errors.New("ike: Aggressive Mode message 1 without ID, KE or nonce")
	}
	if len(ni.Data) < 8 || len(ni.Data) > 256 {
		return nil, fmt.Errorf("ike: nonce of %d octets", len(ni.Data))
	}
	remoteID, err := pki.NewIdentity(pki.IDType(id.IDType), bytes.Clone(id.Data))
	if err != nil {
		return nil, fmt.Errorf("ike: peer identity: %w", err)
	}
	for _, p := range candidates {
		if p.Aggressive && p.Local.Method == AuthPSK && (p.Remote.ID.Type == 0 || remoteID.Matches(p.Remote.ID)) {
			s.peer = p
			break
		}
	}
	if s.peer == nil {
		return s.v1Refuse(wire.V1NotifyInvalidIDInformation), fmt.Errorf("ike: no connection takes Aggressive Mode from %s", remoteID)
	}
	s.remoteID = remoteID
	reply, err := s.v1Start(m)
	if err != nil {
		return reply, err
	}
	sa, _ := wire.ParseV1(reply)
	ps := sa.Payloads
	// Message 1's KE, nonce and NAT-D logic are Main Mode's message 3.
	keMsg := &wire.V1Message{Header: m.Header, Payloads: m.Payloads}
	out3, err := s.v1KeyExchange(keMsg, ep)
	if err != nil {
		return out3, err
	}
	m4, _ := wire.ParseV1(out3)
	v.idii = bytes.Clone(id.Body())
	proof, err := s.v1Proof(false)
	if err != nil {
		return nil, err
	}
	// SA and vendor IDs from the Main Mode answer, KE, Nr and NAT-D from
	// its message 4, then IDir and HASH_R (or CERT and SIG_R).
	var out []wire.V1Payload
	var natd []wire.V1Payload
	for _, p := range m4.Payloads {
		if _, ok := p.(*wire.V1NATD); ok {
			natd = append(natd, p)
		} else {
			out = append(out, p)
		}
	}
	out = append([]wire.V1Payload{ps[0]}, out...)
	out = append(out, proof...)
	out = append(out, ps[1:]...)
	out = append(out, natd...)
	v.phase = v1SentAggressive
	msg := wire.V1Message{Header: s.v1Header(wire.V1ExchangeAggressive, 0, 0), Payloads: out}
	if s.logs(slog.LevelInfo) {
		s.logger().Info("IKEv1 Aggressive Mode", "id", remoteID.String(), "proposal", s.prop.String(), "auth", v.auth.String())
	}
	return msg.Marshal()
}

// v1AggressiveFinish handles Aggressive Mode message 3 (HASH_I, NAT-D).
func (s *session) v1AggressiveFinish(m *wire.V1Message, ep esp.Endpoint) error {
	v := s.v1
	ps := m.Payloads
	next := v.iv
	if m.Header.Encrypted() {
		plain, n, err := v.keys.decrypt(v.iv, m.Encrypted)
		if err != nil {
			return err
		}
		if ps, err = wire.ParseV1Payloads(m.Header.NextPayload, plain); err != nil {
			return fmt.Errorf("ike: Aggressive Mode message 3 does not parse: %w", err)
		}
		next = n
	}
	hash, ok := wire.FindV1[*wire.V1Hash](ps)
	want := v.keys.hashI(v.gxi, v.gxr, s.spii, s.spir, v.saiB, v.idii)
	if !ok || subtle.ConstantTimeCompare(want, hash.Data) != 1 {
		return fmt.Errorf("%w: HASH_I does not verify", ErrAuthFailed)
	}
	v.iv = next
	if v.natt {
		s.v1DetectNAT(ps, ep)
	}
	s.authenticated(ep)
	for _, p := range ps {
		if n, ok := p.(*wire.V1Notify); ok && n.Kind == wire.V1NotifyInitialContact {
			s.initialContact = true
		}
	}
	v.phase = v1Authenticated
	v.expires = s.env.now().Add(v1Grace(v.life))
	v.share = nil
	s.logger().Info("IKEv1 Aggressive Mode authenticated", "id", s.remoteID.String())
	return nil
}
