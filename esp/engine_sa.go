package esp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"time"
)

// ErrNoPolicy is returned by AddSA for an outbound SA whose policy does not
// exist.
var ErrNoPolicy = errors.New("esp: no such policy")

// SetPolicy adds a policy, or replaces the one with the same ID keeping its
// SA and held packets. Traffic that a Protect policy matches goes through
// the outbound SA installed for it with AddSA; until there is one, the policy
// acts as a trap.
func (e *Engine) SetPolicy(p Policy) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := &policyState{id: p.ID, action: p.Action}
	if _, old, ok := e.spd.Get(p.ID); ok {
		old.holdMu.Lock()
		st.held, old.held = old.held, nil
		old.holdMu.Unlock()
		st.out.Store(old.out.Load())
	}
	return e.spd.Set(p, st)
}

// DeletePolicy removes a policy; its held packets are dropped. Its SAs stay
// until DeleteSA (inbound packets are then checked against no policy and
// dropped).
func (e *Engine) DeletePolicy(id uint32) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, st, ok := e.spd.Get(id)
	if !ok {
		return false
	}
	e.spd.Delete(id)
	st.dropHeld(e)
	return true
}

// AddSA installs an SA for the policy policyID. An inbound SA is found by its
// SPI; packets it opens must match the policy (RFC 4301 §5.2). An outbound SA
// becomes the policy's SA at once, replacing the previous one atomically (the
// rekey's make-before-break: install the new inbound SA, then the new
// outbound one, then delete the old ones); packets held for the policy are
// sent through it. Packets go to p.Remote from p.Local: UDP-encapsulated when
// the remote port is not zero, raw ESP otherwise.
func (e *Engine) AddSA(dir Direction, p SAParams, policyID uint32, life Lifetime) (*SA, error) {
	sa, err := NewSA(p)
	if err != nil {
		return nil, err
	}
	ent := &saEntry{sa: sa, dir: dir, policyID: policyID, life: life, added: e.now()}
	ent.ep.Store(e.endpoint(p.Local, p.Remote))
	e.mu.Lock()
	if dir == DirIn {
		delete(e.reserved, p.SPI)
		old := *e.sad.Load()
		if _, dup := old[p.SPI]; dup {
			e.mu.Unlock()
			return nil, fmt.Errorf("esp: inbound SPI %#x in use", p.SPI)
		}
		next := maps.Clone(old)
		next[p.SPI] = ent
		e.sad.Store(&next)
		e.mu.Unlock()
		return sa, nil
	}
	_, st, ok := e.spd.Get(policyID)
	if !ok {
		e.mu.Unlock()
		return nil, fmt.Errorf("%w: %d", ErrNoPolicy, policyID)
	}
	k := outKey{policyID, p.SPI}
	if _, dup := e.out[k]; dup {
		e.mu.Unlock()
		return nil, fmt.Errorf("esp: outbound SPI %#x of policy %d in use", p.SPI, policyID)
	}
	e.out[k] = ent
	st.out.Store(ent)
	e.mu.Unlock()
	e.flushHeld(st, ent)
	return sa, nil
}

// endpoint is where an SA's packets go: from local to remote, UDP on the
// NAT-T port when remote has a port and local has none.
func (e *Engine) endpoint(local, remote netip.AddrPort) *Endpoint {
	ep := &Endpoint{Local: local, Remote: remote}
	if remote.Port() != 0 && local.Port() == 0 {
		ep.Local = netip.AddrPortFrom(local.Addr(), e.cfg.NATTPort)
	}
	return ep
}

// AllocSPI returns a random SPI for a new inbound SA that no installed or
// allocated SA uses, and keeps it for the caller until AddSA installs it or
// ReleaseSPI gives it back (a negotiation that failed).
func (e *Engine) AllocSPI() (uint32, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b [4]byte
	for range 64 {
		if _, err := io.ReadFull(e.cfg.Rand, b[:]); err != nil {
			return 0, fmt.Errorf("esp: allocating an SPI: %w", err)
		}
		spi := binary.BigEndian.Uint32(b[:])
		if spi < 256 {
			continue // reserved (RFC 4303 §2.1)
		}
		if _, used := (*e.sad.Load())[spi]; used {
			continue
		}
		if _, used := e.reserved[spi]; used {
			continue
		}
		e.reserved[spi] = struct{}{}
		return spi, nil
	}
	return 0, errors.New("esp: no free SPI found")
}

// ReleaseSPI gives back an SPI from AllocSPI that was not installed.
func (e *Engine) ReleaseSPI(spi uint32) {
	e.mu.Lock()
	delete(e.reserved, spi)
	e.mu.Unlock()
}

// UpdateSA moves an outbound SA's packets to new endpoints: the float to
// the NAT-T port, a NAT's new mapping, a MOBIKE address update (RFC 4555).
// Packets already queued may still leave for the old endpoints. Inbound SAs
// need no update: they are found by SPI wherever their packets come from.
func (e *Engine) UpdateSA(k SAKey, local, remote netip.AddrPort) error {
	if k.Dir != DirOut {
		return errors.New("esp: only outbound SAs have endpoints to update")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ent, ok := e.out[outKey{k.Policy, k.SPI}]
	if !ok {
		return fmt.Errorf("esp: no SA %v", k)
	}
	ent.ep.Store(e.endpoint(local, remote))
	return nil
}

// DeleteSA removes the SA k, and reports whether there was one. A deleted
// outbound SA leaves its policy without an SA unless a newer one replaced
// it.
func (e *Engine) DeleteSA(k SAKey) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.deleteSALocked(k) != nil
}

func (e *Engine) deleteSALocked(k SAKey) *saEntry {
	if k.Dir == DirIn {
		old := *e.sad.Load()
		ent, ok := old[k.SPI]
		if !ok {
			return nil
		}
		next := maps.Clone(old)
		delete(next, k.SPI)
		e.sad.Store(&next)
		return ent
	}
	key := outKey{k.Policy, k.SPI}
	ent, ok := e.out[key]
	if !ok {
		return nil
	}
	delete(e.out, key)
	if _, st, ok := e.spd.Get(ent.policyID); ok {
		st.out.CompareAndSwap(ent, nil)
	}
	return ent
}

// RetireSA removes the SA k once d has passed, and reports whether there is
// one. Until then it works as before:
// an inbound SA that a rekey replaced stays for the packets the peer sealed
// with it before it switched to the new one, which may arrive after the
// delete exchange that ends it (strongSwan's delete_rekeyed_delay). The
// lifetime checks remove it, within a second of the deadline, without an
// Expire event.
func (e *Engine) RetireSA(k SAKey, d time.Duration) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	ent := e.entryLocked(k)
	if ent == nil {
		return false
	}
	if d <= 0 {
		e.deleteSALocked(k)
		return true
	}
	ent.retireAt.Store(e.now().Add(d).UnixNano())
	return true
}

// retire removes ent, retired by RetireSA, unless it is gone already.
func (e *Engine) retire(ent *saEntry) {
	if !ent.hard.CompareAndSwap(false, true) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if k := ent.key(); e.entryLocked(k) == ent {
		e.deleteSALocked(k)
	}
}

// entryLocked returns the SA k, nil if there is none.
func (e *Engine) entryLocked(k SAKey) *saEntry {
	if k.Dir == DirIn {
		return (*e.sad.Load())[k.SPI]
	}
	return e.out[outKey{k.Policy, k.SPI}]
}

// SA returns the installed SA k.
func (e *Engine) SA(k SAKey) (*SA, bool) {
	if k.Dir == DirIn {
		ent, ok := (*e.sad.Load())[k.SPI]
		if !ok {
			return nil, false
		}
		return ent.sa, true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ent, ok := e.out[outKey{k.Policy, k.SPI}]
	if !ok {
		return nil, false
	}
	return ent.sa, true
}

// checkLife raises the soft expiry of ent once, and on a hard limit removes
// the SA and raises its hard expiry. It is cheap enough to call per batch.
func (e *Engine) checkLife(ent *saEntry, now time.Time) {
	if ent.hard.Load() {
		return
	}
	if r := ent.retireAt.Load(); r != 0 && now.UnixNano() >= r {
		e.retire(ent)
		return
	}
	l := &ent.life
	pk, by := ent.sa.Usage()
	age := now.Sub(ent.added)
	over := func(v, lim uint64) bool { return lim != 0 && v >= lim }
	overT := func(lim time.Duration) bool { return lim != 0 && age >= lim }
	if over(pk, l.HardPackets) || over(by, l.HardBytes) || overT(l.HardTime) {
		e.expire(ent)
		return
	}
	if over(pk, l.SoftPackets) || over(by, l.SoftBytes) || overT(l.SoftTime) {
		if ent.soft.CompareAndSwap(false, true) {
			e.emit(Event{Kind: EventSoftExpire, PolicyID: ent.policyID, SPI: ent.sa.spi, Dir: ent.dir})
		}
	}
}

// expire removes ent and raises its hard expiry, once.
func (e *Engine) expire(ent *saEntry) {
	if ent.hard.CompareAndSwap(false, true) {
		e.mu.Lock()
		if k := ent.key(); e.entryLocked(k) == ent {
			e.deleteSALocked(k)
		}
		e.mu.Unlock()
		e.emit(Event{Kind: EventHardExpire, PolicyID: ent.policyID, SPI: ent.sa.spi, Dir: ent.dir})
	}
}

// lifetimeTicker checks the time lifetimes of every SA once a second.
func (e *Engine) lifetimeTicker() {
	defer e.readers.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-e.closing:
			return
		case <-t.C:
			e.CheckLifetimes()
		}
	}
}

// CheckLifetimes checks every SA's lifetime now. The engine runs it once a
// second; tests with a controlled clock call it themselves.
func (e *Engine) CheckLifetimes() {
	now := e.now()
	var ents []*saEntry
	for _, ent := range *e.sad.Load() {
		ents = append(ents, ent)
	}
	e.mu.Lock()
	for _, ent := range e.out {
		ents = append(ents, ent)
	}
	e.mu.Unlock()
	for _, ent := range ents {
		e.checkLife(ent, now)
	}
}

// hold keeps p for the policy until an SA is installed, and raises an
// Acquire unless one is pending (re-raised after a second without an SA).
// If an SA was installed meanwhile, it returns it and leaves p to the caller;
// otherwise it returns nil and has taken p. AddSA stores the SA before it
// flushes the held packets under holdMu, and hold looks again under holdMu,
// so no packet can be held after the flush.
func (e *Engine) hold(st *policyState, p *packet, f Flow) *saEntry {
	st.holdMu.Lock()
	if ent := st.out.Load(); ent != nil && !ent.hard.Load() {
		st.holdMu.Unlock()
		return ent
	}
	if e.cfg.HoldPackets > 0 && len(st.held) < e.cfg.HoldPackets {
		st.held = append(st.held, p)
		p = nil
	}
	now := e.now()
	acquire := st.acquired.IsZero() || now.Sub(st.acquired) >= time.Second
	if acquire {
		st.acquired = now
	}
	st.holdMu.Unlock()
	if p != nil {
		e.stats.heldDropped.Add(1)
		e.release(p)
	} else {
		e.stats.held.Add(1)
	}
	if acquire {
		e.emit(Event{Kind: EventAcquire, PolicyID: st.id, Dir: DirOut, Flow: f})
	}
	return nil
}

// flushHeld seals and sends the packets held for st through ent.
func (e *Engine) flushHeld(st *policyState, ent *saEntry) {
	st.holdMu.Lock()
	held := st.held
	st.held = nil
	st.acquired = time.Time{}
	st.holdMu.Unlock()
	for _, p := range held {
		p.entry = ent
		seq, err := ent.sa.NextSeq()
		if err != nil {
			e.release(p)
			continue
		}
		p.seq = seq
		e.sealPacket(p)
		if p.err == nil {
			if err := e.cfg.Bind.Send([][]byte{p.buf[p.start:p.end]}, *ent.ep.Load()); err != nil {
				e.stats.sendErr.Add(1)
			}
		}
		e.release(p)
	}
}

func (st *policyState) dropHeld(e *Engine) {
	st.holdMu.Lock()
	held := st.held
	st.held = nil
	st.holdMu.Unlock()
	for _, p := range held {
		e.release(p)
	}
}
