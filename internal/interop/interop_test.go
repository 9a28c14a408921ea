package interop

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestInstall installs strongSwan for the interop tests when
// IKEGO_INTEROP_INSTALL=1 (CI set-up, as root); otherwise it skips.
func TestInstall(t *testing.T) {
	if os.Getenv("IKEGO_INTEROP_INSTALL") != "1" {
		t.Skip("set IKEGO_INTEROP_INSTALL=1 to install strongSwan for the interop tests")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if err := Install(ctx); err != nil {
		t.Fatal(err)
	}
}

// requireInterop skips in -short mode and returns an available Rig.
func requireInterop(t *testing.T) *Rig {
	t.Helper()
	if testing.Short() {
		t.Skip("interop test against strongSwan skipped in -short mode")
	}
	return Available(t)
}

// checkPass fails t with the whole rig output unless res passed.
func checkPass(t *testing.T, res Result) {
	t.Helper()
	t.Logf("%v in %v", res, res.Duration.Round(100*time.Millisecond))
	if !res.Pass {
		t.Fatalf("%v\n----- peer.sh output -----\n%s", res, res.Output)
	}
}

// TestStrongSwanReference runs the reference scenario strongSwan to
// strongSwan: it proves the rig and this harness work on this machine.
func TestStrongSwanReference(t *testing.T) {
	r := requireInterop(t)
	info := r.Info("ikev2-psk")
	if info["PREFIX"] != r.Prefix || info["SCRATCH_DIR"] != r.Dir || info["SCENARIO"] != "ikev2-psk" {
		t.Fatalf("info does not match the rig: PREFIX=%q SCRATCH_DIR=%q SCENARIO=%q", info["PREFIX"], info["SCRATCH_DIR"], info["SCENARIO"])
	}
	res := r.Test("ikev2-psk", TestOptions{})
	checkPass(t, res)
	if res.Scenario != "ikev2-psk" {
		t.Errorf("RESULT is for %q", res.Scenario)
	}
}

// TestForeignResponder runs strongSwan as the client against the rig's
// independent charon responder started as a peer command: the mode in which
// ikego's responder will be tested.
func TestForeignResponder(t *testing.T) {
	r := requireInterop(t)
	res := r.Test("ikev2-psk", TestOptions{
		SwanSide: "left",
		PeerCmd:  `exec "$IKEGO_INTEROP_HOME/examples/strongswan-responder.sh"`,
		PeerWait: 10 * time.Second,
	})
	checkPass(t, res)
	if !strings.Contains(res.Output, "strongswan-responder") && !strings.Contains(res.Output, "peer command") {
		t.Errorf("output does not show the peer command:\n%s", res.Output)
	}
}

// TestStepByStep drives the rig command by command: the way a test starts an
// ikego daemon in one namespace and strongSwan in the other.
func TestStepByStep(t *testing.T) {
	r := requireInterop(t)
	if err := r.NetUp(false); err != nil {
		t.Fatal(err)
	}
	for _, side := range []string{"right", "left"} {
		if err := r.Start(side, "ikev2-psk"); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := r.Initiate("ikev2-psk", "left"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if _, err := r.WaitInstalled("right", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	out, err := r.Exec("left", "ping", "-n", "-c", "2", "-i", "0.2", "-W", "2", "203.0.113.1")
	if err != nil {
		t.Fatal(err)
	}
	t.Log(strings.TrimSpace(out))
	sas, err := r.ListSAs("left")
	if err != nil || !strings.Contains(sas, "ESTABLISHED") {
		t.Fatalf("left --list-sas: %v\n%s", err, sas)
	}
	if _, err := r.Exec("side", "true"); err == nil {
		t.Error("Exec on side \"side\" succeeded")
	}
}
