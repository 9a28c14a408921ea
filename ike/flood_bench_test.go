package ike

import (
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike/wire"
)

// Flood tests: IKE_SA_INIT requests from many spoofed sources (198.18.0.0/15,
// RFC 2544's benchmarking range) while a legitimate client connects. A
// spoofer never sees our answers, so it cannot return a cookie: once the
// half-open SAs reach Config.CookieThreshold, its requests must cost us an
// HMAC and a small answer, not a key exchange and a session, and the
// legitimate client, which does return the cookie, must still get in.
//
// Making a key share per spoofed request would make the sender slower than
// the receiver, so the spoofer keeps a pool of requests with distinct key
// shares and nonces and gives each copy a fresh initiator SPI and source
// address: the responder keys its retransmission index, half-open counts
// and cookies on those.

// floodPool is the number of distinct requests a spoofer rewrites.
const floodPool = 256

// floodTemplates returns n IKE_SA_INIT requests with the default proposals,
// each with its own key share and nonce.
func floodTemplates(tb testing.TB, n int, r io.Reader) [][]byte {
	tb.Helper()
	from := netip.MustParseAddrPort("198.18.0.1:500")
	out := make([][]byte, n)
	for i := range out {
		x, err := newSAInitInitiator(r, DefaultIKEProposals(), from, respAddr, false)
		if err != nil {
			tb.Fatal(err)
		}
		if out[i], err = x.Request(); err != nil {
			tb.Fatal(err)
		}
	}
	return out
}

// spoofer makes IKE_SA_INIT requests from random sources in 198.18.0.0/15.
// It is not safe for concurrent use.
type spoofer struct {
	reqs [][]byte
	rng  *mrand.Rand
	n    int
}

func newSpoofer(reqs [][]byte, seed uint64) *spoofer {
	own := make([][]byte, len(reqs))
	for i, r := range reqs {
		own[i] = append([]byte(nil), r...)
	}
	return &spoofer{reqs: own, rng: mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// next returns a request with a fresh SPIi and its spoofed source. The
// request is the spoofer's until the next call.
func (s *spoofer) next() ([]byte, netip.AddrPort) {
	req := s.reqs[s.n%len(s.reqs)]
	s.n++
	binary.BigEndian.PutUint64(req, s.rng.Uint64()|1) // SPIi, never 0
	a := s.rng.Uint64()
	ip := netip.AddrFrom4([4]byte{198, 18 | byte(a>>32)&1, byte(a >> 8), byte(a)})
	return req, netip.AddrPortFrom(ip, uint16(1024+(a>>40)%64000))
}

// isCookieAnswer reports whether d is an IKE_SA_INIT response whose only
// payload is N(COOKIE), without parsing it: the responder's answers are
// ours, and this runs once per flood answer.
func isCookieAnswer(d []byte) bool {
	const notify = 28 // the IKE header, then the notify payload's
	return len(d) >= notify+8 && binary.BigEndian.Uint64(d[8:]) == 0 && wire.PayloadType(d[16]) == wire.PayloadNotify &&
		d[notify] == 0 && wire.NotifyType(binary.BigEndian.Uint16(d[notify+6:])) == wire.NotifyCookie
}

// TestFloodEngagesCookies: spoofed IKE_SA_INITs from many sources create
// half-open SAs only up to CookieThreshold and only HalfOpenPerSource per
// address; from there on every answer is N(COOKIE) alone and nothing is
// kept. A legitimate client in the middle of the flood returns the cookie
// and gets its IKE SA and CHILD_SA. Sources that do return cookies (a
// botnet with real addresses) fill the half-open SAs up to HalfOpenLimit and
// no further. When HalfOpenTimeout has passed, only the legitimate SA is
// left.
func TestFloodEngagesCookies(t *testing.T) {
	const limit, threshold, flood = 128, 32, 3000
	client, gw, pools := pskPeers(t)
	p := newPair(t, client, gw, pools)
	r := p.r.m
	r.cfg.HalfOpenLimit, r.cfg.CookieThreshold = limit, threshold
	perSource := r.cfg.HalfOpenPerSource
	if perSource <= 0 || perSource >= threshold {
		t.Fatalf("HalfOpenPerSource %d: the test wants it between 0 and %d", perSource, threshold)
	}

	type stats struct{ sessions, halfOpen, byInit, maxFrom int }
	now := func() stats {
		r.mu.Lock()
		defer r.mu.Unlock()
		s := stats{len(r.bySPI), r.halfOpen, len(r.byInit), 0}
		for _, n := range r.halfOpenFrom {
			s.maxFrom = max(s.maxFrom, n)
		}
		return s
	}
	var full, cookie, dropped int
	// send hands one request to the responder, checks what it did against
	// what it had before, and returns the answer if there is one.
	send := func(req []byte, from netip.AddrPort) []byte {
		t.Helper()
		before := now()
		r.mu.Lock()
		fromSrc := r.halfOpenFrom[from.Addr()]
		r.mu.Unlock()
		// IKE_SA_INIT { SA, KE, Ni, N(NATD_S), N(NATD_D), N(FRAG_SUP) } -->
		r.receive(append([]byte(nil), req...), esp.Endpoint{Local: respAddr, Remote: from})
		out := p.r.cap.take()
		after := now()
		if after.halfOpen > limit || after.maxFrom > perSource {
			t.Fatalf("%d half-open SAs (limit %d), %d from one source (limit %d)", after.halfOpen, limit, after.maxFrom, perSource)
		}
		switch {
		case before.halfOpen >= limit || fromSrc >= perSource:
			// Dropped without an answer.
			if len(out) != 0 || after != before {
				t.Fatalf("over a limit (%d half-open, %d from %v): %d answers, %+v -> %+v", before.halfOpen, fromSrc, from, len(out), before, after)
			}
			dropped++
			return nil
		case before.halfOpen >= threshold && !hasCookie(t, req):
			// <-- IKE_SA_INIT { N(COOKIE) }, and nothing kept.
			if len(out) != 1 || out[0].ep.Remote != from || !isCookieAnswer(out[0].data) {
				t.Fatalf("over the cookie threshold (%d half-open): %d answers, not N(COOKIE) alone to %v", before.halfOpen, len(out), from)
			}
			if fl, c := saInitAnswer(t, out[0].data); fl || !c {
				t.Fatal("the COOKIE answer does not parse as one")
			}
			if after != before {
				t.Fatalf("a COOKIE answer kept state: %+v -> %+v", before, after)
			}
			cookie++
		default:
			// <-- IKE_SA_INIT { SA, KE, Nr, N(NATD_S), N(NATD_D) }
			if len(out) != 1 || out[0].ep.Remote != from {
				t.Fatalf("under the cookie threshold (%d half-open) or with a cookie: %d answers", before.halfOpen, len(out))
			}
			if fl, _ := saInitAnswer(t, out[0].data); !fl {
				t.Fatal("under the cookie threshold or with a cookie: not a full response")
			}
			if after.sessions != before.sessions+1 || after.halfOpen != before.halfOpen+1 || after.byInit != before.byInit+1 {
				t.Fatalf("a full response without its session: %+v -> %+v", before, after)
			}
			full++
		}
		return out[0].data
	}
	sp := newSpoofer(floodTemplates(t, 16, newDetRand(60)), 1)
	spoof := func(n int) {
		t.Helper()
		for range n {
			req, from := sp.next()
			send(req, from)
		}
	}

	// One source: HalfOpenPerSource half-open SAs, then silence.
	one := netip.MustParseAddr("198.18.0.1")
	for i := range perSource + 4 {
		req, _ := sp.next()
		send(req, netip.AddrPortFrom(one, uint16(40000+i)))
	}
	if full != perSource || dropped != 4 {
		t.Fatalf("one source: %d full responses, %d dropped; want %d and 4", full, dropped, perSource)
	}

	// Many sources: full responses up to the threshold, then cookies.
	spoof(flood / 2)
	if s := now(); full != threshold || s.sessions != threshold || s.halfOpen != threshold {
		t.Fatalf("after the flood: %d full responses, %+v; want %d", full, s, threshold)
	}

	// The legitimate client connects in the middle of the flood: the flood
	// goes on between any two of its messages.
	legitCookies := 0
	p.filter = func(from *side, ds []inbound) []inbound {
		if from == p.i {
			spoof(50)
			return ds
		}
		for _, d := range ds {
			if d.ep.Remote != initAddr {
				t.Errorf("the responder sent to %v in the legitimate exchange", d.ep.Remote)
			}
			if isCookieAnswer(d.data) {
				legitCookies++
			}
		}
		return ds
	}
	if err := p.i.m.Initiate("home"); err != nil {
		t.Fatal(err)
	}
	p.run()
	p.filter = nil
	if ri := p.i.m.SAs(); len(ri) != 1 || ri[0].State != StateEstablished || len(ri[0].Children) != 1 {
		t.Fatalf("the legitimate client under the flood: %+v", ri)
	}
	if legitCookies != 1 {
		t.Errorf("the legitimate client got %d COOKIE answers, want 1", legitCookies)
	}
	if checkChildren(t, p.i.dp, p.r.dp) != 1 || checkChildren(t, p.r.dp, p.i.dp) != 1 {
		t.Error("no CHILD_SA")
	}
	spoof(flood / 2)
	s := now()
	if s.sessions != threshold+1 || s.halfOpen != threshold || full != threshold {
		t.Fatalf("after the second flood: %+v, %d full responses; want %d sessions (the flood's and the client's), %d half-open", s, full, threshold+1, threshold)
	}
	if cookie < flood-threshold {
		t.Fatalf("%d COOKIE answers to %d spoofed requests", cookie, sp.n)
	}

	// Sources that return the cookie (a botnet with real addresses):
	// half-open SAs up to the limit, then nothing, not even a cookie or
	// for a valid cookie.
	rnd := newDetRand(61)
	bot := func(i int) (*saInitInitiator, netip.AddrPort) {
		t.Helper()
		from := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 19, byte(i >> 8), byte(i)}), 500)
		x, err := newSAInitInitiator(rnd, DefaultIKEProposals(), from, respAddr, false)
		if err != nil {
			t.Fatal(err)
		}
		req, err := x.Request()
		if err != nil {
			t.Fatal(err)
		}
		// <-- IKE_SA_INIT { N(COOKIE) }
		if _, retry, err := x.ProcessResponse(mustParse(t, send(req, from))); !retry || err != nil {
			t.Fatalf("botnet source %d: retry %v, %v", i, retry, err)
		}
		return x, from
	}
	late, lateFrom := bot(0) // has its cookie, returns it at the limit
	for i := 1; now().halfOpen < limit; i++ {
		x, from := bot(i)
		// IKE_SA_INIT { N(COOKIE), SA, KE, Ni, ... } -->
		again, err := x.Request()
		if err != nil {
			t.Fatal(err)
		}
		send(again, from) // <-- IKE_SA_INIT { SA, KE, Nr, ... }
	}
	again, err := late.Request()
	if err != nil {
		t.Fatal(err)
	}
	if send(again, lateFrom) != nil {
		t.Fatal("a valid cookie answered at the limit")
	}
	spoof(100) // dropped, unanswered
	if s := now(); s.halfOpen != limit || s.sessions != limit+1 {
		t.Fatalf("at the limit: %+v; want %d half-open, %d sessions", s, limit, limit+1)
	}

	// HalfOpenTimeout later everything half-open is gone; the legitimate
	// SA stays.
	p.tick(r.env.halfOpenTime + time.Second)
	p.run()
	if s := now(); s.sessions != 1 || s.halfOpen != 0 || s.byInit != 0 || s.maxFrom != 0 {
		t.Fatalf("after HalfOpenTimeout: %+v; want the legitimate SA alone", s)
	}
	ri, rr := p.i.m.SAs(), r.SAs()
	if len(ri) != 1 || len(rr) != 1 || ri[0].State != StateEstablished || rr[0].State != StateEstablished || rr[0].Peer != "rw" {
		t.Fatalf("the legitimate SA: initiator %+v, responder %+v", ri, rr)
	}
	if _, in, out, _ := p.r.dp.counts(); in != 1 || out != 1 {
		t.Errorf("responder dataplane: %d inbound, %d outbound SAs; want the client's CHILD_SA alone", in, out)
	}
	t.Logf("%d spoofed requests and the botnet's: %d full responses, %d COOKIE answers, %d dropped at a limit", sp.n, full, cookie, dropped)
}

// hasCookie reports whether an IKE_SA_INIT request carries N(COOKIE).
func hasCookie(t *testing.T, req []byte) bool {
	t.Helper()
	_, ok := wire.FindNotify(mustParse(t, req).Payloads, wire.NotifyCookie)
	return ok
}

// floodSink is the flooded responder's Sender: it counts the answers to
// spoofed sources and passes those to the legitimate client on.
type floodSink struct {
	full, cookie, other atomic.Uint64
	// toLegit counts the datagrams passed to the legitimate client.
	toLegit atomic.Uint64
	legit   netip.Addr
	to      *Manager
}

func (s *floodSink) Send(bufs [][]byte, ep esp.Endpoint) error {
	for _, b := range bufs {
		if ep.Remote.Addr() == s.legit {
			s.toLegit.Add(1)
			forward(s.to, b, ep)
			continue
		}
		switch {
		case isCookieAnswer(b):
			s.cookie.Add(1)
		case len(b) >= 16 && binary.BigEndian.Uint64(b[8:]) != 0:
			s.full.Add(1)
		default:
			s.other.Add(1)
		}
	}
	return nil
}

// forward hands a datagram sent on ep to the Manager at its other end,
// through HandleDatagram and so through its queue.
func forward(to *Manager, b []byte, ep esp.Endpoint) {
	if ep.Local.Port() == esp.NATTPort || ep.Remote.Port() == esp.NATTPort {
		if len(b) < 4 || binary.BigEndian.Uint32(b) != 0 {
			return // a keepalive
		}
		b = b[4:]
	}
	to.HandleDatagram(b, esp.Endpoint{Local: ep.Remote, Remote: ep.Local})
}

// legitSender is the legitimate client's Sender: everything goes to the
// flooded responder's queue.
type legitSender struct {
	sent atomic.Uint64
	to   *Manager
}

func (s *legitSender) Send(bufs [][]byte, ep esp.Endpoint) error {
	for _, b := range bufs {
		s.sent.Add(1)
		forward(s.to, b, ep)
	}
	return nil
}

// floodWait bounds how long the legitimate client may take under a flood.
const floodWait = 30 * time.Second

// BenchmarkFlood: spoofed IKE_SA_INIT requests are offered to a started
// responder's HandleDatagram as fast as the sending goroutines can, while a
// legitimate client, started once the responder asks for cookies, connects
// through the same queue with its real timers (strongSwan's retransmission
// schedule). An op is one spoofed request offered; the flood goes on
// untimed after b.N of them until the client is up, for at most floodWait.
// Metrics: answered/s (spoofed requests answered), drop-frac (offered but
// dropped, by the full queue or a limit), cookie-frac (answers that were
// N(COOKIE)), the half-open SAs and the heap: before, at most, after (after
// a GC, with the half-open SAs alive) and the live heap per half-open SA,
// and the client's time to IKE and CHILD_SA up, the datagrams it sent
// (retransmissions included) and those it was answered. It fails if the
// client is not up within floodWait or the half-open SAs or the heap are not
// bounded by the limits.
func BenchmarkFlood(b *testing.B) {
	for _, tc := range floodCases {
		b.Run(tc.name, func(b *testing.B) { benchFlood(b, tc.senders, tc.pps) })
	}
}

// floodCases are the floods benchmarked: as fast as one or two goroutines
// can call HandleDatagram, which is faster than a socket delivers, and at
// paced rates: a 1 Gbit/s Ethernet link carries about 220 000 of these
// requests (500 octets of IKE) a second.
var floodCases = []struct {
	name         string
	senders, pps int
}{
	{"max", 1, 0},
	{"max-2senders", 2, 0},
	{"pps=50k", 1, 50_000},
	{"pps=200k", 1, 200_000},
}

// benchFlood floods with senders goroutines, together offering pps
// requests a second, or as many as they can if pps is 0.
func benchFlood(b *testing.B, senders, pps int) {
	client, gw, pools := mgrPeers(b, testPSK)
	client.Children, gw.Children = client.Children[:1], gw.Children[:1]
	sink := &floodSink{legit: initAddr.Addr()}
	r, err := NewManager(Config{Peers: []*PeerConfig{gw}, Pools: pools, Dataplane: newRecDP(2), Sender: sink})
	if err != nil {
		b.Fatal(err)
	}
	ls := &legitSender{to: r}
	var upAt atomic.Int64 // UnixNano when IKE and CHILD_SA were up
	var ikeUp, down atomic.Bool
	i, err := NewManager(Config{Peers: []*PeerConfig{client}, Dataplane: newRecDP(1), Sender: ls,
		OnEvent: func(e Event) {
			switch e.Kind {
			case EventIKEUp:
				ikeUp.Store(true)
			case EventChildUp:
				if ikeUp.Load() {
					upAt.CompareAndSwap(0, time.Now().UnixNano())
				}
			case EventIKEDown:
				down.Store(true)
			}
		}})
	if err != nil {
		b.Fatal(err)
	}
	sink.to = i
	limit, threshold := r.cfg.HalfOpenLimit, r.cfg.CookieThreshold
	templates := floodTemplates(b, floodPool, crand.Reader)
	r.Start()
	i.Start()
	defer i.Close()
	defer r.Close()

	halfOpen := func() (sessions, half int) {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.bySPI), r.halfOpen
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heapBefore, liveBefore := ms.HeapInuse, ms.HeapAlloc

	// The sampler follows the heap and the half-open SAs.
	var heapMax atomic.Uint64
	var halfMax atomic.Int64
	samplerStop := make(chan struct{})
	var sampler sync.WaitGroup
	stopSampler := sync.OnceFunc(func() { close(samplerStop); sampler.Wait() })
	defer stopSampler()
	sampler.Go(func() {
		var ms runtime.MemStats
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > heapMax.Load() {
				heapMax.Store(ms.HeapInuse)
			}
			if _, h := halfOpen(); int64(h) > halfMax.Load() {
				halfMax.Store(int64(h))
			}
			select {
			case <-samplerStop:
				return
			case <-tk.C:
			}
		}
	})

	// The flood starts untimed: until the half-open SAs reach the cookie
	// threshold each request costs a key exchange, and cheap drops of
	// what the full queue cannot take; the rest of the flood is answered
	// with cookies, and that is what is timed. The client starts then.
	var offered atomic.Int64
	var target atomic.Int64
	target.Store(math.MaxInt64)
	quota := make(chan struct{})
	var quotaOnce sync.Once
	floodStop := make(chan struct{})
	var flooders sync.WaitGroup
	stopFlood := sync.OnceFunc(func() { close(floodStop); flooders.Wait() })
	defer stopFlood() // before the Managers close
	t0 := time.Now()
	for g := range senders {
		sp := newSpoofer(templates, uint64(g+1))
		flooders.Go(func() {
			const batch = 64
			var every time.Duration
			if pps > 0 {
				every = time.Duration(float64(batch*senders) * float64(time.Second) / float64(pps))
			}
			next := time.Now()
			for {
				for range batch {
					req, from := sp.next()
					r.HandleDatagram(req, esp.Endpoint{Local: respAddr, Remote: from})
				}
				if every > 0 {
					next = next.Add(every)
					if d := time.Until(next); d > 0 {
						time.Sleep(d)
					}
				}
				if offered.Add(batch) >= target.Load() {
					quotaOnce.Do(func() { close(quota) })
				}
				select {
				case <-floodStop:
					return
				default:
				}
			}
		})
	}
	for sink.cookie.Load() == 0 {
		if time.Since(t0) > floodWait {
			b.Fatalf("no COOKIE answer after %v of flood", floodWait)
		}
		time.Sleep(time.Millisecond)
	}
	engaged := time.Since(t0)
	started := time.Now()
	if err := i.Initiate("home"); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	t1 := time.Now()
	n0, full0, cookie0, q0 := offered.Load(), sink.full.Load(), sink.cookie.Load(), len(r.queue)
	target.Store(n0 + int64(b.N))
	<-quota
	b.StopTimer()
	elapsed := time.Since(t1)
	n, full, cookie, q1 := offered.Load()-n0, sink.full.Load()-full0, sink.cookie.Load()-cookie0, len(r.queue)
	// The window's own requests that were answered: what was queued
	// before it was answered in it, what is queued at its end will be.
	dropFrac := max(0, 1-float64(int64(full+cookie)-int64(q0)+int64(q1))/float64(n))

	// The flood goes on until the client is up or has failed.
	deadline := started.Add(floodWait)
	for upAt.Load() == 0 && !down.Load() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	stopFlood()
	stopSampler()

	// What is still queued is garbage once handled.
	for len(r.queue) > 0 {
		time.Sleep(time.Millisecond)
	}
	sessions, half := halfOpen()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heapAfter, liveAfter := ms.HeapInuse, ms.HeapAlloc
	answered := full + cookie
	b.ReportMetric(float64(answered)/elapsed.Seconds(), "answered/s")
	b.ReportMetric(dropFrac, "drop-frac")
	if answered > 0 {
		b.ReportMetric(float64(cookie)/float64(answered), "cookie-frac")
	}
	b.ReportMetric(float64(half), "half-open")
	b.ReportMetric(float64(heapBefore)/(1<<20), "heap-before-MB")
	b.ReportMetric(float64(heapMax.Load())/(1<<20), "heap-max-MB")
	b.ReportMetric(float64(heapAfter)/(1<<20), "heap-after-MB")
	if half > 0 {
		b.ReportMetric((float64(liveAfter)-float64(liveBefore))/float64(half), "B/half-open")
	}
	b.ReportMetric(float64(ls.sent.Load()), "legit-tx")
	b.ReportMetric(float64(sink.toLegit.Load()), "legit-rx")
	b.ReportMetric(float64(engaged.Microseconds())/1e3, "engage-ms")
	up := upAt.Load()
	if up != 0 {
		b.ReportMetric(float64(up-started.UnixNano())/1e6, "legit-ms")
	}

	if up == 0 {
		what := fmt.Sprintf("not up after %v of flood", floodWait)
		if down.Load() {
			what = "failed under the flood"
		}
		b.Fatalf("the legitimate client %s: it sent %d datagrams and was answered %d; %d spoofed requests offered in %v, %.0f answered/s, %.3f dropped, %d half-open",
			what, ls.sent.Load(), sink.toLegit.Load(), n, elapsed.Round(time.Millisecond), float64(answered)/elapsed.Seconds(), dropFrac, half)
	}
	// The bounds: the half-open SAs by the limit (the client's SA is up,
	// no more half-open), the heap by what that many SAs may take.
	const perSA = 32 << 10
	if sessions > limit+1 || half > limit || halfMax.Load() > int64(limit) {
		b.Fatalf("%d sessions, %d half-open (at most %d); limit %d", sessions, half, halfMax.Load(), limit)
	}
	if half < threshold && time.Since(t0) < r.cfg.HalfOpenTimeout {
		b.Errorf("%d half-open SAs after %d answers: cookies engaged below the threshold %d", half, answered, threshold)
	}
	if grew := int64(liveAfter) - int64(liveBefore); grew > int64(limit)*perSA {
		b.Fatalf("the heap grew by %d MB with %d half-open SAs: more than %d KB per SA the limit allows", grew>>20, half, perSA>>10)
	}
	if grew := int64(heapMax.Load()) - int64(heapBefore); grew > 2*int64(limit)*perSA+64<<20 {
		b.Fatalf("the heap peaked %d MB above its start", grew>>20)
	}
}
