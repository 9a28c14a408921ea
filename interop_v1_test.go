package ikego

import (
	"net/netip"
	"testing"

	"github.com/ikego/ikego/ike"
	"github.com/ikego/ikego/ike/wire"
	"github.com/ikego/ikego/internal/interop"
)

// TestInteropIKEv1MainPSKXAuth: strongSwan's IKEv1 roadwarrior client of
// the rig's ikev1-main-psk-xauth scenario (Main Mode with a PSK and
// XAUTHInitPreShared, XAuth as bob, Mode Config pull, Quick Mode for
// 203.0.113.0/26, NAT-T faked by kernel-libipsec so ESP goes over UDP
// 4500) against our IKEv1 responder: both sides list the SAs, pings cross
// the tunnel, and the delete from our side reaches strongSwan and gives
// the lease back.
func TestInteropIKEv1MainPSKXAuth(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	const scen = "ikev1-main-psk-xauth"
	rig := interop.Available(t)
	info := rig.Info(scen)
	pool4, err := ike.NewPool("rw4", netip.MustParsePrefix(info["POOL4"]))
	if err != nil {
		t.Fatal(err)
	}
	psk := []byte(info["PSK"])
	user, pass := info["XAUTH_USER"], info["XAUTH_PASS"]
	if user == "" || pass == "" {
		t.Fatalf("the rig gives no XAuth account: %q %q", user, pass)
	}
	peer := &ike.PeerConfig{
		Name:    "rw",
		Version: ike.VersionIKEv1,
		Local:   ike.AuthConfig{Method: ike.AuthPSK, PSK: psk},
		Remote: ike.AuthConfig{Method: ike.AuthPSK, PSK: psk, XAuthPassword: func(u string) (string, bool) {
			return pass, u == user
		}},
		Pools: []string{"rw4"},
		DNS:   []netip.Addr{netip.MustParseAddr(info["DNS4"])},
		Children: []*ike.ChildConfig{{Name: "rw", LocalTS: selectors(prefixes(t, "203.0.113.0/26")),
			ESPProposals: ike.MustParseProposals("aes256-sha256, aes256-sha1", wire.ProtocolESP), Strict: true}},
	}
	rw := startRoadwarrior(t, rig, scen, false, false, peer, ike.Pools{pool4})
	if out, err := rw.initiate(scen); err != nil {
		t.Fatalf("initiate: %v\n%s\nour events:\n%s", err, out, rw.events)
	}
	sa := rw.checkUp(t, "203.0.113.0/26", info["FIRST_VIP4"])
	if got := sa.RemoteID.String(); got != info["LEFT_ADDR"] {
		t.Errorf("peer identity %v, want %s", got, info["LEFT_ADDR"])
	}
	if len(sa.VIPs) != 1 || sa.VIPs[0].String() != info["FIRST_VIP4"] {
		t.Errorf("virtual IPs %v, want %s", sa.VIPs, info["FIRST_VIP4"])
	}
	rw.ping(t)
	rw.checkDelete(t)
}
