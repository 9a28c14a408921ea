package ike

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ikego/ikego/ike/wire"
)

// Transform is one algorithm of a proposal (RFC 7296 Section 3.3.2): its
// type, its IANA transform ID and, for ciphers with a variable key length,
// the Key Length attribute in bits (RFC 7296 Section 3.3.5; zero when the
// transform carries none).
type Transform struct {
	Type    wire.TransformType
	ID      uint16
	KeyBits uint16

	// unusable marks a received transform with an attribute this package
	// does not understand: RFC 7296 Section 3.3.6 says to reject such a
	// transform, so it never matches.
	unusable bool
}

// String returns the transform as strongSwan logs it, such as
// "AES_CBC_256", "HMAC_SHA2_256_128", "PRF_HMAC_SHA2_256" or "CURVE_25519".
func (t Transform) String() string {
	var name string
	if info, ok := transformInfos[transformKey{t.Type, t.ID}]; ok {
		name = info.name
	} else {
		name = unknownTransformName(t.Type, t.ID)
	}
	if t.KeyBits != 0 {
		name += "_" + strconv.Itoa(int(t.KeyBits))
	}
	return name
}

// unknownTransformName names a transform outside the registry the way
// charon does: the IANA name without the type prefix, else the numbers.
func unknownTransformName(t wire.TransformType, id uint16) string {
	if t >= wire.TransformEncr && t <= wire.TransformESN {
		name := wire.TransformIDString(t, id)
		if !strings.ContainsAny(name, "()") {
			name = strings.TrimPrefix(name, "ENCR_")
			return strings.TrimPrefix(name, "AUTH_")
		}
	}
	return fmt.Sprintf("UNKNOWN_%d_%d", uint8(t), id)
}

// equal reports whether a configured transform and a received one are the
// same algorithm with the same key length.
func (t Transform) equal(u Transform) bool {
	return t.Type == u.Type && t.ID == u.ID && t.KeyBits == u.KeyBits && !t.unusable && !u.unusable
}

// transformKey identifies an algorithm in the registry.
type transformKey struct {
	typ wire.TransformType
	id  uint16
}

// transformInfo is a registry entry: what strongSwan calls the algorithm,
// its permitted key lengths, and where it may be used.
type transformInfo struct {
	name    string   // strongSwan's log name, without the key size
	keyBits []uint16 // permitted KEY_LENGTH values; nil for fixed-size algorithms
	aead    bool     // an ENCR transform that needs no INTEG (RFC 7296 Section 3.3)
	legacy  bool     // weak: accepted only when configured explicitly, never a default
	espOnly bool     // not allowed in IKE proposals
	ikeOnly bool     // not allowed in ESP proposals
}

var aesKeyBits = []uint16{128, 192, 256}

// transformInfos is the registry of the transforms this package negotiates,
// keyed by (type, IANA ID). The ENCR and INTEG numbers are esp.EncrID and
// esp.IntegID, so a selected ESP proposal maps onto the dataplane directly.
var transformInfos = map[transformKey]*transformInfo{
	// ENCR, RFC 7296 Section 3.3.2; AES-CBC RFC 3602, AES-GCM RFC 4106
	// (ESP) and RFC 5282 (IKE), ChaCha20-Poly1305 RFC 7634, 3DES RFC
	// 2451, NULL RFC 2410 (ESP only: RFC 7296 Section 3.3.2 forbids it
	// for IKE).
	{wire.TransformEncr, uint16(wire.EncrAESCBC)}:           {name: "AES_CBC", keyBits: aesKeyBits},
	{wire.TransformEncr, uint16(wire.EncrAESGCM8)}:          {name: "AES_GCM_8", keyBits: aesKeyBits, aead: true},
	{wire.TransformEncr, uint16(wire.EncrAESGCM12)}:         {name: "AES_GCM_12", keyBits: aesKeyBits, aead: true},
	{wire.TransformEncr, uint16(wire.EncrAESGCM16)}:         {name: "AES_GCM_16", keyBits: aesKeyBits, aead: true},
	{wire.TransformEncr, uint16(wire.EncrChaCha20Poly1305)}: {name: "CHACHA20_POLY1305", aead: true},
	{wire.TransformEncr, uint16(wire.Encr3DES)}:             {name: "3DES_CBC", legacy: true},
	{wire.TransformEncr, uint16(wire.EncrNull)}:             {name: "NULL", espOnly: true},

	// PRF, RFC 7296 Section 3.3.2; HMAC-SHA1 RFC 2104, HMAC-SHA2 RFC 4868.
	{wire.TransformPRF, uint16(wire.PRFHMACSHA1)}:     {name: "PRF_HMAC_SHA1", ikeOnly: true},
	{wire.TransformPRF, uint16(wire.PRFHMACSHA2_256)}: {name: "PRF_HMAC_SHA2_256", ikeOnly: true},
	{wire.TransformPRF, uint16(wire.PRFHMACSHA2_384)}: {name: "PRF_HMAC_SHA2_384", ikeOnly: true},
	{wire.TransformPRF, uint16(wire.PRFHMACSHA2_512)}: {name: "PRF_HMAC_SHA2_512", ikeOnly: true},

	// INTEG; HMAC-SHA1-96 RFC 2404, HMAC-SHA2 RFC 4868.
	{wire.TransformInteg, uint16(wire.IntegHMACSHA1_96)}:      {name: "HMAC_SHA1_96"},
	{wire.TransformInteg, uint16(wire.IntegHMACSHA2_256_128)}: {name: "HMAC_SHA2_256_128"},
	{wire.TransformInteg, uint16(wire.IntegHMACSHA2_384_192)}: {name: "HMAC_SHA2_384_192"},
	{wire.TransformInteg, uint16(wire.IntegHMACSHA2_512_256)}: {name: "HMAC_SHA2_512_256"},

	// KE; MODP RFC 2409 (group 2) and RFC 3526, ECP RFC 5903, Curve25519
	// RFC 8031. NONE is meaningful in ESP proposals only: PFS optional.
	{wire.TransformKE, uint16(GroupNone)}:       {name: "MODP_NONE", espOnly: true},
	{wire.TransformKE, uint16(GroupMODP1024)}:   {name: "MODP_1024", legacy: true},
	{wire.TransformKE, uint16(GroupMODP1536)}:   {name: "MODP_1536", legacy: true},
	{wire.TransformKE, uint16(GroupMODP2048)}:   {name: "MODP_2048"},
	{wire.TransformKE, uint16(GroupMODP3072)}:   {name: "MODP_3072"},
	{wire.TransformKE, uint16(GroupMODP4096)}:   {name: "MODP_4096"},
	{wire.TransformKE, uint16(GroupECP256)}:     {name: "ECP_256"},
	{wire.TransformKE, uint16(GroupECP384)}:     {name: "ECP_384"},
	{wire.TransformKE, uint16(GroupECP521)}:     {name: "ECP_521"},
	{wire.TransformKE, uint16(GroupCurve25519)}: {name: "CURVE_25519"},

	// ESN, RFC 7296 Section 3.3.2 and RFC 4303 Section 2.2.1.
	{wire.TransformESN, uint16(wire.ESNNo)}:  {name: "NO_EXT_SEQ", espOnly: true},
	{wire.TransformESN, uint16(wire.ESNYes)}: {name: "EXT_SEQ", espOnly: true},
}

// isAEAD reports whether an ENCR transform is a combined-mode algorithm.
func isAEAD(t Transform) bool {
	info, ok := transformInfos[transformKey{wire.TransformEncr, t.ID}]
	return ok && t.Type == wire.TransformEncr && info.aead
}

// keyword is a strongSwan proposal keyword and the transform it stands for.
type keyword struct {
	name string
	t    Transform
}

func kw(name string, t wire.TransformType, id uint16, bits uint16) keyword {
	return keyword{name, Transform{Type: t, ID: id, KeyBits: bits}}
}

// keywords are the proposal keywords of strongSwan's
// proposal_keywords_static.txt for the algorithms of the registry. The first
// keyword of a transform is the one Keywords writes.
var keywords = func() []keyword {
	e, p, i, k, s := wire.TransformEncr, wire.TransformPRF, wire.TransformInteg, wire.TransformKE, wire.TransformESN
	list := []keyword{
		kw("aes128", e, uint16(wire.EncrAESCBC), 128),
		kw("aes192", e, uint16(wire.EncrAESCBC), 192),
		kw("aes256", e, uint16(wire.EncrAESCBC), 256),
		kw("aes", e, uint16(wire.EncrAESCBC), 128),
		kw("chacha20poly1305", e, uint16(wire.EncrChaCha20Poly1305), 0),
		kw("3des", e, uint16(wire.Encr3DES), 0),
		kw("null", e, uint16(wire.EncrNull), 0),

		kw("sha1", i, uint16(wire.IntegHMACSHA1_96), 0),
		kw("sha", i, uint16(wire.IntegHMACSHA1_96), 0),
		kw("sha256", i, uint16(wire.IntegHMACSHA2_256_128), 0),
		kw("sha2_256", i, uint16(wire.IntegHMACSHA2_256_128), 0),
		kw("sha384", i, uint16(wire.IntegHMACSHA2_384_192), 0),
		kw("sha2_384", i, uint16(wire.IntegHMACSHA2_384_192), 0),
		kw("sha512", i, uint16(wire.IntegHMACSHA2_512_256), 0),
		kw("sha2_512", i, uint16(wire.IntegHMACSHA2_512_256), 0),

		kw("prfsha1", p, uint16(wire.PRFHMACSHA1), 0),
		kw("prfsha256", p, uint16(wire.PRFHMACSHA2_256), 0),
		kw("prfsha384", p, uint16(wire.PRFHMACSHA2_384), 0),
		kw("prfsha512", p, uint16(wire.PRFHMACSHA2_512), 0),

		kw("none", k, uint16(GroupNone), 0),
		kw("modpnone", k, uint16(GroupNone), 0),
		kw("modp1024", k, uint16(GroupMODP1024), 0),
		kw("modp1536", k, uint16(GroupMODP1536), 0),
		kw("modp2048", k, uint16(GroupMODP2048), 0),
		kw("modp3072", k, uint16(GroupMODP3072), 0),
		kw("modp4096", k, uint16(GroupMODP4096), 0),
		kw("ecp256", k, uint16(GroupECP256), 0),
		kw("ecp384", k, uint16(GroupECP384), 0),
		kw("ecp521", k, uint16(GroupECP521), 0),
		kw("curve25519", k, uint16(GroupCurve25519), 0),
		kw("x25519", k, uint16(GroupCurve25519), 0),

		kw("noesn", s, uint16(wire.ESNNo), 0),
		kw("esn", s, uint16(wire.ESNYes), 0),
	}
	// AES-GCM: aes<bits>gcm<icv octets>, the aliases with the ICV in
	// bits, and aes<bits>gcm for the 16-octet ICV.
	for _, bits := range aesKeyBits {
		for _, g := range []struct {
			id          wire.EncrID
			octets, bit string
		}{{wire.EncrAESGCM16, "16", "128"}, {wire.EncrAESGCM12, "12", "96"}, {wire.EncrAESGCM8, "8", "64"}} {
			prefix := "aes" + strconv.Itoa(int(bits)) + "gcm"
			list = append(list, kw(prefix+g.octets, e, uint16(g.id), bits), kw(prefix+g.bit, e, uint16(g.id), bits))
			if g.id == wire.EncrAESGCM16 {
				list = append(list, kw(prefix, e, uint16(g.id), bits))
			}
		}
	}
	return list
}()

// The keyword and log-name tables, built from keywords and transformInfos.
// They are package variables with initializers (not filled by init) so
// that the default proposals, parsed during variable initialization, can
// use them.
var (
	// keywordByName maps a keyword to its transform.
	keywordByName = func() map[string]Transform {
		m := map[string]Transform{}
		for _, k := range keywords {
			m[k.name] = k.t
		}
		return m
	}()
	// keywordByTrans maps a transform to the keyword Keywords writes.
	keywordByTrans = func() map[Transform]string {
		m := map[Transform]string{}
		for _, k := range keywords {
			if _, ok := m[k.t]; !ok {
				m[k.t] = k.name
			}
		}
		return m
	}()
	// transformByLogID maps a log name ("AES_CBC_128") to its transform.
	transformByLogID = func() map[string]Transform {
		m := map[string]Transform{}
		for key, info := range transformInfos {
			t := Transform{Type: key.typ, ID: key.id}
			if info.keyBits == nil {
				m[t.String()] = t
				continue
			}
			for _, b := range info.keyBits {
				t.KeyBits = b
				m[t.String()] = t
			}
		}
		return m
	}()
)

// Proposal is a proposal substructure of an SA payload (RFC 7296
// Section 3.3.1) for IKE or ESP: for each transform type, the acceptable
// algorithms in order of preference. Several transforms of one type are
// alternatives; a selected proposal has exactly one of each type it uses
// (RFC 7296 Section 3.3.6).
//
// The transforms are kept in one list per type rather than in one list with
// types: the order of preference only exists within a type (RFC 7296
// Section 3.3, and strongSwan treats "aes256-sha256-aes128" and
// "aes256-aes128-sha256" as the same proposal), selection and key
// derivation work type by type, and the log form prints the types in a
// fixed order.
//
// The zero value is an empty proposal for no protocol. The methods do not
// modify p; Select, Wire, ProposalFromWire, PromoteGroup, AppendDefaults
// and the Default functions return proposals that share no memory with
// their arguments.
type Proposal struct {
	// Number is the proposal number on the wire (RFC 7296 Section
	// 3.3.1). It is zero in configured proposals; received proposals and
	// the selected proposal carry the peer's number.
	Number uint8
	// Protocol is wire.ProtocolIKE or wire.ProtocolESP.
	Protocol wire.ProtocolID
	// SPI is the sender's SPI: empty in IKE_SA_INIT, 8 octets when
	// rekeying an IKE SA, 4 octets for ESP.
	SPI []byte

	Encr  []Transform // Transform Type 1
	PRF   []Transform // Transform Type 2, IKE only
	Integ []Transform // Transform Type 3; none with AEAD encryption
	KE    []Transform // Transform Type 4; optional for ESP (PFS)
	ESN   []Transform // Transform Type 5, ESP only

	// Other holds transforms of a received proposal whose type this
	// package does not negotiate (RFC 9370 additional key exchanges
	// without NONE, unknown types). A proposal with any cannot be
	// selected (RFC 7296 Section 3.3.6).
	Other []Transform
}

// transformTypes is the order in which types are selected, printed and
// written: ENCR first, as the choice of an AEAD decides whether INTEG is
// needed, then strongSwan's print order.
var transformTypes = []wire.TransformType{wire.TransformEncr, wire.TransformInteg, wire.TransformPRF, wire.TransformKE, wire.TransformESN}

// list returns the transforms of type t.
func (p *Proposal) list(t wire.TransformType) []Transform {
	switch t {
	case wire.TransformEncr:
		return p.Encr
	case wire.TransformPRF:
		return p.PRF
	case wire.TransformInteg:
		return p.Integ
	case wire.TransformKE:
		return p.KE
	case wire.TransformESN:
		return p.ESN
	}
	return nil
}

// listPtr returns the list that holds transforms of type t.
func (p *Proposal) listPtr(t wire.TransformType) *[]Transform {
	switch t {
	case wire.TransformEncr:
		return &p.Encr
	case wire.TransformPRF:
		return &p.PRF
	case wire.TransformInteg:
		return &p.Integ
	case wire.TransformKE:
		return &p.KE
	case wire.TransformESN:
		return &p.ESN
	}
	return &p.Other
}

// add appends t to the list of its type.
func (p *Proposal) add(t Transform) {
	l := p.listPtr(t.Type)
	*l = append(*l, t)
}

// clone returns a deep copy of p.
func (p Proposal) clone() Proposal {
	p.SPI = bytes.Clone(p.SPI)
	p.Encr = slices.Clone(p.Encr)
	p.PRF = slices.Clone(p.PRF)
	p.Integ = slices.Clone(p.Integ)
	p.KE = slices.Clone(p.KE)
	p.ESN = slices.Clone(p.ESN)
	p.Other = slices.Clone(p.Other)
	return p
}

// sameTransforms reports whether p and q have the same protocol and the
// same transforms in the same order: String would print them alike.
func (p *Proposal) sameTransforms(q *Proposal) bool {
	if p.Protocol != q.Protocol {
		return false
	}
	for _, t := range transformTypes {
		a, b := p.list(t), q.list(t)
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if a[i].Type != b[i].Type || a[i].ID != b[i].ID || a[i].KeyBits != b[i].KeyBits {
				return false
			}
		}
	}
	return len(p.Other) == 0 && len(q.Other) == 0
}

// all returns every transform in print order.
func (p *Proposal) all() []Transform {
	var out []Transform
	for _, t := range transformTypes {
		out = append(out, p.list(t)...)
	}
	return append(out, p.Other...)
}

// Has reports whether p offers the transform of type t and ID id (with any
// key length).
func (p *Proposal) Has(t wire.TransformType, id uint16) bool {
	for _, x := range *p.listPtr(t) {
		if x.Type == t && x.ID == id {
			return true
		}
	}
	return false
}

// First returns the first transform of type t, the selected one in a
// selected proposal, and false if p has none.
func (p *Proposal) First(t wire.TransformType) (Transform, bool) {
	for _, x := range *p.listPtr(t) {
		if x.Type == t {
			return x, true
		}
	}
	return Transform{}, false
}

// IsAEAD reports whether the first ENCR transform of p is a combined-mode
// algorithm (AES-GCM, ChaCha20-Poly1305), which takes no INTEG transform.
func (p *Proposal) IsAEAD() bool {
	return len(p.Encr) > 0 && isAEAD(p.Encr[0])
}

// Group returns the first KE transform of p as a Group, GroupNone if it
// has none.
func (p *Proposal) Group() Group {
	if len(p.KE) == 0 {
		return GroupNone
	}
	return Group(p.KE[0].ID)
}

// String returns the proposal as charon logs it, such as
// "IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/CURVE_25519" or
// "ESP:AES_GCM_16_256/NO_EXT_SEQ". ParseProposals reads this form back.
func (p Proposal) String() string {
	var b strings.Builder
	b.WriteString(protocolName(p.Protocol))
	b.WriteByte(':')
	for i, t := range p.all() {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(t.String())
	}
	return b.String()
}

// Keywords returns the proposal in strongSwan's configuration syntax, such
// as "aes128-sha256-prfsha256-curve25519" or "aes256gcm16-noesn". It
// returns the log form (String) for a proposal with a transform that has no
// keyword, which ParseProposals also reads.
func (p Proposal) Keywords() string {
	var parts []string
	for _, t := range p.all() {
		name, ok := keywordByTrans[Transform{Type: t.Type, ID: t.ID, KeyBits: t.KeyBits}]
		if !ok || t.unusable {
			return p.String()
		}
		parts = append(parts, name)
	}
	return strings.Join(parts, "-")
}

func protocolName(p wire.ProtocolID) string {
	switch p {
	case wire.ProtocolIKE:
		return "IKE"
	case wire.ProtocolESP:
		return "ESP"
	case wire.ProtocolAH:
		return "AH"
	}
	return "PROTO_" + strconv.Itoa(int(p))
}

// FormatProposals joins the log forms of ps with ", ", as charon prints a
// proposal list.
func FormatProposals(ps []Proposal) string {
	s := make([]string, len(ps))
	for i := range ps {
		s[i] = ps[i].String()
	}
	return strings.Join(s, ", ")
}

// ErrUnknownKeyword is wrapped by the ProposalError of a proposal string
// with a keyword that is not an algorithm this package implements.
var ErrUnknownKeyword = errors.New("ike: unknown or unsupported algorithm")

// ProposalError reports a proposal string that cannot be used: an unknown
// keyword, or a proposal that breaks the rules of RFC 7296 Section 3.3 (no
// encryption algorithm, AEAD mixed with classic ciphers, no PRF or key
// exchange in an IKE proposal, ...).
type ProposalError struct {
	Proposal string // the comma-separated element at fault
	Keyword  string // the keyword at fault, if one
	Reason   string
	err      error
}

// Error returns a message such as
// `ike: proposal "aes256-foo": unknown or unsupported algorithm: "foo"`.
func (e *ProposalError) Error() string {
	if e.Keyword != "" {
		return fmt.Sprintf("ike: proposal %q: %s: %q", e.Proposal, e.Reason, e.Keyword)
	}
	return fmt.Sprintf("ike: proposal %q: %s", e.Proposal, e.Reason)
}

// Unwrap returns ErrUnknownKeyword for an unknown keyword, else nil.
func (e *ProposalError) Unwrap() error { return e.err }

// ParseProposals parses a comma-separated list of proposals for protocol
// (wire.ProtocolIKE or wire.ProtocolESP) in strongSwan's syntax: each
// proposal is dash-separated keywords from strongSwan's
// proposal_keywords_static.txt, several of one type in order of preference
// ("aes128-aes256-sha256-sha1-modp2048-ecp256"). "default" stands for
// DefaultIKEProposals or DefaultESPProposals. A proposal may also be in the
// log form String returns ("IKE:AES_CBC_128/HMAC_SHA2_256_128/..."), so
// lines from charon's log can be pasted.
//
// Like strongSwan's proposal_create_from_string, it completes and checks
// each proposal: an IKE proposal without a PRF gets the PRFs of its
// integrity algorithms (HMAC-SHA2-256-128 gives PRF-HMAC-SHA2-256, ...),
// which is why an AEAD IKE proposal needs an explicit PRF or an integrity
// keyword ("aes256gcm16-sha256-ecp256" means PRF-HMAC-SHA2-256); INTEG is
// dropped when all ciphers are AEADs; KE NONE is dropped from IKE
// proposals; PRFs are dropped from ESP proposals; ESP proposals without
// "esn"/"noesn" get NO_EXT_SEQ. Unlike strongSwan, classic encryption
// without integrity is refused for ESP too, and so are ESN in IKE
// proposals and NULL encryption for IKE (RFC 7296 Section 3.3.2).
//
// Errors are *ProposalError; an unknown keyword wraps ErrUnknownKeyword.
func ParseProposals(s string, protocol wire.ProtocolID) ([]Proposal, error) {
	if protocol != wire.ProtocolIKE && protocol != wire.ProtocolESP {
		return nil, &ProposalError{Proposal: s, Reason: "proposals for protocol " + protocolName(protocol) + " are not supported"}
	}
	var out []Proposal
	for elem := range strings.SplitSeq(s, ",") {
		elem = strings.TrimSpace(elem)
		if elem == "" {
			return nil, &ProposalError{Proposal: s, Reason: "empty proposal"}
		}
		if strings.EqualFold(elem, "default") {
			out = append(out, defaultProposals(protocol)...)
			continue
		}
		var p Proposal
		var err error
		if strings.Contains(elem, ":") {
			p, err = parseLogForm(elem, protocol)
		} else {
			p, err = parseKeywords(elem, protocol)
		}
		if err != nil {
			return nil, err
		}
		if reason := p.complete(); reason != "" {
			return nil, &ProposalError{Proposal: elem, Reason: reason}
		}
		out = append(out, p)
	}
	return out, nil
}

// MustParseProposals is ParseProposals for proposal strings fixed in a
// program; it panics on an error.
func MustParseProposals(s string, protocol wire.ProtocolID) []Proposal {
	ps, err := ParseProposals(s, protocol)
	if err != nil {
		panic(err)
	}
	return ps
}

// parseKeywords reads one dash-separated proposal.
func parseKeywords(elem string, protocol wire.ProtocolID) (Proposal, error) {
	p := Proposal{Protocol: protocol}
	for word := range strings.SplitSeq(elem, "-") {
		word = strings.TrimSpace(word)
		if word == "" {
			return Proposal{}, &ProposalError{Proposal: elem, Reason: "empty keyword"}
		}
		t, ok := keywordByName[strings.ToLower(word)]
		if !ok {
			return Proposal{}, &ProposalError{Proposal: elem, Keyword: word, Reason: "unknown or unsupported algorithm", err: ErrUnknownKeyword}
		}
		if reason := allowed(t, protocol); reason != "" {
			return Proposal{}, &ProposalError{Proposal: elem, Keyword: word, Reason: reason}
		}
		p.add(t)
	}
	return p, nil
}

// parseLogForm reads one proposal in charon's log form.
func parseLogForm(elem string, protocol wire.ProtocolID) (Proposal, error) {
	proto, rest, _ := strings.Cut(elem, ":")
	if strings.TrimSpace(proto) != protocolName(protocol) {
		return Proposal{}, &ProposalError{Proposal: elem, Keyword: proto, Reason: "proposal is not for " + protocolName(protocol)}
	}
	p := Proposal{Protocol: protocol}
	for name := range strings.SplitSeq(rest, "/") {
		name = strings.TrimSpace(name)
		t, ok := transformByLogID[name]
		if !ok {
			return Proposal{}, &ProposalError{Proposal: elem, Keyword: name, Reason: "unknown or unsupported algorithm", err: ErrUnknownKeyword}
		}
		if reason := allowed(t, protocol); reason != "" {
			return Proposal{}, &ProposalError{Proposal: elem, Keyword: name, Reason: reason}
		}
		p.add(t)
	}
	return p, nil
}

// allowed returns why t may not appear in a proposal for protocol, or "".
func allowed(t Transform, protocol wire.ProtocolID) string {
	info := transformInfos[transformKey{t.Type, t.ID}]
	switch {
	case protocol == wire.ProtocolIKE && t.Type == wire.TransformESN:
		return "extended sequence numbers are not negotiated for IKE"
	case protocol == wire.ProtocolIKE && t.Type == wire.TransformEncr && info.espOnly:
		return "not allowed in IKE proposals (RFC 7296 Section 3.3.2)"
	}
	return ""
}

// integPRF maps integrity algorithms to the PRF with the same hash, which
// strongSwan's check_proposal adds to IKE proposals that name no PRF.
var integPRF = map[uint16]uint16{
	uint16(wire.IntegHMACSHA1_96):      uint16(wire.PRFHMACSHA1),
	uint16(wire.IntegHMACSHA2_256_128): uint16(wire.PRFHMACSHA2_256),
	uint16(wire.IntegHMACSHA2_384_192): uint16(wire.PRFHMACSHA2_384),
	uint16(wire.IntegHMACSHA2_512_256): uint16(wire.PRFHMACSHA2_512),
}

// complete fills in and checks a parsed proposal the way strongSwan's
// check_proposal does, and returns why it is unusable, or "".
func (p *Proposal) complete() string {
	if p.Protocol == wire.ProtocolIKE {
		if len(p.PRF) == 0 {
			for _, t := range p.Integ {
				if prf, ok := integPRF[t.ID]; ok {
					p.PRF = append(p.PRF, Transform{Type: wire.TransformPRF, ID: prf})
				}
			}
		}
		if len(p.PRF) == 0 {
			return "a PRF algorithm is mandatory in IKE proposals"
		}
		p.KE = slices.DeleteFunc(p.KE, func(t Transform) bool { return t.ID == uint16(GroupNone) })
		if len(p.KE) == 0 {
			return "a key exchange method is mandatory in IKE proposals"
		}
	} else {
		p.PRF = nil
	}
	if len(p.Encr) == 0 {
		return "an encryption algorithm is mandatory in " + protocolName(p.Protocol) + " proposals"
	}
	aead := 0
	for _, t := range p.Encr {
		if isAEAD(t) {
			aead++
		}
	}
	switch {
	case aead > 0 && aead < len(p.Encr):
		return "classic and combined-mode (AEAD) encryption algorithms can't be contained in the same " + protocolName(p.Protocol) + " proposal"
	case aead > 0:
		// RFC 7296 Section 3.3: an AEAD proposal MUST NOT contain
		// integrity algorithms other than NONE.
		p.Integ = nil
	case len(p.Integ) == 0:
		return "an integrity algorithm is mandatory with classic (non-AEAD) encryption algorithms"
	}
	if p.Protocol == wire.ProtocolESP && len(p.ESN) == 0 {
		p.ESN = []Transform{{Type: wire.TransformESN, ID: uint16(wire.ESNNo)}}
	}
	return ""
}

// Default proposals, in strongSwan's syntax; see DefaultIKEProposals.
const (
	defaultIKEClassic = "aes128-aes192-aes256-sha256-sha384-sha512-sha1-prfsha256-prfsha384-prfsha512-prfsha1-" + defaultGroups
	defaultIKEAEAD    = "aes128gcm16-aes192gcm16-aes256gcm16-chacha20poly1305-prfsha256-prfsha384-prfsha512-prfsha1-" + defaultGroups
	defaultGroups     = "curve25519-ecp256-ecp384-ecp521-modp3072-modp4096-modp2048"
	defaultESPAEAD    = "aes128gcm16-aes192gcm16-aes256gcm16-chacha20poly1305-noesn"
	defaultESPClassic = "aes128-aes192-aes256-sha256-sha384-sha512-sha1-noesn"
)

var (
	defaultIKE = []Proposal{mustParseOne(defaultIKEClassic, wire.ProtocolIKE), mustParseOne(defaultIKEAEAD, wire.ProtocolIKE)}
	defaultESP = []Proposal{mustParseOne(defaultESPAEAD, wire.ProtocolESP), mustParseOne(defaultESPClassic, wire.ProtocolESP)}
)

func mustParseOne(s string, protocol wire.ProtocolID) Proposal {
	p, err := parseKeywords(s, protocol)
	if err == nil {
		if reason := p.complete(); reason != "" {
			err = errors.New(reason)
		}
	}
	if err != nil {
		panic("ike: bad default proposal " + s + ": " + err.Error())
	}
	return p
}

// DefaultIKEProposals returns the proposals "default" stands for in an IKE
// proposal string: strongSwan's two default IKE proposals (classic first,
// then AEAD, as vici's add_default_proposals orders them for IKE), limited
// to the algorithms of this package and without the weak ones:
//
//	IKE:AES_CBC_128/AES_CBC_192/AES_CBC_256/HMAC_SHA2_256_128/HMAC_SHA2_384_192/
//	    HMAC_SHA2_512_256/HMAC_SHA1_96/PRF_HMAC_SHA2_256/PRF_HMAC_SHA2_384/
//	    PRF_HMAC_SHA2_512/PRF_HMAC_SHA1/CURVE_25519/ECP_256/ECP_384/ECP_521/
//	    MODP_3072/MODP_4096/MODP_2048
//	IKE:AES_GCM_16_128/AES_GCM_16_192/AES_GCM_16_256/CHACHA20_POLY1305/
//	    (the same PRFs and groups)
//
// The choices, and why: no 3DES (64-bit blocks; only a MAY in RFC 8247,
// strongSwan still offers it last) and no MODP-1024 or MODP-1536 (SHOULD
// NOT in RFC 8247), which stay available when configured explicitly; SHA-1
// is kept as integrity and PRF of last resort because RFC 8247 still lists
// AUTH_HMAC_SHA1_96 and PRF_HMAC_SHA1 as MUST- for interoperability and
// HMAC-SHA1 has no known weakness as a MAC, but every SHA-2 variant is
// preferred to it; the AEAD
// proposal offers only 16-octet ICVs (strongSwan adds GCM-8 and GCM-12 after
// them, so two peers that both have GCM-16 never pick those). Curve25519
// comes first, as with strongSwan, whose first KE payload is group 31.
//
// The result is a fresh copy.
func DefaultIKEProposals() []Proposal { return cloneProposals(defaultIKE) }

// DefaultESPProposals returns the proposals "default" stands for in an ESP
// proposal string: AEAD first (vici's add_default_proposals prefers AEAD for
// ESP), then classic, without PFS and without ESN, as strongSwan's
// defaults:
//
//	ESP:AES_GCM_16_128/AES_GCM_16_192/AES_GCM_16_256/CHACHA20_POLY1305/NO_EXT_SEQ
//	ESP:AES_CBC_128/AES_CBC_192/AES_CBC_256/HMAC_SHA2_256_128/HMAC_SHA2_384_192/
//	    HMAC_SHA2_512_256/HMAC_SHA1_96/NO_EXT_SEQ
//
// Compared with strongSwan's, ChaCha20-Poly1305 (RFC 8221: SHOULD) is added
// and AES-XCBC, which package esp does not implement, is missing. The
// result is a fresh copy.
func DefaultESPProposals() []Proposal { return cloneProposals(defaultESP) }

func defaultProposals(protocol wire.ProtocolID) []Proposal {
	if protocol == wire.ProtocolIKE {
		return DefaultIKEProposals()
	}
	return DefaultESPProposals()
}

func cloneProposals(ps []Proposal) []Proposal {
	out := make([]Proposal, len(ps))
	for i := range ps {
		out[i] = ps[i].clone()
	}
	return out
}

// AppendDefaults returns configured followed by the default proposals of
// protocol: the lenient (non-strict) mode, in which a responder also
// accepts what the peer proposes from the built-in secure defaults, as
// strongSwan's ipsec.conf did for proposals without the strict flag '!'.
// Select with configured alone is the strict mode.
func AppendDefaults(configured []Proposal, protocol wire.ProtocolID) []Proposal {
	out := cloneProposals(configured)
	return append(out, defaultProposals(protocol)...)
}

// PromoteGroup returns copies of ps in which group g, where a proposal
// offers it, is moved to the front of its KE transforms, as strongSwan's
// initiator does to its proposals once it knows the group of its KE payload
// (after INVALID_KE_PAYLOAD, say). The order of the proposals is kept;
// strongSwan also moves proposals without g to the back.
func PromoteGroup(ps []Proposal, g Group) []Proposal {
	out := cloneProposals(ps)
	for i := range out {
		ke := out[i].KE
		if j := slices.IndexFunc(ke, func(t Transform) bool { return t.ID == uint16(g) }); j > 0 {
			t := ke[j]
			copy(ke[1:j+1], ke[:j])
			ke[0] = t
		}
	}
	return out
}

// Select chooses, as the responder, the proposal to accept from received
// (RFC 7296 Sections 2.7 and 3.3.6): a proposal of the same protocol with
// exactly one transform of each type in use, each offered by both sides
// with the same key length. It returns false if no received proposal
// matches a configured one.
//
// With preferConfigured, the configured proposals and their algorithm order
// decide, as strongSwan's responder does by default
// (charon.prefer_configured_proposals): the first configured proposal that
// matches any received one wins, with its preferred algorithms. Otherwise
// the peer's order decides: the first received proposal that matches a
// configured one, with the peer's preferred algorithms.
//
// Selection is strict: only what configured offers is accepted; use
// AppendDefaults for the lenient mode. Rules, as strongSwan's
// select_algos: with an AEAD cipher, INTEG is ignored; for ESP, a KE type
// missing on one side matches if the other side offers NONE (no PFS), and
// NONE may be selected; a received proposal with a type this package does
// not negotiate never matches. The result carries the received proposal's
// Number and SPI and shares no memory with the arguments.
func Select(configured, received []Proposal, preferConfigured bool) (Proposal, bool) {
	if preferConfigured {
		for i := range configured {
			for j := range received {
				if p, ok := matchProposal(&configured[i], &received[j], &configured[i]); ok {
					return p, true
				}
			}
		}
		return Proposal{}, false
	}
	for j := range received {
		for i := range configured {
			if p, ok := matchProposal(&configured[i], &received[j], &received[j]); ok {
				return p, true
			}
		}
	}
	return Proposal{}, false
}

// matchProposal selects one transform of each type from a configured and a
// received proposal, in the order of preferred (one of the two).
func matchProposal(cfg, rcv, preferred *Proposal) (Proposal, bool) {
	if cfg.Protocol != rcv.Protocol || len(rcv.Other) > 0 || len(cfg.Other) > 0 {
		return Proposal{}, false
	}
	other := rcv
	if preferred == rcv {
		other = cfg
	}
	out := Proposal{Number: rcv.Number, Protocol: rcv.Protocol, SPI: bytes.Clone(rcv.SPI)}
	aead := false
	for _, typ := range transformTypes {
		if typ == wire.TransformInteg && aead {
			continue
		}
		// RFC 7296 Section 3.3.3: KE is optional for ESP; NONE on one
		// side accepts a missing type on the other.
		optional := typ == wire.TransformKE && rcv.Protocol != wire.ProtocolIKE
		t, found, none := selectTransform(preferred.list(typ), other.list(typ), optional)
		if !found {
			return Proposal{}, false
		}
		if none {
			continue
		}
		out.add(t)
		if typ == wire.TransformEncr {
			aead = isAEAD(t)
		}
	}
	// Never accept encryption without integrity, nor an IKE SA without
	// a PRF and a key exchange.
	if len(out.Encr) == 0 || (!aead && len(out.Integ) == 0) {
		return Proposal{}, false
	}
	if out.Protocol == wire.ProtocolIKE && (len(out.PRF) == 0 || len(out.KE) == 0) {
		return Proposal{}, false
	}
	return out, true
}

// selectTransform picks the first transform of a (the preferred list) that
// b also has. found is false if the type cannot be agreed; none is true if
// it is agreed that no transform of the type is used.
func selectTransform(a, b []Transform, optional bool) (t Transform, found, none bool) {
	if len(a) == 0 && len(b) == 0 {
		return Transform{}, true, true
	}
	if optional {
		if (len(a) == 0 && hasNone(b)) || (len(b) == 0 && hasNone(a)) {
			return Transform{}, true, true
		}
	}
	for _, x := range a {
		for _, y := range b {
			if x.equal(y) {
				if x.ID == 0 && x.Type != wire.TransformESN {
					// NONE (KE, INTEG): agreed, nothing to add.
					return Transform{}, true, true
				}
				return x, true, false
			}
		}
	}
	return Transform{}, false, false
}

func hasNone(l []Transform) bool {
	return slices.ContainsFunc(l, func(t Transform) bool { return t.ID == 0 && !t.unusable })
}

// LogLines returns the three lines charon logs about a proposal selection:
// "received proposals: ...", "configured proposals: ..." and
// "selected proposal: ..." (or "no acceptable proposal found" when ok is
// false). They contain no keys and are safe to log.
func LogLines(received, configured []Proposal, selected Proposal, ok bool) []string {
	last := "no acceptable proposal found"
	if ok {
		last = "selected proposal: " + selected.String()
	}
	return []string{
		"received proposals: " + FormatProposals(received),
		"configured proposals: " + FormatProposals(configured),
		last,
	}
}

// Wire returns p as a proposal substructure for an SA payload, with a TV
// Key Length attribute on transforms with KeyBits (RFC 7296 Section
// 3.3.5). Transforms are written by type number; their order within a
// type is kept.
func (p Proposal) Wire() wire.Proposal {
	wp := wire.Proposal{Number: p.Number, Protocol: p.Protocol, SPI: bytes.Clone(p.SPI)}
	for _, list := range [][]Transform{p.Encr, p.PRF, p.Integ, p.KE, p.ESN, p.Other} {
		for _, t := range list {
			wt := wire.Transform{Type: t.Type, ID: t.ID}
			if t.KeyBits != 0 {
				wt.Attributes = []wire.Attribute{{Type: wire.AttributeKeyLength, TV: true, Value: t.KeyBits}}
			}
			wp.Transforms = append(wp.Transforms, wt)
		}
	}
	return wp
}

// ProposalFromWire converts a received proposal substructure. A transform
// with an attribute other than Key Length is kept but never matches (RFC
// 7296 Section 3.3.6). RFC 9370 additional key exchange types that offer
// NONE are dropped, as a responder without them may; other types go to
// Other, which makes the proposal unselectable.
func ProposalFromWire(wp wire.Proposal) Proposal {
	p := Proposal{Number: wp.Number, Protocol: wp.Protocol, SPI: bytes.Clone(wp.SPI)}
	addKENone := map[wire.TransformType]bool{}
	var addKE []Transform
	for i := range wp.Transforms {
		wt := &wp.Transforms[i]
		t := Transform{Type: wt.Type, ID: wt.ID}
		for _, a := range wt.Attributes {
			if a.Type == wire.AttributeKeyLength && a.TV {
				t.KeyBits = a.Value
			} else {
				t.unusable = true
			}
		}
		switch {
		case wt.Type >= wire.TransformEncr && wt.Type <= wire.TransformESN:
			p.add(t)
		case wt.Type >= wire.TransformAddKE1 && wt.Type <= wire.TransformAddKE7:
			if t.ID == 0 {
				addKENone[t.Type] = true
			}
			addKE = append(addKE, t)
		default:
			p.Other = append(p.Other, t)
		}
	}
	for _, t := range addKE {
		if !addKENone[t.Type] {
			p.Other = append(p.Other, t)
		}
	}
	return p
}

// SAPayload returns an SA payload with ps. Proposal numbers of zero are
// written as the position in the list, counting from 1.
func SAPayload(ps []Proposal) *wire.SA {
	sa := &wire.SA{Proposals: make([]wire.Proposal, len(ps))}
	for i := range ps {
		sa.Proposals[i] = ps[i].Wire()
	}
	return sa
}

// ProposalsFromSA converts the proposals of a received SA payload.
func ProposalsFromSA(sa *wire.SA) []Proposal {
	ps := make([]Proposal, len(sa.Proposals))
	for i := range sa.Proposals {
		ps[i] = ProposalFromWire(sa.Proposals[i])
	}
	return ps
}
