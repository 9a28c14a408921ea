package tuntest

import (
	"errors"
	"fmt"
	"os"
	"net/netip"
	"sync"

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
//     (SetWriteDeadline is not implemented). The stack answers echo requests
//     to its own addresses by itself.
//
// The stack's goroutines block while nobody reads the device, so keep a
// reader (such as Forward) running until Close. Close is safe to call more
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
