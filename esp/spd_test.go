package esp

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func sels(t testing.TB, ss ...string) []Selector {
	t.Helper()
	out := make([]Selector, len(ss))
	for i, s := range ss {
		out[i] = mustSelector(t, s)
	}
	return out
}

func flow(src, dst string, proto uint8, sport, dport uint16) Flow {
	return Flow{Src: addr(src), Dst: addr(dst), Proto: proto, SrcPort: sport, DstPort: dport}
}

// reversed returns f as the other end sends it.
func reversed(f Flow) Flow {
	f.Src, f.Dst, f.SrcPort, f.DstPort = f.Dst, f.Src, f.DstPort, f.SrcPort
	return f
}

func TestActionString(t *testing.T) {
	for a, want := range map[Action]string{
		ActionProtect: "protect", ActionBypass: "bypass", ActionDrop: "drop", ActionTrap: "trap", 9: "Action(9)",
	} {
		if got := a.String(); got != want {
			t.Errorf("Action(%d).String() = %q, want %q", a, got, want)
		}
	}
}

// TestPolicyMatch checks the cross product of several local and remote
// selectors, both directions, protocols that must agree between the ends,
// and families.
func TestPolicyMatch(t *testing.T) {
	p := Policy{
		ID:     1,
		Local:  sels(t, "198.18.200.0/28[tcp]", "198.18.2.0/24", "2001:db8:200::/120"),
		Remote: sels(t, "203.0.113.0/26[tcp/80-443]", "198.18.1.0/24[udp/53]", "2001:db8:1::/64[ipv6-icmp/128]"),
	}
	for _, tt := range []struct {
		f    Flow // outbound
		want bool
	}{
		{flow("198.18.200.1", "203.0.113.1", ProtoTCP, 40000, 443), true},
		{flow("198.18.200.15", "203.0.113.63", ProtoTCP, 1, 80), true},
		{flow("198.18.200.16", "203.0.113.1", ProtoTCP, 40000, 443), false}, // local out of range
		{flow("198.18.200.1", "203.0.113.64", ProtoTCP, 40000, 443), false}, // remote out of range
		{flow("198.18.200.1", "203.0.113.1", ProtoTCP, 40000, 444), false},  // remote port
		{flow("198.18.200.1", "203.0.113.1", ProtoUDP, 40000, 443), false},  // protocol
		{flow("198.18.200.1", "198.18.1.53", ProtoUDP, 40000, 53), false},   // [tcp] × [udp/53]
		{flow("198.18.2.9", "198.18.1.53", ProtoUDP, 40000, 53), true},      // any × [udp/53]
		{flow("198.18.2.9", "198.18.1.53", ProtoTCP, 40000, 53), false},     // any × [udp/53]
		{flow("198.18.2.9", "203.0.113.9", ProtoTCP, 40000, 80), true},      // any × [tcp/80-443]
		{flow("198.18.200.1", "2001:db8:1::1", ProtoTCP, 40000, 80), false}, // families
		{flow("2001:db8:200::ff", "2001:db8:1::1", ProtoICMPv6, 0x8000, 0x8000), true},
		{flow("2001:db8:200::ff", "2001:db8:1::1", ProtoICMPv6, 0x8100, 0x8100), false},
		{flow("2001:db8:200::100", "2001:db8:1::1", ProtoICMPv6, 0x8000, 0x8000), false},
		{flow("2001:db8:200::ff", "2001:db8:2::1", ProtoICMPv6, 0x8000, 0x8000), false},
		{flow("2001:db8:200::ff", "2001:db8:1::1", ProtoUDP, 1, 53), false},
	} {
		if got := p.MatchOut(tt.f); got != tt.want {
			t.Errorf("MatchOut(%+v) = %v, want %v", tt.f, got, tt.want)
		}
		// The same traffic seen inbound: the remote end sends it.
		if got := p.MatchIn(reversed(tt.f)); got != tt.want {
			t.Errorf("MatchIn(%+v) = %v, want %v", reversed(tt.f), got, tt.want)
		}
		// Outbound matching with the ends swapped is another policy.
		if tt.want && p.MatchIn(tt.f) {
			t.Errorf("MatchIn(%+v) = true for outbound traffic", tt.f)
		}
	}
}

// TestPolicyICMP checks the ICMP rule on real packets: a type restriction
// on either end applies to the packet's type, outbound and inbound.
func TestPolicyICMP(t *testing.T) {
	const local, remote = "198.18.2.10", "198.18.1.20"
	echo := func(src, dst string, typ uint8) Flow {
		f, ok := ParseFlow(pkt4(src, dst, ProtoICMP, 0, nil, icmpMsg(typ, 0)))
		if !ok {
			t.Fatal("ParseFlow")
		}
		return f
	}
	for _, p := range []Policy{
		{Local: sels(t, "198.18.2.0/24"), Remote: sels(t, "198.18.1.0/24[icmp/8]")},
		{Local: sels(t, "198.18.2.0/24[icmp/8]"), Remote: sels(t, "198.18.1.0/24")},
		{Local: sels(t, "198.18.2.0/24[icmp/8]"), Remote: sels(t, "198.18.1.0/24[icmp/8]")},
	} {
		name := fmt.Sprintf("%v === %v", p.Local, p.Remote)
		if !p.MatchOut(echo(local, remote, 8)) {
			t.Errorf("%s: echo request out does not match", name)
		}
		if !p.MatchIn(echo(remote, local, 8)) {
			t.Errorf("%s: echo request in does not match", name)
		}
		if p.MatchOut(echo(local, remote, 0)) || p.MatchIn(echo(remote, local, 0)) {
			t.Errorf("%s: echo reply matches", name)
		}
	}
	// Different restrictions at the two ends: a packet must meet both.
	p := Policy{Local: sels(t, "198.18.2.0/24[icmp/8]"), Remote: sels(t, "198.18.1.0/24[icmp/0]")}
	if p.MatchOut(echo(local, remote, 8)) || p.MatchOut(echo(local, remote, 0)) {
		t.Error("icmp/8 === icmp/0 matches a packet")
	}
}

// TestPolicyOpaque checks that fragments and portless protocols match only
// policies whose selectors allow any or OPAQUE ports.
func TestPolicyOpaque(t *testing.T) {
	web := Policy{Local: sels(t, "0.0.0.0/0"), Remote: sels(t, "203.0.113.0/26[tcp/443]")}
	anyTCP := Policy{Local: sels(t, "0.0.0.0/0"), Remote: sels(t, "203.0.113.0/26[tcp]")}
	opaque := Policy{Local: sels(t, "0.0.0.0/0[tcp/opaque]"), Remote: sels(t, "203.0.113.0/26[tcp/opaque]")}
	first, ok1 := ParseFlow(pkt4("198.18.2.1", "203.0.113.5", ProtoTCP, 0x2000, nil, ports(40000, 443, 64)))
	later, ok2 := ParseFlow(pkt4("198.18.2.1", "203.0.113.5", ProtoTCP, 0x0008, nil, ports(40000, 443, 64)))
	if !ok1 || !ok2 || first.Opaque || !later.Opaque {
		t.Fatalf("ParseFlow: %+v %+v", first, later)
	}
	for _, tt := range []struct {
		name        string
		p           Policy
		first, last bool
	}{
		{"web", web, true, false},
		{"any tcp", anyTCP, true, true},
		{"opaque", opaque, false, true},
	} {
		if got := tt.p.MatchOut(first); got != tt.first {
			t.Errorf("%s: first fragment matches: %v, want %v", tt.name, got, tt.first)
		}
		if got := tt.p.MatchOut(later); got != tt.last {
			t.Errorf("%s: later fragment matches: %v, want %v", tt.name, got, tt.last)
		}
	}
	// ESP has no ports: a port restriction excludes it, OPAQUE takes it.
	esp := flow("198.18.2.1", "203.0.113.5", ProtoESP, 0, 0)
	if (Policy{Local: sels(t, "0.0.0.0/0"), Remote: sels(t, "203.0.113.0/26[any/0-65534]")}).MatchOut(esp) {
		t.Error("ESP matches a port range")
	}
	if !(Policy{Local: sels(t, "0.0.0.0/0"), Remote: sels(t, "203.0.113.0/26[esp/opaque]")}).MatchOut(esp) {
		t.Error("ESP does not match esp/OPAQUE")
	}
}

func TestSPDSetInvalid(t *testing.T) {
	good := sels(t, "10.0.0.0/8")
	for _, p := range []Policy{
		{ID: 1, Remote: good},
		{ID: 2, Local: good},
		{ID: 3, Local: good, Remote: []Selector{}},
		{ID: 4, Local: good, Remote: good, Action: ActionTrap + 1},
		{ID: 5, Local: good, Remote: []Selector{{Start: addr("10.0.0.1"), End: addr("2001:db8::1"), EndPort: 0xffff}}},
		{ID: 6, Local: []Selector{{Start: addr("10.0.0.9"), End: addr("10.0.0.1"), EndPort: 0xffff}}, Remote: good},
		{ID: 7, Local: good, Remote: []Selector{{Start: addr("10.0.0.1"), End: addr("10.0.0.1"), StartPort: 2, EndPort: 1}}},
		{ID: 8, Local: append(slices.Clone(good), Selector{}), Remote: good},
	} {
		var d SPD[int]
		err := d.Set(p, 1)
		if !errors.Is(err, ErrInvalidPolicy) {
			t.Errorf("Set(%+v) = %v, want ErrInvalidPolicy", p, err)
		}
		if d.Len() != 0 || d.Policies() != nil {
			t.Errorf("Set(%+v) failed but stored it", p)
		}
		t.Log(err)
	}
}

func TestSPDEmpty(t *testing.T) {
	var d SPD[*int]
	if _, v, ok := d.Lookup(flow("10.0.0.1", "10.0.0.2", ProtoTCP, 1, 2)); ok || v != nil {
		t.Error("empty SPD: Lookup found something")
	}
	if _, _, ok := d.Get(1); ok || d.Len() != 0 || d.Delete(1) || d.Policies() != nil {
		t.Error("empty SPD is not empty")
	}
}

// TestSPDPriority checks precedence: lowest Priority, then lowest ID.
func TestSPDPriority(t *testing.T) {
	var d SPD[string]
	set := func(id, prio uint32, remote string) {
		t.Helper()
		if err := d.Set(Policy{ID: id, Priority: prio, Local: sels(t, "0.0.0.0/0"), Remote: sels(t, remote)}, fmt.Sprint(id)); err != nil {
			t.Fatal(err)
		}
	}
	want := func(f Flow, id uint32) {
		t.Helper()
		got, v, ok := d.Lookup(f)
		if !ok || got != id || v != fmt.Sprint(id) {
			t.Errorf("Lookup(%v) = %d %q %v, want %d", f.Dst, got, v, ok, id)
		}
	}
	f := flow("198.18.2.1", "203.0.113.5", ProtoUDP, 1, 2)
	set(30, 100, "0.0.0.0/0")
	want(f, 30)
	set(20, 100, "203.0.113.0/24")
	want(f, 20) // tie on Priority: the lower ID
	set(40, 50, "203.0.113.0/28")
	want(f, 40)
	set(10, 50, "203.0.113.0/30")
	want(f, 40) // does not match
	set(5, 50, "203.0.113.4/30")
	want(f, 5)
	set(5, 101, "203.0.113.4/30")
	want(f, 40) // replaced with a worse priority
	if !d.Delete(40) {
		t.Fatal("Delete(40) = false")
	}
	want(f, 20)
	if got := ids(d.Policies()); !slices.Equal(got, []uint32{10, 20, 30, 5}) {
		t.Errorf("Policies() = %v", got)
	}
}

func ids(ps []Policy) []uint32 {
	var out []uint32
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

// TestSPDHostAndLinear checks host-indexed policies (Remote all single
// addresses) against scanned ones (subnets): precedence decides, whichever
// structure holds the policy.
func TestSPDHostAndLinear(t *testing.T) {
	var d SPD[uint32]
	set := func(p Policy) {
		t.Helper()
		if err := d.Set(p, p.ID); err != nil {
			t.Fatal(err)
		}
	}
	want := func(f Flow, id uint32, ok bool) {
		t.Helper()
		got, v, found := d.Lookup(f)
		if found != ok || got != id || v != id {
			t.Errorf("Lookup(%v->%v %d/%d) = %d %d %v, want %d %v", f.Src, f.Dst, f.Proto, f.DstPort, got, v, found, id, ok)
		}
	}
	toClient := flow("203.0.113.5", "198.18.200.7", ProtoTCP, 443, 40000)
	toOther := flow("203.0.113.5", "198.18.200.8", ProtoTCP, 443, 40000)
	local := sels(t, "203.0.113.0/26", "198.18.1.0/24")

	set(Policy{ID: 100, Priority: 10, Local: local, Remote: sels(t, "198.18.200.7")})
	set(Policy{ID: 200, Priority: 5, Local: local, Remote: sels(t, "198.18.200.0/28")})
	want(toClient, 200, true) // a host policy of worse priority loses to a subnet policy
	want(toOther, 200, true)

	set(Policy{ID: 100, Priority: 5, Local: local, Remote: sels(t, "198.18.200.7")})
	want(toClient, 100, true) // same priority: the lower ID, in the host index

	set(Policy{ID: 200, Priority: 5, Local: local, Remote: sels(t, "198.18.200.0/28")})
	set(Policy{ID: 50, Priority: 5, Local: local, Remote: sels(t, "198.18.200.0/28")})
	want(toClient, 50, true) // same priority: the lower ID, in the scan

	set(Policy{ID: 100, Priority: 1, Local: local, Remote: sels(t, "198.18.200.7")})
	want(toClient, 100, true) // a host policy of better priority wins
	want(toOther, 50, true)

	// A host policy that does not match (port) falls through to the scan.
	set(Policy{ID: 100, Priority: 1, Local: local, Remote: sels(t, "198.18.200.7[tcp/22]")})
	want(toClient, 50, true)
	want(flow("203.0.113.5", "198.18.200.7", ProtoTCP, 443, 22), 100, true)
	// Nor when the local end does not match.
	want(flow("192.0.2.1", "198.18.200.7", ProtoTCP, 443, 22), 0, false)

	// Several host addresses, and two host policies on one address.
	set(Policy{ID: 300, Priority: 1, Local: local, Remote: sels(t, "198.18.200.9", "2001:db8:200::9", "198.18.200.9[udp]")})
	set(Policy{ID: 301, Priority: 2, Local: local, Remote: sels(t, "198.18.200.9")})
	want(flow("203.0.113.5", "198.18.200.9", ProtoUDP, 1, 2), 300, true)
	want(flow("2001:db8::1", "2001:db8:200::9", ProtoUDP, 1, 2), 0, false) // local is IPv4 only
	set(Policy{ID: 300, Priority: 1, Local: sels(t, "::/0"), Remote: sels(t, "198.18.200.9", "2001:db8:200::9")})
	want(flow("2001:db8::1", "2001:db8:200::9", ProtoUDP, 1, 2), 300, true)
	want(flow("203.0.113.5", "198.18.200.9", ProtoUDP, 1, 2), 301, true)
	d.Delete(300)
	want(flow("2001:db8::1", "2001:db8:200::9", ProtoUDP, 1, 2), 0, false)
	want(flow("203.0.113.5", "198.18.200.9", ProtoUDP, 1, 2), 301, true)

	// A host policy replaced by a subnet policy leaves the host index, and
	// back.
	set(Policy{ID: 301, Priority: 2, Local: local, Remote: sels(t, "198.18.201.0/24")})
	want(flow("203.0.113.5", "198.18.200.9", ProtoUDP, 1, 2), 50, true)
	want(flow("203.0.113.5", "198.18.201.9", ProtoUDP, 1, 2), 301, true)
	set(Policy{ID: 301, Priority: 2, Local: local, Remote: sels(t, "198.18.201.1")})
	want(flow("203.0.113.5", "198.18.201.9", ProtoUDP, 1, 2), 0, false)
	want(flow("203.0.113.5", "198.18.201.1", ProtoUDP, 1, 2), 301, true)
}

func TestSPDGetReplaceDelete(t *testing.T) {
	var d SPD[*string]
	one, two := "one", "two"
	local, remote := sels(t, "10.0.0.0/8"), sels(t, "192.0.2.1", "198.51.100.0/24")
	if err := d.Set(Policy{ID: 7, Priority: 3, Local: local, Remote: remote, Action: ActionTrap}, &one); err != nil {
		t.Fatal(err)
	}
	// Set keeps copies: changing the caller's slices changes nothing.
	local[0], remote[1] = mustSelector(t, "0.0.0.0/0"), mustSelector(t, "0.0.0.0/0")
	p, v, ok := d.Get(7)
	if !ok || v != &one || p.ID != 7 || p.Priority != 3 || p.Action != ActionTrap ||
		p.Local[0] != mustSelector(t, "10.0.0.0/8") || p.Remote[1] != mustSelector(t, "198.51.100.0/24") {
		t.Fatalf("Get(7) = %+v %v %v", p, v, ok)
	}
	if _, _, ok := d.Lookup(flow("10.1.1.1", "203.0.113.1", ProtoUDP, 1, 2)); ok {
		t.Error("Lookup used the caller's modified selectors")
	}
	if err := d.Set(Policy{ID: 7, Local: sels(t, "10.0.0.0/8"), Remote: sels(t, "203.0.113.0/24"), Action: ActionDrop}, &two); err != nil {
		t.Fatal(err)
	}
	if d.Len() != 1 {
		t.Errorf("Len() = %d after a replace", d.Len())
	}
	if id, v, ok := d.Lookup(flow("10.1.1.1", "203.0.113.1", ProtoUDP, 1, 2)); !ok || id != 7 || v != &two {
		t.Errorf("Lookup after replace = %d %v %v", id, v, ok)
	}
	if _, _, ok := d.Lookup(flow("10.1.1.1", "192.0.2.1", ProtoUDP, 1, 2)); ok {
		t.Error("Lookup found the replaced policy's old selectors")
	}
	if p, _, _ := d.Get(7); p.Action != ActionDrop {
		t.Errorf("Get after replace: %+v", p)
	}
	// Policies returns copies.
	ps := d.Policies()
	ps[0].Remote[0] = mustSelector(t, "0.0.0.0/0")
	if p, _, _ := d.Get(7); p.Remote[0] != mustSelector(t, "203.0.113.0/24") {
		t.Error("changing Policies() changed the SPD")
	}
	if !d.Delete(7) || d.Delete(7) || d.Len() != 0 {
		t.Error("Delete")
	}
	if _, _, ok := d.Get(7); ok {
		t.Error("Get after Delete")
	}
	if _, _, ok := d.Lookup(flow("10.1.1.1", "203.0.113.1", ProtoUDP, 1, 2)); ok {
		t.Error("Lookup after Delete")
	}
}

// naiveLookup is the reference for SPD.Lookup: the first of the policies,
// sorted by precedence, that matches.
func naiveLookup(ps []Policy, f Flow) (uint32, bool) {
	for _, p := range ps {
		if p.MatchOut(f) {
			return p.ID, true
		}
	}
	return 0, false
}

// TestSPDRandom checks Lookup against naiveLookup over random policy sets
// (host and subnet policies, tied priorities, ports, replacements and
// deletions) and random flows.
func TestSPDRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	hostAddr := func() netip.Addr { return ip4(0xc612c800 + uint32(r.IntN(24))) } // 198.18.200.0-23
	randSel := func(host bool) Selector {
		var s Selector
		if host {
			a := hostAddr()
			s = Selector{Start: a, End: a, EndPort: 0xffff}
		} else {
			a, b := hostAddr(), hostAddr()
			s = Selector{Start: a, End: b, EndPort: 0xffff}
			if b.Less(a) {
				s.Start, s.End = b, a
			}
		}
		switch r.IntN(6) {
		case 0:
			s.Proto = ProtoTCP
		case 1:
			s.Proto, s.StartPort, s.EndPort = ProtoUDP, 50, 60
		case 2:
			s.Proto, s.StartPort, s.EndPort = ProtoTCP, 0xffff, 0
		}
		return s
	}
	randPolicy := func(id uint32) Policy {
		p := Policy{ID: id, Priority: uint32(r.IntN(4)), Action: Action(r.IntN(4))}
		p.Local = []Selector{{Start: ip4(0x0a000000), End: ip4(0x0a000000 + uint32(r.IntN(4))), EndPort: 0xffff}}
		if r.IntN(4) == 0 {
			p.Local = append(p.Local, SelectorFromPrefix(netip.MustParsePrefix("2001:db8::/64")))
		}
		host := r.IntN(2) == 0
		for range 1 + r.IntN(3) {
			p.Remote = append(p.Remote, randSel(host))
		}
		return p
	}
	randFlow := func() Flow {
		f := Flow{Src: ip4(0x0a000000 + uint32(r.IntN(5))), Dst: hostAddr()}
		f.Proto = []uint8{ProtoTCP, ProtoUDP, ProtoESP}[r.IntN(3)]
		if f.Proto != ProtoESP {
			if r.IntN(5) == 0 {
				f.Opaque = true
			} else {
				f.SrcPort, f.DstPort = uint16(r.IntN(100)), uint16(45+r.IntN(20))
			}
		}
		return f
	}
	for round := range 200 {
		var d SPD[uint32]
		for range 40 {
			id := uint32(r.IntN(30))
			if r.IntN(5) == 0 {
				d.Delete(id)
			} else if err := d.Set(randPolicy(id), id+1000); err != nil {
				t.Fatal(err)
			}
		}
		ps := d.Policies()
		if len(ps) != d.Len() {
			t.Fatalf("Len() = %d, Policies() has %d", d.Len(), len(ps))
		}
		for range 200 {
			f := randFlow()
			wantID, wantOK := naiveLookup(ps, f)
			id, v, ok := d.Lookup(f)
			if ok != wantOK || id != wantID || ok && v != id+1000 {
				t.Fatalf("round %d: Lookup(%+v) = %d %d %v, want %d %v\npolicies: %+v", round, f, id, v, ok, wantID, wantOK, ps)
			}
		}
	}
}

// TestSPDConcurrent runs Lookups while policies are replaced and deleted:
// every answer must be a whole policy generation, its value matching the
// selectors it matched by. Run it with -race.
func TestSPDConcurrent(t *testing.T) {
	type gen struct {
		id     uint32
		remote Selector // what this generation protects
	}
	var d SPD[*gen]
	// A fallback that every flow of the test matches, of worse priority.
	all := mustSelector(t, "0.0.0.0/0")
	if err := d.Set(Policy{ID: 1000, Priority: 9, Local: []Selector{all}, Remote: []Selector{all}}, &gen{1000, all}); err != nil {
		t.Fatal(err)
	}
	local := sels(t, "10.0.0.0/8")
	remotes := sels(t, "192.0.2.1", "192.0.2.2", "198.51.100.0/24", "203.0.113.7")
	dsts := []netip.Addr{addr("192.0.2.1"), addr("192.0.2.2"), addr("198.51.100.9"), addr("203.0.113.7")}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writes, lookups atomic.Int64
	for w := range 2 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 9))
			for {
				select {
				case <-stop:
					return
				default:
				}
				id := uint32(w*10 + r.IntN(3))
				if r.IntN(4) == 0 {
					d.Delete(id)
				} else {
					rem := remotes[r.IntN(len(remotes))]
					p := Policy{ID: id, Priority: 1, Local: local, Remote: []Selector{rem}}
					if err := d.Set(p, &gen{id, rem}); err != nil {
						t.Error(err)
						return
					}
				}
				writes.Add(1)
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, dst := range dsts {
					f := Flow{Src: addr("10.1.2.3"), Dst: dst, Proto: ProtoUDP, SrcPort: 1, DstPort: 2}
					id, g, ok := d.Lookup(f)
					if !ok || g == nil || g.id != id || !g.remote.Contains(f.Dst, f.Proto, f.DstPort) {
						t.Errorf("Lookup(%v) = policy %d with value %+v, %v: not one generation", dst, id, g, ok)
						return
					}
					if p, g2, ok := d.Get(id); ok && g2 == g && !slices.Equal(p.Remote, []Selector{g.remote}) {
						t.Errorf("Get(%d) = %v with the value of a generation for %v", id, p.Remote, g.remote)
						return
					}
					lookups.Add(1)
				}
				ps := d.Policies()
				if !slices.IsSortedFunc(ps, func(a, b Policy) int {
					return cmp.Or(cmp.Compare(a.Priority, b.Priority), cmp.Compare(a.ID, b.ID))
				}) {
					t.Error("Policies() not sorted")
					return
				}
			}
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for (writes.Load() < 5000 || lookups.Load() < 20000) && time.Now().Before(deadline) && !t.Failed() {
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d writes, %d lookups", writes.Load(), lookups.Load())
}

// TestSPDManyHosts fills many shards: thousands of host policies with
// strided IDs, each found by its address, then half deleted.
func TestSPDManyHosts(t *testing.T) {
	var d SPD[uint32]
	const n = 3000
	id := func(i int) uint32 { return uint32(i) * 256 } // all the same low byte
	host := func(i int) netip.Addr { return ip4(0xc6120000 + uint32(i)*256) }
	for i := range n {
		a := host(i)
		p := Policy{ID: id(i), Priority: 10, Local: sels(t, "0.0.0.0/0"), Remote: []Selector{{Start: a, End: a, EndPort: 0xffff}}}
		if err := d.Set(p, id(i)); err != nil {
			t.Fatal(err)
		}
	}
	check := func(deleted func(int) bool) {
		t.Helper()
		for i := range n {
			got, v, ok := d.Lookup(Flow{Src: addr("10.0.0.1"), Dst: host(i), Proto: ProtoUDP})
			if deleted(i) {
				if ok {
					t.Fatalf("host %d: found deleted policy %d", i, got)
				}
			} else if !ok || got != id(i) || v != id(i) {
				t.Fatalf("host %d: Lookup = %d %d %v, want %d", i, got, v, ok, id(i))
			}
			if _, _, ok := d.Get(id(i)); ok == deleted(i) {
				t.Fatalf("Get(%d) = %v", id(i), ok)
			}
		}
	}
	check(func(int) bool { return false })
	for i := 0; i < n; i += 2 {
		if !d.Delete(id(i)) {
			t.Fatalf("Delete(%d) = false", id(i))
		}
	}
	check(func(i int) bool { return i%2 == 0 })
	if d.Len() != n/2 || len(d.Policies()) != n/2 {
		t.Errorf("Len() = %d, %d policies, want %d", d.Len(), len(d.Policies()), n/2)
	}
}

func TestSPDAllocs(t *testing.T) {
	var d SPD[*int]
	n := 0
	for i := range 100 {
		a := ip4(0xc612c800 + uint32(i))
		p := Policy{ID: uint32(i), Priority: 10, Local: sels(t, "0.0.0.0/0"), Remote: []Selector{{Start: a, End: a, EndPort: 0xffff}}}
		if err := d.Set(p, &n); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Set(Policy{ID: 1000, Priority: 20, Local: sels(t, "0.0.0.0/0"), Remote: sels(t, "203.0.113.0/24")}, &n); err != nil {
		t.Fatal(err)
	}
	flows := []Flow{
		flow("10.0.0.1", "198.18.200.50", ProtoTCP, 1, 2),
		flow("10.0.0.1", "203.0.113.1", ProtoTCP, 1, 2),
		flow("10.0.0.1", "192.0.2.1", ProtoTCP, 1, 2),
		flow("2001:db8::1", "2001:db8::2", ProtoESP, 0, 0),
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, f := range flows {
			d.Lookup(f)
		}
		if p, _, ok := d.Get(50); !ok || !p.MatchIn(reversed(flows[0])) {
			t.Fatal("Get(50)")
		}
	})
	if allocs != 0 {
		t.Errorf("Lookup and Get: %.1f allocations per run", allocs)
	}
}

// benchSPD returns an SPD with n host policies (a roadwarrior gateway's
// clients) and 5 subnet policies, and flows to a client and to a subnet.
func benchSPD(b *testing.B, n int) (*SPD[*int], Flow, Flow) {
	var d SPD[*int]
	v := new(int)
	for i := range n {
		a := ip4(0xc6120000 + uint32(i)) // 198.18.0.0/16
		p := Policy{ID: uint32(i + 1), Priority: 100, Local: sels(b, "0.0.0.0/0"), Remote: []Selector{{Start: a, End: a, EndPort: 0xffff}}}
		if err := d.Set(p, v); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 5 {
		p := Policy{ID: uint32(100000 + i), Priority: 200, Local: sels(b, "198.51.100.0/24"),
			Remote: sels(b, fmt.Sprintf("203.0.%d.0/24", 113+i))}
		if err := d.Set(p, v); err != nil {
			b.Fatal(err)
		}
	}
	client := Flow{Src: addr("198.51.100.1"), Dst: ip4(0xc6120000 + uint32(n/2)), Proto: ProtoTCP, SrcPort: 443, DstPort: 40000}
	subnet := flow("198.51.100.1", "203.0.117.9", ProtoUDP, 53, 40000)
	return &d, client, subnet
}

func BenchmarkSPDLookup(b *testing.B) {
	for _, n := range []int{1, 100, 10000} {
		d, client, subnet := benchSPD(b, n)
		for _, bc := range []struct {
			name string
			f    Flow
		}{{"host", client}, {"subnet", subnet}} {
			b.Run(fmt.Sprintf("hosts=%d/%s", n, bc.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, _, ok := d.Lookup(bc.f); !ok {
						b.Fatal("no policy")
					}
				}
			})
		}
	}
}
