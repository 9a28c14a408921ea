package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ikego/ikego/internal/interop"
)

// TestInteropCLI drives a running server through the CLI while strongSwan
// 5.9.8 clients connect to it (../shared/interop): the built binary serves
// in the right namespace with a file and a control socket in a temporary
// directory; the CLI runs here, and every verb must change what list and
// strongSwan's swanctl --list-sas show as it should:
//
//   - after strongSwan initiates, list shows the connection Established
//     with 1 client, and info its traffic;
//   - down: strongSwan has no IKE SA, list shows Closed;
//   - disable: strongSwan's initiate is refused, list shows it disabled,
//     the file says enabled: false; enable: initiating works again;
//   - reload of a file with a connection added, one changed (its ESP
//     proposals: strongSwan gets AES_GCM_16-256 instead of -128), one with
//     only a new remark (its IKE SA stays: the same SPIs) and one removed
//     (strongSwan gets the delete); the added one has a new pool, whose
//     route into the TUN device comes with the reload: a ping from its
//     virtual IP is answered;
//   - delete: the connection is gone from the server, strongSwan and the
//     file, and the route to its pool with it;
//   - reload of a file with errors exits 1 with the field, and the server
//     goes on: a client connects again.
//
// The strongSwan side has one connection per identity, all with the same
// PSK, each initiated on its own.
func TestInteropCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	rig := interop.Available(t)
	bin := buildBinary(t)
	info := rig.Info("ikev2-psk")
	tmp := t.TempDir()

	// strongSwan: one client connection per server connection.
	clients := []struct{ name, id string }{
		{"rw", "client1@example.com"}, {"keep", "keep@example.com"}, {"chg", "chg@example.com"},
		{"gone", "gone@example.com"}, {"new", "new@example.com"},
	}
	var left strings.Builder
	left.WriteString("# written by TestInteropCLI\nconnections {\n")
	secrets := "secrets {\n\tike-cli {\n"
	for i, c := range clients {
		fmt.Fprintf(&left, `	%s {
		version = 2
		remote_addrs = %s
		vips = 0.0.0.0
		local {
			auth = psk
			id = %s
		}
		remote {
			auth = psk
			id = %s
		}
		children {
			%s {
				remote_ts = 0.0.0.0/0
				esp_proposals = aes256gcm16-aes128gcm16
			}
		}
	}
`, c.name, info["RIGHT_ADDR"], c.id, info["SERVER_ID"], c.name)
		secrets += fmt.Sprintf("\t\tid-%d = %s\n", i+1, c.id)
	}
	secrets += fmt.Sprintf("\t\tid-server = %s\n\t\tsecret = %q\n\t}\n}\n", info["SERVER_ID"], info["PSK"])
	left.WriteString("}\n" + secrets)
	scen := filepath.Join(tmp, "cli-scenario")
	if err := os.Mkdir(scen, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"left.conf":  left.String(),
		"right.conf": "# the right side is the roadwarrior binary\n",
		"meta":       "IKE=rw\nCHILD=rw\n",
	} {
		if err := os.WriteFile(filepath.Join(scen, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := rig.NetUp(false); err != nil {
		t.Fatal(err)
	}
	if err := rig.Start("left", scen); err != nil {
		t.Fatal(err)
	}

	// The server's file: rw, keep, chg and gone.
	conf := filepath.Join(tmp, "rw.yaml")
	conn := func(name, id, remark, ts, extra string) string {
		return fmt.Sprintf(`
  # %s
  %s:
    remark: %s
    local: {auth: psk, id: %s}
    remote: {auth: psk, id: %s}
    psk: %q
    local_ts: %s
    pools: [rw4]
%s`, remark, name, remark, info["SERVER_ID"], id, info["PSK"], ts, extra)
	}
	head := fmt.Sprintf(`# written by TestInteropCLI
listen: [%s]
tun: {name: ikcli%%d}

pools:
  - {name: rw4, addrs: %s, dns: [%s]}

connections:
`, info["RIGHT_ADDR"], info["POOL4"], info["DNS4"])
	rwConn := conn("rw", "client1@example.com", "client1", "203.0.113.0/28", "")
	keepConn := conn("keep", "keep@example.com", "kept", "203.0.113.16/28", "")
	chgConn := conn("chg", "chg@example.com", "changed", "203.0.113.32/28", "    esp_proposals: aes128gcm16\n")
	goneConn := conn("gone", "gone@example.com", "removed", "198.18.1.0/24", "")
	// new has a pool of its own: its route into the TUN device comes with
	// the reload and goes with the delete.
	newConn := strings.Replace(conn("new", "new@example.com", "added", "198.18.1.0/24", ""), "pools: [rw4]", "pools: [extra]", 1)
	extraPool := "  - {name: extra, addrs: 198.18.200.16/28}\n"
	writeConf := func(s string) {
		t.Helper()
		if err := os.WriteFile(conf, []byte(s), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	writeConf(head + rwConn + keepConn + chgConn + goneConn)
	if st := run([]string{"-check", "-config", conf}, &strings.Builder{}, &strings.Builder{}); st != 0 {
		t.Fatalf("-check: %d", st)
	}

	// The server, in the right namespace.
	sock := filepath.Join(tmp, "ctl.sock")
	srv := startServerInRight(t, rig, bin, conf, sock)

	// cli runs the binary's CLI here: the socket is a file, reachable from
	// any namespace.
	cli := func(args ...string) (int, string, string) {
		t.Helper()
		c := exec.Command(bin, append([]string{"-socket", sock}, args...)...)
		var o, e bytes.Buffer
		c.Stdout, c.Stderr = &o, &e
		err := c.Run()
		var ee *exec.ExitError
		switch {
		case err == nil:
			return 0, o.String(), e.String()
		case errors.As(err, &ee):
			return ee.ExitCode(), o.String(), e.String()
		}
		t.Fatalf("roadwarrior %v: %v", args, err)
		return 0, "", ""
	}
	mustCLI := func(want int, args ...string) (string, string) {
		t.Helper()
		st, o, e := cli(args...)
		if st != want {
			t.Fatalf("roadwarrior %s: status %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), st, want, o, e)
		}
		return o, e
	}
	table := func() map[string]ConnStatus {
		t.Helper()
		o, _ := mustCLI(0, "-json", "list")
		var r Response
		if err := json.Unmarshal([]byte(o), &r); err != nil {
			t.Fatalf("list: %v\n%s", err, o)
		}
		m := map[string]ConnStatus{}
		for _, c := range r.Connections {
			m[c.Name] = c
		}
		return m
	}

	initiate := func(name string) error {
		t.Helper()
		out, err := rig.Swanctl("left", "--initiate", "--child", name, "--ike", name, "--timeout", "20")
		if err != nil {
			return fmt.Errorf("%w\n%s", err, out)
		}
		return nil
	}
	mustInitiate := func(name string) {
		t.Helper()
		if err := initiate(name); err != nil {
			t.Fatalf("initiate %s: %v", name, err)
		}
	}
	// swanSAs returns strongSwan's established IKE SAs: name → SPIs.
	swanSAs := func() map[string]string {
		t.Helper()
		out, err := rig.ListSAs("left")
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, s := range swanIKE.FindAllStringSubmatch(out, -1) {
			m[s[1]] = s[2]
		}
		return m
	}
	waitSwan := func(what string, cond func(map[string]string) bool) map[string]string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			m := swanSAs()
			if cond(m) {
				return m
			}
			if time.Now().After(deadline) {
				t.Fatalf("waited 20 s for %s; strongSwan has %v", what, m)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	fileHas := func(s string) bool {
		b, err := os.ReadFile(conf)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Contains(string(b), s)
	}

	// Connected: Established with one client, traffic counted.
	mustInitiate("rw")
	if c := table()["rw"]; c.Status != StatusEstablished || c.Clients != 1 || !c.Enabled {
		t.Errorf("rw after initiate: %+v", c)
	}
	if out, err := rig.Exec("left", "ping", "-c", "2", "-i", "0.2", "-W", "2", "203.0.113.1"); err != nil {
		t.Errorf("ping through rw: %v\n%s", err, out)
	}
	out, _ := mustCLI(0, "list")
	if !regexp.MustCompile(`(?m)^rw +host-to-net +client1@example.com +client1 +yes +Established +1$`).MatchString(out) {
		t.Errorf("list:\n%s", out)
	}
	out, _ = mustCLI(0, "info", "rw")
	if !strings.Contains(out, "virtual IPs "+info["FIRST_VIP4"]) || !regexp.MustCompile(`in  [0-9a-f]{8}: [1-9]\d* bytes, [2-9]\d* packets`).MatchString(out) {
		t.Errorf("info rw:\n%s", out)
	}

	// down: strongSwan has no IKE SA of rw, list says Closed.
	out, _ = mustCLI(0, "down", "rw")
	if !strings.Contains(out, `deleted 1 IKE SA(s) of "rw"`) {
		t.Errorf("down rw: %s", out)
	}
	waitSwan("rw to go", func(m map[string]string) bool { return m["rw"] == "" })
	if c := table()["rw"]; c.Status != StatusClosed || c.Clients != 0 {
		t.Errorf("rw after down: %+v", c)
	}

	// disable: refused, listed as disabled, enabled: false in the file.
	mustCLI(0, "disable", "rw")
	if !fileHas("  rw:\n    enabled: false\n    remark: client1\n") {
		t.Error("the file does not say enabled: false for rw")
	}
	if c := table()["rw"]; c.Enabled || c.Status != StatusClosed {
		t.Errorf("rw after disable: %+v", c)
	}
	if err := initiate("rw"); err == nil {
		t.Error("strongSwan connected to the disabled rw")
	}
	// enable: it works again.
	mustCLI(0, "enable", "rw")
	if !fileHas("  rw:\n    enabled: true\n") {
		t.Error("the file does not say enabled: true for rw")
	}
	mustInitiate("rw")
	if c := table()["rw"]; !c.Enabled || c.Status != StatusEstablished {
		t.Errorf("rw after enable: %+v", c)
	}

	// reload: keep gets a new remark only, chg new ESP proposals, gone
	// goes, new comes.
	for _, c := range []string{"keep", "chg", "gone"} {
		mustInitiate(c)
	}
	before := swanSAs()
	if out, _ := rig.ListSAs("left"); !regexp.MustCompile(`(?m)^\s+chg: #\d+, reqid \d+, INSTALLED, TUNNEL-in-UDP, ESP:AES_GCM_16-128`).MatchString(out) {
		t.Errorf("chg before the reload:\n%s", out)
	}
	rw := strings.Replace(rwConn, "  rw:\n", "  rw:\n    enabled: true\n", 1)
	head = strings.Replace(head, "\nconnections:", extraPool+"\nconnections:", 1)
	writeConf(head + rw + strings.Replace(keepConn, "remark: kept", "remark: kept, with a new remark", 1) +
		strings.Replace(chgConn, "aes128gcm16", "aes256gcm16", 1) + newConn)
	out, _ = mustCLI(0, "reload")
	if !strings.Contains(out, "added new; changed chg; removed gone; unchanged rw, keep; 2 IKE SA(s) deleted") {
		t.Errorf("reload: %s", out)
	}
	after := waitSwan("chg and gone to go", func(m map[string]string) bool { return m["chg"] == "" && m["gone"] == "" })
	if after["keep"] == "" || after["keep"] != before["keep"] || after["rw"] != before["rw"] {
		t.Errorf("IKE SAs before the reload %v, after %v", before, after)
	}
	tab := table()
	if _, ok := tab["gone"]; ok || tab["new"].Status != StatusClosed || tab["keep"].Remark != "kept, with a new remark" ||
		tab["keep"].Status != StatusEstablished {
		t.Errorf("list after reload: %+v", tab)
	}
	mustInitiate("chg")
	if out, _ := rig.ListSAs("left"); !regexp.MustCompile(`(?m)^\s+chg: #\d+, reqid \d+, INSTALLED, TUNNEL-in-UDP, ESP:AES_GCM_16-256`).MatchString(out) {
		t.Errorf("chg after the reload has not the new proposal:\n%s", out)
	}
	if err := initiate("gone"); err == nil {
		t.Error("strongSwan connected to the removed gone")
	}
	route := func() string {
		t.Helper()
		out, err := rig.Exec("right", "ip", "route", "show", "198.18.200.16/28")
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if !strings.Contains(route(), "198.18.200.16/28 dev ikcli") {
		t.Errorf("no route to the new pool after the reload: %q", route())
	}
	mustInitiate("new")
	if c := table()["new"]; c.Status != StatusEstablished || c.Clients != 1 {
		t.Errorf("new: %+v", c)
	}
	if out, err := rig.Exec("left", "ping", "-c", "2", "-i", "0.2", "-W", "2", "198.18.1.1"); err != nil {
		t.Errorf("ping through new (a virtual IP of the new pool): %v\n%s", err, out)
	}

	// delete: gone from the server, from strongSwan and from the file.
	out, _ = mustCLI(0, "delete", "new")
	if !strings.Contains(out, "connection new deleted, 1 IKE SA(s) deleted") {
		t.Errorf("delete new: %s", out)
	}
	waitSwan("new to go", func(m map[string]string) bool { return m["new"] == "" })
	if _, ok := table()["new"]; ok || fileHas("  new:") || fileHas("# added") {
		t.Error("new is still there")
	}
	if r := route(); strings.Contains(r, "198.18.200.16/28") {
		t.Errorf("the route to the unused pool is still there: %q", r)
	}

	// A file with errors: reload exits 1 with the field, nothing changes.
	good, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(good), "local_ts: 203.0.113.0/28", "local_ts: [bogus]", 1)
	writeConf(bad)
	_, stderr := mustCLI(1, "reload")
	line := strings.Count(bad[:strings.Index(bad, "bogus")], "\n") + 1
	if !strings.Contains(stderr, fmt.Sprintf("%s:%d: connections.rw.local_ts[0]: \"bogus\"", conf, line)) ||
		!strings.Contains(stderr, "nothing changed") {
		t.Errorf("reload of a bad file:\n%s", stderr)
	}
	if c := table()["rw"]; c.Status != StatusEstablished || !c.Enabled {
		t.Errorf("rw after the bad reload: %+v", c)
	}
	mustCLI(0, "down", "rw")
	waitSwan("rw to go", func(m map[string]string) bool { return m["rw"] == "" })
	mustInitiate("rw")
	if c := table()["rw"]; c.Status != StatusEstablished || c.Clients != 1 {
		t.Errorf("rw after the bad reload and a new initiate: %+v", c)
	}

	// SIGTERM ends the server cleanly.
	if err := srv.stop(); err != nil {
		t.Errorf("the server: %v", err)
	}
	log := srv.log.String()
	for _, bad := range []string{"DATA RACE", "panic:", info["PSK"]} {
		if strings.Contains(log, bad) {
			t.Errorf("the server's log contains %q", bad)
		}
	}
	for _, want := range []string{`msg="control socket ready"`, `msg="control request" subsys=cfg verb=disable conn=rw`,
		`msg="control request" subsys=cfg verb=reload`, "msg=stopped"} {
		if !strings.Contains(log, want) {
			t.Errorf("the server's log lacks %q", want)
		}
	}
	if _, err := os.Lstat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the socket is left: %v", err)
	}
}

// swanIKE matches an established IKE SA in swanctl --list-sas: its name
// and SPIs.
var swanIKE = regexp.MustCompile(`(?m)^(\S+): #\d+, ESTABLISHED, IKEv2, ([0-9a-f]{16}_i\*? [0-9a-f]{16}_r\*?)`)

// netnsServer is the roadwarrior binary running in the rig's right
// namespace.
type netnsServer struct {
	log *syncBuffer
	// stop sends SIGTERM and waits (20 s at most) for the server to end.
	stop func() error
}

// startServerInRight starts bin with the configuration file conf and the
// control socket sock in the rig's right namespace, and waits up to 30 s
// for the socket to answer (the UDP ports are bound before it). The
// test's cleanup stops it, and shows its log when the test failed. The
// shell writes its PID and becomes the server: it is stopped by that PID
// only.
func startServerInRight(t *testing.T, rig *interop.Rig, bin, conf, sock string) *netnsServer {
	t.Helper()
	pidFile := filepath.Join(t.TempDir(), "pid")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := rig.Command(ctx, "exec", "right", "sh", "-c", `echo $$ > "$1"; shift; exec "$@"`, "sh", pidFile,
		bin, "-config", conf, "-socket", sock)
	s := &netnsServer{log: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	pid, stopped := 0, false
	s.stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		defer cancel()
		if pid != 0 {
			syscall.Kill(pid, syscall.SIGTERM)
		}
		select {
		case err := <-exited:
			return err
		case <-time.After(20 * time.Second):
			cancel() // the process group of the command we started
			return fmt.Errorf("the server did not stop within 20 s: %v", <-exited)
		}
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("server log:\n%s", s.log.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if pid == 0 {
			if b, err := os.ReadFile(pidFile); err == nil {
				pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			}
		}
		if err := exec.Command(bin, "-socket", sock, "list").Run(); err == nil && pid != 0 {
			return s
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("the server ended: %v", err)
		case <-time.After(100 * time.Millisecond): // bounded poll of the socket
		}
		if time.Now().After(deadline) {
			t.Fatal("the server did not answer on its socket within 30 s")
		}
	}
}
