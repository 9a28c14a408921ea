// Package esp implements the IP Encapsulating Security Payload (RFC 4303):
// one-direction security associations that protect and verify packets in
// place, in tunnel and transport mode, for IPv4 and IPv6.
//
// Algorithms, keyed by their IKEv2 transform numbers: AES-GCM with 8, 12 and
// 16-octet ICVs (RFC 4106), ChaCha20-Poly1305 (RFC 7634), AES-CBC (RFC 3602)
// and 3DES-CBC (RFC 2451) with HMAC-SHA1-96 (RFC 2404) or HMAC-SHA2 (RFC
// 4868), and NULL encryption with integrity (RFC 2410). Extended sequence
// numbers (RFC 4303 §2.2.1, Appendix A) and an anti-replay window of up to
// MaxReplayWindow packets (RFC 6479) are supported; the window is updated
// only after the ICV verified. UDP encapsulation (RFC 3948) is in udpencap.go,
// IPComp (RFC 3173) in the ipcomp sub-package and applied by the SA when
// configured.
//
// Not implemented: AH, GMAC-only ESP (RFC 4543), combined-mode algorithms
// other than the above, and fragmentation (the dataplane keeps packets under
// the path MTU instead).
//
// Concurrency: an SA's Seal and Open may be called from many goroutines at
// once. Sequence numbers come from an atomic counter (NextSeq), so a pipeline
// can number packets in order and seal them in parallel; received packets may
// be opened in parallel, and the replay window is consulted without a lock
// before the ICV check and updated under a short lock after it.
//
// The dataplane: Bind is the network side (UDPBind: the kernel's UDP sockets
// on ports 500 and 4500 and raw ESP, batched; esp/esptest: an in-memory
// network), SPD the policies of traffic selectors, and Engine moves packets
// between a TUN device and a Bind through the SAs and policies installed in
// it (see its doc comment for the pipeline). Some traffic ends in the process
// instead: transport-mode SAs deliver UDP to a LocalConn (ListenLocal, for
// L2TP on port 1701), packets the TUN device gives for an address with a
// handler go to that handler (AddLocalAddr, for the addresses of PPP
// clients), and WriteTUN writes what such clients send to the device.
//
// Buffers: Seal and Open work in place. Seal needs HeaderLen octets of room
// before the packet and some after it; with Headroom and Tailroom to spare
// neither allocates, which is what the dataplane's pooled buffers give them.
package esp
