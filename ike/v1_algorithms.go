package ike

import (
	"crypto"

	"github.com/ikego/ikego/ike/wire"
)

// IKEv1 names its algorithms with numbers of its own (RFC 2409 Appendix
// A, RFC 2407 Section 4.5, RFC 4868). We configure and select proposals in
// IKEv2's terms, so each IKEv1 algorithm is paired here with the IKEv2
// transform it stands for; both directions (reading a peer's offer and
// writing ours) use the same pairs.

// v1HashPair is a Phase 1 hash algorithm with the digest, the IKEv2 PRF
// and the integrity algorithm it stands for.
type v1HashPair struct {
	alg   wire.V1HashAlg
	hash  crypto.Hash
	prf   wire.PRFID
	integ wire.IntegID
}

var v1HashPairs = [...]v1HashPair{
	{wire.V1HashSHA1, crypto.SHA1, wire.PRFHMACSHA1, wire.IntegHMACSHA1_96},
	{wire.V1HashSHA2256, crypto.SHA256, wire.PRFHMACSHA2_256, wire.IntegHMACSHA2_256_128},
	{wire.V1HashSHA2384, crypto.SHA384, wire.PRFHMACSHA2_384, wire.IntegHMACSHA2_384_192},
	{wire.V1HashSHA2512, crypto.SHA512, wire.PRFHMACSHA2_512, wire.IntegHMACSHA2_512_256},
}

// v1HashByAlg finds the pair of a Phase 1 hash algorithm.
func v1HashByAlg(a wire.V1HashAlg) (v1HashPair, bool) {
	for _, p := range v1HashPairs {
		if p.alg == a {
			return p, true
		}
	}
	return v1HashPair{}, false
}

// v1HashByPRF finds the Phase 1 hash algorithm that stands for an IKEv2
// PRF.
func v1HashByPRF(prf wire.PRFID) (v1HashPair, bool) {
	for _, p := range v1HashPairs {
		if p.prf == prf {
			return p, true
		}
	}
	return v1HashPair{}, false
}

// v1EncrPairs pairs the Phase 1 encryption algorithms with their IKEv2
// transforms; AEADs have no Phase 1 form.
var v1EncrPairs = [...]struct {
	alg  wire.V1EncrAlg
	encr wire.EncrID
}{
	{wire.V1EncrAESCBC, wire.EncrAESCBC},
	{wire.V1Encr3DES, wire.Encr3DES},
}

// v1EncrByAlg returns the IKEv2 transform of a Phase 1 encryption
// algorithm.
func v1EncrByAlg(a wire.V1EncrAlg) (wire.EncrID, bool) {
	for _, p := range v1EncrPairs {
		if p.alg == a {
			return p.encr, true
		}
	}
	return 0, false
}

// v1EncrByID returns the Phase 1 encryption algorithm of an IKEv2
// transform.
func v1EncrByID(e wire.EncrID) (wire.V1EncrAlg, bool) {
	for _, p := range v1EncrPairs {
		if p.encr == e {
			return p.alg, true
		}
	}
	return 0, false
}

// v1AuthPairs pairs the IPsec DOI's ESP authentication algorithms with
// the IKEv2 integrity transforms (the truncations of RFC 4868).
var v1AuthPairs = [...]struct {
	alg   wire.V1IPsecAuthAlg
	integ wire.IntegID
}{
	{wire.V1AuthAlgHMACSHA1, wire.IntegHMACSHA1_96},
	{wire.V1AuthAlgHMACSHA2256, wire.IntegHMACSHA2_256_128},
	{wire.V1AuthAlgHMACSHA2384, wire.IntegHMACSHA2_384_192},
	{wire.V1AuthAlgHMACSHA2512, wire.IntegHMACSHA2_512_256},
}

// v1IntegByAuth returns the integrity transform of an ESP authentication
// algorithm.
func v1IntegByAuth(a wire.V1IPsecAuthAlg) (wire.IntegID, bool) {
	for _, p := range v1AuthPairs {
		if p.alg == a {
			return p.integ, true
		}
	}
	return 0, false
}

// v1AuthByInteg returns the ESP authentication algorithm of an integrity
// transform.
func v1AuthByInteg(i wire.IntegID) (wire.V1IPsecAuthAlg, bool) {
	for _, p := range v1AuthPairs {
		if p.integ == i {
			return p.alg, true
		}
	}
	return 0, false
}
