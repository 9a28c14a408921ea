package interop

import (
	"fmt"
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// InNetns runs fn on a thread inside the network namespace ns (a name
// under /var/run/netns): sockets, TUN devices and netlink changes made in
// fn belong to that namespace and keep working after fn returns. The
// thread returns to the test's namespace afterwards; if it cannot, the
// process panics rather than run other goroutines in the wrong namespace.
func InNetns(t testing.TB, ns string, fn func()) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	target, err := os.Open("/var/run/netns/" + ns)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
			panic("interop: cannot return to the test's network namespace: " + err.Error())
		}
	}()
	fn()
}
