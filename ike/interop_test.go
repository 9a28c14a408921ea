package ike

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

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

// TestInteropSAInitStrongSwan: strongSwan (the rig's ikev2-psk client)
// starts an IKE SA with our IKE_SA_INIT responder. That our keys are right is
// shown by its next message: the IKE_AUTH request, which strongSwan encrypts
// with the keys it derived, must decrypt and verify with ours and carry its
// identity. (IKE_AUTH itself is not answered yet: that is the next step of
// the IKEv2 work.)
func TestInteropSAInitStrongSwan(t *testing.T) {
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
	// swanctl --initiate waits for an IKE_AUTH answer that never comes;
	// Down at cleanup stops charon.
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

	// The IKE_AUTH request comes on 4500 (the float after NAT detection),
	// behind the non-ESP marker.
	_, recv, err := res.Keys.SKCiphers(res.Proposal, false)
	if err != nil {
		t.Fatal(err)
	}
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
		if m.Header.Exchange != wire.ExchangeIKEAuth || m.Header.InitiatorSPI != res.SPIi || m.Header.ResponderSPI != res.SPIr {
			t.Fatalf("unexpected message %v", m)
		}
		if _, ok := wire.Find[*wire.SKF](m.Payloads); ok {
			t.Skip("strongSwan fragmented IKE_AUTH; reassembly is not wired here yet")
		}
		inner, err := wire.DecryptMessage(m, recv)
		if err != nil {
			t.Fatalf("strongSwan's IKE_AUTH does not decrypt with our keys: %v", err)
		}
		id, ok := wire.Find[*wire.ID](inner)
		if !ok || string(id.Data) != info["LEFT_ID"] {
			t.Fatalf("IKE_AUTH inner payloads %v, want IDi %s", inner, info["LEFT_ID"])
		}
		t.Logf("decrypted strongSwan's IKE_AUTH: %d payloads, IDi %s", len(inner), id.Data)
		return
	}
}
