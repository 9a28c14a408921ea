package ppp

import (
	"bytes"
	"errors"
	"testing"
)

func TestParsePacket(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want Packet
		err  error
	}{
		{"header only", []byte{5, 7, 0, 4}, Packet{Code: CodeTerminateRequest, Identifier: 7, Data: []byte{}}, nil},
		{"data", []byte{1, 1, 0, 6, 7, 2}, Packet{Code: CodeConfigureRequest, Identifier: 1, Data: []byte{7, 2}}, nil},
		// RFC 1661, Section 5: octets outside Length are padding.
		{"padding ignored", []byte{1, 1, 0, 6, 7, 2, 0xAA, 0xBB}, Packet{Code: CodeConfigureRequest, Identifier: 1, Data: []byte{7, 2}}, nil},
		{"empty", nil, Packet{}, ErrShortPacket},
		{"three octets", []byte{1, 1, 0}, Packet{}, ErrShortPacket},
		{"length past end", []byte{1, 1, 0, 7, 7, 2}, Packet{}, ErrShortPacket},
		{"length below header", []byte{1, 1, 0, 3}, Packet{}, ErrBadLength},
		{"length zero", []byte{1, 1, 0, 0, 1}, Packet{}, ErrBadLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePacket(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if got.Code != tt.want.Code || got.Identifier != tt.want.Identifier || !bytes.Equal(got.Data, tt.want.Data) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPacketRoundTripAndTruncation(t *testing.T) {
	opts := []Option{{Type: 1, Data: []byte{5, 0xDC}}, {Type: 7, Data: []byte{}}, {Type: 5, Data: []byte{1, 2, 3, 4}}}
	p := Packet{Code: CodeConfigureRequest, Identifier: 42, Data: AppendOptions(nil, opts)}
	b := p.Append(nil)
	want := []byte{1, 42, 0, 16, 1, 4, 5, 0xDC, 7, 2, 5, 6, 1, 2, 3, 4}
	if !bytes.Equal(b, want) {
		t.Fatalf("Append = % x, want % x", b, want)
	}
	q, err := ParsePacket(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseOptions(q.Data)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(opts) {
		t.Fatalf("got %d options, want %d", len(got), len(opts))
	}
	for i := range opts {
		if got[i].Type != opts[i].Type || !bytes.Equal(got[i].Data, opts[i].Data) {
			t.Errorf("option %d = %+v, want %+v", i, got[i], opts[i])
		}
	}
	// Every truncation of the packet is rejected.
	for n := range len(b) {
		if _, err := ParsePacket(b[:n]); err == nil {
			t.Errorf("ParsePacket(%d of %d octets) succeeded", n, len(b))
		}
	}
}

func TestParseOptionsErrors(t *testing.T) {
	for _, in := range [][]byte{
		{1},          // no Length
		{1, 0},       // Length 0
		{1, 1},       // Length 1 (RFC 1661, Section 6: at least 2)
		{1, 4, 5},    // past the end
		{7, 2, 1, 3}, // second option past the end
	} {
		if _, err := ParseOptions(in); !errors.Is(err, ErrBadOption) {
			t.Errorf("ParseOptions(% x) err = %v, want ErrBadOption", in, err)
		}
	}
	if opts, err := ParseOptions(nil); err != nil || len(opts) != 0 {
		t.Errorf("ParseOptions(nil) = %v, %v", opts, err)
	}
}

func TestParseFrame(t *testing.T) {
	tests := []struct {
		in    []byte
		proto Protocol
		rest  []byte
		err   error
	}{
		{[]byte{0xFF, 0x03, 0xC0, 0x21, 1}, ProtocolLCP, []byte{1}, nil},
		{[]byte{0xC0, 0x21, 1}, ProtocolLCP, []byte{1}, nil},              // ACFC
		{[]byte{0xFF, 0x03, 0x21, 0x45}, ProtocolIPv4, []byte{0x45}, nil}, // PFC
		{[]byte{0x21, 0x45}, ProtocolIPv4, []byte{0x45}, nil},             // both
		{[]byte{0x00, 0x21, 0x45}, ProtocolIPv4, []byte{0x45}, nil},
		{[]byte{0xFF, 0x03}, 0, nil, ErrShortFrame},
		{nil, 0, nil, ErrShortFrame},
		{[]byte{0xC0}, 0, nil, ErrShortFrame},
		{[]byte{0xC0, 0x22}, 0, nil, ErrBadProtocol},
	}
	for _, tt := range tests {
		proto, rest, err := ParseFrame(tt.in)
		if !errors.Is(err, tt.err) || proto != tt.proto || !bytes.Equal(rest, tt.rest) {
			t.Errorf("ParseFrame(% x) = %v, % x, %v; want %v, % x, %v", tt.in, proto, rest, err, tt.proto, tt.rest, tt.err)
		}
	}
	if got := AppendFrameHeader(nil, ProtocolIPv4, true, true); !bytes.Equal(got, []byte{0x21}) {
		t.Errorf("compressed IPv4 header = % x", got)
	}
	// RFC 1661, Sections 6.5 and 6.6: never compress LCP.
	if got := AppendFrameHeader(nil, ProtocolLCP, true, true); !bytes.Equal(got, []byte{0xFF, 0x03, 0xC0, 0x21}) {
		t.Errorf("LCP header = % x", got)
	}
}

// FuzzPacket checks that the codec never panics and that whatever it parses
// re-encodes to the same octets.
func FuzzPacket(f *testing.F) {
	f.Add([]byte{1, 1, 0, 14, 1, 4, 5, 0xDC, 3, 5, 0xC2, 0x23, 0x81, 7, 2})
	f.Add([]byte{9, 3, 0, 8, 1, 2, 3, 4})
	f.Add([]byte{1, 1, 0, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePacket(b)
		if err != nil {
			return
		}
		enc := p.Append(nil)
		if n := int(b[2])<<8 | int(b[3]); !bytes.Equal(enc, b[:n]) {
			t.Fatalf("re-encoded % x, want % x", enc, b[:n])
		}
		opts, err := ParseOptions(p.Data)
		if err != nil {
			return
		}
		if enc := AppendOptions(nil, opts); !bytes.Equal(enc, p.Data) {
			t.Fatalf("options re-encoded % x, want % x", enc, p.Data)
		}
	})
}
