//go:build race

package main

// raceEnabled makes buildBinary build the command with the race detector
// too, so that the interop runs check the real process for races.
const raceEnabled = true
