package ppp

import (
	"errors"
	"strconv"

	"golang.org/x/crypto/cryptobyte"
)

// Code is the Code field of an LCP or NCP packet (RFC 1661, Section 5).
// CHAP uses its own codes (CHAPCode) in the same packet format.
type Code uint8

// Control protocol codes, RFC 1661, Sections 5.1 to 5.8, and RFC 1570,
// Section 1. Codes 8 to 13 are LCP only.
const (
	CodeConfigureRequest Code = 1
	CodeConfigureAck     Code = 2
	CodeConfigureNak     Code = 3
	CodeConfigureReject  Code = 4
	CodeTerminateRequest Code = 5
	CodeTerminateAck     Code = 6
	CodeCodeReject       Code = 7
	CodeProtocolReject   Code = 8
	CodeEchoRequest      Code = 9
	CodeEchoReply        Code = 10
	CodeDiscardRequest   Code = 11
	CodeIdentification   Code = 12 // RFC 1570, Section 1.1
	CodeTimeRemaining    Code = 13 // RFC 1570, Section 1.2
)

var codeNames = [...]string{
	CodeConfigureRequest: "Configure-Request",
	CodeConfigureAck:     "Configure-Ack",
	CodeConfigureNak:     "Configure-Nak",
	CodeConfigureReject:  "Configure-Reject",
	CodeTerminateRequest: "Terminate-Request",
	CodeTerminateAck:     "Terminate-Ack",
	CodeCodeReject:       "Code-Reject",
	CodeProtocolReject:   "Protocol-Reject",
	CodeEchoRequest:      "Echo-Request",
	CodeEchoReply:        "Echo-Reply",
	CodeDiscardRequest:   "Discard-Request",
	CodeIdentification:   "Identification",
	CodeTimeRemaining:    "Time-Remaining",
}

// String returns the code's name from RFC 1661.
func (c Code) String() string {
	if int(c) < len(codeNames) && codeNames[c] != "" {
		return codeNames[c]
	}
	return "Code(" + strconv.Itoa(int(c)) + ")"
}

// Packet errors.
var (
	// ErrShortPacket reports fewer than the four header octets, or a Length
	// field larger than the octets received (RFC 1661, Section 5).
	ErrShortPacket = errors.New("ppp: packet truncated")
	// ErrBadLength reports a Length field smaller than the header.
	ErrBadLength = errors.New("ppp: packet length field too small")
	// ErrBadOption reports a Configuration Option whose Length is below 2
	// or runs past the end of the options (RFC 1661, Section 6).
	ErrBadOption = errors.New("ppp: malformed configuration option")
)

// PacketHeaderLen is the size of the Code, Identifier and Length fields.
const PacketHeaderLen = 4

// Packet is one LCP, NCP or CHAP packet (RFC 1661, Section 5):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Code      |  Identifier   |            Length             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    Data ...
//	+-+-+-+-+
type Packet struct {
	Code       Code
	Identifier uint8
	// Data is everything after the header up to Length. After
	// ParsePacket it aliases the parsed buffer.
	Data []byte
}

// ParsePacket parses b as a control packet. Octets after Length are padding
// and ignored (RFC 1661, Section 5); a Length larger than b is an error. The
// returned Data aliases b.
func ParsePacket(b []byte) (Packet, error) {
	s := cryptobyte.String(b)
	var p Packet
	var code uint8
	var length uint16
	if !s.ReadUint8(&code) || !s.ReadUint8(&p.Identifier) || !s.ReadUint16(&length) {
		return Packet{}, ErrShortPacket
	}
	if length < PacketHeaderLen {
		return Packet{}, ErrBadLength
	}
	if !s.ReadBytes(&p.Data, int(length)-PacketHeaderLen) {
		return Packet{}, ErrShortPacket
	}
	p.Code = Code(code)
	return p, nil
}

// Append appends the encoded packet to b. Data longer than 65531 octets
// cannot be encoded; Append truncates it, which never happens for packets
// this package builds.
func (p Packet) Append(b []byte) []byte {
	data := p.Data
	if len(data) > 0xFFFF-PacketHeaderLen {
		data = data[:0xFFFF-PacketHeaderLen]
	}
	n := len(data) + PacketHeaderLen
	b = append(b, byte(p.Code), p.Identifier, byte(n>>8), byte(n))
	return append(b, data...)
}

// Option is one Configuration Option (RFC 1661, Section 6): Type, and the
// Data after the Length octet.
type Option struct {
	Type uint8
	// Data excludes the Type and Length octets. After ParseOptions it
	// aliases the parsed buffer.
	Data []byte
}

// ParseOptions parses the Options field of a Configure-Request, -Ack, -Nak
// or -Reject. Each option's Length counts its Type and Length octets, so it
// is at least 2, and must fit in b (RFC 1661, Section 6). The options keep
// their order; duplicates are returned as received. Data slices alias b.
func ParseOptions(b []byte) ([]Option, error) {
	s := cryptobyte.String(b)
	var opts []Option
	for !s.Empty() {
		var o Option
		var length uint8
		if !s.ReadUint8(&o.Type) || !s.ReadUint8(&length) || length < 2 ||
			!s.ReadBytes(&o.Data, int(length)-2) {
			return nil, ErrBadOption
		}
		opts = append(opts, o)
	}
	return opts, nil
}

// AppendOptions appends opts in the Type/Length/Data format. An option whose
// Data exceeds 253 octets is truncated, which never happens for options this
// package builds.
func AppendOptions(b []byte, opts []Option) []byte {
	for _, o := range opts {
		b = appendOption(b, o.Type, o.Data)
	}
	return b
}

func appendOption(b []byte, typ uint8, data []byte) []byte {
	if len(data) > 253 {
		data = data[:253]
	}
	b = append(b, typ, byte(len(data)+2))
	return append(b, data...)
}
