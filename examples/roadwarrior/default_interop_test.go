package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ikego/ikego/internal/interop"
	"github.com/ikego/ikego/pki"
)

// syncBuffer is a bytes.Buffer for a process's output that the test reads
// while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// metricsAddr is where the server serves metrics, inside the right
// namespace.
const metricsAddr = "127.0.0.1:9108"

// TestInteropDefault runs the built binary on its embedded default in the
// rig's right namespace, with strongSwan 5.9.8 as the client on the left:
//
//  1. "-check -state DIR" in the namespace creates the state and prints
//     the PSK, the CA certificate's path, the server's identity and a
//     swanctl.conf snippet; the test's only change to the generated
//     configuration is the pool (documentation addresses in tests);
//  2. the server starts on that state, with -metrics;
//  3. strongSwan loads the printed snippet as it is, except that it asks
//     for the rig's subnet 203.0.113.0/26 instead of everything (a
//     strongSwan client on libipsec must not route its own IKE packets into
//     the tunnel), plus a certificate connection with a client certificate
//     issued from the state's CA, trusting the printed CA certificate;
//  4. both connections come up and the protected hosts behind the server
//     answer pings through them;
//  5. the metrics show both handshakes, the established SAs and the
//     traffic of each client;
//  6. SIGTERM to the server's PID ends it cleanly.
func TestInteropDefault(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	rig := interop.Available(t)
	bin := buildBinary(t)
	if err := rig.NetUp(false); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	state := filepath.Join(tmp, "state")

	// 1. The state, made in the namespace: its addresses are the server's.
	out, err := rig.Exec("right", bin, "-check", "-state", state)
	if err != nil {
		t.Fatalf("-check: %v", err)
	}
	psk, caPath, serverID := field(t, out, "PSK"), field(t, out, "CA certificate"), field(t, out, "server id")
	if !strings.HasPrefix(field(t, out, "server address"), "198.51.100.2") || caPath != filepath.Join(state, statePKI, pki.StoreCACert) ||
		len(psk) != 43 || !strings.Contains(out, filepath.Join(state, stateConfig)+": configuration OK") {
		t.Fatalf("-check output:\n%s", out)
	}
	snippet := swanctlSnippet(t, out)
	conf := filepath.Join(state, stateConfig)
	data := mustRead(t, conf)
	if !bytes.Contains(data, []byte("addrs: "+defaultPool)) {
		t.Fatalf("no pool %s in the configuration:\n%s", defaultPool, data)
	}
	if err := os.WriteFile(conf, bytes.Replace(data, []byte(defaultPool), []byte("198.18.200.0/28"), 1), 0o600); err != nil {
		t.Fatal(err)
	}

	// The client's credentials in the rig's PKI folder, before the rig
	// makes its own (.done): the printed CA and a client certificate from
	// the state's store.
	store := &pki.Store{Dir: filepath.Dir(filepath.Dir(caPath))}
	cli, key, err := store.Issue("client1", pki.Request{Profile: pki.ProfileClient, Subject: "C=US, O=ikego-interop, CN=client1",
		Names: []string{"client1@example.com"}, KeyType: pki.KeyTypeECDSAP256})
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, _ := pki.EncodePrivateKeyPEM(key)
	pkiDir := filepath.Join(rig.Dir, "pki")
	os.MkdirAll(pkiDir, 0o755)
	for name, content := range map[string][]byte{"ca.cert.pem": mustRead(t, caPath),
		"client1.cert.pem": pki.EncodeCertificatesPEM(cli), "client1.key.pem": keyPEM, ".done": nil} {
		if err := os.WriteFile(filepath.Join(pkiDir, name), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	info := rig.Info("")
	server := info["RIGHT_ADDR"]

	// The scenario: the printed PSK client, narrowed, and a certificate
	// client.
	if !strings.Contains(snippet, "remote_addrs = "+server+"\n") || strings.Count(snippet, "remote_ts = 0.0.0.0/0\n") != 1 {
		t.Fatalf("snippet:\n%s", snippet)
	}
	left := strings.Replace(snippet, "remote_ts = 0.0.0.0/0", "remote_ts = 203.0.113.0/26", 1)
	left = strings.Replace(left, "connections {\n", "connections {\n"+fmt.Sprintf(`    rw-cert {
        version = 2
        remote_addrs = %s
        vips = 0.0.0.0
        local {
            auth = pubkey
            certs = client1.cert.pem
            id = client1@example.com
        }
        remote {
            auth = pubkey
            id = %s
            cacerts = ca.cert.pem
        }
        children {
            rw-cert {
                remote_ts = 198.18.1.0/24
            }
        }
    }
`, server, serverID), 1)
	scen := filepath.Join(tmp, "default-scenario")
	os.Mkdir(scen, 0o755)
	for name, content := range map[string]string{
		"left.conf":  "# written by TestInteropDefault: the client the server printed, and a certificate client\n" + left,
		"right.conf": "# the right side is the roadwarrior binary on its embedded default\n",
		"meta":       "IKE=ikego-rw-psk\nCHILD=ikego-rw-psk\nKEYS_left=client1\n",
	} {
		if err := os.WriteFile(filepath.Join(scen, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// 2. The server.
	pidFile := filepath.Join(tmp, "pid")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := rig.Command(ctx, "exec", "right", "sh", "-c", `echo $$ > "$1"; shift; exec "$@"`, "sh", pidFile,
		bin, "-state", state, "-socket", filepath.Join(tmp, "ctl.sock"), "-metrics", metricsAddr)
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	pid := 0
	stop := func() error {
		if pid != 0 {
			syscall.Kill(pid, syscall.SIGTERM) // only the server, by its PID
			pid = 0
		}
		select {
		case err := <-exited:
			return err
		case <-time.After(20 * time.Second):
			cancel()
			return fmt.Errorf("the server did not stop within 20 s: %v", <-exited)
		}
	}
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
		if t.Failed() {
			t.Logf("server stdout:\n%s\nserver stderr:\n%s", stdout.String(), stderr.String())
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stderr.String(), `msg="roadwarrior started"`) {
		if b, err := os.ReadFile(pidFile); err == nil && pid == 0 {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("the server ended: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the server did not start within 30 s")
		}
	}
	if b, err := os.ReadFile(pidFile); err == nil && pid == 0 {
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	if pid == 0 {
		t.Fatal("no PID of the server")
	}
	// The second start prints the CA, but keeps the PSK to itself.
	so := stdout.String()
	if field(t, so, "CA certificate") != caPath || strings.Contains(so, psk) ||
		!strings.HasPrefix(field(t, so, "virtual IPs"), "198.18.200.0/28") {
		t.Errorf("the server's stdout:\n%s", so)
	}

	// 3, 4. The clients, and pings through both tunnels.
	if err := rig.Start("left", scen); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ child, target string }{{"ikego-rw-psk", "203.0.113.1"}, {"rw-cert", "198.18.1.1"}} {
		if out, err := rig.Swanctl("left", "--initiate", "--child", c.child); err != nil {
			t.Fatalf("initiate %s: %v\n%s", c.child, err, out)
		}
		if out, err := rig.Exec("left", "ping", "-c", "3", "-i", "0.2", "-W", "2", c.target); err != nil {
			t.Fatalf("ping %s through %s: %v\n%s", c.target, c.child, err, out)
		}
	}
	sas, err := rig.ListSAs("left")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"ikego-rw-psk: #", "rw-cert: #", "INSTALLED", "198.18.200.1", "198.18.200.2"} {
		if !strings.Contains(sas, w) {
			t.Errorf("strongSwan's SAs lack %q:\n%s", w, sas)
		}
	}

	// 5. The metrics, from inside the namespace.
	body, err := rig.Exec("right", "curl", "-sS", "--max-time", "10", "http://"+metricsAddr+"/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	s, err := parseExposition(body)
	if err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	for _, conn := range []string{"rw-psk", "rw-cert"} {
		want(t, s, 1, "ikego_ike_handshakes_total", "conn="+conn)
		want(t, s, 1, "ikego_ike_sas", "conn="+conn, "state=established")
		want(t, s, 1, "ikego_child_sas", "conn="+conn)
		if v, _ := value(s, "ikego_esp_packets_total", "conn="+conn, "direction=in"); v < 3 {
			t.Errorf("%s: %v packets in", conn, v)
		}
	}
	for _, c := range []struct{ conn, id string }{{"rw-psk", "alice@example.com"}, {"rw-cert", "client1@example.com"}} {
		if v, _ := value(s, "ikego_client_esp_packets_total", "conn="+c.conn, "id="+c.id, "direction=out"); v < 3 {
			t.Errorf("%s %s: %v packets out", c.conn, c.id, v)
		}
	}
	want(t, s, 2, "ikego_pool_online", "pool=rw")
	if t.Failed() {
		t.Logf("metrics:\n%s", body)
	}

	// 6. A clean stop.
	stopped = true
	if err := stop(); err != nil {
		t.Errorf("the server's exit: %v", err)
	}
	log := stderr.String()
	for _, w := range []string{`msg="connection up" subsys=ike conn=rw-psk`, `msg="connection up" subsys=ike conn=rw-cert`,
		"msg=stopping subsys=cfg signal=terminated ike_sas=2", "msg=stopped"} {
		if !strings.Contains(log, w) {
			t.Errorf("our log lacks %q", w)
		}
	}
	for _, bad := range []string{psk, "level=ERROR", "DATA RACE"} {
		if strings.Contains(log, bad) {
			t.Errorf("our log contains %q", bad)
		}
	}
	if !regexp.MustCompile(`(?m)^  PSK: +in `).MatchString(so) {
		t.Errorf("the PSK line of the second start:\n%s", so)
	}
}
