// Package ppp will implement PPP (RFC 1661) for L2TP: LCP and IPCP option
// negotiation, PAP, CHAP-MD5 (RFC 1994) and MS-CHAPv2 (RFC 2759).
//
// Nothing is implemented yet.
package ppp
