//go:build !linux

package esp

import (
	"fmt"
	"runtime"
	"sync"
)

// errUnsupported is returned by a UDPBind on platforms other than Linux.
var errUnsupported = fmt.Errorf("esp: UDPBind: unsupported platform %s", runtime.GOOS)

// udpBindSys is the platform's part of a UDPBind.
type udpBindSys struct {
	mu sync.Mutex // serializes Close
}

// Open returns an "unsupported platform" error: UDPBind needs Linux.
func (b *UDPBind) Open() ([]ReceiveFunc, error) { return nil, errUnsupported }

// Send returns an "unsupported platform" error: UDPBind needs Linux.
func (b *UDPBind) Send(bufs [][]byte, ep Endpoint) error { return errUnsupported }

// Close marks the bind closed; there is nothing to close.
func (b *UDPBind) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed.Store(true)
	return nil
}
