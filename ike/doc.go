// Package ike holds IKEv2 (RFC 7296) and an IKEv1 (RFC 2409) responder as
// sans-I/O sessions driven by a Manager, installing SAs through a Dataplane
// that package esp implements (see ../shared/DESIGN.md). The wire codec of
// both versions is the sub-package ike/wire.
//
// # Manager and configuration (manager.go, config.go)
//
// Config lists the connections (PeerConfig: addresses, IKE proposals,
// authentication of each end, virtual IP pools, CHILD_SAs as ChildConfig)
// and takes the Dataplane (an *esp.Engine) and a Sender (an esp.Bind).
// NewManager validates it; HandleDatagram takes what the Bind receives on
// ports 500 and 4500 (esp.EngineConfig.IKE); Initiate and Terminate start
// and delete IKE SAs; SAs lists them; OnEvent reports SAs up and down. The
// root package's Gateway wires all of it.
//
// The Manager answers IKE_SA_INIT requests itself: statelessly when it asks
// for a COOKIE (above Config.CookieThreshold half-open SAs) or another key
// exchange group, and not at all above Config.HalfOpenLimit; a session exists
// only after a complete IKE_SA_INIT. Datagrams that are not IKEv2 or name no
// session are dropped before anything is allocated. IKEv1 Main and
// Aggressive Mode requests make a session at once, within the same
// half-open limits.
//
// # Sessions (v2_session.go and one file per exchange)
//
// A session is one IKE SA as a state machine: messages and time in,
// datagrams and events out, no goroutine, socket or timer of its own. It
// keeps both message ID windows of size one: its own request is
// retransmitted on the Retransmit schedule, and the response to the peer's
// last request is replayed when that request comes again. Exchanges:
// IKE_SA_INIT (v2_sa_init.go: INVALID_KE_PAYLOAD retry, cookies, NAT
// detection, the float to port 4500, SIGNATURE_HASH_ALGORITHMS, CERTREQ),
// IKE_AUTH (v2_auth.go: PSK, and certificates with RSA, ECDSA and Ed25519
// signatures in methods 1, 9-11 and 14 of RFC 7427 from v2_auth_sig.go;
// identities of every type; the configuration payload with virtual IPs,
// DNS servers and subnets; INITIAL_CONTACT), CHILD_SAs (v2_child.go:
// several selectors per side narrowed in both roles, USE_TRANSPORT_MODE,
// IPCOMP_SUPPORTED), CREATE_CHILD_SA with optional PFS
// (v2_create_child.go) and INFORMATIONAL deletes (v2_informational.go).
// Messages larger than Config.FragmentSize go out in RFC 7383 fragments
// when the peer supports them; fragments are reassembled on receipt. NAT
// keepalives are sent when we are behind a NAT.
//
// # Lifecycle (v2_rekey_ike.go, v2_create_child.go, v2_informational.go)
//
// CHILD_SAs rekey make before break at their soft lifetime (from the
// dataplane's soft expiry, or the session's own timer; 1 h by default with
// jitter): the new SAs take over the policy, the rekey responder sends on
// the new outbound SA only after the initiator's delete. The IKE SA
// rekeys (PeerConfig.RekeyTime, 4 h) into a successor that takes its
// CHILD_SAs, virtual IPs and identity; reauthentication
// (PeerConfig.ReauthTime) makes a whole new IKE SA before deleting the old
// one. Collisions follow RFC 7296 §2.8.1, §2.8.2 and §2.25: the lowest
// nonce decides between simultaneous rekeys, TEMPORARY_FAILURE postpones
// what cannot run now, with a retry after 1 to 5 s.
//
// Liveness checks (PeerConfig.DPDDelay) count ESP packets as life; a dead
// peer's IKE SA is cleared, or held with trap policies, or restarted
// (PeerConfig.DPDAction). Start actions initiate at once or install trap
// policies whose Acquire initiates (PeerConfig.StartAction). MOBIKE (RFC
// 4555) follows a responder's peer to its new address; Config.Redirect
// sends new clients elsewhere (RFC 5685), and our initiator follows
// redirects. PeerConfig.Unique replaces or keeps IKE SAs of one identity;
// INITIAL_CONTACT always replaces. Half-open IKE SAs are bounded overall
// and per source address; above Config.CookieThreshold IKE_SA_INIT needs
// a COOKIE.
//
// EAP-MSCHAPv2 (the Windows client's method) with the gateway's
// certificate, an EAP-Identity round, and the EAP MSK keying both AUTH
// payloads: as responder (v2_eap.go; leases go to the EAP identity) and as
// initiator (v2_eap_client.go, AuthConfig.EAPIdentity and EAPSecret).
//
// Not yet implemented: other EAP methods, a childless IKE_AUTH as
// initiator, MOBIKE as initiator (our own address changes).
//
// # IKEv1 (v1_*.go, keymat_v1.go)
//
// Connections with PeerConfig.Version VersionIKEv1 or VersionAny take IKEv1
// peers. As initiator (v1_initiator.go, v1_aggressive_init.go,
// v1_client.go): Main Mode with a PSK or RSA signatures, or Aggressive Mode
// with a PSK (PeerConfig.Aggressive, a group name as identity); XAuth as
// the client (AuthConfig.XAuthUser) and a virtual IP by Mode Config pull or
// push (RequestVIP, ModeConfigPush); then a Quick Mode per CHILD_SA, from
// the virtual IP if there is one, which it rekeys; it reauthenticates make
// before break. As responder: Main Mode with a PSK, RSA signatures, or hybrid
// (draft-ietf-ipsec-isakmp-hybrid-auth: we sign, the client does XAuth
// alone), Aggressive Mode with a PSK chosen by the client's identity
// (PeerConfig.Aggressive), XAuth as the server (AuthConfig.XAuthPassword),
// Mode Config pull and push (PeerConfig.ModeConfigPush, with Cisco Unity
// split-include subnets), Quick Mode (one selector pair per CHILD_SA,
// optional PFS, rekeys by the client with the new outbound SA used at
// once), NAT-T (RFC 3947), DPD both ways (RFC 3706), deletes and
// INITIAL-CONTACT. An IKEv1 SA is a session with a v1 part, indexed by our
// cookie in the same Manager, with the same half-open limits, leases and
// events; a client's reauthentication (a new Main Mode of the same client)
// adopts the old SA's CHILD_SAs. The Manager keeps each SA's datagrams in
// order, which IKEv1 peers rely on (they send the next message before the
// answer to the last). Large messages go in fragments when the peer
// announced the FRAGMENTATION vendor ID (v1_fragment.go). The Quick Mode
// responder installs the CHILD_SA with its message 2 (the initiator may
// send on it before its HASH(3) arrives). Signatures are RSA (PKCS #1 v1.5
// over the hash, as strongSwan and racoon sign) or ECDSA (RFC 4754, r and
// s over the hash itself). Not implemented: Aggressive Mode with
// signatures, XAuth and hybrid with ECDSA (there are no such methods),
// XAuth types other than generic.
//
// # Virtual IP pools (pool.go)
//
// Pool hands out roadwarrior addresses from a prefix or range for the
// configuration payload (RFC 7296 Section 3.15) and IKEv1 Mode Config,
// later also for PPP's IPCP: leases keyed by identity (the XAuth user of
// an IKEv1 client), a requested address
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
// A Manager is safe for concurrent use; it runs each session under a lock
// of its own, on Config.Workers goroutines and the sessions' timers.
// Proposals and IKEKeys are values that are not modified after they are
// made; the SK ciphers may be used from several goroutines. A KeyShare
// belongs to one goroutine. The package has no mutable global state.
package ike
