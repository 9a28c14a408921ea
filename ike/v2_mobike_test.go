package ike

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"

	"github.com/ikego/ikego/ike/wire"
)

// updateAddrTask is the initiator's MOBIKE address update (RFC 4555
// §3.5), sent from a new address.
type updateAddrTask struct {
	local  netip.AddrPort
	cookie []byte
	echo   []byte
}

func (*updateAddrTask) exchange() wire.ExchangeType { return wire.ExchangeInformational }

func (t *updateAddrTask) build(s *session) ([]wire.Payload, error) {
	s.local = t.local
	natd, err := natdNotifies(s.env.rand, s.spii, s.spir, s.local, s.remote, false)
	if err != nil {
		return nil, err
	}
	return append([]wire.Payload{&wire.Notify{Kind: wire.NotifyUpdateSAAddresses},
		&wire.Notify{Kind: wire.NotifyCookie2, Data: t.cookie}}, natd...), nil
}

func (t *updateAddrTask) process(s *session, inner []wire.Payload) error {
	if n, ok := wire.FindNotify(inner, wire.NotifyCookie2); ok {
		t.echo = n.Data
	}
	return nil
}

// TestMOBIKEUpdate: both ends agree on MOBIKE; the client moves and sends
// UPDATE_SA_ADDRESSES from its new address: the gateway's IKE SA and
// CHILD_SA follow, COOKIE2 comes back, and the SAs keep working.
func TestMOBIKEUpdate(t *testing.T) {
	client, gw, pools := pskPeers(t)
	p := newPair(t, client, gw, pools)
	p.establish("home")
	moved := netip.MustParseAddrPort("198.51.100.77:500")
	task := &updateAddrTask{local: moved, cookie: []byte("cookie2-0123456789")}
	p.i.m.with(p.i.m.boxes()[0], func(s *session) {
		if !s.mobike {
			t.Fatal("the initiator did not agree on MOBIKE")
		}
		s.queue(task)
	})
	p.run()
	if !bytes.Equal(task.echo, task.cookie) {
		t.Errorf("COOKIE2 echo %q", task.echo)
	}
	sa := p.r.m.SAs()[0]
	if sa.Remote != moved {
		t.Fatalf("the gateway still sends to %v", sa.Remote)
	}
	p.r.dp.mu.Lock()
	for spi, o := range p.r.dp.out {
		if o.Remote.Addr() != moved.Addr() {
			t.Errorf("outbound SA %08x goes to %v", spi, o.Remote)
		}
	}
	p.r.dp.mu.Unlock()
	// The IKE SA keeps working from the new address.
	if p.r.m.Rekey("rw") != 1 {
		t.Fatal("no CHILD_SA")
	}
	p.run()
	if checkChildren(t, p.i.dp, p.r.dp) != 1 {
		t.Fatal("rekey after the move failed")
	}
}

// TestUniqueness: a second IKE SA of the same identity (without
// INITIAL_CONTACT: the client still has its first one) replaces the first
// with unique=replace, is deleted with keep, and lives beside it with no.
func TestUniqueness(t *testing.T) {
	for _, u := range []Uniqueness{UniqueNo, UniqueReplace, UniqueKeep} {
		t.Run(u.String(), func(t *testing.T) {
			client, gw, pools := pskPeers(t)
			gw.Unique = u
			p := newPair(t, client, gw, pools)
			p.establish("home")
			first := p.r.m.SAs()[0]
			if err := p.i.m.Initiate("home"); err != nil {
				t.Fatal(err)
			}
			p.run()
			sas := p.r.m.SAs()
			want := map[Uniqueness]int{UniqueNo: 2, UniqueReplace: 1, UniqueKeep: 1}[u]
			if len(sas) != want {
				t.Fatalf("gateway has %d IKE SAs, want %d: %+v", len(sas), want, sas)
			}
			kept := sas[0].SPIr == first.SPIr
			if (u == UniqueKeep) != kept && u != UniqueNo {
				t.Errorf("kept the first: %v", kept)
			}
			if pools[0].Online() != 1 {
				t.Errorf("%d leases", pools[0].Online())
			}
			if u != UniqueNo && len(p.i.m.SAs()) != 1 {
				t.Errorf("client has %d IKE SAs", len(p.i.m.SAs()))
			}
			t.Log(fmt.Sprint(len(sas)))
		})
	}
}

// TestRedirect: a gateway sends a new client to another address (RFC
// 5685) without keeping state; the client follows, says where it came
// from, and is not redirected again.
func TestRedirect(t *testing.T) {
	client, gw, pools := pskPeers(t)
	p := newPair(t, client, gw, pools)
	other := netip.MustParseAddr("198.51.100.3")
	asked := 0
	p.r.m.cfg.Redirect = func(local, remote netip.AddrPort) netip.Addr {
		asked++
		if local.Addr() == other {
			t.Error("asked again after the redirect")
		}
		return other
	}
	p.establish("home")
	ri, rr := p.i.m.SAs()[0], p.r.m.SAs()[0]
	if asked != 1 || ri.Remote.Addr() != other || rr.Local.Addr() != other {
		t.Fatalf("asked %d; the client talks to %v, the gateway answers from %v", asked, ri.Remote, rr.Local)
	}
	if checkChildren(t, p.i.dp, p.r.dp) != 1 {
		t.Fatal("no CHILD_SA after the redirect")
	}
}
