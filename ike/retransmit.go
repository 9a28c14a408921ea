package ike

import (
	"math"
	"time"
)

// Retransmit is a retransmission schedule for requests (RFC 7296 §2.1): the
// request is sent, and resent after Timeout, Timeout×Base, Timeout×Base², ...
// Tries times; after the last resend and one more wait the exchange fails.
// The zero value is strongSwan's default: 4 s, 1.8, 5 tries, a request
// failing after about 165 s.
type Retransmit struct {
	Timeout time.Duration // 0 means 4 s
	Base    float64       // 0 means 1.8
	Tries   int           // 0 means 5; negative means no retransmissions
	Limit   time.Duration // the longest single wait; 0 means none
}

// Wait returns how long to wait after the n-th transmission of a request (n
// = 0 is the first send), and false when no more are to be made: after the
// wait of the last one, the exchange has failed.
func (r Retransmit) Wait(n int) (time.Duration, bool) {
	timeout, base, tries := r.Timeout, r.Base, r.Tries
	if timeout == 0 {
		timeout = 4 * time.Second
	}
	if base == 0 {
		base = 1.8
	}
	if tries == 0 {
		tries = 5
	}
	if n < 0 || n > max(tries, 0) {
		return 0, false
	}
	d := time.Duration(float64(timeout) * math.Pow(base, float64(n)))
	if r.Limit > 0 && d > r.Limit {
		d = r.Limit
	}
	return d, true
}

// Total returns how long a request is tried before it fails.
func (r Retransmit) Total() time.Duration {
	var t time.Duration
	for n := 0; ; n++ {
		d, ok := r.Wait(n)
		if !ok {
			return t
		}
		t += d
	}
}
