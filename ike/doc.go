// Package ike is to hold IKEv2 (RFC 7296) and IKEv1 (RFC 2409) as sans-I/O
// sessions driven by a Manager, installing SAs through a Dataplane that
// package esp implements (see ../shared/DESIGN.md). The wire codec of IKEv2
// is the sub-package ike/wire.
//
// What exists so far are the IKEv2 cryptographic building blocks, exchange
// helpers and the virtual-IP pools; there are no sessions, exchanges, Manager, configuration
// or IKEv1 yet.
//
// # Exchange helpers (natd.go, cookie.go, retransmit.go, dataplane.go)
//
// NATHash and DetectNAT (RFC 7296 Section 2.23, with FakeNATHash to force
// UDP encapsulation), Cookies (Section 2.6, HMAC with a rotating secret),
// Retransmit (strongSwan's 4 s × 1.8^n, 5 tries), and Dataplane, what the
// sessions will need from esp.Engine.
//
// # Virtual IP pools (pool.go)
//
// Pool hands out roadwarrior addresses from a prefix or range for the
// configuration payload (RFC 7296 Section 3.15), later also for IKEv1
// mode-config and PPP's IPCP: leases keyed by identity, a requested address
// honoured when free, fixed reservations, released addresses remembered for
// a reconnect and reused oldest first when the pool runs out; memory grows
// with the leases, not the prefix. Pools acquires one address per family.
//
// # Proposals (proposal.go)
//
// A registry of the transforms negotiated, keyed by (type, IANA ID):
// ENCR AES-CBC (RFC 3602) and AES-GCM with 8, 12 and 16-octet ICVs (RFC
// 4106, RFC 5282) in 128, 192 and 256 bits, ChaCha20-Poly1305 (RFC 7634),
// 3DES (legacy) and NULL (ESP only); PRF HMAC-SHA1 and HMAC-SHA2; INTEG
// HMAC-SHA1-96 (RFC 2404) and HMAC-SHA2 (RFC 4868); the key exchange groups
// of dh.go; ESN. ParseProposals reads strongSwan's proposal syntax
// ("aes256gcm16-prfsha384-ecp384", "default") and charon's log form, which
// Proposal.String writes; Select chooses a proposal as the responder (RFC
// 7296 Sections 2.7 and 3.3.6), strictly or with AppendDefaults leniently;
// SAPayload and ProposalsFromSA convert to and from ike/wire; LogLines
// gives charon's "received/configured/selected proposal" lines.
//
// # Key exchange (dh.go)
//
// NewKeyShare and KeyShare for the MODP groups 2 and 5 (legacy) and 14 to
// 16 (RFC 2409, RFC 3526; math/big, not constant time), ECP-256/384/521
// (RFC 5903; crypto/ecdh) and Curve25519 (RFC 8031; crypto/ecdh), with the
// peer value checks of RFC 6989 and RFC 8031 Section 2.
//
// # Keys (prf.go, keymat_v2.go, crypto_v2.go)
//
// The HMAC PRFs and prf+ (RFC 7296 Section 2.13); DeriveIKEKeys (Section
// 2.14), IKEKeys.Rekey (Section 2.18) and IKEKeys.ChildKeys (Section 2.17)
// with key lengths from package esp; NewSKCipher and IKEKeys.SKCiphers,
// the wire.Cipher implementations protecting SK and SKF payloads (AES-GCM
// per RFC 5282, ChaCha20-Poly1305 per RFC 7634, CBC with HMAC per RFC 7296
// Section 3.14).
//
// Not implemented: AES-CCM, AES-CTR, Camellia, AES-XCBC and AES-CMAC (PRF
// and integrity), the RFC 5114 and larger MODP groups, Brainpool, Curve448,
// RFC 9370 additional key exchanges and post-quantum methods, and the
// halving of the nonce key that fixed-key PRFs need (RFC 7296 Section
// 2.14), since every PRF here is an HMAC.
//
// # Concurrency
//
// Proposals and IKEKeys are values that are not modified after they are
// made; the SK ciphers may be used from several goroutines. A KeyShare
// belongs to one goroutine. The package has no mutable global state.
package ike
