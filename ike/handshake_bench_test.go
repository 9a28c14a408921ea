package ike

import (
	crand "crypto/rand"
	"crypto/subtle"
	"net/netip"
	"testing"
	"time"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike/wire"
	"github.com/ikego/ikego/pki"
)

// Handshake benchmarks: complete IKEv2 handshakes (IKE_SA_INIT + IKE_AUTH
// with PSK and one CHILD_SA) between two Managers in one process, beside
// the DH and PRF work such a handshake cannot do without (the "ceiling").
// The target is a handshake rate of at least 0.7 of the ceiling's.
//
// Both use crypto/rand (Config.Rand and the key shares' reader are nil), as
// a gateway does. That is fair to both sides of the ratio: the key shares'
// private keys come from the same reader in the ceiling as in the
// handshake, and what else the handshake reads (SPIs, nonces, IVs,
// padding: a few dozen octets per message) is work a real handshake pays.
// On Linux 6.11+ crypto/rand is the vDSO getrandom, tens of nanoseconds
// per read.

// handshakeCases are the IKE proposals benchmarked, strict on both ends.
var handshakeCases = []struct {
	name, ike string
	group     Group
}{
	{"ecp256", "aes128gcm16-prfsha256-ecp256", GroupECP256},
	{"x25519", "aes128gcm16-prfsha256-x25519", GroupCurve25519},
}

const handshakeESP = "aes128gcm16"

// hsBench is an initiator and a responder Manager wired back to back: a
// roadwarrior with a virtual IP and a gateway, PSK on both ends.
type hsBench struct {
	i, r     *Manager
	ic, rc   *capture
	idp, rdp *recDP
	pool     *Pool
	// up counts IKE and CHILD_SA up events of both sides: 4 per handshake.
	up int
}

func benchID(tb testing.TB, s string) pki.Identity {
	tb.Helper()
	id, err := pki.ParseIdentity(s)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

func newHSBench(tb testing.TB, ikeProposal string) *hsBench {
	tb.Helper()
	pool, err := NewPool("rw4", netip.MustParsePrefix("198.18.200.0/28"))
	if err != nil {
		tb.Fatal(err)
	}
	child := func(name string, local, remote []esp.Selector) *ChildConfig {
		return &ChildConfig{Name: name, LocalTS: local, RemoteTS: remote, Strict: true,
			ESPProposals: MustParseProposals(handshakeESP, wire.ProtocolESP)}
	}
	client := &PeerConfig{Name: "home", RemoteHost: respAddr, LocalAddr: initAddr.Addr(), RequestVIP: true,
		IKEProposals: MustParseProposals(ikeProposal, wire.ProtocolIKE), Strict: true,
		Local:    AuthConfig{Method: AuthPSK, ID: benchID(tb, "client1@example.com"), PSK: testPSK},
		Remote:   AuthConfig{Method: AuthPSK, ID: benchID(tb, "vpn.example.com"), PSK: testPSK},
		Children: []*ChildConfig{child("net", nil, []esp.Selector{esp.SelectorFromPrefix(netip.MustParsePrefix("0.0.0.0/0"))})}}
	gw := &PeerConfig{Name: "rw", Pools: []string{"rw4"}, DNS: []netip.Addr{netip.MustParseAddr("198.51.100.53")},
		IKEProposals: MustParseProposals(ikeProposal, wire.ProtocolIKE), Strict: true,
		Local:    AuthConfig{Method: AuthPSK, ID: benchID(tb, "vpn.example.com"), PSK: testPSK},
		Remote:   AuthConfig{Method: AuthPSK, ID: benchID(tb, "*@example.com"), PSK: testPSK},
		Children: []*ChildConfig{child("rw", testSubnets, nil)}}
	h := &hsBench{ic: &capture{}, rc: &capture{}, idp: newRecDP(1), rdp: newRecDP(2), pool: pool}
	onEvent := func(e Event) {
		if e.Kind == EventIKEUp || e.Kind == EventChildUp {
			h.up++ // the pair runs on one goroutine
		}
	}
	mk := func(peer *PeerConfig, dp *recDP, c *capture, pools Pools) *Manager {
		m, err := NewManager(Config{Peers: []*PeerConfig{peer}, Pools: pools, Dataplane: dp, Sender: c, OnEvent: onEvent})
		if err != nil {
			tb.Fatal(err)
		}
		m.manualTimers = true
		return m
	}
	h.i = mk(client, h.idp, h.ic, nil)
	h.r = mk(gw, h.rdp, h.rc, Pools{pool})
	return h
}

// shuttle delivers datagrams both ways until none are left and returns how
// many it delivered.
func (h *hsBench) shuttle() int {
	n := 0
	for {
		moved := false
		for _, ds := range [2]struct {
			from *capture
			to   *Manager
		}{{h.ic, h.r}, {h.rc, h.i}} {
			for _, d := range ds.from.take() {
				moved = true
				n++
				ds.to.receive(d.data, esp.Endpoint{Local: d.ep.Remote, Remote: d.ep.Local})
			}
		}
		if !moved || n > 16 {
			return n
		}
	}
}

// handshake runs one IKE_SA_INIT + IKE_AUTH with its CHILD_SA and checks
// that both sides came up; clear then empties both Managers.
func (h *hsBench) handshake(tb testing.TB) {
	h.connect(tb)
	h.clear()
}

// connect is the handshake alone: what a handshake costs the two ends.
func (h *hsBench) connect(tb testing.TB) {
	up := h.up
	if err := h.i.Initiate("home"); err != nil {
		tb.Fatal(err)
	}
	if n := h.shuttle(); n != 4 || h.up != up+4 {
		tb.Fatalf("%d messages, %d up events; want 4 and 4", n, h.up-up)
	}
}

// clear closes the SAs of both Managers without a delete exchange (no
// crypto): their CHILD_SAs leave the dataplane and the lease goes back to
// the pool. It is not part of a handshake and is not timed.
func (h *hsBench) clear() {
	for _, m := range [2]*Manager{h.i, h.r} {
		for _, b := range m.boxes() {
			m.with(b, func(s *session) { s.close(nil, false) })
		}
	}
}

// checkEmpty fails unless the handshakes left nothing behind.
func (h *hsBench) checkEmpty(tb testing.TB) {
	tb.Helper()
	for _, dp := range []*recDP{h.idp, h.rdp} {
		if a, b, c, d := dp.counts(); a+b+c+d != 0 {
			tb.Errorf("dataplane not empty: %d policies, %d in, %d out, %d SPIs", a, b, c, d)
		}
	}
	if len(h.i.boxes())+len(h.r.boxes()) != 0 || h.r.halfOpen != 0 || len(h.r.byInit) != 0 {
		tb.Errorf("SAs left: %d initiator, %d responder, %d half-open", len(h.i.boxes()), len(h.r.boxes()), h.r.halfOpen)
	}
	if h.pool.Online() != 0 {
		tb.Errorf("%d leases left", h.pool.Online())
	}
}

// hsCeiling is the DH and PRF work of one handshake, both sides: two key
// shares, two shared secrets, two IKE key derivations, four PSK AUTHs (each
// side computes its own and verifies the peer's) and two CHILD_SA key
// derivations. Its inputs are a real IKE_SA_INIT exchange's, so the PRFs
// hash as many octets as in the handshake. It leaves out the AEAD of the
// two IKE_AUTH messages, the NAT detection hashes and the digests of the
// requests kept for retransmissions, all small.
type hsCeiling struct {
	group        Group
	ike, esp     Proposal
	ni, nr       []byte
	spii, spir   uint64
	req, resp    []byte
	idi, idr     []byte
	psk          []byte
	sinkIKE      *IKEKeys
	sinkChildren *ChildKeys
}

func newHSCeiling(tb testing.TB, ikeProposal string, g Group) *hsCeiling {
	tb.Helper()
	props := MustParseProposals(ikeProposal, wire.ProtocolIKE)
	x, err := newSAInitInitiator(crand.Reader, props, initAddr, respAddr, false)
	if err != nil {
		tb.Fatal(err)
	}
	req, err := x.Request()
	if err != nil {
		tb.Fatal(err)
	}
	m, err := wire.Parse(req)
	if err != nil {
		tb.Fatal(err)
	}
	resp, res, err := (&saInitResponder{rand: crand.Reader, proposals: props}).Respond(m, respAddr, initAddr)
	if err != nil || res == nil {
		tb.Fatalf("IKE_SA_INIT: %v", err)
	}
	id := func(responder bool, s string) []byte {
		i := benchID(tb, s)
		b, err := idBody(&wire.ID{Responder: responder, IDType: wire.IDType(i.Type), Data: i.Data})
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	esp := MustParseProposals(handshakeESP, wire.ProtocolESP)[0]
	esp.SPI = []byte{1, 2, 3, 4}
	return &hsCeiling{group: g, ike: res.Proposal, esp: esp, ni: res.Ni, nr: res.Nr, spii: res.SPIi, spir: res.SPIr,
		req: req, resp: resp, idi: id(false, "client1@example.com"), idr: id(true, "vpn.example.com"), psk: testPSK}
}

// run does the crypto of one handshake, both sides.
func (c *hsCeiling) run(tb testing.TB) {
	// IKE_SA_INIT: KEi, KEr and g^ir on both sides, then the keys.
	ki, err := NewKeyShare(c.group, nil)
	if err != nil {
		tb.Fatal(err)
	}
	kr, err := NewKeyShare(c.group, nil)
	if err != nil {
		tb.Fatal(err)
	}
	sr, err := kr.Shared(ki.Public())
	if err != nil {
		tb.Fatal(err)
	}
	si, err := ki.Shared(kr.Public())
	if err != nil {
		tb.Fatal(err)
	}
	keysI, err := DeriveIKEKeys(c.ike, si, c.ni, c.nr, c.spii, c.spir)
	if err != nil {
		tb.Fatal(err)
	}
	keysR, err := DeriveIKEKeys(c.ike, sr, c.ni, c.nr, c.spii, c.spir)
	if err != nil {
		tb.Fatal(err)
	}
	// IKE_AUTH: the initiator's AUTH, made and verified, then the
	// responder's.
	prf := keysI.PRF
	authI, err := pskAuth(prf, c.psk, c.req, c.nr, keysI.SKpi, c.idi)
	if err != nil {
		tb.Fatal(err)
	}
	wantI, err := pskAuth(prf, c.psk, c.req, c.nr, keysR.SKpi, c.idi)
	if err != nil || subtle.ConstantTimeCompare(authI, wantI) != 1 {
		tb.Fatalf("initiator AUTH does not verify: %v", err)
	}
	authR, err := pskAuth(prf, c.psk, c.resp, c.ni, keysR.SKpr, c.idr)
	if err != nil {
		tb.Fatal(err)
	}
	wantR, err := pskAuth(prf, c.psk, c.resp, c.ni, keysI.SKpr, c.idr)
	if err != nil || subtle.ConstantTimeCompare(authR, wantR) != 1 {
		tb.Fatalf("responder AUTH does not verify: %v", err)
	}
	// The CHILD_SA of IKE_AUTH, keyed by both sides.
	if _, err := keysR.ChildKeys(c.esp, nil, c.ni, c.nr); err != nil {
		tb.Fatal(err)
	}
	ck, err := keysI.ChildKeys(c.esp, nil, c.ni, c.nr)
	if err != nil {
		tb.Fatal(err)
	}
	c.sinkIKE, c.sinkChildren = keysI, ck
}

// TestHandshakeBenchHarness runs the benchmarks' handshake and ceiling
// once per case, so that they keep working when nobody benchmarks.
func TestHandshakeBenchHarness(t *testing.T) {
	for _, tc := range handshakeCases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHSBench(t, tc.ike)
			for range 3 {
				h.handshake(t)
			}
			h.checkEmpty(t)
			c := newHSCeiling(t, tc.ike, tc.group)
			c.run(t)
			if c.ike.Group() != tc.group {
				t.Errorf("ceiling group %v, want %v", c.ike.Group(), tc.group)
			}
		})
	}
}

// BenchmarkHandshake measures complete handshakes, both sides in-process.
func BenchmarkHandshake(b *testing.B) {
	for _, tc := range handshakeCases {
		b.Run(tc.name, func(b *testing.B) {
			h := newHSBench(b, tc.ike)
			b.ReportAllocs()
			for b.Loop() {
				h.connect(b)
				b.StopTimer()
				h.clear()
				b.StartTimer()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
			h.checkEmpty(b)
		})
	}
}

// BenchmarkHandshakeCeiling measures the DH and PRF work of a handshake
// alone: the rate no handshake can beat.
func BenchmarkHandshakeCeiling(b *testing.B) {
	for _, tc := range handshakeCases {
		b.Run(tc.name, func(b *testing.B) {
			c := newHSCeiling(b, tc.ike, tc.group)
			b.ReportAllocs()
			for b.Loop() {
				c.run(b)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
		})
	}
}

// BenchmarkHandshakeRatio runs handshakes and the ceiling's work
// alternately, so that both see the same (shared, noisy) machine at the
// same moments, and reports the ceiling's time as a fraction of the
// handshake's: the target is 0.7 or more. A handshake takes about half a
// millisecond, so slices of two keep each turn shorter than the bursts of
// other work on the machine. An op is one slice of each.
func BenchmarkHandshakeRatio(b *testing.B) {
	for _, tc := range handshakeCases {
		b.Run(tc.name, func(b *testing.B) {
			h, c := newHSBench(b, tc.ike), newHSCeiling(b, tc.ike, tc.group)
			const slice = 2
			var th, tcl time.Duration
			n := 0
			for b.Loop() {
				for range slice {
					t0 := time.Now()
					h.connect(b)
					th += time.Since(t0)
					h.clear()
				}
				t1 := time.Now()
				for range slice {
					c.run(b)
				}
				tcl += time.Since(t1)
				n += slice
			}
			b.ReportMetric(float64(th.Nanoseconds())/float64(n), "hs-ns/op")
			b.ReportMetric(float64(tcl.Nanoseconds())/float64(n), "ceiling-ns/op")
			b.ReportMetric(float64(n)/th.Seconds(), "handshakes/s")
			b.ReportMetric(float64(tcl)/float64(th), "ratio")
			h.checkEmpty(b)
		})
	}
}
