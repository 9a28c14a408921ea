package ike

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike/wire"
)

// IKEv1 (RFC 2409) as responder. An IKEv1 SA is a session whose v1 field
// is set: the Manager indexes, times and closes it like an IKEv2 SA, and
// its CHILD_SAs (Quick Mode SAs) use the same dataplane code. What differs
// is here and in the other v1_*.go files, one exchange each: Main Mode
// (v1_main.go), XAuth and Mode Config in Transaction exchanges
// (v1_transaction.go), Quick Mode (v1_quick.go) and Informational
// exchanges with deletes and DPD (v1_informational.go).

// v1Phase is where the Phase 1 exchange of an IKEv1 SA is.
type v1Phase uint8

const (
	// v1SentSA: we answered Main Mode message 1 with our SA (message 2).
	v1SentSA v1Phase = iota
	// v1SentKE: we answered message 3 with our KE and nonce (message 4).
	v1SentKE
	// v1Authenticated: Main Mode is done (message 6 sent); XAuth may
	// follow.
	v1Authenticated
	// v1SentAggressive: we answered Aggressive Mode message 1 (message 2)
	// and wait for HASH_I.
	v1SentAggressive
	// v1SentAuth (initiator): we sent Main Mode message 5.
	v1SentAuth
)

// v1State is the IKEv1 part of a session.
type v1State struct {
	phase v1Phase
	// hash and cipher are the Phase 1 algorithms; auth the method the
	// initiator proposed and we took; life the ISAKMP SA's lifetime.
	hash   v1Hash
	cipher v1Cipher
	group  Group
	auth   wire.V1AuthMethod
	life   time.Duration
	// saiB is the body of the initiator's SA payload, for HASH_I/HASH_R;
	// idii that of its ID payload in Aggressive Mode (HASH_I comes later).
	saiB []byte
	idii []byte
	// Key exchange and nonces of Main Mode.
	share    *KeyShare
	gxi, gxr []byte
	ni, nr   []byte
	keys     *v1Keys
	// iv is the Phase 1 CBC chain: after Main Mode, its last block, from
	// which every later exchange's IV is derived (RFC 2409 Appendix B).
	iv []byte
	// ivs are the CBC chains of exchanges after Phase 1, by message ID.
	ivs map[uint32][]byte
	// Vendor IDs the peer sent.
	natt, dpd, xauthVID, unity, fragPeer bool
	// reasm collects the peer's fragments; fragID numbers ours.
	reasm  *v1Reassembly
	fragID uint16
	// cfgSetID is the message ID of our Mode Config SET (push).
	cfgSetID uint32
	// replies are our answers to the last requests, by a digest of the
	// request, to resend when a request comes again (RFC 2408 has no
	// message IDs to tell a retransmission by).
	replies     map[[32]byte][][]byte
	replyOrder  [][32]byte
	lastPhase1  [32]byte
	phase1Reply []byte

	// quick are the Quick Modes we answered (their CHILD_SAs are in)
	// waiting for the initiator's HASH(3), which commits a rekey;
	// quickOut ours waiting for the answer; toStart and toRekey the
	// CHILD_SAs we are to negotiate or rekey next (initiator).
	quick    map[uint32]*v1Quick
	quickOut map[uint32]*v1QuickOut
	toStart  []*ChildConfig
	toRekey  []*childSA
	// xauth is the XAuth conversation (gateway); user the name it proved
	// (or that we sent, as client); client is where our configuration as
	// a client stands until the SA is up.
	xauth  *v1XAuth
	user   string
	client *v1Client
	// pending is our request in flight (XAuth, DPD).
	pending *v1Request
	// dpdSeq numbers our R-U-THERE; lastAck the peer's.
	dpdSeq uint32
	// orphanDeletes are the peer's ESP deletes for CHILD_SAs this SA does
	// not hold (any more), for the Manager to look for in the peer's
	// other IKEv1 SAs.
	orphanDeletes []uint32
	// expires is when the ISAKMP SA's lifetime ends; deleteAt when we
	// delete it because a reauthentication replaced it.
	expires, deleteAt time.Time
}

// v1Request is a request of ours waiting for its answer.
type v1Request struct {
	kind     string // for logs: "XAuth request", "XAuth status", "DPD"
	msgID    uint32
	packets  [][]byte
	tries    int
	deadline time.Time
}

// v1ReauthOverlap is how long an IKEv1 SA we reauthenticated stays, with
// its CHILD_SAs, after the new one is up (at most a quarter of the
// reauthentication interval): time for the new SA's Quick Modes (IKEv1
// peers do not move CHILD_SAs between ISAKMP SAs reliably).
const v1ReauthOverlap = 10 * time.Second

// maxV1Replies bounds the answers kept for retransmitted requests;
// maxV1Exchanges the CBC chains of exchanges under way.
const (
	maxV1Replies   = 8
	maxV1Exchanges = 32
)

// v1VendorIDs are the vendor IDs this responder understands.
var (
	v1VIDXAuth = []byte{0x09, 0x00, 0x26, 0x89, 0xdf, 0xd6, 0xb7, 0x12}
	v1VIDDPD   = []byte{0xaf, 0xca, 0xd7, 0x13, 0x68, 0xa1, 0xf1, 0xc9, 0x6b, 0x86, 0x96, 0xfc, 0x77, 0x57, 0x01, 0x00}
	// v1VIDNATT is RFC 3947's: MD5("RFC 3947").
	v1VIDNATT = []byte{0x4a, 0x13, 0x1c, 0x81, 0x07, 0x03, 0x58, 0x45, 0x5c, 0x57, 0x28, 0xf2, 0x0e, 0x95, 0x45, 0x2f}
	// v1VIDUnity is Cisco Unity's, version 1.0.
	v1VIDUnity = []byte{0x12, 0xf5, 0xf2, 0x8c, 0x45, 0x71, 0x68, 0xa9, 0x70, 0x2d, 0x9f, 0xe2, 0x74, 0xcc, 0x01, 0x00}
)

// handleV1 processes a message of this IKEv1 SA that arrived on ep.
func (s *session) handleV1(m *wire.V1Message, ep esp.Endpoint) {
	if s.state == StateClosed {
		return
	}
	v := s.v1
	if f, ok := wire.FindV1[*wire.V1Fragment](m.Payloads); ok && len(m.Payloads) == 1 && !m.Header.Encrypted() {
		s.v1Fragment(f, ep)
		return
	}
	digest := sha256.Sum256(m.Raw)
	if r, ok := v.replies[digest]; ok {
		s.v1Send(ep, r...) // a retransmitted request: the same answer
		return
	}
	h := m.Header
	if h.Exchange == wire.V1ExchangeIDProt || h.Exchange == wire.V1ExchangeAggressive {
		switch {
		case h.MessageID != 0:
		case s.initiator:
			s.v1MainModeInitiator(m, ep, digest)
		default:
			s.v1MainMode(m, ep, digest)
		}
		return
	}
	if v.phase != v1Authenticated || !h.Encrypted() {
		if !h.Encrypted() && h.Exchange == wire.V1ExchangeInformational {
			s.v1LogNotify(m.Payloads)
			if n, ok := wire.FindV1[*wire.V1Notify](m.Payloads); ok && s.initiator && v.phase != v1Authenticated &&
				n.Kind < wire.V1NotifyConnected {
				// The responder refuses our Phase 1 (unauthenticated, but
				// waiting for the timeout would not help either).
				s.fail(fmt.Errorf("ike: the peer answers %v", n.Kind))
			}
		}
		return
	}
	plain, next, err := s.v1Decrypt(h.MessageID, m.Encrypted)
	if err != nil {
		s.logger().Debug("IKEv1 message dropped", "exchange", h.Exchange.String(), "err", err)
		return
	}
	ps, err := s.v1CheckHash(h, plain)
	if err != nil {
		s.logger().Info("IKEv1 message dropped", "exchange", h.Exchange.String(), "message", h.MessageID, "err", err)
		return
	}
	// Authenticated: the chain moves on and the peer is alive. Chains
	// of exchanges that never end are bounded.
	if _, ok := v.ivs[h.MessageID]; !ok && len(v.ivs) >= maxV1Exchanges {
		s.logger().Info("too many unfinished IKEv1 exchanges: dropped", "message", h.MessageID)
		return
	}
	v.ivs[h.MessageID] = next
	s.authenticated(ep)
	switch h.Exchange {
	case wire.V1ExchangeTransaction:
		s.v1Transaction(h.MessageID, ps, digest)
		delete(v.ivs, h.MessageID) // the peer's message ends its exchange
	case wire.V1ExchangeQuickMode:
		s.v1QuickMode(h.MessageID, ps, digest)
	case wire.V1ExchangeInformational:
		delete(v.ivs, h.MessageID) // a single message
		s.v1Informational(ps)
	default:
		s.logger().Info("IKEv1 exchange not supported", "exchange", h.Exchange.String())
	}
}

// v1Decrypt decrypts the body of a message of exchange msgID (not Phase
// 1) with its CBC chain; it returns the plaintext and the chain's next IV,
// which the caller keeps once the message is authenticated.
func (s *session) v1Decrypt(msgID uint32, ct []byte) (plain, next []byte, err error) {
	v := s.v1
	iv, ok := v.ivs[msgID]
	if !ok {
		if msgID == 0 {
			return nil, nil, errors.New("ike: message ID 0 after Phase 1")
		}
		iv = v.keys.phase2IV(v.iv, msgID)
	}
	return v.keys.decrypt(iv, ct)
}

// v1CheckHash parses the plaintext of a message after Phase 1, which must
// begin with a HASH payload, and checks it: prf(SKEYID_a, M-ID | the
// payloads after HASH) (RFC 2409 Sections 5.5 and 5.7, the Transaction
// exchange of draft-dukes-ike-mode-cfg), or Quick Mode's HASH(3) when the
// message ID is that of a Quick Mode we answered. Nothing of the message
// is used before it verifies. It returns the payloads after HASH.
func (s *session) v1CheckHash(h wire.V1Header, plain []byte) ([]wire.V1Payload, error) {
	if h.NextPayload != wire.V1PayloadHash {
		return nil, errors.New("ike: message does not begin with HASH")
	}
	ps, err := wire.ParseV1Payloads(h.NextPayload, plain)
	if err != nil {
		return nil, err
	}
	hp := ps[0].(*wire.V1Hash)
	end := v1ChainEnd(h.NextPayload, plain)
	start := 4 + len(hp.Data)
	if end < start || end > len(plain) {
		return nil, errors.New("ike: bad payload chain")
	}
	rest := plain[start:end]
	want := s.v1.keys.hashMsg(h.MessageID, rest)
	if h.Exchange == wire.V1ExchangeQuickMode {
		if q, ok := s.v1.quick[h.MessageID]; ok {
			want = s.v1.keys.hash3(h.MessageID, q.ni, q.nr) // HASH(3)
		} else if q, ok := s.v1.quickOut[h.MessageID]; ok {
			want = s.v1.keys.hashMsg(h.MessageID, q.ni, rest) // HASH(2)
		}
	}
	if subtle.ConstantTimeCompare(want, hp.Data) != 1 {
		return nil, errors.New("ike: HASH does not verify")
	}
	return ps[1:], nil
}

// v1ChainEnd returns where the payload chain that starts at b ends (the
// padding of an encrypted message follows it); b has been parsed.
func v1ChainEnd(first wire.V1PayloadType, b []byte) int {
	off := 0
	for next := first; next != wire.V1PayloadNone; {
		if off+4 > len(b) {
			return -1
		}
		next = wire.V1PayloadType(b[off])
		off += int(binary.BigEndian.Uint16(b[off+2:]))
	}
	return off
}

// v1Seal builds an encrypted message of exchange ex after Phase 1 with a
// HASH payload computed by hash over the octets of the other payloads
// (nil: prf(SKEYID_a, M-ID | payloads)).
func (s *session) v1Seal(ex wire.V1Exchange, msgID uint32, ps []wire.V1Payload, hash func(rest []byte) []byte) ([]byte, error) {
	v := s.v1
	rest, err := wire.MarshalV1Payloads(ps)
	if err != nil {
		return nil, err
	}
	var sum []byte
	if hash != nil {
		sum = hash(rest)
	} else {
		sum = v.keys.hashMsg(msgID, rest)
	}
	plain, err := wire.MarshalV1Payloads(append([]wire.V1Payload{&wire.V1Hash{Data: sum}}, ps...))
	if err != nil {
		return nil, err
	}
	iv, ok := v.ivs[msgID]
	if !ok {
		iv = v.keys.phase2IV(v.iv, msgID)
	}
	ct, next := v.keys.encrypt(iv, plain)
	v.ivs[msgID] = next
	m := wire.V1Message{Header: s.v1Header(ex, msgID, wire.V1PayloadHash), Encrypted: ct}
	m.Header.Flags |= wire.V1FlagEncryption
	return m.Marshal()
}

// v1Header returns the header of a message of ours.
func (s *session) v1Header(ex wire.V1Exchange, msgID uint32, next wire.V1PayloadType) wire.V1Header {
	return wire.V1Header{InitiatorCookie: s.spii, ResponderCookie: s.spir, NextPayload: next, MajorVersion: 1,
		Exchange: ex, MessageID: msgID}
}

// v1Send sends messages to the peer, from ep's local address, in
// fragments when they are large and the peer takes them.
func (s *session) v1Send(ep esp.Endpoint, ps ...[]byte) {
	for _, p := range ps {
		for _, f := range s.v1Fragments(p) {
			s.out = append(s.out, datagram{data: f, ep: ep})
		}
	}
}

// v1Reply sends our answer to the request whose digest is req and keeps it
// for the request's retransmissions.
func (s *session) v1Reply(req [32]byte, packets ...[]byte) {
	v := s.v1
	if len(v.replyOrder) >= maxV1Replies {
		delete(v.replies, v.replyOrder[0])
		v.replyOrder = v.replyOrder[1:]
	}
	v.replies[req] = packets
	v.replyOrder = append(v.replyOrder, req)
	s.v1Send(esp.Endpoint{Local: s.local, Remote: s.remote}, packets...)
}

// v1NewMsgID returns a random message ID not in use.
func (s *session) v1NewMsgID() (uint32, error) {
	var b [4]byte
	for {
		if _, err := s.env.rand.Read(b[:]); err != nil {
			return 0, err
		}
		id := binary.BigEndian.Uint32(b[:])
		if _, used := s.v1.ivs[id]; id != 0 && !used {
			return id, nil
		}
	}
}

// v1Request sends a request of ours (a new exchange) and retransmits it
// until answered.
func (s *session) v1Request(kind string, ex wire.V1Exchange, ps []wire.V1Payload) (uint32, error) {
	id, err := s.v1NewMsgID()
	if err != nil {
		return 0, err
	}
	b, err := s.v1Seal(ex, id, ps, nil)
	if err != nil {
		return 0, err
	}
	wait, _ := s.env.retransmit.Wait(0)
	s.v1.pending = &v1Request{kind: kind, msgID: id, packets: [][]byte{b}, deadline: s.env.now().Add(wait)}
	s.v1Send(esp.Endpoint{Local: s.local, Remote: s.remote}, b)
	return id, nil
}

// v1Inform sends an Informational exchange with ps, not retransmitted
// (RFC 2408 Section 4.8).
func (s *session) v1Inform(ps ...wire.V1Payload) {
	id, err := s.v1NewMsgID()
	if err != nil {
		return
	}
	b, err := s.v1Seal(wire.V1ExchangeInformational, id, ps, nil)
	if err != nil {
		s.logger().Warn("cannot build an informational message", "err", err)
		return
	}
	delete(s.v1.ivs, id) // nothing follows on this message ID
	s.v1Send(esp.Endpoint{Local: s.local, Remote: s.remote}, b)
}

// v1Established marks the IKEv1 SA up: Main Mode and XAuth are done.
func (s *session) v1Established() {
	s.state = StateEstablished
	s.up = s.env.now()
	if s.nat.LocalBehindNAT && s.keepaliveInterval() > 0 {
		s.nextKeepalive = s.up.Add(s.keepaliveInterval())
	}
	if s.logs(slog.LevelInfo) {
		s.logger().Info("IKEv1 SA established", "id", s.remoteID.String(), "xauth", s.v1.user)
	}
	s.emit(Event{Kind: EventIKEUp, Proposal: s.prop})
	if s.peer.ModeConfigPush && !s.initiator {
		s.v1PushConfig()
	}
}

// v1NextDeadline is when v1Timeout must run next; zero when never.
func (s *session) v1NextDeadline() time.Time {
	if s.state == StateClosed {
		return time.Time{}
	}
	v := s.v1
	var d time.Time
	min := func(t time.Time) {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	if v.pending != nil {
		min(v.pending.deadline)
	}
	if s.state == StateConnecting {
		min(s.created.Add(s.env.v1Timeout))
	}
	min(s.nextKeepalive)
	min(v.expires)
	min(v.deleteAt)
	if s.initiator && s.state == StateEstablished && !s.reauthing {
		min(s.reauthAt)
	}
	if s.state == StateEstablished && v.pending == nil && len(v.toStart)+len(v.toRekey) > 0 {
		min(s.env.now()) // Quick Modes to start
	}
	if d := s.dpdDelay(); d > 0 && v.dpd && s.state == StateEstablished && v.pending == nil {
		min(s.lastHeard.Add(d))
	}
	return d
}

// v1Timeout retransmits, gives up, checks liveness and ends the SA at the
// end of its lifetime.
func (s *session) v1Timeout(now time.Time) {
	if s.state == StateClosed {
		return
	}
	v := s.v1
	if s.state == StateConnecting && !now.Before(s.created.Add(s.env.v1Timeout)) {
		s.close(fmt.Errorf("ike: IKEv1 SA not established within %v", s.env.v1Timeout), false)
		return
	}
	if !v.expires.IsZero() && !now.Before(v.expires) {
		s.logger().Info("IKEv1 SA lifetime over")
		s.close(nil, true)
		return
	}
	if !v.deleteAt.IsZero() && !now.Before(v.deleteAt) {
		s.logger().Info("reauthenticated: deleting the old IKEv1 SA")
		s.close(nil, true)
		return
	}
	if p := v.pending; p != nil && !now.Before(p.deadline) {
		wait, ok := s.env.retransmit.Wait(p.tries + 1)
		if !ok {
			s.logger().Info("giving up after retransmissions", "request", p.kind, "tries", p.tries+1)
			s.fail(fmt.Errorf("ike: peer did not answer the %s", p.kind))
			return
		}
		p.tries++
		p.deadline = now.Add(wait)
		s.v1Send(esp.Endpoint{Local: s.local, Remote: s.remote}, p.packets...)
	}
	if d := s.dpdDelay(); d > 0 && v.dpd && s.state == StateEstablished && v.pending == nil && !now.Before(s.lastHeard.Add(d)) {
		if n := s.inboundPackets(); n != s.inPackets {
			s.inPackets = n // ESP from the peer: it is alive
			s.lastHeard = now
		} else {
			s.v1SendDPD()
		}
	}
	if s.initiator && s.state == StateEstablished && !s.reauthing && !s.reauthAt.IsZero() && !now.Before(s.reauthAt) {
		s.logger().Info("reauthenticating")
		s.reauthing, s.wantReauth = true, true // the Manager makes the new SA, then deletes this one
	}
	if !s.nextKeepalive.IsZero() && !now.Before(s.nextKeepalive) {
		s.out = append(s.out, datagram{data: []byte{0xff}, ep: esp.Endpoint{Local: s.local, Remote: s.remote}, keepalive: true})
		s.nextKeepalive = now.Add(s.keepaliveInterval())
	}
	s.v1NextQuick()
}

// v1Close sends the deletes of an IKEv1 SA's CHILD_SAs and of the ISAKMP
// SA itself (RFC 2408 Section 3.15; not acknowledged).
func (s *session) v1Close() {
	if s.v1.keys == nil || s.v1.phase != v1Authenticated {
		return
	}
	for _, c := range s.children {
		s.v1Inform(&wire.V1Delete{DOI: wire.V1DOIIPsec, Protocol: wire.V1ProtocolESP,
			SPIs: [][]byte{binary.BigEndian.AppendUint32(nil, c.inSPI)}})
	}
	s.v1Inform(&wire.V1Delete{DOI: wire.V1DOIIPsec, Protocol: wire.V1ProtocolISAKMP, SPIs: [][]byte{s.v1Cookies()}})
}

// v1Cookies returns CKY-I | CKY-R, the ISAKMP SA's SPI.
func (s *session) v1Cookies() []byte {
	b := binary.BigEndian.AppendUint64(nil, s.spii)
	return binary.BigEndian.AppendUint64(b, s.spir)
}

// v1LogNotify logs the notifications of an unencrypted informational
// message (errors the peer reports during Phase 1).
func (s *session) v1LogNotify(ps []wire.V1Payload) {
	for _, p := range ps {
		if n, ok := p.(*wire.V1Notify); ok {
			s.logger().Info("IKEv1 notification", "type", n.Kind.String())
		}
	}
}

// clientKey tells clients apart beyond their IKE identity, for
// INITIAL-CONTACT and uniqueness: an IKEv1 client's identity is usually
// its own (private) address, which clients in different networks share,
// so an XAuth client is known by its user name, and another IKEv1 client
// by its identity and public address. IKEv2 SAs have none ("").
func (s *session) clientKey() string {
	switch {
	case s.v1 == nil:
		return ""
	case s.v1.user != "":
		return "xauth:" + s.v1.user
	}
	return s.remote.Addr().String()
}

// v1Grace is how long we keep an ISAKMP SA whose lifetime is life: the
// initiator reauthenticates before life ends and deletes the old SA; we
// end it ourselves only a while later (a tenth more, at least 30 s), so
// that a reauthentication that starts at the last moment still finds its
// CHILD_SAs.
func v1Grace(life time.Duration) time.Duration {
	return life + max(life/10, 30*time.Second)
}
