package l2tp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ikego/ikego/internal/xl2tpd"
)

// skipOrFail skips the test, unless CI=true asks that it run.
func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// listenUDPInNetns opens a UDP socket inside the named network namespace:
// a socket stays in the namespace it was created in.
func listenUDPInNetns(ns string, addr netip.AddrPort) (*net.UDPConn, error) {
	runtime.LockOSThread()
	orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer orig.Close()
	target, err := os.Open(filepath.Join("/var/run/netns", ns))
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	c, lerr := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(addr))
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		// The thread is in the wrong namespace: leave it locked so that
		// it dies with this goroutine.
		if c != nil {
			c.Close()
		}
		return nil, err
	}
	runtime.UnlockOSThread()
	return c, lerr
}

// TestXL2TPDInterop runs xl2tpd as LAC in a network namespace against a
// Server on a UDP socket in the same namespace, and checks that the tunnel
// and the call come up on both sides. xl2tpd then starts pppd, which cannot
// work without kernel PPP; only the L2TP exchange is asserted.
func TestXL2TPDInterop(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lac    string // more lines for the lac section
		secret string
	}{
		{"plain", "", ""},
		// Tunnel authentication both ways: xl2tpd checks our Challenge
		// Response in the SCCRP, we check its response in the SCCCN.
		{"challenge", "challenge = yes\n", "interop-tunnel-secret"},
	} {
		t.Run(tc.name, func(t *testing.T) { testXL2TPD(t, tc.lac, tc.secret) })
	}
}

func testXL2TPD(t *testing.T, lacExtra, secret string) {
	if os.Geteuid() != 0 {
		skipOrFail(t, "needs root for network namespaces")
	}
	ipCmd, err := exec.LookPath("ip")
	if err != nil {
		skipOrFail(t, "iproute2 not installed")
	}
	ns := fmt.Sprintf("%s-%d", strings.NewReplacer("/", "-", " ", "_").Replace(t.Name()), os.Getpid())
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(ipCmd, args...)
		cmd.WaitDelay = 5 * time.Second
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("netns", "add", ns)
	t.Cleanup(func() { _ = exec.Command(ipCmd, "netns", "del", ns).Run() })
	run("-n", ns, "link", "set", "lo", "up")
	run("-n", ns, "addr", "add", "198.51.100.1/32", "dev", "lo")
	run("-n", ns, "addr", "add", "198.51.100.2/32", "dev", "lo")

	conn, err := listenUDPInNetns(ns, netip.MustParseAddrPort("198.51.100.2:1701"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	lac := xl2tpd.Start(t, xl2tpd.Config{Namespace: ns, ListenAddr: "198.51.100.1", LNS: "198.51.100.2",
		Name: "alice", Secret: secret, Extra: lacExtra})
	lac.Dial()

	srv := newTestServer(t, Config{HostName: "ikego-lns", Secret: []byte(secret)})
	var events []Event
	buf := make([]byte, 2048)
	deadline := time.Now().Add(20 * time.Second)
	want := func() bool {
		var tun, sess bool
		for _, e := range events {
			tun = tun || e.Kind == EventTunnelUp
			sess = sess || e.Kind == EventSessionUp
		}
		return tun && sess && strings.Contains(lac.Logs(), "Call established")
	}
	pump := func() {
		wait := time.Now().Add(200 * time.Millisecond)
		if d := srv.NextDeadline(); !d.IsZero() && d.Before(wait) {
			wait = d
		}
		_ = conn.SetReadDeadline(wait)
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		now := time.Now()
		switch {
		case err == nil:
			if _, _, err := srv.HandleDatagram(buf[:n], Peer{Addr: from}, now); err != nil {
				t.Logf("datagram dropped: %v", err)
			}
		case errors.Is(err, os.ErrDeadlineExceeded):
			srv.HandleTimeout(now)
		default:
			t.Fatal(err)
		}
		for {
			d, ok := srv.NextDatagram()
			if !ok {
				break
			}
			if _, err := conn.WriteToUDPAddrPort(d.Data, d.To.Addr); err != nil {
				t.Fatal(err)
			}
		}
		for {
			e, ok := srv.NextEvent()
			if !ok {
				break
			}
			events = append(events, e)
		}
	}
	for !want() {
		if time.Now().After(deadline) {
			t.Fatalf("no tunnel and call within 20 s; events %v", events)
		}
		pump()
	}
	out := lac.Logs()
	if !strings.Contains(out, "Connection established") {
		t.Fatalf("xl2tpd did not log the tunnel:\n%s", out)
	}

	// Shut down: our StopCCN reaches xl2tpd, which acknowledges it.
	srv.Close(time.Now())
	deadline = time.Now().Add(10 * time.Second)
	for srv.Tunnels() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("StopCCN not acknowledged within 10 s; %d tunnels", srv.Tunnels())
		}
		pump()
	}
	if !lac.WaitLog("Connection closed to 198.51.100.2", time.Until(deadline)) {
		t.Fatalf("xl2tpd did not log the StopCCN:\n%s", lac.Logs())
	}
	t.Logf("events: %v", events)
}
