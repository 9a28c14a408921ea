package ike

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

var ip = netip.MustParseAddr

func mustPool(t *testing.T, name, prefix string) *Pool {
	t.Helper()
	p, err := NewPool(name, netip.MustParsePrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustAcquire(t *testing.T, p *Pool, id string, req netip.Addr) netip.Addr {
	t.Helper()
	a, err := p.Acquire(id, req)
	if err != nil {
		t.Fatalf("Acquire(%q, %v): %v", id, req, err)
	}
	return a
}

// fakeClock advances by a second on every reading.
func fakeClock() func() time.Time {
	t := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time {
		t = t.Add(time.Second)
		return t
	}
}

func TestPoolExhaustion(t *testing.T) {
	p := mustPool(t, "rw4", "10.0.0.0/29")
	if p.Size() != 6 {
		t.Fatalf("Size = %d, want 6", p.Size())
	}
	seen := map[netip.Addr]bool{}
	for i := range 6 {
		a := mustAcquire(t, p, fmt.Sprintf("user%d", i), netip.Addr{})
		if want := ip(fmt.Sprintf("10.0.0.%d", i+1)); a != want {
			t.Errorf("user%d got %v, want %v", i, a, want)
		}
		seen[a] = true
	}
	if len(seen) != 6 || p.Online() != 6 {
		t.Fatalf("%d distinct addresses, %d online; want 6, 6", len(seen), p.Online())
	}
	_, err := p.Acquire("user6", netip.Addr{})
	if !errors.Is(err, ErrPoolExhausted) {
		t.Fatalf("7th Acquire: %v, want ErrPoolExhausted", err)
	}
	var pe *PoolError
	if !errors.As(err, &pe) || pe.Pool != "rw4" || pe.Identity != "user6" {
		t.Fatalf("error %#v is not a PoolError for rw4/user6", err)
	}
	if msg := err.Error(); msg != `ike: pool "rw4": for "user6": address pool exhausted` {
		t.Errorf("message %q", msg)
	}
	// A known identity still gets its address from a full pool.
	if a := mustAcquire(t, p, "user3", netip.Addr{}); a != ip("10.0.0.4") {
		t.Errorf("user3 again got %v", a)
	}
}

func TestPoolSameIdentity(t *testing.T) {
	p := mustPool(t, "rw4", "10.0.0.0/24")
	a := mustAcquire(t, p, "alice", netip.Addr{})
	b := mustAcquire(t, p, "alice", netip.Addr{})
	c := mustAcquire(t, p, "alice", ip("10.0.0.77"))
	if a != b || a != c {
		t.Fatalf("alice got %v, %v, %v", a, b, c)
	}
	if p.Online() != 1 || len(p.Leases()) != 1 {
		t.Fatalf("Online %d, %d leases; want 1, 1", p.Online(), len(p.Leases()))
	}
	if got, ok := p.Lookup("alice"); !ok || got != a {
		t.Errorf("Lookup = %v, %v", got, ok)
	}
	if _, ok := p.Lookup("bob"); ok {
		t.Error("Lookup found bob")
	}
	if _, err := p.Acquire("", netip.Addr{}); err == nil {
		t.Error("empty identity accepted")
	}
}

func TestPoolRequested(t *testing.T) {
	p := mustPool(t, "rw4", "10.0.0.0/24")
	if a := mustAcquire(t, p, "alice", ip("10.0.0.42")); a != ip("10.0.0.42") {
		t.Fatalf("free request not honoured: %v", a)
	}
	if a := mustAcquire(t, p, "bob", ip("10.0.0.42")); a == ip("10.0.0.42") {
		t.Fatal("bob got alice's address")
	}
	for _, req := range []string{"10.0.1.5", "10.0.0.0", "10.0.0.255", "0.0.0.0", "fd00::1", "::ffff:10.0.0.50"} {
		a := mustAcquire(t, p, "carol-"+req, ip(req))
		if a == ip(req) || !p.Contains(a) {
			t.Errorf("request %s: got %v", req, a)
		}
	}
	// The cursor skips an address taken by request.
	q := mustPool(t, "q", "10.0.0.0/29")
	mustAcquire(t, q, "x", ip("10.0.0.2"))
	if a := mustAcquire(t, q, "y", netip.Addr{}); a != ip("10.0.0.1") {
		t.Errorf("y got %v", a)
	}
	if a := mustAcquire(t, q, "z", netip.Addr{}); a != ip("10.0.0.3") {
		t.Errorf("z got %v", a)
	}
}

func TestPoolReserve(t *testing.T) {
	p := mustPool(t, "rw4", "10.0.0.0/29")
	if err := p.Reserve("fixed", ip("10.0.0.1")); err != nil {
		t.Fatal(err)
	}
	if l := p.Leases(); len(l) != 1 || !l[0].Reserved || l[0].Online {
		t.Fatalf("leases after Reserve: %+v", l)
	}
	if a := mustAcquire(t, p, "other", ip("10.0.0.1")); a == ip("10.0.0.1") {
		t.Fatal("reserved address handed to another identity")
	}
	if a := mustAcquire(t, p, "fixed", ip("10.0.0.5")); a != ip("10.0.0.1") {
		t.Fatalf("fixed got %v, want its reservation", a)
	}
	err := p.Reserve("third", ip("10.0.0.1"))
	if !errors.Is(err, ErrAddressInUse) {
		t.Fatalf("Reserve of a reserved address: %v", err)
	}
	if !strings.HasPrefix(err.Error(), `ike: pool "rw4": 10.0.0.1 for "third": `) {
		t.Errorf("message %q", err)
	}
	otherAddr, _ := p.Lookup("other")
	if err := p.Reserve("third", otherAddr); !errors.Is(err, ErrAddressInUse) {
		t.Fatalf("Reserve of an online address: %v", err)
	}
	if err := p.Reserve("third", ip("10.0.0.7")); !errors.Is(err, ErrNotInPool) {
		t.Fatalf("Reserve of the broadcast address: %v", err)
	}
	if err := p.Reserve("other", ip("10.0.0.6")); !errors.Is(err, ErrIdentityOnline) {
		t.Fatalf("Reserve for an identity online elsewhere: %v", err)
	}
	if err := p.Reserve("fixed", ip("10.0.0.1")); err != nil {
		t.Fatalf("repeated Reserve: %v", err)
	}
	// A remembered lease gives way to a reservation.
	p.Release("other", otherAddr)
	if err := p.Reserve("third", otherAddr); err != nil {
		t.Fatalf("Reserve of a remembered address: %v", err)
	}
	if _, ok := p.Lookup("other"); ok {
		t.Error("other still remembered")
	}
	// Reserved addresses are never taken over, even from a full pool.
	p.Release("fixed", ip("10.0.0.1"))
	for i := range 4 {
		mustAcquire(t, p, fmt.Sprint("filler", i), netip.Addr{})
	}
	if _, err := p.Acquire("late", netip.Addr{}); !errors.Is(err, ErrPoolExhausted) {
		t.Fatalf("Acquire in a pool of reservations and online leases: %v", err)
	}
	// Moving an offline identity's reservation frees its old address.
	if err := p.Reserve("third", ip("10.0.0.1")); !errors.Is(err, ErrAddressInUse) {
		t.Fatalf("moving onto fixed's reservation: %v", err)
	}
	p.Release("filler0", mustAcquire(t, p, "filler0", netip.Addr{}))
	f0, _ := p.Lookup("filler0")
	if err := p.Reserve("third", f0); err != nil {
		t.Fatal(err)
	}
	if a := mustAcquire(t, p, "late", netip.Addr{}); a != otherAddr {
		t.Errorf("late got %v, want the freed %v", a, otherAddr)
	}
}

func TestPoolReleaseReconnect(t *testing.T) {
	p := mustPool(t, "rw4", "10.0.0.0/24")
	a := mustAcquire(t, p, "alice", netip.Addr{})
	mustAcquire(t, p, "bob", netip.Addr{})
	if p.Release("alice", ip("10.0.0.99")) || p.Release("carol", a) {
		t.Fatal("Release of a lease not held succeeded")
	}
	if !p.Release("alice", a) {
		t.Fatal("Release failed")
	}
	if p.Release("alice", a) {
		t.Fatal("second Release succeeded")
	}
	if p.Online() != 1 {
		t.Fatalf("Online = %d", p.Online())
	}
	if got, ok := p.Lookup("alice"); !ok || got != a {
		t.Fatalf("released lease not remembered: %v %v", got, ok)
	}
	mustAcquire(t, p, "carol", a) // asks for alice's address, gets another
	if got := mustAcquire(t, p, "alice", netip.Addr{}); got != a {
		t.Fatalf("reconnect got %v, want %v", got, a)
	}
	if p.Online() != 3 {
		t.Fatalf("Online = %d", p.Online())
	}
}

func TestPoolReuseOldestFirst(t *testing.T) {
	p := mustPool(t, "rw4", "10.0.0.0/29")
	p.Now = fakeClock()
	addr := map[string]netip.Addr{}
	for _, id := range []string{"a", "b", "c"} {
		addr[id] = mustAcquire(t, p, id, netip.Addr{})
	}
	p.Release("b", addr["b"])
	p.Release("a", addr["a"])
	// Not needed yet: fresh addresses are used first.
	for _, id := range []string{"d", "e", "f"} {
		addr[id] = mustAcquire(t, p, id, netip.Addr{})
		if addr[id] == addr["a"] || addr[id] == addr["b"] {
			t.Fatalf("%s took a remembered address %v while others were free", id, addr[id])
		}
	}
	p.Release("e", addr["e"])
	// Full: take over b's (released first), then a's, then e's.
	for _, want := range []string{"b", "a", "e"} {
		id := "new-" + want
		if got := mustAcquire(t, p, id, netip.Addr{}); got != addr[want] {
			t.Fatalf("%s got %v, want %s's %v", id, got, want, addr[want])
		}
		if _, ok := p.Lookup(want); ok {
			t.Fatalf("%s still remembered after takeover", want)
		}
	}
	if _, err := p.Acquire("b", netip.Addr{}); !errors.Is(err, ErrPoolExhausted) {
		t.Fatalf("b reconnecting to a full pool: %v", err)
	}
	// A reconnect takes a lease out of the takeover order.
	p.Release("c", addr["c"])
	p.Release("d", addr["d"])
	mustAcquire(t, p, "c", netip.Addr{})
	if got := mustAcquire(t, p, "g", netip.Addr{}); got != addr["d"] {
		t.Fatalf("g got %v, want d's %v", got, addr["d"])
	}
}

func TestPoolBounds(t *testing.T) {
	for _, tc := range []struct {
		prefix      string
		first, last string
		size        int
	}{
		{"10.0.0.0/30", "10.0.0.1", "10.0.0.2", 2},
		{"10.0.0.7/29", "10.0.0.1", "10.0.0.6", 6},
		{"10.0.0.0/31", "10.0.0.0", "10.0.0.1", 2},
		{"10.0.0.9/32", "10.0.0.9", "10.0.0.9", 1},
		{"0.0.0.0/0", "0.0.0.1", "255.255.255.254", 1<<32 - 2},
		{"fd00::/120", "fd00::1", "fd00::ff", 255},
		{"fd00::/126", "fd00::1", "fd00::3", 3},
		{"fd00::/64", "fd00::1", "fd00::ffff:ffff:ffff:ffff", math.MaxInt},
		{"fd00::5/128", "fd00::5", "fd00::5", 1},
		{"::/0", "::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", math.MaxInt},
	} {
		p := mustPool(t, "p", tc.prefix)
		first, last := p.Range()
		if first != ip(tc.first) || last != ip(tc.last) || p.Size() != tc.size {
			t.Errorf("%s: range %v-%v size %d, want %s-%s %d", tc.prefix, first, last, p.Size(), tc.first, tc.last, tc.size)
		}
	}
	p := mustPool(t, "p", "10.0.0.0/30")
	got := []netip.Addr{mustAcquire(t, p, "x", ip("10.0.0.0")), mustAcquire(t, p, "y", ip("10.0.0.3"))}
	if got[0] != ip("10.0.0.1") || got[1] != ip("10.0.0.2") {
		t.Errorf("got %v", got)
	}
	if _, err := p.Acquire("z", netip.Addr{}); !errors.Is(err, ErrPoolExhausted) {
		t.Errorf("third Acquire in a /30: %v", err)
	}
	for _, a := range []string{"10.0.0.0", "10.0.0.3", "::ffff:10.0.0.1", "fe80::1%eth0"} {
		if p.Contains(ip(a)) {
			t.Errorf("Contains(%s)", a)
		}
	}
	if _, err := NewPool("bad", netip.Prefix{}); err == nil {
		t.Error("invalid prefix accepted")
	}
	if _, err := NewPool("bad", netip.MustParsePrefix("::ffff:10.0.0.0/120")); err == nil {
		t.Error("IPv4-mapped prefix accepted")
	}
}

func TestPoolRange(t *testing.T) {
	p, err := NewPoolRange("r", ip("10.1.0.250"), ip("10.1.1.5"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Size() != 12 {
		t.Fatalf("Size = %d, want 12", p.Size())
	}
	for i := range 12 {
		a := mustAcquire(t, p, fmt.Sprint(i), netip.Addr{})
		if !p.Contains(a) {
			t.Fatalf("%v outside the range", a)
		}
		if i == 6 && a != ip("10.1.1.0") {
			t.Errorf("7th address %v, want 10.1.1.0 (ranges keep network-like addresses)", a)
		}
	}
	if _, err := p.Acquire("12", netip.Addr{}); !errors.Is(err, ErrPoolExhausted) {
		t.Fatalf("13th Acquire: %v", err)
	}
	one, err := NewPoolRange("one", ip("fd00::9"), ip("fd00::9"))
	if err != nil || one.Size() != 1 || mustAcquire(t, one, "x", netip.Addr{}) != ip("fd00::9") {
		t.Fatalf("single-address range: %v", err)
	}
	for _, tc := range [][2]netip.Addr{
		{ip("10.0.0.5"), ip("10.0.0.4")},
		{ip("10.0.0.5"), ip("fd00::1")},
		{{}, ip("10.0.0.4")},
		{ip("fe80::1%eth0"), ip("fe80::9")},
		{ip("::ffff:10.0.0.1"), ip("::ffff:10.0.0.9")},
	} {
		if _, err := NewPoolRange("bad", tc[0], tc[1]); err == nil || !strings.HasPrefix(err.Error(), `ike: pool "bad": `) {
			t.Errorf("range %v-%v: %v", tc[0], tc[1], err)
		}
	}
}

func TestPoolLeases(t *testing.T) {
	p := mustPool(t, "rw6", "fd00::/120")
	p.Now = fakeClock()
	mustAcquire(t, p, "bob", ip("fd00::20"))                   // t+1
	mustAcquire(t, p, "alice", ip("fd00::10"))                 // t+2
	if err := p.Reserve("carol", ip("fd00::30")); err != nil { // t+3
		t.Fatal(err)
	}
	p.Release("bob", ip("fd00::20")) // t+4
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	want := []Lease{
		{Identity: "alice", Address: ip("fd00::10"), Online: true, Since: base.Add(2 * time.Second)},
		{Identity: "bob", Address: ip("fd00::20"), Since: base.Add(4 * time.Second)},
		{Identity: "carol", Address: ip("fd00::30"), Reserved: true, Since: base.Add(3 * time.Second)},
	}
	got := p.Leases()
	if len(got) != len(want) {
		t.Fatalf("Leases = %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("lease %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	got[0].Online = false
	if p.Leases()[0] != want[0] || p.Online() != 1 {
		t.Error("changing the snapshot changed the pool")
	}
}

// TestPoolLargeIPv6 acquires 10000 addresses from a /64 and checks that
// the cost depends on the leases, not on the 2^64 addresses of the prefix.
func TestPoolLargeIPv6(t *testing.T) {
	small := testing.AllocsPerRun(10, func() { NewPool("s", netip.MustParsePrefix("fd00::/120")) })
	large := testing.AllocsPerRun(10, func() { NewPool("l", netip.MustParsePrefix("fd00::/16")) })
	if large != small || large > 10 {
		t.Fatalf("NewPool allocates %v times for a /16, %v for a /120", large, small)
	}
	heap := func(prefix string) (*Pool, uint64) {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		p := mustPool(t, "big", prefix)
		seen := make(map[netip.Addr]bool, 10000)
		for i := range 10000 {
			a := mustAcquire(t, p, fmt.Sprint("user", i), netip.Addr{})
			if seen[a] || !p.Contains(a) {
				t.Fatalf("address %v repeated or outside", a)
			}
			seen[a] = true
		}
		runtime.ReadMemStats(&after)
		return p, after.TotalAlloc - before.TotalAlloc
	}
	p64, big := heap("fd00::/64")
	_, small2 := heap("fd00::/104")
	if p64.Online() != 10000 || len(p64.Leases()) != 10000 {
		t.Fatalf("Online %d", p64.Online())
	}
	// Both include the test's own map; a per-address structure would be
	// 2^40 times larger for the /64.
	if big > 2*small2+1<<20 || big > 32<<20 {
		t.Fatalf("10000 leases in a /64 allocated %d bytes, in a /104 %d", big, small2)
	}
	// Reacquiring a held address allocates nothing.
	if n := testing.AllocsPerRun(100, func() { p64.Acquire("user5", netip.Addr{}) }); n != 0 {
		t.Errorf("repeated Acquire allocates %v times", n)
	}
}

func TestPoolConcurrent(t *testing.T) {
	p := mustPool(t, "rw4", "10.0.0.0/26") // 62 addresses
	const workers, rounds = 8, 200
	var (
		mu     sync.Mutex
		holder = map[netip.Addr]string{}
		wg     sync.WaitGroup
	)
	errc := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				id := fmt.Sprintf("w%d-%d", w, r%10) // 80 identities > 62 addresses
				a, err := p.Acquire(id, ip(fmt.Sprintf("10.0.0.%d", r%64)))
				if errors.Is(err, ErrPoolExhausted) {
					continue
				}
				if err != nil {
					errc <- err
					return
				}
				mu.Lock()
				if h, ok := holder[a]; ok && h != id {
					mu.Unlock()
					errc <- fmt.Errorf("%v given to %s while %s is online with it", a, id, h)
					return
				}
				holder[a] = id
				mu.Unlock()
				if r%3 != 0 {
					mu.Lock()
					delete(holder, a)
					mu.Unlock()
					if !p.Release(id, a) {
						errc <- fmt.Errorf("Release(%s, %v) failed", id, a)
						return
					}
				}
				p.Leases()
				p.Online()
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	byAddr := map[netip.Addr]string{}
	for _, l := range p.Leases() {
		if h, ok := byAddr[l.Address]; ok {
			t.Errorf("%v leased to %s and %s", l.Address, h, l.Identity)
		}
		byAddr[l.Address] = l.Identity
	}
	if n := len(p.Leases()); n > p.Size() {
		t.Errorf("%d leases in a pool of %d", n, p.Size())
	}
}

func TestPoolsAcquireAll(t *testing.T) {
	v4a := mustPool(t, "v4a", "10.0.0.0/30")
	v4b := mustPool(t, "v4b", "10.0.1.0/29")
	v6 := mustPool(t, "v6", "fd00::/120")
	ps := Pools{v4a, v4b, v6}
	any4, any6 := netip.IPv4Unspecified(), netip.IPv6Unspecified()

	got, err := ps.AcquireAll("alice", []netip.Addr{any4, any6, ip("10.0.0.2")})
	if err != nil || len(got) != 2 || got[0] != ip("10.0.0.1") || got[1] != ip("fd00::1") {
		t.Fatalf("alice: %v, %v", got, err)
	}
	// A requested address selects its pool.
	got, err = ps.AcquireAll("bob", []netip.Addr{ip("10.0.1.3")})
	if err != nil || len(got) != 1 || got[0] != ip("10.0.1.3") {
		t.Fatalf("bob: %v, %v", got, err)
	}
	// The same identity keeps its address, wherever it asks.
	got, err = ps.AcquireAll("bob", []netip.Addr{ip("10.0.0.2"), ip("fd00::7")})
	if err != nil || len(got) != 2 || got[0] != ip("10.0.1.3") || got[1] != ip("fd00::7") {
		t.Fatalf("bob again: %v, %v", got, err)
	}
	// The first pool full, the next of the family is used.
	mustAcquire(t, v4a, "carol", netip.Addr{})
	got, err = ps.AcquireAll("dave", []netip.Addr{any4})
	if err != nil || len(got) != 1 || !v4b.Contains(got[0]) {
		t.Fatalf("dave: %v, %v", got, err)
	}
	if n := ps.ReleaseAll("bob", []netip.Addr{ip("10.0.1.3"), ip("fd00::7"), ip("192.0.2.1")}); n != 2 {
		t.Fatalf("ReleaseAll released %d", n)
	}
	// No IPv4 pool: only IPv6 is assigned; nothing assignable is an error.
	only6 := Pools{v6}
	got, err = only6.AcquireAll("erin", []netip.Addr{any4, any6})
	if err != nil || len(got) != 1 || !got[0].Is6() {
		t.Fatalf("erin: %v, %v", got, err)
	}
	if _, err := only6.AcquireAll("frank", []netip.Addr{any4}); !errors.Is(err, ErrNoPool) {
		t.Fatalf("frank: %v, want ErrNoPool", err)
	}
	for i := range 4 {
		mustAcquire(t, v4b, fmt.Sprint("fill", i), netip.Addr{})
	}
	// Full but for bob's remembered address, which gina takes over.
	if got, err := ps.AcquireAll("gina", []netip.Addr{any4}); err != nil || len(got) != 1 || got[0] != ip("10.0.1.3") {
		t.Fatalf("gina: %v, %v", got, err)
	}
	if _, err := ps.AcquireAll("ian", []netip.Addr{any4}); !errors.Is(err, ErrPoolExhausted) {
		t.Fatalf("ian: %v, want ErrPoolExhausted", err)
	}
	if got, err := ps.AcquireAll("hank", nil); got != nil || err != nil {
		t.Fatalf("nothing requested: %v, %v", got, err)
	}
}

// TestPoolUnreserve: a fixed address removed from the configuration goes
// back to the pool at once when its client is offline; an online client
// keeps it until it disconnects, after which it is an ordinary lease.
func TestPoolUnreserve(t *testing.T) {
	p := mustPool(t, "rw4", "10.0.0.0/29")
	if err := p.Reserve("fixed", ip("10.0.0.1")); err != nil {
		t.Fatal(err)
	}
	if p.Unreserve("other", ip("10.0.0.1")) || p.Unreserve("fixed", ip("10.0.0.2")) {
		t.Fatal("Unreserve of a reservation that does not exist")
	}
	if !p.Unreserve("fixed", ip("10.0.0.1")) || p.Unreserve("fixed", ip("10.0.0.1")) {
		t.Fatal("Unreserve of the reservation, once")
	}
	if _, ok := p.Lookup("fixed"); ok || len(p.Leases()) != 0 {
		t.Fatalf("an offline reservation was not forgotten: %+v", p.Leases())
	}
	if a := mustAcquire(t, p, "other", ip("10.0.0.1")); a != ip("10.0.0.1") {
		t.Fatalf("the freed address was not handed out: got %v", a)
	}

	// Online: the client keeps its address until it goes.
	if err := p.Reserve("fixed", ip("10.0.0.2")); err != nil {
		t.Fatal(err)
	}
	mustAcquire(t, p, "fixed", netip.Addr{})
	if !p.Unreserve("fixed", ip("10.0.0.2")) {
		t.Fatal("Unreserve of an online reservation")
	}
	if l := p.Leases(); len(l) != 2 || l[1].Address != ip("10.0.0.2") || !l[1].Online || l[1].Reserved || p.Online() != 2 {
		t.Fatalf("leases %+v, online %d", l, p.Online())
	}
	if !p.Release("fixed", ip("10.0.0.2")) {
		t.Fatal("Release after Unreserve")
	}
	// Remembered, so handed to another identity only when nothing else is
	// left: 10.0.0.3 to .6 first.
	for i := range 4 {
		if a := mustAcquire(t, p, fmt.Sprint("filler", i), netip.Addr{}); a == ip("10.0.0.2") {
			t.Fatalf("filler %d got the remembered address while others were free", i)
		}
	}
	if a := mustAcquire(t, p, "late", netip.Addr{}); a != ip("10.0.0.2") {
		t.Fatalf("late got %v, want the remembered 10.0.0.2", a)
	}
}
