package esp

import (
	"net/netip"
	"os"
	"testing"

	"github.com/ikego/ikego/tun"
	"github.com/ikego/ikego/tun/tuntest"
)

// discardTUN is a tun.Device that drops what is written to it without
// allocating, and whose Read blocks until Close.
type discardTUN struct {
	done    chan struct{}
	written int
}

var _ tun.Device = (*discardTUN)(nil)

func newDiscardTUN() *discardTUN { return &discardTUN{done: make(chan struct{})} }

func (d *discardTUN) File() *os.File { return nil }
func (d *discardTUN) Read([][]byte, []int, int) (int, error) {
	<-d.done
	return 0, os.ErrClosed
}
func (d *discardTUN) Write(bufs [][]byte, _ int) (int, error) {
	d.written += len(bufs)
	return len(bufs), nil
}
func (d *discardTUN) MTU() (int, error)        { return 1400, nil }
func (d *discardTUN) Name() (string, error)    { return "discard", nil }
func (d *discardTUN) Events() <-chan tun.Event { return nil }
func (d *discardTUN) Close() error             { close(d.done); return nil }
func (d *discardTUN) BatchSize() int           { return 1 }

// TestLocalAddrZeroAllocs: handing a TUN packet to a local address's
// handler, WriteTUN, and a LocalConn's WriteTo through a transport-mode SA
// allocate nothing.
func TestLocalAddrZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race (sync.Pool drops items)")
	}
	dev := newDiscardTUN()
	e, err := NewEngine(EngineConfig{TUN: dev, Bind: nullBind{}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	local := netip.MustParseAddr("198.18.200.2")
	outer, peer := netip.MustParseAddr("198.51.100.2"), netip.MustParseAddr("198.51.100.1")
	host := func(a netip.Addr) []Selector { return []Selector{SelectorFromPrefix(netip.PrefixFrom(a, 32))} }
	if err := e.SetPolicy(Policy{ID: 7, Action: ActionProtect, Local: host(outer), Remote: host(peer)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.AddSA(DirOut, SAParams{SPI: 0x100, Mode: ModeTransport, Encr: EncrAESGCM16, EncrKey: make([]byte, 20),
		Local: netip.AddrPortFrom(outer, 0), Remote: netip.AddrPortFrom(peer, 4500)}, 7, Lifetime{}); err != nil {
		t.Fatal(err)
	}
	conn, err := e.ListenLocal(1701)
	if err != nil {
		t.Fatal(err)
	}
	to := LocalAddr{PolicyID: 7, Peer: netip.AddrPortFrom(peer, 1701)}
	handled := 0
	if err := e.AddLocalAddr(local, func(pkt []byte) {
		handled++
		if _, err := conn.WriteTo(pkt, to); err != nil {
			t.Fatal(err)
		}
	}); err != nil {
		t.Fatal(err)
	}
	toLocal := tuntest.UDP(netip.MustParseAddrPort("203.0.113.1:53"), netip.AddrPortFrom(local, 5353), make([]byte, 1200))
	fromLocal := tuntest.UDP(netip.AddrPortFrom(local, 5353), netip.MustParseAddrPort("203.0.113.1:53"), make([]byte, 1200))
	allocs := testing.AllocsPerRun(200, func() {
		p := e.getPacket()
		n := copy(p.buf[tunOffset:], toLocal)
		p.start, p.end = tunOffset, tunOffset+n
		if e.route(p) {
			t.Fatal("a packet for a local address was routed to an SA")
		}
		if err := e.WriteTUN(fromLocal); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per local delivery and WriteTUN", allocs)
	}
	if handled == 0 || dev.written == 0 {
		t.Fatalf("handled %d, written %d", handled, dev.written)
	}
}
