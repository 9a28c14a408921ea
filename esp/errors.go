package esp

import "errors"

// The errors Seal and Open return. Each rejection of a received packet is one
// of these, compared with errors.Is, and counted in the SA's Stats; none is
// allocated per packet.
var (
	// ErrUnknownSPI: the packet's SPI is not the SA's (or, at a SAD, no SA
	// has it).
	ErrUnknownSPI = errors.New("esp: unknown SPI")
	// ErrAuth: the ICV did not verify.
	ErrAuth = errors.New("esp: integrity check failed")
	// ErrReplay: the sequence number was seen before or is left of the
	// replay window (RFC 4303 §3.4.3).
	ErrReplay = errors.New("esp: replayed packet")
	// ErrPadding: the pad length or the padding bytes are wrong (RFC 4303
	// §2.4), or the payload is not a whole number of cipher blocks.
	ErrPadding = errors.New("esp: bad padding")
	// ErrTruncated: the packet is too short for its headers, IV and ICV.
	ErrTruncated = errors.New("esp: truncated packet")
	// ErrTooBig: the result would not fit the buffer, or an IPComp payload
	// inflates past the limit.
	ErrTooBig = errors.New("esp: packet too big")
	// ErrNoRoom: the caller's buffer lacks the headroom Seal or Open needs.
	ErrNoRoom = errors.New("esp: not enough headroom")
	// ErrDummy: a dummy packet (next header 59, RFC 4303 §2.6); drop it
	// silently.
	ErrDummy = errors.New("esp: dummy packet")
	// ErrNextHeader: the next header does not fit the SA's mode (tunnel mode
	// carries only IPv4 and IPv6), or the inner packet is malformed.
	ErrNextHeader = errors.New("esp: unexpected next header")
	// ErrSeqOverflow: the sequence number space is used up; the SA must be
	// rekeyed (RFC 4303 §3.3.3).
	ErrSeqOverflow = errors.New("esp: sequence number overflow")
	// ErrCompression: an IPComp payload could not be inflated.
	ErrCompression = errors.New("esp: bad IPComp payload")
)
