package esp

import (
	"sync"
	"sync/atomic"
)

// MaxReplayWindow is the largest anti-replay window an SA accepts, in
// packets.
const MaxReplayWindow = 1 << 16

// esnInferWindow is the window used to infer the high half of an extended
// sequence number when the anti-replay window is off (RFC 4303 Appendix A
// needs one): half the 32-bit space on either side of the highest number seen.
const esnInferWindow = 1 << 31

// replayWindow is the receive side's record of sequence numbers: the highest
// number that verified and a bitmap of the W numbers up to it, kept as a ring
// of 64-bit blocks as RFC 6479 describes, so that sliding the window clears
// whole blocks instead of shifting bits.
//
// check runs before the ICV is verified and takes no lock: it reads with
// atomics and may answer from a slightly stale view, which only matters for
// packets that race with their own duplicates. accept runs after the ICV
// verified (RFC 4303 §3.4.3) and decides under the lock.
type replayWindow struct {
	size   uint64 // W; 0 turns replay protection off (top is still kept for ESN)
	mask   uint64 // len(blocks)-1
	mu     sync.Mutex
	top    atomic.Uint64 // highest verified sequence number, 0 before the first
	blocks []atomic.Uint64

	// packets and bytes count what accept let through, under mu: Open
	// takes the lock anyway, so counting there saves two atomic operations
	// per packet.
	packets, bytes uint64
}

func (w *replayWindow) init(size int) {
	w.size = uint64(size)
	if size == 0 {
		return
	}
	// One block more than the window needs, so that the block holding top
	// and the oldest block of the window never share a slot (RFC 6479 §2).
	n := 1
	for n < (size+63)/64+1 {
		n <<= 1
	}
	w.blocks = make([]atomic.Uint64, n)
	w.mask = uint64(n - 1)
}

// inferSeq returns the full 64-bit sequence number of a packet carrying the
// low 32 bits seql, following RFC 4303 Appendix A2.2. Without ESN the number
// is seql itself.
func (w *replayWindow) inferSeq(seql uint32, esn bool) uint64 {
	if !esn {
		return uint64(seql)
	}
	top := w.top.Load()
	th, tl := uint32(top>>32), uint32(top)
	win := uint32(esnInferWindow)
	if w.size != 0 {
		win = uint32(w.size)
	}
	var sh uint32
	if tl >= win-1 {
		// Case A: the window lies within one 2^32 subspace.
		if seql >= tl-win+1 {
			sh = th
		} else {
			sh = th + 1
		}
	} else {
		// Case B: the window spans two subspaces.
		if seql >= tl-win+1 { // wraps: the number lies in the lower subspace
			sh = th - 1
		} else {
			sh = th
		}
		if th == 0 && sh == ^uint32(0) {
			sh = 0 // there is no subspace below the first
		}
	}
	return uint64(sh)<<32 | uint64(seql)
}

// check reports whether seq may be new. It does not record seq.
func (w *replayWindow) check(seq uint64) bool {
	if seq == 0 {
		return false // RFC 4303 §2.2: the first packet has number 1
	}
	if w.size == 0 {
		return true
	}
	top := w.top.Load()
	if seq > top {
		return true
	}
	if top-seq >= w.size {
		return false
	}
	bit := uint64(1) << (seq & 63)
	return w.blocks[(seq>>6)&w.mask].Load()&bit == 0
}

// accept records seq as received and counts n octets for it, and reports
// false if it was seen before or has fallen out of the window meanwhile. Call
// it only after the ICV verified.
func (w *replayWindow) accept(seq uint64, n int) bool {
	if seq == 0 {
		return false
	}
	w.mu.Lock()
	ok := w.acceptLocked(seq)
	if ok {
		w.packets++
		w.bytes += uint64(n)
	}
	w.mu.Unlock()
	return ok
}

// usage returns the packets and octets accept let through.
func (w *replayWindow) usage() (packets, bytes uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.packets, w.bytes
}

func (w *replayWindow) acceptLocked(seq uint64) bool {
	top := w.top.Load()
	if w.size == 0 {
		if seq > top {
			w.top.Store(seq)
		}
		return true
	}
	if seq > top {
		// Clear the blocks the window slides over (all of them at most).
		cur, next := top>>6, seq>>6
		if next-cur > w.mask {
			cur = next - w.mask - 1
		}
		for b := cur + 1; b <= next; b++ {
			w.blocks[b&w.mask].Store(0)
		}
		w.top.Store(seq)
	} else if top-seq >= w.size {
		return false
	}
	blk := &w.blocks[(seq>>6)&w.mask]
	bit := uint64(1) << (seq & 63)
	old := blk.Load()
	if old&bit != 0 {
		return false
	}
	blk.Store(old | bit)
	return true
}

// reset forgets every number seen, as a new SA would (tests and benchmarks).
func (w *replayWindow) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.top.Store(0)
	for i := range w.blocks {
		w.blocks[i].Store(0)
	}
}
