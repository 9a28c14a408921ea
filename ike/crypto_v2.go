package ike

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/ikego/ikego/ike/wire"
)

// errSKAuth is the error of an SK payload whose ICV does not verify;
// DecryptMessage wraps it in wire.ErrIntegrity.
var errSKAuth = errors.New("ike: message authentication failed")

// SKCiphers returns the ciphers of the SK and SKF payloads of an IKE SA
// keyed by k for its selected proposal p: send protects the messages the
// local end sends, recv verifies and decrypts those of the peer. initiator
// is true at the original initiator of the IKE SA, which sends with SK_ei
// and SK_ai (RFC 7296 Section 2.14).
func (k *IKEKeys) SKCiphers(p Proposal, initiator bool) (send, recv wire.Cipher, err error) {
	ei, ai, er, ar := k.SKei, k.SKai, k.SKer, k.SKar
	if !initiator {
		ei, ai, er, ar = er, ar, ei, ai
	}
	if send, err = NewSKCipher(p, ei, ai); err != nil {
		return nil, nil, err
	}
	if recv, err = NewSKCipher(p, er, ar); err != nil {
		return nil, nil, err
	}
	return send, recv, nil
}

// NewSKCipher returns the cipher of SK and SKF payloads (RFC 7296 Section
// 3.14, RFC 7383) for one direction of an IKE SA with the selected IKE
// proposal p: encrKey is SK_ei or SK_er, integKey SK_ai or SK_ar (empty
// for an AEAD). It implements:
//
//   - AES-GCM with 8, 12 and 16-octet ICVs (RFC 5282): the last 4 octets of
//     encrKey are the salt, the nonce is salt | IV with the 8-octet IV of the
//     payload, and the associated data is the message from the IKE header
//     to the end of the SK (or SKF) payload header (RFC 5282 Section 5.1).
//   - ChaCha20-Poly1305 (RFC 7634), likewise with a 4-octet salt.
//   - AES-CBC and 3DES-CBC with HMAC-SHA1-96 or HMAC-SHA2 (RFC 7296
//     Section 3.14, RFC 4868): a random IV of one block, and an ICV over
//     the whole message up to the Pad Length.
//
// The returned cipher is safe for concurrent use and keeps no reference to
// the key slices.
func NewSKCipher(p Proposal, encrKey, integKey []byte) (wire.Cipher, error) {
	a, err := ikeAlgs(p)
	if err != nil {
		return nil, err
	}
	if len(encrKey) != a.encrLen {
		return nil, fmt.Errorf("ike: %s key of %d octets, want %d", a.encr, len(encrKey), a.encrLen)
	}
	if len(integKey) != a.integLen {
		return nil, fmt.Errorf("ike: %s key of %d octets, want %d", a.integ, len(integKey), a.integLen)
	}
	switch wire.EncrID(a.encr.ID) {
	case wire.EncrAESGCM8, wire.EncrAESGCM12, wire.EncrAESGCM16:
		icv := map[wire.EncrID]int{wire.EncrAESGCM8: 8, wire.EncrAESGCM12: 12, wire.EncrAESGCM16: 16}[wire.EncrID(a.encr.ID)]
		aead, err := newIKEGCM(encrKey[:len(encrKey)-4], icv)
		if err != nil {
			return nil, err
		}
		return newAEADSK(aead, encrKey[len(encrKey)-4:]), nil
	case wire.EncrChaCha20Poly1305:
		aead, err := chacha20poly1305.New(encrKey[:chacha20poly1305.KeySize])
		if err != nil {
			return nil, err
		}
		return newAEADSK(aead, encrKey[chacha20poly1305.KeySize:]), nil
	case wire.EncrAESCBC, wire.Encr3DES:
		var block cipher.Block
		if wire.EncrID(a.encr.ID) == wire.EncrAESCBC {
			block, err = aes.NewCipher(encrKey)
		} else {
			block, err = des.NewTripleDESCipher(encrKey)
		}
		if err != nil {
			return nil, err
		}
		newHash, icvLen, err := integHash(wire.IntegID(a.integ.ID))
		if err != nil {
			return nil, err
		}
		return &cbcSK{block: block, newHash: newHash, key: append([]byte(nil), integKey...), icvLen: icvLen}, nil
	}
	return nil, fmt.Errorf("ike: no SK cipher for %s", a.encr)
}

// integHash returns the hash and truncation of an HMAC integrity algorithm
// (RFC 2404, RFC 4868 Section 2.1.1).
func integHash(id wire.IntegID) (func() hash.Hash, int, error) {
	switch id {
	case wire.IntegHMACSHA1_96:
		return sha1.New, 12, nil
	case wire.IntegHMACSHA2_256_128:
		return sha256.New, 16, nil
	case wire.IntegHMACSHA2_384_192:
		return sha512.New384, 24, nil
	case wire.IntegHMACSHA2_512_256:
		return sha512.New, 32, nil
	}
	return nil, 0, fmt.Errorf("ike: unsupported integrity algorithm %s", id)
}

// skIVLen is the length of the IV in an SK payload with an AEAD: 8 octets
// for AES-GCM (RFC 5282 Section 3.1) and ChaCha20-Poly1305 (RFC 7634
// Section 2).
const skIVLen = 8

// aeadSK is an AEAD protecting SK payloads: the nonce is the salt from the
// key material followed by the IV of the payload (RFC 5282 Section 4,
// RFC 7634 Section 2).
type aeadSK struct {
	aead cipher.AEAD
	salt [4]byte
}

var _ wire.Cipher = (*aeadSK)(nil)

func newAEADSK(aead cipher.AEAD, salt []byte) *aeadSK {
	c := &aeadSK{aead: aead}
	copy(c.salt[:], salt)
	return c
}

// IVLen, BlockSize and ICVLen: an 8-octet IV, no alignment (counter
// mode), the AEAD's tag.
func (c *aeadSK) IVLen() int     { return skIVLen }
func (c *aeadSK) BlockSize() int { return 1 }
func (c *aeadSK) ICVLen() int    { return c.aead.Overhead() }

func (c *aeadSK) nonce(iv []byte) (n [12]byte) {
	copy(n[:4], c.salt[:])
	copy(n[4:], iv)
	return n
}

// Seal encrypts plaintext and appends ciphertext and ICV to dst. The output
// is written to dst's spare capacity, so plaintext may be exactly that
// (in place); aad and iv may lie in dst itself.
func (c *aeadSK) Seal(dst, iv, plaintext, aad []byte) []byte {
	if len(iv) != skIVLen {
		panic("ike: SK IV of wrong length")
	}
	n := c.nonce(iv)
	ret, out := sliceForAppend(dst, len(plaintext)+c.aead.Overhead())
	// Seal into out[:0]: the output region, which plaintext may be
	// exactly, and which aad (inside dst) does not overlap.
	c.aead.Seal(out[:0], n[:], plaintext, aad)
	return ret
}

// Open verifies the ICV at the end of ciphertext and appends the plaintext
// to dst.
func (c *aeadSK) Open(dst, iv, ciphertext, aad []byte) ([]byte, error) {
	if len(iv) != skIVLen || len(ciphertext) < c.aead.Overhead() {
		return nil, errSKAuth
	}
	n := c.nonce(iv)
	out, err := c.aead.Open(dst, n[:], ciphertext, aad)
	if err != nil {
		return nil, errSKAuth
	}
	return out, nil
}

// cbcSK is a CBC cipher with an HMAC (RFC 7296 Section 3.14): the ICV is
// the truncated HMAC of the message from the first octet of the IKE header
// to the Pad Length, which is aad, the IV and the ciphertext.
type cbcSK struct {
	block   cipher.Block
	newHash func() hash.Hash
	key     []byte
	icvLen  int
}

var _ wire.Cipher = (*cbcSK)(nil)

// IVLen, BlockSize and ICVLen: one block of IV, block alignment, the
// truncated HMAC.
func (c *cbcSK) IVLen() int     { return c.block.BlockSize() }
func (c *cbcSK) BlockSize() int { return c.block.BlockSize() }
func (c *cbcSK) ICVLen() int    { return c.icvLen }

func (c *cbcSK) icv(sum []byte, aad, iv, ct []byte) []byte {
	m := hmac.New(c.newHash, c.key)
	m.Write(aad)
	m.Write(iv)
	m.Write(ct)
	return m.Sum(sum[:0])
}

// Seal encrypts plaintext, which must be a multiple of the block size, and
// appends ciphertext and ICV to dst. plaintext may be exactly dst's spare
// capacity; aad and iv may lie in dst itself.
func (c *cbcSK) Seal(dst, iv, plaintext, aad []byte) []byte {
	bs := c.block.BlockSize()
	if len(iv) != bs || len(plaintext)%bs != 0 {
		panic("ike: SK plaintext or IV not aligned to the block size")
	}
	ret, out := sliceForAppend(dst, len(plaintext)+c.icvLen)
	ct := out[:len(plaintext)]
	cipher.NewCBCEncrypter(c.block, iv).CryptBlocks(ct, plaintext)
	var sum [sha512.Size]byte
	copy(out[len(plaintext):], c.icv(sum[:], aad, iv, ct))
	return ret
}

// Open checks the ICV first and decrypts only if it verifies.
func (c *cbcSK) Open(dst, iv, ciphertext, aad []byte) ([]byte, error) {
	bs := c.block.BlockSize()
	if len(iv) != bs || len(ciphertext) < c.icvLen {
		return nil, errSKAuth
	}
	ct, got := ciphertext[:len(ciphertext)-c.icvLen], ciphertext[len(ciphertext)-c.icvLen:]
	var sum [sha512.Size]byte
	if subtle.ConstantTimeCompare(got, c.icv(sum[:], aad, iv, ct)[:c.icvLen]) != 1 {
		return nil, errSKAuth
	}
	if len(ct)%bs != 0 {
		return nil, errSKAuth
	}
	ret, out := sliceForAppend(dst, len(ct))
	cipher.NewCBCDecrypter(c.block, iv).CryptBlocks(out, ct)
	return ret, nil
}

// sliceForAppend extends in by n octets, reusing its capacity if it can,
// as crypto/cipher does.
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	return head, head[len(in):]
}

// newIKEGCM returns AES-GCM with a tag of icvLen octets. crypto/cipher
// allows 12 to 16; the 8-octet ICV of ENCR_AES_GCM_8 is the first 8 octets
// of the full tag (NIST SP 800-38D Section 5.2.1.2), done by shortGCM.
func newIKEGCM(key []byte, icvLen int) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	if icvLen >= 12 {
		return cipher.NewGCMWithTagSize(block, icvLen)
	}
	full, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &shortGCM{full: full, block: block, tagLen: icvLen}, nil
}

// shortGCM is AES-GCM with a tag shorter than crypto/cipher allows. Seal
// truncates a full seal; Open decrypts with CTR from the counter GCM uses
// for the first block (J0+1, SP 800-38D Section 7.2, for a 96-bit IV) and
// re-seals the plaintext to learn the full tag. It allocates; IKE messages
// are not the per-packet path.
type shortGCM struct {
	full   cipher.AEAD
	block  cipher.Block
	tagLen int
}

// NonceSize and Overhead: the 96-bit GCM nonce and the short tag.
func (g *shortGCM) NonceSize() int { return 12 }
func (g *shortGCM) Overhead() int  { return g.tagLen }

// Seal returns the full GCM seal with the tag truncated.
func (g *shortGCM) Seal(dst, nonce, plaintext, aad []byte) []byte {
	sealed := g.full.Seal(nil, nonce, plaintext, aad)
	ret, out := sliceForAppend(dst, len(plaintext)+g.tagLen)
	copy(out, sealed[:len(plaintext)+g.tagLen])
	return ret
}

// Open checks the truncated tag before returning the plaintext.
func (g *shortGCM) Open(dst, nonce, ciphertext, aad []byte) ([]byte, error) {
	if len(ciphertext) < g.tagLen || len(nonce) != 12 {
		return nil, errSKAuth
	}
	ct, tag := ciphertext[:len(ciphertext)-g.tagLen], ciphertext[len(ciphertext)-g.tagLen:]
	var ctr [16]byte
	copy(ctr[:], nonce)
	binary.BigEndian.PutUint32(ctr[12:], 2)
	plain := make([]byte, len(ct))
	cipher.NewCTR(g.block, ctr[:]).XORKeyStream(plain, ct)
	resealed := g.full.Seal(nil, nonce, plain, aad)
	if subtle.ConstantTimeCompare(resealed[len(ct):len(ct)+g.tagLen], tag) != 1 {
		return nil, errSKAuth
	}
	return append(dst, plain...), nil
}
