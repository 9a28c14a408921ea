package ikego

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/esp/esptest"
	"github.com/ikego/ikego/internal/leakcheck"
	"github.com/ikego/ikego/tun"
	"github.com/ikego/ikego/tun/tuntest"
)

var (
	outerA = netip.MustParseAddr("198.51.100.1")
	outerB = netip.MustParseAddr("198.51.100.2")
)

// site is one side of a test tunnel: its outer address, the inner prefix
// behind it and its inner host address.
type site struct {
	outer  netip.Addr
	prefix netip.Prefix
	host   netip.Addr
}

var (
	siteA  = site{outerA, netip.MustParsePrefix("198.18.2.0/24"), netip.MustParseAddr("198.18.2.1")}
	siteB  = site{outerB, netip.MustParsePrefix("203.0.113.0/26"), netip.MustParseAddr("203.0.113.1")}
	siteA6 = site{outerA, netip.MustParsePrefix("2001:db8:2::/64"), netip.MustParseAddr("2001:db8:2::1")}
	siteB6 = site{outerB, netip.MustParsePrefix("2001:db8:1::/64"), netip.MustParseAddr("2001:db8:1::1")}
)

func key(seed byte, n int) []byte {
	k := make([]byte, n)
	for i := range k {
		k[i] = seed + byte(i)
	}
	return k
}

// tunnel installs on g the policy between local and remote sites and a pair
// of AES-128-GCM SAs with the given SPIs, UDP-encapsulated unless raw.
func tunnel(t testing.TB, g *Gateway, id uint32, local, remote []site, spiOut, spiIn uint32, raw bool) {
	t.Helper()
	p := esp.Policy{ID: id, Priority: 100, Action: esp.ActionProtect}
	for _, s := range local {
		p.Local = append(p.Local, esp.SelectorFromPrefix(s.prefix))
	}
	for _, s := range remote {
		p.Remote = append(p.Remote, esp.SelectorFromPrefix(s.prefix))
	}
	if err := g.Engine().SetPolicy(p); err != nil {
		t.Fatal(err)
	}
	port := uint16(4500)
	if raw {
		port = 0
	}
	for _, sa := range []struct {
		dir esp.Direction
		spi uint32
	}{{esp.DirOut, spiOut}, {esp.DirIn, spiIn}} {
		params := esp.SAParams{
			SPI: sa.spi, Encr: esp.EncrAESGCM16, EncrKey: key(byte(sa.spi), 20),
			Local: netip.AddrPortFrom(local[0].outer, 0), Remote: netip.AddrPortFrom(remote[0].outer, port),
			ReplayWindow: 1024,
		}
		if _, err := g.Engine().AddSA(sa.dir, params, id, esp.Lifetime{}); err != nil {
			t.Fatal(err)
		}
	}
}

func newGateway(t testing.TB, dev tun.Device, bind esp.Bind) *Gateway {
	t.Helper()
	g, err := NewGateway(GatewayConfig{TUN: dev, Bind: bind})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestGatewayPingTCP runs ping and TCP between two userspace TCP/IP stacks
// through two gateways joined by an in-memory network: IPv4 and IPv6 inner
// traffic, UDP-encapsulated and raw ESP.
func TestGatewayPingTCP(t *testing.T) {
	for _, raw := range []bool{false, true} {
		t.Run(fmt.Sprintf("raw=%v", raw), func(t *testing.T) {
			leakcheck.Check(t, 5*time.Second)
			net := esptest.NewNetwork()
			devA, stackA, err := tuntest.NewNetstack([]netip.Addr{siteA.host, siteA6.host}, 1400)
			if err != nil {
				t.Fatal(err)
			}
			devB, stackB, err := tuntest.NewNetstack([]netip.Addr{siteB.host, siteB6.host}, 1400)
			if err != nil {
				t.Fatal(err)
			}
			gA := newGateway(t, devA, net.NewBind(outerA))
			gB := newGateway(t, devB, net.NewBind(outerB))
			tunnel(t, gA, 1, []site{siteA, siteA6}, []site{siteB, siteB6}, 0x1001, 0x2001, raw)
			tunnel(t, gB, 1, []site{siteB, siteB6}, []site{siteA, siteA6}, 0x2001, 0x1001, raw)
			for _, g := range []*Gateway{gA, gB} {
				if err := g.Start(); err != nil {
					t.Fatal(err)
				}
			}
			defer gA.Close()
			defer gB.Close()

			for _, dst := range []netip.Addr{siteB.host, siteB6.host} {
				reply, err := tuntest.PingNetstack(stackA, dst, 1, []byte("ikego ping"), 10*time.Second)
				if err != nil {
					t.Fatalf("ping %v: %v", dst, err)
				}
				if !bytes.HasSuffix(reply, []byte("ikego ping")) {
					t.Fatalf("ping %v: odd reply %x", dst, reply)
				}
			}

			// TCP: 2 MiB from A to B, hashed at both ends.
			for _, dst := range []netip.Addr{siteB.host, siteB6.host} {
				ln, err := stackB.ListenTCPAddrPort(netip.AddrPortFrom(dst, 5201))
				if err != nil {
					t.Fatal(err)
				}
				got := make(chan [32]byte, 1)
				go func() {
					defer close(got)
					c, err := ln.Accept()
					if err != nil {
						return
					}
					defer c.Close()
					c.SetDeadline(time.Now().Add(20 * time.Second))
					h := sha256.New()
					io.Copy(h, c)
					var sum [32]byte
					copy(sum[:], h.Sum(nil))
					got <- sum
				}()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				c, err := stackA.DialContextTCPAddrPort(ctx, netip.AddrPortFrom(dst, 5201))
				cancel()
				if err != nil {
					t.Fatal(err)
				}
				data := key(3, 2<<20)
				c.SetDeadline(time.Now().Add(20 * time.Second))
				if _, err := c.Write(data); err != nil {
					t.Fatal(err)
				}
				c.Close()
				select {
				case sum := <-got:
					if sum != sha256.Sum256(data) {
						t.Fatalf("TCP to %v: data changed in transit", dst)
					}
				case <-time.After(20 * time.Second):
					t.Fatalf("TCP to %v: no data within 20s", dst)
				}
				ln.Close()
			}
			for _, g := range []*Gateway{gA, gB} {
				st := g.Engine().Stats()
				if st.OpenErrors+st.SealErrors+st.SendErrors+st.PolicyMismatch+st.UnknownSPI != 0 {
					t.Errorf("engine errors: %+v", st)
				}
			}
		})
	}
}
