// Package wire is the IKEv2 wire codec: it parses and builds IKEv2 messages
// and payloads, frames the Encrypted (SK) and Encrypted Fragment (SKF)
// payloads, fragments and reassembles messages, and checks a message's
// payloads against its exchange's payload rules.
//
// It implements:
//
//   - RFC 7296: the IKE header (Section 3.1), the generic payload header and
//     the critical bit (Sections 2.5 and 3.2), and the payloads SA, KE, IDi,
//     IDr, CERT, CERTREQ, AUTH, Nonce, Notify, Delete, Vendor ID, TSi, TSr,
//     SK, CP and EAP (Sections 3.3 to 3.16), plus the message contents of
//     each exchange (Sections 1.2 to 1.5) as a table of payload rules.
//   - RFC 7383: the Encrypted Fragment payload (SKF), fragmentation and
//     reassembly.
//   - RFC 5282 Section 5.1 and RFC 7383 Section 2.5: the associated data of
//     AEAD ciphers in SK and SKF payloads.
//   - the IANA "Internet Key Exchange Version 2 (IKEv2) Parameters" registry
//     as typed constants with String methods.
//
// It does not implement any cryptography: the Cipher interface is the seam
// through which a caller's keyed algorithms (from package ike) encrypt,
// decrypt and integrity-protect SK and SKF payloads. It does not interpret
// payload contents beyond their syntax (proposal selection, traffic selector
// narrowing, authentication, NAT detection hashes and so on belong to package
// ike).
//
// IKEv1 has its own types, prefixed with V1, so that the IKEv2 API is
// unchanged: ParseV1 and V1Message parse and build ISAKMP messages (RFC
// 2408 with the IPsec DOI of RFC 2407 and the exchanges of RFC 2409), with
// the NAT-D and NAT-OA payloads of RFC 3947 and its drafts, the Mode Config
// and XAuth attribute payload and the IKE fragment payload. An encrypted
// body is left to the caller to decrypt and parse with ParseV1Payloads.
//
// # Messages and payloads
//
// A Message is a Header, the list of its top-level Payloads, and the exact
// octets it was parsed from (Raw), which AUTH (RFC 7296 Section 2.15) and
// retransmission detection need. Payload is a small sealed interface; each
// payload type is a struct in its own file, and callers use a type switch.
// Parse does not copy: the byte slices of the returned payloads alias the
// input, so the input must not be modified while the Message is in use.
// Each payload costs one allocation plus one per list (proposals, selectors,
// attributes).
//
// # Errors
//
// Every error returned for malformed input wraps one of the ErrXxx
// sentinels, which are *ProtocolError values naming the notification to send
// back (RFC 7296 Section 3.10.1), or NotifyNone when the message must be
// dropped silently.
//
// # Concurrency
//
// Values are not shared: a Message, a payload or a Reassembler belongs to
// the goroutine using it (the session's owner). The package has no global
// mutable state, so distinct values may be used concurrently.
package wire

//go:generate go run golang.org/x/tools/cmd/stringer -type=ExchangeType,PayloadType,NotifyType,TransformType,EncrID,PRFID,IntegID,DHGroup,ESNID,AttributeType,ProtocolID,IDType,AuthMethod,CertEncoding,CfgType,CPAttrType,TSType -linecomment -output=names_string.go
