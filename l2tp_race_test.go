//go:build race

package ikego

// l2tpRace: under the race detector sync.Pool drops items on purpose, so
// allocation counts mean nothing.
const l2tpRace = true
