package ike

import (
	"crypto/x509"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike/wire"
	"github.com/ikego/ikego/pki"
)

// certPeers returns a client and a gateway authenticating with
// certificates of a CA made by package pki.
func certPeers(t *testing.T, caKey, serverKey, clientKey pki.KeyType, clientID string) (client, gw *PeerConfig, pools Pools, ca *pki.CA) {
	t.Helper()
	ca, err := pki.NewCA(pki.Config{}, pki.CAOptions{Subject: "C=US, O=ikego-test, CN=Test CA", KeyType: caKey})
	if err != nil {
		t.Fatal(err)
	}
	scert, skey, err := ca.Issue(pki.Request{Profile: pki.ProfileServer, Subject: "C=US, O=ikego-test, CN=vpn.example.com",
		Names: []string{"vpn.example.com"}, KeyType: serverKey})
	if err != nil {
		t.Fatal(err)
	}
	ccert, ckey, err := ca.Issue(pki.Request{Profile: pki.ProfileClient, Subject: "C=US, O=ikego-test, CN=client2.example.com",
		Names: []string{"client2.example.com"}, KeyType: clientKey})
	if err != nil {
		t.Fatal(err)
	}
	client, gw, pools = pskPeers(t)
	client.Local = AuthConfig{Method: AuthPubKey, ID: mustID(t, clientID), Certificates: []*x509.Certificate{ccert}, Key: ckey}
	client.Remote = AuthConfig{Method: AuthPubKey, ID: mustID(t, "vpn.example.com"), CAs: []*x509.Certificate{ca.Cert}}
	gw.Local = AuthConfig{Method: AuthPubKey, ID: mustID(t, "vpn.example.com"), Certificates: []*x509.Certificate{scert}, Key: skey}
	gw.Remote = AuthConfig{Method: AuthPubKey, CAs: []*x509.Certificate{ca.Cert}}
	return client, gw, pools, ca
}

func TestSessionCertificates(t *testing.T) {
	for _, tc := range []struct {
		name           string
		ca, srv, cli   pki.KeyType
		clientID, want string
	}{
		{"rsa-fqdn", pki.KeyTypeRSA2048, pki.KeyTypeRSA2048, pki.KeyTypeRSA2048, "client2.example.com", "client2.example.com"},
		{"ecdsa-dn", pki.KeyTypeECDSAP256, pki.KeyTypeECDSAP256, pki.KeyTypeECDSAP256, "C=US, O=ikego-test, CN=client2.example.com", "C=US, O=ikego-test, CN=client2.example.com"},
		{"mixed-p384", pki.KeyTypeRSA2048, pki.KeyTypeECDSAP384, pki.KeyTypeRSA2048, "client2.example.com", "client2.example.com"},
		{"ed25519", pki.KeyTypeEd25519, pki.KeyTypeEd25519, pki.KeyTypeEd25519, "client2.example.com", "client2.example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, gw, pools, _ := certPeers(t, tc.ca, tc.srv, tc.cli, tc.clientID)
			p := newPair(t, client, gw, pools)
			p.establish("home")
			if got := p.r.m.SAs()[0].RemoteID.String(); got != tc.want {
				t.Errorf("responder sees %q, want %q", got, tc.want)
			}
			if checkChildren(t, p.i.dp, p.r.dp) != 1 {
				t.Error("no CHILD_SA")
			}
		})
	}
}

func TestSessionCertificateRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, client, gw *PeerConfig)
	}{
		{"untrusted CA", func(t *testing.T, client, gw *PeerConfig) {
			other, err := pki.NewCA(pki.Config{}, pki.CAOptions{Subject: "CN=Other CA", KeyType: pki.KeyTypeECDSAP256})
			if err != nil {
				t.Fatal(err)
			}
			gw.Remote.CAs = []*x509.Certificate{other.Cert}
		}},
		{"identity not in certificate", func(t *testing.T, client, gw *PeerConfig) {
			client.Local.ID = mustID(t, "mallory.example.com")
		}},
		{"identity pattern", func(t *testing.T, client, gw *PeerConfig) {
			gw.Remote.ID = mustID(t, "*.example.org")
		}},
		{"psk against certificate", func(t *testing.T, client, gw *PeerConfig) {
			client.Local = AuthConfig{Method: AuthPSK, ID: mustID(t, "client2.example.com"), PSK: testPSK}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, gw, pools, _ := certPeers(t, pki.KeyTypeECDSAP256, pki.KeyTypeECDSAP256, pki.KeyTypeECDSAP256, "client2.example.com")
			tc.change(t, client, gw)
			p := newPair(t, client, gw, pools)
			if err := p.i.m.Initiate("home"); err != nil {
				t.Fatal(err)
			}
			p.run()
			if len(p.i.m.SAs())+len(p.r.m.SAs()) != 0 {
				t.Fatalf("SAs left: %+v / %+v", p.i.m.SAs(), p.r.m.SAs())
			}
			down := p.i.events(EventIKEDown)
			if len(down) != 1 || !strings.Contains(fmt.Sprint(down[0].Err), "AUTHENTICATION_FAILED") {
				t.Errorf("initiator: %v", p.i.evs)
			}
			if a, b, c, d := p.r.dp.counts(); a+b+c+d != 0 || pools[0].Online() != 0 {
				t.Errorf("responder kept state: %d %d %d %d, %d leases", a, b, c, d, pools[0].Online())
			}
		})
	}
}

// TestSessionLossDupReorder injects faults between the two sides: the
// first copy of every message is lost, every delivered message is
// duplicated, and each batch is reversed; retransmissions and the
// response cache must still bring the IKE SA up with exactly one CHILD_SA.
func TestSessionLossDupReorder(t *testing.T) {
	client, gw, pools := pskPeers(t)
	client.Children = append(client.Children, &ChildConfig{Name: "second",
		RemoteTS: []esp.Selector{esp.SelectorFromPrefix(netip.MustParsePrefix("198.18.1.0/24"))}})
	gw.Children = append(gw.Children, &ChildConfig{Name: "second", LocalTS: testSubnets[1:]})
	p := newPair(t, client, gw, pools)
	seen := map[string]bool{}
	lost := 0
	p.filter = func(from *side, ds []inbound) []inbound {
		var out []inbound
		for _, d := range ds {
			k := string(d.data)
			if !seen[k] {
				seen[k] = true
				lost++
				continue
			}
			out = append(out, d, d)
		}
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
		return out
	}
	if err := p.i.m.Initiate("home"); err != nil {
		t.Fatal(err)
	}
	for range 40 {
		p.run()
		if sas := p.i.m.SAs(); len(sas) == 1 && len(sas[0].Children) == 2 {
			break
		}
		p.tick(5 * time.Second)
	}
	p.run()
	ri, rr := p.i.m.SAs(), p.r.m.SAs()
	if len(ri) != 1 || len(rr) != 1 || ri[0].State != StateEstablished || len(ri[0].Children) != 2 || len(rr[0].Children) != 2 {
		t.Fatalf("initiator %+v\nresponder %+v", ri, rr)
	}
	if checkChildren(t, p.i.dp, p.r.dp) != 2 || checkChildren(t, p.r.dp, p.i.dp) != 2 {
		t.Error("CHILD_SAs do not pair up")
	}
	if lost < 4 {
		t.Errorf("only %d messages lost: the test does not test", lost)
	}
}

// TestSessionRetransmitGivesUp: a peer that never answers fails the IKE
// SA after the retransmission schedule.
func TestSessionRetransmitGivesUp(t *testing.T) {
	client, gw, pools := pskPeers(t)
	p := newPair(t, client, gw, pools)
	start := p.clock.Now()
	sent := 0
	p.filter = func(from *side, ds []inbound) []inbound {
		if from == p.i {
			sent += len(ds)
		}
		return nil
	}
	if err := p.i.m.Initiate("home"); err != nil {
		t.Fatal(err)
	}
	for range 300 {
		p.run()
		if len(p.i.m.SAs()) == 0 {
			break
		}
		p.tick(time.Second)
	}
	if sent != 6 || len(p.i.m.SAs()) != 0 || len(p.i.events(EventIKEDown)) != 1 {
		t.Fatalf("sent %d (want 1 + 5 retransmissions), SAs %v, events %v", sent, p.i.m.SAs(), p.i.evs)
	}
	if elapsed := p.clock.Now().Sub(start); elapsed < (Retransmit{}).Total()-time.Second || elapsed > (Retransmit{}).Total()+2*time.Second {
		t.Errorf("gave up after %v, want about %v", elapsed, (Retransmit{}).Total())
	}
}

// TestSessionCreateChildPFS adds a CHILD_SA with a key exchange, narrows
// several selectors, and deletes one CHILD_SA.
func TestSessionCreateChildPFS(t *testing.T) {
	client, gw, pools := pskPeers(t)
	client.RequestVIP = false
	client.Children = []*ChildConfig{
		{Name: "a", LocalTS: []esp.Selector{esp.SelectorFromPrefix(netip.MustParsePrefix("198.18.2.0/24"))},
			RemoteTS: []esp.Selector{esp.SelectorFromPrefix(netip.MustParsePrefix("203.0.113.0/24")),
				esp.SelectorFromPrefix(netip.MustParsePrefix("198.18.1.0/24"))}},
		{Name: "b", LocalTS: []esp.Selector{esp.SelectorFromPrefix(netip.MustParsePrefix("198.18.2.0/24"))},
			RemoteTS:     []esp.Selector{esp.SelectorFromPrefix(netip.MustParsePrefix("198.18.1.0/24"))},
			ESPProposals: MustParseProposals("aes256gcm16-ecp256", wire.ProtocolESP), Strict: true},
	}
	gw.Pools = nil
	gw.Children = []*ChildConfig{
		{Name: "net", LocalTS: testSubnets, RemoteTS: []esp.Selector{esp.SelectorFromPrefix(netip.MustParsePrefix("198.18.0.0/16"))},
			ESPProposals: MustParseProposals("aes256gcm16-ecp256, aes128gcm16", wire.ProtocolESP)},
	}
	p := newPair(t, client, gw, pools)
	p.establish("home")
	ri := p.i.m.SAs()[0]
	if len(ri.Children) != 2 {
		t.Fatalf("children %+v", ri.Children)
	}
	a, b := ri.Children[0], ri.Children[1]
	// Child a: 203.0.113.0/24 narrowed to the /26, 198.18.1.0/24 kept.
	if fmt.Sprint(a.RemoteTS) != "[203.0.113.0/26 198.18.1.0/24]" || fmt.Sprint(a.LocalTS) != "[198.18.2.0/24]" {
		t.Errorf("child a: %v === %v", a.LocalTS, a.RemoteTS)
	}
	if fmt.Sprint(b.RemoteTS) != "[198.18.1.0/24]" || b.Proposal.Group() != Group(wire.DHGroup(19)) {
		t.Errorf("child b: %v, %v", b.RemoteTS, b.Proposal)
	}
	if checkChildren(t, p.i.dp, p.r.dp) != 2 || checkChildren(t, p.r.dp, p.i.dp) != 2 {
		t.Error("CHILD_SAs do not pair up")
	}
	// Delete child b from the initiator.
	p.i.m.with(p.i.m.boxes()[0], func(s *session) { s.queue(&deleteChildTask{inSPI: b.InSPI}) })
	p.run()
	if n := len(p.r.m.SAs()[0].Children); n != 1 || len(p.i.m.SAs()[0].Children) != 1 {
		t.Errorf("after delete: %d / %d children", n, len(p.i.m.SAs()[0].Children))
	}
	if checkChildren(t, p.i.dp, p.r.dp) != 1 || checkChildren(t, p.r.dp, p.i.dp) != 1 {
		t.Error("the remaining CHILD_SA does not pair up")
	}
}

// TestSessionNAT: the client is behind a NAT that changes its port; both
// float to 4500 and the ESP SAs use UDP encapsulation; forced encapsulation
// works without a NAT.
func TestSessionNAT(t *testing.T) {
	for _, force := range []bool{false, true} {
		t.Run(fmt.Sprint("force=", force), func(t *testing.T) {
			client, gw, pools := pskPeers(t)
			client.ForceEncap = force
			p := newPair(t, client, gw, pools)
			public := netip.MustParseAddr("203.0.113.200")
			if !force {
				// A NAT: the responder sees the client at another address.
				p.filter = func(from *side, ds []inbound) []inbound {
					for i := range ds {
						if from == p.i {
							ds[i].ep.Local = netip.AddrPortFrom(public, ds[i].ep.Local.Port()+1000)
						} else if ds[i].ep.Remote.Addr() == public {
							ds[i].ep.Remote = netip.AddrPortFrom(initAddr.Addr(), ds[i].ep.Remote.Port()-1000)
						}
					}
					return ds
				}
			}
			p.establish("home")
			ri, rr := p.i.m.SAs()[0], p.r.m.SAs()[0]
			if ri.Local.Port() != 4500 || ri.Remote.Port() != 4500 {
				t.Errorf("initiator did not float: %v -> %v", ri.Local, ri.Remote)
			}
			if ri.NAT.LocalBehindNAT != !force || !rr.NAT.RemoteBehindNAT {
				t.Errorf("NAT: initiator %+v, responder %+v", ri.NAT, rr.NAT)
			}
			p.i.dp.mu.Lock()
			for spi, o := range p.i.dp.out {
				if o.Remote.Port() != 4500 || o.Local.Port() != 4500 {
					t.Errorf("SA %08x without UDP encapsulation: %v -> %v", spi, o.Local, o.Remote)
				}
			}
			p.i.dp.mu.Unlock()
			if !force {
				// Keepalives from the side behind the NAT.
				p.filter = nil
				p.tick(21 * time.Second)
				ka := 0
				for _, d := range p.i.cap.take() {
					if len(d.data) == 1 && d.data[0] == 0xff {
						ka++
					}
				}
				if ka != 1 {
					t.Errorf("%d keepalives after 21 s, want 1", ka)
				}
			}
		})
	}
}
