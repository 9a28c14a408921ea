// Package ppp implements the server side of PPP (RFC 1661) for L2TP: LCP
// and IPCP option negotiation, CHAP authentication of the peer with MD5
// (RFC 1994) or MS-CHAPv2 (RFC 2759), IPCP with DNS and NBNS servers
// (RFC 1332, RFC 1877), and IPv4 packets over the link.
//
// The pieces, bottom up:
//
//   - frame.go: PPP frames as L2TP carries them (RFC 2661: no HDLC flags,
//     transparency or FCS), with optional Address/Control and one-octet
//     Protocol fields (ACFC and PFC, RFC 1661, Sections 6.5 and 6.6).
//   - packet.go: the control-packet codec of RFC 1661, Section 5 (Code,
//     Identifier, Length, Data) and Configuration Options as type-length-
//     value triples (Section 6).
//   - automaton.go: the option-negotiation automaton of RFC 1661, Section 4,
//     with its ten states, sixteen events, the transition table of Section
//     4.1, the Restart timer and the Max-Terminate, Max-Configure and
//     Max-Failure counters. One Automaton serves LCP and IPCP, each through
//     an OptionHandler.
//   - lcp.go: LCP options for the authenticator (MRU, ACCM ignored, CHAP as
//     Authentication-Protocol with algorithm 5 or 0x81, Magic-Number with
//     loop-back detection, PFC, ACFC), Echo-Reply, an Echo keepalive, and
//     RFC 1570 Identification and Time-Remaining accepted without answer.
//   - chap.go: the CHAP authenticator with MD5 and MS-CHAPv2, Challenge
//     retransmission, and the MPPE MasterKey on MS-CHAPv2 success.
//   - ipcp.go: IPCP options for the server: its own address, the peer's
//     address from a pool callback, DNS and NBNS servers by Configure-Nak.
//   - session.go: Session, one PPP link as server: Establish (LCP),
//     Authenticate (CHAP), Network (IPCP), IPv4 in and out, Protocol-Reject
//     of unknown protocols, link down on Terminate or keepalive failure.
//   - mschapv2.go: the MS-CHAPv2 primitives of RFC 2759, Section 8, and the
//     MPPE key derivation of RFC 3079, Section 3, that also gives the
//     EAP-MSCHAPv2 MSK for IKEv2 EAP authentication. They are pure
//     functions, safe for concurrent use.
//
// Not implemented: PAP, being authenticated (we are always the
// authenticator), CCP and MPPE, IPv6CP, LQR, multilink, the "restart" and
// "passive" options of the automaton, CHAP re-challenge during the Network
// phase, and MS-CHAPv2 retry and password change.
//
// Concurrency: everything except mschapv2.go is sans-I/O and single-owner.
// A Session or Automaton owns no socket, goroutine or timer: the caller hands
// it received frames and the current time, sends the frames it queues, reads
// its events, and calls HandleTimeout at NextDeadline. One goroutine owns each
// Session; none is safe for concurrent use. The IPv4 path (HandleFrame of an
// IPv4 frame, AppendIPFrame) allocates nothing.
package ppp
