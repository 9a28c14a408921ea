package pki

import (
	"crypto/rand"
	"io"
	"math/big"
	"time"
)

// Default lifetimes and clock-skew allowance, used where the corresponding
// Config field is zero.
const (
	// DefaultCALifetime is the validity of a new CA certificate: 10 years.
	DefaultCALifetime = 10 * 365 * 24 * time.Hour
	// DefaultLifetime is the validity of an end-entity certificate: 2 years,
	// below the 825 days Apple accepts for server certificates.
	DefaultLifetime = 2 * 365 * 24 * time.Hour
	// DefaultCRLLifetime is the time from a CRL's thisUpdate to its
	// nextUpdate: 30 days.
	DefaultCRLLifetime = 30 * 24 * time.Hour
	// DefaultBackdate is how far NotBefore and thisUpdate lie in the past, so
	// that peers whose clocks are slow accept a fresh certificate: 1 hour.
	DefaultBackdate = time.Hour
)

// Config holds the sources of randomness and time and the lifetimes used when
// creating certificates and CRLs. The zero Config is ready to use: every zero
// field means the documented default. A Config is read, never modified, by
// this package and may be shared.
type Config struct {
	// Rand is the source of serial numbers and of the randomness passed to
	// key generation and signing. Nil means crypto/rand.Reader. (Since Go
	// 1.26 key generation uses a secure source whatever Rand is; use
	// testing/cryptotest.SetGlobalRandom for deterministic keys in tests.)
	Rand io.Reader
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// CALifetime is the validity of CA certificates. Zero means
	// DefaultCALifetime.
	CALifetime time.Duration
	// Lifetime is the default validity of end-entity certificates. Zero
	// means DefaultLifetime.
	Lifetime time.Duration
	// CRLLifetime is the time from thisUpdate to nextUpdate of a CRL. Zero
	// means DefaultCRLLifetime.
	CRLLifetime time.Duration
	// Backdate is subtracted from the current time for NotBefore and
	// thisUpdate. Zero means DefaultBackdate; a negative value means no
	// backdating.
	Backdate time.Duration
}

func (c *Config) rand() io.Reader {
	if c.Rand != nil {
		return c.Rand
	}
	return rand.Reader
}

func (c *Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Config) notBefore() time.Time {
	b := c.Backdate
	switch {
	case b == 0:
		b = DefaultBackdate
	case b < 0:
		b = 0
	}
	return c.now().Add(-b).UTC().Truncate(time.Second)
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// serialNumber returns a positive random 128-bit serial number
// (RFC 5280, Section 4.1.2.2: at most 20 octets, positive).
func (c *Config) serialNumber() (*big.Int, error) {
	var b [16]byte
	for {
		if _, err := io.ReadFull(c.rand(), b[:]); err != nil {
			return nil, err
		}
		n := new(big.Int).SetBytes(b[:])
		if n.Sign() > 0 {
			return n, nil
		}
	}
}
