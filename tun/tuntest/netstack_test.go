package tuntest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/ikego/ikego/tun"
	"golang.zx2c4.com/wireguard/tun/netstack"
)

var (
	nsA4 = netip.MustParseAddr("198.18.0.1")
	nsB4 = netip.MustParseAddr("198.18.0.2")
	nsA6 = netip.MustParseAddr("2001:db8::1")
	nsB6 = netip.MustParseAddr("2001:db8::2")
)

// backToBack returns two netstacks joined by two Forward goroutines. Cleanup
// closes both devices and requires both Forwards to end without error.
func backToBack(t *testing.T) (a, b *netstack.Net) {
	t.Helper()
	devA, netA, err := NewNetstack([]netip.Addr{nsA4, nsA6}, 1400)
	if err != nil {
		t.Fatal(err)
	}
	devB, netB, err := NewNetstack([]netip.Addr{nsB4, nsB6}, 1400)
	if err != nil {
		devA.Close()
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	go func() { errs <- Forward(devB, devA) }()
	go func() { errs <- Forward(devA, devB) }()
	t.Cleanup(func() {
		devA.Close()
		devB.Close()
		devA.Close() // idempotent
		for range 2 {
			if err := wait(t, errs, "Forward to end after Close"); err != nil {
				t.Errorf("Forward: %v", err)
			}
		}
	})
	return netA, netB
}

func TestNetstackPing(t *testing.T) {
	netA, _ := backToBack(t)
	for _, tc := range []struct {
		dst   netip.Addr
		reply uint8
	}{{nsB4, 0}, {nsB6, 129}} {
		payload := []byte("through two netstacks")
		reply, err := PingNetstack(netA, tc.dst, 42, payload, timeout)
		if err != nil {
			t.Fatal(err)
		}
		if len(reply) < 8 || reply[0] != tc.reply || reply[6] != 0 || reply[7] != 42 || !bytes.Equal(reply[8:], payload) {
			t.Fatalf("ping %v: reply %x, want type %d, sequence 42 and the payload", tc.dst, reply, tc.reply)
		}
	}

	// Nobody has this address: PingNetstack gives up at its timeout.
	start := time.Now()
	if _, err := PingNetstack(netA, netip.MustParseAddr("198.18.0.99"), 1, nil, 1500*time.Millisecond); err == nil {
		t.Fatal("PingNetstack to a missing host succeeded")
	}
	if d := time.Since(start); d > timeout {
		t.Fatalf("PingNetstack to a missing host took %v", d)
	}
}

func TestNetstackTCP(t *testing.T) {
	netA, netB := backToBack(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()

	for _, server := range []netip.AddrPort{netip.AddrPortFrom(nsB4, 8080), netip.AddrPortFrom(nsB6, 8080)} {
		ln, err := netB.ListenTCPAddrPort(server)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		// The server echoes what it reads.
		served := make(chan error, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				served <- err
				return
			}
			defer c.Close()
			c.SetDeadline(deadline)
			_, err = io.Copy(c, c)
			served <- err
		}()

		c, err := netA.DialContextTCPAddrPort(ctx, server)
		if err != nil {
			t.Fatalf("dial %v: %v", server, err)
		}
		c.SetDeadline(deadline)
		data := make([]byte, 256<<10)
		for i := range data {
			data[i] = byte(rand.Uint32())
		}
		wrote := make(chan error, 1)
		go func() {
			_, err := c.Write(data)
			if err == nil {
				err = c.CloseWrite()
			}
			wrote <- err
		}()
		got, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("%v: read echo: %v", server, err)
		}
		if err := wait(t, wrote, "the client to write"); err != nil {
			t.Fatalf("%v: write: %v", server, err)
		}
		if err := wait(t, served, "the server to finish"); err != nil {
			t.Fatalf("%v: server: %v", server, err)
		}
		c.Close()
		if sha256.Sum256(got) != sha256.Sum256(data) {
			t.Fatalf("%v: echoed %d bytes that differ from the %d sent", server, len(got), len(data))
		}
	}
}

// TestNetstackAnswersPing writes our echo requests into a netstack device and
// reads its replies back: gVisor checks every checksum on the way in, and
// ParseEcho checks gVisor's on the way out.
func TestNetstackAnswersPing(t *testing.T) {
	dev, _, err := NewNetstack([]netip.Addr{nsB4, nsB6}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	if mtu, _ := dev.MTU(); mtu != 1400 {
		t.Errorf("MTU() = %d, want the default 1400", mtu)
	}
	for _, tc := range []struct {
		src, dst netip.Addr
		reply    uint8
	}{{nsA4, nsB4, 0}, {nsA6, nsB6, 129}} {
		// The stack answers inside Write, which blocks until the answer
		// is read: read first.
		bufs, sizes := makeBufs(1, 1500)
		replies := readAsync(dev, bufs, sizes, tun.Headroom)
		req := Ping(tc.src, tc.dst, 0x55aa, 7, []byte("hello"))
		buf := make([]byte, tun.Headroom+len(req))
		copy(buf[tun.Headroom:], req)
		if _, err := dev.Write([][]byte{buf}, tun.Headroom); err != nil {
			t.Fatal(err)
		}
		r := wait(t, replies, "netstack's echo reply")
		if r.err != nil || r.n != 1 {
			t.Fatalf("Read = %d, %v", r.n, r.err)
		}
		src, dst, typ, id, seq, ok := ParseEcho(bufs[0][tun.Headroom : tun.Headroom+sizes[0]])
		if !ok || src != tc.dst || dst != tc.src || typ != tc.reply || id != 0x55aa || seq != 7 {
			t.Fatalf("reply to %v = %v -> %v type %d id %#x seq %d ok %v", tc.dst, src, dst, typ, id, seq, ok)
		}
	}
	dev.Close()
	bufs, sizes := makeBufs(1, 1500)
	if _, err := dev.Read(bufs, sizes, 0); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Read after Close = %v, want os.ErrClosed", err)
	}
}

func TestNewNetstackError(t *testing.T) {
	if _, _, err := NewNetstack([]netip.Addr{{}}, 1400); err == nil {
		t.Fatal("NewNetstack accepted the zero Addr")
	}
}

var _ net.Conn = (*netstack.PingConn)(nil)
