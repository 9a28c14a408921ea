package ike

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/esp/ipcomp"
	"github.com/ikego/ikego/ike/wire"
)

// CHILD_SA negotiation (RFC 7296 §1.3.1, §2.9, §2.17), shared by IKE_AUTH
// and CREATE_CHILD_SA: the SA proposal with its SPI, the traffic selectors
// narrowed to what both sides allow, USE_TRANSPORT_MODE and
// IPCOMP_SUPPORTED (RFC 3173, RFC 7296 §2.22).
//
//	CREATE_CHILD_SA request:  SA, Ni, [KEi], TSi, TSr, [N(USE_TRANSPORT_MODE)], [N(IPCOMP_SUPPORTED)]
//	CREATE_CHILD_SA response: SA, Nr, [KEr], TSi, TSr, [N(USE_TRANSPORT_MODE)], [N(IPCOMP_SUPPORTED)]

// ipcompDeflate is the IPComp transform ID of DEFLATE (RFC 7296 §3.10.1).
const ipcompDeflate = 2

// childRequest holds the CHILD_SA part of a request.
type childRequest struct {
	sa        *wire.SA
	tsi, tsr  []esp.Selector
	transport bool
	// ipcompCPI is the CPI the peer offers for DEFLATE, 0 when none.
	ipcompCPI uint16
}

// parseChildPayloads finds the CHILD_SA payloads of a message (request or
// response).
func parseChildPayloads(inner []wire.Payload) (c childRequest, ok bool) {
	c.sa, _ = wire.Find[*wire.SA](inner)
	var haveI, haveR bool
	for _, p := range inner {
		switch p := p.(type) {
		case *wire.TS:
			if p.Responder {
				c.tsr, haveR = fromWireTS(p.Selectors), true
			} else {
				c.tsi, haveI = fromWireTS(p.Selectors), true
			}
		case *wire.Notify:
			switch p.Kind {
			case wire.NotifyUseTransportMode:
				c.transport = true
			case wire.NotifyIPCompSupported:
				if len(p.Data) >= 3 && p.Data[2] == ipcompDeflate && c.ipcompCPI == 0 {
					c.ipcompCPI = binary.BigEndian.Uint16(p.Data)
				}
			}
		}
	}
	return c, c.sa != nil && haveI && haveR
}

// dynamicRemote is the peer's side of a CHILD_SA whose RemoteTS is empty:
// its virtual IPs, or its outer address.
func (s *session) dynamicRemote() []esp.Selector {
	if len(s.vips) > 0 {
		out := make([]esp.Selector, 0, len(s.vips))
		for _, v := range s.vips {
			out = append(out, hostSelector(v))
		}
		return out
	}
	return []esp.Selector{hostSelector(s.remote.Addr())}
}

// localSelectors is our side of a CHILD_SA config: LocalTS, or our address.
func (s *session) localSelectors(c *ChildConfig) []esp.Selector {
	if len(c.LocalTS) > 0 {
		return c.LocalTS
	}
	return []esp.Selector{hostSelector(s.local.Addr())}
}

// negotiatedChild is a CHILD_SA chosen as responder, not yet installed.
type negotiatedChild struct {
	child  *childSA
	notify []wire.Payload // USE_TRANSPORT_MODE, IPCOMP_SUPPORTED to send back
	ours   Proposal       // the proposal to send back, with our SPI
	ipcomp [2]uint16      // the peer's CPI (for outbound) and ours (inbound)
	old    *childSA       // the CHILD_SA it replaces, or nil
}

// respondChild chooses the CHILD_SA for a request as responder: the first
// child config whose selectors and proposals fit. The error is a
// *NotifyError to answer with (TS_UNACCEPTABLE, NO_PROPOSAL_CHOSEN).
//
// A rekey (old set) keeps the old CHILD_SA's configuration.
func (s *session) respondChild(req childRequest, pfs bool, old *childSA) (*negotiatedChild, error) {
	received := ProposalsFromSA(req.sa)
	var tsFit bool
	configs := s.peer.Children
	if old != nil {
		configs = []*ChildConfig{old.cfg}
	}
	for _, cfg := range configs {
		localTS := narrow(s.localSelectors(cfg), req.tsr)
		var remoteTS []esp.Selector
		switch {
		case old != nil:
			remoteTS = narrow(old.remoteTS, req.tsi)
			localTS = narrow(old.localTS, req.tsr)
		case len(cfg.RemoteTS) > 0:
			remoteTS = narrow(cfg.RemoteTS, req.tsi)
		case len(s.vips) > 0:
			// The peer asked for a virtual IP: its TSi (0.0.0.0/0 or its
			// outer address) becomes the address it got, as strongSwan does.
			remoteTS = s.dynamicRemote()
		default:
			remoteTS = narrow(s.dynamicRemote(), req.tsi)
		}
		if len(localTS) == 0 || len(remoteTS) == 0 {
			continue
		}
		tsFit = true
		configured := cfg.espProposals()
		if !pfs {
			configured = slices.Clone(configured)
			for i := range configured {
				configured[i] = withoutGroup(configured[i])
			}
			for i := range received {
				received[i] = withoutGroup(received[i])
			}
		}
		sel, ok := Select(configured, received, true)
		if s.logs(slog.LevelDebug) {
			for _, l := range LogLines(received, configured, sel, ok) {
				s.logger().Debug(l, "child", cfg.Name)
			}
		}
		if !ok || len(sel.SPI) != 4 {
			continue
		}
		if sel.Group() != 0 && !pfs {
			// IKE_AUTH has no KE payload: a group in the proposals is
			// ignored there (RFC 7296 §1.2); CREATE_CHILD_SA's caller
			// runs the key exchange.
			sel = withoutGroup(sel)
		}
		mode := cfg.Mode
		var notify []wire.Payload
		if mode == esp.ModeTransport {
			if !req.transport {
				continue // we insist on transport mode
			}
			notify = append(notify, &wire.Notify{Kind: wire.NotifyUseTransportMode})
		}
		nc := &negotiatedChild{child: &childSA{cfg: cfg, proposal: sel, localTS: localTS, remoteTS: remoteTS, mode: mode}, old: old}
		if cfg.IPComp && req.ipcompCPI != 0 {
			cpi, err := s.allocCPI()
			if err != nil {
				return nil, err
			}
			nc.ipcomp = [2]uint16{req.ipcompCPI, cpi}
			var d [3]byte
			binary.BigEndian.PutUint16(d[:], cpi)
			d[2] = ipcompDeflate
			notify = append(notify, &wire.Notify{Kind: wire.NotifyIPCompSupported, Data: d[:]})
		}
		nc.notify = notify
		nc.child.outSPI = binary.BigEndian.Uint32(sel.SPI)
		in, err := s.env.dp.AllocSPI()
		if err != nil {
			return nil, err
		}
		nc.child.inSPI = in
		nc.ours = sel
		nc.ours.SPI = binary.BigEndian.AppendUint32(nil, in)
		return nc, nil
	}
	if !tsFit {
		return nil, &NotifyError{wire.NotifyTSUnacceptable, "no traffic selectors in common"}
	}
	return nil, &NotifyError{wire.NotifyNoProposalChosen, "no ESP proposal matches: received " + FormatProposals(received)}
}

// allocCPI picks a random negotiated CPI (RFC 3173 §3.3: 256-61439).
func (s *session) allocCPI() (uint16, error) {
	var b [2]byte
	for {
		if _, err := s.env.rand.Read(b[:]); err != nil {
			return 0, err
		}
		c := binary.BigEndian.Uint16(b[:])
		if c >= ipcomp.MinNegotiatedCPI && c <= ipcomp.MaxNegotiatedCPI {
			return c, nil
		}
	}
}

// withoutGroup drops the KE transforms of an ESP proposal.
func withoutGroup(p Proposal) Proposal {
	p = p.clone()
	p.KE = nil
	return p
}

// responsePayloads returns the CHILD_SA part of our response.
func (nc *negotiatedChild) responsePayloads() []wire.Payload {
	ps := []wire.Payload{SAPayload([]Proposal{nc.ours}),
		&wire.TS{Selectors: toWireTS(nc.child.remoteTS)},
		&wire.TS{Responder: true, Selectors: toWireTS(nc.child.localTS)}}
	return append(ps, nc.notify...)
}

// install derives the keys and installs the child.
func (s *session) installNegotiated(nc *negotiatedChild, keys *ChildKeys, weInitiated bool) error {
	if nc.ipcomp[0] != 0 {
		nc.child.ipcompOut, nc.child.ipcompIn = nc.ipcomp[0], nc.ipcomp[1]
	}
	if err := s.installChild(nc.child, keys, weInitiated, nc.old); err != nil {
		s.env.dp.ReleaseSPI(nc.child.inSPI)
		return err
	}
	return nil
}

// childOffer is a CHILD_SA we propose as initiator.
type childOffer struct {
	cfg       *ChildConfig
	old       *childSA // the CHILD_SA being rekeyed, or nil
	inSPI     uint32
	proposals []Proposal
	tsi, tsr  []esp.Selector
	ipcompCPI uint16
}

// offerChild builds the CHILD_SA part of our request for cfg.
// A rekey (old set) offers the old CHILD_SA's selectors again.
func (s *session) offerChild(cfg *ChildConfig, requestVIP, pfs bool, old *childSA) (*childOffer, []wire.Payload, error) {
	in, err := s.env.dp.AllocSPI()
	if err != nil {
		return nil, nil, err
	}
	o := &childOffer{cfg: cfg, inSPI: in, proposals: slices.Clone(cfg.espProposals()), old: old}
	o.tsi = s.localSelectors(cfg)
	if requestVIP && len(cfg.LocalTS) == 0 {
		// A roadwarrior: the address we get replaces TSi.
		o.tsi = []esp.Selector{esp.SelectorFromPrefix(netip.MustParsePrefix("0.0.0.0/0"))}
	}
	o.tsr = cfg.RemoteTS
	if len(o.tsr) == 0 {
		o.tsr = []esp.Selector{hostSelector(s.remote.Addr())}
	}
	if old != nil {
		o.tsi, o.tsr = old.localTS, old.remoteTS
		// The algorithms the CHILD_SA has come first, as strongSwan does.
		// A CHILD_SA of IKE_AUTH was made without a key exchange; its rekey
		// uses the configured PFS group.
		keep := old.proposal.clone()
		keep.SPI = nil
		if keep.Group() == 0 && len(o.proposals) > 0 && o.proposals[0].Group() != 0 {
			keep.KE = slices.Clone(o.proposals[0].KE)
		}
		o.proposals = append([]Proposal{keep}, o.proposals...)
	}
	props := make([]Proposal, len(o.proposals))
	for i, p := range o.proposals {
		if !pfs {
			p = withoutGroup(p)
			o.proposals[i] = p
		}
		props[i] = p.clone()
		props[i].SPI = binary.BigEndian.AppendUint32(nil, in)
	}
	ps := []wire.Payload{SAPayload(props), &wire.TS{Selectors: toWireTS(o.tsi)}, &wire.TS{Responder: true, Selectors: toWireTS(o.tsr)}}
	if old != nil {
		ps = append(ps, &wire.Notify{Kind: wire.NotifyRekeySA, Protocol: wire.ProtocolESP,
			SPI: binary.BigEndian.AppendUint32(nil, old.inSPI)})
	}
	if cfg.Mode == esp.ModeTransport {
		ps = append(ps, &wire.Notify{Kind: wire.NotifyUseTransportMode})
	}
	if cfg.IPComp {
		if o.ipcompCPI, err = s.allocCPI(); err != nil {
			return nil, nil, err
		}
		var d [3]byte
		binary.BigEndian.PutUint16(d[:], o.ipcompCPI)
		d[2] = ipcompDeflate
		ps = append(ps, &wire.Notify{Kind: wire.NotifyIPCompSupported, Data: d[:]})
	}
	return o, ps, nil
}

// acceptChild checks the responder's CHILD_SA answer to our offer and
// installs it.
func (s *session) acceptChild(o *childOffer, resp []wire.Payload, keysFor func(Proposal) (*ChildKeys, error)) (err error) {
	defer func() {
		if err != nil {
			s.env.dp.ReleaseSPI(o.inSPI)
		}
	}()
	for _, p := range resp {
		if n, ok := p.(*wire.Notify); ok && n.Kind.IsError() {
			return &NotifyError{n.Kind, "CHILD_SA " + o.cfg.Name + " refused by the peer"}
		}
	}
	r, ok := parseChildPayloads(resp)
	if !ok {
		return errors.New("ike: CHILD_SA response without SA, TSi or TSr")
	}
	chosen := ProposalsFromSA(r.sa)
	if len(chosen) != 1 || len(chosen[0].SPI) != 4 {
		return errors.New("ike: CHILD_SA response must hold one ESP proposal with an SPI")
	}
	sel, ok := Select(o.proposals, chosen, false)
	if !ok || !singleTransforms(chosen[0]) {
		return &NotifyError{wire.NotifyNoProposalChosen, "the peer chose " + chosen[0].String() + ", which we did not offer"}
	}
	// §2.9: the responder may only narrow.
	if !subsetTS(r.tsi, o.tsi, len(s.vips) > 0 && o.old == nil) || !subsetTS(r.tsr, o.tsr, false) {
		return &NotifyError{wire.NotifyTSUnacceptable, fmt.Sprintf("the peer's selectors %v === %v exceed ours", r.tsi, r.tsr)}
	}
	mode := esp.ModeTunnel
	if o.cfg.Mode == esp.ModeTransport {
		if !r.transport {
			return &NotifyError{wire.NotifyNoProposalChosen, "the peer refused transport mode"}
		}
		mode = esp.ModeTransport
	}
	keys, err := keysFor(sel)
	if err != nil {
		return err
	}
	c := &childSA{cfg: o.cfg, inSPI: o.inSPI, outSPI: binary.BigEndian.Uint32(chosen[0].SPI), proposal: sel,
		localTS: r.tsi, remoteTS: r.tsr, mode: mode}
	if o.ipcompCPI != 0 && r.ipcompCPI != 0 {
		c.ipcompIn, c.ipcompOut = o.ipcompCPI, r.ipcompCPI
	}
	return s.installChild(c, keys, true, o.old)
}

// subsetTS reports whether every selector of got lies within one of
// offered; vip allows TSi to be replaced by virtual IP addresses.
func subsetTS(got, offered []esp.Selector, vip bool) bool {
	if len(got) == 0 {
		return false
	}
	if vip {
		return true
	}
	for _, g := range got {
		in := false
		for _, o := range offered {
			if x, ok := g.Intersect(o); ok && x == g {
				in = true
				break
			}
		}
		if !in {
			return false
		}
	}
	return true
}
