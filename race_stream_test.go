//go:build race

package ikego

import "time"

// Under the race detector the stream of TestRekeyStreamZeroLoss is shorter
// and the rekeys get more time: everything runs several times slower.
const (
	streamMin    = 4000
	streamWarmup = 500
	streamGap    = 150
	rekeyTimeout = 60 * time.Second
)
