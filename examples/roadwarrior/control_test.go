package main

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ikego/ikego"
	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/esp/esptest"
	"github.com/ikego/ikego/ike"
	"github.com/ikego/ikego/internal/leakcheck"
	"github.com/ikego/ikego/pki"
	"github.com/ikego/ikego/tun/tuntest"
)

// The control socket is tested against a real server: a Gateway with the
// Runtime that Build makes of a YAML file, on an in-memory network
// (esptest) with in-memory TUN devices (tuntest), and ikego clients on the
// same network. Requests go through the socket, as the CLI sends them.

var (
	ctlServerAddr = netip.MustParseAddr("198.51.100.2")
	client1Addr   = netip.MustParseAddr("198.51.100.10")
	carolAddr     = netip.MustParseAddr("198.51.100.11")
	newAddr       = netip.MustParseAddr("198.51.100.12")
	siteAddr      = netip.MustParseAddr("198.51.100.20")
)

const controlPSK = "ikego-test-psk-0123456789abcdef"

// controlConf is the server's file: comments and blank lines on purpose, for
// the write-back.
const controlConf = `# the test server
listen: [198.51.100.2]
tun: {name: ikrw%d}

pools:
  - name: rw4
    addrs: 198.18.200.0/28
    dns: [198.51.100.53]
  - name: staff
    addrs: 198.18.201.0/28

connections:

  # client1 with the shared key
  rw:
    remark: roadwarriors
    local: {auth: psk, id: vpn.example.com}
    remote: {auth: psk, id: client1@example.com}
    psk: ikego-test-psk-0123456789abcdef
    local_ts: [203.0.113.0/26, 198.18.1.0/24]
    pools: [rw4]

  # carol with a fixed address
  carol:
    remark: carol's laptop   # shown by list
    local: {auth: psk, id: vpn.example.com}
    remote: {auth: psk, id: carol@example.com}
    psk: ikego-test-psk-0123456789abcdef
    local_ts: 203.0.113.0/26
    pools: [staff]
    vip: [198.18.201.5]

  off:
    enabled: false
    local: {auth: psk, id: vpn.example.com}
    remote: {auth: psk, id: "C=US, O=ikego, CN=dave"}
    psk: ikego-test-psk-0123456789abcdef
    local_ts: 203.0.113.0/26
    pools: [rw4]

  # a site we initiate to
  site:
    type: net-to-net
    local_addrs: 198.51.100.2
    remote_addrs: 198.51.100.20
    local: {auth: psk, id: vpn.example.com}
    remote: {auth: psk, id: site.example.com}
    psk: ikego-test-psk-0123456789abcdef
    local_ts: 203.0.113.64/26
    remote_ts: 198.18.2.0/24
`

// controlEnv is a running server with its control socket.
type controlEnv struct {
	t    *testing.T
	net  *esptest.Network
	dir  string // the file's directory
	path string // the configuration file
	sock string
	srv  *controlServer
	gw   *ikego.Gateway
	// out gets the packets the server's TUN device was given.
	out chan []byte
}

func controlLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// newTestEnv starts a server with conf.
func newTestEnv(t *testing.T, conf string) *controlEnv {
	t.Helper()
	leakcheck.Check(t, 5*time.Second)
	dir := t.TempDir()
	path := filepath.Join(dir, "rw.yaml")
	if err := os.WriteFile(path, []byte(conf), 0o640); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &controlEnv{t: t, net: esptest.NewNetwork(), dir: dir, path: path, sock: filepath.Join(dir, "run", "rw.sock"),
		out: make(chan []byte, 64)}
	log := controlLogger(t)
	ikeCfg := *rt.IKE
	ikeCfg.Logger = log
	dev := tuntest.NewChannel(1400)
	e.gw, err = ikego.NewGateway(ikego.GatewayConfig{TUN: dev, Bind: e.net.NewBind(ctlServerAddr), IKE: &ikeCfg, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	drainTUN(dev, e.out)
	if err := e.gw.Start(); err != nil {
		e.gw.Close()
		t.Fatal(err)
	}
	e.srv, err = startControl(controlConfig{Socket: e.sock, ConfigPath: path, Config: cfg, Runtime: rt, Gateway: e.gw, Log: log})
	if err != nil {
		e.gw.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.srv.Close()
		e.gw.Close()
	})
	return e
}

// drainTUN passes what dev writes to out, dropping what does not fit.
func drainTUN(dev *tuntest.Channel, out chan []byte) {
	go func() {
		for {
			select {
			case p := <-dev.Outbound:
				select {
				case out <- p:
				default:
				}
			case <-dev.Done():
				return
			}
		}
	}()
}

func parseID(t testing.TB, s string) pki.Identity {
	id, err := pki.ParseIdentity(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// testPeer is an ikego gateway next to the server.
type testPeer struct {
	gw  *ikego.Gateway
	dev *tuntest.Channel
}

// newPeer starts a gateway at addr with the connection p.
func (e *controlEnv) newPeer(addr netip.Addr, p *ike.PeerConfig) *testPeer {
	e.t.Helper()
	dev := tuntest.NewChannel(1400)
	log := controlLogger(e.t)
	gw, err := ikego.NewGateway(ikego.GatewayConfig{TUN: dev, Bind: e.net.NewBind(addr), Logger: log,
		IKE: &ike.Config{Peers: []*ike.PeerConfig{p}, Logger: log}})
	if err != nil {
		e.t.Fatal(err)
	}
	drainTUN(dev, make(chan []byte))
	if err := gw.Start(); err != nil {
		gw.Close()
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { gw.Close() })
	return &testPeer{gw: gw, dev: dev}
}

// client starts a roadwarrior client with identity id, connection name
// "home".
func (e *controlEnv) client(addr netip.Addr, id string) *testPeer {
	all := esp.SelectorFromPrefix(netip.MustParsePrefix("0.0.0.0/0"))
	return e.newPeer(addr, &ike.PeerConfig{Name: "home", RemoteHost: netip.AddrPortFrom(ctlServerAddr, 500), LocalAddr: addr,
		RequestVIP: true,
		Local:      ike.AuthConfig{Method: ike.AuthPSK, ID: parseID(e.t, id), PSK: []byte(controlPSK)},
		Remote:     ike.AuthConfig{Method: ike.AuthPSK, ID: parseID(e.t, "vpn.example.com"), PSK: []byte(controlPSK)},
		Children:   []*ike.ChildConfig{{Name: "home", RemoteTS: []esp.Selector{all}}}})
}

// site starts the responder of the server's net-to-net connection site.
func (e *controlEnv) site() *testPeer {
	sel := func(s string) []esp.Selector { return []esp.Selector{esp.SelectorFromPrefix(netip.MustParsePrefix(s))} }
	return e.newPeer(siteAddr, &ike.PeerConfig{Name: "hq",
		Local:    ike.AuthConfig{Method: ike.AuthPSK, ID: parseID(e.t, "site.example.com"), PSK: []byte(controlPSK)},
		Remote:   ike.AuthConfig{Method: ike.AuthPSK, ID: parseID(e.t, "vpn.example.com"), PSK: []byte(controlPSK)},
		Children: []*ike.ChildConfig{{Name: "hq", LocalTS: sel("198.18.2.0/24"), RemoteTS: sel("203.0.113.64/26")}}})
}

// connect initiates from the client and waits until the server has the
// IKE SA of conn established with it.
func (e *controlEnv) connect(c *testPeer, conn string) ike.SAInfo {
	e.t.Helper()
	if err := c.gw.IKE().Initiate("home"); err != nil {
		e.t.Fatal(err)
	}
	var sa ike.SAInfo
	pollUntil(e.t, 10*time.Second, "the client's IKE SA of "+conn, func() bool {
		for _, s := range establishedSAs(e.gw.IKE().SAs(), conn) {
			if !slices.ContainsFunc(establishedSAs(c.gw.IKE().SAs(), ""), func(x ike.SAInfo) bool { return x.SPIi == s.SPIi }) {
				continue
			}
			sa = s
			return true
		}
		return false
	})
	return sa
}

// establishedSAs returns the established IKE SAs of conn ("" for all).
func establishedSAs(sas []ike.SAInfo, conn string) []ike.SAInfo {
	return slices.DeleteFunc(sas, func(s ike.SAInfo) bool {
		return s.State != ike.StateEstablished || conn != "" && s.Peer != conn
	})
}

// liveSAs returns the IKE SAs of conn that are not closed.
func liveSAs(sas []ike.SAInfo, conn string) []ike.SAInfo {
	return slices.DeleteFunc(sas, func(s ike.SAInfo) bool { return s.State == ike.StateClosed || s.Peer != conn })
}

// pollUntil polls cond every 20 ms until it holds, failing t after d.
func pollUntil(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// call sends a request through the socket.
func (e *controlEnv) call(verb, name string) *Response {
	e.t.Helper()
	r, _, err := request(e.sock, Request{Verb: verb, Name: name}, time.Minute)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// cli runs the command line against the server.
func (e *controlEnv) cli(args ...string) (status int, stdout, stderr string) {
	var o, er strings.Builder
	st := run(append([]string{"-socket", e.sock}, args...), &o, &er)
	return st, o.String(), er.String()
}

// mustCLI runs the command line and fails t unless it exits with want.
func (e *controlEnv) mustCLI(want int, args ...string) (stdout, stderr string) {
	e.t.Helper()
	st, o, er := e.cli(args...)
	if st != want {
		e.t.Fatalf("roadwarrior %s: status %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), st, want, o, er)
	}
	return o, er
}

// table returns the list, by name.
func (e *controlEnv) table() map[string]ConnStatus {
	e.t.Helper()
	r := e.call("list", "")
	if r.Error != "" {
		e.t.Fatal(r.Error)
	}
	m := map[string]ConnStatus{}
	for _, c := range r.Connections {
		m[c.Name] = c
	}
	return m
}

func (e *controlEnv) file() string {
	e.t.Helper()
	b, err := os.ReadFile(e.path)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

// checkFile checks the configuration file: its content, its mode, and that
// no temporary file is left next to it.
func (e *controlEnv) checkFile(want string) {
	e.t.Helper()
	if got := e.file(); got != want {
		e.t.Errorf("the file is\n%s\nwant\n%s", got, want)
	}
	st, err := os.Stat(e.path)
	if err != nil {
		e.t.Fatal(err)
	}
	if st.Mode().Perm() != 0o640 {
		e.t.Errorf("the file's mode is %v, want 0640", st.Mode().Perm())
	}
	ents, err := os.ReadDir(e.dir)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, de := range ents {
		if de.Name() != "rw.yaml" && de.Name() != "run" {
			e.t.Errorf("%s left in the file's directory", de.Name())
		}
	}
}

// TestControlList: the table of connections with their status, by JSON
// and as the CLI prints it.
func TestControlList(t *testing.T) {
	e := newTestEnv(t, controlConf)
	tab := e.table()
	if len(tab) != 4 {
		t.Fatalf("list: %+v", tab)
	}
	for _, want := range []ConnStatus{
		{Name: "rw", Type: "host-to-net", CommonName: "client1@example.com", Remark: "roadwarriors", Enabled: true, Status: StatusClosed},
		{Name: "carol", Type: "host-to-net", CommonName: "carol@example.com", Remark: "carol's laptop", Enabled: true, Status: StatusClosed},
		{Name: "off", Type: "host-to-net", CommonName: "dave", Enabled: false, Status: StatusClosed},
		{Name: "site", Type: "net-to-net", CommonName: "site.example.com", Enabled: true, Status: StatusClosed},
	} {
		if got := tab[want.Name]; got != want {
			t.Errorf("list: %+v, want %+v", got, want)
		}
	}

	// client1 twice (two IKE SAs of one client count once), carol once.
	c1 := e.client(client1Addr, "client1@example.com")
	e.connect(c1, "rw")
	carol := e.client(carolAddr, "carol@example.com")
	e.connect(carol, "carol")
	tab = e.table()
	if c := tab["rw"]; c.Status != StatusEstablished || c.Clients != 1 {
		t.Errorf("rw: %+v", c)
	}
	if c := tab["carol"]; c.Status != StatusEstablished || c.Clients != 1 {
		t.Errorf("carol: %+v", c)
	}

	out, _ := e.mustCLI(0, "list")
	for _, re := range []string{
		`(?m)^NAME +TYPE +COMMON NAME +REMARK +ENABLED +STATUS +CLIENTS$`,
		`(?m)^rw +host-to-net +client1@example.com +roadwarriors +yes +Established +1$`,
		`(?m)^carol +host-to-net +carol@example.com +carol's laptop +yes +Established +1$`,
		`(?m)^off +host-to-net +dave +- +no +Closed +0$`,
		`(?m)^site +net-to-net +site.example.com +- +yes +Closed +0$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("list lacks %s:\n%s", re, out)
		}
	}
	// -json prints the server's answer.
	out, _ = e.mustCLI(0, "-json", "list")
	var r Response
	if err := json.Unmarshal([]byte(out), &r); err != nil || len(r.Connections) != 4 {
		t.Errorf("-json list: %v\n%s", err, out)
	}
}

// TestControlInfo: the SAs of a connection with algorithms, virtual IPs,
// traffic counters and rekey times.
func TestControlInfo(t *testing.T) {
	e := newTestEnv(t, controlConf)
	c1 := e.client(client1Addr, "client1@example.com")
	e.connect(c1, "rw")

	// A ping from the client's virtual IP reaches the server's TUN device.
	vip := netip.MustParseAddr("198.18.200.1")
	dst := netip.MustParseAddr("203.0.113.1")
	pollUntil(t, 10*time.Second, "the ping through the tunnel", func() bool {
		c1.dev.Inbound <- tuntest.Ping(vip, dst, 1, 1, []byte("ikego control"))
		select {
		case p := <-e.out:
			src, d, _, _, _, ok := tuntest.ParseEcho(p)
			return ok && src == vip && d == dst
		case <-time.After(200 * time.Millisecond):
			return false
		}
	})

	r := e.call("info", "rw")
	if r.Error != "" || r.Info == nil {
		t.Fatalf("info: %+v", r)
	}
	in := r.Info
	if in.Status != StatusEstablished || in.Clients != 1 || in.Local != "psk vpn.example.com" ||
		in.Remote != "psk client1@example.com" || in.Initiates || len(in.IKESAs) != 1 {
		t.Fatalf("info: %+v", in)
	}
	sa := in.IKESAs[0]
	if sa.State != "ESTABLISHED" || sa.Initiator || sa.RemoteID != "client1@example.com" ||
		!slices.Equal(sa.VIPs, []string{vip.String()}) || sa.Proposal == "" || len(sa.ChildSAs) != 1 ||
		sa.Remote != netip.AddrPortFrom(client1Addr, 500).String() && sa.Remote != netip.AddrPortFrom(client1Addr, 4500).String() {
		t.Fatalf("IKE SA: %+v", sa)
	}
	if sa.RekeyBy != sa.Established.Add(4*time.Hour) || sa.RekeyFrom != sa.Established.Add(4*time.Hour-24*time.Minute) {
		t.Errorf("IKE rekey %v to %v, established %v", sa.RekeyFrom, sa.RekeyBy, sa.Established)
	}
	ch := sa.ChildSAs[0]
	if ch.PacketsIn == 0 || ch.BytesIn == 0 || ch.Mode != "TUNNEL" || !strings.HasPrefix(ch.Proposal, "AES_GCM") ||
		!slices.Equal(ch.RemoteTS, []string{"198.18.200.1/32"}) {
		t.Errorf("CHILD_SA: %+v", ch)
	}
	if ch.RekeyBy != ch.Installed.Add(time.Hour) || ch.RekeyFrom != ch.Installed.Add(54*time.Minute) {
		t.Errorf("CHILD rekey %v to %v, installed %v", ch.RekeyFrom, ch.RekeyBy, ch.Installed)
	}

	// The L2TP calls a CHILD_SA carries are listed with it (the service's
	// own tests run real calls; here its list is given).
	policy := e.gw.IKE().SAs()[0].Children[0].Policy
	e.srv.ctl.mu.Lock()
	e.srv.ctl.l2tp = func() []ikego.L2TPSession {
		return []ikego.L2TPSession{{PolicyID: policy, User: "dave", Addr: netip.MustParseAddr("198.18.202.2"), Up: true},
			{PolicyID: policy + 1000, User: "eve", Addr: netip.MustParseAddr("198.18.202.3"), Up: true}}
	}
	e.srv.ctl.mu.Unlock()
	r = e.call("info", "rw")
	if r.Info == nil || len(r.Info.IKESAs) != 1 || len(r.Info.IKESAs[0].ChildSAs) != 1 ||
		!slices.Equal(r.Info.IKESAs[0].ChildSAs[0].L2TP, []L2TPCall{{User: "dave", Addr: "198.18.202.2", Up: true}}) {
		t.Errorf("info with L2TP calls: %+v", r.Info)
	}

	out, _ := e.mustCLI(0, "info", "rw")
	for _, want := range []string{
		"rw: host-to-net, enabled, Established, 1 client(s)",
		"l2tp: user dave, address 198.18.202.2, up",
		"remote:    psk client1@example.com",
		"virtual IPs 198.18.200.1",
		"ESTABLISHED, IKEv2 responder",
		fmt.Sprintf("in  %s: %d bytes, %d packets", ch.InSPI, ch.BytesIn, ch.PacketsIn),
		"rekey in 3h",
		"remote 198.18.200.1/32",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("info lacks %q:\n%s", want, out)
		}
	}
	_, er := e.mustCLI(1, "info", "nope")
	if !strings.Contains(er, `no connection "nope"`) {
		t.Errorf("info nope: %s", er)
	}
}

// TestControlUpDownRestart: initiating and deleting, and what cannot be
// initiated.
func TestControlUpDownRestart(t *testing.T) {
	e := newTestEnv(t, controlConf)
	site := e.site()
	out, _ := e.mustCLI(0, "up", "site")
	if !strings.Contains(out, `connection "site" established`) {
		t.Errorf("up site: %s", out)
	}
	sas := establishedSAs(e.gw.IKE().SAs(), "site")
	if len(sas) != 1 || !sas[0].Initiator || len(establishedSAs(site.gw.IKE().SAs(), "hq")) != 1 {
		t.Fatalf("after up: %+v", sas)
	}
	first := sas[0].ID

	for _, tc := range []struct{ name, want string }{
		{"rw", "a host-to-net connection waits for its clients"},
		{"off", `connection "off" is disabled`},
		{"nope", `no connection "nope"`},
	} {
		if _, er := e.mustCLI(1, "up", tc.name); !strings.Contains(er, tc.want) {
			t.Errorf("up %s: %s", tc.name, er)
		}
	}

	out, _ = e.mustCLI(0, "down", "site")
	if !strings.Contains(out, `deleted 1 IKE SA(s) of "site"`) {
		t.Errorf("down site: %s", out)
	}
	if n := len(liveSAs(e.gw.IKE().SAs(), "site")); n != 0 {
		t.Errorf("%d IKE SAs of site after down", n)
	}
	pollUntil(t, 5*time.Second, "the site's IKE SA to go", func() bool { return len(liveSAs(site.gw.IKE().SAs(), "hq")) == 0 })
	if e.table()["site"].Status != StatusClosed {
		t.Errorf("site after down: %+v", e.table()["site"])
	}
	out, _ = e.mustCLI(0, "down", "site")
	if !strings.Contains(out, "has no IKE SA") {
		t.Errorf("down site again: %s", out)
	}

	// restart: down, then up.
	e.mustCLI(0, "up", "site")
	out, _ = e.mustCLI(0, "restart", "site")
	sas = establishedSAs(e.gw.IKE().SAs(), "site")
	if !strings.Contains(out, "deleted 1 IKE SA(s); connection \"site\" established") || len(sas) != 1 || sas[0].ID == first {
		t.Errorf("restart site: %s, %+v", out, sas)
	}

	// A responder-only connection: restart is down.
	c1 := e.client(client1Addr, "client1@example.com")
	e.connect(c1, "rw")
	out, _ = e.mustCLI(0, "restart", "rw")
	if !strings.Contains(out, `deleted 1 IKE SA(s) of "rw"; it waits for its clients`) {
		t.Errorf("restart rw: %s", out)
	}
	if n := len(liveSAs(e.gw.IKE().SAs(), "rw")); n != 0 {
		t.Errorf("%d IKE SAs of rw after restart", n)
	}
}

// TestControlDisableEnableDelete: the changes that are written back to
// the file, line by line, with the SAs they delete and refuse.
func TestControlDisableEnableDelete(t *testing.T) {
	e := newTestEnv(t, controlConf)
	c1 := e.client(client1Addr, "client1@example.com")
	e.connect(c1, "rw")
	carol := e.client(carolAddr, "carol@example.com")
	e.connect(carol, "carol")

	out, _ := e.mustCLI(0, "disable", "rw")
	if !strings.Contains(out, "connection rw disabled, 1 IKE SA(s) deleted; "+e.path+" updated") {
		t.Errorf("disable rw: %s", out)
	}
	disabled := strings.Replace(controlConf, "  rw:\n", "  rw:\n    enabled: false\n", 1)
	e.checkFile(disabled)
	pollUntil(t, 5*time.Second, "client1's IKE SA to go", func() bool { return len(liveSAs(c1.gw.IKE().SAs(), "home")) == 0 })
	if c := e.table()["rw"]; c.Enabled || c.Status != StatusClosed {
		t.Errorf("rw after disable: %+v", c)
	}
	// New IKE SAs are refused: client1's fails, the server has none.
	if err := c1.gw.IKE().Initiate("home"); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, 10*time.Second, "client1's refused IKE SA to go", func() bool { return len(liveSAs(c1.gw.IKE().SAs(), "home")) == 0 })
	if n := len(liveSAs(e.gw.IKE().SAs(), "rw")); n != 0 {
		t.Errorf("the server has %d IKE SAs of the disabled rw", n)
	}
	// carol kept hers.
	if len(establishedSAs(carol.gw.IKE().SAs(), "home")) != 1 {
		t.Error("carol lost her IKE SA")
	}
	out, _ = e.mustCLI(0, "disable", "rw")
	if !strings.Contains(out, "connection rw disabled already") {
		t.Errorf("disable rw again: %s", out)
	}
	e.checkFile(disabled)
	if _, er := e.mustCLI(1, "up", "rw"); !strings.Contains(er, "disabled") {
		t.Errorf("up rw: %s", er)
	}

	out, _ = e.mustCLI(0, "enable", "rw")
	if !strings.Contains(out, "connection rw enabled") {
		t.Errorf("enable rw: %s", out)
	}
	e.checkFile(strings.Replace(controlConf, "  rw:\n", "  rw:\n    enabled: true\n", 1))
	e.connect(c1, "rw")
	if c := e.table()["rw"]; !c.Enabled || c.Status != StatusEstablished {
		t.Errorf("rw after enable: %+v", c)
	}

	// enable off: "enabled: false" becomes true where it is.
	e.mustCLI(0, "enable", "off")
	enabled := strings.Replace(controlConf, "  rw:\n", "  rw:\n    enabled: true\n", 1)
	enabled = strings.Replace(enabled, "  off:\n    enabled: false\n", "  off:\n    enabled: true\n", 1)
	e.checkFile(enabled)
	if !e.table()["off"].Enabled {
		t.Error("off is not enabled")
	}

	// delete carol: her lines and the comment above them go.
	out, _ = e.mustCLI(0, "delete", "carol")
	if !strings.Contains(out, "connection carol deleted, 1 IKE SA(s) deleted") {
		t.Errorf("delete carol: %s", out)
	}
	i := strings.Index(enabled, "  # carol with")
	j := strings.Index(enabled, "  off:")
	deleted := enabled[:i] + enabled[j:]
	e.checkFile(deleted)
	if _, ok := e.table()["carol"]; ok {
		t.Error("carol is still listed")
	}
	pollUntil(t, 5*time.Second, "carol's IKE SA to go", func() bool { return len(liveSAs(carol.gw.IKE().SAs(), "home")) == 0 })
	if _, er := e.mustCLI(1, "delete", "carol"); !strings.Contains(er, `no connection "carol"`) {
		t.Errorf("delete carol again: %s", er)
	}

	// The last enabled connection stays.
	e.mustCLI(0, "delete", "site")
	e.mustCLI(0, "disable", "off")
	before := e.file()
	_, er := e.mustCLI(1, "disable", "rw")
	if !strings.Contains(er, "connections: no enabled connection") || !strings.Contains(er, "nothing changed") {
		t.Errorf("disable the last connection: %s", er)
	}
	_, er = e.mustCLI(1, "delete", "rw")
	if !strings.Contains(er, "connections: no enabled connection") {
		t.Errorf("delete the last connection: %s", er)
	}
	e.checkFile(before)
	if c := e.table()["rw"]; !c.Enabled || c.Status != StatusEstablished {
		t.Errorf("rw: %+v", c)
	}
}

// TestControlReload: unchanged connections keep their IKE SAs and pools
// their leases; changed ones are torn down and come back with the new
// settings; added ones appear, removed ones go; a file with errors changes
// nothing.
func TestControlReload(t *testing.T) {
	e := newTestEnv(t, controlConf)
	c1 := e.client(client1Addr, "client1@example.com")
	rwSA := e.connect(c1, "rw")
	carol := e.client(carolAddr, "carol@example.com")
	carolSA := e.connect(carol, "carol")
	pool := func(name string) *ike.Pool {
		e.srv.ctl.mu.Lock()
		defer e.srv.ctl.mu.Unlock()
		for _, p := range e.srv.ctl.rt.IKE.Pools {
			if p.Name() == name {
				return p
			}
		}
		return nil
	}
	rw4, staff := pool("rw4"), pool("staff")
	peerConfig := func(name string) *ike.PeerConfig {
		e.srv.ctl.mu.Lock()
		defer e.srv.ctl.mu.Unlock()
		return peersByName(e.srv.ctl.rt)[name]
	}
	rwPeer := peerConfig("rw")

	// rw: a new remark only; carol: new ESP proposals; off: removed; new:
	// added; and the TUN's MTU, which needs a restart.
	conf := strings.Replace(controlConf, "remark: roadwarriors", "remark: road warriors", 1)
	conf = strings.Replace(conf, "    vip: [198.18.201.5]\n", "    vip: [198.18.201.5]\n    esp_proposals: aes256gcm16\n", 1)
	i, j := strings.Index(conf, "  off:"), strings.Index(conf, "  # a site")
	conf = conf[:i] + `  new:
    local: {auth: psk, id: vpn.example.com}
    remote: {auth: psk, id: new@example.com}
    psk: ikego-test-psk-0123456789abcdef
    local_ts: 203.0.113.0/26
    pools: [rw4]

` + conf[j:]
	conf = strings.Replace(conf, "tun: {name: ikrw%d}", "tun: {name: ikrw%d, mtu: 1300}", 1)
	if err := os.WriteFile(e.path, []byte(conf), 0o640); err != nil {
		t.Fatal(err)
	}
	out, er := e.mustCLI(0, "reload")
	if !strings.Contains(out, "added new; changed carol; removed off; unchanged rw, site; 1 IKE SA(s) deleted") ||
		!strings.Contains(er, "warning: tun: changed; it takes effect when the server starts again") {
		t.Errorf("reload: %s\n%s", out, er)
	}
	// rw kept its IKE SA, and client1 its lease in the same pool.
	if sas := establishedSAs(e.gw.IKE().SAs(), "rw"); len(sas) != 1 || sas[0].ID != rwSA.ID || sas[0].SPIi != rwSA.SPIi {
		t.Errorf("rw after reload: %+v, before %+v", sas, rwSA)
	}
	if pool("rw4") != rw4 || pool("staff") != staff {
		t.Error("reload replaced a pool that stayed")
	}
	if peerConfig("rw") != rwPeer {
		t.Error("reload replaced the PeerConfig of the unchanged rw")
	}
	if a, ok := rw4.Lookup("client1@example.com"); !ok || a != netip.MustParseAddr("198.18.200.1") ||
		!slices.ContainsFunc(rw4.Leases(), func(l ike.Lease) bool { return l.Address == a && l.Online }) {
		t.Errorf("client1's lease: %v %v %+v", a, ok, rw4.Leases())
	}
	tab := e.table()
	if tab["rw"].Remark != "road warriors" || tab["new"].Status != StatusClosed || len(tab) != 4 {
		t.Errorf("list after reload: %+v", tab)
	}
	if _, ok := tab["off"]; ok {
		t.Error("off is still listed")
	}
	// carol was torn down; she comes back with the new proposal and her
	// fixed address.
	pollUntil(t, 5*time.Second, "carol's old IKE SA to go", func() bool { return len(liveSAs(carol.gw.IKE().SAs(), "home")) == 0 })
	sa := e.connect(carol, "carol")
	if sa.ID == carolSA.ID || len(sa.Children) != 1 || !strings.Contains(sa.Children[0].Proposal.String(), "AES_GCM_16_256") ||
		!slices.Equal(sa.VIPs, []netip.Addr{netip.MustParseAddr("198.18.201.5")}) {
		t.Errorf("carol after reload: %+v", sa)
	}
	// new is there.
	e.connect(e.client(newAddr, "new@example.com"), "new")

	// A changed pool range is a new pool; rw, which uses it, is changed.
	conf = strings.Replace(conf, "addrs: 198.18.200.0/28", "addrs: 198.18.200.0/27", 1)
	if err := os.WriteFile(e.path, []byte(conf), 0o640); err != nil {
		t.Fatal(err)
	}
	out, _ = e.mustCLI(0, "reload")
	if !strings.Contains(out, "changed rw, new; unchanged carol, site; 2 IKE SA(s) deleted") {
		t.Errorf("reload with a new pool: %s", out)
	}
	if pool("rw4") == rw4 || pool("staff") != staff {
		t.Error("the changed pool was kept, or the other one replaced")
	}
	if n := len(establishedSAs(e.gw.IKE().SAs(), "carol")); n != 1 {
		t.Errorf("carol has %d IKE SAs", n)
	}

	// A file with errors changes nothing.
	e.srv.ctl.mu.Lock()
	cfg := e.srv.ctl.cfg
	e.srv.ctl.mu.Unlock()
	bad := strings.Replace(conf, "local_ts: [203.0.113.0/26, 198.18.1.0/24]", "local_ts: [203.0.113.0/26, bogus]\n    colour: blue", 1)
	if err := os.WriteFile(e.path, []byte(bad), 0o640); err != nil {
		t.Fatal(err)
	}
	_, er = e.mustCLI(1, "reload")
	line := strings.Count(bad[:strings.Index(bad, "bogus")], "\n") + 1
	for _, want := range []string{
		e.path + " has errors; nothing changed",
		fmt.Sprintf("%s:%d: connections.rw.local_ts[1]: \"bogus\"", e.path, line),
		fmt.Sprintf("%s:%d: connections.rw.colour: unknown field", e.path, line+1),
	} {
		if !strings.Contains(er, want) {
			t.Errorf("reload of a bad file: stderr lacks %q:\n%s", want, er)
		}
	}
	e.srv.ctl.mu.Lock()
	same := e.srv.ctl.cfg == cfg
	e.srv.ctl.mu.Unlock()
	if !same || len(establishedSAs(e.gw.IKE().SAs(), "carol")) != 1 {
		t.Error("a bad file changed the running configuration")
	}
	if err := os.WriteFile(e.path, []byte("connections: [\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, er = e.mustCLI(1, "reload"); !strings.Contains(er, "nothing changed") {
		t.Errorf("reload of a YAML syntax error: %s", er)
	}
	// The server still takes clients.
	e.mustCLI(0, "down", "carol")
	e.connect(carol, "carol")
}

// TestControlCA: the CA of the PKI store; none with pre-shared keys only.
func TestControlCA(t *testing.T) {
	store := &pki.Store{Dir: filepath.Join(t.TempDir(), "pki")}
	ca, err := store.InitCA(pki.CAOptions{Subject: "C=US, O=ikego, CN=test CA", KeyType: pki.KeyTypeECDSAP256})
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEnv(t, strings.Replace(controlConf, "pools:\n", "pki: {dir: "+store.Dir+"}\npools:\n", 1))
	out, _ := e.mustCLI(0, "ca")
	b, rest := pem.Decode([]byte(out))
	if b == nil || b.Type != "CERTIFICATE" || !bytes.Equal(b.Bytes, ca.Cert.Raw) || len(bytes.TrimSpace(rest)) != 0 {
		t.Errorf("ca:\n%s", out)
	}

	e = newTestEnv(t, controlConf)
	if _, er := e.mustCLI(1, "ca"); !strings.Contains(er, "no CA certificate") {
		t.Errorf("ca without one: %s", er)
	}
}

// TestControlSocket: the socket is root's: directory 0700, socket 0600,
// one server per socket, and a peer that is not root is refused by its
// credentials even when the file modes would let it in.
func TestControlSocket(t *testing.T) {
	e := newTestEnv(t, controlConf)
	st, err := os.Stat(filepath.Dir(e.sock))
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("socket directory: %v %v", st.Mode(), err)
	}
	st, err = os.Lstat(e.sock)
	if err != nil || st.Mode().Perm() != 0o600 || st.Mode()&fs.ModeSocket == 0 {
		t.Errorf("socket: %v %v", st.Mode(), err)
	}
	if _, err := startControl(controlConfig{Socket: e.sock, ConfigPath: e.path, Config: e.srv.ctl.cfg,
		Runtime: e.srv.ctl.rt, Gateway: e.gw}); err == nil || !strings.Contains(err.Error(), "another server is listening") {
		t.Errorf("a second server on the socket: %v", err)
	}
	if !allowedPeer(0) || os.Geteuid() == 0 && allowedPeer(65534) {
		t.Error("allowedPeer")
	}
	r := e.call("frobnicate", "")
	if !strings.Contains(r.Error, `unknown verb "frobnicate"`) {
		t.Errorf("unknown verb: %+v", r)
	}
	if r := e.call("info", ""); !strings.Contains(r.Error, "info needs a connection name") {
		t.Errorf("info without a name: %+v", r)
	}

	// Close removes the socket; a stale socket is replaced, another file
	// is not.
	e.srv.Close()
	if _, err := os.Lstat(e.sock); !os.IsNotExist(err) {
		t.Errorf("the socket is still there after Close: %v", err)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: e.sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	srv, err := serveControl(e.sock, e.srv.ctl, controlLogger(t))
	if err != nil {
		t.Fatalf("over a stale socket: %v", err)
	}
	if r := e.call("list", ""); r.Error != "" {
		t.Error(r.Error)
	}
	srv.Close()
	other := filepath.Join(e.dir, "run", "file")
	os.WriteFile(other, nil, 0o600)
	if _, err := serveControl(other, e.srv.ctl, controlLogger(t)); err == nil || !strings.Contains(err.Error(), "is not a socket") {
		t.Errorf("over a file: %v", err)
	}
	os.Remove(other)

	// A peer that is not root, by SO_PEERCRED: the test binary runs
	// TestControlPeerHelper as nobody against a socket whose modes let
	// anyone connect.
	setpriv, err := exec.LookPath("setpriv")
	if os.Geteuid() != 0 || err != nil {
		t.Skip("needs root and setpriv for the uid test")
	}
	open, err := os.MkdirTemp("", "rwctl")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(open)
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(open, "roadwarrior.test")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(open, "rw.sock")
	srv, err = serveControl(sock, e.srv.ctl, controlLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := os.Chmod(sock, 0o666); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", bin,
		"-test.run=^TestControlPeerHelper$", "-test.v")
	cmd.Env = append(os.Environ(), "ROADWARRIOR_TEST_SOCKET="+sock)
	cmd.Dir = open
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "refused: permission denied: the control socket is for root (you are uid 65534)") {
		t.Errorf("as nobody: %v\n%s", err, out)
	}
}

// TestControlPeerHelper is run by TestControlSocket as another user.
func TestControlPeerHelper(t *testing.T) {
	sock := os.Getenv("ROADWARRIOR_TEST_SOCKET")
	if sock == "" {
		t.Skip("run by TestControlSocket")
	}
	r, _, err := request(sock, Request{Verb: "list"}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Connections) > 0 {
		t.Fatalf("listed as uid %d: %+v", os.Getuid(), r)
	}
	fmt.Printf("uid %d refused: %s\n", os.Getuid(), r.Error)
}

// TestCLIUsage: exit status 2 for usage errors, 1 for errors; pki runs
// without a server.
func TestCLIUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		cli  bool
	}{
		{[]string{"list"}, true},
		{[]string{"-socket", "/x.sock", "info", "rw"}, true},
		{[]string{"-socket=/x.sock", "-json", "reload"}, true},
		{[]string{"--socket", "/x.sock", "pki", "list"}, true},
		{[]string{"-config", "rw.yaml"}, false},
		{[]string{"-config", "rw.yaml", "-socket", "/x.sock"}, false},
		{[]string{"-socket", "list"}, false},
		{nil, false},
	} {
		if got := isCLI(tc.args); got != tc.cli {
			t.Errorf("isCLI(%q) = %v", tc.args, got)
		}
	}
	missing := filepath.Join(t.TempDir(), "none.sock")
	for _, tc := range []struct {
		args   []string
		status int
		stderr string
	}{
		{[]string{"list", "x"}, 2, "list takes no arguments"},
		{[]string{"info"}, 2, "usage: roadwarrior info NAME"},
		{[]string{"up", "a", "b"}, 2, "usage: roadwarrior up NAME"},
		{[]string{"-bogus", "list"}, 2, "flag provided but not defined"},
		{[]string{"list"}, 1, "no server at " + missing},
		{[]string{"pki", "frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"pki", "print", "-in", missing}, 1, "none.sock"},
	} {
		var o, er strings.Builder
		args := append([]string{"-socket", missing}, tc.args...)
		if tc.args[0] == "-bogus" {
			args = tc.args
		}
		st := runCLI(args, &o, &er)
		if st != tc.status || !strings.Contains(er.String(), tc.stderr) {
			t.Errorf("%q: status %d, stderr %q; want %d, %q", tc.args, st, er.String(), tc.status, tc.stderr)
		}
	}
	var o strings.Builder
	if st := run([]string{"help"}, &o, io.Discard); st != 0 || !strings.Contains(o.String(), "usage: roadwarrior [-socket PATH]") {
		t.Errorf("help: %d\n%s", st, o.String())
	}
	// pki runs here: a store made and listed without a server.
	dir := filepath.Join(t.TempDir(), "pki")
	var er strings.Builder
	if st := run([]string{"pki", "init-ca", "-dir", dir, "-dn", "CN=test CA", "-type", "ecdsa256"}, &o, &er); st != 0 {
		t.Fatalf("pki init-ca: %d %s", st, er.String())
	}
	if _, err := os.Stat(filepath.Join(dir, pki.StoreCACert)); err != nil {
		t.Error(err)
	}
}

// TestEditConfig: the write-back changes the lines of one connection and
// nothing else, also in the documented example file; layouts the text edit
// does not handle are re-encoded, with the same result.
func TestEditConfig(t *testing.T) {
	example, err := os.ReadFile("roadwarrior.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ex := string(example)
	cut := func(s, from, to string) string {
		i, j := strings.Index(s, from), strings.Index(s, to)
		if i < 0 || j < i {
			t.Fatalf("no %q ... %q", from, to)
		}
		return s[:i] + s[j:]
	}
	for _, tc := range []struct {
		name, in, conn string
		op             editOp
		want           string // "" for an error
	}{
		{"disable with enabled: true", ex, "everybody", editDisable,
			strings.Replace(ex, "    enabled: true                # default", "    enabled: false                # default", 1)},
		{"disable without enabled", ex, "carol", editDisable,
			strings.Replace(ex, "  carol:\n", "  carol:\n    enabled: false\n", 1)},
		{"enable without enabled", ex, "carol", editEnable, ex},
		{"delete in the middle", ex, "carol", editDelete, cut(ex, "  # One client with a fixed virtual IP.", "  # Roadwarriors with a pre-shared key")},
		{"quoted", "connections:\n  a:\n    enabled: \"yes\"  # on\n    local_ts: 10.0.0.0/8\n", "a", editDisable,
			"connections:\n  a:\n    enabled: false  # on\n    local_ts: 10.0.0.0/8\n"},
		{"flow", "connections:\n  a: {local_ts: 10.0.0.0/8}\n  b: {}\n", "a", editDisable,
			"connections:\n  a: {enabled: false, local_ts: 10.0.0.0/8}\n  b: {}\n"},
		{"empty flow", "connections:\n  a: {local_ts: 10.0.0.0/8}\n  b: {}\n", "b", editDisable,
			"connections:\n  a: {local_ts: 10.0.0.0/8}\n  b: {enabled: false}\n"},
		{"delete the last", "connections:\n  a:\n    local_ts: 10.0.0.0/8\n\n  # b\n  b:\n    local_ts: 10.1.0.0/16\n    # its end\n\n# after\nlog: {level: info}\n",
			"b", editDelete, "connections:\n  a:\n    local_ts: 10.0.0.0/8\n\n# after\nlog: {level: info}\n"},
		{"not there", ex, "nobody", editDisable, ""},
		{"a broken file", "connections:\n  a:\n    colour: blue\n", "a", editDisable, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := editConfig([]byte(tc.in), tc.conn, tc.op)
			switch {
			case tc.want == "" && err == nil:
				t.Fatalf("no error:\n%s", got)
			case tc.want == "":
				return
			case err != nil:
				t.Fatal(err)
			case string(got) != tc.want:
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}

	// Flow style all through: the tree is re-encoded.
	in := "connections: {a: {local_ts: 10.0.0.0/8}, b: {local_ts: 10.1.0.0/16}} # two\n"
	got, err := editConfig([]byte(in), "a", editDelete)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse(got)
	if err != nil || len(cfg.Connections) != 1 || cfg.Connections[0].Name != "b" || !strings.Contains(string(got), "# two") {
		t.Errorf("re-encoded: %v\n%s", err, got)
	}
}

// TestWriteFileAtomic: the mode stays, a symbolic link stays a link to the
// new file, and no temporary file is left.
func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "real.yaml")
	if err := os.WriteFile(target, []byte("old\n"), 0o604); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "rw.yaml")
	if err := os.Symlink("real.yaml", link); err != nil {
		t.Fatal(err)
	}
	if err := writeFileAtomic(link, []byte("new\n")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "new\n" {
		t.Errorf("target: %q", b)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the link: %v %v", st.Mode(), err)
	}
	if st, _ := os.Stat(target); st.Mode().Perm() != 0o604 {
		t.Errorf("mode %v", st.Mode())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("files: %v", ents)
	}
	if err := writeFileAtomic(filepath.Join(dir, "none", "x.yaml"), nil); err == nil {
		t.Error("no error for a missing directory")
	}
}

// TestSameCredentials: a connection whose certificate files changed is a
// changed connection; a new CRL alone is not.
func TestSameCredentials(t *testing.T) {
	newCA := func(cn string) *pki.CA {
		ca, err := pki.NewCA(pki.Config{}, pki.CAOptions{Subject: "CN=" + cn, KeyType: pki.KeyTypeECDSAP256})
		if err != nil {
			t.Fatal(err)
		}
		return ca
	}
	a, b := newCA("a"), newCA("b")
	crl := func(ca *pki.CA) *x509.RevocationList {
		der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(time.Now().UnixNano()),
			ThisUpdate: time.Now(), NextUpdate: time.Now().Add(time.Hour)}, ca.Cert, ca.Key)
		if err != nil {
			t.Fatal(err)
		}
		l, err := x509.ParseRevocationList(der)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	p := func(ca *pki.CA, l *x509.RevocationList) *ike.PeerConfig {
		return &ike.PeerConfig{Local: ike.AuthConfig{Certificates: []*x509.Certificate{ca.Cert}, Key: ca.Key},
			Remote: ike.AuthConfig{CAs: []*x509.Certificate{ca.Cert}, CRLs: []*x509.RevocationList{l}}}
	}
	l1, l2 := crl(a), crl(a)
	if !sameCredentials(p(a, l1), p(a, l2)) || sameCRLs(p(a, l1), p(a, l2)) || !sameCRLs(p(a, l1), p(a, l1)) {
		t.Error("a new CRL")
	}
	if sameCredentials(p(a, l1), p(b, l1)) {
		t.Error("another CA and key")
	}
	psk := &ike.PeerConfig{Local: ike.AuthConfig{Method: ike.AuthPSK}}
	if !sameCredentials(psk, psk) || sameCredentials(psk, p(a, l1)) {
		t.Error("PSK")
	}
}

// TestControlReloadFixedVIPs: reload ends the reservations the file no
// longer has, before it makes the new ones: a fixed address can move from
// one client to another in one reload, and a removed one goes back to the
// pool.
func TestControlReloadFixedVIPs(t *testing.T) {
	e := newTestEnv(t, controlConf)
	staff := func() []ike.Lease {
		e.srv.ctl.mu.Lock()
		defer e.srv.ctl.mu.Unlock()
		for _, p := range e.srv.ctl.rt.IKE.Pools {
			if p.Name() == "staff" {
				return p.Leases()
			}
		}
		t.Fatal("no pool staff")
		return nil
	}
	reserved := func() string {
		var s []string
		for _, l := range staff() {
			if l.Reserved {
				s = append(s, l.Identity+"="+l.Address.String())
			}
		}
		return strings.Join(s, " ")
	}
	if got := reserved(); got != "carol@example.com=198.18.201.5" {
		t.Fatalf("reservations at start: %q", got)
	}
	// carol moves to .6 and erin gets carol's .5.
	conf := strings.Replace(controlConf, "    vip: [198.18.201.5]\n", "    vip: [198.18.201.6]\n", 1)
	conf = strings.Replace(conf, "  off:", `  erin:
    local: {auth: psk, id: vpn.example.com}
    remote: {auth: psk, id: erin@example.com}
    psk: ikego-test-psk-0123456789abcdef
    local_ts: 203.0.113.0/26
    pools: [staff]
    vip: [198.18.201.5]

  off:`, 1)
	if err := os.WriteFile(e.path, []byte(conf), 0o640); err != nil {
		t.Fatal(err)
	}
	if out, _ := e.mustCLI(0, "reload"); !strings.Contains(out, "added erin; changed carol") {
		t.Errorf("reload: %s", out)
	}
	if got := reserved(); got != "erin@example.com=198.18.201.5 carol@example.com=198.18.201.6" {
		t.Errorf("reservations after the move: %q", got)
	}
	// carol's fixed address is removed: it goes back to the pool.
	conf = strings.Replace(conf, "    vip: [198.18.201.6]\n", "", 1)
	if err := os.WriteFile(e.path, []byte(conf), 0o640); err != nil {
		t.Fatal(err)
	}
	e.mustCLI(0, "reload")
	if got, n := reserved(), len(staff()); got != "erin@example.com=198.18.201.5" || n != 1 {
		t.Errorf("after removing carol's address: reservations %q, %d leases", got, n)
	}
	// carol now gets an address from the pool, not the one erin keeps.
	carol := e.client(carolAddr, "carol@example.com")
	if sa := e.connect(carol, "carol"); len(sa.VIPs) != 1 || sa.VIPs[0] == netip.MustParseAddr("198.18.201.5") {
		t.Errorf("carol's address: %v", sa.VIPs)
	}
}

// TestControlCAChain: with a server certificate file that holds its chain,
// ca gives the chain's root (not the intermediates, which the server
// sends); without the root in the file, ca warns that clients need it.
func TestControlCAChain(t *testing.T) {
	dir := t.TempDir()
	mk := func(cn string, parent *x509.Certificate, parentKey crypto.Signer, ca bool) (*x509.Certificate, crypto.Signer) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), BasicConstraintsValid: true, IsCA: ca,
			KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
		if !ca {
			tmpl.DNSNames = []string{"vpn.example.com"}
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		}
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c, key
	}
	root, rootKey := mk("chain root", nil, nil, true)
	inter, interKey := mk("chain intermediate", root, rootKey, true)
	leaf, leafKey := mk("vpn.example.com", inter, interKey, false)
	clients, _ := mk("client CA", nil, nil, true)
	write := func(name string, certs ...*x509.Certificate) string {
		var b bytes.Buffer
		for _, c := range certs {
			pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	der, err := x509.MarshalPKCS8PrivateKey(leafKey)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "vpn.key")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	clientCA := write("clients.pem", clients)
	conf := func(chain string) string {
		i, j := strings.Index(controlConf, "  # client1"), strings.Index(controlConf, "  # a site")
		return controlConf[:i] + fmt.Sprintf(`  certs:
    local: {auth: pubkey, id: vpn.example.com, cert_file: %s, key_file: %s}
    remote: {auth: pubkey, ca_file: %s}
    local_ts: 203.0.113.0/26
    pools: [rw4]

`, chain, keyFile, clientCA) + controlConf[j:]
	}
	pemCerts := func(out string) []string {
		var cns []string
		for b, rest := pem.Decode([]byte(out)); b != nil; b, rest = pem.Decode(rest) {
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			cns = append(cns, c.Subject.CommonName)
		}
		return cns
	}

	e := newTestEnv(t, conf(write("full.pem", leaf, inter, root)))
	out, er := e.mustCLI(0, "ca")
	if got := pemCerts(out); !slices.Equal(got, []string{"client CA", "chain root"}) || strings.Contains(er, "warning") {
		t.Errorf("ca with the root in the chain file: %v\n%s", got, er)
	}

	e = newTestEnv(t, conf(write("noroot.pem", leaf, inter)))
	out, er = e.mustCLI(0, "ca")
	if got := pemCerts(out); !slices.Equal(got, []string{"client CA"}) ||
		!strings.Contains(er, `connections.certs: the server certificate does not chain to a CA shown here; clients also need the root CA of "CN=chain root"`) {
		t.Errorf("ca without the root: %v\n%s", got, er)
	}
}

// TestControlReloadXAuthUsers: new xauth_users change the xauth
// connections (their clients log in again), not the others.
func TestControlReloadXAuthUsers(t *testing.T) {
	conf := strings.Replace(controlConf, "connections:\n", `xauth_users:
  - {id: bob, secret: bob-secret-1}
connections:
  cisco:
    type: xauth
    local: {auth: psk}
    remote: {auth: psk}
    psk: ikego-test-psk-0123456789abcdef
    local_ts: 203.0.113.0/26
    pools: [rw4]
`, 1)
	e := newTestEnv(t, conf)
	conf = strings.Replace(conf, "bob-secret-1", "bob-secret-2", 1)
	if err := os.WriteFile(e.path, []byte(conf), 0o640); err != nil {
		t.Fatal(err)
	}
	out, er := e.mustCLI(0, "reload")
	if !strings.Contains(out, "changed cisco;") || !strings.Contains(out, "unchanged") || strings.Contains(out, "changed cisco, ") {
		t.Errorf("reload: %s\n%s", out, er)
	}
	if strings.Contains(out+er, "bob-secret") {
		t.Errorf("reload quotes a secret: %s\n%s", out, er)
	}
}
