package esp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
)

// The benchmarks come in pairs: BenchmarkSeal/X/N and BenchmarkOpen/X/N run
// the SA; BenchmarkBareSeal/X/N and BenchmarkBareOpen/X/N run the same cipher
// (crypto/cipher AES-GCM, x/crypto ChaCha20-Poly1305, or AES-CBC plus
// HMAC-SHA-256) in place on the same payload, so that one run gives the ratio
// of ESP's throughput to the bare algorithm's. Both sides of an Open restore
// the ciphertext with a copy each iteration, as in-place decryption
// destroys it.

var benchSuites = []testSuite{
	{"aes128gcm16", EncrAESGCM16, 128, IntegNone},
	{"aes256gcm16", EncrAESGCM16, 256, IntegNone},
	{"chacha20poly1305", EncrChaCha20Poly1305, 256, IntegNone},
	{"aes256-sha256", EncrAESCBC, 256, IntegHMACSHA256_128},
}

var benchSizes = []int{64, 512, 1420}

// benchPacket returns a tunnel-mode inner packet of n octets.
func benchPacket(n int) []byte {
	pkt := make([]byte, n)
	pkt[0] = 0x45
	pkt[2], pkt[3] = byte(n>>8), byte(n)
	return pkt
}

// espSeal returns one iteration of ESP Seal on an n-octet packet.
func espSeal(b *testing.B, s testSuite, n int) func() {
	out, _ := newPair(b, s, pairOpts{window: 1024})
	out.esn = true // no overflow however long the run
	pkt := benchPacket(n)
	buf := make([]byte, Headroom+n, Headroom+n+Tailroom)
	return func() {
		buf = buf[:Headroom+n]
		copy(buf[Headroom:], pkt)
		if _, err := out.Seal(buf, Headroom); err != nil {
			b.Fatal(err)
		}
	}
}

// benchBatch is how many distinct sealed packets an Open benchmark cycles
// through; both sides of a pair cycle through as many, so that they touch the
// same amount of memory.
const benchBatch = 64

// espOpen returns one iteration of ESP Open of an n-octet packet: a copy of
// one of benchBatch sealed packets, opened in place.
func espOpen(b *testing.B, s testSuite, n int) func() {
	out, in := newPair(b, s, pairOpts{window: 1024})
	pkt := benchPacket(n)
	sealed := make([][]byte, benchBatch)
	for i := range sealed {
		buf := make([]byte, Headroom+n, Headroom+n+Tailroom)
		copy(buf[Headroom:], pkt)
		p, err := out.Seal(buf, Headroom)
		if err != nil {
			b.Fatal(err)
		}
		sealed[i] = p
	}
	buf := make([]byte, len(sealed[0]), len(sealed[0])+Tailroom)
	i := 0
	return func() {
		if i == benchBatch {
			// The batch again, to a receiver that has not seen it: the
			// replay window does its full work each time, and the reset
			// costs a few nanoseconds per batch.
			in.replay.reset()
			i = 0
		}
		copy(buf, sealed[i])
		i++
		if _, err := in.Open(buf, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// bareSeal returns one iteration of the bare cipher sealing the octets ESP
// would: the payload and its trailer, copied in first as ESP's is.
func bareSeal(b *testing.B, s testSuite, n int) func() {
	c := newBare(b, s)
	m := padded(s, n)
	src := make([]byte, m)
	buf := make([]byte, m, m+Tailroom)
	nonce, aad := make([]byte, 12), make([]byte, 8)
	return func() {
		copy(buf, src)
		if c.aead != nil {
			c.aead.Seal(buf[:0], nonce, buf, aad)
			return
		}
		c.enc.CryptBlocks(buf, buf)
		c.macData = buf
		c.mac()
	}
}

// bareOpen returns one iteration of the bare cipher opening a copy of one of
// benchBatch sealed payloads.
func bareOpen(b *testing.B, s testSuite, n int) func() {
	c := newBare(b, s)
	m := padded(s, n)
	nonce, aad := make([]byte, 12), make([]byte, 8)
	sealed := make([][]byte, benchBatch)
	for i := range sealed {
		if c.aead != nil {
			sealed[i] = c.aead.Seal(nil, nonce, make([]byte, m), aad)
		} else {
			sealed[i] = make([]byte, m)
		}
	}
	buf := make([]byte, len(sealed[0]), len(sealed[0])+Tailroom)
	i := 0
	return func() {
		copy(buf, sealed[i%benchBatch])
		i++
		if c.aead != nil {
			if _, err := c.aead.Open(buf[:0], nonce, buf, aad); err != nil {
				b.Fatal(err)
			}
			return
		}
		c.macData = buf
		c.mac()
		c.dec.CryptBlocks(buf, buf)
	}
}

// bareCipher is the reference: the algorithm without ESP.
type bareCipher struct {
	aead     cipher.AEAD
	enc, dec cipher.BlockMode
	block    cipher.Block
	mac      func() []byte
	macData  []byte
}

func newBare(b *testing.B, s testSuite) *bareCipher {
	ek, ik := s.keys(newDetRand(1))
	switch s.encr {
	case EncrAESGCM16:
		blk, _ := aes.NewCipher(ek[:len(ek)-4])
		g, _ := cipher.NewGCM(blk)
		return &bareCipher{aead: g}
	case EncrChaCha20Poly1305:
		c, _ := chacha20poly1305.New(ek[:32])
		return &bareCipher{aead: c}
	case EncrAESCBC:
		blk, _ := aes.NewCipher(ek)
		iv := make([]byte, 16)
		m := hmac.New(sha256.New, ik)
		sum := make([]byte, 0, 64)
		bc := &bareCipher{block: blk, enc: cipher.NewCBCEncrypter(blk, iv), dec: cipher.NewCBCDecrypter(blk, iv)}
		bc.mac = func() []byte {
			m.Reset()
			m.Write(bc.macData)
			return m.Sum(sum[:0])
		}
		return bc
	}
	b.Fatalf("no bare cipher for %s", s.name)
	return nil
}

// padded returns n rounded up to the cipher's block with ESP's 2 trailer
// octets, so that both benchmarks of a pair handle the same octets.
func padded(s testSuite, n int) int {
	a := encrAlgs[s.encr].blockSize
	return n + 2 + (a-(n+2)%a)%a
}

// runOp runs op per benchmark iteration over every suite and size.
func runOp(b *testing.B, mk func(*testing.B, testSuite, int) func()) {
	for _, s := range benchSuites {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%s/%d", s.name, n), func(b *testing.B) {
				op := mk(b, s, n)
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					op()
				}
			})
		}
	}
}

func BenchmarkSeal(b *testing.B)     { runOp(b, espSeal) }
func BenchmarkOpen(b *testing.B)     { runOp(b, espOpen) }
func BenchmarkBareSeal(b *testing.B) { runOp(b, bareSeal) }
func BenchmarkBareOpen(b *testing.B) { runOp(b, bareOpen) }

// BenchmarkRatio runs ESP and the bare cipher alternately, in slices of 64
// iterations within one benchmark, so that both see the same machine at the
// same moments (this machine is shared and noisy), and reports each one's
// ns/op and the ratio of ESP's throughput to the bare cipher's ("ratio":
// 0.9 means ESP reaches 90 % of the bare cipher).
func BenchmarkRatio(b *testing.B) {
	for _, op := range []struct {
		name      string
		esp, bare func(*testing.B, testSuite, int) func()
	}{{"seal", espSeal, bareSeal}, {"open", espOpen, bareOpen}} {
		for _, s := range benchSuites {
			for _, n := range benchSizes {
				b.Run(fmt.Sprintf("%s/%s/%d", op.name, s.name, n), func(b *testing.B) {
					e, r := op.esp(b, s, n), op.bare(b, s, n)
					var te, tr time.Duration
					const slice = 64
					iters := 0
					b.ReportAllocs()
					for b.Loop() {
						t0 := time.Now()
						for range slice {
							e()
						}
						t1 := time.Now()
						for range slice {
							r()
						}
						te += t1.Sub(t0)
						tr += time.Since(t1)
						iters += slice
					}
					b.ReportMetric(float64(te.Nanoseconds())/float64(iters), "esp-ns/op")
					b.ReportMetric(float64(tr.Nanoseconds())/float64(iters), "bare-ns/op")
					b.ReportMetric(float64(tr)/float64(te), "ratio")
				})
			}
		}
	}
}

// TestZeroAllocs asserts the hot-path contract: with Headroom and Tailroom,
// Seal and Open allocate nothing, for every suite, with and without ESN.
func TestZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race (sync.Pool drops items)")
	}
	for _, s := range testSuites {
		for _, esn := range []bool{false, true} {
			out, in := newPair(t, s, pairOpts{window: 1024, esn: esn})
			pkt := benchPacket(1420)
			buf := make([]byte, Headroom+len(pkt), Headroom+len(pkt)+Tailroom)
			rbuf := make([]byte, 0, 2048+Tailroom)
			allocs := testing.AllocsPerRun(200, func() {
				buf = buf[:Headroom+len(pkt)]
				copy(buf[Headroom:], pkt)
				p, err := out.Seal(buf, Headroom)
				if err != nil {
					t.Fatal(err)
				}
				rbuf = append(rbuf[:0], p...)
				if _, err := in.Open(rbuf, 0); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("%s esn=%v: %.1f allocations per Seal+Open", s.name, esn, allocs)
			}
		}
	}
}
