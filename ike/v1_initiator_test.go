package ike

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike/wire"
	"github.com/ikego/ikego/pki"
)

// v1Pair is our IKEv1 initiator and our IKEv1 responder, back to back on
// a controlled clock.
type v1Pair struct {
	t        *testing.T
	clock    *testClock
	i, r     *Manager
	ic, rc   *capture
	idp, rdp *recDP
	ievs     *[]Event
	revs     *[]Event
}

func newV1Pair(t *testing.T, pfs bool, opts ...func(i, r *PeerConfig)) *v1Pair {
	t.Helper()
	clock := &testClock{t: time.Unix(1_700_000_000, 0)}
	esps := "aes256-sha256, aes128gcm16"
	if pfs {
		esps = "aes256-sha256-modp2048"
	}
	site := []esp.Selector{esp.SelectorFromPrefix(netip.MustParsePrefix("198.18.2.0/24"))}
	child := func(local, remote []esp.Selector) []*ChildConfig {
		return []*ChildConfig{
			{Name: "net1", LocalTS: local[:1], RemoteTS: remote[:1], ESPProposals: MustParseProposals(esps, wire.ProtocolESP), Strict: true},
		}
	}
	ip := &PeerConfig{Name: "net", Version: VersionIKEv1, RemoteHost: respAddr, LocalAddr: initAddr.Addr(),
		Local:    AuthConfig{Method: AuthPSK, ID: mustID(t, "left.example.com"), PSK: testPSK},
		Remote:   AuthConfig{Method: AuthPSK, ID: mustID(t, "vpn.example.com"), PSK: testPSK},
		Children: child(site, testSubnets)}
	rp := &PeerConfig{Name: "net", Version: VersionIKEv1,
		Local:    AuthConfig{Method: AuthPSK, ID: mustID(t, "vpn.example.com"), PSK: testPSK},
		Remote:   AuthConfig{Method: AuthPSK, ID: mustID(t, "left.example.com"), PSK: testPSK},
		Children: child(testSubnets, site)}
	for _, o := range opts {
		o(ip, rp)
	}
	p := &v1Pair{t: t, clock: clock, ic: &capture{}, rc: &capture{}, idp: newRecDP(1), rdp: newRecDP(2),
		ievs: &[]Event{}, revs: &[]Event{}}
	mk := func(peer *PeerConfig, dp *recDP, c *capture, evs *[]Event, seed byte) *Manager {
		m, err := NewManager(Config{Peers: []*PeerConfig{peer}, Dataplane: dp, Sender: c, Rand: newDetRand(seed), Now: clock.Now,
			OnEvent: func(e Event) { *evs = append(*evs, e) }})
		if err != nil {
			t.Fatal(err)
		}
		m.manualTimers = true
		return m
	}
	p.i = mk(ip, p.idp, p.ic, p.ievs, 41)
	p.r = mk(rp, p.rdp, p.rc, p.revs, 42)
	return p
}

// shuttle delivers datagrams both ways until none are left.
func (p *v1Pair) shuttle() {
	for range 64 {
		moved := false
		for _, d := range [2]struct {
			from *capture
			to   *Manager
		}{{p.ic, p.r}, {p.rc, p.i}} {
			for _, in := range d.from.take() {
				moved = true
				data := in.data
				if in.ep.Local.Port() == esp.NATTPort && len(data) > 4 {
					data = data[4:] // the non-ESP marker the Manager added
				}
				d.to.receive(data, esp.Endpoint{Local: in.ep.Remote, Remote: in.ep.Local})
			}
		}
		if !moved {
			// Due timers: the initiator starts its Quick Modes from one.
			p.i.tick()
			p.r.tick()
			if len(p.ic.out)+len(p.rc.out) == 0 {
				return
			}
		}
	}
	p.t.Fatal("datagrams never stop")
}

func count(evs []Event, k EventKind) int {
	n := 0
	for _, e := range evs {
		if e.Kind == k {
			n++
		}
	}
	return n
}

// pairedKeys fails unless every outbound SA of one side is an inbound SA
// of the other with the same algorithms and keys.
func (p *v1Pair) pairedKeys() {
	p.t.Helper()
	for _, dirs := range [2][2]*recDP{{p.idp, p.rdp}, {p.rdp, p.idp}} {
		from, to := dirs[0], dirs[1]
		from.mu.Lock()
		to.mu.Lock()
		for spi, out := range from.out {
			in, ok := to.in[spi]
			if !ok || in.Encr != out.Encr || in.Integ != out.Integ || !bytes.Equal(in.EncrKey, out.EncrKey) ||
				!bytes.Equal(in.IntegKey, out.IntegKey) || in.Mode != out.Mode {
				p.t.Errorf("outbound SA %08x has no matching inbound SA", spi)
			}
		}
		to.mu.Unlock()
		from.mu.Unlock()
	}
}

// TestV1InitiatorToResponder: our IKEv1 initiator (Main Mode PSK, Quick
// Mode with and without PFS) against our responder: both come up, the
// CHILD_SA keys pair up, a rekey by the initiator replaces the CHILD_SA on
// both sides, and the initiator's delete ends both.
func TestV1InitiatorToResponder(t *testing.T) {
	for _, pfs := range []bool{false, true} {
		p := newV1Pair(t, pfs)
		if err := p.i.Initiate("net"); err != nil {
			t.Fatal(err)
		}
		p.shuttle()
		for name, evs := range map[string][]Event{"initiator": *p.ievs, "responder": *p.revs} {
			if count(evs, EventIKEUp) != 1 || count(evs, EventChildUp) != 1 {
				t.Fatalf("pfs %v: %s events %+v", pfs, name, evs)
			}
		}
		sa := p.i.SAs()[0]
		if sa.Version != 1 || !sa.Initiator || sa.RemoteID.String() != "vpn.example.com" || len(sa.Children) != 1 {
			t.Fatalf("pfs %v: initiator SA %+v", pfs, sa)
		}
		if got := sa.Children[0].Proposal.Group() != 0; got != pfs {
			t.Errorf("pfs %v: CHILD_SA proposal %v", pfs, sa.Children[0].Proposal)
		}
		p.pairedKeys()
		old := sa.Children[0]
		if n := p.i.Rekey("net"); n != 1 {
			t.Fatalf("Rekey: %d", n)
		}
		p.shuttle()
		sa = p.i.SAs()[0]
		if len(sa.Children) != 1 || sa.Children[0].InSPI == old.InSPI {
			t.Fatalf("pfs %v: after the rekey: %+v", pfs, sa.Children)
		}
		if rs := p.r.SAs()[0]; len(rs.Children) != 1 || rs.Children[0].OutSPI != sa.Children[0].InSPI {
			t.Fatalf("pfs %v: responder after the rekey: %+v", pfs, rs.Children)
		}
		p.pairedKeys()
		if p.i.Terminate("net") != 1 {
			t.Fatal("Terminate")
		}
		p.shuttle()
		if len(p.i.SAs())+len(p.r.SAs()) != 0 {
			t.Fatalf("pfs %v: SAs left: %+v %+v", pfs, p.i.SAs(), p.r.SAs())
		}
		for _, dp := range []*recDP{p.idp, p.rdp} {
			if a, b, c, _ := dp.counts(); a+b+c != 0 {
				t.Errorf("pfs %v: dataplane left %d policies, %d in, %d out", pfs, a, b, c)
			}
		}
	}
}

// TestV1InitiatorFailures: a PSK mismatch fails the initiator's SA (after
// message 6 does not verify) and leaves nothing; a responder without the
// initiator's proposals answers NO-PROPOSAL-CHOSEN, which ends the attempt.
func TestV1InitiatorFailures(t *testing.T) {
	p := newV1Pair(t, false, func(i, r *PeerConfig) {
		r.Local.PSK, r.Remote.PSK = []byte("another-psk-0123456789"), []byte("another-psk-0123456789")
	})
	if err := p.i.Initiate("net"); err != nil {
		t.Fatal(err)
	}
	p.shuttle()
	if count(*p.ievs, EventIKEUp)+count(*p.revs, EventIKEUp) != 0 {
		t.Fatalf("up with different PSKs: %+v %+v", *p.ievs, *p.revs)
	}
	if len(p.r.SAs()) != 0 {
		t.Errorf("responder kept %+v", p.r.SAs())
	}
	p = newV1Pair(t, false, func(i, r *PeerConfig) {
		i.IKEProposals, i.Strict = MustParseProposals("aes128-sha1-modp2048", wire.ProtocolIKE), true
		r.IKEProposals, r.Strict = MustParseProposals("aes256-sha512-ecp384", wire.ProtocolIKE), true
	})
	if err := p.i.Initiate("net"); err != nil {
		t.Fatal(err)
	}
	p.shuttle()
	if len(p.r.SAs()) != 0 || count(*p.ievs, EventIKEUp) != 0 {
		t.Fatalf("SAs with disjoint proposals: %+v %+v", p.i.SAs(), p.r.SAs())
	}
	// The responder's NO-PROPOSAL-CHOSEN ends the attempt at once.
	if len(p.i.SAs()) != 0 || count(*p.ievs, EventIKEDown) != 1 {
		t.Fatalf("initiator after the refusal: %+v, events %+v", p.i.SAs(), *p.ievs)
	}
}

// TestV1InitiatorReauth: at its reauthentication time our initiator makes a
// new ISAKMP SA with new Quick Modes for its CHILD_SAs, make before break:
// the old SA and its CHILD_SAs stay a while, then go with their deletes;
// our responder took the new Quick Mode as the rekey of the CHILD_SA it
// had moved to the new SA.
func TestV1InitiatorReauth(t *testing.T) {
	p := newV1Pair(t, false, func(i, _ *PeerConfig) { i.ReauthTime = time.Hour })
	if err := p.i.Initiate("net"); err != nil {
		t.Fatal(err)
	}
	p.shuttle()
	before := p.i.SAs()
	if len(before) != 1 || len(before[0].Children) != 1 {
		t.Fatalf("initiator %+v", before)
	}
	p.clock.advance(55 * time.Minute) // past the reauthentication time, before the lifetime
	p.i.tick()
	p.shuttle()
	if n := len(p.i.SAs()); n != 2 {
		t.Fatalf("initiator: %d IKE SAs during the overlap, want 2", n)
	}
	p.pairedKeys()
	p.clock.advance(v1ReauthOverlap)
	p.i.tick()
	p.shuttle()
	sas := p.i.SAs()
	if len(sas) != 1 || sas[0].SPIi == before[0].SPIi || len(sas[0].Children) != 1 || sas[0].Children[0].InSPI == before[0].Children[0].InSPI {
		t.Fatalf("initiator after the reauthentication: %+v", sas)
	}
	rs := p.r.SAs()
	if len(rs) != 1 || rs[0].SPIi != sas[0].SPIi {
		t.Fatalf("responder after the reauthentication: %+v", rs)
	}
	found := false
	for _, c := range rs[0].Children {
		found = found || c.OutSPI == sas[0].Children[0].InSPI
	}
	if !found {
		t.Errorf("responder lacks the new CHILD_SA: %+v", rs[0].Children)
	}
	if a, b, c, _ := p.idp.counts(); a != 1 || b != 1 || c != 1 {
		t.Errorf("initiator dataplane %d policies, %d in, %d out, want 1 each", a, b, c)
	}
	p.pairedKeys()
}

// FuzzV1Initiator runs our IKEv1 initiator against our responder for some
// rounds of datagrams, then hands the initiator a hostile datagram with
// the SA's cookies (the fuzzed octets after them), then lets both finish
// and run their timers. Nothing may panic, whatever the initiator was
// waiting for (Main Mode message 2, 4 or 6, Aggressive Mode message 2,
// XAuth, Mode Config, a Quick Mode answer). The bits of rounds above 7
// choose PFS, Aggressive Mode, XAuth with Mode Config, and push.
func FuzzV1Initiator(f *testing.F) {
	hdr := func(ex wire.V1Exchange, flags wire.V1Flags, next wire.V1PayloadType, id uint32, body []byte) []byte {
		b := []byte{byte(next), 0x10, byte(ex), byte(flags)}
		b = append(b, byte(id>>24), byte(id>>16), byte(id>>8), byte(id))
		b = append(b, 0, 0, 0, 0) // length, fixed by the fuzz function
		return append(b, body...)
	}
	for rounds := range uint8(5) {
		f.Add(rounds, hdr(wire.V1ExchangeIDProt, 0, wire.V1PayloadSA, 0, []byte{0, 0, 0, 8, 0, 0, 0, 1}))
		f.Add(rounds, hdr(wire.V1ExchangeIDProt, 0, wire.V1PayloadKE, 0, []byte{0, 0, 0, 36, 1, 2, 3}))
		f.Add(rounds, hdr(wire.V1ExchangeIDProt, wire.V1FlagEncryption, wire.V1PayloadID, 0, make([]byte, 32)))
		f.Add(rounds, hdr(wire.V1ExchangeQuickMode, wire.V1FlagEncryption, wire.V1PayloadHash, 7, make([]byte, 48)))
		f.Add(rounds, hdr(wire.V1ExchangeInformational, 0, wire.V1PayloadNotify, 0, []byte{0, 0, 0, 12, 0, 0, 0, 1, 1, 0, 0, 14}))
		f.Add(rounds|16, hdr(wire.V1ExchangeAggressive, 0, wire.V1PayloadSA, 0, []byte{4, 0, 0, 8, 0, 0, 0, 1, 10, 0, 0, 8, 1, 2, 3, 4}))
		f.Add(rounds|32|64, hdr(wire.V1ExchangeTransaction, wire.V1FlagEncryption, wire.V1PayloadHash, 9, make([]byte, 48)))
	}
	f.Fuzz(func(t *testing.T, rounds uint8, tail []byte) {
		p := newV1Pair(t, rounds&8 != 0, func(i, r *PeerConfig) {
			if rounds&16 != 0 {
				group := mustID(t, "keyid:fuzz-group")
				i.Aggressive, i.Local.ID, r.Aggressive, r.Remote.ID = true, group, true, group
				i.IKEProposals = MustParseProposals("aes256-sha256-modp2048", wire.ProtocolIKE)
			}
			if rounds&32 != 0 {
				i.Local.XAuthUser, i.Local.XAuthSecret = "bob", []byte("bob-secret")
				r.Remote.XAuthPassword = func(u string) (string, bool) { return "bob-secret", u == "bob" }
				i.RequestVIP = true
				i.ModeConfigPush, r.ModeConfigPush = rounds&64 != 0, rounds&64 != 0
			}
		})
		if err := p.i.Initiate("net"); err != nil {
			t.Fatal(err)
		}
		for range rounds % 8 {
			for _, in := range p.ic.take() {
				p.r.receive(in.data, esp.Endpoint{Local: in.ep.Remote, Remote: in.ep.Local})
			}
			for _, in := range p.rc.take() {
				p.i.receive(in.data, esp.Endpoint{Local: in.ep.Remote, Remote: in.ep.Local})
			}
		}
		sas := p.i.SAs()
		if len(sas) != 1 || len(tail) < 12 {
			return
		}
		msg := binary.BigEndian.AppendUint64(nil, sas[0].SPIi)
		msg = binary.BigEndian.AppendUint64(msg, sas[0].SPIr)
		msg = append(msg, tail...)
		binary.BigEndian.PutUint32(msg[24:], uint32(len(msg)))
		p.i.receive(msg, esp.Endpoint{Local: sas[0].Local, Remote: sas[0].Remote})
		p.shuttle()
		p.clock.advance(time.Minute)
		p.i.tick()
		p.r.tick()
	})
}

// TestV1InitiatorTrap: start action trap (route) with an IKEv1 peer: the
// trap policy is installed without a negotiation, the first packet's
// Acquire starts Main Mode (once for two packets), the CHILD_SA carries
// the trap policy, and after a delete the trap is back.
func TestV1InitiatorTrap(t *testing.T) {
	p := newV1Pair(t, false, func(i, _ *PeerConfig) { i.StartAction = StartTrap })
	p.i.installTraps((*p.i.peers.Load())[0])
	if len(p.ic.out) != 0 {
		t.Fatal("the trap negotiated before any traffic")
	}
	p.idp.mu.Lock()
	var trap uint32
	for id, pol := range p.idp.policies {
		if pol.Action == esp.ActionTrap {
			trap = id
		}
	}
	n := len(p.idp.policies)
	p.idp.mu.Unlock()
	if trap == 0 || n != 1 {
		t.Fatalf("no trap policy (%d policies)", n)
	}
	p.i.dataplaneEvent(esp.Event{Kind: esp.EventAcquire, PolicyID: trap})
	p.i.dataplaneEvent(esp.Event{Kind: esp.EventAcquire, PolicyID: trap})
	if sas := p.i.SAs(); len(sas) != 1 || sas[0].Version != 1 {
		t.Fatalf("after two acquires: %+v", sas)
	}
	p.shuttle()
	sas := p.i.SAs()
	if len(sas) != 1 || sas[0].State != StateEstablished || len(sas[0].Children) != 1 || sas[0].Children[0].Policy != trap {
		t.Fatalf("after the acquire: %+v (trap policy %d)", sas, trap)
	}
	p.pairedKeys()
	p.idp.mu.Lock()
	_, ok := p.idp.out[sas[0].Children[0].OutSPI]
	p.idp.mu.Unlock()
	if !ok {
		t.Fatal("no outbound SA on the trap policy")
	}
	p.i.Terminate("net")
	p.shuttle()
	p.idp.mu.Lock()
	pol, ok := p.idp.policies[trap]
	nIn, nOut := len(p.idp.in), len(p.idp.out)
	p.idp.mu.Unlock()
	if !ok || pol.Action != esp.ActionTrap || nIn != 0 || nOut != 0 {
		t.Errorf("after the delete: trap policy %v %v, %d inbound and %d outbound SAs", ok, pol.Action, nIn, nOut)
	}
}

// TestV1InitiatorDPDActions: the responder stops answering; the
// initiator's R-U-THEREs go unanswered, and its DPD action follows:
// restart sends a new Main Mode at once, hold leaves a trap policy and no
// IKE SA, clear leaves nothing.
func TestV1InitiatorDPDActions(t *testing.T) {
	for _, action := range []DPDAction{DPDClear, DPDHold, DPDRestart} {
		t.Run(action.String(), func(t *testing.T) {
			p := newV1Pair(t, false, func(i, _ *PeerConfig) { i.DPDDelay, i.DPDAction = 10*time.Second, action })
			if err := p.i.Initiate("net"); err != nil {
				t.Fatal(err)
			}
			p.shuttle()
			if sas := p.i.SAs(); len(sas) != 1 || sas[0].State != StateEstablished {
				t.Fatalf("initiator %+v", sas)
			}
			// The responder is gone: what the initiator sends is lost.
			var sent []inbound
			for range 200 {
				p.clock.advance(time.Second)
				p.i.tick()
				sent = append(sent, p.ic.take()...)
				if sas := p.i.SAs(); len(sas) == 0 || sas[0].State != StateEstablished {
					break
				}
			}
			if len(sent) < 2 {
				t.Fatalf("%d datagrams: no R-U-THERE retransmitted", len(sent))
			}
			sas := p.i.SAs()
			p.idp.mu.Lock()
			traps := 0
			for _, pol := range p.idp.policies {
				if pol.Action == esp.ActionTrap {
					traps++
				}
			}
			nPol, nIn, nOut := len(p.idp.policies), len(p.idp.in), len(p.idp.out)
			p.idp.mu.Unlock()
			if nIn != 0 || nOut != 0 {
				t.Errorf("%d inbound and %d outbound SAs left", nIn, nOut)
			}
			switch action {
			case DPDRestart:
				// The last datagram is a new Main Mode message 1: no
				// responder cookie, exchange 2 (identity protection).
				last := sent[len(sent)-1].data
				if len(sas) != 1 || sas[0].State != StateConnecting || len(last) < 28 ||
					!bytes.Equal(last[8:16], make([]byte, 8)) || last[18] != byte(wire.V1ExchangeIDProt) {
					t.Errorf("restart: SAs %+v, last datagram %x", sas, last)
				}
			case DPDHold:
				if len(sas) != 0 || traps != 1 || nPol != 1 {
					t.Errorf("hold: SAs %+v, %d policies, %d traps", sas, nPol, traps)
				}
			case DPDClear:
				if len(sas) != 0 || nPol != 0 {
					t.Errorf("clear: SAs %+v, %d policies", sas, nPol)
				}
			}
		})
	}
}

// TestV1InitiatorXAuthClient: our IKEv1 initiator as an XAuth client of
// our gateway: it proposes XAUTHInitPreShared, answers the XAuth request
// with its account, gets a virtual IP by Mode Config pull (or, with
// ModeConfigPush on both ends, by the gateway's push), and its Quick Mode
// comes from that address; a wrong secret is refused and nothing is up.
func TestV1InitiatorXAuthClient(t *testing.T) {
	for _, tc := range []struct {
		name   string
		push   bool
		secret string
	}{{"pull", false, "bob-secret"}, {"push", true, "bob-secret"}, {"wrong secret", false, "not-bob's"}} {
		t.Run(tc.name, func(t *testing.T) {
			pool, err := NewPool("rw4", netip.MustParsePrefix("198.18.200.0/28"))
			if err != nil {
				t.Fatal(err)
			}
			var rp *PeerConfig
			p := newV1Pair(t, false, func(i, r *PeerConfig) {
				i.Local.XAuthUser, i.Local.XAuthSecret = "bob", []byte(tc.secret)
				i.RequestVIP, i.ModeConfigPush = true, tc.push
				i.Children[0].LocalTS = nil
				r.Remote.XAuthPassword = func(u string) (string, bool) { return "bob-secret", u == "bob" }
				r.ModeConfigPush = tc.push
				r.Children[0].RemoteTS = nil
				rp = r
			})
			rp.Pools = []string{"rw4"} // with the pool, which NewManager did not have
			if err := p.r.Update([]*PeerConfig{rp}, Pools{pool}); err != nil {
				t.Fatal(err)
			}
			if err := p.i.Initiate("net"); err != nil {
				t.Fatal(err)
			}
			p.shuttle()
			if tc.secret != "bob-secret" {
				for name, m := range map[string]*Manager{"initiator": p.i, "responder": p.r} {
					if sas := m.SAs(); len(sas) != 0 {
						t.Errorf("%s after a refused XAuth: %+v", name, sas)
					}
				}
				if count(*p.ievs, EventChildUp) != 0 || pool.Online() != 0 {
					t.Errorf("a CHILD_SA or a lease after a refused XAuth")
				}
				return
			}
			is, rs := p.i.SAs(), p.r.SAs()
			if len(is) != 1 || is[0].State != StateEstablished || len(is[0].VIPs) != 1 || len(is[0].Children) != 1 {
				t.Fatalf("initiator %+v", is)
			}
			vip := is[0].VIPs[0]
			if !pool.Contains(vip) || len(rs) != 1 || rs[0].XAuthUser != "bob" || len(rs[0].VIPs) != 1 || rs[0].VIPs[0] != vip {
				t.Fatalf("VIP %v; responder %+v", vip, rs)
			}
			if ts := is[0].Children[0].LocalTS; len(ts) != 1 || ts[0] != hostSelector(vip) {
				t.Errorf("the CHILD_SA is from %v, want the virtual IP %v", ts, vip)
			}
			if count(*p.revs, EventChildUp) != 1 {
				t.Errorf("responder events %+v", *p.revs)
			}
			p.pairedKeys()
		})
	}
}

// TestV1InitiatorAggressive: our initiator in Aggressive Mode with a group
// name as identity (keyid:GROUP) against our gateway: with the PSK alone,
// and with XAuth and a pushed virtual IP, as Cisco-style clients connect;
// a wrong PSK is refused (HASH_R does not verify).
func TestV1InitiatorAggressive(t *testing.T) {
	for _, tc := range []struct {
		name  string
		xauth bool
		psk   string
	}{{"psk", false, string(testPSK)}, {"xauth and push", true, string(testPSK)}, {"wrong psk", false, "not-the-group-key-0123"}} {
		t.Run(tc.name, func(t *testing.T) {
			group := mustID(t, "keyid:ikego-group")
			pool, err := NewPool("rw4", netip.MustParsePrefix("198.18.200.0/28"))
			if err != nil {
				t.Fatal(err)
			}
			var rp *PeerConfig
			p := newV1Pair(t, false, func(i, r *PeerConfig) {
				i.Aggressive, i.Local.ID, i.Local.PSK, i.Remote.PSK = true, group, []byte(tc.psk), []byte(tc.psk)
				i.IKEProposals = MustParseProposals("aes256-sha256-modp2048, aes128-sha1-modp2048", wire.ProtocolIKE)
				r.Aggressive, r.Remote.ID = true, group
				if tc.xauth {
					i.Local.XAuthUser, i.Local.XAuthSecret = "bob", []byte("bob-secret")
					i.RequestVIP, i.ModeConfigPush = true, true
					i.Children[0].LocalTS = nil
					r.Remote.XAuthPassword = func(u string) (string, bool) { return "bob-secret", u == "bob" }
					r.ModeConfigPush = true
					r.Children[0].RemoteTS = nil
				}
				rp = r
			})
			if tc.xauth {
				rp.Pools = []string{"rw4"}
				if err := p.r.Update([]*PeerConfig{rp}, Pools{pool}); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.i.Initiate("net"); err != nil {
				t.Fatal(err)
			}
			first := p.ic.out[0].data
			if len(first) < 28 || first[18] != byte(wire.V1ExchangeAggressive) {
				t.Fatalf("first message %x is not Aggressive Mode", first)
			}
			p.shuttle()
			is, rs := p.i.SAs(), p.r.SAs()
			if tc.psk != string(testPSK) {
				if len(is) != 0 && is[0].State == StateEstablished || count(*p.ievs, EventChildUp) != 0 {
					t.Errorf("up with a wrong PSK: %+v", is)
				}
				return
			}
			if len(is) != 1 || is[0].State != StateEstablished || len(is[0].Children) != 1 || len(rs) != 1 ||
				rs[0].RemoteID.String() != "keyid:ikego-group" {
				t.Fatalf("initiator %+v\nresponder %+v", is, rs)
			}
			if tc.xauth {
				if len(is[0].VIPs) != 1 || !pool.Contains(is[0].VIPs[0]) || rs[0].XAuthUser != "bob" {
					t.Errorf("XAuth and push: VIPs %v, user %q", is[0].VIPs, rs[0].XAuthUser)
				}
			}
			p.pairedKeys()
		})
	}
}

// TestV1InitiatorECDSA: Main Mode with ECDSA certificates on both ends
// (RFC 4754: methods 9 and 10, r and s over HASH_I and HASH_R) between our
// initiator and our gateway; an initiator with an ECDSA key and a gateway
// with an RSA one cannot agree on a method and nothing comes up.
func TestV1InitiatorECDSA(t *testing.T) {
	x := v1Certs(t)
	issue := func(kt pki.KeyType, cn string, profile pki.Profile) (*x509.Certificate, crypto.Signer) {
		c, k, err := x.ca.Issue(pki.Request{Profile: profile, Subject: "C=US, O=ikego-test, CN=" + cn, Names: []string{cn}, KeyType: kt})
		if err != nil {
			t.Fatal(err)
		}
		return c, k
	}
	for _, tc := range []struct {
		name     string
		client   pki.KeyType
		server   pki.KeyType
		method   wire.V1AuthMethod
		accepted bool
	}{
		{"P-256", pki.KeyTypeECDSAP256, pki.KeyTypeECDSAP256, wire.V1AuthECDSA256, true},
		{"P-384", pki.KeyTypeECDSAP384, pki.KeyTypeECDSAP384, wire.V1AuthECDSA384, true},
		{"ECDSA client, RSA gateway", pki.KeyTypeECDSAP256, pki.KeyTypeRSA2048, wire.V1AuthECDSA256, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc, ck := issue(tc.client, "site.example.com", pki.ProfileClient)
			sc, sk := issue(tc.server, "vpn.example.com", pki.ProfileServer)
			p := newV1Pair(t, false, func(i, r *PeerConfig) {
				i.Local = AuthConfig{Method: AuthPubKey, Certificates: []*x509.Certificate{cc}, Key: ck}
				i.Remote = AuthConfig{Method: AuthPubKey, ID: mustID(t, "C=US, O=ikego-test, CN=vpn.example.com"), CAs: []*x509.Certificate{x.ca.Cert}}
				r.Local = AuthConfig{Method: AuthPubKey, Certificates: []*x509.Certificate{sc}, Key: sk}
				r.Remote = AuthConfig{Method: AuthPubKey, ID: mustID(t, "C=US, O=ikego-test, CN=site.example.com"), CAs: []*x509.Certificate{x.ca.Cert}}
			})
			if err := p.i.Initiate("net"); err != nil {
				t.Fatal(err)
			}
			// Main Mode message 1 offers the method of the client's key.
			m, err := wire.ParseV1(p.ic.out[0].data)
			if err != nil {
				t.Fatal(err)
			}
			sa, _ := wire.FindV1[*wire.V1SA](m.Payloads)
			c, err := v1Phase1Transform(sa.Proposals[0].Transforms[0])
			if err != nil || c.auth != tc.method {
				t.Fatalf("offered method %v (%v), want %v", c.auth, err, tc.method)
			}
			p.shuttle()
			is, rs := p.i.SAs(), p.r.SAs()
			if !tc.accepted {
				if count(*p.ievs, EventChildUp) != 0 || len(rs) != 0 && rs[0].State == StateEstablished {
					t.Fatalf("up with mismatched keys: %+v %+v", is, rs)
				}
				return
			}
			if len(is) != 1 || is[0].State != StateEstablished || len(is[0].Children) != 1 || len(rs) != 1 ||
				rs[0].RemoteID.String() != "C=US, O=ikego-test, CN=site.example.com" || is[0].RemoteID.String() != "C=US, O=ikego-test, CN=vpn.example.com" {
				t.Fatalf("initiator %+v\nresponder %+v", is, rs)
			}
			p.pairedKeys()
		})
	}
}
