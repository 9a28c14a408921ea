package ikego_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/ikego/ikego"
	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/esp/esptest"
	"github.com/ikego/ikego/ike"
	"github.com/ikego/ikego/pki"
	"github.com/ikego/ikego/tun/tuntest"
)

// Two gateways, a roadwarrior client and a server, negotiate an IKEv2 SA
// with a pre-shared key and a CHILD_SA over an in-memory network, and a
// ping from the client's virtual IP reaches the subnet behind the server.
// With real devices: tun.Create for the TUN device and esp.NewUDPBind for
// the sockets, as examples/roadwarrior does.
func ExampleNewGateway() {
	network := esptest.NewNetwork()
	serverAddr, clientAddr := netip.MustParseAddr("198.51.100.2"), netip.MustParseAddr("192.0.2.10")
	subnet := netip.MustParsePrefix("203.0.113.0/26")
	psk := []byte("a long random pre-shared key")
	serverID, _ := pki.ParseIdentity("vpn.example.com")
	clientID, _ := pki.ParseIdentity("alice@example.com")

	pool, err := ike.NewPool("rw4", netip.MustParsePrefix("198.18.200.0/28"))
	if err != nil {
		panic(err)
	}
	serverTUN := tuntest.NewChannel(1400)
	server, err := ikego.NewGateway(ikego.GatewayConfig{TUN: serverTUN, Bind: network.NewBind(serverAddr),
		IKE: &ike.Config{Pools: ike.Pools{pool}, Peers: []*ike.PeerConfig{{
			Name:     "rw",
			Local:    ike.AuthConfig{Method: ike.AuthPSK, ID: serverID, PSK: psk},
			Remote:   ike.AuthConfig{Method: ike.AuthPSK, ID: clientID, PSK: psk},
			Pools:    []string{"rw4"},
			Children: []*ike.ChildConfig{{Name: "rw", LocalTS: []esp.Selector{esp.SelectorFromPrefix(subnet)}}},
		}}}})
	if err != nil {
		panic(err)
	}
	defer server.Close()

	up := make(chan ike.Event, 8)
	clientTUN := tuntest.NewChannel(1400)
	client, err := ikego.NewGateway(ikego.GatewayConfig{TUN: clientTUN, Bind: network.NewBind(clientAddr),
		IKE: &ike.Config{OnEvent: func(e ike.Event) {
			if e.Kind == ike.EventChildUp {
				up <- e
			}
		}, Peers: []*ike.PeerConfig{{
			Name:       "home",
			RemoteHost: netip.AddrPortFrom(serverAddr, 500),
			LocalAddr:  clientAddr,
			RequestVIP: true,
			Local:      ike.AuthConfig{Method: ike.AuthPSK, ID: clientID, PSK: psk},
			Remote:     ike.AuthConfig{Method: ike.AuthPSK, ID: serverID, PSK: psk},
			Children:   []*ike.ChildConfig{{Name: "home", RemoteTS: []esp.Selector{esp.SelectorFromPrefix(subnet)}}},
		}}}})
	if err != nil {
		panic(err)
	}
	defer client.Close()
	for _, g := range []*ikego.Gateway{server, client} {
		if err := g.Start(); err != nil {
			panic(err)
		}
	}
	if err := client.IKE().Initiate("home"); err != nil {
		panic(err)
	}
	select {
	case <-up:
	case <-time.After(10 * time.Second):
		panic("no CHILD_SA")
	}
	vip := client.IKE().SAs()[0].VIPs[0]
	fmt.Println("virtual IP", vip)

	clientTUN.Inbound <- tuntest.Ping(vip, netip.MustParseAddr("203.0.113.1"), 1, 1, []byte("hello"))
	select {
	case pkt := <-serverTUN.Outbound:
		src, dst, _, _, _, _ := tuntest.ParseEcho(pkt)
		fmt.Println("the server's TUN device got a ping from", src, "to", dst)
	case <-time.After(10 * time.Second):
		panic("no ping")
	}
	// Output:
	// virtual IP 198.18.200.1
	// the server's TUN device got a ping from 198.18.200.1 to 203.0.113.1
}

// A gateway that also serves L2TP/IPsec clients (Windows, macOS, iOS and
// Android): their transport-mode SAs, negotiated by IKEv1 for UDP port
// 1701 of the gateway, carry L2TP to the gateway's L2TPService, which runs
// PPP, gives each call an address of Pool and routes it through the TUN
// device; the host should route Pool into the device and own LocalAddr.
func ExampleGatewayConfig_l2tp() {
	users := map[string]string{"dave": "a long password"}
	cfg := ikego.GatewayConfig{
		// TUN, Bind and IKE (an IKEv1 connection with a child in
		// esp.ModeTransport) as for any gateway.
		L2TP: &ikego.L2TPConfig{
			Password: func(user string) (string, bool) {
				pw, ok := users[user]
				return pw, ok
			},
			Pool:      netip.MustParsePrefix("198.18.202.0/24"),
			LocalAddr: netip.MustParseAddr("198.18.202.1"),
			DNS:       []netip.Addr{netip.MustParseAddr("198.51.100.53")},
		},
	}
	_, err := ikego.NewGateway(cfg)
	fmt.Println(err != nil) // no TUN device and no Bind here
	// Output: true
}
