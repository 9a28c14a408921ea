package tun

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"strings"
	"testing"
)

func TestOpErrorMessage(t *testing.T) {
	for _, tc := range []struct {
		err  *OpError
		want string
		perm bool
	}{
		{
			&OpError{Op: opCreate, Err: fmt.Errorf("ikego%%d: %w", &os.SyscallError{Syscall: "ioctl TUNSETIFF", Err: fs.ErrPermission})},
			"tun: creating the TUN device needs CAP_NET_ADMIN (run as root)",
			true,
		},
		{
			&OpError{Op: "adding route 198.51.100.128/25 via ikego0 to table 254", Err: &os.PathError{Op: "open", Path: "/x", Err: os.ErrPermission}},
			"tun: adding route 198.51.100.128/25 via ikego0 to table 254 needs CAP_NET_ADMIN (run as root)",
			true,
		},
		{
			&OpError{Op: "adding address 198.18.10.1/24 to ikego0", Err: fs.ErrExist},
			"tun: adding address 198.18.10.1/24 to ikego0: file already exists",
			false,
		},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
		if errors.Is(tc.err, os.ErrPermission) != tc.perm {
			t.Errorf("errors.Is(%q, os.ErrPermission) = %v, want %v", tc.err, !tc.perm, tc.perm)
		}
	}
}

func TestCheckRoute(t *testing.T) {
	for _, tc := range []struct {
		p     string
		table int
		bad   string // a part of the error, "" for none
	}{
		{"198.51.100.128/25", 0, ""},
		{"2001:db8:10::/48", 1000, ""},
		{"0.0.0.0/0", 4294967295, ""},
		{"198.51.100.129/25", 0, "host bits set: the prefix is 198.51.100.128/25"},
		{"::ffff:198.51.100.0/120", 0, "IPv4-mapped address: use 198.51.100.0/24"},
		{"198.51.100.0/24", -1, "routing table -1"},
		{"198.51.100.0/24", 1 << 32, "routing table 4294967296"},
	} {
		err := checkRoute(netip.MustParsePrefix(tc.p), tc.table)
		switch {
		case tc.bad == "" && err != nil:
			t.Errorf("checkRoute(%s, %d) = %v", tc.p, tc.table, err)
		case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)):
			t.Errorf("checkRoute(%s, %d) = %v, want an error with %q", tc.p, tc.table, err, tc.bad)
		}
	}
	if err := checkAddr(netip.Prefix{}); err == nil {
		t.Error("checkAddr accepts the zero Prefix")
	}
	if err := checkAddr(netip.MustParsePrefix("198.51.100.1/24")); err != nil {
		t.Errorf("checkAddr(198.51.100.1/24) = %v", err)
	}
}

func TestTableNumber(t *testing.T) {
	if tableNumber(0) != 254 || tableNumber(100) != 100 {
		t.Fatalf("tableNumber(0), tableNumber(100) = %d, %d; want 254, 100", tableNumber(0), tableNumber(100))
	}
}
