package ppp

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"
)

func newTestLCPOptions(auth ...AuthProtocol) *lcpOptions {
	l := &lcpOptions{auth: auth, minMRU: 576, rand: &scriptRand{script: []byte{0xA1, 0xB2, 0xC3, 0xD4, 0, 0, 0, 0, 0xE5, 0xF6, 0x07, 0x18}}}
	l.ResetRequest()
	return l
}

func TestLCPRequest(t *testing.T) {
	l := newTestLCPOptions(AuthMSCHAPv2, AuthCHAPMD5)
	// RFC 1661, Section 6.2 and RFC 2759, Section 2: C2 23 81; Section 6.4:
	// the Magic-Number.
	want := []byte{3, 5, 0xC2, 0x23, 0x81, 5, 6, 0xA1, 0xB2, 0xC3, 0xD4}
	if got := l.AppendRequest(nil); !bytes.Equal(got, want) {
		t.Fatalf("request % x, want % x", got, want)
	}
}

func TestLCPCheckRequest(t *testing.T) {
	u16 := func(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
	u32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	tests := []struct {
		name     string
		opts     []Option
		nak, rej []Option
	}{
		{"ack all", []Option{{1, u16(1400)}, {2, u32(0)}, {5, u32(0x11223344)}, {7, nil}, {8, nil}}, nil, nil},
		{"MRU too small", []Option{{1, u16(100)}}, []Option{{1, u16(576)}}, nil},
		{"MRU bad length", []Option{{1, []byte{5}}}, nil, []Option{{1, []byte{5}}}},
		{"unknown option", []Option{{13, []byte{6}}, {5, u32(7)}}, nil, []Option{{13, []byte{6}}}},
		{"peer asks us to authenticate", []Option{{3, []byte{0xC0, 0x23}}}, nil, []Option{{3, []byte{0xC0, 0x23}}}},
		{"quality protocol", []Option{{4, []byte{0xC0, 0x25, 0, 0, 0, 10}}}, nil, []Option{{4, []byte{0xC0, 0x25, 0, 0, 0, 10}}}},
		// RFC 1661, Section 6.4: zero is always Nak'd; our own magic
		// means a possible loop-back and is Nak'd with another value.
		{"magic zero", []Option{{5, u32(0)}}, []Option{{5, u32(0xE5F60718)}}, nil},
		{"magic ours", []Option{{5, u32(0xA1B2C3D4)}}, []Option{{5, u32(0xE5F60718)}}, nil},
		{"PFC with data", []Option{{7, []byte{1}}}, nil, []Option{{7, []byte{1}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newTestLCPOptions(AuthMSCHAPv2)
			// The scripted zeros are skipped: a Magic-Number is never 0.
			nak, rej := l.CheckRequest(tt.opts)
			if !bytes.Equal(AppendOptions(nil, nak), AppendOptions(nil, tt.nak)) {
				t.Errorf("nak % x, want % x", AppendOptions(nil, nak), AppendOptions(nil, tt.nak))
			}
			if !bytes.Equal(AppendOptions(nil, rej), AppendOptions(nil, tt.rej)) {
				t.Errorf("rej % x, want % x", AppendOptions(nil, rej), AppendOptions(nil, tt.rej))
			}
		})
	}
	l := newTestLCPOptions(AuthMSCHAPv2)
	l.CheckRequest([]Option{{1, u16(1400)}, {5, u32(9)}, {7, nil}, {8, nil}})
	if l.peerMRU != 1400 || l.peerMagic != 9 || !l.peerPFC || !l.peerACFC {
		t.Errorf("acked values not taken: %+v", l)
	}
	if l.CheckRequest([]Option{{5, u32(0xA1B2C3D4)}}); l.loops != 1 {
		t.Errorf("loops = %d after our own magic", l.loops)
	}
}

func TestLCPAuthNak(t *testing.T) {
	chap := func(a AuthProtocol) Option { return Option{3, []byte{0xC2, 0x23, byte(a)}} }
	// The peer proposes the other configured algorithm: take it.
	l := newTestLCPOptions(AuthMSCHAPv2, AuthCHAPMD5)
	if err := l.HandleNak([]Option{chap(AuthCHAPMD5)}); err != nil {
		t.Fatal(err)
	}
	if a, _ := l.negotiatedAuth(); a != AuthCHAPMD5 {
		t.Errorf("after Nak to MD5: %v", a)
	}
	// The peer proposes PAP, which we do not do: offer the next one.
	l = newTestLCPOptions(AuthMSCHAPv2, AuthCHAPMD5)
	if err := l.HandleNak([]Option{{3, []byte{0xC0, 0x23}}}); err != nil {
		t.Fatal(err)
	}
	if a, _ := l.negotiatedAuth(); a != AuthCHAPMD5 {
		t.Errorf("after Nak to PAP: %v", a)
	}
	// Only MS-CHAPv2 configured: the Nak to MD5 changes nothing.
	l = newTestLCPOptions(AuthMSCHAPv2)
	_ = l.HandleNak([]Option{chap(AuthCHAPMD5)})
	if got := l.AppendRequest(nil); !bytes.Contains(got, []byte{3, 5, 0xC2, 0x23, 0x81}) {
		t.Errorf("request % x", got)
	}
	// A Reject of authentication is recorded; the Session ends the link.
	_ = l.HandleReject([]Option{chap(AuthMSCHAPv2)})
	if _, ok := l.negotiatedAuth(); ok || !l.authRejected {
		t.Error("authentication still requested after Reject")
	}
}

func TestLCPMagicNak(t *testing.T) {
	l := newTestLCPOptions(AuthMSCHAPv2)
	old := l.reqMagic
	_ = l.HandleNak([]Option{{5, []byte{1, 2, 3, 4}}})
	if l.reqMagic == old || l.reqMagic == 0 {
		t.Errorf("magic %08x after Nak, was %08x", l.reqMagic, old)
	}
	_ = l.HandleReject([]Option{{5, nil}})
	if bytes.Contains(l.AppendRequest(nil), []byte{5, 6}) {
		t.Error("Magic-Number requested after Reject")
	}
}

// TestLCPEcho checks the Echo-Reply of RFC 1661, Section 5.8, through a
// Session: our magic and the peer's data.
func TestLCPEcho(t *testing.T) {
	v := rfc2759(t)
	script := append([]byte{0xA1, 0xB2, 0xC3, 0xD4, 0x10}, v.authChallenge[:]...)
	cfg := testConfig(script, map[string]string{"User": "clientPass"})
	c := newTestClient(t, AuthMSCHAPv2)
	c.respond = mschapv2RFC2759(t, v)
	l := newLink(t, cfg, c)
	req := Packet{Code: CodeEchoRequest, Identifier: 77, Data: []byte{0x11, 0x22, 0x33, 0x44, 'h', 'i'}}
	if _, err := l.s.HandleFrame(AppendFrame(nil, ProtocolLCP, req.Append(nil)), l.now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	f, ok := l.s.NextFrame()
	if !ok {
		t.Fatal("no Echo-Reply")
	}
	want := AppendFrame(nil, ProtocolLCP, Packet{Code: CodeEchoReply, Identifier: 77, Data: []byte{0xA1, 0xB2, 0xC3, 0xD4, 'h', 'i'}}.Append(nil))
	if !bytes.Equal(f, want) {
		t.Errorf("reply % x, want % x", f, want)
	}
}

// TestLCPIdentification: Windows sends Identification and Time-Remaining
// (RFC 1570); they need no answer and must not be Code-Rejected.
func TestLCPIdentification(t *testing.T) {
	l := upLink(t)
	for _, code := range []Code{CodeIdentification, CodeTimeRemaining, CodeDiscardRequest} {
		p := Packet{Code: code, Identifier: 5, Data: []byte{0x11, 0x22, 0x33, 0x44, 'M', 'S', 'R', 'A', 'S'}}
		if _, err := l.s.HandleFrame(AppendFrame(nil, ProtocolLCP, p.Append(nil)), l.now); err != nil {
			t.Fatal(err)
		}
		if f, ok := l.s.NextFrame(); ok {
			t.Errorf("%v answered with % x", code, f)
		}
	}
	// Code 14 is unknown: Code-Reject (RUC, scj).
	p := Packet{Code: 14, Identifier: 6}
	_, _ = l.s.HandleFrame(AppendFrame(nil, ProtocolLCP, p.Append(nil)), l.now)
	f, ok := l.s.NextFrame()
	if !ok {
		t.Fatal("no Code-Reject")
	}
	_, info, _ := ParseFrame(f)
	if q, _ := ParsePacket(info); q.Code != CodeCodeReject || !bytes.Equal(q.Data, p.Append(nil)) {
		t.Errorf("got %v % x", q.Code, q.Data)
	}
}
