package l2tp

import (
	"bytes"
	"net/netip"
	"testing"
	"time"
)

// ipv4 returns a minimal IPv4 header with the given addresses and a payload.
func ipv4(src, dst string, payload string) []byte {
	p := []byte{0x45, 0, 0, byte(20 + len(payload)), 0, 0, 0, 0, 64, 17, 0, 0}
	p = append(p, netip.MustParseAddr(src).AsSlice()...)
	p = append(p, netip.MustParseAddr(dst).AsSlice()...)
	return append(p, payload...)
}

func TestFullExchange(t *testing.T) {
	for _, tc := range []struct {
		name   string
		secret []byte
		seq    bool
	}{
		{"plain", nil, false},
		{"tunnel auth and sequencing", []byte("tunnel secret"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTestServer(t, Config{Secret: tc.secret})
			l := newLAC(t, srv)
			l.secret = tc.secret
			l.establish()
			lsid := l.call(0x2001, func(m *Message) {
				if tc.seq {
					m.Add(AVPSequencingRequired, nil)
				}
			})
			if _, ok := l.hasEvent(EventSessionUp); !ok {
				t.Fatalf("no session up; events %v", l.events)
			}
			// The ICCN is acknowledged by a ZLB: no control message is
			// queued, only LCP data.
			if l.zlbs == 0 {
				t.Error("ICCN not acknowledged by a ZLB")
			}
			if len(l.frames) == 0 {
				t.Fatal("no LCP Configure-Request after ICCN")
			}
			for _, h := range l.dataHdrs {
				if !h.HasLength || h.Sequenced != tc.seq || h.TunnelID != l.tid || h.SessionID != 0x2001 {
					t.Fatalf("data header %+v", h)
				}
			}
			c := newPPPClient("alice", "sesame")
			c.start(l.now)
			l.runPPP(c, lsid, tc.seq)
			if !c.chapOK {
				t.Fatal("CHAP did not succeed")
			}
			ev, ok := l.hasEvent(EventNetworkUp)
			if !ok {
				t.Fatalf("no network up; events %v", l.events)
			}
			ref := SessionRef{l.ltid, lsid}
			if ev.User != "alice" || ev.Addr != netip.MustParseAddr("198.18.200.2") || ev.Ref != ref || ev.Peer != l.peer {
				t.Fatalf("network up event %+v", ev)
			}
			if tc.seq {
				for i, h := range l.dataHdrs {
					if h.Ns != uint16(i) {
						t.Fatalf("data message %d has Ns %d", i, h.Ns)
					}
				}
			}

			// An IPv4 packet from the client...
			up := ipv4("198.18.200.2", "203.0.113.10", "hello")
			_ = l.deliver(AppendData(nil, Header{TunnelID: l.ltid, SessionID: lsid, Sequenced: tc.seq, Ns: 1000}, append([]byte{0xff, 0x03, 0x00, 0x21}, up...)))
			if len(l.ipIn) != 1 || !bytes.Equal(l.ipIn[0], up) {
				t.Fatalf("Server returned %x, want %x", l.ipIn, up)
			}
			// ...and one to it.
			down := ipv4("203.0.113.10", "198.18.200.2", "world")
			if err := srv.SendIP(ref, down); err != nil {
				t.Fatal(err)
			}
			l.collect()
			l.runPPP(c, lsid, tc.seq)
			if len(c.ipIn) != 1 || !bytes.Equal(c.ipIn[0], down) {
				t.Fatalf("client received %x, want %x", c.ipIn, down)
			}
			if err := srv.SendIP(SessionRef{l.ltid, lsid + 1}, down); err != ErrUnknownSession {
				t.Fatalf("SendIP to a missing session: %v", err)
			}

			// CDN { Result Code, Assigned Session ID } -->
			cdn := NewMessage(MsgCDN)
			cdn.Add(AVPResultCode, []byte{0, 1})
			cdn.AddUint16(AVPAssignedSessionID, 0x2001)
			_ = l.send(lsid, cdn)
			ev, ok = l.hasEvent(EventSessionDown)
			if !ok || ev.User != "alice" || ev.Addr != netip.MustParseAddr("198.18.200.2") {
				t.Fatalf("session down event %+v, %v", ev, ok)
			}
			// StopCCN { Assigned Tunnel ID, Result Code } -->
			stop := NewMessage(MsgStopCCN)
			stop.AddUint16(AVPAssignedTunnelID, l.tid)
			stop.Add(AVPResultCode, []byte{0, 1})
			zlbs := l.zlbs
			_ = l.send(0, stop)
			if l.zlbs != zlbs+1 {
				t.Fatal("StopCCN not acknowledged")
			}
			if _, ok := l.hasEvent(EventTunnelDown); !ok {
				t.Fatal("no tunnel down")
			}
			// A retransmitted StopCCN during the hold is acknowledged again.
			l.ns--
			l.now = l.now.Add(2 * time.Second)
			_ = l.send(0, stop)
			if l.zlbs != zlbs+2 || srv.Tunnels() != 1 {
				t.Fatalf("retransmitted StopCCN: zlbs %d, tunnels %d", l.zlbs-zlbs, srv.Tunnels())
			}
			l.advance(srv.NextDeadline())
			if srv.Tunnels() != 0 || l.now.Sub(t0) != 31*time.Second+2*time.Second-2*time.Second {
				t.Fatalf("after hold at %v: %d tunnels", l.now.Sub(t0), srv.Tunnels())
			}
		})
	}
}

func TestTunnelAuthFailure(t *testing.T) {
	srv := newTestServer(t, Config{Secret: []byte("right")})
	l := newLAC(t, srv)
	_ = l.send(0, sccrq(l.tid, nil))
	r := l.expect(MsgSCCRP)
	l.ltid, _ = r.m.Uint16(AVPAssignedTunnelID)
	if _, ok := r.m.Get(AVPChallenge); !ok {
		t.Fatal("LNS with a secret sent no Challenge")
	}
	cn := NewMessage(MsgSCCCN)
	cn.Add(AVPChallengeResponse, make([]byte, 16))
	_ = l.send(0, cn)
	stop := l.expect(MsgStopCCN)
	a, _ := stop.m.Get(AVPResultCode)
	if res, _ := ParseResult(a.Value); res.Code != StopNotAuthorized {
		t.Fatalf("result %v", res)
	}
	if _, ok := l.hasEvent(EventTunnelUp); ok {
		t.Fatal("tunnel up despite a bad response")
	}
	l.ack()
	if srv.Tunnels() != 0 {
		t.Fatal("tunnel kept after its StopCCN was acknowledged")
	}

	// Without a secret, an SCCRQ with a Challenge is refused.
	srv = newTestServer(t, Config{})
	l = newLAC(t, srv)
	_ = l.send(0, sccrq(l.tid, []byte("challenge")))
	stop = l.expect(MsgStopCCN)
	a, _ = stop.m.Get(AVPResultCode)
	if res, _ := ParseResult(a.Value); res.Code != StopNotAuthorized {
		t.Fatalf("result %v", res)
	}
}

func TestMandatoryAVP(t *testing.T) {
	vendor := AVP{Mandatory: true, VendorID: 311, Type: 99, Value: []byte{1}}
	optional := AVP{VendorID: 311, Type: 99, Value: []byte{1}}

	// Unknown AVP without M in a tunnel message: ignored.
	srv := newTestServer(t, Config{})
	l := newLAC(t, srv)
	m := sccrq(l.tid, nil)
	m.AVPs = append(m.AVPs, optional)
	_ = l.send(0, m)
	l.expect(MsgSCCRP)

	// Unknown mandatory AVP in a session message: CDN result 2, error 8,
	// the tunnel stays.
	srv = newTestServer(t, Config{})
	l = newLAC(t, srv)
	l.establish()
	lsid := l.call(0x2001, func(m *Message) { m.AVPs = append(m.AVPs, vendor) })
	cdn := l.expect(MsgCDN)
	a, _ := cdn.m.Get(AVPResultCode)
	if res, _ := ParseResult(a.Value); res.Code != CDNError || res.Error != ErrCodeUnknownMandatory || cdn.h.SessionID != 0x2001 {
		t.Fatalf("CDN %v to session %d", res, cdn.h.SessionID)
	}
	if id, _ := cdn.m.Uint16(AVPAssignedSessionID); id != lsid {
		t.Fatalf("CDN Assigned Session ID %d, want %d", id, lsid)
	}
	if _, ok := l.hasEvent(EventTunnelDown); ok {
		t.Fatal("tunnel torn down for a session-level AVP")
	}

	// Unknown mandatory AVP in a tunnel message: StopCCN result 2, error 8.
	h := NewMessage(MsgHELLO)
	h.AVPs = append(h.AVPs, vendor)
	_ = l.send(0, h)
	stop := l.expect(MsgStopCCN)
	a, _ = stop.m.Get(AVPResultCode)
	if res, _ := ParseResult(a.Value); res.Code != StopError || res.Error != ErrCodeUnknownMandatory {
		t.Fatalf("StopCCN %v", res)
	}
	if _, ok := l.hasEvent(EventTunnelDown); !ok {
		t.Fatal("no tunnel down")
	}
}

func TestLimits(t *testing.T) {
	srv := newTestServer(t, Config{MaxTunnels: 1, MaxSessions: 1})
	l := newLAC(t, srv)
	l.establish()
	l.call(0x2001, nil)
	m := NewMessage(MsgICRQ)
	m.AddUint16(AVPAssignedSessionID, 0x2002)
	_ = l.send(0, m)
	cdn := l.expect(MsgCDN)
	a, _ := cdn.m.Get(AVPResultCode)
	if res, _ := ParseResult(a.Value); res.Code != CDNTemporaryNoRes || cdn.h.SessionID != 0x2002 {
		t.Fatalf("CDN %v to %d", res, cdn.h.SessionID)
	}

	l2 := newLAC(t, srv)
	l2.peer.Conn = 8
	_ = l2.send(0, sccrq(l2.tid, nil))
	stop := l2.expect(MsgStopCCN)
	a, _ = stop.m.Get(AVPResultCode)
	if res, _ := ParseResult(a.Value); res.Code != StopError || res.Error != ErrCodeResources {
		t.Fatalf("StopCCN %v", res)
	}
	if srv.Tunnels() != 1 {
		t.Fatalf("%d tunnels", srv.Tunnels())
	}
}

// Two LACs behind one NAT share an address; Peer.Conn tells them apart,
// and a datagram for one tunnel from the other peer is refused.
func TestPeersApart(t *testing.T) {
	srv := newTestServer(t, Config{})
	a, b := newLAC(t, srv), newLAC(t, srv)
	b.peer.Conn = 8
	a.establish()
	b.establish()
	if a.ltid == b.ltid || srv.Tunnels() != 2 {
		t.Fatalf("tunnels %d and %d", a.ltid, b.ltid)
	}
	b.ltid = a.ltid
	if err := b.send(0, NewMessage(MsgHELLO)); err != ErrUnknownTunnel {
		t.Fatalf("HELLO into another peer's tunnel: %v", err)
	}
}

func TestSCCRPLossAndHello(t *testing.T) {
	srv := newTestServer(t, Config{HelloInterval: 60 * time.Second})
	l := newLAC(t, srv)
	lost := 0
	l.drop = func(pkt []byte) bool {
		h, body, _ := ParseHeader(pkt)
		if h.Control && len(body) > 0 && lost == 0 {
			lost++
			return true
		}
		return false
	}
	// The SCCRP is lost; the LAC retransmits its SCCRQ, which the LNS
	// acknowledges as a duplicate, and the SCCRP comes again after 1 s.
	_ = l.send(0, sccrq(l.tid, nil))
	l.ns = 0
	_ = l.send(0, sccrq(l.tid, nil))
	if len(l.rx) != 0 || l.zlbs != 1 || srv.Tunnels() != 1 {
		t.Fatalf("after duplicate SCCRQ: rx %d zlbs %d tunnels %d", len(l.rx), l.zlbs, srv.Tunnels())
	}
	if d := srv.NextDeadline(); d.Sub(t0) != time.Second {
		t.Fatalf("retransmission at %v", d.Sub(t0))
	}
	l.advance(t0.Add(time.Second))
	r := l.expect(MsgSCCRP)
	l.ltid, _ = r.m.Uint16(AVPAssignedTunnelID)
	_ = l.send(0, NewMessage(MsgSCCCN))
	if _, ok := l.hasEvent(EventTunnelUp); !ok {
		t.Fatal("no tunnel up")
	}

	// Idle for 60 s: a HELLO; acknowledged, the next one 60 s later.
	upAt := l.now
	if d := srv.NextDeadline(); d.Sub(upAt) != 60*time.Second {
		t.Fatalf("hello due after %v", d.Sub(upAt))
	}
	l.advance(srv.NextDeadline())
	l.expect(MsgHELLO)
	l.ack()
	if d := srv.NextDeadline(); d.Sub(l.now) != 60*time.Second {
		t.Fatalf("next hello after %v", d.Sub(l.now))
	}
	// The LAC goes silent: retransmissions at 1, 3, 7, 15, 23 s after
	// the HELLO, then the tunnel is given up at 31 s.
	l.advance(srv.NextDeadline())
	l.expect(MsgHELLO)
	helloAt := l.now
	var at []time.Duration
	for range 10 {
		d := srv.NextDeadline()
		if d.IsZero() {
			break
		}
		dups := l.dups
		l.advance(d)
		if l.dups > dups {
			at = append(at, l.now.Sub(helloAt))
		}
		if _, ok := l.hasEvent(EventTunnelDown); ok {
			break
		}
	}
	want := []time.Duration{1 * time.Second, 3 * time.Second, 7 * time.Second, 15 * time.Second, 23 * time.Second}
	if len(at) != len(want) {
		t.Fatalf("retransmissions at %v, want %v", at, want)
	}
	for i := range at {
		if at[i] != want[i] {
			t.Fatalf("retransmissions at %v, want %v", at, want)
		}
	}
	ev, ok := l.hasEvent(EventTunnelDown)
	if !ok || l.now.Sub(helloAt) != 31*time.Second || srv.Tunnels() != 0 {
		t.Fatalf("tunnel down %+v %v at %v, %d tunnels", ev, ok, l.now.Sub(helloAt), srv.Tunnels())
	}
}

func TestClose(t *testing.T) {
	srv := newTestServer(t, Config{})
	l := newLAC(t, srv)
	l.establish()
	l.call(0x2001, nil)
	srv.Close(l.now)
	l.collect()
	l.expect(MsgStopCCN)
	if _, ok := l.hasEvent(EventSessionDown); !ok {
		t.Fatal("no session down")
	}
	if _, ok := l.hasEvent(EventTunnelDown); !ok {
		t.Fatal("no tunnel down")
	}
	l.ack()
	if srv.Tunnels() != 0 {
		t.Fatal("tunnel kept")
	}
}

func TestSetupTimeouts(t *testing.T) {
	srv := newTestServer(t, Config{HelloInterval: -1})
	l := newLAC(t, srv)
	// SCCRQ -->, <-- SCCRP, ZLB --> and no SCCCN.
	_ = l.send(0, sccrq(l.tid, nil))
	r := l.expect(MsgSCCRP)
	l.ltid, _ = r.m.Uint16(AVPAssignedTunnelID)
	l.ack()
	if d := srv.NextDeadline(); d.Sub(t0) != 60*time.Second {
		t.Fatalf("setup deadline after %v", d.Sub(t0))
	}
	l.advance(srv.NextDeadline())
	l.expect(MsgStopCCN)

	// ICRQ -->, <-- ICRP, ZLB --> and no ICCN: CDN result 10.
	srv = newTestServer(t, Config{HelloInterval: -1})
	l = newLAC(t, srv)
	l.establish()
	l.now = t0.Add(5 * time.Second)
	m := NewMessage(MsgICRQ)
	m.AddUint16(AVPAssignedSessionID, 0x2001)
	_ = l.send(0, m)
	l.expect(MsgICRP)
	l.ack()
	if d := srv.NextDeadline(); d.Sub(t0) != 65*time.Second {
		t.Fatalf("call setup deadline after %v", d.Sub(t0))
	}
	l.advance(srv.NextDeadline())
	cdn := l.expect(MsgCDN)
	a, _ := cdn.m.Get(AVPResultCode)
	if res, _ := ParseResult(a.Value); res.Code != CDNTimeout {
		t.Fatalf("CDN %v", res)
	}
	if _, ok := l.hasEvent(EventSessionDown); !ok {
		t.Fatal("no session down")
	}
	if _, ok := l.hasEvent(EventTunnelDown); ok {
		t.Fatal("tunnel down for a call timeout")
	}
}

func TestStats(t *testing.T) {
	srv := newTestServer(t, Config{})
	l := newLAC(t, srv)
	l.establish()
	_ = l.deliver([]byte{1, 2, 3})
	_ = l.deliver(AppendData(nil, Header{TunnelID: 999}, []byte{0xff, 3, 0, 0x21}))
	_ = l.deliver(AppendData(nil, Header{TunnelID: l.ltid, SessionID: 5}, []byte{0xff, 3, 0, 0x21}))
	_ = l.send(0, NewMessage(MsgHELLO))
	l.collect()
	l.advance(srv.NextDeadline()) // a HELLO after 60 s idle
	l.advance(srv.NextDeadline()) // not acknowledged: sent again
	st := srv.Stats()
	if st.Datagrams != 6 || st.Malformed != 1 || st.UnknownTunnel != 1 || st.UnknownSession != 1 || st.Retransmits != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// Control messages that arrive out of order are processed in Ns order,
// duplicates once.
func TestServerReorderAndDuplicate(t *testing.T) {
	srv := newTestServer(t, Config{})
	l := newLAC(t, srv)
	_ = l.send(0, sccrq(l.tid, nil))
	r := l.expect(MsgSCCRP)
	l.ltid, _ = r.m.Uint16(AVPAssignedTunnelID)

	// SCCCN (Ns 1) and ICRQ (Ns 2) swapped on the way.
	scccn, _ := AppendControl(nil, Header{TunnelID: l.ltid, Ns: 1, Nr: l.nr}, ptr(NewMessage(MsgSCCCN)), nil)
	icrq := NewMessage(MsgICRQ)
	icrq.AddUint16(AVPAssignedSessionID, 0x2001)
	icrqPkt, _ := AppendControl(nil, Header{TunnelID: l.ltid, Ns: 2, Nr: l.nr}, &icrq, nil)
	l.ns = 3
	_ = l.deliver(icrqPkt)
	if len(l.rx) != 0 || len(l.events) != 0 {
		t.Fatal("ICRQ processed before the SCCCN")
	}
	_ = l.deliver(scccn)
	if _, ok := l.hasEvent(EventTunnelUp); !ok {
		t.Fatal("no tunnel up")
	}
	r = l.expect(MsgICRP)
	lsid, _ := r.m.Uint16(AVPAssignedSessionID)
	// The ICRP acknowledges both: Nr 3.
	if r.h.Nr != 3 {
		t.Fatalf("ICRP Nr %d", r.h.Nr)
	}

	// ICCN twice: one session.
	iccn := NewMessage(MsgICCN)
	pkt, _ := AppendControl(nil, Header{TunnelID: l.ltid, SessionID: lsid, Ns: 3, Nr: l.nr}, &iccn, nil)
	l.ns = 4
	_ = l.deliver(pkt)
	zlbs := l.zlbs
	_ = l.deliver(pkt)
	if l.zlbs != zlbs+1 {
		t.Fatal("duplicate ICCN not acknowledged")
	}
	n := 0
	for _, e := range l.events {
		if e.Kind == EventSessionUp {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d sessions up", n)
	}
}

func ptr[T any](v T) *T { return &v }

// A LAC that hides its Assigned Session ID (RFC 2661, Section 4.3).
func TestHiddenAVPFromLAC(t *testing.T) {
	secret := []byte("tunnel secret")
	srv := newTestServer(t, Config{Secret: secret})
	l := newLAC(t, srv)
	l.secret = secret
	l.establish()
	m := NewMessage(MsgICRQ)
	m.Add(AVPRandomVector, []byte("0123456789abcdef"))
	m.AVPs = append(m.AVPs, AVP{Mandatory: true, Hidden: true, Type: AVPAssignedSessionID, Value: []byte{0x20, 0x02}})
	_ = l.send(0, m)
	r := l.expect(MsgICRP)
	if r.h.SessionID != 0x2002 {
		t.Fatalf("ICRP to session %#x", r.h.SessionID)
	}
}

// A PPP link that ends (here: CHAP failure) disconnects the call with a
// CDN.
func TestPPPFailureSendsCDN(t *testing.T) {
	srv := newTestServer(t, Config{})
	l := newLAC(t, srv)
	l.establish()
	lsid := l.call(0x2001, nil)
	c := newPPPClient("alice", "wrong password")
	c.start(l.now)
	l.runPPP(c, lsid, false)
	for range 10 {
		if _, ok := l.hasEvent(EventSessionDown); ok {
			break
		}
		l.advance(srv.NextDeadline())
		l.runPPP(c, lsid, false)
	}
	cdn := l.expect(MsgCDN)
	a, _ := cdn.m.Get(AVPResultCode)
	if res, _ := ParseResult(a.Value); res.Code != CDNAdministrative || cdn.h.SessionID != 0x2001 {
		t.Fatalf("CDN %v to %d", res, cdn.h.SessionID)
	}
	if _, ok := l.hasEvent(EventNetworkUp); ok {
		t.Fatal("network up with a wrong password")
	}
	if ev, ok := l.hasEvent(EventSessionDown); !ok || ev.Addr.IsValid() {
		t.Fatalf("session down %+v %v", ev, ok)
	}
}

func TestCloseSession(t *testing.T) {
	l, _, ref := upSession(t)
	if err := l.srv.CloseSession(ref, l.now); err != nil {
		t.Fatal(err)
	}
	l.collect()
	cdn := l.expect(MsgCDN)
	a, _ := cdn.m.Get(AVPResultCode)
	if res, _ := ParseResult(a.Value); res.Code != CDNAdministrative {
		t.Fatalf("CDN %v", res)
	}
	ev, ok := l.hasEvent(EventSessionDown)
	if !ok || ev.User != "alice" || ev.Ref != ref {
		t.Fatalf("session down %+v %v", ev, ok)
	}
	if err := l.srv.SendIP(ref, ipv4("203.0.113.10", "198.18.200.2", "x")); err != ErrUnknownSession {
		t.Fatalf("SendIP after close: %v", err)
	}
	if err := l.srv.CloseSession(ref, l.now); err != ErrUnknownSession {
		t.Fatalf("second CloseSession: %v", err)
	}
}

// A CDN for a call whose ICRP the LAC never saw names only the LAC's
// Session ID.
func TestCDNBeforeICRP(t *testing.T) {
	srv := newTestServer(t, Config{})
	l := newLAC(t, srv)
	l.establish()
	m := NewMessage(MsgICRQ)
	m.AddUint16(AVPAssignedSessionID, 0x2001)
	_ = l.send(0, m)
	l.expect(MsgICRP)
	cdn := NewMessage(MsgCDN)
	cdn.Add(AVPResultCode, []byte{0, 3})
	cdn.AddUint16(AVPAssignedSessionID, 0x2001)
	_ = l.send(0, cdn)
	if _, ok := l.hasEvent(EventSessionDown); !ok {
		t.Fatal("call not cleared")
	}
}
