package ike

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike/wire"
	"github.com/ikego/ikego/pki"
)

// The IKE_AUTH exchange (RFC 7296 §1.2): it authenticates both ends, with
// a pre-shared key or a certificate's signature, and creates the first
// CHILD_SA; the configuration payload gives a roadwarrior its virtual IPs.
//
//	HDR, SK { IDi, [CERT+], [N(INITIAL_CONTACT)], [CERTREQ], [IDr], AUTH,
//	          [CP(CFG_REQUEST)], SAi2, TSi, TSr, N... } -->
//	<-- HDR, SK { IDr, [CERT+], AUTH, [CP(CFG_REPLY)], SAr2, TSi, TSr, N... }
//
// EAP is still to come.

// pskAuth returns the AUTH data of a PSK authentication (RFC 7296 §2.15):
//
//	AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)
//	SignedOctets = RealMessage | NonceOfThePeer | prf(SK_p, RestOfIDPayload)
func pskAuth(prfID wire.PRFID, psk, message, peerNonce, skp, idBody []byte) ([]byte, error) {
	p, err := prfByID(prfID)
	if err != nil {
		return nil, err
	}
	maced := p.sum(skp, idBody)
	key := p.sum(psk, []byte("Key Pad for IKEv2"))
	return p.sum(key, message, peerNonce, maced), nil
}

// ErrAuthFailed is the peer's AUTH payload not verifying.
var ErrAuthFailed = errors.New("ike: authentication failed")

// idBody returns the ID payload's body as AUTH covers it (RFC 7296 §2.15):
// type, three reserved octets and the data.
func idBody(id *wire.ID) ([]byte, error) {
	if b := id.Body(); len(b) > 0 {
		return b, nil
	}
	b := make([]byte, 4, 4+len(id.Data))
	b[0] = byte(id.IDType)
	return append(b, id.Data...), nil
}

// narrow returns the intersections of our selectors with the peer's (RFC
// 7296 §2.9).
func narrow(ours, theirs []esp.Selector) []esp.Selector {
	var out []esp.Selector
	for _, o := range ours {
		for _, t := range theirs {
			if x, ok := o.Intersect(t); ok {
				out = append(out, x)
			}
		}
	}
	return out
}

func fromWireTS(ws []wire.Selector) []esp.Selector {
	out := make([]esp.Selector, 0, len(ws))
	for _, w := range ws {
		out = append(out, esp.Selector{Start: w.Start, End: w.End, Proto: w.IPProtocol, StartPort: w.StartPort, EndPort: w.EndPort})
	}
	return out
}

func toWireTS(ss []esp.Selector) []wire.Selector {
	out := make([]wire.Selector, 0, len(ss))
	for _, s := range ss {
		t := wire.TSIPv4AddrRange
		if s.Is6() {
			t = wire.TSIPv6AddrRange
		}
		out = append(out, wire.Selector{Type: t, IPProtocol: s.Proto, StartPort: s.StartPort, EndPort: s.EndPort, Start: s.Start, End: s.End})
	}
	return out
}

// authCandidates returns the connections that may serve an IKE SA between
// local and remote: their addresses match and they accept the IKE
// proposal already selected.
func (s *session) authCandidates() []*PeerConfig {
	var out []*PeerConfig
	for _, p := range s.env.peers() {
		if !p.speaks(2) || !p.matchesAddrs(s.local.Addr(), s.remote.Addr()) {
			continue
		}
		if _, ok := Select(p.ikeProposals(), []Proposal{s.prop}, true); !ok {
			continue
		}
		out = append(out, p)
	}
	return out
}

// isAskedFor reports whether the IDr the peer sent (nil: none) names our
// identity for p: a peer that wants another of our identities is not for
// this connection.
func (s *session) isAskedFor(p *PeerConfig, idr *wire.ID) bool {
	if idr == nil {
		return true
	}
	want, err := pki.NewIdentity(pki.IDType(idr.IDType), idr.Data)
	return err != nil || s.localIdentity(p).Equal(want)
}

// localIdentity is the identity we send for p.
func (s *session) localIdentity(p *PeerConfig) pki.Identity {
	if p.Local.ID.Type != 0 {
		return p.Local.ID
	}
	if p.Local.Method == AuthPubKey && len(p.Local.Certificates) > 0 && len(p.Local.Certificates[0].RawSubject) > 2 {
		if id, err := pki.NewIdentity(pki.IDType(wire.IDDERASN1DN), p.Local.Certificates[0].RawSubject); err == nil {
			return id
		}
	}
	return pki.AddrIdentity(s.local.Addr().Unmap())
}

// ourAuth builds our ID, CERT and AUTH payloads for p. message is the
// IKE_SA_INIT message we sent, peerNonce the peer's nonce.
func (s *session) ourAuth(p *PeerConfig, responder bool, message, peerNonce []byte) ([]wire.Payload, error) {
	id := s.localIdentity(p)
	idp := &wire.ID{Responder: responder, IDType: wire.IDType(id.Type), Data: id.Data}
	body, err := idBody(idp)
	if err != nil {
		return nil, err
	}
	skp := s.keys.SKpi
	if responder {
		skp = s.keys.SKpr
	}
	out := []wire.Payload{idp}
	switch p.Local.Method {
	case AuthPSK:
		a, err := pskAuth(s.keys.PRF, p.Local.PSK, message, peerNonce, skp, body)
		if err != nil {
			return nil, err
		}
		out = append(out, &wire.Auth{Method: wire.AuthPSK, Data: a})
	case AuthPubKey:
		octets, err := signedOctets(s.keys.PRF, message, peerNonce, skp, body)
		if err != nil {
			return nil, err
		}
		a, err := signAuth(p.Local.Key, octets, s.peerHashes, s.env.rand)
		if err != nil {
			return nil, err
		}
		out = append(out, certPayloads(p.Local.Certificates)...)
		out = append(out, a)
	case AuthEAP:
		// No AUTH: the responder starts EAP (RFC 7296 Section 2.16).
	default:
		return nil, fmt.Errorf("ike: local authentication %v not implemented", p.Local.Method)
	}
	return out, nil
}

// verifyPeer checks the peer's AUTH (and certificate) against p. message
// is the IKE_SA_INIT message the peer sent, ourNonce our nonce. It returns
// the identity the peer proved.
func (s *session) verifyPeer(p *PeerConfig, inner []wire.Payload, peerIsResponder bool, message, ourNonce []byte) (pki.Identity, error) {
	var idp *wire.ID
	for _, pl := range inner {
		if id, ok := pl.(*wire.ID); ok && id.Responder == peerIsResponder {
			idp = id
		}
	}
	auth, okAuth := wire.Find[*wire.Auth](inner)
	if idp == nil || !okAuth {
		return pki.Identity{}, fmt.Errorf("%w: no ID or AUTH payload", ErrAuthFailed)
	}
	id, err := pki.NewIdentity(pki.IDType(idp.IDType), idp.Data)
	if err != nil {
		return pki.Identity{}, fmt.Errorf("%w: bad identity: %v", ErrAuthFailed, err)
	}
	if p.Remote.ID.Type != 0 && !id.Matches(p.Remote.ID) {
		return id, fmt.Errorf("%w: identity %v does not match %v", ErrAuthFailed, id, p.Remote.ID)
	}
	body, err := idBody(idp)
	if err != nil {
		return id, err
	}
	skp := s.keys.SKpi
	if peerIsResponder {
		skp = s.keys.SKpr
	}
	switch p.Remote.Method {
	case AuthPSK:
		if auth.Method != wire.AuthPSK {
			return id, fmt.Errorf("%w: peer uses %v, configured psk", ErrAuthFailed, auth.Method)
		}
		want, err := pskAuth(s.keys.PRF, p.Remote.PSK, message, ourNonce, skp, body)
		if err != nil {
			return id, err
		}
		if subtle.ConstantTimeCompare(want, auth.Data) != 1 {
			return id, fmt.Errorf("%w: the AUTH of %v does not verify with the pre-shared key", ErrAuthFailed, id)
		}
	case AuthPubKey:
		if auth.Method == wire.AuthPSK {
			return id, fmt.Errorf("%w: peer uses a pre-shared key, configured pubkey", ErrAuthFailed)
		}
		leaf, chain, err := parseCertPayloads(inner)
		if err != nil {
			return id, fmt.Errorf("%w: %v", ErrAuthFailed, err)
		}
		if leaf == nil {
			return id, fmt.Errorf("%w: %v sent no certificate", ErrAuthFailed, id)
		}
		if _, err := pki.Verify(leaf, pki.VerifyOptions{Roots: p.Remote.CAs, Intermediates: chain, CRLs: p.Remote.CRLs, Time: s.env.now()}); err != nil {
			return id, fmt.Errorf("%w: certificate of %v: %v", ErrAuthFailed, id, err)
		}
		if id.HasWildcards() || !pki.MatchCertificate(id, leaf) {
			return id, fmt.Errorf("%w: identity %v is not in its certificate (%s)", ErrAuthFailed, id, leaf.Subject)
		}
		octets, err := signedOctets(s.keys.PRF, message, ourNonce, skp, body)
		if err != nil {
			return id, err
		}
		if err := verifyAuth(leaf.PublicKey, auth, octets); err != nil {
			return id, fmt.Errorf("%w: signature of %v: %v", ErrAuthFailed, id, err)
		}
	default:
		return id, fmt.Errorf("ike: remote authentication %v not implemented", p.Remote.Method)
	}
	return id, nil
}

// respondAuth answers the IKE_AUTH request as responder.
func (s *session) respondAuth(inner []wire.Payload, ep esp.Endpoint) []wire.Payload {
	fail := func(n wire.NotifyType, err error) []wire.Payload {
		s.logger().Info("IKE_AUTH failed", "err", err)
		s.close(err, false)
		return []wire.Payload{&wire.Notify{Kind: n}}
	}
	if err := wire.CheckRules(wire.ExchangeIKEAuth, false, true, inner); err != nil {
		return fail(wire.NotifyInvalidSyntax, err)
	}
	if s.eap != nil {
		return s.continueEAP(inner)
	}
	var idr *wire.ID
	for _, p := range inner {
		if id, ok := p.(*wire.ID); ok && id.Responder {
			idr = id
		}
	}
	if _, ok := wire.Find[*wire.Auth](inner); !ok {
		return s.startEAP(inner, idr) // no AUTH: the initiator wants EAP
	}
	var peer *PeerConfig
	var remoteID pki.Identity
	var errs []error
	for _, cand := range s.authCandidates() {
		if !s.isAskedFor(cand, idr) {
			continue
		}
		id, err := s.verifyPeer(cand, inner, false, s.init.Request, s.init.Nr)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", cand.Name, err))
			continue
		}
		peer, remoteID = cand, id
		break
	}
	if peer == nil {
		if len(errs) == 0 {
			errs = append(errs, errors.New("ike: no connection matches"))
		}
		return fail(wire.NotifyAuthenticationFailed, errors.Join(errs...))
	}
	s.peer, s.remoteID = peer, remoteID
	if s.logs(slog.LevelInfo) {
		s.logger().Info("peer authenticated", "id", remoteID.String(), "method", peer.Remote.Method.String())
	}
	out, err := s.ourAuth(peer, true, s.init.Response, s.init.Ni)
	if err != nil {
		return fail(wire.NotifyAuthenticationFailed, err)
	}
	return s.authorized(inner, out)
}

// authorized completes an authenticated IKE_AUTH request as responder:
// inner is the request that carries the CHILD_SA (the first one with EAP),
// out our ID and AUTH payloads so far.
func (s *session) authorized(inner []wire.Payload, out []wire.Payload) []wire.Payload {
	peer := s.peer
	_, s.initialContact = wire.FindNotify(inner, wire.NotifyInitialContact)
	if _, ok := wire.FindNotify(inner, wire.NotifyMOBIKESupported); ok && !peer.NoMOBIKE {
		s.mobike = true
		out = append(out, &wire.Notify{Kind: wire.NotifyMOBIKESupported})
	}

	if cp, ok := wire.Find[*wire.CP](inner); ok && cp.CfgType == wire.CfgRequest {
		reply, err := s.assignVIPs(cp)
		if err != nil {
			s.logger().Info("no virtual IP", "err", err)
			// §3.15.4: the IKE SA may stay, but no CHILD_SA without an address.
			s.established()
			return append(out, &wire.Notify{Kind: wire.NotifyInternalAddressFailure})
		}
		if reply != nil {
			out = append(out, reply)
		}
	}
	s.established()
	req, ok := parseChildPayloads(inner)
	if !ok {
		return out // a childless IKE_AUTH (RFC 6023) gets no CHILD_SA
	}
	nc, err := s.respondChild(req, false, nil)
	if err == nil {
		var keys *ChildKeys
		if keys, err = s.keys.ChildKeys(nc.child.proposal, nil, s.init.Ni, s.init.Nr); err == nil {
			err = s.installNegotiated(nc, keys, false)
		}
		if err == nil {
			return append(out, nc.responsePayloads()...)
		}
	}
	s.logger().Info("no CHILD_SA", "err", err)
	var ne *NotifyError
	if errors.As(err, &ne) {
		return append(out, &wire.Notify{Kind: ne.Notify})
	}
	return append(out, &wire.Notify{Kind: wire.NotifyNoProposalChosen})
}

// assignVIPs answers a CFG_REQUEST from the pools of the connection.
func (s *session) assignVIPs(cp *wire.CP) (*wire.CP, error) {
	var req []netip.Addr
	for _, a := range cp.Attributes {
		switch a.Type {
		case wire.CPInternalIP4Address, wire.CPInternalIP6Address:
			addr, _ := a.Addr()
			if !addr.IsValid() {
				addr = netip.IPv4Unspecified()
				if a.Type == wire.CPInternalIP6Address {
					addr = netip.IPv6Unspecified()
				}
			}
			req = append(req, addr)
		}
	}
	if len(req) == 0 {
		return nil, nil
	}
	var pools Pools
	for _, name := range s.peer.Pools {
		for _, p := range s.env.currentPools() {
			if p.Name() == name {
				pools = append(pools, p)
			}
		}
	}
	if len(pools) == 0 {
		return nil, errors.New("ike: the connection has no pool")
	}
	vips, err := s.env.acquireVIPs(pools, s.leaseKey(), req)
	if err != nil {
		return nil, err
	}
	if len(vips) == 0 {
		return nil, ErrPoolExhausted
	}
	s.vips, s.leased = vips, true
	reply := &wire.CP{CfgType: wire.CfgReply}
	for _, v := range vips {
		if v.Is6() {
			reply.Attributes = append(reply.Attributes, wire.CPAttribute{Type: wire.CPInternalIP6Address, Value: append(v.AsSlice(), 128)})
			continue
		}
		reply.Attributes = append(reply.Attributes, wire.CPAttribute{Type: wire.CPInternalIP4Address, Value: v.AsSlice()})
	}
	for _, d := range s.peer.DNS {
		t := wire.CPInternalIP4DNS
		if d.Is6() {
			t = wire.CPInternalIP6DNS
		}
		reply.Attributes = append(reply.Attributes, wire.CPAttribute{Type: t, Value: d.AsSlice()})
	}
	// The subnets behind us (RFC 7296 §3.15.2), for clients that route by
	// them rather than by the traffic selectors.
	for _, c := range s.peer.Children {
		for _, sel := range c.LocalTS {
			for _, p := range sel.Prefixes() {
				if p.Addr().Is4() {
					mask := net.CIDRMask(p.Bits(), 32)
					reply.Attributes = append(reply.Attributes, wire.CPAttribute{Type: wire.CPInternalIP4Subnet,
						Value: append(p.Addr().AsSlice(), mask...)})
					continue
				}
				reply.Attributes = append(reply.Attributes, wire.CPAttribute{Type: wire.CPInternalIP6Subnet,
					Value: append(p.Addr().AsSlice(), byte(p.Bits()))})
			}
		}
	}
	return reply, nil
}

// authInitiatorTask is our IKE_AUTH request as initiator, with the first
// CHILD_SA.
type authInitiatorTask struct {
	offer *childOffer
	// eap is our EAP conversation when we authenticate with EAP.
	eap *eapInitiator
}

func (*authInitiatorTask) exchange() wire.ExchangeType { return wire.ExchangeIKEAuth }

func (t *authInitiatorTask) build(s *session) ([]wire.Payload, error) {
	p := s.peer
	ps, err := s.ourAuth(p, false, s.init.Request, s.init.Nr)
	if err != nil {
		return nil, err
	}
	// IDi [CERT] N(INITIAL_CONTACT) [CERTREQ] [IDr] AUTH ...
	var out []wire.Payload
	var auth wire.Payload
	out = append(out, ps[0])
	if p.Local.Method == AuthEAP {
		body, err := idBody(ps[0].(*wire.ID))
		if err != nil {
			return nil, err
		}
		t.eap = &eapInitiator{idiBody: body}
	} else {
		out = append(out, ps[1:len(ps)-1]...) // certificates
		auth = ps[len(ps)-1]
	}
	if s.env.established == nil || s.env.established(p.Name) == 0 {
		// RFC 7296 §2.4: we have no other IKE SA with this peer, so it
		// may forget any it still has with us.
		out = append(out, &wire.Notify{Kind: wire.NotifyInitialContact})
	}
	if p.Remote.Method == AuthPubKey && len(p.Remote.CAs) > 0 {
		out = append(out, certReqPayload(p.Remote.CAs))
	}
	if p.Remote.ID.Type != 0 && !p.Remote.ID.HasWildcards() {
		out = append(out, &wire.ID{Responder: true, IDType: wire.IDType(p.Remote.ID.Type), Data: p.Remote.ID.Data})
	}
	if auth != nil {
		out = append(out, auth)
	}
	if !p.NoMOBIKE {
		out = append(out, &wire.Notify{Kind: wire.NotifyMOBIKESupported})
	}
	if p.RequestVIP {
		out = append(out, &wire.CP{CfgType: wire.CfgRequest, Attributes: []wire.CPAttribute{
			{Type: wire.CPInternalIP4Address}, {Type: wire.CPInternalIP4DNS}}})
	}
	if len(p.Children) > 0 {
		o, cps, err := s.offerChild(p.Children[0], p.RequestVIP, false, nil)
		if err != nil {
			return nil, err
		}
		t.offer = o
		out = append(out, cps...)
	}
	return out, nil
}

func (t *authInitiatorTask) process(s *session, inner []wire.Payload) error {
	release := func() {
		if t.offer != nil {
			s.env.dp.ReleaseSPI(t.offer.inSPI)
		}
	}
	for _, p := range inner {
		if n, ok := p.(*wire.Notify); ok && n.Kind.IsError() && n.Kind != wire.NotifyNoProposalChosen &&
			n.Kind != wire.NotifyTSUnacceptable && n.Kind != wire.NotifySinglePairRequired && n.Kind != wire.NotifyInternalAddressFailure {
			release()
			err := &NotifyError{n.Kind, "IKE_AUTH refused by the peer"}
			s.close(err, false)
			return err
		}
	}
	if err := wire.CheckRules(wire.ExchangeIKEAuth, true, true, inner); err != nil {
		release()
		s.close(err, false)
		return err
	}
	id, err := s.verifyPeer(s.peer, inner, true, s.init.Response, s.init.Ni)
	if err != nil {
		release()
		s.close(err, false)
		return err
	}
	s.remoteID = id
	if t.eap != nil {
		// The gateway proved itself; EAP follows (v2_eap_client.go).
		s.mobike = s.mobike || hasMOBIKE(inner, s.peer)
		return s.eapClientStep(t, inner)
	}
	return t.finish(s, inner)
}

// hasMOBIKE reports whether the peer announced MOBIKE and we want it.
func hasMOBIKE(inner []wire.Payload, p *PeerConfig) bool {
	_, ok := wire.FindNotify(inner, wire.NotifyMOBIKESupported)
	return ok && !p.NoMOBIKE
}

// finish takes the last IKE_AUTH response, the responder authenticated:
// virtual IPs, the SA up, the first CHILD_SA, the others queued.
func (t *authInitiatorTask) finish(s *session, inner []wire.Payload) error {
	s.mobike = s.mobike || hasMOBIKE(inner, s.peer)
	if cp, ok := wire.Find[*wire.CP](inner); ok && cp.CfgType == wire.CfgReply {
		for _, a := range cp.Attributes {
			if a.Type == wire.CPInternalIP4Address || a.Type == wire.CPInternalIP6Address {
				if v, ok := a.Addr(); ok && v.IsValid() {
					s.vips = append(s.vips, v)
				}
			}
		}
	}
	s.established()
	if t.offer == nil {
		return nil
	}
	err := s.acceptChild(t.offer, inner, func(p Proposal) (*ChildKeys, error) {
		return s.keys.ChildKeys(p, nil, s.init.Ni, s.init.Nr)
	})
	if err != nil {
		s.logger().Info("first CHILD_SA failed", "child", t.offer.cfg.Name, "err", err)
	}
	// The other children follow in CREATE_CHILD_SA exchanges.
	for _, c := range s.peer.Children[1:] {
		s.queue(&createChildTask{cfg: c})
	}
	return nil
}
