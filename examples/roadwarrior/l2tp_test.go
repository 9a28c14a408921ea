package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ikego/ikego"
	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/esp/esptest"
	"github.com/ikego/ikego/ike"
	"github.com/ikego/ikego/ike/wire"
	"github.com/ikego/ikego/internal/l2tptest"
	"github.com/ikego/ikego/internal/leakcheck"
	"github.com/ikego/ikego/ppp"
	"github.com/ikego/ikego/tun/tuntest"
)

const l2tpConf = `
pools:
  - {name: l2tp, addrs: 198.18.202.0/28, dns: [198.51.100.53]}
l2tp_users:
  - {id: dave, secret: dave-password-1}
connections:
  l2tp:
    type: l2tp
    local: {auth: psk}
    remote: {auth: psk}
    psk: ikego-test-psk-0123456789abcdef
    pools: l2tp
`

var (
	l2tpServerAddr = netip.MustParseAddr("198.51.100.2")
	l2tpHost       = netip.MustParseAddr("203.0.113.1") // behind the server
)

// l2tpServerEnv is the server of the L2TP tests, built from l2tpConf and
// wired as main wires it.
type l2tpServerEnv struct {
	g      *ikego.Gateway
	dev    *tuntest.Channel
	events chan ike.Event
}

func newL2TPServer(t *testing.T, net *esptest.Network) *l2tpServerEnv {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rw.yaml")
	if err := os.WriteFile(path, []byte(l2tpConf), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	log := controlLogger(t)
	e := &l2tpServerEnv{dev: tuntest.NewChannel(1400), events: make(chan ike.Event, 64)}
	ikeCfg := *rt.IKE
	ikeCfg.Logger = log
	ikeCfg.OnEvent = func(ev ike.Event) {
		select {
		case e.events <- ev:
		default:
		}
	}
	e.g, err = ikego.NewGateway(ikego.GatewayConfig{TUN: e.dev, Bind: net.NewBind(l2tpServerAddr), IKE: &ikeCfg,
		L2TP: newL2TPRunner(rt, log).running, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.g.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.g.Close() })
	return e
}

// l2tpIPsecClient is an L2TP/IPsec client: our IKEv1 initiator with the
// PSK and the proposals of Windows' client, a transport-mode SA for L2TP,
// and an L2TP/PPP client through it.
type l2tpIPsecClient struct {
	g      *ikego.Gateway
	c      *l2tptest.Client
	events chan ike.Event
}

func dialL2TPIPsec(t *testing.T, net *esptest.Network, addr netip.Addr, user, password string) *l2tpIPsecClient {
	t.Helper()
	l2tpSel := func(a netip.Addr) []esp.Selector {
		return []esp.Selector{{Start: a, End: a, Proto: 17, StartPort: ikego.L2TPPort, EndPort: ikego.L2TPPort}}
	}
	psk := []byte("ikego-test-psk-0123456789abcdef")
	peer := &ike.PeerConfig{Name: "vpn", Version: ike.VersionIKEv1, RemoteHost: netip.AddrPortFrom(l2tpServerAddr, 500), LocalAddr: addr,
		Local:        ike.AuthConfig{Method: ike.AuthPSK, ID: parseID(t, addr.String()), PSK: psk},
		Remote:       ike.AuthConfig{Method: ike.AuthPSK, ID: parseID(t, l2tpServerAddr.String()), PSK: psk},
		IKEProposals: ike.MustParseProposals("aes256-sha1-modp1024", wire.ProtocolIKE), Strict: true,
		Children: []*ike.ChildConfig{{Name: "l2tp", Mode: esp.ModeTransport, LocalTS: l2tpSel(addr), RemoteTS: l2tpSel(l2tpServerAddr),
			ESPProposals: ike.MustParseProposals("aes256-sha1", wire.ProtocolESP), Strict: true}}}
	events := make(chan ike.Event, 64)
	g, err := ikego.NewGateway(ikego.GatewayConfig{TUN: tuntest.NewChannel(1400), Bind: net.NewBind(addr),
		IKE: &ike.Config{Peers: []*ike.PeerConfig{peer}, Logger: controlLogger(t), OnEvent: func(e ike.Event) {
			select {
			case events <- e:
			default:
			}
		}}, Logger: controlLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	conn, err := g.Engine().ListenLocal(ikego.L2TPPort)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.IKE().Initiate("vpn"); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, events, "the client's CHILD_SA", func(e ike.Event) bool { return e.Kind == ike.EventChildUp })
	sas := g.IKE().SAs()
	if len(sas) != 1 || len(sas[0].Children) != 1 || sas[0].Version != 1 || sas[0].Children[0].Mode != esp.ModeTransport {
		t.Fatalf("client SAs: %+v", sas)
	}
	// No wait for the server's CHILD_SA: it is in before the server's
	// Quick Mode message 2 leaves, so the client's first packet (which
	// l2tptest does not retransmit) cannot overtake it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := l2tptest.Dial(ctx, l2tptest.NewLocalTransport(conn, esp.LocalAddr{PolicyID: sas[0].Children[0].Policy,
		Peer: netip.AddrPortFrom(l2tpServerAddr, ikego.L2TPPort)}),
		l2tptest.Config{User: user, Password: password, Auth: ppp.AuthMSCHAPv2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &l2tpIPsecClient{g: g, c: c, events: events}
}

// pingBothWays sends a ping from the client to the host behind the server
// and one from the host to the client.
func (e *l2tpServerEnv) pingBothWays(t *testing.T, c *l2tptest.Client, seq uint16) {
	t.Helper()
	if err := c.SendIP(tuntest.Ping(c.Addr(), l2tpHost, 7, seq, []byte("l2tp over ikev1"))); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-e.dev.Outbound:
		if src, dst, typ, _, s, ok := tuntest.ParseEcho(p); !ok || src != c.Addr() || dst != l2tpHost || typ != 8 || s != seq {
			t.Fatalf("server TUN got %x", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the client's ping did not reach the server's TUN device")
	}
	e.dev.Inbound <- tuntest.Ping(l2tpHost, c.Addr(), 7, seq+1, []byte("reply"))
	select {
	case p := <-c.IP():
		if src, dst, _, _, s, ok := tuntest.ParseEcho(p); !ok || src != l2tpHost || dst != c.Addr() || s != seq+1 {
			t.Fatalf("client got %x", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the packet to the client's address did not reach it")
	}
}

// TestL2TPOverIKEv1 runs a connection of type l2tp as the server builds it
// from its file: an IKEv1 initiator (ours: no third-party transport-mode
// peer runs here) negotiates the transport-mode SA for UDP port 1701 with
// Main Mode and Quick Mode, an L2TP/PPP client logs in through it, gets an
// address of the pool, and pings a host behind the server both ways, also
// after the client rekeyed its CHILD_SA. When the client deletes its IKE
// SA the server ends the call and the address goes back to the pool.
func TestL2TPOverIKEv1(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	net := esptest.NewNetwork()
	srv := newL2TPServer(t, net)
	cl := dialL2TPIPsec(t, net, netip.MustParseAddr("192.0.2.10"), "dave", "dave-password-1")
	c := cl.c
	pool := netip.MustParsePrefix("198.18.202.0/28")
	if !pool.Contains(c.Addr()) || c.ServerAddr() != netip.MustParseAddr("198.18.202.1") || c.Addr() == c.ServerAddr() ||
		len(c.DNS()) != 1 || c.DNS()[0] != netip.MustParseAddr("198.51.100.53") {
		t.Fatalf("PPP: address %v, server %v, DNS %v", c.Addr(), c.ServerAddr(), c.DNS())
	}
	srv.pingBothWays(t, c, 1)
	if calls := srv.g.L2TP().Sessions(); len(calls) != 1 || calls[0].User != "dave" || calls[0].Addr != c.Addr() || !calls[0].Up {
		t.Fatalf("server's calls: %+v", calls)
	}

	// The client rekeys its CHILD_SA (Windows does every hour): the call
	// goes on over the new SAs, and the old CHILD_SA's removal on the
	// server (a rekey) leaves it alone.
	if n := cl.g.IKE().Rekey("vpn"); n != 1 {
		t.Fatalf("Rekey: %d", n)
	}
	waitEvent(t, cl.events, "the client's rekeyed CHILD_SA", func(e ike.Event) bool { return e.Kind == ike.EventChildUp && e.Rekey })
	waitEvent(t, srv.events, "the server's old CHILD_SA removed", func(e ike.Event) bool { return e.Kind == ike.EventChildDown && e.Rekey })
	srv.pingBothWays(t, c, 3)
	if calls := srv.g.L2TP().Sessions(); len(calls) != 1 || calls[0].Addr != c.Addr() || !calls[0].Up {
		t.Fatalf("server's calls after the rekey: %+v", calls)
	}

	// The client's IKE SA goes: the server ends the call at once.
	if n := cl.g.IKE().Terminate("vpn"); n != 1 {
		t.Fatalf("Terminate: %d", n)
	}
	waitEvent(t, srv.events, "the server's CHILD_SA removed", func(e ike.Event) bool { return e.Kind == ike.EventChildDown && !e.Rekey })
	pollUntil(t, 10*time.Second, "the call ended and its address back in the pool", func() bool {
		st := srv.g.L2TP().Stats()
		return st.Calls == 0 && st.Leases == 0 && len(srv.g.Engine().LocalAddrs()) == 0
	})
}

// TestL2TPBehindOneNAT: two L2TP/IPsec clients behind the same NAT, whose
// transport-mode SAs have the same selectors (the NAT's address, UDP port
// 1701) and differ only in their SPIs and NAT-T ports, as when two
// Windows laptops dial out of one office: both get calls, and each gets
// only its own packets (the Linux kernel's transport mode, keyed by the
// NAT's address, has long failed at this).
func TestL2TPBehindOneNAT(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	net := esptest.NewNetwork()
	srv := newL2TPServer(t, net)
	nat := netip.MustParseAddr("203.0.113.100")
	a, b := netip.MustParseAddr("198.18.50.10"), netip.MustParseAddr("198.18.50.11")
	net.NAT(a, nat)
	net.NAT(b, nat)
	ca := dialL2TPIPsec(t, net, a, "dave", "dave-password-1").c
	cb := dialL2TPIPsec(t, net, b, "dave", "dave-password-1").c
	if ca.Addr() == cb.Addr() {
		t.Fatalf("both clients got %v", ca.Addr())
	}
	sas := srv.g.IKE().SAs()
	if len(sas) != 2 || sas[0].Remote.Addr() != nat || sas[1].Remote.Addr() != nat || sas[0].Remote == sas[1].Remote ||
		len(sas[0].Children) != 1 || len(sas[1].Children) != 1 {
		t.Fatalf("server's IKE SAs: %+v", sas)
	}
	c0, c1 := sas[0].Children[0], sas[1].Children[0]
	if ts := fmt.Sprint(c0.RemoteTS); ts != fmt.Sprint(c1.RemoteTS) || ts != "[203.0.113.100/32[udp/1701]]" || c0.Policy == c1.Policy {
		t.Fatalf("the two clients' CHILD_SAs: %v (policy %d) and %v (policy %d)", c0.RemoteTS, c0.Policy, c1.RemoteTS, c1.Policy)
	}
	for i, c := range []*l2tptest.Client{ca, cb, ca, cb} {
		srv.pingBothWays(t, c, uint16(10*i+1))
	}
	select {
	case p := <-ca.IP():
		t.Fatalf("client a got another packet: %x", p)
	case p := <-cb.IP():
		t.Fatalf("client b got another packet: %x", p)
	default:
	}
}

// waitEvent waits up to 15 s for an event that match accepts.
func waitEvent(t *testing.T, ch <-chan ike.Event, what string, match func(ike.Event) bool) {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case e := <-ch:
			if match(e) {
				return
			}
		case <-timeout:
			t.Fatalf("no event: %s", what)
		}
	}
}

// TestL2TPServiceReload: the runner follows each new build (a reload):
// changed accounts take effect at once without touching the service; a
// changed pool replaces the service (and moves nothing else); no l2tp
// connection stops it; the first one starts it again.
func TestL2TPServiceReload(t *testing.T) {
	build := func(users, pool string) *Runtime {
		t.Helper()
		edits := []edit{{"connections.rw.local_ts", "-"}, {"l2tp_users", users}}
		if pool != "" {
			edits = append(edits, edit{"connections.rw.type", "l2tp"}, edit{"pools", "[{name: rw4, addrs: " + pool + "}]"})
		}
		if pool == "" {
			edits = append(edits, edit{"connections.rw.local_ts", "10.0.0.0/8"})
		}
		rt, err := check(configWith(t, edits...), "")
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}
	r := newL2TPRunner(build("[{id: dave, secret: dave-pw}]", "198.18.202.0/28"), controlLogger(t))
	gw := &fakeL2TPGateway{}
	r.gw = gw
	cfg := r.running
	if pw, ok := cfg.Password("dave"); !ok || pw != "dave-pw" {
		t.Fatalf("dave: %q %v", pw, ok)
	}

	r.update(build("[{id: erin, secret: erin-pw}]", "198.18.202.0/28"))
	if len(gw.calls) != 0 {
		t.Errorf("new accounts replaced the service: %v", gw.calls)
	}
	if _, ok := cfg.Password("dave"); ok {
		t.Error("dave still logs in after the reload removed him")
	}
	if pw, ok := cfg.Password("erin"); !ok || pw != "erin-pw" {
		t.Errorf("erin after the reload: %q %v", pw, ok)
	}

	r.update(build("[{id: erin, secret: erin-pw}]", "198.18.203.0/28"))
	if len(gw.calls) != 1 || gw.calls[0] == nil || gw.calls[0].Pool != netip.MustParsePrefix("198.18.203.0/28") {
		t.Fatalf("a new pool: SetL2TP %v", gw.calls)
	}
	if pw, ok := gw.calls[0].Password("erin"); !ok || pw != "erin-pw" {
		t.Errorf("erin in the new service: %q %v", pw, ok)
	}

	r.update(build("[{id: erin, secret: erin-pw}]", ""))
	if len(gw.calls) != 2 || gw.calls[1] != nil || r.running != nil {
		t.Fatalf("no l2tp connection: SetL2TP %v", gw.calls)
	}
	r.update(build("[{id: erin, secret: erin-pw}]", "198.18.202.0/28"))
	if len(gw.calls) != 3 || gw.calls[2] == nil || gw.calls[2].Pool != netip.MustParsePrefix("198.18.202.0/28") {
		t.Fatalf("the l2tp connection back: SetL2TP %v", gw.calls)
	}
	if r := newL2TPRunner(build("[{id: erin, secret: erin-pw}]", ""), controlLogger(t)); r.running != nil {
		t.Errorf("a service without an l2tp connection: %+v", r.running)
	}
}

// fakeL2TPGateway records SetL2TP.
type fakeL2TPGateway struct{ calls []*ikego.L2TPConfig }

func (g *fakeL2TPGateway) SetL2TP(c *ikego.L2TPConfig) error {
	g.calls = append(g.calls, c)
	return nil
}
