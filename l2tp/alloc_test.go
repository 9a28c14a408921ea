package l2tp

import (
	"testing"
)

// upSession runs a LAC and a PPP client until IPCP is open.
func upSession(t *testing.T) (*lac, *pppClient, SessionRef) {
	t.Helper()
	srv := newTestServer(t, Config{})
	l := newLAC(t, srv)
	l.establish()
	lsid := l.call(0x2001, nil)
	c := newPPPClient("alice", "sesame")
	c.start(l.now)
	l.runPPP(c, lsid, false)
	if _, ok := l.hasEvent(EventNetworkUp); !ok {
		t.Fatalf("network not up; events %v", l.events)
	}
	return l, c, SessionRef{l.ltid, lsid}
}

// The data path allocates nothing (STYLE.md, rule 3).
func TestDataPathAllocs(t *testing.T) {
	l, _, ref := upSession(t)
	up := ipv4("198.18.200.2", "203.0.113.10", "hello")
	pkt := AppendData(nil, Header{HasLength: true, TunnelID: ref.Tunnel, SessionID: ref.Session}, append([]byte{0xff, 0x03, 0x00, 0x21}, up...))
	n := testing.AllocsPerRun(100, func() {
		ip, got, err := l.srv.HandleDatagram(pkt, l.peer, l.now)
		if err != nil || got != ref || len(ip) != len(up) {
			t.Fatalf("HandleDatagram: %v %v %d", err, got, len(ip))
		}
	})
	if n != 0 {
		t.Errorf("HandleDatagram of IPv4: %v allocations", n)
	}
	dst := make([]byte, 0, 2048)
	n = testing.AllocsPerRun(100, func() {
		out, to, err := l.srv.AppendIP(dst[:0], ref, up)
		if err != nil || to != l.peer || len(out) != len(up)+8+4 {
			t.Fatalf("AppendIP: %v %d", err, len(out))
		}
	})
	if n != 0 {
		t.Errorf("AppendIP: %v allocations", n)
	}
	// The datagram AppendIP builds is a data message the LAC can parse.
	out, _, _ := l.srv.AppendIP(nil, ref, up)
	h, frame, err := ParseHeader(out)
	if err != nil || h.Control || h.TunnelID != l.tid || h.SessionID != 0x2001 || string(frame[4:]) != string(up) {
		t.Fatalf("AppendIP gave %+v % x, %v", h, frame, err)
	}
}

// The FuzzServer seed must reach a connected session, or the fuzzer
// starts from nothing.
func TestFuzzSeedReachesSession(t *testing.T) {
	srv := newTestServer(t, Config{})
	peer := newLAC(t, srv).peer
	for _, pkt := range fuzzServerSeed() {
		if _, _, err := srv.HandleDatagram(pkt, peer, t0); err != nil {
			t.Fatalf("seed datagram: %v", err)
		}
		for {
			if _, ok := srv.NextDatagram(); !ok {
				break
			}
		}
	}
	var kinds []EventKind
	for {
		e, ok := srv.NextEvent()
		if !ok {
			break
		}
		kinds = append(kinds, e.Kind)
	}
	if len(kinds) != 2 || kinds[0] != EventTunnelUp || kinds[1] != EventSessionUp {
		t.Fatalf("seed events %v", kinds)
	}
}
