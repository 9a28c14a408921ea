// Package pki is ikego's small certificate authority and the certificate
// checks IKE needs.
//
// It implements:
//
//   - a self-signed CA (RSA 2048/3072/4096, ECDSA P-256/P-384, Ed25519) with
//     random 128-bit serial numbers and backdated validity ([NewCA], [LoadCA]);
//   - end-entity certificates for IKEv2 servers and clients that the built-in
//     clients of Windows, macOS/iOS and Android accept ([CA.Issue]): servers
//     get the serverAuth and ikeIntermediate (RFC 4945, Section 5.1.3.12)
//     extended key usages and a dNSName or iPAddress subjectAltName for every
//     name, clients get clientAuth and e-mail or DNS subjectAltNames;
//   - signing of PKCS#10 requests (RFC 2986) after checking their
//     self-signature, under our own extension and lifetime policy
//     ([ParseCSR], [CA.SignCSR]);
//   - import of certificates, keys, CSRs and CRLs from PEM (RFC 7468) and DER,
//     and of PKCS#12 (RFC 7292) files ([ParseCertificates], [ParsePrivateKey],
//     [ParseBundle], [DecodePKCS12]); export of client bundles as PKCS#12
//     ([EncodePKCS12]) in the legacy encryption that Apple devices import, or
//     in the modern AES form;
//   - CRLs (RFC 5280, Section 5): issue, revoke, and revocation checks while
//     verifying ([CA.CreateCRL], [Verify]);
//   - chain verification against a trust store at an injectable time
//     ([Verify]);
//   - IKE identities (RFC 7296, Section 3.5): parsing of strongSwan's string
//     forms, formatting, comparison, strongSwan's wildcard matching, and
//     matching an identity against a certificate's subject or subjectAltNames
//     ([ParseIdentity], [Identity.Matches], [MatchCertificate]);
//   - an on-disk [Store] with private keys written atomically with mode 0600,
//     which refuses to overwrite files unless asked;
//   - the command-line front end [Command] ("init-ca", "issue", "sign-csr",
//     "revoke", "crl", "export-p12", "print", "verify", ...), mounted by
//     examples/pki and later by the roadwarrior binary.
//
// It does not implement OCSP, certificate fetching from CRL distribution points
// or LDAP, delta CRLs, intermediate CAs issued by this package, encrypted PEM
// private keys (use PKCS#12 instead), or hardware tokens.
//
// Errors about files name the file and the reason, for example
// "pki: ca/ca.key.pem: not a PEM or DER private key". Callers tell reasons
// apart with errors.Is and the sentinels [ErrWrongPassword], [ErrBadSignature],
// [ErrExpired], [ErrNotYetValid], [ErrRevoked], [ErrUntrusted] and
// [ErrExists].
//
// Concurrency: the functions of this package are safe for concurrent use; a
// [CA] may issue concurrently. A [Store] holds no lock: two processes that
// revoke at the same time in one directory may lose one revocation.
// Parsed values ([Identity], certificates) must not be modified while shared.
package pki
