package l2tp

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// lockedBuffer collects a process's output for the test to read while it
// runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

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
	xl2tpd, err := exec.LookPath("xl2tpd")
	if err != nil {
		skipOrFail(t, "xl2tpd not installed")
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

	dir := t.TempDir()
	conf := filepath.Join(dir, "xl2tpd.conf")
	control := filepath.Join(dir, "control")
	secrets := filepath.Join(dir, "l2tp-secrets")
	err = os.WriteFile(conf, []byte(`[global]
listen-addr = 198.51.100.1
port = 1701
access control = no
auth file = `+secrets+`

[lac ikego]
lns = 198.51.100.2
redial = no
length bit = yes
name = alice
`+lacExtra), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	// Our hostname, theirs, the secret (l2tp-secrets(5)).
	if err := os.WriteFile(secrets, []byte("* * "+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	cmd := exec.Command(ipCmd, "netns", "exec", ns, xl2tpd, "-D", "-c", conf, "-p", filepath.Join(dir, "pid"), "-C", control)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // pppd children go with it
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	defer func() {
		// Our own process group, by its id: xl2tpd and any pppd it forked.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("xl2tpd output:\n%s", logs.String())
		}
	}()

	// Ask xl2tpd to dial: its control FIFO has a reader once it runs.
	deadline := time.Now().Add(10 * time.Second)
	for {
		fd, err := unix.Open(control, unix.O_WRONLY|unix.O_NONBLOCK, 0)
		if err == nil {
			_, err = unix.Write(fd, []byte("c ikego\n"))
			unix.Close(fd)
			if err != nil {
				t.Fatal(err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("xl2tpd control file never opened: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	srv := newTestServer(t, Config{HostName: "ikego-lns", Secret: []byte(secret)})
	var events []Event
	buf := make([]byte, 2048)
	deadline = time.Now().Add(20 * time.Second)
	want := func() bool {
		var tun, sess bool
		for _, e := range events {
			tun = tun || e.Kind == EventTunnelUp
			sess = sess || e.Kind == EventSessionUp
		}
		return tun && sess && strings.Contains(logs.String(), "Call established")
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
	out := logs.String()
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
	for !strings.Contains(logs.String(), "Connection closed to 198.51.100.2") {
		if time.Now().After(deadline) {
			t.Fatalf("xl2tpd did not log the StopCCN:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("events: %v", events)
}
