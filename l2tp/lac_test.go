package l2tp

import (
	"crypto/md5"
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/ikego/ikego/ppp"
)

// This file holds a scripted LAC for the Server tests: it builds control
// messages itself, keeps its own Ns/Nr, and records what the Server sends.
// It also holds a small PPP client (LCP, CHAP-MD5, IPCP) built on
// ppp.Automaton.

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// countRand serves a counter; it never fails.
type countRand struct{ n byte }

func (r *countRand) Read(p []byte) (int, error) {
	for i := range p {
		r.n++
		p[i] = r.n
	}
	return len(p), nil
}

type rxMsg struct {
	h Header
	m Message
}

type lac struct {
	t      *testing.T
	srv    *Server
	peer   Peer
	now    time.Time
	secret []byte

	tid, ltid uint16 // our Tunnel ID and the LNS's
	ns, nr    uint16
	rx        []rxMsg  // in-order control messages from the LNS
	dups      int      // retransmitted control messages seen
	zlbs      int      // ZLBs seen
	frames    [][]byte // PPP frames from data messages
	dataHdrs  []Header
	events    []Event
	ipIn      [][]byte // IPv4 packets the Server returned
	// drop, if set, loses Server-to-LAC datagrams it returns true for.
	drop func(pkt []byte) bool
}

func newTestServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.PPP == nil {
		cfg.PPP = func(SessionInfo) (*ppp.Config, error) { return testPPPConfig(), nil }
	}
	if cfg.Rand == nil {
		cfg.Rand = &countRand{}
	}
	s, err := NewServer(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testPPPConfig() *ppp.Config {
	return &ppp.Config{
		Name:   "lns",
		Auth:   []ppp.AuthProtocol{ppp.AuthCHAPMD5},
		Secret: func(user string) (string, bool) { return "sesame", user == "alice" },
		// Inside the virtual pool of the test plan.
		LocalAddr:  netip.MustParseAddr("198.18.200.1"),
		AssignAddr: func(string) (netip.Addr, error) { return netip.MustParseAddr("198.18.200.2"), nil },
		Rand:       &countRand{n: 100},
	}
}

func newLAC(t *testing.T, srv *Server) *lac {
	return &lac{t: t, srv: srv, now: t0, tid: 0x4001,
		peer: Peer{Conn: 7, Addr: netip.MustParseAddrPort("198.51.100.1:1701")}}
}

// send delivers a control message to the Server and collects its output.
func (l *lac) send(sid uint16, m Message) error {
	l.t.Helper()
	pkt, err := AppendControl(nil, Header{TunnelID: l.ltid, SessionID: sid, Ns: l.ns, Nr: l.nr}, &m, l.secret)
	if err != nil {
		l.t.Fatal(err)
	}
	l.ns++
	return l.deliver(pkt)
}

func (l *lac) deliver(pkt []byte) error {
	ip, _, err := l.srv.HandleDatagram(pkt, l.peer, l.now)
	if ip != nil {
		l.ipIn = append(l.ipIn, append([]byte(nil), ip...))
	}
	l.collect()
	return err
}

// collect reads everything the Server queued.
func (l *lac) collect() {
	l.t.Helper()
	for {
		d, ok := l.srv.NextDatagram()
		if !ok {
			break
		}
		if d.To != l.peer {
			l.t.Fatalf("datagram to %v, want %v", d.To, l.peer)
		}
		if l.drop != nil && l.drop(d.Data) {
			continue
		}
		h, body, err := ParseHeader(d.Data)
		if err != nil {
			l.t.Fatalf("Server sent a bad datagram % x: %v", d.Data, err)
		}
		if !h.Control {
			l.frames = append(l.frames, append([]byte(nil), body...))
			l.dataHdrs = append(l.dataHdrs, h)
			continue
		}
		if h.TunnelID != l.tid {
			l.t.Fatalf("control message to tunnel %d, want %d", h.TunnelID, l.tid)
		}
		if len(body) == 0 {
			l.zlbs++
			continue
		}
		if h.Ns != l.nr {
			l.dups++
			continue
		}
		l.nr++
		m, err := ParseMessage(body, l.secret)
		if err != nil {
			l.t.Fatalf("Server sent a bad message: %v", err)
		}
		l.rx = append(l.rx, rxMsg{h, m})
	}
	for {
		e, ok := l.srv.NextEvent()
		if !ok {
			break
		}
		l.events = append(l.events, e)
	}
}

// ack sends a ZLB.
func (l *lac) ack() {
	l.t.Helper()
	_ = l.deliver(AppendHeader(nil, Header{Control: true, TunnelID: l.ltid, Ns: l.ns, Nr: l.nr}, 0))
}

// expect pops the next received control message and checks its type.
func (l *lac) expect(typ MessageType) rxMsg {
	l.t.Helper()
	if len(l.rx) == 0 {
		l.t.Fatalf("no message from the Server, want %v", typ)
	}
	r := l.rx[0]
	l.rx = l.rx[1:]
	if r.m.Type != typ {
		l.t.Fatalf("got %v, want %v", r.m.Type, typ)
	}
	return r
}

func (l *lac) advance(to time.Time) {
	l.now = to
	l.srv.HandleTimeout(to)
	l.collect()
}

func (l *lac) hasEvent(k EventKind) (Event, bool) {
	for _, e := range l.events {
		if e.Kind == k {
			return e, true
		}
	}
	return Event{}, false
}

func sccrq(tid uint16, chal []byte) Message {
	m := NewMessage(MsgSCCRQ)
	m.Add(AVPProtocolVersion, []byte{1, 0})
	m.Add(AVPHostName, []byte("lac.example"))
	m.AddUint32(AVPFramingCapabilities, 1)
	m.AddUint16(AVPAssignedTunnelID, tid)
	m.AddUint16(AVPReceiveWindowSize, 4)
	if chal != nil {
		m.Add(AVPChallenge, chal)
	}
	return m
}

// establish runs SCCRQ, SCCRP, SCCCN.
func (l *lac) establish() {
	l.t.Helper()
	var chal []byte
	if l.secret != nil {
		chal = []byte("lac challenge 16")
	}
	// SCCRQ { Protocol Version, Host Name, Framing, Assigned Tunnel ID } -->
	_ = l.send(0, sccrq(l.tid, chal))
	// <-- SCCRP { Assigned Tunnel ID, Challenge?, Challenge Response? }
	r := l.expect(MsgSCCRP)
	id, err := r.m.Uint16(AVPAssignedTunnelID)
	if err != nil || id == 0 {
		l.t.Fatalf("SCCRP Assigned Tunnel ID %d, %v", id, err)
	}
	l.ltid = id
	cn := NewMessage(MsgSCCCN)
	if l.secret != nil {
		a, ok := r.m.Get(AVPChallengeResponse)
		want := md5.Sum(slices.Concat([]byte{2}, l.secret, chal))
		if !ok || string(a.Value) != string(want[:]) {
			l.t.Fatalf("SCCRP Challenge Response %v, want % x", a, want)
		}
		c, ok := r.m.Get(AVPChallenge)
		if !ok {
			l.t.Fatal("SCCRP without Challenge")
		}
		resp := md5.Sum(slices.Concat([]byte{3}, l.secret, c.Value))
		cn.Add(AVPChallengeResponse, resp[:])
	}
	// SCCCN { Challenge Response? } -->
	_ = l.send(0, cn)
	if _, ok := l.hasEvent(EventTunnelUp); !ok {
		l.t.Fatalf("no tunnel up event; events %v", l.events)
	}
}

// call runs ICRQ, ICRP, ICCN and returns the LNS's Session ID.
func (l *lac) call(sid uint16, iccn func(*Message)) uint16 {
	l.t.Helper()
	m := NewMessage(MsgICRQ)
	m.AddUint16(AVPAssignedSessionID, sid)
	m.AddUint32(AVPCallSerialNumber, 1)
	// ICRQ { Assigned Session ID, Call Serial Number } -->
	_ = l.send(0, m)
	// <-- ICRP { Assigned Session ID }
	r := l.expect(MsgICRP)
	if r.h.SessionID != sid {
		l.t.Fatalf("ICRP to session %d, want %d", r.h.SessionID, sid)
	}
	lsid, err := r.m.Uint16(AVPAssignedSessionID)
	if err != nil || lsid == 0 {
		l.t.Fatalf("ICRP Assigned Session ID %d, %v", lsid, err)
	}
	c := NewMessage(MsgICCN)
	c.AddUint32(AVPTxConnectSpeed, 100000000)
	c.AddUint32(AVPFramingType, 1)
	if iccn != nil {
		iccn(&c)
	}
	// ICCN { Tx Connect Speed, Framing Type } -->
	_ = l.send(lsid, c)
	return lsid
}

// pppClient is the PPP peer of the Server's ppp.Session.
type pppClient struct {
	lcp, ipcp *ppp.Automaton
	lopts     *clientLCP
	iopts     *clientIPCP
	password  string
	user      string
	out       [][]byte
	ipIn      [][]byte
	chapOK    bool
}

func newPPPClient(user, password string) *pppClient {
	c := &pppClient{user: user, password: password, lopts: &clientLCP{magic: 0x5a5a0001}, iopts: &clientIPCP{}}
	c.lcp = ppp.NewAutomaton(ppp.ProtocolLCP, c.lopts, ppp.AutomatonConfig{})
	c.ipcp = ppp.NewAutomaton(ppp.ProtocolIPCP, c.iopts, ppp.AutomatonConfig{})
	return c
}

func (c *pppClient) start(now time.Time) {
	c.lcp.Up(now)
	c.lcp.Open(now)
	c.flush()
}

func (c *pppClient) flush() {
	for {
		p, ok := c.lcp.NextPacket()
		if !ok {
			break
		}
		c.out = append(c.out, ppp.AppendFrame(nil, ppp.ProtocolLCP, p))
	}
	for {
		p, ok := c.ipcp.NextPacket()
		if !ok {
			break
		}
		c.out = append(c.out, ppp.AppendFrame(nil, ppp.ProtocolIPCP, p))
	}
	for {
		if _, ok := c.lcp.NextEvent(); !ok {
			break
		}
	}
	for {
		if _, ok := c.ipcp.NextEvent(); !ok {
			break
		}
	}
}

func (c *pppClient) handle(t *testing.T, f []byte, now time.Time) {
	proto, info, err := ppp.ParseFrame(f)
	if err != nil {
		t.Fatalf("bad PPP frame % x: %v", f, err)
	}
	switch proto {
	case ppp.ProtocolLCP:
		_ = c.lcp.HandlePacket(info, now)
	case ppp.ProtocolIPCP:
		_ = c.ipcp.HandlePacket(info, now)
	case ppp.ProtocolIPv4:
		c.ipIn = append(c.ipIn, append([]byte(nil), info...))
	case ppp.ProtocolCHAP:
		p, err := ppp.ParsePacket(info)
		if err != nil {
			t.Fatalf("bad CHAP packet: %v", err)
		}
		switch p.Code {
		case ppp.CHAPChallenge:
			if len(p.Data) < 1 || len(p.Data) < 1+int(p.Data[0]) {
				t.Fatalf("bad Challenge % x", p.Data)
			}
			// RFC 1994, Section 4.1: MD5(Identifier | secret | challenge).
			sum := md5.Sum(slices.Concat([]byte{p.Identifier}, []byte(c.password), p.Data[1:1+int(p.Data[0])]))
			d := append([]byte{16}, sum[:]...)
			d = append(d, c.user...)
			c.out = append(c.out, ppp.AppendFrame(nil, ppp.ProtocolCHAP, ppp.Packet{Code: ppp.CHAPResponse, Identifier: p.Identifier, Data: d}.Append(nil)))
		case ppp.CHAPSuccess:
			c.chapOK = true
			if c.ipcp.State() == ppp.StateInitial {
				c.ipcp.Up(now)
				c.ipcp.Open(now)
			}
		}
	}
	c.flush()
}

type clientLCP struct {
	magic uint32
	req   []ppp.Option
}

func (c *clientLCP) ResetRequest() {
	c.req = []ppp.Option{{Type: ppp.LCPOptionMagicNumber, Data: binary.BigEndian.AppendUint32(nil, c.magic)}}
}
func (c *clientLCP) AppendRequest(b []byte) []byte { return ppp.AppendOptions(b, c.req) }
func (c *clientLCP) CheckRequest(opts []ppp.Option) (nak, rej []ppp.Option) {
	for _, o := range opts {
		switch o.Type {
		case ppp.LCPOptionAuthProtocol:
			if string(o.Data) != "\xc2\x23\x05" {
				nak = append(nak, ppp.Option{Type: o.Type, Data: []byte{0xC2, 0x23, 5}})
			}
		case ppp.LCPOptionMagicNumber, ppp.LCPOptionMRU:
		default:
			rej = append(rej, o)
		}
	}
	return nak, rej
}
func (c *clientLCP) HandleNak([]ppp.Option) error { return nil }
func (c *clientLCP) HandleReject(opts []ppp.Option) error {
	c.req = slices.DeleteFunc(c.req, func(o ppp.Option) bool {
		return slices.ContainsFunc(opts, func(r ppp.Option) bool { return r.Type == o.Type })
	})
	return nil
}

type clientIPCP struct {
	addr [4]byte
}

func (c *clientIPCP) ResetRequest() {}
func (c *clientIPCP) AppendRequest(b []byte) []byte {
	return ppp.AppendOptions(b, []ppp.Option{{Type: ppp.IPCPOptionIPAddress, Data: c.addr[:]}})
}
func (c *clientIPCP) CheckRequest(opts []ppp.Option) (nak, rej []ppp.Option) {
	for _, o := range opts {
		if o.Type != ppp.IPCPOptionIPAddress {
			rej = append(rej, o)
		}
	}
	return nil, rej
}
func (c *clientIPCP) HandleNak(opts []ppp.Option) error {
	for _, o := range opts {
		if o.Type == ppp.IPCPOptionIPAddress && len(o.Data) == 4 {
			c.addr = [4]byte(o.Data)
		}
	}
	return nil
}
func (c *clientIPCP) HandleReject([]ppp.Option) error { return nil }

// runPPP shuttles frames between the LAC's data channel and the client
// until both are quiet.
func (l *lac) runPPP(c *pppClient, lsid uint16, seq bool) {
	l.t.Helper()
	var ns uint16
	for range 200 {
		frames := l.frames
		l.frames = nil
		for _, f := range frames {
			c.handle(l.t, f, l.now)
		}
		out := c.out
		c.out = nil
		for _, f := range out {
			h := Header{TunnelID: l.ltid, SessionID: lsid, HasLength: true, Sequenced: seq, Ns: ns}
			ns++
			_ = l.deliver(AppendData(nil, h, f))
		}
		if len(frames) == 0 && len(out) == 0 {
			return
		}
	}
	l.t.Fatal("PPP never settled")
}
