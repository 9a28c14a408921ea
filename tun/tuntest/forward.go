package tuntest

import (
	"errors"
	"os"

	"github.com/ikego/ikego/tun"
)

// Forward copies packets from src to dst until either is closed, then
// returns nil; on any other error of Read or Write it returns that error. It
// reads up to src.BatchSize() packets at a time at offset tun.Headroom into
// buffers of tun.Headroom+MTU bytes (65535 if src does not know its MTU),
// and writes them to dst at the same offset, so it works between any two
// Devices, Linux TUNs with offloads included; tun.ErrTooManySegments is not
// fatal. Run one Forward per direction in its own goroutine to connect two
// devices back to back; close a device to stop the Forward reading from it.
func Forward(dst, src tun.Device) error {
	mtu, err := src.MTU()
	if err != nil || mtu <= 0 {
		mtu = 65535
	}
	batch := max(src.BatchSize(), 1)
	bufs := make([][]byte, batch)
	for i := range bufs {
		bufs[i] = make([]byte, tun.Headroom+mtu)
	}
	sizes := make([]int, batch)
	out := make([][]byte, 0, batch)
	for {
		n, rerr := src.Read(bufs, sizes, tun.Headroom)
		out = out[:0]
		for i := range n {
			out = append(out, bufs[i][:tun.Headroom+sizes[i]])
		}
		if len(out) > 0 {
			if _, err := dst.Write(out, tun.Headroom); err != nil {
				if errors.Is(err, os.ErrClosed) {
					return nil
				}
				return err
			}
		}
		switch {
		case rerr == nil, errors.Is(rerr, tun.ErrTooManySegments):
		case errors.Is(rerr, os.ErrClosed):
			return nil
		default:
			return rerr
		}
	}
}
