package esp

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
)

// Inner addresses that terminate in this process: the PPP links of
// L2TP/IPsec clients end in the gateway, not behind an SA, so the packets the
// host routes to a client's address come out of the TUN device and must go
// to the client's PPP session rather than through the policies. The other
// way, what a client sends goes into the TUN device with WriteTUN.

// AddLocalAddr makes the engine hand the packets it reads from the TUN device
// whose destination is addr to h, instead of looking up a policy for them.
// h runs on the goroutine that reads the TUN device, one packet at a time:
// pkt (the IP packet, header first) is valid only during the call, h must
// not keep it, and h should return quickly, since the device is not read
// meanwhile. Packets for addresses without a handler are unaffected, and
// while no address has one the packet path pays a single atomic load.
//
// An IPv4-mapped IPv6 address is taken as IPv4. AddLocalAddr fails for an
// invalid address, a nil h, or an address that already has a handler.
func (e *Engine) AddLocalAddr(addr netip.Addr, h func(pkt []byte)) error {
	addr = addr.Unmap()
	if !addr.IsValid() || h == nil {
		return errors.New("esp: local address needs an address and a handler")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	next := map[netip.Addr]func([]byte){}
	if cur := e.localAddrs.Load(); cur != nil {
		if _, ok := (*cur)[addr]; ok {
			return fmt.Errorf("esp: local address %v already has a handler", addr)
		}
		next = maps.Clone(*cur)
	}
	next[addr] = h
	e.localAddrs.Store(&next)
	return nil
}

// DeleteLocalAddr removes the handler of addr, and reports whether there was
// one: packets to addr go through the policies again. A packet the TUN
// reader had already matched may still reach the old handler after
// DeleteLocalAddr returns; a handler that must not see it checks for itself.
func (e *Engine) DeleteLocalAddr(addr netip.Addr) bool {
	addr = addr.Unmap()
	e.mu.Lock()
	defer e.mu.Unlock()
	cur := e.localAddrs.Load()
	if cur == nil {
		return false
	}
	if _, ok := (*cur)[addr]; !ok {
		return false
	}
	if len(*cur) == 1 {
		e.localAddrs.Store(nil)
		return true
	}
	next := maps.Clone(*cur)
	delete(next, addr)
	e.localAddrs.Store(&next)
	return true
}

// LocalAddrs returns the addresses that have a handler (AddLocalAddr),
// sorted.
func (e *Engine) LocalAddrs() []netip.Addr {
	cur := e.localAddrs.Load()
	if cur == nil {
		return nil
	}
	return slices.SortedFunc(maps.Keys(*cur), netip.Addr.Compare)
}

// WriteTUN writes the IP packet pkt (header first) to the TUN device, as the
// engine writes the packets that arrive through SAs: for packets that reach
// the gateway another way, such as those the PPP link of an L2TP/IPsec
// client carries. It copies pkt into a pooled buffer with the headroom the
// device may need, so the caller keeps pkt, and it allocates nothing. It
// returns the device's error; it applies no policy and no MSS clamping.
//
// WriteTUN is safe for concurrent use, also with the engine's own writes: a
// tun.Device serialises its writes internally (see package tun).
func (e *Engine) WriteTUN(pkt []byte) error {
	if len(pkt) == 0 {
		return ErrTruncated
	}
	if len(pkt) > bufSize-Tailroom-tunOffset {
		return ErrTooBig
	}
	p := e.getPacket()
	n := copy(p.buf[tunOffset:], pkt)
	p.one[0] = p.buf[:tunOffset+n]
	_, err := e.cfg.TUN.Write(p.one[:], tunOffset)
	p.one[0] = nil
	e.release(p)
	return err
}
