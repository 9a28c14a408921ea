package l2tptest

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/l2tp"
	"github.com/ikego/ikego/ppp"
)

// Transport carries a Client's L2TP datagrams (UDP payloads) to and from
// one LNS.
type Transport interface {
	// Send sends one datagram to the LNS; the Transport does not keep pkt.
	Send(pkt []byte) error
	// Receive waits for the next datagram from the LNS, copies it into buf
	// and returns its length; after Close it returns an error.
	Receive(buf []byte) (int, error)
	// Close unblocks Receive.
	Close() error
}

// localTransport is a Transport over an esp.LocalConn.
type localTransport struct {
	conn *esp.LocalConn
	lns  esp.LocalAddr
}

// NewLocalTransport returns a Transport that sends to lns (the policy of the
// transport-mode SA to the LNS, and the LNS's address and port 1701) through
// conn, and receives what conn receives from that policy; datagrams from
// other policies are dropped. Close closes conn.
func NewLocalTransport(conn *esp.LocalConn, lns esp.LocalAddr) Transport {
	return &localTransport{conn: conn, lns: lns}
}

func (t *localTransport) Send(pkt []byte) error {
	_, err := t.conn.WriteTo(pkt, t.lns)
	return err
}

func (t *localTransport) Receive(buf []byte) (int, error) {
	for {
		n, from, err := t.conn.ReadFrom(buf)
		if err != nil || from.PolicyID == t.lns.PolicyID {
			return n, err
		}
	}
}

func (t *localTransport) Close() error { return t.conn.Close() }

// Config configures a Client.
type Config struct {
	// User and Password are the PPP credentials.
	User, Password string
	// Auth is the CHAP algorithm the client does: ppp.AuthCHAPMD5 or
	// ppp.AuthMSCHAPv2. Zero accepts whichever of the two the LNS asks for.
	Auth ppp.AuthProtocol
	// Secret is the tunnel secret (RFC 2661, Section 5.1.1): when set the
	// client sends a Challenge in its SCCRQ, checks the LNS's Challenge
	// Response, and answers the LNS's Challenge.
	Secret []byte
	// TunnelID and SessionID are the IDs the client assigns; zero means 1.
	TunnelID, SessionID uint16
	// HostName is sent in the SCCRQ; empty means "l2tptest".
	HostName string
}

// Errors a Client reports, from Dial or Err.
var (
	// ErrAuth: the LNS refused the PPP credentials (CHAP Failure), or its
	// MS-CHAPv2 authenticator response was wrong.
	ErrAuth = errors.New("l2tptest: authentication failed")
	// ErrClosed: Close was called.
	ErrClosed = errors.New("l2tptest: client closed")
)

// DisconnectError reports that the LNS ended the call (CDN) or the tunnel
// (StopCCN).
type DisconnectError struct {
	Message l2tp.MessageType
	Result  l2tp.Result
}

// Error names the message and its result.
func (e *DisconnectError) Error() string {
	return fmt.Sprintf("l2tptest: LNS sent %v: %v", e.Message, e.Result)
}

// Client is one L2TP/PPP client connected to an LNS: after Dial its PPP
// network layer is open, SendIP sends IPv4 packets and IP receives them.
type Client struct {
	cfg Config
	tr  Transport

	in       chan []byte
	closeReq chan struct{}
	up       chan struct{} // closed when IPCP opens
	done     chan struct{} // closed when the client stops
	ip       chan []byte
	wg       sync.WaitGroup
	upOnce   sync.Once
	doneOnce sync.Once
	stop     sync.Once

	mu   sync.Mutex // guards what follows, written by the owner goroutine
	err  error
	addr netip.Addr
	srv  netip.Addr
	dns  []netip.Addr
	ltid uint16 // the LNS's Tunnel ID
	lsid uint16 // the LNS's Session ID

	// Owned by the run goroutine.
	ns, nr   uint16
	chal     []byte // the Challenge of our SCCRQ
	lcp      *ppp.Automaton
	ipcp     *ppp.Automaton
	lopts    *lcpOptions
	iopts    *ipcpOptions
	authChal [16]byte // MS-CHAPv2: the LNS's challenge
	peerChal [16]byte
	ntResp   [24]byte
	authErr  error
	sent     bool // a control message went out while handling a datagram
}

// Dial connects to the LNS over tr: it opens a tunnel and a call, runs PPP
// until IPCP is open, and returns the Client. The Client owns tr from then
// on; a failed Dial closes it too. The error is ErrAuth, a
// *DisconnectError, the Transport's, or ctx's.
func Dial(ctx context.Context, tr Transport, cfg Config) (*Client, error) {
	if cfg.TunnelID == 0 {
		cfg.TunnelID = 1
	}
	if cfg.SessionID == 0 {
		cfg.SessionID = 1
	}
	if cfg.HostName == "" {
		cfg.HostName = "l2tptest"
	}
	c := &Client{
		cfg: cfg, tr: tr,
		in:       make(chan []byte, 64),
		closeReq: make(chan struct{}),
		up:       make(chan struct{}),
		done:     make(chan struct{}),
		ip:       make(chan []byte, 256),
		lopts:    &lcpOptions{auth: cfg.Auth, magic: 0x6c327470},
		iopts:    &ipcpOptions{},
	}
	c.lcp = ppp.NewAutomaton(ppp.ProtocolLCP, c.lopts, ppp.AutomatonConfig{})
	c.ipcp = ppp.NewAutomaton(ppp.ProtocolIPCP, c.iopts, ppp.AutomatonConfig{})
	c.wg.Add(2)
	go c.read()
	go c.run()
	select {
	case <-c.up:
		return c, nil
	case <-c.done:
		err := c.Err()
		c.Close()
		return nil, err
	case <-ctx.Done():
		c.Close()
		return nil, ctx.Err()
	}
}

// Addr returns the address IPCP gave the client.
func (c *Client) Addr() netip.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addr
}

// ServerAddr returns the LNS's address on the PPP link, from its IPCP
// Configure-Request; invalid if it sent none.
func (c *Client) ServerAddr() netip.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.srv
}

// DNS returns the DNS servers IPCP gave the client.
func (c *Client) DNS() []netip.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.dns)
}

// IP returns the channel of the IPv4 packets the LNS sends the client, each
// a new slice. It holds 256; more are dropped. It is never closed: wait on
// Done as well.
func (c *Client) IP() <-chan []byte { return c.ip }

// Done returns a channel closed when the client stops: the LNS ended the
// call or the tunnel, or Close was called. Err then says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the client stopped, nil while it runs.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// AppendIPDatagram appends to dst the L2TP data message that carries the
// IPv4 packet ip over the client's PPP link, as SendIP sends it, for tests
// that deliver datagrams themselves. Whatever source address ip has is kept.
func (c *Client) AppendIPDatagram(dst, ip []byte) []byte {
	c.mu.Lock()
	h := l2tp.Header{HasLength: true, TunnelID: c.ltid, SessionID: c.lsid}
	c.mu.Unlock()
	start := len(dst)
	dst = l2tp.AppendHeader(dst, h, 0)
	dst = ppp.AppendFrame(dst, ppp.ProtocolIPv4, ip)
	n := len(dst) - start
	binary.BigEndian.PutUint16(dst[start+2:], uint16(n)) // the L bit is set
	return dst
}

// SendIP sends the IPv4 packet ip over the PPP link. The source address is
// not checked: tests use it to spoof.
func (c *Client) SendIP(ip []byte) error {
	select {
	case <-c.done:
		return ErrClosed
	default:
	}
	return c.tr.Send(c.AppendIPDatagram(nil, ip))
}

// Close ends the call and the tunnel (CDN, then StopCCN) unless the LNS
// already did, stops the client's goroutines and closes the Transport. It
// may be called more than once.
func (c *Client) Close() error {
	c.stop.Do(func() { close(c.closeReq) })
	<-c.done
	err := c.tr.Close()
	c.wg.Wait()
	return err
}

// read moves datagrams from the Transport to the run goroutine.
func (c *Client) read() {
	defer c.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, err := c.tr.Receive(buf)
		if err != nil {
			c.finish(err)
			return
		}
		select {
		case c.in <- slices.Clone(buf[:n]):
		case <-c.done:
		}
	}
}

// finish stops the client with err, unless it already stopped.
func (c *Client) finish(err error) {
	c.doneOnce.Do(func() {
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
		close(c.done)
	})
}

// run owns the protocol state: it sends the SCCRQ, handles the datagrams
// from the LNS and runs the PPP timers until the client stops.
func (c *Client) run() {
	defer c.wg.Done()
	m := l2tp.NewMessage(l2tp.MsgSCCRQ)
	m.Add(l2tp.AVPProtocolVersion, []byte{1, 0})
	m.Add(l2tp.AVPHostName, []byte(c.cfg.HostName))
	m.AddUint32(l2tp.AVPFramingCapabilities, 3)
	m.AddUint16(l2tp.AVPAssignedTunnelID, c.cfg.TunnelID)
	m.AddUint16(l2tp.AVPReceiveWindowSize, 8)
	if c.cfg.Secret != nil {
		c.chal = make([]byte, 16)
		rand.Read(c.chal)
		m.Add(l2tp.AVPChallenge, c.chal)
	}
	// SCCRQ { Protocol Version, Host Name, Framing, Assigned Tunnel ID, Challenge? } -->
	if err := c.sendControl(0, m); err != nil {
		c.finish(err)
		return
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		timer.Stop()
		if d := earliest(c.lcp.NextDeadline(), c.ipcp.NextDeadline()); !d.IsZero() {
			timer.Reset(time.Until(d))
		}
		select {
		case pkt := <-c.in:
			if err := c.handle(pkt); err != nil {
				c.finish(err)
				return
			}
		case <-timer.C:
			now := time.Now()
			c.lcp.HandleTimeout(now)
			c.ipcp.HandleTimeout(now)
			if err := c.flushPPP(); err != nil {
				c.finish(err)
				return
			}
		case <-c.closeReq:
			c.hangUp()
			c.finish(ErrClosed)
			return
		case <-c.done:
			return
		}
	}
}

// hangUp sends a CDN for the call and a StopCCN for the tunnel, as far as
// they exist.
func (c *Client) hangUp() {
	c.mu.Lock()
	ltid, lsid := c.ltid, c.lsid
	c.mu.Unlock()
	if ltid == 0 {
		return
	}
	if lsid != 0 {
		m := l2tp.NewMessage(l2tp.MsgCDN)
		m.Add(l2tp.AVPResultCode, []byte{0, byte(l2tp.CDNAdministrative)})
		m.AddUint16(l2tp.AVPAssignedSessionID, c.cfg.SessionID)
		// CDN { Result Code, Assigned Session ID } -->
		_ = c.sendControl(lsid, m)
	}
	m := l2tp.NewMessage(l2tp.MsgStopCCN)
	m.AddUint16(l2tp.AVPAssignedTunnelID, c.cfg.TunnelID)
	m.Add(l2tp.AVPResultCode, []byte{0, byte(l2tp.StopGeneral)})
	// StopCCN { Assigned Tunnel ID, Result Code } -->
	_ = c.sendControl(0, m)
}

// sendControl sends a control message with the next Ns.
func (c *Client) sendControl(sid uint16, m l2tp.Message) error {
	c.mu.Lock()
	ltid := c.ltid
	c.mu.Unlock()
	pkt, err := l2tp.AppendControl(nil, l2tp.Header{TunnelID: ltid, SessionID: sid, Ns: c.ns, Nr: c.nr}, &m, c.cfg.Secret)
	if err != nil {
		return err
	}
	c.ns++
	c.sent = true
	return c.tr.Send(pkt)
}

// ack sends a ZLB acknowledgment.
func (c *Client) ack() error {
	c.mu.Lock()
	ltid := c.ltid
	c.mu.Unlock()
	return c.tr.Send(l2tp.AppendHeader(nil, l2tp.Header{Control: true, TunnelID: ltid, Ns: c.ns, Nr: c.nr}, 0))
}

// handle processes one datagram from the LNS.
func (c *Client) handle(pkt []byte) error {
	h, body, err := l2tp.ParseHeader(pkt)
	if err != nil || h.TunnelID != c.cfg.TunnelID {
		return nil // not ours; an LNS would count it
	}
	if !h.Control {
		if h.SessionID != c.cfg.SessionID {
			return nil
		}
		return c.handleFrame(body)
	}
	if len(body) == 0 {
		return nil // a ZLB: we do not retransmit, so nothing waits for it
	}
	if h.Ns != c.nr {
		// A retransmission of what we had (our ack was late), or one
		// ahead of a loss: acknowledge what we have.
		return c.ack()
	}
	c.nr++
	m, err := l2tp.ParseMessage(body, c.cfg.Secret)
	if err != nil {
		return fmt.Errorf("l2tptest: bad control message from the LNS: %w", err)
	}
	c.sent = false
	if err := c.handleMessage(&h, &m); err != nil {
		return err
	}
	if !c.sent {
		return c.ack()
	}
	return nil
}

func (c *Client) handleMessage(h *l2tp.Header, m *l2tp.Message) error {
	switch m.Type {
	case l2tp.MsgSCCRP:
		// <-- SCCRP { Assigned Tunnel ID, Challenge?, Challenge Response? }
		ltid, err := m.Uint16(l2tp.AVPAssignedTunnelID)
		if err != nil || ltid == 0 {
			return fmt.Errorf("l2tptest: SCCRP without Assigned Tunnel ID")
		}
		c.mu.Lock()
		c.ltid = ltid
		c.mu.Unlock()
		cn := l2tp.NewMessage(l2tp.MsgSCCCN)
		if c.cfg.Secret != nil {
			// RFC 2661, Section 4.4.3: MD5(type | secret | challenge),
			// type 2 for the SCCRP, 3 for the SCCCN.
			a, ok := m.Get(l2tp.AVPChallengeResponse)
			want := md5.Sum(slices.Concat([]byte{byte(l2tp.MsgSCCRP)}, c.cfg.Secret, c.chal))
			if !ok || string(a.Value) != string(want[:]) {
				return fmt.Errorf("l2tptest: the LNS's Challenge Response is wrong")
			}
			if ch, ok := m.Get(l2tp.AVPChallenge); ok {
				r := md5.Sum(slices.Concat([]byte{byte(l2tp.MsgSCCCN)}, c.cfg.Secret, ch.Value))
				cn.Add(l2tp.AVPChallengeResponse, r[:])
			}
		}
		// SCCCN { Challenge Response? } -->
		if err := c.sendControl(0, cn); err != nil {
			return err
		}
		icrq := l2tp.NewMessage(l2tp.MsgICRQ)
		icrq.AddUint16(l2tp.AVPAssignedSessionID, c.cfg.SessionID)
		icrq.AddUint32(l2tp.AVPCallSerialNumber, 1)
		// ICRQ { Assigned Session ID, Call Serial Number } -->
		return c.sendControl(0, icrq)
	case l2tp.MsgICRP:
		// <-- ICRP { Assigned Session ID }
		lsid, err := m.Uint16(l2tp.AVPAssignedSessionID)
		if err != nil || lsid == 0 || h.SessionID != c.cfg.SessionID {
			return fmt.Errorf("l2tptest: bad ICRP")
		}
		c.mu.Lock()
		c.lsid = lsid
		c.mu.Unlock()
		iccn := l2tp.NewMessage(l2tp.MsgICCN)
		iccn.AddUint32(l2tp.AVPTxConnectSpeed, 100_000_000)
		iccn.AddUint32(l2tp.AVPFramingType, 1)
		// ICCN { Tx Connect Speed, Framing Type } -->
		if err := c.sendControl(lsid, iccn); err != nil {
			return err
		}
		now := time.Now()
		c.lcp.Up(now)
		c.lcp.Open(now)
		return c.flushPPP()
	case l2tp.MsgCDN, l2tp.MsgStopCCN:
		// <-- CDN or StopCCN { Result Code, ... }
		var r l2tp.Result
		if a, ok := m.Get(l2tp.AVPResultCode); ok {
			r, _ = l2tp.ParseResult(a.Value)
		}
		if err := c.ack(); err != nil {
			return err
		}
		if c.authErr != nil {
			return c.authErr
		}
		return &DisconnectError{Message: m.Type, Result: r}
	}
	// HELLO and anything else: the ZLB acknowledges it.
	return nil
}

// handleFrame processes one PPP frame from the LNS.
func (c *Client) handleFrame(f []byte) error {
	proto, info, err := ppp.ParseFrame(f)
	if err != nil {
		return nil
	}
	now := time.Now()
	switch proto {
	case ppp.ProtocolLCP:
		_ = c.lcp.HandlePacket(info, now)
	case ppp.ProtocolIPCP:
		_ = c.ipcp.HandlePacket(info, now)
	case ppp.ProtocolIPv4:
		select {
		case c.ip <- slices.Clone(info):
		default:
		}
	case ppp.ProtocolCHAP:
		if err := c.handleCHAP(info, now); err != nil {
			return err
		}
	}
	return c.flushPPP()
}

// handleCHAP answers a Challenge and takes Success or Failure.
func (c *Client) handleCHAP(info []byte, now time.Time) error {
	p, err := ppp.ParsePacket(info)
	if err != nil {
		return nil
	}
	switch p.Code {
	case ppp.CHAPChallenge:
		// <-- Challenge { Value-Size, Value, Name }
		if len(p.Data) < 1 || len(p.Data) < 1+int(p.Data[0]) {
			return nil
		}
		ch := p.Data[1 : 1+int(p.Data[0])]
		var value []byte
		switch c.lopts.chosen {
		case ppp.AuthMSCHAPv2:
			// RFC 2759, Section 4: Peer-Challenge, 8 reserved octets,
			// NT-Response, Flags.
			if len(ch) != ppp.MSCHAPv2ChallengeLen {
				return nil
			}
			c.authChal = [16]byte(ch)
			rand.Read(c.peerChal[:])
			c.ntResp = ppp.GenerateNTResponse(c.authChal, c.peerChal, c.cfg.User, c.cfg.Password)
			value = slices.Concat(c.peerChal[:], make([]byte, 8), c.ntResp[:], []byte{0})
		default:
			// RFC 1994, Section 4.1: MD5(Identifier | secret | challenge).
			sum := md5.Sum(slices.Concat([]byte{p.Identifier}, []byte(c.cfg.Password), ch))
			value = sum[:]
		}
		d := append([]byte{byte(len(value))}, value...)
		d = append(d, c.cfg.User...)
		// Response { Value-Size, Value, Name } -->
		return c.sendFrame(ppp.ProtocolCHAP, ppp.Packet{Code: ppp.CHAPResponse, Identifier: p.Identifier, Data: d}.Append(nil))
	case ppp.CHAPSuccess:
		// <-- Success { Message: "S=<authenticator response> M=..." }
		if c.lopts.chosen == ppp.AuthMSCHAPv2 {
			msg := p.Data
			if len(msg) < ppp.MSCHAPv2AuthenticatorResponseLen ||
				!ppp.CheckAuthenticatorResponse(c.cfg.Password, c.ntResp, c.peerChal, c.authChal, c.cfg.User, string(msg[:ppp.MSCHAPv2AuthenticatorResponseLen])) {
				c.authErr = fmt.Errorf("%w: bad MS-CHAPv2 authenticator response", ErrAuth)
				return c.authErr
			}
		}
		if c.ipcp.State() == ppp.StateInitial {
			c.ipcp.Up(now)
			c.ipcp.Open(now)
		}
	case ppp.CHAPFailure:
		// <-- Failure: the LNS ends the call with a CDN next.
		c.authErr = ErrAuth
	}
	return nil
}

// flushPPP sends what LCP and IPCP queued and notes IPCP opening.
func (c *Client) flushPPP() error {
	for _, a := range []*ppp.Automaton{c.lcp, c.ipcp} {
		for {
			p, ok := a.NextPacket()
			if !ok {
				break
			}
			if err := c.sendFrame(a.Protocol(), p); err != nil {
				return err
			}
		}
	}
	for {
		if _, ok := c.lcp.NextEvent(); !ok {
			break
		}
	}
	for {
		ev, ok := c.ipcp.NextEvent()
		if !ok {
			break
		}
		if ev == ppp.LayerUp {
			c.mu.Lock()
			c.addr, c.srv, c.dns = c.iopts.get(ppp.IPCPOptionIPAddress), c.iopts.server, nil
			for _, typ := range []uint8{ppp.IPCPOptionPrimaryDNS, ppp.IPCPOptionSecondaryDNS} {
				if a := c.iopts.get(typ); a.IsValid() {
					c.dns = append(c.dns, a)
				}
			}
			c.mu.Unlock()
			c.upOnce.Do(func() { close(c.up) })
		}
	}
	return nil
}

// sendFrame sends a PPP frame in a data message.
func (c *Client) sendFrame(proto ppp.Protocol, info []byte) error {
	c.mu.Lock()
	h := l2tp.Header{HasLength: true, TunnelID: c.ltid, SessionID: c.lsid}
	c.mu.Unlock()
	return c.tr.Send(l2tp.AppendData(nil, h, ppp.AppendFrame(nil, proto, info)))
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// lcpOptions is the client's LCP: a Magic-Number, and the LNS's
// Authentication-Protocol if it is CHAP with an algorithm we do.
type lcpOptions struct {
	auth   ppp.AuthProtocol // what we do; zero: MD5 or MS-CHAPv2
	magic  uint32
	chosen ppp.AuthProtocol // what we acked
	req    []ppp.Option
}

func (o *lcpOptions) ResetRequest() {
	o.req = []ppp.Option{{Type: ppp.LCPOptionMagicNumber, Data: binary.BigEndian.AppendUint32(nil, o.magic)}}
}
func (o *lcpOptions) MagicNumber() uint32           { return o.magic }
func (o *lcpOptions) AppendRequest(b []byte) []byte { return ppp.AppendOptions(b, o.req) }
func (o *lcpOptions) CheckRequest(opts []ppp.Option) (nak, rej []ppp.Option) {
	var chosen ppp.AuthProtocol
	for _, op := range opts {
		switch op.Type {
		case ppp.LCPOptionAuthProtocol:
			// RFC 1994, Section 3: 0xC223 and the algorithm.
			if len(op.Data) == 3 && op.Data[0] == 0xC2 && op.Data[1] == 0x23 {
				a := ppp.AuthProtocol(op.Data[2])
				if a == o.auth || (o.auth == 0 && (a == ppp.AuthCHAPMD5 || a == ppp.AuthMSCHAPv2)) {
					chosen = a
					continue
				}
			}
			want := o.auth
			if want == 0 {
				want = ppp.AuthMSCHAPv2
			}
			nak = append(nak, ppp.Option{Type: op.Type, Data: []byte{0xC2, 0x23, byte(want)}})
		case ppp.LCPOptionMagicNumber, ppp.LCPOptionMRU, ppp.LCPOptionACCM:
		default:
			rej = append(rej, op)
		}
	}
	if len(nak) == 0 && len(rej) == 0 {
		o.chosen = chosen
	}
	return nak, rej
}
func (o *lcpOptions) HandleNak([]ppp.Option) error { return nil }
func (o *lcpOptions) HandleReject(opts []ppp.Option) error {
	o.req = slices.DeleteFunc(o.req, func(r ppp.Option) bool {
		return slices.ContainsFunc(opts, func(x ppp.Option) bool { return x.Type == r.Type })
	})
	return nil
}

// ipcpOptions is the client's IPCP: it asks for an address and two DNS
// servers with 0.0.0.0 and takes what the LNS Naks.
type ipcpOptions struct {
	req    []ppp.Option
	server netip.Addr
}

func (o *ipcpOptions) ResetRequest() {
	if o.req != nil {
		return // keep what the Naks taught us
	}
	for _, typ := range []uint8{ppp.IPCPOptionIPAddress, ppp.IPCPOptionPrimaryDNS, ppp.IPCPOptionSecondaryDNS} {
		o.req = append(o.req, ppp.Option{Type: typ, Data: []byte{0, 0, 0, 0}})
	}
}
func (o *ipcpOptions) AppendRequest(b []byte) []byte { return ppp.AppendOptions(b, o.req) }
func (o *ipcpOptions) CheckRequest(opts []ppp.Option) (nak, rej []ppp.Option) {
	for _, op := range opts {
		if op.Type == ppp.IPCPOptionIPAddress && len(op.Data) == 4 {
			o.server = netip.AddrFrom4([4]byte(op.Data))
			continue
		}
		rej = append(rej, op)
	}
	return nil, rej
}
func (o *ipcpOptions) HandleNak(opts []ppp.Option) error {
	for _, n := range opts {
		for i := range o.req {
			if o.req[i].Type == n.Type && len(n.Data) == 4 {
				o.req[i].Data = slices.Clone(n.Data)
			}
		}
	}
	return nil
}
func (o *ipcpOptions) HandleReject(opts []ppp.Option) error {
	o.req = slices.DeleteFunc(o.req, func(r ppp.Option) bool {
		return slices.ContainsFunc(opts, func(x ppp.Option) bool { return x.Type == r.Type })
	})
	return nil
}

// get returns the value of an address option of our request.
func (o *ipcpOptions) get(typ uint8) netip.Addr {
	for _, op := range o.req {
		if op.Type == typ && len(op.Data) == 4 {
			return netip.AddrFrom4([4]byte(op.Data))
		}
	}
	return netip.Addr{}
}
