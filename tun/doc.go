// Package tun will provide the TUN device of the dataplane: wireguard-go's
// batched tun.Device, creation with addresses, routes and MTU, and in-memory
// devices for tests in tun/tuntest.
//
// Nothing is implemented yet: the dataplane is issue 3 of the tracker.
package tun
