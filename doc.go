// Package ikego is a pure-userspace IPsec stack: IKEv1 and IKEv2 negotiate
// keys, ESP protects packets, a TUN device connects the tunnel to the host,
// and L2TP/PPP serves the L2TP/IPsec clients built into Windows, iOS and
// Android. It needs no kernel IPsec and no cgo.
//
// The packages, in the direction of their dependencies:
//
//   - tun: the TUN device, and in tun/tuntest in-memory devices for tests.
//   - esp: ESP security associations (RFC 4303), UDP encapsulation (RFC 3948),
//     in esp/ipcomp IP payload compression (RFC 3173), and the Engine that
//     moves packets between a TUN device and the sockets through them.
//   - ike: IKEv2 (RFC 7296) and IKEv1 (RFC 2409) sessions and the Manager
//     that runs them against an Engine.
//   - ppp and l2tp: the server side of PPP (RFC 1661) with CHAP and IPCP,
//     and an L2TP network server (RFC 2661) that carries it.
//   - pki: certificate authority, issuance, CSR signing, PKCS#12, CRLs and
//     IKE identities.
//
// This package wires them into a running gateway: a Gateway joins a TUN
// device and a Bind through an esp.Engine, runs an ike.Manager on it when
// GatewayConfig.IKE is set, and, when GatewayConfig.L2TP is set, an
// L2TPService for L2TP/IPsec clients: their transport-mode SAs carry UDP
// port 1701 to an l2tp.Server in the process, each PPP client gets an address
// from a pool, and its IPv4 packets go to and from the TUN device, checked
// against that address. See the README for what works today.
//
// Concurrency: a Gateway and its L2TPService are safe for concurrent use;
// Close stops every goroutine they started.
package ikego
