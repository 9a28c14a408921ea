package main

import (
	"net"

	"golang.org/x/sys/unix"
)

// peerCred returns the user and process of the peer of a Unix socket, as
// the kernel recorded them at connect (SO_PEERCRED, unix(7)).
func peerCred(c *net.UnixConn) (uid uint32, pid int32, err error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return ^uint32(0), 0, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return ^uint32(0), 0, err
	}
	if cerr != nil {
		return ^uint32(0), 0, cerr
	}
	return cred.Uid, cred.Pid, nil
}
