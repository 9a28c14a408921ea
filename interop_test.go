package ikego

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike"
	"github.com/ikego/ikego/ike/wire"
	"github.com/ikego/ikego/internal/interop"
	"github.com/ikego/ikego/pki"
	"github.com/ikego/ikego/tun"
)

// The interop tests of issue "IKEv2 core": a Gateway with its IKE daemon
// in one namespace of the strongSwan rig (../shared/interop), strongSwan
// 5.9.8 with kernel-libipsec in the other; every scenario ends with pings
// through the tunnel and both sides' SA listings checked.

// eventLog collects the Manager's events.
type eventLog struct {
	mu  sync.Mutex
	evs []ike.Event
	ch  chan struct{}
}

func newEventLog() *eventLog { return &eventLog{ch: make(chan struct{}, 1)} }

func (l *eventLog) add(e ike.Event) {
	l.mu.Lock()
	l.evs = append(l.evs, e)
	l.mu.Unlock()
	select {
	case l.ch <- struct{}{}:
	default:
	}
}

// wait waits until cond holds for the events so far, at most d.
func (l *eventLog) wait(d time.Duration, cond func([]ike.Event) bool) bool {
	deadline := time.After(d)
	for {
		l.mu.Lock()
		ok := cond(l.evs)
		l.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-l.ch:
		case <-deadline:
			return false
		}
	}
}

// snapshot returns a copy of the events so far.
func (l *eventLog) snapshot() []ike.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]ike.Event(nil), l.evs...)
}

func (l *eventLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, e := range l.evs {
		fmt.Fprintf(&b, "%v %s child=%s err=%v\n", e.Kind, e.Peer, e.Child, e.Err)
	}
	return b.String()
}

func countKind(evs []ike.Event, k ike.EventKind) int {
	n := 0
	for _, e := range evs {
		if e.Kind == k {
			n++
		}
	}
	return n
}

func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("IKEGO_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// testWriter sends log lines to t.Log (shown for failing tests and -v).
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startGateway creates a TUN device, a Bind on addr and a Gateway with
// the IKE config in namespace ns; mods change the gateway's config (an
// L2TP service).
func startGateway(t *testing.T, ns string, addrs []netip.Addr, tunAddrs []netip.Prefix, routes []netip.Prefix, cfg *ike.Config,
	mods ...func(*GatewayConfig)) *Gateway {
	t.Helper()
	var g *Gateway
	interop.InNetns(t, ns, func() {
		dev, err := tun.Create(tun.Config{Name: "ikego0", MTU: 1400, Addrs: tunAddrs, Routes: routes})
		if err != nil {
			t.Fatal(err)
		}
		bind, err := esp.NewUDPBind(esp.UDPBindConfig{Addrs: addrs, Offload: true})
		if err != nil {
			dev.Close()
			t.Fatal(err)
		}
		gc := GatewayConfig{TUN: dev, Bind: bind, IKE: cfg, Logger: testLogger(t)}
		for _, m := range mods {
			m(&gc)
		}
		if g, err = NewGateway(gc); err != nil {
			dev.Close()
			bind.Close()
			t.Fatal(err)
		}
		if err := g.Start(); err != nil {
			t.Fatal(err)
		}
	})
	t.Cleanup(func() { g.Close() })
	return g
}

func mustIdentity(t *testing.T, s string) pki.Identity {
	t.Helper()
	id, err := pki.ParseIdentity(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func prefixes(t *testing.T, s ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, x := range s {
		for _, f := range strings.Fields(x) {
			out = append(out, netip.MustParsePrefix(f))
		}
	}
	return out
}

func selectors(ps []netip.Prefix) []esp.Selector {
	out := make([]esp.Selector, len(ps))
	for i, p := range ps {
		out[i] = esp.SelectorFromPrefix(p)
	}
	return out
}

// roadwarrior is the responder side of the rig's roadwarrior scenarios.
type roadwarrior struct {
	rig    *interop.Rig
	info   map[string]string
	g      *Gateway
	events *eventLog
	pools  ike.Pools
}

// rwConfig returns the gateway's connection for a roadwarrior scenario
// of the rig: our subnets, pools from the scenario, PSK auth.
func rwConfig(t *testing.T, info map[string]string, v6 bool) (*ike.PeerConfig, ike.Pools) {
	t.Helper()
	pool4, err := ike.NewPool("rw4", netip.MustParsePrefix(info["POOL4"]))
	if err != nil {
		t.Fatal(err)
	}
	pools := ike.Pools{pool4}
	subnets := prefixes(t, "203.0.113.0/26 198.18.1.0/24")
	names := []string{"rw4"}
	dns := []netip.Addr{netip.MustParseAddr(info["DNS4"])}
	if v6 {
		pool6, err := ike.NewPool("rw6", netip.MustParsePrefix(info["POOL6"]))
		if err != nil {
			t.Fatal(err)
		}
		pools = append(pools, pool6)
		names = append(names, "rw6")
		subnets = append(subnets, netip.MustParsePrefix("2001:db8:1::/64"))
	}
	psk := []byte(info["PSK"])
	return &ike.PeerConfig{
		Name:     "rw",
		Local:    ike.AuthConfig{Method: ike.AuthPSK, ID: mustIdentity(t, info["SERVER_ID"]), PSK: psk},
		Remote:   ike.AuthConfig{Method: ike.AuthPSK, ID: mustIdentity(t, info["CLIENT1_ID"]), PSK: psk},
		Pools:    names,
		DNS:      dns,
		Children: []*ike.ChildConfig{{Name: "rw", LocalTS: selectors(subnets)}},
	}, pools
}

// startRoadwarrior brings the rig up (NAT optional), runs our gateway with
// peer as responder in the right namespace, starts strongSwan's client on
// the left with scen and initiates.
func startRoadwarrior(t *testing.T, rig *interop.Rig, scen string, nat, v6 bool, peer *ike.PeerConfig, pools ike.Pools, mods ...func(*ike.Config)) *roadwarrior {
	t.Helper()
	if err := rig.NetUp(nat); err != nil {
		t.Fatal(err)
	}
	info := rig.Info(scen)
	addrs := []netip.Addr{netip.MustParseAddr(info["RIGHT_ADDR"])}
	routes := prefixes(t, info["POOL4"])
	if v6 {
		addrs = append(addrs, netip.MustParseAddr(info["RIGHT_ADDR6"]))
		routes = append(routes, netip.MustParsePrefix(info["POOL6"]))
	}
	rw := &roadwarrior{rig: rig, info: info, events: newEventLog(), pools: pools}
	cfg := &ike.Config{Peers: []*ike.PeerConfig{peer}, Pools: pools, OnEvent: rw.events.add}
	for _, m := range mods {
		m(cfg)
	}
	rw.g = startGateway(t, info["NS_RIGHT"], addrs, nil, routes, cfg)
	if err := rig.Start("left", scen); err != nil {
		t.Fatal(err)
	}
	return rw
}

// initiate makes strongSwan initiate; it returns its output.
func (rw *roadwarrior) initiate(scen string) (string, error) {
	return rw.rig.Initiate(scen, "left")
}

// ping pings every target of the scenario from the left.
func (rw *roadwarrior) ping(t *testing.T) {
	t.Helper()
	for _, host := range strings.Fields(rw.info["PING"]) {
		if out, err := rw.rig.Exec("left", "ping", "-c", "3", "-i", "0.2", "-W", "2", host); err != nil {
			t.Fatalf("ping %s through the tunnel: %v\n%s\nengine %+v", host, err, out, rw.g.Engine().Stats())
		}
	}
}

// checkUp checks both sides' SA listings after a successful initiate.
func (rw *roadwarrior) checkUp(t *testing.T, want ...string) ike.SAInfo {
	t.Helper()
	sas, err := rw.rig.WaitInstalled("left", 15*time.Second)
	if err != nil {
		t.Fatalf("%v\nour events:\n%s", err, rw.events)
	}
	for _, w := range append([]string{"ESTABLISHED", "INSTALLED"}, want...) {
		if !strings.Contains(sas, w) {
			t.Errorf("strongSwan's SA listing lacks %q:\n%s", w, sas)
		}
	}
	ours := rw.g.IKE().SAs()
	if len(ours) != 1 || ours[0].State != ike.StateEstablished || len(ours[0].Children) != 1 {
		t.Fatalf("our SAs: %+v\nevents:\n%s", ours, rw.events)
	}
	// The same SPIs on both sides.
	c := ours[0].Children[0]
	for _, spi := range []uint32{c.InSPI, c.OutSPI} {
		if !strings.Contains(sas, fmt.Sprintf("%08x", spi)) {
			t.Errorf("strongSwan's listing lacks our CHILD_SA SPI %08x:\n%s", spi, sas)
		}
	}
	if !strings.Contains(sas, fmt.Sprintf("%016x", ours[0].SPIr)) {
		t.Errorf("strongSwan's listing lacks our IKE SPI %016x", ours[0].SPIr)
	}
	return ours[0]
}

// checkDelete deletes the IKE SA from our side and checks that both
// sides forget it and the lease is given back.
func (rw *roadwarrior) checkDelete(t *testing.T) {
	t.Helper()
	rw.events.mu.Lock()
	downs := countKind(rw.events.evs, ike.EventIKEDown)
	rw.events.mu.Unlock()
	if n := rw.g.IKE().Terminate("rw"); n != 1 {
		t.Fatalf("Terminate: %d IKE SAs", n)
	}
	if !rw.events.wait(10*time.Second, func(evs []ike.Event) bool { return countKind(evs, ike.EventIKEDown) == downs+1 }) {
		t.Fatalf("no ike-down after Terminate:\n%s", rw.events)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		sas, _ := rw.rig.ListSAs("left")
		if !strings.Contains(sas, "ESTABLISHED") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("strongSwan still has the SA after our delete:\n%s", sas)
		}
		time.Sleep(200 * time.Millisecond) // bounded poll of swanctl
	}
	for _, p := range rw.pools {
		if p.Online() != 0 {
			t.Errorf("pool %s: %d leases online after delete", p.Name(), p.Online())
		}
	}
	if st := rw.g.Engine().Stats(); st.OpenErrors+st.PolicyMismatch != 0 {
		t.Errorf("engine errors: %+v", st)
	}
}

// TestInteropRoadwarriorPSK is scenario 1: strongSwan's roadwarrior client
// with a PSK against our responder, a virtual IP from the pool, two
// subnets narrowed from 0.0.0.0/0; pings into both; the delete from our
// side reaches strongSwan. ikev2-psk-v6 does the same over IPv6 with IPv4
// and IPv6 virtual IPs.
func TestInteropRoadwarriorPSK(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	for _, scen := range []string{"ikev2-psk", "ikev2-psk-v6"} {
		t.Run(scen, func(t *testing.T) {
			v6 := scen == "ikev2-psk-v6"
			rig := interop.Available(t)
			info := rig.Info(scen)
			peer, pools := rwConfig(t, info, v6)
			rw := startRoadwarrior(t, rig, scen, false, v6, peer, pools)
			if out, err := rw.initiate(scen); err != nil {
				t.Fatalf("initiate: %v\n%s\nour events:\n%s", err, out, rw.events)
			}
			want := []string{"203.0.113.0/26", "198.18.1.0/24", info["FIRST_VIP4"]}
			if v6 {
				want = append(want, info["FIRST_VIP6"], "2001:db8:1::/64")
			}
			sa := rw.checkUp(t, want...)
			if sa.RemoteID.String() != info["CLIENT1_ID"] {
				t.Errorf("peer identity %v", sa.RemoteID)
			}
			rw.ping(t)
			rw.checkDelete(t)
		})
	}
}

var _ = wire.ProtocolESP

// netToNet brings up the rig with strongSwan as the net-to-net responder
// of ike/testdata/interop/ikev2-net2net and returns our side's connection:
// PSK, site 198.18.2.0/24 to the two subnets in one CHILD_SA.
func netToNet(t *testing.T) (*interop.Rig, map[string]string, *ike.PeerConfig) {
	t.Helper()
	const scen = "ike/testdata/interop/ikev2-net2net"
	rig := interop.Available(t)
	if err := rig.NetUp(false); err != nil {
		t.Fatal(err)
	}
	info := rig.Info(scen)
	if err := rig.Start("right", scen); err != nil {
		t.Fatal(err)
	}
	psk := []byte(info["PSK"])
	return rig, info, &ike.PeerConfig{
		Name:       "net",
		RemoteHost: netip.AddrPortFrom(netip.MustParseAddr(info["RIGHT_ADDR"]), 500),
		LocalAddr:  netip.MustParseAddr(info["LEFT_ADDR"]),
		Local:      ike.AuthConfig{Method: ike.AuthPSK, ID: mustIdentity(t, "left.example.com"), PSK: psk},
		Remote:     ike.AuthConfig{Method: ike.AuthPSK, ID: mustIdentity(t, "vpn.example.com"), PSK: psk},
		Children: []*ike.ChildConfig{{Name: "net", LocalTS: selectors(prefixes(t, "198.18.2.0/24")),
			RemoteTS: selectors(prefixes(t, "203.0.113.0/26 198.18.1.0/24"))}},
	}
}

// TestInteropNetToNetInitiator is scenario 3: our gateway initiates a
// net-to-net tunnel to strongSwan with one TSi and two TSr in one
// CHILD_SA, then adds a second CHILD_SA with CREATE_CHILD_SA (with PFS);
// pings go both ways, and our delete reaches strongSwan.
func TestInteropNetToNetInitiator(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	rig, info, peer := netToNet(t)
	peer.Children = append(peer.Children, &ike.ChildConfig{Name: "pfs", LocalTS: peer.Children[0].LocalTS,
		RemoteTS:     selectors(prefixes(t, "198.18.1.0/24")),
		ESPProposals: ike.MustParseProposals("aes256gcm16-modp2048", wire.ProtocolESP), Strict: true})
	events := newEventLog()
	cfg := &ike.Config{Peers: []*ike.PeerConfig{peer}, OnEvent: events.add}
	g := startGateway(t, info["NS_LEFT"], []netip.Addr{peer.LocalAddr}, nil, prefixes(t, "203.0.113.0/26 198.18.1.0/24"), cfg)
	if err := g.IKE().Initiate("net"); err != nil {
		t.Fatal(err)
	}
	if !events.wait(20*time.Second, func(evs []ike.Event) bool { return countKind(evs, ike.EventChildUp) == 2 }) {
		t.Fatalf("two CHILD_SAs not up:\n%s", events)
	}
	sas, err := rig.WaitInstalled("right", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ours := g.IKE().SAs()
	if len(ours) != 1 || len(ours[0].Children) != 2 {
		t.Fatalf("our SAs %+v", ours)
	}
	for _, w := range []string{"ESTABLISHED", "203.0.113.0/26", "198.18.1.0/24", "198.18.2.0/24", "MODP_2048",
		fmt.Sprintf("%016x", ours[0].SPIi)} {
		if !strings.Contains(sas, w) {
			t.Errorf("strongSwan's listing lacks %q:\n%s", w, sas)
		}
	}
	if n := strings.Count(sas, "INSTALLED"); n != 2 {
		t.Errorf("strongSwan has %d CHILD_SAs installed, want 2:\n%s", n, sas)
	}
	for _, c := range ours[0].Children {
		if !strings.Contains(sas, fmt.Sprintf("%08x", c.OutSPI)) || !strings.Contains(sas, fmt.Sprintf("%08x", c.InSPI)) {
			t.Errorf("strongSwan lacks CHILD_SA %s (%08x/%08x)", c.Name, c.InSPI, c.OutSPI)
		}
	}
	if fmt.Sprint(ours[0].Children[0].RemoteTS) != "[203.0.113.0/26 198.18.1.0/24]" {
		t.Errorf("our first CHILD_SA's TSr: %v", ours[0].Children[0].RemoteTS)
	}
	for _, host := range strings.Fields(info["PING"]) {
		if out, err := rig.Exec("left", "ping", "-c", "3", "-i", "0.2", "-W", "2", "-I", info["PING_SRC"], host); err != nil {
			t.Fatalf("ping %s: %v\n%s\n%+v", host, err, out, g.Engine().Stats())
		}
	}
	if out, err := rig.Exec("right", "ping", "-c", "3", "-i", "0.2", "-W", "2", "-I", info["PING_BACK_SRC"], info["PING_BACK"]); err != nil {
		t.Fatalf("ping back: %v\n%s", err, out)
	}
	if n := g.IKE().Terminate("net"); n != 1 {
		t.Fatalf("Terminate: %d", n)
	}
	if !events.wait(10*time.Second, func(evs []ike.Event) bool { return countKind(evs, ike.EventIKEDown) == 1 }) {
		t.Fatalf("no ike-down:\n%s", events)
	}
	events.mu.Lock()
	if d := events.evs[len(events.evs)-1]; d.Err != nil {
		t.Errorf("delete ended with %v", d.Err)
	}
	events.mu.Unlock()
	if sas, _ := rig.ListSAs("right"); strings.Contains(sas, "ESTABLISHED") {
		t.Errorf("strongSwan keeps the SA after our delete:\n%s", sas)
	}
}

// TestInteropNAT is scenario 4: strongSwan's client behind a real NAT
// (nftables masquerade in a middle namespace) against our responder; UDP
// encapsulation is negotiated from the NAT detection, and with
// ikev2-psk-encap strongSwan also forces it.
func TestInteropNAT(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	for _, scen := range []string{"ikev2-psk", "ikev2-psk-encap"} {
		t.Run(scen, func(t *testing.T) {
			rig := interop.Available(t)
			rig.NAT = true
			info := rig.Info(scen)
			peer, pools := rwConfig(t, info, false)
			rw := startRoadwarrior(t, rig, scen, true, false, peer, pools)
			if out, err := rw.initiate(scen); err != nil {
				t.Fatalf("initiate: %v\n%s\nour events:\n%s", err, out, rw.events)
			}
			sa := rw.checkUp(t, info["FIRST_VIP4"], "203.0.113.0/26", "198.18.1.0/24")
			if !sa.NAT.RemoteBehindNAT || sa.Remote.Addr().String() != info["LEFT_ADDR_SEEN_BY_RIGHT"] {
				t.Errorf("NAT %+v, peer at %v (want %s)", sa.NAT, sa.Remote, info["LEFT_ADDR_SEEN_BY_RIGHT"])
			}
			if sa.Local.Port() != 4500 {
				t.Errorf("not floated to 4500: %v", sa.Local)
			}
			rw.ping(t)
			if st := rw.g.Engine().Stats(); st.OpenErrors != 0 {
				t.Errorf("engine: %+v", st)
			}
			rw.checkDelete(t)
		})
	}
}

// TestInteropProposals is scenario 5: AES-GCM, AES-CBC with SHA-2 and
// ChaCha20-Poly1305 each negotiated for IKE and ESP with a strict
// configuration on our side, and a strict mismatch refused with
// NO_PROPOSAL_CHOSEN.
func TestInteropProposals(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	for _, tc := range []struct {
		scen, ike, esp string
		want           []string
	}{
		{"ikev2-psk-gcm", "aes256gcm16-prfsha384-ecp384", "aes256gcm16", []string{"AES_GCM_16-256/PRF_HMAC_SHA2_384/ECP_384", "AES_GCM_16-256"}},
		{"ikev2-psk-cbc", "aes256-sha256-modp2048", "aes256-sha256", []string{"AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048", "AES_CBC-256/HMAC_SHA2_256_128"}},
		{"ikev2-psk-chacha", "chacha20poly1305-prfsha256-x25519", "chacha20poly1305", []string{"CHACHA20_POLY1305/PRF_HMAC_SHA2_256/CURVE_25519", "ESP:CHACHA20_POLY1305"}},
		{"ikev2-psk-mismatch", "aes256gcm16-prfsha384-ecp384", "aes256gcm16", nil},
	} {
		t.Run(tc.scen, func(t *testing.T) {
			scen := "ike/testdata/interop/" + tc.scen
			rig := interop.Available(t)
			info := rig.Info(scen)
			peer, pools := rwConfig(t, info, false)
			peer.IKEProposals, peer.Strict = ike.MustParseProposals(tc.ike, wire.ProtocolIKE), true
			peer.Children[0].ESPProposals = ike.MustParseProposals(tc.esp, wire.ProtocolESP)
			peer.Children[0].Strict = true
			rw := startRoadwarrior(t, rig, scen, false, false, peer, pools)
			out, err := rw.initiate(scen)
			if tc.want == nil {
				if err == nil {
					t.Fatalf("initiate succeeded against a strict mismatch:\n%s", out)
				}
				if !strings.Contains(out, "NO_PROPOSAL_CHOSEN") {
					t.Errorf("strongSwan did not get NO_PROPOSAL_CHOSEN:\n%s", out)
				}
				if sas := rw.g.IKE().SAs(); len(sas) != 0 {
					t.Errorf("we kept state: %+v", sas)
				}
				return
			}
			if err != nil {
				t.Fatalf("initiate: %v\n%s\nour events:\n%s", err, out, rw.events)
			}
			sa := rw.checkUp(t, tc.want...)
			if sa.Proposal.String() != ike.MustParseProposals(tc.ike, wire.ProtocolIKE)[0].String() {
				t.Errorf("our IKE proposal %v", sa.Proposal)
			}
			rw.ping(t)
		})
	}
}

// seedPKI writes a CA, a server certificate and a client certificate made
// with package pki into the rig's PKI folder, in the names peer.sh copies
// into strongSwan's swanctl directories (ike/testdata/interop/README.md).
// The server's files are not written: strongSwan must verify the
// certificate we send.
func seedPKI(t *testing.T, rig *interop.Rig, keyType pki.KeyType, client string) (ca *pki.CA, server *x509.Certificate, serverKey crypto.Signer) {
	t.Helper()
	ca, server, serverKey, _, _ = seedPKIBoth(t, rig, keyType, client)
	return ca, server, serverKey
}

// seedPKIBoth is seedPKI that also writes the server's certificate and key
// for a strongSwan responder, and returns the client's.
func seedPKIBoth(t *testing.T, rig *interop.Rig, keyType pki.KeyType, client string) (ca *pki.CA, server *x509.Certificate,
	serverKey crypto.Signer, clientCert *x509.Certificate, clientKey crypto.Signer) {
	t.Helper()
	ca, err := pki.NewCA(pki.Config{}, pki.CAOptions{Subject: "C=US, O=ikego-interop, CN=ikego interop CA", KeyType: keyType})
	if err != nil {
		t.Fatal(err)
	}
	server, serverKey, err = ca.Issue(pki.Request{Profile: pki.ProfileServer, Subject: "C=US, O=ikego-interop, CN=vpn.example.com",
		Names: []string{"vpn.example.com"}, KeyType: keyType})
	if err != nil {
		t.Fatal(err)
	}
	subject, name := "C=US, O=ikego-interop, CN=client1", "client1@example.com"
	if client == "client2" {
		subject, name = "C=US, O=ikego-interop, CN=client2.example.com", "client2.example.com"
	}
	cert, key, err := ca.Issue(pki.Request{Profile: pki.ProfileClient, Subject: subject, Names: []string{name}, KeyType: keyType})
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := pki.EncodePrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	serverKeyPEM, err := pki.EncodePrivateKeyPEM(serverKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(rig.Dir, "pki")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"ca.cert.pem":        pki.EncodeCertificatesPEM(ca.Cert),
		client + ".cert.pem": pki.EncodeCertificatesPEM(cert),
		client + ".key.pem":  keyPEM,
		"server.cert.pem":    pki.EncodeCertificatesPEM(server),
		"server.key.pem":     serverKeyPEM,
		".done":              nil,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return ca, server, serverKey, cert, key
}

// TestInteropRoadwarriorCert is scenario 2: strongSwan's roadwarrior
// client authenticates with a certificate issued by our pki, RSA with an
// FQDN identity and ECDSA with a DN identity; our responder sends its own
// certificate (RFC 7427 signatures both ways) and accepts any client of
// the CA whose identity is in its certificate. The RSA IKE_AUTH arrives in
// fragments (RFC 7383).
func TestInteropRoadwarriorCert(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	for _, tc := range []struct {
		scen, client, id, sig string
		key                   pki.KeyType
	}{
		{"ikev2-cert-rsa-fqdn", "client2", "client2.example.com", "RSA_EMSA_PKCS1_SHA2_256", pki.KeyTypeRSA2048},
		{"ikev2-cert-ecdsa-dn", "client1", "C=US, O=ikego-interop, CN=client1", "ECDSA_WITH_SHA256_DER", pki.KeyTypeECDSAP256},
	} {
		t.Run(tc.scen, func(t *testing.T) {
			scen := "ike/testdata/interop/" + tc.scen
			rig := interop.Available(t)
			ca, server, key := seedPKI(t, rig, tc.key, tc.client)
			info := rig.Info(scen)
			peer, pools := rwConfig(t, info, false)
			peer.Local = ike.AuthConfig{Method: ike.AuthPubKey, ID: mustIdentity(t, "vpn.example.com"),
				Certificates: []*x509.Certificate{server}, Key: key}
			peer.Remote = ike.AuthConfig{Method: ike.AuthPubKey, ID: mustIdentity(t, "C=US, O=ikego-interop, CN=*"),
				CAs: []*x509.Certificate{ca.Cert}}
			if tc.client == "client2" {
				peer.Remote.ID = mustIdentity(t, "*.example.com")
			}
			rw := startRoadwarrior(t, rig, scen, false, false, peer, pools)
			out, err := rw.initiate(scen)
			if err != nil {
				t.Fatalf("initiate: %v\n%s\nour events:\n%s", err, out, rw.events)
			}
			if tc.client == "client2" && !strings.Contains(out, "into 2 fragments") {
				t.Errorf("strongSwan did not fragment its RSA IKE_AUTH:\n%s", out)
			}
			if !strings.Contains(out, tc.sig) {
				t.Errorf("strongSwan's log does not show %s signatures:\n%s", tc.sig, out)
			}
			sa := rw.checkUp(t, info["FIRST_VIP4"], "203.0.113.0/26", "198.18.1.0/24")
			if sa.RemoteID.String() != tc.id {
				t.Errorf("peer identity %q, want %q", sa.RemoteID, tc.id)
			}
			rw.ping(t)
			rw.checkDelete(t)
		})
	}
}

// TestInteropRekey (issue "IKEv2 lifecycle"): during a running ping,
// strongSwan and our side each rekey the CHILD_SA and the IKE SA, in turn;
// no ping is lost, and both sides end with one IKE SA and one CHILD_SA,
// all with new SPIs and the first algorithms.
func TestInteropRekey(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	const scen = "ikev2-psk"
	rig := interop.Available(t)
	info := rig.Info(scen)
	peer, pools := rwConfig(t, info, false)
	rw := startRoadwarrior(t, rig, scen, false, false, peer, pools)
	if out, err := rw.initiate(scen); err != nil {
		t.Fatalf("initiate: %v\n%s", err, out)
	}
	firstSA := rw.checkUp(t)
	first := firstSA.Children[0]
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ping := rig.Command(ctx, "exec", "left", "ping", "-c", "200", "-i", "0.04", "-W", "1", "203.0.113.1")
	var out strings.Builder
	ping.Stdout, ping.Stderr = &out, &out
	if err := ping.Start(); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		do   func() error
		kind ike.EventKind
	}{
		{"strongSwan rekeys the CHILD_SA", func() error { _, err := rig.Swanctl("left", "--rekey", "--child", info["CHILD"]); return err }, ike.EventChildUp},
		{"we rekey the CHILD_SA", func() error { return errIfNot(rw.g.IKE().Rekey("rw"), 1) }, ike.EventChildUp},
		{"strongSwan rekeys the IKE SA", func() error { _, err := rig.Swanctl("left", "--rekey", "--ike", info["IKE"]); return err }, ike.EventIKEUp},
		{"we rekey the IKE SA", func() error { return errIfNot(rw.g.IKE().RekeyIKE("rw"), 1) }, ike.EventIKEUp},
		{"strongSwan rekeys the CHILD_SA on the new IKE SA", func() error { _, err := rig.Swanctl("left", "--rekey", "--child", info["CHILD"]); return err }, ike.EventChildUp},
		{"we rekey the CHILD_SA on the new IKE SA", func() error { return errIfNot(rw.g.IKE().Rekey("rw"), 1) }, ike.EventChildUp},
	}
	for _, st := range steps {
		time.Sleep(600 * time.Millisecond) // let packets flow between the rekeys
		rw.events.mu.Lock()
		want := countKind(rw.events.evs, st.kind) + 1
		rw.events.mu.Unlock()
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if !rw.events.wait(10*time.Second, func(evs []ike.Event) bool { return countKind(evs, st.kind) >= want }) {
			t.Fatalf("%s: did not complete:\n%s", st.name, rw.events)
		}
	}
	err := ping.Wait()
	if err != nil || !strings.Contains(out.String(), " 0% packet loss") {
		t.Fatalf("ping during the rekeys: %v\n%s", err, out.String())
	}
	if i := strings.Index(out.String(), "ping statistics"); i > 0 {
		t.Logf("ping: %s", strings.TrimSpace(out.String()[i:]))
	}
	sas, _ := rig.ListSAs("left")
	ours := rw.g.IKE().SAs()
	if len(ours) != 1 || len(ours[0].Children) != 1 || ours[0].State != ike.StateEstablished {
		t.Fatalf("our SAs after the rekeys: %+v", ours)
	}
	c := ours[0].Children[0]
	if c.InSPI == first.InSPI || !strings.Contains(sas, fmt.Sprintf("%08x", c.InSPI)) || strings.Count(sas, "INSTALLED") != 1 {
		t.Errorf("after the rekeys we have %08x/%08x, strongSwan:\n%s", c.InSPI, c.OutSPI, sas)
	}
	if ours[0].SPIi == firstSA.SPIi || !strings.Contains(sas, fmt.Sprintf("%016x", ours[0].SPIi)) || strings.Count(sas, "ESTABLISHED") != 1 {
		t.Errorf("after the rekeys our IKE SA is %016x, strongSwan:\n%s", ours[0].SPIi, sas)
	}
	if c.Proposal.String() != first.Proposal.String() || ours[0].Proposal.String() != firstSA.Proposal.String() {
		t.Errorf("the rekeys changed the algorithms: %v %v, first %v %v", ours[0].Proposal, c.Proposal, firstSA.Proposal, first.Proposal)
	}
	if pools[0].Online() != 1 {
		t.Errorf("%d leases online", pools[0].Online())
	}
	rw.checkDelete(t)
}

func errIfNot(got, want int) error {
	if got != want {
		return fmt.Errorf("started %d, want %d", got, want)
	}
	return nil
}

// TestInteropDPD (issue "IKEv2 lifecycle"): strongSwan's charon is killed
// (SIGKILL, no delete); our liveness checks find the peer dead after the
// delay and retransmissions, clear the IKE SA and give the virtual IP
// back, within the time the configuration implies.
// killLeftCharon kills the rig's left charon (ours: its PID file is in
// the test's scratch dir) without letting it send a delete.
func killLeftCharon(t *testing.T, rig *interop.Rig) {
	t.Helper()
	pidFile := filepath.Join(rig.Dir, "left", "pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) != "charon" {
		t.Fatalf("PID %d from %s is not charon (%q)", pid, pidFile, comm)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
}

func TestInteropDPD(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	const scen = "ikev2-psk"
	rig := interop.Available(t)
	info := rig.Info(scen)
	peer, pools := rwConfig(t, info, false)
	peer.DPDDelay = 3 * time.Second
	rw := &roadwarrior{rig: rig, info: info, events: newEventLog(), pools: pools}
	if err := rig.NetUp(false); err != nil {
		t.Fatal(err)
	}
	retransmit := ike.Retransmit{Timeout: time.Second, Base: 1.5, Tries: 2}
	cfg := &ike.Config{Peers: []*ike.PeerConfig{peer}, Pools: pools, OnEvent: rw.events.add, Retransmit: retransmit}
	rw.g = startGateway(t, info["NS_RIGHT"], []netip.Addr{netip.MustParseAddr(info["RIGHT_ADDR"])}, nil, prefixes(t, info["POOL4"]), cfg)
	if err := rig.Start("left", scen); err != nil {
		t.Fatal(err)
	}
	if out, err := rw.initiate(scen); err != nil {
		t.Fatalf("initiate: %v\n%s", err, out)
	}
	sa := rw.checkUp(t)
	rw.ping(t)
	// An idle but alive peer answers the checks: still up after two delays.
	time.Sleep(2*peer.DPDDelay + time.Second)
	if sas := rw.g.IKE().SAs(); len(sas) != 1 || sas[0].State != ike.StateEstablished {
		t.Fatalf("an alive peer lost its SA: %+v\n%s", sas, rw.events)
	}
	killLeftCharon(t, rig)
	killed := time.Now()
	limit := peer.DPDDelay + retransmit.Total() + 2*time.Second
	if !rw.events.wait(limit+5*time.Second, func(evs []ike.Event) bool { return countKind(evs, ike.EventIKEDown) == 1 }) {
		t.Fatalf("not cleared %v after the kill:\n%s", time.Since(killed), rw.events)
	}
	if took := time.Since(killed); took > limit {
		t.Errorf("cleared after %v, configured at most %v", took, limit)
	}
	if pools[0].Online() != 0 {
		t.Errorf("pool: %d leases online", pools[0].Online())
	}
	for _, c := range sa.Children {
		if _, ok := rw.g.Engine().SA(esp.InSA(c.InSPI)); ok {
			t.Errorf("inbound SA %08x still installed", c.InSPI)
		}
	}
}

// TestInteropRekeyByLifetime: short lifetimes on both sides (strongSwan
// rekeys its CHILD_SA every 7 s and its IKE SA every 13 s, we ours every
// 5-6 s and 10-11 s), during 30 s of pings: every rekey, from either side
// and colliding or not, loses no packet.
func TestInteropRekeyByLifetime(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	const scen = "ike/testdata/interop/ikev2-psk-rekey"
	rig := interop.Available(t)
	info := rig.Info(scen)
	peer, pools := rwConfig(t, info, false)
	peer.RekeyTime = 11 * time.Second
	peer.Children[0].Lifetime = esp.Lifetime{SoftTime: 6 * time.Second, HardTime: 7 * time.Second}
	rw := startRoadwarrior(t, rig, scen, false, false, peer, pools)
	if out, err := rw.initiate(scen); err != nil {
		t.Fatalf("initiate: %v\n%s", err, out)
	}
	rw.checkUp(t)
	out, err := rig.Exec("left", "ping", "-c", "300", "-i", "0.1", "-W", "1", "203.0.113.1")
	if err != nil || !strings.Contains(out, " 0% packet loss") {
		t.Fatalf("ping during the rekeys: %v\n%s\nevents:\n%s", err, out, rw.events)
	}
	rw.events.mu.Lock()
	var childRekeys, ikeRekeys int
	for _, e := range rw.events.evs {
		switch {
		case e.Kind == ike.EventChildUp && e.Rekey:
			childRekeys++
		case e.Kind == ike.EventIKEUp && e.Rekey:
			ikeRekeys++
		}
	}
	rw.events.mu.Unlock()
	if childRekeys < 4 || ikeRekeys < 2 {
		t.Errorf("%d CHILD_SA and %d IKE SA rekeys in 30 s", childRekeys, ikeRekeys)
	}
	t.Logf("%d CHILD_SA rekeys, %d IKE SA rekeys, %s", childRekeys, ikeRekeys, out[strings.Index(out, "ping statistics"):])
	sas, _ := rig.ListSAs("left")
	if strings.Count(sas, "ESTABLISHED") != 1 || strings.Count(sas, "INSTALLED") != 1 {
		t.Errorf("strongSwan after the rekeys:\n%s", sas)
	}
	if ours := rw.g.IKE().SAs(); len(ours) != 1 || len(ours[0].Children) != 1 {
		t.Errorf("ours after the rekeys: %+v", ours)
	}
}
