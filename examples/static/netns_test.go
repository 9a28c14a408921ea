package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The two gateways as real processes in two network namespaces joined by a
// veth pair, with real TUN devices: a ping and a TCP transfer through the
// tunnel. Needs root (CI runs as root); skipped otherwise.
//
//	ns A: veth 198.51.100.1, TUN 198.18.2.1/24, route 203.0.113.0/26 -> TUN
//	ns B: veth 198.51.100.2, TUN 203.0.113.1/26, route 198.18.2.0/24 -> TUN

const helperEnv = "IKEGO_STATIC_TEST_HELPER"

// TestMain lets the test binary serve as the TCP endpoints of the transfer,
// started inside the namespaces with `ip netns exec`.
func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "tcp-server":
		os.Exit(tcpServer(os.Getenv("ADDR")))
	case "tcp-client":
		os.Exit(tcpClient(os.Getenv("ADDR"), os.Getenv("SIZE")))
	}
	os.Exit(m.Run())
}

// tcpServer accepts one connection, reads it to the end and prints the
// SHA-256 of what it read.
func tcpServer(addr string) int {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("listening")
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(30 * time.Second))
	c, err := ln.Accept()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	h := sha256.New()
	n, err := io.Copy(h, c)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("%d %x\n", n, h.Sum(nil))
	return 0
}

// tcpClient sends SIZE deterministic octets and prints their SHA-256.
func tcpClient(addr, size string) int {
	var n int
	fmt.Sscan(size, &n)
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i*7 + i>>8)
	}
	if _, err := c.Write(data); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	c.Close()
	fmt.Printf("%d %x\n", n, sha256.Sum256(data))
	return 0
}

func sh(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// startLines starts cmd and returns a channel of its standard output lines.
func startLines(t *testing.T, cmd *exec.Cmd) <-chan string {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return lines
}

// waitLine waits, at most d, for a line that starts with prefix.
func waitLine(t *testing.T, lines <-chan string, prefix string, d time.Duration) string {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("output ended before %q", prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-timer.C:
			t.Fatalf("no %q within %v", prefix, d)
		}
	}
}

// netns creates a namespace that is deleted when the test ends.
func netns(t *testing.T, name string) {
	sh(t, "ip", "netns", "add", name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	sh(t, "ip", "-n", name, "link", "set", "lo", "up")
}

const (
	keyAB = "000102030405060708090a0b0c0d0e0f10111213"
	keyBA = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3"
)

func TestNetnsPingAndTCP(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces and TUN devices")
	}
	for _, tool := range []string{"ip", "ping"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (apt: iproute2, iputils-ping)", tool)
		}
	}
	for _, encap := range []string{"udp", "raw"} {
		t.Run(encap, func(t *testing.T) { netnsPingAndTCP(t, encap) })
	}
}

func netnsPingAndTCP(t *testing.T, encap string) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "static")
	sh(t, "go", "build", "-o", bin, ".")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}

	id := fmt.Sprintf("%d", os.Getpid()%100000)
	nsA, nsB := "ikst-a-"+encap+id, "ikst-b-"+encap+id
	netns(t, nsA)
	netns(t, nsB)
	va, vb := "ikva"+id, "ikvb"+id
	sh(t, "ip", "link", "add", va, "netns", nsA, "type", "veth", "peer", "name", vb, "netns", nsB)
	sh(t, "ip", "-n", nsA, "addr", "add", "198.51.100.1/24", "dev", va)
	sh(t, "ip", "-n", nsB, "addr", "add", "198.51.100.2/24", "dev", vb)
	sh(t, "ip", "-n", nsA, "link", "set", va, "up")
	sh(t, "ip", "-n", nsB, "link", "set", vb, "up")

	port, listen := ":4500", ""
	if encap == "raw" {
		port, listen = "", " raw-esp"
	}
	confA := fmt.Sprintf(`tun name ikst0 mtu 1400 address 198.18.2.1/24
route 203.0.113.0/26
listen address 198.51.100.1%[3]s
policy 1 local 198.18.2.0/24 remote 203.0.113.0/26
sa out policy 1 spi 0x1001 enc aes128gcm16 key 0x%[1]s local 198.51.100.1 remote 198.51.100.2%[4]s
sa in policy 1 spi 0x2001 enc aes128gcm16 key 0x%[2]s local 198.51.100.1 remote 198.51.100.2%[4]s replay 1024
`, keyAB, keyBA, listen, port)
	confB := fmt.Sprintf(`tun name ikst0 mtu 1400 address 203.0.113.1/26
route 198.18.2.0/24
listen address 198.51.100.2%[3]s
policy 1 local 203.0.113.0/26 remote 198.18.2.0/24
sa out policy 1 spi 0x2001 enc aes128gcm16 key 0x%[2]s local 198.51.100.2 remote 198.51.100.1%[4]s
sa in policy 1 spi 0x1001 enc aes128gcm16 key 0x%[1]s local 198.51.100.2 remote 198.51.100.1%[4]s replay 1024
`, keyAB, keyBA, listen, port)

	start := func(ns, conf string) (*exec.Cmd, <-chan string, *bytes.Buffer) {
		path := filepath.Join(dir, ns+".conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("ip", "netns", "exec", ns, bin, "-config", path)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		lines := startLines(t, cmd)
		t.Cleanup(func() {
			cmd.Process.Signal(os.Interrupt)
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				cmd.Process.Kill()
				<-done
			}
			if t.Failed() {
				t.Logf("%s log:\n%s", ns, stderr.String())
			}
		})
		return cmd, lines, &stderr
	}
	_, linesA, _ := start(nsA, confA)
	_, linesB, _ := start(nsB, confB)
	waitLine(t, linesA, "ready", 20*time.Second)
	waitLine(t, linesB, "ready", 20*time.Second)

	sh(t, "ip", "netns", "exec", nsA, "ping", "-c", "3", "-i", "0.2", "-W", "2", "203.0.113.1")

	// A TCP transfer from A to B, checked by hash at both ends.
	const size = 8 << 20
	srv := exec.Command("ip", "netns", "exec", nsB, self)
	srv.Env = append(os.Environ(), helperEnv+"=tcp-server", "ADDR=203.0.113.1:5201")
	srvLines := startLines(t, srv)
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	waitLine(t, srvLines, "listening", 10*time.Second)
	cli := exec.Command("ip", "netns", "exec", nsA, self)
	cli.Env = append(os.Environ(), helperEnv+"=tcp-client", "ADDR=203.0.113.1:5201", fmt.Sprintf("SIZE=%d", size))
	out, err := cli.CombinedOutput()
	if err != nil {
		t.Fatalf("client: %v\n%s", err, out)
	}
	sent := strings.TrimSpace(string(out))
	got := waitLine(t, srvLines, fmt.Sprint(size), 30*time.Second)
	if got != sent {
		t.Fatalf("server received %q, client sent %q", got, sent)
	}
	if f := strings.Fields(got); len(f) != 2 || len(f[1]) != 64 {
		t.Fatalf("odd hash line %q", got)
	} else if _, err := hex.DecodeString(f[1]); err != nil {
		t.Fatal(err)
	}
}
