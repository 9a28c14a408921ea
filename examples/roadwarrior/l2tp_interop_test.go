package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ikego/ikego/internal/interop"
	"github.com/ikego/ikego/internal/xl2tpd"
)

// TestInteropL2TPBinary runs the built binary with a connection of type
// l2tp (mode tunnel: kernel-libipsec has no transport mode) in the rig's
// right namespace; strongSwan's ikev1-tunnel-l2tp client negotiates the
// CHILD_SA for UDP 1701 with it, then a real xl2tpd LAC in the left
// namespace dials through it: the binary logs the tunnel and the call,
// xl2tpd logs both as established, and on SIGTERM the binary's StopCCN
// reaches xl2tpd before it exits cleanly.
func TestInteropL2TPBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	const scen = "ikev1-tunnel-l2tp"
	rig := interop.Available(t)
	bin := buildBinary(t)
	if err := rig.NetUp(false); err != nil {
		t.Fatal(err)
	}
	info := rig.Info(scen)
	tmp := t.TempDir()
	conf := filepath.Join(tmp, "rw.yaml")
	text := fmt.Sprintf(`# written by TestInteropL2TPBinary
listen: [%s]
tun: {name: ikl2%%d}
pools:
  - {name: l2tp, addrs: 198.18.202.0/28, dns: [198.51.100.53]}
l2tp_users:
  - {id: alice, secret: alice-l2tp-password}
log: {level: info}
connections:
  l2tp:
    type: l2tp
    mode: tunnel
    local: {auth: psk}
    remote: {auth: psk}
    psk: "ikego-psk-0123456789abcdef"
    pools: l2tp
`, info["RIGHT_ADDR"])
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if st := run([]string{"-check", "-config", conf}, &strings.Builder{}, &strings.Builder{}); st != 0 {
		t.Fatalf("-check: %d", st)
	}

	// The server in the right namespace.
	srv := startServerInRight(t, rig, bin, conf, filepath.Join(tmp, "ctl.sock"))

	if err := rig.Start("left", scen); err != nil {
		t.Fatal(err)
	}
	if out, err := rig.Initiate(scen, "left"); err != nil {
		t.Fatalf("initiate: %v\n%s", err, out)
	}
	if _, err := rig.WaitInstalled("left", 15*time.Second); err != nil {
		t.Fatal(err)
	}
	lac := xl2tpd.Start(t, xl2tpd.Config{Namespace: info["NS_LEFT"], ListenAddr: info["LEFT_ADDR"], LNS: info["RIGHT_ADDR"], Name: "alice"})
	lac.Dial()
	if !lac.WaitLog("Call established", 20*time.Second) || !strings.Contains(lac.Logs(), "Connection established") {
		t.Fatalf("xl2tpd did not set the tunnel and the call up:\n%s", lac.Logs())
	}
	// xl2tpd logs the call when it sends its ICCN; we log it when it
	// arrives.
	for _, w := range []string{`msg="L2TP tunnel established"`, `msg="L2TP session established"`} {
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(srv.log.String(), w) {
			if time.Now().After(deadline) {
				t.Fatalf("our log lacks %q", w)
			}
			time.Sleep(20 * time.Millisecond) // bounded poll of the log
		}
	}

	if err := srv.stop(); err != nil {
		t.Errorf("the server's exit: %v", err)
	}
	if !lac.WaitLog("Connection closed to "+info["RIGHT_ADDR"], 10*time.Second) {
		t.Errorf("xl2tpd did not log our StopCCN:\n%s", lac.Logs())
	}
	log := srv.log.String()
	for _, bad := range []string{"alice-l2tp-password", "ikego-psk-0123456789abcdef", "level=ERROR", "DATA RACE"} {
		if strings.Contains(log, bad) {
			t.Errorf("our log contains %q", bad)
		}
	}
}
