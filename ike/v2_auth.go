package ike

import (
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike/wire"
)

// The IKE_AUTH exchange (RFC 7296 §1.2) with pre-shared keys, as responder:
// it authenticates both ends and creates the first CHILD_SA.
//
//	HDR, SK { IDi, [IDr], AUTH, [CP(CFG_REQUEST)], SAi2, TSi, TSr, N... } -->
//	<-- HDR, SK { IDr, AUTH, [CP(CFG_REPLY)], SAr2, TSi, TSr }
//
// Certificates, EAP and the initiator side are still to come.

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

// authResponder answers IKE_AUTH requests authenticated with a PSK.
type authResponder struct {
	rand io.Reader
	// localID is our identity (the IDr we send): type and data.
	localID   wire.IDType
	localData []byte
	// psk returns the shared secret for the peer's identity, or nil.
	psk          func(idType wire.IDType, id []byte) []byte
	espProposals []Proposal
	// localTS are the subnets behind us; the peer's TSr is narrowed to them
	// (RFC 7296 §2.9).
	localTS []esp.Selector
	pools   Pools
	dns     []netip.Addr
}

// childResult is the CHILD_SA the exchange created.
type childResult struct {
	Proposal          Proposal // with the peer's SPI
	InSPI             uint32   // ours: where the peer sends
	OutSPI            uint32   // the peer's
	Keys              *ChildKeys
	LocalTS, RemoteTS []esp.Selector
	VIPs              []netip.Addr
	PeerIDType        wire.IDType
	PeerID            []byte
}

// Respond verifies an encrypted IKE_AUTH request of the IKE SA set up by
// init and builds the encrypted response. A *NotifyError means the response
// (if any) carries that error.
func (r *authResponder) Respond(init *saInitResult, m *wire.Message) (resp []byte, child *childResult, err error) {
	send, recv, err := init.Keys.SKCiphers(init.Proposal, false)
	if err != nil {
		return nil, nil, err
	}
	h := m.Header
	if h.Exchange != wire.ExchangeIKEAuth || h.IsResponse() || h.InitiatorSPI != init.SPIi || h.ResponderSPI != init.SPIr || h.MessageID != 1 {
		return nil, nil, errors.New("ike: not the IKE_AUTH request of this IKE SA")
	}
	inner, err := wire.DecryptMessage(m, recv)
	if err != nil {
		return nil, nil, err // RFC 7296 §2.21.2: drop what does not verify
	}
	reply := func(ps ...wire.Payload) ([]byte, error) {
		hdr := wire.Header{InitiatorSPI: init.SPIi, ResponderSPI: init.SPIr, Exchange: wire.ExchangeIKEAuth,
			Flags: wire.FlagResponse, MessageID: h.MessageID, MajorVersion: 2}
		return wire.EncryptMessage(hdr, ps, send, r.rand)
	}
	fail := func(n wire.NotifyType, reason string) ([]byte, *childResult, error) {
		out, err := reply(&wire.Notify{Kind: n})
		if err != nil {
			return nil, nil, err
		}
		return out, nil, &NotifyError{n, reason}
	}
	if err := wire.CheckRules(wire.ExchangeIKEAuth, false, true, inner); err != nil {
		return fail(wire.NotifyInvalidSyntax, err.Error())
	}
	var idi *wire.ID
	for _, p := range inner {
		if id, ok := p.(*wire.ID); ok && !id.Responder {
			idi = id
		}
	}
	auth, okAuth := wire.Find[*wire.Auth](inner)
	if idi == nil || !okAuth || auth.Method != wire.AuthPSK {
		return fail(wire.NotifyAuthenticationFailed, "only PSK authentication is implemented")
	}
	psk := r.psk(idi.IDType, idi.Data)
	if psk == nil {
		return fail(wire.NotifyAuthenticationFailed, fmt.Sprintf("no PSK for %v %q", idi.IDType, idi.Data))
	}
	want, err := pskAuth(init.Keys.PRF, psk, init.Request, init.Nr, init.Keys.SKpi, idi.Body())
	if err != nil {
		return nil, nil, err
	}
	if subtle.ConstantTimeCompare(want, auth.Data) != 1 {
		return fail(wire.NotifyAuthenticationFailed, "the peer's AUTH does not verify with the PSK")
	}

	// Our side of the authentication.
	idr := &wire.ID{Responder: true, IDType: r.localID, Data: r.localData}
	idrBody, err := idBody(idr)
	if err != nil {
		return nil, nil, err
	}
	ourAuth, err := pskAuth(init.Keys.PRF, psk, init.Response, init.Ni, init.Keys.SKpr, idrBody)
	if err != nil {
		return nil, nil, err
	}
	out := []wire.Payload{idr, &wire.Auth{Method: wire.AuthPSK, Data: ourAuth}}

	// The CHILD_SA.
	child = &childResult{PeerIDType: idi.IDType, PeerID: append([]byte(nil), idi.Data...)}
	sa, _ := wire.Find[*wire.SA](inner)
	var tsi, tsr *wire.TS
	for _, p := range inner {
		if ts, ok := p.(*wire.TS); ok {
			if ts.Responder {
				tsr = ts
			} else {
				tsi = ts
			}
		}
	}
	if sa == nil || tsi == nil || tsr == nil {
		// A childless IKE SA is not offered: RFC 6023 is not implemented.
		return fail(wire.NotifyInvalidSyntax, "IKE_AUTH without a CHILD_SA")
	}
	if cp, ok := wire.Find[*wire.CP](inner); ok && cp.CfgType == wire.CfgRequest {
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
		if len(req) > 0 {
			vips, err := r.pools.AcquireAll(string(idi.Data), req)
			if err != nil || len(vips) == 0 {
				return fail(wire.NotifyInternalAddressFailure, fmt.Sprintf("no virtual IP: %v", err))
			}
			child.VIPs = vips
			reply := &wire.CP{CfgType: wire.CfgReply}
			for _, v := range vips {
				t := wire.CPInternalIP4Address
				if v.Is6() {
					t = wire.CPInternalIP6Address
					b := append(v.AsSlice(), 128)
					reply.Attributes = append(reply.Attributes, wire.CPAttribute{Type: t, Value: b})
					continue
				}
				reply.Attributes = append(reply.Attributes, wire.CPAttribute{Type: t, Value: v.AsSlice()})
			}
			for _, d := range r.dns {
				t := wire.CPInternalIP4DNS
				if d.Is6() {
					t = wire.CPInternalIP6DNS
				}
				reply.Attributes = append(reply.Attributes, wire.CPAttribute{Type: t, Value: d.AsSlice()})
			}
			out = append(out, reply)
		}
	}
	received := ProposalsFromSA(sa)
	sel, ok := Select(r.espProposals, received, true)
	if !ok || len(sel.SPI) != 4 {
		out = append(out, &wire.Notify{Kind: wire.NotifyNoProposalChosen})
		b, err := reply(out...)
		return b, nil, errors.Join(err, &NotifyError{wire.NotifyNoProposalChosen, "no ESP proposal matches"})
	}
	// TSi: the peer's side, narrowed to its virtual IPs when it has any;
	// TSr: our subnets within what it asked for.
	var remoteTS []esp.Selector
	if len(child.VIPs) > 0 {
		for _, v := range child.VIPs {
			remoteTS = append(remoteTS, esp.SelectorFromPrefix(netip.PrefixFrom(v, v.BitLen())))
		}
	} else {
		remoteTS = fromWireTS(tsi.Selectors)
	}
	localTS := narrow(r.localTS, fromWireTS(tsr.Selectors))
	if len(localTS) == 0 || len(remoteTS) == 0 {
		out = append(out, &wire.Notify{Kind: wire.NotifyTSUnacceptable})
		b, err := reply(out...)
		return b, nil, errors.Join(err, &NotifyError{wire.NotifyTSUnacceptable, "no traffic selectors in common"})
	}
	var spi [4]byte
	for binary.BigEndian.Uint32(spi[:]) < 256 {
		if _, err := io.ReadFull(r.rand, spi[:]); err != nil {
			return nil, nil, err
		}
	}
	child.OutSPI = binary.BigEndian.Uint32(sel.SPI)
	child.InSPI = binary.BigEndian.Uint32(spi[:])
	child.Proposal = sel
	child.LocalTS, child.RemoteTS = localTS, remoteTS
	if child.Keys, err = init.Keys.ChildKeys(sel, nil, init.Ni, init.Nr); err != nil {
		return nil, nil, err
	}
	ours := sel
	ours.SPI = spi[:]
	out = append(out, SAPayload([]Proposal{ours}),
		&wire.TS{Selectors: toWireTS(remoteTS)},
		&wire.TS{Responder: true, Selectors: toWireTS(localTS)})
	resp, err = reply(out...)
	if err != nil {
		return nil, nil, err
	}
	return resp, child, nil
}

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
