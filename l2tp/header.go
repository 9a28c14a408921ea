package l2tp

import (
	"errors"

	"golang.org/x/crypto/cryptobyte"
)

// Header bits of RFC 2661, Section 3.1.
const (
	bitT        = 0x8000
	bitL        = 0x4000
	bitS        = 0x0800
	bitO        = 0x0200
	bitP        = 0x0100
	versionMask = 0x000F
)

// Version is the protocol version of RFC 2661 (the Ver field, Section 3.1).
const Version = 2

// ControlHeaderLen is the size of a control message header: flags and
// version, Length, Tunnel ID, Session ID, Ns and Nr (RFC 2661, Section 3.1).
const ControlHeaderLen = 12

// Header errors.
var (
	// ErrShortHeader reports a datagram shorter than the header its flags
	// announce, or a Length or Offset Size beyond the datagram.
	ErrShortHeader = errors.New("l2tp: header truncated")
	// ErrVersion reports a Ver field other than 2 (RFC 2661, Section 3.1:
	// such packets are discarded).
	ErrVersion = errors.New("l2tp: unsupported version")
	// ErrBadLength reports a Length field that disagrees with the datagram
	// size or is smaller than the header.
	ErrBadLength = errors.New("l2tp: bad length field")
	// ErrControlFlags reports a control message without the L and S bits
	// or with the O or P bits (RFC 2661, Section 3.1).
	ErrControlFlags = errors.New("l2tp: invalid flags on control message")
)

// Header is the L2TP header of RFC 2661, Section 3.1. The zero value is a
// data message header without optional fields.
type Header struct {
	// Control is the T bit: a control message.
	Control bool
	// HasLength is the L bit: the Length field is present. AppendHeader
	// computes the Length itself.
	HasLength bool
	// Sequenced is the S bit: the Ns and Nr fields are present.
	Sequenced bool
	// HasOffset is the O bit: the Offset Size field is present.
	HasOffset bool
	// Priority is the P bit of data messages.
	Priority bool
	// Length is the total message length as received; AppendHeader ignores
	// it.
	Length    uint16
	TunnelID  uint16
	SessionID uint16
	Ns        uint16
	Nr        uint16
	// OffsetSize is the number of octets of Offset Pad after the header.
	OffsetSize uint16
}

// Len returns the size of the header AppendHeader writes, Offset Pad
// included.
func (h *Header) Len() int {
	n := 6
	if h.Control || h.HasLength {
		n += 2
	}
	if h.Control || h.Sequenced {
		n += 4
	}
	if h.HasOffset && !h.Control {
		n += 2 + int(h.OffsetSize)
	}
	return n
}

// ParseHeader parses the header of one L2TP datagram and returns it with the
// payload that follows it (the AVPs of a control message, the PPP frame of a
// data message), aliasing pkt. When the L bit is set the Length must equal
// len(pkt). ParseHeader does not allocate.
func ParseHeader(pkt []byte) (Header, []byte, error) {
	var h Header
	s := cryptobyte.String(pkt)
	var flags uint16
	if !s.ReadUint16(&flags) {
		return Header{}, nil, ErrShortHeader
	}
	// RFC 2661, Section 3.1: the Ver field; unknown versions are discarded.
	if flags&versionMask != Version {
		return Header{}, nil, ErrVersion
	}
	h.Control = flags&bitT != 0
	h.HasLength = flags&bitL != 0
	h.Sequenced = flags&bitS != 0
	h.HasOffset = flags&bitO != 0
	h.Priority = flags&bitP != 0
	if h.Control && (!h.HasLength || !h.Sequenced || h.HasOffset || h.Priority) {
		return Header{}, nil, ErrControlFlags
	}
	if h.HasLength {
		if !s.ReadUint16(&h.Length) {
			return Header{}, nil, ErrShortHeader
		}
		if int(h.Length) != len(pkt) {
			return Header{}, nil, ErrBadLength
		}
	}
	if !s.ReadUint16(&h.TunnelID) || !s.ReadUint16(&h.SessionID) {
		return Header{}, nil, ErrShortHeader
	}
	if h.Sequenced && (!s.ReadUint16(&h.Ns) || !s.ReadUint16(&h.Nr)) {
		return Header{}, nil, ErrShortHeader
	}
	if h.HasOffset {
		// RFC 2661, Section 3.1: the payload starts Offset Size octets
		// after the Offset Size field; the pad's contents are undefined.
		if !s.ReadUint16(&h.OffsetSize) || !s.Skip(int(h.OffsetSize)) {
			return Header{}, nil, ErrShortHeader
		}
	}
	return h, []byte(s), nil
}

// AppendHeader appends h for a message whose payload is payloadLen octets
// long. Control headers always get the L and S bits; the Offset Pad is
// written as zeros.
func AppendHeader(b []byte, h Header, payloadLen int) []byte {
	flags := uint16(Version)
	if h.Control {
		flags |= bitT | bitL | bitS
	} else {
		if h.HasLength {
			flags |= bitL
		}
		if h.Sequenced {
			flags |= bitS
		}
		if h.HasOffset {
			flags |= bitO
		}
		if h.Priority {
			flags |= bitP
		}
	}
	b = append(b, byte(flags>>8), byte(flags))
	if flags&bitL != 0 {
		n := h.Len() + payloadLen
		b = append(b, byte(n>>8), byte(n))
	}
	b = append(b, byte(h.TunnelID>>8), byte(h.TunnelID), byte(h.SessionID>>8), byte(h.SessionID))
	if flags&bitS != 0 {
		b = append(b, byte(h.Ns>>8), byte(h.Ns), byte(h.Nr>>8), byte(h.Nr))
	}
	if flags&bitO != 0 {
		b = append(b, byte(h.OffsetSize>>8), byte(h.OffsetSize))
		for range h.OffsetSize {
			b = append(b, 0)
		}
	}
	return b
}
