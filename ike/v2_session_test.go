package ike

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike/wire"
	"github.com/ikego/ikego/pki"
)

// recDP is a Dataplane that records what is installed.
type recDP struct {
	mu       sync.Mutex
	next     uint32
	policies map[uint32]esp.Policy
	in, out  map[uint32]esp.SAParams
	alloc    map[uint32]bool
}

func newRecDP(seed uint32) *recDP {
	return &recDP{next: seed << 16, policies: map[uint32]esp.Policy{}, in: map[uint32]esp.SAParams{},
		out: map[uint32]esp.SAParams{}, alloc: map[uint32]bool{}}
}

func (d *recDP) AllocSPI() (uint32, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.next++
	d.alloc[d.next] = true
	return d.next, nil
}

func (d *recDP) ReleaseSPI(spi uint32) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.alloc, spi)
}

func (d *recDP) AddSA(dir esp.Direction, p esp.SAParams, policyID uint32, _ esp.Lifetime) (*esp.SA, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.policies[policyID]; !ok {
		return nil, fmt.Errorf("no policy %d", policyID)
	}
	m := d.in
	if dir == esp.DirOut {
		m = d.out
	}
	if _, dup := m[p.SPI]; dup {
		return nil, fmt.Errorf("duplicate SPI %x", p.SPI)
	}
	m[p.SPI] = p
	return nil, nil
}

// recDP keeps SAs by SPI alone: the tests' peers choose random SPIs.
func (d *recDP) UpdateSA(k esp.SAKey, local, remote netip.AddrPort) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.out[k.SPI]
	if !ok || k.Dir != esp.DirOut {
		return fmt.Errorf("no SA %v", k)
	}
	p.Local, p.Remote = local, remote
	d.out[k.SPI] = p
	return nil
}

func (d *recDP) DeleteSA(k esp.SAKey) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := d.in
	if k.Dir == esp.DirOut {
		m = d.out
	}
	_, ok := m[k.SPI]
	delete(m, k.SPI)
	return ok
}

func (d *recDP) SetPolicy(p esp.Policy) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.policies[p.ID] = p
	return nil
}

func (d *recDP) DeletePolicy(id uint32) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.policies[id]
	delete(d.policies, id)
	return ok
}

func (d *recDP) Events() <-chan esp.Event { return nil }

func (d *recDP) counts() (policies, in, out, alloc int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.policies), len(d.in), len(d.out), len(d.alloc)
}

// capture is a Sender that keeps what is sent.
type capture struct {
	mu  sync.Mutex
	out []inbound
}

func (c *capture) Send(bufs [][]byte, ep esp.Endpoint) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range bufs {
		c.out = append(c.out, inbound{append([]byte(nil), b...), ep})
	}
	return nil
}

func (c *capture) take() []inbound {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.out
	c.out = nil
	return out
}

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// side is one end of an in-process pair.
type side struct {
	name string
	m    *Manager
	dp   *recDP
	cap  *capture
	evs  []Event
	mu   sync.Mutex
}

func (s *side) events(k EventKind) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Event
	for _, e := range s.evs {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

// pair is an initiator and a responder Manager connected through a
// deliver step that can drop, duplicate and reorder.
type pair struct {
	t     *testing.T
	clock *testClock
	i, r  *side
	// filter decides what is delivered of each batch a side sent: it
	// returns the datagrams to deliver, in order.
	filter func(from *side, ds []inbound) []inbound
}

func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("IKEGO_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func newPair(t *testing.T, ipeer, rpeer *PeerConfig, pools Pools) *pair {
	t.Helper()
	return newPairSeeded(t, ipeer, rpeer, pools, 1, 2)
}

// newPairSeeded is newPair with the seeds of both sides' randomness (and
// so their nonces) chosen; the dataplane SPIs stay apart.
func newPairSeeded(t *testing.T, ipeer, rpeer *PeerConfig, pools Pools, si, sr byte) *pair {
	t.Helper()
	clock := &testClock{t: time.Now().Truncate(time.Second)}
	mk := func(name string, peer *PeerConfig, seed byte, dpSeed uint32, pools Pools) *side {
		s := &side{name: name, dp: newRecDP(dpSeed), cap: &capture{}}
		m, err := NewManager(Config{Peers: []*PeerConfig{peer}, Pools: pools, Dataplane: s.dp, Sender: s.cap,
			Rand: newDetRand(seed), Now: clock.Now, Logger: testLogger(t).With("side", name), CookieThreshold: 1000,
			OnEvent: func(e Event) { s.mu.Lock(); s.evs = append(s.evs, e); s.mu.Unlock() }})
		if err != nil {
			t.Fatal(err)
		}
		m.manualTimers = true
		s.m = m
		return s
	}
	return &pair{t: t, clock: clock, i: mk("initiator", ipeer, si, 1, nil), r: mk("responder", rpeer, sr, 2, pools)}
}

// run delivers datagrams both ways until none are left (at most rounds).
func (p *pair) run() int {
	n := 0
	for round := 0; round < 50; round++ {
		moved := false
		for _, from := range []*side{p.i, p.r} {
			to := p.r
			if from == p.r {
				to = p.i
			}
			ds := from.cap.take()
			if p.filter != nil {
				ds = p.filter(from, ds)
			}
			for _, d := range ds {
				data := d.data
				if d.ep.Remote.Port() == esp.NATTPort {
					if len(data) < 4 || !bytes.Equal(data[:4], []byte{0, 0, 0, 0}) {
						continue // a keepalive or ESP
					}
					data = data[4:]
				}
				moved = true
				n++
				to.m.receive(data, esp.Endpoint{Local: d.ep.Remote, Remote: d.ep.Local})
			}
		}
		if !moved {
			return n
		}
	}
	p.t.Fatal("the exchange does not settle")
	return n
}

// tick advances the clock and runs both sides' timers.
func (p *pair) tick(d time.Duration) {
	p.clock.advance(d)
	p.i.m.tick()
	p.r.m.tick()
}

var (
	testSubnets = []esp.Selector{esp.SelectorFromPrefix(netip.MustParsePrefix("203.0.113.0/26")),
		esp.SelectorFromPrefix(netip.MustParsePrefix("198.18.1.0/24"))}
	testPSK = []byte("ikego-psk-0123456789abcdef")
)

func mustID(t *testing.T, s string) pki.Identity {
	t.Helper()
	id, err := pki.ParseIdentity(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// pskPeers returns a roadwarrior client and a gateway with PSKs.
func pskPeers(t *testing.T) (client, gw *PeerConfig, pools Pools) {
	pool, err := NewPool("rw4", netip.MustParsePrefix("198.18.200.0/28"))
	if err != nil {
		t.Fatal(err)
	}
	client = &PeerConfig{Name: "home", RemoteHost: respAddr, LocalAddr: initAddr.Addr(), RequestVIP: true,
		Local:    AuthConfig{Method: AuthPSK, ID: mustID(t, "client1@example.com"), PSK: testPSK},
		Remote:   AuthConfig{Method: AuthPSK, ID: mustID(t, "vpn.example.com"), PSK: testPSK},
		Children: []*ChildConfig{{Name: "net", RemoteTS: []esp.Selector{esp.SelectorFromPrefix(netip.MustParsePrefix("0.0.0.0/0"))}}}}
	gw = &PeerConfig{Name: "rw", Pools: []string{"rw4"}, DNS: []netip.Addr{netip.MustParseAddr("198.51.100.53")},
		Local:    AuthConfig{Method: AuthPSK, ID: mustID(t, "vpn.example.com"), PSK: testPSK},
		Remote:   AuthConfig{Method: AuthPSK, ID: mustID(t, "*@example.com"), PSK: testPSK},
		Children: []*ChildConfig{{Name: "rw", LocalTS: testSubnets}}}
	return client, gw, Pools{pool}
}

// checkChildren verifies that every outbound SA of one side is an inbound
// SA of the other with the same keys, and returns the number of pairs.
func checkChildren(t *testing.T, a, b *recDP) int {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for spi, o := range a.out {
		i, ok := b.in[spi]
		if !ok {
			t.Errorf("outbound SA %08x has no inbound twin", spi)
			continue
		}
		if o.Encr != i.Encr || o.Integ != i.Integ || !bytes.Equal(o.EncrKey, i.EncrKey) || !bytes.Equal(o.IntegKey, i.IntegKey) || o.Mode != i.Mode {
			t.Errorf("SA %08x: keys or algorithms differ: %+v vs %+v", spi, o.Encr, i.Encr)
		}
		n++
	}
	if len(a.in) != len(b.out) {
		t.Errorf("inbound %d, peer outbound %d", len(a.in), len(b.out))
	}
	return n
}

func TestSessionPSKRoadwarrior(t *testing.T) {
	client, gw, pools := pskPeers(t)
	p := newPair(t, client, gw, pools)
	if err := p.i.m.Initiate("home"); err != nil {
		t.Fatal(err)
	}
	if n := p.run(); n != 4 {
		t.Errorf("%d messages, want 4 (IKE_SA_INIT and IKE_AUTH)", n)
	}
	ri, rr := p.i.m.SAs(), p.r.m.SAs()
	if len(ri) != 1 || len(rr) != 1 || ri[0].State != StateEstablished || rr[0].State != StateEstablished {
		t.Fatalf("not established: %+v / %+v", ri, rr)
	}
	if got := fmt.Sprint(rr[0].VIPs); got != "[198.18.200.1]" || fmt.Sprint(ri[0].VIPs) != got {
		t.Errorf("virtual IPs: responder %v, initiator %v", rr[0].VIPs, ri[0].VIPs)
	}
	if rr[0].RemoteID.String() != "client1@example.com" || ri[0].RemoteID.String() != "vpn.example.com" || rr[0].Peer != "rw" {
		t.Errorf("identities %v / %v, peer %q", rr[0].RemoteID, ri[0].RemoteID, rr[0].Peer)
	}
	if len(rr[0].Children) != 1 || len(ri[0].Children) != 1 {
		t.Fatalf("children %v / %v", rr[0].Children, ri[0].Children)
	}
	c := rr[0].Children[0]
	if fmt.Sprint(c.LocalTS) != fmt.Sprint(testSubnets) || fmt.Sprint(c.RemoteTS) != "[198.18.200.1/32]" {
		t.Errorf("responder TS %v === %v", c.LocalTS, c.RemoteTS)
	}
	ci := ri[0].Children[0]
	if fmt.Sprint(ci.RemoteTS) != fmt.Sprint(testSubnets) || fmt.Sprint(ci.LocalTS) != "[198.18.200.1/32]" {
		t.Errorf("initiator TS %v === %v", ci.LocalTS, ci.RemoteTS)
	}
	if checkChildren(t, p.i.dp, p.r.dp) != 1 || checkChildren(t, p.r.dp, p.i.dp) != 1 {
		t.Error("CHILD_SA does not pair up")
	}
	if len(p.i.events(EventIKEUp)) != 1 || len(p.r.events(EventChildUp)) != 1 {
		t.Errorf("events: %v / %v", p.i.evs, p.r.evs)
	}

	// Delete from the initiator: both sides clean up, the lease is
	// released.
	if n := p.i.m.Terminate("home"); n != 1 {
		t.Fatalf("Terminate: %d", n)
	}
	p.run()
	for _, s := range []*side{p.i, p.r} {
		if sas := s.m.SAs(); len(sas) != 0 {
			t.Errorf("%s still has %v", s.name, sas)
		}
		if a, b, c, d := s.dp.counts(); a+b+c+d != 0 {
			t.Errorf("%s dataplane not empty: %d policies, %d in, %d out, %d SPIs", s.name, a, b, c, d)
		}
	}
	if pools[0].Online() != 0 {
		t.Errorf("lease not released: %d online", pools[0].Online())
	}
}

var _ = binary.BigEndian
var _ = wire.ExchangeIKEAuth

// establish initiates from p.i and runs the exchange; it fails the test
// unless both sides end up established.
func (p *pair) establish(name string) {
	p.t.Helper()
	if err := p.i.m.Initiate(name); err != nil {
		p.t.Fatal(err)
	}
	p.run()
	ri, rr := p.i.m.SAs(), p.r.m.SAs()
	if len(ri) != 1 || len(rr) != 1 || ri[0].State != StateEstablished || rr[0].State != StateEstablished {
		p.t.Fatalf("not established: initiator %+v, responder %+v; events %v / %v", ri, rr, p.i.evs, p.r.evs)
	}
}

func TestSessionTransforms(t *testing.T) {
	for _, tc := range []struct{ ike, esp string }{
		{"aes256gcm16-prfsha384-ecp384", "aes256gcm16"},
		{"aes128gcm8-prfsha256-ecp256", "aes128gcm8"},
		{"aes192gcm12-prfsha512-ecp521", "aes192gcm12-esn"},
		{"aes256-sha256-modp2048", "aes256-sha256"},
		{"aes128-sha1-modp3072", "aes128-sha1"},
		{"aes192-sha384-modp4096", "aes192-sha384"},
		{"aes256-sha512-curve25519", "aes256-sha512"},
		{"chacha20poly1305-prfsha256-x25519", "chacha20poly1305"},
		{"3des-sha1-modp2048", "3des-sha1"},
	} {
		t.Run(tc.ike, func(t *testing.T) {
			client, gw, pools := pskPeers(t)
			for _, pc := range []*PeerConfig{client, gw} {
				pc.IKEProposals = MustParseProposals(tc.ike, wire.ProtocolIKE)
				pc.Strict = true
				pc.Children[0].ESPProposals = MustParseProposals(tc.esp, wire.ProtocolESP)
				pc.Children[0].Strict = true
			}
			p := newPair(t, client, gw, pools)
			p.establish("home")
			sa := p.r.m.SAs()[0]
			if want := MustParseProposals(tc.ike, wire.ProtocolIKE)[0].String(); sa.Proposal.String() != want {
				t.Errorf("IKE proposal %v, want %v", sa.Proposal, want)
			}
			if len(sa.Children) != 1 {
				t.Fatalf("children: %+v", sa.Children)
			}
			if want := MustParseProposals(tc.esp, wire.ProtocolESP)[0].String(); sa.Children[0].Proposal.String() != want {
				t.Errorf("ESP proposal %v, want %v", sa.Children[0].Proposal, want)
			}
			if checkChildren(t, p.i.dp, p.r.dp) != 1 || checkChildren(t, p.r.dp, p.i.dp) != 1 {
				t.Error("CHILD_SA does not pair up")
			}
		})
	}
}

func TestSessionStrictMismatch(t *testing.T) {
	client, gw, pools := pskPeers(t)
	client.IKEProposals, client.Strict = MustParseProposals("aes128-sha1-modp2048", wire.ProtocolIKE), true
	gw.IKEProposals, gw.Strict = MustParseProposals("aes256gcm16-prfsha384-ecp384", wire.ProtocolIKE), true
	p := newPair(t, client, gw, pools)
	if err := p.i.m.Initiate("home"); err != nil {
		t.Fatal(err)
	}
	p.run()
	if sas := p.i.m.SAs(); len(sas) != 0 || len(p.r.m.SAs()) != 0 {
		t.Fatalf("SAs left: %+v / %+v", sas, p.r.m.SAs())
	}
	down := p.i.events(EventIKEDown)
	var ne *NotifyError
	if len(down) != 1 || !errorsAs(down[0].Err, &ne) || ne.Notify != wire.NotifyNoProposalChosen {
		t.Fatalf("initiator events %v, want NO_PROPOSAL_CHOSEN", p.i.evs)
	}

	// Not strict: the responder also accepts its defaults.
	client, gw, pools = pskPeers(t)
	client.IKEProposals, client.Strict = MustParseProposals("aes128-sha256-modp2048", wire.ProtocolIKE), true
	gw.IKEProposals = MustParseProposals("aes256gcm16-prfsha384-ecp384", wire.ProtocolIKE)
	newPair(t, client, gw, pools).establish("home")
}

func TestSessionInvalidKE(t *testing.T) {
	client, gw, pools := pskPeers(t)
	// The client's first proposal's group is x25519; the gateway wants
	// ECP-384 and says so with INVALID_KE_PAYLOAD.
	client.IKEProposals, client.Strict = MustParseProposals("aes256gcm16-prfsha384-x25519-ecp384", wire.ProtocolIKE), true
	gw.IKEProposals, gw.Strict = MustParseProposals("aes256gcm16-prfsha384-ecp384", wire.ProtocolIKE), true
	p := newPair(t, client, gw, pools)
	p.establish("home")
	if g := p.i.m.SAs()[0].Proposal.Group(); g != Group(wire.DHGroup(20)) {
		t.Errorf("group %v", g)
	}
}

func errorsAs(err error, target any) bool { return err != nil && asError(err, target) }

func asError(err error, target any) bool { return errors.As(err, target) }
