package esp_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/esp/esptest"
	"github.com/ikego/ikego/internal/leakcheck"
	"github.com/ikego/ikego/tun/tuntest"
)

var (
	outerA = netip.MustParseAddr("198.51.100.1")
	outerB = netip.MustParseAddr("198.51.100.2")
	hostA  = netip.MustParseAddr("198.18.2.1")
	hostB  = netip.MustParseAddr("203.0.113.1")
	netA   = netip.MustParsePrefix("198.18.2.0/24")
	netB   = netip.MustParsePrefix("203.0.113.0/26")
)

// side is one engine with an in-memory TUN device.
type side struct {
	e   *esp.Engine
	dev *tuntest.Channel
}

// pair returns two running engines joined by an in-memory network, with
// policy 1 between netA and netB on both and no SAs.
func pair(t *testing.T, pathMTU int) (a, b side, network *esptest.Network) {
	t.Helper()
	leakcheck.Check(t, 5*time.Second)
	network = esptest.NewNetwork()
	mk := func(outer netip.Addr, local, remote netip.Prefix) side {
		dev := tuntest.ChannelConfig{Queue: 4096}.New()
		e, err := esp.NewEngine(esp.EngineConfig{TUN: dev, Bind: network.NewBind(outer), PathMTU: pathMTU})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.SetPolicy(esp.Policy{ID: 1, Priority: 100, Action: esp.ActionProtect,
			Local: []esp.Selector{esp.SelectorFromPrefix(local)}, Remote: []esp.Selector{esp.SelectorFromPrefix(remote)}}); err != nil {
			t.Fatal(err)
		}
		if err := e.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		return side{e, dev}
	}
	return mk(outerA, netA, netB), mk(outerB, netB, netA), network
}

func params(spi uint32, local, remote netip.Addr) esp.SAParams {
	k := make([]byte, 20)
	binary.BigEndian.PutUint32(k, spi)
	return esp.SAParams{SPI: spi, Encr: esp.EncrAESGCM16, EncrKey: k, ReplayWindow: 4096,
		Local: netip.AddrPortFrom(local, 0), Remote: netip.AddrPortFrom(remote, 4500)}
}

// connect installs the SA pair spi (A to B) on both engines.
func connect(t *testing.T, a, b side, spi uint32, life esp.Lifetime) {
	t.Helper()
	if _, err := b.e.AddSA(esp.DirIn, params(spi, outerB, outerA), 1, esp.Lifetime{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.e.AddSA(esp.DirOut, params(spi, outerA, outerB), 1, life); err != nil {
		t.Fatal(err)
	}
}

// udp returns an IPv4 UDP packet from hostA to hostB carrying n as its
// first payload octets.
func udp(n uint32, size int) []byte {
	payload := make([]byte, size)
	binary.BigEndian.PutUint32(payload, n)
	return tuntest.UDP(netip.AddrPortFrom(hostA, 1000), netip.AddrPortFrom(hostB, 2000), payload)
}

func recv(t *testing.T, s side, d time.Duration) []byte {
	t.Helper()
	select {
	case p := <-s.dev.Outbound:
		return p
	case <-time.After(d):
		t.Fatalf("no packet within %v", d)
		return nil
	}
}

func waitEvent(t *testing.T, e *esp.Engine, kind esp.EventKind) esp.Event {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev := <-e.Events():
			if ev.Kind == kind {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %v event within 5s", kind)
		}
	}
}

// TestEngineRekeyNoLoss streams packets from A to B while the SA pair is
// replaced again and again, make-before-break as IKE does it: the new
// inbound SA first, then the new outbound one (the old outbound SA goes at
// once), and the old inbound SA only once traffic arrives on the new one. No
// packet may be lost.
func TestEngineRekeyNoLoss(t *testing.T) {
	a, b, network := pair(t, 0)
	connect(t, a, b, 0x1000, esp.Lifetime{})
	const total, rekeys = 20000, 15
	// At most 256 packets in flight: the in-memory network drops at a full
	// queue as a real one does, and this test is about rekeying, not
	// congestion.
	credits := make(chan struct{}, 256)
	go func() {
		for i := range uint32(total) {
			select {
			case credits <- struct{}{}:
			case <-a.dev.Done():
				return
			}
			select {
			case a.dev.Inbound <- udp(i, 100):
			case <-a.dev.Done():
				return
			}
		}
	}()
	seen := make([]bool, total)
	n, spi, pendingOld := 0, uint32(0x1000), uint32(0)
	deadline := time.After(30 * time.Second)
	for n < total {
		select {
		case p := <-b.dev.Outbound:
			if _, _, payload, ok := tuntest.ParseUDP(p); ok {
				if i := binary.BigEndian.Uint32(payload); i < total && !seen[i] {
					seen[i] = true
					n++
					<-credits
				}
			}
		case <-deadline:
			t.Fatalf("%d of %d packets arrived; A %+v, B %+v, network %+v", n, total, a.e.Stats(), b.e.Stats(), network.Stats())
		}
		if pendingOld != 0 {
			if sa, ok := b.e.SA(esp.InSA(spi)); ok && sa.Stats().Packets > 0 {
				if !b.e.DeleteSA(esp.InSA(pendingOld)) {
					t.Fatal("old inbound SA missing")
				}
				pendingOld = 0
			}
		}
		if pendingOld == 0 && n%(total/rekeys) == 0 && n < total {
			next := spi + 1
			if _, err := b.e.AddSA(esp.DirIn, params(next, outerB, outerA), 1, esp.Lifetime{}); err != nil {
				t.Fatal(err)
			}
			if _, err := a.e.AddSA(esp.DirOut, params(next, outerA, outerB), 1, esp.Lifetime{}); err != nil {
				t.Fatal(err)
			}
			if !a.e.DeleteSA(esp.OutSA(1, spi)) {
				t.Fatal("old outbound SA missing")
			}
			pendingOld, spi = spi, next
		}
	}
	if spi < 0x1000+rekeys-1 {
		t.Fatalf("only %d rekeys happened", spi-0x1000)
	}
	if st := b.e.Stats(); st.UnknownSPI != 0 || st.OpenErrors != 0 {
		t.Fatalf("B: %+v", st)
	}
}

// TestEngineTrapAcquire: traffic for a policy without an SA raises an
// Acquire and is held; the SA's arrival releases it.
func TestEngineTrapAcquire(t *testing.T) {
	a, b, _ := pair(t, 0)
	for i := range uint32(3) {
		a.dev.Inbound <- udp(i, 10)
	}
	ev := waitEvent(t, a.e, esp.EventAcquire)
	if ev.PolicyID != 1 || ev.Flow.Dst != hostB || ev.Flow.Proto != esp.ProtoUDP || ev.Flow.DstPort != 2000 {
		t.Fatalf("acquire %+v", ev)
	}
	// The SA pair arrives: the held packets follow.
	connect(t, a, b, 0x2000, esp.Lifetime{})
	for range 3 {
		recv(t, b, 5*time.Second)
	}
	if st := a.e.Stats(); st.Held != 3 {
		t.Fatalf("held %d, want 3", st.Held)
	}
}

// TestEngineHoldBound: at most HoldPackets are held per policy.
func TestEngineHoldBound(t *testing.T) {
	a, _, _ := pair(t, 0)
	for i := range uint32(20) {
		a.dev.Inbound <- udp(i, 10)
	}
	waitEvent(t, a.e, esp.EventAcquire)
	deadline := time.Now().Add(5 * time.Second)
	for a.e.Stats().Held+a.e.Stats().HeldDropped < 20 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if st := a.e.Stats(); st.Held != 8 || st.HeldDropped != 12 {
		t.Fatalf("held %d dropped %d, want 8 and 12", st.Held, st.HeldDropped)
	}
}

// TestEngineLifetimePackets: soft then hard expiry by packet count; after
// the hard limit the SA is gone and traffic raises an Acquire.
func TestEngineLifetimePackets(t *testing.T) {
	a, b, _ := pair(t, 0)
	connect(t, a, b, 0x3000, esp.Lifetime{SoftPackets: 5, HardPackets: 10})
	for i := range uint32(5) {
		a.dev.Inbound <- udp(i, 10)
		recv(t, b, 5*time.Second)
	}
	ev := waitEvent(t, a.e, esp.EventSoftExpire)
	if ev.SPI != 0x3000 || ev.Dir != esp.DirOut || ev.SA() != esp.OutSA(1, 0x3000) {
		t.Fatalf("soft expire %+v", ev)
	}
	for i := range uint32(5) {
		a.dev.Inbound <- udp(5+i, 10)
		recv(t, b, 5*time.Second)
	}
	waitEvent(t, a.e, esp.EventHardExpire)
	if _, ok := a.e.SA(esp.OutSA(1, 0x3000)); ok {
		t.Fatal("SA still installed after its hard expiry")
	}
	a.dev.Inbound <- udp(99, 10)
	waitEvent(t, a.e, esp.EventAcquire)
}

// TestEngineLifetimeTime: time lifetimes with a controlled clock.
func TestEngineLifetimeTime(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	network := esptest.NewNetwork()
	dev := tuntest.NewChannel(0)
	e, err := esp.NewEngine(esp.EngineConfig{TUN: dev, Bind: network.NewBind(outerA), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := e.AddSA(esp.DirIn, params(0x4000, outerA, outerB), 1, esp.Lifetime{SoftTime: time.Hour, HardTime: 2 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	e.CheckLifetimes()
	now = now.Add(61 * time.Minute)
	e.CheckLifetimes()
	if ev := waitEvent(t, e, esp.EventSoftExpire); ev.SPI != 0x4000 || ev.Dir != esp.DirIn {
		t.Fatalf("%+v", ev)
	}
	now = now.Add(time.Hour)
	e.CheckLifetimes()
	waitEvent(t, e, esp.EventHardExpire)
	if _, ok := e.SA(esp.InSA(0x4000)); ok {
		t.Fatal("inbound SA still installed after its hard expiry")
	}
}

// TestEngineRetireSA: a retired SA stays until its deadline (to open the
// packets still on their way after a rekey's delete), then goes without
// an Expire event; a zero delay removes it at once; an SPI installed
// anew under the same number is not removed by the old deadline.
func TestEngineRetireSA(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	network := esptest.NewNetwork()
	dev := tuntest.NewChannel(0)
	e, err := esp.NewEngine(esp.EngineConfig{TUN: dev, Bind: network.NewBind(outerA), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, spi := range []uint32{0x4100, 0x4200, 0x4300} {
		if _, err := e.AddSA(esp.DirIn, params(spi, outerA, outerB), 1, esp.Lifetime{}); err != nil {
			t.Fatal(err)
		}
	}
	if e.RetireSA(esp.InSA(0x9999), time.Second) {
		t.Error("retired an SA that is not there")
	}
	if !e.RetireSA(esp.InSA(0x4100), 5*time.Second) || !e.RetireSA(esp.InSA(0x4200), 0) || !e.RetireSA(esp.InSA(0x4300), 5*time.Second) {
		t.Fatal("RetireSA")
	}
	if _, ok := e.SA(esp.InSA(0x4200)); ok {
		t.Error("a zero delay did not remove the SA")
	}
	// 0x4300 is deleted and installed again before the deadline.
	e.DeleteSA(esp.InSA(0x4300))
	if _, err := e.AddSA(esp.DirIn, params(0x4300, outerA, outerB), 1, esp.Lifetime{}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(4 * time.Second)
	e.CheckLifetimes()
	if _, ok := e.SA(esp.InSA(0x4100)); !ok {
		t.Fatal("retired before its deadline")
	}
	now = now.Add(2 * time.Second)
	e.CheckLifetimes()
	if _, ok := e.SA(esp.InSA(0x4100)); ok {
		t.Error("still there after its deadline")
	}
	if _, ok := e.SA(esp.InSA(0x4300)); !ok {
		t.Error("the old deadline removed the SA installed again")
	}
	select {
	case ev := <-e.Events():
		t.Errorf("event %+v", ev)
	default:
	}
}

// TestEngineInboundPolicyCheck: a decrypted packet whose inner addresses
// are outside its SA's policy is dropped (RFC 4301 §5.2).
func TestEngineInboundPolicyCheck(t *testing.T) {
	a, b, _ := pair(t, 0)
	connect(t, a, b, 0x5000, esp.Lifetime{})
	// A's policy is widened to any destination; B's policy covers only
	// netA -> netB.
	if err := a.e.SetPolicy(esp.Policy{ID: 1, Priority: 100, Action: esp.ActionProtect,
		Local: []esp.Selector{esp.SelectorFromPrefix(netA)}, Remote: []esp.Selector{esp.SelectorFromPrefix(netip.MustParsePrefix("0.0.0.0/0"))}}); err != nil {
		t.Fatal(err)
	}
	a.dev.Inbound <- tuntest.UDP(netip.MustParseAddrPort("198.18.2.1:1"), netip.MustParseAddrPort("198.18.99.1:2"), []byte("outside"))
	a.dev.Inbound <- udp(1, 10) // inside: must arrive
	recv(t, b, 5*time.Second)
	if st := b.e.Stats(); st.PolicyMismatch != 1 {
		t.Fatalf("policy mismatches %d, want 1", st.PolicyMismatch)
	}
}

// tcpSYN returns an IPv4 TCP SYN from hostA to hostB with an MSS option.
func tcpSYN(mss uint16) []byte {
	pkt := make([]byte, 20+24)
	pkt[0], pkt[8], pkt[9] = 0x45, 64, esp.ProtoTCP
	binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
	copy(pkt[12:], hostA.AsSlice())
	copy(pkt[16:], hostB.AsSlice())
	binary.BigEndian.PutUint16(pkt[10:], ^sum(pkt[:20], 0))
	tcp := pkt[20:]
	binary.BigEndian.PutUint16(tcp[0:], 40000)
	binary.BigEndian.PutUint16(tcp[2:], 80)
	tcp[12] = 6 << 4 // 24-octet header
	tcp[13] = 0x02   // SYN
	binary.BigEndian.PutUint16(tcp[14:], 65535)
	tcp[20], tcp[21] = 2, 4
	binary.BigEndian.PutUint16(tcp[22:], mss)
	binary.BigEndian.PutUint16(tcp[16:], ^tcpSum(pkt))
	return pkt
}

func sum(b []byte, s uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}

// tcpSum is the sum of an IPv4 packet's TCP segment and pseudo-header.
func tcpSum(pkt []byte) uint16 {
	seg := pkt[20:]
	s := uint32(esp.ProtoTCP) + uint32(len(seg))
	for i := 12; i < 20; i += 2 {
		s += uint32(pkt[i])<<8 | uint32(pkt[i+1])
	}
	return sum(seg, s)
}

// TestEngineMSSClamp: a SYN's MSS is lowered to what fits the tunnel, with
// a valid checksum.
func TestEngineMSSClamp(t *testing.T) {
	a, b, _ := pair(t, 1400)
	connect(t, a, b, 0x6000, esp.Lifetime{})
	a.dev.Inbound <- tcpSYN(1460)
	p := recv(t, b, 5*time.Second)
	mss := binary.BigEndian.Uint16(p[20+22:])
	// 1400 - 20 (IPv4) - 8 (UDP) - 8 (ESP header) - 8 (IV) - 16 (ICV),
	// rounded down to 4, - 2 (trailer) = 1338 inner; - 40 = 1298.
	if mss != 1298 {
		t.Fatalf("MSS %d, want 1298", mss)
	}
	if tcpSum(p) != 0xffff {
		t.Fatal("TCP checksum wrong after clamping")
	}
	a.dev.Inbound <- tcpSYN(1000) // small enough: untouched
	if p := recv(t, b, 5*time.Second); binary.BigEndian.Uint16(p[20+22:]) != 1000 {
		t.Fatal("a small MSS was changed")
	}
	if st := a.e.Stats(); st.MSSClamped != 1 {
		t.Fatalf("clamped %d, want 1", st.MSSClamped)
	}
}

// TestClampMSS: the exported clamp lowers a SYN's MSS to what fits a
// given MTU with a valid checksum, and leaves alone a smaller MSS, a
// segment that is not a SYN, a fragment and what is not TCP.
func TestClampMSS(t *testing.T) {
	p := tcpSYN(1460)
	if !esp.ClampMSS(p, 1387) || binary.BigEndian.Uint16(p[20+22:]) != 1347 || tcpSum(p) != 0xffff {
		t.Fatalf("clamped to %d, checksum %#x", binary.BigEndian.Uint16(p[20+22:]), tcpSum(p))
	}
	for name, p := range map[string][]byte{
		"small MSS": tcpSYN(1200),
		"not a SYN": func() []byte { p := tcpSYN(1460); p[20+13] = 0x10; return p }(),
		"fragment":  func() []byte { p := tcpSYN(1460); p[6] = 0x20; p[7] = 8; return p }(),
		"UDP":       func() []byte { p := tcpSYN(1460); p[9] = esp.ProtoUDP; return p }(),
		"truncated": tcpSYN(1460)[:30],
	} {
		before := bytes.Clone(p)
		if esp.ClampMSS(p, 1387) || !bytes.Equal(p, before) {
			t.Errorf("%s: changed", name)
		}
	}
}

// TestEngineTooBig: an IPv4 packet with DF that does not fit is answered
// with ICMP "fragmentation needed" carrying the tunnel's MTU; IPv6 with
// "packet too big".
func TestEngineTooBig(t *testing.T) {
	a, b, _ := pair(t, 1400)
	connect(t, a, b, 0x7000, esp.Lifetime{})
	big := udp(1, 1400)
	big[6] |= 0x40 // DF
	binary.BigEndian.PutUint16(big[10:], 0)
	binary.BigEndian.PutUint16(big[10:], ^sum(big[:20], 0))
	a.dev.Inbound <- big
	reply := recv(t, a, 5*time.Second)
	if reply[9] != esp.ProtoICMP || reply[20] != 3 || reply[21] != 4 {
		t.Fatalf("not an ICMP fragmentation needed: %x", reply[:28])
	}
	if mtu := binary.BigEndian.Uint16(reply[26:]); mtu != 1338 {
		t.Fatalf("next-hop MTU %d, want 1338", mtu)
	}
	if netip.AddrFrom4([4]byte(reply[16:20])) != hostA || sum(reply[20:], 0) != 0xffff || sum(reply[:20], 0) != 0xffff {
		t.Fatal("ICMP reply addressed or summed wrong")
	}
	// Without DF the packet goes through (the outer packet fragments).
	small := udp(2, 1400)
	small[6] &^= 0x40
	binary.BigEndian.PutUint16(small[10:], 0)
	binary.BigEndian.PutUint16(small[10:], ^sum(small[:20], 0))
	a.dev.Inbound <- small
	if p := recv(t, b, 5*time.Second); len(p) != 1428 {
		t.Fatalf("got %d octets, want 1428", len(p))
	}
	if st := a.e.Stats(); st.TooBig != 1 {
		t.Fatalf("too big %d, want 1", st.TooBig)
	}
}

// TestEngineLocalConn: SAs that terminate in-process, as L2TP's do:
// datagrams to the local port reach the LocalConn, replies go back through
// the peer's SA; with transport-mode SAs, and with tunnel-mode SAs between
// the two hosts themselves (as some L2TP/IPsec clients negotiate), whose
// datagrams travel in IP packets between the SAs' own addresses.
func TestEngineLocalConn(t *testing.T) {
	for _, mode := range []esp.Mode{esp.ModeTransport, esp.ModeTunnel} {
		t.Run(mode.String(), func(t *testing.T) { testEngineLocalConn(t, mode) })
	}
}

func testEngineLocalConn(t *testing.T, mode esp.Mode) {
	leakcheck.Check(t, 5*time.Second)
	network := esptest.NewNetwork()
	mk := func(outer netip.Addr) (*esp.Engine, *tuntest.Channel) {
		dev := tuntest.NewChannel(0)
		e, err := esp.NewEngine(esp.EngineConfig{TUN: dev, Bind: network.NewBind(outer)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		return e, dev
	}
	ea, _ := mk(outerA)
	eb, devB := mk(outerB)
	host := func(a netip.Addr) []esp.Selector {
		return []esp.Selector{esp.SelectorFromPrefix(netip.PrefixFrom(a, 32))}
	}
	for _, x := range []struct {
		e             *esp.Engine
		local, remote netip.Addr
		out, in       uint32
	}{{ea, outerA, outerB, 0x8001, 0x8002}, {eb, outerB, outerA, 0x8002, 0x8001}} {
		if err := x.e.SetPolicy(esp.Policy{ID: 7, Action: esp.ActionProtect, Local: host(x.local), Remote: host(x.remote)}); err != nil {
			t.Fatal(err)
		}
		for _, sa := range []struct {
			dir esp.Direction
			spi uint32
		}{{esp.DirOut, x.out}, {esp.DirIn, x.in}} {
			p := params(sa.spi, x.local, x.remote)
			p.Mode = mode
			if _, err := x.e.AddSA(sa.dir, p, 7, esp.Lifetime{}); err != nil {
				t.Fatal(err)
			}
		}
		if err := x.e.Start(); err != nil {
			t.Fatal(err)
		}
	}
	ca, err := ea.ListenLocal(1701)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close()
	cb, err := eb.ListenLocal(1701)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	if _, err := eb.ListenLocal(1701); err == nil {
		t.Fatal("a second listener on one port was accepted")
	}
	if _, err := ca.WriteTo([]byte("hello LNS"), esp.LocalAddr{PolicyID: 7, Peer: netip.AddrPortFrom(outerB, 1701)}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cb.Close()
			ca.Close()
		}
	}()
	defer close(done)
	n, from, err := cb.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	if string(buf[:n]) != "hello LNS" || from.PolicyID != 7 || from.Peer != netip.AddrPortFrom(outerA, 1701) {
		t.Fatalf("got %q from %v", buf[:n], from)
	}
	if _, err := cb.WriteTo([]byte("hello LAC"), from); err != nil {
		t.Fatal(err)
	}
	n, from, err = ca.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "hello LAC" || from.Peer != netip.AddrPortFrom(outerB, 1701) {
		t.Fatalf("reply %q from %v: %v", buf[:n], from, err)
	}
	select {
	case p := <-devB.Outbound:
		t.Fatalf("a local datagram reached the TUN device: %x", p)
	default:
	}
}

// TestEngineAllocSPI: SPIs are random, above the reserved range, never
// handed out twice while allocated or installed, and reusable once released.
func TestEngineAllocSPI(t *testing.T) {
	network := esptest.NewNetwork()
	// A source that repeats itself: the engine must skip SPIs in use.
	rnd := &repeatRand{vals: []uint32{7, 0x1000, 0x1000, 0x2000, 0x1000, 0x3000}}
	e, err := esp.NewEngine(esp.EngineConfig{TUN: tuntest.NewChannel(0), Bind: network.NewBind(outerA), Rand: rnd})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	a, err := e.AllocSPI()
	if err != nil || a != 0x1000 {
		t.Fatalf("first SPI %#x, %v; want 0x1000 (7 is reserved)", a, err)
	}
	b, _ := e.AllocSPI()
	if b != 0x2000 {
		t.Fatalf("second SPI %#x, want 0x2000 (0x1000 is allocated)", b)
	}
	if _, err := e.AddSA(esp.DirIn, params(a, outerA, outerB), 1, esp.Lifetime{}); err != nil {
		t.Fatal(err)
	}
	c, _ := e.AllocSPI()
	if c != 0x3000 {
		t.Fatalf("third SPI %#x, want 0x3000 (0x1000 is installed)", c)
	}
	e.ReleaseSPI(b)
	rnd.vals = []uint32{0x2000}
	if d, _ := e.AllocSPI(); d != 0x2000 {
		t.Fatalf("released SPI not reusable: got %#x", d)
	}
	rnd.vals = []uint32{0x1000}
	if _, err := e.AllocSPI(); err == nil {
		t.Fatal("an SPI in use was handed out")
	}
}

// repeatRand yields its values as big-endian uint32s, the last one forever.
type repeatRand struct{ vals []uint32 }

func (r *repeatRand) Read(p []byte) (int, error) {
	for i := 0; i+4 <= len(p); i += 4 {
		binary.BigEndian.PutUint32(p[i:], r.vals[0])
		if len(r.vals) > 1 {
			r.vals = r.vals[1:]
		}
	}
	return len(p), nil
}

// TestEngineUpdateSA: after an endpoint update, packets go to the new peer
// address.
func TestEngineUpdateSA(t *testing.T) {
	a, b, network := pair(t, 0)
	connect(t, a, b, 0x9000, esp.Lifetime{})
	a.dev.Inbound <- udp(1, 10)
	recv(t, b, 5*time.Second)
	moved := netip.MustParseAddr("198.51.100.3")
	c := network.NewBind(moved)
	recvs, err := c.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := a.e.UpdateSA(esp.OutSA(1, 0x9000), netip.AddrPortFrom(outerA, 4500), netip.AddrPortFrom(moved, 4500)); err != nil {
		t.Fatal(err)
	}
	if err := a.e.UpdateSA(esp.OutSA(1, 0x9999), netip.AddrPortFrom(outerA, 4500), netip.AddrPortFrom(moved, 4500)); err == nil {
		t.Fatal("updating an unknown SA succeeded")
	}
	a.dev.Inbound <- udp(2, 10)
	got := make(chan esp.Endpoint, 1)
	go func() {
		bufs, sizes, eps := [][]byte{make([]byte, 2048)}, []int{0}, []esp.Endpoint{{}}
		for _, r := range recvs {
			if n, err := r(bufs, sizes, eps); err == nil && n > 0 {
				got <- eps[0]
				return
			}
		}
	}()
	select {
	case ep := <-got:
		if ep.Remote.Addr() != outerA || ep.Local.Addr() != moved {
			t.Fatalf("datagram %v", ep)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing reached the new address")
	}
}

// TestEngineDemux: on the NAT-T port the engine tells IKE (behind the
// non-ESP marker), NAT keepalives and ESP apart; everything on the IKE port
// is IKE.
func TestEngineDemux(t *testing.T) {
	leakcheck.Check(t, 5*time.Second)
	network := esptest.NewNetwork()
	type ike struct {
		pkt []byte
		ep  esp.Endpoint
	}
	got := make(chan ike, 4)
	e, err := esp.NewEngine(esp.EngineConfig{TUN: tuntest.NewChannel(0), Bind: network.NewBind(outerB),
		IKE: func(pkt []byte, ep esp.Endpoint) { got <- ike{append([]byte(nil), pkt...), ep} }})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	peer := network.NewBind(outerA)
	if _, err := peer.Open(); err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	send := func(port uint16, d []byte) {
		t.Helper()
		ep := esp.Endpoint{Local: netip.AddrPortFrom(outerA, port), Remote: netip.AddrPortFrom(outerB, port)}
		if err := peer.Send([][]byte{d}, ep); err != nil {
			t.Fatal(err)
		}
	}
	msg := []byte("an IKE message, 28 octets or more")
	send(500, msg)
	send(4500, append([]byte{0, 0, 0, 0}, msg...))
	send(4500, []byte{0xff})                            // keepalive
	send(4500, []byte{0, 0, 0x99, 0x99, 0, 0, 0, 1, 9}) // ESP with an unknown SPI
	ports := map[uint16]bool{}
	for range 2 { // the two ports have their own receivers: any order
		select {
		case m := <-got:
			if string(m.pkt) != string(msg) || m.ep.Remote.Addr() != outerA {
				t.Fatalf("IKE: %q from %v", m.pkt, m.ep)
			}
			ports[m.ep.Local.Port()] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("IKE messages arrived on %v only", ports)
		}
	}
	if !ports[500] || !ports[4500] {
		t.Fatalf("IKE messages arrived on %v, want 500 and 4500", ports)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := e.Stats()
		if st.Keepalives == 1 && st.UnknownSPI == 1 && st.IKE == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestEngineOutboundSPIPerPolicy: peers choose outbound SPIs, so two peers
// may choose the same one; the engine keeps both SAs apart by their policy,
// and removing or moving one leaves the other working.
func TestEngineOutboundSPIPerPolicy(t *testing.T) {
	a, b, _ := pair(t, 0)
	other := netip.MustParsePrefix("198.18.3.0/24")
	if err := a.e.SetPolicy(esp.Policy{ID: 2, Priority: 100, Action: esp.ActionProtect,
		Local: []esp.Selector{esp.SelectorFromPrefix(netA)}, Remote: []esp.Selector{esp.SelectorFromPrefix(other)}}); err != nil {
		t.Fatal(err)
	}
	connect(t, a, b, 0x5000, esp.Lifetime{})
	second := netip.MustParseAddr("198.51.100.9")
	if _, err := a.e.AddSA(esp.DirOut, params(0x5000, outerA, second), 2, esp.Lifetime{}); err != nil {
		t.Fatalf("the same outbound SPI for another policy: %v", err)
	}
	if _, err := a.e.AddSA(esp.DirOut, params(0x5000, outerA, outerB), 1, esp.Lifetime{}); err == nil {
		t.Fatal("a second outbound SA with the same SPI and policy was installed")
	}
	one, ok1 := a.e.SA(esp.OutSA(1, 0x5000))
	two, ok2 := a.e.SA(esp.OutSA(2, 0x5000))
	if !ok1 || !ok2 || one == two {
		t.Fatalf("outbound SAs of policies 1 and 2: %v %v, distinct %v", ok1, ok2, one != two)
	}
	if _, ok := a.e.SA(esp.OutSA(3, 0x5000)); ok {
		t.Fatal("found an outbound SA for a policy without one")
	}
	if err := a.e.UpdateSA(esp.OutSA(2, 0x5000), netip.AddrPortFrom(outerA, 4500), netip.AddrPortFrom(second, 4501)); err != nil {
		t.Fatal(err)
	}
	if !a.e.DeleteSA(esp.OutSA(2, 0x5000)) || a.e.DeleteSA(esp.OutSA(2, 0x5000)) {
		t.Fatal("DeleteSA of policy 2's SA")
	}
	// Policy 1's SA with the same SPI still carries traffic.
	a.dev.Inbound <- udp(1, 10)
	recv(t, b, 5*time.Second)
	if _, ok := a.e.SA(esp.OutSA(1, 0x5000)); !ok {
		t.Fatal("policy 1's SA went with policy 2's")
	}
}
