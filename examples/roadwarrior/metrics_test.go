package main

import (
	"bufio"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ikego/ikego"
	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/esp/esptest"
	"github.com/ikego/ikego/ike"
	"github.com/ikego/ikego/ike/wire"
	"github.com/ikego/ikego/internal/leakcheck"
	"github.com/ikego/ikego/pki"
	"github.com/ikego/ikego/tun/tuntest"
)

// sample is one line of the text exposition format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// scrape gets /metrics from the handler, without a socket, and parses the
// samples.
func scrape(t *testing.T, m *metrics) []sample {
	t.Helper()
	rec := httptest.NewRecorder()
	m.handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	out, err := parseExposition(rec.Body.String())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// parseExposition parses Prometheus' text format: comments, and
// `name{k="v",...} value` lines (label values without escapes).
func parseExposition(text string) ([]sample, error) {
	var out []sample
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s := sample{labels: map[string]string{}}
		var rest string
		if i := strings.IndexByte(line, '{'); i >= 0 {
			j := strings.LastIndexByte(line, '}')
			if j < i {
				return nil, fmt.Errorf("bad line %q", line)
			}
			s.name, rest = line[:i], strings.TrimSpace(line[j+1:])
			for kv := range strings.SplitSeq(line[i+1:j], `",`) {
				k, v, ok := strings.Cut(strings.TrimSuffix(kv, `"`), `="`)
				if !ok {
					return nil, fmt.Errorf("bad labels in %q", line)
				}
				s.labels[k] = v
			}
		} else {
			var ok bool
			s.name, rest, ok = strings.Cut(line, " ")
			if !ok {
				return nil, fmt.Errorf("bad line %q", line)
			}
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return nil, fmt.Errorf("no value in %q", line)
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return nil, fmt.Errorf("bad value in %q", line)
		}
		s.value = v
		out = append(out, s)
	}
	return out, sc.Err()
}

// value returns the sample of name with exactly these labels ("k=v"), and
// whether there is one.
func value(samples []sample, name string, labels ...string) (float64, bool) {
next:
	for _, s := range samples {
		if s.name != name || len(s.labels) != len(labels) {
			continue
		}
		for _, l := range labels {
			k, v, _ := strings.Cut(l, "=")
			if s.labels[k] != v {
				continue next
			}
		}
		return s.value, true
	}
	return 0, false
}

// want checks samples.
func want(t *testing.T, samples []sample, v float64, name string, labels ...string) {
	t.Helper()
	got, ok := value(samples, name, labels...)
	switch {
	case !ok:
		t.Errorf("no %s%v", name, labels)
	case got != v:
		t.Errorf("%s%v = %v, want %v", name, labels, got, v)
	}
}

const metricsConfig = `
pools:
  - {name: rw4, addrs: 198.18.200.0/28}
connections:
  rw:
    local: {auth: psk, id: vpn.example.com}
    remote: {auth: psk}
    psk: ikego-metrics-test-psk-0123456789
    local_ts: 203.0.113.0/26
    pools: [rw4]
`

var (
	serverOuter = netip.MustParseAddr("198.51.100.2")
	protected   = netip.MustParseAddr("203.0.113.1")
)

// rwClient is an in-memory roadwarrior client: an ikego gateway that
// initiates with a PSK and asks for a virtual IP.
type rwClient struct {
	g   *ikego.Gateway
	dev *tuntest.Channel
	id  string
}

func newClient(t *testing.T, net *esptest.Network, outer netip.Addr, id, psk string) *rwClient {
	t.Helper()
	ident := func(s string) pki.Identity {
		i, err := pki.ParseIdentity(s)
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	peer := &ike.PeerConfig{Name: "home", RemoteHost: netip.AddrPortFrom(serverOuter, esptest.IKEPort), LocalAddr: outer,
		RequestVIP: true,
		Local:      ike.AuthConfig{Method: ike.AuthPSK, ID: ident(id), PSK: []byte(psk)},
		Remote:     ike.AuthConfig{Method: ike.AuthPSK, ID: ident("vpn.example.com"), PSK: []byte(psk)},
		Children: []*ike.ChildConfig{{Name: "home",
			RemoteTS: []esp.Selector{esp.SelectorFromPrefix(netip.MustParsePrefix("0.0.0.0/0"))}}}}
	dev := tuntest.NewChannel(1400)
	g, err := ikego.NewGateway(ikego.GatewayConfig{TUN: dev, Bind: net.NewBind(outer), IKE: &ike.Config{Peers: []*ike.PeerConfig{peer}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	if err := g.IKE().Initiate("home"); err != nil {
		t.Fatal(err)
	}
	return &rwClient{g: g, dev: dev, id: id}
}

// vip waits for the client's virtual IP.
func (c *rwClient) vip(t *testing.T) netip.Addr {
	t.Helper()
	var a netip.Addr
	waitFor(t, "the virtual IP of "+c.id, func() bool {
		for _, sa := range c.g.IKE().SAs() {
			if sa.State == ike.StateEstablished && len(sa.VIPs) > 0 && len(sa.Children) > 0 {
				a = sa.VIPs[0]
				return true
			}
		}
		return false
	})
	return a
}

// ping sends an echo request from the client to the protected host
// through the server, answers it at the server's TUN and waits for the
// reply at the client. It returns the two packets' lengths.
func ping(t *testing.T, c *rwClient, srv *tuntest.Channel, seq uint16) (req, reply int) {
	t.Helper()
	vip := c.vip(t)
	c.dev.Inbound <- tuntest.Ping(vip, protected, 7, seq, []byte("ikego metrics"))
	timeout := time.After(10 * time.Second)
	select {
	case pkt := <-srv.Outbound:
		src, dst, typ, id, s, ok := tuntest.ParseEcho(pkt)
		if !ok || src != vip || dst != protected || typ != 8 {
			t.Fatalf("the server's TUN got %x", pkt)
		}
		req = len(pkt)
		r := tuntest.Ping(protected, vip, id, s, []byte("ikego metrics"))
		r[20] = 0 // echo reply
		r[22], r[23] = 0, 0
		sum := checksum(r[20:])
		r[22], r[23] = byte(sum>>8), byte(sum)
		srv.Inbound <- r
		reply = len(r)
	case <-timeout:
		t.Fatalf("ping %d from %s: nothing at the server", seq, c.id)
	}
	select {
	case pkt := <-c.dev.Outbound:
		if _, dst, typ, _, _, ok := tuntest.ParseEcho(pkt); !ok || dst != vip || typ != 0 {
			t.Fatalf("the client got %x", pkt)
		}
	case <-timeout:
		t.Fatalf("ping %d from %s: no reply", seq, c.id)
	}
	return req, reply
}

// checksum is the Internet checksum (RFC 1071).
func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestMetrics runs the server's IKE and dataplane against two in-memory
// clients and one with a wrong PSK, and scrapes: handshakes and the auth
// failure, SAs by state, traffic per connection and per client that
// survives a CHILD_SA rekey, the pool; a client that leaves takes its
// series along but not its traffic from the connection's counters.
func TestMetrics(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	cfg, err := Parse([]byte(metricsConfig))
	if err != nil {
		t.Fatal(err)
	}
	rt, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := newRegistry()
	defer m.Close()
	// The series of the configured connection are there before it is
	// used.
	m.attach(nil, rt)
	s := scrape(t, m)
	want(t, s, 0, "ikego_ike_handshakes_total", "conn=rw")
	want(t, s, 0, "ikego_ike_sas", "conn=rw", "state=established")
	want(t, s, 0, "ikego_esp_bytes_total", "conn=rw", "direction=in")
	want(t, s, 14, "ikego_pool_addresses", "pool=rw4")

	net := esptest.NewNetwork()
	srvDev := tuntest.NewChannel(1400)
	ikeCfg := *rt.IKE
	ikeCfg.OnEvent = m.onEvent
	g, err := ikego.NewGateway(ikego.GatewayConfig{TUN: srvDev, Bind: net.NewBind(serverOuter), IKE: &ikeCfg})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	if err := m.start(g, rt); err != nil {
		t.Fatal(err)
	}

	psk := "ikego-metrics-test-psk-0123456789"
	a := newClient(t, net, netip.MustParseAddr("198.51.100.11"), "a@example.com", psk)
	b := newClient(t, net, netip.MustParseAddr("198.51.100.12"), "b@example.com", psk)
	newClient(t, net, netip.MustParseAddr("198.51.100.13"), "c@example.com", "not-the-psk-0123456789")
	var inBytes, outBytes float64
	count := func(req, reply int) { inBytes += float64(req); outBytes += float64(reply) }
	for seq := range uint16(3) {
		count(ping(t, a, srvDev, seq))
	}
	count(ping(t, b, srvDev, 1))
	waitFor(t, "the failed client", func() bool {
		v, _ := value(scrape(t, m), "ikego_ike_failures_total", "conn="+noConn, "reason=auth")
		return v == 1
	})

	s = scrape(t, m)
	want(t, s, 2, "ikego_ike_handshakes_total", "conn=rw")
	want(t, s, 1, "ikego_ike_failures_total", "conn="+noConn, "reason=auth")
	want(t, s, 2, "ikego_ike_sas", "conn=rw", "state=established")
	want(t, s, 0, "ikego_ike_sas", "conn=rw", "state=connecting")
	want(t, s, 2, "ikego_child_sas", "conn=rw")
	want(t, s, 4, "ikego_esp_packets_total", "conn=rw", "direction=in")
	want(t, s, 4, "ikego_esp_packets_total", "conn=rw", "direction=out")
	want(t, s, 3, "ikego_client_esp_packets_total", "conn=rw", "id=a@example.com", "direction=in")
	want(t, s, 3, "ikego_client_esp_packets_total", "conn=rw", "id=a@example.com", "direction=out")
	want(t, s, 1, "ikego_client_esp_packets_total", "conn=rw", "id=b@example.com", "direction=in")
	want(t, s, 14, "ikego_pool_addresses", "pool=rw4")
	want(t, s, 2, "ikego_pool_online", "pool=rw4")
	bytesIn, _ := value(s, "ikego_esp_bytes_total", "conn=rw", "direction=in")
	bytesOut, _ := value(s, "ikego_esp_bytes_total", "conn=rw", "direction=out")
	if bytesIn != inBytes || bytesOut != outBytes {
		t.Errorf("bytes in %v out %v, want the packets' %v and %v", bytesIn, bytesOut, inBytes, outBytes)
	}
	if _, ok := value(s, "ikego_client_esp_packets_total", "conn=rw", "id=c@example.com", "direction=in"); ok {
		t.Error("a series for the client that failed")
	}
	for _, name := range []string{"ikego_esp_dropped_total", "go_goroutines", "process_open_fds"} {
		found := false
		for _, x := range s {
			found = found || x.name == name
		}
		if !found {
			t.Errorf("no %s", name)
		}
	}

	// A rekey of a's CHILD_SA: its traffic so far stays counted.
	oldSPI := a.g.IKE().SAs()[0].Children[0].InSPI
	if n := a.g.IKE().Rekey("home"); n != 1 {
		t.Fatalf("rekey started %d", n)
	}
	waitFor(t, "the rekey", func() bool {
		sas := a.g.IKE().SAs()
		return len(sas) == 1 && len(sas[0].Children) == 1 && sas[0].Children[0].InSPI != oldSPI
	})
	count(ping(t, a, srvDev, 10))
	waitFor(t, "the old CHILD_SA to go", func() bool {
		v, _ := value(scrape(t, m), "ikego_child_sas", "conn=rw")
		return v == 2
	})
	s = scrape(t, m)
	want(t, s, 5, "ikego_esp_packets_total", "conn=rw", "direction=in")
	want(t, s, 4, "ikego_client_esp_packets_total", "conn=rw", "id=a@example.com", "direction=in")
	want(t, s, 4, "ikego_client_esp_packets_total", "conn=rw", "id=a@example.com", "direction=out")
	want(t, s, 2, "ikego_ike_handshakes_total", "conn=rw") // a rekey is no handshake

	// b leaves: its series go, its traffic stays in the connection's.
	b.g.Close()
	waitFor(t, "b to leave", func() bool {
		v, _ := value(scrape(t, m), "ikego_ike_sas", "conn=rw", "state=established")
		return v == 1
	})
	s = scrape(t, m)
	want(t, s, 5, "ikego_esp_packets_total", "conn=rw", "direction=in")
	want(t, s, 5, "ikego_esp_packets_total", "conn=rw", "direction=out")
	want(t, s, 1, "ikego_pool_online", "pool=rw4")
	want(t, s, 1, "ikego_ike_failures_total", "conn="+noConn, "reason=auth") // a delete is no failure
	if _, ok := value(s, "ikego_client_esp_packets_total", "conn=rw", "id=b@example.com", "direction=in"); ok {
		t.Error("b's series outlive it")
	}
	if v, _ := value(s, "ikego_esp_bytes_total", "conn=rw", "direction=in"); v != inBytes {
		t.Errorf("bytes in %v, want %v", v, inBytes)
	}

	// A reloaded configuration brings its pools and connections.
	cfg2, _ := Parse([]byte(strings.Replace(metricsConfig, "  rw:", "  other:", 1)))
	rt2, err := Build(cfg2)
	if err != nil {
		t.Fatal(err)
	}
	m.update(rt2)
	s = scrape(t, m)
	want(t, s, 0, "ikego_ike_handshakes_total", "conn=other")
	want(t, s, 0, "ikego_ike_sas", "conn=other", "state=established")
	want(t, s, 0, "ikego_pool_online", "pool=rw4") // rt2's pool, not the running one
	want(t, s, 5, "ikego_esp_packets_total", "conn=rw", "direction=in")
}

// TestMetricsMissedEvents: CHILD_SAs that came before the metrics were
// attached (no up event) are found by the scrape, and those that went
// without a down event are retired by it; an SA whose down event came
// between the scrape's list and its lock is not taken up again.
func TestMetricsMissedEvents(t *testing.T) {
	src := &fakeSource{usages: map[uint32]*fakeUsage{1: {3, 300}, 2: {4, 400}}}
	src.sas = []ike.SAInfo{{Peer: "rw", State: ike.StateEstablished, RemoteID: mustID(t, "a@example.com"),
		Children: []ike.ChildInfo{{InSPI: 1, OutSPI: 2}}}}
	m := newRegistry()
	m.attach(src, &Runtime{IKE: &ike.Config{Peers: []*ike.PeerConfig{{Name: "rw"}}}})
	s := scrape(t, m)
	want(t, s, 3, "ikego_esp_packets_total", "conn=rw", "direction=in")
	want(t, s, 400, "ikego_client_esp_bytes_total", "conn=rw", "id=a@example.com", "direction=out")

	// The SA goes without an event; its counters stay in the connection's.
	src.usages[1].packets = 5
	src.sas = nil
	s = scrape(t, m)
	want(t, s, 5, "ikego_esp_packets_total", "conn=rw", "direction=in")
	if _, ok := value(s, "ikego_client_esp_bytes_total", "conn=rw", "id=a@example.com", "direction=out"); ok {
		t.Error("a's series outlive it")
	}

	// A down event for an SA the list still shows: not counted twice.
	src.usages[5] = &fakeUsage{1, 100}
	src.usages[6] = &fakeUsage{1, 100}
	m.onEvent(ike.Event{Kind: ike.EventChildUp, Peer: "rw", RemoteID: mustID(t, "a@example.com"), InSPI: 5, OutSPI: 6})
	m.onEvent(ike.Event{Kind: ike.EventChildDown, Peer: "rw", InSPI: 5, OutSPI: 6})
	src.sas = []ike.SAInfo{{Peer: "rw", State: ike.StateEstablished, RemoteID: mustID(t, "a@example.com"),
		Children: []ike.ChildInfo{{InSPI: 5, OutSPI: 6}}}}
	s = scrape(t, m)
	want(t, s, 6, "ikego_esp_packets_total", "conn=rw", "direction=in")
	want(t, s, 1, "ikego_child_sas", "conn=rw")
	src.sas = nil
	s = scrape(t, m)
	want(t, s, 6, "ikego_esp_packets_total", "conn=rw", "direction=in")
	if len(m.col.gone) != 0 || len(m.col.live) != 0 || len(m.col.retiredID) != 0 {
		t.Errorf("left behind: gone %v, live %v, retiredID %v", m.col.gone, m.col.live, m.col.retiredID)
	}
}

type fakeUsage struct{ packets, bytes uint64 }

func (u *fakeUsage) Usage() (uint64, uint64) { return u.packets, u.bytes }

type fakeSource struct {
	sas    []ike.SAInfo
	usages map[uint32]*fakeUsage
	l2     ikego.L2TPStats
}

func (f *fakeSource) SAs() []ike.SAInfo { return f.sas }

func (f *fakeSource) usage(k esp.SAKey) usageReader {
	if u := f.usages[k.SPI]; u != nil {
		return u
	}
	return nil
}

func (f *fakeSource) stats() esp.EngineStats { return esp.EngineStats{NoPolicy: 7} }

func (f *fakeSource) l2tp() (ikego.L2TPStats, bool) { return f.l2, f.l2 != (ikego.L2TPStats{}) }

func mustID(t *testing.T, s string) pki.Identity {
	t.Helper()
	id, err := pki.ParseIdentity(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestFailureReason: the errors an IKE SA goes down with, by reason.
func TestFailureReason(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("%w: the AUTH of x does not verify with the pre-shared key", ike.ErrAuthFailed), reasonAuth},
		{errors.Join(fmt.Errorf("rw: %w", fmt.Errorf("%w: certificate of x: %w", ike.ErrAuthFailed, pki.ErrUntrusted))), reasonAuth},
		{&ike.NotifyError{Notify: wire.NotifyAuthenticationFailed, Reason: "IKE_AUTH refused by the peer"}, reasonAuth},
		{errors.New("ike: peer says AUTHENTICATION_FAILED"), reasonAuth},
		{errors.New("ike: no connection matches"), reasonAuth},
		{ike.ErrNoProposalChosen, reasonProposal},
		{&ike.NotifyError{Notify: wire.NotifyNoProposalChosen, Reason: "x"}, reasonProposal},
		{fmt.Errorf("x: %w", ike.ErrUnsupportedGroup), reasonProposal},
		{ike.ErrTooManyRetries, reasonTimeout},
		{errors.New("ike: peer did not answer INFORMATIONAL (message 3)"), reasonTimeout},
		{errors.New("ike: not established within 30s"), reasonTimeout},
		{errors.New("ike: peer sent INFORMATIONAL before the IKE SA was established"), reasonOther},
		{errors.New("ike: shutting down"), ""},
		{errors.New("ike: replaced after INITIAL_CONTACT"), ""},
	} {
		if got := failureReason(tc.err); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.err, got, tc.want)
		}
	}
}

// TestMetricsNil: without -metrics everything is a no-op; a bad address
// fails at once.
func TestMetricsNil(t *testing.T) {
	m, err := newMetrics("")
	if m != nil || err != nil {
		t.Fatalf("newMetrics(\"\") = %v, %v", m, err)
	}
	m.onEvent(ike.Event{Kind: ike.EventIKEUp, Peer: "rw"})
	m.update(nil)
	if err := m.start(nil, nil); err != nil {
		t.Error(err)
	}
	if err := m.Close(); err != nil {
		t.Error(err)
	}
	if _, err := newMetrics("127.0.0.1:99999"); err == nil || !strings.Contains(err.Error(), "-metrics") {
		t.Errorf("a bad port: %v", err)
	}
	// The index page, and nothing else than /metrics.
	rec := httptest.NewRecorder()
	newRegistry().handler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if !strings.Contains(rec.Body.String(), "/metrics") {
		t.Errorf("/: %s", rec.Body)
	}
	rec = httptest.NewRecorder()
	newRegistry().handler().ServeHTTP(rec, httptest.NewRequest("GET", "/other", nil))
	if rec.Code != 404 {
		t.Errorf("/other: %d", rec.Code)
	}
}

// TestMetricsL2TP: the L2TP service's calls, packets and drops, and its
// pool's leases counted from PPP, not from IKE (which leases none of it).
func TestMetricsL2TP(t *testing.T) {
	rt, err := check(configWith(t, edit{"connections.rw.type", "l2tp"}, edit{"connections.rw.local_ts", "-"},
		edit{"l2tp_users", "[{id: alice, secret: alice-pw}]"}), "")
	if err != nil {
		t.Fatal(err)
	}
	src := &fakeSource{l2: ikego.L2TPStats{Calls: 3, Leases: 2, FromClients: 10, ToClients: 20, Spoofed: 1}}
	m := newRegistry()
	defer m.Close()
	m.attach(src, rt)
	s := scrape(t, m)
	want(t, s, 3, "ikego_l2tp_calls")
	want(t, s, 10, "ikego_l2tp_packets_total", "direction=in")
	want(t, s, 20, "ikego_l2tp_packets_total", "direction=out")
	want(t, s, 1, "ikego_l2tp_dropped_total", "reason=spoofed")
	want(t, s, 2, "ikego_pool_online", "pool=rw4")
	want(t, s, 0, "ikego_pool_online", "pool=rw6")
}
