package ikego

import (
	"crypto/x509"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike"
	"github.com/ikego/ikego/ike/wire"
	"github.com/ikego/ikego/internal/interop"
	"github.com/ikego/ikego/pki"
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
	rw, _, info := startIKEv1XAuth(t, ike.Retransmit{})
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

// TestInteropIKEv1Rekey: strongSwan's IKEv1 client rekeys its CHILD_SA
// with a new Quick Mode every 6 s (ike/testdata/interop/ikev1-xauth-rekey)
// during 30 s of pings and deletes each old SA at its 20 s lifetime, as
// IKEv1 does: we send on each new SA at once, keep the old ones until
// their deletes, and no packet is lost.
func TestInteropIKEv1Rekey(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	rw, _, _ := startIKEv1XAuth(t, ike.Retransmit{})
	rw.checkUp(t)
	out, err := rw.rig.Exec("left", "ping", "-c", "300", "-i", "0.1", "-W", "1", "203.0.113.1")
	if err != nil || !strings.Contains(out, " 0% packet loss") {
		t.Fatalf("ping during the rekeys: %v\n%s\nevents:\n%s", err, out, rw.events)
	}
	rw.events.mu.Lock()
	rekeys, downs := 0, 0
	for _, e := range rw.events.evs {
		switch {
		case e.Kind == ike.EventChildUp && e.Rekey:
			rekeys++
		case e.Kind == ike.EventChildDown:
			downs++
		}
	}
	rw.events.mu.Unlock()
	if rekeys < 4 || downs < 2 {
		t.Errorf("%d CHILD_SA rekeys and %d old CHILD_SAs deleted in 30 s", rekeys, downs)
	}
	t.Logf("%d CHILD_SA rekeys, %d deleted, %s", rekeys, downs, out[strings.Index(out, "ping statistics"):])
	// Both sides hold the same SAs: the current one and the rekeyed ones
	// not yet expired.
	sas, _ := rw.rig.ListSAs("left")
	ours := rw.g.IKE().SAs()
	if len(ours) != 1 || len(ours[0].Children) < 2 || len(ours[0].Children) > 5 {
		t.Fatalf("ours after the rekeys: %+v", ours)
	}
	for _, c := range ours[0].Children {
		for _, spi := range []uint32{c.InSPI, c.OutSPI} {
			if !strings.Contains(sas, fmt.Sprintf("%08x", spi)) {
				t.Errorf("strongSwan does not list our SA %08x:\n%s", spi, sas)
			}
		}
	}
	if strings.Count(sas, "ESTABLISHED") != 1 {
		t.Errorf("strongSwan after the rekeys:\n%s", sas)
	}
}

// TestInteropIKEv1Reauth: strongSwan's IKEv1 client replaces its ISAKMP SA
// every 10 s by reauthentication (ike/testdata/interop/ikev1-xauth-reauth:
// a new Main Mode, XAuth, Mode Config and Quick Mode, then the delete of
// the old SA) during 25 s of pings: the client keeps its virtual IP, the
// old SAs go, and at most a few pings are lost while strongSwan switches.
func TestInteropIKEv1Reauth(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	rw, _, info := startIKEv1XAuth(t, ike.Retransmit{})
	rw.checkUp(t)
	out, _ := rw.rig.Exec("left", "ping", "-c", "250", "-i", "0.1", "-W", "1", "203.0.113.1")
	rw.events.mu.Lock()
	ups, downs := 0, 0
	for _, e := range rw.events.evs {
		switch e.Kind {
		case ike.EventIKEUp:
			ups++
			if len(e.VIPs) > 0 && e.VIPs[0].String() != info["FIRST_VIP4"] {
				t.Errorf("a reauthenticated SA got %v, want %s again", e.VIPs, info["FIRST_VIP4"])
			}
		case ike.EventIKEDown:
			downs++
		}
	}
	rw.events.mu.Unlock()
	if ups < 3 || downs < ups-1 {
		t.Errorf("%d IKE SAs up and %d down in 25 s, want reauthentications", ups, downs)
	}
	i := strings.Index(out, "ping statistics")
	if i < 0 {
		t.Fatalf("ping: %s", out)
	}
	t.Logf("%d IKE SAs, %d gone, %s", ups, downs, out[i:])
	var sent, received int
	if _, err := fmt.Sscanf(out[strings.Index(out[i:], "\n")+i+1:], "%d packets transmitted, %d received", &sent, &received); err != nil || sent != received {
		t.Errorf("lost %d of %d pings during the reauthentications (%v)", sent-received, sent, err)
	}
	// strongSwan deletes the old SA a moment after the new one is up.
	deadline := time.Now().Add(5 * time.Second)
	for len(rw.g.IKE().SAs()) != 1 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond) // bounded poll
	}
	if ours := rw.g.IKE().SAs(); len(ours) != 1 || ours[0].State != ike.StateEstablished {
		t.Errorf("ours after the reauthentications: %+v", ours)
	}
	for _, p := range rw.pools {
		if p.Online() != 1 {
			t.Errorf("pool %s: %d leases online, want 1", p.Name(), p.Online())
		}
	}
}

// TestInteropIKEv1DPD: our R-U-THERE (RFC 3706) checks keep an idle but
// alive strongSwan IKEv1 client up; once its charon is killed without a
// delete, the SA is cleared within the delay and the retransmissions and
// the virtual IP goes back to the pool.
func TestInteropIKEv1DPD(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	retransmit := ike.Retransmit{Timeout: time.Second, Base: 1.5, Tries: 2}
	rw, peer, _ := startIKEv1XAuth(t, retransmit, func(p *ike.PeerConfig) { p.DPDDelay = 2 * time.Second })
	sa := rw.checkUp(t)
	rw.ping(t)
	// Long enough for a check whose answers we ignored to give up.
	time.Sleep(2*peer.DPDDelay + retransmit.Total() + time.Second)
	if sas := rw.g.IKE().SAs(); len(sas) != 1 || sas[0].State != ike.StateEstablished {
		t.Fatalf("an alive peer lost its SA: %+v\n%s", sas, rw.events)
	}
	killLeftCharon(t, rw.rig)
	killed := time.Now()
	limit := peer.DPDDelay + retransmit.Total() + 2*time.Second
	if !rw.events.wait(limit+5*time.Second, func(evs []ike.Event) bool { return countKind(evs, ike.EventIKEDown) == 1 }) {
		t.Fatalf("not cleared %v after the kill:\n%s", time.Since(killed), rw.events)
	}
	if took := time.Since(killed); took > limit {
		t.Errorf("cleared after %v, configured at most %v", took, limit)
	}
	for _, p := range rw.pools {
		if p.Online() != 0 {
			t.Errorf("pool %s: %d leases online", p.Name(), p.Online())
		}
	}
	for _, c := range sa.Children {
		if _, ok := rw.g.Engine().SA(esp.InSA(c.InSPI)); ok {
			t.Errorf("inbound SA %08x still installed", c.InSPI)
		}
	}
}

// startIKEv1XAuth runs our IKEv1 XAuth responder in the rig's right
// namespace and strongSwan's ikev1-main-psk-xauth client on the left, and
// initiates.
func startIKEv1XAuth(t *testing.T, retransmit ike.Retransmit, mods ...func(*ike.PeerConfig)) (*roadwarrior, *ike.PeerConfig, map[string]string) {
	t.Helper()
	scen := "ikev1-main-psk-xauth"
	switch {
	case strings.HasSuffix(t.Name(), "Rekey"):
		scen = "ike/testdata/interop/ikev1-xauth-rekey"
	case strings.HasSuffix(t.Name(), "Reauth"):
		scen = "ike/testdata/interop/ikev1-xauth-reauth"
	}
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
	for _, m := range mods {
		m(peer)
	}
	rw := startRoadwarrior(t, rig, scen, false, false, peer, ike.Pools{pool4}, func(c *ike.Config) { c.Retransmit = retransmit })
	if out, err := rw.initiate(scen); err != nil {
		t.Fatalf("initiate: %v\n%s\nour events:\n%s", err, out, rw.events)
	}
	return rw, peer, info
}

// TestInteropIKEv1Hybrid: strongSwan's IKEv1 client of the rig's
// ikev1-hybrid scenario authenticates with XAuth alone (HybridInitRSA), we
// with an RSA certificate from our pki (SIG_R); Mode Config gives the
// virtual IP, pings cross, our delete reaches strongSwan.
func TestInteropIKEv1Hybrid(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	const scen = "ikev1-hybrid"
	rig := interop.Available(t)
	_, server, key := seedPKI(t, rig, pki.KeyTypeRSA2048, "client2")
	info := rig.Info(scen)
	pool4, err := ike.NewPool("rw4", netip.MustParsePrefix(info["POOL4"]))
	if err != nil {
		t.Fatal(err)
	}
	user, pass := info["XAUTH_USER"], info["XAUTH_PASS"]
	peer := &ike.PeerConfig{
		Name:    "rw",
		Version: ike.VersionIKEv1,
		Local: ike.AuthConfig{Method: ike.AuthPubKey, ID: mustIdentity(t, "vpn.example.com"),
			Certificates: []*x509.Certificate{server}, Key: key},
		Remote: ike.AuthConfig{Method: ike.AuthXAuth, XAuthPassword: func(u string) (string, bool) { return pass, u == user }},
		Pools:  []string{"rw4"},
		Children: []*ike.ChildConfig{{Name: "rw", LocalTS: selectors(prefixes(t, "203.0.113.0/26")),
			ESPProposals: ike.MustParseProposals("aes256-sha256, aes256-sha1", wire.ProtocolESP), Strict: true}},
	}
	rw := startRoadwarrior(t, rig, scen, false, false, peer, ike.Pools{pool4})
	out, err := rw.initiate(scen)
	if err != nil {
		t.Fatalf("initiate: %v\n%s\nour events:\n%s", err, out, rw.events)
	}
	if !strings.Contains(out, "HybridInitRSA") && !strings.Contains(out, "authentication of 'vpn.example.com' with RSA") {
		t.Logf("strongSwan's output does not name the hybrid method:\n%s", out)
	}
	sa := rw.checkUp(t, "203.0.113.0/26", info["FIRST_VIP4"])
	if len(sa.VIPs) != 1 || sa.VIPs[0].String() != info["FIRST_VIP4"] {
		t.Errorf("virtual IPs %v", sa.VIPs)
	}
	rw.ping(t)
	rw.checkDelete(t)
}

// TestInteropIKEv1MainCert: the rig's ikev1-main-cert scenario, net to net:
// strongSwan authenticates with a certificate (DN identities), RSA and
// ECDSA (RFC 4754, method 9, both ends on P-256), and negotiates two Quick
// Modes with PFS (MODP-2048), one per subnet of ours; pings cross both ways
// in both CHILD_SAs. The RSA certificates go in fragments both ways.
func TestInteropIKEv1MainCert(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	for _, kt := range []pki.KeyType{pki.KeyTypeRSA2048, pki.KeyTypeECDSAP256} {
		t.Run(kt.String(), func(t *testing.T) { testIKEv1MainCert(t, kt) })
	}
}

func testIKEv1MainCert(t *testing.T, kt pki.KeyType) {
	const scen = "ikev1-main-cert"
	rig := interop.Available(t)
	ca, server, key := seedPKI(t, rig, kt, "client2")
	info := rig.Info(scen)
	esps := ike.MustParseProposals("aes256-sha256-modp2048, aes256-sha1-modp2048", wire.ProtocolESP)
	site := selectors(prefixes(t, "198.18.2.0/24"))
	peer := &ike.PeerConfig{
		Name:    "net",
		Version: ike.VersionIKEv1,
		Local:   ike.AuthConfig{Method: ike.AuthPubKey, Certificates: []*x509.Certificate{server}, Key: key},
		Remote: ike.AuthConfig{Method: ike.AuthPubKey, ID: mustIdentity(t, "C=US, O=ikego-interop, CN=client2.example.com"),
			CAs: []*x509.Certificate{ca.Cert}},
		Children: []*ike.ChildConfig{
			{Name: "net1", LocalTS: selectors(prefixes(t, "203.0.113.0/26")), RemoteTS: site, ESPProposals: esps, Strict: true},
			{Name: "net2", LocalTS: selectors(prefixes(t, "198.18.1.0/24")), RemoteTS: site, ESPProposals: esps, Strict: true},
		},
	}
	if err := rig.NetUp(false); err != nil {
		t.Fatal(err)
	}
	events := newEventLog()
	cfg := &ike.Config{Peers: []*ike.PeerConfig{peer}, OnEvent: events.add}
	g := startGateway(t, info["NS_RIGHT"], []netip.Addr{netip.MustParseAddr(info["RIGHT_ADDR"])}, nil, prefixes(t, "198.18.2.0/24"), cfg)
	if err := rig.Start("left", scen); err != nil {
		t.Fatal(err)
	}
	if out, err := rig.Initiate(scen, "left"); err != nil {
		t.Fatalf("initiate: %v\n%s\nour events:\n%s", err, out, events)
	}
	if !events.wait(15*time.Second, func(evs []ike.Event) bool { return countKind(evs, ike.EventChildUp) == 2 }) {
		t.Fatalf("two CHILD_SAs not up:\n%s", events)
	}
	sas, err := rig.WaitInstalled("left", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(sas, "INSTALLED"); n != 2 {
		t.Errorf("strongSwan has %d CHILD_SAs installed, want 2:\n%s", n, sas)
	}
	ours := g.IKE().SAs()
	if len(ours) != 1 || len(ours[0].Children) != 2 {
		t.Fatalf("our SAs: %+v", ours)
	}
	if got := ours[0].RemoteID.String(); got != "C=US, O=ikego-interop, CN=client2.example.com" {
		t.Errorf("peer identity %q", got)
	}
	for _, c := range ours[0].Children {
		if !strings.Contains(sas, fmt.Sprintf("%08x", c.OutSPI)) || !strings.Contains(sas, fmt.Sprintf("%08x", c.InSPI)) {
			t.Errorf("strongSwan lacks CHILD_SA %s (%08x/%08x)", c.Name, c.InSPI, c.OutSPI)
		}
		if !strings.Contains(c.Proposal.String(), "MODP_2048") {
			t.Errorf("CHILD_SA %s without PFS: %v", c.Name, c.Proposal)
		}
	}
	for _, host := range strings.Fields(info["PING"]) {
		if out, err := rig.Exec("left", "ping", "-c", "3", "-i", "0.2", "-W", "2", "-I", info["PING_SRC"], host); err != nil {
			t.Fatalf("ping %s: %v\n%s\n%+v", host, err, out, g.Engine().Stats())
		}
	}
	if out, err := rig.Exec("right", "ping", "-c", "3", "-i", "0.2", "-W", "2", "-I", info["PING_BACK_SRC"], info["PING_BACK"]); err != nil {
		t.Fatalf("ping back: %v\n%s", err, out)
	}
	if kt != pki.KeyTypeRSA2048 {
		return
	}
	// Both sent the FRAGMENTATION vendor ID: the certificate messages went
	// in fragments both ways.
	left, err := os.ReadFile(info["LOG_LEFT"])
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"received FRAGMENTATION vendor ID", "splitting IKE message", "reassembled fragmented IKE message"} {
		if !strings.Contains(string(left), w) {
			t.Errorf("strongSwan's log lacks %q", w)
		}
	}
}

// TestInteropIKEv1Aggressive: the rig's ikev1-aggr-psk-xauth scenario:
// strongSwan's client in Aggressive Mode with a group name (ID_KEY_ID) and
// the group's PSK, XAuth, and Mode Config pushed by us with the Cisco
// Unity split-tunnel subnet; pings cross, our delete reaches strongSwan.
func TestInteropIKEv1Aggressive(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	const scen = "ikev1-aggr-psk-xauth"
	rig := interop.Available(t)
	info := rig.Info(scen)
	pool4, err := ike.NewPool("rw4", netip.MustParsePrefix(info["POOL4"]))
	if err != nil {
		t.Fatal(err)
	}
	psk := []byte(info["PSK"])
	user, pass := info["XAUTH_USER"], info["XAUTH_PASS"]
	peer := &ike.PeerConfig{
		Name:           "rw",
		Version:        ike.VersionIKEv1,
		Aggressive:     true,
		ModeConfigPush: true,
		Local:          ike.AuthConfig{Method: ike.AuthPSK, ID: mustIdentity(t, info["SERVER_ID"]), PSK: psk},
		Remote: ike.AuthConfig{Method: ike.AuthPSK, ID: mustIdentity(t, "keyid:"+info["GROUP_ID"]), PSK: psk,
			XAuthPassword: func(u string) (string, bool) { return pass, u == user }},
		Pools: []string{"rw4"},
		DNS:   []netip.Addr{netip.MustParseAddr(info["DNS4"])},
		Children: []*ike.ChildConfig{{Name: "rw", LocalTS: selectors(prefixes(t, "203.0.113.0/26")),
			ESPProposals: ike.MustParseProposals("aes256-sha1", wire.ProtocolESP), Strict: true}},
	}
	rw := startRoadwarrior(t, rig, scen, false, false, peer, ike.Pools{pool4})
	out, err := rw.initiate(scen)
	if err != nil {
		t.Fatalf("initiate: %v\n%s\nour events:\n%s", err, out, rw.events)
	}
	sa := rw.checkUp(t, "203.0.113.0/26", info["FIRST_VIP4"])
	if got, want := sa.RemoteID.String(), "keyid:"+info["GROUP_ID"]; got != want {
		t.Errorf("peer identity %q, want %q", got, want)
	}
	if len(sa.VIPs) != 1 || sa.VIPs[0].String() != info["FIRST_VIP4"] {
		t.Errorf("virtual IPs %v", sa.VIPs)
	}
	left, err := os.ReadFile(info["LOG_LEFT"])
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"AGGRESSIVE", "TRANSACTION", "installing new virtual IP " + info["FIRST_VIP4"]} {
		if !strings.Contains(string(left), w) {
			t.Errorf("strongSwan's log lacks %q", w)
		}
	}
	rw.ping(t)
	rw.checkDelete(t)
}

// TestInteropIKEv1Initiator: our IKEv1 initiator against strongSwan as the
// responder of the rig's ikev1-main-cert scenario: Main Mode with RSA
// certificates from our pki (DN identities), then a Quick Mode with
// MODP-2048 PFS for each of two subnet pairs; pings cross both ways in
// both CHILD_SAs, a rekey of ours keeps them, and our delete reaches
// strongSwan.
func TestInteropIKEv1Initiator(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	g, rig, info, events := startIKEv1Initiator(t, 0)
	sas, err := rig.WaitInstalled("right", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		checkIKEv1NetToNet(t, g, rig, info, when)
	}
	if !strings.Contains(sas, "ESTABLISHED") {
		t.Fatalf("strongSwan:\n%s", sas)
	}
	check("up")
	// Our rekey of both CHILD_SAs: new Quick Modes, then deletes of the
	// old SAs.
	if n := g.IKE().Rekey("net"); n != 2 {
		t.Fatalf("Rekey started %d", n)
	}
	if !events.wait(20*time.Second, func(evs []ike.Event) bool { return countKind(evs, ike.EventChildDown) == 2 }) {
		t.Fatalf("the rekeyed CHILD_SAs did not go:\n%s", events)
	}
	check("after our rekey")
	terminateAndWaitGone(t, g, rig, "net")
}

// TestInteropIKEv1InitiatorReauth: our IKEv1 initiator reauthenticates
// every 8 s during 20 s of pings through a CHILD_SA, make before break: a
// new Main Mode and new Quick Modes, then the delete of the old SAs; no
// ping is lost.
func TestInteropIKEv1InitiatorReauth(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	g, rig, info, events := startIKEv1Initiator(t, 8*time.Second)
	if _, err := rig.WaitInstalled("right", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	out, _ := rig.Exec("left", "ping", "-c", "200", "-i", "0.1", "-W", "1", "-I", info["PING_SRC"], "203.0.113.1")
	if !strings.Contains(out, " 0% packet loss") {
		t.Errorf("ping during the reauthentications:\n%s\nevents:\n%s", out, events)
	}
	if n := countKind(events.snapshot(), ike.EventIKEUp); n < 3 {
		t.Errorf("%d IKE SAs up in 20 s, want reauthentications", n)
	}
	if n := countKind(events.snapshot(), ike.EventChildUp); n < 6 {
		t.Errorf("%d CHILD_SAs came up, want two per IKE SA", n)
	}
	// An old SA may still be in its overlap: wait for its delete.
	deadline := time.Now().Add(12 * time.Second)
	for len(g.IKE().SAs()) != 1 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond) // bounded poll
	}
	checkIKEv1NetToNet(t, g, rig, info, "after the reauthentications")
}

// startIKEv1Initiator runs strongSwan as the responder of the rig's
// ikev1-main-cert scenario and our IKEv1 initiator (RSA certificates from
// our pki, two CHILD_SAs with PFS) in the left namespace, and initiates.
func startIKEv1Initiator(t *testing.T, reauth time.Duration) (*Gateway, *interop.Rig, map[string]string, *eventLog) {
	t.Helper()
	const scen = "ikev1-main-cert"
	rig := interop.Available(t)
	ca, _, _, cert, key := seedPKIBoth(t, rig, pki.KeyTypeRSA2048, "client2")
	if err := rig.NetUp(false); err != nil {
		t.Fatal(err)
	}
	info := rig.Info(scen)
	if err := rig.Start("right", scen); err != nil {
		t.Fatal(err)
	}
	site := selectors(prefixes(t, "198.18.2.0/24"))
	peer := &ike.PeerConfig{
		Name:       "net",
		Version:    ike.VersionIKEv1,
		ReauthTime: reauth,
		RemoteHost: netip.AddrPortFrom(netip.MustParseAddr(info["RIGHT_ADDR"]), 500),
		LocalAddr:  netip.MustParseAddr(info["LEFT_ADDR"]),
		Local: ike.AuthConfig{Method: ike.AuthPubKey, ID: mustIdentity(t, "C=US, O=ikego-interop, CN=client2.example.com"),
			Certificates: []*x509.Certificate{cert}, Key: key},
		Remote: ike.AuthConfig{Method: ike.AuthPubKey, ID: mustIdentity(t, "C=US, O=ikego-interop, CN=vpn.example.com"),
			CAs: []*x509.Certificate{ca.Cert}},
		Children: []*ike.ChildConfig{
			{Name: "net1", LocalTS: site, RemoteTS: selectors(prefixes(t, "203.0.113.0/26")),
				ESPProposals: ike.MustParseProposals("aes256-sha256-modp2048", wire.ProtocolESP), Strict: true},
			{Name: "net2", LocalTS: site, RemoteTS: selectors(prefixes(t, "198.18.1.0/24")),
				ESPProposals: ike.MustParseProposals("aes256-sha1-modp2048", wire.ProtocolESP), Strict: true},
		},
	}
	events := newEventLog()
	cfg := &ike.Config{Peers: []*ike.PeerConfig{peer}, OnEvent: events.add}
	g := startGateway(t, info["NS_LEFT"], []netip.Addr{peer.LocalAddr}, nil, prefixes(t, "203.0.113.0/26 198.18.1.0/24"), cfg)
	if err := g.IKE().Initiate("net"); err != nil {
		t.Fatal(err)
	}
	if !events.wait(20*time.Second, func(evs []ike.Event) bool { return countKind(evs, ike.EventChildUp) == 2 }) {
		t.Fatalf("two CHILD_SAs not up:\n%s", events)
	}
	return g, rig, info, events
}

// checkIKEv1NetToNet checks both sides' SAs of the IKEv1 net-to-net
// tunnel and pings through both CHILD_SAs, both ways.
func checkIKEv1NetToNet(t *testing.T, g *Gateway, rig *interop.Rig, info map[string]string, when string) {
	t.Helper()
	ours := g.IKE().SAs()
	if len(ours) != 1 || ours[0].Version != 1 || len(ours[0].Children) != 2 {
		t.Fatalf("%s: our SAs: %+v", when, ours)
	}
	sas, _ := rig.ListSAs("right")
	if n := strings.Count(sas, "INSTALLED"); n != 2 {
		t.Errorf("%s: strongSwan has %d CHILD_SAs installed, want 2:\n%s", when, n, sas)
	}
	for _, c := range ours[0].Children {
		if !strings.Contains(sas, fmt.Sprintf("%08x", c.OutSPI)) || !strings.Contains(sas, fmt.Sprintf("%08x", c.InSPI)) {
			t.Errorf("%s: strongSwan lacks CHILD_SA %s (%08x/%08x):\n%s", when, c.Name, c.InSPI, c.OutSPI, sas)
		}
	}
	for _, host := range strings.Fields(info["PING"]) {
		if out, err := rig.Exec("left", "ping", "-c", "3", "-i", "0.2", "-W", "2", "-I", info["PING_SRC"], host); err != nil {
			t.Fatalf("%s: ping %s: %v\n%s\n%+v", when, host, err, out, g.Engine().Stats())
		}
	}
	if out, err := rig.Exec("right", "ping", "-c", "3", "-i", "0.2", "-W", "2", "-I", info["PING_BACK_SRC"], info["PING_BACK"]); err != nil {
		t.Fatalf("%s: ping back: %v\n%s", when, err, out)
	}
}

// TestInteropIKEv1XAuthClient: our IKEv1 initiator as the XAuth client of
// strongSwan's IKEv1 gateways (the gateway sides of the rig's scenarios):
// Main Mode with the PSK proposing XAUTHInitPreShared, strongSwan's XAuth
// request answered as bob, a virtual IP by Mode Config pull; and, as
// Cisco-style clients connect, Aggressive Mode with the group name
// keyid:ikego-group, XAuth and a virtual IP pushed (with Cisco Unity). A
// Quick Mode from the virtual IP to 203.0.113.0/26, pings both ways, and
// our delete reaches strongSwan.
func TestInteropIKEv1XAuthClient(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	for _, scen := range []string{"ikev1-main-psk-xauth", "ikev1-aggr-psk-xauth"} {
		t.Run(scen, func(t *testing.T) { testIKEv1XAuthClient(t, scen) })
	}
}

func testIKEv1XAuthClient(t *testing.T, scen string) {
	rig := interop.Available(t)
	if err := rig.NetUp(false); err != nil {
		t.Fatal(err)
	}
	info := rig.Info(scen)
	if err := rig.Start("right", scen); err != nil {
		t.Fatal(err)
	}
	vip := netip.MustParseAddr(info["FIRST_VIP4"])
	psk := []byte("ikego-psk-0123456789abcdef")
	peer := &ike.PeerConfig{
		Name:       "vpn",
		Version:    ike.VersionIKEv1,
		RemoteHost: netip.AddrPortFrom(netip.MustParseAddr(info["RIGHT_ADDR"]), 500),
		LocalAddr:  netip.MustParseAddr(info["LEFT_ADDR"]),
		RequestVIP: true,
		Local: ike.AuthConfig{Method: ike.AuthPSK, ID: mustIdentity(t, info["LEFT_ADDR"]), PSK: psk,
			XAuthUser: "bob", XAuthSecret: []byte("bob-pass")},
		Remote: ike.AuthConfig{Method: ike.AuthPSK, ID: mustIdentity(t, info["RIGHT_ADDR"]), PSK: psk},
		Children: []*ike.ChildConfig{{Name: "vpn", RemoteTS: selectors(prefixes(t, "203.0.113.0/26")),
			ESPProposals: ike.MustParseProposals("aes256-sha256, aes256-sha1", wire.ProtocolESP)}},
	}
	if scen == "ikev1-aggr-psk-xauth" {
		peer.Aggressive, peer.ModeConfigPush = true, true
		peer.Local.ID, peer.Remote.ID = mustIdentity(t, "keyid:ikego-group"), mustIdentity(t, "vpn.example.com")
		peer.IKEProposals = ike.MustParseProposals("aes256-sha256-modp2048, aes256-sha1-modp2048", wire.ProtocolIKE)
	}
	events := newEventLog()
	// The TUN device holds the address strongSwan's pool gives first.
	g := startGateway(t, info["NS_LEFT"], []netip.Addr{peer.LocalAddr}, []netip.Prefix{netip.PrefixFrom(vip, 32)},
		prefixes(t, "203.0.113.0/26"), &ike.Config{Peers: []*ike.PeerConfig{peer}, OnEvent: events.add})
	if err := g.IKE().Initiate("vpn"); err != nil {
		t.Fatal(err)
	}
	if !events.wait(20*time.Second, func(evs []ike.Event) bool { return countKind(evs, ike.EventChildUp) == 1 }) {
		t.Fatalf("no CHILD_SA:\n%s", events)
	}
	ours := g.IKE().SAs()
	if len(ours) != 1 || ours[0].Version != 1 || len(ours[0].VIPs) != 1 || ours[0].VIPs[0] != vip || len(ours[0].Children) != 1 {
		t.Fatalf("our SAs: %+v", ours)
	}
	sas, err := rig.WaitInstalled("right", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sas, "ESTABLISHED") || !strings.Contains(sas, "bob") || !strings.Contains(sas, vip.String()) ||
		!strings.Contains(sas, fmt.Sprintf("%08x", ours[0].Children[0].OutSPI)) {
		t.Fatalf("strongSwan's SAs:\n%s", sas)
	}
	if out, err := rig.Exec("left", "ping", "-c", "3", "-i", "0.2", "-W", "2", "-I", vip.String(), info["PING"]); err != nil {
		t.Fatalf("ping: %v\n%s", err, out)
	}
	if out, err := rig.Exec("right", "ping", "-c", "3", "-i", "0.2", "-W", "2", "-I", "203.0.113.1", vip.String()); err != nil {
		t.Fatalf("ping back: %v\n%s", err, out)
	}
	terminateAndWaitGone(t, g, rig, "vpn")
}

// terminateAndWaitGone deletes our IKE SA of connection conn and waits up
// to 10 s for strongSwan on the right to have no IKE SA left.
func terminateAndWaitGone(t *testing.T, g *Gateway, rig *interop.Rig, conn string) {
	t.Helper()
	if n := g.IKE().Terminate(conn); n != 1 {
		t.Fatalf("Terminate: %d", n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		sas, _ := rig.ListSAs("right")
		if !strings.Contains(sas, "ESTABLISHED") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("strongSwan still has the SA after our delete:\n%s", sas)
		}
		time.Sleep(200 * time.Millisecond) // bounded poll of swanctl
	}
}
