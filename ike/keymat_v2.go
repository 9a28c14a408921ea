package ike

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike/wire"
)

// IKEKeys are the keys of an IKEv2 SA (RFC 7296 Section 2.14), derived by
// DeriveIKEKeys for a new IKE SA or by Rekey for its successor. They are
// secret: never log them. An IKEKeys is not modified after it is made and
// may be read concurrently.
type IKEKeys struct {
	// PRF is the negotiated PRF, which CHILD_SA keys, the rekeyed IKE
	// SA's SKEYSEED and the AUTH payload use with these keys.
	PRF wire.PRFID
	// SKd derives CHILD_SA keys and the next IKE SA's keys.
	SKd []byte
	// SKai and SKar are the integrity keys of the messages sent by the
	// initiator and by the responder; empty with an AEAD cipher.
	SKai, SKar []byte
	// SKei and SKer are the encryption keys of the messages sent by the
	// initiator and by the responder; for an AEAD, the key followed by
	// its salt (RFC 5282 Section 7.1, RFC 7634 Section 4).
	SKei, SKer []byte
	// SKpi and SKpr build the AUTH payloads of the initiator and of the
	// responder (RFC 7296 Section 2.15).
	SKpi, SKpr []byte
}

// ikeAlgorithms holds what key derivation needs from a selected IKE
// proposal.
type ikeAlgorithms struct {
	prf      *prf
	encr     Transform
	integ    Transform
	hasInteg bool
	encrLen  int // SK_e length, salt included
	integLen int // SK_a length
}

// ikeAlgs checks that p is a selected IKE proposal this package can key.
func ikeAlgs(p Proposal) (ikeAlgorithms, error) {
	var a ikeAlgorithms
	if p.Protocol != wire.ProtocolIKE {
		return a, fmt.Errorf("ike: keying an IKE SA from a %s proposal", protocolName(p.Protocol))
	}
	prfT, ok := p.First(wire.TransformPRF)
	if !ok {
		return a, errors.New("ike: IKE proposal without a PRF")
	}
	var err error
	if a.prf, err = prfByID(wire.PRFID(prfT.ID)); err != nil {
		return a, err
	}
	if a.encr, ok = p.First(wire.TransformEncr); !ok {
		return a, errors.New("ike: IKE proposal without an encryption algorithm")
	}
	if _, known := transformInfos[transformKey{wire.TransformEncr, a.encr.ID}]; !known || a.encr.ID == uint16(wire.EncrNull) {
		return a, fmt.Errorf("ike: unsupported IKE encryption algorithm %s", a.encr)
	}
	if a.encrLen, ok = esp.EncrID(a.encr.ID).KeyLen(int(a.encr.KeyBits)); !ok {
		return a, fmt.Errorf("ike: unsupported key length for %s", a.encr)
	}
	if !isAEAD(a.encr) {
		if a.integ, a.hasInteg = p.First(wire.TransformInteg); !a.hasInteg {
			return a, fmt.Errorf("ike: %s without an integrity algorithm", a.encr)
		}
		if a.integLen, ok = esp.IntegID(a.integ.ID).KeyLen(); !ok || a.integ.ID == 0 {
			return a, fmt.Errorf("ike: unsupported integrity algorithm %s", a.integ)
		}
	}
	return a, nil
}

// DeriveIKEKeys derives the keys of a new IKE SA from the selected IKE
// proposal p, the shared secret g^ir of the key exchange (KeyShare.Shared),
// the nonces (the data of the Nonce payloads, without their headers) and
// the SPIs of the IKE header (RFC 7296 Section 2.14):
//
//	SKEYSEED = prf(Ni | Nr, g^ir)
//	{SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
//	         = prf+ (SKEYSEED, Ni | Nr | SPIi | SPIr)
//
// SK_d, SK_pi and SK_pr have the PRF's output length; SK_a the integrity
// algorithm's key length (none for an AEAD); SK_e the cipher's key length
// from its Key Length attribute plus, for AES-GCM and ChaCha20-Poly1305, a
// 4-octet salt (RFC 5282 Section 7.1, RFC 7634 Section 4).
func DeriveIKEKeys(p Proposal, shared, ni, nr []byte, spii, spir uint64) (*IKEKeys, error) {
	a, err := ikeAlgs(p)
	if err != nil {
		return nil, err
	}
	if err := checkKeyInputs(shared, ni, nr); err != nil {
		return nil, err
	}
	return expandIKEKeys(a, skeyseed(a.prf, ni, nr, shared), ni, nr, spii, spir), nil
}

// Rekey derives the keys of the IKE SA that replaces k's in a
// CREATE_CHILD_SA exchange (RFC 7296 Section 2.18): p is the new SA's
// selected proposal, shared the new key exchange's g^ir, ni and nr the
// exchange's nonces, and spii and spir the new SA's SPIs:
//
//	SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)
//
// with the old IKE SA's PRF, since the exchange belongs to the old SA;
// the seven keys then follow from SKEYSEED as in DeriveIKEKeys, with the
// new SA's algorithms.
func (k *IKEKeys) Rekey(p Proposal, shared, ni, nr []byte, spii, spir uint64) (*IKEKeys, error) {
	old, err := prfByID(k.PRF)
	if err != nil {
		return nil, err
	}
	a, err := ikeAlgs(p)
	if err != nil {
		return nil, err
	}
	if err := checkKeyInputs(shared, ni, nr); err != nil {
		return nil, err
	}
	if len(k.SKd) == 0 {
		return nil, errors.New("ike: rekeying without the old SK_d")
	}
	return expandIKEKeys(a, rekeySKEYSEED(old, k.SKd, shared, ni, nr), ni, nr, spii, spir), nil
}

// skeyseed returns prf(Ni | Nr, g^ir) (RFC 7296 Section 2.14).
func skeyseed(p *prf, ni, nr, shared []byte) []byte {
	key := make([]byte, 0, len(ni)+len(nr))
	key = append(append(key, ni...), nr...)
	return p.sum(key, shared)
}

// rekeySKEYSEED returns prf(SK_d (old), g^ir (new) | Ni | Nr) (RFC 7296
// Section 2.18).
func rekeySKEYSEED(old *prf, skd, shared, ni, nr []byte) []byte {
	return old.sum(skd, shared, ni, nr)
}

// ikeKeymat returns the first n octets of prf+(SKEYSEED, Ni | Nr | SPIi |
// SPIr).
func ikeKeymat(p *prf, seed, ni, nr []byte, spii, spir uint64, n int) []byte {
	s := make([]byte, 0, len(ni)+len(nr)+16)
	s = append(append(s, ni...), nr...)
	s = binary.BigEndian.AppendUint64(s, spii)
	s = binary.BigEndian.AppendUint64(s, spir)
	return prfPlus(p, seed, s, n)
}

// expandIKEKeys cuts the seven keys out of prf+(SKEYSEED, ...), in the order
// of RFC 7296 Section 2.14.
func expandIKEKeys(a ikeAlgorithms, seed, ni, nr []byte, spii, spir uint64) *IKEKeys {
	n := 3*a.prf.size + 2*a.integLen + 2*a.encrLen
	km := ikeKeymat(a.prf, seed, ni, nr, spii, spir, n)
	k := &IKEKeys{PRF: a.prf.id}
	cut := func(l int) []byte {
		if l == 0 {
			return nil
		}
		b := km[:l:l]
		km = km[l:]
		return b
	}
	k.SKd = cut(a.prf.size)
	k.SKai = cut(a.integLen)
	k.SKar = cut(a.integLen)
	k.SKei = cut(a.encrLen)
	k.SKer = cut(a.encrLen)
	k.SKpi = cut(a.prf.size)
	k.SKpr = cut(a.prf.size)
	return k
}

// checkKeyInputs refuses empty inputs, which would still produce keys.
func checkKeyInputs(shared, ni, nr []byte) error {
	if len(shared) == 0 {
		return errors.New("ike: empty shared secret")
	}
	if len(ni) == 0 || len(nr) == 0 {
		return fmt.Errorf("ike: empty nonce (Ni %d octets, Nr %d octets)", len(ni), len(nr))
	}
	return nil
}

// DirectionKeys are the keys of one direction of a CHILD_SA, in the form of
// esp.SAParams: EncrKey includes the salt of AES-GCM and ChaCha20-Poly1305,
// IntegKey is empty with those.
type DirectionKeys struct {
	EncrKey  []byte
	IntegKey []byte
}

// ChildKeys are the keys of an ESP CHILD_SA (RFC 7296 Section 2.17), with
// the algorithms they are for. They are secret: never log them.
type ChildKeys struct {
	Encr  esp.EncrID
	Integ esp.IntegID // esp.IntegNone with an AEAD
	ESN   bool
	// InitiatorToResponder protects what the initiator of the exchange
	// that created the CHILD_SA sends, ResponderToInitiator the reverse.
	InitiatorToResponder DirectionKeys
	ResponderToInitiator DirectionKeys
}

// ChildKeys derives the keys of a CHILD_SA from the IKE SA's SK_d and PRF,
// the selected ESP proposal p, the nonces of the exchange that creates it
// (those of IKE_SA_INIT for the CHILD_SA of IKE_AUTH) and, with PFS, the
// shared secret of the exchange's key exchange (nil without) (RFC 7296
// Section 2.17):
//
//	KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr)
//
// taken as the initiator-to-responder encryption key, then its integrity
// key, then the responder-to-initiator keys in the same order. Key lengths
// come from package esp (esp.EncrID.KeyLen with the Key Length attribute,
// esp.IntegID.KeyLen).
func (k *IKEKeys) ChildKeys(p Proposal, shared, ni, nr []byte) (*ChildKeys, error) {
	pr, err := prfByID(k.PRF)
	if err != nil {
		return nil, err
	}
	if len(k.SKd) == 0 {
		return nil, errors.New("ike: CHILD_SA keys without SK_d")
	}
	if len(ni) == 0 || len(nr) == 0 {
		return nil, fmt.Errorf("ike: empty nonce (Ni %d octets, Nr %d octets)", len(ni), len(nr))
	}
	if p.Protocol != wire.ProtocolESP {
		return nil, fmt.Errorf("ike: CHILD_SA keys for a %s proposal", protocolName(p.Protocol))
	}
	encr, ok := p.First(wire.TransformEncr)
	if !ok {
		return nil, errors.New("ike: ESP proposal without an encryption algorithm")
	}
	ck := &ChildKeys{Encr: esp.EncrID(encr.ID), Integ: esp.IntegNone}
	encrLen, ok := ck.Encr.KeyLen(int(encr.KeyBits))
	if !ok {
		return nil, fmt.Errorf("ike: unsupported ESP encryption algorithm %s", encr)
	}
	integLen := 0
	if !ck.Encr.IsAEAD() {
		integ, ok := p.First(wire.TransformInteg)
		if !ok || integ.ID == 0 {
			return nil, fmt.Errorf("ike: ESP %s without an integrity algorithm", encr)
		}
		ck.Integ = esp.IntegID(integ.ID)
		if integLen, ok = ck.Integ.KeyLen(); !ok {
			return nil, fmt.Errorf("ike: unsupported ESP integrity algorithm %s", integ)
		}
	}
	if esn, ok := p.First(wire.TransformESN); ok {
		ck.ESN = esn.ID == uint16(wire.ESNYes)
	}
	km := childKeymat(pr, k.SKd, shared, ni, nr, 2*(encrLen+integLen))
	cut := func(l int) []byte {
		if l == 0 {
			return nil
		}
		b := km[:l:l]
		km = km[l:]
		return b
	}
	ck.InitiatorToResponder.EncrKey = cut(encrLen)
	ck.InitiatorToResponder.IntegKey = cut(integLen)
	ck.ResponderToInitiator.EncrKey = cut(encrLen)
	ck.ResponderToInitiator.IntegKey = cut(integLen)
	return ck, nil
}

// childKeymat returns the first n octets of prf+(SK_d, [g^ir |] Ni | Nr).
func childKeymat(p *prf, skd, shared, ni, nr []byte, n int) []byte {
	s := make([]byte, 0, len(shared)+len(ni)+len(nr))
	s = append(append(append(s, shared...), ni...), nr...)
	return prfPlus(p, skd, s, n)
}

// SAParams returns the algorithm and key fields of the outbound and the
// inbound esp.SAParams of the local end, which was the initiator of the
// exchange that created the CHILD_SA if initiator is true. The caller fills
// in the SPIs, mode, addresses and the rest. The keys alias c.
func (c *ChildKeys) SAParams(initiator bool) (outbound, inbound esp.SAParams) {
	mine, theirs := c.InitiatorToResponder, c.ResponderToInitiator
	if !initiator {
		mine, theirs = theirs, mine
	}
	outbound = esp.SAParams{Encr: c.Encr, EncrKey: mine.EncrKey, Integ: c.Integ, IntegKey: mine.IntegKey, ESN: c.ESN}
	inbound = esp.SAParams{Encr: c.Encr, EncrKey: theirs.EncrKey, Integ: c.Integ, IntegKey: theirs.IntegKey, ESN: c.ESN}
	return outbound, inbound
}
