package leakcheck

import (
	"testing"
	"time"
)

// fakeT records Errorf instead of failing.
type fakeT struct {
	testing.TB
	cleanups []func()
	failed   bool
}

func (f *fakeT) Helper()               {}
func (f *fakeT) Cleanup(fn func())     { f.cleanups = append(f.cleanups, fn) }
func (f *fakeT) Errorf(string, ...any) { f.failed = true }
func (f *fakeT) run() {
	for _, c := range f.cleanups {
		c()
	}
}

func TestDetectsLeak(t *testing.T) {
	f := &fakeT{TB: t}
	Check(f, 50*time.Millisecond)
	stop := make(chan struct{})
	go func() { <-stop }()
	f.run()
	close(stop)
	if !f.failed {
		t.Fatal("a blocked goroutine was not reported")
	}
}

func TestNoLeak(t *testing.T) {
	f := &fakeT{TB: t}
	Check(f, time.Second)
	done := make(chan struct{})
	go func() { time.Sleep(20 * time.Millisecond); close(done) }()
	f.run()
	<-done
	if f.failed {
		t.Fatal("a goroutine that ended in time was reported")
	}
}
