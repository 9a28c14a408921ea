package pki

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// IDType is the ID Type of an IKE Identification payload (RFC 7296,
// Section 3.5; IKEv1: RFC 2407, Section 4.6.2.1), with the IANA numbers.
type IDType uint8

// The identity types. IDTypeAny is not a wire type: it is the "%any" pattern
// that matches every identity.
const (
	IDTypeAny        IDType = 0
	IDTypeIPv4Addr   IDType = 1
	IDTypeFQDN       IDType = 2
	IDTypeRFC822Addr IDType = 3
	IDTypeIPv6Addr   IDType = 5
	IDTypeDERASN1DN  IDType = 9
	IDTypeDERASN1GN  IDType = 10
	IDTypeKeyID      IDType = 11
)

// String returns the name charon logs, e.g. "ID_FQDN".
func (t IDType) String() string {
	switch t {
	case IDTypeAny:
		return "ID_ANY"
	case IDTypeIPv4Addr:
		return "ID_IPV4_ADDR"
	case IDTypeFQDN:
		return "ID_FQDN"
	case IDTypeRFC822Addr:
		return "ID_RFC822_ADDR"
	case 4:
		return "ID_IPV4_ADDR_SUBNET"
	case IDTypeIPv6Addr:
		return "ID_IPV6_ADDR"
	case 6:
		return "ID_IPV6_ADDR_SUBNET"
	case 7:
		return "ID_IPV4_ADDR_RANGE"
	case 8:
		return "ID_IPV6_ADDR_RANGE"
	case IDTypeDERASN1DN:
		return "ID_DER_ASN1_DN"
	case IDTypeDERASN1GN:
		return "ID_DER_ASN1_GN"
	case IDTypeKeyID:
		return "ID_KEY_ID"
	}
	return "ID_TYPE(" + strconv.Itoa(int(t)) + ")"
}

// Identity is an IKE identity: the type and the Identification Data of an ID
// payload. Data is the wire form: 4 or 16 address octets, the ASCII FQDN or
// e-mail address (no terminating NUL), the DER of the RDNSequence, the DER
// GeneralName, or the raw key id. Identities from ParseIdentity,
// NewIdentity and DecodeIdentity own their Data; treat it as read-only.
type Identity struct {
	// Type is the ID Type.
	Type IDType
	// Data is the Identification Data in wire form.
	Data []byte
}

// NewIdentity returns the identity of type t with data, after checking that
// data is well-formed for t: 4 octets for ID_IPV4_ADDR, 16 for
// ID_IPV6_ADDR, a DER RDNSequence for ID_DER_ASN1_DN, non-empty for the
// other defined types, empty for IDTypeAny. Data of types this package does
// not define (the IKEv1 subnets and ranges) is kept as it is. The result
// refers to data, it is not copied.
func NewIdentity(t IDType, data []byte) (Identity, error) {
	id := Identity{Type: t, Data: data}
	if err := id.validate(); err != nil {
		return Identity{}, err
	}
	return id, nil
}

func (id Identity) validate() error {
	switch id.Type {
	case IDTypeAny:
		if len(id.Data) != 0 {
			return errors.New("pki: ID_ANY with data")
		}
	case IDTypeIPv4Addr:
		if len(id.Data) != 4 {
			return fmt.Errorf("pki: ID_IPV4_ADDR of %d octets", len(id.Data))
		}
	case IDTypeIPv6Addr:
		if len(id.Data) != 16 {
			return fmt.Errorf("pki: ID_IPV6_ADDR of %d octets", len(id.Data))
		}
	case IDTypeDERASN1DN:
		if _, err := parseDNDER(id.Data); err != nil {
			return err
		}
	case IDTypeFQDN, IDTypeRFC822Addr, IDTypeDERASN1GN, IDTypeKeyID:
		if len(id.Data) == 0 {
			return fmt.Errorf("pki: empty %v", id.Type)
		}
	}
	return nil
}

// AddrIdentity returns the ID_IPV4_ADDR or ID_IPV6_ADDR identity of a (an
// IPv4-mapped IPv6 address gives ID_IPV4_ADDR). It returns IDTypeAny for the
// zero Addr.
func AddrIdentity(a netip.Addr) Identity {
	switch {
	case a.Is4() || a.Is4In6():
		b := a.Unmap().As4()
		return Identity{Type: IDTypeIPv4Addr, Data: b[:]}
	case a.Is6():
		b := a.As16()
		return Identity{Type: IDTypeIPv6Addr, Data: b[:]}
	}
	return Identity{}
}

// DecodeIdentity parses the body of an IKE Identification payload (after the
// generic payload header): ID Type (1 octet), 3 octets that are RESERVED in
// IKEv2 (RFC 7296, Section 3.5: ignored on receipt) and the protocol and
// port in IKEv1 (RFC 2407, Section 4.6.2.1), then the Identification Data.
// The data is checked as by NewIdentity and copied.
func DecodeIdentity(body []byte) (Identity, error) {
	if len(body) < 4 {
		return Identity{}, errors.New("pki: ID payload shorter than 4 octets")
	}
	t := IDType(body[0])
	if t == IDTypeAny {
		return Identity{}, errors.New("pki: ID payload with reserved ID Type 0")
	}
	return NewIdentity(t, bytes.Clone(body[4:]))
}

// AppendBinary appends the body of an IKEv2 Identification payload for id to
// b: ID Type, 3 zero RESERVED octets and the data (RFC 7296, Section 3.5).
// It fails for IDTypeAny and for malformed data.
func (id Identity) AppendBinary(b []byte) ([]byte, error) {
	if id.Type == IDTypeAny {
		return b, errors.New("pki: ID_ANY has no wire form")
	}
	if err := id.validate(); err != nil {
		return b, err
	}
	b = append(b, byte(id.Type), 0, 0, 0)
	return append(b, id.Data...), nil
}

// MarshalBinary returns the body of an IKEv2 Identification payload for id
// (see AppendBinary).
func (id Identity) MarshalBinary() ([]byte, error) {
	return id.AppendBinary(make([]byte, 0, 4+len(id.Data)))
}

// UnmarshalBinary sets id from the body of an Identification payload (see
// DecodeIdentity).
func (id *Identity) UnmarshalBinary(b []byte) error {
	v, err := DecodeIdentity(b)
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// ParseIdentity parses an identity in strongSwan's string syntax, the one of
// swanctl.conf "id" settings:
//
//   - a type prefix, the value taken literally or as hex after '#':
//     "ipv4:", "ipv6:", "fqdn:", "dns:", "rfc822:", "email:", "userfqdn:",
//     "asn1dn:", "asn1gn:" (hex only), "keyid:"; or a numeric type "{11}:";
//   - a string containing '=' is a DN: "C=CH, O=ikego, CN=vpn.example.org"
//     (see ParseDN);
//   - "", "%any", "%any6", "*", "0.0.0.0", "::" and "0::0" are IDTypeAny;
//   - without '@': an IPv4 or IPv6 address is ID_IPV4_ADDR or ID_IPV6_ADDR,
//     other strings with ':' are ID_KEY_ID, the rest ID_FQDN ("vpn", "*.example.com");
//   - with '@': "@#0a1b" is an ID_KEY_ID in hex, "@@user@host" an
//     ID_RFC822_ADDR, "@name" forces ID_FQDN, and "user@host" is
//     ID_RFC822_ADDR ("*@example.com").
//
// Where strongSwan silently makes a KEY_ID of a malformed DN or stores the
// text after "ipv4:" or "asn1dn:" as raw bytes, ParseIdentity parses the
// address or DN, or returns an error.
func ParseIdentity(s string) (Identity, error) {
	if id, ok, err := parsePrefixed(s); ok {
		return id, err
	}
	if strings.Contains(s, "=") {
		der, err := ParseDN(s)
		if err != nil {
			return Identity{}, err
		}
		return Identity{Type: IDTypeDERASN1DN, Data: der}, nil
	}
	if !strings.Contains(s, "@") {
		switch s {
		case "", "%any", "%any6", "0.0.0.0", "*", "::", "0::0":
			return Identity{}, nil
		}
		if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
			if a.Is4() {
				b := a.As4()
				return Identity{Type: IDTypeIPv4Addr, Data: b[:]}, nil
			}
			if strings.Contains(s, ":") {
				b := a.As16()
				return Identity{Type: IDTypeIPv6Addr, Data: b[:]}, nil
			}
		}
		if strings.Contains(s, ":") {
			return Identity{Type: IDTypeKeyID, Data: []byte(s)}, nil
		}
		return Identity{Type: IDTypeFQDN, Data: []byte(s)}, nil
	}
	if rest, ok := strings.CutPrefix(s, "@"); ok {
		switch {
		case strings.HasPrefix(rest, "#"):
			b, err := parseHex(rest[1:])
			if err != nil {
				return Identity{}, err
			}
			return NewIdentity(IDTypeKeyID, b)
		case strings.HasPrefix(rest, "@"):
			return NewIdentity(IDTypeRFC822Addr, []byte(rest[1:]))
		}
		return NewIdentity(IDTypeFQDN, []byte(rest))
	}
	return Identity{Type: IDTypeRFC822Addr, Data: []byte(s)}, nil
}

var idPrefixes = []struct {
	prefix string
	t      IDType
}{
	{"ipv4:", IDTypeIPv4Addr},
	{"ipv6:", IDTypeIPv6Addr},
	{"ipv4net:", 4},
	{"ipv6net:", 6},
	{"ipv4range:", 7},
	{"ipv6range:", 8},
	{"rfc822:", IDTypeRFC822Addr},
	{"email:", IDTypeRFC822Addr},
	{"userfqdn:", IDTypeRFC822Addr},
	{"fqdn:", IDTypeFQDN},
	{"dns:", IDTypeFQDN},
	{"asn1dn:", IDTypeDERASN1DN},
	{"asn1gn:", IDTypeDERASN1GN},
	{"xmppaddr:", IDTypeDERASN1GN},
	{"keyid:", IDTypeKeyID},
}

// parsePrefixed parses the "type:" and "{n}:" forms; ok reports whether s
// has one of them.
func parsePrefixed(s string) (id Identity, ok bool, err error) {
	for _, p := range idPrefixes {
		if len(s) < len(p.prefix) || !strings.EqualFold(s[:len(p.prefix)], p.prefix) {
			continue
		}
		v := s[len(p.prefix):]
		if h, isHex := strings.CutPrefix(v, "#"); isHex {
			b, err := parseHex(h)
			if err != nil {
				return Identity{}, true, err
			}
			id, err := NewIdentity(p.t, b)
			return id, true, err
		}
		switch p.t {
		case IDTypeIPv4Addr, IDTypeIPv6Addr:
			a, err := netip.ParseAddr(v)
			if err != nil || a.Zone() != "" || (p.t == IDTypeIPv4Addr) != a.Is4() {
				return Identity{}, true, fmt.Errorf("pki: identity %q: not an %v", s, p.t)
			}
			if a.Is4() {
				b := a.As4()
				return Identity{Type: IDTypeIPv4Addr, Data: b[:]}, true, nil
			}
			b := a.As16()
			return Identity{Type: IDTypeIPv6Addr, Data: b[:]}, true, nil
		case IDTypeDERASN1DN:
			der, err := ParseDN(v)
			return Identity{Type: IDTypeDERASN1DN, Data: der}, true, err
		case IDTypeFQDN, IDTypeRFC822Addr, IDTypeKeyID:
			id, err := NewIdentity(p.t, []byte(v))
			return id, true, err
		}
		return Identity{}, true, fmt.Errorf("pki: identity %q: %s identities are not supported", s, strings.TrimSuffix(p.prefix, ":"))
	}
	// "{n}:value", n in decimal or 0x hex as strtoul(3) with base 0 reads it.
	if rest, found := strings.CutPrefix(s, "{"); found {
		num, v, found := strings.Cut(rest, "}:")
		if !found {
			return Identity{}, false, nil
		}
		n, err := strconv.ParseUint(num, 0, 8)
		if err != nil {
			return Identity{}, true, fmt.Errorf("pki: identity %q: bad type number", s)
		}
		data := []byte(v)
		if h, isHex := strings.CutPrefix(v, "#"); isHex {
			if data, err = parseHex(h); err != nil {
				return Identity{}, true, err
			}
		}
		id, err := NewIdentity(IDType(n), data)
		return id, true, err
	}
	return Identity{}, false, nil
}

// parseHex decodes hex digits, ignoring a "0x" prefix and ':' separators and
// padding an odd count with a leading zero, as strongSwan's chunk_from_hex.
func parseHex(s string) ([]byte, error) {
	h := strings.ReplaceAll(strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X"), ":", "")
	if len(h)%2 == 1 {
		h = "0" + h
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		return nil, fmt.Errorf("pki: bad hex %q", s)
	}
	return b, nil
}

// String returns id in the form ParseIdentity reads back into an equal
// identity, which is strongSwan's form where that is unambiguous:
// "198.51.100.2", "2001:db8::2", "vpn.example.org", "user@example.org",
// "C=CH, O=ikego, CN=vpn.example.org", "%any". A type prefix is added where
// the bare text would read as another type ("fqdn:1.2.3.4") and hex is used
// for bytes that have no text form ("asn1dn:#3000", "keyid:#0a1b"). Key ids
// are always prefixed ("keyid:ikego-group"), unlike charon's logs.
// Malformed addresses print as "(invalid ID_IPV4_ADDR)".
func (id Identity) String() string {
	switch id.Type {
	case IDTypeAny:
		return "%any"
	case IDTypeIPv4Addr, IDTypeIPv6Addr:
		a, ok := netip.AddrFromSlice(id.Data)
		if !ok || (id.Type == IDTypeIPv4Addr) != (len(id.Data) == 4) {
			return "(invalid " + id.Type.String() + ")"
		}
		if a.IsUnspecified() {
			// Bare "0.0.0.0" and "::" read as %any.
			if a.Is4() {
				return "ipv4:" + a.String()
			}
			return "ipv6:" + a.String()
		}
		return a.String()
	case IDTypeFQDN:
		return id.textForm("fqdn:")
	case IDTypeRFC822Addr:
		return id.textForm("email:")
	case IDTypeDERASN1DN:
		if s, ok := formatDN(id.Data); ok && id.roundTrips(s) {
			return s
		}
		return "asn1dn:#" + hex.EncodeToString(id.Data)
	case IDTypeDERASN1GN:
		return "asn1gn:#" + hex.EncodeToString(id.Data)
	case IDTypeKeyID:
		if isPrintableASCII(id.Data) && !bytes.HasPrefix(id.Data, []byte("#")) {
			return "keyid:" + string(id.Data)
		}
		return "keyid:#" + hex.EncodeToString(id.Data)
	}
	return "{" + strconv.Itoa(int(id.Type)) + "}:#" + hex.EncodeToString(id.Data)
}

// textForm formats an FQDN or e-mail identity: bare if that reads back,
// else with the type prefix, else in hex.
func (id Identity) textForm(prefix string) string {
	if isPrintableASCII(id.Data) {
		s := string(id.Data)
		if id.roundTrips(s) {
			return s
		}
		if !strings.HasPrefix(s, "#") {
			return prefix + s
		}
	}
	return prefix + "#" + hex.EncodeToString(id.Data)
}

func (id Identity) roundTrips(s string) bool {
	back, err := ParseIdentity(s)
	return err == nil && back.Equal(id)
}

func isPrintableASCII(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// Equal reports whether id and o are the same identity, with strongSwan's
// rules: FQDNs and e-mail addresses compare ignoring ASCII case (and never
// equal if they contain a NUL); DNs compare RDN by RDN in order, ignoring
// case in PrintableString values and e-mail addresses, and must have DER
// encodings of equal length; other types compare byte for byte. Wildcards
// are literal here; see Match.
func (id Identity) Equal(o Identity) bool {
	if id.Type != o.Type {
		return false
	}
	switch id.Type {
	case IDTypeAny:
		return true
	case IDTypeFQDN, IDTypeRFC822Addr:
		return bytes.IndexByte(id.Data, 0) < 0 && bytes.IndexByte(o.Data, 0) < 0 &&
			asciiEqualFold(id.Data, o.Data)
	case IDTypeDERASN1DN:
		ok, _ := compareDN(id.Data, o.Data, false, RDNStrict)
		return ok
	}
	return bytes.Equal(id.Data, o.Data)
}

// HasWildcards reports whether id is a pattern: IDTypeAny, an FQDN or e-mail
// address containing '*', or a DN with an RDN value "*". A peer's ID payload
// that has wildcards should not be matched against certificates as a pattern.
func (id Identity) HasWildcards() bool {
	switch id.Type {
	case IDTypeAny:
		return true
	case IDTypeFQDN, IDTypeRFC822Addr:
		return bytes.IndexByte(id.Data, '*') >= 0
	case IDTypeDERASN1DN:
		rdns, err := parseDNDER(id.Data)
		if err != nil {
			return false
		}
		for _, r := range rdns {
			if isWildcard(r) {
				return true
			}
		}
	}
	return false
}

// MatchLevel says how well an identity matches a pattern; a higher level is
// a better match. The values are strongSwan's id_match_t, so that a caller
// choosing among configurations prefers a perfect match to one with
// wildcards, and that to %any.
type MatchLevel int

// The match levels. A DN with n wildcard RDNs matches at MatchPerfect-n, but
// never below MatchMaxWildcards+1.
const (
	MatchNone         MatchLevel = 0
	MatchAny          MatchLevel = 1
	MatchMaxWildcards MatchLevel = 2
	MatchOneWildcard  MatchLevel = 19
	MatchPerfect      MatchLevel = 20
)

// The matching rules follow strongSwan, read in its
// src/libstrongswan/utils/identification.c (matches_string, matches_dn,
// compare_dn, equals_dn) as a reference for the facts, and checked against
// strongSwan 5.9.8's pki tool:
//
//   - DNs are compared attribute by attribute, the RDN SETs flattened, in
//     the order of the encoding: the same number of attributes and the same
//     type at each position. A pattern value of exactly "*" matches any value
//     and counts as one wildcard; there are no partial wildcards ("CN=v*" is
//     literal). Other values must have the same length and bytes, ignoring
//     ASCII case when both are PrintableStrings or both IA5String
//     emailAddress values. A match scores MatchPerfect minus the wildcards.
//   - Equality of DNs (equals_dn) also requires DER encodings of the same
//     length, so a multi-valued RDN never equals the same attributes in
//     separate RDNs, though it matches them.
//   - The strict order is strongSwan's default. strongSwan 5.8.1 added the
//     charon.rdn_matching setting: "reordered" ignores the order of the RDNs,
//     "relaxed" also accepts DNs with more RDNs than the configured identity,
//     the unmatched ones counting as wildcards. RDNMatching offers the same.
//   - FQDN and e-mail patterns have a single leading '*' wildcard matching
//     a suffix (matches_string); "*" alone is as good as %any.
//   - A certificate matches (x509 has_subject) if its subject DN or any
//     subjectAltName matches; ID_KEY_ID also matches the key identifiers,
//     the certificate hash and the serial number. See MatchCertificateLevel.

// RDNMatching selects how the RDNs of a DN are matched against a DN pattern,
// like strongSwan's charon.rdn_matching setting (strongSwan 5.8.1 and later).
type RDNMatching uint8

const (
	// RDNStrict is the zero RDNMatching and strongSwan's default: the DN must
	// have the same number and types of RDNs as the pattern, in the same
	// order; a pattern value "*" matches any value.
	RDNStrict RDNMatching = iota
	// RDNReordered also matches when the RDNs appear in another order; the
	// number and the types must still be the same.
	RDNReordered
	// RDNRelaxed is RDNReordered that also accepts DNs with more RDNs than
	// the pattern; the extra RDNs count as wildcard matches.
	RDNRelaxed
)

// Match returns how well id matches pattern, following strongSwan's
// identification_t.matches:
//
//   - a pattern of IDTypeAny matches everything at MatchAny;
//   - the types must be the same; then an Equal identity matches at
//     MatchPerfect;
//   - an FQDN or e-mail pattern "*" matches any at MatchAny, and a pattern
//     starting with '*' matches at MatchOneWildcard every identity that ends
//     with the rest of the pattern, ignoring case, and has at least one
//     character in place of the '*': "*.example.com" matches
//     "vpn.example.com" and "a.b.example.com" but not "example.com";
//     "*@example.com" matches "alice@example.com". Other '*' are literal;
//   - a DN pattern matches as described for RDNMatching, at MatchPerfect less
//     the number of wildcard RDNs;
//   - other types match only if their bytes are equal.
func (id Identity) Match(pattern Identity, mode RDNMatching) MatchLevel {
	if pattern.Type == IDTypeAny {
		return MatchAny
	}
	if id.Type != pattern.Type {
		return MatchNone
	}
	switch id.Type {
	case IDTypeFQDN, IDTypeRFC822Addr:
		if id.Equal(pattern) {
			return MatchPerfect
		}
		p := pattern.Data
		if len(p) == 0 || p[0] != '*' || len(id.Data) < len(p) {
			return MatchNone
		}
		if len(p) == 1 {
			return MatchAny
		}
		if asciiEqualFold(id.Data[len(id.Data)-len(p)+1:], p[1:]) {
			return MatchOneWildcard
		}
		return MatchNone
	case IDTypeDERASN1DN:
		ok, wc := compareDN(id.Data, pattern.Data, true, mode)
		if !ok {
			return MatchNone
		}
		wc = min(wc, int(MatchOneWildcard-MatchMaxWildcards))
		return MatchPerfect - MatchLevel(wc)
	}
	if bytes.Equal(id.Data, pattern.Data) {
		return MatchPerfect
	}
	return MatchNone
}

// Matches reports whether id matches pattern with strongSwan's default rules
// (Match with RDNStrict above MatchNone).
func (id Identity) Matches(pattern Identity) bool {
	return id.Match(pattern, RDNStrict) > MatchNone
}
