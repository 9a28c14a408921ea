package ppp

import (
	"bytes"
	"strconv"
	"time"
)

// State is a state of the option-negotiation automaton (RFC 1661,
// Section 4.2).
type State uint8

// The ten states of RFC 1661, Section 4.2, numbered as in the state
// transition table of Section 4.1.
const (
	StateInitial  State = 0 // lower layer down, no Open
	StateStarting State = 1 // lower layer down, Open: waiting for Up
	StateClosed   State = 2 // lower layer up, no Open
	StateStopped  State = 3 // lower layer up, waiting for the peer or Down
	StateClosing  State = 4 // Terminate-Request sent, then Closed
	StateStopping State = 5 // Terminate-Request sent, then Stopped
	StateReqSent  State = 6 // Configure-Request sent
	StateAckRcvd  State = 7 // Configure-Request sent and acked
	StateAckSent  State = 8 // Configure-Request sent, peer's acked
	StateOpened   State = 9 // both acked: the layer is up
)

var stateNames = [...]string{"Initial", "Starting", "Closed", "Stopped", "Closing",
	"Stopping", "Req-Sent", "Ack-Rcvd", "Ack-Sent", "Opened"}

// String returns the state's name from RFC 1661.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// event is an event of RFC 1661, Section 4.3, numbered as the rows of the
// state transition table.
type event uint8

const (
	evUp event = iota
	evDown
	evOpen
	evClose
	evTOPlus
	evTOMinus
	evRCRPlus
	evRCRMinus
	evRCA
	evRCN
	evRTR
	evRTA
	evRUC
	evRXJPlus
	evRXJMinus
	evRXR
	numEvents
)

var eventNames = [...]string{"Up", "Down", "Open", "Close", "TO+", "TO-", "RCR+",
	"RCR-", "RCA", "RCN", "RTR", "RTA", "RUC", "RXJ+", "RXJ-", "RXR"}

func (e event) String() string {
	if int(e) < len(eventNames) {
		return eventNames[e]
	}
	return "event(" + strconv.Itoa(int(e)) + ")"
}

// action is a set of the actions of RFC 1661, Section 4.4. They run in the
// order of the bits, which is the order the table lists them in every cell
// (tld first, tlu after sca).
type action uint16

const (
	aTLD action = 1 << iota // This-Layer-Down
	aTLS                    // This-Layer-Started
	aIRC                    // Initialize-Restart-Count
	aZRC                    // Zero-Restart-Count
	aSCR                    // Send-Configure-Request
	aSCA                    // Send-Configure-Ack
	aSCN                    // Send-Configure-Nak/Rej
	aSTR                    // Send-Terminate-Request
	aSTA                    // Send-Terminate-Ack
	aSCJ                    // Send-Code-Reject
	aSER                    // Send-Echo-Reply
	aTLU                    // This-Layer-Up
	aTLF                    // This-Layer-Finished
)

// cell is one entry of the state transition table: the actions and the next
// state. ok is false for the table's "-" (the event cannot happen or is
// ignored in that state).
type cell struct {
	act  action
	next State
	ok   bool
}

func c(act action, next State) cell { return cell{act, next, true} }

// fsmTable is the state transition table of RFC 1661, Section 4.1, row by
// event and column by state. The "r" (restart) option of Open is not
// implemented, "p" (passive) neither: the table's plain transitions apply.
// The crossed-connection "x" cells are the plain ones too.
var fsmTable = [numEvents][10]cell{
	//            0 Initial        1 Starting            2 Closed                3 Stopped                     4 Closing            5 Stopping           6 Req-Sent                 7 Ack-Rcvd                 8 Ack-Sent                 9 Opened
	evUp:       {c(0, 2), c(aIRC|aSCR, 6), {}, {}, {}, {}, {}, {}, {}, {}},
	evDown:     {{}, {}, c(0, 0), c(aTLS, 1), c(0, 0), c(0, 1), c(0, 1), c(0, 1), c(0, 1), c(aTLD, 1)},
	evOpen:     {c(aTLS, 1), c(0, 1), c(aIRC|aSCR, 6), c(0, 3), c(0, 5), c(0, 5), c(0, 6), c(0, 7), c(0, 8), c(0, 9)},
	evClose:    {c(0, 0), c(aTLF, 0), c(0, 2), c(0, 2), c(0, 4), c(0, 4), c(aIRC|aSTR, 4), c(aIRC|aSTR, 4), c(aIRC|aSTR, 4), c(aTLD|aIRC|aSTR, 4)},
	evTOPlus:   {{}, {}, {}, {}, c(aSTR, 4), c(aSTR, 5), c(aSCR, 6), c(aSCR, 6), c(aSCR, 8), {}},
	evTOMinus:  {{}, {}, {}, {}, c(aTLF, 2), c(aTLF, 3), c(aTLF, 3), c(aTLF, 3), c(aTLF, 3), {}},
	evRCRPlus:  {{}, {}, c(aSTA, 2), c(aIRC|aSCR|aSCA, 8), c(0, 4), c(0, 5), c(aSCA, 8), c(aSCA|aTLU, 9), c(aSCA, 8), c(aTLD|aSCR|aSCA, 8)},
	evRCRMinus: {{}, {}, c(aSTA, 2), c(aIRC|aSCR|aSCN, 6), c(0, 4), c(0, 5), c(aSCN, 6), c(aSCN, 7), c(aSCN, 6), c(aTLD|aSCR|aSCN, 6)},
	evRCA:      {{}, {}, c(aSTA, 2), c(aSTA, 3), c(0, 4), c(0, 5), c(aIRC, 7), c(aSCR, 6), c(aIRC|aTLU, 9), c(aTLD|aSCR, 6)},
	evRCN:      {{}, {}, c(aSTA, 2), c(aSTA, 3), c(0, 4), c(0, 5), c(aIRC|aSCR, 6), c(aSCR, 6), c(aIRC|aSCR, 8), c(aTLD|aSCR, 6)},
	evRTR:      {{}, {}, c(aSTA, 2), c(aSTA, 3), c(aSTA, 4), c(aSTA, 5), c(aSTA, 6), c(aSTA, 6), c(aSTA, 6), c(aTLD|aZRC|aSTA, 5)},
	evRTA:      {{}, {}, c(0, 2), c(0, 3), c(aTLF, 2), c(aTLF, 3), c(0, 6), c(0, 6), c(0, 8), c(aTLD|aSCR, 6)},
	evRUC:      {{}, {}, c(aSCJ, 2), c(aSCJ, 3), c(aSCJ, 4), c(aSCJ, 5), c(aSCJ, 6), c(aSCJ, 7), c(aSCJ, 8), c(aSCJ, 9)},
	evRXJPlus:  {{}, {}, c(0, 2), c(0, 3), c(0, 4), c(0, 5), c(0, 6), c(0, 6), c(0, 8), c(0, 9)},
	evRXJMinus: {{}, {}, c(aTLF, 2), c(aTLF, 3), c(aTLF, 2), c(aTLF, 3), c(aTLF, 3), c(aTLF, 3), c(aTLF, 3), c(aTLD|aIRC|aSTR, 5)},
	evRXR:      {{}, {}, c(0, 2), c(0, 3), c(0, 4), c(0, 5), c(0, 6), c(0, 7), c(0, 8), c(aSER, 9)},
}

// LayerEvent is what the automaton tells the layer above or below it: the
// This-Layer actions of RFC 1661, Section 4.4.
type LayerEvent uint8

// Layer events.
const (
	// LayerUp (tlu): the automaton entered Opened.
	LayerUp LayerEvent = iota + 1
	// LayerDown (tld): the automaton left Opened.
	LayerDown
	// LayerStarted (tls): the automaton needs the lower layer up.
	LayerStarted
	// LayerFinished (tlf): the automaton no longer needs the lower layer.
	LayerFinished
)

// String returns the RFC 1661 name of the event.
func (e LayerEvent) String() string {
	switch e {
	case LayerUp:
		return "This-Layer-Up"
	case LayerDown:
		return "This-Layer-Down"
	case LayerStarted:
		return "This-Layer-Started"
	case LayerFinished:
		return "This-Layer-Finished"
	}
	return "LayerEvent(" + strconv.Itoa(int(e)) + ")"
}

// OptionHandler is the per-protocol part of the automaton: LCP and IPCP
// implement it. The automaton calls it from the goroutine that drives the
// automaton.
type OptionHandler interface {
	// ResetRequest restores the options we want to request to their
	// configured values, before a new negotiation starts.
	ResetRequest()
	// AppendRequest appends the options of our Configure-Request to b.
	AppendRequest(b []byte) []byte
	// CheckRequest judges the peer's Configure-Request. It returns the
	// options to send in a Configure-Nak (with the values we want) and in
	// a Configure-Reject (as received); both empty means the request is
	// acknowledged, and the handler then takes the peer's values.
	CheckRequest(opts []Option) (nak, rej []Option)
	// HandleNak applies a Configure-Nak of our last request. An error
	// makes the automaton discard the packet.
	HandleNak(opts []Option) error
	// HandleReject applies a Configure-Reject of our last request; the
	// automaton has checked that every option was in that request.
	HandleReject(opts []Option) error
}

// AutomatonConfig holds the timer and counters of RFC 1661, Section 4.6.
// The zero value gives the RFC's defaults.
type AutomatonConfig struct {
	// Restart is the Restart timer; zero means 3 seconds.
	Restart time.Duration
	// MaxTerminate is the number of Terminate-Requests sent without
	// an Ack; zero means 2.
	MaxTerminate int
	// MaxConfigure is the number of Configure-Requests sent without an
	// answer; zero means 10.
	MaxConfigure int
	// MaxFailure is the number of Configure-Naks sent without a
	// Configure-Ack before Naks turn into Rejects; zero means 5.
	MaxFailure int
}

func (c AutomatonConfig) withDefaults() AutomatonConfig {
	if c.Restart <= 0 {
		c.Restart = 3 * time.Second
	}
	if c.MaxTerminate <= 0 {
		c.MaxTerminate = 2
	}
	if c.MaxConfigure <= 0 {
		c.MaxConfigure = 10
	}
	if c.MaxFailure <= 0 {
		c.MaxFailure = 5
	}
	return c
}

// Automaton is the option-negotiation automaton of RFC 1661, Section 4, for
// one control protocol (LCP or an NCP). It is sans-I/O: it takes events and
// the current time and queues the packets to send (NextPacket) and the layer
// events (NextEvent); the caller runs the Restart timer by calling
// HandleTimeout at NextDeadline. An Automaton is not safe for concurrent use.
type Automaton struct {
	proto Protocol
	opts  OptionHandler
	cfg   AutomatonConfig
	// lcp enables codes 8 to 13, which only LCP has (RFC 1661, Section 5;
	// RFC 1570, Section 1).
	lcp bool
	// magic returns our Magic-Number for Echo-Reply (LCP only).
	magic func() uint32

	state    State
	restart  int       // restart counter
	failures int       // Configure-Naks sent since the last Configure-Ack
	deadline time.Time // Restart timer; zero when stopped
	id       uint8     // last Identifier we used
	reqID    uint8     // Identifier of our last Configure-Request
	req      []byte    // Options of our last Configure-Request
	replied  bool      // a valid reply to reqID was received
	termID   uint8     // Identifier of our last Terminate-Request

	// The packet being handled, for sca, scn, sta, scj and ser.
	rx    Packet
	reply Packet // prepared Configure-Ack, -Nak or -Reject

	out    [][]byte
	events []LayerEvent
}

// MagicNumberer is an optional interface of an LCP OptionHandler: it gives
// the Magic-Number the automaton puts in Echo-Replies (RFC 1661, Section
// 5.8); without it the field is zero.
type MagicNumberer interface {
	MagicNumber() uint32
}

// NewAutomaton returns an automaton in the Initial state for protocol proto,
// with the protocol's option handling in opts. For ProtocolLCP the automaton
// also handles the LCP-only codes 8 to 13 (RFC 1661, Sections 5.7 to 5.9;
// RFC 1570, Section 1); for any other protocol they are unknown codes and
// Code-Rejected.
func NewAutomaton(proto Protocol, opts OptionHandler, cfg AutomatonConfig) *Automaton {
	a := &Automaton{proto: proto, opts: opts, cfg: cfg.withDefaults(), lcp: proto == ProtocolLCP}
	if m, ok := opts.(MagicNumberer); ok {
		a.magic = m.MagicNumber
	}
	return a
}

// Protocol returns the protocol the automaton negotiates.
func (a *Automaton) Protocol() Protocol { return a.proto }

// State returns the current state.
func (a *Automaton) State() State { return a.state }

// Up signals that the lower layer is up (event Up).
func (a *Automaton) Up(now time.Time) { a.step(evUp, now) }

// Down signals that the lower layer is down (event Down).
func (a *Automaton) Down(now time.Time) { a.step(evDown, now) }

// Open administratively opens the link (event Open).
func (a *Automaton) Open(now time.Time) { a.step(evOpen, now) }

// Close administratively closes the link (event Close).
func (a *Automaton) Close(now time.Time) { a.step(evClose, now) }

// NextDeadline returns when HandleTimeout must be called next: the expiry of
// the Restart timer, or the zero time when it is not running.
func (a *Automaton) NextDeadline() time.Time { return a.deadline }

// HandleTimeout runs the Restart timer: if it has expired at now, it raises
// TO+ or TO- (RFC 1661, Section 4.3). Calling it early does nothing.
func (a *Automaton) HandleTimeout(now time.Time) {
	if a.deadline.IsZero() || now.Before(a.deadline) {
		return
	}
	a.deadline = time.Time{}
	if a.restart > 0 {
		a.step(evTOPlus, now)
	} else {
		a.step(evTOMinus, now)
	}
}

// NextPacket returns the next queued packet to send, encoded from the Code
// field on (the caller adds the PPP header), and false when none is queued.
// The caller owns the returned slice.
func (a *Automaton) NextPacket() ([]byte, bool) {
	if len(a.out) == 0 {
		return nil, false
	}
	p := a.out[0]
	a.out[0] = nil
	a.out = a.out[1:]
	return p, true
}

// NextEvent returns the next queued layer event, and false when none is
// queued.
func (a *Automaton) NextEvent() (LayerEvent, bool) {
	if len(a.events) == 0 {
		return 0, false
	}
	e := a.events[0]
	a.events = a.events[1:]
	return e, true
}

// HandlePacket processes one received packet of the automaton's protocol
// (the Information field of the PPP frame). Malformed packets and replies
// that match no request are silently discarded as RFC 1661, Section 5,
// requires; the error says why. HandlePacket never panics.
func (a *Automaton) HandlePacket(b []byte, now time.Time) error {
	p, err := ParsePacket(b)
	if err != nil {
		return err
	}
	// RFC 1661, Section 4.2: in Initial and Starting the lower layer is
	// down; no packet can be received.
	if a.state == StateInitial || a.state == StateStarting {
		return errNotReady
	}
	a.rx = p
	defer func() { a.rx = Packet{} }()
	switch p.Code {
	case CodeConfigureRequest:
		return a.handleConfigureRequest(p, now)
	case CodeConfigureAck, CodeConfigureNak, CodeConfigureReject:
		ev := evRCA
		if p.Code != CodeConfigureAck {
			ev = evRCN
		}
		if !a.negotiating() {
			// Closed, Stopped, Closing, Stopping: the table answers any
			// reply (sta or nothing) without looking at it.
			a.step(ev, now)
			return nil
		}
		// RFC 1661, Section 5.1: after a valid reply the Identifier is
		// spent; a duplicate reply (to a retransmission) is stale.
		if p.Identifier != a.reqID || a.replied {
			return errUnexpectedReply
		}
		if p.Code == CodeConfigureAck {
			// RFC 1661, Section 5.2: the options must match exactly.
			if !bytes.Equal(p.Data, a.req) {
				return errUnexpectedReply
			}
			a.replied = true
			a.step(ev, now)
			return nil
		}
		opts, err := ParseOptions(p.Data)
		if err != nil {
			return err
		}
		if p.Code == CodeConfigureNak {
			err = a.opts.HandleNak(opts)
		} else {
			err = a.checkReject(opts)
			if err == nil {
				err = a.opts.HandleReject(opts)
			}
		}
		if err != nil {
			return err
		}
		a.replied = true
		a.step(ev, now)
	case CodeTerminateRequest:
		a.step(evRTR, now)
	case CodeTerminateAck:
		a.step(evRTA, now)
	case CodeCodeReject:
		// RFC 1661, Section 5.6: rejecting a code we need to negotiate is
		// catastrophic (RXJ-); any other is permitted (RXJ+).
		if len(p.Data) < 1 {
			return ErrShortPacket
		}
		if rc := Code(p.Data[0]); rc >= CodeConfigureRequest && rc <= CodeCodeReject {
			a.step(evRXJMinus, now)
		} else {
			a.step(evRXJPlus, now)
		}
	default:
		if !a.lcp || p.Code > CodeTimeRemaining {
			a.step(evRUC, now)
			return nil
		}
		return a.handleLCPExtra(p, now)
	}
	return nil
}

// handleLCPExtra handles LCP codes 8 to 13.
func (a *Automaton) handleLCPExtra(p Packet, now time.Time) error {
	switch p.Code {
	case CodeProtocolReject:
		if len(p.Data) < 2 {
			return ErrShortPacket
		}
		// RFC 1661, Section 5.7: a rejected LCP is catastrophic; other
		// protocols are the Session's business.
		if Protocol(p.Data[0])<<8|Protocol(p.Data[1]) == ProtocolLCP {
			a.step(evRXJMinus, now)
		} else {
			a.step(evRXJPlus, now)
		}
	default:
		// Echo-Request, Echo-Reply and Discard-Request carry a Magic-Number
		// (RFC 1661, Sections 5.8 and 5.9), and so do Identification and
		// Time-Remaining (RFC 1570, Section 1), which Windows sends and
		// which ask for no answer: all are RXR.
		if len(p.Data) < 4 {
			return ErrShortPacket
		}
		a.step(evRXR, now)
	}
	return nil
}

var (
	errNotReady        = &AutomatonError{Reason: "packet received while the lower layer is down"}
	errUnexpectedReply = &AutomatonError{Reason: "reply does not match our Configure-Request"}
	errBadReject       = &AutomatonError{Reason: "Configure-Reject of an option we did not request"}
)

// AutomatonError reports a packet the automaton discarded for a reason
// other than its encoding.
type AutomatonError struct{ Reason string }

func (e *AutomatonError) Error() string { return "ppp: " + e.Reason }

func (a *Automaton) negotiating() bool {
	switch a.state {
	case StateReqSent, StateAckRcvd, StateAckSent, StateOpened:
		return true
	}
	return false
}

// checkReject enforces RFC 1661, Section 5.4: the rejected options must
// appear, with the same values, in our Configure-Request.
func (a *Automaton) checkReject(rej []Option) error {
	ours, err := ParseOptions(a.req)
	if err != nil {
		return err
	}
	for _, r := range rej {
		found := false
		for _, o := range ours {
			if o.Type == r.Type && bytes.Equal(o.Data, r.Data) {
				found = true
				break
			}
		}
		if !found {
			return errBadReject
		}
	}
	return nil
}

func (a *Automaton) handleConfigureRequest(p Packet, now time.Time) error {
	opts, err := ParseOptions(p.Data)
	if err != nil {
		return err
	}
	// Only judge the request when the table acts on it: in Closed, Closing
	// and Stopping the handler must not take the peer's values.
	switch a.state {
	case StateClosed:
		a.step(evRCRPlus, now) // sta/2 either way
		return nil
	case StateClosing, StateStopping:
		a.step(evRCRPlus, now) // no action either way
		return nil
	}
	nak, rej := a.opts.CheckRequest(opts)
	if len(rej) == 0 && len(nak) > 0 && a.failures >= a.cfg.MaxFailure {
		// RFC 1661, Section 4.6, Max-Failure: Naks for options the peer
		// requested become Rejects. A Nak that only suggests options the
		// peer did not request has nothing to reject and stays a Nak.
		for _, n := range nak {
			for _, o := range opts {
				if o.Type == n.Type {
					rej = append(rej, o)
					break
				}
			}
		}
	}
	switch {
	case len(rej) > 0:
		a.reply = Packet{Code: CodeConfigureReject, Identifier: p.Identifier, Data: AppendOptions(nil, rej)}
		a.step(evRCRMinus, now)
	case len(nak) > 0:
		a.reply = Packet{Code: CodeConfigureNak, Identifier: p.Identifier, Data: AppendOptions(nil, nak)}
		a.step(evRCRMinus, now)
	default:
		a.reply = Packet{Code: CodeConfigureAck, Identifier: p.Identifier, Data: append([]byte(nil), p.Data...)}
		a.step(evRCRPlus, now)
	}
	a.reply = Packet{}
	return nil
}

// step runs one event through the state transition table.
func (a *Automaton) step(ev event, now time.Time) {
	cl := fsmTable[ev][a.state]
	if !cl.ok {
		return
	}
	prev := a.state
	act := cl.act
	if act&aTLD != 0 {
		a.events = append(a.events, LayerDown)
	}
	if act&aTLS != 0 {
		a.events = append(a.events, LayerStarted)
	}
	if act&aIRC != 0 {
		// RFC 1661, Section 4.4: Max-Terminate before str, else
		// Max-Configure.
		if act&aSTR != 0 {
			a.restart = a.cfg.MaxTerminate
		} else {
			a.restart = a.cfg.MaxConfigure
			a.failures = 0
		}
	}
	if act&aZRC != 0 {
		a.restart = 0
		a.deadline = now.Add(a.cfg.Restart)
	}
	if act&aSCR != 0 {
		a.sendConfigureRequest(ev == evTOPlus, prev, now)
	}
	if act&(aSCA|aSCN) != 0 && a.reply.Code != 0 {
		if act&aSCA != 0 {
			a.failures = 0
		} else if a.reply.Code == CodeConfigureNak {
			a.failures++
		}
		a.send(a.reply)
	}
	if act&aSTR != 0 {
		if ev != evTOPlus {
			a.id++
			a.termID = a.id
		}
		a.restart--
		a.deadline = now.Add(a.cfg.Restart)
		a.send(Packet{Code: CodeTerminateRequest, Identifier: a.termID})
	}
	if act&aSTA != 0 {
		a.send(Packet{Code: CodeTerminateAck, Identifier: a.rx.Identifier})
	}
	if act&aSCJ != 0 {
		a.sendCodeReject()
	}
	if act&aSER != 0 && a.rx.Code == CodeEchoRequest {
		// RFC 1661, Section 5.8: Echo-Reply carries our Magic-Number
		// and the request's data.
		var m uint32
		if a.magic != nil {
			m = a.magic()
		}
		d := make([]byte, 4, len(a.rx.Data))
		d[0], d[1], d[2], d[3] = byte(m>>24), byte(m>>16), byte(m>>8), byte(m)
		d = append(d, a.rx.Data[4:]...)
		a.send(Packet{Code: CodeEchoReply, Identifier: a.rx.Identifier, Data: d})
	}
	if act&aTLU != 0 {
		a.events = append(a.events, LayerUp)
	}
	if act&aTLF != 0 {
		a.events = append(a.events, LayerFinished)
	}
	a.state = cl.next
	// RFC 1661, Section 4.6: the Restart timer runs only in Closing,
	// Stopping, Req-Sent, Ack-Rcvd and Ack-Sent.
	switch a.state {
	case StateClosing, StateStopping, StateReqSent, StateAckRcvd, StateAckSent:
	default:
		a.deadline = time.Time{}
	}
}

func (a *Automaton) sendConfigureRequest(retransmit bool, prev State, now time.Time) {
	// RFC 1661, Section 5.1: the Identifier changes when the options do
	// and after a valid reply; a plain retransmission keeps it.
	if !retransmit || a.req == nil || a.replied {
		switch prev {
		case StateStarting, StateClosed, StateStopped:
			a.opts.ResetRequest()
		}
		a.id++
		a.reqID = a.id
		a.req = a.opts.AppendRequest(make([]byte, 0, 32))
		a.replied = false
	}
	a.restart--
	a.deadline = now.Add(a.cfg.Restart)
	a.send(Packet{Code: CodeConfigureRequest, Identifier: a.reqID, Data: a.req})
}

// sendCodeReject sends the received packet back in a Code-Reject (RFC 1661,
// Section 5.6), truncated to the default MRU.
func (a *Automaton) sendCodeReject() {
	a.id++
	rej := a.rx.Append(nil)
	if max := 1500 - PacketHeaderLen; len(rej) > max {
		rej = rej[:max]
	}
	a.send(Packet{Code: CodeCodeReject, Identifier: a.id, Data: rej})
}

// SendProtocolReject queues an LCP Protocol-Reject (RFC 1661, Section 5.7)
// of a received frame of protocol proto with Information info, truncated so
// the packet fits mru (at least 64). It sends nothing unless the automaton
// is LCP's and Opened, as the RFC requires.
func (a *Automaton) SendProtocolReject(proto Protocol, info []byte, mru int) {
	if !a.lcp || a.state != StateOpened {
		return
	}
	if mru < 64 {
		mru = 64
	}
	a.id++
	d := make([]byte, 2, 2+len(info))
	d[0], d[1] = byte(proto>>8), byte(proto)
	d = append(d, info...)
	if max := mru - PacketHeaderLen; len(d) > max {
		d = d[:max]
	}
	a.send(Packet{Code: CodeProtocolReject, Identifier: a.id, Data: d})
}

// sendNew queues a packet with a new Identifier (Echo-Request) and returns
// that Identifier.
func (a *Automaton) sendNew(code Code, data []byte) uint8 {
	a.id++
	a.send(Packet{Code: code, Identifier: a.id, Data: data})
	return a.id
}

func (a *Automaton) send(p Packet) {
	a.out = append(a.out, p.Append(make([]byte, 0, PacketHeaderLen+len(p.Data))))
}
