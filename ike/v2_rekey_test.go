package ike

import (
	"fmt"
	"testing"
	"time"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike/wire"
)

// TestSessionRekeyChild rekeys the CHILD_SA from both ends in turn, with
// and without PFS: after each rekey there is exactly one CHILD_SA, its SAs
// pair up, the policy is the same, and the old SAs are gone.
func TestSessionRekeyChild(t *testing.T) {
	for _, pfs := range []string{"aes128gcm16", "aes128gcm16-ecp256"} {
		t.Run(pfs, func(t *testing.T) {
			client, gw, pools := pskPeers(t)
			for _, c := range []*ChildConfig{client.Children[0], gw.Children[0]} {
				c.ESPProposals, c.Strict = MustParseProposals(pfs, wire.ProtocolESP), true
			}
			p := newPair(t, client, gw, pools)
			p.establish("home")
			policies := func(d *recDP) []uint32 {
				d.mu.Lock()
				defer d.mu.Unlock()
				var ids []uint32
				for id := range d.policies {
					ids = append(ids, id)
				}
				return ids
			}
			pi, pr := policies(p.i.dp), policies(p.r.dp)
			seen := map[uint32]bool{}
			for round := range 6 {
				from, name := p.i, "home"
				if round%2 == 1 {
					from, name = p.r, "rw"
				}
				old := from.m.SAs()[0].Children[0]
				if n := from.m.Rekey(name); n != 1 {
					t.Fatalf("round %d: Rekey started %d", round, n)
				}
				p.run()
				for _, s := range []*side{p.i, p.r} {
					sa := s.m.SAs()[0]
					if len(sa.Children) != 1 {
						t.Fatalf("round %d: %s has %d CHILD_SAs", round, s.name, len(sa.Children))
					}
					c := sa.Children[0]
					if seen[c.InSPI] || c.InSPI == old.InSPI || c.OutSPI == old.OutSPI {
						t.Fatalf("round %d: %s kept an old SPI: %08x/%08x, old %08x/%08x", round, s.name, c.InSPI, c.OutSPI, old.InSPI, old.OutSPI)
					}
					seen[c.InSPI] = true
					if pfs != "aes128gcm16" && c.Proposal.Group() == 0 {
						t.Errorf("round %d: no PFS group in %v", round, c.Proposal)
					}
				}
				if checkChildren(t, p.i.dp, p.r.dp) != 1 || checkChildren(t, p.r.dp, p.i.dp) != 1 {
					t.Fatalf("round %d: SAs do not pair up", round)
				}
				if a, b := policies(p.i.dp), policies(p.r.dp); len(a) != 1 || len(b) != 1 || a[0] != pi[0] || b[0] != pr[0] {
					t.Fatalf("round %d: policies changed: %v %v, were %v %v", round, a, b, pi, pr)
				}
			}
			if n := len(p.i.events(EventChildUp)); n != 7 {
				t.Errorf("%d child-up events, want 7", n)
			}
		})
	}
}

// TestSessionRekeyMakeBeforeBreak checks the order of a rekey as the
// responder: after its response it has both inbound SAs and still sends on
// the old outbound SA; when the initiator's delete arrives it sends on the
// new one and the old inbound SA is gone.
func TestSessionRekeyMakeBeforeBreak(t *testing.T) {
	client, gw, pools := pskPeers(t)
	p := newPair(t, client, gw, pools)
	p.establish("home")
	old := p.r.m.SAs()[0].Children[0]
	var held []inbound
	p.filter = func(from *side, ds []inbound) []inbound {
		if from == p.i {
			for _, d := range ds {
				if h, err := wire.ParseHeader(d.data); err == nil && h.Exchange == wire.ExchangeInformational {
					held = append(held, d)
					continue
				}
				return ds
			}
			return nil
		}
		return ds
	}
	p.i.m.Rekey("home")
	p.run()
	if len(held) == 0 {
		t.Fatal("the initiator sent no delete")
	}
	p.r.dp.mu.Lock()
	_, oldIn := p.r.dp.in[old.InSPI]
	_, oldOut := p.r.dp.out[old.OutSPI]
	nIn, nOut := len(p.r.dp.in), len(p.r.dp.out)
	p.r.dp.mu.Unlock()
	if !oldIn || !oldOut || nIn != 2 || nOut != 1 {
		t.Fatalf("before the delete the responder has old in %v, old out %v, %d in, %d out", oldIn, oldOut, nIn, nOut)
	}
	p.filter = nil
	for _, d := range held {
		p.r.m.receive(d.data, esp.Endpoint{Local: d.ep.Remote, Remote: d.ep.Local})
	}
	p.run()
	p.r.dp.mu.Lock()
	_, oldIn = p.r.dp.in[old.InSPI]
	_, oldOut = p.r.dp.out[old.OutSPI]
	nIn, nOut = len(p.r.dp.in), len(p.r.dp.out)
	p.r.dp.mu.Unlock()
	if oldIn || oldOut || nIn != 1 || nOut != 1 {
		t.Fatalf("after the delete the responder has old in %v, old out %v, %d in, %d out", oldIn, oldOut, nIn, nOut)
	}
	if checkChildren(t, p.i.dp, p.r.dp) != 1 || checkChildren(t, p.r.dp, p.i.dp) != 1 {
		t.Fatal("SAs do not pair up")
	}
}

// TestSessionRekeyIKE rekeys the IKE SA from both ends in turn: the new
// IKE SA has new SPIs and keys, the CHILD_SA and the virtual IP move to it
// untouched, the old IKE SA is gone on both sides, and a CHILD_SA rekey
// and a delete work on the new one.
func TestSessionRekeyIKE(t *testing.T) {
	client, gw, pools := pskPeers(t)
	p := newPair(t, client, gw, pools)
	p.establish("home")
	first := p.r.m.SAs()[0]
	child := first.Children[0]
	prev := first
	for round := range 4 {
		from := p.i
		if round%2 == 1 {
			from = p.r
		}
		from.m.with(from.m.boxes()[0], func(s *session) { s.rekeyIKE() })
		p.run()
		ri, rr := p.i.m.SAs(), p.r.m.SAs()
		if len(ri) != 1 || len(rr) != 1 || ri[0].State != StateEstablished || rr[0].State != StateEstablished {
			t.Fatalf("round %d: initiator %+v\nresponder %+v", round, ri, rr)
		}
		if rr[0].SPIi == prev.SPIi || rr[0].SPIr == prev.SPIr || ri[0].SPIi != rr[0].SPIi || ri[0].SPIr != rr[0].SPIr {
			t.Fatalf("round %d: SPIs %x/%x, %x/%x, before %x/%x", round, ri[0].SPIi, ri[0].SPIr, rr[0].SPIi, rr[0].SPIr, prev.SPIi, prev.SPIr)
		}
		// The side that started the rekey is the new IKE SA's initiator.
		if ri[0].Initiator != (from == p.i) || rr[0].Initiator != (from == p.r) {
			t.Errorf("round %d: roles %v/%v", round, ri[0].Initiator, rr[0].Initiator)
		}
		if len(rr[0].Children) != 1 || rr[0].Children[0].InSPI != child.InSPI || fmt.Sprint(rr[0].VIPs) != fmt.Sprint(first.VIPs) {
			t.Fatalf("round %d: children %+v, VIPs %v", round, rr[0].Children, rr[0].VIPs)
		}
		prev = rr[0]
	}
	if pools[0].Online() != 1 {
		t.Errorf("%d leases online", pools[0].Online())
	}
	// The new IKE SA works: a CHILD_SA rekey from the responder, a delete
	// from the initiator.
	if p.r.m.Rekey("rw") != 1 {
		t.Fatal("no CHILD_SA to rekey")
	}
	p.run()
	if checkChildren(t, p.i.dp, p.r.dp) != 1 || checkChildren(t, p.r.dp, p.i.dp) != 1 {
		t.Fatal("SAs do not pair up after the rekeys")
	}
	p.i.m.Terminate("home")
	p.run()
	if len(p.i.m.SAs())+len(p.r.m.SAs()) != 0 || pools[0].Online() != 0 {
		t.Fatalf("after delete: %+v %+v, %d leases", p.i.m.SAs(), p.r.m.SAs(), pools[0].Online())
	}
	for _, s := range []*side{p.i, p.r} {
		if a, b, c, d := s.dp.counts(); a+b+c+d != 0 {
			t.Errorf("%s dataplane not empty: %d %d %d %d", s.name, a, b, c, d)
		}
	}
}

// TestReauth: the client reauthenticates make before break: a second IKE
// SA (without INITIAL_CONTACT) with its CHILD_SA comes up, then the old
// one is deleted; the lease stays with the client.
func TestReauth(t *testing.T) {
	client, gw, pools := pskPeers(t)
	client.ReauthTime = time.Hour
	p := newPair(t, client, gw, pools)
	p.establish("home")
	first := p.r.m.SAs()[0]
	for range 80 {
		p.tick(time.Minute)
		p.run()
		if sas := p.r.m.SAs(); len(sas) == 1 && sas[0].SPIi != first.SPIi {
			break
		}
	}
	ri, rr := p.i.m.SAs(), p.r.m.SAs()
	if len(ri) != 1 || len(rr) != 1 || rr[0].SPIi == first.SPIi || len(rr[0].Children) != 1 {
		t.Fatalf("after reauth: %+v\n%+v", ri, rr)
	}
	// Make before break: the new IKE SA and CHILD_SA came up before the
	// old IKE SA went.
	newUp, oldDown := -1, -1
	p.r.mu.Lock()
	for i, e := range p.r.evs {
		if e.Kind == EventChildUp && e.SPIi == rr[0].SPIi && newUp < 0 {
			newUp = i
		}
		if e.Kind == EventIKEDown && e.SPIi == first.SPIi {
			oldDown = i
		}
	}
	p.r.mu.Unlock()
	if newUp < 0 || oldDown < 0 || newUp > oldDown {
		t.Errorf("new CHILD_SA up at event %d, old IKE SA down at %d", newUp, oldDown)
	}
	if fmt.Sprint(rr[0].VIPs) != fmt.Sprint(first.VIPs) || pools[0].Online() != 1 {
		t.Errorf("VIPs %v, was %v; %d online", rr[0].VIPs, first.VIPs, pools[0].Online())
	}
	if checkChildren(t, p.i.dp, p.r.dp) != 1 || checkChildren(t, p.r.dp, p.i.dp) != 1 {
		t.Error("SAs do not pair up")
	}
}

// TestRekeyPFSBothWays: a gateway configured with and without a PFS group
// accepts CHILD_SA rekeys with a key exchange (as Windows sends them) and
// without one (as macOS does).
func TestRekeyPFSBothWays(t *testing.T) {
	for _, client := range []string{"aes256gcm16-ecp256", "aes256gcm16"} {
		t.Run(client, func(t *testing.T) {
			c, gw, pools := pskPeers(t)
			c.Children[0].ESPProposals, c.Children[0].Strict = MustParseProposals(client, wire.ProtocolESP), true
			gw.Children[0].ESPProposals = MustParseProposals("aes256gcm16-ecp256, aes256gcm16", wire.ProtocolESP)
			gw.Children[0].Strict = true
			p := newPair(t, c, gw, pools)
			p.establish("home")
			if p.i.m.Rekey("home") != 1 {
				t.Fatal("no rekey")
			}
			p.run()
			sa := p.r.m.SAs()[0]
			if len(sa.Children) != 1 {
				t.Fatalf("children %+v", sa.Children)
			}
			wantGroup := client != "aes256gcm16"
			if got := sa.Children[0].Proposal.Group() != 0; got != wantGroup {
				t.Errorf("PFS %v, want %v (%v)", got, wantGroup, sa.Children[0].Proposal)
			}
			if checkChildren(t, p.i.dp, p.r.dp) != 1 {
				t.Error("SAs do not pair up")
			}
		})
	}
}

// TestRekeyByDataplaneEvents: the dataplane's soft expiry (bytes,
// packets or time) of either SA of a CHILD_SA rekeys it once; a hard
// expiry deletes it on both sides.
func TestRekeyByDataplaneEvents(t *testing.T) {
	client, gw, pools := pskPeers(t)
	p := newPair(t, client, gw, pools)
	p.establish("home")
	c := p.r.m.SAs()[0].Children[0]
	p.r.m.dataplaneEvent(esp.Event{Kind: esp.EventSoftExpire, SPI: c.InSPI, Dir: esp.DirIn})
	p.r.m.dataplaneEvent(esp.Event{Kind: esp.EventSoftExpire, SPI: c.OutSPI, Dir: esp.DirOut, PolicyID: c.Policy})
	p.run()
	up := p.r.events(EventChildUp)
	if len(up) != 2 || !up[1].Rekey {
		t.Fatalf("child-up events %v", up)
	}
	n := p.r.m.SAs()[0].Children[0]
	if n.InSPI == c.InSPI || checkChildren(t, p.i.dp, p.r.dp) != 1 {
		t.Fatal("not rekeyed")
	}
	p.r.m.dataplaneEvent(esp.Event{Kind: esp.EventHardExpire, SPI: n.OutSPI, Dir: esp.DirOut, PolicyID: n.Policy})
	p.run()
	if a, b := len(p.i.m.SAs()[0].Children), len(p.r.m.SAs()[0].Children); a != 0 || b != 0 {
		t.Fatalf("after the hard expiry: %d / %d CHILD_SAs", a, b)
	}
}

// TestExpiryEventsNameTheirSA: an expiry event acts on the CHILD_SA whose
// SA it names, by direction, SPI and (outbound) policy, and on no other:
// peers choose outbound SPIs, so another peer's outbound SA, or one of our
// inbound SAs, may carry the same number. The Manager's index of CHILD_SAs
// follows them to the successor of a rekeyed IKE SA and forgets them when
// they go.
func TestExpiryEventsNameTheirSA(t *testing.T) {
	client, gw, pools := pskPeers(t)
	p := newPair(t, client, gw, pools)
	p.establish("home")
	c := p.r.m.SAs()[0].Children[0]
	for _, ev := range []esp.Event{
		{Kind: esp.EventSoftExpire, SPI: c.OutSPI, Dir: esp.DirOut, PolicyID: c.Policy + 1},
		{Kind: esp.EventSoftExpire, SPI: c.OutSPI, Dir: esp.DirIn, PolicyID: c.Policy},
		{Kind: esp.EventSoftExpire, SPI: c.InSPI, Dir: esp.DirOut, PolicyID: c.Policy},
		{Kind: esp.EventHardExpire, SPI: c.OutSPI, Dir: esp.DirOut},
	} {
		p.r.m.dataplaneEvent(ev)
		p.run()
		if up, down := p.r.events(EventChildUp), p.r.events(EventChildDown); len(up) != 1 || len(down) != 0 {
			t.Fatalf("%+v (not the CHILD_SA's): %d up and %d down events", ev, len(up), len(down))
		}
	}
	if got := len(p.r.m.childIKE); got != 2 {
		t.Fatalf("the index holds %d SAs, want the CHILD_SA's 2", got)
	}
	// The CHILD_SA moves to the IKE SA's successor; its expiry still
	// finds it there.
	if p.r.m.RekeyIKE("rw") != 1 {
		t.Fatal("no IKE rekey")
	}
	p.run()
	sas := p.r.m.SAs()
	if len(sas) != 1 || len(sas[0].Children) != 1 || sas[0].Children[0].InSPI != c.InSPI {
		t.Fatalf("after the IKE rekey: %+v", sas)
	}
	ours := sas[0].SPIr
	if sas[0].Initiator {
		ours = sas[0].SPIi // we rekeyed: the new IKE SA's initiator
	}
	p.r.m.mu.Lock()
	hinted := p.r.m.childIKE[c.InSA()] == ours
	p.r.m.mu.Unlock()
	if !hinted {
		t.Error("the index does not point to the successor")
	}
	p.r.m.dataplaneEvent(esp.Event{Kind: esp.EventHardExpire, SPI: c.OutSPI, Dir: esp.DirOut, PolicyID: c.Policy})
	p.run()
	if a, b := len(p.i.m.SAs()[0].Children), len(p.r.m.SAs()[0].Children); a != 0 || b != 0 {
		t.Fatalf("after the hard expiry: %d / %d CHILD_SAs", a, b)
	}
	if got := len(p.r.m.childIKE); got != 0 {
		t.Fatalf("the index keeps %d SAs of a deleted CHILD_SA", got)
	}
}
