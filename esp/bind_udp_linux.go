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
	"sync/atomic"
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

// udpBindSys is the Linux part of a UDPBind.
type udpBindSys struct {
	mu     sync.Mutex // serializes Open and Close
	opened bool
	socks  atomic.Pointer[[]*bindSocket] // set once by Open

	batches sync.Pool // *sendBatch

	// truncated counts received datagrams dropped for being longer than
	// their buffer; coalesced, received messages that held several
	// datagrams (UDP_GRO); gsoRetries, coalesced sends the kernel refused.
	truncated, coalesced, gsoRetries atomic.Uint64
}

// bindSocketBuffer is the size asked for the kernel's socket buffers, as
// wireguard-go's conn does.
const bindSocketBuffer = 7 << 20

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
	gro  bool        // UDP_GRO is on: datagrams may come coalesced
	gso  atomic.Bool // UDP_SEGMENT is worth trying on send
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

	// groMsgs is how many coalesced messages a receive with UDP_GRO reads
	// at once, each into a staging buffer of groBufLen.
	groMsgs   = 8
	groBufLen = 1 << 16
	// maxGSOSegments is the kernel's limit of segments per send
	// (UDP_MAX_SEGMENTS).
	maxGSOSegments = 64
	// The largest UDP payloads: a longer coalesced send gives EMSGSIZE.
	maxUDPPayload4 = 1<<16 - 1 - 20 - 8
	maxUDPPayload6 = 1<<16 - 1 - 8
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
		b.log.Info("listening on "+s.name, "rcvbuf", sockBuffer(s, unix.SO_RCVBUF), "sndbuf", sockBuffer(s, unix.SO_SNDBUF),
			"gso", s.gso.Load(), "gro", s.gro)
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
			s, err = listenUDPSocket(a, p, kind, b.cfg.Offload)
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
// that an IPv4 socket can share its port. With offload it tries UDP_GRO,
// and UDP_SEGMENT when sending.
func listenUDPSocket(a netip.Addr, port uint16, kind sockKind, offload bool) (*bindSocket, error) {
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
	if err := s.attach(pc); err != nil {
		return nil, err
	}
	if offload {
		s.gso.Store(true)
		s.gro = controlFD(s.rc, func(fd int) error {
			return unix.SetsockoptInt(fd, unix.SOL_UDP, unix.UDP_GRO, 1)
		}) == nil
	}
	return s, nil
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

	// With UDP_GRO the datagrams are read into staging buffers, then
	// split into the caller's: messages [next, n) are still to hand out,
	// message next from offset off, with endpoint ep and segment size gso.
	staging   []byte // groMsgs * groBufLen
	next, off int
	started   bool // ep and gso are those of message next
	ep        Endpoint
	gso       int

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
	switch {
	case r.rawV4:
		r.iovs = make([]unix.Iovec, 2*bindBatchSize)
		r.iphdr = make([]byte, bindBatchSize*ipv4HeaderLen)
	case s.gro:
		r.iovs = make([]unix.Iovec, bindBatchSize)
		r.staging = make([]byte, groMsgs*groBufLen)
	default:
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
		if r.staging != nil && r.next < r.n {
			if got := r.split(bufs[:n], sizes, eps); got > 0 {
				return got, nil
			}
			continue
		}
		if r.staging != nil {
			r.prepareStaging(min(n, groMsgs))
		} else {
			r.prepare(bufs[:n])
		}
		if err := r.s.rc.Read(r.readFn); err != nil {
			r.n = 0
			if errors.Is(err, net.ErrClosed) {
				return 0, net.ErrClosed
			}
			return 0, fmt.Errorf("esp: receive %s: %w", r.s.name, err)
		}
		if r.errno != 0 {
			return 0, fmt.Errorf("esp: receive %s: %w", r.s.name, r.errno)
		}
		if r.staging != nil {
			r.next, r.off, r.started = 0, 0, false
			continue
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
		h := r.header(i)
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

// prepareStaging points the headers at the staging buffers.
func (r *bindReceiver) prepareStaging(n int) {
	r.vlen = n
	for i := range n {
		h := r.header(i)
		iov := &r.iovs[i]
		iov.Base = &r.staging[i*groBufLen]
		iov.SetLen(groBufLen)
		h.hdr.Iov = iov
		h.hdr.SetIovlen(1)
	}
}

// header resets the header of datagram i, but for its iovecs.
func (r *bindReceiver) header(i int) *mmsghdr {
	h := &r.hs[i]
	h.len = 0
	h.hdr = unix.Msghdr{
		Name:    (*byte)(unsafe.Pointer(&r.names[i])),
		Namelen: unix.SizeofSockaddrInet6,
		Control: &r.oob[i*bindOOBLen],
	}
	h.hdr.SetControllen(bindOOBLen)
	return h
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
			ep, _ = r.endpoint(i)
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

// endpoint returns the endpoints of received message i, from its sender
// address and control messages, and its segment size if it is coalesced.
func (r *bindReceiver) endpoint(i int) (Endpoint, int) {
	h := &r.hs[i]
	remote := sockaddrAddrPort(&r.names[i], h.hdr.Namelen)
	local, ifindex, gso := parseCmsg(r.oob[i*bindOOBLen : i*bindOOBLen+min(int(h.hdr.Controllen), bindOOBLen)])
	if !local.IsValid() {
		local = r.s.addr // no pktinfo: a socket bound to an address
	}
	ep := Endpoint{netip.AddrPortFrom(withIfindex(local, ifindex), r.s.port), remote}
	if r.s.kind == sockRaw {
		ep.Remote = netip.AddrPortFrom(remote.Addr(), 0)
	}
	return ep, gso
}

// split hands out the datagrams of the staging buffers, splitting the
// coalesced ones at their segment size, until bufs are full.
func (r *bindReceiver) split(bufs [][]byte, sizes []int, eps []Endpoint) int {
	j := 0
	for r.next < r.n && j < len(bufs) {
		h := &r.hs[r.next]
		size := int(h.len)
		if !r.started {
			if h.hdr.Flags&unix.MSG_TRUNC != 0 {
				r.b.truncated.Add(1)
				r.next++
				continue
			}
			r.ep, r.gso = r.endpoint(r.next)
			r.started = true
			if r.gso > 0 && size > r.gso {
				r.b.coalesced.Add(1)
			}
		}
		seg := size - r.off
		if r.gso > 0 {
			seg = min(seg, r.gso)
		}
		at := r.next*groBufLen + r.off
		if seg > len(bufs[j]) {
			r.b.truncated.Add(1)
		} else {
			sizes[j] = copy(bufs[j], r.staging[at:at+seg])
			eps[j] = r.ep
			j++
		}
		r.off += seg
		if r.off >= size {
			r.next, r.off, r.started = r.next+1, 0, false
		}
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
// zero Addr, and the segment size of a coalesced datagram (UDP_GRO), or 0.
// It is unix.ParseSocketControlMessage without the allocations, and stops
// at the first malformed header.
func parseCmsg(b []byte) (dst netip.Addr, ifindex uint32, gso int) {
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
		case level == unix.SOL_UDP && typ == unix.UDP_GRO && len(data) >= 4:
			// An int (udp_cmsg_recv); anything but a positive size means
			// the datagram is whole.
			gso = max(int(int32(binary.NativeEndian.Uint32(data))), 0)
		}
		next := (int(l) + cmsgAlignTo - 1) &^ (cmsgAlignTo - 1)
		if next >= len(b) {
			break
		}
		b = b[next:]
	}
	return dst, ifindex, gso
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
// share its destination and source, so one sockaddr and one pktinfo serve
// them all; with UDP_SEGMENT a message may carry a run of datagrams, one
// iovec each, and its own segment size.
type sendBatch struct {
	hs      [bindBatchSize]mmsghdr
	iovs    [bindBatchSize]unix.Iovec
	first   [bindBatchSize + 1]int // the first datagram of each message
	oobs    [bindBatchSize][sendOOBLen]byte
	name    unix.RawSockaddrInet6
	namelen uint32
	pktinfo [sendOOBLen]byte // the source address control message
	pktlen  int

	start, cnt int           // messages: sent, to send
	errno      syscall.Errno // the first error of the batch
	gsoErrno   syscall.Errno // a coalesced message failed, at start
	writeFn    func(fd uintptr) bool
}

// sendOOBLen is room for an in6_pktinfo and a UDP_SEGMENT.
const sendOOBLen = 64

func newSendBatch() *sendBatch {
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
		sb = newSendBatch()
	}
	defer b.batches.Put(sb)
	if err := sb.address(s, ep); err != nil {
		return err
	}
	maxPayload := maxUDPPayload4
	if s.v6 {
		maxPayload = maxUDPPayload6
	}
	var first error
	for len(bufs) > 0 {
		chunk := bufs[:min(len(bufs), bindBatchSize)]
		bufs = bufs[len(chunk):]
		gso := s.gso.Load()
		for len(chunk) > 0 {
			sb.prepare(chunk, gso, maxPayload)
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
			if sb.gsoErrno == 0 {
				break
			}
			// The kernel refused a coalesced message (EINVAL: its
			// segments exceed the path MTU; EIO: the device lacks
			// checksum offload, which UDP_SEGMENT needs): send it and
			// the rest one by one.
			b.gsoRetries.Add(1)
			if sb.gsoErrno == unix.EIO && s.gso.Swap(false) {
				b.log.Warn("UDP segmentation offload disabled", "socket", s.name, "error", sb.gsoErrno.Error())
			}
			chunk, gso = chunk[sb.first[sb.start]:], false
		}
	}
	return first
}

// pickSocket returns the socket to send ep's datagrams from.
func pickSocket(socks []*bindSocket, ep Endpoint) (*bindSocket, error) {
	remote := ep.Remote.Addr().Unmap()
	local := ep.Local.Addr().Unmap().WithZone("")
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
		if s.addr.IsUnspecified() || !local.IsValid() || local.IsUnspecified() || s.addr.WithZone("") == local {
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
	sb.pktlen = 0
	local := ep.Local.Addr().Unmap()
	if !s.addr.IsUnspecified() || !local.IsValid() || local.IsUnspecified() {
		return nil
	}
	if local.Is4() {
		// struct in_pktinfo: the kernel sends from ipi_spec_dst.
		d := putCmsg(sb.pktinfo[:], unix.IPPROTO_IP, unix.IP_PKTINFO, unix.SizeofInet4Pktinfo)
		clear(d)
		a := local.As4()
		copy(d[4:8], a[:])
		sb.pktlen = unix.CmsgSpace(unix.SizeofInet4Pktinfo)
		return nil
	}
	idx, err := zoneIfindex(local)
	if err != nil {
		return fmt.Errorf("esp: send %s: %w", ep, err)
	}
	d := putCmsg(sb.pktinfo[:], unix.IPPROTO_IPV6, unix.IPV6_PKTINFO, unix.SizeofInet6Pktinfo)
	a := local.As16()
	copy(d[:16], a[:])
	binary.NativeEndian.PutUint32(d[16:], idx)
	sb.pktlen = unix.CmsgSpace(unix.SizeofInet6Pktinfo)
	return nil
}

// prepare points the headers at bufs: one message per datagram, or with
// gso one per run of datagrams of the same length (the last of a run may
// be shorter), as UDP_SEGMENT wants.
func (sb *sendBatch) prepare(bufs [][]byte, gso bool, maxPayload int) {
	sb.start, sb.cnt, sb.errno, sb.gsoErrno = 0, 0, 0, 0
	for i := 0; i < len(bufs); {
		segSize := len(bufs[i])
		end := i + 1
		if gso && segSize > 0 {
			total := segSize
			for end < len(bufs) && end-i < maxGSOSegments {
				l := len(bufs[end])
				if l == 0 || l > segSize || total+l > maxPayload {
					break
				}
				total += l
				end++
				if l < segSize {
					break
				}
			}
		}
		for k := i; k < end; k++ {
			sb.iovs[k].Base = unsafe.SliceData(bufs[k])
			sb.iovs[k].SetLen(len(bufs[k]))
		}
		m := sb.cnt
		h := &sb.hs[m]
		h.len = 0
		h.hdr = unix.Msghdr{
			Name:    (*byte)(unsafe.Pointer(&sb.name)),
			Namelen: sb.namelen,
			Iov:     &sb.iovs[i],
		}
		h.hdr.SetIovlen(end - i)
		oob := sb.oobs[m][:]
		ooblen := copy(oob, sb.pktinfo[:sb.pktlen])
		if end-i > 1 {
			d := putCmsg(oob[ooblen:], unix.SOL_UDP, unix.UDP_SEGMENT, 2)
			binary.NativeEndian.PutUint16(d, uint16(segSize))
			ooblen += unix.CmsgSpace(2)
		}
		if ooblen > 0 {
			h.hdr.Control = &oob[0]
			h.hdr.SetControllen(ooblen)
		}
		sb.first[m] = i
		sb.cnt++
		i = end
	}
	sb.first[sb.cnt] = len(bufs)
}

// clear drops the references to the caller's buffers.
func (sb *sendBatch) clear() {
	for i := range sb.first[sb.cnt] {
		sb.iovs[i].Base = nil
	}
}

// write is called by the runtime poller when the socket may be writable.
// A datagram the kernel refuses is skipped, its error kept, so that one bad
// datagram does not hold back the others; a coalesced message it refuses
// stops the batch, for Send to try again without coalescing.
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
			// sendmmsg(2) reports an error only for the first message.
			if sb.first[sb.start+1]-sb.first[sb.start] > 1 {
				sb.gsoErrno = e
				return true
			}
			if sb.errno == 0 {
				sb.errno = e
			}
			sb.start++
		}
	}
	return true
}
