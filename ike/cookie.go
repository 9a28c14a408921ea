package ike

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"io"
	"net/netip"
	"sync"
	"time"
)

// CookieLen is the length of the cookies Cookies makes: a secret version
// octet and an HMAC-SHA-256 (RFC 7296 §2.6 allows 1 to 64 octets).
const CookieLen = 1 + sha256.Size

// Cookies makes and checks the COOKIE notifications of IKE_SA_INIT (RFC 7296
// §2.6): Cookie = <VersionIDofSecret> | Hash(Ni | IPi | SPIi | <secret>),
// here an HMAC keyed with the secret. The secret rotates every Rotate; a
// cookie made with the previous secret is still accepted, so that a client
// answering just after a rotation gets through. A responder under load
// answers IKE_SA_INIT without a valid cookie with one and keeps no state.
// The zero value is ready to use; it is safe for concurrent use.
type Cookies struct {
	// Rand is the source of secrets; nil means crypto/rand.
	Rand io.Reader
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rotate is how long a secret is used; 0 means 5 minutes.
	Rotate time.Duration

	mu      sync.Mutex
	version uint8
	secret  [32]byte
	prev    [32]byte
	hasPrev bool
	since   time.Time
	// mac and prevMAC are HMACs keyed with secret and prev, reset for
	// each cookie (under mu): a flood of requests costs no HMAC setup.
	mac, prevMAC hash.Hash
}

// rotateLocked replaces the secret when it is older than Rotate, or when
// there is none yet.
func (c *Cookies) rotateLocked() error {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	every := c.Rotate
	if every == 0 {
		every = 5 * time.Minute
	}
	t := now()
	if !c.since.IsZero() && t.Sub(c.since) < every {
		return nil
	}
	r := c.Rand
	if r == nil {
		r = rand.Reader
	}
	var next [32]byte
	if _, err := io.ReadFull(r, next[:]); err != nil {
		return err
	}
	if !c.since.IsZero() {
		c.prev, c.hasPrev = c.secret, true
		c.prevMAC = c.mac
		c.version++
	}
	c.secret, c.since = next, t
	c.mac = hmac.New(sha256.New, c.secret[:])
	return nil
}

// cookieMAC computes a cookie with m, an HMAC keyed with the secret of
// version.
func cookieMAC(m hash.Hash, version uint8, ni []byte, ipi netip.Addr, spii uint64) []byte {
	m.Reset()
	m.Write(ni)
	m.Write(ipi.Unmap().AsSlice())
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], spii)
	m.Write(b[:])
	return m.Sum([]byte{version})
}

// Make returns the cookie for an IKE_SA_INIT request with nonce ni from
// address ipi with initiator SPI spii.
func (c *Cookies) Make(ni []byte, ipi netip.Addr, spii uint64) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.rotateLocked(); err != nil {
		return nil, err
	}
	return cookieMAC(c.mac, c.version, ni, ipi, spii), nil
}

// Verify reports whether cookie was made by Make, with the current or the
// previous secret, for these ni, ipi and spii.
func (c *Cookies) Verify(cookie, ni []byte, ipi netip.Addr, spii uint64) bool {
	if len(cookie) != CookieLen {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.rotateLocked(); err != nil {
		return false
	}
	var m hash.Hash
	switch {
	case cookie[0] == c.version && !c.since.IsZero():
		m = c.mac
	case c.hasPrev && cookie[0] == c.version-1:
		m = c.prevMAC
	default:
		return false
	}
	return hmac.Equal(cookie, cookieMAC(m, cookie[0], ni, ipi, spii))
}
