package tuntest_test

import (
	"fmt"
	"net/netip"

	"github.com/ikego/ikego/tun"
	"github.com/ikego/ikego/tun/tuntest"
)

// ExampleNewChannel plays both sides of a device: the test sends a packet
// that the code under test reads, and receives what that code writes.
func ExampleNewChannel() {
	dev := tuntest.NewChannel(1400)
	defer dev.Close()
	fmt.Println("event up:", <-dev.Events() == tun.EventUp)

	a, b := netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.0.2")
	dev.Inbound <- tuntest.Ping(a, b, 1, 1, []byte("hello"))
	dev.Inbound <- tuntest.Ping(a, b, 1, 2, []byte("hello"))

	// The code under test reads a batch at its offset...
	bufs := make([][]byte, dev.BatchSize())
	for i := range bufs {
		bufs[i] = make([]byte, tun.Headroom+1400)
	}
	sizes := make([]int, len(bufs))
	n, err := dev.Read(bufs, sizes, tun.Headroom)
	fmt.Println("read", n, "packets, error", err)

	// ...and writes them back.
	for i := range n {
		bufs[i] = bufs[i][:tun.Headroom+sizes[i]]
	}
	if _, err := dev.Write(bufs[:n], tun.Headroom); err != nil {
		panic(err)
	}
	for range n {
		src, dst, typ, id, seq, ok := tuntest.ParseEcho(<-dev.Outbound)
		fmt.Println(src, "->", dst, "type", typ, "id", id, "seq", seq, "ok", ok)
	}
	// Output:
	// event up: true
	// read 2 packets, error <nil>
	// 198.18.0.1 -> 198.18.0.2 type 8 id 1 seq 1 ok true
	// 198.18.0.1 -> 198.18.0.2 type 8 id 1 seq 2 ok true
}
