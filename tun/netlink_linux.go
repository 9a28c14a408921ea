//go:build linux

package tun

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"os"

	"golang.org/x/sys/unix"
)

// A minimal rtnetlink client (RFC 3549; message layouts from the kernel's
// linux/netlink.h, linux/rtnetlink.h and linux/if_addr.h): requests are sent
// with NLM_F_ACK and the caller waits for the kernel's NLMSG_ERROR answer,
// whose error code is 0 on success. Messages are in host byte order.

// netlinkConn is one NETLINK_ROUTE socket. It is used by one goroutine and
// belongs to the network namespace of the thread that opened it.
type netlinkConn struct {
	fd  int
	seq uint32
	buf []byte
}

func openNetlink() (*netlinkConn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, os.NewSyscallError("netlink socket", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("netlink bind", err)
	}
	// Best effort: extended ACKs carry the kernel's reason for a refusal,
	// and capped ACKs do not echo the request back.
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_EXT_ACK, 1)
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1)
	// The kernel answers these requests before sendto returns; the timeout
	// only guards against a kernel that never does.
	tv := unix.Timeval{Sec: 10}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("netlink setsockopt", err)
	}
	return &netlinkConn{fd: fd, buf: make([]byte, 16<<10)}, nil
}

func (c *netlinkConn) close() error { return unix.Close(c.fd) }

// request sends one message of type typ with body and the flags
// NLM_F_REQUEST|NLM_F_ACK|flags, and waits for the kernel's acknowledgement.
func (c *netlinkConn) request(typ, flags uint16, body []byte) error {
	c.seq++
	msg := make([]byte, unix.SizeofNlMsghdr+len(body))
	putNlMsghdr(msg, typ, flags|unix.NLM_F_REQUEST|unix.NLM_F_ACK, c.seq)
	copy(msg[unix.SizeofNlMsghdr:], body)
	if err := unix.Sendto(c.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return os.NewSyscallError("netlink sendto", err)
	}
	for {
		n, from, err := unix.Recvfrom(c.fd, c.buf, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return os.NewSyscallError("netlink recvfrom", err)
		}
		if sa, ok := from.(*unix.SockaddrNetlink); !ok || sa.Pid != 0 {
			continue // not from the kernel
		}
		done, err := parseAck(c.buf[:n], c.seq)
		if done {
			return err
		}
	}
}

// putNlMsghdr writes a struct nlmsghdr for a message of len(b) bytes.
func putNlMsghdr(b []byte, typ, flags uint16, seq uint32) {
	binary.NativeEndian.PutUint32(b[0:], uint32(len(b)))
	binary.NativeEndian.PutUint16(b[4:], typ)
	binary.NativeEndian.PutUint16(b[6:], flags)
	binary.NativeEndian.PutUint32(b[8:], seq)
	binary.NativeEndian.PutUint32(b[12:], 0) // port ID: the kernel fills it in
}

var errNetlinkMalformed = errors.New("malformed netlink answer")

// parseAck looks through one datagram from the kernel for the NLMSG_ERROR
// answer to request seq. It returns done when it found it (or the datagram
// is unusable), with the kernel's error, nil for success.
func parseAck(b []byte, seq uint32) (done bool, err error) {
	for len(b) >= unix.SizeofNlMsghdr {
		l := int(binary.NativeEndian.Uint32(b[0:]))
		typ := binary.NativeEndian.Uint16(b[4:])
		flags := binary.NativeEndian.Uint16(b[6:])
		s := binary.NativeEndian.Uint32(b[8:])
		if l < unix.SizeofNlMsghdr || l > len(b) {
			return true, errNetlinkMalformed
		}
		if s == seq && typ == unix.NLMSG_ERROR {
			return true, ackError(b[unix.SizeofNlMsghdr:l], flags)
		}
		b = b[min(nlAlign(l), len(b)):]
	}
	return false, nil
}

// ackError decodes the payload of an NLMSG_ERROR message: struct nlmsgerr
// (a negative errno, then the request's header, or the whole request unless
// NLM_F_CAPPED), followed by NLMSGERR_ATTR_* attributes if NLM_F_ACK_TLVS.
func ackError(p []byte, flags uint16) error {
	if len(p) < 4 {
		return errNetlinkMalformed
	}
	code := int32(binary.NativeEndian.Uint32(p))
	if code == 0 {
		return nil
	}
	errno := unix.Errno(-code)
	if flags&unix.NLM_F_ACK_TLVS == 0 || len(p) < 4+unix.SizeofNlMsghdr {
		return errno
	}
	skip := unix.SizeofNlMsghdr
	if flags&unix.NLM_F_CAPPED == 0 {
		skip = int(binary.NativeEndian.Uint32(p[4:]))
	}
	if skip < unix.SizeofNlMsghdr || 4+nlAlign(skip) > len(p) {
		return errno
	}
	attrs := p[4+nlAlign(skip):]
	for len(attrs) >= unix.SizeofRtAttr {
		l := int(binary.NativeEndian.Uint16(attrs[0:]))
		typ := binary.NativeEndian.Uint16(attrs[2:])
		if l < unix.SizeofRtAttr || l > len(attrs) {
			break
		}
		if typ == unix.NLMSGERR_ATTR_MSG {
			if msg := unix.ByteSliceToString(attrs[unix.SizeofRtAttr:l]); msg != "" {
				return &kernelError{Errno: errno, Msg: msg}
			}
		}
		attrs = attrs[min(nlAlign(l), len(attrs)):]
	}
	return errno
}

// kernelError is an errno with the kernel's explanation from an extended
// ACK, such as "Invalid prefix for given prefix length".
type kernelError struct {
	Errno unix.Errno
	Msg   string
}

func (e *kernelError) Error() string { return e.Errno.Error() + " (" + e.Msg + ")" }
func (e *kernelError) Unwrap() error { return e.Errno }

func nlAlign(n int) int { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }

// appendAttr appends a struct rtattr of type typ with data, padded to 4.
func appendAttr(b []byte, typ uint16, data []byte) []byte {
	l := unix.SizeofRtAttr + len(data)
	b = binary.NativeEndian.AppendUint16(b, uint16(l))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, data...)
	for range nlAlign(l) - l {
		b = append(b, 0)
	}
	return b
}

func appendAttrUint32(b []byte, typ uint16, v uint32) []byte {
	return appendAttr(b, typ, binary.NativeEndian.AppendUint32(nil, v))
}

func family(a netip.Addr) uint8 {
	if a.Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

// addrMsg is the body of RTM_NEWADDR and RTM_DELADDR for address p on
// interface index: struct ifaddrmsg, IFA_LOCAL, IFA_ADDRESS and IFA_FLAGS.
// IPv6 addresses are flagged IFA_F_NODAD: the link is ours alone, so the
// address is usable at once (the kernel skips DAD on an IFF_NOARP device such
// as a TUN anyway; the flag says so explicitly).
func addrMsg(index int, p netip.Prefix) []byte {
	a := p.Addr()
	var flags uint32
	if a.Is6() {
		flags = unix.IFA_F_NODAD
	}
	b := []byte{family(a), uint8(p.Bits()), uint8(flags), unix.RT_SCOPE_UNIVERSE}
	b = binary.NativeEndian.AppendUint32(b, uint32(index))
	b = appendAttr(b, unix.IFA_LOCAL, a.AsSlice())
	b = appendAttr(b, unix.IFA_ADDRESS, a.AsSlice())
	b = appendAttrUint32(b, unix.IFA_FLAGS, flags)
	return b
}

// routeMsg is the body of RTM_NEWROUTE (add) or RTM_DELROUTE for a route to
// p through interface index in table t: struct rtmsg, RTA_DST, RTA_OIF and
// RTA_TABLE. Scope and protocol follow ip-route(8): an IPv4 route through a
// device has link scope, and a deletion matches routes of any protocol.
func routeMsg(index int, p netip.Prefix, t int, add bool) []byte {
	a := p.Addr()
	var scope, proto uint8 = unix.RT_SCOPE_UNIVERSE, 0
	switch {
	case a.Is4() && add:
		scope = unix.RT_SCOPE_LINK
	case a.Is4():
		scope = unix.RT_SCOPE_NOWHERE
	}
	if add {
		proto = unix.RTPROT_STATIC
	}
	rtmTable := uint8(unix.RT_TABLE_UNSPEC) // tables past 255 go in RTA_TABLE only
	if t < 256 {
		rtmTable = uint8(t)
	}
	b := []byte{family(a), uint8(p.Bits()), 0, 0, rtmTable, proto, scope, unix.RTN_UNICAST}
	b = binary.NativeEndian.AppendUint32(b, 0) // rtm_flags
	if p.Bits() > 0 {
		b = appendAttr(b, unix.RTA_DST, a.AsSlice())
	}
	b = appendAttrUint32(b, unix.RTA_OIF, uint32(index))
	b = appendAttrUint32(b, unix.RTA_TABLE, uint32(t))
	return b
}

// linkUpMsg is the body of RTM_NEWLINK that sets IFF_UP on interface index:
// struct ifinfomsg with ifi_flags and ifi_change both IFF_UP.
func linkUpMsg(index int) []byte {
	b := []byte{unix.AF_UNSPEC, 0, 0, 0} // family, pad, type
	b = binary.NativeEndian.AppendUint32(b, uint32(index))
	b = binary.NativeEndian.AppendUint32(b, unix.IFF_UP)
	b = binary.NativeEndian.AppendUint32(b, unix.IFF_UP)
	return b
}
