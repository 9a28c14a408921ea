package ike

import (
	"crypto/rand"
	"crypto/subtle"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike/wire"
	"github.com/ikego/ikego/pki"
	"github.com/ikego/ikego/ppp"
)

// eapClient is a hand-made EAP-MSCHAPv2 initiator talking to a responder
// Manager message by message.
type eapClient struct {
	t          *testing.T
	m          *Manager
	cap        *capture
	res        *saInitResult
	send, recv wire.Cipher
	id         uint32
}

func newEAPClient(t *testing.T, m *Manager, c *capture) *eapClient {
	x, err := newSAInitInitiator(newDetRand(50), DefaultIKEProposals(), initAddr, respAddr, false)
	if err != nil {
		t.Fatal(err)
	}
	req, err := x.Request()
	if err != nil {
		t.Fatal(err)
	}
	m.receive(req, esp.Endpoint{Local: respAddr, Remote: initAddr})
	out := c.take()
	if len(out) != 1 {
		t.Fatalf("%d answers to IKE_SA_INIT", len(out))
	}
	res, _, err := x.ProcessResponse(parse(t, out[0].data))
	if err != nil {
		t.Fatal(err)
	}
	e := &eapClient{t: t, m: m, cap: c, res: res, id: 1}
	if e.send, e.recv, err = res.Keys.SKCiphers(res.Proposal, true); err != nil {
		t.Fatal(err)
	}
	return e
}

// exchange sends an IKE_AUTH request and returns the decrypted response.
func (e *eapClient) exchange(ps ...wire.Payload) []wire.Payload {
	e.t.Helper()
	out, ok := e.exchangeMaybe(ps...)
	if !ok {
		e.t.Fatal("no answer")
	}
	return out
}

// exchangeMaybe is exchange for requests that may be dropped.
func (e *eapClient) exchangeMaybe(ps ...wire.Payload) ([]wire.Payload, bool) {
	e.t.Helper()
	hdr := wire.Header{InitiatorSPI: e.res.SPIi, ResponderSPI: e.res.SPIr, Exchange: wire.ExchangeIKEAuth,
		Flags: wire.FlagInitiator, MessageID: e.id, MajorVersion: 2}
	e.id++
	b, err := wire.EncryptMessage(hdr, ps, e.send, rand.Reader)
	if err != nil {
		e.t.Fatal(err)
	}
	e.m.receive(b, esp.Endpoint{Local: respAddr, Remote: initAddr})
	out := e.cap.take()
	if len(out) == 0 {
		return nil, false
	}
	if len(out) != 1 {
		e.t.Fatalf("%d answers", len(out))
	}
	inner, err := wire.DecryptMessage(parse(e.t, out[0].data), e.recv)
	if err != nil {
		e.t.Fatal(err)
	}
	return inner, true
}

func eapOf(t *testing.T, ps []wire.Payload) []byte {
	t.Helper()
	p, ok := wire.Find[*wire.EAP](ps)
	if !ok {
		t.Fatalf("no EAP payload in %v", ps)
	}
	return p.Message
}

func eapGateway(t *testing.T) (*Manager, *capture, Pools) {
	ca, err := pki.NewCA(pki.Config{}, pki.CAOptions{Subject: "CN=EAP test CA", KeyType: pki.KeyTypeECDSAP256})
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := ca.Issue(pki.Request{Profile: pki.ProfileServer, Names: []string{"vpn.example.com"}, KeyType: pki.KeyTypeECDSAP256})
	if err != nil {
		t.Fatal(err)
	}
	_, gw, pools := pskPeers(t)
	gw.Local = AuthConfig{Method: AuthPubKey, ID: mustID(t, "vpn.example.com"), Certificates: []*x509.Certificate{cert}, Key: key}
	gw.Remote = AuthConfig{Method: AuthEAP, EAPPassword: func(id string) (string, bool) { return "alice-pass", id == "alice" }}
	c := &capture{}
	m, err := NewManager(Config{Peers: []*PeerConfig{gw}, Pools: pools, Dataplane: newRecDP(2), Sender: c, Rand: newDetRand(51)})
	if err != nil {
		t.Fatal(err)
	}
	m.manualTimers = true
	return m, c, pools
}

// TestEAPMSCHAPv2 runs the whole exchange message by message: identity,
// challenge, response, success with the authenticator response, EAP
// success, AUTH payloads keyed with the MSK; then a wrong password and
// hostile EAP messages.
func TestEAPMSCHAPv2(t *testing.T) {
	m, c, pools := eapGateway(t)
	e := newEAPClient(t, m, c)
	idi := &wire.ID{IDType: wire.IDIPv4Addr, Data: initAddr.Addr().AsSlice()}
	ps := MustParseProposals("aes128gcm16", wire.ProtocolESP)
	ps[0].SPI = []byte{1, 2, 3, 4}
	any4 := []esp.Selector{esp.SelectorFromPrefix(netip.MustParsePrefix("0.0.0.0/0"))}
	first := e.exchange(idi, &wire.CP{CfgType: wire.CfgRequest, Attributes: []wire.CPAttribute{{Type: wire.CPInternalIP4Address}}},
		SAPayload(ps), &wire.TS{Selectors: toWireTS(any4)}, &wire.TS{Responder: true, Selectors: toWireTS(any4)})
	if _, ok := wire.Find[*wire.Auth](first); !ok {
		t.Fatal("no AUTH of the server with the EAP request")
	}
	req := eapOf(t, first)
	if req[0] != eapRequest || req[4] != eapTypeIdentity {
		t.Fatalf("first EAP %x", req)
	}
	resp := func(id uint8, typ uint8, d []byte) *wire.EAP { return eapMessage(eapResponse, id, typ, d) }
	chal := eapOf(t, e.exchange(resp(req[1], eapTypeIdentity, []byte("alice"))))
	if chal[4] != eapTypeMSCHAPv2 || chal[5] != mschapChallenge || chal[9] != 16 {
		t.Fatalf("challenge %x", chal)
	}
	var authChal, peerChal [16]byte
	copy(authChal[:], chal[10:26])
	copy(peerChal[:], []byte("0123456789abcdef"))
	nt := ppp.GenerateNTResponse(authChal, peerChal, "alice", "alice-pass")
	v := append([]byte{49}, peerChal[:]...)
	v = append(v, make([]byte, 8)...)
	v = append(v, nt[:]...)
	v = append(v, 0)
	v = append(v, "alice"...)
	succ := eapOf(t, e.exchange(resp(chal[1], eapTypeMSCHAPv2, mschapPacket(mschapResponse, chal[6], v))))
	if succ[5] != mschapSuccess {
		t.Fatalf("success %x", succ)
	}
	msg := string(succ[9:])
	if !ppp.CheckAuthenticatorResponse("alice-pass", nt, peerChal, authChal, "alice", msg[:42]) {
		t.Fatalf("authenticator response %q does not check", msg)
	}
	done := eapOf(t, e.exchange(resp(succ[1], eapTypeMSCHAPv2, []byte{mschapSuccess})))
	if done[0] != eapSuccess {
		t.Fatalf("EAP success %x", done)
	}
	msk := ppp.MSK("alice-pass", nt)
	body, _ := idBody(idi)
	auth, err := pskAuth(e.res.Keys.PRF, msk[:], e.res.Request, e.res.Nr, e.res.Keys.SKpi, body)
	if err != nil {
		t.Fatal(err)
	}
	last := e.exchange(&wire.Auth{Method: wire.AuthPSK, Data: auth})
	ra, ok := wire.Find[*wire.Auth](last)
	if !ok {
		t.Fatalf("final response %v", last)
	}
	idr := &wire.ID{Responder: true, IDType: wire.IDFQDN, Data: []byte("vpn.example.com")}
	rbody, _ := idBody(idr)
	want, _ := pskAuth(e.res.Keys.PRF, msk[:], e.res.Response, e.res.Ni, e.res.Keys.SKpr, rbody)
	if subtle.ConstantTimeCompare(want, ra.Data) != 1 {
		t.Error("the server's AUTH does not verify with the MSK")
	}
	sas := m.SAs()
	if len(sas) != 1 || sas[0].State != StateEstablished || len(sas[0].Children) != 1 {
		t.Fatalf("SAs %+v", sas)
	}
	if l := pools[0].Leases(); len(l) != 1 || l[0].Identity != "eap:alice" {
		t.Errorf("leases %+v", l)
	}

	// A wrong password: EAP-Failure, nothing kept.
	m, c, pools = eapGateway(t)
	e = newEAPClient(t, m, c)
	req = eapOf(t, e.exchange(idi, SAPayload(ps), &wire.TS{Selectors: toWireTS(any4)}, &wire.TS{Responder: true, Selectors: toWireTS(any4)}))
	chal = eapOf(t, e.exchange(resp(req[1], eapTypeIdentity, []byte("alice"))))
	copy(authChal[:], chal[10:26])
	nt = ppp.GenerateNTResponse(authChal, peerChal, "alice", "wrong")
	v = append(append(append(append([]byte{49}, peerChal[:]...), make([]byte, 8)...), nt[:]...), 0)
	// The MS-CHAPv2 Failure (E=691, no retry, our challenge), then on the
	// peer's acknowledgement the EAP-Failure.
	f := eapOf(t, e.exchange(resp(chal[1], eapTypeMSCHAPv2, mschapPacket(mschapResponse, chal[6], v))))
	if want := fmt.Sprintf("E=691 R=0 C=%X V=3 M=Authentication failed", authChal[:]); f[0] != eapRequest || f[4] != eapTypeMSCHAPv2 ||
		f[5] != mschapFailure || f[6] != chal[6] || int(binary.BigEndian.Uint16(f[7:])) != len(f)-5 || string(f[9:]) != want {
		t.Fatalf("wrong password answered %x (%q), want an MS-CHAPv2 Failure %q", f, f[min(9, len(f)):], want)
	}
	if len(m.SAs()) != 1 {
		t.Fatal("the IKE SA went before the peer acknowledged the MS-CHAPv2 Failure")
	}
	if f := eapOf(t, e.exchange(resp(f[1], eapTypeMSCHAPv2, []byte{mschapFailure}))); f[0] != eapFailure {
		t.Fatalf("the acknowledged MS-CHAPv2 Failure answered %x", f)
	}
	if len(m.SAs()) != 0 || pools[0].Online() != 0 {
		t.Errorf("state after a failed EAP: %+v", m.SAs())
	}

	// Hostile EAP messages: each is refused with EAP-Failure, no panic.
	for _, bad := range [][]byte{
		{eapResponse}, {eapResponse, 0, 0, 5, eapTypeMSCHAPv2},
		{eapRequest, 0, 0, 5, eapTypeIdentity},
		{eapResponse, 0, 0, 9, eapTypeMSCHAPv2, mschapResponse, 0, 0, 60},
	} {
		m, c, _ := eapGateway(t)
		e := newEAPClient(t, m, c)
		req := eapOf(t, e.exchange(idi, SAPayload(ps), &wire.TS{Selectors: toWireTS(any4)}, &wire.TS{Responder: true, Selectors: toWireTS(any4)}))
		if len(bad) > 1 {
			bad[1] = req[1]
		}
		if len(bad) >= 4 {
			binary.BigEndian.PutUint16(bad[2:], uint16(len(bad)))
		}
		// A malformed EAP payload is dropped with its message; a well-formed
		// wrong one is answered with EAP-Failure.
		out, answered := e.exchangeMaybe(&wire.EAP{Message: bad})
		switch f, ok := wire.Find[*wire.EAP](out); {
		case !answered:
			// Dropped: nothing changed, the half-open SA waits for a valid
			// message or its timeout.
			if sas := m.SAs(); len(sas) != 1 || sas[0].State != StateConnecting {
				t.Errorf("%x dropped, but the SA changed: %+v", bad, sas)
			}
		case !ok || f.Message[0] != eapFailure:
			t.Errorf("%x answered %v", bad, out)
		case len(m.SAs()) != 0:
			t.Errorf("%x left %+v", bad, m.SAs())
		}
	}
}

// TestEAPInitiator: our initiator as an EAP-MSCHAPv2 client of our
// gateway (AuthConfig.EAPIdentity, EAPSecret): it checks the gateway's
// certificate, answers the identity, challenge and success requests, both
// ends prove the MSK, and the virtual IP and the CHILD_SA come up; a
// wrong password ends in EAP failure with nothing up.
func TestEAPInitiator(t *testing.T) {
	ca, err := pki.NewCA(pki.Config{}, pki.CAOptions{Subject: "CN=EAP test CA", KeyType: pki.KeyTypeECDSAP256})
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := ca.Issue(pki.Request{Profile: pki.ProfileServer, Names: []string{"vpn.example.com"}, KeyType: pki.KeyTypeECDSAP256})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, secret, gwSecret string
		ok                     bool
	}{
		{"right password", "alice-pass", "alice-pass", true},
		{"wrong password", "not-alice-pass", "alice-pass", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, gw, pools := pskPeers(t)
			client.Local = AuthConfig{Method: AuthEAP, ID: mustID(t, "198.51.100.1"), EAPIdentity: "alice", EAPSecret: []byte(tc.secret)}
			client.Remote = AuthConfig{Method: AuthPubKey, ID: mustID(t, "vpn.example.com"), CAs: []*x509.Certificate{ca.Cert}}
			gw.Local = AuthConfig{Method: AuthPubKey, ID: mustID(t, "vpn.example.com"), Certificates: []*x509.Certificate{cert}, Key: key}
			gw.Remote = AuthConfig{Method: AuthEAP, EAPPassword: func(id string) (string, bool) { return tc.gwSecret, id == "alice" }}
			p := newPair(t, client, gw, pools)
			if err := p.i.m.Initiate("home"); err != nil {
				t.Fatal(err)
			}
			p.run()
			ri, rr := p.i.m.SAs(), p.r.m.SAs()
			if !tc.ok {
				if len(ri) != 0 || len(rr) != 0 || pools[0].Online() != 0 {
					t.Fatalf("after a refused EAP: initiator %+v, responder %+v, %d leases", ri, rr, pools[0].Online())
				}
				return
			}
			if len(ri) != 1 || ri[0].State != StateEstablished || len(ri[0].VIPs) != 1 || len(ri[0].Children) != 1 ||
				ri[0].RemoteID.String() != "vpn.example.com" {
				t.Fatalf("initiator %+v", ri)
			}
			if len(rr) != 1 || len(rr[0].VIPs) != 1 || rr[0].VIPs[0] != ri[0].VIPs[0] {
				t.Fatalf("responder %+v", rr)
			}
			if a, ok := pools[0].Lookup("eap:alice"); !ok || a != ri[0].VIPs[0] {
				t.Errorf("the lease of eap:alice is %v %v, want %v", a, ok, ri[0].VIPs[0])
			}
			if a, b := checkChildren(t, p.i.dp, p.r.dp), checkChildren(t, p.r.dp, p.i.dp); a != 1 || b != 1 {
				t.Errorf("%d and %d paired SAs, want one each way", a, b)
			}
		})
	}
}

// FuzzEAPInitiator: a gateway that proved itself with its certificate
// then sends our EAP initiator a hostile EAP message in one of its
// IKE_AUTH answers (which round: the first byte). Nothing may panic, and
// our initiator never comes up without the gateway being up too.
func FuzzEAPInitiator(f *testing.F) {
	chal := append([]byte{1, 2, 0, 26, eapTypeMSCHAPv2, mschapChallenge, 2, 0, 21, 16}, make([]byte, 16)...)
	f.Add(uint8(1), []byte{eapRequest, 2, 0, 5, eapTypeIdentity})
	f.Add(uint8(1), chal)
	f.Add(uint8(2), []byte{eapRequest, 3, 0, 11, eapTypeMSCHAPv2, mschapSuccess, 3, 0, 6, 'S', '='})
	f.Add(uint8(2), []byte{eapSuccess, 3, 0, 4})
	f.Add(uint8(3), []byte{eapRequest, 4, 0, 9, eapTypeMSCHAPv2, mschapFailure, 4, 0, 4})
	f.Add(uint8(1), []byte{eapRequest, 2, 0, 5, 99})
	ca, err := pki.NewCA(pki.Config{}, pki.CAOptions{Subject: "CN=EAP fuzz CA", KeyType: pki.KeyTypeECDSAP256})
	if err != nil {
		f.Fatal(err)
	}
	cert, key, err := ca.Issue(pki.Request{Profile: pki.ProfileServer, Names: []string{"vpn.example.com"}, KeyType: pki.KeyTypeECDSAP256})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, round uint8, eap []byte) {
		client, gw, pools := pskPeers(t)
		client.Local = AuthConfig{Method: AuthEAP, ID: mustID(t, "198.51.100.1"), EAPIdentity: "alice", EAPSecret: []byte("alice-pass")}
		client.Remote = AuthConfig{Method: AuthPubKey, ID: mustID(t, "vpn.example.com"), CAs: []*x509.Certificate{ca.Cert}}
		gw.Local = AuthConfig{Method: AuthPubKey, ID: mustID(t, "vpn.example.com"), Certificates: []*x509.Certificate{cert}, Key: key}
		gw.Remote = AuthConfig{Method: AuthEAP, EAPPassword: func(id string) (string, bool) { return "alice-pass", id == "alice" }}
		p := newPair(t, client, gw, pools)
		target := uint32(round%4) + 1 // the IKE_AUTH answer to replace
		p.filter = func(from *side, ds []inbound) []inbound {
			if from != p.r {
				return ds
			}
			for i, d := range ds {
				m, err := wire.Parse(d.data)
				if err != nil || m.Header.Exchange != wire.ExchangeIKEAuth || m.Header.MessageID != target {
					continue
				}
				var send wire.Cipher
				for _, b := range p.r.m.boxes() {
					p.r.m.with(b, func(s *session) { send = s.send })
				}
				if send == nil {
					continue
				}
				out, err := wire.EncryptMessage(m.Header, []wire.Payload{&wire.EAP{Message: eap}}, send, newDetRand(9))
				if err == nil {
					ds[i].data = out
				}
			}
			return ds
		}
		if err := p.i.m.Initiate("home"); err != nil {
			t.Fatal(err)
		}
		p.run()
		ri, rr := p.i.m.SAs(), p.r.m.SAs()
		if len(ri) == 1 && ri[0].State == StateEstablished && (len(rr) != 1 || rr[0].State != StateEstablished) {
			t.Fatalf("initiator up, gateway not: %+v / %+v", ri, rr)
		}
	})
}
