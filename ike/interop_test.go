package ike

import (
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike/wire"
	"github.com/ikego/ikego/internal/interop"
	"github.com/ikego/ikego/tun"
)

// inNetns runs fn on a thread inside the network namespace ns: sockets, TUN
// devices and netlink changes made there stay in that namespace.
func inNetns(t *testing.T, ns string, fn func()) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	target, err := os.Open("/var/run/netns/" + ns)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
			panic("cannot return to the test's network namespace: " + err.Error())
		}
	}()
	fn()
}

type ikeDatagram struct {
	pkt []byte
	ep  esp.Endpoint
}

// TestInteropStrongSwanPSK is the rig's ikev2-psk scenario with our side as
// the responder, driven by hand until the session and Manager exist:
// strongSwan's roadwarrior client runs IKE_SA_INIT and IKE_AUTH (PSK, a
// virtual IP from the pool, two subnets narrowed from 0.0.0.0/0) against our
// exchange tasks; the CHILD_SA goes into an esp.Engine with a real TUN device
// in the responder's namespace; then strongSwan's SA listing must show the SA
// installed, and its pings to both subnets must be answered through the
// tunnel.
func TestInteropStrongSwanPSK(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	// ikev2-psk-v6: the same over IPv6 outer addresses, with an IPv4 and an
	// IPv6 virtual IP and an IPv6 subnet.
	for _, scen := range []string{"ikev2-psk", "ikev2-psk-v6"} {
		t.Run(scen, func(t *testing.T) { interopPSK(t, scen) })
	}
}

func interopPSK(t *testing.T, scen string) {
	v6 := scen == "ikev2-psk-v6"
	rig := interop.Available(t)
	info := rig.Info(scen)
	right := netip.MustParseAddr(info["RIGHT_ADDR"])
	routes := []netip.Prefix{netip.MustParsePrefix(info["POOL4"])}
	localTS := []esp.Selector{esp.SelectorFromPrefix(netip.MustParsePrefix("203.0.113.0/26")),
		esp.SelectorFromPrefix(netip.MustParsePrefix("198.18.1.0/24"))}
	pool, err := NewPool("rw4", netip.MustParsePrefix(info["POOL4"]))
	if err != nil {
		t.Fatal(err)
	}
	pools := Pools{pool}
	wantVIPs := []string{info["FIRST_VIP4"]}
	if v6 {
		right = netip.MustParseAddr(info["RIGHT_ADDR6"])
		routes = append(routes, netip.MustParsePrefix(info["POOL6"]))
		localTS = append(localTS, esp.SelectorFromPrefix(netip.MustParsePrefix("2001:db8:1::/64")))
		pool6, err := NewPool("rw6", netip.MustParsePrefix(info["POOL6"]))
		if err != nil {
			t.Fatal(err)
		}
		pools = append(pools, pool6)
		wantVIPs = append(wantVIPs, info["FIRST_VIP6"])
	}
	if err := rig.NetUp(false); err != nil {
		t.Fatal(err)
	}
	ikeIn := make(chan ikeDatagram, 16)
	var (
		bind *esp.UDPBind
		eng  *esp.Engine
	)
	inNetns(t, info["NS_RIGHT"], func() {
		dev, err := tun.Create(tun.Config{Name: "ikego0", MTU: 1400, Routes: routes})
		if err != nil {
			t.Fatal(err)
		}
		if bind, err = esp.NewUDPBind(esp.UDPBindConfig{Addrs: []netip.Addr{right}, Offload: true}); err != nil {
			dev.Close()
			t.Fatal(err)
		}
		eng, err = esp.NewEngine(esp.EngineConfig{TUN: dev, Bind: bind, IKE: func(pkt []byte, ep esp.Endpoint) {
			select {
			case ikeIn <- ikeDatagram{append([]byte(nil), pkt...), ep}:
			default:
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		if err = eng.Start(); err != nil {
			t.Fatal(err)
		}
	})
	defer eng.Close()
	if err := rig.Start("left", scen); err != nil {
		t.Fatal(err)
	}
	go rig.Initiate(scen, "left")

	saInit := &saInitResponder{rand: newDetRand(42), proposals: DefaultIKEProposals()}
	auth := &authResponder{
		rand: newDetRand(43), localID: wire.IDFQDN, localData: []byte(info["SERVER_ID"]),
		psk: func(typ wire.IDType, id []byte) []byte {
			if typ == wire.IDRFC822 && string(id) == info["CLIENT1_ID"] {
				return []byte(info["PSK"])
			}
			return nil
		},
		espProposals: MustParseProposals("aes128gcm16, aes256gcm16", wire.ProtocolESP),
		localTS:      localTS,
		pools:        pools,
		dns:          []netip.Addr{netip.MustParseAddr(info["DNS4"])},
	}
	timeout := time.After(30 * time.Second)
	var res *saInitResult
	var child *childResult
	var peer esp.Endpoint
	for child == nil {
		var d ikeDatagram
		select {
		case d = <-ikeIn:
		case <-timeout:
			t.Fatalf("strongSwan did not complete IKE_SA_INIT and IKE_AUTH (IKE_SA_INIT done: %v)", res != nil)
		}
		m, err := wire.Parse(d.pkt)
		if err != nil {
			t.Fatalf("strongSwan's message does not parse: %v", err)
		}
		var out []byte
		switch {
		case m.Header.Exchange == wire.ExchangeIKESAInit && !m.Header.IsResponse():
			var r *saInitResult
			if out, r, err = saInit.Respond(m, d.ep.Local, d.ep.Remote); err != nil {
				t.Fatalf("IKE_SA_INIT: %v", err)
			}
			if r != nil {
				res = r
				t.Logf("selected proposal: %v; NAT %+v", res.Proposal, res.NAT)
			}
		case m.Header.Exchange == wire.ExchangeIKEAuth && res != nil:
			if _, ok := wire.Find[*wire.SKF](m.Payloads); ok {
				t.Skip("strongSwan fragmented IKE_AUTH; reassembly is not wired here yet")
			}
			if out, child, err = auth.Respond(res, m); err != nil {
				t.Fatalf("IKE_AUTH: %v", err)
			}
			peer = d.ep
		default:
			continue
		}
		if d.ep.Local.Port() != 500 {
			out = append([]byte{0, 0, 0, 0}, out...) // the non-ESP marker on 4500
		}
		if err := bind.Send([][]byte{out}, d.ep); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("CHILD_SA %v, SPIs in %#x out %#x, TS %v === %v, VIP %v", child.Proposal, child.InSPI, child.OutSPI,
		child.LocalTS, child.RemoteTS, child.VIPs)
	if fmt.Sprint(child.VIPs) != fmt.Sprint(wantVIPs) {
		t.Fatalf("virtual IPs %v, want %v", child.VIPs, wantVIPs)
	}

	// Install the CHILD_SA: the policy, then inbound, then outbound.
	if err := eng.SetPolicy(esp.Policy{ID: 1, Priority: 100, Action: esp.ActionProtect, Local: child.LocalTS, Remote: child.RemoteTS}); err != nil {
		t.Fatal(err)
	}
	outP, inP := child.Keys.SAParams(false)
	inP.SPI, inP.ReplayWindow = child.InSPI, 1024
	inP.Local, inP.Remote = peer.Local, peer.Remote
	outP.SPI = child.OutSPI
	outP.Local, outP.Remote = peer.Local, peer.Remote
	if _, err := eng.AddSA(esp.DirIn, inP, 1, esp.Lifetime{}); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.AddSA(esp.DirOut, outP, 1, esp.Lifetime{}); err != nil {
		t.Fatal(err)
	}

	sas, err := rig.WaitInstalled("left", 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range append([]string{"ESTABLISHED", "INSTALLED", "203.0.113.0/26", "198.18.1.0/24"}, wantVIPs...) {
		if !strings.Contains(sas, want) {
			t.Errorf("strongSwan's SA listing lacks %q:\n%s", want, sas)
		}
	}
	for _, host := range strings.Fields(info["PING"]) {
		if out, err := rig.Exec("left", "ping", "-c", "3", "-i", "0.2", "-W", "2", host); err != nil {
			t.Fatalf("ping %s through the tunnel: %v\n%s\nengine %+v", host, err, out, eng.Stats())
		}
	}
	sas, _ = rig.ListSAs("left")
	t.Logf("strongSwan after the pings:\n%s", sas)
	if st := eng.Stats(); st.OpenErrors+st.PolicyMismatch+st.UnknownSPI != 0 {
		t.Errorf("engine errors: %+v", st)
	}
}
