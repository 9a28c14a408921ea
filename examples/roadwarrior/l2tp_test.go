package main

import (
	"context"
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

// TestL2TPOverIKEv1 runs a connection of type l2tp as the server builds it
// from its file: an IKEv1 initiator (ours: no third-party transport-mode
// peer runs here) negotiates the transport-mode SA for UDP port 1701 with
// Main Mode and Quick Mode, an L2TP/PPP client logs in through it, gets an
// address of the pool, and pings a host behind the server both ways. When
// the client deletes its IKE SA the server ends the call and the address
// goes back to the pool.
func TestL2TPOverIKEv1(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
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
	serverAddr, clientAddr := netip.MustParseAddr("198.51.100.2"), netip.MustParseAddr("192.0.2.10")
	host := netip.MustParseAddr("203.0.113.1") // behind the server
	net := esptest.NewNetwork()
	log := controlLogger(t)

	// The server, wired as main does.
	serverEvents := make(chan ike.Event, 64)
	ikeCfg := *rt.IKE
	ikeCfg.Logger = log
	ikeCfg.OnEvent = func(e ike.Event) {
		select {
		case serverEvents <- e:
		default:
		}
	}
	l2tpCfg, _ := l2tpService(rt, log)
	dev := tuntest.NewChannel(1400)
	srv, err := ikego.NewGateway(ikego.GatewayConfig{TUN: dev, Bind: net.NewBind(serverAddr), IKE: &ikeCfg, L2TP: l2tpCfg, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })

	// The client: IKEv1 with the PSK, transport mode for L2TP, the
	// proposals of Windows' L2TP/IPsec client.
	l2tpSel := func(a netip.Addr) []esp.Selector {
		return []esp.Selector{{Start: a, End: a, Proto: 17, StartPort: ikego.L2TPPort, EndPort: ikego.L2TPPort}}
	}
	psk := []byte("ikego-test-psk-0123456789abcdef")
	peer := &ike.PeerConfig{Name: "vpn", Version: ike.VersionIKEv1, RemoteHost: netip.AddrPortFrom(serverAddr, 500), LocalAddr: clientAddr,
		Local:        ike.AuthConfig{Method: ike.AuthPSK, ID: parseID(t, clientAddr.String()), PSK: psk},
		Remote:       ike.AuthConfig{Method: ike.AuthPSK, ID: parseID(t, serverAddr.String()), PSK: psk},
		IKEProposals: ike.MustParseProposals("aes256-sha1-modp1024", wire.ProtocolIKE), Strict: true,
		Children: []*ike.ChildConfig{{Name: "l2tp", Mode: esp.ModeTransport, LocalTS: l2tpSel(clientAddr), RemoteTS: l2tpSel(serverAddr),
			ESPProposals: ike.MustParseProposals("aes256-sha1", wire.ProtocolESP), Strict: true}}}
	clientEvents := make(chan ike.Event, 64)
	cli, err := ikego.NewGateway(ikego.GatewayConfig{TUN: tuntest.NewChannel(1400), Bind: net.NewBind(clientAddr),
		IKE: &ike.Config{Peers: []*ike.PeerConfig{peer}, Logger: log, OnEvent: func(e ike.Event) {
			select {
			case clientEvents <- e:
			default:
			}
		}}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	conn, err := cli.Engine().ListenLocal(ikego.L2TPPort)
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.IKE().Initiate("vpn"); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, clientEvents, "the client's CHILD_SA", func(e ike.Event) bool { return e.Kind == ike.EventChildUp })
	sas := cli.IKE().SAs()
	if len(sas) != 1 || len(sas[0].Children) != 1 || sas[0].Version != 1 || sas[0].Children[0].Mode != esp.ModeTransport {
		t.Fatalf("client SAs: %+v", sas)
	}
	policy := sas[0].Children[0].Policy
	// No wait for the server's CHILD_SA: it is in before the server's
	// Quick Mode message 2 leaves, so the client's first packet (which
	// l2tptest does not retransmit) cannot overtake it.

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := l2tptest.Dial(ctx, l2tptest.NewLocalTransport(conn, esp.LocalAddr{PolicyID: policy, Peer: netip.AddrPortFrom(serverAddr, ikego.L2TPPort)}),
		l2tptest.Config{User: "dave", Password: "dave-password-1", Auth: ppp.AuthMSCHAPv2})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pool := netip.MustParsePrefix("198.18.202.0/28")
	if !pool.Contains(c.Addr()) || c.ServerAddr() != netip.MustParseAddr("198.18.202.1") || c.Addr() == c.ServerAddr() ||
		len(c.DNS()) != 1 || c.DNS()[0] != netip.MustParseAddr("198.51.100.53") {
		t.Fatalf("PPP: address %v, server %v, DNS %v", c.Addr(), c.ServerAddr(), c.DNS())
	}

	// A ping from the client reaches the server's TUN device, the reply
	// the client.
	if err := c.SendIP(tuntest.Ping(c.Addr(), host, 7, 1, []byte("l2tp over ikev1"))); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-dev.Outbound:
		if src, dst, typ, _, _, ok := tuntest.ParseEcho(p); !ok || src != c.Addr() || dst != host || typ != 8 {
			t.Fatalf("server TUN got %x", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the client's ping did not reach the server's TUN device")
	}
	dev.Inbound <- tuntest.Ping(host, c.Addr(), 7, 2, []byte("reply"))
	select {
	case p := <-c.IP():
		if src, dst, _, _, seq, ok := tuntest.ParseEcho(p); !ok || src != host || dst != c.Addr() || seq != 2 {
			t.Fatalf("client got %x", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the packet to the client's address did not reach it")
	}
	if calls := srv.L2TP().Sessions(); len(calls) != 1 || calls[0].User != "dave" || calls[0].Addr != c.Addr() || !calls[0].Up {
		t.Fatalf("server's calls: %+v", calls)
	}

	// The client's IKE SA goes: the server ends the call at once.
	if n := cli.IKE().Terminate("vpn"); n != 1 {
		t.Fatalf("Terminate: %d", n)
	}
	waitEvent(t, serverEvents, "the server's CHILD_SA removed", func(e ike.Event) bool { return e.Kind == ike.EventChildDown && !e.Rekey })
	pollUntil(t, 10*time.Second, "the call ended and its address back in the pool", func() bool {
		st := srv.L2TP().Stats()
		return st.Calls == 0 && st.Leases == 0 && len(srv.Engine().LocalAddrs()) == 0
	})
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

// TestL2TPServiceReload: the service's accounts follow each new build (a
// reload), and a build without an l2tp connection refuses every user.
func TestL2TPServiceReload(t *testing.T) {
	build := func(users string) *Runtime {
		t.Helper()
		rt, err := check(configWith(t, edit{"connections.rw.type", "l2tp"}, edit{"connections.rw.local_ts", "-"},
			edit{"l2tp_users", users}), "")
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}
	cfg, changed := l2tpService(build("[{id: dave, secret: dave-pw}]"), controlLogger(t))
	if pw, ok := cfg.Password("dave"); !ok || pw != "dave-pw" {
		t.Fatalf("dave: %q %v", pw, ok)
	}
	changed(build("[{id: erin, secret: erin-pw}]"))
	if _, ok := cfg.Password("dave"); ok {
		t.Error("dave still logs in after the reload removed him")
	}
	if pw, ok := cfg.Password("erin"); !ok || pw != "erin-pw" {
		t.Errorf("erin after the reload: %q %v", pw, ok)
	}
	rt, err := check(configWith(t), "")
	if err != nil {
		t.Fatal(err)
	}
	changed(rt)
	if _, ok := cfg.Password("erin"); ok {
		t.Error("a user logs in after the l2tp connection went")
	}
	if cfg, _ := l2tpService(rt, controlLogger(t)); cfg != nil {
		t.Errorf("a service without an l2tp connection: %+v", cfg)
	}
}
