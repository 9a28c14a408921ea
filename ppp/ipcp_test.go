package ppp

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
)

func ip4(s string) []byte {
	a := netip.MustParseAddr(s).As4()
	return a[:]
}

func TestIPCPCheckRequest(t *testing.T) {
	tests := []struct {
		name     string
		nbns     bool
		opts     []Option
		nak, rej []Option
	}{
		// RFC 1332, Section 3.3 and RFC 1877: 0.0.0.0 asks for a value.
		{"zeros", false,
			[]Option{{3, ip4("0.0.0.0")}, {129, ip4("0.0.0.0")}, {131, ip4("0.0.0.0")}},
			[]Option{{3, ip4("198.18.200.2")}, {129, ip4("198.18.1.53")}, {131, ip4("198.18.1.54")}}, nil},
		{"assigned", false,
			[]Option{{3, ip4("198.18.200.2")}, {129, ip4("198.18.1.53")}, {131, ip4("198.18.1.54")}}, nil, nil},
		{"other address", false, []Option{{3, ip4("10.1.2.3")}}, []Option{{3, ip4("198.18.200.2")}}, nil},
		{"no address", false, []Option{{129, ip4("198.18.1.53")}}, []Option{{3, ip4("198.18.200.2")}}, nil},
		{"VJ compression", false,
			[]Option{{3, ip4("0.0.0.0")}, {2, []byte{0x00, 0x2D, 0x0F, 0x01}}},
			[]Option{{3, ip4("198.18.200.2")}}, []Option{{2, []byte{0x00, 0x2D, 0x0F, 0x01}}}},
		{"NBNS not configured", false,
			[]Option{{3, ip4("198.18.200.2")}, {130, ip4("0.0.0.0")}, {132, ip4("0.0.0.0")}},
			nil, []Option{{130, ip4("0.0.0.0")}, {132, ip4("0.0.0.0")}}},
		{"NBNS configured", true,
			[]Option{{3, ip4("198.18.200.2")}, {130, ip4("0.0.0.0")}},
			[]Option{{130, ip4("198.18.1.137")}}, nil},
		// A malformed IP-Address is rejected, and an address offered;
		// the automaton sends only the Reject (RFC 1661, Section 5.4).
		{"bad length", false, []Option{{3, []byte{1, 2}}}, []Option{{3, ip4("198.18.200.2")}}, []Option{{3, []byte{1, 2}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			o := &ipcpOptions{local: serverAddr, dns: [2]netip.Addr{dns1, dns2},
				assign: func() (netip.Addr, error) { calls++; return poolAddr, nil }}
			if tt.nbns {
				o.nbns[0] = netip.MustParseAddr("198.18.1.137")
			}
			o.ResetRequest()
			nak, rej := o.CheckRequest(tt.opts)
			if !bytes.Equal(AppendOptions(nil, nak), AppendOptions(nil, tt.nak)) {
				t.Errorf("nak % x, want % x", AppendOptions(nil, nak), AppendOptions(nil, tt.nak))
			}
			if !bytes.Equal(AppendOptions(nil, rej), AppendOptions(nil, tt.rej)) {
				t.Errorf("rej % x, want % x", AppendOptions(nil, rej), AppendOptions(nil, tt.rej))
			}
			if calls > 1 {
				t.Errorf("pool asked %d times", calls)
			}
			// Our request offers the server's address.
			if got := o.AppendRequest(nil); !bytes.Equal(got, append([]byte{3, 6}, ip4("198.18.200.1")...)) {
				t.Errorf("request % x", got)
			}
		})
	}
}

func TestIPCPPoolFailure(t *testing.T) {
	errEmpty := errors.New("pool empty")
	o := &ipcpOptions{assign: func() (netip.Addr, error) { return netip.Addr{}, errEmpty }}
	o.ResetRequest()
	_, rej := o.CheckRequest([]Option{{3, ip4("0.0.0.0")}})
	if len(rej) != 1 || !errors.Is(o.poolErr, errEmpty) {
		t.Errorf("rej %v, poolErr %v", rej, o.poolErr)
	}
	if got := o.AppendRequest(nil); len(got) != 0 {
		t.Errorf("request % x without a local address", got)
	}
}
