package ike

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/ikego/ikego/ike/wire"
)

// Rekeying the IKE SA (RFC 7296 §1.3.2, §2.18): a CREATE_CHILD_SA on the
// old IKE SA makes a new one with fresh SPIs, nonces and a key exchange;
// the CHILD_SAs, virtual IPs and identity move to it, and the rekey's
// initiator then deletes the old IKE SA. The new IKE SA's original
// initiator is whoever started the rekey.
//
//	HDR, SK { SA, Ni, KEi } -->
//	<-- HDR, SK { SA, Nr, KEr }

// ikeRekeyTime returns when an IKE SA established at up rekeys: the
// configured time (4 h by default, as strongSwan's rekey_time) minus a
// random part of up to a tenth of it.
func (s *session) ikeRekeyTime(up time.Time) time.Time {
	d := 4 * time.Hour
	if s.peer != nil && s.peer.RekeyTime != 0 {
		d = s.peer.RekeyTime
	}
	if d < 0 {
		return time.Time{}
	}
	var b [8]byte
	if _, err := s.env.rand.Read(b[:]); err == nil && d >= 10 {
		d -= time.Duration(binary.BigEndian.Uint64(b[:]) % uint64(d/10))
	}
	return up.Add(d)
}

// newSPI returns a random non-zero IKE SPI.
func newSPI(r io.Reader) (uint64, error) {
	var b [8]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, err
		}
		if v := binary.BigEndian.Uint64(b[:]); v != 0 {
			return v, nil
		}
	}
}

// successor makes the IKE SA that replaces s, without CHILD_SAs yet.
// weInitiated: we started the rekey.
func (s *session) successor(weInitiated bool, spii, spir uint64, p Proposal, keys *IKEKeys) (*session, error) {
	n := &session{env: s.env, id: s.env.nextID(), peer: s.peer, initiator: weInitiated, state: StateEstablished,
		spii: spii, spir: spir, local: s.local, remote: s.remote, nat: s.nat, encap: s.encap, fragOK: s.fragOK,
		created: s.env.now(), prop: p, keys: keys, peerHashes: s.peerHashes,
		remoteID: s.remoteID, eapIdentity: s.eapIdentity, lastHeard: s.env.now(), nextKeepalive: s.nextKeepalive}
	var err error
	if n.send, n.recv, err = keys.SKCiphers(p, weInitiated); err != nil {
		return nil, err
	}
	n.up = n.created
	n.nextRekey = n.ikeRekeyTime(n.up)
	return n, nil
}

// handOver moves s's CHILD_SAs, virtual IPs and identity to its successor
// n and hands n to the Manager.
func (s *session) handOver(n *session) {
	n.children, s.children = s.children, nil
	n.noteChildren(n.children...)
	n.vips, s.vips = s.vips, nil
	n.leased, s.leased = s.leased, false
	n.later, s.later = s.later, nil // postponed rekeys follow the CHILD_SAs
	s.nextKeepalive = time.Time{}
	s.supersededAt = s.env.now()
	s.spawned = append(s.spawned, n)
	s.logger().Info("IKE SA rekeyed", "new", n.id, "proposal", n.prop.String(),
		"spis", fmt.Sprintf("%016x_i %016x_r", n.spii, n.spir))
	n.emit(Event{Kind: EventIKEUp, Proposal: n.prop, Rekey: true})
}

// ikeCollision is the peer's IKE rekey that we answered while ours was in
// flight (RFC 7296 §2.8.2): its successor waits until ours is known.
type ikeCollision struct {
	succ   *session
	nonces [2][]byte
}

// adoptCollision hands over to the successor of the peer's rekey after
// ours failed.
func (s *session) adoptCollision() {
	if c := s.collision; c != nil {
		s.collision = nil
		s.handOver(c.succ)
		s.state = StateDeleting
	}
}

// rekeyIKETask rekeys the IKE SA as initiator.
type rekeyIKETask struct {
	spi   uint64
	ni    []byte
	share *KeyShare
	props []Proposal
}

func (*rekeyIKETask) exchange() wire.ExchangeType { return wire.ExchangeCreateChildSA }

func (t *rekeyIKETask) build(s *session) ([]wire.Payload, error) {
	if s.state != StateEstablished {
		return nil, nil
	}
	var err error
	if t.spi, err = newSPI(s.env.rand); err != nil {
		return nil, err
	}
	t.ni = make([]byte, 32)
	if _, err := io.ReadFull(s.env.rand, t.ni); err != nil {
		return nil, err
	}
	// The current algorithms first (strongSwan does the same).
	cur := s.prop.clone()
	cur.SPI = nil
	t.props = append([]Proposal{cur}, s.peer.ikeProposals()...)
	offer := make([]Proposal, len(t.props))
	for i, p := range t.props {
		offer[i] = p.clone()
		offer[i].SPI = binary.BigEndian.AppendUint64(nil, t.spi)
	}
	if t.share, err = NewKeyShare(s.prop.Group(), s.env.rand); err != nil {
		return nil, err
	}
	s.logger().Info("rekeying IKE SA")
	return []wire.Payload{SAPayload(offer), &wire.Nonce{Data: t.ni},
		&wire.KE{Group: wire.DHGroup(t.share.Group()), Data: t.share.Public()}}, nil
}

func (t *rekeyIKETask) process(s *session, inner []wire.Payload) (err error) {
	s.rekeyingIKE = false
	defer func() {
		if err != nil {
			s.adoptCollision()
		}
	}()
	for _, p := range inner {
		if n, ok := p.(*wire.Notify); ok && n.Kind.IsError() {
			if n.Kind == wire.NotifyTemporaryFailure && s.collision == nil {
				s.retryLater((*session).rekeyIKE)
			}
			return &NotifyError{n.Kind, "IKE rekey refused by the peer"}
		}
	}
	sa, okSA := wire.Find[*wire.SA](inner)
	nr, okN := wire.Find[*wire.Nonce](inner)
	ke, okKE := wire.Find[*wire.KE](inner)
	if !okSA || !okN || !okKE {
		return fmt.Errorf("ike: IKE rekey response without SA, nonce or KE")
	}
	chosen := ProposalsFromSA(sa)
	if len(chosen) != 1 || len(chosen[0].SPI) != 8 || chosen[0].Protocol != wire.ProtocolIKE {
		return fmt.Errorf("ike: IKE rekey response must hold one IKE proposal with an SPI")
	}
	sel, ok := Select(t.props, chosen, false)
	if !ok || !singleTransforms(chosen[0]) {
		return &NotifyError{wire.NotifyNoProposalChosen, "the peer chose " + chosen[0].String() + ", which we did not offer"}
	}
	if Group(ke.Group) != t.share.Group() || sel.Group() != t.share.Group() {
		return &NotifyError{wire.NotifyInvalidKEPayload, "the peer's key exchange does not match"}
	}
	shared, err := t.share.Shared(ke.Data)
	if err != nil {
		return err
	}
	spir := binary.BigEndian.Uint64(chosen[0].SPI)
	keys, err := s.keys.Rekey(sel, shared, t.ni, nr.Data, t.spi, spir)
	if err != nil {
		return err
	}
	sel.SPI = nil
	ours, err := s.successor(true, t.spi, spir, sel, keys)
	if err != nil {
		return err
	}
	if c := s.collision; c != nil {
		s.collision = nil
		// §2.8.2: both ends rekeyed at once; the IKE SA made by the
		// exchange with the lowest nonce is redundant and is deleted by
		// its initiator, the other end deletes the old one.
		if lowestNonce([2][]byte{t.ni, nr.Data}, c.nonces) {
			s.logger().Info("IKE rekey collision lost")
			s.handOver(c.succ)
			s.spawned = append(s.spawned, ours)
			ours.queue(&deleteIKETask{})
			ours.supersededAt = s.env.now()
			s.state = StateDeleting // the peer deletes it
			return nil
		}
		s.logger().Info("IKE rekey collision won")
		c.succ.supersededAt = s.env.now() // the peer deletes it
		c.succ.state = StateDeleting
		s.spawned = append(s.spawned, c.succ)
	}
	s.handOver(ours)
	// The old IKE SA goes: we delete it.
	s.state = StateDeleting
	s.tasks = append([]v2Task{&deleteIKETask{}}, s.tasks...)
	return nil
}

// respondRekeyIKE answers a CREATE_CHILD_SA that rekeys the IKE SA.
func (s *session) respondRekeyIKE(inner []wire.Payload, sa *wire.SA, ni []byte) []wire.Payload {
	refuse := func(n wire.NotifyType, data []byte, why string) []wire.Payload {
		s.logger().Info("IKE rekey refused", "notify", n.String(), "reason", why)
		return []wire.Payload{&wire.Notify{Kind: n, Data: data}}
	}
	received := ProposalsFromSA(sa)
	configured := s.peer.ikeProposals()
	sel, ok := Select(configured, received, true)
	if !ok || len(sel.SPI) != 8 {
		return refuse(wire.NotifyNoProposalChosen, nil, "received "+FormatProposals(received))
	}
	ke, okKE := wire.Find[*wire.KE](inner)
	if !okKE || Group(ke.Group) != sel.Group() {
		var d [2]byte
		binary.BigEndian.PutUint16(d[:], uint16(sel.Group()))
		return refuse(wire.NotifyInvalidKEPayload, d[:], "the key exchange must use "+sel.Group().String())
	}
	share, err := NewKeyShare(sel.Group(), s.env.rand)
	if err != nil {
		return refuse(wire.NotifyNoProposalChosen, nil, err.Error())
	}
	shared, err := share.Shared(ke.Data)
	if err != nil {
		return refuse(wire.NotifyInvalidSyntax, nil, err.Error())
	}
	spir, err := newSPI(s.env.rand)
	if err != nil {
		return refuse(wire.NotifyTemporaryFailure, nil, err.Error())
	}
	nr := make([]byte, 32)
	if _, err := io.ReadFull(s.env.rand, nr); err != nil {
		return refuse(wire.NotifyTemporaryFailure, nil, err.Error())
	}
	spii := binary.BigEndian.Uint64(sel.SPI)
	keys, err := s.keys.Rekey(sel, shared, ni, nr, spii, spir)
	if err != nil {
		return refuse(wire.NotifyNoProposalChosen, nil, err.Error())
	}
	ours := sel.clone()
	ours.SPI = binary.BigEndian.AppendUint64(nil, spir)
	sel.SPI = nil
	n, err := s.successor(false, spii, spir, sel, keys)
	if err != nil {
		return refuse(wire.NotifyNoProposalChosen, nil, err.Error())
	}
	if s.ikeRekeyInFlight() {
		// Ours is under way too (§2.8.2): which successor stays is
		// decided when its response comes.
		s.collision = &ikeCollision{succ: n, nonces: [2][]byte{append([]byte(nil), ni...), nr}}
	} else {
		s.dropQueuedIKERekey()
		s.handOver(n)
		// The initiator deletes the old IKE SA; until then it only answers.
		s.state = StateDeleting
	}
	return []wire.Payload{SAPayload([]Proposal{ours}), &wire.Nonce{Data: nr},
		&wire.KE{Group: wire.DHGroup(sel.Group()), Data: share.Public()}}
}

// dropQueuedIKERekey removes our queued (unsent) IKE rekey.
func (s *session) dropQueuedIKERekey() {
	s.tasks = slices.DeleteFunc(s.tasks, func(t v2Task) bool {
		_, ok := t.(*rekeyIKETask)
		return ok
	})
	s.rekeyingIKE = false
}
