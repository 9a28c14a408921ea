package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Paths of the strongSwan binaries the rig needs.
const (
	CharonPath = "/usr/lib/ipsec/charon"
	swanctlBin = "swanctl"
)

// Timeouts of the rig's commands. A test's own deadline, if nearer, wins.
const (
	// CommandTimeout bounds a step-by-step command (net-up, start, exec, ...).
	CommandTimeout = 60 * time.Second
	// TestTimeout bounds a whole peer.sh test run.
	TestTimeout = 3 * time.Minute
	// downTimeout bounds the teardown in Cleanup.
	downTimeout = 30 * time.Second
	// waitDelay is how long a canceled command may take to exit (peer.sh
	// cleans up on SIGTERM) before it is killed.
	waitDelay = 15 * time.Second
)

// Rig is one instance of the interop rig with its own scratch directory and
// namespace prefix. Create it with [Available] or [New]. A Rig is not safe for
// concurrent use.
type Rig struct {
	// Home is the rig's folder (holding peer.sh, scenarios/, examples/).
	Home string
	// Dir is the scratch directory (IKEGO_INTEROP_DIR); it is removed in
	// the test's Cleanup.
	Dir string
	// Prefix is the namespace prefix (IKEGO_INTEROP_PREFIX): namespaces are
	// Prefix+"-left" and Prefix+"-right".
	Prefix string
	// NAT selects the NAT topology (NAT=1) for every command. NetUp sets it.
	NAT bool

	t testing.TB
}

var rigCount atomic.Uint32

// FindHome returns the rig's folder: it walks up from dir to the directory
// holding go.mod (the repository root) and returns root/../shared/interop if
// peer.sh is there.
func FindHome(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("interop: no go.mod above the working directory")
		}
		dir = parent
	}
	home := filepath.Join(filepath.Dir(dir), "shared", "interop")
	if _, err := os.Stat(filepath.Join(home, "peer.sh")); err != nil {
		return "", fmt.Errorf("interop: rig not found: %w", err)
	}
	return home, nil
}

// MissingStrongSwan returns what is missing of strongSwan (charon at
// [CharonPath], swanctl on PATH), or "" if it is installed.
func MissingStrongSwan() string {
	var missing []string
	if _, err := os.Stat(CharonPath); err != nil {
		missing = append(missing, CharonPath)
	}
	if _, err := exec.LookPath(swanctlBin); err != nil {
		missing = append(missing, swanctlBin+" on PATH")
	}
	return strings.Join(missing, " and ")
}

// inCI reports whether the interop tests must not skip.
func inCI() bool { return os.Getenv("CI") == "true" }

// Available returns a Rig for t, or ends the test: it skips when the rig
// cannot run here (not Linux, not root, the rig or strongSwan missing), but
// with CI=true in the environment a missing rig or strongSwan fails the test.
// Teardown is registered with t.Cleanup.
func Available(t testing.TB) *Rig {
	t.Helper()
	unavailable := func(hard bool, format string, args ...any) {
		t.Helper()
		msg := "interop: " + fmt.Sprintf(format, args...)
		if hard && inCI() {
			t.Fatal(msg + " (CI=true: interop tests must not skip)")
		}
		t.Skip(msg)
	}
	if runtime.GOOS != "linux" {
		unavailable(false, "the rig needs Linux network namespaces, this is %s", runtime.GOOS)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	home, err := FindHome(wd)
	if err != nil {
		unavailable(true, "%v (expected ../shared/interop/peer.sh next to the repository)", err)
	}
	if os.Geteuid() != 0 {
		unavailable(false, "the rig needs root (network namespaces)")
	}
	if m := MissingStrongSwan(); m != "" {
		unavailable(true, "strongSwan is not installed (missing %s); run: bash %s install", m, filepath.Join(home, "peer.sh"))
	}
	if _, err := exec.LookPath("ip"); err != nil {
		unavailable(true, "iproute2 (ip) is not installed")
	}
	r, err := New(t, home)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// New returns a Rig for the rig in home with a fresh scratch directory and a
// prefix no namespace uses yet. It registers the teardown (peer.sh down, then
// removal of the scratch directory) with t.Cleanup; if t failed, the tails of
// the charon and peer logs are logged first. It does not check that the rig
// can run; see [Available].
func New(t testing.TB, home string) (*Rig, error) {
	t.Helper()
	// Short, so that <dir>/right/charon.vici stays far below the ~100
	// characters of a unix socket path (t.TempDir is too long).
	dir, err := os.MkdirTemp("/tmp", "ikt")
	if err != nil {
		return nil, err
	}
	r := &Rig{Home: home, Dir: dir, Prefix: newPrefix(), t: t}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("interop: %v", err)
		}
	})
	t.Cleanup(func() {
		if t.Failed() {
			r.logTails()
		}
		if err := r.Down(); err != nil {
			t.Errorf("interop: %v", err)
		}
	})
	return r, nil
}

// newPrefix returns "ik<pid>x<n>", at most 12 characters, that no existing
// namespace starts with. peer.sh down deletes every namespace <prefix>-*,
// so two rigs must never share one.
func newPrefix() string {
	pid := os.Getpid() % 100000
	for {
		p := "ik" + strconv.Itoa(pid) + "x" + strconv.Itoa(int(rigCount.Add(1)%1000))
		if m, _ := filepath.Glob("/run/netns/" + p + "-*"); len(m) == 0 {
			return p
		}
	}
}

// Script returns the path of peer.sh.
func (r *Rig) Script() string { return filepath.Join(r.Home, "peer.sh") }

// env is the environment of every peer.sh command.
func (r *Rig) env() []string {
	nat := "0"
	if r.NAT {
		nat = "1"
	}
	return append(os.Environ(), "IKEGO_INTEROP_DIR="+r.Dir, "IKEGO_INTEROP_PREFIX="+r.Prefix, "NAT="+nat)
}

// context returns a context with timeout d, cut short by the test's
// deadline (minus a margin for the teardown).
func (r *Rig) context(d time.Duration) (context.Context, context.CancelFunc) {
	if dt, ok := r.t.(interface{ Deadline() (time.Time, bool) }); ok {
		if dl, ok := dt.Deadline(); ok {
			if left := time.Until(dl) - downTimeout; left < d {
				d = max(left, time.Second)
			}
		}
	}
	return context.WithTimeout(context.Background(), d)
}

// Command returns an unstarted command running "peer.sh args..." with the
// rig's environment. It runs in its own process group, which ctx's
// cancellation signals (SIGTERM, then SIGKILL after a grace period), so that
// also the processes peer.sh started in the foreground end. Use it for
// processes that outlive a call, such as an ikego daemon started with
// "exec right ...": Start it, and Wait for it in a Cleanup.
func (r *Rig) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "bash", append([]string{r.Script()}, args...)...)
	cmd.Env = r.env()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	}
	cmd.WaitDelay = waitDelay
	return cmd
}

// run runs peer.sh args with timeout d and returns stdout and stderr
// interleaved. The error names the command and its output.
func (r *Rig) run(d time.Duration, args ...string) (string, error) {
	ctx, cancel := r.context(d)
	defer cancel()
	var out bytes.Buffer
	cmd := r.Command(ctx, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	if err != nil {
		return out.String(), fmt.Errorf("interop: peer.sh %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String(), nil
}

// checkSide rejects sides other than left and right before they reach peer.sh.
func checkSide(side string) error {
	if side != "left" && side != "right" {
		return fmt.Errorf("interop: side must be left or right, not %q", side)
	}
	return nil
}

// Info returns the KEY=VALUE facts of scenario (addresses, credentials, ids,
// paths, the scenario's meta) for this rig's scratch dir, prefix and NAT
// setting. An empty scenario gives the facts common to all scenarios. It
// fails the test on error.
func (r *Rig) Info(scenario string) map[string]string {
	r.t.Helper()
	ctx, cancel := r.context(CommandTimeout)
	defer cancel()
	args := []string{"info"}
	if scenario != "" {
		args = append(args, scenario)
	}
	cmd := r.Command(ctx, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		r.t.Fatalf("interop: peer.sh info %s: %v\n%s", scenario, err, stderr.String())
	}
	m, err := ParseInfo(string(out))
	if err != nil {
		r.t.Fatal(err)
	}
	return m
}

// TestOptions are the options of [Rig.Test]. The zero value runs strongSwan
// on both sides.
type TestOptions struct {
	// SwanSide is where strongSwan runs: "" or "both", "left" (strongSwan
	// initiates, PeerCmd is the responder in the right namespace) or
	// "right" (strongSwan responds, PeerCmd is the initiator on the left).
	SwanSide string
	// PeerCmd is run with sh -c in the other namespace (see the rig's
	// README for its environment). Required with SwanSide left or right.
	PeerCmd string
	// PeerWait is how long the rig waits for the peer (left: until it
	// listens on UDP 500/4500; right: until a CHILD_SA is installed). Zero
	// means the rig's default of 10 s. It is rounded up to whole seconds.
	PeerWait time.Duration
	// Keep leaves everything running after the run (--keep), for
	// inspection with Exec, Swanctl and ListSAs; Cleanup tears it down.
	Keep bool
	// Timeout bounds the whole run; zero means [TestTimeout].
	Timeout time.Duration
}

// Test runs "peer.sh test scenario" with opts and returns the parsed final
// RESULT line together with the complete output. A run that cannot be
// started, times out or prints no RESULT line is a failed Result whose
// Reason says so. Test does not fail t; log Result.Output when !Pass.
func (r *Rig) Test(scenario string, opts TestOptions) Result {
	r.t.Helper()
	args := []string{"test", scenario}
	if opts.SwanSide != "" {
		args = append(args, "--swan-side", opts.SwanSide)
	}
	if opts.PeerCmd != "" {
		args = append(args, "--peer-cmd", opts.PeerCmd)
	}
	if opts.PeerWait > 0 {
		secs := int((opts.PeerWait + time.Second - 1) / time.Second)
		args = append(args, "--peer-wait", strconv.Itoa(secs))
	}
	if opts.Keep {
		args = append(args, "--keep")
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = TestTimeout
	}
	start := time.Now()
	out, runErr := r.run(timeout, args...)
	res, err := ParseResult(out)
	if err != nil {
		res = Result{Scenario: scenario, Reason: err.Error()}
		if runErr != nil {
			res.Reason = fmt.Sprintf("%v; %v", err, firstLine(runErr.Error()))
		}
	} else if res.Pass && runErr != nil {
		// A PASS line with a failing exit status: trust the status.
		res = Result{Scenario: res.Scenario, Reason: "RESULT PASS but " + firstLine(runErr.Error())}
	}
	res.Output = out
	res.Duration = time.Since(start)
	return res
}

// firstLine returns s up to its first newline.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// NetUp creates the namespaces (peer.sh net-up); nat selects the NAT
// topology and is kept in r.NAT for the following commands.
func (r *Rig) NetUp(nat bool) error {
	r.NAT = nat
	_, err := r.run(CommandTimeout, "net-up")
	return err
}

// Start starts charon in the side's namespace with scenario's config. It
// returns when charon's vici socket is up and the config is loaded.
func (r *Rig) Start(side, scenario string) error {
	if err := checkSide(side); err != nil {
		return err
	}
	_, err := r.run(CommandTimeout, "start", side, scenario)
	return err
}

// Stop stops the side's charon.
func (r *Rig) Stop(side string) error {
	if err := checkSide(side); err != nil {
		return err
	}
	_, err := r.run(CommandTimeout, "stop", side)
	return err
}

// Initiate initiates every CHILD_SA of scenario from side (swanctl
// --initiate, which waits for the exchange) and returns its output.
func (r *Rig) Initiate(scenario, side string) (string, error) {
	if err := checkSide(side); err != nil {
		return "", err
	}
	return r.run(CommandTimeout, "initiate", scenario, side)
}

// Exec runs args in the side's namespace, waits for it for at most
// [CommandTimeout], and returns its output (stdout and stderr). For
// processes that keep running, use [Rig.Command] with "exec", side, ....
func (r *Rig) Exec(side string, args ...string) (string, error) {
	if err := checkSide(side); err != nil {
		return "", err
	}
	return r.run(CommandTimeout, append([]string{"exec", side}, args...)...)
}

// Swanctl runs swanctl against the side's charon; the operation comes first
// (Swanctl("right", "--list-conns")).
func (r *Rig) Swanctl(side string, args ...string) (string, error) {
	if err := checkSide(side); err != nil {
		return "", err
	}
	return r.run(CommandTimeout, append([]string{"swanctl", side}, args...)...)
}

// ListSAs returns "swanctl --list-sas" of the side's charon.
func (r *Rig) ListSAs(side string) (string, error) {
	return r.Swanctl(side, "--list-sas")
}

// WaitInstalled polls the side's charon until it lists an INSTALLED
// CHILD_SA, for at most timeout, and returns the last listing.
func (r *Rig) WaitInstalled(side string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		out, err := r.ListSAs(side)
		if err == nil && strings.Contains(out, "INSTALLED") {
			return out, nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return out, err
			}
			return out, fmt.Errorf("interop: no CHILD_SA installed on the %s within %v:\n%s", side, timeout, out)
		}
		<-tick.C
	}
}

// Down stops what the rig started and deletes its namespaces (peer.sh
// down). It is registered with t.Cleanup by [New] and may be called earlier.
func (r *Rig) Down() error {
	_, err := r.run(downTimeout, "down")
	return err
}

// logTails logs the last lines of the charon and peer logs, which are
// removed with the scratch directory.
func (r *Rig) logTails() {
	for _, f := range []string{"left/charon.log", "right/charon.log", "peer/charon.log", "peer.out"} {
		b, err := os.ReadFile(filepath.Join(r.Dir, f))
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if len(lines) > 40 {
			lines = lines[len(lines)-40:]
		}
		r.t.Logf("interop: last lines of %s:\n%s", f, strings.Join(lines, "\n"))
	}
}
