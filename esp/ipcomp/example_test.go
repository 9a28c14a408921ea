package ipcomp_test

import (
	"bytes"
	"fmt"

	"github.com/ikego/ikego/esp/ipcomp"
)

func Example() {
	// Sender: one Compressor per outbound IPComp association, shared by all
	// goroutines. The CPI is the one the peer chose.
	c := &ipcomp.Compressor{CPI: 0x1234}
	payload := bytes.Repeat([]byte("GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n"), 20)

	pkt := make([]byte, len(payload))
	n, ok := c.Compress(pkt, 6 /* TCP */, payload)
	if !ok {
		// Not worth it: send payload as it is, without an IPComp header.
		fmt.Println("sent uncompressed")
		return
	}
	pkt = pkt[:n]
	fmt.Println("compressed smaller:", len(pkt) < len(payload))
	// The caller now sets the IP protocol field to ipcomp.Protocol (108).

	// Receiver: bound the output by what an IP datagram can hold.
	out := make([]byte, 65535-20)
	nh, cpi, m, err := ipcomp.Decompress(out, pkt)
	if err != nil {
		fmt.Println("drop:", err)
		return
	}
	fmt.Printf("next header %d, CPI %#x, same payload: %v\n", nh, cpi, bytes.Equal(out[:m], payload))

	// Output:
	// compressed smaller: true
	// next header 6, CPI 0x1234, same payload: true
}
