package tun

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// attrs splits netlink attributes, failing on a malformed one.
func attrs(t *testing.T, b []byte) map[uint16][]byte {
	t.Helper()
	m := map[uint16][]byte{}
	for len(b) > 0 {
		if len(b) < 4 {
			t.Fatalf("%d trailing bytes", len(b))
		}
		l := int(binary.NativeEndian.Uint16(b))
		typ := binary.NativeEndian.Uint16(b[2:])
		if l < 4 || nlAlign(l) > len(b) {
			t.Fatalf("attribute %d has length %d, %d bytes left", typ, l, len(b))
		}
		if _, dup := m[typ]; dup {
			t.Fatalf("attribute %d twice", typ)
		}
		m[typ] = b[4:l]
		b = b[nlAlign(l):]
	}
	return m
}

func u32(b []byte) uint32 { return binary.NativeEndian.Uint32(b) }

func TestAddrMsg(t *testing.T) {
	for _, tc := range []struct {
		p      string
		family uint8
		flags  uint32
	}{
		{"198.18.10.1/24", unix.AF_INET, 0},
		{"2001:db8:10::1/64", unix.AF_INET6, unix.IFA_F_NODAD},
	} {
		p := netip.MustParsePrefix(tc.p)
		b := addrMsg(7, p)
		// struct ifaddrmsg: family, prefixlen, flags, scope, index.
		if b[0] != tc.family || b[1] != uint8(p.Bits()) || uint32(b[2]) != tc.flags || b[3] != unix.RT_SCOPE_UNIVERSE || u32(b[4:]) != 7 {
			t.Errorf("%s: ifaddrmsg % x", tc.p, b[:unix.SizeofIfAddrmsg])
		}
		a := attrs(t, b[unix.SizeofIfAddrmsg:])
		want := p.Addr().AsSlice()
		if string(a[unix.IFA_LOCAL]) != string(want) || string(a[unix.IFA_ADDRESS]) != string(want) || u32(a[unix.IFA_FLAGS]) != tc.flags || len(a) != 3 {
			t.Errorf("%s: attributes %x", tc.p, a)
		}
	}
}

func TestRouteMsg(t *testing.T) {
	for _, tc := range []struct {
		p            string
		table        int
		add          bool
		rtmTable     uint8
		proto, scope uint8
		hasDst       bool
	}{
		{"198.51.100.128/25", 254, true, 254, unix.RTPROT_STATIC, unix.RT_SCOPE_LINK, true},
		{"198.51.100.128/25", 254, false, 254, 0, unix.RT_SCOPE_NOWHERE, true},
		{"2001:db8:20::/48", 1000, true, unix.RT_TABLE_UNSPEC, unix.RTPROT_STATIC, unix.RT_SCOPE_UNIVERSE, true},
		{"2001:db8:20::/48", 1000, false, unix.RT_TABLE_UNSPEC, 0, unix.RT_SCOPE_UNIVERSE, true},
		{"0.0.0.0/0", 100, true, 100, unix.RTPROT_STATIC, unix.RT_SCOPE_LINK, false},
	} {
		p := netip.MustParsePrefix(tc.p)
		b := routeMsg(9, p, tc.table, tc.add)
		name := fmt.Sprintf("%s table %d add %v", tc.p, tc.table, tc.add)
		// struct rtmsg: family, dst_len, src_len, tos, table, protocol,
		// scope, type, flags.
		if b[1] != uint8(p.Bits()) || b[2] != 0 || b[4] != tc.rtmTable || b[5] != tc.proto || b[6] != tc.scope || b[7] != unix.RTN_UNICAST || u32(b[8:]) != 0 {
			t.Errorf("%s: rtmsg % x", name, b[:unix.SizeofRtMsg])
		}
		a := attrs(t, b[unix.SizeofRtMsg:])
		if u32(a[unix.RTA_OIF]) != 9 || u32(a[unix.RTA_TABLE]) != uint32(tc.table) {
			t.Errorf("%s: RTA_OIF %x, RTA_TABLE %x", name, a[unix.RTA_OIF], a[unix.RTA_TABLE])
		}
		if dst, ok := a[unix.RTA_DST]; ok != tc.hasDst || (ok && string(dst) != string(p.Addr().AsSlice())) {
			t.Errorf("%s: RTA_DST %x (present %v)", name, dst, ok)
		}
	}
}

func TestLinkUpMsg(t *testing.T) {
	b := linkUpMsg(3)
	// struct ifinfomsg: family, pad, type, index, flags, change.
	if len(b) != unix.SizeofIfInfomsg || b[0] != unix.AF_UNSPEC || u32(b[4:]) != 3 || u32(b[8:]) != unix.IFF_UP || u32(b[12:]) != unix.IFF_UP {
		t.Fatalf("ifinfomsg % x", b)
	}
}

// ack builds an NLMSG_ERROR answer to request seq with error code code
// (a negative errno), the request's header (capped), and ext-ack attrs.
func ack(seq uint32, code int32, flags uint16, tlvs []byte) []byte {
	b := make([]byte, unix.SizeofNlMsghdr+4+unix.SizeofNlMsghdr)
	binary.NativeEndian.PutUint32(b[16:], uint32(code))
	putNlMsghdr(b[20:], unix.RTM_NEWROUTE, unix.NLM_F_REQUEST|unix.NLM_F_ACK, seq)
	b = append(b, tlvs...)
	putNlMsghdr(b, unix.NLMSG_ERROR, flags, seq)
	return b
}

func TestParseAck(t *testing.T) {
	msg := appendAttr(nil, unix.NLMSGERR_ATTR_MSG, []byte("Nexthop device is not up\x00"))
	for _, tc := range []struct {
		name string
		b    []byte
		done bool
		err  error
		text string
	}{
		{"success", ack(5, 0, 0, nil), true, nil, ""},
		{"errno", ack(5, -int32(unix.EEXIST), unix.NLM_F_CAPPED, nil), true, os.ErrExist, "file exists"},
		{"ext ack", ack(5, -int32(unix.ENETDOWN), unix.NLM_F_CAPPED|unix.NLM_F_ACK_TLVS, msg), true, unix.ENETDOWN, "network is down (Nexthop device is not up)"},
		{"other sequence", ack(4, 0, 0, nil), false, nil, ""},
		{"after another message", append(ack(4, 0, 0, nil), ack(5, -int32(unix.EPERM), 0, nil)...), true, os.ErrPermission, "operation not permitted"},
		{"bad length", func() []byte { b := ack(5, 0, 0, nil); b[0] = 200; return b }(), true, errNetlinkMalformed, ""},
	} {
		done, err := parseAck(tc.b, 5)
		if done != tc.done || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("%s: parseAck = %v, %v; want %v, %v", tc.name, done, err, tc.done, tc.err)
		}
		if tc.text != "" && (err == nil || err.Error() != tc.text) {
			t.Errorf("%s: error text %q, want %q", tc.name, err, tc.text)
		}
	}
}

func TestPermissionErrorFromKernel(t *testing.T) {
	err := &OpError{Op: opCreate, Err: fmt.Errorf("ikego%%d: %w", os.NewSyscallError("ioctl TUNSETIFF", unix.EPERM))}
	if got, want := err.Error(), "tun: creating the TUN device needs CAP_NET_ADMIN (run as root)"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, unix.EPERM) || !errors.Is(err, os.ErrPermission) {
		t.Fatal("the cause is lost")
	}
}
