package ike

import (
	"crypto/x509"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike/wire"
	"github.com/ikego/ikego/pki"
)

// TestSessionIPCompTransport negotiates a transport-mode CHILD_SA with
// IPComp (USE_TRANSPORT_MODE, IPCOMP_SUPPORTED with DEFLATE) and checks the
// CPIs cross over: each side compresses with the CPI the other chose.
func TestSessionIPCompTransport(t *testing.T) {
	client, gw, pools := pskPeers(t)
	client.RequestVIP = false
	gw.Pools = nil
	client.Children = []*ChildConfig{{Name: "l2tp", Mode: esp.ModeTransport, IPComp: true}}
	gw.Children = []*ChildConfig{{Name: "l2tp", Mode: esp.ModeTransport, IPComp: true}}
	p := newPair(t, client, gw, pools)
	p.establish("home")
	ci, cr := p.i.m.SAs()[0].Children, p.r.m.SAs()[0].Children
	if len(ci) != 1 || len(cr) != 1 || ci[0].Mode != esp.ModeTransport || cr[0].Mode != esp.ModeTransport {
		t.Fatalf("children %+v / %+v", ci, cr)
	}
	// Host-to-host: each side's selectors are the two addresses.
	if fmt.Sprint(cr[0].LocalTS) != "[198.51.100.2/32]" || fmt.Sprint(cr[0].RemoteTS) != "[198.51.100.1/32]" {
		t.Errorf("responder TS %v === %v", cr[0].LocalTS, cr[0].RemoteTS)
	}
	p.i.dp.mu.Lock()
	p.r.dp.mu.Lock()
	defer p.i.dp.mu.Unlock()
	defer p.r.dp.mu.Unlock()
	for spi, o := range p.i.dp.out {
		in := p.r.dp.in[spi]
		if o.IPComp == nil || in.IPComp == nil {
			t.Fatalf("SA %08x without IPComp", spi)
		}
		if o.IPComp.CPI != in.IPComp.CPI {
			t.Errorf("initiator compresses with CPI %d, the responder chose %d", o.IPComp.CPI, in.IPComp.CPI)
		}
		if o.Mode != esp.ModeTransport || in.Mode != esp.ModeTransport {
			t.Errorf("modes %v/%v", o.Mode, in.Mode)
		}
	}

	// A responder that insists on transport mode refuses a tunnel request;
	// the IKE SA stays.
	client, gw, pools = pskPeers(t)
	client.RequestVIP, gw.Pools = false, nil
	client.Children = []*ChildConfig{{Name: "tunnel"}}
	gw.Children = []*ChildConfig{{Name: "l2tp", Mode: esp.ModeTransport}}
	p = newPair(t, client, gw, pools)
	p.establish("home")
	if n := len(p.r.m.SAs()[0].Children); n != 0 {
		t.Errorf("responder made %d CHILD_SAs", n)
	}
}

// TestSessionIdentityTypes authenticates with a PSK under every identity
// type package pki knows.
func TestSessionIdentityTypes(t *testing.T) {
	for _, id := range []string{"198.51.100.1", "2001:db8::1", "client.example.com", "client1@example.com",
		"C=US, O=ikego, CN=client1", "keyid:0x0102030405"} {
		t.Run(id, func(t *testing.T) {
			client, gw, pools := pskPeers(t)
			client.Local.ID = mustID(t, id)
			gw.Remote.ID = mustID(t, id)
			p := newPair(t, client, gw, pools)
			p.establish("home")
			got := p.r.m.SAs()[0].RemoteID
			if !got.Equal(mustID(t, id)) {
				t.Errorf("responder sees %v (%v)", got, got.Type)
			}
		})
	}
	// The default local identity is the address.
	client, gw, pools := pskPeers(t)
	client.Local.ID = pki.Identity{}
	gw.Remote.ID = mustID(t, initAddr.Addr().String())
	p := newPair(t, client, gw, pools)
	p.establish("home")
}

// TestSessionRequestedAddress: a client that asks for a specific free
// address gets it; the same identity reconnecting gets its address back
// and the old IKE SA is replaced after INITIAL_CONTACT.
func TestSessionRequestedAddress(t *testing.T) {
	client, gw, pools := pskPeers(t)
	p := newPair(t, client, gw, pools)
	p.establish("home")
	first := p.r.m.SAs()[0].VIPs
	// The client reboots: a new initiator Manager with the same identity.
	q := newPair(t, client, gw, pools)
	q.r = p.r
	q.run()
	if err := q.i.m.Initiate("home"); err != nil {
		t.Fatal(err)
	}
	q.run()
	sas := p.r.m.SAs()
	if len(sas) != 1 || sas[0].State != StateEstablished {
		t.Fatalf("after INITIAL_CONTACT the responder has %+v", sas)
	}
	if fmt.Sprint(sas[0].VIPs) != fmt.Sprint(first) {
		t.Errorf("reconnect got %v, first %v", sas[0].VIPs, first)
	}
	if pools[0].Online() != 1 {
		t.Errorf("%d leases online", pools[0].Online())
	}

	// A CFG_REQUEST for a specific free address.
	s := &session{env: p.r.m.env, peer: gw, remoteID: mustID(t, "other@example.com")}
	reply, err := s.assignVIPs(&wire.CP{CfgType: wire.CfgRequest, Attributes: []wire.CPAttribute{
		{Type: wire.CPInternalIP4Address, Value: netip.MustParseAddr("198.18.200.9").AsSlice()}}})
	if err != nil || fmt.Sprint(s.vips) != "[198.18.200.9]" || reply == nil {
		t.Fatalf("requested address: %v %v", s.vips, err)
	}
	var got []string
	for _, a := range reply.Attributes {
		switch a.Type {
		case wire.CPInternalIP4Subnet:
			p, _ := a.Prefix()
			got = append(got, "subnet "+p.String())
		case wire.CPInternalIP4DNS:
			d, _ := a.Addr()
			got = append(got, "dns "+d.String())
		case wire.CPInternalIP4Address:
			d, _ := a.Addr()
			got = append(got, "addr "+d.String())
		}
	}
	if want := "[addr 198.18.200.9 dns 198.51.100.53 subnet 203.0.113.0/26 subnet 198.18.1.0/24]"; fmt.Sprint(got) != want {
		t.Errorf("CFG_REPLY %v, want %v", got, want)
	}
}

// TestSessionFragmentation: an IKE_AUTH with a certificate chain too big
// for one datagram is sent in RFC 7383 fragments both ways and
// reassembled; without fragmentation support it goes whole.
func TestSessionFragmentation(t *testing.T) {
	for _, frag := range []bool{true, false} {
		t.Run(fmt.Sprint("fragmentation=", frag), func(t *testing.T) {
			client, gw, pools, ca := certPeers(t, pki.KeyTypeRSA4096, pki.KeyTypeRSA4096, pki.KeyTypeRSA4096, "client2.example.com")
			// Send the CA too: a chain of two 4096-bit certificates.
			client.Local.Certificates = append(client.Local.Certificates, ca.Cert)
			gw.Local.Certificates = append([]*x509.Certificate{gw.Local.Certificates[0]}, ca.Cert)
			client.NoFragmentation = !frag
			p := newPair(t, client, gw, pools)
			maxLen, n := 0, 0
			p.filter = func(from *side, ds []inbound) []inbound {
				for _, d := range ds {
					maxLen = max(maxLen, len(d.data))
					n++
				}
				return ds
			}
			p.establish("home")
			if frag && maxLen > 1280 {
				t.Errorf("largest datagram %d octets with fragmentation", maxLen)
			}
			if !frag && maxLen <= 1280 {
				t.Errorf("largest datagram %d octets: the test does not need fragments", maxLen)
			}
			if frag && n <= 4 {
				t.Errorf("%d datagrams: nothing was fragmented", n)
			}
		})
	}
}

// TestSessionFragmentLossReorder: the fragments of the certificate
// IKE_AUTH arrive in reverse order, the second one is lost the first time
// and duplicated afterwards; retransmission and reassembly still bring the
// IKE SA up.
func TestSessionFragmentLossReorder(t *testing.T) {
	client, gw, pools, ca := certPeers(t, pki.KeyTypeRSA4096, pki.KeyTypeRSA4096, pki.KeyTypeRSA4096, "client2.example.com")
	client.Local.Certificates = append(client.Local.Certificates, ca.Cert)
	gw.Local.Certificates = append([]*x509.Certificate{gw.Local.Certificates[0]}, ca.Cert)
	p := newPair(t, client, gw, pools)
	lost := map[string]bool{}
	frags := 0
	p.filter = func(from *side, ds []inbound) []inbound {
		var out []inbound
		for _, d := range ds {
			b := d.data
			if d.ep.Remote.Port() == 4500 {
				b = b[4:]
			}
			m, err := wire.Parse(b)
			if err == nil {
				if f, ok := wire.Find[*wire.SKF](m.Payloads); ok {
					frags++
					key := fmt.Sprint(from.name, m.Header.MessageID, f.Number)
					if f.Number == 2 && !lost[key] {
						lost[key] = true
						continue
					}
					out = append(out, d)
				}
			}
			out = append(out, d)
		}
		slices.Reverse(out)
		return out
	}
	if err := p.i.m.Initiate("home"); err != nil {
		t.Fatal(err)
	}
	ok := false
	for range 30 {
		p.run()
		if sas := p.r.m.SAs(); len(sas) == 1 && sas[0].State == StateEstablished && len(p.i.m.SAs()) == 1 && p.i.m.SAs()[0].State == StateEstablished {
			ok = true
			break
		}
		p.tick(5 * time.Second)
	}
	if !ok {
		t.Fatalf("not established: %+v / %+v", p.i.m.SAs(), p.r.m.SAs())
	}
	if len(lost) < 2 || frags < 6 {
		t.Errorf("lost %d fragments of %d: the test does not test", len(lost), frags)
	}
	if checkChildren(t, p.i.dp, p.r.dp) != 1 {
		t.Error("no CHILD_SA")
	}
}
