package ike

import (
	"fmt"
	"testing"
	"time"
)

// settle runs the pair, ticking the clock so that postponed retries and
// retransmissions happen, until cond holds (at most a simulated minute).
func (p *pair) settle(cond func() bool) bool {
	for range 60 {
		p.run()
		if cond() {
			return true
		}
		p.tick(time.Second)
	}
	return false
}

// oneChildEach reports whether each side has one IKE SA with one CHILD_SA
// and nothing else in its dataplane.
func (p *pair) oneChildEach() bool {
	for _, s := range []*side{p.i, p.r} {
		sas := s.m.SAs()
		if len(sas) != 1 || sas[0].State != StateEstablished || len(sas[0].Children) != 1 {
			return false
		}
		if pol, in, out, _ := s.dp.counts(); pol != 1 || in != 1 || out != 1 {
			return false
		}
	}
	return true
}

// TestCollisionChildRekey: both ends rekey the CHILD_SA at once (RFC 7296
// §2.8.1), in both delivery orders and with nonces that make either end
// win: one CHILD_SA remains, with SAs that pair up and no leftovers.
func TestCollisionChildRekey(t *testing.T) {
	wins := map[bool]int{}
	for seed := byte(1); seed <= 8; seed++ {
		for _, reverse := range []bool{false, true} {
			t.Run(fmt.Sprintf("seed%d-reverse=%v", seed, reverse), func(t *testing.T) {
				client, gw, pools := pskPeers(t)
				p := newPairSeeded(t, client, gw, pools, 2*seed+10, 2*seed+11)
				p.establish("home")
				first := p.i.m.SAs()[0].Children[0]
				if reverse {
					p.r.m.Rekey("rw")
					p.i.m.Rekey("home")
				} else {
					p.i.m.Rekey("home")
					p.r.m.Rekey("rw")
				}
				if !p.settle(p.oneChildEach) {
					t.Fatalf("no single CHILD_SA:\ninitiator %+v\nresponder %+v\ndataplanes %v %v", p.i.m.SAs(), p.r.m.SAs(),
						fmt.Sprint(p.i.dp.counts()), fmt.Sprint(p.r.dp.counts()))
				}
				if checkChildren(t, p.i.dp, p.r.dp) != 1 || checkChildren(t, p.r.dp, p.i.dp) != 1 {
					t.Fatal("SAs do not pair up")
				}
				c := p.i.m.SAs()[0].Children[0]
				if c.InSPI == first.InSPI {
					t.Fatal("not rekeyed")
				}
				// Who kept its CHILD_SA: the winner's exchange made it.
				won := false
				for _, e := range p.i.events(EventChildUp) {
					if e.InSPI == c.InSPI && e.Rekey {
						won = true
					}
				}
				wins[won]++
				// It keeps working: rekey again, then delete.
				p.r.m.Rekey("rw")
				if !p.settle(p.oneChildEach) {
					t.Fatal("a later rekey failed")
				}
			})
		}
	}
	t.Logf("outcomes %v", wins)
}

// TestCollisionIKERekey: both ends rekey the IKE SA at once (RFC 7296
// §2.8.2): one IKE SA remains on each side, the same one, with the
// CHILD_SA and the virtual IP, and roles that fit the exchange that made
// it.
func TestCollisionIKERekey(t *testing.T) {
	for seed := byte(1); seed <= 8; seed++ {
		for _, reverse := range []bool{false, true} {
			t.Run(fmt.Sprintf("seed%d-reverse=%v", seed, reverse), func(t *testing.T) {
				client, gw, pools := pskPeers(t)
				p := newPairSeeded(t, client, gw, pools, 2*seed+30, 2*seed+31)
				p.establish("home")
				before := p.i.m.SAs()[0]
				rekey := func(s *side) { s.m.RekeyIKE(s.m.SAs()[0].Peer) }
				if reverse {
					rekey(p.r)
					rekey(p.i)
				} else {
					rekey(p.i)
					rekey(p.r)
				}
				ok := p.settle(func() bool {
					ri, rr := p.i.m.SAs(), p.r.m.SAs()
					return len(ri) == 1 && len(rr) == 1 && p.oneChildEach() && ri[0].SPIi != before.SPIi
				})
				ri, rr := p.i.m.SAs(), p.r.m.SAs()
				if !ok {
					t.Fatalf("after the collision:\ninitiator %+v\nresponder %+v", ri, rr)
				}
				if ri[0].SPIi != rr[0].SPIi || ri[0].SPIr != rr[0].SPIr || ri[0].Initiator == rr[0].Initiator {
					t.Fatalf("the two ends disagree: %x/%x %v, %x/%x %v", ri[0].SPIi, ri[0].SPIr, ri[0].Initiator,
						rr[0].SPIi, rr[0].SPIr, rr[0].Initiator)
				}
				if fmt.Sprint(rr[0].VIPs) != fmt.Sprint(before.VIPs) || pools[0].Online() != 1 {
					t.Errorf("VIPs %v, %d online", rr[0].VIPs, pools[0].Online())
				}
				// The survivor works: a CHILD_SA rekey and a delete.
				p.i.m.Rekey("home")
				if !p.settle(p.oneChildEach) || checkChildren(t, p.i.dp, p.r.dp) != 1 {
					t.Fatal("CHILD_SA rekey on the new IKE SA failed")
				}
				p.r.m.Terminate("rw")
				if !p.settle(func() bool { return len(p.i.m.SAs())+len(p.r.m.SAs()) == 0 }) {
					t.Fatalf("delete failed: %+v / %+v", p.i.m.SAs(), p.r.m.SAs())
				}
				if pools[0].Online() != 0 {
					t.Error("lease kept")
				}
			})
		}
	}
}

// TestCollisionDeleteDuringRekey: one end deletes the CHILD_SA while the
// other rekeys it; both end without CHILD_SAs and without leftovers.
func TestCollisionDeleteDuringRekey(t *testing.T) {
	for _, reverse := range []bool{false, true} {
		t.Run(fmt.Sprint("reverse=", reverse), func(t *testing.T) {
			client, gw, pools := pskPeers(t)
			p := newPair(t, client, gw, pools)
			p.establish("home")
			in := p.r.m.SAs()[0].Children[0].InSPI
			del := func() { p.r.m.with(p.r.m.boxes()[0], func(s *session) { s.queue(&deleteChildTask{inSPI: in}) }) }
			if reverse {
				del()
				p.i.m.Rekey("home")
			} else {
				p.i.m.Rekey("home")
				del()
			}
			ok := p.settle(func() bool {
				for _, s := range []*side{p.i, p.r} {
					if sas := s.m.SAs(); len(sas) != 1 || len(sas[0].Children) != 0 {
						return false
					}
					if pol, in, out, spis := s.dp.counts(); pol+in+out+spis != 0 {
						return false
					}
				}
				return true
			})
			if !ok {
				t.Fatalf("initiator %+v %v\nresponder %+v %v", p.i.m.SAs(), fmt.Sprint(p.i.dp.counts()), p.r.m.SAs(), fmt.Sprint(p.r.dp.counts()))
			}
		})
	}
}

// TestCollisionChildDuringIKERekey: a CHILD_SA rekey that meets an IKE
// rekey is postponed with TEMPORARY_FAILURE (RFC 7296 §2.25.2) and done
// later on the new IKE SA.
func TestCollisionChildDuringIKERekey(t *testing.T) {
	for _, reverse := range []bool{false, true} {
		t.Run(fmt.Sprint("reverse=", reverse), func(t *testing.T) {
			client, gw, pools := pskPeers(t)
			p := newPair(t, client, gw, pools)
			p.establish("home")
			first := p.i.m.SAs()[0]
			if reverse {
				p.r.m.Rekey("rw")
				p.i.m.RekeyIKE("home")
			} else {
				p.i.m.RekeyIKE("home")
				p.r.m.Rekey("rw")
			}
			ok := p.settle(func() bool {
				ri := p.i.m.SAs()
				return p.oneChildEach() && ri[0].SPIi != first.SPIi && ri[0].Children[0].InSPI != first.Children[0].InSPI
			})
			if !ok {
				t.Fatalf("initiator %+v\nresponder %+v", p.i.m.SAs(), p.r.m.SAs())
			}
			if checkChildren(t, p.i.dp, p.r.dp) != 1 {
				t.Fatal("SAs do not pair up")
			}
		})
	}
}
