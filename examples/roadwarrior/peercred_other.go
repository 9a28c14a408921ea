//go:build !linux

package main

import (
	"errors"
	"net"
)

// peerCred is implemented on Linux only (SO_PEERCRED); elsewhere every
// peer is refused, as the server itself runs on Linux only.
func peerCred(c *net.UnixConn) (uid uint32, pid int32, err error) {
	return ^uint32(0), 0, errors.ErrUnsupported
}
