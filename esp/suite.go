package esp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"

	"golang.org/x/crypto/chacha20poly1305"
)

// EncrID is an encryption algorithm, numbered as IKEv2 Transform Type 1
// (IANA "IKEv2 Transform Type 1 - Encryption Algorithm Transform IDs").
type EncrID uint16

// The encryption algorithms this package implements.
const (
	EncrDES3             EncrID = 3  // RFC 2451; legacy clients only
	EncrNull             EncrID = 11 // RFC 2410; integrity only, for debugging
	EncrAESCBC           EncrID = 12 // RFC 3602
	EncrAESGCM8          EncrID = 18 // RFC 4106, 8-octet ICV
	EncrAESGCM12         EncrID = 19 // RFC 4106, 12-octet ICV
	EncrAESGCM16         EncrID = 20 // RFC 4106, 16-octet ICV
	EncrChaCha20Poly1305 EncrID = 28 // RFC 7634
)

// IntegID is an integrity algorithm, numbered as IKEv2 Transform Type 3
// (IANA "IKEv2 Transform Type 3 - Integrity Algorithm Transform IDs").
type IntegID uint16

// The integrity algorithms this package implements. IntegNone goes with the
// AEAD encryption algorithms, which carry their own ICV.
const (
	IntegNone           IntegID = 0
	IntegHMACSHA1_96    IntegID = 2  // RFC 2404
	IntegHMACSHA256_128 IntegID = 12 // RFC 4868
	IntegHMACSHA384_192 IntegID = 13 // RFC 4868
	IntegHMACSHA512_256 IntegID = 14 // RFC 4868
)

// encrAlg describes one encryption algorithm: its key sizes, its IV, how it
// pads and how to build it. Exactly one of aead and block is set.
type encrAlg struct {
	name      string
	keyLens   []int // permitted key lengths in octets, without the salt
	saltLen   int   // octets of salt at the end of the keying material (RFC 4106 §8.1)
	ivLen     int   // octets of explicit IV carried in each packet
	blockSize int   // the padding alignment (RFC 4303 §2.4: at least 4)
	icvLen    int   // for AEADs: the ICV they append
	aead      func(key []byte, icvLen int) (cipher.AEAD, error)
	block     func(key []byte) (cipher.Block, error)
}

// integAlg describes one integrity algorithm (an HMAC truncated to icvLen).
type integAlg struct {
	name   string
	keyLen int
	icvLen int
	hash   func() hash.Hash
}

func newGCM(key []byte, icvLen int) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	if icvLen >= 12 {
		return cipher.NewGCMWithTagSize(b, icvLen)
	}
	full, err := cipher.NewGCM(b)
	if err != nil {
		return nil, err
	}
	return &shortGCM{full: full, block: b, tagLen: icvLen}, nil
}

func newChaCha(key []byte, _ int) (cipher.AEAD, error) { return chacha20poly1305.New(key) }

// encrAlgs is the registry of encryption algorithms, keyed by IANA number.
var encrAlgs = map[EncrID]*encrAlg{
	EncrDES3:             {name: "3DES_CBC", keyLens: []int{24}, ivLen: 8, blockSize: 8, block: des.NewTripleDESCipher},
	EncrNull:             {name: "NULL", keyLens: []int{0}, blockSize: 4},
	EncrAESCBC:           {name: "AES_CBC", keyLens: []int{16, 24, 32}, ivLen: 16, blockSize: 16, block: aes.NewCipher},
	EncrAESGCM8:          {name: "AES_GCM_8", keyLens: []int{16, 24, 32}, saltLen: 4, ivLen: 8, blockSize: 4, icvLen: 8, aead: newGCM},
	EncrAESGCM12:         {name: "AES_GCM_12", keyLens: []int{16, 24, 32}, saltLen: 4, ivLen: 8, blockSize: 4, icvLen: 12, aead: newGCM},
	EncrAESGCM16:         {name: "AES_GCM_16", keyLens: []int{16, 24, 32}, saltLen: 4, ivLen: 8, blockSize: 4, icvLen: 16, aead: newGCM},
	EncrChaCha20Poly1305: {name: "CHACHA20_POLY1305", keyLens: []int{32}, saltLen: 4, ivLen: 8, blockSize: 4, icvLen: 16, aead: newChaCha},
}

// integAlgs is the registry of integrity algorithms, keyed by IANA number.
var integAlgs = map[IntegID]*integAlg{
	IntegHMACSHA1_96:    {name: "HMAC_SHA1_96", keyLen: 20, icvLen: 12, hash: sha1.New},
	IntegHMACSHA256_128: {name: "HMAC_SHA2_256_128", keyLen: 32, icvLen: 16, hash: sha256.New},
	IntegHMACSHA384_192: {name: "HMAC_SHA2_384_192", keyLen: 48, icvLen: 24, hash: sha512.New384},
	IntegHMACSHA512_256: {name: "HMAC_SHA2_512_256", keyLen: 64, icvLen: 32, hash: sha512.New},
}

// String returns the IKEv2 name of the algorithm, as strongSwan logs it.
func (e EncrID) String() string {
	if a, ok := encrAlgs[e]; ok {
		return a.name
	}
	return fmt.Sprintf("ENCR_%d", uint16(e))
}

// String returns the IKEv2 name of the algorithm, as strongSwan logs it.
func (i IntegID) String() string {
	if i == IntegNone {
		return "NONE"
	}
	if a, ok := integAlgs[i]; ok {
		return a.name
	}
	return fmt.Sprintf("AUTH_%d", uint16(i))
}

// IsAEAD reports whether the algorithm provides integrity itself, so that it
// is used with IntegNone.
func (e EncrID) IsAEAD() bool {
	a, ok := encrAlgs[e]
	return ok && a.aead != nil
}

// KeyLen returns the length of the keying material the algorithm takes for a
// key of keyBits bits (the salt included), and false for an unknown algorithm
// or key size. keyBits 0 picks the only size of fixed-size algorithms.
func (e EncrID) KeyLen(keyBits int) (int, bool) {
	a, ok := encrAlgs[e]
	if !ok {
		return 0, false
	}
	for _, l := range a.keyLens {
		if keyBits == l*8 || (keyBits == 0 && len(a.keyLens) == 1) {
			return l + a.saltLen, true
		}
	}
	return 0, false
}

// KeyLen returns the length of the algorithm's key, and false for an unknown
// algorithm.
func (i IntegID) KeyLen() (int, bool) {
	if i == IntegNone {
		return 0, true
	}
	a, ok := integAlgs[i]
	if !ok {
		return 0, false
	}
	return a.keyLen, true
}

// EncrAlgorithms returns the IDs of every encryption algorithm in the
// registry.
func EncrAlgorithms() []EncrID {
	return []EncrID{EncrAESGCM16, EncrAESGCM12, EncrAESGCM8, EncrChaCha20Poly1305, EncrAESCBC, EncrDES3, EncrNull}
}

// IntegAlgorithms returns the IDs of every integrity algorithm in the
// registry.
func IntegAlgorithms() []IntegID {
	return []IntegID{IntegHMACSHA256_128, IntegHMACSHA384_192, IntegHMACSHA512_256, IntegHMACSHA1_96}
}
