package l2tp

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

func TestHeaderRoundTrip(t *testing.T) {
	for _, h := range []Header{
		{Control: true, HasLength: true, Sequenced: true, TunnelID: 1, SessionID: 2, Ns: 3, Nr: 4},
		{TunnelID: 0xFFFF, SessionID: 0x1234},
		{HasLength: true, TunnelID: 5, SessionID: 6},
		{HasLength: true, Sequenced: true, TunnelID: 5, SessionID: 6, Ns: 0xFFFF},
		{HasLength: true, HasOffset: true, OffsetSize: 3, Priority: true, TunnelID: 5, SessionID: 6},
		{Sequenced: true, HasOffset: true, TunnelID: 5, SessionID: 6, Ns: 9},
	} {
		payload := []byte("payload")
		pkt := append(AppendHeader(nil, h, len(payload)), payload...)
		if len(pkt) != h.Len()+len(payload) {
			t.Fatalf("%+v: length %d, Len %d", h, len(pkt), h.Len())
		}
		got, rest, err := ParseHeader(pkt)
		if err != nil {
			t.Fatalf("%+v: %v", h, err)
		}
		h.Length = got.Length
		if got != h || !bytes.Equal(rest, payload) {
			t.Fatalf("got %+v %q, want %+v", got, rest, h)
		}
		if h.HasLength && int(got.Length) != len(pkt) {
			t.Fatalf("Length %d for %d octets", got.Length, len(pkt))
		}
		// Every truncation of a message with a Length field is refused;
		// without it, every cut inside the header is.
		for n := range len(pkt) {
			_, _, err := ParseHeader(pkt[:n])
			if (h.HasLength || n < h.Len()) && err == nil {
				t.Fatalf("%+v truncated to %d accepted", h, n)
			}
		}
	}
}

func TestHeaderRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		pkt  []byte
		err  error
	}{
		{"version 3", []byte{0xC8, 0x03, 0, 12, 0, 1, 0, 0, 0, 0, 0, 0}, ErrVersion},
		{"version 1", []byte{0x00, 0x01, 0, 1, 0, 0}, ErrVersion},
		{"control without L", []byte{0x88, 0x02, 0, 1, 0, 0, 0, 0, 0, 0}, ErrControlFlags},
		{"control without S", []byte{0xC0, 0x02, 0, 8, 0, 1, 0, 0}, ErrControlFlags},
		{"control with O", []byte{0xCA, 0x02, 0, 14, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}, ErrControlFlags},
		{"control with P", []byte{0xC9, 0x02, 0, 12, 0, 1, 0, 0, 0, 0, 0, 0}, ErrControlFlags},
		{"length too long", []byte{0xC8, 0x02, 0, 13, 0, 1, 0, 0, 0, 0, 0, 0}, ErrBadLength},
		{"trailing octets", []byte{0xC8, 0x02, 0, 12, 0, 1, 0, 0, 0, 0, 0, 0, 0}, ErrBadLength},
		{"offset beyond", []byte{0x02, 0x02, 0, 1, 0, 0, 0, 5, 1}, ErrShortHeader},
		{"empty", nil, ErrShortHeader},
	} {
		if _, _, err := ParseHeader(tc.pkt); !errors.Is(err, tc.err) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
}

func testMessage() Message {
	m := NewMessage(MsgICCN)
	m.AddUint32(AVPTxConnectSpeed, 1e6)
	m.AVPs = append(m.AVPs, AVP{Type: AVPCallingNumber, Value: []byte("5551234")})
	m.Add(AVPRandomVector, []byte("random vector"))
	m.AVPs = append(m.AVPs, AVP{Mandatory: true, Hidden: true, Type: AVPProxyAuthenName, Value: []byte("alice@example")})
	m.AVPs = append(m.AVPs, AVP{VendorID: 311, Type: 7, Value: []byte{}})
	m.Add(AVPSequencingRequired, []byte{})
	return m
}

func TestMessageRoundTrip(t *testing.T) {
	secret := []byte("s3cret")
	m := testMessage()
	b, err := m.Append(nil, secret)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("alice@example")) {
		t.Fatal("hidden value in clear")
	}
	got, err := ParseMessage(b, secret)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(normalize(got), normalize(m)) {
		t.Fatalf("got %+v\nwant %+v", got, m)
	}
	if _, err := ParseMessage(b, nil); !errors.Is(err, ErrHidden) {
		t.Fatalf("hidden AVP without secret: %v", err)
	}
	// Wrong secret: the original length comes out wrong, or the value.
	if got, err := ParseMessage(b, []byte("other")); err == nil {
		a, _ := got.Get(AVPProxyAuthenName)
		if string(a.Value) == "alice@example" {
			t.Fatal("revealed with the wrong secret")
		}
	}

	// Every cut that is not on an AVP boundary is refused.
	bounds := map[int]bool{}
	off := 0
	for _, a := range m.AVPs {
		v := len(a.Value)
		if a.Hidden {
			v += 2
		}
		off += 6 + v
		bounds[off] = true
	}
	for n := range len(b) {
		_, err := ParseMessage(b[:n], secret)
		if bounds[n] != (err == nil) {
			t.Fatalf("cut at %d: %v", n, err)
		}
	}
	whole, err := AppendControl(nil, Header{TunnelID: 1, Ns: 2, Nr: 3}, &m, secret)
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(whole) {
		if _, _, err := ParseHeader(whole[:n]); err == nil {
			t.Fatalf("control message cut at %d accepted", n)
		}
	}
}

func normalize(m Message) Message {
	for i := range m.AVPs {
		if m.AVPs[i].Value == nil {
			m.AVPs[i].Value = []byte{}
		}
	}
	return m
}

func TestMessageRejects(t *testing.T) {
	ok := NewMessage(MsgHELLO)
	good, _ := ok.Append(nil, nil)
	for _, tc := range []struct {
		name string
		b    []byte
		err  error
	}{
		{"empty", nil, ErrNoMessageType},
		{"AVP length 5", []byte{0x80, 5, 0, 0, 0, 0}, ErrShortAVP},
		{"not first", []byte{0x80, 8, 0, 0, 0, 9, 0, 1}, ErrNoMessageType},
		{"type of 3 octets", []byte{0x80, 9, 0, 0, 0, 0, 0, 0, 6}, ErrNoMessageType},
		{"hidden type", []byte{0xC0, 8, 0, 0, 0, 0, 0, 6}, ErrNoMessageType},
		{"duplicate", append(slices.Clone(good), good...), ErrDuplicateAVP},
		{"hidden without RV", append(slices.Clone(good), 0xC0, 10, 0, 0, 0, 7, 1, 2, 3, 4), ErrHidden},
	} {
		if _, err := ParseMessage(tc.b, []byte("x")); !errors.Is(err, tc.err) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
}

func TestResult(t *testing.T) {
	for _, r := range []Result{{Code: 1}, {Code: 2, Error: 8}, {Code: 2, Error: 4, Message: "too many"}} {
		got, err := ParseResult(appendResult(nil, r))
		if err != nil || got != r {
			t.Fatalf("got %+v %v, want %+v", got, err, r)
		}
	}
	for _, b := range [][]byte{nil, {0}, {0, 1, 0}} {
		if _, err := ParseResult(b); err == nil {
			t.Fatalf("%x accepted", b)
		}
	}
}

func TestNames(t *testing.T) {
	if MsgSCCRQ.String() != "SCCRQ" || MsgSLI.String() != "SLI" || MessageType(5).String() != "MessageType(5)" {
		t.Fatal("message names")
	}
	if AVPSequencingRequired.String() != "Sequencing Required" || AVPType(20).String() != "AVPType(20)" || AVPRandomVector.String() != "Random Vector" {
		t.Fatal("AVP names")
	}
}

// TestHiddenKnownAnswer checks HideValue against the construction of RFC
// 2661, Section 4.3 computed by openssl: b1 = MD5(type | secret | RV),
// c1 = p1 XOR b1, b2 = MD5(secret | c1), c2 = p2 XOR b2, and so on.
func TestHiddenKnownAnswer(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	md5 := func(parts ...[]byte) []byte {
		t.Helper()
		f := filepath.Join(dir, "in")
		if err := os.WriteFile(f, slices.Concat(parts...), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("openssl", "dgst", "-md5", "-binary", f).Output()
		if err != nil || len(out) != 16 {
			t.Fatalf("openssl: %v %x", err, out)
		}
		return out
	}
	secret := []byte("tunnel secret")
	rv := []byte{0x3a, 0x91, 0x07, 0xee, 0x55, 0x10, 0x42, 0xc8}
	value := []byte("a password of 25 octets!!") // 25 octets
	pad := []byte{1, 2, 3, 4, 5}                 // subformat: 2+25+5 = 32, then 2+25+0 = 27
	for _, pad := range [][]byte{pad, nil} {
		plain := slices.Concat([]byte{0, byte(len(value))}, value, pad)
		var want []byte
		key := md5([]byte{0, byte(AVPProxyAuthenResponse)}, secret, rv)
		for i := 0; i < len(plain); i += 16 {
			chunk := plain[i:min(i+16, len(plain))]
			c := make([]byte, len(chunk))
			for j := range chunk {
				c[j] = chunk[j] ^ key[j]
			}
			want = append(want, c...)
			key = md5(secret, c)
		}
		got, err := HideValue(AVPProxyAuthenResponse, value, secret, rv, pad)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("HideValue = %x, %v\nwant       %x", got, err, want)
		}
		back, err := RevealValue(AVPProxyAuthenResponse, want, secret, rv)
		if err != nil || !bytes.Equal(back, value) {
			t.Fatalf("RevealValue = %q, %v", back, err)
		}
	}
	if _, err := RevealValue(1, []byte{1}, secret, rv); err == nil {
		t.Fatal("one-octet hidden value accepted")
	}
}
