package wire

import (
	"bytes"
	"reflect"
	"testing"
)

// v1SeedMessages returns encoded IKEv1 messages: every payload type, the
// captured messages of testdata/v1 and an encrypted one.
func v1SeedMessages(t testing.TB) [][]byte {
	var out [][]byte
	add := func(m *V1Message) {
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	add(&V1Message{Header: v1TestHeader(V1ExchangeIDProt, 0), Payloads: v1AllPayloads()})
	for _, p := range v1AllPayloads() {
		add(&V1Message{Header: v1TestHeader(V1ExchangeQuickMode, 0), Payloads: []V1Payload{p}})
	}
	h := v1TestHeader(V1ExchangeTransaction, V1FlagEncryption)
	h.NextPayload = V1PayloadHash
	add(&V1Message{Header: h, Encrypted: seq(32, 1)})
	for _, c := range v1Captures(t) {
		out = append(out, c.b)
	}
	return out
}

func FuzzParseV1(f *testing.F) {
	for _, b := range v1SeedMessages(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseV1(data)
		if err != nil {
			typedError(t, err)
			return
		}
		b, err := m.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed message: %v", err)
		}
		// The re-encoding is canonical (reserved octets and unknown
		// flags cleared) but keeps every length.
		if len(b) != len(data) {
			t.Fatalf("re-encoded in %d octets, parsed from %d", len(b), len(data))
		}
		m2, err := ParseV1(b)
		if err != nil {
			t.Fatalf("ParseV1 of a marshalled message: %v", err)
		}
		if g, w := v1Normalize(m2), v1Normalize(m); !reflect.DeepEqual(g, w) {
			v1DiffMessages(t, g, w)
		}
		b2, err := m2.Marshal()
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("Marshal is not stable: %v", err)
		}
		_ = m.String()
		for _, p := range m.Payloads {
			switch q := p.(type) {
			case *V1SA:
				if len(q.Body()) != len(q.appendTo(nil)) {
					t.Fatalf("SA Body of %d octets re-encoded in %d", len(q.Body()), len(q.appendTo(nil)))
				}
			case *V1Notify:
				_, _ = q.Sequence()
				_, _ = q.Attributes()
			case *V1ID:
				_ = q.Addrs()
			}
		}
	})
}

func FuzzParseV1Payloads(f *testing.F) {
	for _, b := range v1SeedMessages(f) {
		if m, err := ParseV1(b); err == nil && !m.Header.Encrypted() {
			f.Add(byte(m.Header.NextPayload), b[V1HeaderLen:])
			f.Add(byte(m.Header.NextPayload), append(bytes.Clone(b[V1HeaderLen:]), 0, 0, 0, 7))
		}
	}
	f.Fuzz(func(t *testing.T, next byte, data []byte) {
		ps, err := ParseV1Payloads(V1PayloadType(next), data)
		if err != nil {
			typedError(t, err)
			return
		}
		b, err := MarshalV1Payloads(ps)
		if err != nil {
			t.Fatalf("MarshalV1Payloads of parsed payloads: %v", err)
		}
		// The chain is a prefix of data; the rest is padding.
		if len(b) > len(data) {
			t.Fatalf("re-encoded in %d octets, parsed from %d", len(b), len(data))
		}
		first := V1PayloadNone
		if len(ps) > 0 {
			first = ps[0].Type()
		}
		ps2, err := ParseV1Payloads(first, b)
		if err != nil {
			t.Fatalf("ParseV1Payloads of a re-encoded chain: %v", err)
		}
		if !reflect.DeepEqual(v1NormalizePayloads(ps), v1NormalizePayloads(ps2)) {
			t.Fatalf("payloads changed: %s vs %s", FormatV1Payloads(ps), FormatV1Payloads(ps2))
		}
		// Without padding, the whole chain must be consumed.
		if _, err := readV1Chain(b, first, false); err != nil {
			t.Fatalf("re-encoded chain has extra octets: %v", err)
		}
	})
}
