package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// bigAuthInner is an IKE_AUTH request with a certificate chain, several
// kilobytes long.
func bigAuthInner() []Payload {
	ps := authInner()
	return append(ps[:2:2], append([]Payload{&Cert{Encoding: CertX509Signature, Data: seq(3000, 7)}}, ps[2:]...)...)
}

func parseAll(t *testing.T, msgs [][]byte) []*Message {
	t.Helper()
	out := make([]*Message, len(msgs))
	for i, b := range msgs {
		m, err := Parse(b)
		if err != nil {
			t.Fatalf("fragment %d: %v", i+1, err)
		}
		out[i] = m
	}
	return out
}

func TestFragmentReassemble(t *testing.T) {
	ciphers := testCiphers(t)
	ciphers["CHACHA20_POLY1305"] = newChaCha(t, seq(36, 0))
	inner := bigAuthInner()
	h := testHeader(ExchangeIKEAuth, FlagInitiator)
	h.MessageID = 1
	chain, _ := appendChain(nil, inner)
	for name, c := range ciphers {
		for _, maxLen := range []int{576, 1280, 100000} {
			frags, err := Fragment(h, inner, c, nil, maxLen)
			if err != nil {
				t.Fatal(err)
			}
			per := (maxLen - HeaderLen - skfHeaderLen - c.IVLen() - c.ICVLen()) / c.BlockSize() * c.BlockSize()
			if want := (len(chain) + per - 2) / (per - 1); maxLen < MaxMessageLen && len(frags) != want {
				t.Errorf("%s, %d: %d fragments, want %d", name, maxLen, len(frags), want)
			}
			msgs := parseAll(t, frags)
			for i, m := range msgs {
				f := m.Payloads[0].(*SKF)
				wantNext := PayloadNone
				if i == 0 {
					wantNext = PayloadIDi
				}
				if len(frags[i]) > maxLen || m.Header.NextPayload != PayloadSKF || len(m.Payloads) != 1 ||
					int(f.Number) != i+1 || int(f.Total) != len(frags) || f.NextPayload != wantNext ||
					m.Header.MessageID != 1 || m.Header.Exchange != ExchangeIKEAuth {
					t.Fatalf("%s: fragment %d of %d octets: %s %+v", name, i+1, len(frags[i]), m, f)
				}
			}
			// Shuffle and repeat some fragments; the duplicates
			// are discarded, the last missing one completes.
			rng := rand.New(rand.NewPCG(uint64(maxLen), 7))
			order := rng.Perm(len(msgs))
			var r Reassembler
			now := time.Unix(1000, 0)
			var done *Reassembled
			for k, i := range order {
				got, err := r.Add(msgs[i], c, now)
				if k == len(order)-1 {
					if err != nil || got == nil {
						t.Fatalf("%s: last fragment: %v, %v", name, got, err)
					}
					done = got
					break
				}
				if err != nil || got != nil {
					t.Fatalf("%s: fragment %d: %v, %v", name, i+1, got, err)
				}
				if j := order[rng.IntN(k+1)]; len(msgs) > 1 {
					if _, err := r.Add(msgs[j], c, now); !errors.Is(err, ErrFragmentDiscarded) {
						t.Fatalf("%s: duplicate of fragment %d: %v", name, j+1, err)
					}
				}
			}
			if r.Pending() != 0 {
				t.Errorf("%d messages still pending", r.Pending())
			}
			if done.Header != msgs[0].Header || done.NextPayload != PayloadIDi || !bytes.Equal(done.Plaintext, chain) {
				t.Errorf("%s: reassembled %+v", name, done.Header)
			}
			ps, err := done.Payloads()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(normalizePayloads(ps), inner) {
				t.Errorf("%s: reassembled payloads %s", name, FormatPayloads(ps))
			}
			if err := CheckRules(done.Header.Exchange, done.Header.IsResponse(), true, ps); err != nil {
				t.Error(err)
			}
		}
	}
}

func TestFragmentEdges(t *testing.T) {
	c := testCiphers(t)["AES_CBC_256/HMAC_SHA2_256_128"]
	h := testHeader(ExchangeInformational, 0)
	// An empty message is one fragment.
	frags, err := Fragment(h, nil, c, nil, 1280)
	if err != nil || len(frags) != 1 {
		t.Fatalf("empty: %d fragments, %v", len(frags), err)
	}
	var r Reassembler
	got, err := r.Add(parseAll(t, frags)[0], c, time.Time{})
	if err != nil || got == nil || len(got.Plaintext) != 0 || got.NextPayload != PayloadNone {
		t.Fatalf("empty reassembled: %+v, %v", got, err)
	}
	// Too small to carry anything.
	min := HeaderLen + skfHeaderLen + c.IVLen() + c.ICVLen()
	for _, n := range []int{0, min, min + 15} {
		if _, err := Fragment(h, nil, c, nil, n); err == nil {
			t.Errorf("fragments of %d octets", n)
		}
	}
	if frags, err := Fragment(h, []Payload{&Nonce{Data: seq(16, 0)}}, c, nil, min+16); err != nil || len(frags) != 20/15+1 {
		t.Errorf("fragments of %d octets: %d, %v", min+16, len(frags), err)
	}
	if _, err := Fragment(h, []Payload{&SKF{}}, c, nil, 1280); err == nil {
		t.Errorf("SKF fragmented")
	}
}

// setFragment rewrites the Fragment Number and Total Fragments of an
// encoded SKF message, which breaks its ICV.
func setFragment(t *testing.T, b []byte, num, total uint16) *Message {
	t.Helper()
	b = bytes.Clone(b)
	binary.BigEndian.PutUint16(b[HeaderLen+4:], num)
	binary.BigEndian.PutUint16(b[HeaderLen+6:], total)
	m, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestReassemblerDiscards(t *testing.T) {
	c := testCiphers(t)["AES_GCM_16_256"]
	h := testHeader(ExchangeIKEAuth, FlagResponse)
	h.MessageID = 1
	inner := bigAuthInner()
	frags3, _ := Fragment(h, inner, c, nil, 1600)
	frags5, _ := Fragment(h, inner, c, nil, 1000)
	m3, m5 := parseAll(t, frags3), parseAll(t, frags5)
	if len(m3) != 3 || len(m5) != 5 {
		t.Fatalf("%d and %d fragments", len(m3), len(m5))
	}
	now := time.Unix(0, 0)
	discarded := func(r *Reassembler, m *Message, what string) {
		t.Helper()
		got, err := r.Add(m, c, now)
		if !errors.Is(err, ErrFragmentDiscarded) || got != nil {
			t.Errorf("%s: %v, %v; want ErrFragmentDiscarded", what, got, err)
		}
		var pe *ProtocolError
		if errors.As(err, &pe) && pe.Notify != NotifyNone {
			t.Errorf("%s: notify %s", what, pe.Notify)
		}
	}
	var r Reassembler
	// RFC 7383 Section 2.5: numbers from 1 to Total, neither zero.
	discarded(&r, setFragment(t, frags3[0], 0, 3), "fragment 0")
	discarded(&r, setFragment(t, frags3[0], 4, 3), "fragment 4 of 3")
	discarded(&r, setFragment(t, frags3[0], 1, 0), "fragment 1 of 0")
	discarded(&r, setFragment(t, frags3[0], 1, DefaultMaxFragments+1), "too many fragments")
	// A forged fragment fails its ICV and changes nothing.
	if _, err := r.Add(setFragment(t, frags3[1], 2, 3), c, now); err != nil {
		// setFragment with the same numbers keeps the octets intact.
		t.Fatal(err)
	}
	forged := bytes.Clone(frags3[2])
	forged[len(forged)-1] ^= 1
	if _, err := r.Add(parseAll(t, [][]byte{forged})[0], c, now); !errors.Is(err, ErrIntegrity) {
		t.Errorf("forged fragment: %v", err)
	}
	discarded(&r, m3[1], "duplicate")
	// RFC 7383 Section 2.6: a larger Total Fragments restarts, a smaller
	// one is discarded.
	if got, err := r.Add(m5[0], c, now); got != nil || err != nil {
		t.Fatalf("fragment 1 of 5: %v, %v", got, err)
	}
	discarded(&r, m3[0], "fragment of 3 after a restart with 5")
	// The same message ID as a request is a different message.
	req := h
	req.Flags = 0
	reqFrags, _ := Fragment(req, inner, c, nil, 1600)
	if got, err := r.Add(parseAll(t, reqFrags)[0], c, now); got != nil || err != nil {
		t.Fatalf("request fragment: %v, %v", got, err)
	}
	if r.Pending() != 2 {
		t.Errorf("%d pending, want 2", r.Pending())
	}
	// Another exchange with the same ID and Total is discarded.
	other := h
	other.Exchange = ExchangeInformational
	otherFrags, _ := Fragment(other, inner, c, nil, 1000)
	discarded(&r, parseAll(t, otherFrags)[2], "fragment of another exchange")
	for _, m := range m5[1:4] {
		if got, err := r.Add(m, c, now); got != nil || err != nil {
			t.Fatalf("%v, %v", got, err)
		}
	}
	got, err := r.Add(m5[4], c, now)
	if err != nil || got == nil {
		t.Fatalf("last fragment: %v, %v", got, err)
	}
	if ps, err := got.Payloads(); err != nil || !reflect.DeepEqual(normalizePayloads(ps), inner) {
		t.Errorf("reassembled %s, %v", FormatPayloads(ps), err)
	}
	// Not a fragment.
	if _, err := r.Add(mustParse(t, rubM3), c, now); !errors.Is(err, ErrInvalidSyntax) {
		t.Errorf("SK message: %v", err)
	}
	if _, err := r.Add(&Message{Payloads: []Payload{&SKF{Number: 1, Total: 1}}}, c, now); !errors.Is(err, ErrInvalidSyntax) {
		t.Errorf("constructed SKF: %v", err)
	}
}

func TestReassemblerLimits(t *testing.T) {
	c := testCiphers(t)["AES_CBC_256/HMAC_SHA2_256_128"]
	inner := bigAuthInner()
	chain, _ := appendChain(nil, inner)
	h := testHeader(ExchangeIKEAuth, 0)
	frags, _ := Fragment(h, inner, c, nil, 1280)
	msgs := parseAll(t, frags)
	now := time.Unix(5000, 0)

	// MaxFragments.
	r := Reassembler{MaxFragments: len(msgs) - 1}
	if _, err := r.Add(msgs[0], c, now); !errors.Is(err, ErrFragmentDiscarded) {
		t.Errorf("over MaxFragments: %v", err)
	}

	// MaxSize: the message is dropped once it would exceed it.
	r = Reassembler{MaxSize: len(chain) - 1}
	var err error
	for _, m := range msgs {
		if _, err = r.Add(m, c, now); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrFragmentDiscarded) || r.Pending() != 0 {
		t.Errorf("over MaxSize: %v, %d pending", err, r.Pending())
	}
	r = Reassembler{MaxSize: len(chain)}
	var got *Reassembled
	for _, m := range msgs {
		if got, err = r.Add(m, c, now); err != nil {
			t.Fatal(err)
		}
	}
	if got == nil {
		t.Errorf("MaxSize of exactly the message: not reassembled")
	}

	// Timeout: fragments older than it are forgotten.
	r = Reassembler{Timeout: time.Second}
	for _, m := range msgs[:len(msgs)-1] {
		if _, err := r.Add(m, c, now); err != nil {
			t.Fatal(err)
		}
	}
	r.Expire(now.Add(time.Second))
	if r.Pending() != 1 {
		t.Fatalf("expired at exactly Timeout")
	}
	if got, err := r.Add(msgs[len(msgs)-1], c, now.Add(time.Second+1)); got != nil || err != nil || r.Pending() != 1 {
		t.Errorf("after Timeout: %v, %v, %d pending", got, err, r.Pending())
	}
	// The zero value uses DefaultTimeout.
	var z Reassembler
	z.Add(msgs[0], c, now)
	z.Expire(now.Add(DefaultTimeout))
	if z.Pending() != 1 {
		t.Errorf("expired before DefaultTimeout")
	}
	z.Expire(now.Add(DefaultTimeout + 1))
	if z.Pending() != 0 {
		t.Errorf("not expired after DefaultTimeout")
	}

	// MaxPending: the oldest message makes room.
	r = Reassembler{MaxPending: 2}
	for id := uint32(1); id <= 3; id++ {
		h.MessageID = id
		f, _ := Fragment(h, inner, c, nil, 1280)
		if _, err := r.Add(parseAll(t, f)[1], c, now); err != nil {
			t.Fatal(err)
		}
	}
	if r.Pending() != 2 || r.find(1, false) >= 0 || r.find(3, false) < 0 {
		t.Errorf("MaxPending: %d pending", r.Pending())
	}
}
