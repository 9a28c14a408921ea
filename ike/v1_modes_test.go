package ike

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike/wire"
	"github.com/ikego/ikego/pki"
)

// Message-by-message tests of the IKEv1 modes beyond Main Mode with a PSK:
// Aggressive Mode, Mode Config push, Main Mode with RSA signatures
// (also with XAuth) and hybrid authentication, and the configuration
// checks of these modes. The client is v1rw of v1_session_test.go.

// v1TestVIDUnity is Cisco Unity's vendor ID, by its published value.
var v1TestVIDUnity = []byte{0x12, 0xf5, 0xf2, 0x8c, 0x45, 0x71, 0x68, 0xa9, 0x70, 0x2d, 0x9f, 0xe2, 0x74, 0xcc, 0x01, 0x00}

// reseed gives the client its own randomness and cookie, so that several
// clients of one gateway differ.
func (c *v1rw) reseed(seed byte) {
	c.rnd, c.ckyI = newDetRand(seed), 0
	var b [8]byte
	for c.ckyI == 0 {
		c.rnd.Read(b[:])
		c.ckyI = binary.BigEndian.Uint64(b[:])
	}
}

// aggr1 builds Aggressive Mode message 1: HDR, SA, KE, Ni, IDii, V...
func (c *v1rw) aggr1() []byte {
	c.t.Helper()
	sa := &wire.V1SA{DOI: wire.V1DOIIPsec, Situation: wire.V1SitIdentityOnly, Proposals: []wire.V1Proposal{{
		Number: 1, Protocol: wire.V1ProtocolISAKMP, Transforms: []wire.V1Transform{c.transform(1, c.auth)}}}}
	c.saiB = sa.Body()
	var err error
	if c.share, err = NewKeyShare(c.group, c.rnd); err != nil {
		c.t.Fatal(err)
	}
	c.gxi = c.share.Public()
	c.ni = make([]byte, 32)
	c.rnd.Read(c.ni)
	ps := []wire.V1Payload{sa, &wire.V1KE{Data: c.gxi}, &wire.V1Nonce{Data: c.ni}, c.id}
	for _, v := range c.vids {
		ps = append(ps, &wire.V1VendorID{Data: v})
	}
	return c.marshal(wire.V1Message{Header: c.header(wire.V1ExchangeAggressive, 0), Payloads: ps})
}

// handleAggr2 checks Aggressive Mode message 2 (SA chosen, KE, Nr, IDir,
// HASH_R, the NAT-T vendor ID and the NAT-D pair), takes the responder's
// cookie and derives the keys.
func (c *v1rw) handleAggr2(b []byte) {
	c.t.Helper()
	m, err := wire.ParseV1(b)
	if err != nil {
		c.t.Fatalf("Aggressive Mode message 2: %v", err)
	}
	h := m.Header
	if h.Exchange != wire.V1ExchangeAggressive || h.Encrypted() || h.InitiatorCookie != c.ckyI || h.ResponderCookie == 0 || h.MessageID != 0 {
		c.t.Fatalf("Aggressive Mode message 2: header %+v (%v)", h, m)
	}
	c.ckyR = h.ResponderCookie
	sa, ok := m.Payloads[0].(*wire.V1SA)
	if !ok || len(sa.Proposals) != 1 || len(sa.Proposals[0].Transforms) != 1 {
		c.t.Fatalf("Aggressive Mode message 2 does not begin with a single chosen transform: %v", m)
	}
	if got, want := fmt.Sprint(sa.Proposals[0].Transforms[0]), fmt.Sprint(c.transform(1, c.auth)); got != want {
		c.t.Fatalf("Aggressive Mode message 2 chose %s, offered %s", got, want)
	}
	ke, okKE := wire.FindV1[*wire.V1KE](m.Payloads)
	nr, okN := wire.FindV1[*wire.V1Nonce](m.Payloads)
	idr, okID := wire.FindV1[*wire.V1ID](m.Payloads)
	if !okKE || !okN || !okID {
		c.t.Fatalf("Aggressive Mode message 2 without KE, Nr or IDir: %v", m)
	}
	natt := false
	var natds [][]byte
	for _, p := range m.Payloads {
		switch p := p.(type) {
		case *wire.V1VendorID:
			natt = natt || bytes.Equal(p.Data, v1TestVIDNATT)
		case *wire.V1NATD:
			natds = append(natds, p.Hash)
		}
	}
	if !natt {
		c.t.Fatalf("Aggressive Mode message 2 without the RFC 3947 vendor ID: %v", m)
	}
	// RFC 3947 Section 3.2: first the receiver's address, then the
	// sender's.
	if len(natds) != 2 || !bytes.Equal(natds[0], c.natHash(c.addr)) || !bytes.Equal(natds[1], c.natHash(respAddr)) {
		c.t.Fatalf("Aggressive Mode message 2: NAT-D %x, want %x and %x", natds, c.natHash(c.addr), c.natHash(respAddr))
	}
	c.deriveKeys(ke.Data, nr.Data)
	c.checkAuthR("Aggressive Mode message 2", idr, m.Payloads)
	c.m4 = m.Payloads
}

// aggr3 builds Aggressive Mode message 3, encrypted unless clear3: HDR*,
// HASH_I, NAT-D, NAT-D.
func (c *v1rw) aggr3() []byte {
	c.t.Helper()
	// Behind a NAT the client floats to port 4500 for message 3 (RFC
	// 3947 Section 4); the first NAT-D is of that destination.
	dst, self := respAddr, c.addr
	if c.natAddr.IsValid() {
		dst, self = netip.AddrPortFrom(respAddr.Addr(), esp.NATTPort), c.natAddr
	}
	ps := append(c.authI(), &wire.V1NATD{Hash: c.natHash(dst)}, &wire.V1NATD{Hash: c.natHash(self)})
	if c.clear3 {
		return c.marshal(wire.V1Message{Header: c.header(wire.V1ExchangeAggressive, 0), Payloads: ps})
	}
	plain, err := wire.MarshalV1Payloads(ps)
	if err != nil {
		c.t.Fatal(err)
	}
	ct, next := c.keys.encrypt(c.iv, plain)
	c.iv = next
	h := c.header(wire.V1ExchangeAggressive, 0)
	h.Flags, h.NextPayload = wire.V1FlagEncryption, ps[0].Type()
	return c.marshal(wire.V1Message{Header: h, Encrypted: ct})
}

// aggressive runs Aggressive Mode and returns what came back to message 3.
func (c *v1rw) aggressive() [][]byte {
	c.t.Helper()
	c.handleAggr2(c.one("Aggressive Mode message 1", c.send(c.aggr1())))
	return c.send(c.aggr3())
}

// v1Group returns an Aggressive Mode client of group with psk.
func v1Group(t *testing.T, gw *v1GW, auth wire.V1AuthMethod, group string, psk []byte, seed byte, addr string) *v1rw {
	c := newV1rw(t, gw, auth)
	c.reseed(seed)
	c.id = &wire.V1ID{IDType: wire.V1IDKeyID, Data: []byte(group)}
	c.psk = psk
	c.addr = netip.MustParseAddrPort(addr)
	return c
}

// aggressiveGW is the option of a gateway taking Aggressive Mode from
// group1.
func aggressiveGW(t *testing.T) func(*PeerConfig, *Config) {
	return func(p *PeerConfig, _ *Config) {
		p.Aggressive = true
		p.Remote.ID = mustID(t, "keyid:group1")
	}
}

var group2PSK = []byte("group2-psk-fedcba9876543210")

// secondGroup is the option of a second connection, rw2, for group2 with
// its own PSK.
func secondGroup(t *testing.T) func(*PeerConfig, *Config) {
	return func(p *PeerConfig, cfg *Config) {
		cfg.Peers = append(cfg.Peers, &PeerConfig{Name: "rw2", Version: VersionIKEv1, Aggressive: true,
			Local: AuthConfig{Method: AuthPSK, PSK: group2PSK},
			Remote: AuthConfig{Method: AuthPSK, PSK: group2PSK, ID: mustID(t, "keyid:group2"),
				XAuthPassword: func(u string) (string, bool) { return v1Pass, u == v1User }},
			Pools: p.Pools, DNS: p.DNS, Children: p.Children})
	}
}

// TestV1AggressiveMode drives Aggressive Mode with a group PSK, then XAuth,
// Mode Config and Quick Mode.
func TestV1AggressiveMode(t *testing.T) {
	t.Run("established", func(t *testing.T) {
		gw := newV1GW(t, aggressiveGW(t))
		c := v1Group(t, gw, wire.V1AuthXAuthInitPSK, "group1", testPSK, 31, "192.0.2.10:500")
		// HDR, SA, KE, Ni, IDii, V...   -->
		//                               <-- HDR, SA, KE, Nr, IDir, HASH_R, V..., NAT-D, NAT-D
		c.handleAggr2(c.one("Aggressive Mode message 1", c.send(c.aggr1())))
		if len(gw.m.SAs()) != 1 || gw.m.Stats().HalfOpenV1 != 1 {
			t.Fatalf("after message 2: %d SAs, %d half-open", len(gw.m.SAs()), gw.m.Stats().HalfOpenV1)
		}
		// HDR*, HASH_I, NAT-D, NAT-D    -->
		//                               <-- HDR*, HASH, ATTR(REQUEST)
		after3 := c.send(c.aggr3())
		if len(gw.events(EventIKEUp)) != 0 {
			t.Fatalf("IKE SA up before XAuth")
		}
		c.xauth(after3)
		if ups := gw.events(EventIKEUp); len(ups) != 1 || ups[0].Peer != "rw" {
			t.Fatalf("EventIKEUp %+v", ups)
		}
		vip := c.modeConfig()
		q := c.quick(v1qmOpts{})
		c.quickFinish(q)
		c.checkSAs(q, true)
		sas := gw.m.SAs()
		if len(sas) != 1 || sas[0].State != StateEstablished || sas[0].Peer != "rw" || sas[0].RemoteID.String() != "keyid:group1" ||
			sas[0].SPIi != c.ckyI || sas[0].SPIr != c.ckyR || fmt.Sprint(sas[0].VIPs) != fmt.Sprintf("[%v]", vip) {
			t.Fatalf("SAs %+v", sas)
		}
		if gw.m.Stats().HalfOpenV1 != 0 {
			t.Errorf("half-open %d after XAuth", gw.m.Stats().HalfOpenV1)
		}
	})

	t.Run("PSK only", func(t *testing.T) {
		gw := newV1GW(t, aggressiveGW(t), noXAuth)
		c := v1Group(t, gw, wire.V1AuthPSK, "group1", testPSK, 31, "192.0.2.10:500")
		if out := c.aggressive(); len(out) != 0 {
			t.Fatalf("%d datagrams after message 3 without XAuth", len(out))
		}
		if len(gw.events(EventIKEUp)) != 1 || gw.m.Stats().HalfOpenV1 != 0 {
			t.Fatalf("events %v, half-open %d", gw.evs, gw.m.Stats().HalfOpenV1)
		}
		c.modeConfig()
		c.quickFinish(c.quick(v1qmOpts{}))
	})

	t.Run("message 3 in the clear", func(t *testing.T) {
		gw := newV1GW(t, aggressiveGW(t))
		c := v1Group(t, gw, wire.V1AuthXAuthInitPSK, "group1", testPSK, 31, "192.0.2.10:500")
		c.clear3 = true
		// HDR, HASH_I, NAT-D, NAT-D    -->
		c.xauth(c.aggressive())
		c.modeConfig()
		c.quickFinish(c.quick(v1qmOpts{}))
	})

	t.Run("wrong HASH_I in the clear", func(t *testing.T) {
		gw := newV1GW(t, aggressiveGW(t))
		c := v1Group(t, gw, wire.V1AuthXAuthInitPSK, "group1", testPSK, 31, "192.0.2.10:500")
		c.clear3, c.corrupt = true, true
		c.aggressive()
		gw.checkEmpty("wrong HASH_I")
		if downs := gw.events(EventIKEDown); len(downs) != 1 || !errors.Is(downs[0].Err, ErrAuthFailed) {
			t.Errorf("events %v, want EventIKEDown with ErrAuthFailed", gw.evs)
		}
	})

	t.Run("behind NAT", func(t *testing.T) {
		gw := newV1GW(t, aggressiveGW(t), noXAuth)
		c := v1Group(t, gw, wire.V1AuthPSK, "group1", testPSK, 31, "192.0.2.10:40123")
		c.natAddr = netip.MustParseAddrPort("10.1.2.3:500")
		c.handleAggr2(c.one("Aggressive Mode message 1", c.send(c.aggr1())))
		// The client floats to port 4500 for message 3.
		c.addr = netip.AddrPortFrom(c.addr.Addr(), esp.NATTPort)
		if out := c.send(c.aggr3()); len(out) != 0 {
			t.Fatalf("%d datagrams after message 3", len(out))
		}
		gw.inspect(func(s *session) {
			if !s.nat.RemoteBehindNAT || s.nat.LocalBehindNAT || !s.encap || s.remote != c.addr {
				t.Errorf("NAT %+v, encapsulation %v, peer %v; want the peer behind a NAT at %v", s.nat, s.encap, s.remote, c.addr)
			}
		})
		c.modeConfig()
		q := c.quick(v1qmOpts{})
		c.quickFinish(q)
		c.checkSAs(q, true)
		gw.dp.mu.Lock()
		if out := gw.dp.out[q.spiI]; out.Remote != c.addr {
			t.Errorf("outbound ESP SA to %v, want UDP-encapsulated to %v", out.Remote, c.addr)
		}
		gw.dp.mu.Unlock()
	})

	t.Run("chosen by identity", func(t *testing.T) {
		gw := newV1GW(t, aggressiveGW(t), secondGroup(t))
		c2 := v1Group(t, gw, wire.V1AuthXAuthInitPSK, "group2", group2PSK, 32, "192.0.2.20:500")
		c2.xauth(c2.aggressive())
		c1 := v1Group(t, gw, wire.V1AuthXAuthInitPSK, "group1", testPSK, 31, "192.0.2.10:500")
		c1.xauth(c1.aggressive())
		peers := map[uint64]string{}
		for _, sa := range gw.m.SAs() {
			peers[sa.SPIr] = sa.Peer
		}
		if peers[c1.ckyR] != "rw" || peers[c2.ckyR] != "rw2" || len(peers) != 2 {
			t.Fatalf("group1 on %q, group2 on %q (%d SAs), want rw and rw2", peers[c1.ckyR], peers[c2.ckyR], len(peers))
		}
		ups := gw.events(EventIKEUp)
		if len(ups) != 2 || ups[0].Peer != "rw2" || ups[1].Peer != "rw" {
			t.Fatalf("EventIKEUp %+v, want rw2 then rw", ups)
		}
		c2.modeConfig()
		c2.quickFinish(c2.quick(v1qmOpts{}))
	})

	for _, tc := range []struct {
		name  string
		group string
		opt   func(*PeerConfig, *Config)
	}{
		{"unknown group", "group3", func(*PeerConfig, *Config) {}},
		{"Aggressive Mode not allowed", "group1", func(p *PeerConfig, _ *Config) { p.Aggressive = false }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gw := newV1GW(t, aggressiveGW(t), secondGroup(t), tc.opt)
			c := v1Group(t, gw, wire.V1AuthXAuthInitPSK, tc.group, testPSK, 31, "192.0.2.10:500")
			n := clearNotify(t, c.one("Aggressive Mode message 1", c.send(c.aggr1())))
			if n.Kind != wire.V1NotifyInvalidIDInformation {
				t.Fatalf("notification %v, want INVALID-ID-INFORMATION", n.Kind)
			}
			gw.checkEmpty("refused")
			if len(gw.events(EventIKEUp))+len(gw.events(EventIKEDown)) != 0 {
				t.Errorf("events %v", gw.evs)
			}
		})
	}

	t.Run("wrong PSK", func(t *testing.T) {
		gw := newV1GW(t, aggressiveGW(t))
		c := v1Group(t, gw, wire.V1AuthXAuthInitPSK, "group1", []byte("not the gateway's PSK"), 31, "192.0.2.10:500")
		c.noVerify = true
		c.handleAggr2(c.one("Aggressive Mode message 1", c.send(c.aggr1())))
		for _, b := range c.send(c.aggr3()) {
			if n := clearNotify(t, b); n.Kind != wire.V1NotifyAuthenticationFailed && n.Kind != wire.V1NotifyPayloadMalformed {
				t.Errorf("answer to a bad message 3: %v", n.Kind)
			}
		}
		gw.checkEmpty("wrong PSK")
		if downs := gw.events(EventIKEDown); len(downs) != 1 || downs[0].Err == nil {
			t.Errorf("events %v, want EventIKEDown with an error", gw.evs)
		}
		if len(gw.events(EventIKEUp)) != 0 {
			t.Errorf("IKE SA came up")
		}
	})

	t.Run("wrong HASH_I", func(t *testing.T) {
		gw := newV1GW(t, aggressiveGW(t))
		c := v1Group(t, gw, wire.V1AuthXAuthInitPSK, "group1", testPSK, 31, "192.0.2.10:500")
		c.corrupt = true
		c.aggressive()
		gw.checkEmpty("wrong HASH_I")
		if downs := gw.events(EventIKEDown); len(downs) != 1 || !errors.Is(downs[0].Err, ErrAuthFailed) {
			t.Errorf("events %v, want EventIKEDown with ErrAuthFailed", gw.evs)
		}
	})

	t.Run("retransmissions", func(t *testing.T) {
		gw := newV1GW(t, aggressiveGW(t))
		c := v1Group(t, gw, wire.V1AuthXAuthInitPSK, "group1", testPSK, 31, "192.0.2.10:500")
		m1 := c.aggr1()
		a1 := c.one("message 1", c.send(m1))
		if b := c.one("message 1 again", c.send(m1)); !bytes.Equal(a1, b) {
			t.Fatalf("message 1 answered differently the second time")
		}
		if len(gw.m.SAs()) != 1 || gw.m.Stats().HalfOpenV1 != 1 {
			t.Fatalf("message 1 twice: %d SAs, %d half-open", len(gw.m.SAs()), gw.m.Stats().HalfOpenV1)
		}
		c.handleAggr2(a1)
		m3 := c.aggr3()
		after3 := c.send(m3)
		if len(after3) != 1 {
			t.Fatalf("message 3: %d datagrams, want the XAuth REQUEST", len(after3))
		}
		if out := c.send(m3); len(out) != 0 {
			t.Fatalf("message 3 again: %d datagrams, want none", len(out))
		}
		if sas := gw.m.SAs(); len(sas) != 1 || sas[0].State != StateConnecting {
			t.Fatalf("after message 3 twice: %+v", sas)
		}
		c.xauth(after3)
		c.modeConfig()
		c.quickFinish(c.quick(v1qmOpts{}))
	})
}

// pushed opens the Mode Config SET b, checks the address (from the pool)
// and the DNS server and returns its message ID, identifier, address and
// attributes.
func (c *v1rw) pushed(b []byte) (uint32, uint16, netip.Addr, *wire.V1Attributes) {
	c.t.Helper()
	o := c.open("Mode Config SET", b, nil)
	a := c.attrs("Mode Config SET", o, wire.V1CfgSet)
	addr, ok := a.Attribute(wire.V1CfgInternalIP4Address)
	vip, okA := addr.Addr()
	if !ok || !okA || !c.gw.pool.Contains(vip) {
		c.t.Fatalf("Mode Config SET without an address of the pool: %+v", a.Attributes)
	}
	if dns, ok := a.Attribute(wire.V1CfgInternalIP4DNS); !ok || !bytes.Equal(dns.Data, []byte{198, 51, 100, 53}) {
		c.t.Errorf("Mode Config SET DNS %+v", dns)
	}
	return o.h.MessageID, a.Identifier, vip, a
}

// ackPush acknowledges the SET of message ID id (on its CBC chain, which
// pushed left) and returns what came back.
func (c *v1rw) ackPush(id uint32, identifier uint16) [][]byte {
	c.t.Helper()
	ack := &wire.V1Attributes{CfgType: wire.V1CfgAck, Identifier: identifier, Attributes: []wire.V1Attribute{
		{Type: wire.V1CfgInternalIP4Address}, {Type: wire.V1CfgInternalIP4DNS}}}
	out := c.send(c.seal(wire.V1ExchangeTransaction, id, nil, ack))
	delete(c.ivs, id)
	return out
}

// xauthPushed runs XAuth and returns the Mode Config SET that follows the
// ACK, with the message ID of the XAuth SET.
func (c *v1rw) xauthPushed(after6 [][]byte) (set []byte, xauthSetID uint32) {
	c.t.Helper()
	xset := c.one("XAuth REPLY", c.xauthReply(c.one("XAuth REQUEST", after6), c.user, c.pass))
	m, err := wire.ParseV1(xset)
	if err != nil {
		c.t.Fatal(err)
	}
	st, out := c.ack(xset)
	if st != 1 {
		c.t.Fatalf("XAuth status %d", st)
	}
	return c.one("XAuth ACK (Mode Config SET)", out), m.Header.MessageID
}

// TestV1ModeConfigPush: with ModeConfigPush the gateway sends the address
// and DNS server in a SET after XAuth (and the split-tunnel subnets to
// Cisco Unity clients), retransmits it until acknowledged, and closes the
// SA when it never is.
func TestV1ModeConfigPush(t *testing.T) {
	sched := Retransmit{Timeout: time.Second, Base: 2, Tries: 2}
	push := func(p *PeerConfig, cfg *Config) { p.ModeConfigPush = true; cfg.Retransmit = sched }

	t.Run("Unity", func(t *testing.T) {
		gw := newV1GW(t, push)
		c := newV1rw(t, gw, wire.V1AuthXAuthInitPSK)
		c.vids = append(c.vids, v1TestVIDUnity)
		after6 := c.mainMode()
		//                               <-- HDR*, HASH, ATTR(REQUEST)
		// HDR*, HASH, ATTR(REPLY bob)   -->  <-- HDR*, HASH, ATTR(SET status 1)
		// HDR*, HASH, ATTR(ACK)         -->  <-- HDR*, HASH, ATTR(SET address, DNS, split)
		set, xauthID := c.xauthPushed(after6)
		id, identifier, vip, a := c.pushed(set)
		if id == xauthID {
			t.Errorf("Mode Config SET on the XAuth SET's message ID %08x", id)
		}
		split, ok := a.Attribute(wire.V1CfgUnitySplitInclude)
		want := []byte{203, 0, 113, 0, 255, 255, 255, 192, 0, 0, 0, 0, 0, 0,
			198, 18, 1, 0, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0}
		if !ok || !bytes.Equal(split.Data, want) {
			t.Errorf("UNITY_SPLIT_INCLUDE %x (%v), want %x", split.Data, ok, want)
		}
		if a, ok := gw.pool.Lookup("xauth:" + v1User); !ok || a != vip || gw.pool.Online() != 1 {
			t.Errorf("lease of xauth:%s is %v %v (%d online), want %v", v1User, a, ok, gw.pool.Online(), vip)
		}
		// HDR*, HASH, ATTR(ACK)         -->
		if out := c.ackPush(id, identifier); len(out) != 0 {
			t.Fatalf("%d datagrams after the ACK", len(out))
		}
		if out := gw.tick(sched.Total() + time.Second); len(out) != 0 {
			t.Fatalf("%d datagrams after the acknowledged SET", len(out))
		}
		if sas := gw.m.SAs(); len(sas) != 1 || sas[0].State != StateEstablished || fmt.Sprint(sas[0].VIPs) != fmt.Sprintf("[%v]", vip) {
			t.Fatalf("SAs after the ACK: %+v", sas)
		}
		c.vip = vip
		q := c.quick(v1qmOpts{})
		c.quickFinish(q)
		c.checkSAs(q, true)
	})

	t.Run("no Unity", func(t *testing.T) {
		gw := newV1GW(t, push)
		c := newV1rw(t, gw, wire.V1AuthXAuthInitPSK)
		set, _ := c.xauthPushed(c.mainMode())
		id, identifier, _, a := c.pushed(set)
		if _, ok := a.Attribute(wire.V1CfgUnitySplitInclude); ok {
			t.Errorf("UNITY_SPLIT_INCLUDE to a client without the Unity vendor ID")
		}
		if out := c.ackPush(id, identifier); len(out) != 0 {
			t.Fatalf("%d datagrams after the ACK", len(out))
		}
	})

	t.Run("PSK only", func(t *testing.T) {
		gw := newV1GW(t, push, noXAuth)
		c := newV1rw(t, gw, wire.V1AuthPSK)
		id, identifier, vip, _ := c.pushed(c.one("after message 6", c.mainMode()))
		if out := c.ackPush(id, identifier); len(out) != 0 {
			t.Fatalf("%d datagrams after the ACK", len(out))
		}
		// A pull after the push gets the same address, one lease.
		if got := c.modeConfig(); got != vip || gw.pool.Online() != 1 {
			t.Errorf("pull after push: %v (%d leases), pushed %v", got, gw.pool.Online(), vip)
		}
	})

	t.Run("not acknowledged", func(t *testing.T) {
		gw := newV1GW(t, push)
		c := newV1rw(t, gw, wire.V1AuthXAuthInitPSK)
		set, _ := c.xauthPushed(c.mainMode())
		c.pushed(bytes.Clone(set))
		for n := 0; ; n++ {
			w, ok := sched.Wait(n)
			if !ok {
				break
			}
			out := gw.tick(w)
			if _, more := sched.Wait(n + 1); !more {
				break
			}
			if len(out) != 1 || !bytes.Equal(out[0], set) {
				t.Fatalf("retransmission %d: %d datagrams, want the SET again", n+1, len(out))
			}
		}
		gw.checkEmpty("SET not acknowledged")
		if downs := gw.events(EventIKEDown); len(downs) != 1 || downs[0].Err == nil {
			t.Fatalf("events %v, want EventIKEDown with an error", gw.evs)
		}
	})
}

// v1PKI are the certificates of the signature tests, made once.
type v1PKI struct {
	ca, otherCA    *pki.CA
	server, client *x509.Certificate
	serverKey      crypto.Signer
	clientKey      crypto.Signer
	otherClient    *x509.Certificate // by otherCA, same subject and names
	otherClientKey crypto.Signer
	otherKey       crypto.Signer // certified by nobody
	ecdsaServer    *x509.Certificate
	ecdsaServerKey crypto.Signer
	clientDN       []byte
	srvDN          []byte
}

var (
	v1PKIOnce sync.Once
	v1PKIVal  *v1PKI
	v1PKIErr  error
)

// v1Certs returns RSA certificates of a test CA, valid at the gateway's
// clock.
func v1Certs(t *testing.T) *v1PKI {
	t.Helper()
	v1PKIOnce.Do(func() {
		cfg := pki.Config{Now: func() time.Time { return time.Unix(1_700_000_000, 0) }}
		x := &v1PKI{}
		must := func(err error) {
			if err != nil && v1PKIErr == nil {
				v1PKIErr = err
			}
		}
		var err error
		x.ca, err = pki.NewCA(cfg, pki.CAOptions{Subject: "C=US, O=ikego-test, CN=IKEv1 Test CA", KeyType: pki.KeyTypeRSA2048})
		must(err)
		x.otherCA, err = pki.NewCA(cfg, pki.CAOptions{Subject: "C=US, O=ikego-test, CN=Other CA", KeyType: pki.KeyTypeRSA2048})
		must(err)
		if v1PKIErr != nil {
			return
		}
		x.server, x.serverKey, err = x.ca.Issue(pki.Request{Profile: pki.ProfileServer, Subject: "C=US, O=ikego-test, CN=vpn.example.com",
			Names: []string{"vpn.example.com"}, KeyType: pki.KeyTypeRSA2048})
		must(err)
		x.client, x.clientKey, err = x.ca.Issue(pki.Request{Profile: pki.ProfileClient, Subject: "C=US, O=ikego-test, CN=client1.example.com",
			Names: []string{"client1.example.com"}, KeyType: pki.KeyTypeRSA2048})
		must(err)
		x.otherClient, x.otherClientKey, err = x.otherCA.Issue(pki.Request{Profile: pki.ProfileClient,
			Subject: "C=US, O=ikego-test, CN=client1.example.com", Names: []string{"client1.example.com"}, KeyType: pki.KeyTypeRSA2048})
		must(err)
		x.ecdsaServer, x.ecdsaServerKey, err = x.ca.Issue(pki.Request{Profile: pki.ProfileServer, Subject: "C=US, O=ikego-test, CN=vpn.example.com",
			Names: []string{"vpn.example.com"}, KeyType: pki.KeyTypeECDSAP256})
		must(err)
		x.otherKey, err = pki.GenerateKey(pki.KeyTypeRSA2048, nil)
		must(err)
		if v1PKIErr == nil {
			x.clientDN, x.srvDN = x.client.RawSubject, x.server.RawSubject
		}
		v1PKIVal = x
	})
	if v1PKIErr != nil {
		t.Fatal(v1PKIErr)
	}
	return v1PKIVal
}

// rsaGW is the option of a gateway with an RSA certificate that takes
// client certificates of the test CA (and XAuth, unless noXAuth follows).
func rsaGW(x *v1PKI) func(*PeerConfig, *Config) {
	return func(p *PeerConfig, _ *Config) {
		p.Local = AuthConfig{Method: AuthPubKey, Certificates: []*x509.Certificate{x.server}, Key: x.serverKey}
		p.Remote = AuthConfig{Method: AuthPubKey, CAs: []*x509.Certificate{x.ca.Cert}, XAuthPassword: p.Remote.XAuthPassword}
	}
}

// rsaClient returns a client with the test CA's client certificate,
// identified by its subject DN.
func rsaClient(t *testing.T, gw *v1GW, x *v1PKI, auth wire.V1AuthMethod) *v1rw {
	c := newV1rw(t, gw, auth)
	c.id = &wire.V1ID{IDType: wire.V1IDDERASN1DN, Data: x.clientDN}
	c.certs, c.key = [][]byte{x.client.Raw}, x.clientKey
	return c
}

// checkRSAMessages checks what Main Mode with signatures puts in messages
// 4 (a CR for our CA) and 6 (our DN, certificate and, checked by the
// client, SIG_R).
func (c *v1rw) checkRSAMessages(x *v1PKI) {
	c.t.Helper()
	var crs []*wire.V1CertReq
	for _, p := range c.m4 {
		if cr, ok := p.(*wire.V1CertReq); ok {
			crs = append(crs, cr)
		}
	}
	if len(crs) != 1 || crs[0].Encoding != wire.V1CertX509Sig || !bytes.Equal(crs[0].Authority, x.ca.Cert.RawSubject) {
		c.t.Errorf("message 4 CR %+v, want one for %s", crs, x.ca.Cert.Subject)
	}
	idr, _ := wire.FindV1[*wire.V1ID](c.m6)
	if idr.IDType != wire.V1IDDERASN1DN || !bytes.Equal(idr.Data, x.srvDN) {
		c.t.Errorf("message 6 IDir %v %x, want the server's DN", idr.IDType, idr.Data)
	}
	cert, _ := wire.FindV1[*wire.V1Cert](c.m6)
	if cert.Encoding != wire.V1CertX509Sig || !bytes.Equal(cert.Data, x.server.Raw) {
		c.t.Errorf("message 6 CERT is not the server's certificate")
	}
	if _, ok := wire.FindV1[*wire.V1Hash](c.m6); ok {
		c.t.Errorf("message 6 with a HASH besides SIG_R")
	}
}

// TestV1MainModeRSA: Main Mode with RSA signatures, alone and with XAuth;
// a certificate, identity or signature that does not prove the client
// closes the SA with AUTHENTICATION-FAILED.
func TestV1MainModeRSA(t *testing.T) {
	x := v1Certs(t)
	for _, tc := range []struct {
		name, want string
		id         *wire.V1ID
	}{
		{"DN", "C=US, O=ikego-test, CN=client1.example.com", nil},
		{"FQDN", "client1.example.com", &wire.V1ID{IDType: wire.V1IDFQDN, Data: []byte("client1.example.com")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gw := newV1GW(t, rsaGW(x), noXAuth)
			c := rsaClient(t, gw, x, wire.V1AuthRSASig)
			if tc.id != nil {
				c.id = tc.id
			}
			// HDR, SA, V...                  -->  <-- HDR, SA, V...
			// HDR, KE, Ni, NAT-D, NAT-D      -->  <-- HDR, KE, Nr, CR, NAT-D, NAT-D
			// HDR*, IDii, CERT, SIG_I        -->  <-- HDR*, IDir, CERT, SIG_R
			if after6 := c.mainMode(); len(after6) != 0 {
				t.Fatalf("%d datagrams after message 6", len(after6))
			}
			c.checkRSAMessages(x)
			if len(gw.events(EventIKEUp)) != 1 {
				t.Fatalf("events %v, want EventIKEUp", gw.evs)
			}
			c.modeConfig()
			q := c.quick(v1qmOpts{})
			c.quickFinish(q)
			c.checkSAs(q, true)
			if sas := gw.m.SAs(); len(sas) != 1 || sas[0].RemoteID.String() != tc.want {
				t.Errorf("SAs %+v, want remote identity %s", sas, tc.want)
			}
		})
	}

	for _, tc := range []struct {
		name   string
		change func(c *v1rw)
	}{
		{"signature by another key", func(c *v1rw) { c.key = x.otherKey }},
		{"corrupt signature", func(c *v1rw) { c.corrupt = true }},
		{"certificate of another CA", func(c *v1rw) { c.certs, c.key = [][]byte{x.otherClient.Raw}, x.otherClientKey }},
		{"identity not in the certificate", func(c *v1rw) {
			c.id = &wire.V1ID{IDType: wire.V1IDFQDN, Data: []byte("mallory.example.com")}
		}},
		{"no CERT", func(c *v1rw) { c.certs = nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gw := newV1GW(t, rsaGW(x), noXAuth)
			c := rsaClient(t, gw, x, wire.V1AuthRSASig)
			tc.change(c)
			c.handle2(c.one("message 1", c.send(c.msg1())))
			c.handle4(c.one("message 3", c.send(c.msg3())))
			n := clearNotify(t, c.one("message 5", c.send(c.msg5())))
			if n.Kind != wire.V1NotifyAuthenticationFailed {
				t.Errorf("notification %v, want AUTHENTICATION-FAILED", n.Kind)
			}
			gw.checkEmpty(tc.name)
			if downs := gw.events(EventIKEDown); len(downs) != 1 || !errors.Is(downs[0].Err, ErrAuthFailed) {
				t.Errorf("events %v, want EventIKEDown with ErrAuthFailed", gw.evs)
			}
			if len(gw.events(EventIKEUp)) != 0 {
				t.Errorf("IKE SA came up")
			}
		})
	}

	t.Run("identity the connection does not take", func(t *testing.T) {
		gw := newV1GW(t, rsaGW(x), noXAuth, func(p *PeerConfig, _ *Config) {
			p.Remote.ID = mustID(t, "C=US, O=ikego-test, CN=someone-else.example.com")
		})
		c := rsaClient(t, gw, x, wire.V1AuthRSASig)
		c.handle2(c.one("message 1", c.send(c.msg1())))
		c.handle4(c.one("message 3", c.send(c.msg3())))
		for _, b := range c.send(c.msg5()) {
			if n := clearNotify(t, b); n.Kind != wire.V1NotifyAuthenticationFailed {
				t.Errorf("notification %v, want AUTHENTICATION-FAILED", n.Kind)
			}
		}
		gw.checkEmpty("identity refused")
		if downs := gw.events(EventIKEDown); len(downs) != 1 || !errors.Is(downs[0].Err, ErrAuthFailed) {
			t.Errorf("events %v, want EventIKEDown with ErrAuthFailed", gw.evs)
		}
	})

	t.Run("XAUTHInitRSA", func(t *testing.T) {
		gw := newV1GW(t, rsaGW(x))
		c := rsaClient(t, gw, x, wire.V1AuthXAuthInitRSA)
		after6 := c.mainMode()
		c.checkRSAMessages(x)
		if len(gw.events(EventIKEUp)) != 0 {
			t.Fatalf("IKE SA up before XAuth")
		}
		c.xauth(after6)
		if len(gw.events(EventIKEUp)) != 1 {
			t.Fatalf("events %v, want EventIKEUp", gw.evs)
		}
		vip := c.modeConfig()
		if a, ok := gw.pool.Lookup("xauth:" + v1User); !ok || a != vip {
			t.Errorf("lease of xauth:%s is %v %v, want %v", v1User, a, ok, vip)
		}
		c.quickFinish(c.quick(v1qmOpts{}))
	})

	t.Run("RSA-SIG to an XAuth connection", func(t *testing.T) {
		gw := newV1GW(t, rsaGW(x))
		c := rsaClient(t, gw, x, wire.V1AuthRSASig)
		if n := clearNotify(t, c.one("message 1", c.send(c.msg1()))); n.Kind != wire.V1NotifyNoProposalChosen {
			t.Fatalf("notification %v, want NO-PROPOSAL-CHOSEN", n.Kind)
		}
		gw.checkEmpty("refused")
	})
}

// hybridGW is the option of a hybrid gateway: an RSA certificate here,
// XAuth alone from the client.
func hybridGW(x *v1PKI) func(*PeerConfig, *Config) {
	return func(p *PeerConfig, _ *Config) {
		p.Local = AuthConfig{Method: AuthPubKey, Certificates: []*x509.Certificate{x.server}, Key: x.serverKey}
		p.Remote = AuthConfig{Method: AuthXAuth, XAuthPassword: p.Remote.XAuthPassword}
	}
}

// TestV1Hybrid: HybridInitRSA; the client proves nothing in Main Mode but
// HASH_I (keyed by the Diffie-Hellman secret) and checks our SIG_R; XAuth
// authenticates it.
func TestV1Hybrid(t *testing.T) {
	x := v1Certs(t)
	t.Run("established", func(t *testing.T) {
		gw := newV1GW(t, hybridGW(x))
		c := newV1rw(t, gw, wire.V1AuthHybridInitRSA)
		// HDR*, IDii, HASH_I        -->  <-- HDR*, IDir, CERT, SIG_R
		after6 := c.mainMode()
		idr, _ := wire.FindV1[*wire.V1ID](c.m6)
		if idr.IDType != wire.V1IDDERASN1DN || !bytes.Equal(idr.Data, x.srvDN) {
			t.Errorf("message 6 IDir %v %x, want the server's DN", idr.IDType, idr.Data)
		}
		if len(gw.events(EventIKEUp)) != 0 {
			t.Fatalf("IKE SA up before XAuth")
		}
		c.xauth(after6)
		if len(gw.events(EventIKEUp)) != 1 {
			t.Fatalf("events %v, want EventIKEUp", gw.evs)
		}
		c.modeConfig()
		q := c.quick(v1qmOpts{})
		c.quickFinish(q)
		c.checkSAs(q, true)
	})

	t.Run("wrong HASH_I", func(t *testing.T) {
		gw := newV1GW(t, hybridGW(x))
		c := newV1rw(t, gw, wire.V1AuthHybridInitRSA)
		c.corrupt = true
		c.handle2(c.one("message 1", c.send(c.msg1())))
		c.handle4(c.one("message 3", c.send(c.msg3())))
		n := clearNotify(t, c.one("message 5", c.send(c.msg5())))
		if n.Kind != wire.V1NotifyAuthenticationFailed {
			t.Errorf("notification %v, want AUTHENTICATION-FAILED", n.Kind)
		}
		gw.checkEmpty("wrong HASH_I")
		if downs := gw.events(EventIKEDown); len(downs) != 1 || !errors.Is(downs[0].Err, ErrAuthFailed) {
			t.Errorf("events %v, want EventIKEDown with ErrAuthFailed", gw.evs)
		}
	})

	t.Run("wrong XAuth password", func(t *testing.T) {
		gw := newV1GW(t, hybridGW(x))
		c := newV1rw(t, gw, wire.V1AuthHybridInitRSA)
		after6 := c.mainMode()
		st, _ := c.ack(c.one("XAuth REPLY", c.xauthReply(c.one("XAuth REQUEST", after6), v1User, "guess")))
		if st != 0 {
			t.Fatalf("XAUTH-STATUS %d for a wrong password", st)
		}
		gw.checkEmpty("XAuth failed")
		if downs := gw.events(EventIKEDown); len(downs) != 1 || !errors.Is(downs[0].Err, ErrAuthFailed) {
			t.Errorf("events %v, want EventIKEDown with ErrAuthFailed", gw.evs)
		}
	})
}

// TestV1ConfigValidation: NewManager refuses IKEv1 connections it cannot
// serve: an ECDSA certificate, and hybrid (AuthXAuth) anywhere but as the
// remote end of IKEv1 with XAuthPassword.
func TestV1ConfigValidation(t *testing.T) {
	x := v1Certs(t)
	xauth := func(u string) (string, bool) { return v1Pass, u == v1User }
	for _, tc := range []struct {
		name   string
		change func(p *PeerConfig)
		want   string // in the error; empty: valid
	}{
		{"RSA certificate", func(p *PeerConfig) { rsaGW(x)(p, nil) }, ""},
		{"hybrid", func(p *PeerConfig) { hybridGW(x)(p, nil) }, ""},
		{"ECDSA certificate with XAuth", func(p *PeerConfig) {
			rsaGW(x)(p, nil)
			p.Local.Certificates, p.Local.Key = []*x509.Certificate{x.ecdsaServer}, x.ecdsaServerKey
		}, "RSA keys only"},
		{"ECDSA certificate, hybrid", func(p *PeerConfig) {
			hybridGW(x)(p, nil)
			p.Local.Certificates, p.Local.Key = []*x509.Certificate{x.ecdsaServer}, x.ecdsaServerKey
		}, "RSA keys only"},
		{"ECDSA certificate, any version", func(p *PeerConfig) { // RFC 4754 signatures
			rsaGW(x)(p, nil)
			p.Remote.XAuthPassword = nil
			p.Version = VersionAny
			p.Local.Certificates, p.Local.Key = []*x509.Certificate{x.ecdsaServer}, x.ecdsaServerKey
		}, ""},
		{"hybrid without XAuthPassword", func(p *PeerConfig) {
			hybridGW(x)(p, nil)
			p.Remote.XAuthPassword = nil
		}, "xauth (hybrid)"},
		{"hybrid with IKEv2", func(p *PeerConfig) {
			hybridGW(x)(p, nil)
			p.Version = VersionIKEv2
		}, "xauth (hybrid)"},
		{"hybrid with a local PSK", func(p *PeerConfig) {
			p.Remote = AuthConfig{Method: AuthXAuth, XAuthPassword: xauth}
		}, "xauth (hybrid)"},
		{"xauth as local auth", func(p *PeerConfig) {
			p.Local = AuthConfig{Method: AuthXAuth, XAuthPassword: xauth}
			p.Remote = AuthConfig{Method: AuthPubKey, CAs: []*x509.Certificate{x.ca.Cert}}
		}, "xauth (hybrid)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool, err := NewPool("rw4", netip.MustParsePrefix("198.18.200.0/28"))
			if err != nil {
				t.Fatal(err)
			}
			p := &PeerConfig{Name: "rw", Version: VersionIKEv1,
				Local:  AuthConfig{Method: AuthPSK, PSK: testPSK},
				Remote: AuthConfig{Method: AuthPSK, PSK: testPSK, XAuthPassword: xauth},
				Pools:  []string{"rw4"},
				Children: []*ChildConfig{{Name: "rw", LocalTS: testSubnets,
					ESPProposals: MustParseProposals("aes256-sha256", wire.ProtocolESP)}}}
			tc.change(p)
			m, err := NewManager(Config{Peers: []*PeerConfig{p}, Pools: Pools{pool}, Dataplane: newRecDP(2), Sender: &capture{},
				Rand: newDetRand(7), Logger: testLogger(t)})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				m.Close()
				return
			}
			if err == nil {
				m.Close()
				t.Fatalf("accepted, want an error about %s", tc.want)
			}
			if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tc.want)) {
				t.Errorf("error %q, want one about %s", err, tc.want)
			}
		})
	}
}

// TestV1MainModePicksConnection: Main Mode picks the connection before the
// client's identity is known, by the authentication method and proposals
// it offers: a hybrid client and a PSK client of one gateway (a PSK
// connection first, a hybrid one second) each get their own.
func TestV1MainModePicksConnection(t *testing.T) {
	x := v1Certs(t)
	gw := newV1GW(t, func(p *PeerConfig, cfg *Config) {
		h := &PeerConfig{Name: "hybrid", Version: VersionIKEv1, Pools: p.Pools, DNS: p.DNS, Children: p.Children,
			Remote: AuthConfig{XAuthPassword: p.Remote.XAuthPassword}}
		hybridGW(x)(h, cfg)
		cfg.Peers = append(cfg.Peers, h)
	})
	hc := newV1rw(t, gw, wire.V1AuthHybridInitRSA)
	hc.establish()
	pc := newV1rw(t, gw, wire.V1AuthXAuthInitPSK)
	pc.rnd, pc.ckyI, pc.addr = newDetRand(51), 0x5151515151515151, netip.MustParseAddrPort("192.0.2.51:500")
	pc.establish()
	byCookie := map[uint64]string{}
	for _, sa := range gw.m.SAs() {
		byCookie[sa.SPIi] = sa.Peer
	}
	if byCookie[hc.ckyI] != "hybrid" || byCookie[pc.ckyI] != "rw" {
		t.Fatalf("connections %v: want the hybrid client on hybrid, the PSK client on rw", byCookie)
	}
}
