package ike

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike/wire"
)

// authRequest builds an initiator's encrypted IKE_AUTH request for the IKE
// SA of res, as a strongSwan roadwarrior sends it: IDi (user FQDN), AUTH
// (PSK), CP asking for an IPv4 address, SA, TSi 0.0.0.0/0, TSr 0.0.0.0/0.
func authRequest(t *testing.T, res *saInitResult, psk []byte, esps string, askVIP bool) []byte {
	t.Helper()
	idi := &wire.ID{IDType: wire.IDRFC822, Data: []byte("client1@example.com")}
	auth, err := pskAuth(res.Keys.PRF, psk, res.Request, res.Nr, res.Keys.SKpi, idi.Body())
	if err != nil {
		t.Fatal(err)
	}
	ps := MustParseProposals(esps, wire.ProtocolESP)
	for i := range ps {
		ps[i].SPI = []byte{0xc0, 0xff, 0xee, byte(i + 1)}
	}
	any4 := esp.SelectorFromPrefix(netip.MustParsePrefix("0.0.0.0/0"))
	inner := []wire.Payload{idi, &wire.Auth{Method: wire.AuthPSK, Data: auth}}
	if askVIP {
		inner = append(inner, &wire.CP{CfgType: wire.CfgRequest, Attributes: []wire.CPAttribute{{Type: wire.CPInternalIP4Address}}})
	}
	inner = append(inner, SAPayload(ps),
		&wire.TS{Selectors: toWireTS([]esp.Selector{any4})},
		&wire.TS{Responder: true, Selectors: toWireTS([]esp.Selector{any4})})
	send, _, err := res.Keys.SKCiphers(res.Proposal, true)
	if err != nil {
		t.Fatal(err)
	}
	hdr := wire.Header{InitiatorSPI: res.SPIi, ResponderSPI: res.SPIr, Exchange: wire.ExchangeIKEAuth,
		Flags: wire.FlagInitiator, MessageID: 1, MajorVersion: 2}
	b, err := wire.EncryptMessage(hdr, inner, send, newDetRand(77))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// openAuthResponse decrypts the responder's IKE_AUTH answer as the
// initiator.
func openAuthResponse(t *testing.T, res *saInitResult, b []byte) []wire.Payload {
	t.Helper()
	_, recv, err := res.Keys.SKCiphers(res.Proposal, true)
	if err != nil {
		t.Fatal(err)
	}
	inner, err := wire.DecryptMessage(parse(t, b), recv)
	if err != nil {
		t.Fatal(err)
	}
	return inner
}

func newAuthPair(t *testing.T) (*saInitResult, *authResponder) {
	t.Helper()
	p := MustParseProposals("aes256gcm16-prfsha384-ecp384", wire.ProtocolIKE)
	i, _ := newSAInitInitiator(newDetRand(20), p, initAddr, respAddr, false)
	_, rr, _ := saInitPair(t, i, &saInitResponder{rand: newDetRand(21), proposals: p}, initAddr)
	pool, err := NewPool("rw4", netip.MustParsePrefix("198.18.200.0/30"))
	if err != nil {
		t.Fatal(err)
	}
	return rr, &authResponder{
		rand: newDetRand(22), localID: wire.IDFQDN, localData: []byte("vpn.example.com"),
		psk: func(typ wire.IDType, id []byte) []byte {
			if typ == wire.IDRFC822 && string(id) == "client1@example.com" {
				return []byte("ikego-psk")
			}
			return nil
		},
		espProposals: MustParseProposals("aes128gcm16, aes256gcm16", wire.ProtocolESP),
		localTS:      []esp.Selector{esp.SelectorFromPrefix(netip.MustParsePrefix("203.0.113.0/26"))},
		pools:        Pools{pool},
		dns:          []netip.Addr{netip.MustParseAddr("198.51.100.53")},
	}
}

// TestAuthPSK: IKE_AUTH with a PSK, message by message.
func TestAuthPSK(t *testing.T) {
	res, r := newAuthPair(t)
	// IKE_AUTH { IDi, AUTH, CP(ADDR), SA, TSi, TSr } -->
	req := authRequest(t, res, []byte("ikego-psk"), "aes256gcm16-aes128gcm16", true)
	out, child, err := r.Respond(res, parse(t, req))
	if err != nil {
		t.Fatal(err)
	}
	// <-- IKE_AUTH { IDr, AUTH, CP(ADDR, DNS), SA, TSi, TSr }
	inner := openAuthResponse(t, res, out)
	var idr *wire.ID
	var auth *wire.Auth
	var cp *wire.CP
	for _, p := range inner {
		switch x := p.(type) {
		case *wire.ID:
			idr = x
		case *wire.Auth:
			auth = x
		case *wire.CP:
			cp = x
		}
	}
	if idr == nil || auth == nil || cp == nil {
		t.Fatalf("response lacks IDr, AUTH or CP: %v", inner)
	}
	// The initiator verifies the responder's AUTH.
	want, _ := pskAuth(res.Keys.PRF, []byte("ikego-psk"), res.Response, res.Ni, res.Keys.SKpr, idr.Body())
	if !bytes.Equal(want, auth.Data) {
		t.Fatal("responder's AUTH does not verify")
	}
	if a, ok := cp.Attributes[0].Addr(); !ok || a != netip.MustParseAddr("198.18.200.1") {
		t.Fatalf("CP %v", cp.Attributes)
	}
	if child.Proposal.String() != "ESP:AES_GCM_16_128/NO_EXT_SEQ" {
		t.Fatalf("ESP proposal %v: the responder's preference (aes128gcm16 first) must win", child.Proposal)
	}
	// "aes256gcm16-aes128gcm16" is one proposal with two ciphers: its SPI.
	if child.OutSPI != binary.BigEndian.Uint32([]byte{0xc0, 0xff, 0xee, 1}) || child.InSPI < 256 {
		t.Fatalf("SPIs in %#x out %#x", child.InSPI, child.OutSPI)
	}
	if len(child.LocalTS) != 1 || child.LocalTS[0].String() != "203.0.113.0/26" ||
		len(child.RemoteTS) != 1 || child.RemoteTS[0].String() != "198.18.200.1/32" {
		t.Fatalf("TS %v === %v", child.LocalTS, child.RemoteTS)
	}
	// Both ends derive the same CHILD_SA keys.
	out1, in1 := child.Keys.SAParams(false)
	ik, _ := res.Keys.ChildKeys(child.Proposal, nil, res.Ni, res.Nr)
	out2, in2 := ik.SAParams(true)
	if !bytes.Equal(out1.EncrKey, in2.EncrKey) || !bytes.Equal(in1.EncrKey, out2.EncrKey) || bytes.Equal(out1.EncrKey, in1.EncrKey) {
		t.Fatal("CHILD_SA keys do not pair up")
	}
	// A reconnect of the same identity gets the same virtual IP.
	_, child2, err := r.Respond(res, parse(t, authRequest(t, res, []byte("ikego-psk"), "aes128gcm16", true)))
	if err != nil || child2.VIPs[0] != child.VIPs[0] {
		t.Fatalf("second IKE_AUTH: %v %v", child2, err)
	}
}

// TestAuthFailures: each refusal is answered with its notify.
func TestAuthFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		psk    string
		esps   string
		edit   func(r *authResponder)
		notify wire.NotifyType
	}{
		{"wrong PSK", "not-the-psk", "aes128gcm16", nil, wire.NotifyAuthenticationFailed},
		{"unknown identity", "ikego-psk", "aes128gcm16", func(r *authResponder) {
			r.psk = func(wire.IDType, []byte) []byte { return nil }
		}, wire.NotifyAuthenticationFailed},
		{"no ESP proposal", "ikego-psk", "aes256-sha256", nil, wire.NotifyNoProposalChosen},
		{"no common TS", "ikego-psk", "aes128gcm16", func(r *authResponder) { r.localTS = nil }, wire.NotifyTSUnacceptable},
		{"pool exhausted", "ikego-psk", "aes128gcm16", func(r *authResponder) {
			p, _ := NewPool("tiny", netip.MustParsePrefix("198.18.201.1/32"))
			p.Reserve("someone else", netip.MustParseAddr("198.18.201.1"))
			r.pools = Pools{p}
		}, wire.NotifyInternalAddressFailure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, r := newAuthPair(t)
			if tc.edit != nil {
				tc.edit(r)
			}
			out, child, err := r.Respond(res, parse(t, authRequest(t, res, []byte(tc.psk), tc.esps, true)))
			var ne *NotifyError
			if child != nil || !errors.As(err, &ne) || ne.Notify != tc.notify {
				t.Fatalf("got %v %v, want %v", child, err, tc.notify)
			}
			if _, ok := wire.FindNotify(openAuthResponse(t, res, out), tc.notify); !ok {
				t.Fatalf("the response does not carry %v", tc.notify)
			}
		})
	}
	// A request that does not decrypt is dropped, not answered.
	res, r := newAuthPair(t)
	req := authRequest(t, res, []byte("ikego-psk"), "aes128gcm16", true)
	req[len(req)-1] ^= 1
	if out, _, err := r.Respond(res, parse(t, req)); out != nil || err == nil {
		t.Fatal("a tampered IKE_AUTH was answered")
	}
}
