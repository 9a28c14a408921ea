package ike

import (
	"testing"

	"github.com/ikego/ikego/ike/wire"
)

// FuzzSAInitRespond feeds arbitrary datagrams to the IKE_SA_INIT responder,
// with and without cookies: no panic, and whatever it answers parses.
func FuzzSAInitRespond(f *testing.F) {
	p := MustParseProposals("aes128-sha256-x25519-ecp256", wire.ProtocolIKE)
	for i, g := range []string{"aes128-sha256-x25519", "aes256gcm16-prfsha384-ecp384", "aes128-sha256-modp2048"} {
		x, err := newSAInitInitiator(newDetRand(byte(i)), MustParseProposals(g, wire.ProtocolIKE), initAddr, respAddr, false)
		if err != nil {
			f.Fatal(err)
		}
		req, _ := x.Request()
		f.Add(false, req)
		f.Add(true, req)
	}
	f.Fuzz(func(t *testing.T, cookies bool, d []byte) {
		m, err := wire.Parse(d)
		if err != nil {
			return
		}
		r := &saInitResponder{rand: newDetRand(1), proposals: p}
		if cookies {
			r.cookies = &Cookies{Rand: newDetRand(2)}
		}
		out, _, _ := r.Respond(m, respAddr, initAddr)
		if out != nil {
			if _, err := wire.Parse(out); err != nil {
				t.Fatalf("our answer does not parse: %v", err)
			}
		}
	})
}

// FuzzSAInitResponse feeds arbitrary responses to the IKE_SA_INIT
// initiator: no panic.
func FuzzSAInitResponse(f *testing.F) {
	p := MustParseProposals("aes128-sha256-x25519", wire.ProtocolIKE)
	x, _ := newSAInitInitiator(newDetRand(3), p, initAddr, respAddr, false)
	req, _ := x.Request()
	resp, _, _ := (&saInitResponder{rand: newDetRand(4), proposals: p}).Respond(mustParse(f, req), respAddr, initAddr)
	f.Add(resp)
	f.Fuzz(func(t *testing.T, d []byte) {
		m, err := wire.Parse(d)
		if err != nil {
			return
		}
		x, _ := newSAInitInitiator(newDetRand(3), p, initAddr, respAddr, false)
		x.Request()
		x.ProcessResponse(m)
	})
}

func mustParse(tb testing.TB, b []byte) *wire.Message {
	tb.Helper()
	m, err := wire.Parse(b)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}
