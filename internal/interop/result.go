package interop

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Result is the outcome of one peer.sh test run.
type Result struct {
	// Scenario is the scenario name from the RESULT line.
	Scenario string
	// Pass is true only for "RESULT <scen> PASS".
	Pass bool
	// Reason is the failure reason of a FAIL line, or why the run could
	// not produce a RESULT line at all. It is empty on PASS.
	Reason string
	// Output is everything the run printed (stdout and stderr in order),
	// for logging on failure.
	Output string
	// Duration is the wall-clock time of the run.
	Duration time.Duration
}

// String returns the result in the form of the RESULT line.
func (r Result) String() string {
	if r.Pass {
		return "RESULT " + r.Scenario + " PASS"
	}
	return "RESULT " + r.Scenario + " FAIL " + r.Reason
}

// ErrNoResult is returned by [ParseResult] when the output has no
// well-formed RESULT line.
var ErrNoResult = errors.New("interop: no RESULT line in output")

// ParseResult finds the last "RESULT <scen> PASS" or
// "RESULT <scen> FAIL <reason>" line in output. The returned Result has
// Scenario, Pass and Reason set; Output and Duration are left zero.
func ParseResult(output string) (Result, error) {
	lines := strings.Split(output, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		line := strings.TrimRight(lines[i], "\r")
		rest, ok := strings.CutPrefix(line, "RESULT ")
		if !ok {
			continue
		}
		scen, verdict, _ := strings.Cut(rest, " ")
		if scen == "" {
			return Result{}, fmt.Errorf("%w: %q has no scenario", ErrNoResult, line)
		}
		switch {
		case verdict == "PASS":
			return Result{Scenario: scen, Pass: true}, nil
		case verdict == "FAIL":
			return Result{Scenario: scen, Reason: "no reason given"}, nil
		case strings.HasPrefix(verdict, "FAIL "):
			reason := strings.TrimSpace(strings.TrimPrefix(verdict, "FAIL "))
			if reason == "" {
				reason = "no reason given"
			}
			return Result{Scenario: scen, Reason: reason}, nil
		default:
			return Result{}, fmt.Errorf("%w: malformed %q", ErrNoResult, line)
		}
	}
	return Result{}, ErrNoResult
}

// ParseInfo parses the KEY=VALUE lines of "peer.sh info" (without --shell):
// each line is split at its first '=', values are taken verbatim and may be
// empty. Empty lines are skipped; any other line without a valid key is an
// error. A repeated key keeps its last value, as a shell would.
func ParseInfo(output string) (map[string]string, error) {
	m := make(map[string]string)
	for n, line := range strings.Split(output, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || !validKey(k) {
			return nil, fmt.Errorf("interop: info line %d is not KEY=VALUE: %q", n+1, line)
		}
		m[k] = v
	}
	return m, nil
}

// validKey reports whether k is a shell variable name.
func validKey(k string) bool {
	if k == "" {
		return false
	}
	for i, c := range k {
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
