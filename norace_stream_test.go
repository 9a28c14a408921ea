//go:build !race

package ikego

import "time"

// streamMin is the fewest datagrams each stream of TestRekeyStreamZeroLoss
// carries; streamWarmup flow before the first rekey and after the last,
// streamGap between two rekeys. rekeyTimeout bounds each wait.
const (
	streamMin    = 20000
	streamWarmup = 2000
	streamGap    = 500
	rekeyTimeout = 20 * time.Second
)
