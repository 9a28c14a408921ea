package ike

import (
	"bytes"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"time"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike/wire"
	"github.com/ikego/ikego/pki"
)

// IKEv1 as initiator, for net-to-net connections whose peer speaks only
// IKEv1: Main Mode with a PSK or RSA signatures, then one Quick Mode per
// CHILD_SA, one after the other (RFC 2409 Sections 5 and 5.5).

// v1Life is the ISAKMP SA lifetime we propose as initiator: the
// connection's reauthentication or rekey time, 4 h by default; we
// reauthenticate a tenth before it ends.
func (p *PeerConfig) v1Life() time.Duration {
	switch {
	case p.ReauthTime > 0:
		return p.ReauthTime
	case p.RekeyTime > 0:
		return p.RekeyTime
	}
	return 4 * time.Hour
}

// v1Phase1Offer turns our IKE proposals into Phase 1 transforms: one per
// combination of encryption, hash (from the PRF) and group, at most 32.
func (s *session) v1Phase1Offer() []wire.V1Transform {
	auth := s.peer.v1AuthMethod()
	life := uint64(s.peer.v1Life() / time.Second)
	var out []wire.V1Transform
	for _, p := range s.peer.ikeProposals() {
		for _, e := range p.Encr {
			encr, ok := v1EncrByID(wire.EncrID(e.ID))
			if !ok {
				continue // AEADs have no IKEv1 Phase 1 form
			}
			for _, f := range p.PRF {
				h, ok := v1HashByPRF(wire.PRFID(f.ID))
				if !ok {
					continue
				}
				for _, g := range p.KE {
					if len(out) == 32 {
						return out
					}
					attrs := []wire.V1Attribute{
						{Type: wire.V1AttrEncryption, TV: true, Value: uint16(encr)},
						{Type: wire.V1AttrHash, TV: true, Value: uint16(h.alg)},
						{Type: wire.V1AttrAuthMethod, TV: true, Value: uint16(auth)},
						{Type: wire.V1AttrGroup, TV: true, Value: g.ID},
						{Type: wire.V1AttrLifeType, TV: true, Value: uint16(wire.V1LifeSeconds)},
						wire.V1AttrUint(wire.V1AttrLifeDuration, life),
					}
					if encr == wire.V1EncrAESCBC {
						attrs = append(attrs, wire.V1Attribute{Type: wire.V1AttrKeyLength, TV: true, Value: e.KeyBits})
					}
					out = append(out, wire.V1Transform{Number: uint8(len(out) + 1), ID: 1, Attributes: attrs})
				}
			}
		}
	}
	return out
}

// v1Initiate sends Main Mode message 1, or Aggressive Mode's.
func (s *session) v1Initiate() error {
	v := s.v1
	offer := s.v1Phase1Offer()
	if len(offer) == 0 {
		return errors.New("ike: no IKE proposal has an IKEv1 form (AES-CBC or 3DES with an HMAC PRF)")
	}
	if s.peer.Aggressive {
		return s.v1InitiateAggressive(offer)
	}
	sa := &wire.V1SA{DOI: wire.V1DOIIPsec, Situation: 1, Proposals: []wire.V1Proposal{{Number: 1,
		Protocol: wire.V1ProtocolISAKMP, Transforms: offer}}}
	v.saiB = sa.Body()
	ps := append([]wire.V1Payload{sa}, s.v1InitiatorVIDs()...)
	out := wire.V1Message{Header: s.v1Header(wire.V1ExchangeIDProt, 0, 0), Payloads: ps}
	b, err := out.Marshal()
	if err != nil {
		return err
	}
	s.v1SendPhase1("Main Mode", b)
	return nil
}

// v1InitiatorVIDs are the vendor IDs of our first message: DPD, NAT-T,
// fragmentation and, with an XAuth account, XAuth.
func (s *session) v1InitiatorVIDs() []wire.V1Payload {
	ps := []wire.V1Payload{&wire.V1VendorID{Data: v1VIDDPD}, &wire.V1VendorID{Data: v1VIDNATT}}
	if !s.peer.NoFragmentation {
		ps = append(ps, &wire.V1VendorID{Data: append(bytes.Clone(v1VIDFragmentation), 0x80, 0, 0, 0)})
	}
	if s.peer.Local.XAuthUser != "" {
		ps = append(ps, &wire.V1VendorID{Data: v1VIDXAuth})
	}
	return ps
}

// v1SendPhase1 sends a Phase 1 message of ours and retransmits it until
// the next message of the exchange comes.
func (s *session) v1SendPhase1(kind string, b []byte) {
	wait, _ := s.env.retransmit.Wait(0)
	s.v1.pending = &v1Request{kind: kind, packets: [][]byte{b}, deadline: s.env.now().Add(wait)}
	s.v1Send(esp.Endpoint{Local: s.local, Remote: s.remote}, b)
}

// v1MainModeInitiator handles Main Mode messages 2, 4 and 6.
func (s *session) v1MainModeInitiator(m *wire.V1Message, ep esp.Endpoint, digest [32]byte) {
	v := s.v1
	var err error
	switch {
	case v.phase == v1SentSA && !m.Header.Encrypted():
		err = s.v1InitiatorSA(m)
	case v.phase == v1SentKE && !m.Header.Encrypted():
		err = s.v1InitiatorKE(m, ep)
	case v.phase == v1SentAuth && m.Header.Encrypted():
		err = s.v1InitiatorAuth(m, ep)
	case v.phase == v1SentAggressive && m.Header.Exchange == wire.V1ExchangeAggressive && !m.Header.Encrypted():
		err = s.v1AggressiveInitiator(m, ep, digest)
	default:
		return // a retransmission, or out of order
	}
	if err != nil {
		s.logger().Info("IKEv1 Main Mode failed", "err", err)
		s.fail(err)
	}
}

// v1InitiatorSA takes the responder's choice (message 2) and sends our
// key exchange (message 3).
func (s *session) v1InitiatorSA(m *wire.V1Message) error {
	v := s.v1
	sa, ok := wire.FindV1[*wire.V1SA](m.Payloads)
	if !ok || len(sa.Proposals) != 1 || len(sa.Proposals[0].Transforms) != 1 {
		if n, ok := wire.FindV1[*wire.V1Notify](m.Payloads); ok {
			return fmt.Errorf("ike: the peer answers %v", n.Kind)
		}
		return errors.New("ike: Main Mode message 2 without one transform")
	}
	c, err := s.v1TakeChoice(m, sa)
	if err != nil {
		return err
	}
	if err := s.v1InitiatorShare(); err != nil {
		return err
	}
	ps := []wire.V1Payload{&wire.V1KE{Data: v.gxi}, &wire.V1Nonce{Data: v.ni}}
	if v.natt {
		remote := s.v1NATHash(s.remote)
		if s.peer.ForceEncap {
			remote = make([]byte, len(remote))
			if _, err := s.env.rand.Read(remote); err != nil {
				return err
			}
		}
		ps = append(ps, &wire.V1NATD{Hash: remote}, &wire.V1NATD{Hash: s.v1NATHash(s.local)})
	}
	out := wire.V1Message{Header: s.v1Header(wire.V1ExchangeIDProt, 0, 0), Payloads: ps}
	b, err := out.Marshal()
	if err != nil {
		return err
	}
	v.phase = v1SentKE
	s.v1SendPhase1("Main Mode key exchange", b)
	if s.logs(slog.LevelInfo) {
		s.logger().Info("IKEv1 Main Mode", "proposal", s.prop.String(), "auth", c.auth.String())
	}
	return nil
}

// v1InitiatorShare makes our key exchange in the chosen group and our
// nonce.
func (s *session) v1InitiatorShare() error {
	v := s.v1
	var err error
	if v.share, err = NewKeyShare(v.group, s.env.rand); err != nil {
		return err
	}
	v.gxi = v.share.Public()
	v.ni = make([]byte, 32)
	_, err = s.env.rand.Read(v.ni)
	return err
}

// v1TakeChoice takes the responder's choice among our Phase 1 transforms
// (its SA payload sa) and its vendor IDs.
func (s *session) v1TakeChoice(m *wire.V1Message, sa *wire.V1SA) (v1Phase1Choice, error) {
	v := s.v1
	c, err := v1Phase1Transform(sa.Proposals[0].Transforms[0])
	if err != nil {
		return c, err
	}
	sel, ok := Select(s.peer.ikeProposals(), []Proposal{c.proposal}, true)
	if !ok || c.auth != s.peer.v1AuthMethod() {
		return c, fmt.Errorf("ike: the peer chose %v with %v, which we did not offer", c.proposal, c.auth)
	}
	s.spir = m.Header.ResponderCookie
	v.hash, v.cipher, v.group, v.auth, v.life = c.hash, c.cipher, c.group, c.auth, c.life
	s.prop = sel
	for _, p := range m.Payloads {
		if vid, ok := p.(*wire.V1VendorID); ok {
			v.natt = v.natt || bytes.Equal(vid.Data, v1VIDNATT)
			v.dpd = v.dpd || bytes.Equal(vid.Data, v1VIDDPD)
			v.fragPeer = v.fragPeer || isV1FragmentVID(vid.Data)
		}
	}
	return c, nil
}

// v1InitiatorKE takes the responder's key exchange (message 4) and sends
// our identity and authentication (message 5), from port 4500 when NAT-T
// is on.
func (s *session) v1InitiatorKE(m *wire.V1Message, ep esp.Endpoint) error {
	v := s.v1
	ke, okKE := wire.FindV1[*wire.V1KE](m.Payloads)
	nr, okN := wire.FindV1[*wire.V1Nonce](m.Payloads)
	if !okKE || !okN || len(nr.Data) < 8 || len(nr.Data) > 256 {
		return errors.New("ike: Main Mode message 4 without KE or nonce")
	}
	gxy, err := v.share.Shared(ke.Data)
	if err != nil {
		return err
	}
	v.gxr, v.nr = bytes.Clone(ke.Data), bytes.Clone(nr.Data)
	if err := s.v1DeriveKeys(gxy); err != nil {
		return err
	}
	if v.natt {
		s.v1DetectNAT(m.Payloads, ep)
		s.v1Float()
	}
	ps, err := s.v1Proof(true)
	if err != nil {
		return err
	}
	if s.env.established == nil || s.env.established(s.peer.Name) == 0 {
		// We have no other SA with the peer (a reauthentication does):
		// it may forget what it still has with us.
		ps = append(ps, &wire.V1Notify{DOI: wire.V1DOIIPsec, Protocol: wire.V1ProtocolISAKMP, SPI: s.v1Cookies(),
			Kind: wire.V1NotifyInitialContact})
	}
	b, err := s.v1SealPhase1(wire.V1ExchangeIDProt, ps)
	if err != nil {
		return err
	}
	v.phase = v1SentAuth
	s.v1SendPhase1("Main Mode authentication", b)
	return nil
}

// v1Float moves to port 4500 when NAT-T is on (RFC 3947 Section 4: both
// sides move once NAT is detected).
func (s *session) v1Float() {
	if s.encap {
		s.local = netip.AddrPortFrom(s.local.Addr(), s.env.natt)
		s.remote = netip.AddrPortFrom(s.remote.Addr(), esp.NATTPort)
	}
}

// v1InitiatorAuth checks the responder's identity and authentication
// (message 6); the SA is up and the Quick Modes start.
func (s *session) v1InitiatorAuth(m *wire.V1Message, ep esp.Endpoint) error {
	v := s.v1
	plain, next, err := v.keys.decrypt(v.iv, m.Encrypted)
	if err != nil {
		return err
	}
	ps, err := wire.ParseV1Payloads(m.Header.NextPayload, plain)
	if err != nil {
		return fmt.Errorf("%w: Main Mode message 6 does not parse (a PSK mismatch?): %v", ErrAuthFailed, err)
	}
	remoteID, err := s.v1VerifyResponder(ps)
	if err != nil {
		return err
	}
	v.iv = next
	s.v1InitiatorDone(ep, remoteID)
	return nil
}

// v1VerifyResponder checks the responder's ID and its HASH_R or SIG_R
// (with its certificate) among ps, and returns its identity.
func (s *session) v1VerifyResponder(ps []wire.V1Payload) (pki.Identity, error) {
	v := s.v1
	id, ok := wire.FindV1[*wire.V1ID](ps)
	if !ok {
		return pki.Identity{}, errors.New("ike: the responder's authentication without ID")
	}
	remoteID, err := pki.NewIdentity(pki.IDType(id.IDType), bytes.Clone(id.Data))
	if err != nil {
		return remoteID, fmt.Errorf("ike: peer identity: %w", err)
	}
	want := v.keys.hashR(v.gxi, v.gxr, s.spii, s.spir, v.saiB, id.Body())
	if s.peer.Remote.Method == AuthPubKey {
		if err := s.v1VerifySignature(ps, remoteID, want); err != nil {
			return remoteID, err
		}
	} else if hash, ok := wire.FindV1[*wire.V1Hash](ps); !ok || subtle.ConstantTimeCompare(want, hash.Data) != 1 {
		return remoteID, fmt.Errorf("%w: HASH_R does not verify (a PSK mismatch?)", ErrAuthFailed)
	}
	if s.peer.Remote.ID.Type != 0 && !remoteID.Matches(s.peer.Remote.ID) {
		return remoteID, fmt.Errorf("%w: peer identity %s does not match %s", ErrAuthFailed, remoteID, s.peer.Remote.ID)
	}
	return remoteID, nil
}

// v1InitiatorDone goes on after Phase 1 authenticated the responder:
// reauthentication and lifetime timers, then XAuth, Mode Config and the
// Quick Modes as the connection wants.
func (s *session) v1InitiatorDone(ep esp.Endpoint, remoteID pki.Identity) {
	v := s.v1
	v.pending = nil
	s.authenticated(ep)
	s.remoteID = remoteID
	v.phase = v1Authenticated
	v.share = nil
	if d := s.peer.v1Life(); d > 0 {
		var b [8]byte
		if _, err := s.env.rand.Read(b[:]); err == nil && d >= 10 {
			d -= time.Duration(binary.BigEndian.Uint64(b[:]) % uint64(d/10))
		}
		s.reauthAt = s.env.now().Add(d - d/10)
	}
	v.expires = s.env.now().Add(v1Grace(v.life))
	s.v1ClientAfterMainMode()
}

// v1QuickOut is a Quick Mode we started, waiting for message 2.
type v1QuickOut struct {
	cfg      *ChildConfig
	old      *childSA // the CHILD_SA it rekeys
	inSPI    uint32
	ni       []byte
	share    *KeyShare
	offered  []Proposal
	tsi, tsr esp.Selector
	ids      [2]*wire.V1ID
	mode     esp.Mode
}

// v1SelectorID is the Quick Mode identity of a selector (RFC 2407 Section
// 4.6.2): an address, a subnet or a range, with its protocol and port.
func v1SelectorID(sel esp.Selector) *wire.V1ID {
	id := &wire.V1ID{Protocol: sel.Proto}
	if sel.StartPort == sel.EndPort {
		id.Port = sel.StartPort
	}
	v4 := sel.Start.Is4()
	switch ps := sel.Prefixes(); {
	case len(ps) == 1 && ps[0].IsSingleIP():
		id.IDType, id.Data = wire.V1IDIPv6Addr, ps[0].Addr().AsSlice()
		if v4 {
			id.IDType = wire.V1IDIPv4Addr
		}
	case len(ps) == 1:
		bits := ps[0].Addr().BitLen()
		mask := make([]byte, bits/8)
		for i := range ps[0].Bits() {
			mask[i/8] |= 0x80 >> (i % 8)
		}
		id.IDType, id.Data = wire.V1IDIPv6AddrSubnet, append(ps[0].Addr().AsSlice(), mask...)
		if v4 {
			id.IDType = wire.V1IDIPv4AddrSubnet
		}
	default:
		id.IDType, id.Data = wire.V1IDIPv6AddrRange, append(sel.Start.AsSlice(), sel.End.AsSlice()...)
		if v4 {
			id.IDType = wire.V1IDIPv4AddrRange
		}
	}
	return id
}

// v1ESPOffer turns a child's ESP proposals into Quick Mode transforms.
func (s *session) v1ESPOffer(cfg *ChildConfig, pfs Group) ([]wire.V1Transform, []Proposal) {
	life := s.childLifetime(cfg).HardTime
	if life <= 0 {
		life = 8 * time.Hour
	}
	encap := wire.V1EncapTunnel
	switch {
	case cfg.Mode == esp.ModeTransport && s.encap:
		encap = wire.V1EncapUDPTransport
	case cfg.Mode == esp.ModeTransport:
		encap = wire.V1EncapTransport
	case s.encap:
		encap = wire.V1EncapUDPTunnel
	}
	var out []wire.V1Transform
	var props []Proposal
	for _, p := range cfg.espProposals() {
		for _, e := range p.Encr {
			switch wire.EncrID(e.ID) {
			case wire.EncrAESCBC, wire.Encr3DES, wire.EncrAESGCM8, wire.EncrAESGCM12, wire.EncrAESGCM16:
			default:
				continue
			}
			integs := p.Integ
			if isAEAD(e) {
				integs = []Transform{{}}
			}
			for _, in := range integs {
				var auth wire.V1IPsecAuthAlg
				if in.ID != 0 {
					a, ok := v1AuthByInteg(wire.IntegID(in.ID))
					if !ok {
						continue
					}
					auth = a
				}
				if len(out) == 32 {
					return out, props
				}
				attrs := []wire.V1Attribute{
					{Type: wire.V1IPsecAttrLifeType, TV: true, Value: uint16(wire.V1LifeSeconds)},
					wire.V1AttrUint(wire.V1IPsecAttrLifeDuration, uint64(life/time.Second)),
					{Type: wire.V1IPsecAttrEncapMode, TV: true, Value: uint16(encap)},
				}
				if auth != 0 {
					attrs = append(attrs, wire.V1Attribute{Type: wire.V1IPsecAttrAuthAlg, TV: true, Value: uint16(auth)})
				}
				if e.KeyBits != 0 {
					attrs = append(attrs, wire.V1Attribute{Type: wire.V1IPsecAttrKeyLength, TV: true, Value: e.KeyBits})
				}
				if pfs != 0 {
					attrs = append(attrs, wire.V1Attribute{Type: wire.V1IPsecAttrGroup, TV: true, Value: uint16(pfs)})
				}
				out = append(out, wire.V1Transform{Number: uint8(len(out) + 1), ID: uint8(e.ID), Attributes: attrs})
			}
		}
		props = append(props, p)
	}
	return out, props
}

// v1NextQuick starts the Quick Mode of the next CHILD_SA to negotiate, if
// no request of ours is out.
func (s *session) v1NextQuick() {
	v := s.v1
	for v.pending == nil && len(v.toRekey) > 0 && s.state == StateEstablished {
		old := v.toRekey[0]
		v.toRekey = v.toRekey[1:]
		if !slices.Contains(s.children, old) || old.replacedBy != nil {
			continue
		}
		if err := s.v1StartQuick(old.cfg, old); err != nil {
			old.rekeying = false
			s.logger().Warn("cannot rekey the CHILD_SA", "child", old.cfg.Name, "err", err)
		}
	}
	for v.pending == nil && len(v.toStart) > 0 && s.state == StateEstablished {
		cfg := v.toStart[0]
		v.toStart = v.toStart[1:]
		if err := s.v1StartQuick(cfg, nil); err != nil {
			s.logger().Warn("cannot start Quick Mode", "child", cfg.Name, "err", err)
		}
	}
}

// v1StartQuick sends Quick Mode message 1 for cfg (replacing old when it
// is set: a rekey).
func (s *session) v1StartQuick(cfg *ChildConfig, old *childSA) error {
	v := s.v1
	q := &v1QuickOut{cfg: cfg, old: old, mode: cfg.Mode, ni: make([]byte, 32)}
	if _, err := s.env.rand.Read(q.ni); err != nil {
		return err
	}
	var pfs Group
	for _, p := range cfg.espProposals() {
		if g := p.Group(); g != 0 {
			pfs = g
			break
		}
	}
	transforms, offered := s.v1ESPOffer(cfg, pfs)
	if len(transforms) == 0 {
		return errors.New("ike: no ESP proposal has an IKEv1 form")
	}
	q.offered = offered
	q.tsi, q.tsr = hostSelector(s.local.Addr()), hostSelector(s.remote.Addr())
	for _, vip := range s.vips {
		if len(cfg.RemoteTS) == 0 || vip.Is4() == cfg.RemoteTS[0].Start.Is4() {
			q.tsi = hostSelector(vip) // from the virtual IP the gateway gave
			break
		}
	}
	if old != nil {
		q.tsi, q.tsr = old.localTS[0], old.remoteTS[0]
	} else {
		if len(cfg.LocalTS) > 0 {
			q.tsi = cfg.LocalTS[0]
		}
		if len(cfg.RemoteTS) > 0 {
			q.tsr = cfg.RemoteTS[0]
		}
	}
	in, err := s.env.dp.AllocSPI()
	if err != nil {
		return err
	}
	q.inSPI = in
	ps := []wire.V1Payload{
		&wire.V1SA{DOI: wire.V1DOIIPsec, Situation: 1, Proposals: []wire.V1Proposal{{Number: 1, Protocol: wire.V1ProtocolESP,
			SPI: binary.BigEndian.AppendUint32(nil, in), Transforms: transforms}}},
		&wire.V1Nonce{Data: q.ni},
	}
	if pfs != 0 {
		if q.share, err = NewKeyShare(pfs, s.env.rand); err != nil {
			s.env.dp.ReleaseSPI(in)
			return err
		}
		ps = append(ps, &wire.V1KE{Data: q.share.Public()})
	}
	q.ids = [2]*wire.V1ID{v1SelectorID(q.tsi), v1SelectorID(q.tsr)}
	ps = append(ps, q.ids[0], q.ids[1])
	id, err := s.v1NewMsgID()
	if err != nil {
		s.env.dp.ReleaseSPI(in)
		return err
	}
	b, err := s.v1Seal(wire.V1ExchangeQuickMode, id, ps, nil)
	if err != nil {
		s.env.dp.ReleaseSPI(in)
		return err
	}
	if v.quickOut == nil {
		v.quickOut = map[uint32]*v1QuickOut{}
	}
	v.quickOut[id] = q
	wait, _ := s.env.retransmit.Wait(0)
	v.pending = &v1Request{kind: "Quick Mode", msgID: id, packets: [][]byte{b}, deadline: s.env.now().Add(wait)}
	s.v1Send(esp.Endpoint{Local: s.local, Remote: s.remote}, b)
	return nil
}

// v1QuickAnswered handles Quick Mode message 2 of ours: it checks the
// choice, sends HASH(3) and installs the CHILD_SA.
func (s *session) v1QuickAnswered(msgID uint32, q *v1QuickOut, ps []wire.V1Payload) {
	v := s.v1
	delete(v.quickOut, msgID)
	if v.pending != nil && v.pending.msgID == msgID {
		v.pending = nil
	}
	defer s.v1NextQuick()
	fail := func(err error) {
		s.logger().Info("Quick Mode failed", "child", q.cfg.Name, "err", err)
		s.env.dp.ReleaseSPI(q.inSPI)
		delete(v.ivs, msgID)
		if q.old != nil {
			q.old.rekeying = false
		}
	}
	sa, okSA := wire.FindV1[*wire.V1SA](ps)
	nr, okN := wire.FindV1[*wire.V1Nonce](ps)
	if !okSA || !okN || len(sa.Proposals) != 1 || len(sa.Proposals[0].Transforms) != 1 || len(sa.Proposals[0].SPI) != 4 ||
		len(nr.Data) < 8 || len(nr.Data) > 256 {
		fail(errors.New("ike: Quick Mode message 2 without one transform, SPI or nonce"))
		return
	}
	o, err := v1ESPTransform(sa.Proposals[0].SPI, sa.Proposals[0].Transforms[0])
	if err != nil {
		fail(err)
		return
	}
	sel, ok := Select(q.offered, []Proposal{o.proposal}, true)
	if !ok || !v1ModeFits(q.mode, o.encap) || (o.proposal.Group() != 0) != (q.share != nil) {
		fail(fmt.Errorf("the peer chose %v, which we did not offer", o.proposal))
		return
	}
	var gqm []byte
	if q.share != nil {
		ke, ok := wire.FindV1[*wire.V1KE](ps)
		if !ok {
			fail(errors.New("ike: Quick Mode message 2 without KE"))
			return
		}
		if gqm, err = q.share.Shared(ke.Data); err != nil {
			fail(err)
			return
		}
	}
	b, err := s.v1Seal(wire.V1ExchangeQuickMode, msgID, nil, func([]byte) []byte {
		return v.keys.hash3(msgID, q.ni, nr.Data)
	})
	delete(v.ivs, msgID)
	if err != nil {
		fail(err)
		return
	}
	s.v1Send(esp.Endpoint{Local: s.local, Remote: s.remote}, b)
	c := &childSA{cfg: q.cfg, inSPI: q.inSPI, outSPI: binary.BigEndian.Uint32(o.spi), proposal: sel,
		localTS: []esp.Selector{q.tsi}, remoteTS: []esp.Selector{q.tsr}, mode: q.mode}
	s.v1InstallQuick(&v1Quick{child: c, old: q.old, ni: q.ni, nr: bytes.Clone(nr.Data), gqm: gqm})
	if q.old != nil && slices.Contains(s.children, c) {
		// Our rekey: the peer has the new SAs now; the old ones go.
		s.v1Inform(&wire.V1Delete{DOI: wire.V1DOIIPsec, Protocol: wire.V1ProtocolESP,
			SPIs: [][]byte{binary.BigEndian.AppendUint32(nil, q.old.inSPI)}})
		s.dropChild(q.old)
	}
}
