package esp_test

import (
	"bytes"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/tun/tuntest"
)

// TestEngineLocalAddr: packets from the TUN device to an address with a
// handler reach the handler and not the SA that covers the address; other
// traffic still goes through the SA; after DeleteLocalAddr the address goes
// through the SA again.
func TestEngineLocalAddr(t *testing.T) {
	a, b, _ := pair(t, 0)
	connect(t, a, b, 0x7001, esp.Lifetime{})
	local := netip.MustParseAddr("203.0.113.7") // inside netB: policy 1 would protect it
	got := make(chan []byte, 16)
	if err := a.e.AddLocalAddr(local, func(pkt []byte) { got <- bytes.Clone(pkt) }); err != nil {
		t.Fatal(err)
	}
	if err := a.e.AddLocalAddr(local, func([]byte) {}); err == nil {
		t.Fatal("a second handler for one address was accepted")
	}
	if err := a.e.AddLocalAddr(netip.Addr{}, func([]byte) {}); err == nil {
		t.Fatal("an invalid address was accepted")
	}
	if err := a.e.AddLocalAddr(netip.MustParseAddr("203.0.113.8"), nil); err == nil {
		t.Fatal("a nil handler was accepted")
	}
	if l := a.e.LocalAddrs(); len(l) != 1 || l[0] != local {
		t.Fatalf("LocalAddrs %v, want [%v]", l, local)
	}
	toLocal := tuntest.UDP(netip.AddrPortFrom(hostA, 1000), netip.AddrPortFrom(local, 2000), []byte("for the handler"))
	toB := udp(1, 10)
	a.dev.Inbound <- toLocal
	a.dev.Inbound <- toB
	select {
	case p := <-got:
		if !bytes.Equal(p, toLocal) {
			t.Fatalf("handler got %x, want %x", p, toLocal)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the handler got nothing within 5s")
	}
	// The SA keeps the order of what the TUN reader gave it: had the local
	// packet gone through the SA, it would arrive first.
	if p := recv(t, b, 5*time.Second); !bytes.Equal(p, toB) {
		t.Fatalf("B got %x, want the packet for B", p)
	}
	if n := a.e.Stats().LocalAddr; n != 1 {
		t.Fatalf("LocalAddr counter %d, want 1", n)
	}

	if !a.e.DeleteLocalAddr(local) {
		t.Fatal("DeleteLocalAddr of a registered address returned false")
	}
	if a.e.DeleteLocalAddr(local) {
		t.Fatal("DeleteLocalAddr of a deleted address returned true")
	}
	if l := a.e.LocalAddrs(); len(l) != 0 {
		t.Fatalf("LocalAddrs %v after delete", l)
	}
	a.dev.Inbound <- toLocal
	if p := recv(t, b, 5*time.Second); !bytes.Equal(p, toLocal) {
		t.Fatalf("after delete B got %x, want the packet for %v", p, local)
	}
	select {
	case p := <-got:
		t.Fatalf("the deleted handler got %x", p)
	default:
	}
}

// TestEngineLocalAddrMapped: an IPv4-mapped address is the IPv4 address.
func TestEngineLocalAddrMapped(t *testing.T) {
	a, _, _ := pair(t, 0)
	if err := a.e.AddLocalAddr(netip.MustParseAddr("::ffff:198.18.200.2"), func([]byte) {}); err != nil {
		t.Fatal(err)
	}
	if !a.e.DeleteLocalAddr(netip.MustParseAddr("198.18.200.2")) {
		t.Fatal("the mapped address was not stored as IPv4")
	}
}

// TestEngineWriteTUN: packets written with WriteTUN from several goroutines,
// while the engine itself writes what arrives through an SA, all reach the
// device intact.
func TestEngineWriteTUN(t *testing.T) {
	a, b, _ := pair(t, 0)
	connect(t, a, b, 0x7002, esp.Lifetime{})
	if err := b.e.WriteTUN(nil); err == nil {
		t.Fatal("WriteTUN of an empty packet succeeded")
	}
	const writers, each = 4, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				p := tuntest.UDP(netip.MustParseAddrPort("198.18.200.2:7"), netip.AddrPortFrom(hostB, uint16(w)), []byte{byte(i)})
				if err := b.e.WriteTUN(p); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for i := range each {
		a.dev.Inbound <- udp(uint32(i), 20)
	}
	local, viaSA := 0, 0
	for local+viaSA < writers*each+each {
		p := recv(t, b, 5*time.Second)
		src, _, _, ok := tuntest.ParseUDP(p)
		switch {
		case !ok:
			t.Fatalf("mangled packet %x", p)
		case src.Addr() == hostA:
			viaSA++
		default:
			local++
		}
	}
	wg.Wait()
	if local != writers*each || viaSA != each {
		t.Fatalf("%d written, %d through the SA", local, viaSA)
	}
}
