package ike

import (
	"testing"

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
