package esp

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// RFC 3948: UDP encapsulation of ESP packets, for peers behind NAT. One UDP
// port (4500) carries three kinds of datagram, told apart by their first
// octets:
//
//	0xFF                          NAT keepalive (§2.3), one octet
//	00 00 00 00 | IKE message     non-ESP marker, then IKE (§2.2)
//	SPI (non-zero) | seq | ...    an ESP packet (§2.1)

// NATTPort is the UDP port of NAT traversal (RFC 3947 §4, RFC 7296 §2.23).
const NATTPort = 4500

// NonESPMarkerLen is the length of the non-ESP marker, four zero octets that
// precede IKE messages on port 4500 (RFC 3948 §2.2).
const NonESPMarkerLen = 4

// UDPHeaderLen is the length of a UDP header.
const UDPHeaderLen = 8

// Kind is what a datagram on the NAT-T port carries.
type Kind uint8

// The kinds of datagram on the NAT-T port.
const (
	KindESP       Kind = iota + 1 // an ESP packet
	KindIKE                       // an IKE message behind the non-ESP marker
	KindKeepalive                 // a NAT keepalive
)

// String returns "ESP", "IKE" or "keepalive".
func (k Kind) String() string {
	switch k {
	case KindESP:
		return "ESP"
	case KindIKE:
		return "IKE"
	case KindKeepalive:
		return "keepalive"
	}
	return "unknown"
}

// ErrBadUDP is returned by DecapUDP for a UDP header whose length field does
// not match the datagram.
var ErrBadUDP = errors.New("esp: bad UDP header")

// Classify tells what the payload of a UDP datagram received on the NAT-T
// port carries, and returns the part to hand on: the ESP packet whole, the
// IKE message without its marker, or nothing for a keepalive. A datagram too
// short to be any of them gives ErrTruncated.
func Classify(d []byte) (Kind, []byte, error) {
	switch {
	case len(d) == 1 && d[0] == 0xff:
		return KindKeepalive, nil, nil
	case len(d) >= NonESPMarkerLen && binary.BigEndian.Uint32(d) == 0:
		return KindIKE, d[NonESPMarkerLen:], nil
	case len(d) >= 8:
		// RFC 3948 §2.1: an ESP header is at least 8 octets; its SPI is
		// never zero, which is what tells it from the marker.
		return KindESP, d, nil
	}
	return 0, nil, ErrTruncated
}

// AppendNonESPMarker appends the non-ESP marker to b, before an IKE message
// sent on the NAT-T port.
func AppendNonESPMarker(b []byte) []byte { return append(b, 0, 0, 0, 0) }

// AppendKeepalive appends a NAT keepalive (RFC 3948 §2.3) to b.
func AppendKeepalive(b []byte) []byte { return append(b, 0xff) }

// EncapUDP prepends a UDP header from src to dst to the payload b[off:],
// writing it into b[off-8:off], and returns the datagram. For IPv4 the
// checksum is zero, as RFC 3948 §2.1 says it should be; for IPv6, where UDP
// must carry a checksum (RFC 8200 §8.1), it is computed.
func EncapUDP(b []byte, off int, src, dst netip.AddrPort) ([]byte, error) {
	if off < UDPHeaderLen || off > len(b) {
		return nil, ErrNoRoom
	}
	n := len(b) - off + UDPHeaderLen
	if n > 65535 {
		return nil, ErrTooBig
	}
	h := b[off-UDPHeaderLen:]
	binary.BigEndian.PutUint16(h[0:], src.Port())
	binary.BigEndian.PutUint16(h[2:], dst.Port())
	binary.BigEndian.PutUint16(h[4:], uint16(n))
	binary.BigEndian.PutUint16(h[6:], 0)
	if src.Addr().Is6() && !src.Addr().Is4In6() {
		c := ^udpChecksum(h[:n], src.Addr(), dst.Addr())
		if c == 0 {
			c = 0xffff
		}
		binary.BigEndian.PutUint16(h[6:], c)
	}
	return h[:n], nil
}

// udpChecksum returns the folded sum of a UDP datagram and its pseudo-header
// (RFC 768, RFC 8200 §8.1).
func udpChecksum(d []byte, src, dst netip.Addr) uint16 {
	sum := addrSum(src) + addrSum(dst) + ProtoUDP + uint32(len(d))
	return checksum(d, sum)
}

// DecapUDP checks the UDP header of a datagram received on the NAT-T port
// and classifies its payload as Classify does. The checksum is not checked
// for IPv4, as RFC 3948 §2.1 allows (ESP's ICV protects the payload).
func DecapUDP(d []byte) (src, dst uint16, kind Kind, payload []byte, err error) {
	if len(d) < UDPHeaderLen {
		return 0, 0, 0, nil, ErrTruncated
	}
	l := int(binary.BigEndian.Uint16(d[4:]))
	if l < UDPHeaderLen || l > len(d) {
		return 0, 0, 0, nil, ErrBadUDP
	}
	kind, payload, err = Classify(d[UDPHeaderLen:l])
	if err != nil {
		return 0, 0, 0, nil, err
	}
	return binary.BigEndian.Uint16(d), binary.BigEndian.Uint16(d[2:]), kind, payload, nil
}

// VerifyUDPChecksum reports whether a UDP datagram's checksum is right for
// its pseudo-header addresses; a zero checksum over IPv4 means none and
// passes.
func VerifyUDPChecksum(d []byte, src, dst netip.Addr) bool {
	if len(d) < UDPHeaderLen {
		return false
	}
	if binary.BigEndian.Uint16(d[6:]) == 0 {
		return src.Is4()
	}
	return udpChecksum(d, src, dst) == 0xffff
}
