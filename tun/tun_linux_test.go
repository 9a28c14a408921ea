package tun_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ikego/ikego/tun"
	"github.com/ikego/ikego/tun/tuntest"
)

// timeout bounds every wait in these tests.
const timeout = 5 * time.Second

// netns is a network namespace a test made, deleted by t.Cleanup.
type netns struct {
	name string
	fd   int
}

// newNetns creates the network namespace ikego-tun-<pid>, or skips the test
// when it cannot run here.
func newNetns(t *testing.T) *netns {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: creating a network namespace and a TUN device needs root")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("skipping: no TUN clone device: %v", err)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipping: ip(8) from iproute2 is not installed")
	}
	ns := &netns{name: fmt.Sprintf("ikego-tun-%d", os.Getpid())}
	// A namespace by that name is left over from a run that died with our
	// PID; nothing else uses the name.
	exec.Command("ip", "netns", "del", ns.name).Run()
	if out, err := exec.Command("ip", "netns", "add", ns.name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", ns.name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns.name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", ns.name, err, out)
		}
	})
	fd, err := unix.Open("/run/netns/"+ns.name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("opening namespace %s: %v", ns.name, err)
	}
	ns.fd = fd
	t.Cleanup(func() { unix.Close(fd) })
	return ns
}

// do runs f on this goroutine's thread moved into the namespace, so that
// the sockets and devices f creates are there, then moves the thread back.
// If it cannot move back, it leaves the thread locked, and the runtime ends
// the thread with the goroutine.
func (ns *netns) do(t *testing.T, f func()) {
	t.Helper()
	runtime.LockOSThread()
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("opening this thread's network namespace: %v", err)
	}
	defer unix.Close(orig)
	if err := unix.Setns(ns.fd, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("entering namespace %s: %v", ns.name, err)
	}
	defer func() {
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			t.Errorf("leaving namespace %s: %v", ns.name, err)
			return
		}
		runtime.UnlockOSThread()
	}()
	f()
}

// ip runs ip(8) in the namespace and decodes its JSON output into v.
func (ns *netns) ip(t *testing.T, v any, args ...string) {
	t.Helper()
	args = append([]string{"-n", ns.name, "-j"}, args...)
	out, err := exec.Command("ip", args...).Output()
	if err != nil {
		t.Fatalf("ip %s: %v", strings.Join(args, " "), err)
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("ip %s: %v in %s", strings.Join(args, " "), err, out)
	}
}

// link is the part of `ip -j addr` the tests look at.
type link struct {
	Name     string     `json:"ifname"`
	Flags    []string   `json:"flags"`
	MTU      int        `json:"mtu"`
	AddrInfo []addrInfo `json:"addr_info"`
}

type addrInfo struct {
	Family    string `json:"family"`
	Local     string `json:"local"`
	PrefixLen int    `json:"prefixlen"`
	NoDAD     bool   `json:"nodad"`
	Tentative bool   `json:"tentative"`
}

// route is the part of `ip -j route` the tests look at.
type route struct {
	Dst      string `json:"dst"`
	Dev      string `json:"dev"`
	Protocol string `json:"protocol"`
}

func (ns *netns) link(t *testing.T, dev string) link {
	t.Helper()
	var links []link
	ns.ip(t, &links, "addr", "show", "dev", dev)
	if len(links) != 1 {
		t.Fatalf("ip addr show dev %s: %d links", dev, len(links))
	}
	return links[0]
}

// hasAddr reports whether l has address p, usable at once (not tentative).
func (l link) hasAddr(p netip.Prefix) bool {
	for _, a := range l.AddrInfo {
		if a.Local == p.Addr().String() && a.PrefixLen == p.Bits() && !a.Tentative {
			return true
		}
	}
	return false
}

// hasRoute reports whether table holds a route to p through dev.
func (ns *netns) hasRoute(t *testing.T, p netip.Prefix, dev string, table int) bool {
	t.Helper()
	family := "-4"
	if p.Addr().Is6() {
		family = "-6"
	}
	tbl := "main"
	if table != 0 {
		tbl = fmt.Sprint(table)
	}
	var routes []route
	ns.ip(t, &routes, family, "route", "show", "table", tbl)
	return slices.ContainsFunc(routes, func(r route) bool { return r.Dst == p.String() && r.Dev == dev })
}

// linkExists reports whether dev exists in the namespace.
func (ns *netns) linkExists(dev string) bool {
	return exec.Command("ip", "-n", ns.name, "link", "show", "dev", dev).Run() == nil
}

var (
	addr4  = netip.MustParsePrefix("198.18.10.1/24")
	addr6  = netip.MustParsePrefix("2001:db8:10::1/64")
	route4 = netip.MustParsePrefix("198.51.100.128/25")
	peer4  = netip.MustParseAddr("198.18.10.2")
	peer6  = netip.MustParseAddr("2001:db8:10::2")
)

// echo is an echo reply read from a device.
type echo struct {
	src, dst netip.Addr
	typ      uint8
	id, seq  uint16
}

// readEchoes reads dev until it is closed and sends every ICMP echo it reads
// on the returned channel, skipping other packets (the kernel's MLD reports
// and router solicitations). The channel is closed when reading ends.
func readEchoes(t *testing.T, dev tun.Device, mtu int) <-chan echo {
	ch := make(chan echo, 16)
	bufs := make([][]byte, dev.BatchSize())
	for i := range bufs {
		bufs[i] = make([]byte, tun.Headroom+mtu)
	}
	sizes := make([]int, len(bufs))
	go func() {
		defer close(ch)
		for {
			n, err := dev.Read(bufs, sizes, tun.Headroom)
			for i := range n {
				if src, dst, typ, id, seq, ok := tuntest.ParseEcho(bufs[i][tun.Headroom : tun.Headroom+sizes[i]]); ok {
					ch <- echo{src, dst, typ, id, seq}
				}
			}
			if err != nil && !errors.Is(err, tun.ErrTooManySegments) {
				if !errors.Is(err, os.ErrClosed) {
					t.Errorf("Read: %v", err)
				}
				return
			}
		}
	}()
	return ch
}

// pingKernel writes an echo request from peer to addr into dev and waits
// for the kernel's reply on echoes.
func pingKernel(t *testing.T, dev tun.Device, echoes <-chan echo, peer, addr netip.Addr, seq uint16) {
	t.Helper()
	req := tuntest.Ping(peer, addr, 0x1ce, seq, []byte("ikego tun test"))
	buf := make([]byte, tun.Headroom+len(req))
	copy(buf[tun.Headroom:], req)
	if n, err := dev.Write([][]byte{buf}, tun.Headroom); n != 1 || err != nil {
		t.Fatalf("Write echo request to %v = %d, %v", addr, n, err)
	}
	reply := uint8(0)
	if addr.Is6() {
		reply = 129
	}
	want := echo{addr, peer, reply, 0x1ce, seq}
	deadline := time.After(timeout)
	for {
		select {
		case e, ok := <-echoes:
			if !ok {
				t.Fatalf("device closed before the echo reply from %v", addr)
			}
			if e == want {
				return
			}
		case <-deadline:
			t.Fatalf("no echo reply from %v within %v", addr, timeout)
		}
	}
}

func TestCreate(t *testing.T) {
	ns := newNetns(t)
	cfg := tun.Config{MTU: 1420, Addrs: []netip.Prefix{addr4, addr6}, Routes: []netip.Prefix{route4}}
	var dev tun.Device
	ns.do(t, func() {
		var err error
		if dev, err = tun.Create(cfg); err != nil {
			t.Fatalf("Create: %v", err)
		}
	})
	closed := false
	t.Cleanup(func() {
		if !closed {
			dev.Close()
		}
	})
	name, err := dev.Name()
	if err != nil {
		t.Fatal(err)
	}
	// The device reports the link up.
	for up := false; !up; {
		select {
		case ev := <-dev.Events():
			up = ev == tun.EventUp
		case <-time.After(timeout):
			t.Fatal("no EventUp")
		}
	}
	if !strings.HasPrefix(name, "ikego") || name == "ikego%d" {
		t.Errorf("Name() = %q, want ikego and a number", name)
	}
	// MTU asks the kernel by name, so it works in the device's namespace.
	ns.do(t, func() {
		if mtu, err := dev.MTU(); mtu != 1420 || err != nil {
			t.Errorf("MTU() = %d, %v; want 1420", mtu, err)
		}
	})

	l := ns.link(t, name)
	if l.MTU != 1420 {
		t.Errorf("ip addr: mtu %d, want 1420", l.MTU)
	}
	if !slices.Contains(l.Flags, "UP") {
		t.Errorf("ip addr: flags %v, want UP", l.Flags)
	}
	for _, p := range cfg.Addrs {
		if !l.hasAddr(p) {
			t.Errorf("ip addr: no usable address %v in %+v", p, l.AddrInfo)
		}
	}
	// The kernel skips DAD on a TUN anyway (it has IFF_NOARP), but the
	// address must say nodad, as asked.
	if !slices.ContainsFunc(l.AddrInfo, func(a addrInfo) bool { return a.Local == addr6.Addr().String() && a.NoDAD }) {
		t.Errorf("ip addr: %v is not nodad: %+v", addr6, l.AddrInfo)
	}
	if !ns.hasRoute(t, route4, name, 0) {
		t.Errorf("no route to %v via %s in the main table", route4, name)
	}

	// The kernel answers pings to the device's addresses through the
	// device: packets written to it arrive, and its answers can be read.
	echoes := readEchoes(t, dev, cfg.MTU)
	pingKernel(t, dev, echoes, peer4, addr4.Addr(), 1)
	pingKernel(t, dev, echoes, peer6, addr6.Addr(), 2)

	// A second device cannot add the same route: the error names the
	// step, and the device is gone.
	ns.do(t, func() {
		_, err := tun.Create(tun.Config{Name: "ikegodup", Routes: []netip.Prefix{route4}})
		want := "tun: adding route 198.51.100.128/25 via ikegodup to table 254: file exists"
		if !errors.Is(err, os.ErrExist) || !strings.HasPrefix(fmt.Sprint(err), want) {
			t.Errorf("Create with a duplicate route = %v, want %q", err, want)
		}
	})
	if ns.linkExists("ikegodup") {
		t.Error("Create left device ikegodup behind after failing")
	}
	if !ns.hasRoute(t, route4, name, 0) {
		t.Errorf("the failed Create removed the route via %s", name)
	}

	// Closing the device removes it, and Read ends.
	if err := dev.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	closed = true
	select {
	case _, ok := <-echoes:
		for ok {
			_, ok = <-echoes
		}
	case <-time.After(timeout):
		t.Fatal("Read did not end after Close")
	}
	if ns.linkExists(name) {
		t.Errorf("device %s still exists after Close", name)
	}
	bufs := [][]byte{make([]byte, 100)}
	if _, err := dev.Read(bufs, []int{0}, tun.Headroom); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Read after Close = %v, want os.ErrClosed", err)
	}
	if _, err := dev.Write(bufs, tun.Headroom); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Close = %v, want os.ErrClosed", err)
	}
	for done := false; !done; {
		select {
		case _, ok := <-dev.Events():
			done = !ok
		case <-time.After(timeout):
			t.Fatal("Events not closed after Close")
		}
	}
}

func TestCreateFails(t *testing.T) {
	ns := newNetns(t)
	ns.do(t, func() {
		_, err := tun.Create(tun.Config{Name: "ikegofail", Addrs: []netip.Prefix{addr4, addr4}})
		want := "tun: adding address 198.18.10.1/24 to ikegofail: file exists"
		if !errors.Is(err, os.ErrExist) || !strings.HasPrefix(fmt.Sprint(err), want) {
			t.Errorf("Create with an address twice = %v, want %q", err, want)
		}
		var opErr *tun.OpError
		if !errors.As(err, &opErr) {
			t.Errorf("error %T is not *tun.OpError", err)
		}

		// Refused before anything is created.
		for _, tc := range []struct {
			cfg  tun.Config
			want string
		}{
			{tun.Config{Name: "ikego-name-too-long"}, "longer than 15 bytes"},
			{tun.Config{Name: "ikego/0"}, "character"},
			{tun.Config{MTU: 67}, "MTU 67"},
			{tun.Config{Routes: []netip.Prefix{netip.MustParsePrefix("198.51.100.129/25")}}, "adding route 198.51.100.129/25: host bits set"},
			{tun.Config{Routes: []netip.Prefix{route4}, Table: -1}, "routing table -1"},
			{tun.Config{Addrs: []netip.Prefix{{}}}, "invalid prefix"},
		} {
			if _, err := tun.Create(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Create(%+v) = %v, want an error with %q", tc.cfg, err, tc.want)
			}
		}
	})
	if ns.linkExists("ikegofail") {
		t.Error("Create left device ikegofail behind after failing")
	}
	var links []link
	ns.ip(t, &links, "link", "show")
	if len(links) != 1 || links[0].Name != "lo" {
		t.Errorf("links left in the namespace: %+v", links)
	}
}

func TestAddrsAndRoutes(t *testing.T) {
	ns := newNetns(t)
	var dev tun.Device
	ns.do(t, func() {
		var err error
		if dev, err = tun.Create(tun.Config{Name: "ikegort"}); err != nil {
			t.Fatalf("Create: %v", err)
		}
	})
	defer dev.Close()
	pool := netip.MustParsePrefix("203.0.113.0/24")
	subnet6 := netip.MustParsePrefix("2001:db8:20::/48")
	vip := netip.MustParsePrefix("198.18.20.1/32")
	vip6 := netip.MustParsePrefix("2001:db8:30::1/128")

	ns.do(t, func() {
		for _, p := range []netip.Prefix{vip, vip6} {
			if err := tun.AddAddr("ikegort", p); err != nil {
				t.Fatalf("AddAddr(%v): %v", p, err)
			}
		}
		for _, table := range []int{0, 100, 1000} {
			for _, p := range []netip.Prefix{pool, subnet6} {
				if err := tun.AddRoute("ikegort", p, table); err != nil {
					t.Fatalf("AddRoute(%v, %d): %v", p, table, err)
				}
			}
		}
		if err := tun.AddRoute("ikegort", pool, 100); !errors.Is(err, os.ErrExist) {
			t.Errorf("AddRoute twice = %v, want os.ErrExist", err)
		}
		if err := tun.AddAddr("ikegort", vip); !errors.Is(err, os.ErrExist) {
			t.Errorf("AddAddr twice = %v, want os.ErrExist", err)
		}
	})
	l := ns.link(t, "ikegort")
	for _, p := range []netip.Prefix{vip, vip6} {
		if !l.hasAddr(p) {
			t.Errorf("address %v missing: %+v", p, l.AddrInfo)
		}
	}
	for _, table := range []int{0, 100, 1000} {
		for _, p := range []netip.Prefix{pool, subnet6} {
			if !ns.hasRoute(t, p, "ikegort", table) {
				t.Errorf("route %v missing from table %d", p, table)
			}
		}
	}

	ns.do(t, func() {
		for _, table := range []int{0, 100, 1000} {
			if err := tun.DelRoute("ikegort", pool, table); err != nil {
				t.Errorf("DelRoute(%v, %d): %v", pool, table, err)
			}
		}
		if err := tun.DelRoute("ikegort", pool, 100); !errors.Is(err, unix.ESRCH) {
			t.Errorf("DelRoute of a missing route = %v, want ESRCH", err)
		}
		if err := tun.DelAddr("ikegort", vip6); err != nil {
			t.Errorf("DelAddr(%v): %v", vip6, err)
		}
		if err := tun.DelAddr("ikegort", vip6); !errors.Is(err, unix.EADDRNOTAVAIL) {
			t.Errorf("DelAddr of a missing address = %v, want EADDRNOTAVAIL", err)
		}
		err := tun.AddRoute("ikegonone", pool, 0)
		if err == nil || !strings.HasPrefix(err.Error(), "tun: adding route 203.0.113.0/24 via ikegonone to table 254: ") {
			t.Errorf("AddRoute via a missing device = %v", err)
		}
	})
	for _, table := range []int{0, 100, 1000} {
		if ns.hasRoute(t, pool, "ikegort", table) {
			t.Errorf("route %v still in table %d after DelRoute", pool, table)
		}
		if !ns.hasRoute(t, subnet6, "ikegort", table) {
			t.Errorf("route %v gone from table %d", subnet6, table)
		}
	}
	if l := ns.link(t, "ikegort"); l.hasAddr(vip6) || !l.hasAddr(vip) {
		t.Errorf("after DelAddr(%v): %+v", vip6, l.AddrInfo)
	}
}

// TestCreateWithoutCapNetAdmin drops CAP_NET_ADMIN from this thread's
// effective capabilities (capabilities are per thread) and checks that
// Create and AddRoute say what is missing.
func TestCreateWithoutCapNetAdmin(t *testing.T) {
	ns := newNetns(t)
	ns.do(t, func() {
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var saved [2]unix.CapUserData
		if err := unix.Capget(&hdr, &saved[0]); err != nil {
			t.Fatalf("capget: %v", err)
		}
		dropped := saved
		dropped[0].Effective &^= 1 << unix.CAP_NET_ADMIN
		if err := unix.Capset(&hdr, &dropped[0]); err != nil {
			t.Fatalf("capset: %v", err)
		}
		defer func() {
			if err := unix.Capset(&hdr, &saved[0]); err != nil {
				// Keep the crippled thread locked so that it ends with
				// this goroutine instead of serving others.
				runtime.LockOSThread()
				t.Errorf("restoring capabilities: %v", err)
			}
		}()

		dev, err := tun.Create(tun.Config{Name: "ikegoperm"})
		if err == nil {
			dev.Close()
			t.Fatal("Create succeeded without CAP_NET_ADMIN")
		}
		if want := "tun: creating the TUN device needs CAP_NET_ADMIN (run as root)"; err.Error() != want || !errors.Is(err, os.ErrPermission) {
			t.Errorf("Create without CAP_NET_ADMIN = %q, want %q", err, want)
		}
		err = tun.AddRoute("lo", route4, 0)
		if want := "tun: adding route 198.51.100.128/25 via lo to table 254 needs CAP_NET_ADMIN (run as root)"; err == nil || err.Error() != want {
			t.Errorf("AddRoute without CAP_NET_ADMIN = %v, want %q", err, want)
		}
	})
}
