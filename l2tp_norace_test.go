//go:build !race

package ikego

// l2tpRace: see l2tp_race_test.go.
const l2tpRace = false
