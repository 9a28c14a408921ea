package ppp

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// This file holds a small PPP client for the Session tests: it runs the
// generic Automaton with client-side option handling and answers CHAP with
// responses the test supplies, so that the server's CHAP code is checked
// against values computed elsewhere.

// scriptRand serves script, then a counter; it never fails.
type scriptRand struct {
	script []byte
	n      byte
}

func (r *scriptRand) Read(p []byte) (int, error) {
	for i := range p {
		if len(r.script) > 0 {
			p[i] = r.script[0]
			r.script = r.script[1:]
		} else {
			r.n++
			p[i] = r.n
		}
	}
	return len(p), nil
}

// clientLCP is the client's LCP option handling.
type clientLCP struct {
	accept   []AuthProtocol // CHAP algorithms the client does
	magic    uint32
	mru      uint16
	pfcACFC  bool
	extra    []Option // more options to request
	authSeen AuthProtocol
	req      []Option
}

func (c *clientLCP) ResetRequest() {
	c.req = nil
	if c.mru != 0 {
		c.req = append(c.req, Option{Type: LCPOptionMRU, Data: binary.BigEndian.AppendUint16(nil, c.mru)})
	}
	c.req = append(c.req, Option{Type: LCPOptionMagicNumber, Data: binary.BigEndian.AppendUint32(nil, c.magic)})
	if c.pfcACFC {
		c.req = append(c.req, Option{Type: LCPOptionPFC, Data: []byte{}}, Option{Type: LCPOptionACFC, Data: []byte{}})
	}
	c.req = append(c.req, c.extra...)
}
func (c *clientLCP) MagicNumber() uint32           { return c.magic }
func (c *clientLCP) AppendRequest(b []byte) []byte { return AppendOptions(b, c.req) }
func (c *clientLCP) CheckRequest(opts []Option) (nak, rej []Option) {
	for _, o := range opts {
		switch o.Type {
		case LCPOptionAuthProtocol:
			if len(o.Data) == 3 && o.Data[0] == 0xC2 && o.Data[1] == 0x23 && slices.Contains(c.accept, AuthProtocol(o.Data[2])) {
				c.authSeen = AuthProtocol(o.Data[2])
				continue
			}
			nak = append(nak, Option{Type: LCPOptionAuthProtocol, Data: []byte{0xC2, 0x23, byte(c.accept[0])}})
		case LCPOptionMagicNumber, LCPOptionMRU:
		default:
			rej = append(rej, o)
		}
	}
	return nak, rej
}
func (c *clientLCP) HandleNak(opts []Option) error    { return nakInto(&c.req, opts) }
func (c *clientLCP) HandleReject(opts []Option) error { return rejInto(&c.req, opts) }

// clientIPCP asks for an address and two DNS servers with 0.0.0.0 and
// takes what the server Naks.
type clientIPCP struct {
	req          []Option
	extra        []Option
	server       netip.Addr
	rejectServer bool // reject the server's IP-Address option
}

func (c *clientIPCP) ResetRequest() {
	c.req = []Option{
		{Type: IPCPOptionIPAddress, Data: []byte{0, 0, 0, 0}},
		{Type: IPCPOptionPrimaryDNS, Data: []byte{0, 0, 0, 0}},
		{Type: IPCPOptionSecondaryDNS, Data: []byte{0, 0, 0, 0}},
	}
	c.req = append(c.req, c.extra...)
}
func (c *clientIPCP) AppendRequest(b []byte) []byte { return AppendOptions(b, c.req) }
func (c *clientIPCP) CheckRequest(opts []Option) (nak, rej []Option) {
	for _, o := range opts {
		if o.Type == IPCPOptionIPAddress && len(o.Data) == 4 && !c.rejectServer {
			c.server = netip.AddrFrom4([4]byte(o.Data))
			continue
		}
		rej = append(rej, o)
	}
	return nil, rej
}
func (c *clientIPCP) HandleNak(opts []Option) error    { return nakInto(&c.req, opts) }
func (c *clientIPCP) HandleReject(opts []Option) error { return rejInto(&c.req, opts) }

func nakInto(req *[]Option, opts []Option) error {
	for _, o := range opts {
		for i := range *req {
			if (*req)[i].Type == o.Type {
				(*req)[i].Data = append([]byte(nil), o.Data...)
			}
		}
	}
	return nil
}

func rejInto(req *[]Option, opts []Option) error {
	*req = slices.DeleteFunc(*req, func(o Option) bool {
		return slices.ContainsFunc(opts, func(r Option) bool { return r.Type == o.Type })
	})
	return nil
}

func (c *clientIPCP) get(typ uint8) netip.Addr {
	for _, o := range c.req {
		if o.Type == typ && len(o.Data) == 4 {
			return netip.AddrFrom4([4]byte(o.Data))
		}
	}
	return netip.Addr{}
}

type testClient struct {
	t     testing.TB
	lcp   *Automaton
	lopts *clientLCP
	ipcp  *Automaton
	iopts *clientIPCP
	// respond builds the CHAP Response value and name for a Challenge.
	respond func(id uint8, challenge []byte, name string) (value []byte, user string)

	challenges []Packet
	chapReply  []Packet // Success and Failure received
	ipIn       [][]byte
	lcpIn      []Packet // LCP packets received
	silent     bool     // stop answering anything
	out        [][]byte
}

func newTestClient(t testing.TB, accept ...AuthProtocol) *testClient {
	c := &testClient{t: t}
	c.lopts = &clientLCP{accept: accept, magic: 0x11223344, mru: 1400}
	c.iopts = &clientIPCP{}
	c.lcp = NewAutomaton(ProtocolLCP, c.lopts, AutomatonConfig{})
	c.ipcp = NewAutomaton(ProtocolIPCP, c.iopts, AutomatonConfig{})
	return c
}

func (c *testClient) start(now time.Time) {
	c.lcp.Up(now)
	c.lcp.Open(now)
	c.flush()
}

func (c *testClient) flush() {
	for {
		p, ok := c.lcp.NextPacket()
		if !ok {
			break
		}
		c.out = append(c.out, AppendFrame(nil, ProtocolLCP, p))
	}
	for {
		p, ok := c.ipcp.NextPacket()
		if !ok {
			break
		}
		c.out = append(c.out, AppendFrame(nil, ProtocolIPCP, p))
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

func (c *testClient) handleFrame(f []byte, now time.Time) {
	if c.silent {
		return
	}
	proto, info, err := ParseFrame(f)
	if err != nil {
		c.t.Fatalf("server sent a bad frame % x: %v", f, err)
	}
	switch proto {
	case ProtocolLCP:
		if p, err := ParsePacket(info); err == nil {
			c.lcpIn = append(c.lcpIn, p)
		}
		_ = c.lcp.HandlePacket(info, now)
	case ProtocolIPCP:
		_ = c.ipcp.HandlePacket(info, now)
	case ProtocolIPv4:
		c.ipIn = append(c.ipIn, append([]byte(nil), info...))
	case ProtocolCHAP:
		p, err := ParsePacket(info)
		if err != nil {
			c.t.Fatalf("bad CHAP packet: %v", err)
		}
		switch p.Code {
		case CHAPChallenge:
			c.challenges = append(c.challenges, p)
			if len(p.Data) < 1 || len(p.Data) < 1+int(p.Data[0]) {
				c.t.Fatalf("bad Challenge % x", p.Data)
			}
			ch := p.Data[1 : 1+int(p.Data[0])]
			name := string(p.Data[1+int(p.Data[0]):])
			value, user := c.respond(p.Identifier, ch, name)
			d := append([]byte{byte(len(value))}, value...)
			d = append(d, user...)
			c.out = append(c.out, AppendFrame(nil, ProtocolCHAP, Packet{Code: CHAPResponse, Identifier: p.Identifier, Data: d}.Append(nil)))
		case CHAPSuccess, CHAPFailure:
			c.chapReply = append(c.chapReply, p)
			if p.Code == CHAPSuccess && c.ipcp.State() == StateInitial {
				c.ipcp.Up(now)
				c.ipcp.Open(now)
			}
		}
	}
	c.flush()
}

// link runs a server Session against a testClient with a controlled clock.
type link struct {
	t      *testing.T
	s      *Session
	c      *testClient
	now    time.Time
	events []Event
	ipIn   [][]byte // IPv4 packets the server received
	frames int
	// drop, if set, loses server-to-client frames it returns true for.
	drop func(f []byte) bool
}

func (l *link) run() {
	l.t.Helper()
	for range 1000 {
		moved := false
		for {
			f, ok := l.s.NextFrame()
			if !ok {
				break
			}
			moved = true
			l.frames++
			if l.drop != nil && l.drop(f) {
				continue
			}
			l.c.handleFrame(f, l.now)
		}
		out := l.c.out
		l.c.out = nil
		for _, f := range out {
			moved = true
			if l.c.silent {
				continue
			}
			ip, err := l.s.HandleFrame(f, l.now)
			if err == nil && ip != nil {
				l.ipIn = append(l.ipIn, append([]byte(nil), ip...))
			}
		}
		for {
			e, ok := l.s.NextEvent()
			if !ok {
				break
			}
			l.events = append(l.events, e)
		}
		if !moved {
			return
		}
	}
	l.t.Fatal("frames never stopped flowing")
}

// advance moves the clock to the next deadline of either side.
func (l *link) advance() bool {
	l.t.Helper()
	d := earliest(l.s.NextDeadline(), earliest(l.c.lcp.NextDeadline(), l.c.ipcp.NextDeadline()))
	if d.IsZero() {
		return false
	}
	l.now = d
	l.s.HandleTimeout(l.now)
	l.c.lcp.HandleTimeout(l.now)
	l.c.ipcp.HandleTimeout(l.now)
	l.c.flush()
	l.run()
	return true
}

func (l *link) kinds() []EventKind {
	var k []EventKind
	for _, e := range l.events {
		k = append(k, e.Kind)
	}
	return k
}

func (l *link) event(k EventKind) (Event, bool) {
	for _, e := range l.events {
		if e.Kind == k {
			return e, true
		}
	}
	return Event{}, false
}
