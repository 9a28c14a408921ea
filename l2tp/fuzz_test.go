package l2tp

import (
	"encoding/binary"
	"testing"
	"time"
)

func FuzzParse(f *testing.F) {
	m := testMessage()
	whole, _ := AppendControl(nil, Header{TunnelID: 1, Ns: 2, Nr: 3}, &m, []byte("s"))
	f.Add(whole)
	f.Add(AppendData(nil, Header{HasLength: true, Sequenced: true, HasOffset: true, OffsetSize: 2, TunnelID: 1, SessionID: 2}, []byte{0xff, 3, 0xc0, 0x21}))
	f.Add([]byte{0xC8, 0x02, 0, 12, 0, 1, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		h, body, err := ParseHeader(pkt)
		if err != nil {
			return
		}
		if h.HasLength && int(h.Length) != len(pkt) {
			t.Fatalf("Length %d for %d octets", h.Length, len(pkt))
		}
		if len(body) > len(pkt) {
			t.Fatal("payload longer than the packet")
		}
		// Re-encoding the header gives the same parse.
		again := append(AppendHeader(nil, h, len(body)), body...)
		h2, body2, err := ParseHeader(again)
		h.Length, h2.Length = 0, 0
		if err != nil || h2 != h || string(body2) != string(body) {
			t.Fatalf("re-encoded header %+v %v, was %+v", h2, err, h)
		}
		m, err := ParseMessage(body, []byte("s"))
		if err != nil {
			return
		}
		b, err := m.Append(nil, []byte("s"))
		if err != nil {
			t.Fatalf("parsed message does not encode: %v", err)
		}
		m2, err := ParseMessage(b, []byte("s"))
		if err != nil || len(m2.AVPs) != len(m.AVPs) || m2.Type != m.Type {
			t.Fatalf("round trip: %v", err)
		}
		for i := range m.AVPs {
			if string(m.AVPs[i].Value) != string(m2.AVPs[i].Value) || m.AVPs[i].Type != m2.AVPs[i].Type {
				t.Fatalf("AVP %d changed", i)
			}
		}
	})
}

// FuzzServer feeds a Server datagrams cut from the input: each is preceded
// by a two-octet length and a one-octet instruction that picks the peer and
// may first advance the clock. The seed runs a valid tunnel and session.
func FuzzServer(f *testing.F) {
	var seed []byte
	for i, p := range fuzzServerSeed() {
		op := byte(0)
		if i == 5 {
			op = 0x80 // a ZLB after a clock step of 0 s
		}
		seed = binary.BigEndian.AppendUint16(seed, uint16(len(p)))
		seed = append(seed, op)
		seed = append(seed, p...)
	}
	f.Add(seed)
	f.Fuzz(fuzzServer)
}

// fuzzServerSeed returns the datagrams of a LAC that brings up a tunnel
// and a session and sends an LCP Configure-Request.
func fuzzServerSeed() [][]byte {
	var out [][]byte
	add := func(pkt []byte) { out = append(out, pkt) }
	m := sccrq(0x4001, nil)
	p, _ := AppendControl(nil, Header{}, &m, nil)
	add(p)
	// The Server's IDs come from countRand: tunnel 0x0102, session 0x0304.
	m = NewMessage(MsgSCCCN)
	p, _ = AppendControl(nil, Header{TunnelID: 0x0102, Ns: 1, Nr: 1}, &m, nil)
	add(p)
	m = NewMessage(MsgICRQ)
	m.AddUint16(AVPAssignedSessionID, 9)
	p, _ = AppendControl(nil, Header{TunnelID: 0x0102, Ns: 2, Nr: 1}, &m, nil)
	add(p)
	m = NewMessage(MsgICCN)
	p, _ = AppendControl(nil, Header{TunnelID: 0x0102, SessionID: 0x0304, Ns: 3, Nr: 2}, &m, nil)
	add(p)
	add(AppendData(nil, Header{TunnelID: 0x0102, SessionID: 0x0304}, []byte{0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4}))
	add(AppendHeader(nil, Header{Control: true, TunnelID: 0x0102, Ns: 4, Nr: 3}, 0))
	return out
}

func fuzzServer(t *testing.T, in []byte) {
	srv := newTestServer(t, Config{MaxTunnels: 4, MaxSessions: 2, HelloInterval: 10 * time.Second})
	now := t0
	peers := [2]Peer{newLAC(t, srv).peer, {Conn: 2}}
	for len(in) >= 3 {
		n := int(binary.BigEndian.Uint16(in))
		op := in[2]
		in = in[3:]
		n = min(n, len(in))
		pkt := in[:n]
		in = in[n:]
		if op&0x80 != 0 {
			now = now.Add(time.Duration(op&0x3f) * time.Second)
			srv.HandleTimeout(now)
		}
		_, _, _ = srv.HandleDatagram(pkt, peers[op&1], now)
		for {
			d, ok := srv.NextDatagram()
			if !ok {
				break
			}
			if _, _, err := ParseHeader(d.Data); err != nil {
				t.Fatalf("Server sent a bad datagram: %v", err)
			}
		}
		for {
			if _, ok := srv.NextEvent(); !ok {
				break
			}
		}
		if d := srv.NextDeadline(); !d.IsZero() && d.Before(now) {
			srv.HandleTimeout(now)
		}
	}
	if srv.Tunnels() > 4 {
		t.Fatalf("%d tunnels with a limit of 4", srv.Tunnels())
	}
	// Whatever state it reached, Close empties the Server within the
	// retransmission cycle or the hold period.
	srv.Close(now)
	for range 100 {
		d := srv.NextDeadline()
		if d.IsZero() {
			break
		}
		now = d
		srv.HandleTimeout(now)
		for {
			if _, ok := srv.NextDatagram(); !ok {
				break
			}
		}
	}
	if srv.Tunnels() != 0 {
		t.Fatalf("%d tunnels left after Close", srv.Tunnels())
	}
}
