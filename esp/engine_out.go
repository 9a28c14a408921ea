package esp

import (
	"errors"
	"time"

	wgtun "golang.zx2c4.com/wireguard/tun"
)

// The outbound pipeline: TUN → policy → sequence number → parallel Seal →
// ordered, batched send.

// tunOffset is where packets are read from the TUN device: room for the ESP
// header before them (and for the virtio-net header wireguard's TUN puts
// before a packet when offloads are on).
const tunOffset = Headroom

func (e *Engine) getPacket() *packet {
	p := e.bufs.Get().(*packet)
	p.entry, p.err, p.seq = nil, nil, 0
	return p
}

func (e *Engine) release(p *packet) { e.bufs.Put(p) }

func (e *Engine) getBatch(dir Direction) *batch {
	b := e.batches.Get().(*batch)
	b.dir = dir
	b.pkts = b.pkts[:0]
	return b
}

// tunReader reads batches from the TUN device, decides each packet's fate by
// policy, numbers the protected ones in order, and queues the batch to the
// crypto workers and, in the same order, to the sender.
func (e *Engine) tunReader(q chan<- *batch) {
	n := e.cfg.TUN.BatchSize()
	pkts := make([]*packet, n)
	bufs := make([][]byte, n)
	sizes := make([]int, n)
	for {
		for i := range pkts {
			if pkts[i] == nil {
				pkts[i] = e.getPacket()
			}
			bufs[i] = pkts[i].buf[:bufSize-Tailroom]
		}
		cnt, err := e.cfg.TUN.Read(bufs, sizes, tunOffset)
		if cnt > 0 {
			b := e.getBatch(DirOut)
			for i := range cnt {
				p := pkts[i]
				pkts[i] = nil
				p.start, p.end = tunOffset, tunOffset+sizes[i]
				if e.route(p) {
					b.pkts = append(b.pkts, p)
				}
			}
			e.dispatch(b, q)
		}
		if errors.Is(err, wgtun.ErrTooManySegments) {
			// A GSO packet that splits into more segments than one batch
			// holds: the kernel dropped the rest, TCP resends it.
			e.stats.dropped.Add(1)
			continue
		}
		if err != nil {
			e.stopReader(pkts, err, "TUN read failed; outbound traffic stops")
			return
		}
	}
}

// dispatch queues a batch to the crypto workers and, in the same order, to
// its ordered stage; an empty one goes back to the pool.
func (e *Engine) dispatch(b *batch, q chan<- *batch) {
	if len(b.pkts) == 0 {
		e.batches.Put(b)
		return
	}
	b.mu.Lock()
	e.cryptQ <- b
	q <- b
}

// stopReader ends a reader: it logs why unless the engine is closing, and
// gives its spare packets back.
func (e *Engine) stopReader(pkts []*packet, err error, msg string) {
	select {
	case <-e.closing:
	default:
		e.log.Error(msg, "err", err)
	}
	for _, p := range pkts {
		if p != nil {
			e.release(p)
		}
	}
}

// route decides what happens to a packet read from the TUN device: a
// handler of its destination (AddLocalAddr), else its policy. It returns true
// when the packet is to be sealed (its entry and sequence number set), and
// otherwise has taken care of it.
func (e *Engine) route(p *packet) bool {
	pkt := p.buf[p.start:p.end]
	f, ok := ParseFlow(pkt)
	if !ok {
		e.stats.dropped.Add(1)
		e.release(p)
		return false
	}
	if m := e.localAddrs.Load(); m != nil {
		if h, ok := (*m)[f.Dst]; ok {
			e.stats.localAddr.Add(1)
			h(pkt)
			e.release(p)
			return false
		}
	}
	_, st, ok := e.spd.Lookup(f)
	if !ok {
		e.stats.noPolicy.Add(1)
		e.release(p)
		return false
	}
	switch st.action {
	case ActionProtect, ActionTrap:
	default:
		// Bypass and drop: a TUN-based gateway has no clear path to hand
		// bypassed packets to, and traffic that should bypass is not routed
		// into the TUN in the first place.
		e.stats.dropped.Add(1)
		e.release(p)
		return false
	}
	ent := st.out.Load()
	if ent == nil || ent.hard.Load() {
		if ent = e.hold(st, p, f); ent == nil {
			return false
		}
	}
	if e.tooBig(p, ent) {
		return false
	}
	e.clampMSS(pkt, f, ent)
	seq, err := ent.sa.NextSeq()
	if err != nil {
		// The SA is used up: it counts as expired, and the packet waits
		// for the next one.
		e.expire(ent)
		if e.hold(st, p, f) != nil {
			e.stats.dropped.Add(1)
			e.release(p)
		}
		return false
	}
	p.entry, p.seq = ent, seq
	return true
}

// sealPacket protects p in place; on success p.start and p.end frame the
// ESP packet.
func (e *Engine) sealPacket(p *packet) {
	out, err := p.entry.sa.SealSeq(p.buf[:p.end], p.start, p.seq)
	p.frame(out, err)
}

// frame records the result of an in-place Seal or Open: out is a subslice of
// p.buf that runs to its end of capacity.
func (p *packet) frame(out []byte, err error) {
	if err != nil {
		p.err = err
		return
	}
	p.start = cap(p.buf) - cap(out)
	p.end = p.start + len(out)
}

// lifeCheck runs the lifetime checks of the SAs a batch used, once per run of
// packets of one SA rather than per packet.
type lifeCheck struct {
	e    *Engine
	now  time.Time
	last *saEntry
}

func (l *lifeCheck) saw(ent *saEntry) {
	if ent != l.last {
		l.done()
		l.last = ent
	}
}

func (l *lifeCheck) done() {
	if l.last != nil {
		l.e.checkLife(l.last, l.now)
		l.last = nil
	}
}

// sender takes batches in order, waits for their crypto, and sends runs of
// packets for the same endpoint in one Send call.
func (e *Engine) sender(q <-chan *batch) {
	var group [][]byte
	for b := range q {
		b.mu.Lock()
		life := lifeCheck{e: e, now: e.now()}
		var cur Endpoint
		group = group[:0]
		for _, p := range b.pkts {
			if p.err != nil {
				e.stats.sealErr.Add(1)
				continue
			}
			life.saw(p.entry)
			ep := *p.entry.ep.Load()
			if len(group) > 0 && ep != cur {
				e.send(group, cur)
				group = group[:0]
			}
			cur = ep
			group = append(group, p.buf[p.start:p.end])
		}
		if len(group) > 0 {
			e.send(group, cur)
		}
		life.done()
		for _, p := range b.pkts {
			e.release(p)
		}
		b.mu.Unlock()
		e.batches.Put(b)
	}
}

func (e *Engine) send(bufs [][]byte, ep Endpoint) {
	if err := e.cfg.Bind.Send(bufs, ep); err != nil {
		e.stats.sendErr.Add(uint64(len(bufs)))
		// One line a minute at most: the counter tells how many.
		now := e.now().Unix()
		if last := e.lastSendLog.Load(); now-last >= 60 && e.lastSendLog.CompareAndSwap(last, now) {
			e.log.Warn("sending ESP failed", "to", ep.String(), "err", err)
		}
	}
}
