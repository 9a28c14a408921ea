package ike

import (
	"bytes"
	"fmt"
	"net"
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
)

// listenIn opens a UDP socket bound to addr inside the network namespace ns
// (a socket stays in the namespace it was made in).
func listenIn(t *testing.T, ns string, addr netip.AddrPort) *net.UDPConn {
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
	c, lerr := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		panic("cannot return to the test's network namespace: " + err.Error())
	}
	if lerr != nil {
		t.Fatal(lerr)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestInteropStrongSwanPSK: strongSwan (the rig's ikev2-psk roadwarrior
// client) connects to our IKE_SA_INIT and IKE_AUTH responders: its IKE_AUTH
// request must decrypt and verify with our keys and its PSK, and it must
// accept our answer (AUTH, a virtual IP from the pool, narrowed traffic
// selectors, an ESP proposal) and install the CHILD_SA, as its SA listing
// shows. The ESP traffic itself is not carried yet: the session, Manager and
// dataplane wiring come next.
func TestInteropStrongSwanPSK(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	rig := interop.Available(t)
	info := rig.Info("ikev2-psk")
	right := netip.MustParseAddr(info["RIGHT_ADDR"])
	if err := rig.NetUp(false); err != nil {
		t.Fatal(err)
	}
	c500 := listenIn(t, info["NS_RIGHT"], netip.AddrPortFrom(right, 500))
	c4500 := listenIn(t, info["NS_RIGHT"], netip.AddrPortFrom(right, 4500))
	if err := rig.Start("left", "ikev2-psk"); err != nil {
		t.Fatal(err)
	}
	go rig.Initiate("ikev2-psk", "left")

	resp := &saInitResponder{rand: newDetRand(42), proposals: DefaultIKEProposals()}
	buf := make([]byte, 65536)
	deadline := time.Now().Add(30 * time.Second)
	var res *saInitResult
	var from netip.AddrPort
	for res == nil {
		c500.SetReadDeadline(deadline)
		n, src, err := c500.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("no IKE_SA_INIT from strongSwan: %v", err)
		}
		m, err := wire.Parse(append([]byte(nil), buf[:n]...))
		if err != nil {
			t.Fatalf("strongSwan's IKE_SA_INIT does not parse: %v", err)
		}
		out, r, err := resp.Respond(m, netip.AddrPortFrom(right, 500), src)
		if err != nil {
			t.Fatalf("responding: %v", err)
		}
		if _, err := c500.WriteToUDPAddrPort(out, src); err != nil {
			t.Fatal(err)
		}
		res, from = r, src
	}
	t.Logf("selected proposal: %v; NAT %+v", res.Proposal, res.NAT)
	if !res.NAT.RemoteBehindNAT {
		t.Error("strongSwan with kernel-libipsec fakes a NAT; we did not see it")
	}

	pool, err := NewPool("rw4", netip.MustParsePrefix(info["POOL4"]))
	if err != nil {
		t.Fatal(err)
	}
	auth := &authResponder{
		rand: newDetRand(43), localID: wire.IDFQDN, localData: []byte(info["SERVER_ID"]),
		psk: func(typ wire.IDType, id []byte) []byte {
			if typ == wire.IDRFC822 && string(id) == info["CLIENT1_ID"] {
				return []byte(info["PSK"])
			}
			return nil
		},
		espProposals: MustParseProposals("aes128gcm16, aes256gcm16", wire.ProtocolESP),
		localTS: []esp.Selector{esp.SelectorFromPrefix(netip.MustParsePrefix("203.0.113.0/26")),
			esp.SelectorFromPrefix(netip.MustParsePrefix("198.18.1.0/24"))},
		pools: Pools{pool},
		dns:   []netip.Addr{netip.MustParseAddr(info["DNS4"])},
	}
	// The IKE_AUTH request comes on 4500 (the float after NAT detection),
	// behind the non-ESP marker.
	for {
		c4500.SetReadDeadline(deadline)
		n, src, err := c4500.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("no IKE_AUTH from strongSwan: %v", err)
		}
		d := buf[:n]
		if len(d) < 4 || !bytes.Equal(d[:4], []byte{0, 0, 0, 0}) || src.Addr() != from.Addr() {
			continue
		}
		m, err := wire.Parse(append([]byte(nil), d[4:]...))
		if err != nil {
			t.Fatalf("IKE_AUTH does not parse: %v", err)
		}
		if m.Header.Exchange != wire.ExchangeIKEAuth {
			continue
		}
		if _, ok := wire.Find[*wire.SKF](m.Payloads); ok {
			t.Skip("strongSwan fragmented IKE_AUTH; reassembly is not wired here yet")
		}
		out, child, err := auth.Respond(res, m)
		if err != nil {
			t.Fatalf("IKE_AUTH: %v", err)
		}
		if _, err := c4500.WriteToUDPAddrPort(append([]byte{0, 0, 0, 0}, out...), src); err != nil {
			t.Fatal(err)
		}
		t.Logf("CHILD_SA %v, SPIs in %#x out %#x, TS %v === %v, VIP %v", child.Proposal, child.InSPI, child.OutSPI,
			child.LocalTS, child.RemoteTS, child.VIPs)
		if len(child.VIPs) != 1 || child.VIPs[0] != netip.MustParseAddr(info["FIRST_VIP4"]) {
			t.Fatalf("virtual IPs %v, want %s", child.VIPs, info["FIRST_VIP4"])
		}
		break
	}
	sas, err := rig.WaitInstalled("left", 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ESTABLISHED", "INSTALLED", info["FIRST_VIP4"], "203.0.113.0/26", "198.18.1.0/24"} {
		if !strings.Contains(sas, want) {
			t.Errorf("strongSwan's SA listing lacks %q:\n%s", want, sas)
		}
	}
	t.Logf("strongSwan:\n%s", sas)
}
