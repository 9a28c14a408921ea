package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"golang.org/x/crypto/cryptobyte"
)

// V1ID is the IKEv1 Identification payload with the IPsec DOI fields (RFC
// 2408 Section 3.8, RFC 2407 Section 4.6.2): IDii or IDir in Phase 1, IDci
// or IDcr (the traffic selectors) in Quick Mode.
type V1ID struct {
	IDType V1IDType
	// Protocol and Port are the IP protocol and port the identity is
	// limited to, or zero; in Phase 1 they are 0 or UDP (17) and 0 or
	// 500 (RFC 2407 Section 4.6.2).
	Protocol uint8
	Port     uint16
	// Data is the identification data: an address, a subnet (address
	// and mask), a range (two addresses), a name, a DER-encoded
	// distinguished name or an opaque key ID, depending on IDType.
	Data []byte

	raw []byte
}

// Type returns V1PayloadID.
func (*V1ID) Type() V1PayloadType { return V1PayloadID }

// Body returns the payload body without the generic payload header: ID
// Type, Protocol ID, Port and the identification data. This is IDii_b or
// IDir_b of RFC 2409 Section 5, over which HASH_I and HASH_R are computed.
// For a parsed payload it is the octets as received; otherwise it is the
// encoding of the fields.
func (p *V1ID) Body() []byte {
	if p.raw != nil {
		return p.raw
	}
	return p.appendTo(nil)
}

// Addrs returns the addresses of an address identity: one for
// ID_IPV4_ADDR and ID_IPV6_ADDR, the address and the mask for the
// _SUBNET types, the first and last address for the _RANGE types. It
// returns nil for the other types.
func (p *V1ID) Addrs() []netip.Addr {
	n := v1AddrLen(p.IDType)
	if n == 0 || len(p.Data) != n {
		return nil
	}
	size := 4
	if p.IDType == V1IDIPv6Addr || p.IDType == V1IDIPv6AddrSubnet || p.IDType == V1IDIPv6AddrRange {
		size = 16
	}
	var out []netip.Addr
	for d := p.Data; len(d) >= size; d = d[size:] {
		a, _ := netip.AddrFromSlice(d[:size])
		out = append(out, a)
	}
	return out
}

func (p *V1ID) decode(b []byte) error {
	*p = V1ID{}
	s := cryptobyte.String(b)
	var typ uint8
	// RFC 2407 Section 4.6.2: ID Type (1 octet), Protocol ID (1
	// octet), Port (2 octets), Identification Data.
	if !s.ReadUint8(&typ) || !s.ReadUint8(&p.Protocol) || !s.ReadUint16(&p.Port) {
		return errTruncated("ID payload")
	}
	p.IDType = V1IDType(typ)
	// RFC 2407 Sections 4.6.2.2 to 4.6.2.12: the address types have a
	// fixed length.
	if n := v1AddrLen(p.IDType); n != 0 && len(s) != n {
		return errSyntax("%s of %d octets", p.IDType, len(s))
	}
	p.Data = clip(s)
	p.raw = clip(b)
	return nil
}

func (p *V1ID) appendTo(b []byte) []byte {
	b = append(b, byte(p.IDType), p.Protocol)
	b = binary.BigEndian.AppendUint16(b, p.Port)
	return append(b, p.Data...)
}

func (p *V1ID) check() error {
	if n := v1AddrLen(p.IDType); n != 0 && len(p.Data) != n {
		return fmt.Errorf("wire: %s of %d octets", p.IDType, len(p.Data))
	}
	return nil
}

// V1NATOA is the NAT Original Address payload (RFC 3947 Section 5.2), or
// with Draft set, that of draft-ietf-ipsec-nat-t-ike-02/03 (payload type
// 131, same format).
type V1NATOA struct {
	Draft bool
	// Addr is the original address; its family gives the ID Type,
	// ID_IPV4_ADDR or ID_IPV6_ADDR.
	Addr netip.Addr
}

// Type returns V1PayloadNATOA, or V1PayloadNATOADraft.
func (p *V1NATOA) Type() V1PayloadType {
	if p.Draft {
		return V1PayloadNATOADraft
	}
	return V1PayloadNATOA
}

func (p *V1NATOA) decode(b []byte) error {
	*p = V1NATOA{Draft: p.Draft}
	s := cryptobyte.String(b)
	var typ uint8
	// RFC 3947 Section 5.2: ID Type (1 octet), RESERVED (1 octet),
	// RESERVED (2 octets), IPv4 (4 octets) or IPv6 (16 octets) address.
	if !s.ReadUint8(&typ) || !s.Skip(3) {
		return errTruncated("NAT-OA payload")
	}
	switch {
	case V1IDType(typ) == V1IDIPv4Addr && len(s) == 4:
		p.Addr = netip.AddrFrom4([4]byte(s))
	case V1IDType(typ) == V1IDIPv6Addr && len(s) == 16:
		p.Addr = netip.AddrFrom16([16]byte(s))
	default:
		return errSyntax("NAT-OA with %s of %d octets", V1IDType(typ), len(s))
	}
	return nil
}

func (p *V1NATOA) appendTo(b []byte) []byte {
	if p.Addr.Is4() {
		b = append(b, byte(V1IDIPv4Addr), 0, 0, 0)
	} else {
		b = append(b, byte(V1IDIPv6Addr), 0, 0, 0)
	}
	return append(b, p.Addr.AsSlice()...)
}

func (p *V1NATOA) check() error {
	if !p.Addr.IsValid() || p.Addr.Zone() != "" {
		return fmt.Errorf("wire: NAT-OA with address %v", p.Addr)
	}
	return nil
}
