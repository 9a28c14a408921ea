// Package l2tptest is the client side of L2TP/IPsec for tests: a LAC that
// opens one tunnel and one incoming call to an LNS (RFC 2661, Sections 5.1
// and 7.4.1: SCCRQ, SCCRP, SCCCN, ICRQ, ICRP, ICCN), and the PPP peer on
// that call (RFC 1661): LCP, CHAP with MD5 (RFC 1994) or MS-CHAPv2 (RFC
// 2759), and IPCP for its address and DNS servers (RFC 1332, RFC 1877). It is
// built on the exported APIs of packages l2tp and ppp, so that it checks them
// from the outside, and it carries its datagrams over a Transport: an
// esp.LocalConn through a transport-mode SA (NewLocalTransport), or anything
// else.
//
// What it leaves out, being a test client: control messages are not
// retransmitted (the in-memory network loses nothing unless told to), one
// out of order is dropped rather than queued, data messages are never
// sequenced, and PPP offers no options beyond the Magic-Number.
//
// Concurrency: a Client runs two goroutines of its own, one reading the
// Transport and one owning the protocol state; its methods are safe for
// concurrent use. Close stops both.
package l2tptest
