package ipcomp

import (
	"math/rand/v2"
)

// words is the vocabulary of textPayload: protocol-ish tokens so that the
// result compresses roughly like real traffic (HTTP headers, JSON, logs).
var words = []string{
	"GET", "POST", "HTTP/1.1", "Host:", "example.com", "Accept:", "text/html",
	"application/json", "Content-Length:", "200", "OK", "\r\n", "{", "}",
	"\"id\":", "\"name\":", "\"value\":", "true", "false", "null", ",", " ",
	"user-agent", "ikego", "/api/v1/items", "Cache-Control:", "no-cache",
}

// textPayload returns n bytes of compressible, deterministic pseudo-text.
func textPayload(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 0x1p40))
	b := make([]byte, 0, n+32)
	for len(b) < n {
		b = append(b, words[r.IntN(len(words))]...)
		b = append(b, ' ')
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
