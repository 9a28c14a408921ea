package ike

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike/wire"
)

// Message-by-message tests of the IKEv1 responder through a Manager. The
// initiator is v1rw, a small roadwarrior client written here from the
// codec and keymat_v1.go: it keeps its own CBC chains (Phase 1, then one
// per message ID) and checks everything the responder sends (HASH_R,
// HASH(2), the HASH of every Transaction and Informational message), so
// that a responder bug fails these tests.

const (
	v1User = "bob"
	v1Pass = "bob-secret"
)

// v1TestVIDDPD and v1TestVIDNATT are the vendor IDs the client sends, by
// their published values (RFC 3706 Section 5, MD5("RFC 3947")).
var (
	v1TestVIDDPD   = []byte{0xaf, 0xca, 0xd7, 0x13, 0x68, 0xa1, 0xf1, 0xc9, 0x6b, 0x86, 0x96, 0xfc, 0x77, 0x57, 0x01, 0x00}
	v1TestVIDNATT  = []byte{0x4a, 0x13, 0x1c, 0x81, 0x07, 0x03, 0x58, 0x45, 0x5c, 0x57, 0x28, 0xf2, 0x0e, 0x95, 0x45, 0x2f}
	v1TestVIDXAuth = []byte{0x09, 0x00, 0x26, 0x89, 0xdf, 0xd6, 0xb7, 0x12}
	v1TestRemoteTS = netip.MustParsePrefix("203.0.113.0/26")
)

// v1GW is the gateway under test: a Manager with one IKEv1 connection,
// fed by hand.
type v1GW struct {
	t     *testing.T
	m     *Manager
	dp    *recDP
	cap   *capture
	clock *testClock
	pool  *Pool
	peer  *PeerConfig
	cfg   Config

	mu  sync.Mutex
	evs []Event
}

// newV1GW returns a gateway with XAuth (bob), a pool and a child for
// testSubnets; opts change the connection and the Config before the
// Manager is made.
func newV1GW(t *testing.T, opts ...func(*PeerConfig, *Config)) *v1GW {
	t.Helper()
	pool, err := NewPool("rw4", netip.MustParsePrefix("198.18.200.0/28"))
	if err != nil {
		t.Fatal(err)
	}
	g := &v1GW{t: t, dp: newRecDP(2), cap: &capture{}, clock: &testClock{t: time.Unix(1_700_000_000, 0)}, pool: pool}
	g.peer = &PeerConfig{Name: "rw", Version: VersionIKEv1,
		Local: AuthConfig{Method: AuthPSK, PSK: testPSK},
		Remote: AuthConfig{Method: AuthPSK, PSK: testPSK, XAuthPassword: func(u string) (string, bool) {
			return v1Pass, u == v1User
		}},
		Pools: []string{"rw4"}, DNS: []netip.Addr{netip.MustParseAddr("198.51.100.53")},
		Children: []*ChildConfig{{Name: "rw", LocalTS: testSubnets,
			ESPProposals: MustParseProposals("aes256-sha256-modp2048-curve25519", wire.ProtocolESP)}}}
	g.cfg = Config{Pools: Pools{pool}, Dataplane: g.dp, Sender: g.cap, Rand: newDetRand(7), Now: g.clock.Now,
		Logger:  testLogger(t).With("side", "gateway"),
		OnEvent: func(e Event) { g.mu.Lock(); g.evs = append(g.evs, e); g.mu.Unlock() }}
	for _, o := range opts {
		o(g.peer, &g.cfg)
	}
	// Connections an option put in cfg.Peers come after the main one.
	g.cfg.Peers = append([]*PeerConfig{g.peer}, g.cfg.Peers...)
	g.m, err = NewManager(g.cfg)
	if err != nil {
		t.Fatal(err)
	}
	g.m.manualTimers = true
	return g
}

// noXAuth is the option of a gateway without XAuth (Main Mode alone).
func noXAuth(p *PeerConfig, _ *Config) { p.Remote.XAuthPassword = nil }

// events returns the events of kind k so far.
func (g *v1GW) events(k EventKind) []Event {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []Event
	for _, e := range g.evs {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

// tick advances the clock by d and runs the due timers; it returns what
// the gateway sent.
func (g *v1GW) tick(d time.Duration) [][]byte {
	g.clock.advance(d)
	g.m.tick()
	return g.sent()
}

// sent returns the datagrams the gateway sent since the last call, without
// the non-ESP marker of port 4500.
func (g *v1GW) sent() [][]byte {
	var out [][]byte
	for _, d := range g.cap.take() {
		b := d.data
		if d.ep.Local.Port() == esp.NATTPort {
			if len(b) < 4 || !bytes.Equal(b[:4], []byte{0, 0, 0, 0}) {
				continue // a NAT keepalive
			}
			b = b[4:]
		}
		out = append(out, b)
	}
	return out
}

// inspect runs fn on the only session.
func (g *v1GW) inspect(fn func(s *session)) {
	g.t.Helper()
	bs := g.m.boxes()
	if len(bs) != 1 {
		g.t.Fatalf("%d IKE SAs, want 1", len(bs))
	}
	bs[0].mu.Lock()
	defer bs[0].mu.Unlock()
	fn(bs[0].s)
}

// checkEmpty fails unless nothing is left: no SA, no half-open SA, no
// dataplane state, no lease.
func (g *v1GW) checkEmpty(what string) {
	g.t.Helper()
	if sas := g.m.SAs(); len(sas) != 0 {
		g.t.Errorf("%s: SAs left: %+v", what, sas)
	}
	if st := g.m.Stats(); st.HalfOpen+st.HalfOpenV1 != 0 {
		g.t.Errorf("%s: %d half-open SAs", what, st.HalfOpen+st.HalfOpenV1)
	}
	if a, b, c, d := g.dp.counts(); a+b+c+d != 0 {
		g.t.Errorf("%s: dataplane not empty: %d policies, %d in, %d out, %d SPIs", what, a, b, c, d)
	}
	if n := g.pool.Online(); n != 0 {
		g.t.Errorf("%s: %d leases online", what, n)
	}
}

// v1rw is the test's IKEv1 initiator.
type v1rw struct {
	t    *testing.T
	gw   *v1GW
	addr netip.AddrPort
	rnd  io.Reader

	auth  wire.V1AuthMethod
	group Group
	psk   []byte
	vids  [][]byte
	id    *wire.V1ID

	hash   v1Hash
	cipher v1Cipher

	ckyI, ckyR uint64
	saiB       []byte
	share      *KeyShare
	gxi, gxr   []byte
	ni, nr     []byte
	keys       *v1Keys
	// iv is the Phase 1 chain, ivs those of later exchanges.
	iv  []byte
	ivs map[uint32][]byte

	vip     netip.Addr
	nextSPI uint32

	// user and pass are the XAuth account; initialContact sends
	// INITIAL-CONTACT in message 5.
	user, pass     string
	initialContact bool

	// With signatures (RSA-SIG, XAUTHInitRSA) message 5 carries certs
	// (DER, leaf first) and SIG_I made with key; without key, HASH_I (as
	// with hybrid). corrupt flips a bit of HASH_I or SIG_I; noVerify
	// skips the check of HASH_R (for a client with a wrong PSK). m4 and
	// m6 are the payloads of messages 4 and 6 (2 in Aggressive Mode).
	certs    [][]byte
	key      crypto.Signer
	corrupt  bool
	noVerify bool
	m4, m6   []wire.V1Payload
	// natAddr is the address the client has behind a NAT, for its own
	// NAT-D in Aggressive Mode message 3 (zero: addr); clear3 sends that
	// message unencrypted (RFC 2409 Section 5.4 allows it).
	natAddr netip.AddrPort
	clear3  bool
}

// newV1rw returns a client proposing AES-CBC-256, SHA2-256, MODP-2048 and
// auth, with the NAT-T and DPD vendor IDs (and XAuth's with XAuth).
func newV1rw(t *testing.T, gw *v1GW, auth wire.V1AuthMethod) *v1rw {
	c := &v1rw{t: t, gw: gw, addr: initAddr, rnd: newDetRand(11), auth: auth, group: GroupMODP2048, psk: testPSK,
		vids:   [][]byte{v1TestVIDNATT, v1TestVIDDPD},
		id:     &wire.V1ID{IDType: wire.V1IDUserFQDN, Data: []byte("client1@example.com")},
		hash:   crypto.SHA256,
		cipher: v1Cipher{Alg: wire.V1EncrAESCBC, KeyBits: 256}, ivs: map[uint32][]byte{}, nextSPI: 0xc1000000,
		user: v1User, pass: v1Pass}
	if v1TestXAuth(auth) {
		c.vids = append(c.vids, v1TestVIDXAuth)
	}
	var b [8]byte
	for c.ckyI == 0 {
		c.rnd.Read(b[:])
		c.ckyI = binary.BigEndian.Uint64(b[:])
	}
	return c
}

// v1TestXAuth reports whether the client does XAuth after Phase 1 with
// auth.
func v1TestXAuth(auth wire.V1AuthMethod) bool {
	switch auth {
	case wire.V1AuthXAuthInitPSK, wire.V1AuthXAuthInitRSA, wire.V1AuthHybridInitRSA:
		return true
	}
	return false
}

// sendFrom delivers b to the gateway as if from src and returns its
// answers.
func (c *v1rw) sendFrom(src netip.AddrPort, b []byte) [][]byte {
	local := respAddr
	if src.Port() == esp.NATTPort {
		local = netip.AddrPortFrom(respAddr.Addr(), esp.NATTPort)
	}
	c.gw.m.receive(b, esp.Endpoint{Local: local, Remote: src})
	return c.gw.sent()
}

func (c *v1rw) send(b []byte) [][]byte { return c.sendFrom(c.addr, b) }

// one fails unless exactly one datagram came back, and returns it.
func (c *v1rw) one(what string, out [][]byte) []byte {
	c.t.Helper()
	if len(out) != 1 {
		c.t.Fatalf("%s: %d datagrams came back, want 1", what, len(out))
	}
	return out[0]
}

func (c *v1rw) header(ex wire.V1Exchange, msgID uint32) wire.V1Header {
	return wire.V1Header{InitiatorCookie: c.ckyI, ResponderCookie: c.ckyR, MajorVersion: 1, Exchange: ex, MessageID: msgID}
}

func (c *v1rw) marshal(m wire.V1Message) []byte {
	c.t.Helper()
	b, err := m.Marshal()
	if err != nil {
		c.t.Fatal(err)
	}
	return b
}

// transform is the client's Phase 1 transform with auth method auth.
func (c *v1rw) transform(num uint8, auth wire.V1AuthMethod) wire.V1Transform {
	return wire.V1Transform{Number: num, ID: wire.V1KeyIKE, Attributes: []wire.V1Attribute{
		{Type: wire.V1AttrEncryption, TV: true, Value: uint16(wire.V1EncrAESCBC)},
		{Type: wire.V1AttrKeyLength, TV: true, Value: 256},
		{Type: wire.V1AttrHash, TV: true, Value: uint16(wire.V1HashSHA2256)},
		{Type: wire.V1AttrAuthMethod, TV: true, Value: uint16(auth)},
		{Type: wire.V1AttrGroup, TV: true, Value: uint16(c.group)},
		{Type: wire.V1AttrLifeType, TV: true, Value: uint16(wire.V1LifeSeconds)},
		wire.V1AttrUint(wire.V1AttrLifeDuration, 28800),
	}}
}

// msg1 builds Main Mode message 1: HDR, SA, V...
func (c *v1rw) msg1() []byte {
	sa := &wire.V1SA{DOI: wire.V1DOIIPsec, Situation: wire.V1SitIdentityOnly, Proposals: []wire.V1Proposal{{
		Number: 1, Protocol: wire.V1ProtocolISAKMP, Transforms: []wire.V1Transform{c.transform(1, c.auth)}}}}
	c.saiB = sa.Body()
	ps := []wire.V1Payload{sa}
	for _, v := range c.vids {
		ps = append(ps, &wire.V1VendorID{Data: v})
	}
	return c.marshal(wire.V1Message{Header: c.header(wire.V1ExchangeIDProt, 0), Payloads: ps})
}

// handle2 checks message 2 and takes the responder's cookie.
func (c *v1rw) handle2(b []byte) {
	c.t.Helper()
	m, err := wire.ParseV1(b)
	if err != nil {
		c.t.Fatalf("message 2: %v", err)
	}
	h := m.Header
	if h.Exchange != wire.V1ExchangeIDProt || h.Encrypted() || h.InitiatorCookie != c.ckyI || h.ResponderCookie == 0 || h.MessageID != 0 {
		c.t.Fatalf("message 2: header %+v (%v)", h, m)
	}
	sa, ok := wire.FindV1[*wire.V1SA](m.Payloads)
	if !ok || len(sa.Proposals) != 1 || len(sa.Proposals[0].Transforms) != 1 {
		c.t.Fatalf("message 2: no single transform chosen: %v", m)
	}
	if got, want := fmt.Sprint(sa.Proposals[0].Transforms[0]), fmt.Sprint(c.transform(1, c.auth)); got != want {
		c.t.Fatalf("message 2 chose %s, offered %s", got, want)
	}
	natt := false
	for _, p := range m.Payloads {
		if v, ok := p.(*wire.V1VendorID); ok && bytes.Equal(v.Data, v1TestVIDNATT) {
			natt = true
		}
	}
	if !natt {
		c.t.Fatalf("message 2 without the RFC 3947 vendor ID: %v", m)
	}
	c.ckyR = h.ResponderCookie
}

// natHash is HASH(CKY-I | CKY-R | IP | Port) (RFC 3947 Section 3.2).
func (c *v1rw) natHash(a netip.AddrPort) []byte {
	h := c.hash.New()
	h.Write(be64(c.ckyI))
	h.Write(be64(c.ckyR))
	h.Write(a.Addr().AsSlice())
	h.Write(binary.BigEndian.AppendUint16(nil, a.Port()))
	return h.Sum(nil)
}

// msg3 builds HDR, KE, Ni, NAT-D, NAT-D.
func (c *v1rw) msg3() []byte {
	c.t.Helper()
	var err error
	if c.share, err = NewKeyShare(c.group, c.rnd); err != nil {
		c.t.Fatal(err)
	}
	c.gxi = c.share.Public()
	c.ni = make([]byte, 32)
	c.rnd.Read(c.ni)
	ps := []wire.V1Payload{&wire.V1KE{Data: c.gxi}, &wire.V1Nonce{Data: c.ni},
		&wire.V1NATD{Hash: c.natHash(respAddr)}, &wire.V1NATD{Hash: c.natHash(c.addr)}}
	return c.marshal(wire.V1Message{Header: c.header(wire.V1ExchangeIDProt, 0), Payloads: ps})
}

// handle4 checks message 4 and derives the keys.
func (c *v1rw) handle4(b []byte) {
	c.t.Helper()
	m, err := wire.ParseV1(b)
	if err != nil || m.Header.Encrypted() || m.Header.ResponderCookie != c.ckyR {
		c.t.Fatalf("message 4: %v %v", m, err)
	}
	ke, okKE := wire.FindV1[*wire.V1KE](m.Payloads)
	nr, okN := wire.FindV1[*wire.V1Nonce](m.Payloads)
	if !okKE || !okN {
		c.t.Fatalf("message 4 without KE or nonce: %v", m)
	}
	var natds [][]byte
	for _, p := range m.Payloads {
		if d, ok := p.(*wire.V1NATD); ok {
			natds = append(natds, d.Hash)
		}
	}
	if len(natds) != 2 || !bytes.Equal(natds[0], c.natHash(c.addr)) {
		c.t.Fatalf("message 4: NAT-D %x, want first %x", natds, c.natHash(c.addr))
	}
	if !bytes.Equal(natds[1], c.natHash(respAddr)) && !c.gw.peer.ForceEncap {
		c.t.Fatalf("message 4: the responder's NAT-D %x does not match its address", natds[1])
	}
	c.m4 = m.Payloads
	c.deriveKeys(ke.Data, nr.Data)
}

// deriveKeys takes the responder's KE and nonce and derives the ISAKMP
// SA's keys: SKEYID from the PSK, or from the nonces and g^xy with
// signatures and hybrid (RFC 2409 Section 5).
func (c *v1rw) deriveKeys(gxr, nr []byte) {
	c.t.Helper()
	c.gxr, c.nr = bytes.Clone(gxr), bytes.Clone(nr)
	gxy, err := c.share.Shared(c.gxr)
	if err != nil {
		c.t.Fatalf("responder's KE: %v", err)
	}
	skeyid := v1SKEYIDPSK(c.hash, c.psk, c.ni, c.nr)
	if v1Signatures(c.auth) {
		skeyid = v1SKEYIDSig(c.hash, c.ni, c.nr, gxy)
	}
	c.keys, err = deriveV1Keys(c.hash, c.cipher, skeyid, gxy, c.ckyI, c.ckyR)
	if err != nil {
		c.t.Fatal(err)
	}
	c.iv = c.keys.initialIV(c.gxi, c.gxr)
}

// authI returns what authenticates the client in message 5 after IDii:
// CERT... and SIG_I with a key, else HASH_I.
func (c *v1rw) authI() []wire.V1Payload {
	c.t.Helper()
	hashI := c.keys.hashI(c.gxi, c.gxr, c.ckyI, c.ckyR, c.saiB, c.id.Body())
	if c.key == nil {
		if c.corrupt {
			hashI[0] ^= 0x01
		}
		return []wire.V1Payload{&wire.V1Hash{Data: hashI}}
	}
	var ps []wire.V1Payload
	for _, der := range c.certs {
		ps = append(ps, &wire.V1Cert{Encoding: wire.V1CertX509Sig, Data: der})
	}
	// RFC 2409 Section 5.1: RSA PKCS #1 v1.5 of HASH_I, no DigestInfo.
	sig, err := c.key.Sign(c.rnd, hashI, crypto.Hash(0))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.corrupt {
		sig[len(sig)/2] ^= 0x01
	}
	return append(ps, &wire.V1Signature{Data: sig})
}

// checkAuthR checks HASH_R, or with signatures and hybrid the responder's
// CERT and SIG_R over HASH_R, for the responder's identity payload idr.
func (c *v1rw) checkAuthR(what string, idr *wire.V1ID, ps []wire.V1Payload) {
	c.t.Helper()
	hashR := c.keys.hashR(c.gxi, c.gxr, c.ckyI, c.ckyR, c.saiB, idr.Body())
	if !v1Signatures(c.auth) {
		hash, ok := wire.FindV1[*wire.V1Hash](ps)
		if !ok {
			c.t.Fatalf("%s without HASH_R: %s", what, wire.FormatV1Payloads(ps))
		}
		if !c.noVerify && !bytes.Equal(hash.Data, hashR) {
			c.t.Fatalf("%s: HASH_R does not verify", what)
		}
		return
	}
	cert, okC := wire.FindV1[*wire.V1Cert](ps)
	sig, okS := wire.FindV1[*wire.V1Signature](ps)
	if !okC || !okS {
		c.t.Fatalf("%s without CERT or SIG: %s", what, wire.FormatV1Payloads(ps))
	}
	leaf, err := x509.ParseCertificate(cert.Data)
	if err != nil {
		c.t.Fatalf("%s: certificate: %v", what, err)
	}
	pub, ok := leaf.PublicKey.(*rsa.PublicKey)
	if !ok {
		c.t.Fatalf("%s: certificate with a %T key", what, leaf.PublicKey)
	}
	if err := rsa.VerifyPKCS1v15(pub, 0, hashR, sig.Data); err != nil {
		c.t.Fatalf("%s: SIG_R does not verify: %v", what, err)
	}
}

// msg5 builds HDR*, IDii, HASH_I.
func (c *v1rw) msg5() []byte {
	c.t.Helper()
	ps := append([]wire.V1Payload{c.id}, c.authI()...)
	if c.initialContact {
		cky := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, c.ckyI), c.ckyR)
		ps = append(ps, &wire.V1Notify{DOI: wire.V1DOIIPsec, Protocol: wire.V1ProtocolISAKMP, SPI: cky, Kind: wire.V1NotifyInitialContact})
	}
	plain, err := wire.MarshalV1Payloads(ps)
	if err != nil {
		c.t.Fatal(err)
	}
	ct, next := c.keys.encrypt(c.iv, plain)
	c.iv = next
	h := c.header(wire.V1ExchangeIDProt, 0)
	h.Flags, h.NextPayload = wire.V1FlagEncryption, wire.V1PayloadID
	return c.marshal(wire.V1Message{Header: h, Encrypted: ct})
}

// handle6 checks HASH_R of message 6.
func (c *v1rw) handle6(b []byte) {
	c.t.Helper()
	m, err := wire.ParseV1(b)
	if err != nil || !m.Header.Encrypted() || m.Header.Exchange != wire.V1ExchangeIDProt {
		c.t.Fatalf("message 6: %v %v", m, err)
	}
	plain, next, err := c.keys.decrypt(c.iv, m.Encrypted)
	if err != nil {
		c.t.Fatalf("message 6: %v", err)
	}
	ps, err := wire.ParseV1Payloads(m.Header.NextPayload, plain)
	if err != nil {
		c.t.Fatalf("message 6 does not parse: %v", err)
	}
	idr, okID := wire.FindV1[*wire.V1ID](ps)
	if !okID {
		c.t.Fatalf("message 6 without ID: %s", wire.FormatV1Payloads(ps))
	}
	c.checkAuthR("message 6", idr, ps)
	c.m6 = ps
	c.iv = next
}

// mainMode runs messages 1 to 6 and returns what came with message 6.
func (c *v1rw) mainMode() [][]byte {
	c.t.Helper()
	c.handle2(c.one("message 1", c.send(c.msg1())))
	c.handle4(c.one("message 3", c.send(c.msg3())))
	out := c.send(c.msg5())
	if len(out) == 0 {
		c.t.Fatalf("no message 6")
	}
	c.handle6(out[0])
	return out[1:]
}

// msgID returns a fresh message ID.
func (c *v1rw) msgID() uint32 {
	var b [4]byte
	for {
		c.rnd.Read(b[:])
		if id := binary.BigEndian.Uint32(b[:]); id != 0 {
			if _, used := c.ivs[id]; !used {
				return id
			}
		}
	}
}

// encrypt CBC-encrypts plain on the chain of msgID.
func (c *v1rw) encrypt(msgID uint32, plain []byte) []byte {
	iv, ok := c.ivs[msgID]
	if !ok {
		iv = c.keys.phase2IV(c.iv, msgID)
	}
	ct, next := c.keys.encrypt(iv, plain)
	c.ivs[msgID] = next
	return ct
}

// sealHash builds an encrypted message of exchange ex: HASH(hash) and ps.
func (c *v1rw) sealHash(ex wire.V1Exchange, msgID uint32, hash []byte, ps ...wire.V1Payload) []byte {
	c.t.Helper()
	plain, err := wire.MarshalV1Payloads(append([]wire.V1Payload{&wire.V1Hash{Data: hash}}, ps...))
	if err != nil {
		c.t.Fatal(err)
	}
	h := c.header(ex, msgID)
	h.Flags, h.NextPayload = wire.V1FlagEncryption, wire.V1PayloadHash
	return c.marshal(wire.V1Message{Header: h, Encrypted: c.encrypt(msgID, plain)})
}

// seal builds an encrypted message with HASH = prf(SKEYID_a, M-ID |
// prefix | payloads).
func (c *v1rw) seal(ex wire.V1Exchange, msgID uint32, prefix []byte, ps ...wire.V1Payload) []byte {
	c.t.Helper()
	rest, err := wire.MarshalV1Payloads(ps)
	if err != nil {
		c.t.Fatal(err)
	}
	var hash []byte
	if prefix != nil {
		hash = c.keys.hashMsg(msgID, prefix, rest)
	} else {
		hash = c.keys.hashMsg(msgID, rest)
	}
	return c.sealHash(ex, msgID, hash, ps...)
}

// v1rwChainEnd returns where the payload chain that starts with first in b
// ends, and false when the chain runs past b.
func v1rwChainEnd(first wire.V1PayloadType, b []byte) (int, bool) {
	off := 0
	for next := first; next != wire.V1PayloadNone; {
		if off+4 > len(b) {
			return 0, false
		}
		n := int(binary.BigEndian.Uint16(b[off+2:]))
		if n < 4 || off+n > len(b) {
			return 0, false
		}
		next = wire.V1PayloadType(b[off])
		off += n
	}
	return off, true
}

// v1opened is a decrypted message of the responder after Phase 1.
type v1opened struct {
	h    wire.V1Header
	hash []byte
	ps   []wire.V1Payload
	rest []byte // the octets of ps, which the HASH covers
}

// open decrypts a message of the responder after Phase 1 on its chain
// and checks its HASH: prf(SKEYID_a, M-ID | prefix | payloads).
func (c *v1rw) open(what string, b []byte, prefix []byte) v1opened {
	c.t.Helper()
	m, err := wire.ParseV1(b)
	if err != nil {
		c.t.Fatalf("%s: %v", what, err)
	}
	h := m.Header
	if !h.Encrypted() || h.InitiatorCookie != c.ckyI || h.ResponderCookie != c.ckyR || h.MessageID == 0 || h.NextPayload != wire.V1PayloadHash {
		c.t.Fatalf("%s: header %+v", what, h)
	}
	iv, ok := c.ivs[h.MessageID]
	if !ok {
		iv = c.keys.phase2IV(c.iv, h.MessageID)
	}
	plain, next, err := c.keys.decrypt(iv, m.Encrypted)
	if err != nil {
		c.t.Fatalf("%s: %v", what, err)
	}
	ps, err := wire.ParseV1Payloads(h.NextPayload, plain)
	if err != nil {
		c.t.Fatalf("%s does not parse: %v", what, err)
	}
	end, ok := v1rwChainEnd(h.NextPayload, plain)
	hl := int(binary.BigEndian.Uint16(plain[2:]))
	if !ok || hl > end {
		c.t.Fatalf("%s: bad chain", what)
	}
	o := v1opened{h: h, hash: ps[0].(*wire.V1Hash).Data, ps: ps[1:], rest: plain[hl:end]}
	var want []byte
	if prefix != nil {
		want = c.keys.hashMsg(h.MessageID, prefix, o.rest)
	} else {
		want = c.keys.hashMsg(h.MessageID, o.rest)
	}
	if subtle.ConstantTimeCompare(want, o.hash) != 1 {
		c.t.Fatalf("%s (%v %s): HASH does not verify", what, h.Exchange, wire.FormatV1Payloads(o.ps))
	}
	c.ivs[h.MessageID] = next
	if h.Exchange == wire.V1ExchangeInformational {
		delete(c.ivs, h.MessageID) // a single message
	}
	return o
}

// attrs returns the attribute payload of a Transaction message.
func (c *v1rw) attrs(what string, o v1opened, want wire.V1CfgType) *wire.V1Attributes {
	c.t.Helper()
	a, ok := wire.FindV1[*wire.V1Attributes](o.ps)
	if o.h.Exchange != wire.V1ExchangeTransaction || !ok || a.CfgType != want {
		c.t.Fatalf("%s: %v %s, want a Transaction with %v", what, o.h.Exchange, wire.FormatV1Payloads(o.ps), want)
	}
	return a
}

// xauthReply answers the XAuth REQUEST req and returns what came back (the
// SET).
func (c *v1rw) xauthReply(req []byte, user, pass string) [][]byte {
	c.t.Helper()
	o := c.open("XAuth REQUEST", req, nil)
	a := c.attrs("XAuth REQUEST", o, wire.V1CfgRequest)
	if _, ok := a.Attribute(wire.V1CfgXAuthUserName); !ok {
		c.t.Fatalf("XAuth REQUEST without XAUTH-USER-NAME")
	}
	if _, ok := a.Attribute(wire.V1CfgXAuthUserPassword); !ok {
		c.t.Fatalf("XAuth REQUEST without XAUTH-USER-PASSWORD")
	}
	reply := &wire.V1Attributes{CfgType: wire.V1CfgReply, Identifier: a.Identifier, Attributes: []wire.V1Attribute{
		{Type: wire.V1CfgXAuthUserName, Data: []byte(user)}, {Type: wire.V1CfgXAuthUserPassword, Data: []byte(pass)}}}
	out := c.send(c.seal(wire.V1ExchangeTransaction, o.h.MessageID, nil, reply))
	delete(c.ivs, o.h.MessageID)
	return out
}

// ack checks the XAuth SET, acknowledges it and returns its status and
// what came back.
func (c *v1rw) ack(set []byte) (uint16, [][]byte) {
	c.t.Helper()
	o := c.open("XAuth SET", set, nil)
	a := c.attrs("XAuth SET", o, wire.V1CfgSet)
	st, ok := a.Attribute(wire.V1CfgXAuthStatus)
	if !ok || !st.TV {
		c.t.Fatalf("XAuth SET without XAUTH-STATUS: %+v", a.Attributes)
	}
	ack := &wire.V1Attributes{CfgType: wire.V1CfgAck, Identifier: a.Identifier,
		Attributes: []wire.V1Attribute{{Type: wire.V1CfgXAuthStatus, TV: true, Value: st.Value}}}
	out := c.send(c.seal(wire.V1ExchangeTransaction, o.h.MessageID, nil, ack))
	delete(c.ivs, o.h.MessageID)
	return st.Value, out
}

// xauth runs XAuth with the right password after Main Mode (whose extra
// datagrams are after6).
func (c *v1rw) xauth(after6 [][]byte) {
	c.t.Helper()
	set := c.one("XAuth REPLY", c.xauthReply(c.one("Main Mode message 5 (XAuth REQUEST)", after6), c.user, c.pass))
	st, out := c.ack(set)
	if st != 1 || len(out) != 0 {
		c.t.Fatalf("XAuth status %d and %d datagrams after the ACK, want 1 and none", st, len(out))
	}
}

// modeConfig asks for an address and returns it.
func (c *v1rw) modeConfig() netip.Addr {
	c.t.Helper()
	id := c.msgID()
	req := &wire.V1Attributes{CfgType: wire.V1CfgRequest, Identifier: 0x1234, Attributes: []wire.V1Attribute{
		{Type: wire.V1CfgInternalIP4Address}, {Type: wire.V1CfgInternalIP4DNS}}}
	o := c.open("Mode Config REPLY", c.one("Mode Config REQUEST", c.send(c.seal(wire.V1ExchangeTransaction, id, nil, req))), nil)
	delete(c.ivs, id)
	if o.h.MessageID != id {
		c.t.Fatalf("Mode Config REPLY on message ID %08x, want %08x", o.h.MessageID, id)
	}
	a := c.attrs("Mode Config REPLY", o, wire.V1CfgReply)
	if a.Identifier != 0x1234 {
		c.t.Errorf("Mode Config REPLY identifier %#x", a.Identifier)
	}
	addr, ok := a.Attribute(wire.V1CfgInternalIP4Address)
	vip, okA := addr.Addr()
	if !ok || !okA {
		c.t.Fatalf("Mode Config REPLY without an address: %+v", a.Attributes)
	}
	if dns, ok := a.Attribute(wire.V1CfgInternalIP4DNS); !ok || !bytes.Equal(dns.Data, []byte{198, 51, 100, 53}) {
		c.t.Errorf("Mode Config REPLY DNS %+v", dns)
	}
	c.vip = vip
	return vip
}

// establish runs Main Mode, XAuth when the client does it, and Mode Config.
func (c *v1rw) establish() {
	c.t.Helper()
	after6 := c.mainMode()
	if v1TestXAuth(c.auth) {
		c.xauth(after6)
	} else if len(after6) != 0 {
		c.t.Fatalf("%d datagrams after message 6 without XAuth", len(after6))
	}
	c.modeConfig()
}

// v1qmOpts shapes a Quick Mode of the client.
type v1qmOpts struct {
	group Group // PFS: the Group Description attribute, and a KE
	noKE  bool  // with group: leave the KE out
	// idci and idcr default to the virtual IP (or the client's address)
	// and 203.0.113.0/26.
	idci, idcr *wire.V1ID
}

// v1qm is a Quick Mode of the client.
type v1qm struct {
	msgID      uint32
	ni, nr     []byte
	spiI, spiR uint32 // the client's inbound SPI, the responder's
	share      *KeyShare
	gqm        []byte
	msg1, msg2 []byte
	ps         []wire.V1Payload // of message 1, after HASH(1)
	sa         *wire.V1SA
	idci, idcr *wire.V1ID
}

func v1SubnetID(p netip.Prefix) *wire.V1ID {
	mask := make([]byte, 4)
	for i := range p.Bits() {
		mask[i/8] |= 0x80 >> (i % 8)
	}
	return &wire.V1ID{IDType: wire.V1IDIPv4AddrSubnet, Data: append(p.Addr().AsSlice(), mask...)}
}

// espTransform is the client's ESP transform: AES-CBC-256, HMAC-SHA2-256,
// tunnel, with a PFS group unless zero.
func v1ESPTestTransform(group Group) wire.V1Transform {
	attrs := []wire.V1Attribute{
		{Type: wire.V1IPsecAttrLifeType, TV: true, Value: uint16(wire.V1LifeSeconds)},
		wire.V1AttrUint(wire.V1IPsecAttrLifeDuration, 3600),
		{Type: wire.V1IPsecAttrEncapMode, TV: true, Value: uint16(wire.V1EncapTunnel)},
		{Type: wire.V1IPsecAttrAuthAlg, TV: true, Value: uint16(wire.V1AuthAlgHMACSHA2256)},
		{Type: wire.V1IPsecAttrKeyLength, TV: true, Value: 256},
	}
	if group != 0 {
		attrs = append(attrs, wire.V1Attribute{Type: wire.V1IPsecAttrGroup, TV: true, Value: uint16(group)})
	}
	return wire.V1Transform{Number: 1, ID: uint8(wire.V1ESPAESCBC), Attributes: attrs}
}

// quickMsg1 builds Quick Mode message 1: HDR*, HASH(1), SA, Ni [, KE],
// IDci, IDcr.
func (c *v1rw) quickMsg1(o v1qmOpts) *v1qm {
	c.t.Helper()
	c.nextSPI++
	q := &v1qm{msgID: c.msgID(), ni: make([]byte, 32), spiI: c.nextSPI, idci: o.idci, idcr: o.idcr}
	c.rnd.Read(q.ni)
	if q.idci == nil {
		a := c.vip
		if !a.IsValid() {
			a = c.addr.Addr()
		}
		q.idci = &wire.V1ID{IDType: wire.V1IDIPv4Addr, Data: a.AsSlice()}
	}
	if q.idcr == nil {
		q.idcr = v1SubnetID(v1TestRemoteTS)
	}
	q.sa = &wire.V1SA{DOI: wire.V1DOIIPsec, Situation: wire.V1SitIdentityOnly, Proposals: []wire.V1Proposal{{
		Number: 1, Protocol: wire.V1ProtocolESP, SPI: binary.BigEndian.AppendUint32(nil, q.spiI),
		Transforms: []wire.V1Transform{v1ESPTestTransform(o.group)}}}}
	ps := []wire.V1Payload{q.sa, &wire.V1Nonce{Data: q.ni}}
	if o.group != 0 && !o.noKE {
		var err error
		if q.share, err = NewKeyShare(o.group, c.rnd); err != nil {
			c.t.Fatal(err)
		}
		ps = append(ps, &wire.V1KE{Data: q.share.Public()})
	}
	ps = append(ps, q.idci, q.idcr)
	q.ps = ps
	q.msg1 = c.seal(wire.V1ExchangeQuickMode, q.msgID, nil, ps...)
	return q
}

// quickCheck checks Quick Mode message 2: HASH(2), the chosen transform,
// the nonce, the KE with PFS, the identities echoed.
func (c *v1rw) quickCheck(q *v1qm, b []byte) {
	c.t.Helper()
	o := c.open("Quick Mode message 2", b, q.ni)
	if o.h.Exchange != wire.V1ExchangeQuickMode || o.h.MessageID != q.msgID {
		c.t.Fatalf("Quick Mode message 2: %v %08x %s", o.h.Exchange, o.h.MessageID, wire.FormatV1Payloads(o.ps))
	}
	sa, okSA := wire.FindV1[*wire.V1SA](o.ps)
	nr, okN := wire.FindV1[*wire.V1Nonce](o.ps)
	if !okSA || !okN || len(sa.Proposals) != 1 || len(sa.Proposals[0].SPI) != 4 || len(sa.Proposals[0].Transforms) != 1 ||
		sa.Proposals[0].Protocol != wire.V1ProtocolESP {
		c.t.Fatalf("Quick Mode message 2: %s", wire.FormatV1Payloads(o.ps))
	}
	if got, want := fmt.Sprint(sa.Proposals[0].Transforms[0]), fmt.Sprint(q.sa.Proposals[0].Transforms[0]); got != want {
		c.t.Fatalf("Quick Mode chose %s, offered %s", got, want)
	}
	q.spiR = binary.BigEndian.Uint32(sa.Proposals[0].SPI)
	q.nr = bytes.Clone(nr.Data)
	ke, okKE := wire.FindV1[*wire.V1KE](o.ps)
	if okKE != (q.share != nil) {
		c.t.Fatalf("Quick Mode message 2: KE %v, we sent one: %v", okKE, q.share != nil)
	}
	if okKE {
		var err error
		if q.gqm, err = q.share.Shared(ke.Data); err != nil {
			c.t.Fatalf("Quick Mode message 2 KE: %v", err)
		}
	}
	var ids []*wire.V1ID
	for _, p := range o.ps {
		if id, ok := p.(*wire.V1ID); ok {
			ids = append(ids, id)
		}
	}
	if len(ids) != 2 || !bytes.Equal(ids[0].Body(), q.idci.Body()) || !bytes.Equal(ids[1].Body(), q.idcr.Body()) {
		c.t.Fatalf("Quick Mode message 2 identities %v, want %v %v", ids, q.idci, q.idcr)
	}
	q.msg2 = b
}

// quick runs Quick Mode messages 1 and 2.
func (c *v1rw) quick(o v1qmOpts) *v1qm {
	c.t.Helper()
	q := c.quickMsg1(o)
	c.quickCheck(q, c.one("Quick Mode message 1", c.send(q.msg1)))
	return q
}

// quickFinish sends HASH(3).
func (c *v1rw) quickFinish(q *v1qm) {
	c.t.Helper()
	out := c.send(c.sealHash(wire.V1ExchangeQuickMode, q.msgID, c.keys.hash3(q.msgID, q.ni, q.nr)))
	delete(c.ivs, q.msgID)
	if len(out) != 0 {
		c.t.Fatalf("%d datagrams after HASH(3)", len(out))
	}
}

// keymat returns the encryption and integrity keys of the SA with spi
// (AES-256 and HMAC-SHA2-256: 32 octets each).
func (c *v1rw) keymat(q *v1qm, spi uint32) (encr, integ []byte) {
	km := c.keys.keymat(64, q.gqm, uint8(wire.V1ProtocolESP), spi, q.ni, q.nr)
	return km[:32], km[32:]
}

// checkSAs fails unless the gateway's dataplane has the inbound SA of q
// (the responder's SPI) and, if out, its outbound SA (the client's SPI),
// with the keys the client derives.
func (c *v1rw) checkSAs(q *v1qm, out bool) {
	c.t.Helper()
	dp := c.gw.dp
	dp.mu.Lock()
	defer dp.mu.Unlock()
	in, ok := dp.in[q.spiR]
	if !ok {
		c.t.Fatalf("no inbound SA %08x: %v", q.spiR, keysOf(dp.in))
	}
	e, i := c.keymat(q, q.spiR)
	if in.Encr != esp.EncrAESCBC || in.Integ != esp.IntegHMACSHA256_128 || !bytes.Equal(in.EncrKey, e) || !bytes.Equal(in.IntegKey, i) {
		c.t.Errorf("inbound SA %08x: %v/%v, keys differ from the client's KEYMAT", q.spiR, in.Encr, in.Integ)
	}
	if in.Mode != esp.ModeTunnel {
		c.t.Errorf("inbound SA mode %v", in.Mode)
	}
	o, ok := dp.out[q.spiI]
	if !out {
		if ok {
			c.t.Errorf("outbound SA %08x installed too early", q.spiI)
		}
		return
	}
	if !ok {
		c.t.Fatalf("no outbound SA %08x: %v", q.spiI, keysOf(dp.out))
	}
	e, i = c.keymat(q, q.spiI)
	if o.Encr != esp.EncrAESCBC || !bytes.Equal(o.EncrKey, e) || !bytes.Equal(o.IntegKey, i) {
		c.t.Errorf("outbound SA %08x: keys differ from the client's KEYMAT", q.spiI)
	}
}

func keysOf(m map[uint32]esp.SAParams) []string {
	var out []string
	for k := range m {
		out = append(out, fmt.Sprintf("%08x", k))
	}
	return out
}

// inform sends an Informational message with ps and returns what came
// back.
func (c *v1rw) inform(ps ...wire.V1Payload) [][]byte {
	c.t.Helper()
	id := c.msgID()
	b := c.seal(wire.V1ExchangeInformational, id, nil, ps...)
	delete(c.ivs, id)
	return c.send(b)
}

func (c *v1rw) cookies() []byte { return append(be64(c.ckyI), be64(c.ckyR)...) }

// notifyOf decrypts an Informational message of the responder and returns
// its notification.
func (c *v1rw) notifyOf(what string, b []byte) *wire.V1Notify {
	c.t.Helper()
	o := c.open(what, b, nil)
	n, ok := wire.FindV1[*wire.V1Notify](o.ps)
	if o.h.Exchange != wire.V1ExchangeInformational || !ok {
		c.t.Fatalf("%s: %v %s", what, o.h.Exchange, wire.FormatV1Payloads(o.ps))
	}
	return n
}

// clearNotify parses an unencrypted Informational message with one
// notification.
func clearNotify(t *testing.T, b []byte) *wire.V1Notify {
	t.Helper()
	m, err := wire.ParseV1(b)
	if err != nil || m.Header.Encrypted() || m.Header.Exchange != wire.V1ExchangeInformational {
		t.Fatalf("want an unencrypted Informational message: %v %v", m, err)
	}
	n, ok := wire.FindV1[*wire.V1Notify](m.Payloads)
	if !ok {
		t.Fatalf("no notification: %v", m)
	}
	return n
}

// TestV1SessionXAuthModeConfigQuickMode is the whole roadwarrior: Main
// Mode, XAuth, Mode Config and Quick Mode, each message checked by the
// client, and the SAs installed with the keys the client derives.
func TestV1SessionXAuthModeConfigQuickMode(t *testing.T) {
	gw := newV1GW(t)
	c := newV1rw(t, gw, wire.V1AuthXAuthInitPSK)
	// HDR, SA, V, V, V                 -->  <-- HDR, SA, V...
	// HDR, KE, Ni, NAT-D, NAT-D        -->  <-- HDR, KE, Nr, NAT-D, NAT-D
	// HDR*, IDii, HASH_I               -->  <-- HDR*, IDir, HASH_R
	after6 := c.mainMode()
	if n := gw.m.Stats().HalfOpenV1; n != 1 {
		t.Errorf("half-open during XAuth: %d, want 1", n)
	}
	if len(gw.events(EventIKEUp)) != 0 {
		t.Fatalf("IKE SA up before XAuth")
	}
	//                                  <-- HDR*, HASH, ATTR(REQUEST)
	// HDR*, HASH, ATTR(REPLY bob)      -->  <-- HDR*, HASH, ATTR(SET status 1)
	// HDR*, HASH, ATTR(ACK)            -->
	c.xauth(after6)
	if len(gw.events(EventIKEUp)) != 1 {
		t.Fatalf("events %v, want EventIKEUp", gw.evs)
	}
	if n := gw.m.Stats().HalfOpenV1; n != 0 {
		t.Errorf("half-open after XAuth: %d", n)
	}
	// HDR*, HASH, ATTR(REQUEST IP4)    -->  <-- HDR*, HASH, ATTR(REPLY)
	vip := c.modeConfig()
	if !gw.pool.Contains(vip) || gw.pool.Online() != 1 {
		t.Fatalf("VIP %v from pool %v, %d online", vip, gw.pool.Name(), gw.pool.Online())
	}
	if a, ok := gw.pool.Lookup("xauth:" + v1User); !ok || a != vip {
		t.Errorf("lease of xauth:%s is %v %v, want %v", v1User, a, ok, vip)
	}
	// HDR*, HASH(1), SA, Ni, IDci, IDcr -->  <-- HDR*, HASH(2), SA, Nr, IDci, IDcr
	// HDR*, HASH(3)                     -->
	// The CHILD_SA is in with message 2: the client may send on it before
	// its HASH(3) arrives.
	q := c.quick(v1qmOpts{})
	c.checkSAs(q, true)
	c.quickFinish(q)
	ups := gw.events(EventChildUp)
	if len(ups) != 1 || ups[0].InSPI != q.spiR || ups[0].OutSPI != q.spiI {
		t.Fatalf("EventChildUp %+v, want in %08x out %08x", ups, q.spiR, q.spiI)
	}
	if p, in, out, alloc := gw.dp.counts(); p != 1 || in != 1 || out != 1 || alloc != 1 {
		t.Fatalf("dataplane: %d policies, %d in, %d out, %d SPIs; want 1 each", p, in, out, alloc)
	}
	c.checkSAs(q, true)
	gw.dp.mu.Lock()
	for _, pol := range gw.dp.policies {
		if fmt.Sprint(pol.Local) != "[203.0.113.0/26]" || fmt.Sprint(pol.Remote) != fmt.Sprintf("[%v/32]", vip) {
			t.Errorf("policy %v === %v", pol.Local, pol.Remote)
		}
	}
	gw.dp.mu.Unlock()

	sas := gw.m.SAs()
	if len(sas) != 1 {
		t.Fatalf("SAs: %+v", sas)
	}
	sa := sas[0]
	if sa.State != StateEstablished || sa.Peer != "rw" || sa.RemoteID.String() != "client1@example.com" ||
		fmt.Sprint(sa.VIPs) != fmt.Sprintf("[%v]", vip) || sa.SPIi != c.ckyI || sa.SPIr != c.ckyR {
		t.Errorf("SA %+v", sa)
	}
	if len(sa.Children) != 1 || sa.Children[0].InSPI != q.spiR || sa.Children[0].OutSPI != q.spiI ||
		fmt.Sprint(sa.Children[0].LocalTS) != "[203.0.113.0/26]" {
		t.Errorf("children %+v", sa.Children)
	}
}

// TestV1SessionPSKOnly: without XAuth the SA is up after Main Mode; the
// authentication method must be the one the connection wants, else
// NO-PROPOSAL-CHOSEN in the clear and nothing is left.
func TestV1SessionPSKOnly(t *testing.T) {
	t.Run("established", func(t *testing.T) {
		gw := newV1GW(t, noXAuth)
		c := newV1rw(t, gw, wire.V1AuthPSK)
		if after6 := c.mainMode(); len(after6) != 0 {
			t.Fatalf("%d datagrams after message 6, want none without XAuth", len(after6))
		}
		if len(gw.events(EventIKEUp)) != 1 || gw.m.Stats().HalfOpenV1 != 0 {
			t.Fatalf("events %v, half-open %d", gw.evs, gw.m.Stats().HalfOpenV1)
		}
		vip := c.modeConfig()
		if a, ok := gw.pool.Lookup("client1@example.com"); !ok || a != vip {
			t.Errorf("lease of the IKE identity: %v %v, want %v", a, ok, vip)
		}
		c.quickFinish(c.quick(v1qmOpts{}))
		if len(gw.events(EventChildUp)) != 1 {
			t.Fatalf("no CHILD_SA: %v", gw.evs)
		}
	})
	for _, tc := range []struct {
		name  string
		xauth bool
		auth  wire.V1AuthMethod
	}{
		{"XAuth transform without XAuth", false, wire.V1AuthXAuthInitPSK},
		{"PSK transform with XAuth", true, wire.V1AuthPSK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []func(*PeerConfig, *Config)
			if !tc.xauth {
				opts = append(opts, noXAuth)
			}
			gw := newV1GW(t, opts...)
			c := newV1rw(t, gw, tc.auth)
			n := clearNotify(t, c.one("message 1", c.send(c.msg1())))
			if n.Kind != wire.V1NotifyNoProposalChosen {
				t.Fatalf("notification %v, want NO-PROPOSAL-CHOSEN", n.Kind)
			}
			gw.checkEmpty("refused")
		})
	}
}

// TestV1SessionWrongPSK: message 5 made with another PSK does not verify
// and the half-open SA goes.
func TestV1SessionWrongPSK(t *testing.T) {
	gw := newV1GW(t)
	c := newV1rw(t, gw, wire.V1AuthXAuthInitPSK)
	c.psk = []byte("not the gateway's PSK")
	c.handle2(c.one("message 1", c.send(c.msg1())))
	c.handle4(c.one("message 3", c.send(c.msg3())))
	if gw.m.Stats().HalfOpenV1 != 1 {
		t.Fatalf("half-open %d before message 5", gw.m.Stats().HalfOpenV1)
	}
	out := c.send(c.msg5())
	for _, b := range out {
		if n := clearNotify(t, b); n.Kind != wire.V1NotifyAuthenticationFailed && n.Kind != wire.V1NotifyPayloadMalformed {
			t.Errorf("answer to a bad message 5: %v", n.Kind)
		}
	}
	gw.checkEmpty("wrong PSK")
	if downs := gw.events(EventIKEDown); len(downs) != 1 || downs[0].Err == nil {
		t.Errorf("events %v, want EventIKEDown with an error", gw.evs)
	}
	if len(gw.events(EventIKEUp)) != 0 {
		t.Errorf("IKE SA came up")
	}
}

// TestV1SessionWrongXAuthPassword: the SET says failure, and after the ACK
// the SA goes with a Delete.
func TestV1SessionWrongXAuthPassword(t *testing.T) {
	gw := newV1GW(t)
	c := newV1rw(t, gw, wire.V1AuthXAuthInitPSK)
	after6 := c.mainMode()
	set := c.one("XAuth REPLY", c.xauthReply(c.one("XAuth REQUEST", after6), v1User, "guess"))
	st, out := c.ack(set)
	if st != 0 {
		t.Fatalf("XAUTH-STATUS %d for a wrong password", st)
	}
	if len(out) != 1 {
		t.Fatalf("%d datagrams after the ACK, want a Delete", len(out))
	}
	o := c.open("Delete", out[0], nil)
	d, ok := wire.FindV1[*wire.V1Delete](o.ps)
	if o.h.Exchange != wire.V1ExchangeInformational || !ok || d.Protocol != wire.V1ProtocolISAKMP || len(d.SPIs) != 1 ||
		!bytes.Equal(d.SPIs[0], c.cookies()) {
		t.Fatalf("after the ACK: %v %s, want Delete ISAKMP", o.h.Exchange, wire.FormatV1Payloads(o.ps))
	}
	downs := gw.events(EventIKEDown)
	if len(downs) != 1 || !errors.Is(downs[0].Err, ErrAuthFailed) {
		t.Fatalf("events %v, want EventIKEDown with ErrAuthFailed", gw.evs)
	}
	if len(gw.events(EventIKEUp)) != 0 {
		t.Errorf("IKE SA came up")
	}
	gw.checkEmpty("XAuth failed")
}

// TestV1SessionRetransmissions: requests sent twice get the same answer,
// our requests are resent unchanged on the Retransmit schedule, and the SA
// goes when it runs out.
func TestV1SessionRetransmissions(t *testing.T) {
	sched := Retransmit{Timeout: time.Second, Base: 2, Tries: 2}
	gw := newV1GW(t, func(_ *PeerConfig, cfg *Config) { cfg.Retransmit = sched })
	c := newV1rw(t, gw, wire.V1AuthXAuthInitPSK)
	m1 := c.msg1()
	a1 := c.one("message 1", c.send(m1))
	if b := c.one("message 1 again", c.send(m1)); !bytes.Equal(a1, b) {
		t.Fatalf("message 1 answered differently the second time")
	}
	if len(gw.m.SAs()) != 1 || gw.m.Stats().HalfOpenV1 != 1 {
		t.Fatalf("message 1 twice: %d SAs, %d half-open", len(gw.m.SAs()), gw.m.Stats().HalfOpenV1)
	}
	c.handle2(a1)
	m3 := c.msg3()
	a3 := c.one("message 3", c.send(m3))
	if b := c.one("message 3 again", c.send(m3)); !bytes.Equal(a3, b) {
		t.Fatalf("message 3 answered differently the second time")
	}
	c.handle4(a3)
	m5 := c.msg5()
	a5 := c.send(m5)
	if len(a5) != 2 {
		t.Fatalf("message 5: %d datagrams, want message 6 and the XAuth REQUEST", len(a5))
	}
	if b := c.one("message 5 again", c.send(m5)); !bytes.Equal(a5[0], b) {
		t.Fatalf("message 5 answered differently the second time")
	}
	c.handle6(a5[0])
	req := a5[1]

	// Nobody answers the XAuth REQUEST: it is resent as it was, on the
	// schedule, and then the SA goes.
	w0, _ := sched.Wait(0)
	if out := gw.tick(w0 - time.Millisecond); len(out) != 0 {
		t.Fatalf("%d datagrams before the first wait is over", len(out))
	}
	if r := c.one("XAuth REQUEST resent", gw.tick(time.Millisecond)); !bytes.Equal(r, req) {
		t.Fatalf("the resent XAuth REQUEST differs from the first")
	}
	w1, _ := sched.Wait(1)
	if r := c.one("XAuth REQUEST resent again", gw.tick(w1)); !bytes.Equal(r, req) {
		t.Fatalf("the second resent XAuth REQUEST differs from the first")
	}
	w2, _ := sched.Wait(2)
	gw.tick(w2 - time.Millisecond)
	if sas := gw.m.SAs(); len(sas) != 1 {
		t.Fatalf("SA gone before the schedule ran out: %+v", sas)
	}
	gw.tick(time.Millisecond)
	gw.checkEmpty("XAuth not answered")
	if downs := gw.events(EventIKEDown); len(downs) != 1 || downs[0].Err == nil {
		t.Fatalf("events %v, want EventIKEDown with an error", gw.evs)
	}

	// Quick Mode message 1 twice: the same message 2, one SPI.
	gw = newV1GW(t, noXAuth)
	c = newV1rw(t, gw, wire.V1AuthPSK)
	c.establish()
	q := c.quickMsg1(v1qmOpts{})
	a := c.one("Quick Mode message 1", c.send(q.msg1))
	if b := c.one("Quick Mode message 1 again", c.send(q.msg1)); !bytes.Equal(a, b) {
		t.Fatalf("Quick Mode message 1 answered differently the second time")
	}
	if _, _, _, alloc := gw.dp.counts(); alloc != 1 {
		t.Fatalf("%d SPIs allocated for one Quick Mode", alloc)
	}
	c.quickCheck(q, a)
	c.quickFinish(q)
	c.checkSAs(q, true)
}

// TestV1SessionPFS: Quick Mode with a KE mixes g^xy into the keys; a group
// without a KE is refused; a rekey keeps the old outbound SA until the
// client deletes the old SA.
func TestV1SessionPFS(t *testing.T) {
	for _, g := range []Group{GroupMODP2048, GroupCurve25519} {
		t.Run(fmt.Sprint(g), func(t *testing.T) {
			gw := newV1GW(t, noXAuth)
			c := newV1rw(t, gw, wire.V1AuthPSK)
			c.establish()
			q := c.quick(v1qmOpts{group: g})
			if len(q.gqm) == 0 {
				t.Fatalf("no PFS secret")
			}
			c.quickFinish(q)
			c.checkSAs(q, true)
			// The keys without g^xy must not be what was installed.
			noPFS := *q
			noPFS.gqm = nil
			e, _ := c.keymat(&noPFS, q.spiR)
			gw.dp.mu.Lock()
			same := bytes.Equal(gw.dp.in[q.spiR].EncrKey, e)
			gw.dp.mu.Unlock()
			if same {
				t.Errorf("the inbound key does not depend on g^xy")
			}
		})
	}

	t.Run("group without KE", func(t *testing.T) {
		gw := newV1GW(t, noXAuth)
		c := newV1rw(t, gw, wire.V1AuthPSK)
		c.establish()
		q := c.quickMsg1(v1qmOpts{group: GroupMODP2048, noKE: true})
		n := c.notifyOf("refusal", c.one("Quick Mode message 1", c.send(q.msg1)))
		if n.Kind != wire.V1NotifyNoProposalChosen {
			t.Fatalf("notification %v, want NO-PROPOSAL-CHOSEN", n.Kind)
		}
		if p, in, out, alloc := gw.dp.counts(); p+in+out+alloc != 0 {
			t.Fatalf("dataplane: %d policies, %d in, %d out, %d SPIs", p, in, out, alloc)
		}
		// HASH(3) of the refused exchange does nothing.
		q.nr = make([]byte, 32)
		c.quickFinish(q)
		if len(gw.events(EventChildUp)) != 0 {
			t.Fatalf("CHILD_SA up after a refusal")
		}
	})

	t.Run("rekey", func(t *testing.T) {
		gw := newV1GW(t, noXAuth)
		c := newV1rw(t, gw, wire.V1AuthPSK)
		c.establish()
		q1 := c.quick(v1qmOpts{})
		c.quickFinish(q1)
		q2 := c.quick(v1qmOpts{group: GroupCurve25519})
		// The new inbound SA is in with message 2, the outbound one
		// waits for HASH(3).
		if p, in, out, _ := gw.dp.counts(); p != 1 || in != 2 || out != 1 {
			t.Fatalf("before HASH(3): %d policies, %d in, %d out; want 1, 2, 1", p, in, out)
		}
		c.checkSAs(q2, false)
		c.quickFinish(q2)
		// IKEv1 has no rekey exchange: the client installed both SAs
		// before HASH(3) and keeps the old ones until they expire, so the
		// gateway sends on the new SA at once and keeps the old until
		// the client deletes it.
		if p, in, out, _ := gw.dp.counts(); p != 1 || in != 2 || out != 2 {
			t.Fatalf("after the rekey: %d policies, %d in, %d out; want 1, 2, 2", p, in, out)
		}
		c.checkSAs(q1, true)
		c.checkSAs(q2, true)
		ups := gw.events(EventChildUp)
		if len(ups) != 2 || !ups[1].Rekey {
			t.Fatalf("EventChildUp %+v, want a second one marked Rekey", ups)
		}
		// The client deletes the old SA (by its inbound SPI).
		if out := c.inform(&wire.V1Delete{DOI: wire.V1DOIIPsec, Protocol: wire.V1ProtocolESP,
			SPIs: [][]byte{binary.BigEndian.AppendUint32(nil, q1.spiI)}}); len(out) != 0 {
			t.Fatalf("%d datagrams after a Delete", len(out))
		}
		if p, in, out, alloc := gw.dp.counts(); p != 1 || in != 1 || out != 1 || alloc != 1 {
			t.Fatalf("after the delete: %d policies, %d in, %d out, %d SPIs; want 1 each", p, in, out, alloc)
		}
		c.checkSAs(q2, true)
		sa := gw.m.SAs()[0]
		if len(sa.Children) != 1 || sa.Children[0].InSPI != q2.spiR {
			t.Fatalf("children %+v", sa.Children)
		}
	})
}

// TestV1SessionDPD: R-U-THERE is acknowledged; the gateway asks an idle
// peer that announced DPD, and closes the SA when it never answers.
func TestV1SessionDPD(t *testing.T) {
	sched := Retransmit{Timeout: time.Second, Base: 2, Tries: 2}
	gw := newV1GW(t, func(p *PeerConfig, cfg *Config) { p.DPDDelay = 30 * time.Second; cfg.Retransmit = sched })
	c := newV1rw(t, gw, wire.V1AuthXAuthInitPSK)
	c.establish()
	c.quickFinish(c.quick(v1qmOpts{}))

	// The client's R-U-THERE.
	ack := c.notifyOf("R-U-THERE-ACK", c.one("R-U-THERE", c.inform(&wire.V1Notify{DOI: wire.V1DOIIPsec,
		Protocol: wire.V1ProtocolISAKMP, SPI: c.cookies(), Kind: wire.V1NotifyRUThere, Data: []byte{0, 0, 0x12, 0x34}})))
	if seq, ok := ack.Sequence(); ack.Kind != wire.V1NotifyRUThereAck || !ok || seq != 0x1234 || !bytes.Equal(ack.SPI, c.cookies()) {
		t.Fatalf("answer %v seq %x SPI %x, want R-U-THERE-ACK 1234 with the cookies", ack.Kind, seq, ack.SPI)
	}

	// Idle for the DPD delay: the gateway asks.
	if out := gw.tick(29 * time.Second); len(out) != 0 {
		t.Fatalf("%d datagrams before the DPD delay", len(out))
	}
	ask := func(what string, out [][]byte) uint32 {
		t.Helper()
		n := c.notifyOf(what, c.one(what, out))
		seq, ok := n.Sequence()
		if n.Kind != wire.V1NotifyRUThere || !ok || !bytes.Equal(n.SPI, c.cookies()) {
			t.Fatalf("%s: %v SPI %x", what, n.Kind, n.SPI)
		}
		return seq
	}
	seq := ask("R-U-THERE after 30 s", gw.tick(time.Second))
	if out := c.inform(&wire.V1Notify{DOI: wire.V1DOIIPsec, Protocol: wire.V1ProtocolISAKMP, SPI: c.cookies(),
		Kind: wire.V1NotifyRUThereAck, Data: binary.BigEndian.AppendUint32(nil, seq)}); len(out) != 0 {
		t.Fatalf("%d datagrams after R-U-THERE-ACK", len(out))
	}
	// Answered: nothing until the next delay, then the next number.
	w0, _ := sched.Wait(0)
	if out := gw.tick(w0); len(out) != 0 {
		t.Fatalf("the answered R-U-THERE was resent")
	}
	seq2 := ask("the next R-U-THERE", gw.tick(30*time.Second-w0))
	if seq2 != seq+1 {
		t.Errorf("sequence numbers %d then %d", seq, seq2)
	}
	// Never answered: resent on the schedule, then the SA goes.
	for n := 0; ; n++ {
		w, ok := sched.Wait(n)
		if !ok {
			break
		}
		out := gw.tick(w)
		if _, more := sched.Wait(n + 1); more {
			if len(out) != 1 {
				t.Fatalf("retransmission %d: %d datagrams", n+1, len(out))
			}
			c.open("resent R-U-THERE", out[0], nil)
		}
	}
	gw.checkEmpty("dead peer")
	if downs := gw.events(EventIKEDown); len(downs) != 1 || downs[0].Err == nil {
		t.Fatalf("events %v, want EventIKEDown with an error", gw.evs)
	}
}

// TestV1SessionDelete: the client deletes its CHILD_SA, then the ISAKMP SA.
func TestV1SessionDelete(t *testing.T) {
	gw := newV1GW(t)
	c := newV1rw(t, gw, wire.V1AuthXAuthInitPSK)
	c.establish()
	q := c.quick(v1qmOpts{})
	c.quickFinish(q)
	if out := c.inform(&wire.V1Delete{DOI: wire.V1DOIIPsec, Protocol: wire.V1ProtocolESP,
		SPIs: [][]byte{binary.BigEndian.AppendUint32(nil, q.spiI)}}); len(out) != 0 {
		t.Fatalf("%d datagrams after Delete ESP", len(out))
	}
	if p, in, out, alloc := gw.dp.counts(); p+in+out+alloc != 0 {
		t.Fatalf("after Delete ESP: %d policies, %d in, %d out, %d SPIs", p, in, out, alloc)
	}
	if downs := gw.events(EventChildDown); len(downs) != 1 || downs[0].InSPI != q.spiR {
		t.Fatalf("EventChildDown %+v", downs)
	}
	if sas := gw.m.SAs(); len(sas) != 1 || sas[0].State != StateEstablished || len(sas[0].Children) != 0 {
		t.Fatalf("SAs after Delete ESP: %+v", sas)
	}
	if gw.pool.Online() != 1 {
		t.Fatalf("lease gone with the CHILD_SA")
	}
	c.inform(&wire.V1Delete{DOI: wire.V1DOIIPsec, Protocol: wire.V1ProtocolISAKMP, SPIs: [][]byte{c.cookies()}})
	gw.checkEmpty("Delete ISAKMP")
	if downs := gw.events(EventIKEDown); len(downs) != 1 || downs[0].Err != nil {
		t.Fatalf("EventIKEDown %+v, want one without an error", downs)
	}
}

// v1Snapshot is what a message that is not authenticated must not change.
type v1Snapshot struct {
	remote, local string
	lastHeard     string
	ivs, quick    int
	sas           string
	dp            [4]int
	online        int
}

func (g *v1GW) snapshot() v1Snapshot {
	var s v1Snapshot
	g.inspect(func(x *session) {
		s.remote, s.local, s.lastHeard = x.remote.String(), x.local.String(), x.lastHeard.Format(time.RFC3339)
		s.ivs, s.quick = len(x.v1.ivs), len(x.v1.quick)
	})
	s.sas = fmt.Sprintf("%+v", g.m.SAs())
	s.dp[0], s.dp[1], s.dp[2], s.dp[3] = g.dp.counts()
	s.online = g.pool.Online()
	return s
}

func (g *v1GW) unchanged(what string, before v1Snapshot) {
	g.t.Helper()
	after := g.snapshot()
	if after == before {
		return
	}
	after.sas, before.sas = "", "" // long, and follows the rest
	g.t.Errorf("%s changed the SA:\n before %+v\n after  %+v", what, before, after)
}

// TestV1SessionHostileInput: messages that do not authenticate (a bad
// HASH(1) or HASH(3), truncated or garbage bodies) change nothing, and the
// SA works afterwards.
func TestV1SessionHostileInput(t *testing.T) {
	gw := newV1GW(t, noXAuth, func(p *PeerConfig, _ *Config) { p.ForceEncap = true })
	c := newV1rw(t, gw, wire.V1AuthPSK)
	c.establish()
	elsewhere := netip.MustParseAddrPort("192.0.2.66:4500")
	gw.clock.advance(10 * time.Second)

	// A Quick Mode with a bad HASH(1), from the peer and from elsewhere.
	for _, src := range []netip.AddrPort{c.addr, elsewhere} {
		q := c.quickMsg1(v1qmOpts{})
		delete(c.ivs, q.msgID)
		rest, err := wire.MarshalV1Payloads(q.ps)
		if err != nil {
			t.Fatal(err)
		}
		hash := c.keys.hashMsg(q.msgID, rest)
		hash[0] ^= 0x01
		bad := c.sealHash(wire.V1ExchangeQuickMode, q.msgID, hash, q.ps...)
		delete(c.ivs, q.msgID)
		before := gw.snapshot()
		if out := c.sendFrom(src, bad); len(out) != 0 {
			t.Errorf("bad HASH(1) from %v answered with %d datagrams", src, len(out))
		}
		gw.unchanged(fmt.Sprintf("a bad HASH(1) from %v", src), before)
	}

	// Truncated and garbage bodies.
	q := c.quickMsg1(v1qmOpts{})
	delete(c.ivs, q.msgID)
	rnd := newDetRand(99)
	var hostile [][]byte
	for _, n := range []int{1, 15, 16, 17} {
		b := bytes.Clone(q.msg1[:len(q.msg1)-n])
		hostile = append(hostile, b) // the header's length is wrong
		b = bytes.Clone(b)
		binary.BigEndian.PutUint32(b[24:], uint32(len(b)))
		hostile = append(hostile, b) // right length, body cut
	}
	for _, n := range []int{0, 16, 48, 160} {
		b := bytes.Clone(q.msg1[:wire.V1HeaderLen])
		body := make([]byte, n)
		rnd.Read(body)
		b = append(b, body...)
		binary.BigEndian.PutUint32(b[24:], uint32(len(b)))
		hostile = append(hostile, b)
	}
	before := gw.snapshot()
	for _, ex := range []wire.V1Exchange{wire.V1ExchangeQuickMode, wire.V1ExchangeInformational, wire.V1ExchangeTransaction,
		wire.V1ExchangeIDProt, wire.V1ExchangeAggressive} {
		for _, b := range hostile {
			b = bytes.Clone(b)
			b[18] = byte(ex)
			for _, src := range []netip.AddrPort{c.addr, elsewhere} {
				if out := c.sendFrom(src, b); len(out) != 0 {
					t.Errorf("%v of %d octets answered", ex, len(b))
				}
			}
		}
	}
	gw.unchanged("truncated and garbage messages", before)

	// A pending rekey and a HASH(3) that does not verify: the outbound SA
	// stays on the old CHILD_SA, and the real HASH(3) still switches it.
	q1 := c.quick(v1qmOpts{})
	c.quickFinish(q1)
	q = c.quick(v1qmOpts{})
	chain := c.ivs[q.msgID]
	bad3 := c.sealHash(wire.V1ExchangeQuickMode, q.msgID, make([]byte, 32))
	c.ivs[q.msgID] = chain
	if out := c.sendFrom(elsewhere, bad3); len(out) != 0 {
		t.Errorf("a bad HASH(3) was answered")
	}
	c.checkSAs(q, false)
	c.quickFinish(q)
	c.checkSAs(q, true) // else the CBC chain moved on a message that did not verify
	if s := gw.snapshot(); s.remote != c.addr.String() {
		t.Errorf("the peer moved to %v on messages that did not verify", s.remote)
	}
}

// TestV1SessionForgedQuickModeKeyless: without the keys, random encrypted
// bodies on a Quick Mode message ID sometimes decrypt to a payload chain
// that begins with a HASH; such a message is not authenticated until
// HASH(1) verifies and must not move the peer (with NAT-T) or count as
// life from it.
func TestV1SessionForgedQuickModeKeyless(t *testing.T) {
	gw := newV1GW(t, noXAuth, func(p *PeerConfig, _ *Config) { p.ForceEncap = true })
	c := newV1rw(t, gw, wire.V1AuthPSK)
	c.establish()
	q := c.quick(v1qmOpts{})
	c.quickFinish(q)
	gw.clock.advance(10 * time.Second)
	before := gw.snapshot()
	attacker := netip.MustParseAddrPort("192.0.2.66:4500")
	rnd := newDetRand(42)
	h := c.header(wire.V1ExchangeQuickMode, 0)
	h.Flags, h.NextPayload = wire.V1FlagEncryption, wire.V1PayloadHash
	body := make([]byte, (wire.MaxMessageLen-wire.V1HeaderLen)&^15) // whole AES blocks
	for i := range 2000 {
		var id [4]byte
		rnd.Read(id[:])
		h.MessageID = binary.BigEndian.Uint32(id[:]) | 1
		rnd.Read(body)
		c.sendFrom(attacker, c.marshal(wire.V1Message{Header: h, Encrypted: body}))
		if s := gw.snapshot(); s != before {
			gw.unchanged(fmt.Sprintf("forged message %d (no keys, from %v)", i+1, attacker), before)
			gw.dp.mu.Lock()
			t.Errorf("the outbound ESP SA now goes to %v", gw.dp.out[q.spiI].Remote)
			gw.dp.mu.Unlock()
			t.FailNow()
		}
	}
}

// TestV1SessionInformationalIVs: every Informational message of the peer
// (DPD every few seconds for the life of the SA) must not leave a CBC
// chain behind.
func TestV1SessionInformationalIVs(t *testing.T) {
	gw := newV1GW(t, noXAuth)
	c := newV1rw(t, gw, wire.V1AuthPSK)
	c.establish()
	var before int
	gw.inspect(func(s *session) { before = len(s.v1.ivs) })
	for i := range 50 {
		c.one("R-U-THERE", c.inform(&wire.V1Notify{DOI: wire.V1DOIIPsec, Protocol: wire.V1ProtocolISAKMP, SPI: c.cookies(),
			Kind: wire.V1NotifyRUThere, Data: binary.BigEndian.AppendUint32(nil, uint32(i+1))}))
	}
	var after int
	gw.inspect(func(s *session) { after = len(s.v1.ivs) })
	if after > before {
		t.Errorf("%d CBC chains kept after 50 R-U-THERE, %d before: they grow with every Informational message", after, before)
	}
}

// TestV1SessionTransactionErrors: Mode Config before XAuth, unknown
// configuration types and unexpected XAuth messages are ignored.
func TestV1SessionTransactionErrors(t *testing.T) {
	gw := newV1GW(t)
	c := newV1rw(t, gw, wire.V1AuthXAuthInitPSK)
	after6 := c.mainMode()
	// Mode Config before XAuth finished: ignored, no lease.
	id := c.msgID()
	req := &wire.V1Attributes{CfgType: wire.V1CfgRequest, Attributes: []wire.V1Attribute{{Type: wire.V1CfgInternalIP4Address}}}
	if out := c.send(c.seal(wire.V1ExchangeTransaction, id, nil, req)); len(out) != 0 || gw.pool.Online() != 0 {
		t.Fatalf("Mode Config before XAuth: %d datagrams, %d leases", len(out), gw.pool.Online())
	}
	delete(c.ivs, id)
	// An ACK nobody asked for.
	id = c.msgID()
	if out := c.send(c.seal(wire.V1ExchangeTransaction, id, nil, &wire.V1Attributes{CfgType: wire.V1CfgAck})); len(out) != 0 ||
		len(gw.events(EventIKEUp)) != 0 {
		t.Fatalf("an unsolicited ACK: %d datagrams, events %v", len(out), gw.evs)
	}
	delete(c.ivs, id)
	// Quick Mode before XAuth finished: ignored.
	q := c.quickMsg1(v1qmOpts{})
	if out := c.send(q.msg1); len(out) != 0 {
		t.Fatalf("Quick Mode before XAuth answered")
	}
	delete(c.ivs, q.msgID)
	c.xauth(after6)
	if sas := gw.m.SAs(); len(sas) != 1 || sas[0].State != StateEstablished {
		t.Fatalf("not established after XAuth: %+v", sas)
	}
	c.modeConfig()
	c.quickFinish(c.quick(v1qmOpts{}))
}

// TestV1SessionInitialContact: IKEv1 clients are told apart by their XAuth
// user, not by their identity (usually a private address that clients in
// other networks share): INITIAL-CONTACT from another user with the same
// identity leaves the first SA alone; from the same user it replaces it.
func TestV1SessionInitialContact(t *testing.T) {
	gw := newV1GW(t, func(p *PeerConfig, _ *Config) {
		p.Remote.XAuthPassword = func(u string) (string, bool) { return v1Pass, u == v1User || u == "carol" }
	})
	client := func(seed byte, addr, user string) *v1rw {
		c := newV1rw(t, gw, wire.V1AuthXAuthInitPSK)
		c.rnd, c.ckyI = newDetRand(seed), 0
		var b [8]byte
		for c.ckyI == 0 {
			c.rnd.Read(b[:])
			c.ckyI = binary.BigEndian.Uint64(b[:])
		}
		c.addr, c.user, c.initialContact = netip.MustParseAddrPort(addr), user, true
		c.id = &wire.V1ID{IDType: wire.V1IDIPv4Addr, Data: []byte{192, 168, 1, 10}} // the same for all
		return c
	}
	established := func() int {
		n := 0
		for _, sa := range gw.m.SAs() {
			if sa.State == StateEstablished {
				n++
			}
		}
		return n
	}
	bob := client(21, "192.0.2.10:500", v1User)
	bob.establish()
	carol := client(22, "192.0.2.20:500", "carol")
	carol.establish()
	if n := established(); n != 2 {
		t.Fatalf("%d IKE SAs after another user's INITIAL-CONTACT, want 2 (bob's kept)", n)
	}
	if len(gw.events(EventIKEDown)) != 0 {
		t.Fatalf("an SA went down: %+v", gw.events(EventIKEDown))
	}
	// Bob again (his device rebooted): his old SA goes, carol's stays.
	bob2 := client(23, "192.0.2.10:500", v1User)
	bob2.establish()
	if n := established(); n != 2 {
		t.Fatalf("%d IKE SAs after bob's INITIAL-CONTACT, want 2", n)
	}
	downs := gw.events(EventIKEDown)
	if len(downs) != 1 || downs[0].SPIi != bob.ckyI {
		t.Fatalf("IKE SAs down %+v, want bob's first (%016x)", downs, bob.ckyI)
	}
}

// TestV1SessionReauthAdoptsChildren: a client that reauthenticates (a new
// Main Mode and XAuth from the same address, identity and user, without
// INITIAL-CONTACT) keeps its CHILD_SAs: they move to the new ISAKMP SA,
// and the delete of the old ISAKMP SA leaves them and the lease in place.
func TestV1SessionReauthAdoptsChildren(t *testing.T) {
	gw := newV1GW(t)
	client := func(seed byte) *v1rw {
		c := newV1rw(t, gw, wire.V1AuthXAuthInitPSK)
		c.rnd, c.ckyI = newDetRand(seed), 0
		var b [8]byte
		for c.ckyI == 0 {
			c.rnd.Read(b[:])
			c.ckyI = binary.BigEndian.Uint64(b[:])
		}
		return c
	}
	old := client(31)
	old.establish()
	q := old.quick(v1qmOpts{})
	old.quickFinish(q)
	_, in, out, _ := gw.dp.counts()
	fresh := client(32)
	fresh.establish()
	sas := gw.m.SAs()
	if len(sas) != 2 {
		t.Fatalf("%d IKE SAs, want 2", len(sas))
	}
	for _, sa := range sas {
		want := 0
		if sa.SPIi == fresh.ckyI {
			want = 1
		}
		if len(sa.Children) != want || (want == 1 && sa.Children[0].InSPI != q.spiR) {
			t.Fatalf("IKE SA %016x has %+v, want %d CHILD_SA (the old one's)", sa.SPIi, sa.Children, want)
		}
	}
	// The client deletes the old ISAKMP SA: the CHILD_SA stays.
	old.inform(&wire.V1Delete{DOI: wire.V1DOIIPsec, Protocol: wire.V1ProtocolISAKMP,
		SPIs: [][]byte{binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, old.ckyI), old.ckyR)}})
	if n := len(gw.m.SAs()); n != 1 {
		t.Fatalf("%d IKE SAs after the delete, want 1", n)
	}
	if _, in2, out2, _ := gw.dp.counts(); in2 != in || out2 != out {
		t.Fatalf("dataplane %d in, %d out after the delete, want %d, %d", in2, out2, in, out)
	}
	if len(gw.events(EventChildDown)) != 0 {
		t.Fatalf("CHILD_SA down: %+v", gw.events(EventChildDown))
	}
	if gw.pool.Online() != 1 {
		t.Fatalf("%d leases online, want 1", gw.pool.Online())
	}
	// A different user from the same address does not take them.
	other := client(33)
	other.user = "carol"
	gw.peer.Remote.XAuthPassword = func(u string) (string, bool) { return v1Pass, u == v1User || u == "carol" }
	other.establish()
	for _, sa := range gw.m.SAs() {
		if sa.SPIi == fresh.ckyI && len(sa.Children) != 1 {
			t.Fatalf("bob's CHILD_SA moved to carol's IKE SA: %+v", gw.m.SAs())
		}
	}
}

// TestV1HalfOpenShare: half-open IKEv1 SAs (no stateless cookie protects
// them) take at most a quarter of the half-open limit, so that a Main Mode
// flood from many addresses leaves room for IKEv2 clients.
func TestV1HalfOpenShare(t *testing.T) {
	gw := newV1GW(t, func(p *PeerConfig, cfg *Config) {
		p.Version = VersionAny
		cfg.HalfOpenLimit, cfg.CookieThreshold = 8, 100
	})
	for i := range 3 {
		c := newV1rw(t, gw, wire.V1AuthXAuthInitPSK)
		c.ckyI = uint64(0x7700 + i)
		c.addr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + i)}), 500)
		want := 1
		if i == 2 {
			want = 0 // beyond the IKEv1 share of 8: 2
		}
		if out := c.send(c.msg1()); len(out) != want {
			t.Fatalf("Main Mode %d: %d answers, want %d", i, len(out), want)
		}
	}
	if st := gw.m.Stats(); st.HalfOpenV1 != 2 || st.HalfOpen != 0 || st.HalfOpenLimited != 1 {
		t.Fatalf("stats %+v, want 2 IKEv1 half-open SAs and one refused", st)
	}
	// An IKEv2 client still gets an answer.
	x, err := newSAInitInitiator(newDetRand(9), DefaultIKEProposals(), netip.MustParseAddrPort("192.0.2.99:500"), respAddr, false)
	if err != nil {
		t.Fatal(err)
	}
	req, err := x.Request()
	if err != nil {
		t.Fatal(err)
	}
	gw.m.receive(req, esp.Endpoint{Local: respAddr, Remote: netip.MustParseAddrPort("192.0.2.99:500")})
	if out := gw.sent(); len(out) != 1 {
		t.Fatalf("IKE_SA_INIT: %d answers, want 1", len(out))
	}
	if st := gw.m.Stats(); st.HalfOpen != 1 || st.HalfOpenV1 != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// TestV1SessionTransportNAT: an L2TP/IPsec client behind a NAT asks for a
// transport-mode SA for its private address's UDP port 1701 with NAT-OA
// payloads (RFC 3947 Section 5.2); the gateway echoes the identities,
// sends NAT-OAi and NAT-OAr as it sees the addresses, installs the SA for
// the addresses it sees, and fixes checksums from the client's originals.
func TestV1SessionTransportNAT(t *testing.T) {
	l2tp := esp.Selector{Start: respAddr.Addr(), End: respAddr.Addr(), Proto: 17, StartPort: 1701, EndPort: 1701}
	gw := newV1GW(t, noXAuth, func(p *PeerConfig, _ *Config) {
		p.ForceEncap = true // the NAT
		p.Children = []*ChildConfig{{Name: "l2tp", Mode: esp.ModeTransport, LocalTS: []esp.Selector{l2tp},
			ESPProposals: MustParseProposals("aes256-sha256", wire.ProtocolESP)}}
	})
	c := newV1rw(t, gw, wire.V1AuthPSK)
	c.mainMode()
	private := netip.MustParseAddr("192.168.1.10")
	idci := &wire.V1ID{IDType: wire.V1IDIPv4Addr, Protocol: 17, Port: 1701, Data: private.AsSlice()}
	idcr := &wire.V1ID{IDType: wire.V1IDIPv4Addr, Protocol: 17, Port: 1701, Data: respAddr.Addr().AsSlice()}
	c.nextSPI++
	q := &v1qm{msgID: c.msgID(), ni: make([]byte, 32), spiI: c.nextSPI, idci: idci, idcr: idcr}
	c.rnd.Read(q.ni)
	tr := v1ESPTestTransform(0)
	for i, a := range tr.Attributes {
		if a.Type == wire.V1IPsecAttrEncapMode {
			tr.Attributes[i].Value = uint16(wire.V1EncapUDPTransport)
		}
	}
	q.sa = &wire.V1SA{DOI: wire.V1DOIIPsec, Situation: wire.V1SitIdentityOnly, Proposals: []wire.V1Proposal{{
		Number: 1, Protocol: wire.V1ProtocolESP, SPI: binary.BigEndian.AppendUint32(nil, q.spiI), Transforms: []wire.V1Transform{tr}}}}
	q.msg1 = c.seal(wire.V1ExchangeQuickMode, q.msgID, nil, q.sa, &wire.V1Nonce{Data: q.ni}, idci, idcr,
		&wire.V1NATOA{Addr: private}, &wire.V1NATOA{Addr: respAddr.Addr()})
	o := c.open("Quick Mode message 2", c.one("Quick Mode message 1", c.send(q.msg1)), q.ni)
	var ids []*wire.V1ID
	var oas []netip.Addr
	for _, p := range o.ps {
		switch p := p.(type) {
		case *wire.V1ID:
			ids = append(ids, p)
		case *wire.V1NATOA:
			oas = append(oas, p.Addr)
		}
	}
	if len(ids) != 2 || !bytes.Equal(ids[0].Body(), idci.Body()) || !bytes.Equal(ids[1].Body(), idcr.Body()) {
		t.Fatalf("identities not echoed: %+v", ids)
	}
	if len(oas) != 2 || oas[0] != c.addr.Addr() || oas[1] != respAddr.Addr() {
		t.Fatalf("NAT-OA %v, want the addresses the gateway sees (%v, %v)", oas, c.addr.Addr(), respAddr.Addr())
	}
	sa, _ := wire.FindV1[*wire.V1SA](o.ps)
	nr, _ := wire.FindV1[*wire.V1Nonce](o.ps)
	q.spiR, q.nr = binary.BigEndian.Uint32(sa.Proposals[0].SPI), bytes.Clone(nr.Data)
	c.quickFinish(q)
	gw.dp.mu.Lock()
	in, ok := gw.dp.in[q.spiR]
	gw.dp.mu.Unlock()
	if !ok || in.Mode != esp.ModeTransport || in.OrigRemote != private || in.OrigLocal != respAddr.Addr() || in.Remote.Port() == 0 {
		t.Fatalf("inbound SA %+v, want transport, UDP-encapsulated, NAT-OA %v and %v", in, private, respAddr.Addr())
	}
	ch := gw.m.SAs()[0].Children[0]
	if got := fmt.Sprint(ch.RemoteTS); got != fmt.Sprintf("[%v/32[udp/1701]]", c.addr.Addr()) {
		t.Errorf("remote selector %s, want the client's address as seen, udp/1701", got)
	}
}
