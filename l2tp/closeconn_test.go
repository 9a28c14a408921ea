package l2tp

import (
	"net/netip"
	"testing"
)

// TestCloseConn: the tunnels of one Conn end at once and silently (their
// transport is gone), with their sessions reported down; another peer's
// tunnel is untouched.
func TestCloseConn(t *testing.T) {
	l, _, ref := upSession(t)
	other := newLAC(t, l.srv)
	other.peer = Peer{Conn: 8, Addr: netip.MustParseAddrPort("198.51.100.3:1701")}
	other.tid = 0x4002
	other.establish()
	l.events = nil
	if n := l.srv.CloseConn(99, l.now); n != 0 {
		t.Fatalf("CloseConn of an unknown conn ended %d tunnels", n)
	}
	if n := l.srv.CloseConn(l.peer.Conn, l.now); n != 1 {
		t.Fatalf("CloseConn ended %d tunnels, want 1", n)
	}
	if d, ok := l.srv.NextDatagram(); ok {
		t.Fatalf("CloseConn sent %x", d.Data)
	}
	l.collect()
	ev, ok := l.hasEvent(EventSessionDown)
	if !ok || ev.Ref != ref || ev.Addr != netip.MustParseAddr("198.18.200.2") || ev.User != "alice" {
		t.Fatalf("session down %+v %v; events %v", ev, ok, l.events)
	}
	if _, ok := l.hasEvent(EventTunnelDown); !ok {
		t.Fatalf("no tunnel down; events %v", l.events)
	}
	if l.srv.Tunnels() != 1 {
		t.Fatalf("%d tunnels left, want the other peer's", l.srv.Tunnels())
	}
	if err := l.srv.SendIP(ref, ipv4("203.0.113.10", "198.18.200.2", "x")); err != ErrUnknownSession {
		t.Fatalf("SendIP after CloseConn: %v", err)
	}
	// A new SCCRQ from the same peer and Tunnel ID starts a new tunnel.
	l.ns, l.nr, l.rx, l.ltid = 0, 0, nil, 0
	l.establish()
	if l.srv.Tunnels() != 2 {
		t.Fatalf("%d tunnels, want 2", l.srv.Tunnels())
	}
}
