package ppp

import (
	"net/netip"
)

// IPCP Configuration Option types (RFC 1332, Section 3; RFC 1877, Section 1).
const (
	IPCPOptionIPAddresses   uint8 = 1   // IP-Addresses, deprecated (RFC 1332, Section 3.1)
	IPCPOptionCompression   uint8 = 2   // IP-Compression-Protocol (RFC 1332, Section 3.2)
	IPCPOptionIPAddress     uint8 = 3   // IP-Address (RFC 1332, Section 3.3)
	IPCPOptionPrimaryDNS    uint8 = 129 // Primary DNS Server Address (RFC 1877, Section 1.1)
	IPCPOptionPrimaryNBNS   uint8 = 130 // Primary NBNS Server Address (RFC 1877, Section 1.2)
	IPCPOptionSecondaryDNS  uint8 = 131 // Secondary DNS Server Address (RFC 1877, Section 1.3)
	IPCPOptionSecondaryNBNS uint8 = 132 // Secondary NBNS Server Address (RFC 1877, Section 1.4)
)

// ipcpOptions is IPCP's OptionHandler for the server: it offers its own
// address and tells the peer its address and name servers by Nak.
type ipcpOptions struct {
	local  netip.Addr
	dns    [2]netip.Addr
	nbns   [2]netip.Addr
	assign func() (netip.Addr, error)

	reqAddr bool       // we still request IP-Address
	peer    netip.Addr // from assign, once
	poolErr error      // assign failed
	acked   netip.Addr // the peer's IP-Address in the request we acked
}

func (o *ipcpOptions) ResetRequest() {
	o.reqAddr = o.local.Is4()
	o.acked = netip.Addr{}
}

func (o *ipcpOptions) AppendRequest(b []byte) []byte {
	if o.reqAddr {
		a := o.local.As4()
		b = appendOption(b, IPCPOptionIPAddress, a[:])
	}
	return b
}

// peerAddr returns the address for the peer, asking the pool once.
func (o *ipcpOptions) peerAddr() (netip.Addr, bool) {
	if !o.peer.IsValid() && o.poolErr == nil && o.assign != nil {
		a, err := o.assign()
		switch {
		case err != nil:
			o.poolErr = err
		case !a.Is4():
			o.poolErr = errNotIPv4
		default:
			o.peer = a
		}
	}
	return o.peer, o.peer.IsValid()
}

var errNotIPv4 = &AutomatonError{Reason: "address pool returned no IPv4 address"}

func addrOption(typ uint8, a netip.Addr) Option {
	b := a.As4()
	return Option{Type: typ, Data: b[:]}
}

func (o *ipcpOptions) CheckRequest(opts []Option) (nak, rej []Option) {
	var got netip.Addr
	hasAddr := false
	for _, op := range opts {
		var want netip.Addr
		switch op.Type {
		case IPCPOptionIPAddress:
			if len(op.Data) != 4 {
				rej = append(rej, op)
				continue
			}
			// RFC 1332, Section 3.3: 0.0.0.0 asks us for an address;
			// another one is Nak'd with the assigned address.
			hasAddr = true
			a, ok := o.peerAddr()
			if !ok {
				rej = append(rej, op)
				continue
			}
			got = netip.AddrFrom4([4]byte(op.Data))
			if got != a {
				nak = append(nak, addrOption(op.Type, a))
			}
			continue
		case IPCPOptionPrimaryDNS:
			want = o.dns[0]
		case IPCPOptionSecondaryDNS:
			want = o.dns[1]
		case IPCPOptionPrimaryNBNS:
			want = o.nbns[0]
		case IPCPOptionSecondaryNBNS:
			want = o.nbns[1]
		default:
			// IP-Compression-Protocol (Van Jacobson), IP-Addresses and
			// unknown options.
			rej = append(rej, op)
			continue
		}
		// RFC 1877: name servers are Nak'd with the configured ones, and
		// rejected when none is configured.
		if len(op.Data) != 4 || !want.Is4() {
			rej = append(rej, op)
			continue
		}
		if netip.AddrFrom4([4]byte(op.Data)) != want {
			nak = append(nak, addrOption(op.Type, want))
		}
	}
	if !hasAddr {
		// RFC 1661, Section 5.3: a Nak may suggest an option the peer did
		// not include; the peer needs an address.
		if a, ok := o.peerAddr(); ok {
			nak = append(nak, addrOption(IPCPOptionIPAddress, a))
		}
	}
	if len(nak) == 0 && len(rej) == 0 {
		o.acked = got
	}
	return nak, rej
}

func (o *ipcpOptions) HandleNak(opts []Option) error {
	// Our own address is not negotiable: a Nak proposing another one is
	// answered with the same request, and the peer's Max-Failure decides.
	return nil
}

func (o *ipcpOptions) HandleReject(opts []Option) error {
	for _, op := range opts {
		if op.Type == IPCPOptionIPAddress {
			o.reqAddr = false
		}
	}
	return nil
}
