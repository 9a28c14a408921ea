package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
	"time"
)

// nullCipher authenticates nothing, so that mutated fragments reach the
// reassembly logic behind the ICV check. Its IV and block size still
// exercise the framing.
type nullCipher struct{}

func (nullCipher) IVLen() int     { return 4 }
func (nullCipher) BlockSize() int { return 4 }
func (nullCipher) ICVLen() int    { return 0 }
func (nullCipher) Seal(dst, iv, plaintext, aad []byte) []byte {
	return append(dst, plaintext...)
}
func (nullCipher) Open(dst, iv, ciphertext, aad []byte) ([]byte, error) {
	return append(dst, ciphertext...), nil
}

// seedMessages returns encoded messages for the fuzz corpora: every
// payload type, the known answers, and encrypted and fragmented messages.
func seedMessages(t testing.TB) [][]byte {
	out := [][]byte{}
	add := func(m *Message) {
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	add(&Message{Header: testHeader(ExchangeIKEAuth, 0), Payloads: allPayloads()})
	for _, p := range allPayloads() {
		add(&Message{Header: testHeader(ExchangeIKEAuth, 0), Payloads: []Payload{p}})
	}
	add(&Message{Header: testHeader(ExchangeIKEAuth, 0), Payloads: []Payload{
		&SKF{NextPayload: PayloadIDi, Number: 1, Total: 3, Body: seq(64, 0)}}})
	for _, s := range []string{rfc7634Message, wsSAInitRequest, wsSAInitResponse, wsInfoRequest, wsInfoResponse,
		example2SAInitRequest, rubM1, rubM2, rubM3, rubM4} {
		out = append(out, unhex(t, s))
	}
	b, err := EncryptMessage(testHeader(ExchangeIKEAuth, 0), authInner(), nullCipher{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, b)
	frags, err := Fragment(testHeader(ExchangeIKEAuth, 0), authInner(), nullCipher{}, nil, 300)
	if err != nil {
		t.Fatal(err)
	}
	return append(out, frags...)
}

// typedError checks that err is one of the package's typed errors.
func typedError(t *testing.T, err error) {
	t.Helper()
	var pe *ProtocolError
	if !errors.As(err, &pe) {
		t.Fatalf("untyped error %T: %v", err, err)
	}
	if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrInvalidSyntax) && !errors.Is(err, ErrUnsupportedCritical) &&
		!errors.Is(err, ErrInvalidMajorVersion) && !errors.Is(err, ErrIntegrity) && !errors.Is(err, ErrFragmentDiscarded) {
		t.Fatalf("error of no kind: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, b := range seedMessages(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			typedError(t, err)
			return
		}
		b, err := m.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed message: %v", err)
		}
		// The re-encoding is canonical (reserved bits and X flags
		// cleared) but keeps every length.
		if len(b) != len(data) {
			t.Fatalf("re-encoded in %d octets, parsed from %d", len(b), len(data))
		}
		m2, err := Parse(b)
		if err != nil {
			t.Fatalf("Parse of a marshalled message: %v", err)
		}
		if g, w := normalize(m2), normalize(m); !reflect.DeepEqual(g, w) {
			diffMessages(t, g, w)
		}
		b2, err := m2.Marshal()
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("Marshal is not stable: %v", err)
		}
		_ = m.String()
		_ = CheckRules(m.Header.Exchange, m.Header.IsResponse(), false, m.Payloads)
		if len(m.Payloads) > 0 {
			if _, ok := m.Payloads[len(m.Payloads)-1].(*SK); ok {
				if _, err := DecryptMessage(m, nullCipher{}); err != nil {
					typedError(t, err)
				}
			}
		}
	})
}

func FuzzParseInner(f *testing.F) {
	for _, b := range seedMessages(f) {
		if m, err := Parse(b); err == nil && len(m.Payloads) > 0 {
			f.Add(byte(m.Header.NextPayload), b[HeaderLen:])
		}
	}
	f.Fuzz(func(t *testing.T, next byte, data []byte) {
		ps, err := ParseInner(PayloadType(next), data)
		if err != nil {
			typedError(t, err)
			return
		}
		b, err := appendChain(nil, ps)
		if err != nil {
			t.Fatalf("appendChain of parsed payloads: %v", err)
		}
		if len(b) != len(data) {
			t.Fatalf("re-encoded in %d octets, parsed from %d", len(b), len(data))
		}
		first := PayloadNone
		if len(ps) > 0 {
			first = ps[0].Type()
		}
		ps2, err := ParseInner(first, b)
		if err != nil {
			t.Fatalf("ParseInner of a re-encoded chain: %v", err)
		}
		if !reflect.DeepEqual(normalizePayloads(ps), normalizePayloads(ps2)) {
			t.Fatalf("inner payloads changed: %s vs %s", FormatPayloads(ps), FormatPayloads(ps2))
		}
		for _, enc := range []bool{false, true} {
			_ = CheckRules(ExchangeIKEAuth, false, enc, ps)
			_ = CheckRules(ExchangeCreateChildSA, true, enc, ps)
		}
	})
}

// FuzzReassemble feeds a Reassembler a series of messages, each prefixed
// by its 2-octet length, with limits taken from params.
func FuzzReassemble(f *testing.F) {
	var msgs [][]byte
	for _, b := range seedMessages(f) {
		if m, err := Parse(b); err == nil {
			if _, ok := m.Payloads[len(m.Payloads)-1].(*SKF); ok {
				msgs = append(msgs, b)
			}
		}
	}
	join := func(order ...int) []byte {
		var out []byte
		for _, i := range order {
			out = binary.BigEndian.AppendUint16(out, uint16(len(msgs[i])))
			out = append(out, msgs[i]...)
		}
		return out
	}
	all := make([]int, len(msgs))
	for i := range all {
		all[i] = len(msgs) - 1 - i
	}
	f.Add(join(all...), byte(0))
	f.Add(join(append(all, all...)...), byte(0x3f))
	f.Add(join(1, 1, 2, 3, 0), byte(0x12))
	f.Fuzz(func(t *testing.T, data []byte, params byte) {
		r := Reassembler{
			MaxFragments: 1 + int(params&0x0f)*4,
			MaxSize:      4096,
			MaxPending:   1 + int(params>>4)%4,
			Timeout:      10 * time.Second,
		}
		now := time.Unix(1e9, 0)
		for i := 0; len(data) >= 2; i++ {
			n := int(binary.BigEndian.Uint16(data))
			data = data[2:]
			if n > len(data) {
				n = len(data)
			}
			msg := data[:n]
			data = data[n:]
			now = now.Add(time.Duration(params&3) * time.Second)
			m, err := Parse(msg)
			if err != nil {
				continue
			}
			got, err := r.Add(m, nullCipher{}, now)
			if err != nil {
				typedError(t, err)
			} else if got != nil {
				if len(got.Plaintext) > r.MaxSize {
					t.Fatalf("reassembled %d octets, limit %d", len(got.Plaintext), r.MaxSize)
				}
				if ps, err := got.Payloads(); err != nil {
					typedError(t, err)
				} else {
					_ = FormatPayloads(ps)
				}
			}
			if r.Pending() > r.MaxPending {
				t.Fatalf("%d messages pending, limit %d", r.Pending(), r.MaxPending)
			}
		}
	})
}
