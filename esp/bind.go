package esp

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"sync/atomic"
)

// The network side of the dataplane. IKE and ESP reach their peers through
// three kinds of socket:
//
//	UDP 500     IKE (RFC 7296 §2)
//	UDP 4500    NAT-T: IKE behind the non-ESP marker, ESP-in-UDP and NAT
//	            keepalives (RFC 3948 §2); Classify tells them apart
//	IP proto 50 ESP without encapsulation (RFC 4303)
//
// A Bind hides the sockets behind batched send and receive calls, the way
// wireguard-go's conn.Bind does; UDPBind is the one the kernel gives, and
// package esptest has in-memory ones for tests.

// Endpoint identifies the two ends of a datagram: Local is our address and
// UDP port (500 or 4500, or 0 for raw ESP), Remote the peer's address and
// port (0 for raw ESP, IP protocol 50). It is a comparable value that
// allocates nothing and can key a map.
//
// A Bind delivers plain IPv4 or IPv6 addresses, never IPv4-mapped ones (Send
// accepts those too); a link-local IPv6 address carries its interface index
// as a numeric zone ("fe80::1%2"). In a received datagram Local is the
// destination address of its IP header. Given to Send, Local is the source
// address to use, so that a reply leaves from the address the peer used;
// the zero Addr lets the kernel choose (a socket bound to one address always
// uses that one).
type Endpoint struct {
	Local, Remote netip.AddrPort
}

// RawESP reports whether e is the endpoint of ESP sent directly over IP
// (protocol 50) rather than in UDP: its Remote port is zero.
func (e Endpoint) RawESP() bool { return e.Remote.Port() == 0 }

// String returns "udp 192.0.2.1:4500 <-> 198.51.100.7:4500" for UDP and
// "esp 192.0.2.1 <-> 198.51.100.7" for raw ESP, our end first; an unknown
// local address is "*".
func (e Endpoint) String() string {
	local := "*"
	if e.Local.Addr().IsValid() {
		local = e.Local.Addr().String()
	}
	if e.RawESP() {
		return "esp " + local + " <-> " + e.Remote.Addr().String()
	}
	if e.Local.Addr().Is6() {
		local = "[" + local + "]"
	}
	return "udp " + local + ":" + strconv.Itoa(int(e.Local.Port())) + " <-> " + e.Remote.String()
}

// ReceiveFunc receives a batch of datagrams from one socket of a Bind. It
// fills up to len(bufs) datagrams (fewer if sizes or eps are shorter, or the
// Bind's BatchSize is smaller), blocking until at least one arrives: the
// payload of datagram i is bufs[i][:sizes[i]], its endpoints eps[i].
//
// For UDP the payload is the UDP payload: on the NAT-T port it still carries
// the non-ESP marker, a keepalive or ESP, which the caller tells apart with
// Classify. For raw ESP it is the ESP packet, SPI first; the IPv4 header the
// kernel delivers on raw sockets is stripped. A datagram longer than its
// buffer is dropped and counted, never delivered truncated.
//
// The buffers belong to the caller; a ReceiveFunc only writes them during
// the call, and returns 0 at once if given none. A ReceiveFunc may be called
// from one goroutine at a time (concurrent calls are serialized). After the
// Bind is closed it returns net.ErrClosed; other errors come from the
// socket.
type ReceiveFunc func(bufs [][]byte, sizes []int, eps []Endpoint) (n int, err error)

// Bind is the dataplane's network: UDP on the IKE port and the NAT-T port,
// and raw ESP. Its methods are safe for concurrent use.
type Bind interface {
	// Open opens the sockets and returns one ReceiveFunc per socket, each
	// to be called in a loop by its own goroutine. It may be called once.
	Open() ([]ReceiveFunc, error)
	// Send sends each of bufs as one datagram payload from ep.Local to
	// ep.Remote: over UDP from the local port ep.Local.Port(), or as raw
	// ESP when ep.RawESP(). Send does not retain bufs. A datagram the
	// kernel refuses does not stop the others; Send returns the first
	// error.
	Send(bufs [][]byte, ep Endpoint) error
	// BatchSize is the number of datagrams a ReceiveFunc fills at most and
	// Send hands to the kernel in one call; larger sends are split.
	BatchSize() int
	// Close closes the sockets and unblocks every ReceiveFunc, which then
	// return net.ErrClosed. Closing twice returns nil.
	Close() error
}

const (
	// ikePort is the default IKE port (RFC 7296 §2).
	ikePort = 500
	// bindBatchSize is the BatchSize of a UDPBind.
	bindBatchSize = 64
)

// UDPBindConfig configures a UDPBind. The zero value listens on UDP 500 and
// 4500 on the IPv4 and IPv6 wildcard addresses, without raw ESP.
type UDPBindConfig struct {
	// Addrs are the addresses to listen on, one socket per address and
	// port; nil means the IPv4 and IPv6 wildcard addresses, which receive
	// for every local address and send from the address a peer used.
	Addrs []netip.Addr
	// IKEPort is the UDP port of IKE; zero means 500.
	IKEPort uint16
	// NATTPort is the UDP port of NAT traversal; zero means 4500.
	NATTPort uint16
	// NoIKEPort opens the NAT-T port only.
	NoIKEPort bool
	// Ephemeral lets the kernel choose both ports (for tests), ignoring
	// IKEPort and NATTPort; LocalPorts tells which it chose.
	Ephemeral bool
	// RawESP also opens raw IP-protocol-50 sockets, IPv4 and IPv6, which
	// needs CAP_NET_RAW.
	RawESP bool
	// Offload enables UDP segmentation offload on the UDP sockets, as
	// wireguard-go's conn does: Send hands a run of equal-sized datagrams
	// to the kernel as one (UDP_SEGMENT), and a ReceiveFunc accepts
	// datagrams the kernel coalesced (UDP_GRO), copying them apart into
	// the caller's buffers. Where the kernel refuses a coalesced send,
	// its datagrams are sent one by one, and after EIO (no checksum
	// offload) the socket stops trying. Each UDP socket then has 512 KiB
	// of receive buffers.
	Offload bool
	// Logger receives a line per socket opened; nil discards them. Nothing
	// is logged per packet.
	Logger *slog.Logger
}

// UDPBind is the Bind of the host's kernel: UDP sockets on the IKE and NAT-T
// ports and, if configured, raw ESP sockets, with batched I/O (recvmmsg and
// sendmmsg) and per-datagram local addresses (IP_PKTINFO, IPV6_PKTINFO), so
// that a wildcard socket answers from the address a peer used. On Linux its
// steady-state Send and ReceiveFunc allocate nothing. It is safe for
// concurrent use. Only Linux is supported.
type UDPBind struct {
	cfg UDPBindConfig
	log *slog.Logger

	closed            atomic.Bool
	ikePort, nattPort atomic.Uint32 // the ports after Open

	udpBindSys // the platform's part
}

var _ Bind = (*UDPBind)(nil)

// ErrBindOpen is returned by Open on a Bind already opened.
var ErrBindOpen = errors.New("esp: bind already open")

// NewUDPBind checks cfg and returns a UDPBind; Open opens its sockets.
func NewUDPBind(cfg UDPBindConfig) (*UDPBind, error) {
	if cfg.IKEPort == 0 {
		cfg.IKEPort = ikePort
	}
	if cfg.NATTPort == 0 {
		cfg.NATTPort = NATTPort
	}
	if !cfg.Ephemeral && !cfg.NoIKEPort && cfg.IKEPort == cfg.NATTPort {
		return nil, fmt.Errorf("esp: IKE port and NAT-T port are both %d", cfg.IKEPort)
	}
	addrs := make([]netip.Addr, 0, len(cfg.Addrs))
	for _, a := range cfg.Addrs {
		if !a.IsValid() {
			return nil, errors.New("esp: invalid listen address")
		}
		a = a.Unmap()
		for _, b := range addrs {
			if a == b {
				return nil, fmt.Errorf("esp: listen address %s given twice", a)
			}
		}
		addrs = append(addrs, a)
	}
	if cfg.Addrs != nil {
		cfg.Addrs = addrs
	}
	b := &UDPBind{cfg: cfg, log: cfg.Logger}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if !cfg.Ephemeral {
		b.nattPort.Store(uint32(cfg.NATTPort))
		if !cfg.NoIKEPort {
			b.ikePort.Store(uint32(cfg.IKEPort))
		}
	}
	return b, nil
}

// LocalPorts returns the UDP ports of IKE and NAT-T: after Open the ports
// the sockets are bound to, before it the configured ones (zero if
// Ephemeral). ike is zero with NoIKEPort.
func (b *UDPBind) LocalPorts() (ike, natt uint16) {
	return uint16(b.ikePort.Load()), uint16(b.nattPort.Load())
}

// BatchSize returns the number of datagrams moved per system call.
func (b *UDPBind) BatchSize() int { return bindBatchSize }
