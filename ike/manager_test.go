package ike

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike/wire"
	"github.com/ikego/ikego/pki"
)

// Tests of the Manager's front door: what it does with IKE datagrams
// before and without an authenticated IKE SA. Junk must be dropped without
// state or answer, half-open SAs are bounded and time out, COOKIE answers
// keep no state, and nothing a peer sends before IKE_AUTH verifies
// touches the dataplane.

// mgrEpoch starts the clocks of these tests, so that fuzz runs repeat.
var mgrEpoch = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// testMgr is a responder Manager with a recorded dataplane, captured output
// and a manual clock.
type testMgr struct {
	m     *Manager
	dp    *recDP
	cap   *capture
	clock *testClock
	// up counts EventIKEUp and EventChildUp.
	up int
}

func newTestMgr(tb testing.TB, peer *PeerConfig, pools Pools, seed byte, tweak func(*Config)) *testMgr {
	tb.Helper()
	x := &testMgr{dp: newRecDP(uint32(seed)), cap: &capture{}, clock: &testClock{t: mgrEpoch}}
	log := slog.New(slog.DiscardHandler)
	if t, ok := tb.(*testing.T); ok {
		log = testLogger(t)
	}
	cfg := Config{Peers: []*PeerConfig{peer}, Pools: pools, Dataplane: x.dp, Sender: x.cap, Rand: newDetRand(seed),
		Now: x.clock.Now, Logger: log, HalfOpenTimeout: 10 * time.Second,
		OnEvent: func(e Event) {
			if e.Kind == EventIKEUp || e.Kind == EventChildUp {
				x.up++
			}
		}}
	if tweak != nil {
		tweak(&cfg)
	}
	m, err := NewManager(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	m.manualTimers = true
	x.m = m
	return x
}

// stats returns the number of sessions, the half-open counter and the
// number of IKE_SA_INIT retransmission entries.
func (x *testMgr) stats() (sessions, halfOpen, byInit int) {
	x.m.mu.Lock()
	defer x.m.mu.Unlock()
	return len(x.m.bySPI), x.m.halfOpen, len(x.m.byInit)
}

// expire advances the clock past HalfOpenTimeout and runs the timers.
func (x *testMgr) expire() {
	x.clock.advance(x.m.cfg.HalfOpenTimeout + time.Second)
	x.m.tick()
}

// checkEmpty fails unless the Manager has no session and the dataplane
// holds nothing.
func (x *testMgr) checkEmpty(tb testing.TB) {
	tb.Helper()
	if n, h, i := x.stats(); n+h+i != 0 {
		tb.Fatalf("%d sessions, %d half-open, %d IKE_SA_INIT entries left", n, h, i)
	}
	if a, b, c, d := x.dp.counts(); a+b+c+d != 0 {
		tb.Fatalf("dataplane not empty: %d policies, %d in, %d out, %d SPIs", a, b, c, d)
	}
}

// recvFrom hands data to the Manager as received on the responder's port
// 500 from remote.
func (x *testMgr) recvFrom(data []byte, remote netip.AddrPort) []inbound {
	x.m.receive(data, esp.Endpoint{Local: respAddr, Remote: remote})
	return x.cap.take()
}

// mgrPeers returns a roadwarrior client with two CHILD_SAs and a gateway
// whose PSK is psk (pskPeers for any testing.TB).
func mgrPeers(tb testing.TB, psk []byte) (client, gw *PeerConfig, pools Pools) {
	tb.Helper()
	pool, err := NewPool("rw4", netip.MustParsePrefix("198.18.200.0/28"))
	if err != nil {
		tb.Fatal(err)
	}
	id := func(s string) pki.Identity {
		i, err := pki.ParseIdentity(s)
		if err != nil {
			tb.Fatal(err)
		}
		return i
	}
	all := esp.SelectorFromPrefix(netip.MustParsePrefix("0.0.0.0/0"))
	client = &PeerConfig{Name: "home", RemoteHost: respAddr, LocalAddr: initAddr.Addr(), RequestVIP: true,
		Local:  AuthConfig{Method: AuthPSK, ID: id("client1@example.com"), PSK: testPSK},
		Remote: AuthConfig{Method: AuthPSK, ID: id("vpn.example.com"), PSK: testPSK},
		Children: []*ChildConfig{{Name: "net", RemoteTS: []esp.Selector{all}},
			{Name: "second", RemoteTS: testSubnets[1:]}}}
	gw = &PeerConfig{Name: "rw", Pools: []string{"rw4"},
		Local:    AuthConfig{Method: AuthPSK, ID: id("vpn.example.com"), PSK: psk},
		Remote:   AuthConfig{Method: AuthPSK, ID: id("*@example.com"), PSK: psk},
		Children: []*ChildConfig{{Name: "rw", LocalTS: testSubnets}, {Name: "second", LocalTS: testSubnets[1:]}}}
	return client, gw, Pools{pool}
}

// saInitRequest returns a fresh IKE_SA_INIT initiator task at from with the
// default proposals, and its request; seed picks its SPI, nonce and key
// share.
func saInitRequest(tb testing.TB, seed byte, from netip.AddrPort, proposals []Proposal) (*saInitInitiator, []byte) {
	tb.Helper()
	if proposals == nil {
		proposals = DefaultIKEProposals()
	}
	x, err := newSAInitInitiator(newDetRand(seed), proposals, from, respAddr, false)
	if err != nil {
		tb.Fatal(err)
	}
	req, err := x.Request()
	if err != nil {
		tb.Fatal(err)
	}
	return x, req
}

// saInitAnswer classifies a datagram sent in answer to IKE_SA_INIT: a full
// response (SA payload, SPIr set), a COOKIE request, or something else.
func saInitAnswer(tb testing.TB, d []byte) (full, cookie bool) {
	tb.Helper()
	m, err := wire.Parse(d)
	if err != nil {
		tb.Fatalf("our answer does not parse: %v", err)
	}
	if m.Header.Exchange != wire.ExchangeIKESAInit || !m.Header.IsResponse() || m.Header.IsInitiator() {
		tb.Fatalf("not an IKE_SA_INIT response: %v", m)
	}
	_, sa := wire.Find[*wire.SA](m.Payloads)
	n, c := wire.FindNotify(m.Payloads, wire.NotifyCookie)
	if c && (len(m.Payloads) != 1 || m.Header.ResponderSPI != 0 || len(n.Data) != CookieLen) {
		tb.Fatalf("COOKIE answer with more: %v", m)
	}
	return sa && m.Header.ResponderSPI != 0, c
}

// mgrRecord is a datagram of a captured exchange.
type mgrRecord struct {
	data        []byte
	toResponder bool
	natt        bool // on the responder's port 4500
}

// captureTranscript runs IKE_SA_INIT, IKE_AUTH, a CREATE_CHILD_SA, a
// CHILD_SA delete and an IKE SA delete between two Managers (the responder
// seeded with 2, as the fuzz target's) and returns every datagram, and the
// plaintext of each encrypted request as a fuzzSeal body.
func captureTranscript(tb testing.TB, forceEncap bool) (recs []mgrRecord, sealed [][]byte) {
	tb.Helper()
	client, gw, pools := mgrPeers(tb, testPSK)
	client.ForceEncap = forceEncap
	i := newTestMgr(tb, client, nil, 1, nil)
	r := newTestMgr(tb, gw, pools, 2, nil)
	shuttle := func() {
		for range 50 {
			moved := false
			for _, dir := range []struct {
				from, to *testMgr
				toR      bool
			}{{i, r, true}, {r, i, false}} {
				for _, d := range dir.from.cap.take() {
					data := d.data
					if d.ep.Local.Port() == esp.NATTPort {
						if len(data) < 4 || !bytes.Equal(data[:4], []byte{0, 0, 0, 0}) {
							continue // a keepalive
						}
						data = data[4:]
					}
					rport := d.ep.Remote.Port()
					if !dir.toR {
						rport = d.ep.Local.Port()
					}
					recs = append(recs, mgrRecord{data: data, toResponder: dir.toR, natt: rport == esp.NATTPort})
					moved = true
					dir.to.m.receive(data, esp.Endpoint{Local: d.ep.Remote, Remote: d.ep.Local})
				}
			}
			if !moved {
				return
			}
		}
		tb.Fatal("the exchange does not settle")
	}
	if err := i.m.Initiate("home"); err != nil {
		tb.Fatal(err)
	}
	shuttle()
	sas := r.m.SAs()
	if len(sas) != 1 || sas[0].State != StateEstablished || len(sas[0].Children) != 2 {
		tb.Fatalf("capture: responder has %+v", sas)
	}
	rb := r.m.boxes()[0]
	rb.mu.Lock()
	recv := rb.s.recv
	rb.mu.Unlock()
	ib := i.m.boxes()[0]
	i.m.with(ib, func(s *session) { s.queue(&deleteChildTask{inSPI: s.children[1].inSPI}) })
	shuttle()
	if i.m.Terminate("home") != 1 {
		tb.Fatal("capture: nothing to terminate")
	}
	shuttle()
	for _, rec := range recs {
		m, err := wire.Parse(rec.data)
		if err != nil {
			tb.Fatal(err)
		}
		if !rec.toResponder || m.Header.IsResponse() || m.Header.Exchange == wire.ExchangeIKESAInit {
			continue
		}
		ps, err := wire.DecryptMessage(m, recv)
		if err != nil {
			tb.Fatalf("capture: %v: %v", m.Header.Exchange, err)
		}
		b, err := (&wire.Message{Header: wire.Header{MajorVersion: 2}, Payloads: ps}).Marshal()
		if err != nil {
			tb.Fatal(err)
		}
		body := []byte{byte(m.Header.Exchange), byte(m.Header.MessageID), b[16]}
		sealed = append(sealed, append(body, b[wire.HeaderLen:]...))
	}
	return recs, sealed
}

// Flags of a FuzzManager record.
const (
	fuzzNATT  = 1 << iota // received on the responder's port 4500
	fuzzOther             // from another peer, the high two bits pick which
	fuzzSeal              // the body is {exchange, message ID, next payload, inner payloads...}, sealed with the initiator's keys of the newest half-open SA
	fuzzFrag              // sealed in fragments, delivered last first
	fuzzResp              // sealed with the Response flag
	fuzzTick              // first advance the clock 3 s and run the timers

	// fuzzRaw, on a record not sealed, keeps the Length of the IKE header
	// as it is; otherwise it is set to the body's, so that mutations get
	// past the header.
	fuzzRaw = fuzzFrag
)

type fuzzRecord struct {
	flags byte
	body  []byte
}

// fuzzInput encodes records as FuzzManager reads them: flags, a 16-bit
// length, the body.
func fuzzInput(rs ...fuzzRecord) []byte {
	var b []byte
	for _, r := range rs {
		b = append(b, r.flags)
		b = binary.BigEndian.AppendUint16(b, uint16(len(r.body)))
		b = append(b, r.body...)
	}
	return b
}

// mgrFuzzLimit is the fuzzed Manager's HalfOpenLimit.
const mgrFuzzLimit = 4

// FuzzManager feeds a responder Manager datagrams: junk, replays of a real
// exchange and messages sealed with the keys of its half-open SAs. Nothing
// may panic, the half-open SAs stay within the limit, none is established
// (the fuzzer does not know the PSK), everything sent is a response, and
// once the half-open SAs time out nothing is left, in the Manager or the
// dataplane.
func FuzzManager(f *testing.F) {
	var seeds [][]byte
	for _, encap := range []bool{false, true} {
		recs, sealed := captureTranscript(f, encap)
		var all, toR []fuzzRecord
		for _, r := range recs {
			var fl byte
			if r.natt {
				fl = fuzzNATT
			}
			all = append(all, fuzzRecord{fl, r.data})
			if r.toResponder {
				toR = append(toR, fuzzRecord{fl, r.data})
			}
			seeds = append(seeds, fuzzInput(fuzzRecord{fl, r.data}))
		}
		seeds = append(seeds, fuzzInput(all...), fuzzInput(toR...))
		init := fuzzRecord{0, recs[0].data}
		seal := []fuzzRecord{init}
		for _, b := range sealed {
			seal = append(seal, fuzzRecord{fuzzSeal, b})
		}
		seeds = append(seeds, fuzzInput(seal...),
			fuzzInput(init, fuzzRecord{fuzzSeal | fuzzFrag, sealed[0]}),
			fuzzInput(init, fuzzRecord{fuzzSeal | fuzzNATT, sealed[0]}),
			fuzzInput(init, fuzzRecord{fuzzSeal, []byte{byte(wire.ExchangeInformational), 1, 0}}),
			fuzzInput(init, fuzzRecord{fuzzSeal | fuzzResp, []byte{byte(wire.ExchangeIKEAuth), 0, 0}}),
			fuzzInput(init, fuzzRecord{fuzzTick, nil}, fuzzRecord{fuzzTick, nil}, fuzzRecord{fuzzTick, nil},
				fuzzRecord{fuzzTick | fuzzSeal, sealed[0]}),
			// More peers than the limit.
			fuzzInput(init, fuzzRecord{fuzzOther, init.body}, fuzzRecord{fuzzOther | 1<<6, init.body},
				fuzzRecord{fuzzOther | 2<<6, init.body}, fuzzRecord{fuzzOther | 3<<6, init.body},
				fuzzRecord{fuzzOther | fuzzNATT, init.body}),
			fuzzInput(fuzzRecord{fuzzRaw, recs[0].data[:wire.HeaderLen]}, fuzzRecord{fuzzRaw, recs[0].data[:len(recs[0].data)-1]},
				fuzzRecord{0, recs[0].data[:len(recs[0].data)-1]}))
	}
	v1 := make([]byte, wire.HeaderLen)
	v1[17], v1[18], v1[27] = 0x10, 2, wire.HeaderLen // IKEv1 Main Mode
	seeds = append(seeds, nil, fuzzInput(fuzzRecord{0, v1}), fuzzInput(fuzzRecord{fuzzNATT, make([]byte, 40)}))
	for _, s := range seeds {
		f.Add(false, s)
	}
	for _, s := range seeds[:4] {
		f.Add(true, s)
	}

	_, gw, pools := mgrPeers(f, []byte("a PSK the fuzzer cannot know, unlike testPSK"))
	f.Fuzz(func(t *testing.T, cookies bool, data []byte) {
		x := newTestMgr(t, gw, pools, 2, func(c *Config) {
			c.Logger = slog.New(slog.DiscardHandler)
			c.HalfOpenLimit, c.CookieThreshold = mgrFuzzLimit, 1000
			if cookies {
				c.CookieThreshold = 2
			}
		})
		seal := newDetRand(9)
		for n := 0; len(data) >= 3 && n < 32; n++ {
			flags, size := data[0], int(binary.BigEndian.Uint16(data[1:3]))
			data = data[3:]
			size = min(size, len(data))
			body := append([]byte(nil), data[:size]...)
			data = data[size:]

			if flags&fuzzTick != 0 {
				x.clock.advance(3 * time.Second)
				x.m.tick()
			}
			ep := esp.Endpoint{Local: respAddr, Remote: initAddr}
			if flags&fuzzNATT != 0 {
				ep.Local = netip.AddrPortFrom(respAddr.Addr(), esp.NATTPort)
				ep.Remote = netip.AddrPortFrom(initAddr.Addr(), esp.NATTPort)
			}
			if flags&fuzzOther != 0 {
				ep.Remote = netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, 20 + flags>>6}), ep.Remote.Port()+uint16(flags>>6))
			}
			dgs := [][]byte{body}
			if flags&fuzzSeal != 0 {
				dgs = fuzzSealed(x.m, flags, body, seal)
			} else if flags&fuzzRaw == 0 && len(body) >= wire.HeaderLen {
				binary.BigEndian.PutUint32(body[24:], uint32(len(body)))
			}
			for _, d := range dgs {
				x.m.receive(d, ep)
			}
			checkFuzzedManager(t, x)
		}
		x.expire()
		checkFuzzedManager(t, x)
		x.checkEmpty(t)
		if pools[0].Online() != 0 {
			t.Fatalf("%d leases", pools[0].Online())
		}
	})
}

// fuzzSealed seals body as the initiator of the newest half-open SA would.
func fuzzSealed(m *Manager, flags byte, body []byte, rand *detRand) [][]byte {
	if len(body) < 3 {
		return nil
	}
	var newest *session
	for _, b := range m.boxes() {
		b.mu.Lock()
		if s := b.s; s.state == StateConnecting && s.keys != nil && (newest == nil || s.id > newest.id) {
			newest = s
		}
		b.mu.Unlock()
	}
	if newest == nil {
		return nil
	}
	// Only this goroutine runs the Manager: the fields stay as read.
	send, _, err := newest.keys.SKCiphers(newest.prop, true)
	if err != nil {
		return nil
	}
	ps, err := wire.ParseInner(wire.PayloadType(body[2]), body[3:])
	if err != nil {
		return nil
	}
	h := wire.Header{InitiatorSPI: newest.spii, ResponderSPI: newest.spir, Exchange: wire.ExchangeType(body[0]),
		MessageID: uint32(body[1]), Flags: wire.FlagInitiator, MajorVersion: 2}
	if flags&fuzzResp != 0 {
		h.Flags |= wire.FlagResponse
	}
	if flags&fuzzFrag != 0 {
		frags, err := wire.Fragment(h, ps, send, rand, 160)
		if err != nil {
			return nil
		}
		for i, j := 0, len(frags)-1; i < j; i, j = i+1, j-1 {
			frags[i], frags[j] = frags[j], frags[i]
		}
		return frags
	}
	b, err := wire.EncryptMessage(h, ps, send, rand)
	if err != nil {
		return nil
	}
	return [][]byte{b}
}

// checkFuzzedManager checks the invariants of FuzzManager after a
// datagram.
func checkFuzzedManager(t *testing.T, x *testMgr) {
	t.Helper()
	n, h, i := x.stats()
	if n > mgrFuzzLimit || h > mgrFuzzLimit || h < 0 || i > n || h > n {
		t.Fatalf("%d sessions, %d half-open, %d IKE_SA_INIT entries; the limit is %d", n, h, i, mgrFuzzLimit)
	}
	for _, b := range x.m.boxes() {
		b.mu.Lock()
		st := b.s.state
		b.mu.Unlock()
		if st != StateConnecting {
			t.Fatalf("a session is %v", st)
		}
	}
	if x.up != 0 {
		t.Fatal("an IKE or CHILD SA came up")
	}
	if a, b, c, _ := x.dp.counts(); a+b+c != 0 {
		t.Fatalf("dataplane: %d policies, %d in, %d out", a, b, c)
	}
	for _, d := range x.cap.take() {
		data := d.data
		if d.ep.Local.Port() == esp.NATTPort {
			if len(data) < 4 || !bytes.Equal(data[:4], []byte{0, 0, 0, 0}) {
				t.Fatalf("sent on port 4500 without the non-ESP marker: %x", data)
			}
			data = data[4:]
		}
		m, err := wire.Parse(data)
		if err != nil {
			t.Fatalf("we sent what does not parse: %v", err)
		}
		if !m.Header.IsResponse() || m.Header.IsInitiator() {
			t.Fatalf("a responder without an IKE SA sent %v", m)
		}
	}
}

// TestManagerHalfOpenLimit: IKE_SA_INIT requests beyond HalfOpenLimit are
// dropped; the half-open SAs time out and make room again.
func TestManagerHalfOpenLimit(t *testing.T) {
	const limit, extra = 4, 3
	_, gw, pools := pskPeers(t)
	x := newTestMgr(t, gw, pools, 2, func(c *Config) { c.HalfOpenLimit, c.CookieThreshold = limit, 1000 })
	for i := range limit + extra {
		// IKE_SA_INIT { SA, KE, Ni, N(NATD_S), N(NATD_D), N(FRAG_SUP) } -->
		from := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(10 + i%3)}), uint16(20000+i))
		_, req := saInitRequest(t, byte(10+i), from, nil)
		out := x.recvFrom(req, from)
		// <-- IKE_SA_INIT { SA, KE, Nr, N(NATD_S), N(NATD_D) }, or nothing
		if i < limit {
			if len(out) != 1 {
				t.Fatalf("request %d: %d answers", i, len(out))
			}
			if full, _ := saInitAnswer(t, out[0].data); !full || out[0].ep.Remote != from {
				t.Fatalf("request %d: not a full response to %v", i, from)
			}
		} else if len(out) != 0 {
			t.Fatalf("request %d beyond the limit answered", i)
		}
	}
	if n, h, i := x.stats(); n != limit || h != limit || i != limit {
		t.Fatalf("%d sessions, %d half-open, %d IKE_SA_INIT entries; want %d", n, h, i, limit)
	}
	x.clock.advance(x.m.cfg.HalfOpenTimeout - time.Second)
	x.m.tick()
	if n, _, _ := x.stats(); n != limit {
		t.Fatalf("%d sessions before the timeout", n)
	}
	x.expire()
	x.checkEmpty(t)
	if len(x.cap.take()) != 0 {
		t.Error("timed-out half-open SAs sent something")
	}

	// Room again.
	_, req := saInitRequest(t, 99, initAddr, nil)
	if out := x.recvFrom(req, initAddr); len(out) != 1 {
		t.Fatalf("after the timeout: %d answers", len(out))
	}
	if n, h, _ := x.stats(); n != 1 || h != 1 {
		t.Fatalf("%d sessions, %d half-open", n, h)
	}
}

// TestManagerCookieThreshold: from CookieThreshold half-open SAs on, an
// IKE_SA_INIT without a valid cookie gets only N(COOKIE) and leaves no
// state; with the cookie it is answered.
func TestManagerCookieThreshold(t *testing.T) {
	_, gw, pools := pskPeers(t)
	x := newTestMgr(t, gw, pools, 2, func(c *Config) { c.HalfOpenLimit, c.CookieThreshold = 8, 2 })
	for i := range 2 {
		from := netip.AddrPortFrom(initAddr.Addr(), uint16(30000+i))
		_, req := saInitRequest(t, byte(20+i), from, nil)
		if out := x.recvFrom(req, from); len(out) != 1 {
			t.Fatalf("below the threshold: %d answers", len(out))
		} else if full, _ := saInitAnswer(t, out[0].data); !full {
			t.Fatal("below the threshold: no full response")
		}
	}

	// IKE_SA_INIT { SA, KE, Ni, ... } -->
	task, req := saInitRequest(t, 30, initAddr, nil)
	out := x.recvFrom(req, initAddr)
	// <-- IKE_SA_INIT { N(COOKIE) }
	if len(out) != 1 {
		t.Fatalf("%d answers", len(out))
	}
	if full, cookie := saInitAnswer(t, out[0].data); full || !cookie {
		t.Fatal("not a COOKIE answer")
	}
	if n, h, i := x.stats(); n != 2 || h != 2 || i != 2 {
		t.Fatalf("the COOKIE answer kept state: %d sessions, %d half-open, %d entries", n, h, i)
	}
	if _, retry, err := task.ProcessResponse(mustParse(t, out[0].data)); !retry || err != nil {
		t.Fatalf("initiator: retry %v, %v", retry, err)
	}
	// IKE_SA_INIT { N(COOKIE), SA, KE, Ni, ... } -->
	withCookie, err := task.Request()
	if err != nil {
		t.Fatal(err)
	}

	// The cookie is bound to the address, and must be the one we made.
	elsewhere := netip.MustParseAddrPort("198.51.100.77:500")
	if out := x.recvFrom(withCookie, elsewhere); len(out) != 1 {
		t.Fatalf("cookie from elsewhere: %d answers", len(out))
	} else if _, cookie := saInitAnswer(t, out[0].data); !cookie {
		t.Fatal("a cookie from another address was accepted")
	}
	good := task.cookie
	task.cookie = append([]byte(nil), good...)
	task.cookie[len(good)-1] ^= 1
	forged, err := task.Request()
	if err != nil {
		t.Fatal(err)
	}
	task.cookie = good
	if out := x.recvFrom(forged, initAddr); len(out) != 1 {
		t.Fatalf("forged cookie: %d answers", len(out))
	} else if _, cookie := saInitAnswer(t, out[0].data); !cookie {
		t.Fatal("a forged cookie was accepted")
	}
	if n, h, _ := x.stats(); n != 2 || h != 2 {
		t.Fatalf("refused cookies kept state: %d sessions, %d half-open", n, h)
	}

	// <-- IKE_SA_INIT { SA, KE, Nr, ... }
	out = x.recvFrom(withCookie, initAddr)
	if len(out) != 1 {
		t.Fatalf("valid cookie: %d answers", len(out))
	}
	if full, _ := saInitAnswer(t, out[0].data); !full {
		t.Fatal("valid cookie: no full response")
	}
	if res, retry, err := task.ProcessResponse(mustParse(t, out[0].data)); res == nil || retry || err != nil {
		t.Fatalf("initiator: %v, retry %v, %v", res, retry, err)
	}
	if n, h, _ := x.stats(); n != 3 || h != 3 {
		t.Fatalf("%d sessions, %d half-open; want 3", n, h)
	}
	x.expire()
	x.checkEmpty(t)
}

// TestManagerCookieInitiator: a Manager initiator answers N(COOKIE) by
// retrying, and completes the handshake with a responder over its cookie
// threshold.
func TestManagerCookieInitiator(t *testing.T) {
	for _, threshold := range []int{1, -1} {
		t.Run(map[int]string{1: "threshold", -1: "always"}[threshold], func(t *testing.T) {
			client, gw, pools := pskPeers(t)
			p := newPair(t, client, gw, pools)
			p.r.m.cfg.CookieThreshold = threshold
			// A half-open SA from elsewhere puts the responder over the
			// threshold.
			other := netip.MustParseAddrPort("198.51.100.66:500")
			_, req := saInitRequest(t, 40, other, nil)
			p.r.m.receive(req, esp.Endpoint{Local: respAddr, Remote: other})
			if len(p.r.cap.take()) != 1 {
				t.Fatal("the other IKE_SA_INIT was not answered")
			}
			cookies := 0
			p.filter = func(from *side, ds []inbound) []inbound {
				for _, d := range ds {
					if m, err := wire.Parse(d.data); from == p.r && err == nil {
						if _, ok := wire.FindNotify(m.Payloads, wire.NotifyCookie); ok {
							cookies++
						}
					}
				}
				return ds
			}
			if err := p.i.m.Initiate("home"); err != nil {
				t.Fatal(err)
			}
			p.run()
			if cookies != 1 {
				t.Errorf("%d COOKIE answers, want 1", cookies)
			}
			ri := p.i.m.SAs()
			if len(ri) != 1 || ri[0].State != StateEstablished {
				t.Fatalf("initiator: %+v", ri)
			}
			var states []State
			for _, sa := range p.r.m.SAs() {
				states = append(states, sa.State)
			}
			want := []State{StateConnecting, StateEstablished}
			if threshold < 0 {
				want = want[1:] // the other got a COOKIE answer
			}
			if fmt.Sprint(states) != fmt.Sprint(want) {
				t.Fatalf("responder states %v, want %v", states, want)
			}
			if checkChildren(t, p.i.dp, p.r.dp) != 1 {
				t.Error("no CHILD_SA")
			}
		})
	}
}

// TestManagerSAInitRetransmit: a retransmitted IKE_SA_INIT gets the same
// response, even at the half-open limit, and makes no second SA; another
// request with the same SPIi from the same address is dropped.
func TestManagerSAInitRetransmit(t *testing.T) {
	_, gw, pools := pskPeers(t)
	x := newTestMgr(t, gw, pools, 2, func(c *Config) { c.HalfOpenLimit, c.CookieThreshold = 1, 1000 })
	task, req := saInitRequest(t, 50, initAddr, nil)
	first := x.recvFrom(req, initAddr)
	again := x.recvFrom(req, initAddr)
	if len(first) != 1 || len(again) != 1 || !bytes.Equal(first[0].data, again[0].data) {
		t.Fatalf("answers %d and %d, or they differ", len(first), len(again))
	}
	if n, h, i := x.stats(); n != 1 || h != 1 || i != 1 {
		t.Fatalf("%d sessions, %d half-open, %d entries", n, h, i)
	}

	other, req2 := saInitRequest(t, 50, initAddr, MustParseProposals("aes256gcm16-prfsha384-ecp384", wire.ProtocolIKE))
	if other.spii != task.spii || bytes.Equal(req, req2) {
		t.Fatal("the test needs another request with the same SPIi")
	}
	if out := x.recvFrom(req2, initAddr); len(out) != 0 {
		t.Fatalf("another request with the same SPIi answered: %d", len(out))
	}
	if n, h, _ := x.stats(); n != 1 || h != 1 {
		t.Fatalf("%d sessions, %d half-open", n, h)
	}
	x.expire()
	x.checkEmpty(t)
}

// TestManagerJunk: datagrams that are not IKEv2, are cut short, or belong
// to no IKE SA of ours leave no state and get no answer.
func TestManagerJunk(t *testing.T) {
	_, gw, pools := pskPeers(t)
	x := newTestMgr(t, gw, pools, 7, nil)
	recs, _ := captureTranscript(t, false)
	init := recs[0].data

	var junk [][]byte
	for _, r := range recs[1:] {
		// IKE_AUTH, CREATE_CHILD_SA and INFORMATIONAL requests, and all
		// responses, of an SA we do not have.
		junk = append(junk, r.data)
	}
	edit := func(b []byte, fn func(b []byte)) []byte {
		b = append([]byte(nil), b...)
		fn(b)
		return b
	}
	v1 := make([]byte, wire.HeaderLen)
	v1[17], v1[18], v1[27] = 0x10, 2, wire.HeaderLen
	junk = append(junk,
		nil, []byte{0}, make([]byte, 4), make([]byte, wire.HeaderLen), make([]byte, 100),
		init[:wire.HeaderLen-1], init[:wire.HeaderLen], init[:len(init)-1], append(append([]byte(nil), init...), 0),
		v1,
		edit(init, func(b []byte) { b[17] = 0x10 }),                     // IKEv1 version on an IKE_SA_INIT
		edit(init, func(b []byte) { b[17] = 0x30 }),                     // major version 3
		edit(init, func(b []byte) { b[19] |= byte(wire.FlagResponse) }), // a response to a request of ours
		edit(init, func(b []byte) { b[19] &^= byte(wire.FlagInitiator) }),
		edit(init, func(b []byte) { b[15] = 1 }),                // SPIr set: an unknown SA
		edit(init, func(b []byte) { b[23] = 1 }),                // message ID 1
		edit(init, func(b []byte) { b[wire.HeaderLen] = 0xff }), // next payload of the first payload
	)
	for _, r := range recs {
		if h, _ := wire.ParseHeader(r.data); r.toResponder && h.Exchange == wire.ExchangeIKEAuth {
			junk = append(junk, edit(r.data, func(b []byte) { b[9] ^= 0xff })) // IKE_AUTH for an unknown SPIr
		}
	}
	for _, natt := range []bool{false, true} {
		local := respAddr
		if natt {
			local = netip.AddrPortFrom(respAddr.Addr(), esp.NATTPort)
		}
		for i, d := range junk {
			x.m.receive(d, esp.Endpoint{Local: local, Remote: initAddr})
			if out := x.cap.take(); len(out) != 0 {
				t.Errorf("junk %d (port %d) answered: %x", i, local.Port(), out[0].data)
			}
			if n, h, i2 := x.stats(); n+h+i2 != 0 {
				t.Fatalf("junk %d (port %d) made state", i, local.Port())
			}
		}
	}
	x.checkEmpty(t)
}

// TestManagerBadICV: messages with a bad ICV are dropped without answer
// and move no message ID, half-open or established; a forged request in
// the window does not stop the replay of the last response.
func TestManagerBadICV(t *testing.T) {
	client, gw, pools := pskPeers(t)
	p := newPair(t, client, gw, pools)
	var held []inbound
	var resps [][]byte
	p.filter = func(from *side, ds []inbound) []inbound {
		var out []inbound
		for _, d := range ds {
			h, err := wire.ParseHeader(d.data)
			switch {
			case err == nil && from == p.i && h.Exchange == wire.ExchangeIKEAuth:
				held = append(held, d)
				continue
			case err == nil && from == p.r && h.Exchange == wire.ExchangeIKEAuth:
				resps = append(resps, d.data)
			}
			out = append(out, d)
		}
		return out
	}
	// IKE_SA_INIT { SA, KE, Ni, ... } -->
	// <-- IKE_SA_INIT { SA, KE, Nr, ... }
	if err := p.i.m.Initiate("home"); err != nil {
		t.Fatal(err)
	}
	p.run()
	if len(held) != 1 {
		t.Fatalf("%d IKE_AUTH requests", len(held))
	}
	auth := held[0]
	ep := esp.Endpoint{Local: auth.ep.Remote, Remote: auth.ep.Local}
	rb := p.r.m.boxes()[0]
	recvID := func() (uint32, State) {
		rb.mu.Lock()
		defer rb.mu.Unlock()
		return rb.s.recvID, rb.s.state
	}
	edit := func(fn func(b []byte)) []byte {
		b := append([]byte(nil), auth.data...)
		fn(b)
		return b
	}
	bad := [][]byte{
		edit(func(b []byte) { b[len(b)-1] ^= 1 }),                         // ICV
		edit(func(b []byte) { b[wire.HeaderLen+10] ^= 0x80 }),             // IV or ciphertext
		edit(func(b []byte) { b[len(b)/2] ^= 1 }),                         // ciphertext
		edit(func(b []byte) { b[23] = 2 }),                                // message ID 2, the AAD
		edit(func(b []byte) { b[18] = byte(wire.ExchangeInformational) }), // the exchange, the AAD
	}
	// IKE_AUTH { IDi, AUTH, SA, TSi, TSr } with a bad ICV -->
	for i, b := range bad {
		p.r.m.receive(b, ep)
		if out := p.r.cap.take(); len(out) != 0 {
			t.Fatalf("bad message %d answered", i)
		}
		if id, st := recvID(); id != 1 || st != StateConnecting {
			t.Fatalf("bad message %d: next message ID %d, %v", i, id, st)
		}
		if _, h, _ := (&testMgr{m: p.r.m}).stats(); h != 1 {
			t.Fatalf("bad message %d: %d half-open", i, h)
		}
	}

	// IKE_AUTH { IDi, AUTH, SA, TSi, TSr } -->
	// <-- IKE_AUTH { IDr, AUTH, SA, TSi, TSr }
	p.r.m.receive(auth.data, ep)
	p.run()
	if len(resps) != 1 {
		t.Fatalf("%d IKE_AUTH responses", len(resps))
	}
	ri, rr := p.i.m.SAs(), p.r.m.SAs()
	if len(ri) != 1 || len(rr) != 1 || ri[0].State != StateEstablished || rr[0].State != StateEstablished {
		t.Fatalf("not established: %+v / %+v", ri, rr)
	}
	p.filter = nil

	// Established: the retransmitted IKE_AUTH gets the cached response,
	// also after a forged request in the window.
	replay := func(when string) {
		t.Helper()
		p.r.m.receive(auth.data, ep)
		out := p.r.cap.take()
		if len(out) != 1 || !bytes.Equal(out[0].data, resps[0]) {
			t.Fatalf("%s: the retransmitted IKE_AUTH got %d answers, not the cached response", when, len(out))
		}
	}
	replay("established")
	forged := edit(func(b []byte) {
		b[18], b[23] = byte(wire.ExchangeInformational), 2
		b[len(b)-1] ^= 1
	})
	p.r.m.receive(forged, ep)
	if out := p.r.cap.take(); len(out) != 0 {
		t.Fatal("forged INFORMATIONAL answered")
	}
	if id, st := recvID(); id != 2 || st != StateEstablished {
		t.Fatalf("after a forged request: next message ID %d, %v", id, st)
	}
	replay("after a forged request")

	// The message IDs still agree: a delete goes through.
	if p.i.m.Terminate("home") != 1 {
		t.Fatal("nothing to terminate")
	}
	p.run()
	if len(p.i.m.SAs())+len(p.r.m.SAs()) != 0 {
		t.Fatalf("SAs left: %+v / %+v", p.i.m.SAs(), p.r.m.SAs())
	}
	if a, b, c, d := p.r.dp.counts(); a+b+c+d != 0 {
		t.Fatalf("responder dataplane: %d %d %d %d", a, b, c, d)
	}
}

// FuzzHandleDatagram feeds the receive path's sorting and its stateless
// cookie answer (which parses the raw payload chain) with arbitrary
// datagrams: no panic, no state, and anything sent is a well-formed
// COOKIE answer.
func FuzzHandleDatagram(f *testing.F) {
	client, _, _ := pskPeers(&testing.T{})
	x, err := newSAInitInitiator(newDetRand(9), client.ikeProposals(), initAddr, respAddr, false)
	if err != nil {
		f.Fatal(err)
	}
	req, err := x.Request()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(req)
	f.Add(req[:40])
	f.Add(make([]byte, 28))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, gw, pools := pskPeers(t)
		c := &capture{}
		m, err := NewManager(Config{Peers: []*PeerConfig{gw}, Pools: pools, Dataplane: newRecDP(2), Sender: c,
			Rand: newDetRand(3), CookieThreshold: -1})
		if err != nil {
			t.Fatal(err)
		}
		m.HandleDatagram(data, esp.Endpoint{Local: respAddr, Remote: initAddr})
		if len(m.bySPI) != 0 || m.halfOpenN.Load() != 0 {
			t.Fatal("state from a datagram without a cookie")
		}
		for _, d := range c.take() {
			msg, err := wire.Parse(d.data)
			if err != nil {
				t.Fatalf("our answer does not parse: %v", err)
			}
			if n, ok := wire.FindNotify(msg.Payloads, wire.NotifyCookie); !ok || len(n.Data) != CookieLen || !msg.Header.IsResponse() {
				t.Fatalf("answer %v", msg)
			}
		}
	})
}
