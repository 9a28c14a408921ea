package esp

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
)

// Action is what a policy does with the traffic it matches (RFC 4301,
// Section 4.4.1: PROTECT, BYPASS, DISCARD).
type Action uint8

const (
	// ActionProtect sends the traffic through the policy's SA.
	ActionProtect Action = iota
	// ActionBypass sends the traffic in the clear.
	ActionBypass
	// ActionDrop discards the traffic.
	ActionDrop
	// ActionTrap protects traffic for which no SA exists yet: the packet is
	// held and IKE is asked for an SA (an Acquire, RFC 4301, Section 5.1).
	ActionTrap
)

// String returns "protect", "bypass", "drop", "trap", or "Action(N)".
func (a Action) String() string {
	switch a {
	case ActionProtect:
		return "protect"
	case ActionBypass:
		return "bypass"
	case ActionDrop:
		return "drop"
	case ActionTrap:
		return "trap"
	}
	return "Action(" + strconv.Itoa(int(a)) + ")"
}

// ErrInvalidPolicy is returned, wrapped with the reason, by SPD.Set for a
// policy without local or remote selectors, with an invalid selector, or
// with an unknown Action.
var ErrInvalidPolicy = errors.New("esp: invalid policy")

// Policy is one SPD entry (RFC 4301, Section 4.4.1).
//
// A flow matches when its local end (outbound: Src; inbound: Dst) lies in
// any of Local and its remote end in any of Remote, each with the flow's
// protocol and that end's port: the cross product of an IKEv2 CHILD_SA's
// TSi and TSr (RFC 7296, Section 2.9), in which a pair whose protocols
// differ matches nothing. Selectors of both families may be mixed in one
// policy; a flow matches those of its own.
//
// Among matching policies the lowest Priority wins, as in Linux XFRM, and
// between equal priorities the lowest ID.
type Policy struct {
	ID            uint32
	Priority      uint32
	Local, Remote []Selector
	Action        Action
}

// MatchOut reports whether outbound flow f matches p: f.Src in Local, f.Dst
// in Remote (RFC 4301, Section 5.1).
func (p Policy) MatchOut(f Flow) bool {
	return p.match(f.Src.WithZone(""), f.SrcPort, f.Dst.WithZone(""), f.DstPort, f.Proto, f.noPorts())
}

// MatchIn reports whether inbound flow f matches p: f.Dst in Local, f.Src in
// Remote. It is the check of a decrypted inner packet against the policy of
// the SA that carried it (RFC 4301, Section 5.2, step 4).
func (p Policy) MatchIn(f Flow) bool {
	return p.match(f.Dst.WithZone(""), f.DstPort, f.Src.WithZone(""), f.SrcPort, f.Proto, f.noPorts())
}

func (p *Policy) match(local netip.Addr, lport uint16, remote netip.Addr, rport uint16, proto uint8, noPorts bool) bool {
	return anyContains(p.Remote, remote, proto, rport, noPorts) &&
		anyContains(p.Local, local, proto, lport, noPorts)
}

func anyContains(sels []Selector, a netip.Addr, proto uint8, port uint16, noPorts bool) bool {
	for i := range sels {
		if sels[i].contains(a, proto, port, noPorts) {
			return true
		}
	}
	return false
}

// check returns why p cannot be stored, wrapping ErrInvalidPolicy, or nil.
func (p *Policy) check() error {
	switch {
	case len(p.Local) == 0:
		return fmt.Errorf("%w %d: no local selectors", ErrInvalidPolicy, p.ID)
	case len(p.Remote) == 0:
		return fmt.Errorf("%w %d: no remote selectors", ErrInvalidPolicy, p.ID)
	case p.Action > ActionTrap:
		return fmt.Errorf("%w %d: unknown action %v", ErrInvalidPolicy, p.ID, p.Action)
	}
	for i, s := range p.Local {
		if why := s.problem(); why != "" {
			return fmt.Errorf("%w %d: local selector %d: %s", ErrInvalidPolicy, p.ID, i, why)
		}
	}
	for i, s := range p.Remote {
		if why := s.problem(); why != "" {
			return fmt.Errorf("%w %d: remote selector %d: %s", ErrInvalidPolicy, p.ID, i, why)
		}
	}
	return nil
}

// less orders policies by precedence: Priority, then ID.
func (p *Policy) less(q *Policy) bool {
	return p.Priority < q.Priority || p.Priority == q.Priority && p.ID < q.ID
}

// hostAddrs returns the distinct remote addresses of p if every Remote
// selector is a single address, for the host index.
func (p *Policy) hostAddrs() ([]netip.Addr, bool) {
	addrs := make([]netip.Addr, 0, len(p.Remote))
	for _, s := range p.Remote {
		if s.Start != s.End {
			return nil, false
		}
		if !slices.Contains(addrs, s.Start) {
			addrs = append(addrs, s.Start)
		}
	}
	return addrs, true
}

// SPD is the security policy database (RFC 4301, Section 4.4.1): policies
// with a value of type V each, the caller's per-policy state (the dataplane
// stores a pointer to its runtime state). The zero SPD is empty and ready.
//
// Lookups are O(1) for the policies of a roadwarrior gateway, one per
// client whose Remote is the client's virtual IP: policies whose Remote
// selectors are all single addresses are indexed by those addresses, the
// others are scanned in order of precedence, and Lookup returns the better
// of the two candidates.
//
// Concurrency: Lookup, Get, Len and Policies may be called from any number of
// goroutines and never block: they read an immutable index. Set and Delete
// build a new index from a copy of the old one and publish it atomically
// (copy on write), so a reader sees either the whole old state or the whole
// new one; writers are serialized by a mutex. The index is split in
// spdShards parts by hash of ID and of host address, and a write copies only
// the parts it changes (and the list of non-host policies), so it stays
// cheap with tens of thousands of policies.
type SPD[V any] struct {
	mu  sync.Mutex // serializes Set and Delete
	idx atomic.Pointer[spdIndex[V]]
}

// spdEntry is one stored policy; entries are never modified once published.
type spdEntry[V any] struct {
	p Policy
	v V
}

// spdShards is the number of parts the maps of an spdIndex are split in.
const spdShards = 256

// spdIndex is one immutable generation of the SPD. Its maps are split in
// shards so that a write copies one small map, not all of them; a nil shard
// is empty.
type spdIndex[V any] struct {
	n    int // policies
	byID [spdShards]map[uint32]*spdEntry[V]
	// hosts holds the policies whose Remote selectors are all single
	// addresses, under each of those addresses, in order of precedence.
	hosts [spdShards]map[netip.Addr][]*spdEntry[V]
	// linear holds the other policies, in order of precedence.
	linear []*spdEntry[V]
}

// idShard and addrShard pick the shard of a key, by a multiplicative
// (Fibonacci) hash so that strided IDs and addresses spread too.
func idShard(id uint32) int { return int((id * 0x9e3779b1) >> 24) }

func addrShard(a netip.Addr) int {
	b := a.As16()
	x := binary.LittleEndian.Uint64(b[:8]) ^ binary.LittleEndian.Uint64(b[8:])
	return int((x * 0x9e3779b97f4a7c15) >> 56)
}

func (ix *spdIndex[V]) get(id uint32) *spdEntry[V] { return ix.byID[idShard(id)][id] }

// Set adds policy p with value v, or replaces the policy with p's ID and its
// value. Set keeps copies of p's selector slices. It returns an error
// wrapping ErrInvalidPolicy, and changes nothing, if p has no Local or no
// Remote selectors, an invalid selector (mixed families, Start above End,
// ...) or an unknown Action.
func (d *SPD[V]) Set(p Policy, v V) error {
	if err := p.check(); err != nil {
		return err
	}
	p.Local, p.Remote = slices.Clone(p.Local), slices.Clone(p.Remote)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.idx.Store(d.idx.Load().with(p.ID, &spdEntry[V]{p: p, v: v}))
	return nil
}

// Delete removes the policy with the given ID and reports whether there was
// one.
func (d *SPD[V]) Delete(id uint32) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.idx.Load()
	if old == nil || old.get(id) == nil {
		return false
	}
	d.idx.Store(old.with(id, nil))
	return true
}

// Get returns the policy with the given ID and its value. The returned
// policy's Local and Remote slices are shared with the SPD and must not be
// modified. Get does not allocate.
func (d *SPD[V]) Get(id uint32) (Policy, V, bool) {
	if ix := d.idx.Load(); ix != nil {
		if e := ix.get(id); e != nil {
			return e.p, e.v, true
		}
	}
	var zero V
	return Policy{}, zero, false
}

// Lookup returns the outbound policy for flow f (RFC 4301, Section 5.1): of
// the policies that MatchOut(f), the one with the lowest Priority, then the
// lowest ID; and its value. Lookup does not allocate.
func (d *SPD[V]) Lookup(f Flow) (id uint32, v V, ok bool) {
	ix := d.idx.Load()
	if ix == nil {
		return 0, v, false
	}
	src, dst, noPorts := f.Src.WithZone(""), f.Dst.WithZone(""), f.noPorts()
	var best *spdEntry[V]
	for _, e := range ix.hosts[addrShard(dst)][dst] {
		if e.p.match(src, f.SrcPort, dst, f.DstPort, f.Proto, noPorts) {
			best = e
			break
		}
	}
	for _, e := range ix.linear {
		if best != nil && !e.p.less(&best.p) {
			break
		}
		if e.p.match(src, f.SrcPort, dst, f.DstPort, f.Proto, noPorts) {
			best = e
			break
		}
	}
	if best == nil {
		return 0, v, false
	}
	return best.p.ID, best.v, true
}

// Len returns the number of policies.
func (d *SPD[V]) Len() int {
	if ix := d.idx.Load(); ix != nil {
		return ix.n
	}
	return 0
}

// Policies returns a snapshot of all policies, sorted by Priority and ID;
// the caller owns it.
func (d *SPD[V]) Policies() []Policy {
	ix := d.idx.Load()
	if ix == nil {
		return nil
	}
	out := make([]Policy, 0, ix.n)
	for _, shard := range ix.byID {
		for _, e := range shard {
			p := e.p
			p.Local, p.Remote = slices.Clone(p.Local), slices.Clone(p.Remote)
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b Policy) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// with returns a new index: ix (which may be nil) with the policy id removed
// and e, if not nil, added. ix is not modified: the shards that change are
// copied, the others shared.
func (ix *spdIndex[V]) with(id uint32, e *spdEntry[V]) *spdIndex[V] {
	nx := new(spdIndex[V])
	if ix != nil {
		*nx = *ix
	}
	is := idShard(id)
	byID := maps.Clone(nx.byID[is])
	if byID == nil {
		byID = make(map[uint32]*spdEntry[V])
	}
	nx.byID[is] = byID
	var copied [spdShards]bool
	hostShard := func(a netip.Addr) map[netip.Addr][]*spdEntry[V] {
		hs := addrShard(a)
		if !copied[hs] {
			m := maps.Clone(nx.hosts[hs])
			if m == nil {
				m = make(map[netip.Addr][]*spdEntry[V])
			}
			nx.hosts[hs], copied[hs] = m, true
		}
		return nx.hosts[hs]
	}
	if old := byID[id]; old != nil {
		delete(byID, id)
		nx.n--
		if addrs, ok := old.p.hostAddrs(); ok {
			for _, a := range addrs {
				hosts := hostShard(a)
				if rest := without(hosts[a], old); len(rest) > 0 {
					hosts[a] = rest
				} else {
					delete(hosts, a)
				}
			}
		} else {
			nx.linear = without(nx.linear, old)
		}
	}
	if e != nil {
		byID[id] = e
		nx.n++
		if addrs, ok := e.p.hostAddrs(); ok {
			for _, a := range addrs {
				hosts := hostShard(a)
				hosts[a] = inserted(hosts[a], e)
			}
		} else {
			nx.linear = inserted(nx.linear, e)
		}
	}
	return nx
}

// without returns a new slice: s without e.
func without[V any](s []*spdEntry[V], e *spdEntry[V]) []*spdEntry[V] {
	out := make([]*spdEntry[V], 0, len(s))
	for _, x := range s {
		if x != e {
			out = append(out, x)
		}
	}
	return out
}

// inserted returns a new slice: s, which is in order of precedence, with e
// in its place.
func inserted[V any](s []*spdEntry[V], e *spdEntry[V]) []*spdEntry[V] {
	i, _ := slices.BinarySearchFunc(s, e, func(x, e *spdEntry[V]) int {
		return cmp.Or(cmp.Compare(x.p.Priority, e.p.Priority), cmp.Compare(x.p.ID, e.p.ID))
	})
	out := make([]*spdEntry[V], 0, len(s)+1)
	out = append(out, s[:i]...)
	out = append(out, e)
	return append(out, s[i:]...)
}
