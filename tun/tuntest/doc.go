// Package tuntest provides TUN devices and IP packets for tests that need no
// privilege, in the manner of wireguard-go's tun/tuntest.
//
//   - [Channel] is an in-memory [tun.Device]: the test sends the packets the
//     dataplane will read on [Channel.Inbound] and receives the packets it
//     wrote from [Channel.Outbound]. [Wire] joins two Channels back to back.
//   - [NewNetstack] is a Device with a userspace TCP/IP stack behind it, so
//     tests can ping and run TCP and UDP through the dataplane.
//   - [Forward] copies packets from one Device to another, any kind.
//   - [Ping], [UDP], [ParseEcho] and [ParseUDP] build and check IPv4 (RFC
//     791) and IPv6 (RFC 8200) packets carrying ICMP echo (RFC 792, RFC
//     4443) and UDP (RFC 768) with correct checksums (RFC 1071). They do not
//     build or parse IP options, IPv6 extension headers or fragments.
//   - [PingNetstack] pings from a netstack, working around its ping socket's
//     lost wake-up.
//
// Everything here is safe for concurrent use; see each type for which calls
// block and how Close unblocks them. The packet builders allocate and are
// meant for tests, not for the per-packet path.
package tuntest
