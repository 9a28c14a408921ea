package ppp

import (
	"errors"
	"strconv"
)

// Protocol is the PPP Protocol field (RFC 1661, Section 2; the IANA "PPP DLL
// Protocol Numbers" registry).
type Protocol uint16

// PPP protocol numbers used by this package.
const (
	ProtocolIPv4   Protocol = 0x0021 // Internet Protocol version 4
	ProtocolIPv6   Protocol = 0x0057 // Internet Protocol version 6
	ProtocolIPCP   Protocol = 0x8021 // IP Control Protocol, RFC 1332
	ProtocolIPv6CP Protocol = 0x8057 // IPv6 Control Protocol, RFC 5072
	ProtocolCCP    Protocol = 0x80FD // Compression Control Protocol, RFC 1962
	ProtocolLCP    Protocol = 0xC021 // Link Control Protocol, RFC 1661
	ProtocolPAP    Protocol = 0xC023 // Password Authentication Protocol, RFC 1334
	ProtocolLQR    Protocol = 0xC025 // Link Quality Report, RFC 1989
	ProtocolCHAP   Protocol = 0xC223 // Challenge Handshake Authentication Protocol, RFC 1994
)

// String returns the protocol's usual name, or its number in hexadecimal.
func (p Protocol) String() string {
	switch p {
	case ProtocolIPv4:
		return "IPv4"
	case ProtocolIPv6:
		return "IPv6"
	case ProtocolIPCP:
		return "IPCP"
	case ProtocolIPv6CP:
		return "IPv6CP"
	case ProtocolCCP:
		return "CCP"
	case ProtocolLCP:
		return "LCP"
	case ProtocolPAP:
		return "PAP"
	case ProtocolLQR:
		return "LQR"
	case ProtocolCHAP:
		return "CHAP"
	}
	return "0x" + strconv.FormatUint(uint64(p), 16)
}

// Address and Control field values of RFC 1662, Section 3.1. L2TP carries
// PPP frames without HDLC flags, transparency and FCS (RFC 2661, Section 1),
// and peers keep Address and Control unless ACFC was negotiated.
const (
	frameAddress = 0xFF
	frameControl = 0x03
)

// Frame errors.
var (
	// ErrShortFrame reports a frame too short to hold a Protocol field.
	ErrShortFrame = errors.New("ppp: frame too short")
	// ErrBadProtocol reports a Protocol field that breaks the rule of
	// RFC 1661, Section 2: the least significant bit of the least
	// significant octet is 1 and that of the most significant octet is 0.
	ErrBadProtocol = errors.New("ppp: invalid protocol field")
)

// ParseFrame splits a PPP frame, as carried in an L2TP data message, into its
// Protocol and Information fields. It accepts the Address and Control fields
// 0xFF 0x03 or their absence (Address-and-Control-Field-Compression, RFC 1661,
// Section 6.6) and a one-octet Protocol field (Protocol-Field-Compression,
// Section 6.5), whether or not they were negotiated: RFC 1661 asks receivers
// to accept uncompressed frames, and accepting compressed ones costs nothing.
// The returned payload aliases frame; ParseFrame does not allocate.
func ParseFrame(frame []byte) (Protocol, []byte, error) {
	if len(frame) >= 2 && frame[0] == frameAddress && frame[1] == frameControl {
		frame = frame[2:]
	}
	if len(frame) == 0 {
		return 0, nil, ErrShortFrame
	}
	// RFC 1661, Section 6.5: a compressed Protocol field is a single odd
	// octet; an uncompressed one begins with an even octet.
	if frame[0]&1 == 1 {
		return Protocol(frame[0]), frame[1:], nil
	}
	if len(frame) < 2 {
		return 0, nil, ErrShortFrame
	}
	if frame[1]&1 == 0 {
		return 0, nil, ErrBadProtocol
	}
	return Protocol(frame[0])<<8 | Protocol(frame[1]), frame[2:], nil
}

// FrameHeaderLen is the largest header AppendFrameHeader writes: Address,
// Control and a two-octet Protocol field.
const FrameHeaderLen = 4

// AppendFrameHeader appends the Address and Control fields (unless acfc) and
// the Protocol field (one octet if pfc and the protocol allows it) to b. LCP
// frames are always sent uncompressed whatever was negotiated (RFC 1661,
// Sections 6.5 and 6.6).
func AppendFrameHeader(b []byte, proto Protocol, acfc, pfc bool) []byte {
	if proto == ProtocolLCP {
		acfc, pfc = false, false
	}
	if !acfc {
		b = append(b, frameAddress, frameControl)
	}
	if pfc && proto < 0x100 {
		return append(b, byte(proto))
	}
	return append(b, byte(proto>>8), byte(proto))
}

// AppendFrame appends a whole uncompressed frame, header and payload, to b.
func AppendFrame(b []byte, proto Protocol, payload []byte) []byte {
	b = AppendFrameHeader(b, proto, false, false)
	return append(b, payload...)
}
