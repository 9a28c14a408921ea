package pki

import (
	"bytes"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

var oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}

// directoryName is the GeneralName choice [4] EXPLICIT Name (RFC 5280,
// Section 4.2.1.6).
var tagDirectoryName = cbasn1.Tag(4).ContextSpecific().Constructed()

// CertificateIdentities returns the identities a certificate stands for, as
// strongSwan sees them: the subject DN, then the subjectAltNames: dNSName as
// ID_FQDN, rfc822Name as ID_RFC822_ADDR, iPAddress as ID_IPV4_ADDR or
// ID_IPV6_ADDR, directoryName as ID_DER_ASN1_DN. URIs and other names are
// left out. An empty subject is left out.
func CertificateIdentities(cert *x509.Certificate) []Identity {
	var ids []Identity
	if _, err := parseDNDER(cert.RawSubject); err == nil && !isEmptyDN(cert.RawSubject) {
		ids = append(ids, Identity{Type: IDTypeDERASN1DN, Data: cert.RawSubject})
	}
	for _, n := range cert.DNSNames {
		ids = append(ids, Identity{Type: IDTypeFQDN, Data: []byte(n)})
	}
	for _, n := range cert.EmailAddresses {
		ids = append(ids, Identity{Type: IDTypeRFC822Addr, Data: []byte(n)})
	}
	for _, ip := range cert.IPAddresses {
		// crypto/x509 keeps the 4 or 16 octets as encoded.
		switch len(ip) {
		case 4:
			ids = append(ids, Identity{Type: IDTypeIPv4Addr, Data: []byte(ip)})
		case 16:
			ids = append(ids, Identity{Type: IDTypeIPv6Addr, Data: []byte(ip)})
		}
	}
	ids = append(ids, directoryNames(cert)...)
	return ids
}

func isEmptyDN(der []byte) bool {
	rdns, err := parseDNDER(der)
	return err == nil && len(rdns) == 0
}

// directoryNames returns the directoryName subjectAltNames, which
// crypto/x509 does not expose.
func directoryNames(cert *x509.Certificate) []Identity {
	var ids []Identity
	for _, ext := range cert.Extensions {
		if !ext.Id.Equal(oidSubjectAltName) {
			continue
		}
		in := cryptobyte.String(ext.Value)
		var names cryptobyte.String
		if !in.ReadASN1(&names, cbasn1.SEQUENCE) {
			return nil
		}
		for !names.Empty() {
			var gn cryptobyte.String
			var tag cbasn1.Tag
			if !names.ReadAnyASN1(&gn, &tag) {
				return ids
			}
			if tag != tagDirectoryName {
				continue
			}
			// The content of [4] EXPLICIT is the Name TLV itself.
			if _, err := parseDNDER(gn); err == nil {
				ids = append(ids, Identity{Type: IDTypeDERASN1DN, Data: bytes.Clone(gn)})
			}
		}
	}
	return ids
}

// MatchCertificate reports whether cert stands for id, with strongSwan's
// default DN matching (see MatchCertificateLevel). id may be a configured
// pattern with wildcards; check a peer's ID payload with HasWildcards first
// if it must be literal.
func MatchCertificate(id Identity, cert *x509.Certificate) bool {
	return MatchCertificateLevel(id, cert, RDNStrict) > MatchNone
}

// MatchCertificateLevel returns the best level at which one of cert's
// identities (CertificateIdentities) matches the pattern id, as strongSwan's
// X.509 has_subject does. An ID_KEY_ID matches perfectly if it equals the
// certificate's subjectKeyIdentifier, the SHA-1 of its subjectPublicKey or of
// its SubjectPublicKeyInfo, the SHA-1 of the whole certificate, or its serial
// number. A pattern of IDTypeAny matches at MatchAny.
func MatchCertificateLevel(id Identity, cert *x509.Certificate, mode RDNMatching) MatchLevel {
	if id.Type == IDTypeKeyID && matchKeyID(id.Data, cert) {
		return MatchPerfect
	}
	best := MatchNone
	if id.Type == IDTypeAny {
		best = MatchAny
	}
	for _, c := range CertificateIdentities(cert) {
		best = max(best, c.Match(id, mode))
	}
	return best
}

func matchKeyID(kid []byte, cert *x509.Certificate) bool {
	if len(kid) == 0 {
		return false
	}
	if len(cert.SubjectKeyId) > 0 && bytes.Equal(cert.SubjectKeyId, kid) {
		return true
	}
	if len(kid) == sha1.Size {
		h := sha1.Sum(cert.Raw)
		if bytes.Equal(h[:], kid) {
			return true
		}
		h = sha1.Sum(cert.RawSubjectPublicKeyInfo)
		if bytes.Equal(h[:], kid) {
			return true
		}
		if bits, err := subjectPublicKeyBits(cert.RawSubjectPublicKeyInfo); err == nil {
			h = sha1.Sum(bits)
			if bytes.Equal(h[:], kid) {
				return true
			}
		}
	}
	return cert.SerialNumber != nil && bytes.Equal(cert.SerialNumber.Bytes(), kid)
}
