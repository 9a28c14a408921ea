// Package ike will hold IKEv2 (RFC 7296) and IKEv1 (RFC 2409) as sans-I/O
// sessions driven by a Manager, installing SAs through a Dataplane that
// package esp implements (see ../shared/DESIGN.md).
//
// Nothing is implemented yet: IKEv2 is issues 5 and 6 of the tracker.
package ike
