package ikego

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ikego/ikego/ike"
	"github.com/ikego/ikego/internal/interop"
	"github.com/ikego/ikego/pki"
)

// Interop tests of issue "IKEv2 lifecycle" against strongSwan: MOBIKE,
// start action trap, fragmentation both ways, redirects. The rekey and DPD
// tests are in interop_test.go.

// waitSA polls our SA listing until cond holds, at most d.
func waitSA(g *Gateway, d time.Duration, cond func([]ike.SAInfo) bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond(g.IKE().SAs()) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond) // bounded poll of our own state
	}
}

// TestInteropMOBIKE: strongSwan's client moves to a new address on its
// link; MOBIKE's UPDATE_SA_ADDRESSES moves our IKE SA and CHILD_SA with it,
// and the pings keep working.
func TestInteropMOBIKE(t *testing.T) {
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
	rw.checkUp(t)
	rw.ping(t)
	const moved = "198.51.100.11"
	for _, args := range [][]string{
		// The new address is a secondary one: promoted, not dropped, when
		// the old primary goes.
		{"sysctl", "-qw", "net.ipv4.conf." + info["IF_LEFT"] + ".promote_secondaries=1"},
		{"ip", "addr", "add", moved + "/24", "dev", info["IF_LEFT"]},
		{"ip", "addr", "del", info["LEFT_ADDR"] + "/24", "dev", info["IF_LEFT"]},
	} {
		if out, err := rig.Exec("left", args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	if !waitSA(rw.g, 15*time.Second, func(sas []ike.SAInfo) bool {
		return len(sas) == 1 && sas[0].Remote.Addr().String() == moved
	}) {
		sas, _ := rig.ListSAs("left")
		t.Fatalf("our SA did not follow the move: %+v\nstrongSwan:\n%s", rw.g.IKE().SAs(), sas)
	}
	rw.ping(t)
	sas, _ := rig.ListSAs("left")
	if !strings.Contains(sas, moved) || strings.Count(sas, "ESTABLISHED") != 1 {
		t.Errorf("strongSwan after the move:\n%s", sas)
	}
	if n := len(rw.g.IKE().SAs()[0].Children); n != 1 {
		t.Errorf("%d CHILD_SAs after the move", n)
	}
}

// TestInteropStartTrap: our net-to-net initiator starts with trap
// policies only; a ping from the site makes it negotiate with strongSwan,
// and the held packets go through.
func TestInteropStartTrap(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	rig, info, peer := netToNet(t)
	peer.StartAction = ike.StartTrap
	events := newEventLog()
	g := startGateway(t, info["NS_LEFT"], []netip.Addr{peer.LocalAddr}, nil, prefixes(t, "203.0.113.0/26 198.18.1.0/24"),
		&ike.Config{Peers: []*ike.PeerConfig{peer}, OnEvent: events.add})
	if sas := g.IKE().SAs(); len(sas) != 0 {
		t.Fatalf("SAs before any traffic: %+v", sas)
	}
	// The first ping is held by the trap and triggers the negotiation.
	out, err := rig.Exec("left", "ping", "-c", "4", "-i", "0.5", "-W", "5", "-I", info["PING_SRC"], "203.0.113.1")
	if err != nil {
		t.Fatalf("ping through the trap: %v\n%s\nevents:\n%s", err, out, events)
	}
	if !strings.Contains(out, " 0% packet loss") {
		t.Errorf("packets lost while negotiating (the held ones must go out):\n%s", out)
	}
	sas, err := rig.WaitInstalled("right", 10*time.Second)
	if err != nil || !strings.Contains(sas, "198.18.2.0/24") {
		t.Fatalf("strongSwan: %v\n%s", err, sas)
	}
	events.mu.Lock()
	n := countKind(events.evs, ike.EventIKEUp)
	events.mu.Unlock()
	if n != 1 {
		t.Errorf("%d IKE SAs came up", n)
	}
}

// TestInteropFragmentation: strongSwan with fragmentation = force sends
// its RSA IKE_AUTH in RFC 7383 fragments, and our IKE_AUTH response with a
// certificate chain is too big for one datagram and goes out in fragments
// that strongSwan reassembles.
func TestInteropFragmentation(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	const scen = "ike/testdata/interop/ikev2-cert-frag"
	rig := interop.Available(t)
	ca, server, key := seedPKI(t, rig, pki.KeyTypeRSA3072, "client2")
	info := rig.Info(scen)
	peer, pools := rwConfig(t, info, false)
	peer.Local = ike.AuthConfig{Method: ike.AuthPubKey, ID: mustIdentity(t, "vpn.example.com"),
		Certificates: []*x509.Certificate{server, ca.Cert}, Key: key}
	peer.Remote = ike.AuthConfig{Method: ike.AuthPubKey, ID: mustIdentity(t, "*.example.com"), CAs: []*x509.Certificate{ca.Cert}}
	rw := startRoadwarrior(t, rig, scen, false, false, peer, pools)
	out, err := rw.initiate(scen)
	if err != nil {
		t.Fatalf("initiate: %v\n%s\nour events:\n%s", err, out, rw.events)
	}
	for _, want := range []string{"splitting IKE message", "received fragment #1 of", "reassembled fragmented IKE message"} {
		if !strings.Contains(out, want) {
			t.Errorf("strongSwan's log lacks %q:\n%s", want, out)
		}
	}
	rw.checkUp(t, info["FIRST_VIP4"])
	rw.ping(t)
}

// TestInteropRedirect: our gateway sends strongSwan's client from one of
// its addresses to another (RFC 5685); the client follows and connects
// there.
func TestInteropRedirect(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	const scen = "ikev2-psk"
	rig := interop.Available(t)
	if err := rig.NetUp(false); err != nil {
		t.Fatal(err)
	}
	info := rig.Info(scen)
	first, second := netip.MustParseAddr(info["RIGHT_ADDR"]), netip.MustParseAddr("198.51.100.3")
	if out, err := rig.Exec("right", "ip", "addr", "add", second.String()+"/24", "dev", info["IF_RIGHT"]); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	peer, pools := rwConfig(t, info, false)
	rw := &roadwarrior{rig: rig, info: info, events: newEventLog(), pools: pools}
	cfg := &ike.Config{Peers: []*ike.PeerConfig{peer}, Pools: pools, OnEvent: rw.events.add,
		Redirect: func(local, remote netip.AddrPort) netip.Addr {
			if local.Addr() == first {
				return second
			}
			return netip.Addr{}
		}}
	rw.g = startGateway(t, info["NS_RIGHT"], []netip.Addr{first, second}, nil, prefixes(t, info["POOL4"]), cfg)
	if err := rig.Start("left", scen); err != nil {
		t.Fatal(err)
	}
	out, err := rw.initiate(scen)
	if err != nil {
		t.Fatalf("initiate: %v\n%s\nour events:\n%s", err, out, rw.events)
	}
	if !strings.Contains(out, "redirect") {
		t.Errorf("strongSwan's log does not mention the redirect:\n%s", out)
	}
	sa := rw.checkUp(t, second.String())
	if sa.Local.Addr() != second {
		t.Errorf("the IKE SA is on %v, want %v", sa.Local, second)
	}
	rw.ping(t)
	t.Log(fmt.Sprint(sa.Local))
}

// eapPeer is our connection for the rig's ikev2-eap scenario: the rig's
// RSA server certificate, EAP-MSCHAPv2 for the client with the given
// password for its identity.
func eapPeer(t *testing.T, info map[string]string, password string) (*ike.PeerConfig, ike.Pools) {
	t.Helper()
	certPEM, err := os.ReadFile(info["SERVER_CERT"])
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(info["SERVER_KEY"])
	if err != nil {
		t.Fatal(err)
	}
	cert, err := pki.ParseCertificate(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	key, err := pki.ParsePrivateKey(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	peer, pools := rwConfig(t, info, false)
	peer.Local = ike.AuthConfig{Method: ike.AuthPubKey, ID: mustIdentity(t, info["SERVER_ID"]), Certificates: []*x509.Certificate{cert}, Key: key}
	peer.Remote = ike.AuthConfig{Method: ike.AuthEAP, EAPPassword: func(id string) (string, bool) {
		return password, id == info["EAP_USER"]
	}}
	return peer, pools
}

// TestInteropEAPMSCHAPv2: strongSwan's client authenticates with
// EAP-MSCHAPv2 (identity alice, like the Windows client: its IDi is its
// address) after an EAP-Identity round; our gateway proves itself with
// the rig's RSA server certificate, then both AUTHs use the EAP MSK. The
// virtual IP is leased to the EAP identity; pings pass.
func TestInteropEAPMSCHAPv2(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	const scen = "ikev2-eap"
	rig := interop.Available(t)
	info := rig.Info(scen)
	peer, pools := eapPeer(t, info, info["EAP_PASS"])
	rw := startRoadwarrior(t, rig, scen, false, false, peer, pools)
	out, err := rw.initiate(scen)
	if err != nil {
		t.Fatalf("initiate: %v\n%s\nour events:\n%s", err, out, rw.events)
	}
	if !strings.Contains(out, "EAP method EAP_MSCHAPV2 succeeded") {
		t.Errorf("strongSwan's log does not show EAP-MSCHAPv2 success:\n%s", out)
	}
	rw.checkUp(t, info["FIRST_VIP4"], "203.0.113.0/26", "198.18.1.0/24")
	rw.ping(t)
	if l := pools[0].Leases(); len(l) != 1 || l[0].Identity != "eap:"+info["EAP_USER"] {
		t.Errorf("leases %+v", l)
	}
	rw.checkDelete(t)
}

// TestInteropEAPWrongPassword: when the password we hold for the EAP
// identity is not the client's, the MS-CHAPv2 response does not verify:
// EAP-Failure, no IKE SA, no lease.
func TestInteropEAPWrongPassword(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	const scen = "ikev2-eap"
	rig := interop.Available(t)
	info := rig.Info(scen)
	peer, pools := eapPeer(t, info, "not-"+info["EAP_PASS"])
	rw := startRoadwarrior(t, rig, scen, false, false, peer, pools)
	out, err := rw.initiate(scen)
	if err == nil {
		t.Fatalf("initiate succeeded with the wrong password:\n%s", out)
	}
	// Our MS-CHAPv2 Failure (E=691) reaches strongSwan, which gives up.
	if !strings.Contains(out, "EAP-MS-CHAPv2 failed with error ERROR_AUTHENTICATION_FAILURE") {
		t.Errorf("strongSwan's log does not show the EAP failure:\n%s", out)
	}
	// strongSwan gives up with an INFORMATIONAL: our side closes the
	// attempt as an authentication failure.
	if !rw.events.wait(10*time.Second, func(evs []ike.Event) bool {
		return slices.ContainsFunc(evs, func(e ike.Event) bool { return e.Kind == ike.EventIKEDown && errors.Is(e.Err, ike.ErrAuthFailed) })
	}) {
		t.Fatalf("our side did not close the attempt as an authentication failure:\n%s", rw.events)
	}
	if sas := rw.g.IKE().SAs(); len(sas) != 0 || pools[0].Online() != 0 {
		t.Errorf("state left: %+v, %d leases", sas, pools[0].Online())
	}
}

// TestInteropEAPClient: our initiator as the EAP-MSCHAPv2 client of
// strongSwan's gateway (the rig's ikev2-eap gateway side, with a server
// certificate from our pki): no AUTH in our first IKE_AUTH, strongSwan's
// certificate and AUTH checked, its EAP-Identity, MS-CHAPv2 challenge and
// success answered, the MSK-keyed AUTHs both ways, a virtual IP from its
// pool and a CHILD_SA for its two subnets; pings from the virtual IP to
// both, and our delete reaches strongSwan.
func TestInteropEAPClient(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	const scen = "ikev2-eap"
	rig := interop.Available(t)
	ca, _, _, _, _ := seedPKIBoth(t, rig, pki.KeyTypeRSA2048, "client1")
	if err := rig.NetUp(false); err != nil {
		t.Fatal(err)
	}
	info := rig.Info(scen)
	if err := rig.Start("right", scen); err != nil {
		t.Fatal(err)
	}
	vip := netip.MustParseAddr(info["FIRST_VIP4"])
	subnets := prefixes(t, "203.0.113.0/26 198.18.1.0/24")
	peer := &ike.PeerConfig{
		Name:       "vpn",
		RemoteHost: netip.AddrPortFrom(netip.MustParseAddr(info["RIGHT_ADDR"]), 500),
		LocalAddr:  netip.MustParseAddr(info["LEFT_ADDR"]),
		RequestVIP: true,
		Local: ike.AuthConfig{Method: ike.AuthEAP, ID: mustIdentity(t, info["LEFT_ADDR"]),
			EAPIdentity: info["EAP_USER"], EAPSecret: []byte(info["EAP_PASS"])},
		Remote:   ike.AuthConfig{Method: ike.AuthPubKey, ID: mustIdentity(t, "vpn.example.com"), CAs: []*x509.Certificate{ca.Cert}},
		Children: []*ike.ChildConfig{{Name: "vpn", RemoteTS: selectors(subnets)}},
	}
	events := newEventLog()
	g := startGateway(t, info["NS_LEFT"], []netip.Addr{peer.LocalAddr}, []netip.Prefix{netip.PrefixFrom(vip, 32)}, subnets,
		&ike.Config{Peers: []*ike.PeerConfig{peer}, OnEvent: events.add})
	if err := g.IKE().Initiate("vpn"); err != nil {
		t.Fatal(err)
	}
	if !events.wait(20*time.Second, func(evs []ike.Event) bool { return countKind(evs, ike.EventChildUp) == 1 }) {
		t.Fatalf("no CHILD_SA:\n%s", events)
	}
	ours := g.IKE().SAs()
	if len(ours) != 1 || len(ours[0].VIPs) != 1 || ours[0].VIPs[0] != vip || len(ours[0].Children) != 1 ||
		ours[0].RemoteID.String() != "vpn.example.com" {
		t.Fatalf("our SAs: %+v", ours)
	}
	sas, err := rig.WaitInstalled("right", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sas, info["EAP_USER"]) || !strings.Contains(sas, vip.String()) ||
		!strings.Contains(sas, fmt.Sprintf("%08x", ours[0].Children[0].OutSPI)) {
		t.Fatalf("strongSwan's SAs:\n%s", sas)
	}
	for _, host := range strings.Fields(info["PING"]) {
		if out, err := rig.Exec("left", "ping", "-c", "3", "-i", "0.2", "-W", "2", "-I", vip.String(), host); err != nil {
			t.Fatalf("ping %s: %v\n%s", host, err, out)
		}
	}
	terminateAndWaitGone(t, g, rig, "vpn")
}
