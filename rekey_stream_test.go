package ikego

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/esp/esptest"
	"github.com/ikego/ikego/ike"
	"github.com/ikego/ikego/ike/wire"
	"github.com/ikego/ikego/internal/leakcheck"
	"github.com/ikego/ikego/pki"
	"github.com/ikego/ikego/tun/tuntest"
)

// The proof of issue "IKEv2 lifecycle" that rekeying loses nothing: two
// Gateways with their IKE daemons over an in-memory network stream
// numbered UDP datagrams both ways while the CHILD_SA and the IKE SA are
// rekeyed again and again, from either end; every datagram must arrive
// exactly once.
//
// The delete exchange that ends a rekeyed CHILD_SA overtakes the ESP
// packets its sender sealed with the old SA just before it switched (they
// are still in its engine's pipeline, or on the network), up to a whole
// window of them. The receiver's old inbound SA therefore outlives the
// delete (Engine.RetireSA, strongSwan's delete_rekeyed_delay); without that
// they were lost as UnknownSPI in every run. The network filter counts
// them, and lists the IKE messages and events for a failure's report.

const (
	// streamWindow bounds the datagrams of one direction in flight: well
	// below the queues on the way (tuntest.Channel's 1024, esptest's
	// QueueLen), so that the stream itself never overflows them.
	streamWindow = 256
	// streamBatch is how many datagrams the sender queues at once.
	streamBatch = 32
	// streamMax bounds a stream's length (the size of its record).
	streamMax = 1 << 20
	// streamPayload is the size of a datagram's payload: the sequence
	// number and padding.
	streamPayload = 64
)

// streamCycles is how many times the four rekeys (A's CHILD_SA, B's
// CHILD_SA, A's IKE SA, B's IKE SA) are repeated.
const streamCycles = 10

// stream is one direction of numbered datagrams from a TUN device of one
// gateway to the TUN device of the other.
type stream struct {
	name     string
	in       chan<- []byte // the sending gateway's TUN device
	out      <-chan []byte // the receiving gateway's TUN device
	src, dst netip.AddrPort
	tag      byte

	sent     atomic.Uint64
	received atomic.Uint64 // datagrams of the stream, duplicates included
	until    atomic.Uint64 // the sender stops at this sequence number
	progress chan struct{} // signalled by the receiver
	stalls   atomic.Uint64 // times the window did not move for streamStall
	// peer is the other direction: a sender keeps within streamLead of
	// it, so that neither runs away while the other is held up.
	peer     *stream
	finished atomic.Bool

	// Owned by the receiver until it returns.
	seen      []uint8
	dups      int
	reordered int
	foreign   int
}

// streamLead is how far a stream may be ahead of the other one.
const streamLead = 4 * streamWindow

// streamStall is how long the sender waits for the window to move before
// it counts the missing datagrams as lost and goes on.
const streamStall = time.Second

func newStream(name string, tag byte, in chan<- []byte, out <-chan []byte, src, dst netip.AddrPort) *stream {
	s := &stream{name: name, tag: tag, in: in, out: out, src: src, dst: dst,
		progress: make(chan struct{}, 1), seen: make([]uint8, streamMax)}
	s.until.Store(streamMax)
	return s
}

// send writes datagrams 0, 1, ... to the sending TUN device, streamBatch at
// a time, keeping at most streamWindow in flight, until s.until or quit.
func (s *stream) send(quit <-chan struct{}) {
	defer s.finished.Store(true)
	payload := make([]byte, streamPayload)
	payload[8] = s.tag
	var seq, slack uint64
	for seq < s.until.Load() {
		for end := seq + streamBatch; seq < end && seq < s.until.Load(); {
			binary.BigEndian.PutUint64(payload, seq)
			select {
			case s.in <- tuntest.UDP(s.src, s.dst, payload):
			case <-quit:
				return
			}
			seq++
			s.sent.Store(seq)
		}
		for seq > s.received.Load()+slack+streamWindow {
			select {
			case <-s.progress:
			case <-quit:
				return
			case <-time.After(streamStall):
				// Lost: the end of the test reports them. Slide the
				// window over them so that the stream goes on.
				s.stalls.Add(1)
				slack = seq - streamWindow - s.received.Load()
			}
		}
		for seq > s.peer.sent.Load()+streamLead && !s.peer.finished.Load() {
			select {
			case <-time.After(100 * time.Microsecond):
			case <-quit:
				return
			}
		}
	}
}

// receive records the datagrams written to the receiving TUN device until
// quit.
func (s *stream) receive(quit <-chan struct{}) {
	var last uint64
	first := true
	for {
		var p []byte
		select {
		case p = <-s.out:
		case <-quit:
			return
		}
		seq, ok := s.parse(p)
		if !ok {
			s.foreign++
			continue
		}
		if s.seen[seq]++; s.seen[seq] > 1 {
			s.dups++
		}
		if !first && seq < last {
			s.reordered++
		}
		last, first = seq, false
		s.received.Add(1)
		select {
		case s.progress <- struct{}{}:
		default:
		}
	}
}

// parse returns the sequence number of a datagram of the stream.
func (s *stream) parse(p []byte) (uint64, bool) {
	if len(p) < 20 || p[0]>>4 != 4 || p[9] != 17 {
		return 0, false
	}
	ihl := int(p[0]&0x0f) * 4
	if len(p) != ihl+8+streamPayload || p[ihl+8+8] != s.tag {
		return 0, false
	}
	seq := binary.BigEndian.Uint64(p[ihl+8:])
	return seq, seq < streamMax
}

// missing returns the sequence numbers below sent that never arrived, as
// ranges, and how many there are.
func (s *stream) missing() (string, int) {
	var b strings.Builder
	n, total := uint64(s.sent.Load()), 0
	for i := uint64(0); i < n; i++ {
		if s.seen[i] != 0 {
			continue
		}
		j := i
		for j+1 < n && s.seen[j+1] == 0 {
			j++
		}
		total += int(j - i + 1)
		if b.Len() < 2000 {
			fmt.Fprintf(&b, " %d-%d", i, j)
		}
		i = j
	}
	return b.String(), total
}

// wireTrace watches the datagrams on the network: it lists the IKE
// messages and the CHILD_SA events, and counts the ESP packets sent on an
// SPI after the receiver deleted its CHILD_SA: they were sealed before the
// sender switched to the new SA and overtaken by the delete exchange.
type wireTrace struct {
	start time.Time

	mu       sync.Mutex
	timeline []string
	deleted  map[uint32]bool
	lateESP  map[uint32]*lateESP
}

// lateESP counts the ESP packets of one SPI sent after the delete.
type lateESP struct {
	n           int
	first, last uint32 // their ESP sequence numbers
}

func newWireTrace() *wireTrace {
	return &wireTrace{start: time.Now(), deleted: map[uint32]bool{}, lateESP: map[uint32]*lateESP{}}
}

func (w *wireTrace) note(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.noteLocked(format, args...)
}

func (w *wireTrace) noteLocked(format string, args ...any) {
	w.timeline = append(w.timeline, fmt.Sprintf("%9.3fms ", float64(time.Since(w.start).Microseconds())/1000)+fmt.Sprintf(format, args...))
}

// filter is the Network's filter: it delivers everything.
func (w *wireTrace) filter(from, to esp.Endpoint, pkt []byte) esptest.Verdict {
	ikeMsg := !to.RawESP() && to.Local.Port() == esptest.IKEPort
	if !to.RawESP() && !ikeMsg {
		kind, rest, err := esp.Classify(pkt)
		if err != nil || kind == esp.KindKeepalive {
			return esptest.Deliver
		}
		ikeMsg, pkt = kind == esp.KindIKE, rest
	}
	if ikeMsg {
		if h, err := wire.ParseHeader(pkt); err == nil {
			w.note("%v -> %v %v #%d response=%v", from.Local.Addr(), to.Local.Addr(), h.Exchange, h.MessageID, h.IsResponse())
		}
		return esptest.Deliver
	}
	if len(pkt) < 8 {
		return esptest.Deliver
	}
	spi, seq := binary.BigEndian.Uint32(pkt), binary.BigEndian.Uint32(pkt[4:])
	w.mu.Lock()
	if w.deleted[spi] {
		l := w.lateESP[spi]
		if l == nil {
			l = &lateESP{first: seq}
			w.lateESP[spi] = l
			w.noteLocked("%v -> %v ESP %08x #%d: the first sent after the delete of its CHILD_SA", from.Local.Addr(), to.Local.Addr(), spi, seq)
		}
		l.n++
		l.last = seq
	}
	w.mu.Unlock()
	return esptest.Deliver
}

// event notes a Manager's event; called before the watch's.
func (w *wireTrace) event(gw string, e ike.Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if e.Kind == ike.EventChildDown {
		w.deleted[e.InSPI] = true
	}
	w.noteLocked("%s %v rekey=%v in=%08x out=%08x", gw, e.Kind, e.Rekey, e.InSPI, e.OutSPI)
}

// late returns how many ESP packets were sent after the delete of their
// CHILD_SA, on how many SAs, and the details.
func (w *wireTrace) late() (n, sas int, details string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var b strings.Builder
	for spi, l := range w.lateESP {
		n += l.n
		fmt.Fprintf(&b, " %08x: %d (ESP #%d-#%d)", spi, l.n, l.first, l.last)
	}
	return n, len(w.lateESP), b.String()
}

func (w *wireTrace) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.timeline, "\n  ")
}

// rekeyWatch counts the events of one Manager and keeps the inbound SAs
// its CHILD_SAs installed, for their counters.
type rekeyWatch struct {
	name string
	g    *Gateway // set before the gateway starts
	tr   *wireTrace

	mu     sync.Mutex
	counts map[rekeyEventKey]int
	log    []string
	inSAs  []*esp.SA
	ch     chan struct{}
}

type rekeyEventKey struct {
	kind  ike.EventKind
	rekey bool
}

func newRekeyWatch(name string, tr *wireTrace) *rekeyWatch {
	return &rekeyWatch{name: name, tr: tr, counts: map[rekeyEventKey]int{}, ch: make(chan struct{}, 1)}
}

// event is the Manager's OnEvent.
func (w *rekeyWatch) event(e ike.Event) {
	w.tr.event(w.name, e)
	var sa *esp.SA
	if e.Kind == ike.EventChildUp {
		sa, _ = w.g.Engine().SA(esp.InSA(e.InSPI))
	}
	w.mu.Lock()
	w.counts[rekeyEventKey{e.Kind, e.Rekey}]++
	w.log = append(w.log, fmt.Sprintf("%s %v rekey=%v spis=%016x/%016x child=%08x/%08x err=%v",
		time.Now().Format("15:04:05.000000"), e.Kind, e.Rekey, e.SPIi, e.SPIr, e.InSPI, e.OutSPI, e.Err))
	if sa != nil {
		w.inSAs = append(w.inSAs, sa)
	}
	w.mu.Unlock()
	select {
	case w.ch <- struct{}{}:
	default:
	}
}

func (w *rekeyWatch) count(kind ike.EventKind, rekey bool) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.counts[rekeyEventKey{kind, rekey}]
}

// wait waits at most d until cond holds.
func (w *rekeyWatch) wait(d time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-w.ch:
		case <-deadline.C:
			return cond()
		}
	}
	return true
}

func (w *rekeyWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.name + ":\n  " + strings.Join(w.log, "\n  ")
}

// lockedBuffer collects a gateway's log, shown when the test fails.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// rekeyStep is one rekey of the cycle.
type rekeyStep struct {
	name string
	g    *Gateway
	conn string
	ike  bool
}

// TestRekeyStreamZeroLoss streams numbered UDP datagrams through two
// gateways, both ways, while the CHILD_SA and the IKE SA are rekeyed by
// either end, streamCycles times each: raw ESP, and UDP-encapsulated
// (ForceEncap). Every datagram must arrive exactly once, no packet may
// be dropped, refused or replayed on the way, and one IKE SA with one
// CHILD_SA must be left on each side. "norekey" is the same stream without
// rekeys: it shows that the pace alone loses nothing.
func TestRekeyStreamZeroLoss(t *testing.T) {
	for _, tc := range []struct {
		name   string
		encap  bool
		cycles int
	}{
		{"norekey", false, 0},
		{"plain", false, streamCycles},
		{"encap", true, streamCycles},
	} {
		t.Run(tc.name, func(t *testing.T) { testRekeyStream(t, tc.encap, tc.cycles) })
	}
}

func testRekeyStream(t *testing.T, encap bool, cycles int) {
	leakcheck.Check(t, 5*time.Second)
	psk := []byte("rekey stream test psk")
	idA, err := pki.ParseIdentity("a.example.com")
	if err != nil {
		t.Fatal(err)
	}
	idB, err := pki.ParseIdentity("b.example.com")
	if err != nil {
		t.Fatal(err)
	}
	child := func(local, remote site) []*ike.ChildConfig {
		return []*ike.ChildConfig{{Name: "net",
			LocalTS:  []esp.Selector{esp.SelectorFromPrefix(local.prefix)},
			RemoteTS: []esp.Selector{esp.SelectorFromPrefix(remote.prefix)}}}
	}
	peerA := &ike.PeerConfig{Name: "to-b", RemoteHost: netip.AddrPortFrom(siteB.outer, esptest.IKEPort), LocalAddr: siteA.outer,
		Local:      ike.AuthConfig{Method: ike.AuthPSK, ID: idA, PSK: psk},
		Remote:     ike.AuthConfig{Method: ike.AuthPSK, ID: idB, PSK: psk},
		ForceEncap: encap, Children: child(siteA, siteB)}
	peerB := &ike.PeerConfig{Name: "to-a", RemoteHost: netip.AddrPortFrom(siteA.outer, esptest.IKEPort), LocalAddr: siteB.outer,
		Local:      ike.AuthConfig{Method: ike.AuthPSK, ID: idB, PSK: psk},
		Remote:     ike.AuthConfig{Method: ike.AuthPSK, ID: idA, PSK: psk},
		ForceEncap: encap, Children: child(siteB, siteA)}

	net := esptest.NewNetwork()
	tr := newWireTrace()
	net.SetFilter(tr.filter)
	devA, devB := tuntest.NewChannel(1400), tuntest.NewChannel(1400)
	wA, wB := newRekeyWatch("A", tr), newRekeyWatch("B", tr)
	var logs lockedBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	newGW := func(w *rekeyWatch, dev *tuntest.Channel, outer netip.Addr, peer *ike.PeerConfig) *Gateway {
		g, err := NewGateway(GatewayConfig{TUN: dev, Bind: net.NewBind(outer), Logger: logger.With("gw", w.name),
			IKE: &ike.Config{Peers: []*ike.PeerConfig{peer}, OnEvent: w.event}})
		if err != nil {
			t.Fatal(err)
		}
		w.g = g
		return g
	}
	gA := newGW(wA, devA, siteA.outer, peerA)
	gB := newGW(wB, devB, siteB.outer, peerB)
	for _, g := range []*Gateway{gA, gB} {
		if err := g.Start(); err != nil {
			t.Fatal(err)
		}
	}
	closed := false
	closeGWs := func() {
		if !closed {
			closed = true
			gA.Close()
			gB.Close()
		}
	}
	defer closeGWs()
	defer func() {
		if t.Failed() {
			t.Logf("timeline (%v is A, %v is B):\n  %s", siteA.outer, siteB.outer, tr)
			if testing.Verbose() {
				t.Logf("log\n%s", logs.String())
			}
		}
	}()

	if err := gA.IKE().Initiate(peerA.Name); err != nil {
		t.Fatal(err)
	}
	if !wA.wait(rekeyTimeout, func() bool { return wA.count(ike.EventChildUp, false) == 1 }) ||
		!wB.wait(rekeyTimeout, func() bool { return wB.count(ike.EventChildUp, false) == 1 }) {
		t.Fatal("the CHILD_SA did not come up")
	}
	first := checkRekeyedSAs(t, gA, gB, peerA.Name, peerB.Name, nil)

	aToB := newStream("A→B", 0xab, devA.Inbound, devB.Outbound,
		netip.AddrPortFrom(siteA.host, 40001), netip.AddrPortFrom(siteB.host, 9))
	bToA := newStream("B→A", 0xba, devB.Inbound, devA.Outbound,
		netip.AddrPortFrom(siteB.host, 40002), netip.AddrPortFrom(siteA.host, 9))
	aToB.peer, bToA.peer = bToA, aToB
	streams := []*stream{aToB, bToA}
	quitSend, quitRecv := make(chan struct{}), make(chan struct{})
	var senders, receivers sync.WaitGroup
	for _, s := range streams {
		senders.Add(1)
		receivers.Add(1)
		go func() { defer senders.Done(); s.send(quitSend) }()
		go func() { defer receivers.Done(); s.receive(quitRecv) }()
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			close(quitSend)
			senders.Wait()
			close(quitRecv)
			receivers.Wait()
		}
	}
	defer stop()

	// progressed waits until every stream has delivered n datagrams, or
	// all it sent when n is 0.
	progressed := func(n uint64) bool {
		deadline := time.NewTimer(rekeyTimeout)
		defer deadline.Stop()
		for _, s := range streams {
			want := n
			if n == 0 {
				want = s.sent.Load()
			}
			for s.received.Load() < want {
				select {
				case <-time.After(time.Millisecond):
				case <-deadline.C:
					return false
				}
			}
		}
		return true
	}

	steps := []rekeyStep{
		{"A rekeys the CHILD_SA", gA, peerA.Name, false},
		{"B rekeys the CHILD_SA", gB, peerB.Name, false},
		{"A rekeys the IKE SA", gA, peerA.Name, true},
		{"B rekeys the IKE SA", gB, peerB.Name, true},
	}
	start := time.Now()
	var rekeyTime time.Duration
	var marks []string
	prev := first
	childRekeys, ikeRekeys := 0, 0
	mark := uint64(streamWarmup)
	for i := range cycles * len(steps) {
		st := steps[i%len(steps)]
		if !progressed(mark) {
			t.Fatalf("before %q (#%d): the stream stalled at %d/%d datagrams", st.name, i, aToB.received.Load(), bToA.received.Load())
		}
		kUp, kDown := ike.EventChildUp, ike.EventChildDown
		if st.ike {
			kUp, kDown = ike.EventIKEUp, ike.EventIKEDown
		}
		want := func(w *rekeyWatch) [2]int { return [2]int{w.count(kUp, true) + 1, w.count(kDown, true) + 1} }
		wantA, wantB := want(wA), want(wB)
		from := [2]uint64{aToB.sent.Load(), bToA.sent.Load()}
		t0 := time.Now()
		var n int
		if st.ike {
			n = st.g.IKE().RekeyIKE(st.conn)
			ikeRekeys++
		} else {
			n = st.g.IKE().Rekey(st.conn)
			childRekeys++
		}
		if n != 1 {
			t.Fatalf("%s (#%d): %d rekeys started, want 1", st.name, i, n)
		}
		for _, w := range []*rekeyWatch{wA, wB} {
			want := wantA
			if w == wB {
				want = wantB
			}
			if !w.wait(rekeyTimeout, func() bool { return w.count(kUp, true) >= want[0] && w.count(kDown, true) >= want[1] }) {
				t.Fatalf("%s (#%d): not completed on %s within %v", st.name, i, w.name, rekeyTimeout)
			}
		}
		rekeyTime += time.Since(t0)
		marks = append(marks, fmt.Sprintf("#%d %s: A→B %d-%d, B→A %d-%d", i, st.name,
			from[0], aToB.sent.Load(), from[1], bToA.sent.Load()))
		prev = checkRekeyedSAs(t, gA, gB, peerA.Name, peerB.Name, &prev)
		if t.Failed() {
			t.FailNow()
		}
		mark = min(aToB.received.Load(), bToA.received.Load()) + streamGap
	}
	rekeysDone := time.Since(start)
	// The tail: at least streamMin datagrams in all, and streamWarmup
	// after the last rekey.
	for _, s := range streams {
		s.until.Store(max(streamMin, s.sent.Load()+streamWarmup))
	}
	senders.Wait()
	progressed(0) // what is missing then is reported below
	elapsed := time.Since(start)
	stop()

	for _, s := range streams {
		lost, nLost := s.missing()
		sent := s.sent.Load()
		if nLost > 0 || s.dups > 0 || s.foreign > 0 {
			t.Errorf("%s: %d sent, %d lost, %d duplicated, %d not ours, %d stalls; lost:%s\nrekeys (sequence numbers sent meanwhile):\n  %s",
				s.name, sent, nLost, s.dups, s.foreign, s.stalls.Load(), lost, strings.Join(marks, "\n  "))
		}
		t.Logf("%s: %d datagrams sent, all received once; %d out of order", s.name, sent, s.reordered)
	}
	if n, sas, details := tr.late(); n > 0 {
		// Without RetireSA these were lost (UnknownSPI).
		t.Logf("%d ESP datagrams were sent after the delete of their CHILD_SA (on %d SAs), and opened by its retiring inbound SA", n, sas)
		if t.Failed() {
			t.Logf("late ESP by SPI:%s", details)
		}
	}
	ns := net.Stats()
	if ns.Dropped+ns.Overflow+ns.Unroutable+ns.Truncated != 0 {
		t.Errorf("network lost datagrams: %+v", ns)
	}
	for _, x := range []struct {
		w *rekeyWatch
		g *Gateway
	}{{wA, gA}, {wB, gB}} {
		st := x.g.Engine().Stats()
		if st.OpenErrors+st.UnknownSPI+st.PolicyMismatch+st.SealErrors+st.SendErrors+st.Dropped+st.NoPolicy+st.Held+st.HeldDropped != 0 {
			t.Errorf("%s engine: %+v", x.w.name, st)
		}
		x.w.mu.Lock()
		var sum esp.Stats
		for _, sa := range x.w.inSAs {
			ss := sa.Stats()
			sum.Packets += ss.Packets
			sum.Auth += ss.Auth
			sum.Replay += ss.Replay
			sum.UnknownSPI += ss.UnknownSPI
			sum.Padding += ss.Padding
			sum.Truncated += ss.Truncated
			sum.NextHeader += ss.NextHeader
		}
		nSAs := len(x.w.inSAs)
		x.w.mu.Unlock()
		if sum.Auth+sum.Replay+sum.UnknownSPI+sum.Padding+sum.Truncated+sum.NextHeader != 0 {
			t.Errorf("%s: the inbound SAs refused packets: %+v", x.w.name, sum)
		}
		t.Logf("%s: %d inbound SAs opened %d packets; engine %+v", x.w.name, nSAs, sum.Packets, st)
	}
	if wantChild := 1 + childRekeys; wA.count(ike.EventChildUp, false)+wA.count(ike.EventChildUp, true) != wantChild ||
		wB.count(ike.EventChildUp, false)+wB.count(ike.EventChildUp, true) != wantChild {
		t.Errorf("CHILD_SAs installed: A %d, B %d, want %d each", wA.count(ike.EventChildUp, false)+wA.count(ike.EventChildUp, true),
			wB.count(ike.EventChildUp, false)+wB.count(ike.EventChildUp, true), wantChild)
	}
	if wA.count(ike.EventChildDown, false)+wB.count(ike.EventChildDown, false)+wA.count(ike.EventIKEDown, false)+wB.count(ike.EventIKEDown, false) != 0 {
		t.Error("an SA went down outside a rekey")
	}
	checkRekeyedSAs(t, gA, gB, peerA.Name, peerB.Name, nil)
	t.Logf("%d CHILD_SA and %d IKE SA rekeys in %v (%v waiting for them), stream %v, network %+v",
		childRekeys, ikeRekeys, rekeysDone.Round(time.Millisecond), rekeyTime.Round(time.Millisecond), elapsed.Round(time.Millisecond), ns)
	closeGWs()
}

// rekeyedSAs is what checkRekeyedSAs found: the IKE SA and CHILD_SA of A.
type rekeyedSAs struct {
	spii, spir    uint64
	inSPI, outSPI uint32
}

// checkRekeyedSAs checks that each gateway has exactly one IKE SA with one
// CHILD_SA, that the two agree, that the engines hold the CHILD_SA's SAs,
// and, given the previous state, that exactly one of the IKE SA or the
// CHILD_SA changed, and that a replaced CHILD_SA's outbound SA is gone
// while its inbound SA lingers.
func checkRekeyedSAs(t *testing.T, gA, gB *Gateway, connA, connB string, prev *rekeyedSAs) rekeyedSAs {
	t.Helper()
	a, b := gA.IKE().SAs(), gB.IKE().SAs()
	if len(a) != 1 || len(b) != 1 || len(a[0].Children) != 1 || len(b[0].Children) != 1 ||
		a[0].State != ike.StateEstablished || b[0].State != ike.StateEstablished || a[0].Peer != connA || b[0].Peer != connB {
		t.Errorf("want one established IKE SA with one CHILD_SA on each side: A %+v, B %+v", a, b)
		return rekeyedSAs{}
	}
	ca, cb := a[0].Children[0], b[0].Children[0]
	cur := rekeyedSAs{a[0].SPIi, a[0].SPIr, ca.InSPI, ca.OutSPI}
	if a[0].SPIi != b[0].SPIi || a[0].SPIr != b[0].SPIr || ca.InSPI != cb.OutSPI || ca.OutSPI != cb.InSPI {
		t.Errorf("the sides disagree: A %016x/%016x %08x/%08x, B %016x/%016x %08x/%08x",
			a[0].SPIi, a[0].SPIr, ca.InSPI, ca.OutSPI, b[0].SPIi, b[0].SPIr, cb.InSPI, cb.OutSPI)
	}
	for _, x := range []struct {
		name    string
		g       *Gateway
		in, out uint32
		policy  uint32
	}{{"A", gA, ca.InSPI, ca.OutSPI, ca.Policy}, {"B", gB, cb.InSPI, cb.OutSPI, cb.Policy}} {
		_, okIn := x.g.Engine().SA(esp.InSA(x.in))
		_, okOut := x.g.Engine().SA(esp.OutSA(x.policy, x.out))
		if !okIn || !okOut {
			t.Errorf("%s: the engine lacks the CHILD_SA's SAs %08x (in: %v) / %08x (out: %v)", x.name, x.in, okIn, x.out, okOut)
		}
	}
	if prev == nil {
		return cur
	}
	ikeChanged := cur.spii != prev.spii || cur.spir != prev.spir
	childChanged := cur.inSPI != prev.inSPI || cur.outSPI != prev.outSPI
	if ikeChanged == childChanged {
		t.Errorf("want exactly one of the IKE SA and the CHILD_SA replaced: %+v -> %+v", *prev, cur)
	}
	if childChanged {
		// The old outbound SA is gone; the old inbound SA stays a while
		// for the packets still on their way (RetireSA).
		for _, x := range []struct {
			name    string
			g       *Gateway
			in, out uint32
			policy  uint32 // a rekey hands the policy over
		}{{"A", gA, prev.inSPI, prev.outSPI, ca.Policy}, {"B", gB, prev.outSPI, prev.inSPI, cb.Policy}} {
			_, okIn := x.g.Engine().SA(esp.InSA(x.in))
			_, okOut := x.g.Engine().SA(esp.OutSA(x.policy, x.out))
			if !okIn || okOut {
				t.Errorf("%s: the old CHILD_SA's inbound SA %08x installed: %v (want true), outbound SA %08x: %v (want false)", x.name, x.in, okIn, x.out, okOut)
			}
		}
	}
	return cur
}
