// Package ppp will implement PPP (RFC 1661) for L2TP: LCP and IPCP option
// negotiation, PAP, CHAP-MD5 (RFC 1994) and MS-CHAPv2 (RFC 2759).
//
// Only the MS-CHAPv2 primitives exist so far (mschapv2.go): the NT-Response
// and authenticator response of RFC 2759, Section 8, their constant-time
// checks, and the MPPE key derivation of RFC 3079, Section 3, that also gives
// the EAP-MSCHAPv2 MSK for IKEv2 EAP authentication. They are pure functions,
// safe for concurrent use.
package ppp
