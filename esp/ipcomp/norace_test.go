//go:build !race

package ipcomp

// raceEnabled reports whether the race detector is on: sync.Pool then drops
// pooled values at random, so allocation counts are meaningless.
const raceEnabled = false
