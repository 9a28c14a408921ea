package bench

import (
	"bytes"
	"crypto/ecdh"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/conn/bindtest"
	"golang.zx2c4.com/wireguard/device"

	"github.com/ikego/ikego"
	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/esp/esptest"
	"github.com/ikego/ikego/internal/leakcheck"
	"github.com/ikego/ikego/tun"
	"github.com/ikego/ikego/tun/tuntest"
)

// Two sites joined by a tunnel, addressed as in the project's other tests
// (DESIGN.md, "Test addresses"): A sends from 198.18.2.0/24 to B's
// 203.0.113.0/26 over the outer addresses 198.51.100.1 and .2.
var (
	outerA  = netip.MustParseAddr("198.51.100.1")
	outerB  = netip.MustParseAddr("198.51.100.2")
	prefixA = netip.MustParsePrefix("198.18.2.0/24")
	prefixB = netip.MustParsePrefix("203.0.113.0/26")
	hostA   = netip.MustParseAddrPort("198.18.2.1:40000")
	hostB   = netip.MustParseAddrPort("203.0.113.1:5201")
)

// packetSizes are the IPv4 total lengths of the packets sent: small, middling
// and the largest that fits a 1500-octet path in either tunnel.
var packetSizes = []int{64, 512, 1420}

const (
	// tunMTU and tunBatch describe every in-memory TUN device, for both
	// dataplanes; tuntest.Channel's default batch is 128 as well.
	tunMTU   = 1420
	tunBatch = 128
	// window is the most packets in flight: well under esptest.QueueLen, so
	// that a queue in the network double never overflows, and enough to keep
	// both dataplanes' pipelines full.
	window = 512
	// idle is how long a benchmark waits without a packet arriving before
	// it counts the ones in flight as lost; testIdle is the same for the
	// tests, which CI runs with -race on a busy machine.
	idle     = 5 * time.Second
	testIdle = 15 * time.Second
	// maxLoss is the fraction of lost packets that fails a benchmark.
	maxLoss = 0.01
)

// A rig is a running pair of tunnel ends.
type rig struct {
	stop     func()        // closes both ends, their devices and binds
	counters func() string // the counters to print when packets go missing
}

// A dataplane is a tunnel implementation under test: start joins TUN
// devices a and b with two tunnel ends, so that what is read from a comes
// out of b, and closes them (devices included) when stop is called.
type dataplane struct {
	name  string
	start func(tb testing.TB, a, b tun.Device) *rig
}

// dataplanes are compared in the same run. "wireguard" is the comparable
// rig: wireguard-go over the same in-memory network double as ikego
// (esptest, through wgBind) and the same TUN devices. "wireguard-bindtest"
// is wireguard-go over its own conn/bindtest, which moves one datagram per
// receive call (BatchSize 1) and allocates a copy of each datagram sent;
// it is there to show what that double costs.
var dataplanes = []dataplane{
	{"ikego-aes128gcm", func(tb testing.TB, a, b tun.Device) *rig { return startIkego(tb, a, b, 16+4) }},
	{"ikego-aes256gcm", func(tb testing.TB, a, b tun.Device) *rig { return startIkego(tb, a, b, 32+4) }},
	{"wireguard", func(tb testing.TB, a, b tun.Device) *rig {
		n := esptest.NewNetwork()
		return startWireGuard(tb, a, b, [2]conn.Bind{newWGBind(n, outerA), newWGBind(n, outerB)},
			[2]string{netip.AddrPortFrom(outerB, esptest.NATTPort).String(), netip.AddrPortFrom(outerA, esptest.NATTPort).String()},
			func() string { return fmt.Sprintf("network %+v", n.Stats()) })
	}},
	{"wireguard-bindtest", func(tb testing.TB, a, b tun.Device) *rig {
		// bindtest's first bind sends to endpoint 1, its second to 2; it
		// reads only the port.
		return startWireGuard(tb, a, b, bindtest.NewChannelBinds(), [2]string{outerB.String() + ":1", outerA.String() + ":2"},
			func() string { return "bindtest has no counters" })
	}},
}

// key returns n octets of keying material made from seed.
func key(seed byte, n int) []byte {
	k := make([]byte, n)
	for i := range k {
		k[i] = seed + byte(i)
	}
	return k
}

// startIkego starts two ikego gateways over an esptest network, with a
// tunnel-mode policy between the sites and a pair of AES-GCM SAs (ICV 16,
// keyLen octets of key and salt) in UDP 4500, as a NAT-T peer would.
func startIkego(tb testing.TB, a, b tun.Device, keyLen int) *rig {
	tb.Helper()
	n := esptest.NewNetwork()
	gA := ikegoGateway(tb, a, n.NewBind(outerA), outerA, outerB, prefixA, prefixB, 0x1001, 0x2001, keyLen)
	gB := ikegoGateway(tb, b, n.NewBind(outerB), outerB, outerA, prefixB, prefixA, 0x2001, 0x1001, keyLen)
	for _, g := range []*ikego.Gateway{gA, gB} {
		if err := g.Start(); err != nil {
			gA.Close()
			gB.Close()
			tb.Fatal(err)
		}
	}
	return &rig{
		stop: func() { gA.Close(); gB.Close() },
		counters: func() string {
			return fmt.Sprintf("network %+v\nA engine %+v\nB engine %+v", n.Stats(), gA.Engine().Stats(), gB.Engine().Stats())
		},
	}
}

// ikegoGateway returns a gateway, not started, protecting traffic from
// local to remote with the SA spiOut and from remote with spiIn.
func ikegoGateway(tb testing.TB, dev tun.Device, bind esp.Bind, us, peer netip.Addr, local, remote netip.Prefix, spiOut, spiIn uint32, keyLen int) *ikego.Gateway {
	tb.Helper()
	g, err := ikego.NewGateway(ikego.GatewayConfig{TUN: dev, Bind: bind})
	if err != nil {
		tb.Fatal(err)
	}
	fail := func(err error) {
		g.Close()
		tb.Fatal(err)
	}
	const policy = 1
	if err := g.Engine().SetPolicy(esp.Policy{
		ID: policy, Priority: 100, Action: esp.ActionProtect,
		Local: []esp.Selector{esp.SelectorFromPrefix(local)}, Remote: []esp.Selector{esp.SelectorFromPrefix(remote)},
	}); err != nil {
		fail(err)
	}
	for _, sa := range []struct {
		dir esp.Direction
		spi uint32
	}{{esp.DirOut, spiOut}, {esp.DirIn, spiIn}} {
		p := esp.SAParams{
			SPI: sa.spi, Mode: esp.ModeTunnel, Encr: esp.EncrAESGCM16, EncrKey: key(byte(sa.spi), keyLen),
			Local: netip.AddrPortFrom(us, 0), Remote: netip.AddrPortFrom(peer, esp.NATTPort),
			ReplayWindow: 1024,
		}
		if _, err := g.Engine().AddSA(sa.dir, p, policy, esp.Lifetime{}); err != nil {
			fail(err)
		}
	}
	return g
}

// wgKeys returns a WireGuard private key made from seed and its public key.
func wgKeys(tb testing.TB, seed byte) (private, public []byte) {
	tb.Helper()
	k, err := ecdh.X25519().NewPrivateKey(key(seed, 32))
	if err != nil {
		tb.Fatal(err)
	}
	return k.Bytes(), k.PublicKey().Bytes()
}

// startWireGuard starts two wireguard-go devices on binds, each the other's
// peer at endpoints[i], with the sites' prefixes as allowed IPs.
func startWireGuard(tb testing.TB, a, b tun.Device, binds [2]conn.Bind, endpoints [2]string, counters func() string) *rig {
	tb.Helper()
	privA, pubA := wgKeys(tb, 1)
	privB, pubB := wgKeys(tb, 101)
	log := device.NewLogger(device.LogLevelSilent, "")
	dA := device.NewDevice(a, binds[0], log)
	dB := device.NewDevice(b, binds[1], log)
	stop := func() { dA.Close(); dB.Close() }
	uapi := func(private, peer []byte, endpoint string, allowed netip.Prefix) string {
		return "private_key=" + hex.EncodeToString(private) + "\nlisten_port=" + strconv.Itoa(esptest.NATTPort) +
			"\npublic_key=" + hex.EncodeToString(peer) + "\nendpoint=" + endpoint + "\nallowed_ip=" + allowed.String() + "\n"
	}
	if err := dA.IpcSet(uapi(privA, pubB, endpoints[0], prefixB)); err != nil {
		stop()
		tb.Fatal(err)
	}
	if err := dB.IpcSet(uapi(privB, pubA, endpoints[1], prefixA)); err != nil {
		stop()
		tb.Fatal(err)
	}
	for _, d := range []*device.Device{dA, dB} {
		if err := d.Up(); err != nil {
			stop()
			tb.Fatal(err)
		}
	}
	return &rig{stop: stop, counters: counters}
}

// udpPacket returns an IPv4 UDP packet from A to B of size octets whose
// payload starts with seq.
func udpPacket(size int, seq uint32) []byte {
	payload := make([]byte, size-20-8)
	for i := range payload {
		payload[i] = byte(i)
	}
	binary.BigEndian.PutUint32(payload, seq)
	p := tuntest.UDP(hostA, hostB, payload)
	if len(p) != size {
		panic(fmt.Sprintf("bench: made a %d-octet packet, want %d", len(p), size))
	}
	return p
}

// BenchmarkTunnel sends IPv4 UDP packets into side A's TUN device and counts
// them coming out of side B's, one packet per iteration, for ikego and
// wireguard-go in the same run. It reports packets per second and Gbit/s of
// inner packets (from the first packet sent to the last received), MB/s
// (b.SetBytes, the inner packet) and allocations per packet (allocs/op,
// rounded down, and allocs/pkt, not rounded); the goal for ikego is 0 in
// steady state.
//
// Both dataplanes read from and write to the same kind of in-memory TUN
// device (memTUN) and send over the same in-memory network (esptest), see
// dataplanes. At most window packets are in flight, so nothing is dropped
// for want of queue space: a benchmark that loses more than 1% of its
// packets fails rather than report a rate inflated by drops.
func BenchmarkTunnel(b *testing.B) {
	for _, dp := range dataplanes {
		b.Run(dp.name, func(b *testing.B) {
			for _, size := range packetSizes {
				b.Run(strconv.Itoa(size), func(b *testing.B) { benchTunnel(b, dp, size) })
			}
		})
	}
}

func benchTunnel(b *testing.B, dp dataplane, size int) {
	f := newFlow(udpPacket(size, 0), window)
	r := dp.start(b, newMemTUN(f, true, tunMTU, tunBatch), newMemTUN(f, false, tunMTU, tunBatch))
	defer r.stop()
	check := func(what string, res flowResult, err error, n int) {
		b.Helper()
		if err != nil {
			b.Fatalf("%s: %v\n%s\n\n%s", what, err, r.counters(), stacks())
		}
		if float64(res.lost) > maxLoss*float64(n) {
			b.Fatalf("%s: %d of %d packets lost\n%s\n\n%s", what, res.lost, n, r.counters(), stacks())
		}
		if bad := f.bad.Load(); bad > 0 {
			b.Fatalf("%s: %d packets came out changed or on the wrong side", what, bad)
		}
	}
	// One packet alone first: wireguard-go holds packets back while it
	// shakes hands; then enough to fill the pools of both dataplanes.
	res, err := f.run(1, 1, idle)
	check("first packet", res, err, 0)
	res, err = f.run(8*window, window, idle)
	check("warm-up", res, err, 0)

	b.SetBytes(int64(size))
	b.ReportAllocs()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	b.ResetTimer()
	res, err = f.run(b.N, window, idle)
	b.StopTimer()
	runtime.ReadMemStats(&m1)
	check("run", res, err, b.N)
	// allocs/op rounds down; a pool refilled after each GC shows only here.
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(b.N), "allocs/pkt")
	secs := res.elapsed.Seconds()
	if secs <= 0 {
		secs = b.Elapsed().Seconds()
	}
	b.ReportMetric(float64(res.recv)/secs, "pkts/s")
	b.ReportMetric(float64(res.recv)*float64(size)*8/secs/1e9, "Gbit/s")
	if res.lost > 0 {
		b.ReportMetric(float64(res.lost)/float64(b.N), "lost/op")
	}
}

// TestTunnelSmoke sends 1000 packets of different sizes and contents through
// each dataplane between two tuntest.Channel devices, and checks that every
// one comes out of side B exactly once and unchanged.
func TestTunnelSmoke(t *testing.T) {
	const n = 1000
	want := make([][]byte, n)
	for i := range want {
		want[i] = udpPacket(packetSizes[i%len(packetSizes)], uint32(i))
	}
	for _, dp := range dataplanes {
		t.Run(dp.name, func(t *testing.T) {
			leakcheck.Check(t, 5*time.Second)
			a := tuntest.ChannelConfig{Name: "a", MTU: tunMTU, BatchSize: tunBatch}.New()
			z := tuntest.ChannelConfig{Name: "b", MTU: tunMTU, BatchSize: tunBatch}.New()
			r := dp.start(t, a, z)
			defer r.stop()

			seen := make([]bool, n)
			got := 0
			receive := func(p []byte) {
				t.Helper()
				if len(p) < 32 {
					t.Fatalf("a %d-octet packet came out: %x", len(p), p)
				}
				i := binary.BigEndian.Uint32(p[28:])
				switch {
				case i >= n:
					t.Fatalf("a packet with sequence number %d came out: %x", i, p)
				case seen[i]:
					t.Fatalf("packet %d came out twice", i)
				case !bytes.Equal(p, want[i]):
					t.Fatalf("packet %d came out changed:\n got %x\nwant %x", i, p, want[i])
				}
				seen[i] = true
				got++
			}
			// The Channel owns what it is sent; it gets copies.
			send := func(i int) []byte { return append([]byte(nil), want[i]...) }

			// The first packet alone, while wireguard-go shakes hands; then
			// the rest with at most window in flight.
			deadline := time.NewTimer(testIdle)
			defer deadline.Stop()
			a.Inbound <- send(0)
			sent := 1
			for got < n {
				var in chan<- []byte
				var next []byte
				if sent < n && sent-got < window && got > 0 {
					in, next = a.Inbound, send(sent)
				}
				select {
				case in <- next:
					sent++
				case p := <-z.Outbound:
					receive(p)
				case p := <-a.Outbound:
					t.Fatalf("a packet came out of side A: %x", p)
				case <-deadline.C:
					t.Fatalf("%d of %d packets arrived within %v, %d sent\n%s\n\n%s", got, n, testIdle, sent, r.counters(), stacks())
				}
			}
			select {
			case p := <-z.Outbound:
				t.Fatalf("an extra packet came out: %x", p)
			case <-time.After(50 * time.Millisecond):
			}
		})
	}
}

// TestTunnelFlow runs each benchmark rig (memTUN devices, window flow
// control) for a few thousand packets of each size, so that CI notices when
// a benchmark breaks.
func TestTunnelFlow(t *testing.T) {
	for _, dp := range dataplanes {
		if dp.name == "wireguard-bindtest" {
			// wireguard-go's own test double drops datagrams when its
			// channels are full, which stalls a windowed flow on a loaded
			// machine; it is a reference for the benchmark only.
			continue
		}
		for _, size := range packetSizes {
			t.Run(dp.name+"/"+strconv.Itoa(size), func(t *testing.T) {
				leakcheck.Check(t, 5*time.Second)
				f := newFlow(udpPacket(size, 0), window)
				r := dp.start(t, newMemTUN(f, true, tunMTU, tunBatch), newMemTUN(f, false, tunMTU, tunBatch))
				defer r.stop()
				for _, step := range []struct{ n, window int }{{1, 1}, {3000, window}} {
					res, err := f.run(step.n, step.window, testIdle)
					if err != nil {
						t.Fatalf("%v\n%s\n\n%s", err, r.counters(), stacks())
					}
					if res.lost > 0 || res.recv != int64(step.n) {
						t.Fatalf("%d of %d packets arrived, %d lost\n%s\n\n%s", res.recv, step.n, res.lost, r.counters(), stacks())
					}
				}
				if bad := f.bad.Load(); bad > 0 {
					t.Fatalf("%d packets came out changed or on the wrong side", bad)
				}
			})
		}
	}
}

// stacks returns the stacks of the goroutines of the dataplanes, for a
// failure where packets stopped moving.
func stacks() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "golang.zx2c4.com/wireguard") || strings.Contains(g, "github.com/ikego/ikego/") {
			out = append(out, g)
		}
	}
	return "goroutines of the dataplanes:\n\n" + strings.Join(out, "\n\n")
}
