package ikego

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/esp/esptest"
	"github.com/ikego/ikego/l2tp"
	"github.com/ikego/ikego/ppp"
	"github.com/ikego/ikego/tun/tuntest"
)

// counterRand serves the big-endian 16-bit numbers 1, 2, 3, ...: the L2TP
// server's tunnel and session IDs are then 1, 2, ..., so that inputs can
// address them.
type counterRand struct {
	n   uint16
	odd bool
}

func (r *counterRand) Read(p []byte) (int, error) {
	for i := range p {
		if !r.odd {
			r.n++
			p[i] = byte(r.n >> 8)
		} else {
			p[i] = byte(r.n)
		}
		r.odd = !r.odd
	}
	return len(p), nil
}

// fuzzDatagrams joins datagrams as the fuzz input does: each behind its
// length in two octets.
func fuzzDatagrams(ds ...[]byte) []byte {
	var b []byte
	for _, d := range ds {
		b = binary.BigEndian.AppendUint16(b, uint16(len(d)))
		b = append(b, d...)
	}
	return b
}

// FuzzL2TPService feeds a sequence of datagrams, as the transport-mode SA
// of one client (policy 1) or another (policy 2) would deliver them, into
// a running gateway's L2TP service: nothing may panic, every address the
// engine routes to the service must be a lease of a call, and closing the
// gateway must leave no address registered. The seeds set a tunnel and a
// call up and start PPP, so the fuzzer starts from there.
func FuzzL2TPService(f *testing.F) {
	ctl := func(tid, sid, ns, nr uint16, m l2tp.Message) []byte {
		b, err := l2tp.AppendControl(nil, l2tp.Header{TunnelID: tid, SessionID: sid, Ns: ns, Nr: nr}, &m, nil)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	sccrq := l2tp.NewMessage(l2tp.MsgSCCRQ)
	sccrq.Add(l2tp.AVPProtocolVersion, []byte{1, 0})
	sccrq.Add(l2tp.AVPHostName, []byte("lac.example"))
	sccrq.AddUint32(l2tp.AVPFramingCapabilities, 1)
	sccrq.AddUint16(l2tp.AVPAssignedTunnelID, 7)
	icrq := l2tp.NewMessage(l2tp.MsgICRQ)
	icrq.AddUint16(l2tp.AVPAssignedSessionID, 9)
	icrq.AddUint32(l2tp.AVPCallSerialNumber, 1)
	iccn := l2tp.NewMessage(l2tp.MsgICCN)
	iccn.AddUint32(l2tp.AVPTxConnectSpeed, 100_000_000)
	iccn.AddUint32(l2tp.AVPFramingType, 1)
	// The server's tunnel is 1 and its session 2 (counterRand).
	setup := [][]byte{ctl(0, 0, 0, 0, sccrq), ctl(1, 0, 1, 1, l2tp.NewMessage(l2tp.MsgSCCCN)),
		ctl(1, 0, 2, 1, icrq), ctl(1, 2, 3, 2, iccn)}
	lcpReq := ppp.AppendFrame(nil, ppp.ProtocolLCP, []byte{1, 1, 0, 10, 5, 6, 0x12, 0x34, 0x56, 0x78})
	data := func(frame []byte) []byte { return l2tp.AppendData(nil, l2tp.Header{TunnelID: 1, SessionID: 2}, frame) }
	ping := tuntest.Ping(netip.MustParseAddr("198.18.200.2"), l2tpServer, 1, 1, nil)
	f.Add(uint8(0), fuzzDatagrams(setup[0]))
	f.Add(uint8(0), fuzzDatagrams(setup...))
	f.Add(uint8(1), fuzzDatagrams(append(setup, data(lcpReq))...))
	f.Add(uint8(0), fuzzDatagrams(append(setup, data(ppp.AppendFrame(nil, ppp.ProtocolIPv4, ping)))...))
	f.Add(uint8(2), []byte{0, 4, 0xc8, 0x02, 0, 0})

	f.Fuzz(func(t *testing.T, conns uint8, in []byte) {
		dev := tuntest.NewChannel(0)
		drain := make(chan struct{})
		defer close(drain)
		go func() {
			for {
				select {
				case <-dev.Outbound:
				case <-drain:
					return
				}
			}
		}()
		cfg := &L2TPConfig{
			Password: func(u string) (string, bool) { p, ok := l2tpUsers[u]; return p, ok },
			Pool:     l2tpPool,
			L2TP:     l2tp.Config{Rand: &counterRand{}, MaxTunnels: 4, MaxSessions: 4},
		}
		g, err := NewGateway(GatewayConfig{TUN: dev, Bind: esptest.NewNetwork().NewBind(outerB), L2TP: cfg})
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Start(); err != nil {
			t.Fatal(err)
		}
		svc := g.L2TP()
		for i := 0; len(in) >= 2; i++ {
			n := int(binary.BigEndian.Uint16(in))
			in = in[2:]
			n = min(n, len(in))
			policy := uint32(1)
			if conns>>(i%8)&1 != 0 {
				policy = 2
			}
			svc.handleDatagram(in[:n], esp.LocalAddr{PolicyID: policy, Peer: netip.AddrPortFrom(outerA, L2TPPort)})
			in = in[n:]
		}
		leases := map[netip.Addr]bool{}
		for _, s := range svc.Sessions() {
			if s.Addr.IsValid() {
				leases[s.Addr] = true
			}
		}
		for _, a := range g.Engine().LocalAddrs() {
			if !leases[a] {
				t.Errorf("the engine routes %v to the service, which leased it to no call", a)
			}
		}
		if st := svc.Stats(); st.Leases > st.Calls {
			t.Errorf("%d leases for %d calls", st.Leases, st.Calls)
		}
		g.Close()
		if l := g.Engine().LocalAddrs(); len(l) != 0 {
			t.Errorf("addresses still routed to the service after Close: %v", l)
		}
	})
}
