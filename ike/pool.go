package ike

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// ErrPoolExhausted is wrapped by the PoolError that Acquire returns when
// every address of the pool is online or reserved. The responder then
// answers the configuration request with INTERNAL_ADDRESS_FAILURE (RFC 7296
// Section 3.10.1).
var ErrPoolExhausted = errors.New("ike: address pool exhausted")

// ErrAddressInUse is wrapped by the PoolError that Reserve returns when
// another identity holds the address online or has it reserved.
var ErrAddressInUse = errors.New("ike: address in use")

// ErrNotInPool is wrapped by the PoolError that Reserve returns for an
// address outside the pool.
var ErrNotInPool = errors.New("ike: address not in pool")

// ErrIdentityOnline is wrapped by the PoolError that Reserve returns when
// the identity is online with a different address: an identity has at most
// one address per pool.
var ErrIdentityOnline = errors.New("ike: identity online with another address")

// ErrNoPool is returned, wrapped, by Pools.AcquireAll for an address family
// that none of the pools serves.
var ErrNoPool = errors.New("ike: no address pool for the address family")

var errEmptyIdentity = errors.New("ike: empty identity")

// PoolError reports a failed operation on a Pool. Err is one of the
// sentinels ErrPoolExhausted, ErrAddressInUse, ErrNotInPool or
// ErrIdentityOnline, or an error for an empty identity.
type PoolError struct {
	Pool     string
	Identity string
	// Address is the address asked for, the zero Addr if none was.
	Address netip.Addr
	Err     error
}

// Error returns a message such as `ike: pool "rw4": 10.0.0.5 for "carol":
// address in use`.
func (e *PoolError) Error() string {
	what := fmt.Sprintf("for %q", e.Identity)
	if e.Address.IsValid() {
		what = e.Address.String() + " " + what
	}
	return fmt.Sprintf("ike: pool %q: %s: %s", e.Pool, what, strings.TrimPrefix(e.Err.Error(), "ike: "))
}

// Unwrap returns Err.
func (e *PoolError) Unwrap() error { return e.Err }

// Lease is a snapshot of one address bound to an identity.
type Lease struct {
	Identity string
	Address  netip.Addr
	// Online is true between Acquire and Release. An offline lease is
	// remembered so that the identity gets its address back.
	Online bool
	// Reserved is true for an address fixed by Reserve; it is never
	// handed to another identity.
	Reserved bool
	// Since is when the lease was last acquired, released or reserved.
	Since time.Time
}

// lease is the pool's record of a Lease. Offline leases that are not
// reserved form a list, oldest release first, from which addresses are
// taken for other identities once the pool has no free address left.
type lease struct {
	id       string
	addr     netip.Addr
	online   bool
	reserved bool
	since    time.Time

	prev, next *lease // offline list
	listed     bool
}

// Pool hands out addresses from one prefix or range. Leases are keyed by
// the client's identity string (for example pki.Identity.String() or an
// EAP or XAuth user name): the same identity gets its previous address back
// while its lease is held or remembered, two identities never share an
// address, and a client-requested address (a CP INTERNAL_IP4_ADDRESS or
// INTERNAL_IP6_ADDRESS attribute with a value, RFC 7296 Section 3.15.1) is
// honoured when it is in the pool and free.
//
// Memory grows with the number of leases, never with the size of the
// range: addresses that were never handed out are found with a cursor
// running from the first address to the last, so a /64 costs as little as
// a /29.
//
// A Pool is safe for concurrent use. Its methods are meant for IKE_AUTH and
// mode-config processing, not for the per-packet path.
type Pool struct {
	// Now returns the time recorded in Lease.Since; nil means time.Now.
	// Set it before the pool is used.
	Now func() time.Time

	name        string
	first, last netip.Addr
	size        int

	mu     sync.Mutex
	byID   map[string]*lease
	byAddr map[netip.Addr]*lease
	online int
	// cursor is the lowest address never taken by the cursor; done is set
	// once it has passed last.
	cursor netip.Addr
	done   bool
	// freed holds addresses behind the cursor that became free again.
	// Entries may be stale: they are checked against byAddr when used.
	freed []netip.Addr
	// Offline list of unreserved leases, oldest release at head.
	head, tail *lease
}

// NewPool returns a pool of the addresses of prefix r, which is masked
// first. The network address is excluded, and for IPv4 the broadcast
// address, except in an IPv4 /31 (RFC 3021) and in host prefixes (/32,
// /128), whose addresses are all used.
func NewPool(name string, r netip.Prefix) (*Pool, error) {
	if !r.IsValid() {
		return nil, fmt.Errorf("ike: pool %q: invalid prefix", name)
	}
	if r.Addr().Is4In6() {
		return nil, fmt.Errorf("ike: pool %q: IPv4-mapped prefix %s", name, r)
	}
	r = r.Masked()
	first := r.Addr()
	last := lastAddr(r)
	hostBits := first.BitLen() - r.Bits()
	switch {
	case first.Is4() && hostBits >= 2:
		first, last = first.Next(), last.Prev()
	case first.Is6() && hostBits >= 1:
		first = first.Next()
	}
	return newPool(name, first, last), nil
}

// NewPoolRange returns a pool of the addresses from first to last
// inclusive, which must be of the same family and without a zone.
func NewPoolRange(name string, first, last netip.Addr) (*Pool, error) {
	switch {
	case !first.IsValid() || !last.IsValid():
		return nil, fmt.Errorf("ike: pool %q: invalid range %s-%s", name, first, last)
	case first.Zone() != "" || last.Zone() != "":
		return nil, fmt.Errorf("ike: pool %q: range %s-%s has a zone", name, first, last)
	case first.Is4In6() || last.Is4In6():
		return nil, fmt.Errorf("ike: pool %q: IPv4-mapped range %s-%s", name, first, last)
	case first.Is4() != last.Is4():
		return nil, fmt.Errorf("ike: pool %q: range %s-%s mixes address families", name, first, last)
	case last.Less(first):
		return nil, fmt.Errorf("ike: pool %q: range %s-%s ends before it starts", name, first, last)
	}
	return newPool(name, first, last), nil
}

func newPool(name string, first, last netip.Addr) *Pool {
	return &Pool{
		name:   name,
		first:  first,
		last:   last,
		size:   rangeSize(first, last),
		byID:   make(map[string]*lease),
		byAddr: make(map[netip.Addr]*lease),
		cursor: first,
	}
}

// lastAddr returns the highest address of the masked prefix r.
func lastAddr(r netip.Prefix) netip.Addr {
	if r.Addr().Is4() {
		b := r.Addr().As4()
		v := binary.BigEndian.Uint32(b[:]) | uint32(math.MaxUint32)>>r.Bits()
		if r.Bits() == 32 {
			v = binary.BigEndian.Uint32(b[:])
		}
		binary.BigEndian.PutUint32(b[:], v)
		return netip.AddrFrom4(b)
	}
	b := r.Addr().As16()
	hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	n := r.Bits()
	switch {
	case n == 0:
		hi, lo = math.MaxUint64, math.MaxUint64
	case n < 64:
		hi |= math.MaxUint64 >> n
		lo = math.MaxUint64
	case n < 128:
		lo |= math.MaxUint64 >> (n - 64)
	}
	binary.BigEndian.PutUint64(b[:8], hi)
	binary.BigEndian.PutUint64(b[8:], lo)
	return netip.AddrFrom16(b)
}

// rangeSize returns last-first+1, saturated at math.MaxInt.
func rangeSize(first, last netip.Addr) int {
	f, l := first.As16(), last.As16()
	fhi, flo := binary.BigEndian.Uint64(f[:8]), binary.BigEndian.Uint64(f[8:])
	lhi, llo := binary.BigEndian.Uint64(l[:8]), binary.BigEndian.Uint64(l[8:])
	lo, borrow := bits.Sub64(llo, flo, 0)
	hi, _ := bits.Sub64(lhi, fhi, borrow)
	if hi != 0 || lo >= math.MaxInt {
		return math.MaxInt
	}
	return int(lo) + 1
}

// Name returns the name the pool was made with.
func (p *Pool) Name() string { return p.name }

// Range returns the first and last address of the pool.
func (p *Pool) Range() (first, last netip.Addr) { return p.first, p.last }

// Size returns the number of addresses in the pool, at most math.MaxInt.
func (p *Pool) Size() int { return p.size }

// Online returns the number of leases between Acquire and Release.
func (p *Pool) Online() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.online
}

// Contains reports whether a is an address of the pool. An IPv4-mapped
// IPv6 address is not in an IPv4 pool, nor is an address with a zone.
func (p *Pool) Contains(a netip.Addr) bool {
	return a.IsValid() && a.Zone() == "" && a.Is4() == p.first.Is4() &&
		!a.Less(p.first) && !p.last.Less(a)
}

func (p *Pool) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Pool) errorf(id string, a netip.Addr, err error) error {
	return &PoolError{Pool: p.name, Identity: id, Address: a, Err: err}
}

// Acquire returns the address of identity id and marks its lease online.
// An identity that holds or is remembered with an address gets that one,
// whatever it requests, so Acquire is idempotent. Otherwise requested is
// honoured if it is in the pool and free (the zero Addr or an unspecified
// address requests nothing); else a free address is chosen; else the
// address released longest ago by another identity is taken over. With no
// address left Acquire returns a PoolError wrapping ErrPoolExhausted.
func (p *Pool) Acquire(id string, requested netip.Addr) (netip.Addr, error) {
	if id == "" {
		return netip.Addr{}, p.errorf(id, requested, errEmptyIdentity)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if l := p.byID[id]; l != nil {
		if !l.online {
			p.unlinkLocked(l)
			l.online = true
			l.since = now
			p.online++
		}
		return l.addr, nil
	}
	l := &lease{id: id, online: true, since: now}
	if !requested.IsUnspecified() && p.Contains(requested) && p.byAddr[requested] == nil {
		l.addr = requested
	} else if a, ok := p.nextFreeLocked(); ok {
		l.addr = a
	} else if old := p.head; old != nil {
		// The pool ran out: forget the oldest remembered lease.
		p.unlinkLocked(old)
		delete(p.byID, old.id)
		l.addr = old.addr
	} else {
		return netip.Addr{}, p.errorf(id, requested, ErrPoolExhausted)
	}
	p.byID[id] = l
	p.byAddr[l.addr] = l
	p.online++
	return l.addr, nil
}

// nextFreeLocked returns an address that no lease holds, or false.
func (p *Pool) nextFreeLocked() (netip.Addr, bool) {
	for len(p.freed) > 0 {
		a := p.freed[len(p.freed)-1]
		p.freed = p.freed[:len(p.freed)-1]
		if p.byAddr[a] == nil {
			return a, true
		}
	}
	// Each address the cursor skips is held by a lease, so the scan costs
	// at most one step per lease and per address handed out.
	for !p.done {
		a := p.cursor
		if a == p.last {
			p.done = true
		} else {
			p.cursor = a.Next()
		}
		if p.byAddr[a] == nil {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// freeLocked makes a, no longer in byAddr, available to nextFreeLocked.
func (p *Pool) freeLocked(a netip.Addr) {
	if p.done || a.Less(p.cursor) {
		p.freed = append(p.freed, a)
	}
}

// Reserve fixes address a for identity id, as for a roadwarrior configured
// with a static virtual IP: a reserved address is never handed to another
// identity, even after Release. The lease starts offline; Acquire by id
// returns a. A remembered, offline lease of another identity on a is
// forgotten, and so is one of id on another address. Reserve returns a
// PoolError wrapping ErrNotInPool if a is not in the pool, ErrAddressInUse
// if another identity is online with a or has reserved it, and
// ErrIdentityOnline if id is online with another address.
func (p *Pool) Reserve(id string, a netip.Addr) error {
	if id == "" {
		return p.errorf(id, a, errEmptyIdentity)
	}
	if !p.Contains(a) {
		return p.errorf(id, a, ErrNotInPool)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	mine := p.byID[id]
	other := p.byAddr[a]
	if other != nil && other.id != id && (other.online || other.reserved) {
		return p.errorf(id, a, ErrAddressInUse)
	}
	if mine != nil && mine.addr == a {
		if !mine.reserved {
			p.unlinkLocked(mine)
			mine.reserved = true
		}
		return nil
	}
	if mine != nil && mine.online {
		return p.errorf(id, a, ErrIdentityOnline)
	}
	if mine != nil {
		p.unlinkLocked(mine)
		delete(p.byID, id)
		delete(p.byAddr, mine.addr)
		p.freeLocked(mine.addr)
	}
	if other != nil {
		p.unlinkLocked(other)
		delete(p.byID, other.id)
	}
	l := &lease{id: id, addr: a, reserved: true, since: now}
	p.byID[id] = l
	p.byAddr[a] = l
	return nil
}

// Unreserve ends the reservation of a for id (its fixed virtual IP was
// removed from the configuration) and reports whether there was one. An
// offline lease is forgotten and a goes back to the pool; an online one
// stays until Release, after which it is an ordinary remembered lease.
func (p *Pool) Unreserve(id string, a netip.Addr) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.byID[id]
	if l == nil || l.addr != a || !l.reserved {
		return false
	}
	l.reserved = false
	if !l.online {
		delete(p.byID, id)
		delete(p.byAddr, a)
		p.freeLocked(a)
	}
	return true
}

// Release marks the lease of id on a offline, as when its IKE SA is
// deleted, and reports whether id was online with a. The address stays
// bound to id so that a reconnect gets it again; unless it is reserved,
// it goes to another identity once the pool has no other address left,
// the oldest released first.
func (p *Pool) Release(id string, a netip.Addr) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.byID[id]
	if l == nil || l.addr != a || !l.online {
		return false
	}
	l.online = false
	l.since = p.now()
	p.online--
	if !l.reserved {
		p.appendLocked(l)
	}
	return true
}

// Lookup returns the address bound to id, online, remembered or reserved.
func (p *Pool) Lookup(id string) (netip.Addr, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l := p.byID[id]; l != nil {
		return l.addr, true
	}
	return netip.Addr{}, false
}

// Leases returns a snapshot of the leases, ordered by address. The caller
// owns the slice.
func (p *Pool) Leases() []Lease {
	p.mu.Lock()
	ls := make([]Lease, 0, len(p.byAddr))
	for _, l := range p.byAddr {
		ls = append(ls, Lease{
			Identity: l.id,
			Address:  l.addr,
			Online:   l.online,
			Reserved: l.reserved,
			Since:    l.since,
		})
	}
	p.mu.Unlock()
	slices.SortFunc(ls, func(x, y Lease) int { return x.Address.Compare(y.Address) })
	return ls
}

func (p *Pool) appendLocked(l *lease) {
	l.prev, l.next, l.listed = p.tail, nil, true
	if p.tail != nil {
		p.tail.next = l
	} else {
		p.head = l
	}
	p.tail = l
}

func (p *Pool) unlinkLocked(l *lease) {
	if !l.listed {
		return
	}
	if l.prev != nil {
		l.prev.next = l.next
	} else {
		p.head = l.next
	}
	if l.next != nil {
		l.next.prev = l.prev
	} else {
		p.tail = l.prev
	}
	l.prev, l.next, l.listed = nil, nil, false
}

// Pools is an ordered list of pools, typically one IPv4 and one IPv6 pool
// of a connection. It is safe for concurrent use if the slice is not
// modified.
type Pools []*Pool

// AcquireAll acquires for id one address per address family in requested,
// in the order of requested; later addresses of a family already seen are
// ignored. An unspecified address (0.0.0.0 or ::), as for a CP attribute
// without a value, asks for any address of its family. An address held by
// id in a pool of the family is returned first; else the pool containing
// the requested address is tried, then the other pools of the family in
// order. Families that get no address are left out of the result; only if
// no family gets one does AcquireAll return an error, joining the
// failures, after which the responder sends INTERNAL_ADDRESS_FAILURE (RFC
// 7296 Section 3.10.1).
func (ps Pools) AcquireAll(id string, requested []netip.Addr) ([]netip.Addr, error) {
	var got []netip.Addr
	var errs []error
	var seen4, seen6 bool
	for _, r := range requested {
		if !r.IsValid() {
			continue
		}
		r = r.Unmap()
		if r.Is4() {
			if seen4 {
				continue
			}
			seen4 = true
		} else {
			if seen6 {
				continue
			}
			seen6 = true
		}
		a, err := ps.acquire(id, r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got = append(got, a)
	}
	if len(got) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return got, nil
}

func (ps Pools) acquire(id string, r netip.Addr) (netip.Addr, error) {
	family := make([]*Pool, 0, len(ps))
	for _, p := range ps {
		if p.first.Is4() == r.Is4() {
			family = append(family, p)
		}
	}
	if len(family) == 0 {
		return netip.Addr{}, fmt.Errorf("%w: %s for %q", ErrNoPool, familyName(r), id)
	}
	for _, p := range family {
		if _, ok := p.Lookup(id); ok {
			return p.Acquire(id, r)
		}
	}
	// The pool containing r first, keeping the order otherwise.
	slices.SortStableFunc(family, func(x, y *Pool) int {
		switch cx, cy := x.Contains(r), y.Contains(r); {
		case cx && !cy:
			return -1
		case cy && !cx:
			return 1
		}
		return 0
	})
	var err error
	for _, p := range family {
		var a netip.Addr
		a, err = p.Acquire(id, r)
		if err == nil {
			return a, nil
		}
		if !errors.Is(err, ErrPoolExhausted) {
			return netip.Addr{}, err
		}
	}
	return netip.Addr{}, err
}

func familyName(a netip.Addr) string {
	if a.Is4() {
		return "IPv4"
	}
	return "IPv6"
}

// ReleaseAll releases the addresses of id in the pools that contain them
// and returns how many were online.
func (ps Pools) ReleaseAll(id string, addrs []netip.Addr) int {
	n := 0
	for _, a := range addrs {
		for _, p := range ps {
			if p.Contains(a) && p.Release(id, a) {
				n++
				break
			}
		}
	}
	return n
}
