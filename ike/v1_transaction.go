package ike

import (
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"net"

	"github.com/ikego/ikego/ike/wire"
)

// Transaction exchanges (draft-dukes-ike-mode-cfg) after Main Mode: XAuth
// (draft-beaulieu-ike-xauth-02), which we start as the gateway, and Mode
// Config pull, which the client starts:
//
//	                             <--  HDR*, HASH, ATTR(REQUEST user, password)
//	HDR*, HASH, ATTR(REPLY)      -->
//	                             <--  HDR*, HASH, ATTR(SET status)   (new M-ID)
//	HDR*, HASH, ATTR(ACK)        -->
//	HDR*, HASH, ATTR(REQUEST address...) -->
//	                             <--  HDR*, HASH, ATTR(REPLY address, DNS...)

// v1XAuth is our XAuth conversation with the peer.
type v1XAuth struct {
	// reqID is the message ID of our REQUEST, setID that of our SET (zero
	// before it is sent).
	reqID, setID uint32
	identifier   uint16
	// ok is the status we sent.
	ok bool
}

// v1StartXAuth asks the peer for its XAuth user name and password.
func (s *session) v1StartXAuth() {
	var b [2]byte
	if _, err := s.env.rand.Read(b[:]); err != nil {
		s.close(err, false)
		return
	}
	x := &v1XAuth{identifier: binary.BigEndian.Uint16(b[:])}
	ps := []wire.V1Payload{&wire.V1Attributes{CfgType: wire.V1CfgRequest, Identifier: x.identifier,
		Attributes: []wire.V1Attribute{{Type: wire.V1CfgXAuthUserName}, {Type: wire.V1CfgXAuthUserPassword}}}}
	id, err := s.v1Request("XAuth request", wire.V1ExchangeTransaction, ps)
	if err != nil {
		s.close(err, false)
		return
	}
	x.reqID = id
	s.v1.xauth = x
}

// v1Transaction handles a Transaction exchange message of the peer.
func (s *session) v1Transaction(msgID uint32, ps []wire.V1Payload, digest [32]byte) {
	v := s.v1
	attrs, ok := wire.FindV1[*wire.V1Attributes](ps)
	if !ok {
		s.logger().Info("IKEv1 transaction without attributes")
		return
	}
	if s.initiator {
		s.v1ClientTransaction(msgID, attrs, digest)
		return
	}
	x := v.xauth
	switch attrs.CfgType {
	case wire.V1CfgReply:
		if x == nil || msgID != x.reqID || x.setID != 0 {
			return
		}
		v.pending = nil
		delete(v.ivs, msgID)
		var user, pass []byte
		if a, ok := attrs.Attribute(wire.V1CfgXAuthUserName); ok {
			user = a.Data
		}
		if a, ok := attrs.Attribute(wire.V1CfgXAuthUserPassword); ok {
			pass = a.Data
		}
		want, known := s.peer.Remote.XAuthPassword(string(user))
		x.ok = known && len(user) > 0 && subtle.ConstantTimeCompare([]byte(want), pass) == 1
		if x.ok {
			v.user = string(user)
			s.logger().Info("XAuth authentication succeeded", "user", string(user))
		} else {
			s.logger().Info("XAuth authentication failed", "user", string(user), "known", known)
		}
		status := uint16(0)
		if x.ok {
			status = 1
		}
		set := []wire.V1Payload{&wire.V1Attributes{CfgType: wire.V1CfgSet, Identifier: x.identifier,
			Attributes: []wire.V1Attribute{{Type: wire.V1CfgXAuthStatus, TV: true, Value: status}}}}
		id, err := s.v1Request("XAuth status", wire.V1ExchangeTransaction, set)
		if err != nil {
			s.close(err, false)
			return
		}
		x.setID = id
	case wire.V1CfgAck:
		if v.cfgSetID != 0 && msgID == v.cfgSetID {
			v.cfgSetID = 0
			if v.pending != nil && v.pending.msgID == msgID {
				v.pending = nil
			}
			s.logger().Debug("Mode Config SET acknowledged")
			return
		}
		if x == nil || msgID != x.setID || s.state != StateConnecting {
			return
		}
		v.pending = nil
		delete(v.ivs, msgID)
		if !x.ok {
			s.close(fmt.Errorf("%w: XAuth", ErrAuthFailed), true)
			return
		}
		s.v1Established()
	case wire.V1CfgRequest:
		if s.state != StateEstablished {
			s.logger().Info("Mode Config request before authentication: ignored")
			return
		}
		s.v1ModeConfig(msgID, attrs, digest)
	default:
		s.logger().Info("IKEv1 transaction not supported", "type", attrs.CfgType.String())
	}
}

// v1ModeConfig answers a Mode Config request (pull) with virtual IPs from
// the connection's pools and its DNS servers. The attribute types are those
// of IKEv2's configuration payload, whose code answers.
func (s *session) v1ModeConfig(msgID uint32, attrs *wire.V1Attributes, digest [32]byte) {
	req := &wire.CP{CfgType: wire.CfgRequest}
	for _, a := range attrs.Attributes {
		if !a.TV {
			req.Attributes = append(req.Attributes, wire.CPAttribute{Type: wire.CPAttrType(a.Type), Value: a.Data})
		}
	}
	if len(s.vips) > 0 && s.leased {
		// A second request: the addresses are the same.
		s.env.releaseVIPs(s.leaseKey(), s.vips)
		s.vips = nil
	}
	cp, err := s.assignVIPs(req)
	reply := &wire.V1Attributes{CfgType: wire.V1CfgReply, Identifier: attrs.Identifier}
	if err != nil {
		s.logger().Info("no virtual IP for the peer", "err", err)
	}
	if cp != nil {
		for _, a := range cp.Attributes {
			reply.Attributes = append(reply.Attributes, wire.V1Attribute{Type: wire.V1AttrType(a.Type), Data: a.Value})
		}
	}
	b, err := s.v1Seal(wire.V1ExchangeTransaction, msgID, []wire.V1Payload{reply}, nil)
	if err != nil {
		s.logger().Warn("cannot build the Mode Config reply", "err", err)
		return
	}
	delete(s.v1.ivs, msgID)
	s.v1Reply(digest, b)
	if len(s.vips) > 0 {
		s.logger().Info("virtual IPs assigned", "vips", fmt.Sprint(s.vips))
	}
}

// v1PushConfig sends the peer its virtual IPs in a Mode Config SET (push),
// with the DNS servers and, for Cisco Unity clients, the IPv4 subnets
// behind us as UNITY_SPLIT_INCLUDE (address, mask and six zero octets
// each, as strongSwan and Cisco send them).
func (s *session) v1PushConfig() {
	req := &wire.CP{CfgType: wire.CfgRequest}
	for _, name := range s.peer.Pools {
		for _, p := range s.env.currentPools() {
			if p.Name() != name {
				continue
			}
			t := wire.CPInternalIP4Address
			if first, _ := p.Range(); first.Is6() {
				t = wire.CPInternalIP6Address
			}
			req.Attributes = append(req.Attributes, wire.CPAttribute{Type: t})
		}
	}
	cp, err := s.assignVIPs(req)
	if err != nil || cp == nil {
		s.logger().Info("no virtual IP to push", "err", err)
		return
	}
	set := &wire.V1Attributes{CfgType: wire.V1CfgSet}
	for _, a := range cp.Attributes {
		set.Attributes = append(set.Attributes, wire.V1Attribute{Type: wire.V1AttrType(a.Type), Data: a.Value})
	}
	if s.v1.unity {
		var split []byte
		for _, c := range s.peer.Children {
			for _, sel := range s.localSelectors(c) {
				for _, p := range sel.Prefixes() {
					if p.Addr().Is4() {
						mask := net.CIDRMask(p.Bits(), 32)
						split = append(append(append(split, p.Addr().AsSlice()...), mask...), 0, 0, 0, 0, 0, 0)
					}
				}
			}
		}
		if len(split) > 0 {
			set.Attributes = append(set.Attributes, wire.V1Attribute{Type: wire.V1CfgUnitySplitInclude, Data: split})
		}
	}
	id, err := s.v1Request("Mode Config set", wire.V1ExchangeTransaction, []wire.V1Payload{set})
	if err != nil {
		s.logger().Warn("cannot push the Mode Config", "err", err)
		return
	}
	s.v1.cfgSetID = id
	s.logger().Info("virtual IPs pushed", "vips", fmt.Sprint(s.vips))
}
