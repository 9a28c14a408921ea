package wire

import (
	"encoding/binary"
	"strings"

	"golang.org/x/crypto/cryptobyte"
)

// HeaderLen is the length of the IKE header (RFC 7296 Section 3.1).
const HeaderLen = 28

// MaxMessageLen is the largest message Parse and Marshal accept: an IKE
// message travels in one UDP datagram (RFC 7296 Section 2), and RFC 8229
// framing over TCP is limited to the same 16 bits.
const MaxMessageLen = 65535

// ExchangeType is the IKEv2 exchange type (RFC 7296 Section 3.1; IANA
// "IKEv2 Exchange Types").
type ExchangeType uint8

// Exchange types.
const (
	ExchangeIKESAInit        ExchangeType = 34 // IKE_SA_INIT
	ExchangeIKEAuth          ExchangeType = 35 // IKE_AUTH
	ExchangeCreateChildSA    ExchangeType = 36 // CREATE_CHILD_SA
	ExchangeInformational    ExchangeType = 37 // INFORMATIONAL
	ExchangeIKESessionResume ExchangeType = 38 // IKE_SESSION_RESUME
	ExchangeIKEIntermediate  ExchangeType = 43 // IKE_INTERMEDIATE
	ExchangeIKEFollowupKE    ExchangeType = 44 // IKE_FOLLOWUP_KE
)

// Flags are the flags of the IKE header (RFC 7296 Section 3.1). The other
// bits (X) are cleared when sending and ignored on receipt.
type Flags uint8

// Header flags.
const (
	FlagInitiator Flags = 0x08 // I: sent by the original initiator of the IKE SA
	FlagVersion   Flags = 0x10 // V: the sender can speak a higher major version
	FlagResponse  Flags = 0x20 // R: the message is a response

	flagsMask = FlagInitiator | FlagVersion | FlagResponse
)

// String returns the set flags as "I", "V" and "R" joined by "|", or "0".
func (f Flags) String() string {
	var parts []string
	if f&FlagInitiator != 0 {
		parts = append(parts, "I")
	}
	if f&FlagVersion != 0 {
		parts = append(parts, "V")
	}
	if f&FlagResponse != 0 {
		parts = append(parts, "R")
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, "|")
}

// Header is the IKE header (RFC 7296 Section 3.1).
//
// Marshal and EncryptMessage compute NextPayload and Length; a zero
// MajorVersion is sent as 2.
type Header struct {
	InitiatorSPI uint64 // SPIi: chosen by the original initiator, never zero
	ResponderSPI uint64 // SPIr: zero in the first message of IKE_SA_INIT
	NextPayload  PayloadType
	MajorVersion uint8 // 2 for IKEv2
	MinorVersion uint8 // sent as 0, ignored on receipt
	Exchange     ExchangeType
	Flags        Flags
	MessageID    uint32
	Length       uint32 // of the whole message, header included
}

// IsResponse reports whether the Response flag is set.
func (h *Header) IsResponse() bool { return h.Flags&FlagResponse != 0 }

// IsInitiator reports whether the Initiator flag is set.
func (h *Header) IsInitiator() bool { return h.Flags&FlagInitiator != 0 }

// ParseHeader parses the IKE header at the start of b, which must hold the
// whole message. It returns the header whenever b has HeaderLen octets, even
// with an error, so that the caller can answer with INVALID_MAJOR_VERSION or
// dispatch an IKEv1 message (major version 1) to its own codec.
func ParseHeader(b []byte) (Header, error) {
	var h Header
	s := cryptobyte.String(b)
	var next, version, exchange, flags uint8
	if !s.ReadUint64(&h.InitiatorSPI) ||
		!s.ReadUint64(&h.ResponderSPI) ||
		!s.ReadUint8(&next) ||
		!s.ReadUint8(&version) ||
		!s.ReadUint8(&exchange) ||
		!s.ReadUint8(&flags) ||
		!s.ReadUint32(&h.MessageID) ||
		!s.ReadUint32(&h.Length) {
		return h, errTruncated("IKE header")
	}
	h.NextPayload = PayloadType(next)
	// RFC 7296 Section 3.1: MjVer is 2; a receiver rejects greater
	// versions with INVALID_MAJOR_VERSION. MnVer is ignored on receipt.
	h.MajorVersion = version >> 4
	h.MinorVersion = version & 0x0f
	h.Exchange = ExchangeType(exchange)
	// RFC 7296 Section 3.1: the X bits MUST be ignored on receipt.
	h.Flags = Flags(flags) & flagsMask
	if h.MajorVersion != 2 {
		return h, newError(ErrInvalidMajorVersion, "IKE header: major version %d", h.MajorVersion)
	}
	// RFC 7296 Section 3.1: Length is that of the total message, header
	// and payloads. The datagram holds exactly one message.
	switch {
	case h.Length > uint32(len(b)):
		return h, newError(ErrTruncated, "IKE header: length %d, message has %d octets", h.Length, len(b))
	case h.Length < uint32(len(b)):
		return h, errSyntax("IKE header: length %d, message has %d octets", h.Length, len(b))
	case len(b) > MaxMessageLen:
		return h, errSyntax("IKE header: message of %d octets", len(b))
	}
	return h, nil
}

// appendTo appends the header with the given next payload and length.
func (h *Header) appendTo(b []byte, next PayloadType, length int) []byte {
	major := h.MajorVersion
	if major == 0 {
		major = 2
	}
	b = binary.BigEndian.AppendUint64(b, h.InitiatorSPI)
	b = binary.BigEndian.AppendUint64(b, h.ResponderSPI)
	b = append(b, byte(next), major<<4|h.MinorVersion&0x0f, byte(h.Exchange), byte(h.Flags&flagsMask))
	b = binary.BigEndian.AppendUint32(b, h.MessageID)
	return binary.BigEndian.AppendUint32(b, uint32(length))
}
