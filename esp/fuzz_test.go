package esp

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
)

// fuzzSAs returns inbound SAs of several kinds and the outbound twins that
// make valid seeds for them.
func fuzzSAs(t testing.TB) (outs, ins []*SA) {
	for _, c := range []struct {
		s testSuite
		o pairOpts
	}{
		{testSuites[0], pairOpts{window: 64}},
		{testSuites[8], pairOpts{mode: ModeTransport, window: 64, esn: true}},
		{testSuites[5], pairOpts{mode: ModeTransport, v6: true, window: 0, ipcomp: true}},
		{testSuites[11], pairOpts{window: 32, ipcomp: true}},
		{testSuites[12], pairOpts{mode: ModeTransport, window: 64, natOrig: netip.MustParseAddr("198.18.64.2")}},
	} {
		o, i := newPair(t, c.s, c.o)
		outs, ins = append(outs, o), append(ins, i)
	}
	return outs, ins
}

// FuzzOpen feeds arbitrary packets to Open of SAs of every kind: no panic, a
// rejection is one of the package's errors, and an accepted packet lies
// within the buffer.
func FuzzOpen(f *testing.F) {
	outs, _ := fuzzSAs(f)
	for i, o := range outs {
		src, dst := addrA4, addrB4
		if o.local.Addr().Is6() {
			src, dst = addrA6, addrB6
		}
		for _, n := range []int{0, 30, 200} {
			b, off := inBuf(udpPacket(src, dst, n, n == 200, byte(i)))
			p, err := o.Seal(b, off)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(uint8(i), p)
		}
	}
	f.Add(uint8(0), []byte{})
	f.Add(uint8(1), []byte{0xc0, 0xff, 0xee, 0x01, 0, 0, 0, 1})
	known := []error{ErrUnknownSPI, ErrAuth, ErrReplay, ErrPadding, ErrTruncated, ErrTooBig, ErrNoRoom,
		ErrDummy, ErrNextHeader, ErrCompression}
	_, ins := fuzzSAs(f)
	f.Fuzz(func(t *testing.T, which uint8, pkt []byte) {
		in := ins[int(which)%len(ins)]
		in.replay.init(int(in.replay.size))
		before := in.Stats().Packets
		b, off := inBuf(pkt)
		got, err := in.Open(b, off)
		if err != nil {
			for _, k := range known {
				if errors.Is(err, k) {
					return
				}
			}
			t.Fatalf("unexpected error %v", err)
		}
		if len(got) == 0 || len(got) > cap(b) {
			t.Fatalf("accepted packet of %d octets", len(got))
		}
		if st := in.Stats(); st.Packets != before+1 {
			t.Fatalf("stats %+v", st)
		}
	})
}

// FuzzSealOpen seals arbitrary payloads and opens them again.
func FuzzSealOpen(f *testing.F) {
	f.Add(uint8(0), []byte("payload"))
	f.Add(uint8(3), bytes.Repeat([]byte("compress me "), 100))
	outs, ins := fuzzSAs(f)
	f.Fuzz(func(t *testing.T, which uint8, payload []byte) {
		i := int(which) % len(outs)
		ins[i].replay.init(int(ins[i].replay.size))
		b := make([]byte, Headroom+len(payload), Headroom+len(payload)+Tailroom)
		copy(b[Headroom:], payload)
		p, err := outs[i].SealPayload(b, Headroom, ProtoUDP, 1)
		if err != nil {
			if errors.Is(err, ErrTooBig) {
				return
			}
			t.Fatal(err)
		}
		rb, off := inBuf(p)
		got, nh, err := ins[i].OpenPayload(rb, off)
		if err != nil {
			t.Fatal(err)
		}
		if nh != ProtoUDP || !bytes.Equal(got, payload) {
			t.Fatalf("round trip changed the payload")
		}
	})
}

// FuzzDecapUDP feeds arbitrary datagrams to the NAT-T demultiplexer.
func FuzzDecapUDP(f *testing.F) {
	f.Add([]byte{0x11, 0x94, 0x11, 0x94, 0, 9, 0, 0, 0xff})
	f.Add([]byte{0x11, 0x94, 0x11, 0x94, 0, 40, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4})
	f.Add([]byte{0x11, 0x94, 0x11, 0x94, 0, 16, 0, 0, 0xc0, 0xff, 0xee, 1, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, d []byte) {
		src, dst, kind, payload, err := DecapUDP(d)
		if err != nil {
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrBadUDP) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if src != uint16(d[0])<<8|uint16(d[1]) || dst != uint16(d[2])<<8|uint16(d[3]) {
			t.Fatal("ports")
		}
		switch kind {
		case KindKeepalive:
			if payload != nil {
				t.Fatal("keepalive with payload")
			}
		case KindIKE:
			if !bytes.Equal(d[8:12], []byte{0, 0, 0, 0}) {
				t.Fatal("IKE without marker")
			}
		case KindESP:
			if len(payload) < 8 {
				t.Fatal("short ESP")
			}
		default:
			t.Fatalf("kind %v", kind)
		}
	})
}

// FuzzOpenVerified gets past the ICV: it seals arbitrary payloads with an
// arbitrary next header (IPComp included) and opens them with Open, so that
// everything after the integrity check (padding, inner headers, inflating,
// header rebuilding) meets hostile content.
func FuzzOpenVerified(f *testing.F) {
	f.Add(uint8(0), uint8(ProtoIPv4), []byte{0x45, 0, 0, 20})
	f.Add(uint8(2), uint8(ProtoIPComp), []byte{4, 0, 0x12, 0x34, 0xff, 0xff})
	f.Add(uint8(3), uint8(ProtoIPComp), []byte{41, 0, 0x12, 0x34, 3, 0})
	f.Add(uint8(4), uint8(ProtoTCP), make([]byte, 20))
	known := []error{ErrPadding, ErrTooBig, ErrNoRoom, ErrDummy, ErrNextHeader, ErrCompression}
	outs, ins := fuzzSAs(f)
	for _, o := range outs {
		o.comp = nil // send the payload as it is, even with nh 108
	}
	f.Fuzz(func(t *testing.T, which, nh uint8, payload []byte) {
		i := int(which) % len(outs)
		ins[i].replay.init(int(ins[i].replay.size))
		b := make([]byte, Headroom+len(payload), Headroom+len(payload)+Tailroom)
		copy(b[Headroom:], payload)
		p, err := outs[i].SealPayload(b, Headroom, nh, 1)
		if err != nil {
			return
		}
		rb, off := inBuf(p)
		if _, err := ins[i].Open(rb, off); err != nil {
			for _, k := range known {
				if errors.Is(err, k) {
					return
				}
			}
			t.Fatalf("unexpected error %v", err)
		}
	})
}
