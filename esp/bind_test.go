package esp

import (
	"net/netip"
	"testing"
)

func TestEndpoint(t *testing.T) {
	ap := netip.MustParseAddrPort
	tests := []struct {
		ep   Endpoint
		raw  bool
		want string
	}{
		{Endpoint{ap("192.0.2.1:4500"), ap("198.51.100.7:4500")}, false, "udp 192.0.2.1:4500 <-> 198.51.100.7:4500"},
		{Endpoint{ap("192.0.2.1:500"), ap("198.51.100.7:62001")}, false, "udp 192.0.2.1:500 <-> 198.51.100.7:62001"},
		{Endpoint{ap("[2001:db8::1]:4500"), ap("[2001:db8::2]:4500")}, false, "udp [2001:db8::1]:4500 <-> [2001:db8::2]:4500"},
		{Endpoint{netip.AddrPortFrom(netip.Addr{}, 500), ap("198.51.100.7:500")}, false, "udp *:500 <-> 198.51.100.7:500"},
		{Endpoint{ap("192.0.2.1:0"), ap("198.51.100.7:0")}, true, "esp 192.0.2.1 <-> 198.51.100.7"},
		{Endpoint{Remote: ap("[2001:db8::2]:0")}, true, "esp * <-> 2001:db8::2"},
	}
	for _, tt := range tests {
		if got := tt.ep.RawESP(); got != tt.raw {
			t.Errorf("%v.RawESP() = %v, want %v", tt.ep, got, tt.raw)
		}
		if got := tt.ep.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
	// Comparable and usable as a map key.
	m := map[Endpoint]int{tests[0].ep: 1}
	if m[Endpoint{ap("192.0.2.1:4500"), ap("198.51.100.7:4500")}] != 1 {
		t.Error("equal endpoints are different map keys")
	}
	if n := testing.AllocsPerRun(100, func() { _ = m[tests[1].ep]; _ = tests[4].ep.RawESP() }); n != 0 {
		t.Errorf("Endpoint map lookup: %v allocations, want 0", n)
	}
}

func TestNewUDPBind(t *testing.T) {
	a := netip.MustParseAddr
	bad := []UDPBindConfig{
		{IKEPort: 4500},
		{IKEPort: 1000, NATTPort: 1000},
		{Addrs: []netip.Addr{{}}},
		{Addrs: []netip.Addr{a("127.0.0.1"), a("::ffff:127.0.0.1")}},
	}
	for _, cfg := range bad {
		if _, err := NewUDPBind(cfg); err == nil {
			t.Errorf("NewUDPBind(%+v) succeeded, want an error", cfg)
		}
	}
	for _, tt := range []struct {
		cfg        UDPBindConfig
		ike, natt  uint16
		wantAddrs  []netip.Addr
		wantNilAdr bool
	}{
		{UDPBindConfig{}, 500, 4500, nil, true},
		{UDPBindConfig{IKEPort: 4500, NoIKEPort: true}, 0, 4500, nil, true},
		{UDPBindConfig{IKEPort: 5000, NATTPort: 5001}, 5000, 5001, nil, true},
		{UDPBindConfig{Ephemeral: true, IKEPort: 5000}, 0, 0, nil, true},
		{UDPBindConfig{Addrs: []netip.Addr{a("::ffff:127.0.0.1"), a("::1")}}, 500, 4500, []netip.Addr{a("127.0.0.1"), a("::1")}, false},
	} {
		b, err := NewUDPBind(tt.cfg)
		if err != nil {
			t.Fatalf("NewUDPBind(%+v): %v", tt.cfg, err)
		}
		if ike, natt := b.LocalPorts(); ike != tt.ike || natt != tt.natt {
			t.Errorf("NewUDPBind(%+v).LocalPorts() = %d, %d, want %d, %d", tt.cfg, ike, natt, tt.ike, tt.natt)
		}
		if (b.cfg.Addrs == nil) != tt.wantNilAdr || len(b.cfg.Addrs) != len(tt.wantAddrs) {
			t.Errorf("NewUDPBind(%+v): addresses %v, want %v", tt.cfg, b.cfg.Addrs, tt.wantAddrs)
		}
		for i := range tt.wantAddrs {
			if b.cfg.Addrs[i] != tt.wantAddrs[i] {
				t.Errorf("NewUDPBind(%+v): addresses %v, want %v", tt.cfg, b.cfg.Addrs, tt.wantAddrs)
			}
		}
		if b.BatchSize() < 1 {
			t.Errorf("BatchSize() = %d", b.BatchSize())
		}
		// Closing a bind never opened is fine, twice too.
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := b.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	}
}
