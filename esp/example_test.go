package esp_test

import (
	"fmt"
	"net/netip"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/tun/tuntest"
)

// One ESP SA in each direction with the same keys, as the two ends of a
// tunnel have them: Seal protects an IPv4 packet in place, Open checks and
// decrypts it, and a replayed packet is refused. Gateways use an Engine,
// which does this for every packet between a TUN device and a Bind.
func ExampleNewSA() {
	p := esp.SAParams{
		SPI: 0x1001, Mode: esp.ModeTunnel, Encr: esp.EncrAESGCM16,
		EncrKey:      make([]byte, 16+4), // AES-128 key and salt, from IKE in real use
		Local:        netip.MustParseAddrPort("198.51.100.1:4500"),
		Remote:       netip.MustParseAddrPort("198.51.100.2:4500"),
		ReplayWindow: 1024,
	}
	out, err := esp.NewSA(p)
	if err != nil {
		panic(err)
	}
	p.Local, p.Remote = p.Remote, p.Local
	in, err := esp.NewSA(p)
	if err != nil {
		panic(err)
	}

	ping := tuntest.Ping(netip.MustParseAddr("198.18.2.1"), netip.MustParseAddr("203.0.113.1"), 1, 1, []byte("hello"))
	buf := make([]byte, out.HeaderLen(), 2048) // headroom for the ESP header, room for the trailer
	buf = append(buf, ping...)
	sealed, err := out.Seal(buf, out.HeaderLen())
	if err != nil {
		panic(err)
	}
	// 68 = SPI and sequence number (8) + IV (8) + the packet, padded with
	// its 2-octet trailer to a multiple of 4 (36) + ICV (16).
	wire := append([]byte(nil), sealed...) // what travels, kept for the replay
	fmt.Printf("ESP packet: SPI %08x, %d octets for a %d-octet packet\n", in.SPI(), len(sealed), len(ping))

	opened, err := in.Open(sealed, 0)
	if err != nil {
		panic(err)
	}
	src, dst, _, _, _, _ := tuntest.ParseEcho(opened)
	fmt.Println("opened: ping from", src, "to", dst)

	_, err = in.Open(append(make([]byte, 0, 2048), wire...), 0)
	fmt.Println("replayed:", err)
	// Output:
	// ESP packet: SPI 00001001, 68 octets for a 33-octet packet
	// opened: ping from 198.18.2.1 to 203.0.113.1
	// replayed: esp: replayed packet
}
