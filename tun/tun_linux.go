//go:build linux

package tun

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"

	"golang.org/x/sys/unix"
	wgtun "golang.zx2c4.com/wireguard/tun"
)

const cloneDevice = "/dev/net/tun"

// Create creates a TUN device and configures it as cfg says, in this order:
// the device with its MTU, the addresses, the link up, the routes. On any
// error it closes the device, which removes the interface with everything
// already configured on it, and returns an *OpError naming the step and the
// address or route. Without CAP_NET_ADMIN the error reads "tun: creating the
// TUN device needs CAP_NET_ADMIN (run as root)".
//
// The device is created in the network namespace of the calling thread. It
// lives until Close; the caller owns it. It is wireguard-go's Linux device
// with three edges smoothed: Read and Write return os.ErrClosed after Close,
// Write returns len(bufs) on success (wireguard-go's returns a byte count),
// and Events drops the events nobody is waiting for instead of stalling the
// device's listeners, which would then never end.
func Create(cfg Config) (Device, error) {
	name := cfg.Name
	if name == "" {
		name = "ikego%d"
	}
	mtu := cfg.MTU
	if mtu == 0 {
		mtu = DefaultMTU
	}
	if err := checkName(name); err != nil {
		return nil, &OpError{Op: opCreate, Err: err}
	}
	if mtu < 68 || mtu > 65535 {
		return nil, &OpError{Op: opCreate, Err: fmt.Errorf("MTU %d is outside 68..65535", mtu)}
	}
	for _, p := range cfg.Addrs {
		if err := checkAddr(p); err != nil {
			return nil, &OpError{Op: "adding address " + p.String(), Err: err}
		}
	}
	for _, p := range cfg.Routes {
		if err := checkRoute(p, cfg.Table); err != nil {
			return nil, &OpError{Op: "adding route " + p.String(), Err: err}
		}
	}

	dev, err := createTUN(name, mtu)
	if err != nil {
		return nil, &OpError{Op: opCreate, Err: err}
	}
	fail := func(op string, err error) (Device, error) {
		dev.Close()
		return nil, &OpError{Op: op, Err: err}
	}
	name, err = dev.Name()
	if err != nil {
		return fail("reading the name of the TUN device", err)
	}
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return fail("looking up the index of "+name, err)
	}
	nl, err := openNetlink()
	if err != nil {
		return fail("configuring "+name, err)
	}
	defer nl.close()
	for _, p := range cfg.Addrs {
		if err := nl.request(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL, addrMsg(ifi.Index, p)); err != nil {
			return fail(addrOp("adding", p, name), err)
		}
	}
	if err := nl.request(unix.RTM_NEWLINK, 0, linkUpMsg(ifi.Index)); err != nil {
		return fail("bringing "+name+" up", err)
	}
	for _, p := range cfg.Routes {
		if err := nl.request(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_EXCL, routeMsg(ifi.Index, p, tableNumber(cfg.Table), true)); err != nil {
			return fail(routeOp("adding", p, name, cfg.Table), err)
		}
	}
	return dev, nil
}

// createTUN does what wgtun.CreateTUN does (open the clone device, ask for a
// TUN with IFF_VNET_HDR so that CreateTUNFromFile turns the offloads on, make
// the descriptor non-blocking for the runtime poller), but closes the
// descriptor when a step fails and names the missing clone device plainly.
func createTUN(name string, mtu int) (Device, error) {
	fd, err := unix.Open(cloneDevice, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil, fmt.Errorf("%s does not exist: load the tun module or give the container the device", cloneDevice)
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: cloneDevice, Err: err}
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: %w", name, os.NewSyscallError("ioctl TUNSETIFF", err))
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("set non-blocking", err)
	}
	f := os.NewFile(uintptr(fd), cloneDevice)
	dev, err := wgtun.CreateTUNFromFile(f, mtu)
	if err != nil {
		f.Close()
		return nil, err
	}
	return newDevice(dev), nil
}

// device smooths three edges of wireguard-go's Linux device:
//   - after Close, its Read may return the error of its netlink listener
//     ("netlink socket closed") instead of os.ErrClosed;
//   - its Write returns the number of bytes written, not of packets;
//   - its listeners block on a full Events channel when nobody reads it, and
//     then never end: device relays the events, dropping those nobody waits
//     for.
type device struct {
	Device
	closed atomic.Bool
	events chan Event
}

func newDevice(dev Device) *device {
	d := &device{Device: dev, events: make(chan Event, 16)}
	go func() {
		defer close(d.events)
		for ev := range dev.Events() {
			select {
			case d.events <- ev:
			default:
			}
		}
	}()
	return d
}

// Read reads like the wrapped device, and returns os.ErrClosed after Close.
func (d *device) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	n, err := d.Device.Read(bufs, sizes, offset)
	if err != nil && d.closed.Load() {
		return n, os.ErrClosed
	}
	return n, err
}

// Write writes like the wrapped device, and returns len(bufs) on success,
// 0 with the error otherwise.
func (d *device) Write(bufs [][]byte, offset int) (int, error) {
	if _, err := d.Device.Write(bufs, offset); err != nil {
		if d.closed.Load() {
			err = os.ErrClosed
		}
		return 0, err
	}
	return len(bufs), nil
}

// Events returns the relayed events; it is closed after Close.
func (d *device) Events() <-chan Event { return d.events }

// Close closes the wrapped device, which removes the interface.
func (d *device) Close() error {
	d.closed.Store(true)
	return d.Device.Close()
}

// AddAddr adds address p (with its prefix length, such as 198.18.10.1/24) to
// interface dev; IPv6 addresses skip duplicate address detection. The kernel
// adds the route to the prefix. An address that is already there gives an
// error matching os.ErrExist. Errors are *OpError.
func AddAddr(dev string, p netip.Prefix) error {
	op := addrOp("adding", p, dev)
	if err := checkAddr(p); err != nil {
		return &OpError{Op: op, Err: err}
	}
	return do(op, dev, unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL, func(index int) []byte {
		return addrMsg(index, p)
	})
}

// DelAddr removes address p from interface dev. An address that is not there
// gives an error matching unix.EADDRNOTAVAIL. Errors are *OpError.
func DelAddr(dev string, p netip.Prefix) error {
	op := addrOp("removing", p, dev)
	if err := checkAddr(p); err != nil {
		return &OpError{Op: op, Err: err}
	}
	return do(op, dev, unix.RTM_DELADDR, 0, func(index int) []byte {
		return addrMsg(index, p)
	})
}

// AddRoute routes p through interface dev in routing table table (0 means
// main). p must have no host bits set. A route that is already there gives
// an error matching os.ErrExist. Errors are *OpError.
func AddRoute(dev string, p netip.Prefix, table int) error {
	op := routeOp("adding", p, dev, table)
	if err := checkRoute(p, table); err != nil {
		return &OpError{Op: op, Err: err}
	}
	return do(op, dev, unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_EXCL, func(index int) []byte {
		return routeMsg(index, p, tableNumber(table), true)
	})
}

// DelRoute removes the route to p through interface dev from routing table
// table (0 means main). A route that is not there gives an error matching
// unix.ESRCH. Errors are *OpError.
func DelRoute(dev string, p netip.Prefix, table int) error {
	op := routeOp("removing", p, dev, table)
	if err := checkRoute(p, table); err != nil {
		return &OpError{Op: op, Err: err}
	}
	return do(op, dev, unix.RTM_DELROUTE, 0, func(index int) []byte {
		return routeMsg(index, p, tableNumber(table), false)
	})
}

// do sends one request about interface dev, built by msg from its index.
func do(op, dev string, typ, flags uint16, msg func(index int) []byte) error {
	ifi, err := net.InterfaceByName(dev)
	if err != nil {
		return &OpError{Op: op, Err: err}
	}
	nl, err := openNetlink()
	if err != nil {
		return &OpError{Op: op, Err: err}
	}
	defer nl.close()
	if err := nl.request(typ, flags, msg(ifi.Index)); err != nil {
		return &OpError{Op: op, Err: err}
	}
	return nil
}

func addrOp(verb string, p netip.Prefix, dev string) string {
	prep := " to "
	if verb == "removing" {
		prep = " from "
	}
	return verb + " address " + p.String() + prep + dev
}

func routeOp(verb string, p netip.Prefix, dev string, t int) string {
	prep := " to "
	if verb == "removing" {
		prep = " from "
	}
	return verb + " route " + p.String() + " via " + dev + prep + "table " + strconv.Itoa(tableNumber(t))
}

// checkName rejects names the kernel would refuse or misread.
func checkName(name string) error {
	if len(name) >= unix.IFNAMSIZ {
		return fmt.Errorf("interface name %q is longer than %d bytes", name, unix.IFNAMSIZ-1)
	}
	for _, c := range name {
		if c == '/' || c == ':' || c <= ' ' || c > '~' {
			return fmt.Errorf("interface name %q has a character the kernel refuses", name)
		}
	}
	return nil
}
