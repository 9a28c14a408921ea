package ike

import (
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"

	"github.com/ikego/ikego/ike/wire"
)

// The IKE_SA_INIT exchange (RFC 7296 §1.2): the first message pair of an IKE
// SA, which negotiates its algorithms, exchanges key shares and nonces, and
// detects NATs.
//
//	Initiator                          Responder
//	HDR, SAi1, KEi, Ni, N(NATD)... -->
//	                               <-- HDR, SAr1, KEr, Nr, N(NATD)..., [CERTREQ]
//
// The responder may instead answer with N(COOKIE) (§2.6) or
// N(INVALID_KE_PAYLOAD) (§1.2, §2.7); the initiator then repeats its request
// with the cookie or with the group asked for. Both sides keep the messages
// exactly as sent and received: IKE_AUTH signs them (§2.15).
//
// This file holds the exchange as two small tasks without I/O, so that the
// session that drives them (retransmission, message IDs, the IKE_AUTH that
// follows) can be built on them and they can be tested message by message.

// Errors of the IKE_SA_INIT exchange. A *NotifyError carries the notify the
// peer sent or that we answer with.
var (
	ErrNoProposalChosen = errors.New("ike: no proposal chosen")
	ErrTooManyRetries   = errors.New("ike: IKE_SA_INIT retried too often")
)

// NotifyError is an IKE_SA_INIT that ended in an error notification, sent or
// received.
type NotifyError struct {
	Notify wire.NotifyType
	Reason string
}

// Error returns the message.
func (e *NotifyError) Error() string {
	return fmt.Sprintf("ike: %v: %s", e.Notify, e.Reason)
}

// saInitResult is what both sides know after IKE_SA_INIT.
type saInitResult struct {
	SPIi, SPIr uint64
	Proposal   Proposal
	Ni, Nr     []byte
	Keys       *IKEKeys
	NAT        NATResult
	// Request and Response are the two messages as sent and received.
	Request, Response []byte
	// FragmentationSupported: the peer sent IKEV2_FRAGMENTATION_SUPPORTED.
	FragmentationSupported bool
	// PeerHashes are the hash algorithms of the peer's
	// SIGNATURE_HASH_ALGORITHMS (RFC 7427), empty without one.
	PeerHashes []uint16
}

// saInitInitiator is the initiator's task.
type saInitInitiator struct {
	rand          io.Reader
	proposals     []Proposal
	local, remote netip.AddrPort
	forceEncap    bool
	spii          uint64
	ni            []byte
	share         *KeyShare
	cookie        []byte
	retries       int
	request       []byte
	// noFragmentation leaves IKEV2_FRAGMENTATION_SUPPORTED out.
	noFragmentation bool
	// redirectedFrom is the gateway that redirected us here (RFC 5685),
	// redirects how often that happened.
	redirectedFrom netip.Addr
	redirects      int
}

// maxRedirects bounds the redirects an initiator follows (RFC 5685 §9:
// against loops).
const maxRedirects = 5

// RedirectError is an IKE_SA_INIT answered with a REDIRECT (RFC 5685):
// the initiator is to try Gateway.
type RedirectError struct{ Gateway netip.Addr }

// Error returns the message.
func (e *RedirectError) Error() string { return "ike: redirected to " + e.Gateway.String() }

// gwIdent encodes a gateway identity of REDIRECT and REDIRECTED_FROM
// (RFC 5685 §8: type 1 IPv4, 2 IPv6, then the length and the address).
func gwIdent(a netip.Addr) []byte {
	a = a.Unmap()
	t := byte(1)
	if a.Is6() {
		t = 2
	}
	b := a.AsSlice()
	return append([]byte{t, byte(len(b))}, b...)
}

// parseGWIdent decodes a gateway identity and returns the rest (the nonce
// of a REDIRECT in IKE_SA_INIT). FQDN identities (type 3) are not
// followed: we would have to resolve names.
func parseGWIdent(d []byte) (netip.Addr, []byte, error) {
	if len(d) < 2 || len(d) < 2+int(d[1]) {
		return netip.Addr{}, nil, errors.New("ike: truncated gateway identity")
	}
	t, id, rest := d[0], d[2:2+int(d[1])], d[2+int(d[1]):]
	a, ok := netip.AddrFromSlice(id)
	if !ok || (t == 1 && len(id) != 4) || (t == 2 && len(id) != 16) || (t != 1 && t != 2) {
		return netip.Addr{}, nil, fmt.Errorf("ike: gateway identity of type %d not supported", t)
	}
	return a, rest, nil
}

// redirect makes the next Request go to gw, telling it where we came from.
func (x *saInitInitiator) redirect(gw netip.AddrPort) error {
	if x.redirects++; x.redirects > maxRedirects {
		return errors.New("ike: redirected too often")
	}
	x.redirectedFrom = x.remote.Addr()
	x.remote = gw
	x.cookie = nil
	return nil
}

// maxSAInitRetries bounds the COOKIE and INVALID_KE_PAYLOAD round trips.
const maxSAInitRetries = 4

// newSAInitInitiator picks the SPI, nonce and first key share.
func newSAInitInitiator(r io.Reader, proposals []Proposal, local, remote netip.AddrPort, forceEncap bool) (*saInitInitiator, error) {
	if len(proposals) == 0 {
		return nil, errors.New("ike: no IKE proposals configured")
	}
	x := &saInitInitiator{rand: r, proposals: proposals, local: local, remote: remote, forceEncap: forceEncap}
	var b [8]byte
	for x.spii == 0 {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, err
		}
		x.spii = binary.BigEndian.Uint64(b[:])
	}
	// RFC 7296 §2.10: at least half the PRF's key size, and at least 128
	// bits; 32 octets covers every PRF here.
	x.ni = make([]byte, 32)
	if _, err := io.ReadFull(r, x.ni); err != nil {
		return nil, err
	}
	return x, x.newShare(proposals[0].Group())
}

func (x *saInitInitiator) newShare(g Group) error {
	s, err := NewKeyShare(g, x.rand)
	if err != nil {
		return err
	}
	x.share = s
	return nil
}

// natdNotifies returns the NAT detection notifications for a message from
// local to remote.
func natdNotifies(r io.Reader, spii, spir uint64, local, remote netip.AddrPort, fake bool) ([]wire.Payload, error) {
	src := NATHash(spii, spir, local)
	if fake {
		var err error
		if src, err = FakeNATHash(r); err != nil {
			return nil, err
		}
	}
	dst := NATHash(spii, spir, remote)
	return []wire.Payload{
		&wire.Notify{Kind: wire.NotifyNATDetectionSourceIP, Data: src[:]},
		&wire.Notify{Kind: wire.NotifyNATDetectionDestinationIP, Data: dst[:]},
	}, nil
}

// Request builds the IKE_SA_INIT request (again, after a retry).
func (x *saInitInitiator) Request() ([]byte, error) {
	var ps []wire.Payload
	if x.cookie != nil {
		// RFC 7296 §2.6: the cookie comes first.
		ps = append(ps, &wire.Notify{Kind: wire.NotifyCookie, Data: x.cookie})
	}
	ps = append(ps, SAPayload(x.proposals),
		&wire.KE{Group: wire.DHGroup(x.share.Group()), Data: x.share.Public()},
		&wire.Nonce{Data: x.ni})
	natd, err := natdNotifies(x.rand, x.spii, 0, x.local, x.remote, x.forceEncap)
	if err != nil {
		return nil, err
	}
	ps = append(ps, natd...)
	if !x.noFragmentation {
		ps = append(ps, &wire.Notify{Kind: wire.NotifyFragmentationSupported})
	}
	ps = append(ps, signatureHashNotify())
	if x.redirectedFrom.IsValid() {
		ps = append(ps, &wire.Notify{Kind: wire.NotifyRedirectedFrom, Data: gwIdent(x.redirectedFrom)})
	} else {
		ps = append(ps, &wire.Notify{Kind: wire.NotifyRedirectSupported})
	}
	m := wire.Message{
		Header:   wire.Header{InitiatorSPI: x.spii, Exchange: wire.ExchangeIKESAInit, Flags: wire.FlagInitiator, MajorVersion: 2},
		Payloads: ps,
	}
	b, err := m.Marshal()
	if err != nil {
		return nil, err
	}
	x.request = b
	return b, nil
}

// ProcessResponse handles the responder's answer. retry reports that the
// request must be sent again (Request builds it, with the cookie or the new
// key share); res is set when the exchange is complete.
func (x *saInitInitiator) ProcessResponse(m *wire.Message) (res *saInitResult, retry bool, err error) {
	if m.Header.Exchange != wire.ExchangeIKESAInit || !m.Header.IsResponse() || m.Header.InitiatorSPI != x.spii {
		return nil, false, errors.New("ike: not a response to our IKE_SA_INIT")
	}
	if n, ok := wire.FindNotify(m.Payloads, wire.NotifyRedirect); ok {
		gw, nonce, err := parseGWIdent(n.Data)
		if err != nil {
			return nil, false, err
		}
		if subtle.ConstantTimeCompare(nonce, x.ni) != 1 {
			return nil, false, errors.New("ike: REDIRECT without our nonce")
		}
		return nil, false, &RedirectError{Gateway: gw}
	}
	if n, ok := wire.FindNotify(m.Payloads, wire.NotifyCookie); ok {
		if x.retries++; x.retries > maxSAInitRetries {
			return nil, false, ErrTooManyRetries
		}
		x.cookie = append([]byte(nil), n.Data...)
		return nil, true, nil
	}
	if n, ok := wire.FindNotify(m.Payloads, wire.NotifyInvalidKEPayload); ok {
		if len(n.Data) != 2 {
			return nil, false, &NotifyError{wire.NotifyInvalidKEPayload, "without a group"}
		}
		g := Group(binary.BigEndian.Uint16(n.Data))
		offered := false
		for _, p := range x.proposals {
			offered = offered || p.Has(wire.TransformKE, uint16(g))
		}
		if !offered || g == x.share.Group() {
			return nil, false, &NotifyError{wire.NotifyInvalidKEPayload, fmt.Sprintf("peer asks for %v, which we did not offer", g)}
		}
		if x.retries++; x.retries > maxSAInitRetries {
			return nil, false, ErrTooManyRetries
		}
		return nil, true, x.newShare(g)
	}
	for _, p := range m.Payloads {
		if n, ok := p.(*wire.Notify); ok && n.Kind < 16384 {
			return nil, false, &NotifyError{n.Kind, "refused by the peer"}
		}
	}
	if err := wire.CheckRules(wire.ExchangeIKESAInit, true, false, m.Payloads); err != nil {
		return nil, false, err
	}
	sa, _ := wire.Find[*wire.SA](m.Payloads)
	ke, _ := wire.Find[*wire.KE](m.Payloads)
	nr, _ := wire.Find[*wire.Nonce](m.Payloads)
	chosen := ProposalsFromSA(sa)
	if len(chosen) != 1 {
		return nil, false, &NotifyError{wire.NotifyInvalidSyntax, "the response must hold one proposal"}
	}
	// The responder's choice must be one we offered (RFC 7296 §2.7).
	sel, ok := Select(x.proposals, chosen, false)
	if !ok || !singleTransforms(chosen[0]) || !sel.sameTransforms(&chosen[0]) {
		return nil, false, &NotifyError{wire.NotifyNoProposalChosen, "the peer chose " + chosen[0].String() + ", which we did not offer"}
	}
	if Group(ke.Group) != x.share.Group() || sel.Group() != x.share.Group() {
		return nil, false, &NotifyError{wire.NotifyInvalidKEPayload, "the peer's key exchange does not match the proposal"}
	}
	shared, err := x.share.Shared(ke.Data)
	if err != nil {
		return nil, false, err
	}
	spir := m.Header.ResponderSPI
	keys, err := DeriveIKEKeys(sel, shared, x.ni, nr.Data, x.spii, spir)
	if err != nil {
		return nil, false, err
	}
	res = &saInitResult{SPIi: x.spii, SPIr: spir, Proposal: sel, Ni: x.ni, Nr: append([]byte(nil), nr.Data...),
		Keys: keys, Request: x.request, Response: append([]byte(nil), m.Raw...)}
	res.NAT, _ = detectNAT(m.Payloads, x.spii, spir, x.local, x.remote)
	_, res.FragmentationSupported = wire.FindNotify(m.Payloads, wire.NotifyFragmentationSupported)
	res.FragmentationSupported = res.FragmentationSupported && !x.noFragmentation
	if n, ok := wire.FindNotify(m.Payloads, wire.NotifySignatureHashAlgorithms); ok {
		res.PeerHashes = n.SignatureHashAlgorithms()
	}
	return res, false, nil
}

// singleTransforms reports whether p has at most one transform of each type,
// as a selected proposal must (RFC 7296 §3.3).
func singleTransforms(p Proposal) bool {
	for _, l := range [][]Transform{p.Encr, p.PRF, p.Integ, p.KE, p.ESN} {
		if len(l) > 1 {
			return false
		}
	}
	return true
}

// detectNAT runs NAT detection on the notifications of a message received
// on local from remote.
func detectNAT(ps []wire.Payload, spii, spir uint64, local, remote netip.AddrPort) (NATResult, bool) {
	var src [][]byte
	var dst []byte
	for _, p := range ps {
		if n, ok := p.(*wire.Notify); ok {
			switch n.Kind {
			case wire.NotifyNATDetectionSourceIP:
				src = append(src, n.Data)
			case wire.NotifyNATDetectionDestinationIP:
				dst = n.Data
			}
		}
	}
	return DetectNAT(spii, spir, local, remote, src, dst)
}

// saInitResponder is the responder's side: configuration for answering
// IKE_SA_INIT requests.
type saInitResponder struct {
	rand       io.Reader
	proposals  []Proposal
	forceEncap bool
	// cookies, when set, requires a valid cookie on every request (the
	// Manager sets it when half-open SAs pile up).
	cookies *Cookies
	// certReq, when set, is sent with the response: the CAs whose
	// certificates we accept (strongSwan sends its certificate only when
	// asked).
	certReq *wire.CertReq
}

// Respond answers an IKE_SA_INIT request that arrived on local from remote.
// It returns the response to send, and the result when the exchange
// completed: for a COOKIE or INVALID_KE_PAYLOAD answer res is nil and
// nothing needs to be kept (§2.6: no state for such requests). An error
// with a response is a NotifyError the response carries; an error without
// one means the request is to be dropped.
func (r *saInitResponder) Respond(m *wire.Message, local, remote netip.AddrPort) (resp []byte, res *saInitResult, err error) {
	h := m.Header
	if h.Exchange != wire.ExchangeIKESAInit || h.IsResponse() || !h.IsInitiator() || h.ResponderSPI != 0 || h.MessageID != 0 {
		return nil, nil, errors.New("ike: not an IKE_SA_INIT request")
	}
	if err := wire.CheckRules(wire.ExchangeIKESAInit, false, false, m.Payloads); err != nil {
		return nil, nil, err
	}
	sa, _ := wire.Find[*wire.SA](m.Payloads)
	ke, _ := wire.Find[*wire.KE](m.Payloads)
	ni, _ := wire.Find[*wire.Nonce](m.Payloads)
	reply := func(spir uint64, ps ...wire.Payload) ([]byte, error) {
		out := wire.Message{
			Header: wire.Header{InitiatorSPI: h.InitiatorSPI, ResponderSPI: spir, Exchange: wire.ExchangeIKESAInit,
				Flags: wire.FlagResponse, MajorVersion: 2},
			Payloads: ps,
		}
		return out.Marshal()
	}
	if r.cookies != nil {
		n, ok := wire.FindNotify(m.Payloads, wire.NotifyCookie)
		if !ok || !r.cookies.Verify(n.Data, ni.Data, remote.Addr(), h.InitiatorSPI) {
			c, err := r.cookies.Make(ni.Data, remote.Addr(), h.InitiatorSPI)
			if err != nil {
				return nil, nil, err
			}
			resp, err := reply(0, &wire.Notify{Kind: wire.NotifyCookie, Data: c})
			return resp, nil, err
		}
	}
	received := ProposalsFromSA(sa)
	sel, ok := Select(r.proposals, received, true)
	if !ok {
		resp, err := reply(0, &wire.Notify{Kind: wire.NotifyNoProposalChosen})
		if err != nil {
			return nil, nil, err
		}
		return resp, nil, &NotifyError{wire.NotifyNoProposalChosen, "received proposals: " + FormatProposals(received) +
			"; configured proposals: " + FormatProposals(r.proposals)}
	}
	if Group(ke.Group) != sel.Group() {
		// RFC 7296 §1.2: ask for the group of the selected proposal.
		var g [2]byte
		binary.BigEndian.PutUint16(g[:], uint16(sel.Group()))
		resp, err := reply(0, &wire.Notify{Kind: wire.NotifyInvalidKEPayload, Data: g[:]})
		return resp, nil, err
	}
	share, err := NewKeyShare(sel.Group(), r.rand)
	if err != nil {
		return nil, nil, err
	}
	shared, err := share.Shared(ke.Data)
	if err != nil {
		// RFC 7296 §2.12 and RFC 6989: a bad public value.
		resp, rerr := reply(0, &wire.Notify{Kind: wire.NotifyInvalidSyntax})
		if rerr != nil {
			return nil, nil, rerr
		}
		return resp, nil, &NotifyError{wire.NotifyInvalidSyntax, err.Error()}
	}
	var b [8]byte
	var spir uint64
	for spir == 0 {
		if _, err := io.ReadFull(r.rand, b[:]); err != nil {
			return nil, nil, err
		}
		spir = binary.BigEndian.Uint64(b[:])
	}
	nr := make([]byte, 32)
	if _, err := io.ReadFull(r.rand, nr); err != nil {
		return nil, nil, err
	}
	keys, err := DeriveIKEKeys(sel, shared, ni.Data, nr, h.InitiatorSPI, spir)
	if err != nil {
		return nil, nil, err
	}
	natd, err := natdNotifies(r.rand, h.InitiatorSPI, spir, local, remote, r.forceEncap)
	if err != nil {
		return nil, nil, err
	}
	ps := []wire.Payload{SAPayload([]Proposal{sel}),
		&wire.KE{Group: wire.DHGroup(sel.Group()), Data: share.Public()},
		&wire.Nonce{Data: nr}}
	ps = append(ps, natd...)
	_, frag := wire.FindNotify(m.Payloads, wire.NotifyFragmentationSupported)
	if frag {
		ps = append(ps, &wire.Notify{Kind: wire.NotifyFragmentationSupported})
	}
	var hashes []uint16
	if n, ok := wire.FindNotify(m.Payloads, wire.NotifySignatureHashAlgorithms); ok {
		hashes = n.SignatureHashAlgorithms()
		ps = append(ps, signatureHashNotify())
	}
	if r.certReq != nil {
		ps = append(ps, r.certReq)
	}
	resp, err = reply(spir, ps...)
	if err != nil {
		return nil, nil, err
	}
	res = &saInitResult{SPIi: h.InitiatorSPI, SPIr: spir, Proposal: sel, Ni: append([]byte(nil), ni.Data...), Nr: nr,
		Keys: keys, Request: append([]byte(nil), m.Raw...), Response: resp, FragmentationSupported: frag, PeerHashes: hashes}
	// The request carried SPIr = 0 in its NAT detection hashes.
	res.NAT, _ = detectNAT(m.Payloads, h.InitiatorSPI, 0, local, remote)
	return resp, res, nil
}
