package ike_test

import (
	"fmt"
	"net/netip"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike"
	"github.com/ikego/ikego/ike/wire"
	"github.com/ikego/ikego/pki"
)

// A roadwarrior gateway's connection: clients of example.com with a
// pre-shared key get a virtual IP and reach two subnets. The Manager is
// then made with ike.NewManager, or by the root package's Gateway, which
// fills in Dataplane and Sender.
func ExamplePeerConfig() {
	pool, err := ike.NewPool("rw4", netip.MustParsePrefix("198.18.200.0/28"))
	if err != nil {
		panic(err)
	}
	server, _ := pki.ParseIdentity("vpn.example.com")
	clients, _ := pki.ParseIdentity("*@example.com")
	psk := []byte("a long random pre-shared key")
	rw := &ike.PeerConfig{
		Name:         "rw",
		IKEProposals: ike.MustParseProposals("aes256gcm16-prfsha384-ecp384", wire.ProtocolIKE),
		Local:        ike.AuthConfig{Method: ike.AuthPSK, ID: server, PSK: psk},
		Remote:       ike.AuthConfig{Method: ike.AuthPSK, ID: clients, PSK: psk},
		Pools:        []string{"rw4"},
		DNS:          []netip.Addr{netip.MustParseAddr("198.51.100.53")},
		Children: []*ike.ChildConfig{{Name: "rw", LocalTS: []esp.Selector{
			esp.SelectorFromPrefix(netip.MustParsePrefix("203.0.113.0/26")),
			esp.SelectorFromPrefix(netip.MustParsePrefix("198.18.1.0/24")),
		}}},
	}
	cfg := ike.Config{Peers: []*ike.PeerConfig{rw}, Pools: ike.Pools{pool}}
	// Without a Dataplane and a Sender the configuration is incomplete.
	fmt.Println(cfg.Validate())
	// Output:
	// ike: Config.Dataplane is required
	// ike: Config.Sender is required
}
