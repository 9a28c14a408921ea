package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"golang.org/x/crypto/cryptobyte"
)

// TS is the Traffic Selector payload, TSi or TSr (RFC 7296 Section 3.13).
type TS struct {
	// Responder selects TSr; otherwise the payload is TSi.
	Responder bool
	Selectors []Selector
}

// Selector is a traffic selector substructure (RFC 7296 Section 3.13.1).
// For TS_IPV4_ADDR_RANGE and TS_IPV6_ADDR_RANGE, Start and End are
// addresses of that family; for other types (such as RFC 9478's
// TS_SECLABEL), the second octet is in IPProtocol, the octets after the
// Selector Length in Body, and the other fields are zero.
type Selector struct {
	Type TSType
	// IPProtocol is the IP protocol number; zero means any.
	IPProtocol uint8
	// StartPort and EndPort bound the port range; 0-65535 means any,
	// and for ICMP they carry type and code (RFC 7296 Section 3.13.1).
	StartPort, EndPort uint16
	Start, End         netip.Addr
	Body               []byte
}

// Type returns PayloadTSr or PayloadTSi.
func (p *TS) Type() PayloadType {
	if p.Responder {
		return PayloadTSr
	}
	return PayloadTSi
}

// Selector lengths, RFC 7296 Section 3.13.1.
const (
	selectorHeaderLen = 4
	selectorIPv4Len   = 16
	selectorIPv6Len   = 40
)

func (p *TS) decode(b []byte) error {
	*p = TS{Responder: p.Responder}
	s := cryptobyte.String(b)
	var num uint8
	// RFC 7296 Section 3.13: Number of TSs (1 octet), RESERVED
	// (3 octets, ignored on receipt), Traffic Selectors.
	if !s.ReadUint8(&num) || !s.Skip(3) {
		return errTruncated("TS payload")
	}
	if num > 0 {
		p.Selectors = make([]Selector, 0, num)
	}
	for i := 1; i <= int(num); i++ {
		var typ, proto uint8
		var length uint16
		// RFC 7296 Section 3.13.1: TS Type (1 octet), IP Protocol ID
		// (1 octet), Selector Length (2 octets, including this
		// header).
		if !s.ReadUint8(&typ) || !s.ReadUint8(&proto) || !s.ReadUint16(&length) {
			return newError(ErrTruncated, "TS payload: %d selectors, only %d present", num, i-1)
		}
		sel := Selector{Type: TSType(typ), IPProtocol: proto}
		want := 0
		switch sel.Type {
		case TSIPv4AddrRange:
			want = selectorIPv4Len
		case TSIPv6AddrRange:
			want = selectorIPv6Len
		}
		if (want != 0 && int(length) != want) || length < selectorHeaderLen {
			return errSyntax("selector %d: %s of length %d", i, sel.Type, length)
		}
		var body cryptobyte.String
		if !s.ReadBytes((*[]byte)(&body), int(length)-selectorHeaderLen) {
			return newError(ErrTruncated, "selector %d: length %d, %d octets left", i, length, len(s)+selectorHeaderLen)
		}
		if want == 0 {
			sel.Body = clip(body)
		} else {
			alen := (want - 8) / 2
			var start, end []byte
			// Start Port, End Port (2 octets each), Starting and
			// Ending Address (4 or 16 octets each).
			body.ReadUint16(&sel.StartPort)
			body.ReadUint16(&sel.EndPort)
			body.ReadBytes(&start, alen)
			body.ReadBytes(&end, alen)
			sel.Start, _ = netip.AddrFromSlice(start)
			sel.End, _ = netip.AddrFromSlice(end)
		}
		p.Selectors = append(p.Selectors, sel)
	}
	// RFC 7296 Section 3.13: Number of TSs counts the selectors that
	// fill the payload.
	if !s.Empty() {
		return errSyntax("TS payload: %d octets after %d selectors", len(s), num)
	}
	return nil
}

func (p *TS) appendTo(b []byte) []byte {
	b = append(b, byte(len(p.Selectors)), 0, 0, 0)
	for _, sel := range p.Selectors {
		start := len(b)
		b = append(b, byte(sel.Type), sel.IPProtocol, 0, 0)
		switch sel.Type {
		case TSIPv4AddrRange:
			b = binary.BigEndian.AppendUint16(b, sel.StartPort)
			b = binary.BigEndian.AppendUint16(b, sel.EndPort)
			s4, e4 := sel.Start.As4(), sel.End.As4()
			b = append(b, s4[:]...)
			b = append(b, e4[:]...)
		case TSIPv6AddrRange:
			b = binary.BigEndian.AppendUint16(b, sel.StartPort)
			b = binary.BigEndian.AppendUint16(b, sel.EndPort)
			s16, e16 := sel.Start.As16(), sel.End.As16()
			b = append(b, s16[:]...)
			b = append(b, e16[:]...)
		default:
			b = append(b, sel.Body...)
		}
		binary.BigEndian.PutUint16(b[start+2:], uint16(len(b)-start))
	}
	return b
}

func (p *TS) check() error {
	if len(p.Selectors) > 255 {
		return fmt.Errorf("wire: %s with %d selectors", p.Type(), len(p.Selectors))
	}
	for i, sel := range p.Selectors {
		switch sel.Type {
		case TSIPv4AddrRange:
			if !sel.Start.Is4() || !sel.End.Is4() {
				return fmt.Errorf("wire: %s selector %d: %s addresses %v-%v", p.Type(), i+1, sel.Type, sel.Start, sel.End)
			}
		case TSIPv6AddrRange:
			if !sel.Start.Is6() || !sel.End.Is6() || sel.Start.Zone() != "" || sel.End.Zone() != "" {
				return fmt.Errorf("wire: %s selector %d: %s addresses %v-%v", p.Type(), i+1, sel.Type, sel.Start, sel.End)
			}
		default:
			if len(sel.Body)+selectorHeaderLen > 0xffff {
				return fmt.Errorf("wire: %s selector %d of %d octets", p.Type(), i+1, len(sel.Body))
			}
		}
	}
	return nil
}

// SelectorFromPrefix returns a TS_IPV4_ADDR_RANGE or TS_IPV6_ADDR_RANGE selector,
// by the family of the prefix, covering prefix for the given protocol
// (0 for any) and all ports.
func SelectorFromPrefix(prefix netip.Prefix, ipProtocol uint8) Selector {
	prefix = prefix.Masked()
	start := prefix.Addr()
	end := lastAddr(prefix)
	typ := TSIPv4AddrRange
	if start.Is6() {
		typ = TSIPv6AddrRange
	}
	return Selector{Type: typ, IPProtocol: ipProtocol, StartPort: 0, EndPort: 0xffff, Start: start, End: end}
}

// lastAddr returns the highest address of a masked prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr().As16()
	off := 0
	if p.Addr().Is4() {
		off = 12
	}
	for bit := p.Bits() + off*8; bit < 128; bit++ {
		a[bit/8] |= 0x80 >> (bit % 8)
	}
	if p.Addr().Is4() {
		return netip.AddrFrom4([4]byte(a[12:]))
	}
	return netip.AddrFrom16(a)
}
