package esp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Batched I/O calls recvmmsg and sendmmsg directly through the sockets'
// syscall.RawConn, as golang.org/x/net/ipv4's ReadBatch and WriteBatch do,
// but without their allocations: ReadBatch returns each sender as a new
// *net.UDPAddr holding a new net.IP (two allocations per datagram, see
// BenchmarkXNetReadBatch). Here every header, iovec, address and control
// buffer is allocated once per ReceiveFunc, or per pooled send batch, and
// parsed in place.

// sockKind is what a socket of a UDPBind carries.
type sockKind uint8

const (
	sockIKE  sockKind = iota // UDP on the IKE port
	sockNATT                 // UDP on the NAT-T port
	sockRaw                  // raw IP protocol 50
)

// bindSocket is one socket of a UDPBind. It does not change after Open.
type bindSocket struct {
	name string // "udp 0.0.0.0:4500", "ip6:esp ::": for errors and logs
	kind sockKind
	v6   bool
	addr netip.Addr // the bound address; unspecified for a wildcard socket
	port uint16     // the bound UDP port; 0 for raw ESP
	conn net.PacketConn
	rc   syscall.RawConn
}

// mmsghdr is struct mmsghdr of recvmmsg(2) and sendmmsg(2); Go pads it as C
// does.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
}

const (
	// ipv4HeaderLen is the length of an IPv4 header without options; raw
	// IPv4 sockets receive it before the ESP packet (raw(7)).
	ipv4HeaderLen = 20
	// bindOOBLen is the control buffer of each received datagram: room for
	// an in6_pktinfo and more.
	bindOOBLen = 128
	// cmsgLenSize is the size of cmsghdr's cmsg_len: size_t.
	cmsgLenSize = unix.SizeofCmsghdr - 8
	// cmsgAlignTo is the alignment of control messages (CMSG_ALIGN).
	cmsgAlignTo = int(unsafe.Sizeof(uintptr(0)))
)

// cmsgHdrLen is CMSG_LEN(0): where a control message's data starts.
var cmsgHdrLen = unix.CmsgLen(0)

// Open opens the sockets: UDP on the IKE port (unless NoIKEPort) and the
// NAT-T port, and raw ESP if configured, for each listen address. It returns
// one ReceiveFunc per socket. On failure no socket stays open and the error
// names the socket ("esp: listen udp 0.0.0.0:4500: address already in use").
func (b *UDPBind) Open() ([]ReceiveFunc, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed.Load() {
		return nil, net.ErrClosed
	}
	if b.opened {
		return nil, ErrBindOpen
	}
	addrs := b.cfg.Addrs
	wildcard := addrs == nil
	if wildcard {
		addrs = []netip.Addr{netip.IPv4Unspecified(), netip.IPv6Unspecified()}
	}
	var socks []*bindSocket
	var ikePort, nattPort uint16
	if !b.cfg.NoIKEPort {
		ss, port, err := b.listenUDP(addrs, wildcard, sockIKE, b.cfg.IKEPort)
		if err != nil {
			return nil, err
		}
		socks, ikePort = append(socks, ss...), port
	}
	ss, port, err := b.listenUDP(addrs, wildcard, sockNATT, b.cfg.NATTPort)
	if err != nil {
		closeSockets(socks)
		return nil, err
	}
	socks, nattPort = append(socks, ss...), port
	if b.cfg.RawESP {
		for _, a := range addrs {
			s, err := listenRaw(a)
			if wildcard && errors.Is(err, syscall.EAFNOSUPPORT) {
				b.log.Warn("address family not supported, not listening", "socket", "ip:esp "+a.String())
				continue
			}
			if err != nil {
				closeSockets(socks)
				return nil, err
			}
			socks = append(socks, s)
		}
	}
	for _, s := range socks {
		b.log.Info("listening on "+s.name, "rcvbuf", sockBuffer(s, unix.SO_RCVBUF), "sndbuf", sockBuffer(s, unix.SO_SNDBUF))
	}
	b.opened = true
	b.ikePort.Store(uint32(ikePort))
	b.nattPort.Store(uint32(nattPort))
	b.socks.Store(&socks)
	fns := make([]ReceiveFunc, len(socks))
	for i, s := range socks {
		fns[i] = newBindReceiver(b, s).receive
	}
	return fns, nil
}

// listenUDP opens one socket per address on port, all on the same port: the
// one the kernel chose for the first if Ephemeral, retrying when another
// socket holds it for another address family.
func (b *UDPBind) listenUDP(addrs []netip.Addr, wildcard bool, kind sockKind, port uint16) ([]*bindSocket, uint16, error) {
	if b.cfg.Ephemeral {
		port = 0
	}
	for try := 0; ; try++ {
		var socks []*bindSocket
		var err error
		p := port
		for _, a := range addrs {
			var s *bindSocket
			s, err = listenUDPSocket(a, p, kind)
			if wildcard && errors.Is(err, syscall.EAFNOSUPPORT) {
				b.log.Warn("address family not supported, not listening", "socket", "udp "+netip.AddrPortFrom(a, p).String())
				err = nil
				continue
			}
			if err != nil {
				break
			}
			p = s.port
			socks = append(socks, s)
		}
		if err == nil && len(socks) == 0 {
			err = fmt.Errorf("esp: listen udp: %w", syscall.EAFNOSUPPORT)
		}
		if err == nil {
			return socks, p, nil
		}
		closeSockets(socks)
		if port == 0 && len(socks) > 0 && errors.Is(err, syscall.EADDRINUSE) && try < 100 {
			continue
		}
		return nil, 0, err
	}
}

// listenUDPSocket opens a UDP socket on a:port that reports each datagram's
// destination address, with large buffers; an IPv6 socket is IPv6-only so
// that an IPv4 socket can share its port.
func listenUDPSocket(a netip.Addr, port uint16, kind sockKind) (*bindSocket, error) {
	ap := netip.AddrPortFrom(a, port)
	s := &bindSocket{name: "udp " + ap.String(), kind: kind, v6: a.Is6(), addr: a}
	network := "udp4"
	if s.v6 {
		network = "udp6"
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		return controlFD(c, func(fd int) error {
			setBuffers(fd)
			// The kernel's UDP_ENCAP is not set on the NAT-T socket: ESP is
			// taken apart here, in user space.
			if s.v6 {
				if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
					return err
				}
				return unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1)
			}
			return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_PKTINFO, 1)
		})
	}}
	pc, err := lc.ListenPacket(context.Background(), network, ap.String())
	if err != nil {
		return nil, listenError(s.name, err)
	}
	s.port = uint16(pc.LocalAddr().(*net.UDPAddr).Port)
	s.name = "udp " + netip.AddrPortFrom(a, s.port).String()
	return s, s.attach(pc)
}

// listenRaw opens a raw socket for IP protocol 50 on a. The kernel writes
// the IP header of what it sends; an IPv4 socket receives it, an IPv6
// socket does not and reports the destination in IPV6_PKTINFO.
func listenRaw(a netip.Addr) (*bindSocket, error) {
	s := &bindSocket{name: "ip4:esp " + a.String(), kind: sockRaw, v6: a.Is6(), addr: a}
	network := "ip4:50"
	if s.v6 {
		s.name = "ip6:esp " + a.String()
		network = "ip6:50"
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		return controlFD(c, func(fd int) error {
			setBuffers(fd)
			if s.v6 {
				return unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1)
			}
			return nil
		})
	}}
	pc, err := lc.ListenPacket(context.Background(), network, a.String())
	if err != nil {
		return nil, listenError(s.name, err)
	}
	return s, s.attach(pc)
}

// attach makes pc the socket's connection, or closes it.
func (s *bindSocket) attach(pc net.PacketConn) error {
	sc, ok := pc.(syscall.Conn)
	if !ok {
		pc.Close()
		return fmt.Errorf("esp: listen %s: no raw connection", s.name)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		pc.Close()
		return listenError(s.name, err)
	}
	s.conn, s.rc = pc, rc
	return nil
}

// controlFD runs f on the socket's descriptor.
func controlFD(c syscall.RawConn, f func(fd int) error) error {
	var err error
	if cerr := c.Control(func(fd uintptr) { err = f(int(fd)) }); cerr != nil {
		return cerr
	}
	return err
}

// setBuffers asks for large socket buffers: up to the sysctl limits
// (net.core.rmem_max, wmem_max), and beyond them with CAP_NET_ADMIN. Failing
// costs only throughput, so errors are ignored.
func setBuffers(fd int) {
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, bindSocketBuffer)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, bindSocketBuffer)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, bindSocketBuffer)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, bindSocketBuffer)
}

// sockBuffer returns the size of a socket buffer, for the log.
func sockBuffer(s *bindSocket, opt int) int {
	var n int
	_ = controlFD(s.rc, func(fd int) error {
		var err error
		n, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, opt)
		return err
	})
	return n
}

// listenError names the socket in err and keeps the errno for errors.Is.
func listenError(name string, err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return fmt.Errorf("esp: listen %s: %w", name, errno)
	}
	return fmt.Errorf("esp: listen %s: %w", name, err)
}

func closeSockets(socks []*bindSocket) {
	for _, s := range socks {
		s.conn.Close()
	}
}

// Close closes the sockets, which unblocks the ReceiveFuncs; they and Send
// return net.ErrClosed from then on. It returns the first error of closing
// a socket, and nil when called again.
func (b *UDPBind) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed.Swap(true) {
		return nil
	}
	socks := b.socks.Load()
	if socks == nil {
		return nil
	}
	var first error
	for _, s := range *socks {
		if err := s.conn.Close(); err != nil && first == nil {
			first = fmt.Errorf("esp: close %s: %w", s.name, err)
		}
	}
	return first
}

// errBindNotOpen is returned by Send before Open.
var errBindNotOpen = errors.New("esp: bind not open")

// bindReceiver is the state of one ReceiveFunc: the headers recvmmsg fills,
// allocated once.
type bindReceiver struct {
	mu    sync.Mutex // serializes calls of the ReceiveFunc
	b     *UDPBind
	s     *bindSocket
	rawV4 bool // the IPv4 header comes first, into iphdr

	hs    []mmsghdr
	iovs  []unix.Iovec            // one per datagram, two for raw IPv4
	names []unix.RawSockaddrInet6 // the senders; large enough for IPv4
	oob   []byte                  // bindOOBLen per datagram
	iphdr []byte                  // ipv4HeaderLen per datagram, raw IPv4 only

	vlen   int // datagrams asked for
	n      int // datagrams received
	errno  syscall.Errno
	readFn func(fd uintptr) bool // r.read, bound once: a method value allocates
}

func newBindReceiver(b *UDPBind, s *bindSocket) *bindReceiver {
	r := &bindReceiver{
		b:     b,
		s:     s,
		rawV4: s.kind == sockRaw && !s.v6,
		hs:    make([]mmsghdr, bindBatchSize),
		names: make([]unix.RawSockaddrInet6, bindBatchSize),
		oob:   make([]byte, bindBatchSize*bindOOBLen),
	}
	if r.rawV4 {
		r.iovs = make([]unix.Iovec, 2*bindBatchSize)
		r.iphdr = make([]byte, bindBatchSize*ipv4HeaderLen)
	} else {
		r.iovs = make([]unix.Iovec, bindBatchSize)
	}
	r.readFn = r.read
	return r
}

// receive is the ReceiveFunc.
func (r *bindReceiver) receive(bufs [][]byte, sizes []int, eps []Endpoint) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := min(len(bufs), len(sizes), len(eps), bindBatchSize)
	if n == 0 {
		return 0, nil
	}
	for {
		if r.b.closed.Load() {
			return 0, net.ErrClosed
		}
		r.prepare(bufs[:n])
		if err := r.s.rc.Read(r.readFn); err != nil {
			if errors.Is(err, net.ErrClosed) {
				return 0, net.ErrClosed
			}
			return 0, fmt.Errorf("esp: receive %s: %w", r.s.name, err)
		}
		if r.errno != 0 {
			return 0, fmt.Errorf("esp: receive %s: %w", r.s.name, r.errno)
		}
		// All of them may be dropped (truncated): then read again.
		if got := r.unpack(bufs, sizes, eps); got > 0 {
			return got, nil
		}
	}
}

// prepare points the headers at bufs.
func (r *bindReceiver) prepare(bufs [][]byte) {
	r.vlen = len(bufs)
	for i, buf := range bufs {
		h := &r.hs[i]
		h.len = 0
		h.hdr = unix.Msghdr{
			Name:    (*byte)(unsafe.Pointer(&r.names[i])),
			Namelen: unix.SizeofSockaddrInet6,
			Control: &r.oob[i*bindOOBLen],
		}
		h.hdr.SetControllen(bindOOBLen)
		if r.rawV4 {
			iov := r.iovs[2*i : 2*i+2]
			iov[0].Base = &r.iphdr[i*ipv4HeaderLen]
			iov[0].SetLen(ipv4HeaderLen)
			iov[1].Base = unsafe.SliceData(buf)
			iov[1].SetLen(len(buf))
			h.hdr.Iov = &iov[0]
			h.hdr.SetIovlen(2)
		} else {
			iov := &r.iovs[i]
			iov.Base = unsafe.SliceData(buf)
			iov.SetLen(len(buf))
			h.hdr.Iov = iov
			h.hdr.SetIovlen(1)
		}
	}
}

// read is called by the runtime poller when the socket may be readable; it
// returns false to wait for readiness.
func (r *bindReceiver) read(fd uintptr) bool {
	for {
		n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hs[0])), uintptr(r.vlen), 0, 0, 0)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		case 0:
			r.n, r.errno = int(n), 0
		default:
			r.n, r.errno = 0, e
		}
		return true
	}
}

// unpack turns what recvmmsg returned into sizes and endpoints, dropping
// truncated datagrams and moving the later ones down in their place.
func (r *bindReceiver) unpack(bufs [][]byte, sizes []int, eps []Endpoint) int {
	j := 0
	for i := range r.n {
		h := &r.hs[i]
		size := int(h.len)
		if h.hdr.Flags&unix.MSG_TRUNC != 0 {
			r.b.truncated.Add(1)
			continue
		}
		var payload []byte
		var ep Endpoint
		if r.rawV4 {
			hdr := r.iphdr[i*ipv4HeaderLen : (i+1)*ipv4HeaderLen]
			ihl := int(hdr[0]&0x0f) * 4
			if size < ipv4HeaderLen || hdr[0]>>4 != 4 || ihl < ipv4HeaderLen || ihl > size {
				continue // the kernel checked it; never happens
			}
			// Options, if any, came into the start of bufs[i].
			payload = bufs[i][ihl-ipv4HeaderLen : size-ipv4HeaderLen]
			ep.Local = netip.AddrPortFrom(netip.AddrFrom4([4]byte(hdr[16:20])), 0)
			ep.Remote = netip.AddrPortFrom(netip.AddrFrom4([4]byte(hdr[12:16])), 0)
		} else {
			payload = bufs[i][:size]
			ep.Remote = sockaddrAddrPort(&r.names[i], h.hdr.Namelen)
			local, ifindex := parseCmsg(r.oob[i*bindOOBLen : i*bindOOBLen+min(int(h.hdr.Controllen), bindOOBLen)])
			if !local.IsValid() {
				local = r.s.addr // no pktinfo: a socket bound to an address
			}
			ep.Local = netip.AddrPortFrom(withIfindex(local, ifindex), r.s.port)
			if r.s.kind == sockRaw {
				ep.Remote = netip.AddrPortFrom(ep.Remote.Addr(), 0)
			}
		}
		dst := bufs[j]
		if len(payload) > len(dst) {
			r.b.truncated.Add(1)
			continue
		}
		if len(payload) > 0 && &dst[0] != &payload[0] {
			copy(dst, payload)
		}
		sizes[j], eps[j] = len(payload), ep
		j++
	}
	return j
}

// sockaddrAddrPort decodes a sockaddr_in or sockaddr_in6.
func sockaddrAddrPort(sa *unix.RawSockaddrInet6, namelen uint32) netip.AddrPort {
	port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
	switch {
	case sa.Family == unix.AF_INET && namelen >= unix.SizeofSockaddrInet4:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port)
	case sa.Family == unix.AF_INET6 && namelen >= unix.SizeofSockaddrInet6:
		a := netip.AddrFrom16(sa.Addr)
		return netip.AddrPortFrom(withIfindex(a, sa.Scope_id), port)
	}
	return netip.AddrPort{}
}

// withIfindex gives a link-local IPv6 address its interface as a numeric
// zone; strconv has the strings of small numbers ready, so that allocates
// nothing for the first hundred interfaces.
func withIfindex(a netip.Addr, ifindex uint32) netip.Addr {
	if ifindex == 0 || !a.Is6() || !(a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast()) {
		return a
	}
	return a.WithZone(strconv.FormatUint(uint64(ifindex), 10))
}

// zoneIfindex returns the interface index of a's zone, numeric or a name.
func zoneIfindex(a netip.Addr) (uint32, error) {
	z := a.Zone()
	if z == "" {
		return 0, nil
	}
	if n, err := strconv.ParseUint(z, 10, 32); err == nil {
		return uint32(n), nil
	}
	ifi, err := net.InterfaceByName(z)
	if err != nil {
		return 0, err
	}
	return uint32(ifi.Index), nil
}

// parseCmsg returns the destination address and the interface of a received
// datagram from its control messages (IP_PKTINFO or IPV6_PKTINFO), or the
// zero Addr. It is unix.ParseSocketControlMessage without the allocations,
// and stops at the first malformed header.
func parseCmsg(b []byte) (dst netip.Addr, ifindex uint32) {
	for len(b) >= cmsgHdrLen {
		var l uint64
		if cmsgLenSize == 8 {
			l = binary.NativeEndian.Uint64(b)
		} else {
			l = uint64(binary.NativeEndian.Uint32(b))
		}
		if l < uint64(cmsgHdrLen) || l > uint64(len(b)) {
			break
		}
		level := int32(binary.NativeEndian.Uint32(b[cmsgLenSize:]))
		typ := int32(binary.NativeEndian.Uint32(b[cmsgLenSize+4:]))
		data := b[cmsgHdrLen:l]
		switch {
		case level == unix.IPPROTO_IP && typ == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo:
			// struct in_pktinfo { int ipi_ifindex; in_addr ipi_spec_dst;
			// in_addr ipi_addr; }: ipi_addr is the header's destination.
			ifindex = binary.NativeEndian.Uint32(data)
			dst = netip.AddrFrom4([4]byte(data[8:12]))
		case level == unix.IPPROTO_IPV6 && typ == unix.IPV6_PKTINFO && len(data) >= unix.SizeofInet6Pktinfo:
			// struct in6_pktinfo { in6_addr ipi6_addr; int ipi6_ifindex; }
			dst = netip.AddrFrom16([16]byte(data[:16]))
			ifindex = binary.NativeEndian.Uint32(data[16:])
		}
		next := (int(l) + cmsgAlignTo - 1) &^ (cmsgAlignTo - 1)
		if next >= len(b) {
			break
		}
		b = b[next:]
	}
	return dst, ifindex
}

// putCmsg writes a control message header for dataLen octets of data into
// b and returns the data part.
func putCmsg(b []byte, level, typ int32, dataLen int) []byte {
	l := unix.CmsgLen(dataLen)
	if cmsgLenSize == 8 {
		binary.NativeEndian.PutUint64(b, uint64(l))
	} else {
		binary.NativeEndian.PutUint32(b, uint32(l))
	}
	binary.NativeEndian.PutUint32(b[cmsgLenSize:], uint32(level))
	binary.NativeEndian.PutUint32(b[cmsgLenSize+4:], uint32(typ))
	return b[cmsgHdrLen:l]
}

// sendBatch holds the headers of one sendmmsg call. All datagrams of a Send
// share its destination and source, so one sockaddr and one control message
// serve them all.
type sendBatch struct {
	hs      [bindBatchSize]mmsghdr
	iovs    [bindBatchSize]unix.Iovec
	name    unix.RawSockaddrInet6
	namelen uint32
	oob     [64]byte
	ooblen  int

	start, cnt int
	errno      syscall.Errno         // the first error of the batch
	writeFn    func(fd uintptr) bool // sb.write, bound once
}

func newSendBatch() any {
	sb := new(sendBatch)
	sb.writeFn = sb.write
	return sb
}

// Send sends each of bufs as one datagram to ep.Remote, from the socket of
// ep.Local's port (raw ESP if ep.RawESP()) and, on a wildcard socket, from
// ep.Local's address if it is set. It does not retain bufs and is safe for
// concurrent use; in steady state it allocates nothing.
func (b *UDPBind) Send(bufs [][]byte, ep Endpoint) error {
	socks := b.socks.Load()
	if b.closed.Load() {
		return net.ErrClosed
	}
	if socks == nil {
		return errBindNotOpen
	}
	s, err := pickSocket(*socks, ep)
	if err != nil {
		return err
	}
	sb, _ := b.batches.Get().(*sendBatch)
	if sb == nil {
		sb = newSendBatch().(*sendBatch)
	}
	defer b.batches.Put(sb)
	if err := sb.address(s, ep); err != nil {
		return err
	}
	var first error
	for len(bufs) > 0 {
		chunk := bufs[:min(len(bufs), bindBatchSize)]
		bufs = bufs[len(chunk):]
		sb.prepare(chunk)
		err := s.rc.Write(sb.writeFn)
		sb.clear()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return net.ErrClosed
			}
			return fmt.Errorf("esp: send %s to %s: %w", s.name, ep.Remote, err)
		}
		if sb.errno != 0 && first == nil {
			first = fmt.Errorf("esp: send %s to %s: %w", s.name, ep.Remote, sb.errno)
		}
	}
	return first
}

// pickSocket returns the socket to send ep's datagrams from.
func pickSocket(socks []*bindSocket, ep Endpoint) (*bindSocket, error) {
	remote := ep.Remote.Addr().Unmap()
	local := ep.Local.Addr().Unmap()
	if !remote.IsValid() {
		return nil, errors.New("esp: send to an invalid address")
	}
	if local.IsValid() && local.Is6() != remote.Is6() {
		return nil, fmt.Errorf("esp: send %s: address families differ", ep)
	}
	raw := ep.RawESP()
	for _, s := range socks {
		if s.v6 != remote.Is6() || (s.kind == sockRaw) != raw || (!raw && s.port != ep.Local.Port()) {
			continue
		}
		if s.addr.IsUnspecified() || !local.IsValid() || local.IsUnspecified() || s.addr == local.WithZone("") {
			return s, nil
		}
	}
	return nil, fmt.Errorf("esp: send %s: no socket for the local address", ep)
}

// address fills the destination sockaddr and, on a wildcard socket, the
// source address control message (IP_PKTINFO, IPV6_PKTINFO).
func (sb *sendBatch) address(s *bindSocket, ep Endpoint) error {
	remote := ep.Remote.Addr().Unmap()
	port := ep.Remote.Port()
	if s.kind == sockRaw {
		// raw(7) wants the port zero, or for IPv6 the protocol.
		port = 0
	}
	sb.name = unix.RawSockaddrInet6{}
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sb.name.Port))[:], port)
	if remote.Is4() {
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(&sb.name))
		sa4.Family = unix.AF_INET
		sa4.Addr = remote.As4()
		sb.namelen = unix.SizeofSockaddrInet4
	} else {
		sb.name.Family = unix.AF_INET6
		sb.name.Addr = remote.As16()
		idx, err := zoneIfindex(remote)
		if err != nil {
			return fmt.Errorf("esp: send %s: %w", ep, err)
		}
		sb.name.Scope_id = idx
		sb.namelen = unix.SizeofSockaddrInet6
	}
	sb.ooblen = 0
	local := ep.Local.Addr().Unmap()
	if !s.addr.IsUnspecified() || !local.IsValid() || local.IsUnspecified() {
		return nil
	}
	if local.Is4() {
		// struct in_pktinfo: the kernel sends from ipi_spec_dst.
		d := putCmsg(sb.oob[:], unix.IPPROTO_IP, unix.IP_PKTINFO, unix.SizeofInet4Pktinfo)
		clear(d)
		a := local.As4()
		copy(d[4:8], a[:])
		sb.ooblen = unix.CmsgSpace(unix.SizeofInet4Pktinfo)
		return nil
	}
	idx, err := zoneIfindex(local)
	if err != nil {
		return fmt.Errorf("esp: send %s: %w", ep, err)
	}
	d := putCmsg(sb.oob[:], unix.IPPROTO_IPV6, unix.IPV6_PKTINFO, unix.SizeofInet6Pktinfo)
	a := local.As16()
	copy(d[:16], a[:])
	binary.NativeEndian.PutUint32(d[16:], idx)
	sb.ooblen = unix.CmsgSpace(unix.SizeofInet6Pktinfo)
	return nil
}

// prepare points the headers at bufs.
func (sb *sendBatch) prepare(bufs [][]byte) {
	sb.start, sb.cnt, sb.errno = 0, len(bufs), 0
	for i, buf := range bufs {
		iov := &sb.iovs[i]
		iov.Base = unsafe.SliceData(buf)
		iov.SetLen(len(buf))
		h := &sb.hs[i]
		h.len = 0
		h.hdr = unix.Msghdr{
			Name:    (*byte)(unsafe.Pointer(&sb.name)),
			Namelen: sb.namelen,
			Iov:     iov,
		}
		h.hdr.SetIovlen(1)
		if sb.ooblen > 0 {
			h.hdr.Control = &sb.oob[0]
			h.hdr.SetControllen(sb.ooblen)
		}
	}
}

// clear drops the references to the caller's buffers.
func (sb *sendBatch) clear() {
	for i := range sb.cnt {
		sb.iovs[i].Base = nil
	}
}

// write is called by the runtime poller when the socket may be writable.
// A datagram the kernel refuses is skipped, its error kept, so that one bad
// datagram does not hold back the others.
func (sb *sendBatch) write(fd uintptr) bool {
	for sb.start < sb.cnt {
		n, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&sb.hs[sb.start])), uintptr(sb.cnt-sb.start), 0, 0, 0)
		switch e {
		case 0:
			sb.start += max(int(n), 1)
		case unix.EINTR:
		case unix.EAGAIN:
			return false
		default:
			// sendmmsg(2) reports an error only for the first datagram.
			if sb.errno == 0 {
				sb.errno = e
			}
			sb.start++
		}
	}
	return true
}
