// Package ikego is a pure-userspace IPsec stack: IKEv1 and IKEv2 negotiate
// keys, ESP protects packets, a TUN device connects the tunnel to the host,
// and L2TP/PPP serves the L2TP/IPsec clients built into Windows, iOS and
// Android. It needs no kernel IPsec and no cgo.
//
// The packages, in the direction of their dependencies:
//
//   - esp: ESP security associations (RFC 4303), UDP encapsulation (RFC 3948)
//     and, in esp/ipcomp, IP payload compression (RFC 3173).
//   - pki: certificate authority, issuance, CSR signing, PKCS#12, CRLs and
//     IKE identities.
//
// The gateway that wires them to a TUN device and sockets, the IKE daemon,
// L2TP and PPP follow; see the README for what works today.
package ikego
