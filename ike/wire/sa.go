package wire

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// SA is the Security Association payload (RFC 7296 Section 3.3): the
// proposals of a request, or the one chosen proposal of a response.
type SA struct {
	Proposals []Proposal
}

// Proposal is a proposal substructure (RFC 7296 Section 3.3.1).
type Proposal struct {
	// Number is the proposal number: the first proposal of a request is
	// 1 and each following one is one more; a response carries the
	// number of the proposal it accepted. Marshal sends a zero Number as
	// the proposal's position in the list, counting from 1.
	Number uint8
	// Protocol is IKE, AH or ESP.
	Protocol ProtocolID
	// SPI is empty when negotiating an IKE SA in IKE_SA_INIT, 8 octets
	// when rekeying an IKE SA and 4 for AH and ESP.
	SPI []byte
	// Transforms are the proposal's algorithms; several of the same type
	// are alternatives (RFC 7296 Section 3.3.6).
	Transforms []Transform
}

// Transform is a transform substructure (RFC 7296 Section 3.3.2).
type Transform struct {
	Type TransformType
	// ID is the algorithm: an EncrID, PRFID, IntegID, DHGroup or ESNID
	// depending on Type.
	ID         uint16
	Attributes []Attribute
}

// Attribute is a transform attribute (RFC 7296 Section 3.3.5). It is in TV
// format, with a 16-bit Value and no Data, or in TLV format, with Data.
type Attribute struct {
	Type  AttributeType // 15 bits
	TV    bool
	Value uint16 // TV format
	Data  []byte // TLV format
}

// KeyLength returns the Key Length attribute of t, if it has one.
func (t *Transform) KeyLength() (bits uint16, ok bool) {
	for _, a := range t.Attributes {
		if a.Type == AttributeKeyLength && a.TV {
			return a.Value, true
		}
	}
	return 0, false
}

// Type returns PayloadSA.
func (*SA) Type() PayloadType { return PayloadSA }

// Substructure header values, RFC 7296 Sections 3.3.1 and 3.3.2: "Last
// Substruc" is 0 for the last one and 2 (proposal) or 3 (transform)
// otherwise, inherited from IKEv1's payload types.
const (
	lastSubstruc      = 0
	moreProposals     = 2
	moreTransforms    = 3
	proposalHeaderLen = 8
	transformHdrLen   = 8
	attributeHdrLen   = 4
	attributeTVBit    = 0x8000
)

func (p *SA) decode(b []byte) error {
	*p = SA{}
	s := cryptobyte.String(b)
	// RFC 7296 Section 3.3: one or more proposal substructures.
	if s.Empty() {
		return errSyntax("SA payload without proposals")
	}
	for n := 1; !s.Empty(); n++ {
		var last, reserved uint8
		var length uint16
		if !s.ReadUint8(&last) || !s.ReadUint8(&reserved) || !s.ReadUint16(&length) {
			return errTruncated("proposal header")
		}
		// The last proposal is known from the SA's length (RFC 7296
		// Section 3.3.1), so Last Substruc is only checked for its
		// two legal values.
		if last != lastSubstruc && last != moreProposals {
			return errSyntax("proposal %d: last substruc %d", n, last)
		}
		if length < proposalHeaderLen {
			return errSyntax("proposal %d: length %d", n, length)
		}
		var body cryptobyte.String
		if !s.ReadBytes((*[]byte)(&body), int(length)-4) {
			return newError(ErrTruncated, "proposal %d: length %d, %d octets left", n, length, len(s)+4)
		}
		var prop Proposal
		if err := prop.decode(body, n); err != nil {
			return err
		}
		p.Proposals = append(p.Proposals, prop)
	}
	// RFC 7296 Section 3.3.1: the first proposal is 1 and each next one
	// is one more. A response holds the single accepted proposal, which
	// keeps its number.
	if len(p.Proposals) > 1 {
		for i, prop := range p.Proposals {
			if int(prop.Number) != i+1 {
				return errSyntax("proposal %d has number %d", i+1, prop.Number)
			}
		}
	} else if p.Proposals[0].Number == 0 {
		return errSyntax("proposal number 0")
	}
	return nil
}

// decode parses a proposal after its Last Substruc, RESERVED and Proposal
// Length fields.
func (prop *Proposal) decode(s cryptobyte.String, n int) error {
	var num, proto, spiSize, numTransforms uint8
	if !s.ReadUint8(&num) || !s.ReadUint8(&proto) || !s.ReadUint8(&spiSize) || !s.ReadUint8(&numTransforms) {
		return errTruncated("proposal header")
	}
	prop.Number = num
	prop.Protocol = ProtocolID(proto)
	// RFC 7296 Section 3.3.1: SPI Size is zero for an initial IKE SA
	// negotiation, 8 when rekeying an IKE SA, 4 for AH and ESP. Other
	// protocols are not a syntax error; they are not chosen.
	switch prop.Protocol {
	case ProtocolIKE:
		if spiSize != 0 && spiSize != 8 {
			return errSyntax("proposal %d: IKE SPI size %d", n, spiSize)
		}
	case ProtocolAH, ProtocolESP:
		if spiSize != 4 {
			return errSyntax("proposal %d: %s SPI size %d", n, prop.Protocol, spiSize)
		}
	}
	var spi []byte
	if !s.ReadBytes(&spi, int(spiSize)) {
		return newError(ErrTruncated, "proposal %d: SPI size %d, %d octets left", n, spiSize, len(s))
	}
	if spiSize > 0 {
		prop.SPI = clip(spi)
	}
	if numTransforms > 0 {
		prop.Transforms = make([]Transform, 0, numTransforms)
	}
	for i := 1; i <= int(numTransforms); i++ {
		var last, reserved uint8
		var length uint16
		if !s.ReadUint8(&last) || !s.ReadUint8(&reserved) || !s.ReadUint16(&length) {
			return newError(ErrTruncated, "proposal %d: %d transforms, only %d present", n, numTransforms, i-1)
		}
		if last != lastSubstruc && last != moreTransforms {
			return errSyntax("proposal %d transform %d: last substruc %d", n, i, last)
		}
		if length < transformHdrLen {
			return errSyntax("proposal %d transform %d: length %d", n, i, length)
		}
		var body cryptobyte.String
		if !s.ReadBytes((*[]byte)(&body), int(length)-4) {
			return newError(ErrTruncated, "proposal %d transform %d: length %d, %d octets left", n, i, length, len(s)+4)
		}
		var t Transform
		if err := t.decode(body); err != nil {
			return withContext(err, "proposal %d transform %d", n, i)
		}
		prop.Transforms = append(prop.Transforms, t)
	}
	// RFC 7296 Section 3.3.1: Num Transforms counts the transforms that
	// fill the proposal.
	if !s.Empty() {
		return errSyntax("proposal %d: %d octets after %d transforms", n, len(s), numTransforms)
	}
	return nil
}

// decode parses a transform after its Last Substruc, RESERVED and Transform
// Length fields (RFC 7296 Section 3.3.2).
func (t *Transform) decode(s cryptobyte.String) error {
	var typ, reserved uint8
	if !s.ReadUint8(&typ) || !s.ReadUint8(&reserved) || !s.ReadUint16(&t.ID) {
		return errTruncated("transform")
	}
	t.Type = TransformType(typ)
	for !s.Empty() {
		// RFC 7296 Section 3.3.5: AF (1 bit), Attribute Type (15
		// bits), then the value (TV) or its length and the value (TLV).
		var typeField, lv uint16
		if !s.ReadUint16(&typeField) || !s.ReadUint16(&lv) {
			return errTruncated("attribute")
		}
		a := Attribute{Type: AttributeType(typeField &^ attributeTVBit), TV: typeField&attributeTVBit != 0}
		if a.TV {
			a.Value = lv
		} else {
			var data []byte
			if !s.ReadBytes(&data, int(lv)) {
				return newError(ErrTruncated, "attribute %d: length %d, %d octets left", a.Type, lv, len(s))
			}
			a.Data = clip(data)
		}
		// RFC 7296 Section 3.3.5: Key Length is TV only. A repeated
		// attribute would be ambiguous.
		if a.Type == AttributeKeyLength && !a.TV {
			return errSyntax("key length attribute in TLV format")
		}
		for _, b := range t.Attributes {
			if b.Type == a.Type {
				return errSyntax("duplicate attribute %s", a.Type)
			}
		}
		t.Attributes = append(t.Attributes, a)
	}
	return nil
}

func (p *SA) appendTo(b []byte) []byte {
	for i := range p.Proposals {
		prop := &p.Proposals[i]
		start := len(b)
		last := byte(moreProposals)
		if i == len(p.Proposals)-1 {
			last = lastSubstruc
		}
		num := prop.Number
		if num == 0 {
			num = uint8(i + 1)
		}
		b = append(b, last, 0, 0, 0, num, byte(prop.Protocol), byte(len(prop.SPI)), byte(len(prop.Transforms)))
		b = append(b, prop.SPI...)
		for j := range prop.Transforms {
			t := &prop.Transforms[j]
			tstart := len(b)
			last := byte(moreTransforms)
			if j == len(prop.Transforms)-1 {
				last = lastSubstruc
			}
			b = append(b, last, 0, 0, 0, byte(t.Type), 0)
			b = binary.BigEndian.AppendUint16(b, t.ID)
			for _, a := range t.Attributes {
				typeField := uint16(a.Type) &^ attributeTVBit
				if a.TV {
					b = binary.BigEndian.AppendUint16(b, typeField|attributeTVBit)
					b = binary.BigEndian.AppendUint16(b, a.Value)
				} else {
					b = binary.BigEndian.AppendUint16(b, typeField)
					b = binary.BigEndian.AppendUint16(b, uint16(len(a.Data)))
					b = append(b, a.Data...)
				}
			}
			binary.BigEndian.PutUint16(b[tstart+2:], uint16(len(b)-tstart))
		}
		binary.BigEndian.PutUint16(b[start+2:], uint16(len(b)-start))
	}
	return b
}

func (p *SA) check() error {
	if len(p.Proposals) > 255 {
		return fmt.Errorf("wire: SA with %d proposals", len(p.Proposals))
	}
	for i := range p.Proposals {
		prop := &p.Proposals[i]
		if len(p.Proposals) > 1 && prop.Number != 0 && int(prop.Number) != i+1 {
			return fmt.Errorf("wire: proposal %d numbered %d", i+1, prop.Number)
		}
		if len(prop.SPI) > 255 || len(prop.Transforms) > 255 {
			return fmt.Errorf("wire: proposal %d with an SPI of %d octets and %d transforms", i+1, len(prop.SPI), len(prop.Transforms))
		}
		for j := range prop.Transforms {
			for _, a := range prop.Transforms[j].Attributes {
				if len(a.Data) > 0xffff-transformHdrLen-attributeHdrLen {
					return fmt.Errorf("wire: attribute %s of %d octets", a.Type, len(a.Data))
				}
			}
		}
	}
	return nil
}
