package tun_test

import (
	"errors"
	"fmt"
	"log"
	"net/netip"
	"os"

	"github.com/ikego/ikego/tun"
)

// ExampleCreate creates a TUN device for a gateway that tunnels
// 198.51.100.128/25 and reads packets from it in batches, at the offset the
// ESP dataplane needs in front of each packet (esp.Headroom, 64).
func ExampleCreate() {
	dev, err := tun.Create(tun.Config{
		Name:   "ikego0",
		MTU:    1400,
		Addrs:  []netip.Prefix{netip.MustParsePrefix("198.18.10.1/24"), netip.MustParsePrefix("2001:db8:10::1/64")},
		Routes: []netip.Prefix{netip.MustParsePrefix("198.51.100.128/25")},
	})
	if err != nil {
		// Without CAP_NET_ADMIN: "tun: creating the TUN device needs
		// CAP_NET_ADMIN (run as root)".
		log.Fatal(err)
	}
	defer dev.Close()

	const offset = 64 // esp.Headroom, which is at least tun.Headroom
	bufs := make([][]byte, dev.BatchSize())
	for i := range bufs {
		bufs[i] = make([]byte, offset+1400)
	}
	sizes := make([]int, len(bufs))
	for {
		n, err := dev.Read(bufs, sizes, offset)
		for i := range n {
			fmt.Printf("read %d bytes\n", sizes[i])
		}
		if errors.Is(err, os.ErrClosed) {
			return
		}
		if err != nil && !errors.Is(err, tun.ErrTooManySegments) {
			log.Fatal(err)
		}
	}
}
