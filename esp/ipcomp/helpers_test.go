package ipcomp

import (
	"fmt"
	"math/rand/v2"
)

// textPayload returns n bytes of compressible, deterministic data shaped
// like an API response: JSON records that repeat their keys, with random
// ids, names and flags, so it compresses roughly as real traffic does.
func textPayload(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 0x1bad5eed))
	names := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot"}
	b := make([]byte, 0, n+64)
	b = append(b, `{"items":[`...)
	for len(b) < n {
		b = fmt.Appendf(b, `{"id":%d,"name":"%s","ok":%t},`, r.IntN(100000), names[r.IntN(len(names))], r.IntN(2) == 0)
	}
	return b[:n]
}

// randomPayload returns n deterministic, incompressible bytes.
func randomPayload(n int, seed uint64) []byte {
	var key [32]byte
	key[0] = byte(seed)
	key[1] = byte(seed >> 8)
	b := make([]byte, n)
	r := rand.NewChaCha8(key)
	_, _ = r.Read(b)
	return b
}
