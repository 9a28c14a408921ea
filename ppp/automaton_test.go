package ppp

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rfc1661Table is the state transition table of RFC 1661, Section 4.1,
// typed from the RFC's two half tables into one. Trailing letters are the
// RFC's footnotes (r: restart option, p: passive option, x: crossed
// connection); they do not change the transition.
const rfc1661Table = `
      |    0         1         2         3         4         5         6         7         8           9
Events| Initial   Starting  Closed    Stopped   Closing   Stopping  Req-Sent  Ack-Rcvd  Ack-Sent    Opened
 Up   |    2     irc,scr/6     -         -         -         -         -         -         -           -
 Down |    -         -         0       tls/1       0         1         1         1         1         tld/1
 Open |  tls/1       1     irc,scr/6     3r        5r        5r        6         7         8           9r
 Close|    0       tlf/0       2         2         4         4     irc,str/4 irc,str/4 irc,str/4 tld,irc,str/4
  TO+ |    -         -         -         -       str/4     str/5     scr/6     scr/6     scr/8         -
  TO- |    -         -         -         -       tlf/2     tlf/3     tlf/3p    tlf/3p    tlf/3p        -
 RCR+ |    -         -       sta/2 irc,scr,sca/8   4         5       sca/8   sca,tlu/9   sca/8   tld,scr,sca/8
 RCR- |    -         -       sta/2 irc,scr,scn/6   4         5       scn/6     scn/7     scn/6   tld,scr,scn/6
 RCA  |    -         -       sta/2     sta/3       4         5       irc/7     scr/6x  irc,tlu/9   tld,scr/6x
 RCN  |    -         -       sta/2     sta/3       4         5     irc,scr/6   scr/6x  irc,scr/8   tld,scr/6x
 RTR  |    -         -       sta/2     sta/3     sta/4     sta/5     sta/6     sta/6     sta/6   tld,zrc,sta/5
 RTA  |    -         -         2         3       tlf/2     tlf/3       6         6         8       tld,scr/6
 RUC  |    -         -       scj/2     scj/3     scj/4     scj/5     scj/6     scj/7     scj/8       scj/9
 RXJ+ |    -         -         2         3         4         5         6         6         8           9
 RXJ- |    -         -       tlf/2     tlf/3     tlf/2     tlf/3     tlf/3     tlf/3     tlf/3   tld,irc,str/5
 RXR  |    -         -         2         3         4         5         6         7         8         ser/9
`

type tableCell struct {
	actions []string
	next    State
}

// parseRFCTable returns the cells by event name and state; nil for "-".
func parseRFCTable(t *testing.T) map[string][10]*tableCell {
	t.Helper()
	out := map[string][10]*tableCell{}
	for _, line := range strings.Split(rfc1661Table, "\n") {
		ev, rest, ok := strings.Cut(line, "|")
		ev = strings.TrimSpace(ev)
		if !ok || ev == "" || ev == "Events" {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 10 {
			t.Fatalf("row %q has %d cells", ev, len(fields))
		}
		var row [10]*tableCell
		for i, f := range fields {
			if f == "-" {
				continue
			}
			acts, st, found := strings.Cut(f, "/")
			if !found {
				acts, st = "", f
			}
			st = strings.TrimRight(st, "rpx")
			n, err := strconv.Atoi(st)
			if err != nil {
				t.Fatalf("cell %q: %v", f, err)
			}
			cl := &tableCell{next: State(n)}
			if acts != "" {
				cl.actions = strings.Split(acts, ",")
			}
			row[i] = cl
		}
		out[ev] = row
	}
	if len(out) != 16 {
		t.Fatalf("parsed %d rows, want 16", len(out))
	}
	return out
}

// fakeOpts is an OptionHandler for automaton tests: it requests req, rejects
// peer options of type 99, Naks type 98 with 0x01, acks the rest.
type fakeOpts struct {
	req     []Option
	naks    int
	rejects int
	resets  int
}

func (f *fakeOpts) ResetRequest()                 { f.resets++ }
func (f *fakeOpts) AppendRequest(b []byte) []byte { return AppendOptions(b, f.req) }
func (f *fakeOpts) CheckRequest(opts []Option) (nak, rej []Option) {
	for _, o := range opts {
		switch o.Type {
		case 99:
			rej = append(rej, o)
		case 98:
			nak = append(nak, Option{Type: 98, Data: []byte{1}})
		}
	}
	return nak, rej
}
func (f *fakeOpts) HandleNak(opts []Option) error { f.naks++; return nil }
func (f *fakeOpts) HandleReject(opts []Option) error {
	f.rejects++
	f.req = slices.DeleteFunc(f.req, func(o Option) bool {
		return slices.ContainsFunc(opts, func(r Option) bool { return r.Type == o.Type })
	})
	return nil
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// drain returns the codes of the queued packets and the layer events.
func drain(a *Automaton) (codes []Code, pkts []Packet, evs []LayerEvent) {
	for {
		b, ok := a.NextPacket()
		if !ok {
			break
		}
		p, err := ParsePacket(b)
		if err != nil {
			panic(err)
		}
		codes = append(codes, p.Code)
		pkts = append(pkts, p)
	}
	for {
		e, ok := a.NextEvent()
		if !ok {
			break
		}
		evs = append(evs, e)
	}
	return codes, pkts, evs
}

// TestTransitionTable drives every cell of RFC 1661's table: it puts an
// automaton in each state, raises each event by calling a method or by
// feeding a packet, and checks the next state, the packets sent, the layer
// events and the restart counter against the RFC's text.
func TestTransitionTable(t *testing.T) {
	table := parseRFCTable(t)
	cfg := AutomatonConfig{Restart: time.Second, MaxTerminate: 2, MaxConfigure: 10, MaxFailure: 5}
	ourReq := []Option{{Type: 1, Data: []byte{5, 0xDC}}}
	for _, evName := range eventNames {
		row := table[evName]
		for st := StateInitial; st <= StateOpened; st++ {
			t.Run(evName+"/"+st.String(), func(t *testing.T) {
				f := &fakeOpts{req: ourReq}
				a := NewAutomaton(ProtocolLCP, f, cfg)
				a.magic = func() uint32 { return 0x01020304 }
				a.state = st
				a.id = 7
				a.reqID = 7
				a.req = AppendOptions(nil, ourReq)
				a.restart = 5
				a.deadline = t0
				pkt := func(code Code, id uint8, data []byte) {
					_ = a.HandlePacket(Packet{Code: code, Identifier: id, Data: data}.Append(nil), t0)
				}
				switch evName {
				case "Up":
					a.Up(t0)
				case "Down":
					a.Down(t0)
				case "Open":
					a.Open(t0)
				case "Close":
					a.Close(t0)
				case "TO+":
					a.HandleTimeout(t0)
				case "TO-":
					a.restart = 0
					a.HandleTimeout(t0)
				case "RCR+":
					pkt(CodeConfigureRequest, 40, AppendOptions(nil, []Option{{Type: 7}}))
				case "RCR-":
					pkt(CodeConfigureRequest, 40, AppendOptions(nil, []Option{{Type: 99}}))
				case "RCA":
					pkt(CodeConfigureAck, 7, a.req)
				case "RCN":
					pkt(CodeConfigureNak, 7, AppendOptions(nil, []Option{{Type: 1, Data: []byte{5, 0xD0}}}))
				case "RTR":
					pkt(CodeTerminateRequest, 41, nil)
				case "RTA":
					pkt(CodeTerminateAck, 41, nil)
				case "RUC":
					pkt(Code(42), 41, nil)
				case "RXJ+":
					pkt(CodeCodeReject, 41, Packet{Code: CodeDiscardRequest, Identifier: 1, Data: []byte{0, 0, 0, 0}}.Append(nil))
				case "RXJ-":
					pkt(CodeCodeReject, 41, Packet{Code: CodeConfigureRequest, Identifier: 1}.Append(nil))
				case "RXR":
					pkt(CodeEchoRequest, 41, []byte{9, 9, 9, 9, 0xAB})
				default:
					t.Fatalf("no driver for %s", evName)
				}
				codes, pkts, evs := drain(a)
				cell := row[st]
				if cell == nil {
					// "-": nothing may happen.
					if a.state != st || len(codes) != 0 || len(evs) != 0 {
						t.Fatalf("impossible event changed something: state %v, sent %v, events %v", a.state, codes, evs)
					}
					return
				}
				if a.state != cell.next {
					t.Errorf("state = %v, want %v", a.state, cell.next)
				}
				var wantCodes []Code
				var wantEvs []LayerEvent
				restart := 5
				if evName == "TO-" {
					restart = 0
				}
				for _, act := range cell.actions {
					switch act {
					case "tlu":
						wantEvs = append(wantEvs, LayerUp)
					case "tld":
						wantEvs = append(wantEvs, LayerDown)
					case "tls":
						wantEvs = append(wantEvs, LayerStarted)
					case "tlf":
						wantEvs = append(wantEvs, LayerFinished)
					case "irc":
						if slices.Contains(cell.actions, "str") {
							restart = cfg.MaxTerminate
						} else {
							restart = cfg.MaxConfigure
						}
					case "zrc":
						restart = 0
					case "scr":
						wantCodes = append(wantCodes, CodeConfigureRequest)
						restart--
					case "str":
						wantCodes = append(wantCodes, CodeTerminateRequest)
						restart--
					case "sca":
						wantCodes = append(wantCodes, CodeConfigureAck)
					case "scn":
						wantCodes = append(wantCodes, CodeConfigureReject)
					case "sta":
						wantCodes = append(wantCodes, CodeTerminateAck)
					case "scj":
						wantCodes = append(wantCodes, CodeCodeReject)
					case "ser":
						wantCodes = append(wantCodes, CodeEchoReply)
					default:
						t.Fatalf("unknown action %q", act)
					}
				}
				if !slices.Equal(codes, wantCodes) {
					t.Errorf("sent %v, want %v", codes, wantCodes)
				}
				if !slices.Equal(evs, wantEvs) {
					t.Errorf("events %v, want %v", evs, wantEvs)
				}
				if a.restart != restart {
					t.Errorf("restart counter = %d, want %d", a.restart, restart)
				}
				// The Restart timer runs exactly in states 4 to 8
				// (RFC 1661, Section 4.6).
				running := a.state >= StateClosing && a.state <= StateAckSent
				if running == a.NextDeadline().IsZero() {
					t.Errorf("timer running = %v in %v", !a.NextDeadline().IsZero(), a.state)
				}
				for _, p := range pkts {
					switch p.Code {
					case CodeEchoReply:
						// RFC 1661, Section 5.8: our magic, then the data.
						if p.Identifier != 41 || string(p.Data) != "\x01\x02\x03\x04\xAB" {
							t.Errorf("Echo-Reply %+v", p)
						}
					case CodeConfigureAck:
						if p.Identifier != 40 || string(p.Data) != "\x07\x02" {
							t.Errorf("Configure-Ack %+v", p)
						}
					case CodeTerminateAck:
						// The Identifier of the packet that caused it.
						if p.Identifier != 40 && p.Identifier != 41 && p.Identifier != 7 {
							t.Errorf("Terminate-Ack id %d", p.Identifier)
						}
					}
				}
			})
		}
	}
}

// pair connects two automatons through the codec, with a switch to lose
// packets.
type pair struct {
	a, b       *Automaton
	fa, fb     *fakeOpts
	now        time.Time
	lose       func(from string, p Packet) bool
	evA, evB   []LayerEvent
	sentA      []Packet
	sentB      []Packet
	deliveries int
}

func newPair(t *testing.T, cfg AutomatonConfig) *pair {
	t.Helper()
	p := &pair{now: t0}
	p.fa = &fakeOpts{req: []Option{{Type: 1, Data: []byte{5, 0xDC}}, {Type: 5, Data: []byte{1, 2, 3, 4}}}}
	p.fb = &fakeOpts{req: []Option{{Type: 5, Data: []byte{5, 6, 7, 8}}}}
	p.a = NewAutomaton(ProtocolIPCP, p.fa, cfg)
	p.b = NewAutomaton(ProtocolIPCP, p.fb, cfg)
	return p
}

// run shuttles packets until both sides are quiet.
func (p *pair) run(t *testing.T) {
	t.Helper()
	for range 1000 {
		moved := false
		for _, dir := range []struct {
			name     string
			from, to *Automaton
			sent     *[]Packet
		}{{"a", p.a, p.b, &p.sentA}, {"b", p.b, p.a, &p.sentB}} {
			for {
				b, ok := dir.from.NextPacket()
				if !ok {
					break
				}
				moved = true
				pk, err := ParsePacket(b)
				if err != nil {
					t.Fatalf("%s sent a bad packet: %v", dir.name, err)
				}
				*dir.sent = append(*dir.sent, pk)
				if p.lose != nil && p.lose(dir.name, pk) {
					continue
				}
				p.deliveries++
				_ = dir.to.HandlePacket(b, p.now)
			}
		}
		for {
			e, ok := p.a.NextEvent()
			if !ok {
				break
			}
			p.evA = append(p.evA, e)
		}
		for {
			e, ok := p.b.NextEvent()
			if !ok {
				break
			}
			p.evB = append(p.evB, e)
		}
		if !moved {
			return
		}
	}
	t.Fatal("packets never stopped flowing")
}

// advance moves the clock to the earliest deadline and fires the timers.
func (p *pair) advance(t *testing.T) bool {
	t.Helper()
	d := earliest(p.a.NextDeadline(), p.b.NextDeadline())
	if d.IsZero() {
		return false
	}
	p.now = d
	p.a.HandleTimeout(p.now)
	p.b.HandleTimeout(p.now)
	p.run(t)
	return true
}

func TestAutomatonNegotiation(t *testing.T) {
	p := newPair(t, AutomatonConfig{})
	p.a.Up(p.now)
	p.a.Open(p.now)
	p.b.Up(p.now)
	p.b.Open(p.now)
	p.run(t)
	if p.a.State() != StateOpened || p.b.State() != StateOpened {
		t.Fatalf("states %v, %v; want Opened", p.a.State(), p.b.State())
	}
	if !slices.Equal(p.evA, []LayerEvent{LayerUp}) || !slices.Equal(p.evB, []LayerEvent{LayerUp}) {
		t.Fatalf("events %v, %v", p.evA, p.evB)
	}
	if !p.a.NextDeadline().IsZero() || !p.b.NextDeadline().IsZero() {
		t.Error("Restart timer still running in Opened")
	}

	// Terminate handshake: a closes, b acks and stops; a finishes.
	p.a.Close(p.now)
	p.run(t)
	if p.a.State() != StateClosed {
		t.Errorf("a = %v, want Closed", p.a.State())
	}
	if p.b.State() != StateStopping {
		t.Errorf("b = %v, want Stopping", p.b.State())
	}
	// b waits one Restart period (zrc) before finishing.
	if !p.advance(t) {
		t.Fatal("no timer after Terminate")
	}
	if p.b.State() != StateStopped {
		t.Errorf("b = %v, want Stopped", p.b.State())
	}
	if !slices.Equal(p.evA, []LayerEvent{LayerUp, LayerDown, LayerFinished}) {
		t.Errorf("a events %v", p.evA)
	}
	if !slices.Equal(p.evB, []LayerEvent{LayerUp, LayerDown, LayerFinished}) {
		t.Errorf("b events %v", p.evB)
	}
}

func TestAutomatonNakRejectConverge(t *testing.T) {
	p := newPair(t, AutomatonConfig{})
	// a requests type 99, which b rejects, and type 98, which b Naks; a
	// takes the Nak without changing its request, so after Max-Failure
	// Naks b turns the Nak into a Reject and both converge.
	p.fa.req = append(p.fa.req, Option{Type: 99, Data: []byte{1}}, Option{Type: 98, Data: []byte{2}})
	p.a.Up(p.now)
	p.a.Open(p.now)
	p.b.Up(p.now)
	p.b.Open(p.now)
	p.run(t)
	if p.a.State() != StateOpened || p.b.State() != StateOpened {
		t.Fatalf("states %v, %v; want Opened", p.a.State(), p.b.State())
	}
	if p.fa.naks != 5 {
		t.Errorf("a saw %d Naks, want Max-Failure = 5", p.fa.naks)
	}
	if p.fa.rejects != 2 {
		t.Errorf("a saw %d Rejects, want 2", p.fa.rejects)
	}
}

func TestAutomatonLossAndRetransmission(t *testing.T) {
	p := newPair(t, AutomatonConfig{Restart: 2 * time.Second})
	lost := 0
	// Lose the first two packets in each direction.
	p.lose = func(from string, _ Packet) bool {
		if lost < 4 {
			lost++
			return true
		}
		return false
	}
	p.a.Up(p.now)
	p.a.Open(p.now)
	p.b.Up(p.now)
	p.b.Open(p.now)
	p.run(t)
	for i := 0; i < 5 && (p.a.State() != StateOpened || p.b.State() != StateOpened); i++ {
		p.advance(t)
	}
	if p.a.State() != StateOpened || p.b.State() != StateOpened {
		t.Fatalf("states %v, %v; want Opened", p.a.State(), p.b.State())
	}
	if got := p.now.Sub(t0); got != 2*time.Second && got != 4*time.Second {
		t.Errorf("opened after %v, want a multiple of the 2 s Restart timer", got)
	}
	// Retransmitted Configure-Requests keep their Identifier and options.
	var reqs []Packet
	for _, pk := range p.sentA {
		if pk.Code == CodeConfigureRequest {
			reqs = append(reqs, pk)
		}
	}
	if len(reqs) < 2 || reqs[0].Identifier != reqs[1].Identifier || string(reqs[0].Data) != string(reqs[1].Data) {
		t.Errorf("retransmission changed the request: %+v", reqs)
	}
}

func TestAutomatonMaxConfigure(t *testing.T) {
	p := newPair(t, AutomatonConfig{})
	p.lose = func(string, Packet) bool { return true } // a dead peer
	p.a.Up(p.now)
	p.a.Open(p.now)
	p.run(t)
	for p.advance(t) {
	}
	if p.a.State() != StateStopped {
		t.Fatalf("a = %v, want Stopped", p.a.State())
	}
	n := 0
	for _, pk := range p.sentA {
		if pk.Code == CodeConfigureRequest {
			n++
		}
	}
	if n != 10 {
		t.Errorf("sent %d Configure-Requests, want Max-Configure = 10", n)
	}
	if got := p.now.Sub(t0); got != 30*time.Second {
		t.Errorf("gave up after %v, want 10 x 3 s", got)
	}
	if !slices.Equal(p.evA, []LayerEvent{LayerFinished}) {
		t.Errorf("events %v, want tlf", p.evA)
	}
}

func TestAutomatonMaxTerminate(t *testing.T) {
	p := newPair(t, AutomatonConfig{})
	p.a.Up(p.now)
	p.a.Open(p.now)
	p.b.Up(p.now)
	p.b.Open(p.now)
	p.run(t)
	p.lose = func(string, Packet) bool { return true }
	p.a.Close(p.now)
	p.run(t)
	for p.advance(t) {
	}
	n := 0
	for _, pk := range p.sentA {
		if pk.Code == CodeTerminateRequest {
			n++
		}
	}
	if n != 2 || p.a.State() != StateClosed {
		t.Errorf("sent %d Terminate-Requests and ended %v; want 2 and Closed", n, p.a.State())
	}
}

func TestAutomatonDiscardsStrayReplies(t *testing.T) {
	f := &fakeOpts{req: []Option{{Type: 1, Data: []byte{5, 0xDC}}}}
	a := NewAutomaton(ProtocolIPCP, f, AutomatonConfig{})
	a.Up(t0)
	a.Open(t0)
	codes, pkts, _ := drain(a)
	if !slices.Equal(codes, []Code{CodeConfigureRequest}) {
		t.Fatalf("sent %v", codes)
	}
	req := pkts[0]
	for _, bad := range []Packet{
		{Code: CodeConfigureAck, Identifier: req.Identifier + 1, Data: req.Data}, // wrong id
		{Code: CodeConfigureAck, Identifier: req.Identifier, Data: []byte{1, 4, 5, 0}},
		{Code: CodeConfigureReject, Identifier: req.Identifier, Data: []byte{9, 2}}, // not requested
		{Code: CodeConfigureNak, Identifier: req.Identifier, Data: []byte{9}},       // malformed
	} {
		if err := a.HandlePacket(bad.Append(nil), t0); err == nil {
			t.Errorf("%v accepted", bad)
		}
		if a.State() != StateReqSent {
			t.Fatalf("state %v after %v", a.State(), bad)
		}
	}
	// NCPs have no Echo: code 9 is unknown to IPCP and Code-Rejected.
	_ = a.HandlePacket(Packet{Code: CodeEchoRequest, Identifier: 3, Data: []byte{0, 0, 0, 0}}.Append(nil), t0)
	if codes, _, _ := drain(a); !slices.Equal(codes, []Code{CodeCodeReject}) {
		t.Errorf("IPCP Echo-Request answered with %v, want Code-Reject", codes)
	}
}

// TestAutomatonDuplicateAck: both copies of a retransmitted request get
// acked; the second Ack is stale (RFC 1661, Section 5.1) and must not send
// the automaton from Ack-Rcvd back to Req-Sent (scr/6x).
func TestAutomatonDuplicateAck(t *testing.T) {
	f := &fakeOpts{req: []Option{{Type: 1, Data: []byte{5, 0xDC}}}}
	a := NewAutomaton(ProtocolIPCP, f, AutomatonConfig{})
	a.Up(t0)
	a.Open(t0)
	a.HandleTimeout(t0.Add(3 * time.Second))
	_, pkts, _ := drain(a)
	if len(pkts) != 2 || pkts[0].Identifier != pkts[1].Identifier {
		t.Fatalf("sent %+v, want a request and its retransmission", pkts)
	}
	ack := Packet{Code: CodeConfigureAck, Identifier: pkts[0].Identifier, Data: pkts[0].Data}.Append(nil)
	if err := a.HandlePacket(ack, t0); err != nil || a.State() != StateAckRcvd {
		t.Fatalf("first Ack: %v, state %v", err, a.State())
	}
	if err := a.HandlePacket(ack, t0); err == nil || a.State() != StateAckRcvd {
		t.Fatalf("second Ack: %v, state %v", err, a.State())
	}
	// A timeout in Ack-Rcvd sends a request with a new Identifier.
	a.HandleTimeout(t0.Add(6 * time.Second))
	_, pkts2, _ := drain(a)
	if len(pkts2) != 1 || pkts2[0].Identifier == pkts[0].Identifier {
		t.Errorf("after a reply the Identifier must change: %+v", pkts2)
	}
}
