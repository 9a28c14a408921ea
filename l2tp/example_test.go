package l2tp_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/ikego/ikego/l2tp"
	"github.com/ikego/ikego/ppp"
)

// A Server is driven by its owner: datagrams from UDP port 1701 (for
// L2TP/IPsec, decrypted from the client's transport-mode SA) go into
// HandleDatagram with a Peer naming that SA, datagrams from NextDatagram go
// out, and HandleTimeout runs at NextDeadline.
func ExampleServer() {
	srv, err := l2tp.NewServer(&l2tp.Config{
		HostName: "vpn.example",
		PPP: func(info l2tp.SessionInfo) (*ppp.Config, error) {
			return &ppp.Config{
				Secret:     func(user string) (string, bool) { return "", false },
				LocalAddr:  netip.MustParseAddr("198.18.200.1"),
				AssignAddr: func(string) (netip.Addr, error) { return netip.MustParseAddr("198.18.200.2"), nil },
			}, nil
		},
	})
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	peer := l2tp.Peer{Conn: 1, Addr: netip.MustParseAddrPort("198.51.100.1:1701")}

	// A LAC's SCCRQ.
	m := l2tp.NewMessage(l2tp.MsgSCCRQ)
	m.Add(l2tp.AVPProtocolVersion, []byte{1, 0})
	m.Add(l2tp.AVPHostName, []byte("laptop"))
	m.AddUint32(l2tp.AVPFramingCapabilities, 1)
	m.AddUint16(l2tp.AVPAssignedTunnelID, 42)
	sccrq, _ := l2tp.AppendControl(nil, l2tp.Header{}, &m, nil)
	if _, _, err := srv.HandleDatagram(sccrq, peer, now); err != nil {
		panic(err)
	}

	for {
		d, ok := srv.NextDatagram()
		if !ok {
			break
		}
		h, body, _ := l2tp.ParseHeader(d.Data)
		reply, _ := l2tp.ParseMessage(body, nil)
		fmt.Println(reply.Type, "to tunnel", h.TunnelID, "Ns", h.Ns, "Nr", h.Nr) // to UDP
	}
	fmt.Println("retransmit in", srv.NextDeadline().Sub(now))
	// Output:
	// SCCRP to tunnel 42 Ns 0 Nr 1
	// retransmit in 1s
}
