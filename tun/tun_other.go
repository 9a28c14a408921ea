//go:build !linux

package tun

import (
	"errors"
	"net/netip"
	"runtime"
)

func unsupported(op string) error {
	return &OpError{Op: op, Err: unsupportedError{}}
}

// unsupportedError matches errors.ErrUnsupported.
type unsupportedError struct{}

func (unsupportedError) Error() string {
	return "not supported on " + runtime.GOOS + ": TUN devices are configured through Linux rtnetlink"
}

func (unsupportedError) Unwrap() error { return errors.ErrUnsupported }

// Create creates and configures a TUN device on Linux; elsewhere it returns
// an *OpError matching errors.ErrUnsupported.
func Create(cfg Config) (Device, error) { return nil, unsupported(opCreate) }

// AddAddr adds an address to a device on Linux; elsewhere it returns an
// *OpError matching errors.ErrUnsupported.
func AddAddr(dev string, p netip.Prefix) error { return unsupported("adding address " + p.String()) }

// DelAddr removes an address from a device on Linux; elsewhere it returns an
// *OpError matching errors.ErrUnsupported.
func DelAddr(dev string, p netip.Prefix) error { return unsupported("removing address " + p.String()) }

// AddRoute adds a route through a device on Linux; elsewhere it returns an
// *OpError matching errors.ErrUnsupported.
func AddRoute(dev string, p netip.Prefix, table int) error {
	return unsupported("adding route " + p.String())
}

// DelRoute removes a route through a device on Linux; elsewhere it returns
// an *OpError matching errors.ErrUnsupported.
func DelRoute(dev string, p netip.Prefix, table int) error {
	return unsupported("removing route " + p.String())
}
