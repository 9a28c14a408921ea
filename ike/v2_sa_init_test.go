package ike

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/ikego/ikego/ike/wire"
)

// detRand is deterministic randomness for exchange tests.
type detRand struct{ r *rand.ChaCha8 }

func newDetRand(seed byte) *detRand {
	var s [32]byte
	s[0] = seed
	return &detRand{rand.NewChaCha8(s)}
}

func (d *detRand) Read(p []byte) (int, error) { return d.r.Read(p) }

var (
	initAddr = netip.MustParseAddrPort("198.51.100.1:500")
	respAddr = netip.MustParseAddrPort("198.51.100.2:500")
)

func parse(t *testing.T, b []byte) *wire.Message {
	t.Helper()
	m, err := wire.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// saInitPair runs IKE_SA_INIT between the two tasks, message by message,
// and returns both results and the number of round trips.
func saInitPair(t *testing.T, i *saInitInitiator, r *saInitResponder, respSeen netip.AddrPort) (ri, rr *saInitResult, trips int) {
	t.Helper()
	for trips = 1; trips <= 5; trips++ {
		// IKE_SA_INIT { SA, KE, Ni, N(NATD_S), N(NATD_D), N(FRAG_SUP) } -->
		req, err := i.Request()
		if err != nil {
			t.Fatal(err)
		}
		resp, res, err := r.Respond(parse(t, req), respAddr, respSeen)
		if err != nil {
			t.Fatal(err)
		}
		// <-- IKE_SA_INIT { SA, KE, Nr, N(NATD_S), N(NATD_D) } or N(COOKIE) or N(INVALID_KE)
		out, retry, err := i.ProcessResponse(parse(t, resp))
		if err != nil {
			t.Fatal(err)
		}
		if !retry {
			if res == nil || out == nil {
				t.Fatal("exchange ended without results")
			}
			return out, res, trips
		}
		if res != nil {
			t.Fatal("responder kept state for a request it sent back")
		}
	}
	t.Fatal("too many round trips")
	return nil, nil, 0
}

func checkSameKeys(t *testing.T, a, b *saInitResult) {
	t.Helper()
	if a.SPIi != b.SPIi || a.SPIr != b.SPIr || a.SPIr == 0 {
		t.Fatalf("SPIs %x/%x vs %x/%x", a.SPIi, a.SPIr, b.SPIi, b.SPIr)
	}
	if a.Proposal.String() != b.Proposal.String() {
		t.Fatalf("proposals %v vs %v", a.Proposal, b.Proposal)
	}
	if !bytes.Equal(a.Request, b.Request) || !bytes.Equal(a.Response, b.Response) {
		t.Fatal("the two sides keep different IKE_SA_INIT messages")
	}
	if !bytes.Equal(a.Keys.SKd, b.Keys.SKd) || !bytes.Equal(a.Keys.SKei, b.Keys.SKei) || !bytes.Equal(a.Keys.SKpr, b.Keys.SKpr) {
		t.Fatal("the two sides derived different keys")
	}
}

func TestSAInit(t *testing.T) {
	for _, tc := range []struct{ name, initiator, responder, want string }{
		// The responder prefers its own order (strongSwan's
		// prefer_configured_proposals): its first proposal wins, after an
		// INVALID_KE_PAYLOAD round trip for ECP-384.
		{"strongswan-like default", "default", "aes256gcm16-prfsha384-ecp384, aes128-sha256-x25519", "IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384"},
		{"AEAD", "aes256gcm16-prfsha384-ecp384", "aes256gcm16-prfsha384-ecp384", "IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384"},
		{"chacha", "chacha20poly1305-prfsha256-x25519", "chacha20poly1305-prfsha256-x25519", "IKE:CHACHA20_POLY1305/PRF_HMAC_SHA2_256/CURVE_25519"},
		{"cbc modp", "aes256-sha256-modp2048", "aes256-sha256-modp2048", "IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ip := MustParseProposals(tc.initiator, wire.ProtocolIKE)
			rp := MustParseProposals(tc.responder, wire.ProtocolIKE)
			i, err := newSAInitInitiator(newDetRand(1), ip, initAddr, respAddr, false)
			if err != nil {
				t.Fatal(err)
			}
			r := &saInitResponder{rand: newDetRand(2), proposals: rp}
			ri, rr, _ := saInitPair(t, i, r, initAddr)
			checkSameKeys(t, ri, rr)
			if got := ri.Proposal.String(); got != tc.want {
				t.Fatalf("selected %s, want %s", got, tc.want)
			}
			if ri.NAT.Any() || rr.NAT.Any() {
				t.Fatalf("NAT detected without NAT: %+v %+v", ri.NAT, rr.NAT)
			}
			if !ri.FragmentationSupported || !rr.FragmentationSupported {
				t.Fatal("fragmentation support not negotiated")
			}
		})
	}
}

// TestSAInitInvalidKE: the initiator guesses Curve25519, the responder wants
// ECP-256: one INVALID_KE_PAYLOAD round trip, then success.
func TestSAInitInvalidKE(t *testing.T) {
	ip := MustParseProposals("aes128-sha256-x25519-ecp256", wire.ProtocolIKE)
	rp := MustParseProposals("aes128-sha256-ecp256", wire.ProtocolIKE)
	i, _ := newSAInitInitiator(newDetRand(3), ip, initAddr, respAddr, false)
	ri, rr, trips := saInitPair(t, i, &saInitResponder{rand: newDetRand(4), proposals: rp}, initAddr)
	if trips != 2 {
		t.Fatalf("%d round trips, want 2", trips)
	}
	checkSameKeys(t, ri, rr)
	if ri.Proposal.Group() != 19 {
		t.Fatalf("group %v", ri.Proposal.Group())
	}
}

// TestSAInitCookie: a responder that demands cookies answers the first
// request with one and keeps nothing; the second request carries it.
func TestSAInitCookie(t *testing.T) {
	p := MustParseProposals("aes128-sha256-x25519", wire.ProtocolIKE)
	i, _ := newSAInitInitiator(newDetRand(5), p, initAddr, respAddr, false)
	r := &saInitResponder{rand: newDetRand(6), proposals: p, cookies: &Cookies{Rand: newDetRand(7)}}
	ri, rr, trips := saInitPair(t, i, r, initAddr)
	if trips != 2 {
		t.Fatalf("%d round trips, want 2", trips)
	}
	checkSameKeys(t, ri, rr)
	first := parse(t, ri.Request).Payloads[0]
	if n, ok := first.(*wire.Notify); !ok || n.Kind != wire.NotifyCookie {
		t.Fatalf("the cookie is not the first payload: %T", first)
	}
	// A cookie for another source address is refused: the answer is a new
	// cookie.
	req, _ := i.Request()
	resp, res, err := r.Respond(parse(t, req), respAddr, netip.MustParseAddrPort("198.51.100.9:500"))
	if err != nil || res != nil {
		t.Fatalf("spoofed source: %v %v", res, err)
	}
	if _, ok := wire.FindNotify(parse(t, resp).Payloads, wire.NotifyCookie); !ok {
		t.Fatal("spoofed source not answered with a cookie")
	}
}

// TestSAInitNoProposal: strict proposals that do not overlap.
func TestSAInitNoProposal(t *testing.T) {
	i, _ := newSAInitInitiator(newDetRand(8), MustParseProposals("aes128-sha256-x25519", wire.ProtocolIKE), initAddr, respAddr, false)
	r := &saInitResponder{rand: newDetRand(9), proposals: MustParseProposals("aes256gcm16-prfsha384-ecp384", wire.ProtocolIKE)}
	req, _ := i.Request()
	resp, res, err := r.Respond(parse(t, req), respAddr, initAddr)
	var ne *NotifyError
	if res != nil || !errors.As(err, &ne) || ne.Notify != wire.NotifyNoProposalChosen {
		t.Fatalf("responder: %v %v", res, err)
	}
	if _, _, err := i.ProcessResponse(parse(t, resp)); !errors.As(err, &ne) || ne.Notify != wire.NotifyNoProposalChosen {
		t.Fatalf("initiator: %v", err)
	}
}

// TestSAInitNAT: the responder sees the initiator from a NAT's address, and
// a forced encapsulation fakes it.
func TestSAInitNAT(t *testing.T) {
	p := MustParseProposals("aes128-sha256-x25519", wire.ProtocolIKE)
	i, _ := newSAInitInitiator(newDetRand(10), p, netip.MustParseAddrPort("198.18.64.2:500"), respAddr, false)
	ri, rr, _ := saInitPair(t, i, &saInitResponder{rand: newDetRand(11), proposals: p}, initAddr)
	if !rr.NAT.RemoteBehindNAT || rr.NAT.LocalBehindNAT {
		t.Fatalf("responder: %+v", rr.NAT)
	}
	if !ri.NAT.LocalBehindNAT || ri.NAT.RemoteBehindNAT {
		t.Fatalf("initiator: %+v", ri.NAT)
	}
	i, _ = newSAInitInitiator(newDetRand(12), p, initAddr, respAddr, true)
	_, rr, _ = saInitPair(t, i, &saInitResponder{rand: newDetRand(13), proposals: p}, initAddr)
	if !rr.NAT.RemoteBehindNAT {
		t.Fatal("forced encapsulation not seen as a NAT")
	}
}

// TestSAInitBadResponses: responses that are not what was offered.
func TestSAInitBadResponses(t *testing.T) {
	p := MustParseProposals("aes128-sha256-x25519", wire.ProtocolIKE)
	i, _ := newSAInitInitiator(newDetRand(14), p, initAddr, respAddr, false)
	req, _ := i.Request()
	// A responder that chooses something else than offered.
	other := &saInitResponder{rand: newDetRand(15), proposals: MustParseProposals("aes256-sha256-x25519", wire.ProtocolIKE)}
	m := parse(t, req)
	sa, _ := wire.Find[*wire.SA](m.Payloads)
	*sa = *SAPayload(MustParseProposals("aes256-sha256-x25519", wire.ProtocolIKE))
	forged, _ := m.Marshal()
	resp, _, err := other.Respond(parse(t, forged), respAddr, initAddr)
	if err != nil {
		t.Fatal(err)
	}
	var ne *NotifyError
	if _, _, err := i.ProcessResponse(parse(t, resp)); !errors.As(err, &ne) || ne.Notify != wire.NotifyNoProposalChosen {
		t.Fatalf("unoffered choice accepted: %v", err)
	}
	// INVALID_KE_PAYLOAD for a group we never offered.
	bad := wire.Message{Header: wire.Header{InitiatorSPI: i.spii, Exchange: wire.ExchangeIKESAInit, Flags: wire.FlagResponse, MajorVersion: 2},
		Payloads: []wire.Payload{&wire.Notify{Kind: wire.NotifyInvalidKEPayload, Data: []byte{0, 2}}}}
	b, _ := bad.Marshal()
	if _, retry, err := i.ProcessResponse(parse(t, b)); retry || !errors.As(err, &ne) {
		t.Fatalf("INVALID_KE for an unoffered group: retry=%v %v", retry, err)
	}
}
