package ike

import (
	"fmt"
	"log/slog"

	"github.com/ikego/ikego/ike/wire"
)

// IKEv1 as a client of a gateway: after Main Mode, the gateway's XAuth
// (draft-beaulieu-ike-xauth-02) is answered with AuthConfig.XAuthUser and
// XAuthSecret, and the virtual IP is asked for (Mode Config pull) or taken
// as the gateway pushes it (draft-dukes-ike-mode-cfg); the Quick Modes
// follow, from the virtual IP:
//
//	<--  HDR*, HASH, ATTR(REQUEST user, password)
//	HDR*, HASH, ATTR(REPLY user, password)  -->
//	<--  HDR*, HASH, ATTR(SET status)
//	HDR*, HASH, ATTR(ACK status)            -->
//	HDR*, HASH, ATTR(REQUEST address, DNS)  -->   (pull)
//	<--  HDR*, HASH, ATTR(REPLY address, DNS)
//	<--  HDR*, HASH, ATTR(SET address, DNS)       (push)
//	HDR*, HASH, ATTR(ACK)                   -->

// v1Client is where a client's configuration stands.
type v1Client struct {
	// xauth is true while the gateway's XAuth is due or under way.
	xauth bool
	// cfgReqID is the message ID of our Mode Config REQUEST; pushWait is
	// true while we wait for the gateway's SET.
	cfgReqID uint32
	pushWait bool
}

// v1ClientAfterMainMode goes on after Main Mode authenticated the gateway:
// XAuth if we proposed it, then the virtual IP if we want one, then the
// SA is up.
func (s *session) v1ClientAfterMainMode() {
	v := s.v1
	switch v.auth {
	case wire.V1AuthXAuthInitPSK, wire.V1AuthXAuthInitRSA:
		v.client = &v1Client{xauth: true}
		s.logger().Debug("waiting for the gateway's XAuth request")
		return
	}
	s.v1ClientConfigure()
}

// v1ClientConfigure asks for the virtual IP (or waits for the gateway to
// push it) when the connection wants one, else brings the SA up.
func (s *session) v1ClientConfigure() {
	v := s.v1
	if !s.peer.RequestVIP {
		s.v1ClientUp()
		return
	}
	if v.client == nil {
		v.client = &v1Client{}
	}
	if s.peer.ModeConfigPush {
		v.client.pushWait = true
		return
	}
	req := &wire.V1Attributes{CfgType: wire.V1CfgRequest, Attributes: []wire.V1Attribute{
		{Type: wire.V1AttrType(wire.CPInternalIP4Address)}, {Type: wire.V1AttrType(wire.CPInternalIP4DNS)}}}
	id, err := s.v1Request("Mode Config request", wire.V1ExchangeTransaction, []wire.V1Payload{req})
	if err != nil {
		s.close(err, false)
		return
	}
	v.client.cfgReqID = id
}

// v1ClientUp marks the SA established and starts the Quick Modes.
func (s *session) v1ClientUp() {
	v := s.v1
	v.client = nil
	s.v1Established()
	v.toStart = append(v.toStart, s.peer.Children...)
	s.v1NextQuick()
}

// v1ClientTransaction handles a Transaction message of the gateway: its
// XAuth request and status, its Mode Config push, the reply to our pull.
func (s *session) v1ClientTransaction(msgID uint32, attrs *wire.V1Attributes, digest [32]byte) {
	v := s.v1
	c := v.client
	if c == nil || s.state != StateConnecting {
		s.logger().Info("IKEv1 transaction not expected: ignored", "type", attrs.CfgType.String())
		return
	}
	_, isStatus := attrs.Attribute(wire.V1CfgXAuthStatus)
	switch {
	case attrs.CfgType == wire.V1CfgRequest && c.xauth:
		user, secret := s.peer.Local.XAuthUser, s.peer.Local.XAuthSecret
		reply := &wire.V1Attributes{CfgType: wire.V1CfgReply, Identifier: attrs.Identifier}
		for _, a := range attrs.Attributes {
			switch a.Type {
			case wire.V1CfgXAuthType:
				if a.Value != 0 { // only generic user name and password
					s.close(fmt.Errorf("%w: the gateway asks for XAuth type %d", ErrAuthFailed, a.Value), false)
					return
				}
				reply.Attributes = append(reply.Attributes, wire.V1Attribute{Type: a.Type, TV: true})
			case wire.V1CfgXAuthUserName:
				reply.Attributes = append(reply.Attributes, wire.V1Attribute{Type: a.Type, Data: []byte(user)})
			case wire.V1CfgXAuthUserPassword:
				reply.Attributes = append(reply.Attributes, wire.V1Attribute{Type: a.Type, Data: secret})
			}
		}
		s.v1ClientAnswer(msgID, reply, digest)
		s.logger().Info("XAuth: credentials sent", "user", user)
	case attrs.CfgType == wire.V1CfgSet && isStatus && c.xauth:
		a, _ := attrs.Attribute(wire.V1CfgXAuthStatus)
		ack := &wire.V1Attributes{CfgType: wire.V1CfgAck, Identifier: attrs.Identifier,
			Attributes: []wire.V1Attribute{{Type: wire.V1CfgXAuthStatus, TV: true, Value: a.Value}}}
		s.v1ClientAnswer(msgID, ack, digest)
		if a.Value != 1 {
			s.close(fmt.Errorf("%w: the gateway refused our XAuth credentials", ErrAuthFailed), false)
			return
		}
		c.xauth = false
		v.user = s.peer.Local.XAuthUser
		s.logger().Info("XAuth authentication succeeded", "user", v.user)
		s.v1ClientConfigure()
	case attrs.CfgType == wire.V1CfgSet && c.pushWait:
		s.v1ClientTakeVIPs(attrs)
		ack := &wire.V1Attributes{CfgType: wire.V1CfgAck, Identifier: attrs.Identifier}
		for _, a := range attrs.Attributes {
			ack.Attributes = append(ack.Attributes, wire.V1Attribute{Type: a.Type, TV: a.TV})
		}
		s.v1ClientAnswer(msgID, ack, digest)
		s.v1ClientUp()
	case attrs.CfgType == wire.V1CfgReply && c.cfgReqID != 0 && msgID == c.cfgReqID:
		if v.pending != nil && v.pending.msgID == msgID {
			v.pending = nil
		}
		s.v1ClientTakeVIPs(attrs)
		s.v1ClientUp()
	default:
		s.logger().Info("IKEv1 transaction not expected: ignored", "type", attrs.CfgType.String())
	}
}

// v1ClientAnswer sends our answer to a Transaction message of the gateway,
// kept for its retransmissions.
func (s *session) v1ClientAnswer(msgID uint32, a *wire.V1Attributes, digest [32]byte) {
	b, err := s.v1Seal(wire.V1ExchangeTransaction, msgID, []wire.V1Payload{a}, nil)
	if err != nil {
		s.logger().Warn("cannot build the transaction answer", "err", err)
		return
	}
	s.v1Reply(digest, b)
}

// v1ClientTakeVIPs takes the virtual IPs of a Mode Config REPLY or SET.
func (s *session) v1ClientTakeVIPs(attrs *wire.V1Attributes) {
	for _, a := range attrs.Attributes {
		t := wire.CPAttrType(a.Type)
		if a.TV || (t != wire.CPInternalIP4Address && t != wire.CPInternalIP6Address) {
			continue
		}
		if addr, ok := (wire.CPAttribute{Type: t, Value: a.Data}).Addr(); ok && addr.IsValid() {
			s.vips = append(s.vips, addr)
		}
	}
	if len(s.vips) == 0 {
		s.logger().Warn("the gateway gave no virtual IP")
	} else if s.logs(slog.LevelInfo) {
		s.logger().Info("virtual IP received", "vips", fmt.Sprint(s.vips))
	}
}
