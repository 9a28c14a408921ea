package esp

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"sync"
)

// shortGCM is AES-GCM with a tag shorter than crypto/cipher allows (the
// 8-octet ICV of RFC 4106's ENCR_AES_GCM_8). A GCM tag of t bits is the first
// t bits of the full tag (NIST SP 800-38D §7.1), so Seal truncates a full
// seal. Open decrypts with CTR from the counter GCM uses for the payload
// (inc32(J0) with J0 = nonce || 1, §7.2) and re-seals the plaintext to learn
// the full tag: twice the work of a normal Open, on pooled scratch space, so
// nothing is allocated in steady state. ESP with 8-octet ICVs is a legacy
// option.
type shortGCM struct {
	full   cipher.AEAD // the same key, 16-octet tag
	block  cipher.Block
	tagLen int
	pool   sync.Pool // *gcmScratch
}

type gcmScratch struct {
	ctr, ks [16]byte
	buf     []byte
}

var errShortTag = errors.New("esp: message authentication failed")

func (g *shortGCM) NonceSize() int { return 12 }
func (g *shortGCM) Overhead() int  { return g.tagLen }

// Seal needs 16-tagLen octets of spare capacity beyond the result, which the
// full tag passes through.
func (g *shortGCM) Seal(dst, nonce, plaintext, aad []byte) []byte {
	out := g.full.Seal(dst, nonce, plaintext, aad)
	return out[:len(out)-(16-g.tagLen)]
}

func (g *shortGCM) Open(dst, nonce, ciphertext, aad []byte) ([]byte, error) {
	if len(ciphertext) < g.tagLen || len(nonce) != 12 {
		return nil, errShortTag
	}
	ct := ciphertext[:len(ciphertext)-g.tagLen]
	s, _ := g.pool.Get().(*gcmScratch)
	if s == nil {
		s = new(gcmScratch)
	}
	defer g.pool.Put(s)
	if need := 2*len(ct) + 16; cap(s.buf) < need {
		s.buf = make([]byte, need)
	}
	plain := s.buf[:len(ct)]
	copy(s.ctr[:12], nonce)
	for off, ctr := 0, uint32(2); off < len(ct); off, ctr = off+16, ctr+1 {
		binary.BigEndian.PutUint32(s.ctr[12:], ctr)
		g.block.Encrypt(s.ks[:], s.ctr[:])
		subtle.XORBytes(plain[off:], ct[off:], s.ks[:])
	}
	resealed := g.full.Seal(s.buf[len(ct):len(ct)], nonce, plain, aad)
	if subtle.ConstantTimeCompare(resealed[len(ct):len(ct)+g.tagLen], ciphertext[len(ct):]) != 1 {
		return nil, errShortTag
	}
	return append(dst, plain...), nil
}
