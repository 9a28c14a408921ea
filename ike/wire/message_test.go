package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// sampleMessages returns valid encoded messages covering every payload
// type, for the truncation and corruption tests.
func sampleMessages(t *testing.T) [][]byte {
	t.Helper()
	var out [][]byte
	add := func(m *Message) {
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	add(&Message{Header: testHeader(ExchangeIKEAuth, 0), Payloads: allPayloads()})
	for _, p := range allPayloads() {
		add(&Message{Header: testHeader(ExchangeIKEAuth, 0), Payloads: []Payload{p, &Nonce{Data: seq(16, 0)}}})
	}
	add(&Message{Header: testHeader(ExchangeIKEAuth, 0), Payloads: []Payload{
		&Notify{Kind: NotifyCookie, Data: seq(8, 0)}, &SK{NextPayload: PayloadIDi, Body: seq(64, 0)}}})
	add(&Message{Header: testHeader(ExchangeIKEAuth, 0), Payloads: []Payload{
		&SKF{NextPayload: PayloadIDi, Number: 1, Total: 3, Body: seq(64, 0)}}})
	return out
}

// withLength returns a copy of msg cut to n octets with the header's
// Length saying n, so that the payload parsers see the cut.
func withLength(msg []byte, n int) []byte {
	b := bytes.Clone(msg[:n])
	if n >= HeaderLen {
		binary.BigEndian.PutUint32(b[24:], uint32(n))
	}
	return b
}

// TestTruncations checks that every proper prefix of a valid message is
// rejected, both as is (the header's Length is then too big) and with the
// Length adjusted (a payload's length is then too big), without panicking.
func TestTruncations(t *testing.T) {
	for _, msg := range sampleMessages(t) {
		for n := range len(msg) {
			if _, err := Parse(msg[:n]); !errors.Is(err, ErrTruncated) {
				t.Fatalf("Parse(%d of %d octets) = %v, want ErrTruncated", n, len(msg), err)
			}
			b := withLength(msg, n)
			if _, err := Parse(b); err == nil {
				t.Fatalf("Parse(%d of %d octets, Length adjusted) succeeded: %x", n, len(msg), b)
			}
		}
		if _, err := Parse(msg); err != nil {
			t.Fatalf("Parse(whole) = %v", err)
		}
	}
}

// TestTrailingBytes checks that octets after the message, or after the
// last payload within the header's Length, are rejected.
func TestTrailingBytes(t *testing.T) {
	for _, msg := range sampleMessages(t) {
		for _, extra := range [][]byte{{0}, {0, 0, 0, 4}, seq(8, 0)} {
			long := append(bytes.Clone(msg), extra...)
			if _, err := Parse(long); !errors.Is(err, ErrInvalidSyntax) {
				t.Errorf("datagram with %d extra octets: %v, want ErrInvalidSyntax", len(extra), err)
			}
			binary.BigEndian.PutUint32(long[24:], uint32(len(long)))
			if _, err := Parse(long); !errors.Is(err, ErrInvalidSyntax) {
				t.Errorf("message with %d octets after the last payload: %v, want ErrInvalidSyntax", len(extra), err)
			}
		}
	}
}

// TestLyingPayloadLengths changes the Payload Length of each payload in
// turn to values that are too small, too big or odd.
func TestLyingPayloadLengths(t *testing.T) {
	for _, msg := range sampleMessages(t) {
		// Walk the chain to find the payload headers.
		var offs []int
		typ := PayloadType(msg[16])
		for off := HeaderLen; typ != PayloadNone; {
			offs = append(offs, off)
			if typ == PayloadSK || typ == PayloadSKF {
				break
			}
			typ = PayloadType(msg[off])
			off += int(binary.BigEndian.Uint16(msg[off+2:]))
		}
		for _, off := range offs {
			orig := int(binary.BigEndian.Uint16(msg[off+2:]))
			for _, l := range []int{0, 1, 3, 4, orig - 1, orig + 1, orig + 3, 0xffff} {
				if l == orig || l < 0 {
					continue
				}
				b := bytes.Clone(msg)
				binary.BigEndian.PutUint16(b[off+2:], uint16(l))
				m, err := Parse(b)
				if err == nil {
					// A shorter length can still parse when
					// the payload ends in opaque data and the
					// next header happens to fit; it must
					// then marshal back to the same octets.
					out, merr := m.Marshal()
					if merr != nil || !bytes.Equal(out, b) {
						t.Errorf("payload at %d with length %d (was %d) parsed into something else", off, l, orig)
					}
					continue
				}
				var pe *ProtocolError
				if !errors.As(err, &pe) || pe.Notify != NotifyInvalidSyntax {
					t.Errorf("length %d: error %v does not name INVALID_SYNTAX", l, err)
				}
			}
		}
	}
}

func TestHeader(t *testing.T) {
	m := &Message{Header: testHeader(ExchangeIKESAInit, FlagInitiator), Payloads: []Payload{&Nonce{Data: seq(16, 0)}}}
	msg, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := unhex(t, "0102030405060708f1f2f3f4f5f6f7f8"+"28202208fffffffe00000030")
	if !bytes.Equal(msg[:HeaderLen], want) {
		t.Fatalf("header = %x, want %x", msg[:HeaderLen], want)
	}

	// RFC 7296 Section 3.1: X flags are ignored, the minor version is
	// kept but has no meaning.
	b := bytes.Clone(msg)
	b[19] = 0xff
	b[17] = 0x2f
	got, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Header.Flags != FlagInitiator|FlagVersion|FlagResponse || got.Header.MinorVersion != 0xf ||
		!got.Header.IsResponse() || !got.Header.IsInitiator() {
		t.Errorf("header = %+v", got.Header)
	}
	if s := got.Header.Flags.String(); s != "I|V|R" {
		t.Errorf("Flags = %q", s)
	}
	if s := Flags(0).String(); s != "0" {
		t.Errorf("Flags(0) = %q", s)
	}
	out, _ := got.Marshal()
	if out[19] != 0x38 || out[17] != 0x2f {
		t.Errorf("re-marshalled flags %#x version %#x", out[19], out[17])
	}

	// RFC 7296 Section 3.1: a greater major version gets
	// INVALID_MAJOR_VERSION; ParseHeader still returns the header.
	for _, v := range []byte{0x30, 0x10, 0x00, 0xf0} {
		b := bytes.Clone(msg)
		b[17] = v
		if _, err := Parse(b); !errors.Is(err, ErrInvalidMajorVersion) {
			t.Errorf("version %#x: %v", v, err)
		}
		h, err := ParseHeader(b)
		var pe *ProtocolError
		if !errors.As(err, &pe) || pe.Notify != NotifyInvalidMajorVersion || h.MajorVersion != v>>4 ||
			h.InitiatorSPI != 0x0102030405060708 || h.MessageID != 0xfffffffe {
			t.Errorf("ParseHeader(version %#x) = %+v, %v", v, h, err)
		}
	}
	// Length below the header's own.
	b = bytes.Clone(msg)
	binary.BigEndian.PutUint32(b[24:], 27)
	if _, err := Parse(b); !errors.Is(err, ErrInvalidSyntax) {
		t.Errorf("Length 27: %v", err)
	}
	// Too long for a datagram.
	big := make([]byte, MaxMessageLen+1)
	copy(big, msg[:HeaderLen])
	binary.BigEndian.PutUint32(big[24:], uint32(len(big)))
	big[16] = 0
	if _, err := Parse(big); !errors.Is(err, ErrInvalidSyntax) {
		t.Errorf("message of %d octets: %v", len(big), err)
	}
}

func TestCriticalBit(t *testing.T) {
	build := func(typ PayloadType, flags byte) []byte {
		h := testHeader(ExchangeInformational, 0)
		b := h.appendTo(nil, PayloadNonce, HeaderLen+20+8)
		b = append(b, byte(typ), 0x7f, 0, 20)
		b = append(b, seq(16, 0)...)
		b = append(b, 0, flags, 0, 8, 1, 2, 3, 4)
		return b
	}
	// RFC 7296 Section 2.5: an unknown payload with C set fails the
	// message, naming its type in the notification data.
	_, err := Parse(build(200, 0x80))
	var pe *ProtocolError
	if !errors.Is(err, ErrUnsupportedCritical) || !errors.As(err, &pe) ||
		pe.Notify != NotifyUnsupportedCriticalPayload || !bytes.Equal(pe.Data, []byte{200}) {
		t.Fatalf("critical unknown payload: %v (%+v)", err, pe)
	}
	// Unknown without C, and all reserved bits set: kept.
	m, err := Parse(build(200, 0x7f))
	if err != nil {
		t.Fatal(err)
	}
	u, ok := m.Payloads[1].(*Unknown)
	if !ok || u.Kind != 200 || u.Critical || !bytes.Equal(u.Body, []byte{1, 2, 3, 4}) {
		t.Fatalf("unknown payload = %+v", m.Payloads[1])
	}
	// A known type with C set is parsed (C is ignored for known types).
	m, err = Parse(build(PayloadVendorID, 0xff))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := m.Payloads[1].(*VendorID); !ok || !bytes.Equal(v.Data, []byte{1, 2, 3, 4}) {
		t.Fatalf("vendor ID = %+v", m.Payloads[1])
	}
	// IKEv1 payload types are unknown in IKEv2.
	if _, err := Parse(build(1, 0x80)); !errors.Is(err, ErrUnsupportedCritical) {
		t.Errorf("critical IKEv1 SA payload: %v", err)
	}
	// An outgoing critical unknown payload has C set.
	out, err := (&Message{Payloads: []Payload{&Unknown{Kind: 201, Critical: true}}}).Marshal()
	if err != nil || out[HeaderLen+1] != 0x80 {
		t.Errorf("critical unknown marshalled as %x, %v", out, err)
	}
	// Inside SK the same rule applies.
	inner := []byte{0, 0x80, 0, 4}
	if _, err := ParseInner(222, inner); !errors.Is(err, ErrUnsupportedCritical) {
		t.Errorf("critical unknown inner payload: %v", err)
	}
}

func TestEncryptedPayloadPlacement(t *testing.T) {
	// SK inside SK.
	inner, _ := appendChain(nil, []Payload{&Nonce{Data: seq(16, 0)}, &SK{Body: seq(4, 0)}})
	if _, err := ParseInner(PayloadNonce, inner); !errors.Is(err, ErrInvalidSyntax) {
		t.Errorf("SK inside SK: %v", err)
	}
	inner, _ = appendChain(nil, []Payload{&SKF{Number: 1, Total: 1}})
	if _, err := ParseInner(PayloadSKF, inner); !errors.Is(err, ErrInvalidSyntax) {
		t.Errorf("SKF inside SK: %v", err)
	}
	// A payload after SK: the SK's Next Payload is the inner type, so the
	// octets after it are trailing.
	b, _ := (&Message{Payloads: []Payload{&SK{NextPayload: PayloadNonce, Body: seq(8, 0)}}}).Marshal()
	b = append(b, 0, 0, 0, 4)
	binary.BigEndian.PutUint32(b[24:], uint32(len(b)))
	if _, err := Parse(b); !errors.Is(err, ErrInvalidSyntax) {
		t.Errorf("payload after SK: %v", err)
	}
	// ParseInner with an empty chain.
	if ps, err := ParseInner(PayloadNone, nil); err != nil || len(ps) != 0 {
		t.Errorf("empty inner = %v, %v", ps, err)
	}
	if _, err := ParseInner(PayloadNone, []byte{0}); !errors.Is(err, ErrInvalidSyntax) {
		t.Errorf("inner octets with no payload: %v", err)
	}
}

// TestParseAliases checks that parsed fields alias the input without
// letting an append overwrite it.
func TestParseAliases(t *testing.T) {
	msg, _ := (&Message{Payloads: []Payload{&VendorID{Data: []byte{1, 2}}, &Nonce{Data: seq(16, 0)}}}).Marshal()
	m, err := Parse(msg)
	if err != nil {
		t.Fatal(err)
	}
	v := m.Payloads[0].(*VendorID)
	_ = append(v.Data, 0xee)
	if msg[HeaderLen+6] == 0xee {
		t.Errorf("append to a parsed field overwrote the message")
	}
	msg[HeaderLen+4] = 9
	if v.Data[0] != 9 {
		t.Errorf("parsed field does not alias the message")
	}
}

// TestParseAllocs pins the allocations of Parse: one Message, the payload
// list, and one per payload plus one per list inside a payload.
func TestParseAllocs(t *testing.T) {
	msg := unhex(t, wsSAInitRequest) // SA (1 proposal, 3 transforms, 1 attribute), KE, No, 3 N
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := Parse(msg); err != nil {
			panic(err)
		}
	})
	if allocs > 11 {
		t.Errorf("Parse allocates %v times", allocs)
	}
	t.Logf("Parse of a 6-payload IKE_SA_INIT: %v allocations", allocs)
}

func BenchmarkParse(b *testing.B) {
	msg := unhex(b, wsSAInitRequest)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshal(b *testing.B) {
	m, _ := Parse(unhex(b, wsSAInitRequest))
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Append(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}
