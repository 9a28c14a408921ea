package wire

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// V1SA is the IKEv1 Security Association payload (RFC 2408 Section 3.4)
// with the IPsec DOI situation (RFC 2407 Section 4.6.1).
type V1SA struct {
	DOI V1DOI
	// Situation is SIT_IDENTITY_ONLY in the IPsec DOI: the labeled
	// domain data of SIT_SECRECY and SIT_INTEGRITY is not supported.
	Situation uint32
	// Proposals lists the proposal payloads in order. Consecutive
	// proposals with the same Number are one proposal with several
	// protocols, such as AH and ESP together (RFC 2408 Section 4.2).
	Proposals []V1Proposal

	raw []byte
}

// V1Proposal is a Proposal payload (RFC 2408 Section 3.5).
type V1Proposal struct {
	Number   uint8
	Protocol V1ProtocolID
	// SPI is empty for ISAKMP in Phase 1 (or the 16-octet cookie pair),
	// and 4 octets for AH and ESP (2 for IPCOMP's CPI).
	SPI []byte
	// Transforms are the alternatives offered for the protocol; a
	// response holds the one chosen.
	Transforms []V1Transform
}

// V1Transform is a Transform payload (RFC 2408 Section 3.6).
type V1Transform struct {
	Number uint8
	// ID is V1KeyIKE for ISAKMP, a V1ESPTransformID for ESP, or the AH
	// or IPCOMP transform ID.
	ID         uint8
	Attributes []V1Attribute
}

// Attribute returns the first attribute of type t.
func (t *V1Transform) Attribute(typ V1AttrType) (V1Attribute, bool) {
	return findV1Attribute(t.Attributes, typ)
}

// Type returns V1PayloadSA.
func (*V1SA) Type() V1PayloadType { return V1PayloadSA }

// Body returns the payload body without the generic payload header: DOI,
// Situation and the proposals. This is SAi_b of RFC 2409 Section 5, over
// which HASH_I and HASH_R are computed. For a parsed payload it is the
// octets as received; otherwise it is the encoding of the fields.
func (p *V1SA) Body() []byte {
	if p.raw != nil {
		return p.raw
	}
	return p.appendTo(nil)
}

// Proposal and transform payload header: Next Payload (1), RESERVED (1),
// Payload Length (2), then Proposal #, Protocol-Id, SPI Size, # of
// Transforms (RFC 2408 Section 3.5), or Transform #, Transform-Id,
// RESERVED2 (2) (RFC 2408 Section 3.6).
const (
	v1ProposalHdrLen  = 8
	v1TransformHdrLen = 8
	v1SAHdrLen        = 8
)

func (p *V1SA) decode(b []byte) error {
	*p = V1SA{}
	s := cryptobyte.String(b)
	var doi uint32
	// RFC 2408 Section 3.4: DOI (4 octets), Situation (4 octets in the
	// IPsec DOI, RFC 2407 Section 4.6.1), then the proposals.
	if !s.ReadUint32(&doi) || !s.ReadUint32(&p.Situation) {
		return errTruncated("SA payload")
	}
	p.DOI = V1DOI(doi)
	if p.DOI == V1DOIIPsec && p.Situation != V1SitIdentityOnly {
		// RFC 2407 Section 4.6.1: the secrecy and integrity
		// situations append labeled domain data.
		return errSyntax("unsupported situation %#x", p.Situation)
	}
	if s.Empty() {
		return errSyntax("SA payload without proposals")
	}
	for n := 1; !s.Empty(); n++ {
		var next, reserved uint8
		var length uint16
		if !s.ReadUint8(&next) || !s.ReadUint8(&reserved) || !s.ReadUint16(&length) {
			return newError(ErrTruncated, "proposal %d: truncated header", n)
		}
		// The last proposal is known from the SA's length, so Next
		// Payload is only checked for its two legal values.
		if next != byte(V1PayloadNone) && next != byte(V1PayloadProposal) {
			return errSyntax("proposal %d: next payload %d", n, next)
		}
		if length < v1ProposalHdrLen {
			return errSyntax("proposal %d: length %d", n, length)
		}
		var body cryptobyte.String
		if !s.ReadBytes((*[]byte)(&body), int(length)-genericHeaderLen) {
			return newError(ErrTruncated, "proposal %d: length %d, %d octets left", n, length, len(s)+genericHeaderLen)
		}
		var prop V1Proposal
		if err := prop.decode(body, n); err != nil {
			return err
		}
		p.Proposals = append(p.Proposals, prop)
	}
	p.raw = clip(b)
	return nil
}

// decode parses a proposal after its generic header.
func (prop *V1Proposal) decode(s cryptobyte.String, n int) error {
	var num, proto, spiSize, numTransforms uint8
	if !s.ReadUint8(&num) || !s.ReadUint8(&proto) || !s.ReadUint8(&spiSize) || !s.ReadUint8(&numTransforms) {
		return newError(ErrTruncated, "proposal %d: truncated", n)
	}
	prop.Number = num
	prop.Protocol = V1ProtocolID(proto)
	var spi []byte
	if !s.ReadBytes(&spi, int(spiSize)) {
		return newError(ErrTruncated, "proposal %d: SPI size %d, %d octets left", n, spiSize, len(s))
	}
	prop.SPI = clip(spi)
	// RFC 2408 Section 3.5: at least one transform.
	if numTransforms == 0 {
		return errSyntax("proposal %d without transforms", n)
	}
	prop.Transforms = make([]V1Transform, 0, min(int(numTransforms), len(s)/v1TransformHdrLen+1))
	for i := 1; i <= int(numTransforms); i++ {
		var next, reserved uint8
		var length uint16
		if !s.ReadUint8(&next) || !s.ReadUint8(&reserved) || !s.ReadUint16(&length) {
			return newError(ErrTruncated, "proposal %d: %d transforms, only %d present", n, numTransforms, i-1)
		}
		if next != byte(V1PayloadNone) && next != byte(V1PayloadTransform) {
			return errSyntax("proposal %d transform %d: next payload %d", n, i, next)
		}
		if length < v1TransformHdrLen {
			return errSyntax("proposal %d transform %d: length %d", n, i, length)
		}
		var body cryptobyte.String
		if !s.ReadBytes((*[]byte)(&body), int(length)-genericHeaderLen) {
			return newError(ErrTruncated, "proposal %d transform %d: length %d, %d octets left", n, i, length, len(s)+genericHeaderLen)
		}
		var t V1Transform
		var reserved2 uint16
		// RFC 2408 Section 3.6: Transform #, Transform-Id,
		// RESERVED2 (2 octets, ignored), SA Attributes.
		body.ReadUint8(&t.Number)
		body.ReadUint8(&t.ID)
		body.ReadUint16(&reserved2)
		var err error
		if t.Attributes, err = readV1Attributes(body); err != nil {
			return withContext(err, "proposal %d transform %d", n, i)
		}
		prop.Transforms = append(prop.Transforms, t)
	}
	// RFC 2408 Section 3.5: # of Transforms counts the transforms that
	// fill the proposal.
	if !s.Empty() {
		return errSyntax("proposal %d: %d octets after %d transforms", n, len(s), numTransforms)
	}
	return nil
}

func (p *V1SA) appendTo(b []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(p.DOI))
	b = binary.BigEndian.AppendUint32(b, p.Situation)
	for i := range p.Proposals {
		prop := &p.Proposals[i]
		start := len(b)
		next := V1PayloadProposal
		if i == len(p.Proposals)-1 {
			next = V1PayloadNone
		}
		b = append(b, byte(next), 0, 0, 0, prop.Number, byte(prop.Protocol), byte(len(prop.SPI)), byte(len(prop.Transforms)))
		b = append(b, prop.SPI...)
		for j := range prop.Transforms {
			t := &prop.Transforms[j]
			tstart := len(b)
			next := V1PayloadTransform
			if j == len(prop.Transforms)-1 {
				next = V1PayloadNone
			}
			b = append(b, byte(next), 0, 0, 0, t.Number, t.ID, 0, 0)
			b = appendV1Attributes(b, t.Attributes)
			binary.BigEndian.PutUint16(b[tstart+2:], uint16(len(b)-tstart))
		}
		binary.BigEndian.PutUint16(b[start+2:], uint16(len(b)-start))
	}
	return b
}

func (p *V1SA) check() error {
	if len(p.Proposals) == 0 {
		return fmt.Errorf("wire: IKEv1 SA without proposals")
	}
	if p.DOI == V1DOIIPsec && p.Situation != V1SitIdentityOnly {
		return fmt.Errorf("wire: IKEv1 SA with situation %#x", p.Situation)
	}
	for i := range p.Proposals {
		prop := &p.Proposals[i]
		if len(prop.SPI) > 255 || len(prop.Transforms) == 0 || len(prop.Transforms) > 255 {
			return fmt.Errorf("wire: IKEv1 proposal %d with an SPI of %d octets and %d transforms", i+1, len(prop.SPI), len(prop.Transforms))
		}
		size := v1ProposalHdrLen + len(prop.SPI)
		for j := range prop.Transforms {
			// Each length field (transform, proposal, SA) has 16
			// bits; the SA's own limit is checked by the chain.
			if err := checkV1Attributes(prop.Transforms[j].Attributes, 0xffff-v1TransformHdrLen); err != nil {
				return err
			}
			size += v1TransformHdrLen
			for _, a := range prop.Transforms[j].Attributes {
				size += attributeHdrLen + len(a.Data)
			}
		}
		if size > 0xffff-genericHeaderLen-v1SAHdrLen {
			return fmt.Errorf("wire: IKEv1 proposal %d of %d octets", i+1, size)
		}
	}
	return nil
}
