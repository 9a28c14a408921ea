package wire

import (
	"fmt"
	"io"
	"slices"
	"time"
)

// Fragment encrypts the inner payloads into a series of messages, each
// holding one Encrypted Fragment payload and at most maxLen octets (RFC
// 7383 Section 2.5): the inner payload chain is cut into pieces, and each
// piece is padded and protected on its own with its own IV. maxLen counts
// the IKE message only, without IP and UDP headers or the non-ESP marker.
// The header of every fragment is hdr with Next Payload SKF; the first
// fragment's Next Payload names the first inner payload and the others'
// are zero. rand supplies the IVs and padding (crypto/rand if nil).
func Fragment(hdr Header, inner []Payload, c Cipher, rand io.Reader, maxLen int) ([][]byte, error) {
	if err := checkInner(inner); err != nil {
		return nil, err
	}
	pt, err := appendChain(nil, inner)
	if err != nil {
		return nil, err
	}
	next := PayloadNone
	if len(inner) > 0 {
		next = inner[0].Type()
	}
	maxLen = min(maxLen, MaxMessageLen)
	bs := max(c.BlockSize(), 1)
	space := maxLen - HeaderLen - skfHeaderLen - c.IVLen() - c.ICVLen()
	// The largest piece whose padded length, Pad Length included, fits.
	chunk := space/bs*bs - 1
	if chunk < 1 {
		return nil, fmt.Errorf("wire: fragments of %d octets leave no room for data", maxLen)
	}
	total := max((len(pt)+chunk-1)/chunk, 1)
	if total > 0xffff {
		return nil, fmt.Errorf("wire: %d fragments", total)
	}
	out := make([][]byte, 0, total)
	for i := range total {
		piece := pt[min(i*chunk, len(pt)):min((i+1)*chunk, len(pt))]
		fragNext := PayloadNone
		if i == 0 {
			fragNext = next
		}
		b := hdr.appendTo(make([]byte, 0, maxLen), PayloadSKF, 0)
		b = append(b, byte(fragNext), 0, 0, 0, byte((i+1)>>8), byte(i+1), byte(total>>8), byte(total))
		ptStart := len(b) + c.IVLen()
		b = append(b, make([]byte, c.IVLen())...)
		b = append(b, piece...)
		msg, err := sealPayload(b, HeaderLen, skfHeaderLen, ptStart, c, rand)
		if err != nil {
			return nil, err
		}
		out = append(out, msg)
	}
	return out, nil
}

// Default limits of a Reassembler.
const (
	// DefaultMaxFragments bounds Total Fragments: 64 fragments of the
	// 576-octet minimum IPv4 size hold more than the largest IKE_AUTH
	// with a certificate chain.
	DefaultMaxFragments = 64
	// DefaultMaxSize bounds the reassembled plaintext.
	DefaultMaxSize = MaxMessageLen
	// DefaultTimeout bounds the time from the first fragment of a message
	// to the last; it should cover the peer's retransmissions.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxPending bounds the messages reassembled at once: one
	// request and one response per direction is the normal case.
	DefaultMaxPending = 4
)

// Reassembler collects the Encrypted Fragment payloads of the messages one
// peer sends on one IKE SA, keyed by message ID and direction, and returns
// each message's inner plaintext once all its fragments have arrived (RFC
// 7383 Section 2.6). It verifies every fragment's ICV before keeping it,
// and discards duplicates, fragments out of range, fragments with a
// smaller Total Fragments than those kept (a larger one restarts the
// message), and messages over its limits or older than its Timeout.
//
// The zero value is ready to use with the default limits. A Reassembler
// is not safe for concurrent use; it belongs to the session's goroutine.
// It keeps no reference to the messages given to it.
type Reassembler struct {
	// MaxFragments is the largest Total Fragments accepted; zero means
	// DefaultMaxFragments.
	MaxFragments int
	// MaxSize is the largest reassembled plaintext; zero means
	// DefaultMaxSize.
	MaxSize int
	// Timeout is how long the fragments of a message are kept; zero
	// means DefaultTimeout.
	Timeout time.Duration
	// MaxPending is how many messages are reassembled at once; the
	// oldest is dropped to make room. Zero means DefaultMaxPending.
	MaxPending int

	pending []*reassembly
}

// Reassembled is a message put together from its fragments.
type Reassembled struct {
	// Header is the header of fragment 1.
	Header Header
	// NextPayload is the type of the first inner payload, from
	// fragment 1.
	NextPayload PayloadType
	// Plaintext is the inner payload chain, without padding.
	Plaintext []byte
}

// Payloads parses the reassembled payloads with ParseInner.
func (r *Reassembled) Payloads() ([]Payload, error) {
	return ParseInner(r.NextPayload, r.Plaintext)
}

type reassembly struct {
	messageID uint32
	response  bool
	exchange  ExchangeType
	total     int
	started   time.Time
	hdr       Header
	next      PayloadType
	frags     [][]byte // by fragment number - 1; nil until received
	have      int
	size      int
}

func (r *Reassembler) maxFragments() int { return cmpOr(r.MaxFragments, DefaultMaxFragments) }
func (r *Reassembler) maxSize() int      { return cmpOr(r.MaxSize, DefaultMaxSize) }
func (r *Reassembler) maxPending() int   { return cmpOr(r.MaxPending, DefaultMaxPending) }
func (r *Reassembler) timeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return DefaultTimeout
}

func cmpOr(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// Add decrypts the fragment that ends m, a message from Parse whose last
// payload is an SKF, and keeps it. It returns the reassembled message when
// m held the last missing fragment, nil and nil while fragments are still
// missing, and an error when the fragment was not kept: one wrapping
// ErrFragmentDiscarded (duplicate, out of range, superseded, over a limit),
// ErrIntegrity (the ICV did not verify) or ErrInvalidSyntax. In every error
// case the caller drops the message without answering it.
//
// now is the caller's clock; messages started more than Timeout before it
// are dropped first.
func (r *Reassembler) Add(m *Message, c Cipher, now time.Time) (*Reassembled, error) {
	r.Expire(now)
	if len(m.Payloads) == 0 {
		return nil, errSyntax("no SKF payload")
	}
	f, ok := m.Payloads[len(m.Payloads)-1].(*SKF)
	if !ok || m.Raw == nil {
		return nil, errSyntax("no parsed SKF payload")
	}
	num, total := int(f.Number), int(f.Total)
	// RFC 7383 Section 2.5: numbers count from 1 to Total Fragments,
	// neither of which is zero.
	if num == 0 || total == 0 || num > total {
		return nil, newError(ErrFragmentDiscarded, "fragment %d of %d", num, total)
	}
	if total > r.maxFragments() {
		return nil, newError(ErrFragmentDiscarded, "fragment %d of %d: more than %d fragments", num, total, r.maxFragments())
	}
	h := &m.Header
	idx := r.find(h.MessageID, h.IsResponse())
	var st *reassembly
	if idx >= 0 {
		st = r.pending[idx]
		// RFC 7383 Section 2.6: a smaller Total Fragments than the
		// kept fragments' is discarded; a larger one restarts.
		switch {
		case total < st.total:
			return nil, newError(ErrFragmentDiscarded, "fragment %d of %d: %d fragments expected", num, total, st.total)
		case total == st.total && st.frags[num-1] != nil:
			return nil, newError(ErrFragmentDiscarded, "fragment %d of %d: duplicate", num, total)
		case total == st.total && h.Exchange != st.exchange:
			return nil, newError(ErrFragmentDiscarded, "fragment %d of %d: exchange %s, expected %s", num, total, h.Exchange, st.exchange)
		}
	}
	// RFC 7383 Section 2.6: each fragment is authenticated before it is
	// kept, so that forged fragments cannot disturb reassembly.
	pt, err := openPayload(m.Raw, f.offset, skfHeaderLen, f.Body, c)
	if err != nil {
		return nil, withContext(err, "fragment %d of %d", num, total)
	}
	if st == nil || total > st.total {
		if st != nil {
			r.remove(idx)
		}
		if len(r.pending) >= r.maxPending() {
			r.remove(0)
		}
		st = &reassembly{
			messageID: h.MessageID,
			response:  h.IsResponse(),
			exchange:  h.Exchange,
			total:     total,
			started:   now,
			frags:     make([][]byte, total),
		}
		r.pending = append(r.pending, st)
	}
	if st.size+len(pt) > r.maxSize() {
		r.remove(r.find(st.messageID, st.response))
		return nil, newError(ErrFragmentDiscarded, "fragment %d of %d: message larger than %d octets", num, total, r.maxSize())
	}
	st.frags[num-1] = pt
	st.have++
	st.size += len(pt)
	if num == 1 {
		st.hdr = *h
		st.next = f.NextPayload
	}
	if st.have < st.total {
		return nil, nil
	}
	r.remove(r.find(st.messageID, st.response))
	out := &Reassembled{Header: st.hdr, NextPayload: st.next, Plaintext: make([]byte, 0, st.size)}
	for _, p := range st.frags {
		out.Plaintext = append(out.Plaintext, p...)
	}
	return out, nil
}

// Expire drops the messages started more than Timeout before now.
func (r *Reassembler) Expire(now time.Time) {
	t := r.timeout()
	r.pending = slices.DeleteFunc(r.pending, func(st *reassembly) bool { return now.Sub(st.started) > t })
}

// Pending returns the number of messages being reassembled.
func (r *Reassembler) Pending() int { return len(r.pending) }

func (r *Reassembler) find(id uint32, response bool) int {
	for i, st := range r.pending {
		if st.messageID == id && st.response == response {
			return i
		}
	}
	return -1
}

func (r *Reassembler) remove(i int) {
	if i >= 0 {
		r.pending = slices.Delete(r.pending, i, i+1)
	}
}
