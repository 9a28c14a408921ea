package ike

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike/wire"
	"github.com/ikego/ikego/pki"
)

// IKEv1 Main Mode (Identity Protection, RFC 2409 Section 5) as responder,
// with a pre-shared key:
//
//	HDR, SA                      -->
//	                             <--  HDR, SA
//	HDR, KE, Ni [, NAT-D, NAT-D] -->
//	                             <--  HDR, KE, Nr [, NAT-D, NAT-D]
//	HDR*, IDii, HASH_I           -->
//	                             <--  HDR*, IDir, HASH_R
//
// NAT traversal follows RFC 3947: the vendor ID in the first pair, NAT-D
// in the second, and the initiator floats to port 4500 for the third.

// v1DefaultLife is the ISAKMP SA lifetime when the proposal names none
// (RFC 2407 Section 4.5 for Phase 2; strongSwan uses the same for Phase 1).
const v1DefaultLife = 8 * time.Hour

// v1Phase1Choice is a Phase 1 transform we can take.
type v1Phase1Choice struct {
	transform wire.V1Transform
	proposal  Proposal
	hash      v1Hash
	cipher    v1Cipher
	group     Group
	auth      wire.V1AuthMethod
	life      time.Duration
}

// v1Phase1Transform reads a Phase 1 transform into the form of an IKEv2
// proposal (the hash gives the PRF and the integrity algorithm), so that
// configured proposals in strongSwan's syntax select it.
func v1Phase1Transform(t wire.V1Transform) (v1Phase1Choice, error) {
	c := v1Phase1Choice{transform: t, life: v1DefaultLife}
	p := Proposal{Protocol: wire.ProtocolIKE}
	var encr, hash, group uint64
	var keyBits uint64
	var lifeType uint64
	for _, a := range t.Attributes {
		v, ok := a.Uint64()
		if !ok {
			return c, fmt.Errorf("ike: attribute %s too long", a.Type.Phase1String())
		}
		switch a.Type {
		case wire.V1AttrEncryption:
			encr = v
		case wire.V1AttrHash:
			hash = v
		case wire.V1AttrAuthMethod:
			c.auth = wire.V1AuthMethod(v)
		case wire.V1AttrGroup:
			group = v
		case wire.V1AttrKeyLength:
			keyBits = v
		case wire.V1AttrLifeType:
			lifeType = v
		case wire.V1AttrLifeDuration:
			if wire.V1LifeType(lifeType) == wire.V1LifeSeconds && v > 0 {
				c.life = time.Duration(min(v, 1<<32)) * time.Second
			}
		default:
			return c, fmt.Errorf("ike: unsupported Phase 1 attribute %s", a.Type.Phase1String())
		}
	}
	alg := wire.V1EncrAlg(encr)
	e, ok := v1EncrByAlg(alg)
	switch {
	case !ok:
		return c, fmt.Errorf("ike: unsupported Phase 1 encryption %v", alg)
	case alg == wire.V1Encr3DES:
		keyBits = 192
	case keyBits != 128 && keyBits != 192 && keyBits != 256:
		return c, fmt.Errorf("ike: AES-CBC with a key of %d bits", keyBits)
	}
	c.cipher = v1Cipher{Alg: alg, KeyBits: int(keyBits)}
	tr := Transform{Type: wire.TransformEncr, ID: uint16(e)}
	if alg != wire.V1Encr3DES {
		tr.KeyBits = uint16(keyBits)
	}
	p.add(tr)
	h, ok := v1HashByAlg(wire.V1HashAlg(hash))
	if !ok {
		return c, fmt.Errorf("ike: unsupported Phase 1 hash %v", wire.V1HashAlg(hash))
	}
	c.hash = h.hash
	p.add(Transform{Type: wire.TransformPRF, ID: uint16(h.prf)})
	p.add(Transform{Type: wire.TransformInteg, ID: uint16(h.integ)})
	c.group = Group(group)
	if !c.group.Supported() {
		return c, fmt.Errorf("ike: unsupported Phase 1 group %d", group)
	}
	p.add(Transform{Type: wire.TransformKE, ID: uint16(group)})
	c.proposal = p
	return c, nil
}

// v1Start answers Main Mode message 1 for a new responder session whose
// connection is s.peer: it selects a Phase 1 transform and returns
// message 2, or an unencrypted NO-PROPOSAL-CHOSEN notification and an
// error.
func (s *session) v1Start(m *wire.V1Message) ([]byte, error) {
	v := s.v1
	sa, ok := wire.FindV1[*wire.V1SA](m.Payloads)
	if !ok || m.Payloads[0] != wire.V1Payload(sa) {
		return nil, errors.New("ike: Main Mode message 1 without SA first")
	}
	for _, p := range m.Payloads {
		if vid, ok := p.(*wire.V1VendorID); ok {
			switch {
			case bytes.Equal(vid.Data, v1VIDNATT):
				v.natt = true
			case bytes.Equal(vid.Data, v1VIDDPD):
				v.dpd = true
			case bytes.Equal(vid.Data, v1VIDXAuth):
				v.xauthVID = true
			case bytes.Equal(vid.Data, v1VIDUnity):
				v.unity = true
			case isV1FragmentVID(vid.Data):
				v.fragPeer = true
			}
		}
	}
	wantAuth := s.peer.v1AuthMethod()
	configured := s.peer.ikeProposals()
	var received []Proposal
	var chosen *v1Phase1Choice
	if sa.DOI == wire.V1DOIIPsec && len(sa.Proposals) == 1 && sa.Proposals[0].Protocol == wire.V1ProtocolISAKMP {
		for _, t := range sa.Proposals[0].Transforms {
			c, err := v1Phase1Transform(t)
			if err != nil {
				s.logger().Debug("IKEv1 transform skipped", "transform", t.Number, "err", err)
				continue
			}
			received = append(received, c.proposal)
			if c.auth != wantAuth {
				s.logger().Debug("IKEv1 transform skipped", "transform", t.Number, "auth", c.auth.String(), "want", wantAuth.String())
				continue
			}
			if chosen != nil {
				continue
			}
			if sel, ok := Select(configured, []Proposal{c.proposal}, false); ok {
				c.proposal = sel
				chosen = &c
			}
		}
	}
	if s.logs(slog.LevelDebug) {
		sel := Proposal{}
		if chosen != nil {
			sel = chosen.proposal
		}
		for _, l := range LogLines(received, configured, sel, chosen != nil) {
			s.logger().Debug(l)
		}
	}
	if chosen == nil {
		return s.v1Refuse(wire.V1NotifyNoProposalChosen), fmt.Errorf("ike: no IKEv1 proposal chosen: received %s", FormatProposals(received))
	}
	v.hash, v.cipher, v.group, v.auth, v.life = chosen.hash, chosen.cipher, chosen.group, chosen.auth, chosen.life
	s.prop = chosen.proposal
	v.saiB = bytes.Clone(sa.Body())
	reply := &wire.V1SA{DOI: wire.V1DOIIPsec, Situation: sa.Situation, Proposals: []wire.V1Proposal{{
		Number: sa.Proposals[0].Number, Protocol: wire.V1ProtocolISAKMP, Transforms: []wire.V1Transform{chosen.transform}}}}
	ps := []wire.V1Payload{reply}
	if s.peer.Remote.XAuthPassword != nil {
		ps = append(ps, &wire.V1VendorID{Data: v1VIDXAuth})
	}
	ps = append(ps, &wire.V1VendorID{Data: v1VIDDPD})
	if v.fragPeer && !s.peer.NoFragmentation {
		ps = append(ps, &wire.V1VendorID{Data: append(bytes.Clone(v1VIDFragmentation), 0x80, 0, 0, 0)})
	}
	if v.natt {
		ps = append(ps, &wire.V1VendorID{Data: v1VIDNATT})
	}
	out := wire.V1Message{Header: s.v1Header(wire.V1ExchangeIDProt, 0, 0), Payloads: ps}
	if s.logs(slog.LevelInfo) && m.Header.Exchange == wire.V1ExchangeIDProt {
		s.logger().Info("IKEv1 Main Mode", "proposal", chosen.proposal.String(), "auth", chosen.auth.String())
	}
	return out.Marshal()
}

// v1Refuse returns an unencrypted Informational message with notification
// n about the ISAKMP SA being negotiated.
func (s *session) v1Refuse(n wire.V1NotifyType) []byte {
	out := wire.V1Message{Header: s.v1Header(wire.V1ExchangeInformational, 0, 0), Payloads: []wire.V1Payload{
		&wire.V1Notify{DOI: wire.V1DOIIPsec, Protocol: wire.V1ProtocolISAKMP, SPI: s.v1Cookies(), Kind: n}}}
	b, err := out.Marshal()
	if err != nil {
		return nil
	}
	return b
}

// v1MainMode handles Main Mode messages 3 and 5.
func (s *session) v1MainMode(m *wire.V1Message, ep esp.Endpoint, digest [32]byte) {
	v := s.v1
	if digest == v.lastPhase1 && v.phase1Reply != nil {
		s.v1Send(ep, v.phase1Reply)
		return
	}
	var reply []byte
	var err error
	switch {
	case m.Header.Exchange == wire.V1ExchangeAggressive && v.phase == v1SentAggressive:
		if err := s.v1AggressiveFinish(m, ep); err != nil {
			s.logger().Info("IKEv1 Aggressive Mode failed", "err", err)
			s.close(err, false)
			return
		}
		v.lastPhase1, v.phase1Reply = digest, nil
		s.v1AfterMainMode()
		return
	case m.Header.Exchange != wire.V1ExchangeIDProt:
		return
	case v.phase == v1SentSA && !m.Header.Encrypted():
		reply, err = s.v1KeyExchange(m, ep)
	case v.phase == v1SentKE && m.Header.Encrypted():
		reply, err = s.v1Authenticate(m, ep)
	default:
		return // out of order: drop
	}
	if err != nil {
		s.logger().Info("IKEv1 Main Mode failed", "err", err)
		if reply != nil {
			s.v1Send(ep, reply)
		}
		s.close(err, false)
		return
	}
	v.lastPhase1, v.phase1Reply = digest, reply
	s.v1Send(ep, reply)
	if v.phase == v1Authenticated {
		s.v1AfterMainMode()
	}
}

// v1KeyExchange handles message 3 (KE, Ni, NAT-D) and returns message 4.
func (s *session) v1KeyExchange(m *wire.V1Message, ep esp.Endpoint) ([]byte, error) {
	v := s.v1
	ke, okKE := wire.FindV1[*wire.V1KE](m.Payloads)
	ni, okN := wire.FindV1[*wire.V1Nonce](m.Payloads)
	if !okKE || !okN {
		return nil, errors.New("ike: Main Mode message 3 without KE or nonce")
	}
	if len(ni.Data) < 8 || len(ni.Data) > 256 {
		return nil, fmt.Errorf("ike: nonce of %d octets", len(ni.Data))
	}
	share, err := NewKeyShare(v.group, s.env.rand)
	if err != nil {
		return nil, err
	}
	gxy, err := share.Shared(ke.Data)
	if err != nil {
		return s.v1Refuse(wire.V1NotifyInvalidKeyInformation), err
	}
	nr := make([]byte, 32)
	if _, err := s.env.rand.Read(nr); err != nil {
		return nil, err
	}
	v.share, v.gxi, v.gxr = share, bytes.Clone(ke.Data), share.Public()
	v.ni, v.nr = bytes.Clone(ni.Data), nr
	if err := s.v1DeriveKeys(gxy); err != nil {
		return nil, err
	}
	ps := []wire.V1Payload{&wire.V1KE{Data: v.gxr}, &wire.V1Nonce{Data: nr}}
	if s.peer.Remote.Method == AuthPubKey {
		// RFC 2408 Section 3.10: the CAs we trust, by DN.
		for _, ca := range uniqueCAs(s.peer.Remote.CAs) {
			ps = append(ps, &wire.V1CertReq{Encoding: wire.V1CertX509Sig, Authority: ca.RawSubject})
		}
	}
	if v.natt {
		s.v1DetectNAT(m.Payloads, ep)
		// RFC 3947 Section 3.2: the first hash is of the receiver's
		// address as we see it, the other of ours (random when forcing
		// encapsulation: the peer then sees a NAT).
		local := s.v1NATHash(ep.Local)
		if s.peer.ForceEncap {
			local = make([]byte, len(local))
			if _, err := s.env.rand.Read(local); err != nil {
				return nil, err
			}
		}
		ps = append(ps, &wire.V1NATD{Hash: s.v1NATHash(ep.Remote)}, &wire.V1NATD{Hash: local})
	}
	v.phase = v1SentKE
	out := wire.V1Message{Header: s.v1Header(wire.V1ExchangeIDProt, 0, 0), Payloads: ps}
	return out.Marshal()
}

// v1DeriveKeys derives SKEYID, the Phase 1 keys and the first IV from
// g^xy, the nonces and the cookies (RFC 2409 Sections 5 and Appendix B).
func (s *session) v1DeriveKeys(gxy []byte) error {
	v := s.v1
	var skeyid []byte
	if v1Signatures(v.auth) {
		skeyid = v1SKEYIDSig(v.hash, v.ni, v.nr, gxy)
	} else {
		psk := s.peer.Remote.PSK
		if len(psk) == 0 {
			psk = s.peer.Local.PSK
		}
		skeyid = v1SKEYIDPSK(v.hash, psk, v.ni, v.nr)
	}
	keys, err := deriveV1Keys(v.hash, v.cipher, skeyid, gxy, s.spii, s.spir)
	if err != nil {
		return err
	}
	v.keys, v.iv = keys, keys.initialIV(v.gxi, v.gxr)
	return nil
}

// v1DetectNAT compares the peer's NAT-D hashes (RFC 3947, not the drafts)
// among ps with the addresses the message came between (RFC 3947 Section
// 3.2: the first is of our address as the peer sees it, the others of its
// own). Fewer than two change nothing.
func (s *session) v1DetectNAT(ps []wire.V1Payload, ep esp.Endpoint) {
	var natds []*wire.V1NATD
	for _, p := range ps {
		if d, ok := p.(*wire.V1NATD); ok && !d.Draft {
			natds = append(natds, d)
		}
	}
	if len(natds) < 2 {
		return
	}
	s.nat.LocalBehindNAT = !bytes.Equal(natds[0].Hash, s.v1NATHash(ep.Local))
	seen := s.v1NATHash(ep.Remote)
	s.nat.RemoteBehindNAT = true
	for _, d := range natds[1:] {
		if bytes.Equal(d.Hash, seen) {
			s.nat.RemoteBehindNAT = false
		}
	}
	s.encap = s.nat.Any() || s.peer.ForceEncap
}

// v1NATHash is HASH(CKY-I | CKY-R | IP | Port) (RFC 3947 Section 3.2).
func (s *session) v1NATHash(a netip.AddrPort) []byte {
	h := s.v1.hash.New()
	var b [16]byte
	binary.BigEndian.PutUint64(b[:], s.spii)
	binary.BigEndian.PutUint64(b[8:], s.spir)
	h.Write(b[:])
	h.Write(a.Addr().Unmap().AsSlice())
	binary.BigEndian.PutUint16(b[:], a.Port())
	h.Write(b[:2])
	return h.Sum(nil)
}

// v1Authenticate handles message 5 (IDii, HASH_I) and returns message 6.
func (s *session) v1Authenticate(m *wire.V1Message, ep esp.Endpoint) ([]byte, error) {
	v := s.v1
	plain, next, err := v.keys.decrypt(v.iv, m.Encrypted)
	if err != nil {
		return nil, err
	}
	ps, err := wire.ParseV1Payloads(m.Header.NextPayload, plain)
	if err != nil {
		// Most likely a wrong PSK: the decryption gave garbage.
		return nil, fmt.Errorf("ike: Main Mode message 5 does not parse (a PSK mismatch?): %w", err)
	}
	id, okID := wire.FindV1[*wire.V1ID](ps)
	if !okID {
		return nil, errors.New("ike: Main Mode message 5 without ID")
	}
	want := v.keys.hashI(v.gxi, v.gxr, s.spii, s.spir, v.saiB, id.Body())
	remoteID, err := pki.NewIdentity(pki.IDType(id.IDType), bytes.Clone(id.Data))
	if err != nil {
		return nil, fmt.Errorf("ike: peer identity: %w", err)
	}
	if s.peer.Remote.Method == AuthPubKey {
		if err := s.v1VerifySignature(ps, remoteID, want); err != nil {
			return s.v1Refuse(wire.V1NotifyAuthenticationFailed), err
		}
	} else {
		hash, ok := wire.FindV1[*wire.V1Hash](ps)
		if !ok || subtle.ConstantTimeCompare(want, hash.Data) != 1 {
			return s.v1Refuse(wire.V1NotifyAuthenticationFailed), fmt.Errorf("%w: HASH_I does not verify (a PSK mismatch?)", ErrAuthFailed)
		}
	}
	v.iv = next
	s.authenticated(ep)
	if s.peer.Remote.ID.Type != 0 && !remoteID.Matches(s.peer.Remote.ID) {
		return s.v1Refuse(wire.V1NotifyAuthenticationFailed), fmt.Errorf("%w: peer identity %s does not match %s", ErrAuthFailed, remoteID, s.peer.Remote.ID)
	}
	s.remoteID = remoteID
	for _, p := range ps {
		if n, ok := p.(*wire.V1Notify); ok && n.Kind == wire.V1NotifyInitialContact {
			s.initialContact = true
		}
	}
	out6, err := s.v1Proof(false)
	if err != nil {
		return nil, err
	}
	b, err := s.v1SealPhase1(wire.V1ExchangeIDProt, out6)
	if err != nil {
		return nil, err
	}
	v.phase = v1Authenticated
	v.expires = s.env.now().Add(v1Grace(v.life))
	v.share = nil
	s.logger().Info("IKEv1 Main Mode authenticated", "id", remoteID.String())
	return b, nil
}

// v1Proof returns our identity and its proof for Main Mode message 5
// (initiator) or 6: ID, then with certificates our CERTs and SIG, the
// signature of HASH_I or HASH_R (RFC 2409 Section 5.1; with RSA, PKCS #1
// v1.5 without a DigestInfo, as strongSwan and racoon do), else HASH.
func (s *session) v1Proof(initiator bool) ([]wire.V1Payload, error) {
	v := s.v1
	our := s.v1OurID()
	id := &wire.V1ID{IDType: wire.V1IDType(our.Type), Data: our.Data}
	hash, name := v.keys.hashR(v.gxi, v.gxr, s.spii, s.spir, v.saiB, id.Body()), "HASH_R"
	if initiator {
		hash, name = v.keys.hashI(v.gxi, v.gxr, s.spii, s.spir, v.saiB, id.Body()), "HASH_I"
	}
	ps := []wire.V1Payload{id}
	if s.peer.Local.Method != AuthPubKey {
		return append(ps, &wire.V1Hash{Data: hash}), nil
	}
	for _, c := range s.peer.Local.Certificates {
		ps = append(ps, &wire.V1Cert{Encoding: wire.V1CertX509Sig, Data: c.Raw})
	}
	sig, err := s.peer.Local.Key.Sign(s.env.rand, hash, crypto.Hash(0))
	if err != nil {
		return nil, fmt.Errorf("ike: signing %s: %w", name, err)
	}
	if k, ok := s.peer.Local.Key.Public().(*ecdsa.PublicKey); ok {
		// ECDSA signs the hash itself; IKEv1 sends r and s (RFC 4754).
		c, _ := curveOf(k)
		if sig, err = derToRS(sig, c.size); err != nil {
			return nil, fmt.Errorf("ike: signing %s: %w", name, err)
		}
	}
	return append(ps, &wire.V1Signature{Data: sig}), nil
}

// v1SealPhase1 encrypts Main Mode message 5 or 6, or Aggressive Mode
// message 3 (exchange ex), with the Phase 1 IV, which the last cipher block
// then replaces.
func (s *session) v1SealPhase1(ex wire.V1Exchange, ps []wire.V1Payload) ([]byte, error) {
	v := s.v1
	body, err := wire.MarshalV1Payloads(ps)
	if err != nil {
		return nil, err
	}
	ct, last := v.keys.encrypt(v.iv, body)
	v.iv = last
	out := wire.V1Message{Header: s.v1Header(ex, 0, ps[0].Type()), Encrypted: ct}
	out.Header.Flags |= wire.V1FlagEncryption
	return out.Marshal()
}

// v1AfterMainMode starts XAuth, or marks the SA established.
func (s *session) v1AfterMainMode() {
	if s.peer.Remote.XAuthPassword != nil {
		s.v1StartXAuth()
		return
	}
	s.v1Established()
}

// v1AuthMethod is the IKEv1 authentication method of the connection.
func (p *PeerConfig) v1AuthMethod() wire.V1AuthMethod {
	xauth := p.Remote.XAuthPassword != nil || p.Local.XAuthUser != ""
	switch {
	case p.Local.Method == AuthPSK && xauth:
		return wire.V1AuthXAuthInitPSK
	case p.Local.Method == AuthPSK:
		return wire.V1AuthPSK
	case p.Remote.Method == AuthXAuth:
		return wire.V1AuthHybridInitRSA
	case xauth:
		return wire.V1AuthXAuthInitRSA
	case p.Local.Key != nil:
		if k, ok := p.Local.Key.Public().(*ecdsa.PublicKey); ok {
			if c, ok := curveOf(k); ok {
				return v1ECDSAMethod(c)
			}
		}
	}
	return wire.V1AuthRSASig
}

// v1ECDSAMethod is the IKEv1 authentication method of ECDSA signatures on
// a curve (RFC 4754 Section 3).
func v1ECDSAMethod(c ecdsaCurve) wire.V1AuthMethod {
	switch c.name {
	case "P-384":
		return wire.V1AuthECDSA384
	case "P-521":
		return wire.V1AuthECDSA521
	}
	return wire.V1AuthECDSA256
}

// v1Signatures reports whether the method keys SKEYID from the nonces and
// g^xy (RFC 2409 Section 5: signatures; hybrid as well).
func v1Signatures(m wire.V1AuthMethod) bool {
	switch m {
	case wire.V1AuthRSASig, wire.V1AuthXAuthInitRSA, wire.V1AuthHybridInitRSA,
		wire.V1AuthECDSA256, wire.V1AuthECDSA384, wire.V1AuthECDSA521:
		return true
	}
	return false
}

// v1VerifySignature checks the initiator's certificate and SIG_I over
// hashI (RFC 2409 Section 5.1): the chain verifies to one of our CAs, the
// identity is in the certificate, and the signature is the RSA PKCS #1
// v1.5 signature of HASH_I without a DigestInfo.
func (s *session) v1VerifySignature(ps []wire.V1Payload, id pki.Identity, hashI []byte) error {
	var leaf *x509.Certificate
	var chain []*x509.Certificate
	for _, p := range ps {
		c, ok := p.(*wire.V1Cert)
		if !ok || c.Encoding != wire.V1CertX509Sig {
			continue
		}
		cert, err := x509.ParseCertificate(c.Data)
		if err != nil {
			return fmt.Errorf("%w: certificate: %v", ErrAuthFailed, err)
		}
		if leaf == nil {
			leaf = cert
		} else {
			chain = append(chain, cert)
		}
	}
	sig, ok := wire.FindV1[*wire.V1Signature](ps)
	switch {
	case leaf == nil:
		return fmt.Errorf("%w: %v sent no certificate", ErrAuthFailed, id)
	case !ok:
		return fmt.Errorf("%w: %v sent no signature", ErrAuthFailed, id)
	}
	p := s.peer
	if _, err := pki.Verify(leaf, pki.VerifyOptions{Roots: p.Remote.CAs, Intermediates: chain, CRLs: p.Remote.CRLs, Time: s.env.now()}); err != nil {
		return fmt.Errorf("%w: certificate of %v: %v", ErrAuthFailed, id, err)
	}
	if id.HasWildcards() || !pki.MatchCertificate(id, leaf) {
		return fmt.Errorf("%w: identity %v is not in its certificate (%s)", ErrAuthFailed, id, leaf.Subject)
	}
	// The method is for both ends: RSA, or ECDSA on the curve it names,
	// whose signature is r and s of the curve's size (RFC 4754 Section
	// 7) over the hash itself, as strongSwan signs it.
	switch pub := leaf.PublicKey.(type) {
	case *rsa.PublicKey:
		if !v1RSAMethod(s.v1.auth) {
			return fmt.Errorf("%w: %v signs with RSA, the method is %v", ErrAuthFailed, id, s.v1.auth)
		}
		if err := rsa.VerifyPKCS1v15(pub, crypto.Hash(0), hashI, sig.Data); err != nil {
			return fmt.Errorf("%w: signature of %v does not verify", ErrAuthFailed, id)
		}
	case *ecdsa.PublicKey:
		c, ok := curveOf(pub)
		if !ok || v1ECDSAMethod(c) != s.v1.auth {
			return fmt.Errorf("%w: %v signs with ECDSA on %s, the method is %v", ErrAuthFailed, id, pub.Params().Name, s.v1.auth)
		}
		if len(sig.Data) != 2*c.size || !ecdsa.VerifyASN1(pub, hashI, rsToDER(sig.Data)) {
			return fmt.Errorf("%w: signature of %v does not verify", ErrAuthFailed, id)
		}
	default:
		return fmt.Errorf("%w: %v: a %T key cannot sign for IKEv1", ErrAuthFailed, id, leaf.PublicKey)
	}
	return nil
}

// v1RSAMethod reports whether the method signs with RSA.
func v1RSAMethod(m wire.V1AuthMethod) bool {
	switch m {
	case wire.V1AuthRSASig, wire.V1AuthXAuthInitRSA, wire.V1AuthHybridInitRSA:
		return true
	}
	return false
}

// v1OurID is the identity we send: the configured one, else our
// certificate's subject or our address.
func (s *session) v1OurID() pki.Identity {
	switch our := s.peer.Local.ID; {
	case our.Type != 0:
		return our
	case s.peer.Local.Method == AuthPubKey:
		return pki.Identity{Type: pki.IDType(wire.V1IDDERASN1DN), Data: s.peer.Local.Certificates[0].RawSubject}
	}
	return pki.AddrIdentity(s.local.Addr())
}
