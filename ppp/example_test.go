package ppp_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/ikego/ikego/ppp"
)

// A Session is driven by its owner: frames from the L2TP session go into
// HandleFrame, frames from NextFrame go out, and HandleTimeout runs at
// NextDeadline.
func ExampleSession() {
	cfg := &ppp.Config{
		Name: "vpn.example",
		Secret: func(user string) (string, bool) {
			return "password of " + user, user == "alice"
		},
		LocalAddr: netip.MustParseAddr("198.18.200.1"),
		AssignAddr: func(user string) (netip.Addr, error) {
			return netip.MustParseAddr("198.18.200.2"), nil
		},
		DNS:  []netip.Addr{netip.MustParseAddr("198.18.1.53")},
		Auth: []ppp.AuthProtocol{ppp.AuthMSCHAPv2, ppp.AuthCHAPMD5},
	}
	s, err := ppp.NewSession(cfg)
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.Start(now) // the L2TP session is up

	for {
		frame, ok := s.NextFrame()
		if !ok {
			break
		}
		proto, info, _ := ppp.ParseFrame(frame)
		pkt, _ := ppp.ParsePacket(info)
		opts, _ := ppp.ParseOptions(pkt.Data)
		fmt.Println(proto, pkt.Code, "with", len(opts), "options") // to the L2TP session
	}
	fmt.Println(s.Phase(), s.LCPState(), "retransmit in", s.NextDeadline().Sub(now))

	// A peer that sends nothing: after Max-Configure requests LCP gives up.
	for d := s.NextDeadline(); !d.IsZero(); d = s.NextDeadline() {
		s.HandleTimeout(d)
		now = d
	}
	for {
		ev, ok := s.NextEvent()
		if !ok {
			break
		}
		fmt.Println(ev.Kind, "after", now.Sub(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	}
	// Output:
	// LCP Configure-Request with 2 options
	// Establish Req-Sent retransmit in 3s
	// link down after 30s
}
