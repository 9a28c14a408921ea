package ipcomp

import (
	"bytes"
	"compress/flate"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
	"testing"
)

// maxIPPayload is a realistic decompression limit: an IP datagram cannot
// be longer than 65535 bytes.
const maxIPPayload = 65535

// deflateRaw compresses data as a raw DEFLATE stream with compress/flate,
// independently of Compressor.
func deflateRaw(t testing.TB, data []byte, level int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, level)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withHeader prepends a hand-built IPComp header to a DEFLATE stream.
func withHeader(nh byte, cpi uint16, stream []byte) []byte {
	return append([]byte{nh, 0, byte(cpi >> 8), byte(cpi)}, stream...)
}

// compressed returns the IPComp packet for payload, failing the test if
// Compress declines.
func compressed(t testing.TB, c *Compressor, nh byte, payload []byte) []byte {
	t.Helper()
	dst := make([]byte, len(payload))
	n, ok := c.Compress(dst, nh, payload)
	if !ok {
		t.Fatalf("Compress(%d bytes) = false, want true", len(payload))
	}
	return dst[:n]
}

func TestRoundTrip(t *testing.T) {
	const cpi = 0x1234
	c := &Compressor{CPI: cpi}
	for _, size := range []int{0, 1, 89, 90, 100, 1400, 65000} {
		for _, kind := range []string{"text", "random"} {
			t.Run(fmt.Sprintf("%s/%d", kind, size), func(t *testing.T) {
				payload := textPayload(size, uint64(size))
				if kind == "random" {
					payload = randomPayload(size, uint64(size))
				}
				dst := make([]byte, len(payload))
				n, ok := c.Compress(dst, 41, payload)
				wantOK := kind == "text" && size >= DefaultThreshold
				if ok != wantOK {
					t.Fatalf("Compress ok = %v, want %v", ok, wantOK)
				}
				if !ok {
					if n != 0 {
						t.Fatalf("Compress n = %d with ok = false", n)
					}
					return
				}
				if n >= len(payload) {
					t.Fatalf("Compress n = %d, not smaller than payload %d", n, len(payload))
				}
				out := make([]byte, maxIPPayload)
				nh, gotCPI, m, err := Decompress(out, dst[:n])
				if err != nil {
					t.Fatalf("Decompress: %v", err)
				}
				if nh != 41 || gotCPI != cpi {
					t.Errorf("Decompress header = (%d, %#x), want (41, %#x)", nh, gotCPI, cpi)
				}
				if !bytes.Equal(out[:m], payload) {
					t.Errorf("Decompress returned %d bytes that differ from the %d-byte payload", m, len(payload))
				}
			})
		}
	}
}

func TestThreshold(t *testing.T) {
	zeros := make([]byte, 200)
	tests := []struct {
		threshold int
		size      int
		want      bool
	}{
		{0, DefaultThreshold - 1, false},
		{0, DefaultThreshold, true},
		{150, 149, false},
		{150, 150, true},
		{-1, 20, true}, // no threshold: 20 zero bytes still shrink
		{-1, 8, false}, // but nothing this short can beat the header
	}
	for _, tt := range tests {
		c := &Compressor{Threshold: tt.threshold}
		payload := zeros[:tt.size]
		_, ok := c.Compress(make([]byte, 300), 4, payload)
		if ok != tt.want {
			t.Errorf("Threshold %d, payload %d: Compress ok = %v, want %v", tt.threshold, tt.size, ok, tt.want)
		}
	}
}

// TestNonExpansionBoundary checks the exact rule of RFC 3173 §2.2 and the
// dst bound: the packet is produced if and only if it is shorter than the
// payload and fits in dst.
func TestNonExpansionBoundary(t *testing.T) {
	for _, size := range []int{90, 100, 120, 400, 1400} {
		payload := textPayload(size, 7)
		want := HeaderLen + len(deflateRaw(t, payload, flate.DefaultCompression))
		c := &Compressor{Threshold: -1}

		n, ok := c.Compress(make([]byte, want), 4, payload)
		if fits := want < size; ok != fits || (ok && n != want) {
			t.Errorf("size %d: Compress = (%d, %v), want (%d, %v)", size, n, ok, want, fits)
		}
		if _, ok := c.Compress(make([]byte, want-1), 4, payload); ok {
			t.Errorf("size %d: Compress into %d-byte dst (need %d) = true", size, want-1, want)
		}
	}
	// A payload that compresses to exactly len-HeaderLen is not sent: the
	// header would make the packet as long as the original.
	for size := 20; size < 200; size++ {
		payload := textPayload(size, 3)
		clen := len(deflateRaw(t, payload, flate.DefaultCompression))
		_, ok := (&Compressor{Threshold: -1}).Compress(make([]byte, 400), 4, payload)
		if want := HeaderLen+clen < size; ok != want {
			t.Fatalf("size %d, compressed %d: Compress ok = %v, want %v", size, clen, ok, want)
		}
	}
}

func TestHeaderLayout(t *testing.T) {
	payload := textPayload(1400, 11)
	c := &Compressor{CPI: 0xABCD}
	pkt := compressed(t, c, 17, payload)
	want := []byte{17, 0x00, 0xAB, 0xCD} // Next Header, Flags, CPI (network order)
	for i, b := range want {
		if pkt[i] != b {
			t.Errorf("header octet %d = %#02x, want %#02x", i, pkt[i], b)
		}
	}
	if !bytes.Equal(pkt[HeaderLen:], deflateRaw(t, payload, flate.DefaultCompression)) {
		t.Error("data after the header is not the raw DEFLATE stream of the payload")
	}

	nh, cpi, err := ParseHeader(pkt)
	if nh != 17 || cpi != 0xABCD || err != nil {
		t.Errorf("ParseHeader = (%d, %#x, %v), want (17, 0xabcd, nil)", nh, cpi, err)
	}
	for i := range HeaderLen {
		if _, _, err := ParseHeader(pkt[:i]); err != ErrTruncated {
			t.Errorf("ParseHeader(%d bytes) error = %v, want ErrTruncated", i, err)
		}
	}

	// Flags must be ignored on receipt (RFC 3173 §3).
	for _, flags := range []byte{0x01, 0x80, 0xFF} {
		p := bytes.Clone(pkt)
		p[1] = flags
		out := make([]byte, maxIPPayload)
		nh, cpi, n, err := Decompress(out, p)
		if err != nil || nh != 17 || cpi != 0xABCD || !bytes.Equal(out[:n], payload) {
			t.Errorf("flags %#02x: Decompress = (%d, %#x, %d, %v), want the original payload", flags, nh, cpi, n, err)
		}
	}
}

// pythonStream is a raw DEFLATE stream made independently of Go, with
// CPython 3.11.7 and zlib 1.2.13:
//
//	payload = b"".join(b"GET /index-%02d.html HTTP/1.1\r\nHost: example.com\r\n\r\n" % i for i in range(8))
//	c = zlib.compressobj(9, zlib.DEFLATED, -15)   # wbits=-15: raw DEFLATE
//	(c.compress(payload) + c.flush(zlib.Z_FINISH)).hex()
const pythonStream = "73770d51d0cfcc4b49add03530d0cb28c9cd51f0080909d037d433e4e5f2c82f2eb15248ad48cc2dc849d54bcecfe5e5e2e57247d26148b20e2392751893acc384641da624eb3023598739513a00"

func pythonPayload() []byte {
	var b []byte
	for i := range 8 {
		b = fmt.Appendf(b, "GET /index-%02d.html HTTP/1.1\r\nHost: example.com\r\n\r\n", i)
	}
	return b
}

func TestInteropZlib(t *testing.T) {
	stream, err := hex.DecodeString(pythonStream)
	if err != nil {
		t.Fatal(err)
	}
	payload := pythonPayload()
	pkt := withHeader(4, TransformDeflate, stream)
	out := make([]byte, maxIPPayload)
	nh, cpi, n, err := Decompress(out, pkt)
	if err != nil {
		t.Fatalf("Decompress: %v", err)
	}
	if nh != 4 || cpi != TransformDeflate || !bytes.Equal(out[:n], payload) {
		t.Errorf("Decompress = (%d, %d, %q), want (4, 2, %q)", nh, cpi, out[:n], payload)
	}
	// Exactly enough room works; one byte less is ErrTooBig.
	if _, _, n, err := Decompress(make([]byte, len(payload)), pkt); err != nil || n != len(payload) {
		t.Errorf("Decompress into exact dst = (%d, %v), want (%d, nil)", n, err, len(payload))
	}
	if _, _, _, err := Decompress(make([]byte, len(payload)-1), pkt); err != ErrTooBig {
		t.Errorf("Decompress into short dst error = %v, want ErrTooBig", err)
	}
	for i := range len(pkt) {
		if _, _, n, err := Decompress(out, pkt[:i]); err != ErrTruncated || n != 0 {
			t.Errorf("Decompress(prefix %d of %d) = (%d, %v), want (0, ErrTruncated)", i, len(pkt), n, err)
		}
	}
}

// TestInteropFlateReader checks that our output is plain raw DEFLATE that
// any inflater accepts, here compress/flate's reader with no options.
func TestInteropFlateReader(t *testing.T) {
	for _, level := range []int{0, flate.BestSpeed, flate.BestCompression, flate.HuffmanOnly} {
		payload := textPayload(1400, 5)
		pkt := compressed(t, &Compressor{Level: level}, 4, payload)
		got, err := io.ReadAll(flate.NewReader(bytes.NewReader(pkt[HeaderLen:])))
		if err != nil || !bytes.Equal(got, payload) {
			t.Errorf("level %d: flate.NewReader = (%d bytes, %v), want the payload", level, len(got), err)
		}
	}
}

func TestTrailingDataIgnored(t *testing.T) {
	payload := textPayload(1400, 13)
	pkt := append(compressed(t, &Compressor{}, 4, payload), "trailing junk"...)
	out := make([]byte, maxIPPayload)
	_, _, n, err := Decompress(out, pkt)
	if err != nil || !bytes.Equal(out[:n], payload) {
		t.Errorf("Decompress with trailing bytes = (%d, %v), want the payload", n, err)
	}
}

func TestEmptyPayload(t *testing.T) {
	pkt := withHeader(4, 300, deflateRaw(t, nil, flate.DefaultCompression))
	for _, size := range []int{0, 10} {
		if _, _, n, err := Decompress(make([]byte, size), pkt); err != nil || n != 0 {
			t.Errorf("Decompress(empty stream, dst %d) = (%d, %v), want (0, nil)", size, n, err)
		}
	}
}

// bomb returns an IPComp packet whose payload is size zero bytes, and the
// length of its DEFLATE stream.
func bomb(t testing.TB, size int) []byte {
	t.Helper()
	return withHeader(4, 300, deflateRaw(t, make([]byte, size), flate.BestCompression))
}

func TestBomb(t *testing.T) {
	const size = 1 << 20
	pkt := bomb(t, size)
	if len(pkt) > 4096 {
		t.Fatalf("bomb is %d bytes; want a few KiB at most", len(pkt))
	}
	t.Logf("bomb: %d bytes inflate to %d", len(pkt), size)

	// It is a valid stream: with room enough it inflates completely.
	big := make([]byte, size)
	if _, _, n, err := Decompress(big, pkt); err != nil || n != size {
		t.Fatalf("Decompress(bomb, %d) = (%d, %v), want (%d, nil)", size, n, err, size)
	}
	if _, _, n, err := Decompress(big[:size-1], pkt); err != ErrTooBig || n != 0 {
		t.Fatalf("Decompress(bomb, %d) = (%d, %v), want (0, ErrTooBig)", size-1, n, err)
	}

	dst := make([]byte, maxIPPayload)
	if _, _, n, err := Decompress(dst, pkt); err != ErrTooBig || n != 0 {
		t.Fatalf("Decompress(bomb, %d) = (%d, %v), want (0, ErrTooBig)", len(dst), n, err)
	}

	// Inflation stops soon after the limit: most of the stream is never
	// read. 64 KiB plus one 32 KiB window is under a tenth of 1 MiB.
	stream := pkt[HeaderLen:]
	z := getInflater(stream)
	_, err := z.inflate(dst)
	unread := z.src.Len()
	putInflater(z)
	if err != ErrTooBig {
		t.Fatalf("inflate error = %v, want ErrTooBig", err)
	}
	if unread*4 < len(stream)*3 {
		t.Errorf("inflate read %d of %d stream bytes; want it to stop within the first quarter", len(stream)-unread, len(stream))
	}

	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	allocs := testing.AllocsPerRun(50, func() {
		if _, _, _, err := Decompress(dst, pkt); err != ErrTooBig {
			t.Fatalf("Decompress(bomb) error = %v", err)
		}
	})
	if allocs != 0 {
		t.Errorf("Decompress(bomb) allocates %v times per call, want 0", allocs)
	}
}

func TestTruncated(t *testing.T) {
	for _, size := range []int{100, 1400, 65000} {
		pkt := compressed(t, &Compressor{}, 4, textPayload(size, 17))
		out := make([]byte, maxIPPayload)
		for i := range len(pkt) {
			// Every prefix of the small packets; for the large one every
			// 61st prefix and the last 256, to keep the race run short.
			if size > 1400 && i%61 != 0 && i < len(pkt)-256 {
				continue
			}
			if _, _, n, err := Decompress(out, pkt[:i]); err != ErrTruncated || n != 0 {
				t.Fatalf("size %d: Decompress(prefix %d of %d) = (%d, %v), want (0, ErrTruncated)", size, i, len(pkt), n, err)
			}
		}
	}
}

func TestCorrupt(t *testing.T) {
	tests := []struct {
		name   string
		stream []byte
	}{
		{"reserved block type", []byte{0x07}},                       // BFINAL=1, BTYPE=11
		{"stored LEN/NLEN mismatch", []byte{0x01, 5, 0, 5, 0, 'a'}}, // NLEN must be ^LEN
		{"distance before start", []byte{0x03, 0x02, 0x00}},         // fixed block: length 3, distance 1, no history
	}
	for _, tt := range tests {
		_, _, n, err := Decompress(make([]byte, 1024), withHeader(4, 300, tt.stream))
		if err != ErrCorrupt || n != 0 {
			t.Errorf("%s: Decompress = (%d, %v), want (0, ErrCorrupt)", tt.name, n, err)
		}
	}

	// Any single-byte change: no panic, a bounded result, and an error
	// that is one of ours.
	pkt := compressed(t, &Compressor{}, 4, textPayload(1400, 19))
	dst := make([]byte, 2000)
	for i := HeaderLen; i < len(pkt); i++ {
		for _, x := range []byte{0x01, 0x80, 0xFF} {
			p := bytes.Clone(pkt)
			p[i] ^= x
			_, _, n, err := Decompress(dst, p)
			if n > len(dst) || (err != nil && n != 0) {
				t.Fatalf("flip %#x at %d: n = %d, err = %v", x, i, n, err)
			}
			if err != nil && err != ErrCorrupt && err != ErrTruncated && err != ErrTooBig {
				t.Fatalf("flip %#x at %d: unexpected error %v", x, i, err)
			}
		}
	}
}

func TestErrorMessages(t *testing.T) {
	for _, err := range []error{ErrTruncated, ErrTooBig, ErrCorrupt} {
		if msg := err.Error(); len(msg) < 8 || msg[:8] != "ipcomp: " {
			t.Errorf("error %q lacks the \"ipcomp: \" prefix", msg)
		}
	}
}

func TestLevels(t *testing.T) {
	payload := textPayload(1400, 23)
	out := make([]byte, maxIPPayload)
	for _, level := range []int{0, flate.HuffmanOnly, flate.DefaultCompression, flate.BestSpeed, 5, flate.BestCompression} {
		pkt := compressed(t, &Compressor{Level: level}, 4, payload)
		if _, _, n, err := Decompress(out, pkt); err != nil || !bytes.Equal(out[:n], payload) {
			t.Errorf("level %d: round trip failed: %v", level, err)
		}
	}
	for _, level := range []int{-3, 10, 42} {
		if _, ok := (&Compressor{Level: level}).Compress(make([]byte, 2000), 4, payload); ok {
			t.Errorf("invalid level %d: Compress = true", level)
		}
	}
	// Changing Level between (not during) calls drops pooled writers of the
	// old level instead of using them.
	c := &Compressor{Level: flate.BestSpeed}
	fast := compressed(t, c, 4, payload)
	c.Level = flate.HuffmanOnly
	huff := compressed(t, c, 4, payload)
	if bytes.Equal(fast, huff) || !bytes.Equal(huff[HeaderLen:], deflateRaw(t, payload, flate.HuffmanOnly)) {
		t.Error("Compress kept using the writer of the previous level")
	}
}

func TestConcurrent(t *testing.T) {
	c := &Compressor{CPI: 4242}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			out := make([]byte, maxIPPayload)
			dst := make([]byte, maxIPPayload)
			for i := range 50 {
				payload := textPayload(200+(g*50+i)*37%3000, uint64(g*1000+i))
				n, ok := c.Compress(dst, byte(g), payload)
				if !ok {
					t.Errorf("goroutine %d, iteration %d: Compress = false", g, i)
					return
				}
				nh, cpi, m, err := Decompress(out, dst[:n])
				if err != nil || nh != byte(g) || cpi != 4242 || !bytes.Equal(out[:m], payload) {
					t.Errorf("goroutine %d, iteration %d: round trip = (%d, %d, %v)", g, i, nh, cpi, err)
					return
				}
				// Mix in the ErrTooBig path.
				if _, _, _, err := Decompress(out[:1000], dst[:n]); err == nil && len(payload) > 1000 {
					t.Errorf("goroutine %d: small dst accepted %d bytes", g, len(payload))
				}
			}
		})
	}
	wg.Wait()
}

func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	payload := textPayload(1400, 29)
	c := &Compressor{CPI: 300}
	dst := make([]byte, len(payload))
	n, ok := c.Compress(dst, 4, payload)
	if !ok {
		t.Fatal("Compress = false")
	}
	out := make([]byte, maxIPPayload)
	ca := testing.AllocsPerRun(100, func() { c.Compress(dst, 4, payload) })
	da := testing.AllocsPerRun(100, func() { Decompress(out, dst[:n]) })
	t.Logf("allocs per call at 1400 bytes: Compress %v, Decompress %v", ca, da)
	if ca != 0 {
		t.Errorf("Compress allocates %v times per call, want 0", ca)
	}
	if da != 0 {
		t.Errorf("Decompress allocates %v times per call, want 0", da)
	}
}

func benchmarkCompress(b *testing.B, level int) {
	payload := textPayload(1400, 31)
	c := &Compressor{CPI: 300, Level: level}
	dst := make([]byte, len(payload))
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, ok := c.Compress(dst, 4, payload); !ok {
			b.Fatal("Compress = false")
		}
	}
}

func BenchmarkCompress(b *testing.B) { benchmarkCompress(b, 0) }

func BenchmarkCompressLevels(b *testing.B) {
	for _, level := range []int{flate.HuffmanOnly, flate.BestSpeed, flate.DefaultCompression, flate.BestCompression} {
		b.Run(fmt.Sprint(level), func(b *testing.B) { benchmarkCompress(b, level) })
	}
}

func BenchmarkDecompress(b *testing.B) {
	payload := textPayload(1400, 31)
	pkt := compressed(b, &Compressor{CPI: 300}, 4, payload)
	out := make([]byte, maxIPPayload)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, _, _, err := Decompress(out, pkt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecompressBomb(b *testing.B) {
	pkt := bomb(b, 1<<20)
	out := make([]byte, maxIPPayload)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := Decompress(out, pkt); err != ErrTooBig {
			b.Fatal(err)
		}
	}
}
