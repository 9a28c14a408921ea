package ike

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"

	"github.com/ikego/ikego/ike/wire"
)

// prf is a pseudorandom function of IKEv2 (RFC 7296 Section 2.13, Transform
// Type 2). All of them are HMACs (RFC 2104): HMAC-SHA1 and HMAC-SHA2
// (RFC 4868 Section 2.1.2), which take keys of any length, so the nonce key
// of SKEYSEED is the whole of Ni | Nr (RFC 7296 Section 2.14; the halving
// rule is for fixed-key PRFs such as AES-XCBC, not implemented).
type prf struct {
	id      wire.PRFID
	newHash func() hash.Hash
	size    int // output length, also the preferred key length (RFC 7296 Section 2.13)
}

// prfs is the registry of PRFs, keyed by their IANA number.
var prfs = map[wire.PRFID]*prf{
	wire.PRFHMACSHA1:     {id: wire.PRFHMACSHA1, newHash: sha1.New, size: sha1.Size},
	wire.PRFHMACSHA2_256: {id: wire.PRFHMACSHA2_256, newHash: sha256.New, size: sha256.Size},
	wire.PRFHMACSHA2_384: {id: wire.PRFHMACSHA2_384, newHash: sha512.New384, size: sha512.Size384},
	wire.PRFHMACSHA2_512: {id: wire.PRFHMACSHA2_512, newHash: sha512.New, size: sha512.Size},
}

// prfByID returns the PRF with IANA number id.
func prfByID(id wire.PRFID) (*prf, error) {
	p, ok := prfs[id]
	if !ok {
		return nil, fmt.Errorf("ike: unsupported PRF %s", id)
	}
	return p, nil
}

// sum returns prf(key, data[0] | data[1] | ...) in a new slice.
func (p *prf) sum(key []byte, data ...[]byte) []byte {
	m := hmac.New(p.newHash, key)
	for _, d := range data {
		m.Write(d)
	}
	return m.Sum(make([]byte, 0, p.size))
}

// maxPRFPlusBlocks is the number of blocks prf+ can produce: its counter is
// one octet, from 0x01 to 0xff (RFC 7296 Section 2.13).
const maxPRFPlusBlocks = 255

// prfPlus returns the first n octets of prf+(key, seed) (RFC 7296
// Section 2.13):
//
//	prf+ (K,S) = T1 | T2 | T3 | T4 | ...
//	T1 = prf (K, S | 0x01)
//	T2 = prf (K, T1 | S | 0x02)
//	TN = prf (K, TN-1 | S | N)
//
// The counter is one octet, so at most 255 blocks can be produced; asking
// for more is a programming error (the key lengths of the registry need a
// few blocks at most) and panics.
func prfPlus(p *prf, key, seed []byte, n int) []byte {
	if n < 0 || n > maxPRFPlusBlocks*p.size {
		panic(fmt.Sprintf("ike: prf+ asked for %d octets, at most %d", n, maxPRFPlusBlocks*p.size))
	}
	out := make([]byte, 0, n+p.size)
	m := hmac.New(p.newHash, key)
	var prev []byte
	for i := 1; len(out) < n; i++ {
		m.Reset()
		m.Write(prev)
		m.Write(seed)
		m.Write([]byte{byte(i)})
		start := len(out)
		out = m.Sum(out)
		prev = out[start:]
	}
	return out[:n:n]
}
