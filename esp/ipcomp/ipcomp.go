package ipcomp

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"io"
	"sync"
)

// HeaderLen is the length in octets of the IPComp header (RFC 3173 §3):
// Next Header (1 octet), Flags (1 octet), CPI (2 octets, network order).
const HeaderLen = 4

// Protocol is the IP protocol number of IPComp (RFC 3173 §3), used in the
// IPv4 Protocol or IPv6 Next Header field that precedes an IPComp header.
const Protocol = 108

// TransformDeflate is the IPCOMP_DEFLATE transform identifier (RFC 2394 §4,
// RFC 2407 §4.4.5). It is also the well-known CPI for DEFLATE when an
// IPComp association is set up by hand (RFC 3173 §3: CPIs 0-63 are the
// well-known transform identifiers).
const TransformDeflate = 2

// MinNegotiatedCPI is the smallest CPI of the range that nodes negotiate
// dynamically, for example with IKE (RFC 3173 §3: 256-61439). CPIs 64-255
// are reserved.
const MinNegotiatedCPI = 256

// MaxNegotiatedCPI is the largest negotiated CPI (RFC 3173 §3); values
// above it, 61440-65535, are for private use.
const MaxNegotiatedCPI = 61439

// DefaultThreshold is the payload length below which a [Compressor] with a
// zero Threshold does not try to compress: RFC 2394 §3 reports that DEFLATE
// rarely shrinks payloads shorter than about 90 bytes.
const DefaultThreshold = 90

// ErrTruncated is returned by [Decompress] and [ParseHeader] when the
// packet is shorter than the IPComp header, and by Decompress when the
// DEFLATE stream ends before its final block is complete.
var ErrTruncated = errors.New("ipcomp: truncated packet")

// ErrTooBig is returned by [Decompress] when the decompressed payload would
// not fit in the destination buffer.
var ErrTooBig = errors.New("ipcomp: decompressed payload exceeds limit")

// ErrCorrupt is returned by [Decompress] when the compressed payload is not
// valid DEFLATE data (RFC 1951).
var ErrCorrupt = errors.New("ipcomp: corrupt compressed payload")

// ParseHeader returns the Next Header and CPI fields of the IPComp header at
// the start of pkt, or [ErrTruncated] if pkt is shorter than [HeaderLen].
// The Flags octet is ignored, as RFC 3173 §3 requires of a receiver. It lets
// a caller find the IPComp association from the CPI before decompressing.
func ParseHeader(pkt []byte) (nh byte, cpi uint16, err error) {
	if len(pkt) < HeaderLen {
		return 0, 0, ErrTruncated
	}
	return pkt[0], binary.BigEndian.Uint16(pkt[2:4]), nil
}

// putHeader writes an IPComp header with zero flags (RFC 3173 §3) into
// b[:HeaderLen]; b must be at least HeaderLen long.
func putHeader(b []byte, nh byte, cpi uint16) {
	b[0] = nh
	b[1] = 0
	binary.BigEndian.PutUint16(b[2:4], cpi)
}

// inflater is the per-call decompression state kept in inflaters: a flate
// reader bound once to the bytes.Reader next to it, so that a pooled value
// is reused with Reset and no allocation.
type inflater struct {
	src   bytes.Reader
	fr    io.ReadCloser // from flate.NewReader; also a flate.Resetter
	probe [1]byte
}

// inflaters pools inflater values for Decompress. It is the package's only
// global mutable state.
var inflaters sync.Pool

// maxEmptyReads bounds how many consecutive (0, nil) results from the flate
// reader are tolerated before the stream is declared corrupt. compress/flate
// never returns (0, nil) for a non-empty buffer; this guards against a hang
// should that ever change.
const maxEmptyReads = 100

func getInflater(data []byte) *inflater {
	z, _ := inflaters.Get().(*inflater)
	if z == nil {
		z = new(inflater)
		z.src.Reset(data)
		z.fr = flate.NewReader(&z.src)
		return z
	}
	z.src.Reset(data)
	// Reset of compress/flate's reader never fails; the error is part of
	// the flate.Resetter interface only.
	_ = z.fr.(flate.Resetter).Reset(&z.src, nil)
	return z
}

func putInflater(z *inflater) {
	z.src.Reset(nil) // do not keep the caller's packet alive
	inflaters.Put(z)
}

// inflate decompresses z's source into dst. It returns the number of bytes
// written, or an error if the stream is invalid or its output is longer than
// len(dst). Once dst is full it reads at most one more byte of output, so
// the work done for a decompression bomb is bounded by len(dst) plus one
// flate window.
func (z *inflater) inflate(dst []byte) (int, error) {
	n, empty := 0, 0
	for n < len(dst) {
		m, err := z.fr.Read(dst[n:])
		n += m
		switch {
		case err == io.EOF:
			return n, nil
		case err != nil:
			return 0, mapFlateError(err)
		case m == 0:
			if empty++; empty > maxEmptyReads {
				return 0, ErrCorrupt
			}
		default:
			empty = 0
		}
	}
	// dst is full: the stream must end here, without one more byte.
	for range maxEmptyReads {
		m, err := z.fr.Read(z.probe[:])
		if m > 0 {
			return 0, ErrTooBig
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, mapFlateError(err)
		}
	}
	return 0, ErrCorrupt
}

// mapFlateError turns an error of compress/flate's reader into one of the
// package's sentinels.
func mapFlateError(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrTruncated
	}
	return ErrCorrupt
}

// Decompress parses the IPComp header at the start of pkt and inflates the
// DEFLATE data that follows it (RFC 2394 §2.2) into dst, never writing more
// than len(dst) bytes. It returns the header's Next Header and CPI fields
// and the length n of the decompressed payload, which is dst[:n]. The Flags
// octet is ignored (RFC 3173 §3). Bytes after the end of the final DEFLATE
// block are ignored, as zlib-based receivers do.
//
// The caller chooses the limit: a dst of 65535 minus the length of the
// outer headers is the natural one for an IP datagram. Errors are
// [ErrTruncated] (pkt shorter than the header, or a DEFLATE stream that
// ends early, including an empty one), [ErrTooBig] (the decompressed
// payload is longer than len(dst); inflation stops right after the limit is
// passed) and [ErrCorrupt] (invalid DEFLATE data). On error n is 0 and the
// contents of dst are unspecified; nh and cpi are still those of the header
// when pkt holds one. dst and pkt must not overlap.
//
// Decompress is safe for concurrent use. It keeps no state between calls,
// as IPComp requires (RFC 3173 §2), apart from pooled flate readers that
// are reset for every packet.
func Decompress(dst, pkt []byte) (nh byte, cpi uint16, n int, err error) {
	nh, cpi, err = ParseHeader(pkt)
	if err != nil {
		return 0, 0, 0, err
	}
	z := getInflater(pkt[HeaderLen:])
	n, err = z.inflate(dst)
	putInflater(z)
	return nh, cpi, n, err
}
