package ike

import (
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/ikego/ikego/ike/wire"
	"github.com/ikego/ikego/pki"
	"github.com/ikego/ikego/ppp"
)

// IKE_AUTH with EAP (RFC 7296 §2.16) as responder, with EAP-MSCHAPv2 (the
// method of the IKEv2 clients built into Windows, and of strongSwan's and
// Android's eap-mschapv2): the initiator leaves AUTH out of its first
// IKE_AUTH; we answer with our certificate and AUTH and an
// EAP-Request/Identity, run MS-CHAPv2 (RFC 2759) in further IKE_AUTH
// exchanges, and after EAP-Success both ends prove themselves with AUTH
// payloads keyed with the EAP MSK (RFC 3079).
//
//	HDR, SK {IDi, [CERTREQ,] [IDr,] [CP(CFG_REQUEST),] SAi2, TSi, TSr} -->
//	<-- HDR, SK {IDr, [CERT,] AUTH, EAP(Request/Identity)}
//	HDR, SK {EAP(Response/Identity)} -->
//	<-- HDR, SK {EAP(Request/MSCHAPv2 Challenge)}
//	HDR, SK {EAP(Response/MSCHAPv2 Response)} -->
//	<-- HDR, SK {EAP(Request/MSCHAPv2 Success)}
//	HDR, SK {EAP(Response/MSCHAPv2 Success)} -->
//	<-- HDR, SK {EAP(Success)}
//	HDR, SK {AUTH} -->
//	<-- HDR, SK {AUTH, [CP(CFG_REPLY),] SAr2, TSi, TSr}
//
// A response that does not verify gets an MS-CHAPv2 Failure (E=691, no
// retry), which the peer acknowledges before the EAP-Failure: clients show
// the error (Windows: 691) instead of a bare EAP failure.

// EAP codes and types.
const (
	eapRequest      = 1
	eapResponse     = 2
	eapSuccess      = 3
	eapFailure      = 4
	eapTypeIdentity = 1
	eapTypeNak      = 3
	eapTypeMSCHAPv2 = 26

	mschapChallenge = 1
	mschapResponse  = 2
	mschapSuccess   = 3
	mschapFailure   = 4
)

// eapState is a responder's EAP conversation.
type eapState struct {
	peer     *PeerConfig
	first    []wire.Payload // the first IKE_AUTH request: IDi, CP, SA, TS
	idiBody  []byte
	id       uint8 // the EAP Identifier of our last request
	stage    int
	identity string
	authChal [16]byte
	msk      []byte
	// failed is why the MS-CHAPv2 response did not verify, kept while the
	// peer acknowledges our MS-CHAPv2 Failure.
	failed error
}

const (
	eapStageIdentity = iota
	eapStageChallenge
	eapStageSuccess
	eapStageFailure
	eapStageDone
)

// eapMessage builds an EAP packet.
func eapMessage(code, id uint8, typ uint8, data []byte) *wire.EAP {
	n := 4
	if code == eapRequest || code == eapResponse {
		n += 1 + len(data)
	}
	b := make([]byte, 4, n)
	b[0], b[1] = code, id
	binary.BigEndian.PutUint16(b[2:], uint16(n))
	if code == eapRequest || code == eapResponse {
		b = append(b, typ)
		b = append(b, data...)
	}
	return &wire.EAP{Message: b}
}

// mschapPacket builds the MS-CHAPv2 part of an EAP-MSCHAPv2 message: OpCode,
// MS-CHAPv2-ID, MS-Length (from the OpCode on) and the data.
func mschapPacket(op, id uint8, data []byte) []byte {
	b := make([]byte, 4, 4+len(data))
	b[0], b[1] = op, id
	binary.BigEndian.PutUint16(b[2:], uint16(4+len(data)))
	return append(b, data...)
}

// startEAP answers a first IKE_AUTH request without AUTH from a peer of an
// EAP connection: our identity, certificate and AUTH, and an
// EAP-Request/Identity.
func (s *session) startEAP(inner []wire.Payload, idr *wire.ID) []wire.Payload {
	var peer *PeerConfig
	for _, cand := range s.authCandidates() {
		if cand.Remote.Method != AuthEAP || cand.Local.Method != AuthPubKey {
			continue
		}
		if !s.isAskedFor(cand, idr) {
			continue
		}
		peer = cand
		break
	}
	if peer == nil {
		err := errors.New("ike: IKE_AUTH without AUTH, and no EAP connection with a certificate matches")
		s.logger().Info("IKE_AUTH failed", "err", err)
		s.close(err, false)
		return []wire.Payload{&wire.Notify{Kind: wire.NotifyAuthenticationFailed}}
	}
	var idi *wire.ID
	for _, p := range inner {
		if id, ok := p.(*wire.ID); ok && !id.Responder {
			idi = id
		}
	}
	body, err := idBody(idi)
	if err != nil {
		s.close(err, false)
		return []wire.Payload{&wire.Notify{Kind: wire.NotifyInvalidSyntax}}
	}
	out, err := s.ourAuth(peer, true, s.init.Response, s.init.Ni)
	if err != nil {
		s.close(err, false)
		return []wire.Payload{&wire.Notify{Kind: wire.NotifyAuthenticationFailed}}
	}
	s.peer = peer
	if id, err := pki.NewIdentity(pki.IDType(idi.IDType), idi.Data); err == nil {
		s.remoteID = id
	}
	var b [1]byte
	io.ReadFull(s.env.rand, b[:])
	s.eap = &eapState{peer: peer, first: inner, idiBody: body, id: b[0]}
	s.logger().Info("EAP: asking for the identity")
	return append(out, eapMessage(eapRequest, s.eap.id, eapTypeIdentity, nil))
}

// continueEAP handles an IKE_AUTH request during EAP.
func (s *session) continueEAP(inner []wire.Payload) []wire.Payload {
	e := s.eap
	fail := func(err error) []wire.Payload {
		if e.failed == nil { // logged when it failed
			s.logger().Info("EAP failed", "identity", e.identity, "err", err)
		}
		s.close(fmt.Errorf("%w: EAP: %v", ErrAuthFailed, err), false)
		return []wire.Payload{eapMessage(eapFailure, e.id, 0, nil)}
	}
	if e.stage == eapStageDone {
		return s.finishEAP(inner)
	}
	p, ok := wire.Find[*wire.EAP](inner)
	if !ok {
		return fail(errors.New("no EAP payload"))
	}
	m := p.Message
	if len(m) < 5 || m[0] != eapResponse || m[1] != e.id {
		return fail(errors.New("not the response to our request"))
	}
	typ, data := m[4], m[5:]
	next := func(typ uint8, d []byte) []wire.Payload {
		e.id++
		return []wire.Payload{eapMessage(eapRequest, e.id, typ, d)}
	}
	switch e.stage {
	case eapStageIdentity:
		if typ != eapTypeIdentity || len(data) == 0 {
			return fail(errors.New("no EAP identity"))
		}
		e.identity = string(data)
		if _, ok := e.peer.Remote.EAPPassword(e.identity); !ok {
			return fail(fmt.Errorf("unknown EAP identity %q", e.identity))
		}
		if _, err := io.ReadFull(s.env.rand, e.authChal[:]); err != nil {
			return fail(err)
		}
		e.stage = eapStageChallenge
		name := []byte("ikego")
		d := append([]byte{16}, e.authChal[:]...)
		d = append(d, name...)
		return next(eapTypeMSCHAPv2, mschapPacket(mschapChallenge, e.id+1, d))
	case eapStageChallenge:
		if typ == eapTypeNak {
			return fail(errors.New("the peer does not do EAP-MSCHAPv2"))
		}
		// OpCode, MS-CHAPv2-ID, MS-Length, Value-Size 49, Peer-Challenge,
		// 8 reserved, NT-Response, Flags, Name.
		if typ != eapTypeMSCHAPv2 || len(data) < 4+1+49 || data[0] != mschapResponse || data[4] != 49 {
			return fail(errors.New("not an MS-CHAPv2 response"))
		}
		v := data[5:]
		var peerChal [16]byte
		var nt [24]byte
		copy(peerChal[:], v[:16])
		copy(nt[:], v[24:48])
		user := string(v[49:])
		if user == "" {
			user = e.identity
		}
		password, ok := e.peer.Remote.EAPPassword(e.identity)
		if !ok || !ppp.VerifyNTResponse(e.authChal, peerChal, nt, user, password) {
			// MS-CHAPv2 Failure (RFC 2759 §6): E=691 authentication
			// failure, R=0 no retry, C our challenge, V=3.
			e.failed = fmt.Errorf("MS-CHAPv2 response of %q does not verify", e.identity)
			e.stage = eapStageFailure
			s.logger().Info("EAP failed", "identity", e.identity, "err", e.failed)
			msg := fmt.Sprintf("E=691 R=0 C=%X V=3 M=Authentication failed", e.authChal[:])
			return next(eapTypeMSCHAPv2, mschapPacket(mschapFailure, data[1], []byte(msg)))
		}
		e.stage = eapStageSuccess
		msk := ppp.MSK(password, nt)
		e.msk = msk[:]
		msg := ppp.GenerateAuthenticatorResponse(password, nt, peerChal, e.authChal, user) + " M=Welcome to ikego"
		return next(eapTypeMSCHAPv2, mschapPacket(mschapSuccess, data[1], []byte(msg)))
	case eapStageSuccess:
		if typ != eapTypeMSCHAPv2 || len(data) < 1 || data[0] != mschapSuccess {
			return fail(errors.New("the peer did not accept our MS-CHAPv2 success"))
		}
		e.stage = eapStageDone
		s.logger().Info("EAP-MSCHAPv2 authenticated", "identity", e.identity)
		return []wire.Payload{eapMessage(eapSuccess, e.id, 0, nil)}
	case eapStageFailure:
		// The peer's acknowledgement (an MS-CHAPv2 Failure response) or
		// anything else: the conversation ends in EAP-Failure.
		return fail(e.failed)
	}
	return fail(errors.New("unexpected EAP state"))
}

// finishEAP checks the initiator's MSK-keyed AUTH and answers with ours
// and the CHILD_SA of the first request.
func (s *session) finishEAP(inner []wire.Payload) []wire.Payload {
	e := s.eap
	auth, ok := wire.Find[*wire.Auth](inner)
	if !ok || auth.Method != wire.AuthPSK {
		err := errors.New("ike: no AUTH after EAP")
		s.close(err, false)
		return []wire.Payload{&wire.Notify{Kind: wire.NotifyAuthenticationFailed}}
	}
	want, err := pskAuth(s.keys.PRF, e.msk, s.init.Request, s.init.Nr, s.keys.SKpi, e.idiBody)
	if err != nil || subtle.ConstantTimeCompare(want, auth.Data) != 1 {
		err := fmt.Errorf("%w: the AUTH after EAP does not verify with the MSK", ErrAuthFailed)
		s.logger().Info("IKE_AUTH failed", "err", err)
		s.close(err, false)
		return []wire.Payload{&wire.Notify{Kind: wire.NotifyAuthenticationFailed}}
	}
	id := s.localIdentity(e.peer)
	idr := &wire.ID{Responder: true, IDType: wire.IDType(id.Type), Data: id.Data}
	body, err := idBody(idr)
	if err != nil {
		s.close(err, false)
		return []wire.Payload{&wire.Notify{Kind: wire.NotifyAuthenticationFailed}}
	}
	ours, err := pskAuth(s.keys.PRF, e.msk, s.init.Response, s.init.Ni, s.keys.SKpr, body)
	if err != nil {
		s.close(err, false)
		return []wire.Payload{&wire.Notify{Kind: wire.NotifyAuthenticationFailed}}
	}
	s.eapIdentity = e.identity
	s.eap = nil
	s.logger().Info("peer authenticated", "id", s.remoteID.String(), "eap", e.identity, "method", "eap-mschapv2")
	return s.authorized(e.first, []wire.Payload{&wire.Auth{Method: wire.AuthPSK, Data: ours}})
}
