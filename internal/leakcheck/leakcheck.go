// Package leakcheck finds goroutines a test left behind.
package leakcheck

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// Check records the goroutines running now and registers a cleanup that
// fails t if, within timeout after the test, goroutines started since are
// still running. Call it first in a test, before starting anything. It is
// not for parallel tests (another test's goroutines would count).
func Check(t testing.TB, timeout time.Duration) {
	t.Helper()
	before := map[string]bool{}
	for _, g := range stacks() {
		before[id(g)] = true
	}
	t.Cleanup(func() {
		deadline := time.Now().Add(timeout)
		for {
			var leaked []string
			for _, g := range stacks() {
				if !before[id(g)] && !ignorable(g) {
					leaked = append(leaked, g)
				}
			}
			if len(leaked) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("%d goroutines leaked:\n\n%s", len(leaked), strings.Join(leaked, "\n\n"))
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

func stacks() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Split(strings.TrimSpace(string(buf[:n])), "\n\n")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// id returns "goroutine N" of a stack dump.
func id(g string) string {
	head, _, _ := strings.Cut(g, " [")
	return head
}

// ignorable tells goroutines of the runtime and the testing package, which
// come and go on their own.
func ignorable(g string) bool {
	for _, s := range []string{
		"testing.(*T).Run", "testing.tRunner", "testing.runTests", "testing.(*M).",
		"runtime.goexit", "created by runtime.gc", "runtime.MHeap_Scavenger",
		"signal.signal_recv", "os/signal.loop", "runtime.ensureSigM",
	} {
		if strings.Contains(g, s) && !strings.Contains(g, "github.com/ikego/ikego") {
			return true
		}
	}
	// The goroutine running the cleanup itself.
	return strings.Contains(g, "leakcheck.Check")
}
