package pki

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// A DN (ID_DER_ASN1_DN, RFC 7296, Section 3.5) is the DER encoding of an X.501
// Name: RDNSequence ::= SEQUENCE OF RelativeDistinguishedName, RDN ::= SET
// SIZE (1..MAX) OF AttributeTypeAndValue (RFC 5280, Section 4.1.2.4).
//
// The string form is strongSwan's: "C=CH, O=ikego, CN=vpn.example.org", the
// RDNs in the order of the DER encoding (not reversed as in RFC 4514). The
// attribute names and string types below are those strongSwan 5.9.8 knows
// (checked against `pki --self --dn` and `pki --print` of Debian's
// strongswan-pki 5.9.8: "SN" is the surname there, "serialNumber" the serial
// number, "S", "title" and "role" are not accepted).

// dnAttr describes one attribute type that the string form names.
type dnAttr struct {
	names []string // names accepted when parsing; names[0] is printed
	oid   asn1.ObjectIdentifier
	ia5   bool // encoded as IA5String; otherwise PrintableString or UTF8String
	der   []byte
}

var dnAttrs = []*dnAttr{
	{names: []string{"ND"}, oid: asn1.ObjectIdentifier{0, 2, 262, 1, 10, 7, 20}},
	{names: []string{"UID"}, oid: asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}},
	{names: []string{"DC"}, oid: asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}},
	{names: []string{"CN"}, oid: asn1.ObjectIdentifier{2, 5, 4, 3}},
	{names: []string{"SN"}, oid: asn1.ObjectIdentifier{2, 5, 4, 4}},
	{names: []string{"serialNumber"}, oid: asn1.ObjectIdentifier{2, 5, 4, 5}},
	{names: []string{"C"}, oid: asn1.ObjectIdentifier{2, 5, 4, 6}},
	{names: []string{"L"}, oid: asn1.ObjectIdentifier{2, 5, 4, 7}},
	{names: []string{"ST"}, oid: asn1.ObjectIdentifier{2, 5, 4, 8}},
	{names: []string{"STREET"}, oid: asn1.ObjectIdentifier{2, 5, 4, 9}},
	{names: []string{"O"}, oid: asn1.ObjectIdentifier{2, 5, 4, 10}},
	{names: []string{"OU"}, oid: asn1.ObjectIdentifier{2, 5, 4, 11}},
	{names: []string{"T"}, oid: asn1.ObjectIdentifier{2, 5, 4, 12}},
	{names: []string{"D"}, oid: asn1.ObjectIdentifier{2, 5, 4, 13}},
	{names: []string{"postalAddress"}, oid: asn1.ObjectIdentifier{2, 5, 4, 16}},
	{names: []string{"postalCode"}, oid: asn1.ObjectIdentifier{2, 5, 4, 17}},
	{names: []string{"N"}, oid: asn1.ObjectIdentifier{2, 5, 4, 41}},
	{names: []string{"G"}, oid: asn1.ObjectIdentifier{2, 5, 4, 42}},
	{names: []string{"I"}, oid: asn1.ObjectIdentifier{2, 5, 4, 43}},
	{names: []string{"ID"}, oid: asn1.ObjectIdentifier{2, 5, 4, 45}},
	{names: []string{"dnQualifier"}, oid: asn1.ObjectIdentifier{2, 5, 4, 46}},
	{names: []string{"dmdName"}, oid: asn1.ObjectIdentifier{2, 5, 4, 54}},
	{names: []string{"pseudonym"}, oid: asn1.ObjectIdentifier{2, 5, 4, 65}},
	{names: []string{"employeeNumber", "EN"}, oid: asn1.ObjectIdentifier{2, 16, 840, 1, 113730, 3, 1, 3}},
	{names: []string{"E", "Email", "emailAddress"}, oid: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}, ia5: true},
	{names: []string{"unstructuredName", "UN"}, oid: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 2}, ia5: true},
	{names: []string{"unstructuredAddress", "UA"}, oid: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 8}},
	{names: []string{"TCGID"}, oid: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 1201, 1, 1, 2, 2, 75}},
}

// oidEmailAddress is the PKCS#9 emailAddress attribute, compared ignoring
// case like strongSwan does.
var oidEmailAddress = oidContents(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1})

func init() {
	for _, a := range dnAttrs {
		a.der = oidContents(a.oid)
	}
}

// oidContents returns the content octets of the DER encoding of oid.
func oidContents(oid asn1.ObjectIdentifier) []byte {
	der, err := asn1.Marshal(oid)
	if err != nil {
		panic(err) // only called on the constant table
	}
	return der[2:]
}

func dnAttrByName(name string) *dnAttr {
	for _, a := range dnAttrs {
		for _, n := range a.names {
			if strings.EqualFold(n, name) {
				return a
			}
		}
	}
	return nil
}

func dnAttrByOID(oid []byte) *dnAttr {
	for _, a := range dnAttrs {
		if bytes.Equal(a.der, oid) {
			return a
		}
	}
	return nil
}

// rdn is one AttributeTypeAndValue of a DN, the RDN SETs flattened in
// order as strongSwan's RDN enumerator does.
type rdn struct {
	oid   []byte     // content octets of the OBJECT IDENTIFIER
	tag   cbasn1.Tag // tag of the value
	value []byte     // content octets of the value
}

var errMalformedDN = errors.New("pki: malformed ID_DER_ASN1_DN")

// parseDNDER parses the DER of an RDNSequence. It rejects trailing bytes,
// empty RDN SETs and elements that are not TLVs.
func parseDNDER(der []byte) ([]rdn, error) {
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, errMalformedDN
	}
	var out []rdn
	for !seq.Empty() {
		var set cryptobyte.String
		if !seq.ReadASN1(&set, cbasn1.SET) || set.Empty() {
			return nil, errMalformedDN
		}
		for !set.Empty() {
			var atv, oid, val cryptobyte.String
			var tag cbasn1.Tag
			if !set.ReadASN1(&atv, cbasn1.SEQUENCE) ||
				!atv.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) || len(oid) == 0 ||
				!atv.ReadAnyASN1(&val, &tag) || !atv.Empty() {
				return nil, errMalformedDN
			}
			out = append(out, rdn{oid: oid, tag: tag, value: val})
		}
	}
	return out, nil
}

// printableStringChars is the PrintableString alphabet (X.680, Section
// 41.4).
const printableStringChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?"

func isPrintableString(s string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(printableStringChars, s[i]) < 0 {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// maxDNAttrs bounds the RDNs of a parsed DN string.
const maxDNAttrs = 64

// ParseDN returns the DER encoding of the DN in strongSwan's string form, e.g.
// "C=CH, O=ikego, CN=vpn.example.org" or "/C=CH/O=ikego/CN=x". It follows
// strongSwan's parser: RDNs are separated by ',' (by '/' if the string starts
// with '/'), attribute names are matched ignoring case, spaces around names
// and before values are skipped, trailing spaces of values are dropped, and
// a value may be empty or contain '=' ("CN=a=b"). There is no escaping: a value
// cannot contain the separator. Each attribute becomes its own RDN, with a
// PrintableString value if the value fits that alphabet, otherwise UTF8String
// (IA5String for E and unstructuredName). Unlike strongSwan, which then
// treats the string as a KEY_ID, ParseDN returns an error for an unknown
// attribute name or a string that is not a DN.
func ParseDN(s string) ([]byte, error) {
	if !utf8.ValidString(s) {
		return nil, errors.New("pki: DN is not valid UTF-8")
	}
	if strings.IndexByte(s, 0) >= 0 {
		return nil, errors.New("pki: DN contains a NUL byte")
	}
	var b cryptobyte.Builder
	count := 0
	var bad error
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		sep := byte(0)
		i := 0
		for {
			// Search the attribute name.
			for i < len(s) && (s[i] == ' ' || (sep == 0 && s[i] == '/')) {
				if s[i] == '/' {
					sep = '/'
				}
				i++
			}
			if i == len(s) {
				return
			}
			if sep == 0 {
				sep = ','
			}
			start := i
			for i < len(s) && s[i] != ' ' && s[i] != '=' {
				i++
			}
			if i == len(s) {
				bad = fmt.Errorf("pki: DN %q: attribute %q has no value", s, s[start:])
				return
			}
			name := s[start:i]
			attr := dnAttrByName(name)
			if attr == nil {
				bad = fmt.Errorf("pki: DN %q: unknown attribute %q", s, name)
				return
			}
			// Search the value: skip spaces and '='.
			for i < len(s) && (s[i] == ' ' || s[i] == '=') {
				i++
			}
			start = i
			for i < len(s) && s[i] != sep {
				i++
			}
			value := strings.TrimRight(s[start:i], " ")
			if i < len(s) {
				i++ // the separator
			}
			if count++; count > maxDNAttrs {
				bad = fmt.Errorf("pki: DN %q: more than %d attributes", s, maxDNAttrs)
				return
			}
			tag := cbasn1.Tag(asn1.TagUTF8String)
			switch {
			case attr.ia5:
				if !isASCII(value) {
					bad = fmt.Errorf("pki: DN %q: %s must be ASCII", s, name)
					return
				}
				tag = asn1.TagIA5String
			case isPrintableString(value):
				tag = asn1.TagPrintableString
			}
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) {
						b.AddBytes(attr.der)
					})
					b.AddASN1(tag, func(b *cryptobyte.Builder) {
						b.AddBytes([]byte(value))
					})
				})
			})
			if i == len(s) {
				return
			}
		}
	})
	if bad != nil {
		return nil, bad
	}
	if count == 0 {
		return nil, fmt.Errorf("pki: DN %q has no attributes", s)
	}
	return b.Bytes()
}

// formatDN returns the strongSwan string form of a DER DN, or ok false if
// the DN does not parse, names an attribute the string form cannot name, or
// has a value that does not survive ParseDN (separators, non-printable
// characters, surrounding spaces).
func formatDN(der []byte) (string, bool) {
	rdns, err := parseDNDER(der)
	if err != nil || len(rdns) == 0 {
		return "", false
	}
	var sb strings.Builder
	for i, r := range rdns {
		attr := dnAttrByOID(r.oid)
		if attr == nil {
			return "", false
		}
		switch r.tag {
		case asn1.TagPrintableString, asn1.TagUTF8String, asn1.TagIA5String, asn1.TagT61String:
		default:
			return "", false
		}
		v := string(r.value)
		if !utf8.ValidString(v) || strings.IndexByte(v, ',') >= 0 ||
			strings.TrimSpace(v) != v || strings.HasPrefix(v, "=") {
			return "", false
		}
		for _, c := range v {
			if !unicode.IsPrint(c) {
				return "", false
			}
		}
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(attr.names[0])
		sb.WriteByte('=')
		sb.WriteString(v)
	}
	return sb.String(), true
}

// rdnValueEqual compares two RDN values with strongSwan's rules: ignoring
// ASCII case if both are PrintableStrings or both IA5String e-mail
// addresses, byte for byte otherwise.
func rdnValueEqual(t, o rdn) bool {
	if len(t.value) != len(o.value) {
		return false
	}
	if t.tag == o.tag && (t.tag == asn1.TagPrintableString ||
		(t.tag == asn1.TagIA5String && bytes.Equal(t.oid, oidEmailAddress))) {
		return asciiEqualFold(t.value, o.value)
	}
	return bytes.Equal(t.value, o.value)
}

func isWildcard(r rdn) bool { return len(r.value) == 1 && r.value[0] == '*' }

// compareDN compares the DN t against o. With match false it tests equality
// (strongSwan's equals_dn: same DER length, same RDNs in the same order).
// With match true, o is a pattern whose "*" values match any value of the
// same attribute, and mode says whether the RDNs may appear in another order
// or t may have more of them; wc counts the RDNs matched by wildcards.
func compareDN(t, o []byte, match bool, mode RDNMatching) (ok bool, wc int) {
	if !match && len(t) != len(o) {
		return false, 0
	}
	if bytes.Equal(t, o) {
		return true, 0
	}
	trdn, err := parseDNDER(t)
	if err != nil {
		return false, 0
	}
	ordn, err := parseDNDER(o)
	if err != nil {
		return false, 0
	}
	if !match || mode == RDNStrict {
		if len(trdn) != len(ordn) {
			return false, 0
		}
		for i := range trdn {
			if !bytes.Equal(trdn[i].oid, ordn[i].oid) {
				return false, 0
			}
			if match && isWildcard(ordn[i]) {
				wc++
				continue
			}
			if !rdnValueEqual(trdn[i], ordn[i]) {
				return false, 0
			}
		}
		return true, wc
	}
	// Reordered and relaxed: every pattern RDN needs its own RDN of the
	// same type in t. Literal values are placed first so that a wildcard
	// never takes the RDN a literal needs.
	if len(trdn) < len(ordn) || (mode == RDNReordered && len(trdn) != len(ordn)) {
		return false, 0
	}
	used := make([]bool, len(trdn))
	for _, wild := range []bool{false, true} {
		for _, p := range ordn {
			if isWildcard(p) != wild {
				continue
			}
			found := false
			for j, c := range trdn {
				if used[j] || !bytes.Equal(c.oid, p.oid) {
					continue
				}
				if wild || rdnValueEqual(c, p) {
					used[j], found = true, true
					break
				}
			}
			if !found {
				return false, 0
			}
			if wild {
				wc++
			}
		}
	}
	// Relaxed: RDNs of t that the pattern does not name count as wildcards.
	wc += len(trdn) - len(ordn)
	return true, wc
}

func asciiEqualFold(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
