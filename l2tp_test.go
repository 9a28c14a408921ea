package ikego

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/esp/esptest"
	"github.com/ikego/ikego/ike"
	"github.com/ikego/ikego/internal/l2tptest"
	"github.com/ikego/ikego/internal/leakcheck"
	"github.com/ikego/ikego/l2tp"
	"github.com/ikego/ikego/ppp"
	"github.com/ikego/ikego/tun"
	"github.com/ikego/ikego/tun/tuntest"
)

// The L2TP/IPsec tests: a server Gateway with an L2TPService at outerB, and
// clients at their own outer addresses, each an esp.Engine with a
// transport-mode SA pair to the gateway (set by hand, as IKEv1 Quick Mode
// would) and an l2tptest.Client on its LocalConn.

var (
	l2tpPool   = netip.MustParsePrefix("198.18.200.0/28")
	l2tpLocal  = netip.MustParseAddr("198.18.200.1")
	l2tpDNS    = netip.MustParseAddr("198.18.1.53")
	l2tpServer = netip.MustParseAddr("203.0.113.1") // a host behind the gateway
	l2tpUsers  = map[string]string{"alice": "alice password", "bob": "bob password"}
)

const l2tpWait = 10 * time.Second

type l2tpRig struct {
	t      *testing.T
	net    *esptest.Network
	gw     *Gateway
	dev    *tuntest.Channel // nil with a custom device
	events chan l2tp.Event
	policy uint32 // the last policy ID used
}

// newL2TPRig starts a server Gateway with an L2TPService on pool; dev nil
// means a tuntest.Channel.
func newL2TPRig(t *testing.T, pool netip.Prefix, dev tun.Device) *l2tpRig {
	t.Helper()
	r := &l2tpRig{t: t, net: esptest.NewNetwork(), events: make(chan l2tp.Event, 256), policy: 100}
	if dev == nil {
		r.dev = tuntest.NewChannel(0)
		dev = r.dev
	}
	cfg := &L2TPConfig{
		Password: func(u string) (string, bool) { p, ok := l2tpUsers[u]; return p, ok },
		Pool:     pool,
		DNS:      []netip.Addr{l2tpDNS},
		OnEvent: func(ev l2tp.Event) {
			select {
			case r.events <- ev:
			default:
				t.Error("L2TP event channel full")
			}
		},
	}
	g, err := NewGateway(GatewayConfig{TUN: dev, Bind: r.net.NewBind(outerB), L2TP: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	r.gw = g
	return r
}

// transportSAs installs on e the policy id between the hosts local and
// remote and a transport-mode AES-GCM SA pair.
func transportSAs(t *testing.T, e *esp.Engine, id uint32, local, remote netip.Addr, spiOut, spiIn uint32) {
	t.Helper()
	host := func(a netip.Addr) []esp.Selector {
		return []esp.Selector{esp.SelectorFromPrefix(netip.PrefixFrom(a, 32))}
	}
	if err := e.SetPolicy(esp.Policy{ID: id, Priority: 100, Action: esp.ActionProtect, Local: host(local), Remote: host(remote)}); err != nil {
		t.Fatal(err)
	}
	for _, sa := range []struct {
		dir esp.Direction
		spi uint32
	}{{esp.DirOut, spiOut}, {esp.DirIn, spiIn}} {
		p := esp.SAParams{SPI: sa.spi, Mode: esp.ModeTransport, Encr: esp.EncrAESGCM16, EncrKey: key(byte(sa.spi), 20),
			Local: netip.AddrPortFrom(local, 0), Remote: netip.AddrPortFrom(remote, 4500), ReplayWindow: 1024}
		if _, err := e.AddSA(sa.dir, p, id, esp.Lifetime{}); err != nil {
			t.Fatal(err)
		}
	}
}

// l2tpPeer is one client and what carries it.
type l2tpPeer struct {
	c      *l2tptest.Client
	policy uint32 // the gateway's policy for it
	outer  netip.Addr
}

// dial connects a client at outer: SAs on both sides, then L2TP and PPP.
func (r *l2tpRig) dial(outer netip.Addr, cfg l2tptest.Config) (*l2tpPeer, error) {
	t := r.t
	t.Helper()
	r.policy++
	id := r.policy
	transportSAs(t, r.gw.Engine(), id, outerB, outer, 0x2000+id, 0x1000+id)
	ce, err := esp.NewEngine(esp.EngineConfig{TUN: tuntest.NewChannel(0), Bind: r.net.NewBind(outer)})
	if err != nil {
		t.Fatal(err)
	}
	transportSAs(t, ce, 1, outer, outerB, 0x1000+id, 0x2000+id)
	if err := ce.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ce.Close() })
	conn, err := ce.ListenLocal(L2TPPort)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), l2tpWait)
	defer cancel()
	tr := l2tptest.NewLocalTransport(conn, esp.LocalAddr{PolicyID: 1, Peer: netip.AddrPortFrom(outerB, L2TPPort)})
	c, err := l2tptest.Dial(ctx, tr, cfg)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Close() })
	return &l2tpPeer{c: c, policy: id, outer: outer}, nil
}

func (r *l2tpRig) mustDial(outer netip.Addr, user string, auth ppp.AuthProtocol) *l2tpPeer {
	r.t.Helper()
	p, err := r.dial(outer, l2tptest.Config{User: user, Password: l2tpUsers[user], Auth: auth})
	if err != nil {
		r.t.Fatalf("dial as %s from %v: %v", user, outer, err)
	}
	// The client is up once it has its address; the gateway once it has
	// acked the client's last IPCP packet.
	r.waitEvent(l2tp.EventNetworkUp, func(ev l2tp.Event) bool { return ev.Addr == p.c.Addr() })
	return p
}

// waitEvent waits for an L2TP event of kind k that match accepts (nil: any).
func (r *l2tpRig) waitEvent(k l2tp.EventKind, match func(l2tp.Event) bool) l2tp.Event {
	r.t.Helper()
	timeout := time.After(l2tpWait)
	for {
		select {
		case ev := <-r.events:
			if ev.Kind == k && (match == nil || match(ev)) {
				return ev
			}
		case <-timeout:
			r.t.Fatalf("no %v event within %v", k, l2tpWait)
		}
	}
}

// tunPacket waits for the next packet the gateway writes to its TUN device.
func (r *l2tpRig) tunPacket() []byte {
	r.t.Helper()
	select {
	case p := <-r.dev.Outbound:
		return p
	case <-time.After(l2tpWait):
		r.t.Fatalf("nothing reached the gateway's TUN device within %v", l2tpWait)
		return nil
	}
}

// clientPacket waits for the next IPv4 packet that reaches c.
func clientPacket(t *testing.T, c *l2tptest.Client) []byte {
	t.Helper()
	select {
	case p := <-c.IP():
		return p
	case <-c.Done():
		t.Fatalf("client stopped: %v", c.Err())
	case <-time.After(l2tpWait):
		t.Fatalf("nothing reached client %v within %v", c.Addr(), l2tpWait)
	}
	return nil
}

// checkEcho checks that p is an echo request from src to dst with sequence
// number seq.
func checkEcho(t *testing.T, p []byte, src, dst netip.Addr, seq uint16) {
	t.Helper()
	s, d, _, _, sq, ok := tuntest.ParseEcho(p)
	if !ok || s != src || d != dst || sq != seq {
		t.Fatalf("got %v -> %v seq %d (ok %v), want %v -> %v seq %d", s, d, sq, ok, src, dst, seq)
	}
}

// TestL2TPClientTraffic: an L2TP/IPsec client (MS-CHAPv2, as Windows and
// Apple clients do) gets the first address of the pool, the gateway's link
// address and the DNS server; its ping reaches the gateway's TUN device with
// that source, a packet the host sends to that address reaches it through
// L2TP and ESP, and a packet with another source is dropped. When it hangs
// up, the address is deregistered and returned.
func TestL2TPClientTraffic(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	r := newL2TPRig(t, l2tpPool, nil)
	p := r.mustDial(outerA, "alice", ppp.AuthMSCHAPv2)
	c := p.c
	addr := c.Addr()
	if want := netip.MustParseAddr("198.18.200.2"); addr != want {
		t.Fatalf("client address %v, want %v", addr, want)
	}
	if c.ServerAddr() != l2tpLocal || !slices.Equal(c.DNS(), []netip.Addr{l2tpDNS}) {
		t.Fatalf("gateway link address %v, DNS %v", c.ServerAddr(), c.DNS())
	}
	if l := r.gw.Engine().LocalAddrs(); !slices.Equal(l, []netip.Addr{addr}) {
		t.Fatalf("engine local addresses %v, want [%v]", l, addr)
	}
	ss := r.gw.L2TP().Sessions()
	if len(ss) != 1 || ss[0].User != "alice" || ss[0].Addr != addr || !ss[0].Up || ss[0].PolicyID != p.policy ||
		ss[0].Peer != netip.AddrPortFrom(outerA, L2TPPort) {
		t.Fatalf("sessions %+v", ss)
	}

	// Client to host: the ping arrives with the client's address.
	if err := c.SendIP(tuntest.Ping(addr, l2tpServer, 7, 1, []byte("ping over L2TP"))); err != nil {
		t.Fatal(err)
	}
	checkEcho(t, r.tunPacket(), addr, l2tpServer, 1)

	// Host to client, through the engine's handler, L2TP and ESP.
	reply := tuntest.Ping(l2tpServer, addr, 7, 2, []byte("pong over L2TP"))
	r.dev.Inbound <- reply
	if got := clientPacket(t, c); !bytes.Equal(got, reply) {
		t.Fatalf("client got %x, want %x", got, reply)
	}

	// A spoofed source is dropped. The next good packet shows it was
	// handled: one SA and one reader keep the order.
	spoofed := netip.MustParseAddr("198.18.200.9")
	if err := c.SendIP(tuntest.Ping(spoofed, l2tpServer, 7, 3, nil)); err != nil {
		t.Fatal(err)
	}
	if err := c.SendIP(tuntest.Ping(addr, l2tpServer, 7, 4, nil)); err != nil {
		t.Fatal(err)
	}
	checkEcho(t, r.tunPacket(), addr, l2tpServer, 4)
	st := r.gw.L2TP().Stats()
	if st.Spoofed != 1 || st.FromClients != 2 || st.ToClients != 1 || st.Leases != 1 || st.Calls != 1 {
		t.Fatalf("stats %+v", st)
	}

	// Hang up: the gateway deregisters and releases the address.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	ev := r.waitEvent(l2tp.EventSessionDown, nil)
	if ev.Addr != addr || ev.User != "alice" {
		t.Fatalf("session down %+v", ev)
	}
	if l := r.gw.Engine().LocalAddrs(); len(l) != 0 {
		t.Fatalf("engine local addresses %v after hang-up", l)
	}
	if st := r.gw.L2TP().Stats(); st.Leases != 0 || st.Calls != 0 {
		t.Fatalf("after hang-up: stats %+v", st)
	}
}

// TestL2TPRefused: a wrong password and an unknown user are refused, and
// neither gets an address.
func TestL2TPRefused(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	r := newL2TPRig(t, l2tpPool, nil)
	for i, cfg := range []l2tptest.Config{
		{User: "alice", Password: "not alice's password", Auth: ppp.AuthCHAPMD5},
		{User: "alice", Password: "not alice's password", Auth: ppp.AuthMSCHAPv2},
		{User: "mallory", Password: "anything"},
	} {
		_, err := r.dial(netip.AddrFrom4([4]byte{198, 51, 100, byte(10 + i)}), cfg)
		if !errors.Is(err, l2tptest.ErrAuth) {
			t.Fatalf("%s with a wrong password: %v, want an authentication failure", cfg.User, err)
		}
		r.waitEvent(l2tp.EventSessionDown, nil)
		if st := r.gw.L2TP().Stats(); st.Leases != 0 || st.Calls != 0 {
			t.Fatalf("after a refusal: stats %+v", st)
		}
	}
	if l := r.gw.Engine().LocalAddrs(); len(l) != 0 {
		t.Fatalf("engine local addresses %v", l)
	}
}

// TestL2TPTwoClients: clients get addresses of their own, also the same
// user calling twice (CHAP-MD5 and MS-CHAPv2), and each gets only the
// packets for its address.
func TestL2TPTwoClients(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	r := newL2TPRig(t, l2tpPool, nil)
	peers := []*l2tpPeer{
		r.mustDial(netip.MustParseAddr("198.51.100.11"), "alice", ppp.AuthMSCHAPv2),
		r.mustDial(netip.MustParseAddr("198.51.100.12"), "alice", ppp.AuthCHAPMD5),
		r.mustDial(netip.MustParseAddr("198.51.100.13"), "bob", 0),
	}
	seen := map[netip.Addr]bool{}
	for _, p := range peers {
		a := p.c.Addr()
		if !l2tpPool.Contains(a) || a == l2tpLocal || seen[a] {
			t.Fatalf("addresses %v and %v", seen, a)
		}
		seen[a] = true
	}
	for i, p := range peers {
		r.dev.Inbound <- tuntest.Ping(l2tpServer, p.c.Addr(), 9, uint16(i), nil)
	}
	for i, p := range peers {
		checkEcho(t, clientPacket(t, p.c), l2tpServer, p.c.Addr(), uint16(i))
		if err := p.c.SendIP(tuntest.Ping(p.c.Addr(), l2tpServer, 9, uint16(10+i), nil)); err != nil {
			t.Fatal(err)
		}
		checkEcho(t, r.tunPacket(), p.c.Addr(), l2tpServer, uint16(10+i))
	}
	for _, p := range peers {
		select {
		case x := <-p.c.IP():
			t.Fatalf("client %v got a second packet %x", p.c.Addr(), x)
		default:
		}
	}
	if l := r.gw.Engine().LocalAddrs(); len(l) != len(peers) {
		t.Fatalf("engine local addresses %v", l)
	}
}

// TestL2TPPoolReuse: with room for one client, a second one gets no
// address while the first is connected, and gets the same address once the
// first hung up.
func TestL2TPPoolReuse(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	pool := netip.MustParsePrefix("198.18.200.0/30") // .1 is the gateway's, .2 the only lease
	r := newL2TPRig(t, pool, nil)
	first := r.mustDial(netip.MustParseAddr("198.51.100.11"), "alice", 0)
	only := netip.MustParseAddr("198.18.200.2")
	if first.c.Addr() != only {
		t.Fatalf("first client got %v, want %v", first.c.Addr(), only)
	}
	// The gateway's PPP finds no address for it and hangs up the call.
	_, err := r.dial(netip.MustParseAddr("198.51.100.12"), l2tptest.Config{User: "bob", Password: l2tpUsers["bob"]})
	var de *l2tptest.DisconnectError
	if !errors.As(err, &de) || de.Message != l2tp.MsgCDN {
		t.Fatalf("second client on a full pool: %v, want a CDN", err)
	}
	r.waitEvent(l2tp.EventSessionDown, func(ev l2tp.Event) bool { return ev.User == "bob" })
	if st := r.gw.L2TP().Stats(); st.Leases != 1 || st.Calls != 1 {
		t.Fatalf("after the refusal: stats %+v", st)
	}
	first.c.Close()
	r.waitEvent(l2tp.EventSessionDown, func(ev l2tp.Event) bool { return ev.Addr == only })
	third := r.mustDial(netip.MustParseAddr("198.51.100.13"), "bob", 0)
	if third.c.Addr() != only {
		t.Fatalf("third client got %v, want the returned %v", third.c.Addr(), only)
	}
}

// TestL2TPCloseConn: when IKE removes a client's CHILD_SA for good, its
// tunnel ends and its address is released; a rekey leaves it alone.
func TestL2TPCloseConn(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	r := newL2TPRig(t, l2tpPool, nil)
	a := r.mustDial(netip.MustParseAddr("198.51.100.11"), "alice", 0)
	b := r.mustDial(netip.MustParseAddr("198.51.100.12"), "bob", 0)
	r.gw.ikeEvent(ike.Event{Kind: ike.EventChildDown, Policy: a.policy, Rekey: true})
	r.gw.ikeEvent(ike.Event{Kind: ike.EventChildUp, Policy: a.policy})
	if n := len(r.gw.L2TP().Sessions()); n != 2 {
		t.Fatalf("%d sessions after a rekey, want 2", n)
	}
	r.gw.ikeEvent(ike.Event{Kind: ike.EventChildDown, Policy: a.policy})
	// CloseConn acts synchronously: the events are already queued.
	ev := r.waitEvent(l2tp.EventSessionDown, nil)
	if ev.Addr != a.c.Addr() {
		t.Fatalf("session down %+v, want %v's", ev, a.c.Addr())
	}
	r.waitEvent(l2tp.EventTunnelDown, nil)
	if l := r.gw.Engine().LocalAddrs(); !slices.Equal(l, []netip.Addr{b.c.Addr()}) {
		t.Fatalf("engine local addresses %v, want [%v]", l, b.c.Addr())
	}
	if ss := r.gw.L2TP().Sessions(); len(ss) != 1 || ss[0].Addr != b.c.Addr() {
		t.Fatalf("sessions %+v", ss)
	}
	if n := r.gw.L2TP().CloseConn(a.policy); n != 0 {
		t.Fatalf("second CloseConn ended %d tunnels", n)
	}
	// The other client still works.
	r.dev.Inbound <- tuntest.Ping(l2tpServer, b.c.Addr(), 1, 1, nil)
	checkEcho(t, clientPacket(t, b.c), l2tpServer, b.c.Addr(), 1)
}

// TestL2TPGatewayClose: closing the gateway sends every client a StopCCN,
// deregisters their addresses and stops every goroutine (leakcheck).
func TestL2TPGatewayClose(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	r := newL2TPRig(t, l2tpPool, nil)
	p := r.mustDial(outerA, "alice", 0)
	if err := r.gw.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.c.Done():
	case <-time.After(l2tpWait):
		t.Fatal("the client did not hear of the gateway's shutdown")
	}
	var de *l2tptest.DisconnectError
	if !errors.As(p.c.Err(), &de) || de.Message != l2tp.MsgStopCCN || de.Result.Code != l2tp.StopShutdown {
		t.Fatalf("client stopped with %v, want a StopCCN for shutdown", p.c.Err())
	}
	if l := r.gw.Engine().LocalAddrs(); len(l) != 0 {
		t.Fatalf("engine local addresses %v after Close", l)
	}
}

// TestL2TPConfig: bad configurations are refused.
func TestL2TPConfig(t *testing.T) {
	pw := func(string) (string, bool) { return "", false }
	for _, c := range []L2TPConfig{
		{Pool: l2tpPool},
		{Password: pw},
		{Password: pw, Pool: netip.MustParsePrefix("2001:db8:200::/120")},
		{Password: pw, Pool: netip.MustParsePrefix("198.18.200.0/31")},
		{Password: pw, Pool: netip.MustParsePrefix("10.0.0.0/8")},
		{Password: pw, Pool: l2tpPool, DNS: []netip.Addr{netip.MustParseAddr("2001:db8::53")}},
		{Password: pw, Pool: l2tpPool, LocalAddr: netip.MustParseAddr("2001:db8::1")},
	} {
		net := esptest.NewNetwork()
		if g, err := NewGateway(GatewayConfig{TUN: tuntest.NewChannel(0), Bind: net.NewBind(outerB), L2TP: &c}); err == nil {
			g.Close()
			t.Errorf("config %+v accepted", c)
		}
	}
}

// discardTUN is a TUN device that drops what is written to it without
// allocating; its Read blocks until Close.
type discardTUN struct{ done chan struct{} }

func (d *discardTUN) File() *os.File { return nil }
func (d *discardTUN) Read([][]byte, []int, int) (int, error) {
	<-d.done
	return 0, os.ErrClosed
}
func (d *discardTUN) Write(bufs [][]byte, _ int) (int, error) { return len(bufs), nil }
func (d *discardTUN) MTU() (int, error)                       { return 1400, nil }
func (d *discardTUN) Name() (string, error)                   { return "discard", nil }
func (d *discardTUN) Events() <-chan tun.Event                { return nil }
func (d *discardTUN) Close() error                            { close(d.done); return nil }
func (d *discardTUN) BatchSize() int                          { return 1 }

// TestL2TPZeroAllocs: the per-packet paths allocate nothing: a packet for a
// client from the TUN device (engine handler, AppendIP, ESP seal, Bind), and
// a packet from a client (l2tp.Server data path, source check, WriteTUN).
func TestL2TPZeroAllocs(t *testing.T) {
	if l2tpRace {
		t.Skip("allocation counts are meaningless under -race (sync.Pool drops items)")
	}
	r := newL2TPRig(t, l2tpPool, &discardTUN{done: make(chan struct{})})
	p := r.mustDial(outerA, "alice", 0)
	s := r.gw.L2TP()
	// From now on the network drops everything: the client side stays
	// idle and only the gateway's path is measured.
	r.net.SetFilter(func(from, to esp.Endpoint, pkt []byte) esptest.Verdict { return esptest.Drop })
	toClient := tuntest.Ping(l2tpServer, p.c.Addr(), 1, 1, make([]byte, 1000))
	fromClient := p.c.AppendIPDatagram(nil, tuntest.Ping(p.c.Addr(), l2tpServer, 1, 1, make([]byte, 1000)))
	from := esp.LocalAddr{PolicyID: p.policy, Peer: netip.AddrPortFrom(outerA, L2TPPort)}
	buf := make([]byte, len(fromClient))
	before := s.Stats()
	allocs := testing.AllocsPerRun(200, func() {
		s.fromTUN(toClient)
		copy(buf, fromClient) // as the LocalConn hands it over
		s.handleDatagram(buf, from)
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per packet each way", allocs)
	}
	after := s.Stats()
	if after.ToClients-before.ToClients < 200 || after.FromClients-before.FromClients < 200 || after.Dropped+after.Spoofed+after.SendErrors != 0 {
		t.Fatalf("stats before %+v, after %+v", before, after)
	}
}

// tcpSYN returns an IPv4 TCP SYN from src to dst with an MSS option,
// built with gopacket.
func tcpSYN(t *testing.T, src, dst netip.Addr, mss uint16) []byte {
	t.Helper()
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 443, SYN: true, Window: 65535,
		Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: binary.BigEndian.AppendUint16(nil, mss)}}}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, tcp); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// synMSS decodes a TCP SYN with gopacket, checks its checksum and returns
// its MSS.
func synMSS(t *testing.T, pkt []byte) uint16 {
	t.Helper()
	p := gopacket.NewPacket(pkt, layers.LayerTypeIPv4, gopacket.Default)
	ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if ip == nil || tcp == nil || !tcp.SYN {
		t.Fatalf("not a TCP SYN: %x", pkt)
	}
	// Recompute the checksum over the packet as received.
	want := tcp.Checksum
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, tcp, gopacket.Payload(tcp.Payload)); err != nil {
		t.Fatal(err)
	}
	if got := binary.BigEndian.Uint16(buf.Bytes()[16:]); got != want {
		t.Fatalf("TCP checksum %#04x, want %#04x", want, got)
	}
	for _, o := range tcp.Options {
		if o.OptionType == layers.TCPOptionKindMSS && len(o.OptionData) == 2 {
			return binary.BigEndian.Uint16(o.OptionData)
		}
	}
	t.Fatalf("no MSS option: %x", pkt)
	return 0
}

// TestL2TPMSSClamp: TCP SYNs both ways are clamped to what fits one outer
// packet of the path MTU (1500 less 113 octets of L2TP/IPsec: 1387, MSS
// 1347), with valid checksums, as xl2tpd deployments need iptables for.
func TestL2TPMSSClamp(t *testing.T) {
	r := newL2TPRig(t, l2tpPool, nil)
	c := r.mustDial(outerA, "alice", ppp.AuthMSCHAPv2).c
	if err := c.SendIP(tcpSYN(t, c.Addr(), l2tpServer, 1460)); err != nil {
		t.Fatal(err)
	}
	if mss := synMSS(t, r.tunPacket()); mss != 1347 {
		t.Errorf("client's SYN: MSS %d, want 1347", mss)
	}
	r.dev.Inbound <- tcpSYN(t, l2tpServer, c.Addr(), 1460)
	if mss := synMSS(t, clientPacket(t, c)); mss != 1347 {
		t.Errorf("SYN to the client: MSS %d, want 1347", mss)
	}
	r.dev.Inbound <- tcpSYN(t, l2tpServer, c.Addr(), 1200)
	if mss := synMSS(t, clientPacket(t, c)); mss != 1200 {
		t.Errorf("a smaller MSS was changed to %d", mss)
	}
}

// TestL2TPSetAtRuntime: Gateway.SetL2TP replaces the running service (a
// reload with another pool): the connected client gets a StopCCN, a new
// client an address of the new pool; nil stops the service and frees the
// engine's UDP port 1701 and the clients' addresses.
func TestL2TPSetAtRuntime(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	r := newL2TPRig(t, l2tpPool, nil)
	old := r.mustDial(outerA, "alice", ppp.AuthMSCHAPv2)
	if !l2tpPool.Contains(old.c.Addr()) {
		t.Fatalf("first client %v, not of %v", old.c.Addr(), l2tpPool)
	}
	pool2 := netip.MustParsePrefix("198.18.201.0/28")
	cfg := &L2TPConfig{
		Password: func(u string) (string, bool) { p, ok := l2tpUsers[u]; return p, ok },
		Pool:     pool2,
		OnEvent: func(ev l2tp.Event) {
			select {
			case r.events <- ev:
			default:
			}
		},
	}
	svc := r.gw.L2TP()
	if err := r.gw.SetL2TP(cfg); err != nil {
		t.Fatal(err)
	}
	select {
	case <-old.c.Done():
	case <-time.After(l2tpWait):
		t.Fatal("the client of the replaced service got no StopCCN")
	}
	if r.gw.L2TP() == svc || r.gw.L2TP() == nil {
		t.Fatal("the service was not replaced")
	}
	p := r.mustDial(netip.MustParseAddr("198.51.100.3"), "bob", ppp.AuthMSCHAPv2)
	if !pool2.Contains(p.c.Addr()) {
		t.Fatalf("new client %v, not of the new pool %v", p.c.Addr(), pool2)
	}
	if err := r.gw.SetL2TP(nil); err != nil {
		t.Fatal(err)
	}
	if r.gw.L2TP() != nil || len(r.gw.Engine().LocalAddrs()) != 0 {
		t.Fatalf("after SetL2TP(nil): service %v, local addresses %v", r.gw.L2TP(), r.gw.Engine().LocalAddrs())
	}
	conn, err := r.gw.Engine().ListenLocal(L2TPPort)
	if err != nil {
		t.Fatalf("port 1701 still taken: %v", err)
	}
	conn.Close()
}
