package ike

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike/wire"
)

// Quick Mode (RFC 2409 Section 5.5) as responder:
//
//	HDR*, HASH(1), SA, Ni [, KE] [, IDci, IDcr] -->
//	                  <--  HDR*, HASH(2), SA, Nr [, KE] [, IDci, IDcr]
//	HDR*, HASH(3)                               -->
//
// The CHILD_SA is installed when HASH(3) arrives. IKEv1 has one selector
// pair per Quick Mode, which the responder takes as it is or refuses. A
// Quick Mode for the selectors of a CHILD_SA we have is the initiator's
// rekey: the new SA takes over the policy (and our outbound traffic), the
// old one stays until the peer deletes it or it expires.

// v1Quick is a Quick Mode waiting for HASH(3).
type v1Quick struct {
	child  *childSA
	old    *childSA
	ni, nr []byte
	gqm    []byte // the PFS shared secret, nil without
}

// v1ESPOffer is one ESP transform of a Quick Mode SA payload.
type v1ESPOffer struct {
	proposalNumber uint8
	spi            []byte
	transform      wire.V1Transform
	proposal       Proposal
	encap          wire.V1EncapMode
}

// v1ESPTransform reads an ESP transform into the form of an IKEv2
// proposal, for selection against the configured ones.
func v1ESPTransform(spi []byte, t wire.V1Transform) (v1ESPOffer, error) {
	o := v1ESPOffer{spi: spi, transform: t, encap: wire.V1EncapTunnel}
	p := Proposal{Protocol: wire.ProtocolESP, SPI: spi}
	var keyBits uint64
	var auth wire.V1IPsecAuthAlg
	var group uint64
	for _, a := range t.Attributes {
		v, ok := a.Uint64()
		if !ok {
			return o, fmt.Errorf("ike: attribute %s too long", a.Type.IPsecString())
		}
		switch a.Type {
		case wire.V1IPsecAttrKeyLength:
			keyBits = v
		case wire.V1IPsecAttrAuthAlg:
			auth = wire.V1IPsecAuthAlg(v)
		case wire.V1IPsecAttrGroup:
			group = v
		case wire.V1IPsecAttrEncapMode:
			o.encap = wire.V1EncapMode(v)
		case wire.V1IPsecAttrLifeType, wire.V1IPsecAttrLifeDuration:
		default:
			return o, fmt.Errorf("ike: unsupported IPsec attribute %s", a.Type.IPsecString())
		}
	}
	encr := wire.EncrID(t.ID)
	switch wire.V1ESPTransformID(t.ID) {
	case wire.V1ESPAESCBC, wire.V1ESPAESGCM8, wire.V1ESPAESGCM12, wire.V1ESPAESGCM16:
		if keyBits != 128 && keyBits != 192 && keyBits != 256 {
			return o, fmt.Errorf("ike: %v with a key of %d bits", wire.V1ESPTransformID(t.ID), keyBits)
		}
	case wire.V1ESP3DES:
		keyBits = 0
	default:
		return o, fmt.Errorf("ike: unsupported ESP transform %v", wire.V1ESPTransformID(t.ID))
	}
	p.add(Transform{Type: wire.TransformEncr, ID: uint16(encr), KeyBits: uint16(keyBits)})
	aead := encr == wire.EncrAESGCM8 || encr == wire.EncrAESGCM12 || encr == wire.EncrAESGCM16
	integ, ok := v1IntegByAuth(auth)
	switch {
	case auth == 0 && !aead:
		return o, errors.New("ike: ESP transform without authentication")
	case auth != 0 && !ok:
		return o, fmt.Errorf("ike: unsupported ESP authentication %v", auth)
	}
	if aead && auth != 0 {
		return o, errors.New("ike: AES-GCM with an authentication algorithm")
	}
	if !aead {
		p.add(Transform{Type: wire.TransformInteg, ID: uint16(integ)})
	}
	if group != 0 {
		if !Group(group).Supported() {
			return o, fmt.Errorf("ike: unsupported PFS group %d", group)
		}
		p.add(Transform{Type: wire.TransformKE, ID: uint16(group)})
	}
	p.add(Transform{Type: wire.TransformESN, ID: uint16(wire.ESNNo)})
	o.proposal = p
	return o, nil
}

// v1IDSelector converts a Quick Mode identity (RFC 2407 Section 4.6.2) to
// a selector.
func v1IDSelector(id *wire.V1ID) (esp.Selector, error) {
	var sel esp.Selector
	d := id.Data
	addr := func(b []byte) netip.Addr { a, _ := netip.AddrFromSlice(b); return a }
	switch id.IDType {
	case wire.V1IDIPv4Addr, wire.V1IDIPv6Addr:
		a := addr(d)
		sel = esp.SelectorFromPrefix(netip.PrefixFrom(a, a.BitLen()))
	case wire.V1IDIPv4AddrSubnet, wire.V1IDIPv6AddrSubnet:
		n := len(d) / 2
		a, mask := addr(d[:n]), d[n:]
		bits := 0
		for _, m := range mask {
			for i := 7; i >= 0 && m&(1<<i) != 0; i-- {
				bits++
			}
			if m != 0xff {
				break
			}
		}
		sel = esp.SelectorFromPrefix(netip.PrefixFrom(a, bits))
	case wire.V1IDIPv4AddrRange, wire.V1IDIPv6AddrRange:
		n := len(d) / 2
		sel = esp.SelectorFromPrefix(netip.PrefixFrom(addr(d[:n]), n*8))
		sel.End = addr(d[n:])
		if sel.End.Less(sel.Start) {
			return sel, errors.New("ike: empty address range")
		}
	default:
		return sel, fmt.Errorf("ike: Quick Mode identity of type %v", id.IDType)
	}
	if !sel.Start.IsValid() {
		return sel, errors.New("ike: bad Quick Mode identity")
	}
	sel.Proto = id.Protocol
	if id.Port != 0 {
		sel.StartPort, sel.EndPort = id.Port, id.Port
	}
	return sel, nil
}

// v1QuickMode handles Quick Mode messages 1 and 3.
func (s *session) v1QuickMode(msgID uint32, ps []wire.V1Payload, digest [32]byte) {
	v := s.v1
	if s.state != StateEstablished {
		s.logger().Info("Quick Mode before XAuth finished: ignored")
		return
	}
	// v1CheckHash verified HASH(1), or HASH(3) of a Quick Mode we answered,
	// or HASH(2) of one we started.
	if q, ok := v.quickOut[msgID]; ok {
		s.v1QuickAnswered(msgID, q, ps)
		return
	}
	if q, ok := v.quick[msgID]; ok {
		delete(v.quick, msgID)
		delete(v.ivs, msgID)
		s.v1CommitQuick(q)
		return
	}
	reply, q, err := s.v1QuickRespond(msgID, ps)
	if err != nil {
		s.logger().Info("Quick Mode refused", "err", err)
		delete(v.ivs, msgID)
		n := wire.V1NotifyNoProposalChosen
		var ne *v1NotifyError
		if errors.As(err, &ne) {
			n = ne.kind
		}
		s.v1Inform(&wire.V1Notify{DOI: wire.V1DOIIPsec, Protocol: wire.V1ProtocolESP, Kind: n})
		return
	}
	// The CHILD_SA goes in now, not at message 3: the initiator sends on
	// it as soon as it has our message 2, and its first packets (an L2TP
	// client's SCCRQ) may overtake its message 3 (as pluto does). Only the
	// outbound switch of a rekey waits for message 3 (v1CommitQuick).
	if !s.v1InstallQuick(q) {
		delete(v.ivs, msgID)
		s.v1Inform(&wire.V1Notify{DOI: wire.V1DOIIPsec, Protocol: wire.V1ProtocolESP, Kind: wire.V1NotifyNoProposalChosen})
		return
	}
	if len(v.quick) >= 8 {
		for id, old := range v.quick { // a peer that never finishes: forget one
			s.v1CommitQuick(old)
			delete(v.quick, id)
			delete(v.ivs, id)
			break
		}
	}
	v.quick[msgID] = q
	s.v1Reply(digest, reply)
}

// v1NotifyError is a Quick Mode refusal with its notification.
type v1NotifyError struct {
	kind wire.V1NotifyType
	msg  string
}

func (e *v1NotifyError) Error() string { return "ike: " + e.msg }

// v1QuickRespond chooses a CHILD_SA for Quick Mode message 1 and builds
// message 2.
func (s *session) v1QuickRespond(msgID uint32, ps []wire.V1Payload) ([]byte, *v1Quick, error) {
	sa, okSA := wire.FindV1[*wire.V1SA](ps)
	ni, okN := wire.FindV1[*wire.V1Nonce](ps)
	if !okSA || !okN || len(ni.Data) < 8 || len(ni.Data) > 256 {
		return nil, nil, &v1NotifyError{wire.V1NotifyPayloadMalformed, "Quick Mode without SA or nonce"}
	}
	ke, pfs := wire.FindV1[*wire.V1KE](ps)
	var ids []*wire.V1ID
	for _, p := range ps {
		if id, ok := p.(*wire.V1ID); ok {
			ids = append(ids, id)
		}
	}
	var natoa []netip.Addr
	for _, p := range ps {
		if o, ok := p.(*wire.V1NATOA); ok {
			natoa = append(natoa, o.Addr)
		}
	}
	var tsi, tsr esp.Selector
	switch len(ids) {
	case 0:
		tsi, tsr = hostSelector(s.remote.Addr()), hostSelector(s.local.Addr())
	case 2:
		var err error
		if tsi, err = v1IDSelector(ids[0]); err != nil {
			return nil, nil, &v1NotifyError{wire.V1NotifyInvalidIDInformation, err.Error()}
		}
		if tsr, err = v1IDSelector(ids[1]); err != nil {
			return nil, nil, &v1NotifyError{wire.V1NotifyInvalidIDInformation, err.Error()}
		}
	default:
		return nil, nil, &v1NotifyError{wire.V1NotifyInvalidIDInformation, fmt.Sprintf("%d identities", len(ids))}
	}
	var offers []v1ESPOffer
	var received []Proposal
	if sa.DOI == wire.V1DOIIPsec {
		for _, pr := range sa.Proposals {
			if pr.Protocol != wire.V1ProtocolESP || len(pr.SPI) != 4 {
				continue
			}
			if slices.ContainsFunc(sa.Proposals, func(o wire.V1Proposal) bool { return o.Number == pr.Number && o.Protocol != pr.Protocol }) {
				continue // ESP with AH or IPComp: not supported
			}
			for _, t := range pr.Transforms {
				o, err := v1ESPTransform(pr.SPI, t)
				if err != nil {
					s.logger().Debug("IKEv1 ESP transform skipped", "err", err)
					continue
				}
				o.proposalNumber = pr.Number
				offers = append(offers, o)
				received = append(received, o.proposal)
			}
		}
	}
	one := func(sel esp.Selector, allowed []esp.Selector) bool {
		n := narrow(allowed, []esp.Selector{sel})
		return len(n) == 1 && n[0] == sel
	}
	tsFit := false
	for _, cfg := range s.peer.Children {
		tsi, tsr := tsi, tsr
		if cfg.Mode == esp.ModeTransport && s.encap {
			// RFC 3947 Section 5.2: behind a NAT the peer names the
			// addresses it knows (its private one, ours as it dials
			// it); the SA's selectors are the addresses we see, with the
			// peer's protocol and ports (as strongSwan does).
			tsi = withHost(tsi, s.remote.Addr())
			tsr = withHost(tsr, s.local.Addr())
		}
		if !one(tsr, s.localSelectors(cfg)) {
			continue
		}
		switch {
		case len(cfg.RemoteTS) > 0:
			if !one(tsi, cfg.RemoteTS) {
				continue
			}
		case len(s.vips) > 0:
			if !one(tsi, s.dynamicRemote()) {
				continue
			}
		default:
			if !one(tsi, []esp.Selector{hostSelector(s.remote.Addr())}) {
				continue
			}
		}
		tsFit = true
		configured := cfg.espProposals()
		if !pfs {
			configured = slices.Clone(configured)
			for i := range configured {
				configured[i] = withoutGroup(configured[i])
			}
		}
		for _, o := range offers {
			if o.proposal.Group() != 0 != pfs {
				continue
			}
			if !v1ModeFits(cfg.Mode, o.encap) {
				continue
			}
			sel, ok := Select(configured, []Proposal{o.proposal}, false)
			if !ok {
				continue
			}
			return s.v1QuickAnswer(msgID, cfg, o, sel, ni.Data, ke, ids, tsi, tsr, natoa)
		}
		if s.logs(slog.LevelDebug) {
			for _, l := range LogLines(received, configured, Proposal{}, false) {
				s.logger().Debug(l, "child", cfg.Name)
			}
		}
	}
	if !tsFit {
		return nil, nil, &v1NotifyError{wire.V1NotifyInvalidIDInformation, fmt.Sprintf("no child takes %v === %v", tsi, tsr)}
	}
	return nil, nil, &v1NotifyError{wire.V1NotifyNoProposalChosen, "no ESP proposal matches: received " + FormatProposals(received)}
}

// v1ModeFits reports whether the encapsulation mode the peer proposed is
// that of the child (UDP-encapsulated or not: the NAT decides that).
func v1ModeFits(m esp.Mode, e wire.V1EncapMode) bool {
	switch e {
	case wire.V1EncapTunnel, wire.V1EncapUDPTunnel, wire.V1EncapUDPTunnelDraft:
		return m == esp.ModeTunnel
	case wire.V1EncapTransport, wire.V1EncapUDPTransport, wire.V1EncapUDPTransportDraft:
		return m == esp.ModeTransport
	}
	return false
}

// v1QuickAnswer builds Quick Mode message 2 for the chosen transform.
func (s *session) v1QuickAnswer(msgID uint32, cfg *ChildConfig, o v1ESPOffer, sel Proposal, ni []byte, ke *wire.V1KE,
	ids []*wire.V1ID, tsi, tsr esp.Selector, natoa []netip.Addr) ([]byte, *v1Quick, error) {
	q := &v1Quick{ni: bytes.Clone(ni), nr: make([]byte, 32)}
	if _, err := s.env.rand.Read(q.nr); err != nil {
		return nil, nil, err
	}
	var out []wire.V1Payload
	var ourKE *wire.V1KE
	if ke != nil {
		share, err := NewKeyShare(sel.Group(), s.env.rand)
		if err != nil {
			return nil, nil, err
		}
		if q.gqm, err = share.Shared(ke.Data); err != nil {
			return nil, nil, &v1NotifyError{wire.V1NotifyInvalidKeyInformation, err.Error()}
		}
		ourKE = &wire.V1KE{Data: share.Public()}
	}
	in, err := s.env.dp.AllocSPI()
	if err != nil {
		return nil, nil, err
	}
	sel.SPI = binary.BigEndian.AppendUint32(nil, in)
	c := &childSA{cfg: cfg, inSPI: in, outSPI: binary.BigEndian.Uint32(o.spi), proposal: sel,
		localTS: []esp.Selector{tsr}, remoteTS: []esp.Selector{tsi}, mode: cfg.Mode}
	for _, x := range s.children {
		if x.cfg == cfg && x.replacedBy == nil && slices.Equal(x.localTS, c.localTS) && slices.Equal(x.remoteTS, c.remoteTS) {
			q.old = x // the initiator rekeys it
		}
	}
	q.child = c
	out = append(out, &wire.V1SA{DOI: wire.V1DOIIPsec, Situation: 1, Proposals: []wire.V1Proposal{{
		Number: o.proposalNumber, Protocol: wire.V1ProtocolESP, SPI: sel.SPI, Transforms: []wire.V1Transform{o.transform}}}})
	out = append(out, &wire.V1Nonce{Data: q.nr})
	if ourKE != nil {
		out = append(out, ourKE)
	}
	for _, id := range ids {
		out = append(out, &wire.V1ID{IDType: id.IDType, Protocol: id.Protocol, Port: id.Port, Data: id.Data})
	}
	if cfg.Mode == esp.ModeTransport && s.encap {
		// NAT-OAi and NAT-OAr: the addresses as we see them (RFC 3947
		// Section 5.2); the peer's are what we fix checksums from.
		out = append(out, &wire.V1NATOA{Addr: s.remote.Addr().Unmap()}, &wire.V1NATOA{Addr: s.local.Addr().Unmap()})
		c.origRemote, c.origLocal = s.remote.Addr(), s.local.Addr()
		if len(natoa) >= 1 {
			c.origRemote = natoa[0]
		}
		if len(natoa) >= 2 {
			c.origLocal = natoa[1]
		}
	}
	b, err := s.v1Seal(wire.V1ExchangeQuickMode, msgID, out, func(rest []byte) []byte {
		return s.v1.keys.hashMsg(msgID, q.ni, rest)
	})
	if err != nil {
		s.env.dp.ReleaseSPI(in)
		return nil, nil, err
	}
	if s.logs(slog.LevelDebug) {
		s.logger().Debug("Quick Mode answered", "child", cfg.Name, "proposal", sel.String(), "ts", fmt.Sprintf("%v === %v", tsr, tsi))
	}
	return b, q, nil
}

// v1InstallQuick derives the keys of a negotiated Quick Mode and installs
// its CHILD_SA (RFC 2409 Section 5.5: one KEYMAT per SA, with its SPI); as
// responder to a rekey, the outbound SA waits in outPending. It reports
// whether the CHILD_SA is in.
func (s *session) v1InstallQuick(q *v1Quick) bool {
	c := q.child
	encr, _ := c.proposal.First(wire.TransformEncr)
	keys := &ChildKeys{Encr: esp.EncrID(encr.ID), Integ: esp.IntegNone}
	encrLen, ok := keys.Encr.KeyLen(int(encr.KeyBits))
	integLen := 0
	if ok && !keys.Encr.IsAEAD() {
		integ, _ := c.proposal.First(wire.TransformInteg)
		keys.Integ = esp.IntegID(integ.ID)
		integLen, ok = keys.Integ.KeyLen()
	}
	if !ok {
		s.logger().Warn("cannot key the CHILD_SA", "proposal", c.proposal.String())
		s.env.dp.ReleaseSPI(c.inSPI)
		return false
	}
	split := func(spi uint32) DirectionKeys {
		km := s.v1.keys.keymat(encrLen+integLen, q.gqm, uint8(wire.V1ProtocolESP), spi, q.ni, q.nr)
		d := DirectionKeys{EncrKey: km[:encrLen:encrLen]}
		if integLen > 0 {
			d.IntegKey = km[encrLen:]
		}
		return d
	}
	// The initiator sends to the SPI the responder chose, and the
	// reverse.
	toResponder, toInitiator := c.inSPI, c.outSPI
	if s.initiator {
		toResponder, toInitiator = c.outSPI, c.inSPI
	}
	keys.InitiatorToResponder = split(toResponder)
	keys.ResponderToInitiator = split(toInitiator)
	old := q.old
	if old != nil && !slices.Contains(s.children, old) {
		old = nil
	}
	if err := s.installChild(c, keys, s.initiator, old); err != nil {
		s.logger().Warn("cannot install the CHILD_SA", "err", err)
		s.env.dp.ReleaseSPI(c.inSPI)
		return false
	}
	return true
}

// v1CommitQuick finishes a Quick Mode we answered, at its message 3: the
// outbound SA of a rekey replaces the old one.
func (s *session) v1CommitQuick(q *v1Quick) {
	if c := q.child; c.outPending != nil && slices.Contains(s.children, c) {
		// IKEv1 has no rekey exchange: the initiator installed both SAs
		// before its HASH(3), and keeps the old ones until they expire
		// (strongSwan deletes them at their hard lifetime), so we send on
		// the new SA at once, as the kernel does with the newest SA.
		if _, err := s.env.dp.AddSA(esp.DirOut, *c.outPending, c.policyID, s.childLifetime(c.cfg)); err != nil {
			s.logger().Warn("cannot install the outbound SA of the new CHILD_SA", "child", c.cfg.Name, "err", err)
		}
		c.outPending = nil
	}
}

// withHost returns sel for the single address a, keeping its protocol and
// ports.
func withHost(sel esp.Selector, a netip.Addr) esp.Selector {
	h := hostSelector(a)
	h.Proto, h.StartPort, h.EndPort = sel.Proto, sel.StartPort, sel.EndPort
	return h
}
