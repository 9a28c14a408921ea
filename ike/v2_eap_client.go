package ike

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ikego/ikego/ike/wire"
	"github.com/ikego/ikego/ppp"
)

// IKE_AUTH with EAP-MSCHAPv2 as initiator (AuthConfig.EAPIdentity and
// EAPSecret): the mirror of v2_eap.go. Our first IKE_AUTH has no AUTH; the
// gateway's answer has its certificate and AUTH, which we check, and its
// first EAP request; we answer each request in a further IKE_AUTH
// exchange (eapClientTask), and after EAP-Success prove ourselves with an
// AUTH keyed by the MSK and check the gateway's (eapFinalTask), whose
// answer carries the first CHILD_SA.

// eapInitiator is our EAP conversation as initiator.
type eapInitiator struct {
	idiBody  []byte   // of our IDi, for the final AUTH
	authChal [16]byte // the gateway's MS-CHAPv2 challenge
	peerChal [16]byte // ours
	nt       [24]byte // our NT-Response
	msk      []byte   // set once the gateway's success message verified
	failed   bool     // the gateway sent an MS-CHAPv2 failure
}

// eapClientTask sends our answer to the gateway's last EAP request and
// takes its next message.
type eapClientTask struct {
	auth *authInitiatorTask
	out  *wire.EAP
}

func (*eapClientTask) exchange() wire.ExchangeType { return wire.ExchangeIKEAuth }

func (t *eapClientTask) build(*session) ([]wire.Payload, error) { return []wire.Payload{t.out}, nil }

func (t *eapClientTask) process(s *session, inner []wire.Payload) error {
	if err := wire.CheckRules(wire.ExchangeIKEAuth, true, true, inner); err != nil {
		return s.eapClientFail(t.auth, err)
	}
	return s.eapClientStep(t.auth, inner)
}

// eapFinalTask sends our MSK-keyed AUTH and takes the gateway's, with the
// first CHILD_SA.
type eapFinalTask struct{ auth *authInitiatorTask }

func (*eapFinalTask) exchange() wire.ExchangeType { return wire.ExchangeIKEAuth }

func (t *eapFinalTask) build(s *session) ([]wire.Payload, error) {
	e := t.auth.eap
	a, err := pskAuth(s.keys.PRF, e.msk, s.init.Request, s.init.Nr, s.keys.SKpi, e.idiBody)
	if err != nil {
		return nil, err
	}
	return []wire.Payload{&wire.Auth{Method: wire.AuthPSK, Data: a}}, nil
}

func (t *eapFinalTask) process(s *session, inner []wire.Payload) error {
	if err := wire.CheckRules(wire.ExchangeIKEAuth, true, true, inner); err != nil {
		return s.eapClientFail(t.auth, err)
	}
	for _, p := range inner {
		if n, ok := p.(*wire.Notify); ok && n.Kind.IsError() && n.Kind != wire.NotifyNoProposalChosen &&
			n.Kind != wire.NotifyTSUnacceptable && n.Kind != wire.NotifySinglePairRequired && n.Kind != wire.NotifyInternalAddressFailure {
			return s.eapClientFail(t.auth, &NotifyError{n.Kind, "the AUTH after EAP refused by the peer"})
		}
	}
	auth, ok := wire.Find[*wire.Auth](inner)
	if !ok || auth.Method != wire.AuthPSK {
		return s.eapClientFail(t.auth, fmt.Errorf("%w: no AUTH from the gateway after EAP", ErrAuthFailed))
	}
	// The gateway's IDr is that of its first answer, which verifyPeer
	// checked: s.remoteID.
	idr := &wire.ID{Responder: true, IDType: wire.IDType(s.remoteID.Type), Data: s.remoteID.Data}
	body, err := idBody(idr)
	if err != nil {
		return s.eapClientFail(t.auth, err)
	}
	want, err := pskAuth(s.keys.PRF, t.auth.eap.msk, s.init.Response, s.init.Ni, s.keys.SKpr, body)
	if err != nil || subtle.ConstantTimeCompare(want, auth.Data) != 1 {
		return s.eapClientFail(t.auth, fmt.Errorf("%w: the gateway's AUTH after EAP does not verify with the MSK", ErrAuthFailed))
	}
	s.eapIdentity = s.peer.Local.EAPIdentity
	s.logger().Info("authenticated with EAP-MSCHAPv2", "identity", s.eapIdentity, "gateway", s.remoteID.String())
	return t.auth.finish(s, inner)
}

// eapClientStep answers the EAP message among inner: it queues our next
// IKE_AUTH (an EAP response, or the final AUTH after EAP-Success).
func (s *session) eapClientStep(t *authInitiatorTask, inner []wire.Payload) error {
	e := t.eap
	p, ok := wire.Find[*wire.EAP](inner)
	if !ok || len(p.Message) < 4 {
		return s.eapClientFail(t, errors.New("ike: no EAP message from the gateway"))
	}
	m := p.Message
	code, id := m[0], m[1]
	switch code {
	case eapSuccess:
		if e.msk == nil {
			return s.eapClientFail(t, fmt.Errorf("%w: EAP-Success before MS-CHAPv2 succeeded", ErrAuthFailed))
		}
		s.queue(&eapFinalTask{auth: t})
		return nil
	case eapFailure:
		return s.eapClientFail(t, fmt.Errorf("%w: the gateway refused our EAP credentials", ErrAuthFailed))
	case eapRequest:
	default:
		return s.eapClientFail(t, fmt.Errorf("ike: EAP code %d from the gateway", code))
	}
	if len(m) < 5 {
		return s.eapClientFail(t, errors.New("ike: EAP request without a type"))
	}
	typ, data := m[4], m[5:]
	answer := func(typ uint8, d []byte) error {
		s.queue(&eapClientTask{auth: t, out: eapMessage(eapResponse, id, typ, d)})
		return nil
	}
	user, password := s.peer.Local.EAPIdentity, string(s.peer.Local.EAPSecret)
	switch {
	case typ == eapTypeIdentity:
		return answer(eapTypeIdentity, []byte(user))
	case typ != eapTypeMSCHAPv2:
		return answer(eapTypeNak, []byte{eapTypeMSCHAPv2}) // RFC 3748 Section 5.3.1
	case len(data) < 4:
		return s.eapClientFail(t, errors.New("ike: MS-CHAPv2 packet too short"))
	}
	op, msID := data[0], data[1]
	switch op {
	case mschapChallenge:
		// Value-Size 16, the challenge, the gateway's name.
		if len(data) < 4+1+16 || data[4] != 16 {
			return s.eapClientFail(t, errors.New("ike: malformed MS-CHAPv2 challenge"))
		}
		copy(e.authChal[:], data[5:21])
		if _, err := io.ReadFull(s.env.rand, e.peerChal[:]); err != nil {
			return s.eapClientFail(t, err)
		}
		e.nt = ppp.GenerateNTResponse(e.authChal, e.peerChal, user, password)
		// Value-Size 49: Peer-Challenge, 8 reserved, NT-Response, Flags;
		// then our name.
		v := make([]byte, 0, 1+49+len(user))
		v = append(v, 49)
		v = append(v, e.peerChal[:]...)
		v = append(v, make([]byte, 8)...)
		v = append(v, e.nt[:]...)
		v = append(v, 0)
		v = append(v, user...)
		return answer(eapTypeMSCHAPv2, mschapPacket(mschapResponse, msID, v))
	case mschapSuccess:
		// "S=<40 hex digits> M=<message>": the gateway proves it knows the
		// password too (RFC 2759 Section 5).
		msg := string(data[4:])
		auth, _, _ := strings.Cut(msg, " ")
		if !ppp.CheckAuthenticatorResponse(password, e.nt, e.peerChal, e.authChal, user, auth) {
			return s.eapClientFail(t, fmt.Errorf("%w: the gateway's MS-CHAPv2 success message does not verify", ErrAuthFailed))
		}
		msk := ppp.MSK(password, e.nt)
		e.msk = msk[:]
		return answer(eapTypeMSCHAPv2, []byte{mschapSuccess})
	case mschapFailure:
		e.failed = true
		s.logger().Info("EAP-MSCHAPv2 refused by the gateway", "identity", user, "message", string(data[4:]))
		return answer(eapTypeMSCHAPv2, []byte{mschapFailure})
	}
	return s.eapClientFail(t, fmt.Errorf("ike: MS-CHAPv2 opcode %d", op))
}

// eapClientFail ends our EAP authentication: the first CHILD_SA's SPI is
// given back and the IKE SA closes.
func (s *session) eapClientFail(t *authInitiatorTask, err error) error {
	if t.offer != nil {
		s.env.dp.ReleaseSPI(t.offer.inSPI)
		t.offer = nil
	}
	s.logger().Info("IKE_AUTH with EAP failed", "err", err)
	s.close(err, false)
	return err
}
