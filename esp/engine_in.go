package esp

import (
	"encoding/binary"
)

// The inbound pipeline: Bind → IKE or ESP → SPI lookup → parallel Open
// (replay window updated after the ICV) → inbound policy check → batched TUN
// write.

// netOffset is where datagrams are received: room before them for the IP
// header a transport-mode Open rebuilds.
const netOffset = Headroom

// netReader receives batches from one socket of the Bind, hands IKE to the
// IKE callback, and queues ESP packets of known SAs to the workers and, in
// order, to the deliverer.
func (e *Engine) netReader(recv ReceiveFunc, q chan<- *batch) {
	n := e.cfg.Bind.BatchSize()
	pkts := make([]*packet, n)
	bufs := make([][]byte, n)
	sizes := make([]int, n)
	eps := make([]Endpoint, n)
	for {
		for i := range pkts {
			if pkts[i] == nil {
				pkts[i] = e.getPacket()
			}
			bufs[i] = pkts[i].buf[netOffset : bufSize-Tailroom]
		}
		cnt, err := recv(bufs, sizes, eps)
		if cnt > 0 {
			b := e.getBatch(DirIn)
			for i := range cnt {
				p := pkts[i]
				p.start, p.end = netOffset, netOffset+sizes[i]
				if e.classify(p, eps[i]) {
					pkts[i] = nil
					b.pkts = append(b.pkts, p)
				}
			}
			e.dispatch(b, q)
		}
		if err != nil {
			e.stopReader(pkts, err, "receive failed; this socket stops")
			return
		}
	}
}

// classify hands IKE datagrams to IKE and drops keepalives (the packet stays
// with the reader for reuse), and finds the SA of an ESP packet: true means
// p is queued for Open.
func (e *Engine) classify(p *packet, ep Endpoint) bool {
	d := p.buf[p.start:p.end]
	if !ep.RawESP() {
		if ep.Local.Port() == e.cfg.IKEPort {
			e.toIKE(d, ep)
			return false
		}
		kind, rest, err := Classify(d)
		switch {
		case err != nil:
			e.stats.dropped.Add(1)
			return false
		case kind == KindKeepalive:
			e.stats.keepalive.Add(1)
			return false
		case kind == KindIKE:
			e.toIKE(rest, ep)
			return false
		}
	}
	if len(d) < 8 {
		e.stats.dropped.Add(1)
		return false
	}
	ent, ok := (*e.sad.Load())[binary.BigEndian.Uint32(d)]
	if !ok || ent.hard.Load() {
		e.stats.unknownSPI.Add(1)
		return false
	}
	p.entry = ent
	return true
}

func (e *Engine) toIKE(d []byte, ep Endpoint) {
	e.stats.ike.Add(1)
	if e.cfg.IKE != nil {
		e.cfg.IKE(d, ep)
	}
}

// openPacket verifies and decrypts p in place; on success p.start and p.end
// frame the inner packet.
func (e *Engine) openPacket(p *packet) {
	out, err := p.entry.sa.Open(p.buf[:p.end], p.start)
	p.frame(out, err)
}

// deliverer takes batches in order, waits for their crypto, checks each
// inner packet against its SA's policy and writes runs of packets that start
// at the same offset to the TUN device in one call.
func (e *Engine) deliverer(q <-chan *batch) {
	var group [][]byte
	for b := range q {
		b.mu.Lock()
		life := lifeCheck{e: e, now: e.now()}
		group = group[:0]
		off := -1
		for i, p := range b.pkts {
			if p.err != nil {
				if p.err != ErrDummy {
					e.stats.openErr.Add(1)
				}
				continue
			}
			if !e.inboundAllowed(p) {
				e.stats.policyMismatch.Add(1)
				continue
			}
			if handled, queued := e.deliverLocal(p); handled {
				if queued {
					b.pkts[i] = nil // the LocalConn owns it now
				}
				continue
			}
			life.saw(p.entry)
			pkt := p.buf[p.start:p.end]
			if f, ok := ParseFlow(pkt); ok {
				e.clampMSS(pkt, f, p.entry)
			}
			if len(group) > 0 && p.start != off {
				e.write(group, off)
				group = group[:0]
			}
			off = p.start
			group = append(group, p.buf[:p.end])
		}
		if len(group) > 0 {
			e.write(group, off)
		}
		life.done()
		for _, p := range b.pkts {
			if p != nil {
				e.release(p)
			}
		}
		b.mu.Unlock()
		e.batches.Put(b)
	}
}

// inboundAllowed checks a decrypted packet against the policy of its SA
// (RFC 4301 §5.2: the inner addresses must match the SA's selectors).
func (e *Engine) inboundAllowed(p *packet) bool {
	f, ok := ParseFlow(p.buf[p.start:p.end])
	if !ok {
		return false
	}
	pol, _, ok := e.spd.Get(p.entry.policyID)
	return ok && pol.MatchIn(f)
}

func (e *Engine) write(bufs [][]byte, off int) {
	if _, err := e.cfg.TUN.Write(bufs, off); err != nil {
		e.stats.dropped.Add(uint64(len(bufs)))
	}
}
