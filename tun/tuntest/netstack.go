package tuntest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/ikego/ikego/tun"
	"golang.zx2c4.com/wireguard/tun/netstack"
)

// NewNetstack returns a tun.Device backed by a userspace TCP/IP stack
// (gVisor's, through wireguard-go's netstack.CreateNetTUN) that owns addrs,
// and the *netstack.Net to open connections in that stack. It needs no
// privilege. mtu 0 means 1400. The stack has a default route through the
// device for each address family in addrs and no DNS servers, so dial
// literal addresses.
//
// Packets the stack sends come out of the device's Read, one per call
// (BatchSize is 1); packets written to the device go into the stack. Connect
// two such devices with two Forward goroutines, or one to the dataplane under
// test, to run real traffic:
//
//   - TCP: Net.ListenTCPAddrPort, Net.DialContextTCPAddrPort, or
//     Net.Dial("tcp", "198.18.0.2:80"); the conns are gonet conns with
//     working deadlines.
//   - UDP: Net.ListenUDPAddrPort, Net.DialUDPAddrPort.
//   - Ping: Net.Dial("ping4", "198.18.0.2") or Net.Dial("ping6", ...), or
//     Net.DialPingAddr(laddr, raddr), give a *netstack.PingConn: an ICMP
//     datagram socket like Linux's unprivileged ping sockets. Write takes an
//     ICMP echo request message without IP header (type 8 or 128, code 0; the
//     stack sets the identifier to the socket's and computes the checksum, so
//     Ping(...)[20:] or Ping(...)[40:] will do), Read returns the echo reply
//     message without IP header, and SetReadDeadline bounds the wait
//     (SetWriteDeadline is not implemented). Beware: Read waits for the
//     endpoint to signal a packet, which it does only when a packet lands in
//     an empty receive queue, so a reply that arrives before Read starts
//     waiting is never seen by that socket. Start Read before Write, and
//     dial a new socket if no reply comes; PingNetstack does both. The
//     stack answers echo requests to its own addresses by itself.
//
// The stack hands each packet it sends to Read over an unbuffered channel:
// its goroutines, and a Write whose packet the stack answers at once (an
// echo request, a TCP SYN), block until the device is read. Keep a reader
// (such as Forward) running until Close. Close is safe to call more
// than once; it drains the device while the stack shuts down, and Read then
// returns os.ErrClosed.
func NewNetstack(addrs []netip.Addr, mtu int) (tun.Device, *netstack.Net, error) {
	if mtu == 0 {
		mtu = 1400
	}
	dev, n, err := netstack.CreateNetTUN(addrs, nil, mtu)
	if err != nil {
		return nil, nil, fmt.Errorf("tuntest: creating netstack for %v: %w", addrs, err)
	}
	return &netDevice{Device: dev, mtu: mtu}, n, nil
}

// netDevice makes netstack's Close idempotent and keeps it from deadlocking
// or panicking: netstack hands each outgoing packet to Read over an
// unbuffered channel that its Close closes, so a packet the stack is still
// sending while it shuts down needs a reader.
type netDevice struct {
	tun.Device
	mtu       int
	closeOnce sync.Once
	closeErr  error
}

func (d *netDevice) Close() error {
	d.closeOnce.Do(func() {
		drained := make(chan struct{})
		go func() {
			defer close(drained)
			bufs := [][]byte{make([]byte, d.mtu)}
			sizes := []int{0}
			for {
				if _, err := d.Device.Read(bufs, sizes, 0); errors.Is(err, os.ErrClosed) {
					return
				}
			}
		}()
		d.closeErr = d.Device.Close()
		<-drained
	})
	return d.closeErr
}

// PingNetstack sends an echo request with sequence number seq and payload
// from stack n to dst through a netstack ping socket, and returns the reply:
// the ICMP or ICMPv6 echo reply message without IP header. It waits at most
// timeout. The stack chooses the identifier.
//
// It works around the lost wake-up of netstack's PingConn (see NewNetstack):
// each attempt starts Read before Write on a new socket and, when no reply
// comes within a second, closes the socket and tries again; so a reply can
// take up to a second longer than it would with ping(8).
func PingNetstack(n *netstack.Net, dst netip.Addr, seq uint16, payload []byte, timeout time.Duration) ([]byte, error) {
	network, typ := "ping4", uint8(icmpEchoRequest)
	if dst.Unmap().Is6() {
		network, typ = "ping6", icmpv6EchoRequest
	}
	req := make([]byte, icmpHeaderLen, icmpHeaderLen+len(payload))
	req[0] = typ // code, checksum and identifier are the stack's
	binary.BigEndian.PutUint16(req[6:], seq)
	req = append(req, payload...)

	deadline := time.Now().Add(timeout)
	for {
		wait := min(time.Until(deadline), time.Second)
		if wait <= 0 {
			return nil, fmt.Errorf("tuntest: %s %v: no echo reply within %v", network, dst, timeout)
		}
		conn, err := n.Dial(network, dst.Unmap().String())
		if err != nil {
			return nil, fmt.Errorf("tuntest: %s %v: %w", network, dst, err)
		}
		conn.SetReadDeadline(time.Now().Add(wait))
		type read struct {
			n   int
			err error
		}
		buf := make([]byte, icmpHeaderLen+len(payload)+64)
		got := make(chan read, 1)
		go func() {
			n, err := conn.Read(buf)
			got <- read{n, err}
		}()
		if _, err := conn.Write(req); err != nil {
			conn.Close()
			<-got
			return nil, fmt.Errorf("tuntest: %s %v: %w", network, dst, err)
		}
		r := <-got
		conn.Close()
		if r.err == nil {
			return buf[:r.n], nil
		}
		if !errors.Is(r.err, os.ErrDeadlineExceeded) {
			return nil, fmt.Errorf("tuntest: %s %v: %w", network, dst, r.err)
		}
	}
}
