package ikego

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike"
	"github.com/ikego/ikego/ike/wire"
	"github.com/ikego/ikego/internal/interop"
	"github.com/ikego/ikego/internal/xl2tpd"
	"github.com/ikego/ikego/l2tp"
)

// TestInteropL2TPIPsec: L2TP/IPsec with third-party peers on both layers.
// strongSwan (the rig's ikev1-tunnel-l2tp client: IKEv1 Main Mode with a
// PSK and MODP-1024, as Windows proposes it, and a CHILD_SA for UDP port
// 1701 between the two hosts, in tunnel mode because kernel-libipsec has
// no transport mode) negotiates with our gateway; then xl2tpd, a real LAC,
// dials our L2TP service through that SA: the tunnel and the call come up
// on both sides, with the datagrams carried by our CHILD_SA, and closing
// our service reaches xl2tpd (StopCCN). xl2tpd's pppd cannot run without
// kernel PPP, so PPP itself is not part of this test (the in-process tests
// run it).
func TestInteropL2TPIPsec(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	const scen = "ikev1-tunnel-l2tp"
	rig := interop.Available(t)
	if err := rig.NetUp(false); err != nil {
		t.Fatal(err)
	}
	info := rig.Info(scen)
	right := netip.MustParseAddr(info["RIGHT_ADDR"])
	psk := []byte("ikego-psk-0123456789abcdef")
	peer := &ike.PeerConfig{
		Name:         "l2tp",
		Version:      ike.VersionIKEv1,
		Local:        ike.AuthConfig{Method: ike.AuthPSK, PSK: psk},
		Remote:       ike.AuthConfig{Method: ike.AuthPSK, PSK: psk},
		IKEProposals: ike.MustParseProposals("aes256-sha1-modp1024", wire.ProtocolIKE),
		// No selectors: ours is our address, the client's its own; the
		// client narrows both to UDP port 1701.
		Children: []*ike.ChildConfig{{Name: "l2tp", Mode: esp.ModeTunnel,
			ESPProposals: ike.MustParseProposals("aes256-sha1", wire.ProtocolESP)}},
	}
	l2events := make(chan l2tp.Event, 64)
	pool := netip.MustParsePrefix("198.18.202.0/28")
	l2cfg := &L2TPConfig{
		Password: func(u string) (string, bool) { return "alice-password", u == "alice" },
		Pool:     pool,
		OnEvent: func(e l2tp.Event) {
			select {
			case l2events <- e:
			default:
			}
		},
	}
	events := newEventLog()
	g := startGateway(t, info["NS_RIGHT"], []netip.Addr{right}, []netip.Prefix{netip.PrefixFrom(pool.Addr().Next(), 32)},
		[]netip.Prefix{pool}, &ike.Config{Peers: []*ike.PeerConfig{peer}, OnEvent: events.add},
		func(c *GatewayConfig) { c.L2TP = l2cfg })
	if err := rig.Start("left", scen); err != nil {
		t.Fatal(err)
	}
	if out, err := rig.Initiate(scen, "left"); err != nil {
		t.Fatalf("initiate: %v\n%s\nour events:\n%s", err, out, events)
	}
	sas, err := rig.WaitInstalled("left", 15*time.Second)
	if err != nil {
		t.Fatalf("%v\nour events:\n%s", err, events)
	}
	ours := g.IKE().SAs()
	if len(ours) != 1 || ours[0].Version != 1 || len(ours[0].Children) != 1 || ours[0].Children[0].Mode != esp.ModeTunnel {
		t.Fatalf("our SAs: %+v", ours)
	}
	child := ours[0].Children[0]
	if ts := child.LocalTS; len(ts) != 1 || ts[0].String() != right.String()+"/32[udp/1701]" {
		t.Errorf("our CHILD_SA's selectors %v, want %v/32[udp/1701]", ts, right)
	}
	if !strings.Contains(sas, "INSTALLED") {
		t.Fatalf("strongSwan:\n%s", sas)
	}

	lac := xl2tpd.Start(t, xl2tpd.Config{Namespace: info["NS_LEFT"], ListenAddr: info["LEFT_ADDR"], LNS: info["RIGHT_ADDR"], Name: "alice"})
	lac.Dial()
	var tunnelUp, callUp bool
	timeout := time.After(20 * time.Second)
	for !tunnelUp || !callUp {
		select {
		case e := <-l2events:
			tunnelUp = tunnelUp || e.Kind == l2tp.EventTunnelUp
			callUp = callUp || e.Kind == l2tp.EventSessionUp
			if e.Kind == l2tp.EventSessionUp && e.Peer.Conn != uint64(child.Policy) {
				t.Errorf("the call came on policy %d, our CHILD_SA has %d", e.Peer.Conn, child.Policy)
			}
		case <-timeout:
			t.Fatalf("no L2TP tunnel and call within 20 s (tunnel %v, call %v); engine %+v", tunnelUp, callUp, g.Engine().Stats())
		}
	}
	if !lac.WaitLog("Call established", 10*time.Second) || !strings.Contains(lac.Logs(), "Connection established") {
		t.Fatalf("xl2tpd did not log the tunnel and the call:\n%s", lac.Logs())
	}
	sa, ok := g.Engine().SA(child.InSA())
	if packets, _ := sa.Usage(); !ok || packets < 3 {
		t.Errorf("our inbound SA carried %d packets, want the L2TP control messages", packets)
	}

	// Our service stops: its StopCCN reaches xl2tpd through the SA.
	g.L2TP().Close()
	if !lac.WaitLog("Connection closed to "+info["RIGHT_ADDR"], 10*time.Second) {
		t.Fatalf("xl2tpd did not log our StopCCN:\n%s", lac.Logs())
	}
}
