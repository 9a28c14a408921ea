package ipcomp

import (
	"compress/flate"
	"errors"
	"sync"
)

// Compressor compresses IP payloads into IPComp packets for one direction
// of one IPComp association (RFC 3173), using DEFLATE (RFC 2394).
//
// The zero value is usable: it sends CPI 0, uses [DefaultThreshold] and
// flate.DefaultCompression. Set the fields before first use and do not
// change them while Compress may be running. A Compressor is safe for
// concurrent use by many goroutines; it pools its flate writers and must
// not be copied after first use.
type Compressor struct {
	// CPI is the Compression Parameter Index put in every header. RFC 3173
	// §3 requires the CPI chosen by the decompressing peer: either the
	// well-known [TransformDeflate] for a manually keyed association or
	// a negotiated value from [MinNegotiatedCPI] to [MaxNegotiatedCPI].
	CPI uint16

	// Threshold is the payload length below which Compress does not try to
	// compress (RFC 3173 §2.2, RFC 2394 §3). Zero means [DefaultThreshold]
	// (90); a negative value means every payload is tried.
	Threshold int

	// Level is the compress/flate level. Zero means flate.DefaultCompression
	// (so flate.NoCompression, which never shrinks anything, cannot be
	// chosen); other values are passed to flate.NewWriter as they are. With
	// an invalid level Compress always returns false. flate.BestSpeed is
	// about twice as fast per 1400-byte packet as the default level, whose
	// per-packet reset clears 640 KiB of hash tables, for a few percent
	// less compression.
	Level int

	writers sync.Pool // of *deflater
}

// deflater is the pooled compression state: a flate writer bound to the
// bounded output buffer next to it.
type deflater struct {
	level int
	out   boundedWriter
	fw    *flate.Writer
}

// errFull reports that compressed output has reached its limit: the payload
// does not shrink enough or dst is too small.
var errFull = errors.New("ipcomp: output limit reached")

// boundedWriter is an io.Writer that appends to buf and fails with errFull,
// keeping what fitted, rather than grow past len(buf).
type boundedWriter struct {
	buf []byte
	n   int
}

func (w *boundedWriter) Write(p []byte) (int, error) {
	m := copy(w.buf[w.n:], p)
	w.n += m
	if m < len(p) {
		return m, errFull
	}
	return m, nil
}

func (c *Compressor) threshold() int {
	if c.Threshold == 0 {
		return DefaultThreshold
	}
	return c.Threshold
}

func (c *Compressor) level() int {
	if c.Level == 0 {
		return flate.DefaultCompression
	}
	return c.Level
}

// getDeflater returns a pooled writer for the current level, or nil if the
// level is invalid.
func (c *Compressor) getDeflater(level int) *deflater {
	if d, _ := c.writers.Get().(*deflater); d != nil && d.level == level {
		return d
	}
	d := &deflater{level: level}
	fw, err := flate.NewWriter(&d.out, level)
	if err != nil {
		return nil
	}
	d.fw = fw
	return d
}

// Compress writes into dst an IPComp header (Next Header nh, Flags 0, CPI
// c.CPI; RFC 3173 §3) followed by payload compressed as a raw DEFLATE
// stream (RFC 2394 §2.1) and returns the number of bytes written and true.
// nh is the protocol of the payload, taken from the IP header that the
// caller rewrites to [Protocol].
//
// It returns 0, false, and the caller then sends payload unchanged and
// without an IPComp header, when the payload is shorter than the threshold,
// when the header plus the compressed data would not be smaller than the
// payload (the non-expansion policy of RFC 3173 §2.2), when dst is too
// small for the result, or when c.Level is invalid. The contents of dst are
// unspecified after a false result. A dst of len(payload) bytes is always
// large enough. dst and payload must not overlap.
//
// Each call compresses payload independently with a freshly reset
// compressor; no history is carried between packets (RFC 3173 §2).
func (c *Compressor) Compress(dst []byte, nh byte, payload []byte) (int, bool) {
	if len(payload) < c.threshold() {
		return 0, false
	}
	// Non-expansion: HeaderLen+compressed < len(payload).
	limit := min(len(dst), len(payload)-1) - HeaderLen
	if limit <= 0 {
		return 0, false
	}
	d := c.getDeflater(c.level())
	if d == nil {
		return 0, false
	}
	d.out = boundedWriter{buf: dst[HeaderLen : HeaderLen+limit]}
	d.fw.Reset(&d.out)
	_, err := d.fw.Write(payload)
	if err == nil {
		err = d.fw.Close()
	}
	n := d.out.n
	d.out = boundedWriter{} // do not keep the caller's dst alive
	c.writers.Put(d)
	if err != nil {
		return 0, false
	}
	putHeader(dst, nh, c.CPI)
	return HeaderLen + n, true
}
