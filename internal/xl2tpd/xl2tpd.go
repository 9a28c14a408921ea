// Package xl2tpd runs xl2tpd, a real L2TP access concentrator (LAC), in a
// network namespace for interop tests: it writes the configuration, starts
// the daemon in its own process group, asks it to dial through its control
// FIFO, collects its log, and ends it (and the pppd it forks, which fails
// without kernel PPP) on cleanup. The tests assert on the L2TP exchange
// only.
package xl2tpd

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Config is one LAC, named "ikego" in xl2tpd.conf.
type Config struct {
	// Namespace is the network namespace xl2tpd runs in ("" the test's).
	Namespace string
	// ListenAddr is the address xl2tpd binds port 1701 on; LNS the server
	// it dials.
	ListenAddr, LNS string
	// Name is the LAC's host name; Secret the tunnel secret ("" none).
	Name, Secret string
	// Extra holds more lines for the lac section (xl2tpd.conf(5)).
	Extra string
}

// Process is a running xl2tpd.
type Process struct {
	t       testing.TB
	control string
	logs    lockedBuffer
}

// Start runs xl2tpd with cfg until the test ends. Without root, without
// xl2tpd or without ip it skips the test, or fails it when CI=true asks
// that interop tests run.
func Start(t testing.TB, cfg Config) *Process {
	t.Helper()
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
	dir := t.TempDir()
	conf := filepath.Join(dir, "xl2tpd.conf")
	secrets := filepath.Join(dir, "l2tp-secrets")
	p := &Process{t: t, control: filepath.Join(dir, "control")}
	text := fmt.Sprintf("[global]\nlisten-addr = %s\nport = 1701\naccess control = no\nauth file = %s\n\n"+
		"[lac ikego]\nlns = %s\nredial = no\nlength bit = yes\nname = %s\n%s", cfg.ListenAddr, secrets, cfg.LNS, cfg.Name, cfg.Extra)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	// Our host name, theirs, the secret (l2tp-secrets(5)).
	if err := os.WriteFile(secrets, []byte("* * "+cfg.Secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{xl2tpd, "-D", "-c", conf, "-p", filepath.Join(dir, "pid"), "-C", p.control}
	if cfg.Namespace != "" {
		args = append([]string{ipCmd, "netns", "exec", cfg.Namespace}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = &p.logs, &p.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // pppd children go with it
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		// Our own process group, by its id: xl2tpd and any pppd it forked.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("xl2tpd output:\n%s", p.logs.String())
		}
	})
	return p
}

// Dial asks xl2tpd to set up the LAC's tunnel and call; it waits up to
// 10 s for xl2tpd's control FIFO.
func (p *Process) Dial() {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		fd, err := unix.Open(p.control, unix.O_WRONLY|unix.O_NONBLOCK, 0)
		if err == nil {
			_, err = unix.Write(fd, []byte("c ikego\n"))
			unix.Close(fd)
			if err != nil {
				p.t.Fatal(err)
			}
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("xl2tpd control file never opened: %v\n%s", err, p.logs.String())
		}
		time.Sleep(50 * time.Millisecond) // bounded wait for the daemon's FIFO
	}
}

// Logs returns what xl2tpd logged so far.
func (p *Process) Logs() string { return p.logs.String() }

// WaitLog waits up to d for xl2tpd to log s, and reports whether it did.
func (p *Process) WaitLog(s string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for !strings.Contains(p.logs.String(), s) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond) // bounded poll of the log
	}
	return true
}

// skipOrFail skips the test, unless CI=true asks that it run.
func skipOrFail(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}

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
