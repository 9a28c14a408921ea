// Package l2tp implements an L2TP network server (LNS, RFC 2661) for the
// L2TP/IPsec clients built into Windows, iOS, macOS and Android, carrying the
// PPP links of package ppp.
//
// The pieces, bottom up:
//
//   - header.go: the L2TP header of RFC 2661, Section 3.1 (T, L, S, O and P
//     bits, version 2, Length, Tunnel ID, Session ID, Ns, Nr, Offset).
//   - avp.go, message.go: AVPs (Section 4.1) with the M and H bits, hidden
//     AVPs (Section 4.3), message and attribute types with names, Result
//     Codes (Section 4.4.2), and whole control and data messages.
//   - control.go: reliable delivery of control messages (Section 5.8):
//     Ns/Nr, the peer's Receive Window Size, retransmission with exponential
//     backoff, ZLB acknowledgments, reordering inside our window, HELLO
//     after an idle period (Section 6.5).
//   - tunnel.go: the LNS state machines of Section 7.2 (control connection,
//     with tunnel authentication by Challenge and Challenge Response,
//     Section 5.1.1) and Section 7.4.1 (incoming calls), StopCCN with the
//     hold period of Section 5.7, CDN, and the mandatory-AVP rule of
//     Section 4.1.
//   - server.go: Server, all tunnels of an LNS, keyed by a caller-chosen
//     Peer; a ppp.Session per connected call.
//
// Not implemented: the LAC role, outgoing calls (OCRQ, OCRP, OCCN are
// answered as unexpected), tie breaking (an LNS that never initiates needs
// none), proxy authentication and proxy LCP (the AVPs are parsed and
// ignored; PPP always negotiates afresh), L2TPv3, and sending hidden AVPs
// (ParseMessage reveals them; Message.Append can hide).
//
// Concurrency: the package is sans-I/O. A Server owns no socket, goroutine
// or timer: the caller hands it received datagrams and the current time,
// sends the datagrams it queues, reads its events, and calls HandleTimeout
// at NextDeadline. One goroutine owns each Server; it is not safe for
// concurrent use. The data path (HandleDatagram of a data message carrying
// IPv4, AppendIP) allocates nothing.
package l2tp
