// Package interop drives the strongSwan interop rig (../shared/interop/peer.sh
// next to the repository) from Go tests: strongSwan 5.9.8 with its userspace
// ESP backend kernel-libipsec in two Linux network namespaces, against which
// ikego runs as responder or initiator.
//
// A [Rig] wraps one instance of the rig with its own scratch directory and
// namespace prefix, so that parallel tests and parallel test binaries never
// share namespaces, vici sockets or the rig's lock. [Available] finds the rig
// and skips the test when it cannot run (not root, rig or strongSwan
// missing). With CI=true in the environment a missing rig or strongSwan is a
// failure instead, so that interop tests cannot silently skip in CI.
//
// Two ways to use it:
//
//   - [Rig.Test] runs a whole scenario (peer.sh test) and returns its
//     RESULT line, optionally with one side replaced by a peer command.
//   - [Rig.NetUp], [Rig.Start], [Rig.Initiate], [Rig.Exec], [Rig.Swanctl],
//     [Rig.ListSAs] and [Rig.WaitInstalled] drive it step by step.
//
// Every command is bounded by a context timeout (and by the test's deadline);
// nothing sleeps to wait, readiness is the rig's own logic or a bounded poll.
// The rig is torn down (peer.sh down) and the scratch directory removed in
// the test's Cleanup.
//
// What it does not do: it never installs packages on its own during a test;
// [Install] is meant for CI set-up. The rig needs Linux, root, iproute2 and
// strongSwan.
//
// Concurrency: a Rig is not safe for concurrent use; use one Rig per test.
// Distinct Rigs may run in parallel.
package interop
