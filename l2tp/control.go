package l2tp

import "time"

// Retransmission defaults, RFC 2661, Section 5.8: the first timeout should
// be one second, doubling to a cap of eight seconds, and at least five
// retransmissions before the control connection is given up.
const (
	DefaultRetransmitInitial = time.Second
	DefaultRetransmitMax     = 8 * time.Second
	DefaultMaxRetransmits    = 5
	DefaultReceiveWindow     = 4
	DefaultHelloInterval     = 60 * time.Second
)

// seqBefore reports whether sequence number a comes before b in the
// 16-bit sequence space of RFC 2661, Section 5.8.
func seqBefore(a, b uint16) bool { return int16(a-b) < 0 }

// ctrlTiming holds the retransmission parameters of a control connection.
type ctrlTiming struct {
	initial, max time.Duration
	maxRetries   int
	rws          int // our receive window
	hello        time.Duration
}

// outMsg is a control message in the send queue.
type outMsg struct {
	ns   uint16
	sid  uint16 // Session ID for the header
	body []byte // the AVPs
}

// ctrlConn is the reliable delivery of RFC 2661, Section 5.8, for one
// control connection: sequence numbers, the sliding window, retransmission
// with exponential backoff, ZLB acknowledgments and HELLO keepalives. It
// produces datagrams through send and delivers in-order message bodies.
//
//	send -> pending -(window open)-> unacked -(Nr passes Ns)-> gone
//	                                   | timeout: retransmit all, double RTO
//	                                   | maxRetries exceeded: failed
type ctrlConn struct {
	t       *ctrlTiming
	peerTID uint16
	peerRWS int

	ns, nr   uint16 // next Ns to assign; next Ns expected from the peer
	unacked  []outMsg
	pending  []outMsg
	reorder  map[uint16][]byte
	needAck  bool
	retries  int
	rto      time.Duration
	deadline time.Time // retransmission
	lastRecv time.Time // for HELLO
	failed   bool

	out         func(pkt []byte)
	retransmits *uint64 // counter, may be nil
}

func newCtrlConn(t *ctrlTiming, peerTID uint16, peerRWS int, now time.Time, out func([]byte)) *ctrlConn {
	if peerRWS <= 0 {
		peerRWS = DefaultReceiveWindow
	}
	return &ctrlConn{t: t, peerTID: peerTID, peerRWS: peerRWS, rto: t.initial, lastRecv: now, out: out}
}

// send queues a message body (AVPs) for reliable delivery.
func (c *ctrlConn) send(sid uint16, body []byte, now time.Time) {
	c.pending = append(c.pending, outMsg{sid: sid, body: body})
	c.fill(now)
}

// fill moves pending messages into the peer's window and transmits them.
func (c *ctrlConn) fill(now time.Time) {
	for len(c.pending) > 0 && len(c.unacked) < c.peerRWS {
		m := c.pending[0]
		c.pending = c.pending[1:]
		m.ns = c.ns
		c.ns++
		c.unacked = append(c.unacked, m)
		c.transmit(&m)
		if c.deadline.IsZero() {
			c.rto = c.t.initial
			c.deadline = now.Add(c.rto)
		}
	}
}

func (c *ctrlConn) transmit(m *outMsg) {
	h := Header{Control: true, TunnelID: c.peerTID, SessionID: m.sid, Ns: m.ns, Nr: c.nr}
	pkt := append(AppendHeader(make([]byte, 0, ControlHeaderLen+len(m.body)), h, len(m.body)), m.body...)
	c.needAck = false
	c.out(pkt)
}

// ack processes the peer's Nr: every message with Ns before nr is
// acknowledged (RFC 2661, Section 5.8).
func (c *ctrlConn) ack(nr uint16, now time.Time) {
	if seqBefore(c.ns, nr) {
		return // acknowledges what we never sent
	}
	acked := false
	for len(c.unacked) > 0 && seqBefore(c.unacked[0].ns, nr) {
		c.unacked = c.unacked[1:]
		acked = true
	}
	if acked {
		c.retries = 0
		c.rto = c.t.initial
		c.deadline = time.Time{}
		if len(c.unacked) > 0 {
			c.deadline = now.Add(c.rto)
		}
	}
	c.fill(now)
}

// receive processes a control message with header h and body, and returns
// the bodies now deliverable in order. Duplicates are acknowledged and
// dropped; messages ahead of the expected one but inside our window are
// kept until the gap fills; others are dropped.
func (c *ctrlConn) receive(h *Header, body []byte, now time.Time) [][]byte {
	c.lastRecv = now
	c.ack(h.Nr, now)
	if len(body) == 0 {
		return nil // ZLB: its Ns is not consumed
	}
	d := int16(h.Ns - c.nr)
	switch {
	case d < 0:
		c.needAck = true // a retransmission whose ack was lost
		return nil
	case int(d) >= c.t.rws:
		return nil
	case d > 0:
		if c.reorder == nil {
			c.reorder = make(map[uint16][]byte)
		}
		if _, ok := c.reorder[h.Ns]; !ok {
			c.reorder[h.Ns] = append([]byte(nil), body...)
		}
		c.needAck = true
		return nil
	}
	msgs := [][]byte{body}
	c.nr++
	for {
		b, ok := c.reorder[c.nr]
		if !ok {
			break
		}
		delete(c.reorder, c.nr)
		msgs = append(msgs, b)
		c.nr++
	}
	c.needAck = true
	return msgs
}

// flushAck sends a ZLB if something received is still unacknowledged and
// nothing went out to carry the Nr (RFC 2661, Section 5.8).
func (c *ctrlConn) flushAck() {
	if !c.needAck {
		return
	}
	c.needAck = false
	c.out(AppendHeader(make([]byte, 0, ControlHeaderLen), Header{Control: true, TunnelID: c.peerTID, Ns: c.ns, Nr: c.nr}, 0))
}

// idle reports whether every message sent has been acknowledged.
func (c *ctrlConn) idle() bool { return len(c.unacked) == 0 && len(c.pending) == 0 }

// nextDeadline returns the retransmission deadline, or zero.
func (c *ctrlConn) nextDeadline() time.Time {
	if c.failed {
		return time.Time{}
	}
	return c.deadline
}

// helloDeadline returns when a HELLO is due, or zero when disabled.
func (c *ctrlConn) helloDeadline() time.Time {
	if c.t.hello <= 0 || c.failed {
		return time.Time{}
	}
	return c.lastRecv.Add(c.t.hello)
}

// handleTimeout retransmits every unacknowledged message when the timer
// expired, doubling the timeout up to its cap; after maxRetries
// retransmissions without progress the connection has failed.
func (c *ctrlConn) handleTimeout(now time.Time) {
	if c.failed || c.deadline.IsZero() || now.Before(c.deadline) {
		return
	}
	if c.retries >= c.t.maxRetries {
		c.failed = true
		c.deadline = time.Time{}
		return
	}
	c.retries++
	for i := range c.unacked {
		c.transmit(&c.unacked[i])
		if c.retransmits != nil {
			*c.retransmits++
		}
	}
	c.rto = min(2*c.rto, c.t.max)
	c.deadline = now.Add(c.rto)
}
