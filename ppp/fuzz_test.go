package ppp

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

// fuzzOps encodes a script for FuzzSession: each step is an op octet and a
// length octet, then that many octets of frame for op 0.
func fuzzOps(frames [][]byte) []byte {
	var b []byte
	for _, f := range frames {
		if len(f) > 255 {
			f = f[:255]
		}
		b = append(b, 0, byte(len(f)))
		b = append(b, f...)
	}
	return b
}

// recordClientFrames runs a successful MS-CHAPv2 session and returns the
// frames the client sent, as fuzz seeds.
func recordClientFrames(t testing.TB) [][]byte {
	// RFC 2759, Section 9.2, as in rfc2759 (which needs a *testing.T).
	mustHex := func(s string) []byte {
		b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	v := rfc2759Vector{
		username:      "User",
		password:      "clientPass",
		authChallenge: [16]byte(mustHex("5B 5D 7C 7D 7B 3F 2F 3E 3C 2C 60 21 32 26 26 28")),
		peerChallenge: [16]byte(mustHex("21 40 23 24 25 5E 26 2A 28 29 5F 2B 3A 33 7C 7E")),
		ntResponse:    [24]byte(mustHex("82 30 9E CD 8D 70 8B 5E A0 8F AA 39 81 CD 83 54 42 33 11 4A 3D 85 D6 DF")),
	}
	script := append([]byte{0xA1, 0xB2, 0xC3, 0xD4, 0x10}, v.authChallenge[:]...)
	cfg := testConfig(script, map[string]string{"User": "clientPass"})
	c := newTestClient(t, AuthMSCHAPv2)
	c.respond = mschapv2RFC2759(t, v)
	s, err := NewSession(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var sent [][]byte
	s.Start(t0)
	c.start(t0)
	for range 100 {
		moved := false
		for {
			f, ok := s.NextFrame()
			if !ok {
				break
			}
			moved = true
			c.handleFrame(f, t0)
		}
		for _, f := range c.out {
			moved = true
			sent = append(sent, f)
			_, _ = s.HandleFrame(f, t0)
		}
		c.out = nil
		if !moved {
			break
		}
	}
	sent = append(sent, AppendFrame(nil, ProtocolIPv4, ipPacket(poolAddr, dns1, "x")))
	return sent
}

// FuzzSession feeds a server Session arbitrary frames, timeouts and closes,
// and checks that it never panics and its state stays consistent.
func FuzzSession(f *testing.F) {
	seed := recordClientFrames(f)
	f.Add(fuzzOps(seed))
	f.Add(append(fuzzOps(seed[:3]), 1, 4, 2, 0))
	f.Add([]byte{0, 4, 0xC0, 0x21, 9, 1})
	f.Fuzz(func(t *testing.T, script []byte) {
		v := rfc2759(t)
		rs := append([]byte{0xA1, 0xB2, 0xC3, 0xD4, 0x10}, v.authChallenge[:]...)
		cfg := testConfig(rs, map[string]string{"User": "clientPass", "alice": "pw"})
		cfg.EchoInterval = 5 * time.Second
		s, err := NewSession(cfg)
		if err != nil {
			t.Fatal(err)
		}
		now := t0
		s.Start(now)
		for len(script) >= 2 {
			op, n := script[0], int(script[1])
			script = script[2:]
			switch op % 4 {
			case 0:
				if n > len(script) {
					n = len(script)
				}
				frame := script[:n]
				script = script[n:]
				ip, err := s.HandleFrame(frame, now)
				if ip != nil && (err != nil || s.IPCPState() != StateOpened) {
					t.Fatalf("IPv4 delivered with IPCP %v, err %v", s.IPCPState(), err)
				}
			case 1:
				now = now.Add(time.Duration(n) * 100 * time.Millisecond)
				s.HandleTimeout(now)
			case 2:
				s.Close(now)
			case 3:
				_, _ = s.AppendIPFrame(nil, []byte{0x45, 0, 0, 20})
			}
			checkSession(t, s)
		}
	})
}

func checkSession(t *testing.T, s *Session) {
	t.Helper()
	if s.LCPState() > StateOpened || s.IPCPState() > StateOpened {
		t.Fatalf("invalid state LCP %v IPCP %v", s.LCPState(), s.IPCPState())
	}
	if s.IPCPState() == StateOpened && (s.Phase() != PhaseNetwork || s.LCPState() != StateOpened) {
		t.Fatalf("IPCP Opened in phase %v with LCP %v", s.Phase(), s.LCPState())
	}
	if s.Phase() == PhaseNetwork && s.LCPState() != StateOpened {
		t.Fatalf("Network phase with LCP %v", s.LCPState())
	}
	if s.Phase() == PhaseNetwork {
		if _, ok := s.Auth(); !ok {
			t.Fatal("Network phase without authentication")
		}
	}
	for {
		f, ok := s.NextFrame()
		if !ok {
			break
		}
		proto, info, err := ParseFrame(f)
		if err != nil {
			t.Fatalf("sent a bad frame % x: %v", f, err)
		}
		if proto != ProtocolIPv4 {
			if _, err := ParsePacket(info); err != nil {
				t.Fatalf("sent a bad %v packet % x: %v", proto, info, err)
			}
		}
	}
	for {
		if _, ok := s.NextEvent(); !ok {
			break
		}
	}
}

// TestFuzzSeedReachesNetwork makes sure FuzzSession's main seed drives the
// Session all the way, so the fuzzer starts from deep states.
func TestFuzzSeedReachesNetwork(t *testing.T) {
	v := rfc2759(t)
	rs := append([]byte{0xA1, 0xB2, 0xC3, 0xD4, 0x10}, v.authChallenge[:]...)
	s, err := NewSession(testConfig(rs, map[string]string{"User": "clientPass"}))
	if err != nil {
		t.Fatal(err)
	}
	s.Start(t0)
	var ip []byte
	for _, f := range recordClientFrames(t) {
		ip, _ = s.HandleFrame(f, t0)
	}
	if s.IPCPState() != StateOpened || ip == nil {
		t.Fatalf("seed ends with IPCP %v, last IP %x", s.IPCPState(), ip)
	}
}
