package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ikego/ikego"
	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike"
	"github.com/ikego/ikego/ike/wire"
	"github.com/ikego/ikego/pki"
)

// Metrics (-metrics ADDR): Prometheus metrics on http://ADDR/metrics, from
// a registry of our own (nothing registers into the global one):
//
//	ikego_ike_sas{conn,state}                      gauge: IKE SAs by state
//	ikego_child_sas{conn}                          gauge: installed CHILD_SAs
//	ikego_ike_handshakes_total{conn}               IKE SAs established (not rekeys)
//	ikego_ike_failures_total{conn,reason}          IKE SAs failed: auth, proposal, timeout, other
//	ikego_esp_bytes_total{conn,direction}          ESP payload octets, in (from clients) and out
//	ikego_esp_packets_total{conn,direction}
//	ikego_client_esp_bytes_total{conn,id,direction}    the same per client identity, for the
//	ikego_client_esp_packets_total{conn,id,direction}  identities with an established IKE SA
//	ikego_pool_addresses{pool}, ikego_pool_online{pool}  pool size and addresses in use
//	ikego_esp_dropped_total{reason}                the dataplane's drops
//
// plus the Go runtime's and the process's metrics. conn is "(none)" for an
// IKE SA that failed before it matched a connection.
//
// Traffic is read at scrape time from the CHILD_SAs' counters
// (esp.SA.Usage). The per-connection counters keep what CHILD_SAs carried
// after they are gone (rekeyed or deleted), so they only grow; the
// per-identity ones do so while the identity stays connected and start
// again when it comes back, which Prometheus takes as a counter reset.
// Series per identity exist only for identities with an established IKE SA
// at scrape time, which keeps their number at the number of clients
// online.

// metrics is the optional Prometheus endpoint; a nil *metrics does
// nothing.
type metrics struct {
	reg        *prometheus.Registry
	mux        *http.ServeMux
	handshakes *prometheus.CounterVec
	failures   *prometheus.CounterVec
	col        *collector

	ln   net.Listener // nil without a listener (tests)
	srv  *http.Server
	done chan struct{}
}

// noConn is the conn label of an IKE SA without a connection yet.
const noConn = "(none)"

// Failure reasons of ikego_ike_failures_total.
const (
	reasonAuth     = "auth"
	reasonProposal = "proposal"
	reasonTimeout  = "timeout"
	reasonOther    = "other"
)

// newMetrics listens on addr for metrics; "" means no metrics (nil). The
// address is taken at once, so that a wrong one fails the start-up; the
// HTTP server runs from start on.
func newMetrics(addr string) (*metrics, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("-metrics: %w", err)
	}
	m := newRegistry()
	m.ln = ln
	return m, nil
}

// newRegistry returns metrics without a listener.
func newRegistry() *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), col: newCollector()}
	m.handshakes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ikego_ike_handshakes_total",
		Help: "IKE SAs established (authenticated), by connection; rekeys are not counted.",
	}, []string{"conn"})
	m.failures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ikego_ike_failures_total",
		Help: "IKE SAs that failed or were torn down by an error, by connection and reason (auth, proposal, timeout, other).",
	}, []string{"conn", "reason"})
	m.reg.MustRegister(m.handshakes, m.failures, m.col,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.mux = http.NewServeMux()
	m.mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg}))
	m.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "ikego roadwarrior: metrics at /metrics")
	})
	return m
}

// handler serves the registry at /metrics.
func (m *metrics) handler() http.Handler { return m.mux }

// onEvent counts handshakes and failures and follows the CHILD_SAs. It is
// ike.Config.OnEvent's helper: quick, never blocking on the gateway.
func (m *metrics) onEvent(e ike.Event) {
	if m == nil {
		return
	}
	conn := e.Peer
	if conn == "" {
		conn = noConn
	}
	switch e.Kind {
	case ike.EventIKEUp:
		if !e.Rekey {
			m.handshakes.WithLabelValues(conn).Inc()
		}
	case ike.EventIKEDown:
		if e.Err != nil && !e.Rekey {
			if r := failureReason(e.Err); r != "" {
				m.failures.WithLabelValues(conn, r).Inc()
			}
		}
	case ike.EventChildUp:
		m.col.childUp(e)
	case ike.EventChildDown:
		m.col.childDown(e)
	}
}

// start connects the metrics to the running gateway and serves them.
func (m *metrics) start(g *ikego.Gateway, rt *Runtime) error {
	if m == nil {
		return nil
	}
	m.attach(gatewaySource{g}, rt)
	if m.ln == nil {
		return nil
	}
	m.srv = &http.Server{Handler: m.handler(), ReadHeaderTimeout: 10 * time.Second}
	m.done = make(chan struct{})
	go func() {
		defer close(m.done)
		m.srv.Serve(m.ln)
	}()
	return nil
}

// attach sets what the collector reads and creates the series of the
// configured connections, so that they are there (at 0) before the first
// client comes.
func (m *metrics) attach(src saSource, rt *Runtime) {
	m.col.attach(src)
	m.update(rt)
}

// update follows a configuration the server reloaded: the connections and
// pools it has now.
func (m *metrics) update(rt *Runtime) {
	if m == nil || rt == nil {
		return
	}
	var conns []string
	for _, p := range rt.IKE.Peers {
		conns = append(conns, p.Name)
		m.handshakes.WithLabelValues(p.Name)
	}
	m.col.configure(conns, rt.IKE.Pools, rt.L2TPPool)
}

// Close stops the HTTP server.
func (m *metrics) Close() error {
	if m == nil {
		return nil
	}
	if m.srv == nil {
		if m.ln != nil {
			return m.ln.Close()
		}
		return nil
	}
	err := m.srv.Close()
	<-m.done
	return err
}

// failureReason classifies why an IKE SA went down; "" is no failure (the
// process stopping, an SA replaced by the same client's new one).
func failureReason(err error) string {
	msg := err.Error()
	if strings.Contains(msg, "shutting down") || strings.Contains(msg, "replaced after INITIAL_CONTACT") {
		return ""
	}
	var ne *ike.NotifyError
	isNotify := errors.As(err, &ne)
	var pe *ike.ProposalError
	switch {
	case errors.Is(err, ike.ErrAuthFailed), errors.Is(err, pki.ErrUntrusted), errors.Is(err, pki.ErrExpired),
		errors.Is(err, pki.ErrNotYetValid), errors.Is(err, pki.ErrRevoked), errors.Is(err, pki.ErrBadSignature),
		isNotify && ne.Notify == wire.NotifyAuthenticationFailed,
		strings.Contains(msg, "AUTHENTICATION_FAILED"), strings.Contains(msg, "no connection matches"):
		return reasonAuth
	case errors.Is(err, ike.ErrNoProposalChosen), errors.Is(err, ike.ErrUnsupportedGroup), errors.As(err, &pe),
		isNotify && (ne.Notify == wire.NotifyNoProposalChosen || ne.Notify == wire.NotifyInvalidKEPayload):
		return reasonProposal
	case errors.Is(err, ike.ErrTooManyRetries), strings.Contains(msg, "did not answer"),
		strings.Contains(msg, "not established within"):
		return reasonTimeout
	}
	return reasonOther
}

// saSource is what the collector reads at scrape time: the gateway, or a
// fake.
type saSource interface {
	SAs() []ike.SAInfo
	// usage returns the counters of an installed SA, nil if there is none.
	usage(k esp.SAKey) usageReader
	stats() esp.EngineStats
	// l2tp returns the counters of the L2TP service; false without one.
	l2tp() (ikego.L2TPStats, bool)
}

// usageReader is an SA's counters (esp.SA.Usage).
type usageReader interface {
	Usage() (packets, bytes uint64)
}

type gatewaySource struct{ g *ikego.Gateway }

func (s gatewaySource) SAs() []ike.SAInfo { return s.g.IKE().SAs() }

func (s gatewaySource) usage(k esp.SAKey) usageReader {
	sa, ok := s.g.Engine().SA(k)
	if !ok || sa == nil {
		return nil
	}
	return sa
}

func (s gatewaySource) stats() esp.EngineStats { return s.g.Engine().Stats() }

func (s gatewaySource) l2tp() (ikego.L2TPStats, bool) {
	if svc := s.g.L2TP(); svc != nil {
		return svc.Stats(), true
	}
	return ikego.L2TPStats{}, false
}

// usage is traffic in both directions.
type usage struct{ inPackets, inBytes, outPackets, outBytes uint64 }

func (u *usage) add(v usage) {
	u.inPackets += v.inPackets
	u.inBytes += v.inBytes
	u.outPackets += v.outPackets
	u.outBytes += v.outBytes
}

// child is a CHILD_SA the collector follows.
type child struct {
	conn, id    string
	inSA, outSA esp.SAKey
	// in and out are nil until the SA is installed: a responder installs
	// the outbound SA of a rekeyed CHILD_SA only when the old one goes.
	in, out usageReader
	gen     uint64 // the scrape generation it was first seen in
}

func (c *child) usage() usage {
	var u usage
	if c.in != nil {
		u.inPackets, u.inBytes = c.in.Usage()
	}
	if c.out != nil {
		u.outPackets, u.outBytes = c.out.Usage()
	}
	return u
}

type idKey struct{ conn, id string }

// collector is the prometheus.Collector of what is read at scrape time.
// It follows the CHILD_SAs by their inbound SPI: from their up event (or,
// if it missed that, from the scrape that first sees them) to their down
// event (or the scrape that no longer sees them), when their counters go
// into the connection's and the identity's totals.
type collector struct {
	mu    sync.Mutex
	src   saSource
	conns []string
	pools []*ike.Pool
	gen   uint64
	live  map[uint32]*child
	// gone are the inbound SPIs of CHILD_SAs that went down, with the
	// generation they went in: a scrape whose list of SAs was taken before
	// the down event must not take them up again.
	gone        map[uint32]uint64
	retiredConn map[string]*usage
	retiredID   map[idKey]*usage
	// l2tpPool is the pool whose addresses PPP, not IKE, leases.
	l2tpPool string

	ikeSAs, childSAs, bytes, packets, idBytes, idPackets, poolSize, poolOnline, dropped *prometheus.Desc
	l2tpCalls, l2tpPackets, l2tpDropped                                                 *prometheus.Desc
}

// maxGone bounds the gone set when nobody scrapes.
const maxGone = 4096

func newCollector() *collector {
	return &collector{
		live: map[uint32]*child{}, gone: map[uint32]uint64{},
		retiredConn: map[string]*usage{}, retiredID: map[idKey]*usage{},
		ikeSAs: prometheus.NewDesc("ikego_ike_sas", "IKE SAs by connection and state (connecting, established, deleting).",
			[]string{"conn", "state"}, nil),
		childSAs: prometheus.NewDesc("ikego_child_sas", "Installed CHILD_SAs by connection.", []string{"conn"}, nil),
		bytes: prometheus.NewDesc("ikego_esp_bytes_total",
			"ESP payload octets (after IPComp) by connection; direction in is from the peers, out to them.",
			[]string{"conn", "direction"}, nil),
		packets: prometheus.NewDesc("ikego_esp_packets_total", "ESP packets by connection and direction.",
			[]string{"conn", "direction"}, nil),
		idBytes: prometheus.NewDesc("ikego_client_esp_bytes_total",
			"ESP payload octets by connected client identity, while it stays connected.",
			[]string{"conn", "id", "direction"}, nil),
		idPackets: prometheus.NewDesc("ikego_client_esp_packets_total",
			"ESP packets by connected client identity, while it stays connected.",
			[]string{"conn", "id", "direction"}, nil),
		poolSize:   prometheus.NewDesc("ikego_pool_addresses", "Addresses of the virtual IP pool.", []string{"pool"}, nil),
		poolOnline: prometheus.NewDesc("ikego_pool_online", "Addresses of the pool leased to connected clients.", []string{"pool"}, nil),
		dropped: prometheus.NewDesc("ikego_esp_dropped_total", "Packets the dataplane dropped, by reason.",
			[]string{"reason"}, nil),
		l2tpCalls: prometheus.NewDesc("ikego_l2tp_calls", "L2TP/IPsec calls (PPP sessions), connecting or up.", nil, nil),
		l2tpPackets: prometheus.NewDesc("ikego_l2tp_packets_total",
			"IPv4 packets of L2TP/IPsec clients; direction in is from the clients, out to them.", []string{"direction"}, nil),
		l2tpDropped: prometheus.NewDesc("ikego_l2tp_dropped_total",
			"Packets of L2TP/IPsec clients dropped, by reason (spoofed: a source that is not the client's address).",
			[]string{"reason"}, nil),
	}
}

func (c *collector) attach(src saSource) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.src = src
}

func (c *collector) configure(conns []string, pools []*ike.Pool, l2tpPool string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conns, c.pools, c.l2tpPool = conns, pools, l2tpPool
}

// trackLocked follows a CHILD_SA.
func (c *collector) trackLocked(in, out esp.SAKey, conn, id string) {
	if c.src == nil {
		return
	}
	t := &child{conn: conn, id: id, inSA: in, outSA: out, gen: c.gen}
	c.refreshLocked(t)
	c.live[in.SPI] = t
}

// refreshLocked looks up the SAs of t not found before.
func (c *collector) refreshLocked(t *child) {
	if c.src == nil {
		return
	}
	if t.in == nil {
		t.in = c.src.usage(t.inSA)
	}
	if t.out == nil {
		t.out = c.src.usage(t.outSA)
	}
}

func (c *collector) childUp(e ike.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.gone, e.InSPI) // an SPI used again
	c.trackLocked(e.InSA(), e.OutSA(), e.Peer, e.RemoteID.String())
}

func (c *collector) childDown(e ike.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.live[e.InSPI]; t != nil {
		c.retireLocked(e.InSPI, t)
	}
	if e.Rekey {
		// The successor's outbound SA is installed now.
		for _, t := range c.live {
			if t.out == nil || t.in == nil {
				c.refreshLocked(t)
			}
		}
	}
	if len(c.gone) >= maxGone {
		clear(c.gone)
	}
	c.gone[e.InSPI] = c.gen
}

// retireLocked moves a CHILD_SA's counters into the totals.
func (c *collector) retireLocked(spi uint32, t *child) {
	u := t.usage()
	r := c.retiredConn[t.conn]
	if r == nil {
		r = &usage{}
		c.retiredConn[t.conn] = r
	}
	r.add(u)
	k := idKey{t.conn, t.id}
	if c.retiredID[k] == nil {
		c.retiredID[k] = &usage{}
	}
	c.retiredID[k].add(u)
	delete(c.live, spi)
}

// Describe sends the descriptions of the collector's metrics.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.ikeSAs, c.childSAs, c.bytes, c.packets, c.idBytes, c.idPackets,
		c.poolSize, c.poolOnline, c.dropped, c.l2tpCalls, c.l2tpPackets, c.l2tpDropped} {
		ch <- d
	}
}

// Collect reads the SAs and counters.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	c.gen++
	gen, src := c.gen, c.src
	c.mu.Unlock()
	// The gateway is read without c.mu: its events take c.mu.
	var sas []ike.SAInfo
	var stats esp.EngineStats
	var l2 ikego.L2TPStats
	hasL2TP := false
	if src != nil {
		sas, stats = src.SAs(), src.stats()
		l2, hasL2TP = src.l2tp()
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	type stateKey struct{ conn, state string }
	states := map[stateKey]int{}
	children := map[string]int{}
	for _, conn := range c.conns {
		for _, s := range []ike.State{ike.StateConnecting, ike.StateEstablished, ike.StateDeleting} {
			states[stateKey{conn, stateLabel(s)}] = 0
		}
		children[conn] = 0
	}
	seen := map[uint32]bool{}
	online := map[idKey]bool{}
	for _, sa := range sas {
		conn := sa.Peer
		if conn == "" {
			conn = noConn
		}
		if sa.State == ike.StateClosed {
			continue
		}
		states[stateKey{conn, stateLabel(sa.State)}]++
		id := sa.RemoteID.String()
		if sa.State == ike.StateEstablished {
			online[idKey{conn, id}] = true
		}
		for _, ch := range sa.Children {
			seen[ch.InSPI] = true
			children[conn]++
			if t := c.live[ch.InSPI]; t != nil {
				c.refreshLocked(t)
			} else if _, gone := c.gone[ch.InSPI]; !gone {
				c.trackLocked(ch.InSA(), ch.OutSA(), conn, id)
			}
		}
	}
	// What was followed before this scrape's list of SAs and is not in it
	// went down without an event (before start); gone entries older than
	// the list are settled.
	for spi, t := range c.live {
		if t.gen < gen && !seen[spi] {
			c.retireLocked(spi, t)
		}
	}
	for spi, g := range c.gone {
		if g < gen && !seen[spi] {
			delete(c.gone, spi)
		}
	}
	for k := range c.retiredID {
		if !online[k] {
			delete(c.retiredID, k)
		}
	}

	conns := map[string]usage{}
	for _, conn := range c.conns {
		conns[conn] = usage{}
	}
	for conn, r := range c.retiredConn {
		u := conns[conn]
		u.add(*r)
		conns[conn] = u
	}
	ids := map[idKey]usage{}
	for k := range online {
		var u usage
		if r := c.retiredID[k]; r != nil {
			u = *r
		}
		ids[k] = u
	}
	for _, t := range c.live {
		u := t.usage()
		cu := conns[t.conn]
		cu.add(u)
		conns[t.conn] = cu
		k := idKey{t.conn, t.id}
		if iu, ok := ids[k]; ok {
			iu.add(u)
			ids[k] = iu
		}
	}

	for k, n := range states {
		ch <- prometheus.MustNewConstMetric(c.ikeSAs, prometheus.GaugeValue, float64(n), k.conn, k.state)
	}
	for conn, n := range children {
		ch <- prometheus.MustNewConstMetric(c.childSAs, prometheus.GaugeValue, float64(n), conn)
	}
	for conn, u := range conns {
		ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.CounterValue, float64(u.inBytes), conn, "in")
		ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.CounterValue, float64(u.outBytes), conn, "out")
		ch <- prometheus.MustNewConstMetric(c.packets, prometheus.CounterValue, float64(u.inPackets), conn, "in")
		ch <- prometheus.MustNewConstMetric(c.packets, prometheus.CounterValue, float64(u.outPackets), conn, "out")
	}
	for k, u := range ids {
		ch <- prometheus.MustNewConstMetric(c.idBytes, prometheus.CounterValue, float64(u.inBytes), k.conn, k.id, "in")
		ch <- prometheus.MustNewConstMetric(c.idBytes, prometheus.CounterValue, float64(u.outBytes), k.conn, k.id, "out")
		ch <- prometheus.MustNewConstMetric(c.idPackets, prometheus.CounterValue, float64(u.inPackets), k.conn, k.id, "in")
		ch <- prometheus.MustNewConstMetric(c.idPackets, prometheus.CounterValue, float64(u.outPackets), k.conn, k.id, "out")
	}
	for _, p := range c.pools {
		online := p.Online()
		if p.Name() == c.l2tpPool {
			online = l2.Leases // PPP leases these, not IKE
		}
		ch <- prometheus.MustNewConstMetric(c.poolSize, prometheus.GaugeValue, float64(p.Size()), p.Name())
		ch <- prometheus.MustNewConstMetric(c.poolOnline, prometheus.GaugeValue, float64(online), p.Name())
	}
	if hasL2TP {
		ch <- prometheus.MustNewConstMetric(c.l2tpCalls, prometheus.GaugeValue, float64(l2.Calls))
		ch <- prometheus.MustNewConstMetric(c.l2tpPackets, prometheus.CounterValue, float64(l2.FromClients), "in")
		ch <- prometheus.MustNewConstMetric(c.l2tpPackets, prometheus.CounterValue, float64(l2.ToClients), "out")
		for _, d := range []struct {
			reason string
			n      uint64
		}{{"spoofed", l2.Spoofed}, {"dropped", l2.Dropped}, {"send_error", l2.SendErrors}} {
			ch <- prometheus.MustNewConstMetric(c.l2tpDropped, prometheus.CounterValue, float64(d.n), d.reason)
		}
	}
	if src != nil {
		for _, d := range []struct {
			reason string
			n      uint64
		}{
			{"no_policy", stats.NoPolicy}, {"dropped", stats.Dropped}, {"held_dropped", stats.HeldDropped},
			{"unknown_spi", stats.UnknownSPI}, {"policy_mismatch", stats.PolicyMismatch}, {"seal_error", stats.SealErrors},
			{"open_error", stats.OpenErrors}, {"send_error", stats.SendErrors}, {"too_big", stats.TooBig},
		} {
			ch <- prometheus.MustNewConstMetric(c.dropped, prometheus.CounterValue, float64(d.n), d.reason)
		}
	}
}

// stateLabel is the state label of an IKE SA: connecting, established,
// deleting.
func stateLabel(s ike.State) string { return strings.ToLower(s.String()) }
