package ike

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike/wire"
)

// dead makes one side of the pair silent (it receives, but nothing it
// sends arrives) until alive is called.
func (p *pair) dead(s *side) (alive func()) {
	p.filter = func(from *side, ds []inbound) []inbound {
		if from == s {
			return nil
		}
		return ds
	}
	return func() { p.filter = nil }
}

// sentExchanges returns the exchanges of the requests a side sent since
// the last call (run has delivered them).
func sentRequests(t *testing.T, ds []inbound) []wire.ExchangeType {
	var out []wire.ExchangeType
	for _, d := range ds {
		b := d.data
		if d.ep.Remote.Port() == esp.NATTPort {
			b = b[4:]
		}
		if h, err := wire.ParseHeader(b); err == nil && !h.IsResponse() {
			out = append(out, h.Exchange)
		}
	}
	return out
}

// TestDPDAlive: a peer that answers the liveness check stays up; the check
// is an empty INFORMATIONAL sent only after DPDDelay of silence.
func TestDPDAlive(t *testing.T) {
	client, gw, pools := pskPeers(t)
	client.DPDDelay = 30 * time.Second
	p := newPair(t, client, gw, pools)
	p.establish("home")
	var sent []inbound
	p.filter = func(from *side, ds []inbound) []inbound {
		if from == p.i {
			sent = append(sent, ds...)
		}
		return ds
	}
	p.tick(29 * time.Second)
	p.run()
	if len(sent) != 0 {
		t.Fatalf("sent %d before the delay", len(sent))
	}
	p.tick(2 * time.Second)
	p.run()
	if ex := sentRequests(t, sent); len(ex) != 1 || ex[0] != wire.ExchangeInformational {
		t.Fatalf("liveness check: %v", ex)
	}
	p.tick(31 * time.Second)
	p.run()
	if ex := sentRequests(t, sent); len(ex) != 2 {
		t.Fatalf("second check: %v", ex)
	}
	if sas := p.i.m.SAs(); len(sas) != 1 || sas[0].State != StateEstablished {
		t.Fatalf("SAs %+v", sas)
	}
}

// TestDPDClear: the gateway finds a silent client dead after the
// retransmissions, closes its IKE SA and gives the virtual IP back.
func TestDPDClear(t *testing.T) {
	client, gw, pools := pskPeers(t)
	gw.DPDDelay = 10 * time.Second
	p := newPair(t, client, gw, pools)
	p.establish("home")
	p.dead(p.i)
	start := p.clock.Now()
	for range 400 {
		p.tick(time.Second)
		p.run()
		if len(p.r.m.SAs()) == 0 {
			break
		}
	}
	if len(p.r.m.SAs()) != 0 {
		t.Fatal("the dead client's IKE SA is still there")
	}
	took := p.clock.Now().Sub(start)
	if want := 10*time.Second + (Retransmit{}).Total(); took < want-2*time.Second || took > want+2*time.Second {
		t.Errorf("cleared after %v, want about %v", took, want)
	}
	if pools[0].Online() != 0 {
		t.Errorf("%d leases online", pools[0].Online())
	}
	if a, b, c, d := p.r.dp.counts(); a+b+c+d != 0 {
		t.Errorf("dataplane: %d %d %d %d", a, b, c, d)
	}
	if down := p.r.events(EventIKEDown); len(down) != 1 || down[0].Err == nil {
		t.Errorf("events %v", p.r.evs)
	}
}

// TestDPDRestartAndHold: an initiator whose peer died initiates again at
// once (restart), or installs trap policies and initiates on the next
// packet (hold), whose CHILD_SA then uses the trap policy.
func TestDPDRestartAndHold(t *testing.T) {
	for _, action := range []DPDAction{DPDRestart, DPDHold} {
		t.Run(action.String(), func(t *testing.T) {
			client, gw, pools := pskPeers(t)
			client.DPDDelay, client.DPDAction = 10*time.Second, action
			client.RequestVIP = false
			client.Children[0].LocalTS = []esp.Selector{esp.SelectorFromPrefix(mustPrefix("198.18.2.0/24"))}
			client.Children[0].RemoteTS = testSubnets
			gw.Children[0].RemoteTS = []esp.Selector{esp.SelectorFromPrefix(mustPrefix("198.18.2.0/24"))}
			p := newPair(t, client, gw, pools)
			p.establish("home")
			alive := p.dead(p.r)
			var sent []inbound
			for range 400 {
				p.tick(time.Second)
				sent = append(sent, p.i.cap.take()...)
				if sas := p.i.m.SAs(); len(sas) == 0 || sas[len(sas)-1].State == StateConnecting {
					break
				}
			}
			ex := sentRequests(t, sent)
			last := ex[len(ex)-1]
			switch action {
			case DPDRestart:
				if last != wire.ExchangeIKESAInit {
					t.Fatalf("after the failure the client sent %v, want a new IKE_SA_INIT", ex)
				}
			case DPDHold:
				if last == wire.ExchangeIKESAInit || len(p.i.m.SAs()) != 0 {
					t.Fatalf("hold initiated at once: %v", ex)
				}
				p.i.dp.mu.Lock()
				var trap uint32
				for id, pol := range p.i.dp.policies {
					if pol.Action == esp.ActionTrap {
						trap = id
					}
				}
				n := len(p.i.dp.policies)
				p.i.dp.mu.Unlock()
				if trap == 0 || n != 1 {
					t.Fatalf("no trap policy (%d policies)", n)
				}
				// Traffic hits the trap.
				p.i.m.dataplaneEvent(esp.Event{Kind: esp.EventAcquire, PolicyID: trap})
				p.i.m.dataplaneEvent(esp.Event{Kind: esp.EventAcquire, PolicyID: trap})
				if ex := sentRequests(t, p.i.cap.out); len(ex) != 1 || ex[0] != wire.ExchangeIKESAInit {
					t.Fatalf("after the acquires the client sent %v", ex)
				}
				alive()
				p.run()
				sas := p.i.m.SAs()
				if len(sas) != 1 || sas[0].State != StateEstablished || len(sas[0].Children) != 1 {
					t.Fatalf("after the acquire: %+v", sas)
				}
				p.i.dp.mu.Lock()
				_, ok := p.i.dp.out[sas[0].Children[0].OutSPI]
				pol := p.i.dp.policies[trap]
				p.i.dp.mu.Unlock()
				if !ok || pol.Action != esp.ActionTrap {
					t.Errorf("the new CHILD_SA does not use the trap policy")
				}
				// Closing the CHILD_SA's IKE SA leaves the trap.
				p.i.m.Terminate("home")
				p.run()
				if a, _, c, _ := p.i.dp.counts(); a != 1 || c != 0 {
					t.Errorf("after terminate: %d policies, %d outbound SAs", a, c)
				}
			}
		})
	}
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// TestRouteUnroute: Route installs a connection's trap policies once,
// Unroute removes them; Update drops the traps of removed connections.
func TestRouteUnroute(t *testing.T) {
	client, gw, pools := pskPeers(t)
	client.RequestVIP = false
	client.Children[0].LocalTS = []esp.Selector{esp.SelectorFromPrefix(mustPrefix("198.18.2.0/24"))}
	p := newPair(t, client, gw, pools)
	if err := p.i.m.Route("nope"); err == nil {
		t.Error("routed an unknown connection")
	}
	for range 2 {
		if err := p.i.m.Route("home"); err != nil {
			t.Fatal(err)
		}
	}
	if pol, _, _, _ := p.i.dp.counts(); pol != 1 {
		t.Fatalf("%d policies after two Routes", pol)
	}
	if n := p.i.m.Unroute("home"); n != 1 {
		t.Fatalf("Unroute removed %d", n)
	}
	if pol, _, _, _ := p.i.dp.counts(); pol != 0 {
		t.Fatalf("%d policies after Unroute", pol)
	}
	if err := p.i.m.Route("home"); err != nil {
		t.Fatal(err)
	}
	other := *client
	other.Name = "other"
	if err := p.i.m.Update([]*PeerConfig{&other}, nil); err != nil {
		t.Fatal(err)
	}
	if pol, _, _, _ := p.i.dp.counts(); pol != 0 {
		t.Fatalf("%d policies after the connection went", pol)
	}
}
