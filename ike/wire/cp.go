package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"golang.org/x/crypto/cryptobyte"
)

// CP is the Configuration payload (RFC 7296 Section 3.15).
type CP struct {
	CfgType    CfgType
	Attributes []CPAttribute
}

// CPAttribute is a configuration attribute (RFC 7296 Section 3.15.1). An
// empty Value asks for a value in a CFG_REQUEST.
type CPAttribute struct {
	Type  CPAttrType // 15 bits
	Value []byte
}

// Type returns PayloadCP.
func (*CP) Type() PayloadType { return PayloadCP }

// cpAttrTypeMask keeps the 15-bit Attribute Type; the top bit is Reserved
// (RFC 7296 Section 3.15.1).
const cpAttrTypeMask = 0x7fff

func (p *CP) decode(b []byte) error {
	*p = CP{}
	s := cryptobyte.String(b)
	var typ uint8
	// RFC 7296 Section 3.15: CFG Type (1 octet), RESERVED (3 octets,
	// ignored on receipt), Configuration Attributes.
	if !s.ReadUint8(&typ) || !s.Skip(3) {
		return errTruncated("CP payload")
	}
	p.CfgType = CfgType(typ)
	for i := 1; !s.Empty(); i++ {
		var t, length uint16
		var v []byte
		// RFC 7296 Section 3.15.1: R (1 bit, ignored on receipt),
		// Attribute Type (15 bits), Length (2 octets, of the value),
		// Value.
		if !s.ReadUint16(&t) || !s.ReadUint16(&length) {
			return newError(ErrTruncated, "CP attribute %d: truncated header", i)
		}
		if !s.ReadBytes(&v, int(length)) {
			return newError(ErrTruncated, "CP attribute %d: length %d, %d octets left", i, length, len(s))
		}
		a := CPAttribute{Type: CPAttrType(t & cpAttrTypeMask)}
		if len(v) > 0 {
			a.Value = clip(v)
		}
		p.Attributes = append(p.Attributes, a)
	}
	return nil
}

func (p *CP) appendTo(b []byte) []byte {
	b = append(b, byte(p.CfgType), 0, 0, 0)
	for _, a := range p.Attributes {
		b = binary.BigEndian.AppendUint16(b, uint16(a.Type)&cpAttrTypeMask)
		b = binary.BigEndian.AppendUint16(b, uint16(len(a.Value)))
		b = append(b, a.Value...)
	}
	return b
}

func (p *CP) check() error {
	for _, a := range p.Attributes {
		if len(a.Value) > 0xffff {
			return fmt.Errorf("wire: CP attribute %s of %d octets", a.Type, len(a.Value))
		}
	}
	return nil
}

// Addr returns the address in an attribute whose value is one address
// (INTERNAL_IP4_ADDRESS, _NETMASK, _DNS, _NBNS, _DHCP, INTERNAL_IP6_DNS,
// _DHCP, the P-CSCF and the Microsoft server ones) or starts with one
// (INTERNAL_IP4_SUBNET, INTERNAL_IP6_ADDRESS, INTERNAL_IP6_SUBNET). It
// returns false for other types, for values of the wrong length and for
// empty values (which ask for a value in a CFG_REQUEST).
func (a CPAttribute) Addr() (netip.Addr, bool) {
	var want, n int
	switch a.Type {
	case CPInternalIP4Address, CPInternalIP4Netmask, CPInternalIP4DNS, CPInternalIP4NBNS,
		CPInternalIP4DHCP, CPPCSCFIP4Address, CPMSInternalIP4Server:
		want, n = 4, 4
	case CPInternalIP4Subnet:
		want, n = 8, 4
	case CPInternalIP6DNS, CPInternalIP6DHCP, CPPCSCFIP6Address, CPMSInternalIP6Server:
		want, n = 16, 16
	case CPInternalIP6Address, CPInternalIP6Subnet:
		want, n = 17, 16
	default:
		return netip.Addr{}, false
	}
	if len(a.Value) != want {
		return netip.Addr{}, false
	}
	addr, _ := netip.AddrFromSlice(a.Value[:n])
	return addr, true
}

// Prefix returns the address and prefix length of an INTERNAL_IP6_ADDRESS
// or INTERNAL_IP6_SUBNET (RFC 7296 Section 3.15.1), or the address and
// netmask of an INTERNAL_IP4_SUBNET, as a prefix that is not masked.
func (a CPAttribute) Prefix() (netip.Prefix, bool) {
	addr, ok := a.Addr()
	if !ok {
		return netip.Prefix{}, false
	}
	switch a.Type {
	case CPInternalIP6Address, CPInternalIP6Subnet:
		if a.Value[16] > 128 {
			return netip.Prefix{}, false
		}
		return netip.PrefixFrom(addr, int(a.Value[16])), true
	case CPInternalIP4Subnet:
		ones, ok := maskBits(a.Value[4:8])
		if !ok {
			return netip.Prefix{}, false
		}
		return netip.PrefixFrom(addr, ones), true
	}
	return netip.Prefix{}, false
}

// maskBits returns the length of a contiguous netmask.
func maskBits(m []byte) (int, bool) {
	v := binary.BigEndian.Uint32(m)
	ones := 0
	for v&0x80000000 != 0 {
		ones++
		v <<= 1
	}
	return ones, v == 0
}
