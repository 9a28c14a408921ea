package tun

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"

	wgtun "golang.zx2c4.com/wireguard/tun"
)

// Device is a TUN device: wireguard-go's batched packet device. Read fills
// up to len(bufs) buffers with one packet each, starting at offset, and sets
// sizes; Write sends bufs[i][offset:] for every i. See the package
// documentation for buffer sizes and concurrency, and [Headroom] for the
// offset.
type Device = wgtun.Device

// Event is a state change a Device reports on its Events channel.
type Event = wgtun.Event

// The events a Device reports.
const (
	EventUp        = wgtun.EventUp        // the link went up
	EventDown      = wgtun.EventDown      // the link went down
	EventMTUUpdate = wgtun.EventMTUUpdate // the MTU changed; call MTU again
)

// ErrTooManySegments is returned by a Linux Device's Read when the kernel
// handed over a super-packet that splits into more packets than the caller
// gave buffers. The packets that fit are returned; the error is not fatal and
// the caller should go on reading.
var ErrTooManySegments = wgtun.ErrTooManySegments

// Headroom is the least offset at which a caller passes packets to
// [Device.Write], and the offset to read at when the caller needs no room of
// its own in front of the packet.
//
// With offloads on, the Linux device writes the 10-byte virtio-net header
// into the bytes just before offset and refuses smaller offsets ("invalid
// offset"); Headroom rounds 10 up to 16, as wireguard-go does: it reads from
// and writes to its TUN at MessageTransportHeaderSize = 16, the size of its
// own transport header, so a packet read from the TUN is sealed in place
// behind the header and a packet opened in place is written to the TUN
// without a copy.
//
// The rule for the ESP dataplane is the same:
//   - Read from the TUN at esp.Headroom (64, which is at least Headroom), so
//     that Seal can put the ESP header and IV, and the outer UDP and IP
//     headers if needed, in front of the packet without moving it.
//   - Receive datagrams into buffers at an offset of at least Headroom, so
//     that the inner packet Open leaves behind the ESP header and IV sits at
//     Headroom or more and goes to Write in place, whatever the IV length
//     (NULL encryption has none).
//
// In general: offset = max(Headroom, the room the caller needs in front).
const Headroom = 16

// DefaultMTU is the MTU Create gives a device when Config.MTU is zero. It
// leaves 100 bytes of a 1500-byte path for the outer IPv6 header (40), UDP
// encapsulation (8) and the ESP overhead of the AEAD suites (at most 37 for
// AES-GCM: SPI, sequence number, IV, padding, trailer and ICV).
const DefaultMTU = 1400

// Config describes a TUN device for Create. The zero value creates a device
// named by the kernel with DefaultMTU, no addresses and no routes.
type Config struct {
	// Name is the interface name, at most 15 bytes. A "%d" in it is replaced
	// by the kernel with the lowest free number. "" means "ikego%d".
	Name string
	// MTU is the device's MTU; 0 means DefaultMTU. IPv6 needs at least 1280.
	MTU int
	// Addrs are the addresses of the device with their prefix lengths, IPv4
	// and IPv6, for example 198.18.10.1/24. The kernel adds the route to each
	// prefix to the main table.
	Addrs []netip.Prefix
	// Routes are routed through the device, in Table. They must have no host
	// bits set (198.51.100.128/25, not 198.51.100.129/25).
	Routes []netip.Prefix
	// Table is the routing table for Routes; 0 means the main table (254).
	Table int
}

// OpError is the error Create and the helpers return: the step that failed
// (naming the device and the address or route) and the cause. Causes from
// the kernel are [golang.org/x/sys/unix.Errno] values, possibly with the
// kernel's explanation, so errors.Is(err, os.ErrExist) tells an address or
// route that is already there and errors.Is(err, os.ErrPermission) a missing
// CAP_NET_ADMIN.
type OpError struct {
	// Op says what was being done, for example "adding route
	// 198.51.100.128/25 to ikego0 in table 254".
	Op string
	// Err is the cause.
	Err error
}

// Error returns "tun: <Op>: <Err>", or, when the kernel refused for lack of
// privilege, "tun: <Op> needs CAP_NET_ADMIN (run as root)".
func (e *OpError) Error() string {
	if errors.Is(e.Err, os.ErrPermission) {
		return "tun: " + e.Op + " needs CAP_NET_ADMIN (run as root)"
	}
	return "tun: " + e.Op + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *OpError) Unwrap() error { return e.Err }

// opCreate is the Op of the step that opens the device; its permission error
// reads "tun: creating the TUN device needs CAP_NET_ADMIN (run as root)".
const opCreate = "creating the TUN device"

// tableNumber returns the routing table number for Config.Table and the
// helpers' table argument.
func tableNumber(t int) int {
	if t == 0 {
		return 254 // RT_TABLE_MAIN
	}
	return t
}

// checkAddr rejects an address the kernel would misread.
func checkAddr(p netip.Prefix) error {
	switch a := p.Addr(); {
	case !p.IsValid():
		return errors.New("invalid prefix")
	case a.Is4In6():
		return fmt.Errorf("IPv4-mapped address: use %s", netip.PrefixFrom(a.Unmap(), p.Bits()-96))
	case a.Zone() != "":
		return errors.New("address with a zone")
	}
	return nil
}

// checkRoute rejects a route prefix the kernel would misread or refuse, and
// a table number that does not fit the kernel's 32 bits.
func checkRoute(p netip.Prefix, table int) error {
	if err := checkAddr(p); err != nil {
		return err
	}
	if m := p.Masked(); m != p {
		return fmt.Errorf("host bits set: the prefix is %s", m)
	}
	if table < 0 || int64(table) > math.MaxUint32 {
		return fmt.Errorf("routing table %d is outside 0..%d", table, uint32(math.MaxUint32))
	}
	return nil
}
