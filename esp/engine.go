package esp

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ikego/ikego/tun"
)

// Direction tells inbound SAs from outbound ones.
type Direction uint8

// The two directions of an SA.
const (
	DirIn Direction = iota
	DirOut
)

// String returns "in" or "out".
func (d Direction) String() string {
	if d == DirIn {
		return "in"
	}
	return "out"
}

// Lifetime limits an SA's use (RFC 4301 §4.4.2.1). Zero fields are
// unlimited. The soft limits raise an EventSoftExpire so that IKE rekeys; the
// hard limits remove the SA and raise an EventHardExpire.
type Lifetime struct {
	SoftBytes, HardBytes     uint64
	SoftPackets, HardPackets uint64
	SoftTime, HardTime       time.Duration
}

// EventKind is what an Event reports.
type EventKind uint8

// The events of an Engine.
const (
	// EventAcquire: traffic matched a policy that has no SA (a trap, or a
	// protect policy whose SA is gone); IKE should negotiate one.
	EventAcquire EventKind = iota + 1
	// EventSoftExpire: an SA reached a soft lifetime limit.
	EventSoftExpire
	// EventHardExpire: an SA reached a hard limit and was removed.
	EventHardExpire
)

// String returns the event's name.
func (k EventKind) String() string {
	switch k {
	case EventAcquire:
		return "acquire"
	case EventSoftExpire:
		return "soft-expire"
	case EventHardExpire:
		return "hard-expire"
	}
	return "unknown"
}

// Event is what the Engine tells IKE: an Acquire with the flow that
// triggered it, or an Expire of the SA with SPI and Dir (and, for both, the
// policy: SA returns the expired SA's key).
type Event struct {
	Kind     EventKind
	PolicyID uint32
	SPI      uint32
	Dir      Direction
	Flow     Flow
}

// SA returns the key of the SA an Expire event is about.
func (ev Event) SA() SAKey {
	if ev.Dir == DirIn {
		return InSA(ev.SPI)
	}
	return OutSA(ev.PolicyID, ev.SPI)
}

// SAKey names an installed SA. An inbound SA is named by its SPI alone: the
// engine chose it (AllocSPI), so it is unique. An outbound SA needs its
// policy too, since its SPI was chosen by the peer, and two peers may choose
// the same one (RFC 4301 §4.1: an SA is identified by the SPI together with
// its destination).
type SAKey struct {
	Dir Direction
	SPI uint32
	// Policy is the ID of an outbound SA's policy; inbound keys leave it 0.
	Policy uint32
}

// InSA is the key of the inbound SA with SPI spi.
func InSA(spi uint32) SAKey { return SAKey{Dir: DirIn, SPI: spi} }

// OutSA is the key of the outbound SA with SPI spi of the policy policyID.
func OutSA(policyID, spi uint32) SAKey { return SAKey{Dir: DirOut, SPI: spi, Policy: policyID} }

// String returns "in 0x1234abcd" or "out 0x1234abcd (policy 7)".
func (k SAKey) String() string {
	if k.Dir == DirIn {
		return fmt.Sprintf("in %#08x", k.SPI)
	}
	return fmt.Sprintf("out %#08x (policy %d)", k.SPI, k.Policy)
}

// outKey is an SAKey of an outbound SA without its direction.
type outKey struct{ policy, spi uint32 }

// EngineConfig configures an Engine. TUN and Bind are required.
type EngineConfig struct {
	TUN  tun.Device
	Bind Bind
	// IKE receives the IKE datagrams that arrive on the Bind: those on the
	// IKE port, and those behind the non-ESP marker on the NAT-T port (with
	// the marker removed). pkt is valid only during the call, which runs on
	// a receive goroutine: copy it and return quickly. Nil drops them.
	IKE func(pkt []byte, ep Endpoint)
	// IKEPort is the UDP port whose datagrams are all IKE; 0 means 500.
	IKEPort uint16
	// NATTPort is the UDP port ESP-in-UDP leaves from when an SA's Local
	// gives no port; 0 means 4500.
	NATTPort uint16
	// Workers is the number of crypto goroutines; 0 means GOMAXPROCS.
	Workers int
	// PathMTU is the MTU of the outer network, for the inner MTU that MSS
	// clamping and "packet too big" replies use; 0 means 1500.
	PathMTU int
	// HoldPackets bounds the packets held per policy while IKE negotiates
	// its SA; 0 means 8, negative holds none.
	HoldPackets int
	// Logger gets the engine's few log lines (never per packet); nil
	// discards them.
	Logger *slog.Logger
	// Now is the clock for time lifetimes; nil means time.Now.
	Now func() time.Time
	// Rand is the randomness for AllocSPI; nil means crypto/rand.
	Rand io.Reader
}

// EngineStats are an Engine's counters: packets that went nowhere, by reason.
// Per-SA counters are in each SA's Stats.
type EngineStats struct {
	NoPolicy, Dropped, Held, HeldDropped, UnknownSPI, PolicyMismatch uint64
	SealErrors, OpenErrors, SendErrors, TooBig, MSSClamped           uint64
	IKE, Keepalives, EventsDropped                                   uint64
	// LocalAddr counts the packets read from the TUN device that went to
	// a handler of AddLocalAddr instead of a policy.
	LocalAddr uint64
}

// Engine moves packets between a TUN device and a Bind through ESP SAs:
// TUN → policy → sequence number → parallel Seal → ordered batched send, and
// receive → SPI lookup → parallel Open → replay update → inbound policy
// check → batched TUN write. SAs and policies change under copy-on-write
// (AddSA, DeleteSA, SetPolicy, DeletePolicy) without blocking the packet
// path. Its methods are safe for concurrent use.
type Engine struct {
	cfg        EngineConfig
	log        *slog.Logger
	now        func() time.Time
	spd        SPD[*policyState]
	mu         sync.Mutex                          // serializes SA changes
	sad        atomic.Pointer[map[uint32]*saEntry] // inbound SAs by SPI
	out        map[outKey]*saEntry                 // outbound SAs by policy and SPI, under mu
	reserved   map[uint32]struct{}                 // SPIs from AllocSPI not yet installed, under mu
	locals     map[uint16]*LocalConn               // under mu
	localsSnap atomic.Pointer[map[uint16]*LocalConn]
	// localAddrs are the handlers of AddLocalAddr by destination; nil when
	// there are none, so that the packet path pays one atomic load. It is
	// replaced, never changed, under mu.
	localAddrs atomic.Pointer[map[netip.Addr]func(pkt []byte)]
	events     chan Event

	bufs    sync.Pool // *packet
	batches sync.Pool // *batch
	cryptQ  chan *batch

	stats   engineCounters
	started atomic.Bool
	closing chan struct{}
	readers sync.WaitGroup // readers, ordered stages, the lifetime ticker
	workers sync.WaitGroup
	closeMu sync.Mutex
	closed  bool

	lastSendLog atomic.Int64 // unix seconds of the last send error logged
}

type engineCounters struct {
	noPolicy, dropped, held, heldDropped, unknownSPI, policyMismatch atomic.Uint64
	sealErr, openErr, sendErr, tooBig, mss, ike, keepalive, evDrop   atomic.Uint64
	localAddr                                                        atomic.Uint64
}

// saEntry is an installed SA and what the engine keeps about it.
type saEntry struct {
	sa       *SA
	dir      Direction
	policyID uint32
	ep       atomic.Pointer[Endpoint] // outbound: where packets go; UpdateSA swaps it
	life     Lifetime
	added    time.Time
	soft     atomic.Bool
	hard     atomic.Bool
	// retireAt is when RetireSA's delay ends (Unix nanoseconds; 0: never).
	retireAt atomic.Int64
}

// key returns the entry's SAKey.
func (ent *saEntry) key() SAKey {
	if ent.dir == DirIn {
		return InSA(ent.sa.spi)
	}
	return OutSA(ent.policyID, ent.sa.spi)
}

// policyState is the runtime state of one policy.
type policyState struct {
	id     uint32
	action Action
	out    atomic.Pointer[saEntry]

	holdMu   sync.Mutex
	held     []*packet
	acquired time.Time
}

// packet is one pooled buffer and what a pipeline stage knows of it.
type packet struct {
	buf   []byte // the whole buffer: len == cap == bufSize
	start int    // the packet is buf[start:end]
	end   int
	entry *saEntry
	seq   uint64
	err   error
	// one is a one-packet batch for the Write and Send calls of single
	// packets: the slice header lives in the pooled packet, so passing
	// one[:] to an interface method allocates nothing.
	one [1][]byte
}

// bufSize fits the largest IP packet with room around it.
const bufSize = Headroom + 65535 + Tailroom

// batch is a group of packets that goes through the crypto workers
// together; mu is held until the workers are done, so that the ordered stage
// waits for it.
type batch struct {
	mu   sync.Mutex
	dir  Direction
	pkts []*packet
}

// NewEngine checks cfg and returns an engine that is not yet running.
func NewEngine(cfg EngineConfig) (*Engine, error) {
	if cfg.TUN == nil || cfg.Bind == nil {
		return nil, errors.New("esp: engine needs a TUN device and a Bind")
	}
	if cfg.IKEPort == 0 {
		cfg.IKEPort = 500
	}
	if cfg.NATTPort == 0 {
		cfg.NATTPort = NATTPort
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.PathMTU == 0 {
		cfg.PathMTU = 1500
	}
	if cfg.PathMTU < 576 {
		return nil, fmt.Errorf("esp: path MTU %d below 576", cfg.PathMTU)
	}
	if cfg.HoldPackets == 0 {
		cfg.HoldPackets = 8
	}
	e := &Engine{
		cfg: cfg, log: cfg.Logger, now: cfg.Now,
		out:      map[outKey]*saEntry{},
		reserved: map[uint32]struct{}{},
		events:   make(chan Event, 256),
		cryptQ:   make(chan *batch, 1024),
		closing:  make(chan struct{}),
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.cfg.Rand == nil {
		e.cfg.Rand = rand.Reader
	}
	e.sad.Store(&map[uint32]*saEntry{})
	e.localsSnap.Store(&map[uint16]*LocalConn{})
	e.bufs.New = func() any { return &packet{buf: make([]byte, bufSize)} }
	e.batches.New = func() any { return &batch{} }
	return e, nil
}

// Events returns the channel of Acquire and Expire events. It is buffered;
// when it is full, events are dropped and counted rather than blocking the
// packet path. It is never closed.
func (e *Engine) Events() <-chan Event { return e.events }

// Stats returns a snapshot of the engine's counters.
func (e *Engine) Stats() EngineStats {
	c := &e.stats
	return EngineStats{
		NoPolicy: c.noPolicy.Load(), Dropped: c.dropped.Load(), Held: c.held.Load(), HeldDropped: c.heldDropped.Load(),
		UnknownSPI: c.unknownSPI.Load(), PolicyMismatch: c.policyMismatch.Load(),
		SealErrors: c.sealErr.Load(), OpenErrors: c.openErr.Load(), SendErrors: c.sendErr.Load(),
		TooBig: c.tooBig.Load(), MSSClamped: c.mss.Load(), IKE: c.ike.Load(), Keepalives: c.keepalive.Load(),
		EventsDropped: c.evDrop.Load(), LocalAddr: c.localAddr.Load(),
	}
}

func (e *Engine) emit(ev Event) {
	select {
	case e.events <- ev:
	default:
		e.stats.evDrop.Add(1)
	}
}

// Start opens the Bind and starts the engine's goroutines. The engine runs
// until Close.
func (e *Engine) Start() error {
	if !e.started.CompareAndSwap(false, true) {
		return errors.New("esp: engine already started")
	}
	recvs, err := e.cfg.Bind.Open()
	if err != nil {
		return err
	}
	for range e.cfg.Workers {
		e.workers.Add(1)
		go e.cryptoWorker()
	}
	e.startPipeline(e.tunReader, e.sender)
	for _, r := range recvs {
		e.startPipeline(func(q chan<- *batch) { e.netReader(r, q) }, e.deliverer)
	}
	e.readers.Add(1)
	go e.lifetimeTicker()
	return nil
}

// cryptoWorker seals or opens the packets of each batch it takes and then
// releases the batch to its ordered stage.
func (e *Engine) cryptoWorker() {
	defer e.workers.Done()
	for b := range e.cryptQ {
		if b.dir == DirOut {
			for _, p := range b.pkts {
				e.sealPacket(p)
			}
		} else {
			for _, p := range b.pkts {
				e.openPacket(p)
			}
		}
		b.mu.Unlock()
	}
}

// startPipeline runs a reader that queues batches in order and the ordered
// stage that takes them after the crypto workers.
func (e *Engine) startPipeline(read func(chan<- *batch), ordered func(<-chan *batch)) {
	q := make(chan *batch, 64)
	e.readers.Add(2)
	go func() { defer e.readers.Done(); defer close(q); read(q) }()
	go func() { defer e.readers.Done(); ordered(q) }()
}

// Close stops the engine: it closes the Bind and the TUN device and waits
// for its goroutines. It returns the first error.
func (e *Engine) Close() error {
	e.closeMu.Lock()
	if e.closed {
		e.closeMu.Unlock()
		return nil
	}
	e.closed = true
	close(e.closing)
	e.closeMu.Unlock()
	err := e.cfg.Bind.Close()
	if terr := e.cfg.TUN.Close(); err == nil {
		err = terr
	}
	if e.started.Load() {
		// The readers return once their devices are closed, and their
		// ordered stages once the readers' queues are drained; then no
		// batch can reach the workers any more.
		e.readers.Wait()
		close(e.cryptQ)
		e.workers.Wait()
	}
	return err
}
