package wire

import (
	"encoding/binary"
	"net/netip"

	"golang.org/x/crypto/cryptobyte"
)

// V1Attributes is the ISAKMP Configuration payload, "Attribute Payload"
// of draft-dukes-ike-mode-cfg Section 3.2, carried in Transaction
// exchanges by Mode Config and XAuth (draft-beaulieu-ike-xauth-02).
type V1Attributes struct {
	CfgType V1CfgType
	// Identifier matches a reply or acknowledgement to its request or
	// set.
	Identifier uint16
	// Attributes use the V1Cfg types. An empty TLV value asks for a
	// value in a CFG_REQUEST; XAUTH-TYPE and XAUTH-STATUS are TV.
	Attributes []V1Attribute
}

// Type returns V1PayloadAttributes.
func (*V1Attributes) Type() V1PayloadType { return V1PayloadAttributes }

// Attribute returns the first attribute of type t.
func (p *V1Attributes) Attribute(t V1AttrType) (V1Attribute, bool) {
	return findV1Attribute(p.Attributes, t)
}

func (p *V1Attributes) decode(b []byte) error {
	*p = V1Attributes{}
	s := cryptobyte.String(b)
	var typ, reserved uint8
	// draft-dukes-ike-mode-cfg Section 3.2: Type (1 octet), RESERVED (1
	// octet), Identifier (2 octets), Attributes.
	if !s.ReadUint8(&typ) || !s.ReadUint8(&reserved) || !s.ReadUint16(&p.Identifier) {
		return errTruncated("attribute payload")
	}
	p.CfgType = V1CfgType(typ)
	var err error
	p.Attributes, err = readV1Attributes(s)
	return err
}

func (p *V1Attributes) appendTo(b []byte) []byte {
	b = append(b, byte(p.CfgType), 0)
	b = binary.BigEndian.AppendUint16(b, p.Identifier)
	return appendV1Attributes(b, p.Attributes)
}

func (p *V1Attributes) check() error {
	return checkV1Attributes(p.Attributes, 0xffff-genericHeaderLen-4)
}

// Addr returns the address in a configuration attribute whose value is one
// IPv4 address (INTERNAL_IP4_ADDRESS, _NETMASK, _DNS, _NBNS, _DHCP) or one
// IPv6 address (INTERNAL_IP6_DNS, _NBNS, _DHCP), or starts with an
// address (INTERNAL_IP6_ADDRESS with a prefix length, draft-dukes-ike-
// mode-cfg Section 3.3). It returns false for other types and lengths.
func (a V1Attribute) Addr() (netip.Addr, bool) {
	var want, n int
	switch a.Type {
	case V1CfgInternalIP4Address, V1CfgInternalIP4Netmask, V1CfgInternalIP4DNS, V1CfgInternalIP4NBNS,
		V1CfgInternalIP4DHCP:
		want, n = 4, 4
	case V1CfgInternalIP6DNS, V1CfgInternalIP6NBNS, V1CfgInternalIP6DHCP:
		want, n = 16, 16
	case V1CfgInternalIP6Address:
		want, n = 17, 16
	default:
		return netip.Addr{}, false
	}
	if a.TV || len(a.Data) != want {
		return netip.Addr{}, false
	}
	addr, _ := netip.AddrFromSlice(a.Data[:n])
	return addr, true
}
