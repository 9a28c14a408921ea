// Package tun connects the ESP dataplane to the host through a TUN device.
//
// The device is wireguard-go's: [Device] is an alias of its
// [golang.zx2c4.com/wireguard/tun.Device] interface. Reads and writes move
// batches of packets, and on Linux the device is opened with IFF_VNET_HDR so
// that the kernel's segmentation and coalescing offloads (TSO/USO on the way
// out of the host, GRO on the way in) are used where the kernel has them. A read may therefore
// split one large TCP or UDP super-packet from the kernel into several
// MTU-sized packets, and a write may coalesce packets of one flow.
//
// [Create] makes a TUN device and configures it the way a VPN gateway needs:
// MTU, IPv4 and IPv6 addresses (IPv6 without duplicate address detection, so
// the address is usable at once), link up, and routes through the device in
// a chosen routing table. [AddAddr], [DelAddr], [AddRoute] and [DelRoute]
// change the configuration later, for example when a roadwarrior server
// hands out virtual IPs or a client announces its subnets. All configuration
// goes through rtnetlink (RFC 3549), written here with golang.org/x/sys/unix;
// nothing runs ip(8). Every call opens its own netlink socket on the calling
// thread, so it acts on the network namespace of that thread.
//
// Create and the helpers need CAP_NET_ADMIN and work on Linux only; on other
// systems they return an error matching [errors.ErrUnsupported].
//
// Not here: TAP devices, multi-queue and persistent TUNs, routing rules
// (ip rule), routes through gateways, and device creation on other systems
// (wireguard-go has it for macOS, the BSDs and Windows, without the address
// and route configuration).
//
// # Buffers and offsets
//
// Callers read and write at an offset into their buffers; see [Headroom] for
// the rule. Pass Device.BatchSize() buffers to every Read, each at least
// offset + MTU bytes long: a super-packet that splits into more packets than
// there are buffers loses the rest, and Read reports [ErrTooManySegments],
// which is not fatal. Write may modify the buffers it is given (the Headroom
// bytes before offset, and the spare capacity past a packet it coalesces
// others into); they are the caller's again when Write returns.
//
// # Concurrency
//
// Create and the helpers may be called from any number of goroutines. A
// Device serialises its reads and its writes internally; the dataplane runs
// one reading and one writing goroutine per device, as wireguard-go's device
// does. Close may be called at any time: it unblocks a pending Read, and Read
// and Write return an error matching [os.ErrClosed] from then on.
//
// Events reports the link going up and down and MTU changes; a Device from
// Create drops the events nobody is waiting for, so reading Events is
// optional, and closes the channel after Close. MTU asks the kernel by
// interface name, so call it from a thread in the device's network namespace
// (any thread, unless the process moves threads between namespaces); Read,
// Write, Name and Close work from anywhere.
//
// In-memory devices for tests that need no privilege are in package
// [github.com/ikego/ikego/tun/tuntest].
package tun
