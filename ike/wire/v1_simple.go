package wire

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// V1KE is the IKEv1 Key Exchange payload (RFC 2408 Section 3.7). The group
// is not in the payload but in the negotiated SA.
type V1KE struct {
	Data []byte // the public value
}

// Type returns V1PayloadKE.
func (*V1KE) Type() V1PayloadType { return V1PayloadKE }

func (p *V1KE) decode(b []byte) error {
	*p = V1KE{Data: clip(b)}
	return nil
}

func (p *V1KE) appendTo(b []byte) []byte { return append(b, p.Data...) }

// V1Cert is the IKEv1 Certificate payload (RFC 2408 Section 3.9).
type V1Cert struct {
	Encoding V1CertEncoding
	Data     []byte
}

// Type returns V1PayloadCert.
func (*V1Cert) Type() V1PayloadType { return V1PayloadCert }

func (p *V1Cert) decode(b []byte) error {
	*p = V1Cert{}
	// RFC 2408 Section 3.9: Cert Encoding (1 octet), Certificate Data.
	if len(b) < 1 {
		return errTruncated("CERT payload")
	}
	p.Encoding = V1CertEncoding(b[0])
	p.Data = clip(b[1:])
	return nil
}

func (p *V1Cert) appendTo(b []byte) []byte {
	return append(append(b, byte(p.Encoding)), p.Data...)
}

// V1CertReq is the IKEv1 Certificate Request payload (RFC 2408 Section
// 3.10).
type V1CertReq struct {
	Encoding V1CertEncoding
	// Authority is an acceptable certificate authority, for X.509 the
	// DER-encoded distinguished name; empty for any.
	Authority []byte
}

// Type returns V1PayloadCertReq.
func (*V1CertReq) Type() V1PayloadType { return V1PayloadCertReq }

func (p *V1CertReq) decode(b []byte) error {
	*p = V1CertReq{}
	// RFC 2408 Section 3.10: Cert. Type (1 octet), Certificate
	// Authority.
	if len(b) < 1 {
		return errTruncated("CR payload")
	}
	p.Encoding = V1CertEncoding(b[0])
	p.Authority = clip(b[1:])
	return nil
}

func (p *V1CertReq) appendTo(b []byte) []byte {
	return append(append(b, byte(p.Encoding)), p.Authority...)
}

// V1Hash is the IKEv1 Hash payload (RFC 2408 Section 3.11).
type V1Hash struct {
	Data []byte // the output of the negotiated PRF
}

// Type returns V1PayloadHash.
func (*V1Hash) Type() V1PayloadType { return V1PayloadHash }

func (p *V1Hash) decode(b []byte) error {
	*p = V1Hash{Data: clip(b)}
	return nil
}

func (p *V1Hash) appendTo(b []byte) []byte { return append(b, p.Data...) }

// V1Signature is the IKEv1 Signature payload (RFC 2408 Section 3.12).
type V1Signature struct {
	Data []byte
}

// Type returns V1PayloadSignature.
func (*V1Signature) Type() V1PayloadType { return V1PayloadSignature }

func (p *V1Signature) decode(b []byte) error {
	*p = V1Signature{Data: clip(b)}
	return nil
}

func (p *V1Signature) appendTo(b []byte) []byte { return append(b, p.Data...) }

// V1Nonce is the IKEv1 Nonce payload (RFC 2408 Section 3.13).
type V1Nonce struct {
	// Data is the nonce; RFC 2409 Section 5 requires 8 to 256 octets,
	// which the caller checks.
	Data []byte
}

// Type returns V1PayloadNonce.
func (*V1Nonce) Type() V1PayloadType { return V1PayloadNonce }

func (p *V1Nonce) decode(b []byte) error {
	*p = V1Nonce{Data: clip(b)}
	return nil
}

func (p *V1Nonce) appendTo(b []byte) []byte { return append(b, p.Data...) }

// V1VendorID is the IKEv1 Vendor ID payload (RFC 2408 Section 3.16).
type V1VendorID struct {
	Data []byte // typically a hash of a vendor string
}

// Type returns V1PayloadVendorID.
func (*V1VendorID) Type() V1PayloadType { return V1PayloadVendorID }

func (p *V1VendorID) decode(b []byte) error {
	*p = V1VendorID{Data: clip(b)}
	return nil
}

func (p *V1VendorID) appendTo(b []byte) []byte { return append(b, p.Data...) }

// V1NATD is the NAT Discovery payload (RFC 3947 Section 3.2), or with
// Draft set, that of draft-ietf-ipsec-nat-t-ike-02/03 (payload type 130).
type V1NATD struct {
	Draft bool
	// Hash is HASH(CKY-I | CKY-R | IP | Port) with the negotiated hash.
	Hash []byte
}

// Type returns V1PayloadNATD, or V1PayloadNATDDraft.
func (p *V1NATD) Type() V1PayloadType {
	if p.Draft {
		return V1PayloadNATDDraft
	}
	return V1PayloadNATD
}

func (p *V1NATD) decode(b []byte) error {
	*p = V1NATD{Draft: p.Draft, Hash: clip(b)}
	return nil
}

func (p *V1NATD) appendTo(b []byte) []byte { return append(b, p.Hash...) }

// V1Fragment is an IKE fragment (payload type 132), as Cisco, Microsoft
// and strongSwan fragment IKEv1 messages after exchanging the
// FRAGMENTATION vendor ID: each fragment is the only payload of a message
// with the original cookies, exchange type and message ID but the
// Encryption flag clear, and the fragments' Data concatenated in Number
// order is the original message, header included (as strongSwan 5.9
// sends them; see testdata/v1/cert-05.hex to cert-08.hex).
type V1Fragment struct {
	ID     uint16 // the same in all fragments of a message
	Number uint8  // counting from 1
	Last   bool   // the LAST flag: this is the final fragment
	Data   []byte
}

// Type returns V1PayloadFragment.
func (*V1Fragment) Type() V1PayloadType { return V1PayloadFragment }

// v1FragmentLast is the LAST flag of a fragment payload.
const v1FragmentLast = 0x01

func (p *V1Fragment) decode(b []byte) error {
	*p = V1Fragment{}
	s := cryptobyte.String(b)
	var flags uint8
	// Fragment ID (2 octets), Fragment Number (1 octet), Flags (1
	// octet), fragment data.
	if !s.ReadUint16(&p.ID) || !s.ReadUint8(&p.Number) || !s.ReadUint8(&flags) {
		return errTruncated("FRAG payload")
	}
	if p.Number == 0 {
		return errSyntax("fragment number 0")
	}
	p.Last = flags&v1FragmentLast != 0
	p.Data = clip(s)
	return nil
}

func (p *V1Fragment) appendTo(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, p.ID)
	var flags byte
	if p.Last {
		flags = v1FragmentLast
	}
	b = append(b, p.Number, flags)
	return append(b, p.Data...)
}

func (p *V1Fragment) check() error {
	if p.Number == 0 {
		return fmt.Errorf("wire: fragment number 0")
	}
	return nil
}

// V1Unknown is a payload of a type this package does not know, kept so that
// the caller can answer INVALID-PAYLOAD-TYPE or skip it.
type V1Unknown struct {
	Kind V1PayloadType
	Body []byte // the payload without its generic header
}

// Type returns Kind.
func (p *V1Unknown) Type() V1PayloadType { return p.Kind }

func (p *V1Unknown) decode(b []byte) error {
	*p = V1Unknown{Kind: p.Kind, Body: clip(b)}
	return nil
}

func (p *V1Unknown) appendTo(b []byte) []byte { return append(b, p.Body...) }
