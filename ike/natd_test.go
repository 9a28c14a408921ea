package ike

import (
	"bytes"
	"crypto/sha1"
	"net/netip"
	"testing"
	"time"
)

func TestNATHashLayout(t *testing.T) {
	// The hash input of RFC 7296 §2.23, built by hand.
	for _, ap := range []string{"198.51.100.1:500", "[2001:db8:0:1::1]:4500", "[::ffff:198.51.100.1]:500"} {
		a := netip.MustParseAddrPort(ap)
		in := []byte{1, 2, 3, 4, 5, 6, 7, 8, 0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0x10, 0x11}
		in = append(in, a.Addr().Unmap().AsSlice()...)
		in = append(in, byte(a.Port()>>8), byte(a.Port()))
		want := sha1.Sum(in)
		if got := NATHash(0x0102030405060708, 0x0a0b0c0d0e0f1011, a); got != want {
			t.Errorf("%s: %x, want %x", ap, got, want)
		}
	}
}

func TestDetectNAT(t *testing.T) {
	const spii, spir = 0x1111, 0x2222
	local := netip.MustParseAddrPort("198.51.100.2:500")
	remote := netip.MustParseAddrPort("198.51.100.1:500")
	h := func(ap netip.AddrPort) []byte { x := NATHash(spii, spir, ap); return x[:] }
	natted := netip.MustParseAddrPort("198.51.100.1:40001")
	for _, tc := range []struct {
		name      string
		src       [][]byte
		dst       []byte
		want      NATResult
		supported bool
	}{
		{"no NAT", [][]byte{h(remote)}, h(local), NATResult{}, true},
		{"peer behind NAT", [][]byte{h(natted)}, h(local), NATResult{RemoteBehindNAT: true}, true},
		{"multihomed peer, one matches", [][]byte{h(natted), h(remote)}, h(local), NATResult{}, true},
		{"we are behind NAT", [][]byte{h(remote)}, h(netip.MustParseAddrPort("203.0.113.9:500")), NATResult{LocalBehindNAT: true}, true},
		{"fake hash forces encapsulation", [][]byte{bytes.Repeat([]byte{7}, 20)}, h(local), NATResult{RemoteBehindNAT: true}, true},
		{"short hash", [][]byte{h(remote)[:10]}, h(local), NATResult{RemoteBehindNAT: true}, true},
		{"no NAT detection", nil, nil, NATResult{}, false},
	} {
		got, ok := DetectNAT(spii, spir, local, remote, tc.src, tc.dst)
		if got != tc.want || ok != tc.supported {
			t.Errorf("%s: %+v %v, want %+v %v", tc.name, got, ok, tc.want, tc.supported)
		}
		if tc.want.Any() != (tc.want.LocalBehindNAT || tc.want.RemoteBehindNAT) {
			t.Errorf("%s: Any", tc.name)
		}
	}
	f1, _ := FakeNATHash(bytes.NewReader(bytes.Repeat([]byte{1}, 20)))
	if f1 == NATHash(spii, spir, local) {
		t.Fatal("fake hash equals a real one")
	}
}

func TestCookies(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := &Cookies{Now: func() time.Time { return now }, Rotate: time.Minute}
	ni := []byte("nonce of the initiator")
	ip := netip.MustParseAddr("198.51.100.1")
	ck, err := c.Make(ni, ip, 42)
	if err != nil || len(ck) != CookieLen {
		t.Fatalf("%x %v", ck, err)
	}
	if !c.Verify(ck, ni, ip, 42) {
		t.Fatal("own cookie refused")
	}
	for name, ok := range map[string]bool{
		"other nonce":   c.Verify(ck, []byte("another nonce"), ip, 42),
		"other address": c.Verify(ck, ni, netip.MustParseAddr("198.51.100.7"), 42),
		"other SPI":     c.Verify(ck, ni, ip, 43),
		"truncated":     c.Verify(ck[:20], ni, ip, 42),
		"flipped":       c.Verify(append([]byte{ck[0]}, append([]byte{ck[1] ^ 1}, ck[2:]...)...), ni, ip, 42),
	} {
		if ok {
			t.Errorf("%s: accepted", name)
		}
	}
	// One rotation: the old cookie still passes, a new one has a new
	// version.
	now = now.Add(61 * time.Second)
	if !c.Verify(ck, ni, ip, 42) {
		t.Fatal("cookie of the previous secret refused")
	}
	ck2, _ := c.Make(ni, ip, 42)
	if ck2[0] == ck[0] || bytes.Equal(ck2, ck) {
		t.Fatal("rotation did not change the secret")
	}
	// Two rotations: the first cookie is too old.
	now = now.Add(61 * time.Second)
	if c.Verify(ck, ni, ip, 42) {
		t.Fatal("cookie two secrets old accepted")
	}
	if !c.Verify(ck2, ni, ip, 42) {
		t.Fatal("cookie of the previous secret refused after the second rotation")
	}
	var zero Cookies
	if zero.Verify(ck, ni, ip, 42) {
		t.Fatal("a fresh Cookies accepted a foreign cookie")
	}
}

func TestRetransmit(t *testing.T) {
	var r Retransmit
	want := []time.Duration{4 * time.Second, 7200 * time.Millisecond, 12960 * time.Millisecond,
		23328 * time.Millisecond, 41990400 * time.Microsecond, 75582720 * time.Microsecond}
	for n, w := range want {
		d, ok := r.Wait(n)
		if !ok || (d-w).Abs() > time.Millisecond {
			t.Fatalf("wait %d: %v %v, want %v", n, d, ok, w)
		}
	}
	if _, ok := r.Wait(len(want)); ok {
		t.Fatal("more than 5 retransmissions")
	}
	if tot := r.Total(); (tot - 165061*time.Millisecond).Abs() > 100*time.Millisecond {
		t.Fatalf("total %v, want about 165 s as strongSwan", tot)
	}
	capped := Retransmit{Timeout: time.Second, Base: 2, Tries: 3, Limit: 3 * time.Second}
	if d, _ := capped.Wait(3); d != 3*time.Second {
		t.Fatalf("limit not applied: %v", d)
	}
	if _, ok := (Retransmit{Tries: -1}).Wait(1); ok {
		t.Fatal("negative tries retransmitted")
	}
}
