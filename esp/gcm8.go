package esp

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
)

// shortGCM is AES-GCM with a tag shorter than crypto/cipher allows (the
// 8-octet ICV of RFC 4106's ENCR_AES_GCM_8). A GCM tag of t bits is the first
// t bits of the full tag (NIST SP 800-38D §7.1), so Seal truncates a full
// seal. Open decrypts with CTR from the counter GCM uses (J0+1, §7.2) and
// re-seals to learn the full tag. It allocates on Open; ESP with 8-octet ICVs
// is a legacy option and not on the fast path.
type shortGCM struct {
	full   cipher.AEAD // the same key, 16-octet tag
	block  cipher.Block
	tagLen int
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
	iv := make([]byte, 16)
	copy(iv, nonce)
	binary.BigEndian.PutUint32(iv[12:], 2)
	plain := make([]byte, len(ct))
	cipher.NewCTR(g.block, iv).XORKeyStream(plain, ct)
	resealed := g.full.Seal(make([]byte, 0, len(ct)+16), nonce, plain, aad)
	if subtle.ConstantTimeCompare(resealed[len(ct):len(ct)+g.tagLen], ciphertext[len(ct):]) != 1 {
		return nil, errShortTag
	}
	return append(dst, plain...), nil
}
