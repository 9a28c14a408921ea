package l2tp

import (
	"bytes"
	"crypto/md5"
	"crypto/subtle"
	"io"
	"log/slog"
	"net/netip"
	"time"

	"github.com/ikego/ikego/ppp"
)

// tunnelState is the LNS control connection state of RFC 2661, Section
// 7.2, with the two ways out of it.
//
//	SCCRQ acceptable: send SCCRP
//	  -> waitCtlConn -- SCCCN acceptable --> established
//	        |  SCCCN not acceptable: send StopCCN -> stopping
//	established -- StopCCN received: ack --> hold -- StopHold --> gone
//	any -- we send StopCCN --> stopping -- acked or given up --> gone
type tunnelState uint8

const (
	tunnelWaitCtlConn tunnelState = iota
	tunnelEstablished
	tunnelStopping
	tunnelHold
	tunnelGone
)

// sessionState is the LNS incoming call state of RFC 2661, Section 7.4.1.
//
//	ICRQ acceptable: send ICRP -> waitConnect -- ICCN --> established
//	any -- CDN received or sent --> gone
type sessionState uint8

const (
	sessionWaitConnect sessionState = iota
	sessionEstablished
)

type tunnel struct {
	srv      *Server
	log      *slog.Logger
	id       uint16
	peerTID  uint16
	peer     Peer
	state    tunnelState
	ctl      *ctrlConn
	sessions map[uint16]*session
	host     string
	chal     []byte // the Challenge we sent in SCCRP
	holdEnd  time.Time
	started  time.Time // SCCRQ received
	reported bool      // EventTunnelUp emitted
}

type session struct {
	id, peerSID uint16
	state       sessionState
	ppp         *ppp.Session
	calling     string
	started     time.Time // ICRQ received
	seq         bool      // send Ns in data messages
	seqSeen     bool
	dataNs      uint16
	dataNr      uint16
	user        string
	addr        netip.Addr
}

// dataHeader returns the header of the next data message: always with the
// Length field, numbered when the peer asked for sequencing or numbers its
// own (RFC 2661, Section 5.4); Nr is reserved in data messages.
func (ss *session) dataHeader(peerTID uint16) Header {
	return Header{HasLength: true, Sequenced: ss.seq, TunnelID: peerTID, SessionID: ss.peerSID, Ns: ss.dataNs}
}

// handleControl runs a control message through reliable delivery and the
// state machines.
func (t *tunnel) handleControl(h *Header, payload []byte, now time.Time) error {
	var firstErr error
	for _, body := range t.ctl.receive(h, payload, now) {
		if t.state == tunnelGone {
			break
		}
		if err := t.handleMessage(h.SessionID, body, now); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

func (t *tunnel) handleMessage(sid uint16, body []byte, now time.Time) error {
	m, err := ParseMessage(body, t.srv.cfg.Secret)
	if err != nil {
		if t.state != tunnelStopping && t.state != tunnelHold {
			t.stop(Result{Code: StopError, Error: ErrCodeLength, Message: err.Error()}, "malformed control message", now)
		}
		return err
	}
	if t.state == tunnelHold || t.state == tunnelStopping {
		return nil // only acknowledged
	}
	if !m.Type.known() {
		// RFC 2661, Section 4.4.1: an unknown message type with the M bit
		// clears the tunnel; without it the message is ignored.
		if m.AVPs[0].Mandatory {
			t.stop(Result{Code: StopError, Error: ErrCodeUnknownMandatory, Message: "unknown message type"}, "unknown mandatory message type", now)
		}
		return nil
	}
	if a, bad := m.unknownMandatory(); bad {
		// RFC 2661, Section 4.1: an unrecognized AVP with the M bit set
		// tears down the session, or the tunnel for a tunnel message.
		reason := "unknown mandatory AVP " + a.Type.String()
		r := Result{Code: StopError, Error: ErrCodeUnknownMandatory, Message: reason}
		if m.Type.sessionLevel() {
			if ss := t.sessions[sid]; ss != nil {
				t.closeSession(ss, r, reason, true, now)
			} else if m.Type == MsgICRQ {
				if psid, err := m.Uint16(AVPAssignedSessionID); err == nil {
					t.sendCDN(psid, 0, r, now)
				}
			}
			return nil
		}
		t.stop(r, reason, now)
		return nil
	}
	switch m.Type {
	case MsgSCCRQ:
		if t.state == tunnelWaitCtlConn && t.ctl.ns == 0 {
			return t.handleSCCRQ(&m, now)
		}
	case MsgSCCCN:
		if t.state == tunnelWaitCtlConn {
			return t.handleSCCCN(&m, now)
		}
	case MsgStopCCN:
		r := Result{}
		if a, ok := m.Get(AVPResultCode); ok {
			r, _ = ParseResult(a.Value)
		}
		t.log.Info("L2TP tunnel closed by peer", "result", r.String())
		t.down("closed by peer: "+r.String(), now)
		t.state = tunnelHold
		t.holdEnd = now.Add(t.srv.cfg.StopHold)
		return nil
	case MsgHELLO:
		return nil
	case MsgICRQ:
		if t.state == tunnelEstablished {
			return t.handleICRQ(&m, now)
		}
	case MsgICCN:
		if ss := t.sessions[sid]; ss != nil && ss.state == sessionWaitConnect && t.state == tunnelEstablished {
			return t.handleICCN(ss, &m, now)
		}
	case MsgCDN:
		ss := t.sessions[sid]
		if ss == nil && sid == 0 {
			// A LAC that gives up before our ICRP reached it knows only
			// its own Session ID, in the Assigned Session ID AVP.
			if psid, err := m.Uint16(AVPAssignedSessionID); err == nil {
				for _, c := range t.sessions {
					if c.peerSID == psid && c.state == sessionWaitConnect {
						ss = c
					}
				}
			}
		}
		if ss != nil {
			r := Result{}
			if a, ok := m.Get(AVPResultCode); ok {
				r, _ = ParseResult(a.Value)
			}
			t.closeSession(ss, r, "disconnected by peer: "+r.String(), false, now)
		}
		return nil
	case MsgWEN, MsgSLI:
		return nil // error counters and ACCM mean nothing without HDLC
	}
	// RFC 2661, Section 7.2: an unexpected message in this state.
	if m.Type.sessionLevel() {
		if ss := t.sessions[sid]; ss != nil {
			t.closeSession(ss, Result{Code: CDNError, Error: ErrCodeSessionID, Message: "unexpected " + m.Type.String()}, "unexpected "+m.Type.String(), true, now)
		}
		return nil
	}
	t.stop(Result{Code: StopFSMError, Message: "unexpected " + m.Type.String()}, "unexpected "+m.Type.String(), now)
	return nil
}

// chapResponse is the Challenge Response of RFC 2661, Section 4.4.3 and
// 5.1.1: MD5 over the message type as CHAP Identifier, the secret and the
// challenge, as in RFC 1994.
func chapResponse(typ MessageType, secret, challenge []byte) []byte {
	h := md5.New()
	h.Write([]byte{byte(typ)})
	h.Write(secret)
	h.Write(challenge)
	return h.Sum(nil)
}

func (t *tunnel) handleSCCRQ(m *Message, now time.Time) error {
	cfg := &t.srv.cfg
	// RFC 2661, Section 4.4.3: Protocol Version 1, Revision 0.
	if a, ok := m.Get(AVPProtocolVersion); !ok || !bytes.Equal(a.Value, []byte{1, 0}) {
		t.stop(Result{Code: StopVersion}, "protocol version not supported", now)
		return ErrBadAVP
	}
	if a, ok := m.Get(AVPHostName); ok {
		t.host = string(a.Value)
	}
	if rws, err := m.Uint16(AVPReceiveWindowSize); err == nil && rws > 0 {
		t.ctl.peerRWS = int(rws)
	}
	chal, hasChal := m.Get(AVPChallenge)
	if hasChal && len(cfg.Secret) == 0 {
		t.stop(Result{Code: StopNotAuthorized, Message: "no tunnel secret configured"}, "peer wants tunnel authentication, no secret configured", now)
		return nil
	}
	r := NewMessage(MsgSCCRP)
	r.Add(AVPProtocolVersion, []byte{1, 0})
	r.AddUint32(AVPFramingCapabilities, 3) // synchronous and asynchronous
	r.AddUint32(AVPBearerCapabilities, 0)
	r.AVPs = append(r.AVPs, AVP{Type: AVPFirmwareRevision, Value: []byte{0, 1}})
	r.Add(AVPHostName, []byte(cfg.HostName))
	r.AVPs = append(r.AVPs, AVP{Type: AVPVendorName, Value: []byte(cfg.VendorName)})
	r.AddUint16(AVPAssignedTunnelID, t.id)
	r.AddUint16(AVPReceiveWindowSize, uint16(cfg.ReceiveWindow))
	if len(cfg.Secret) > 0 {
		t.chal = make([]byte, 16)
		if _, err := io.ReadFull(t.srv.rand, t.chal); err != nil {
			t.stop(Result{Code: StopError, Error: ErrCodeResources}, "no randomness", now)
			return err
		}
		r.Add(AVPChallenge, t.chal)
	}
	if hasChal {
		r.Add(AVPChallengeResponse, chapResponse(MsgSCCRP, cfg.Secret, chal.Value))
	}
	t.sendMessage(0, &r, now)
	t.log.Info("L2TP tunnel requested", "host", t.host)
	return nil
}

func (t *tunnel) handleSCCCN(m *Message, now time.Time) error {
	if t.chal != nil {
		a, ok := m.Get(AVPChallengeResponse)
		want := chapResponse(MsgSCCCN, t.srv.cfg.Secret, t.chal)
		if !ok || subtle.ConstantTimeCompare(a.Value, want) != 1 {
			t.stop(Result{Code: StopNotAuthorized, Message: "bad challenge response"}, "tunnel authentication failed", now)
			return nil
		}
	}
	t.state = tunnelEstablished
	t.reported = true
	t.log.Info("L2TP tunnel established", "host", t.host)
	t.srv.emit(Event{Kind: EventTunnelUp, Peer: t.peer, Ref: SessionRef{Tunnel: t.id}})
	return nil
}

func (t *tunnel) handleICRQ(m *Message, now time.Time) error {
	psid, err := m.Uint16(AVPAssignedSessionID)
	if err != nil || psid == 0 {
		t.stop(Result{Code: StopError, Error: ErrCodeRange, Message: "ICRQ without Assigned Session ID"}, "bad ICRQ", now)
		return ErrMissingAVP
	}
	if len(t.sessions) >= t.srv.cfg.MaxSessions {
		t.log.Warn("L2TP session refused: too many sessions", "max", t.srv.cfg.MaxSessions)
		t.sendCDN(psid, 0, Result{Code: CDNTemporaryNoRes, Message: "too many sessions"}, now)
		return nil
	}
	id, ok := t.srv.newID(func(id uint16) bool { return t.sessions[id] != nil })
	if !ok {
		t.sendCDN(psid, 0, Result{Code: CDNError, Error: ErrCodeResources}, now)
		return nil
	}
	ss := &session{id: id, peerSID: psid, started: now}
	if a, ok := m.Get(AVPCallingNumber); ok {
		ss.calling = string(a.Value)
	}
	t.sessions[id] = ss
	r := NewMessage(MsgICRP)
	r.AddUint16(AVPAssignedSessionID, id)
	t.sendMessage(psid, &r, now)
	return nil
}

func (t *tunnel) handleICCN(ss *session, m *Message, now time.Time) error {
	if _, ok := m.Get(AVPSequencingRequired); ok {
		ss.seq = true
	}
	ref := SessionRef{t.id, ss.id}
	cfg, err := t.srv.cfg.PPP(SessionInfo{Peer: t.peer, Ref: ref, HostName: t.host, CallingNumber: ss.calling})
	var p *ppp.Session
	if err == nil {
		p, err = ppp.NewSession(cfg)
	}
	if err != nil {
		t.log.Warn("L2TP session refused: no PPP configuration", "session", ss.id, "error", err)
		t.closeSession(ss, Result{Code: CDNError, Error: ErrCodeVendor, Message: "no PPP configuration"}, "no PPP configuration", true, now)
		return nil
	}
	ss.state = sessionEstablished
	ss.ppp = p
	t.log.Info("L2TP session established", "session", ss.id, "peer_session", ss.peerSID, "sequencing", ss.seq)
	t.srv.emit(Event{Kind: EventSessionUp, Peer: t.peer, Ref: ref})
	p.Start(now)
	t.drainPPP(ss, now)
	return nil
}

// drainPPP sends a session's PPP frames and reacts to its events.
func (t *tunnel) drainPPP(ss *session, now time.Time) {
	if ss.ppp == nil {
		return
	}
	for {
		f, ok := ss.ppp.NextFrame()
		if !ok {
			break
		}
		h := ss.dataHeader(t.peerTID)
		if h.Sequenced {
			ss.dataNs++
		}
		t.srv.out = append(t.srv.out, Datagram{To: t.peer, Data: AppendData(make([]byte, 0, 12+len(f)), h, f)})
	}
	for {
		e, ok := ss.ppp.NextEvent()
		if !ok {
			break
		}
		switch e.Kind {
		case ppp.EventNetworkUp:
			ss.user, ss.addr = ss.ppp.User(), e.Addr
			t.srv.emit(Event{Kind: EventNetworkUp, Peer: t.peer, Ref: SessionRef{t.id, ss.id}, User: ss.user, Addr: ss.addr})
		case ppp.EventLinkDown:
			t.closeSession(ss, Result{Code: CDNAdministrative, Message: "PPP " + e.Reason}, "PPP: "+e.Reason, true, now)
			return
		}
	}
}

// closeSession ends a session, telling the peer with a CDN if sendCDN.
func (t *tunnel) closeSession(ss *session, r Result, reason string, sendCDN bool, now time.Time) {
	if t.sessions[ss.id] != ss {
		return
	}
	delete(t.sessions, ss.id)
	if ss.ppp != nil {
		ss.ppp.Down(now)
		if ss.user == "" {
			ss.user = ss.ppp.User()
		}
	}
	if sendCDN {
		t.sendCDN(ss.peerSID, ss.id, r, now)
	}
	t.log.Info("L2TP session closed", "session", ss.id, "user", ss.user, "reason", reason)
	t.srv.emit(Event{Kind: EventSessionDown, Peer: t.peer, Ref: SessionRef{t.id, ss.id}, User: ss.user, Addr: ss.addr, Reason: reason})
}

func (t *tunnel) sendCDN(peerSID, ourSID uint16, r Result, now time.Time) {
	m := NewMessage(MsgCDN)
	m.Add(AVPResultCode, appendResult(nil, r))
	m.AddUint16(AVPAssignedSessionID, ourSID)
	t.sendMessage(peerSID, &m, now)
}

func (t *tunnel) sendMessage(sid uint16, m *Message, now time.Time) {
	body, err := m.Append(nil, nil)
	if err != nil {
		return // our messages never hide and always fit
	}
	t.ctl.send(sid, body, now)
}

// down ends every session and reports the tunnel down once.
func (t *tunnel) down(reason string, now time.Time) {
	for _, ss := range t.sessions {
		t.closeSession(ss, Result{}, "tunnel down: "+reason, false, now)
	}
	if t.reported {
		t.reported = false
		t.srv.emit(Event{Kind: EventTunnelDown, Peer: t.peer, Ref: SessionRef{Tunnel: t.id}, Reason: reason})
	}
}

// stop sends a StopCCN and waits for its acknowledgment.
func (t *tunnel) stop(r Result, reason string, now time.Time) {
	if t.state == tunnelStopping || t.state == tunnelHold || t.state == tunnelGone {
		return
	}
	t.log.Info("L2TP tunnel closing", "reason", reason, "result", r.String())
	t.down(reason, now)
	t.state = tunnelStopping
	m := NewMessage(MsgStopCCN)
	m.AddUint16(AVPAssignedTunnelID, t.id)
	m.Add(AVPResultCode, appendResult(nil, r))
	t.sendMessage(0, &m, now)
}

// settle sends a pending acknowledgment and removes a finished tunnel.
func (t *tunnel) settle(now time.Time) {
	if t.state == tunnelGone {
		return
	}
	t.ctl.flushAck()
	switch {
	case t.ctl.failed:
		t.log.Info("L2TP peer not responding, tunnel closed")
		t.down("peer not responding", now)
	case t.state == tunnelStopping && t.ctl.idle():
	case t.state == tunnelHold && !now.Before(t.holdEnd):
	default:
		return
	}
	t.state = tunnelGone
	delete(t.srv.tunnels, t.id)
	delete(t.srv.byPeer, peerTunnel{t.peer, t.peerTID})
}

func (t *tunnel) nextDeadline() time.Time {
	d := t.ctl.nextDeadline()
	switch t.state {
	case tunnelWaitCtlConn:
		d = earliest(d, t.started.Add(t.srv.cfg.SetupTimeout))
	case tunnelEstablished:
		d = earliest(d, t.ctl.helloDeadline())
		for _, ss := range t.sessions {
			if ss.ppp != nil {
				d = earliest(d, ss.ppp.NextDeadline())
			} else {
				d = earliest(d, ss.started.Add(t.srv.cfg.SetupTimeout))
			}
		}
	case tunnelHold:
		d = earliest(d, t.holdEnd)
	}
	return d
}

func (t *tunnel) handleTimeout(now time.Time) {
	t.ctl.handleTimeout(now)
	if t.ctl.failed {
		return
	}
	if t.state == tunnelWaitCtlConn && !now.Before(t.started.Add(t.srv.cfg.SetupTimeout)) {
		t.stop(Result{Code: StopGeneral, Message: "no SCCCN"}, "no SCCCN in time", now)
		return
	}
	if t.state != tunnelEstablished {
		return
	}
	if hd := t.ctl.helloDeadline(); !hd.IsZero() && !now.Before(hd) {
		// RFC 2661, Section 6.5: a HELLO after an idle period; its loss
		// beyond the retransmissions brings the tunnel down.
		t.ctl.lastRecv = now
		if t.ctl.idle() {
			m := NewMessage(MsgHELLO)
			t.sendMessage(0, &m, now)
		}
	}
	for _, ss := range t.sessions {
		if ss.ppp == nil {
			if !now.Before(ss.started.Add(t.srv.cfg.SetupTimeout)) {
				t.closeSession(ss, Result{Code: CDNTimeout, Message: "no ICCN"}, "no ICCN in time", true, now)
			}
			continue
		}
		if d := ss.ppp.NextDeadline(); !d.IsZero() && !now.Before(d) {
			ss.ppp.HandleTimeout(now)
		}
		t.drainPPP(ss, now)
	}
}
