package esp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// testTimeout bounds every wait of the bind tests: the watchdog closes the
// binds, which unblocks the receives, and the test fails.
const testTimeout = 20 * time.Second

var (
	lo4  = netip.MustParseAddr("127.0.0.1")
	lo4b = netip.MustParseAddr("127.0.0.2")
	lo4c = netip.MustParseAddr("127.0.0.3")
	lo6  = netip.IPv6Loopback()
)

// bindHarness opens UDPBinds for a test and closes them at its end, or when
// it runs too long.
type bindHarness struct {
	t        *testing.T
	mu       sync.Mutex
	binds    []*UDPBind
	timedOut atomic.Bool
}

func newBindHarness(t *testing.T) *bindHarness {
	h := &bindHarness{t: t}
	timer := time.AfterFunc(testTimeout, func() {
		h.timedOut.Store(true)
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, b := range h.binds {
			b.Close()
		}
	})
	t.Cleanup(func() {
		timer.Stop()
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, b := range h.binds {
			b.Close()
		}
	})
	return h
}

// open opens a bind with ephemeral ports.
func (h *bindHarness) open(cfg UDPBindConfig) (*UDPBind, []ReceiveFunc) {
	h.t.Helper()
	cfg.Ephemeral = true
	b, fns, err := h.tryOpen(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	return b, fns
}

func (h *bindHarness) tryOpen(cfg UDPBindConfig) (*UDPBind, []ReceiveFunc, error) {
	b, err := NewUDPBind(cfg)
	if err != nil {
		return nil, nil, err
	}
	h.mu.Lock()
	h.binds = append(h.binds, b)
	h.mu.Unlock()
	fns, err := b.Open()
	return b, fns, err
}

// recv returns the ReceiveFunc of b's socket of a kind and family.
func (h *bindHarness) recv(b *UDPBind, fns []ReceiveFunc, kind sockKind, v6 bool) ReceiveFunc {
	h.t.Helper()
	for i, s := range *b.socks.Load() {
		if s.kind == kind && s.v6 == v6 {
			return fns[i]
		}
	}
	h.t.Fatalf("no socket of kind %d (IPv6 %v)", kind, v6)
	return nil
}

type datagram struct {
	payload []byte
	ep      Endpoint
}

// receive receives n datagrams through fn.
func (h *bindHarness) receive(fn ReceiveFunc, n int) []datagram {
	h.t.Helper()
	bufs, sizes, eps := testBufs(bindBatchSize, 2048)
	var got []datagram
	for len(got) < n {
		k, err := fn(bufs, sizes, eps)
		if err != nil {
			if h.timedOut.Load() {
				h.t.Fatalf("timed out after %d of %d datagrams", len(got), n)
			}
			h.t.Fatalf("receive after %d of %d datagrams: %v", len(got), n, err)
		}
		if k < 1 || k > len(bufs) {
			h.t.Fatalf("ReceiveFunc returned n = %d", k)
		}
		for i := range k {
			got = append(got, datagram{bytes.Clone(bufs[i][:sizes[i]]), eps[i]})
		}
	}
	if len(got) > n {
		h.t.Fatalf("received %d datagrams, want %d", len(got), n)
	}
	return got
}

func testBufs(n, size int) ([][]byte, []int, []Endpoint) {
	bufs := make([][]byte, n)
	for i := range bufs {
		bufs[i] = make([]byte, size)
	}
	return bufs, make([]int, n), make([]Endpoint, n)
}

// testPayloads returns n distinct datagrams of varied lengths, the first
// byte never zero (not a non-ESP marker).
func testPayloads(n int, tag byte) [][]byte {
	p := make([][]byte, n)
	for i := range p {
		b := make([]byte, 12+(i*37)%1400)
		for j := range b {
			b[j] = byte(i + j)
		}
		b[0], b[1], b[2], b[3] = 0x10, tag, byte(i>>8), byte(i)
		p[i] = b
	}
	return p
}

// checkDatagrams checks payloads and endpoints, in order (loopback keeps
// the order of one socket pair).
func checkDatagrams(t *testing.T, got []datagram, want [][]byte, ep Endpoint) {
	t.Helper()
	for i, d := range got {
		if !bytes.Equal(d.payload, want[i]) {
			t.Errorf("datagram %d: payload % x... (%d octets), want % x... (%d octets)", i, d.payload[:min(8, len(d.payload))], len(d.payload), want[i][:8], len(want[i]))
		}
		if d.ep != ep {
			t.Errorf("datagram %d: endpoint %v, want %v", i, d.ep, ep)
		}
	}
}

func TestUDPBindLoopback(t *testing.T) {
	for _, tt := range []struct {
		name                string
		v6                  bool
		client, server, alt netip.Addr
	}{
		// 127.0.0.0/8 is all local: the server receives on 127.0.0.2 on a
		// wildcard socket and must answer from it.
		{"IPv4", false, lo4, lo4b, lo4c},
		{"IPv6", true, lo6, lo6, lo6},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newBindHarness(t)
			cb, cfns := h.open(UDPBindConfig{})
			sb, sfns := h.open(UDPBindConfig{})
			cIKE, cNATT := cb.LocalPorts()
			sIKE, sNATT := sb.LocalPorts()
			if cIKE == 0 || cNATT == 0 || cIKE == cNATT || sIKE == 0 || sNATT == 0 {
				t.Fatalf("LocalPorts: client %d %d, server %d %d", cIKE, cNATT, sIKE, sNATT)
			}
			if len(cfns) != 4 {
				t.Fatalf("Open returned %d ReceiveFuncs, want 4 (IKE and NAT-T, IPv4 and IPv6)", len(cfns))
			}

			for _, port := range []struct {
				kind         sockKind
				cport, sport uint16
			}{{sockNATT, cNATT, sNATT}, {sockIKE, cIKE, sIKE}} {
				// More than a batch, to split the send and the receive.
				out := testPayloads(3*bindBatchSize/2, byte(port.kind))
				ep := Endpoint{
					Local:  netip.AddrPortFrom(tt.client, port.cport),
					Remote: netip.AddrPortFrom(tt.server, port.sport),
				}
				if err := cb.Send(out, ep); err != nil {
					t.Fatalf("Send %v: %v", ep, err)
				}
				got := h.receive(h.recv(sb, sfns, port.kind, tt.v6), len(out))
				seen := Endpoint{Local: ep.Remote, Remote: ep.Local}
				checkDatagrams(t, got, out, seen)

				// The reply leaves from the address the client used.
				back := testPayloads(3, byte(port.kind)|0x80)
				if err := sb.Send(back, got[0].ep); err != nil {
					t.Fatalf("Send %v: %v", got[0].ep, err)
				}
				checkDatagrams(t, h.receive(h.recv(cb, cfns, port.kind, tt.v6), len(back)), back, ep)

				// An explicit source address on a wildcard socket.
				ep.Local = netip.AddrPortFrom(tt.alt, port.cport)
				if err := cb.Send(out[:1], ep); err != nil {
					t.Fatalf("Send %v: %v", ep, err)
				}
				got = h.receive(h.recv(sb, sfns, port.kind, tt.v6), 1)
				checkDatagrams(t, got, out[:1], Endpoint{Local: ep.Remote, Remote: ep.Local})

				// No source address: the kernel chooses.
				ep.Local = netip.AddrPortFrom(netip.Addr{}, port.cport)
				if err := cb.Send(out[:1], ep); err != nil {
					t.Fatalf("Send %v: %v", ep, err)
				}
				got = h.receive(h.recv(sb, sfns, port.kind, tt.v6), 1)
				if got[0].ep.Remote.Port() != port.cport || !got[0].ep.Remote.Addr().IsLoopback() {
					t.Errorf("unspecified source: received from %v", got[0].ep.Remote)
				}
			}
		})
	}
}

// TestUDPBindAddrs listens on given addresses instead of the wildcards.
func TestUDPBindAddrs(t *testing.T) {
	h := newBindHarness(t)
	cb, _ := h.open(UDPBindConfig{Addrs: []netip.Addr{lo4}, NoIKEPort: true})
	sb, sfns := h.open(UDPBindConfig{Addrs: []netip.Addr{lo4b, lo6}, NoIKEPort: true})
	if len(sfns) != 2 {
		t.Fatalf("Open returned %d ReceiveFuncs, want 2", len(sfns))
	}
	if ike, _ := sb.LocalPorts(); ike != 0 {
		t.Errorf("NoIKEPort: IKE port %d", ike)
	}
	_, cport := cb.LocalPorts()
	_, sport := sb.LocalPorts()
	out := testPayloads(5, 1)
	ep := Endpoint{netip.AddrPortFrom(lo4, cport), netip.AddrPortFrom(lo4b, sport)}
	if err := cb.Send(out, ep); err != nil {
		t.Fatal(err)
	}
	got := h.receive(h.recv(sb, sfns, sockNATT, false), len(out))
	checkDatagrams(t, got, out, Endpoint{ep.Remote, ep.Local})

	// The client has no socket on 127.0.0.3, nor an IPv6 one.
	for _, bad := range []Endpoint{
		{netip.AddrPortFrom(lo4c, cport), ep.Remote},
		{netip.AddrPortFrom(lo6, cport), netip.AddrPortFrom(lo6, sport)},
		{netip.AddrPortFrom(lo4, cport+1), ep.Remote},
		{netip.AddrPortFrom(lo4, 0), netip.AddrPortFrom(lo4b, 0)}, // no raw ESP
		{netip.AddrPortFrom(lo4, cport), netip.AddrPort{}},
	} {
		if err := cb.Send(out, bad); err == nil {
			t.Errorf("Send %v succeeded", bad)
		}
	}
}

func TestUDPBindOpenClose(t *testing.T) {
	h := newBindHarness(t)
	b, err := NewUDPBind(UDPBindConfig{Ephemeral: true, Addrs: []netip.Addr{lo4}})
	if err != nil {
		t.Fatal(err)
	}
	ep := Endpoint{netip.AddrPortFrom(lo4, 1), netip.AddrPortFrom(lo4, 2)}
	if err := b.Send([][]byte{{1}}, ep); err == nil {
		t.Error("Send before Open succeeded")
	}
	h.mu.Lock()
	h.binds = append(h.binds, b)
	h.mu.Unlock()
	fns, err := b.Open()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Open(); !errors.Is(err, ErrBindOpen) {
		t.Errorf("second Open: %v, want ErrBindOpen", err)
	}

	// Close unblocks every receive, whether it blocked before or after.
	errs := make(chan error, len(fns))
	for _, fn := range fns {
		go func() {
			bufs, sizes, eps := testBufs(4, 100)
			_, err := fn(bufs, sizes, eps)
			errs <- err
		}()
	}
	if err := b.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	timeout := time.After(testTimeout)
	for range fns {
		select {
		case err := <-errs:
			if err != net.ErrClosed {
				t.Errorf("receive after Close: %v, want net.ErrClosed", err)
			}
		case <-timeout:
			t.Fatal("Close did not unblock a receive")
		}
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := b.Open(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Open after Close: %v, want net.ErrClosed", err)
	}
	_, natt := b.LocalPorts()
	ep.Local = netip.AddrPortFrom(lo4, natt)
	if err := b.Send([][]byte{{1}}, ep); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Send after Close: %v, want net.ErrClosed", err)
	}
	bufs, sizes, eps := testBufs(1, 10)
	if _, err := fns[0](bufs, sizes, eps); err != net.ErrClosed {
		t.Errorf("receive after Close: %v, want net.ErrClosed", err)
	}
}

func TestUDPBindAddressInUse(t *testing.T) {
	h := newBindHarness(t)
	b, _ := h.open(UDPBindConfig{Addrs: []netip.Addr{lo4}})
	_, natt := b.LocalPorts()
	_, _, err := h.tryOpen(UDPBindConfig{Addrs: []netip.Addr{lo4}, NoIKEPort: true, NATTPort: natt})
	want := fmt.Sprintf("esp: listen udp 127.0.0.1:%d: address already in use", natt)
	if err == nil || err.Error() != want || !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Open on a used port: %v, want %q", err, want)
	}

	// The IKE socket opened before the NAT-T one failed is closed again.
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lo4, 0)))
	if err != nil {
		t.Fatal(err)
	}
	free := uint16(c.LocalAddr().(*net.UDPAddr).Port)
	c.Close()
	if _, _, err := h.tryOpen(UDPBindConfig{Addrs: []netip.Addr{lo4}, IKEPort: free, NATTPort: natt}); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Open on a used NAT-T port: %v", err)
	}
	c, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lo4, free)))
	if err != nil {
		t.Fatalf("IKE port left open after a failed Open: %v", err)
	}
	c.Close()
}

// TestUDPBindTruncated checks that a datagram longer than its buffer is
// dropped and counted, and the others of its batch still come through.
func TestUDPBindTruncated(t *testing.T) {
	h := newBindHarness(t)
	cb, _ := h.open(UDPBindConfig{Addrs: []netip.Addr{lo4}, NoIKEPort: true})
	sb, sfns := h.open(UDPBindConfig{Addrs: []netip.Addr{lo4}, NoIKEPort: true})
	_, cport := cb.LocalPorts()
	_, sport := sb.LocalPorts()
	ep := Endpoint{netip.AddrPortFrom(lo4, cport), netip.AddrPortFrom(lo4, sport)}
	small := testPayloads(3, 7)
	for i := range small {
		small[i] = small[i][:10]
	}
	big := bytes.Repeat([]byte{0x55}, 100)
	if err := cb.Send([][]byte{big, small[0], big, small[1], small[2]}, ep); err != nil {
		t.Fatal(err)
	}
	bufs, sizes, eps := testBufs(8, 50)
	var got [][]byte
	for len(got) < len(small) {
		n, err := sfns[0](bufs, sizes, eps)
		if err != nil {
			t.Fatalf("receive: %v (timed out: %v)", err, h.timedOut.Load())
		}
		for i := range n {
			got = append(got, bytes.Clone(bufs[i][:sizes[i]]))
			if eps[i] != (Endpoint{ep.Remote, ep.Local}) {
				t.Errorf("endpoint %v", eps[i])
			}
		}
	}
	for i := range small {
		if i >= len(got) || !bytes.Equal(got[i], small[i]) {
			t.Fatalf("received %x, want %x", got, small)
		}
	}
	if n := sb.truncated.Load(); n != 2 {
		t.Errorf("truncated = %d, want 2", n)
	}
}

// TestUDPBindSendError checks that a datagram the kernel refuses does not
// hold back the rest of its batch.
func TestUDPBindSendError(t *testing.T) {
	h := newBindHarness(t)
	cb, _ := h.open(UDPBindConfig{Addrs: []netip.Addr{lo4}, NoIKEPort: true})
	sb, sfns := h.open(UDPBindConfig{Addrs: []netip.Addr{lo4}, NoIKEPort: true})
	_, cport := cb.LocalPorts()
	_, sport := sb.LocalPorts()
	ep := Endpoint{netip.AddrPortFrom(lo4, cport), netip.AddrPortFrom(lo4, sport)}
	out := testPayloads(4, 9)
	tooBig := make([]byte, 70000)
	err := cb.Send([][]byte{out[0], tooBig, out[1], out[2], tooBig, out[3]}, ep)
	if !errors.Is(err, syscall.EMSGSIZE) || !strings.HasPrefix(err.Error(), "esp: send udp 127.0.0.1:") {
		t.Errorf("Send with an oversized datagram: %v, want EMSGSIZE", err)
	}
	checkDatagrams(t, h.receive(sfns[0], len(out)), out, Endpoint{ep.Remote, ep.Local})
}

// TestUDPBindConcurrent sends from several goroutines at once (for -race).
func TestUDPBindConcurrent(t *testing.T) {
	h := newBindHarness(t)
	cb, _ := h.open(UDPBindConfig{Addrs: []netip.Addr{lo4}, NoIKEPort: true})
	sb, sfns := h.open(UDPBindConfig{Addrs: []netip.Addr{lo4}, NoIKEPort: true})
	_, cport := cb.LocalPorts()
	_, sport := sb.LocalPorts()
	ep := Endpoint{netip.AddrPortFrom(lo4, cport), netip.AddrPortFrom(lo4, sport)}
	const senders, per = 4, 50
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			out := testPayloads(per, byte(g))
			for i := range out {
				if err := cb.Send(out[i:i+1], ep); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	got := h.receive(sfns[0], senders*per)
	wg.Wait()
	seen := make(map[[2]byte]bool)
	for _, d := range got {
		k := [2]byte{d.payload[1], d.payload[3]}
		if seen[k] {
			t.Errorf("datagram %x twice", k)
		}
		seen[k] = true
	}
}

// TestUDPBindAllocs asserts that a steady-state exchange allocates nothing.
func TestUDPBindAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts mean nothing under the race detector")
	}
	for _, tt := range []struct {
		name    string
		addr    netip.Addr
		offload bool
	}{{"IPv4", lo4, false}, {"IPv6", lo6, false}, {"IPv4 offload", lo4, true}, {"IPv6 offload", lo6, true}} {
		t.Run(tt.name, func(t *testing.T) {
			h := newBindHarness(t)
			cb, _ := h.open(UDPBindConfig{NoIKEPort: true, Offload: tt.offload})
			sb, sfns := h.open(UDPBindConfig{NoIKEPort: true, Offload: tt.offload})
			_, cport := cb.LocalPorts()
			_, sport := sb.LocalPorts()
			ep := Endpoint{netip.AddrPortFrom(tt.addr, cport), netip.AddrPortFrom(tt.addr, sport)}
			recv := h.recv(sb, sfns, sockNATT, tt.addr.Is6())
			const batch = 16
			out := testPayloads(batch, 3)
			bufs, sizes, eps := testBufs(bindBatchSize, 2048)
			var failed error
			exchange := func() {
				if err := cb.Send(out, ep); err != nil {
					failed = err
					return
				}
				for got := 0; got < batch; {
					n, err := recv(bufs, sizes, eps)
					if err != nil {
						failed = err
						return
					}
					got += n
				}
			}
			exchange() // warm up
			allocs := testing.AllocsPerRun(200, exchange)
			if failed != nil {
				t.Fatal(failed)
			}
			t.Logf("%v allocations per exchange of %d datagrams", allocs, batch)
			if allocs != 0 {
				t.Errorf("%v allocations per exchange of %d datagrams, want 0", allocs, batch)
			}
		})
	}
}

// TestUDPBindOffload sends runs of equal-sized datagrams, which leave
// coalesced (UDP_SEGMENT) and arrive coalesced (UDP_GRO), and checks that
// they are split back exactly, also into fewer buffers than a message holds.
func TestUDPBindOffload(t *testing.T) {
	for _, tt := range []struct {
		name string
		addr netip.Addr
	}{{"IPv4", lo4}, {"IPv6", lo6}} {
		t.Run(tt.name, func(t *testing.T) {
			h := newBindHarness(t)
			cb, _ := h.open(UDPBindConfig{NoIKEPort: true, Offload: true})
			sb, sfns := h.open(UDPBindConfig{NoIKEPort: true, Offload: true})
			_, cport := cb.LocalPorts()
			_, sport := sb.LocalPorts()
			ep := Endpoint{netip.AddrPortFrom(tt.addr, cport), netip.AddrPortFrom(tt.addr, sport)}
			var out [][]byte
			add := func(n, size int) {
				for range n {
					b := make([]byte, size)
					for j := range b {
						b[j] = byte(len(out) + j)
					}
					out = append(out, b)
				}
			}
			add(40, 1000)
			add(3, 700)
			add(1, 200) // a shorter one ends a run
			add(1, 0)
			add(70, 1200) // across the end of a batch
			add(2, 1)
			add(1, 1500)
			if err := cb.Send(out, ep); err != nil {
				t.Fatal(err)
			}
			bufs, sizes, eps := testBufs(3, 2048)
			var got [][]byte
			for len(got) < len(out) {
				n, err := h.recv(sb, sfns, sockNATT, tt.addr.Is6())(bufs, sizes, eps)
				if err != nil {
					t.Fatalf("receive after %d of %d: %v (timed out: %v)", len(got), len(out), err, h.timedOut.Load())
				}
				for i := range n {
					got = append(got, bytes.Clone(bufs[i][:sizes[i]]))
					if eps[i] != (Endpoint{ep.Remote, ep.Local}) {
						t.Fatalf("endpoint %v", eps[i])
					}
				}
			}
			for i := range out {
				if !bytes.Equal(got[i], out[i]) {
					t.Fatalf("datagram %d: %d octets % x..., want %d octets", i, len(got[i]), got[i][:min(4, len(got[i]))], len(out[i]))
				}
			}
			if sb.coalesced.Load() == 0 {
				t.Error("no datagram arrived coalesced: offload not exercised")
			}
			if n := cb.gsoRetries.Load(); n != 0 {
				t.Errorf("%d coalesced sends refused", n)
			}
		})
	}
}

func TestParseCmsg(t *testing.T) {
	v4 := unix.PktInfo4(&unix.Inet4Pktinfo{Ifindex: 3, Spec_dst: [4]byte{10, 0, 0, 1}, Addr: [4]byte{192, 0, 2, 7}})
	v6 := unix.PktInfo6(&unix.Inet6Pktinfo{Addr: netip.MustParseAddr("2001:db8::7").As16(), Ifindex: 5})
	other := make([]byte, unix.CmsgSpace(4))
	putCmsg(other, unix.SOL_SOCKET, unix.SO_TIMESTAMP, 4)
	gro := func(size int32) []byte {
		b := make([]byte, unix.CmsgSpace(4))
		binary.NativeEndian.PutUint32(putCmsg(b, unix.SOL_UDP, unix.UDP_GRO, 4), uint32(size))
		return b
	}
	// A control message too short for in_pktinfo.
	short := make([]byte, unix.CmsgSpace(8))
	putCmsg(short, unix.IPPROTO_IP, unix.IP_PKTINFO, 8)
	for _, tt := range []struct {
		name    string
		b       []byte
		dst     string
		ifindex uint32
		gso     int
	}{
		{"v4", v4, "192.0.2.7", 3, 0},
		{"v6", v6, "2001:db8::7", 5, 0},
		{"after another", append(bytes.Clone(other), v4...), "192.0.2.7", 3, 0},
		{"before another", append(bytes.Clone(v6), other...), "2001:db8::7", 5, 0},
		{"with GRO", append(bytes.Clone(v4), gro(1200)...), "192.0.2.7", 3, 1200},
		{"GRO first", append(gro(1400), v6...), "2001:db8::7", 5, 1400},
		{"negative GRO", gro(-5), "", 0, 0},
		{"empty", nil, "", 0, 0},
		{"other only", other, "", 0, 0},
		{"short pktinfo", short, "", 0, 0},
		{"truncated", v4[:unix.CmsgLen(unix.SizeofInet4Pktinfo)-1], "", 0, 0},     // cmsg_len runs past the end
		{"bad length", append(make([]byte, unix.SizeofCmsghdr), v4...), "", 0, 0}, // cmsg_len 0
	} {
		dst, ifindex, gso := parseCmsg(tt.b)
		var want netip.Addr
		if tt.dst != "" {
			want = netip.MustParseAddr(tt.dst)
		}
		if dst != want || ifindex != tt.ifindex || gso != tt.gso {
			t.Errorf("%s: parseCmsg = %v, %d, %d, want %v, %d, %d", tt.name, dst, ifindex, gso, want, tt.ifindex, tt.gso)
		}
	}
	if n := testing.AllocsPerRun(100, func() { parseCmsg(v6) }); n != 0 {
		t.Errorf("parseCmsg: %v allocations", n)
	}
}

// FuzzParseCmsg checks that no control buffer makes parseCmsg panic, and
// that what it returns is in the buffer.
func FuzzParseCmsg(f *testing.F) {
	f.Add(unix.PktInfo4(&unix.Inet4Pktinfo{Ifindex: 1, Addr: [4]byte{127, 0, 0, 2}}))
	f.Add(unix.PktInfo6(&unix.Inet6Pktinfo{Addr: netip.IPv6Loopback().As16(), Ifindex: 1}))
	f.Add(append(unix.PktInfo4(&unix.Inet4Pktinfo{}), unix.PktInfo6(&unix.Inet6Pktinfo{})...))
	f.Add([]byte{})
	f.Add(make([]byte, unix.SizeofCmsghdr))
	f.Fuzz(func(t *testing.T, b []byte) {
		dst, _, gso := parseCmsg(b)
		if gso < 0 || gso > 0 && len(b) < unix.CmsgLen(4) {
			t.Fatalf("parseCmsg(%x): segment size %d", b, gso)
		}
		if dst.IsValid() && !bytes.Contains(b, dst.AsSlice()) {
			t.Fatalf("parseCmsg(%x) = %v, not in the buffer", b, dst)
		}
	})
}

// TestUDPBindRawESP sends ESP over raw sockets, IPv4 and IPv6, in a
// network namespace of its own. There it also sends UDP over IPv6 between
// two addresses on a wildcard socket (loopback has only ::1 outside), and
// datagrams longer than the MTU with offload on.
func TestUDPBindRawESP(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("raw ESP needs root: CAP_NET_RAW for the sockets and CAP_SYS_ADMIN for the network namespace")
	}
	ns := newTestNetns(t)
	var (
		a1   = netip.MustParseAddr("198.18.20.1")
		a2   = netip.MustParseAddr("198.18.20.2")
		a61  = netip.MustParseAddr("2001:db8:20::1")
		a62  = netip.MustParseAddr("2001:db8:20::2")
		h    = newBindHarness(t)
		ba   *UDPBind
		fa   []ReceiveFunc
		bb   *UDPBind
		fb   []ReceiveFunc
		bw   *UDPBind
		fw   []ReceiveFunc
		bo   *UDPBind
		bp   *UDPBind
		fp   []ReceiveFunc
		opts = []byte{1, 1, 1, 0} // IPv4 options: NOP, NOP, NOP, end
	)
	ns.do(t, func() error {
		var err error
		if ba, fa, err = h.tryOpen(UDPBindConfig{Addrs: []netip.Addr{a1, a61}, RawESP: true, Ephemeral: true}); err != nil {
			return err
		}
		if bb, fb, err = h.tryOpen(UDPBindConfig{Addrs: []netip.Addr{a2, a62}, RawESP: true, Ephemeral: true}); err != nil {
			return err
		}
		if bw, fw, err = h.tryOpen(UDPBindConfig{RawESP: true, Ephemeral: true}); err != nil {
			return err
		}
		if bo, _, err = h.tryOpen(UDPBindConfig{Addrs: []netip.Addr{a1}, NoIKEPort: true, Offload: true, Ephemeral: true}); err != nil {
			return err
		}
		bp, fp, err = h.tryOpen(UDPBindConfig{Addrs: []netip.Addr{a2}, NoIKEPort: true, Offload: true, Ephemeral: true})
		return err
	})
	if t.Failed() {
		t.FailNow()
	}
	if len(fa) != 6 || len(fw) != 6 {
		t.Fatalf("Open returned %d and %d ReceiveFuncs, want 6 (IKE, NAT-T, ESP; IPv4, IPv6)", len(fa), len(fw))
	}

	espPackets := func(n int, tag byte) [][]byte {
		p := make([][]byte, n)
		for i := range p {
			b := make([]byte, 16+i*13)
			binary.BigEndian.PutUint32(b, 0x1000_0000+uint32(i)) // SPI
			binary.BigEndian.PutUint32(b[4:], uint32(i+1))       // sequence number
			for j := 8; j < len(b); j++ {
				b[j] = tag ^ byte(j)
			}
			p[i] = b
		}
		return p
	}

	t.Run("raw", func(t *testing.T) {
		for _, tt := range []struct {
			name     string
			v6       bool
			from, to netip.Addr
		}{{"IPv4", false, a1, a2}, {"IPv6", true, a61, a62}} {
			out := espPackets(bindBatchSize+3, 1)
			ep := Endpoint{netip.AddrPortFrom(tt.from, 0), netip.AddrPortFrom(tt.to, 0)}
			if err := ba.Send(out, ep); err != nil {
				t.Fatalf("%s: Send %v: %v", tt.name, ep, err)
			}
			seen := Endpoint{ep.Remote, ep.Local}
			checkDatagrams(t, h.receive(h.recv(bb, fb, sockRaw, tt.v6), len(out)), out, seen)
			// The wildcard socket sees it too, with the destination.
			checkDatagrams(t, h.receive(h.recv(bw, fw, sockRaw, tt.v6), len(out)), out, seen)

			// The wildcard bind answers from the address the packet went to.
			back := espPackets(2, 2)
			if err := bw.Send(back, seen); err != nil {
				t.Fatalf("%s: Send %v: %v", tt.name, seen, err)
			}
			checkDatagrams(t, h.receive(h.recv(ba, fa, sockRaw, tt.v6), len(back)), back, ep)
			// And, being a wildcard, receives its own answer.
			checkDatagrams(t, h.receive(h.recv(bw, fw, sockRaw, tt.v6), len(back)), back, ep)
		}
	})

	t.Run("IPv4 options", func(t *testing.T) {
		// The header the kernel hands up is longer than 20 octets; its
		// options must not show in the payload.
		var s *bindSocket
		for _, x := range *ba.socks.Load() {
			if x.kind == sockRaw && !x.v6 {
				s = x
			}
		}
		if err := controlFD(s.rc, func(fd int) error {
			return unix.SetsockoptString(fd, unix.IPPROTO_IP, unix.IP_OPTIONS, string(opts))
		}); err != nil {
			t.Fatalf("IP_OPTIONS: %v", err)
		}
		defer controlFD(s.rc, func(fd int) error {
			return unix.SetsockoptString(fd, unix.IPPROTO_IP, unix.IP_OPTIONS, "")
		})
		out := espPackets(3, 3)
		ep := Endpoint{netip.AddrPortFrom(a1, 0), netip.AddrPortFrom(a2, 0)}
		if err := ba.Send(out, ep); err != nil {
			t.Fatal(err)
		}
		checkDatagrams(t, h.receive(h.recv(bb, fb, sockRaw, false), len(out)), out, Endpoint{ep.Remote, ep.Local})
		// The wildcard bind too, since it is in the same namespace.
		checkDatagrams(t, h.receive(h.recv(bw, fw, sockRaw, false), len(out)), out, Endpoint{ep.Remote, ep.Local})
	})

	t.Run("UDP IPv6 source", func(t *testing.T) {
		_, wport := bw.LocalPorts()
		_, aport := ba.LocalPorts()
		out := testPayloads(5, 4)
		ep := Endpoint{netip.AddrPortFrom(a61, aport), netip.AddrPortFrom(a62, wport)}
		if err := ba.Send(out, ep); err != nil {
			t.Fatal(err)
		}
		got := h.receive(h.recv(bw, fw, sockNATT, true), len(out))
		checkDatagrams(t, got, out, Endpoint{ep.Remote, ep.Local})
		if err := bw.Send(out[:2], got[0].ep); err != nil {
			t.Fatal(err)
		}
		checkDatagrams(t, h.receive(h.recv(ba, fa, sockNATT, true), 2), out[:2], ep)
	})

	t.Run("offload fallback", func(t *testing.T) {
		// Datagrams longer than the MTU cannot be sent coalesced (EINVAL):
		// they go one by one, fragmented, and offload stays on.
		_, oport := bo.LocalPorts()
		_, pport := bp.LocalPorts()
		ep := Endpoint{netip.AddrPortFrom(a1, oport), netip.AddrPortFrom(a2, pport)}
		out := make([][]byte, 6)
		for i := range out {
			out[i] = bytes.Repeat([]byte{byte(i + 1)}, 2000)
		}
		out[5] = out[5][:1000]
		if err := bo.Send(out, ep); err != nil {
			t.Fatal(err)
		}
		checkDatagrams(t, h.receive(fp[0], len(out)), out, Endpoint{ep.Remote, ep.Local})
		if n := bo.gsoRetries.Load(); n == 0 {
			t.Error("no coalesced send was refused: the fallback was not exercised")
		}
		if !(*bo.socks.Load())[0].gso.Load() {
			t.Error("EINVAL turned offload off")
		}
		// Datagrams within the MTU still go coalesced.
		for i := range out {
			out[i] = out[i][:1000]
		}
		if err := bo.Send(out, ep); err != nil {
			t.Fatal(err)
		}
		checkDatagrams(t, h.receive(fp[0], len(out)), out, Endpoint{ep.Remote, ep.Local})
		if bp.coalesced.Load() == 0 {
			t.Error("no datagram arrived coalesced")
		}
	})

	t.Run("allocs", func(t *testing.T) {
		if raceEnabled {
			t.Skip("allocation counts mean nothing under the race detector")
		}
		out := espPackets(8, 5)
		bufs, sizes, eps := testBufs(bindBatchSize, 2048)
		for _, v6 := range []bool{false, true} {
			ep := Endpoint{netip.AddrPortFrom(a1, 0), netip.AddrPortFrom(a2, 0)}
			if v6 {
				ep = Endpoint{netip.AddrPortFrom(a61, 0), netip.AddrPortFrom(a62, 0)}
			}
			recv := h.recv(bb, fb, sockRaw, v6)
			var failed error
			exchange := func() {
				if err := ba.Send(out, ep); err != nil {
					failed = err
					return
				}
				for got := 0; got < len(out); {
					n, err := recv(bufs, sizes, eps)
					if err != nil {
						failed = err
						return
					}
					got += n
				}
			}
			exchange()
			allocs := testing.AllocsPerRun(50, exchange)
			if failed != nil {
				t.Fatal(failed)
			}
			if allocs != 0 {
				t.Errorf("raw ESP (IPv6 %v): %v allocations per exchange, want 0", v6, allocs)
			}
		}
	})
}

// testNetns is a network namespace a test created: its loopback is up with
// an Ethernet MTU (1500) and has the addresses 198.18.20.1, .2,
// 2001:db8:20::1 and ::2.
type testNetns struct{ name string }

func newTestNetns(t *testing.T) testNetns {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatalf("the network namespace needs iproute2: %v", err)
	}
	ns := testNetns{fmt.Sprintf("ikego-bind-%d", os.Getpid())}
	run := func(args ...string) error {
		out, err := exec.Command("ip", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	_ = run("netns", "del", ns.name) // left over by a crashed run of the same pid
	if err := run("netns", "add", ns.name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := run("netns", "del", ns.name); err != nil {
			t.Error(err)
		}
	})
	for _, args := range [][]string{
		{"-n", ns.name, "link", "set", "lo", "up", "mtu", "1500"},
		{"-n", ns.name, "addr", "add", "198.18.20.1/32", "dev", "lo"},
		{"-n", ns.name, "addr", "add", "198.18.20.2/32", "dev", "lo"},
		{"-n", ns.name, "-6", "addr", "add", "2001:db8:20::1/128", "dev", "lo", "nodad"},
		{"-n", ns.name, "-6", "addr", "add", "2001:db8:20::2/128", "dev", "lo", "nodad"},
	} {
		if err := run(args...); err != nil {
			t.Fatal(err)
		}
	}
	return ns
}

// do runs f on an OS thread switched into the namespace: the sockets f
// opens stay in it, and are used from any thread afterwards. The thread is
// switched back, or if that fails, it ends with its goroutine, as the
// runtime does with a thread left locked.
func (ns testNetns) do(t *testing.T, f func() error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open(fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid()))
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		target, err := os.Open("/run/netns/" + ns.name)
		if err != nil {
			errc <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", ns.name, err)
			return
		}
		err = f()
		if unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	select {
	case err := <-errc:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(testTimeout):
		t.Fatal("timed out in the network namespace")
	}
}

// BenchmarkUDPBind measures a loopback exchange of batches of 16
// datagrams of 1400 octets: Send, then receive until all arrived.
func BenchmarkUDPBind(b *testing.B) {
	for _, offload := range []bool{false, true} {
		b.Run(fmt.Sprintf("offload=%v", offload), func(b *testing.B) {
			cfg := UDPBindConfig{Addrs: []netip.Addr{lo4}, NoIKEPort: true, Ephemeral: true, Offload: offload}
			cb, err := NewUDPBind(cfg)
			if err != nil {
				b.Fatal(err)
			}
			sb, _ := NewUDPBind(cfg)
			if _, err := cb.Open(); err != nil {
				b.Fatal(err)
			}
			defer cb.Close()
			fns, err := sb.Open()
			if err != nil {
				b.Fatal(err)
			}
			defer sb.Close()
			_, cport := cb.LocalPorts()
			_, sport := sb.LocalPorts()
			ep := Endpoint{netip.AddrPortFrom(lo4, cport), netip.AddrPortFrom(lo4, sport)}
			out := make([][]byte, 16)
			for i := range out {
				out[i] = make([]byte, 1400)
			}
			bufs, sizes, eps := testBufs(bindBatchSize, 2048)
			b.ReportAllocs()
			b.SetBytes(int64(len(out) * 1400))
			for b.Loop() {
				if err := cb.Send(out, ep); err != nil {
					b.Fatal(err)
				}
				for got := 0; got < len(out); {
					n, err := fns[0](bufs, sizes, eps)
					if err != nil {
						b.Fatal(err)
					}
					got += n
				}
			}
		})
	}
}

// BenchmarkXNetReadBatch is BenchmarkUDPBind with the receive done by
// golang.org/x/net/ipv4's ReadBatch, for its allocations: it returns the
// sender of each datagram as a new *net.UDPAddr with a new net.IP, which
// is why UDPBind calls recvmmsg itself.
func BenchmarkXNetReadBatch(b *testing.B) {
	cb, err := NewUDPBind(UDPBindConfig{Addrs: []netip.Addr{lo4}, NoIKEPort: true, Ephemeral: true})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := cb.Open(); err != nil {
		b.Fatal(err)
	}
	defer cb.Close()
	conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lo4, 0)))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	pc := ipv4.NewPacketConn(conn)
	if err := pc.SetControlMessage(ipv4.FlagDst, true); err != nil {
		b.Fatal(err)
	}
	_, cport := cb.LocalPorts()
	ep := Endpoint{netip.AddrPortFrom(lo4, cport), conn.LocalAddr().(*net.UDPAddr).AddrPort()}
	out := make([][]byte, 16)
	for i := range out {
		out[i] = make([]byte, 1400)
	}
	msgs := make([]ipv4.Message, bindBatchSize)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, 2048)}
		msgs[i].OOB = make([]byte, bindOOBLen)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(out) * 1400))
	for b.Loop() {
		if err := cb.Send(out, ep); err != nil {
			b.Fatal(err)
		}
		for got := 0; got < len(out); {
			n, err := pc.ReadBatch(msgs, 0)
			if err != nil {
				b.Fatal(err)
			}
			got += n
		}
	}
}
