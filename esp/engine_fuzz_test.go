package esp

import (
	"net/netip"
	"sync"
	"testing"

	"github.com/ikego/ikego/tun/tuntest"
)

// nullBind is a Bind that sends nowhere, for driving an engine's stages by
// hand.
type nullBind struct{}

func (nullBind) Open() ([]ReceiveFunc, error)  { return nil, nil }
func (nullBind) Send([][]byte, Endpoint) error { return nil }
func (nullBind) BatchSize() int                { return 1 }
func (nullBind) Close() error                  { return nil }

// fuzzEngine is an engine that is not started: the fuzz targets run its
// pipeline stages synchronously, one packet at a time, so that a crash is
// pinned to its input.
type fuzzEngine struct {
	e   *Engine
	dev *tuntest.Channel
	in  *SA // the twin of the engine's inbound SA, to seal hostile payloads
	mu  sync.Mutex
}

var (
	fuzzEngineOnce sync.Once
	fuzzEng        *fuzzEngine
)

func newFuzzEngine(t testing.TB) *fuzzEngine {
	fuzzEngineOnce.Do(func() {
		dev := tuntest.ChannelConfig{Queue: 1 << 16}.New()
		e, err := NewEngine(EngineConfig{TUN: dev, Bind: nullBind{}, PathMTU: 1280, HoldPackets: 2})
		if err != nil {
			t.Fatal(err)
		}
		sel := func(s string) []Selector {
			x, err := ParseSelector(s)
			if err != nil {
				t.Fatal(err)
			}
			return []Selector{x}
		}
		for _, p := range []Policy{
			{ID: 1, Priority: 10, Action: ActionProtect, Local: sel("0.0.0.0/0"), Remote: sel("203.0.113.0/26")},
			{ID: 2, Priority: 10, Action: ActionProtect, Local: sel("::/0"), Remote: sel("2001:db8:1::/64")},
			{ID: 3, Priority: 20, Action: ActionTrap, Local: sel("0.0.0.0/0"), Remote: sel("198.18.0.0/15")},
			{ID: 4, Priority: 30, Action: ActionDrop, Local: sel("0.0.0.0/0"), Remote: sel("0.0.0.0/0")},
		} {
			if err := e.SetPolicy(p); err != nil {
				t.Fatal(err)
			}
		}
		key := make([]byte, 20)
		mk := func(spi uint32, mode Mode, policy uint32, dir Direction, v6 bool) {
			l, r := netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.2")
			if v6 {
				l, r = netip.MustParseAddr("2001:db8:0:1::1"), netip.MustParseAddr("2001:db8:0:1::2")
			}
			p := SAParams{SPI: spi, Mode: mode, Encr: EncrAESGCM16, EncrKey: key,
				Local: netip.AddrPortFrom(l, 0), Remote: netip.AddrPortFrom(r, 4500)}
			if _, err := e.AddSA(dir, p, policy, Lifetime{}); err != nil {
				t.Fatal(err)
			}
		}
		mk(0x1001, ModeTunnel, 1, DirOut, false)
		mk(0x2001, ModeTunnel, 1, DirIn, false)
		mk(0x1002, ModeTunnel, 2, DirOut, true)
		mk(0x2002, ModeTransport, 2, DirIn, true)
		twin, err := NewSA(SAParams{SPI: 0x2001, Encr: EncrAESGCM16, EncrKey: key})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.ListenLocal(1701); err != nil {
			t.Fatal(err)
		}
		go func() { // drain what the engine writes to its TUN device
			for range dev.Outbound {
			}
		}()
		fuzzEng = &fuzzEngine{e: e, dev: dev, in: twin}
	})
	return fuzzEng
}

// deliver runs the inbound stages on one datagram.
func (f *fuzzEngine) deliver(d []byte, ep Endpoint) {
	e := f.e
	p := e.getPacket()
	n := copy(p.buf[netOffset:bufSize-Tailroom], d)
	p.start, p.end = netOffset, netOffset+n
	if !e.classify(p, ep) {
		e.release(p)
		return
	}
	e.openPacket(p)
	b := &batch{pkts: []*packet{p}}
	q := make(chan *batch, 1)
	q <- b
	close(q)
	e.deliverer(q)
}

// FuzzEngineReceive feeds arbitrary datagrams to the receive path (IKE,
// keepalive and ESP demultiplexing, SPI lookup, Open), and arbitrary inner
// packets sealed with a valid key to what follows the ICV (inner policy check,
// LocalConn hand-off, MSS clamping, TUN write): nothing may panic.
func FuzzEngineReceive(f *testing.F) {
	f.Add(false, uint8(0), []byte{0xff})
	f.Add(false, uint8(1), []byte{0, 0, 0, 0, 1, 2, 3})
	f.Add(true, uint8(0), tuntest.UDP(netip.MustParseAddrPort("203.0.113.5:1"), netip.MustParseAddrPort("198.18.2.1:2"), []byte("x")))
	f.Add(true, uint8(6), []byte{0x45, 0, 0, 44, 0, 0, 0x40, 0, 64, 6, 0, 0, 203, 0, 113, 5, 198, 18, 2, 1,
		0, 80, 0, 81, 0, 0, 0, 1, 0, 0, 0, 0, 0x60, 0x02, 0xff, 0xff, 0, 0, 0, 0, 2, 4, 0x05, 0xb4})
	f.Fuzz(func(t *testing.T, sealed bool, nh uint8, data []byte) {
		fe := newFuzzEngine(t)
		fe.mu.Lock()
		defer fe.mu.Unlock()
		ep := Endpoint{Local: netip.MustParseAddrPort("198.51.100.1:4500"), Remote: netip.MustParseAddrPort("198.51.100.2:4500")}
		if !sealed {
			fe.deliver(data, ep)
			return
		}
		// A fresh sequence number each time: the engine's replay window
		// keeps them.
		seq, err := fe.in.NextSeq()
		if err != nil {
			t.Skip("sequence numbers used up")
		}
		next := nh
		if next == 0 {
			next = ProtoIPv4
		}
		b := make([]byte, Headroom+len(data), Headroom+len(data)+Tailroom)
		copy(b[Headroom:], data)
		p, err := fe.in.SealPayload(b, Headroom, next, seq)
		if err != nil {
			return
		}
		fe.deliver(p, ep)
	})
}

// FuzzEngineSend feeds arbitrary packets to the outbound stages (flow
// parsing, policy lookup, hold and Acquire, the too-big check and its ICMP
// reply, MSS clamping, Seal): nothing may panic.
func FuzzEngineSend(f *testing.F) {
	f.Add(tuntest.UDP(netip.MustParseAddrPort("198.18.2.1:1"), netip.MustParseAddrPort("203.0.113.5:2"), make([]byte, 1400)))
	f.Add(tuntest.UDP(netip.MustParseAddrPort("[2001:db8:2::1]:1"), netip.MustParseAddrPort("[2001:db8:1::5]:2"), make([]byte, 1300)))
	f.Add(tuntest.UDP(netip.MustParseAddrPort("198.18.2.1:1"), netip.MustParseAddrPort("198.18.9.9:2"), []byte("trap")))
	f.Add([]byte{0x45, 0, 0, 44, 0, 0, 0x40, 0, 64, 6, 0, 0, 198, 18, 2, 1, 203, 0, 113, 5,
		0, 80, 0, 81, 0, 0, 0, 1, 0, 0, 0, 0, 0x60, 0x02, 0xff, 0xff, 0, 0, 0, 0, 2, 4, 0x05, 0xb4})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		fe := newFuzzEngine(t)
		fe.mu.Lock()
		defer fe.mu.Unlock()
		e := fe.e
		p := e.getPacket()
		n := copy(p.buf[tunOffset:bufSize-Tailroom], pkt)
		p.start, p.end = tunOffset, tunOffset+n
		if e.route(p) {
			e.sealPacket(p)
			e.release(p)
		}
	})
}
