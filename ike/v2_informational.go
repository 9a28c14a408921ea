package ike

import (
	"errors"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike/wire"
)

// The INFORMATIONAL exchange (RFC 7296 §1.4): deletes of the IKE SA or of
// CHILD_SAs, error notifications, and the empty message of liveness checks.
//
//	HDR, SK { [N,] [D,] [CP,] ... } -->
//	<-- HDR, SK { [N,] [D,] [CP], ... }

// respondInformational answers an INFORMATIONAL request.
func (s *session) respondInformational(inner []wire.Payload, ep esp.Endpoint) []wire.Payload {
	var out []wire.Payload
	var ours []uint32
	closeIKE := false
	if _, ok := wire.FindNotify(inner, wire.NotifyUpdateSAAddresses); ok && s.mobike {
		out = append(out, s.updateAddresses(inner, ep)...)
	}
	for _, p := range inner {
		switch p := p.(type) {
		case *wire.Delete:
			switch p.Protocol {
			case wire.ProtocolIKE:
				closeIKE = true
			case wire.ProtocolESP:
				for _, spi := range p.SPIs {
					c := s.childByOutSPI(spi)
					if c == nil {
						continue // §1.4.1: already gone
					}
					ours = append(ours, c.inSPI)
					s.dropChild(c)
				}
			}
		case *wire.Notify:
			switch p.Kind {
			case wire.NotifyAuthenticationFailed:
				s.close(errors.New("ike: peer says AUTHENTICATION_FAILED"), false)
				return []wire.Payload{}
			case wire.NotifyCookie2:
				// RFC 4555 §3.6: echoed, to prove we got the request.
				out = append(out, &wire.Notify{Kind: wire.NotifyCookie2, Data: p.Data})
			}
		}
	}
	if closeIKE {
		s.logger().Info("peer deletes the IKE SA")
		s.close(nil, false)
		return []wire.Payload{}
	}
	if len(ours) > 0 {
		out = append(out, &wire.Delete{Protocol: wire.ProtocolESP, SPIs: ours})
	}
	if out == nil {
		out = []wire.Payload{}
	}
	return out
}

// dropChild removes a CHILD_SA from the session and the dataplane. The
// CHILD_SA that replaced it, if we answered that rekey, starts sending now.
func (s *session) dropChild(c *childSA) {
	if n := c.replacedBy; n != nil && n.outPending != nil {
		if _, err := s.env.dp.AddSA(esp.DirOut, *n.outPending, n.policyID, s.childLifetime(n.cfg)); err != nil {
			s.logger().Warn("cannot install the outbound SA of the new CHILD_SA", "child", n.cfg.Name, "err", err)
		}
		n.outPending = nil
	}
	for i, x := range s.children {
		if x == c {
			s.children = append(s.children[:i], s.children[i+1:]...)
			break
		}
	}
	s.removeChild(c)
}

// deleteIKETask deletes the IKE SA.
type deleteIKETask struct{}

func (*deleteIKETask) exchange() wire.ExchangeType { return wire.ExchangeInformational }

func (*deleteIKETask) build(*session) ([]wire.Payload, error) {
	return []wire.Payload{&wire.Delete{Protocol: wire.ProtocolIKE}}, nil
}

func (*deleteIKETask) process(s *session, _ []wire.Payload) error {
	s.close(nil, false)
	return nil
}

// deleteChildTask deletes one CHILD_SA (by our inbound SPI).
type deleteChildTask struct{ inSPI uint32 }

func (*deleteChildTask) exchange() wire.ExchangeType { return wire.ExchangeInformational }

func (t *deleteChildTask) build(s *session) ([]wire.Payload, error) {
	for _, c := range s.children {
		if c.inSPI == t.inSPI {
			return []wire.Payload{&wire.Delete{Protocol: wire.ProtocolESP, SPIs: []uint32{t.inSPI}}}, nil
		}
	}
	return nil, nil
}

func (t *deleteChildTask) process(s *session, _ []wire.Payload) error {
	for _, c := range s.children {
		if c.inSPI == t.inSPI {
			s.dropChild(c)
			break
		}
	}
	return nil
}

// dpdTask is a liveness check: an empty INFORMATIONAL (RFC 7296 §2.4).
// Any verified response proves the peer alive; no response fails the IKE
// SA after the retransmissions.
type dpdTask struct{}

func (*dpdTask) exchange() wire.ExchangeType { return wire.ExchangeInformational }

func (*dpdTask) build(s *session) ([]wire.Payload, error) {
	if s.state != StateEstablished {
		s.dpdQueued = false
		return nil, nil
	}
	s.logger().Debug("liveness check")
	return []wire.Payload{}, nil
}

func (*dpdTask) process(s *session, _ []wire.Payload) error {
	s.dpdQueued = false
	return nil
}

// updateAddresses handles MOBIKE's UPDATE_SA_ADDRESSES (RFC 4555 §3.5):
// the peer moved to the address the request came from; the IKE SA and
// its CHILD_SAs follow, NAT detection runs again on the request's
// notifications, and our NAT detection goes into the response.
func (s *session) updateAddresses(inner []wire.Payload, ep esp.Endpoint) []wire.Payload {
	from, to := s.remote, ep.Remote
	s.local, s.remote = ep.Local, ep.Remote
	if nat, ok := detectNAT(inner, s.spii, s.spir, ep.Local, ep.Remote); ok {
		s.nat = nat
		s.encap = nat.Any() || (s.peer != nil && s.peer.ForceEncap) || ep.Local.Port() == s.env.natt
	}
	s.updateChildEndpoints()
	s.logger().Info("peer moved (MOBIKE)", "from", from.String(), "to", to.String(), "nat", s.nat.Any())
	spii, spir := s.spii, s.spir
	natd, err := natdNotifies(s.env.rand, spii, spir, ep.Local, ep.Remote, s.peer != nil && s.peer.ForceEncap)
	if err != nil {
		return nil
	}
	return natd
}
