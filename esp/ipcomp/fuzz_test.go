package ipcomp

import (
	"bytes"
	"compress/flate"
	"encoding/hex"
	"testing"
)

func FuzzDecompress(f *testing.F) {
	c := &Compressor{CPI: 300}
	for _, size := range []int{90, 400, 1400} {
		dst := make([]byte, size)
		if n, ok := c.Compress(dst, 4, textPayload(size, uint64(size))); ok {
			f.Add(dst[:n], uint16(maxIPPayload))
			f.Add(dst[:n], uint16(size-1)) // ErrTooBig
		}
	}
	stream, err := hex.DecodeString(pythonStream)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(withHeader(4, TransformDeflate, stream), uint16(maxIPPayload))
	f.Add(bomb(f, 1<<20), uint16(maxIPPayload))
	f.Add(withHeader(41, 0xFFFF, deflateRaw(f, nil, flate.BestSpeed)), uint16(0))
	f.Add(withHeader(4, 300, []byte{0x07}), uint16(100))
	f.Add([]byte{4, 0, 1}, uint16(100))

	f.Fuzz(func(t *testing.T, pkt []byte, limit uint16) {
		dst := make([]byte, limit)
		nh, cpi, n, err := Decompress(dst, pkt)
		if n < 0 || n > len(dst) {
			t.Fatalf("n = %d outside [0, %d]", n, len(dst))
		}
		if len(pkt) >= HeaderLen && (nh != pkt[0] || cpi != uint16(pkt[2])<<8|uint16(pkt[3])) {
			t.Fatalf("header = (%d, %#x), packet starts % x", nh, cpi, pkt[:HeaderLen])
		}
		if err != nil {
			if n != 0 {
				t.Fatalf("n = %d with error %v", n, err)
			}
			if err != ErrTruncated && err != ErrTooBig && err != ErrCorrupt {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		payload := dst[:n]

		// The same packet fits a dst of exactly n bytes and not one less.
		if _, _, m, err := Decompress(make([]byte, n), pkt); err != nil || m != n {
			t.Fatalf("Decompress into exact dst = (%d, %v), want (%d, nil)", m, err, n)
		}
		if n > 0 {
			if _, _, _, err := Decompress(make([]byte, n-1), pkt); err != ErrTooBig {
				t.Fatalf("Decompress into dst of n-1 error = %v, want ErrTooBig", err)
			}
		}

		// Recompressing and decompressing again round-trips.
		rc := &Compressor{CPI: cpi, Threshold: -1}
		buf := make([]byte, n)
		m, ok := rc.Compress(buf, nh, payload)
		if !ok {
			return // not compressible: it would be sent as it is
		}
		out := make([]byte, n)
		nh2, cpi2, n2, err := Decompress(out, buf[:m])
		if err != nil || nh2 != nh || cpi2 != cpi || !bytes.Equal(out[:n2], payload) {
			t.Fatalf("recompressed round trip = (%d, %#x, %d, %v), want (%d, %#x, %d, nil)", nh2, cpi2, n2, err, nh, cpi, n)
		}
	})
}

// fuzzLevels are the levels FuzzRoundTrip picks from; fuzzCompressors holds
// one Compressor per level so that pooled writers are reused across inputs,
// which also checks that a reset writer behaves like a fresh one.
var (
	fuzzLevels      = []int{0, flate.HuffmanOnly, flate.BestSpeed, 5, flate.BestCompression}
	fuzzCompressors = func() []*Compressor {
		cs := make([]*Compressor, len(fuzzLevels))
		for i, l := range fuzzLevels {
			cs[i] = &Compressor{CPI: 0x0102, Threshold: -1, Level: l}
		}
		return cs
	}()
)

func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{}, byte(4), uint8(0))
	f.Add([]byte("a"), byte(41), uint8(1))
	f.Add(textPayload(89, 1), byte(4), uint8(2))
	f.Add(textPayload(1400, 2), byte(17), uint8(3))
	f.Add(randomPayload(1400, 3), byte(6), uint8(4))
	f.Add(make([]byte, 9000), byte(4), uint8(0))

	f.Fuzz(func(t *testing.T, payload []byte, nh byte, sel uint8) {
		i := int(sel) % len(fuzzCompressors)
		c := fuzzCompressors[i]
		dst := make([]byte, len(payload))
		n, ok := c.Compress(dst, nh, payload)

		// Compress is exactly "raw DEFLATE at this level, if that makes the
		// packet shorter than the payload" (RFC 3173 §2.2).
		want := refDeflate(t, i, payload)
		if wantOK := HeaderLen+len(want) < len(payload); ok != wantOK {
			t.Fatalf("Compress(%d bytes) ok = %v, want %v (deflate gives %d)", len(payload), ok, wantOK, len(want))
		}
		if !ok {
			if n != 0 {
				t.Fatalf("n = %d with ok = false", n)
			}
			return
		}
		if !bytes.Equal(dst[HeaderLen:n], want) {
			t.Fatalf("level %d: pooled writer output differs from a plain flate.Writer", fuzzLevels[i])
		}

		out := make([]byte, len(payload))
		gotNH, cpi, m, err := Decompress(out, dst[:n])
		if err != nil || gotNH != nh || cpi != c.CPI || !bytes.Equal(out[:m], payload) {
			t.Fatalf("round trip = (%d, %#x, %d, %v), want (%d, %#x, %d, nil)", gotNH, cpi, m, err, nh, c.CPI, len(payload))
		}

		// The default threshold only ever turns a true into a false.
		dc := &fuzzDefault
		if _, ok := dc.Compress(dst, nh, payload); ok != (len(payload) >= DefaultThreshold && HeaderLen+len(refDeflate(t, 0, payload)) < len(payload)) {
			t.Fatalf("default Compressor ok = %v for %d bytes", ok, len(payload))
		}
	})
}

// fuzzDefault is a zero-value Compressor shared by FuzzRoundTrip inputs.
var fuzzDefault Compressor

// refWriters are plain flate writers, one per entry of fuzzLevels, that
// refDeflate reuses with Reset (documented as equivalent to NewWriter) so
// that the fuzzer does not allocate a large compressor per input.
var refWriters = make([]*flate.Writer, len(fuzzLevels))

// refDeflate returns payload compressed independently of Compressor at
// fuzzLevels[i].
func refDeflate(t *testing.T, i int, payload []byte) []byte {
	var buf bytes.Buffer
	w := refWriters[i]
	if w == nil {
		level := fuzzLevels[i]
		if level == 0 {
			level = flate.DefaultCompression
		}
		var err error
		if w, err = flate.NewWriter(&buf, level); err != nil {
			t.Fatal(err)
		}
		refWriters[i] = w
	} else {
		w.Reset(&buf)
	}
	if _, err := w.Write(payload); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
