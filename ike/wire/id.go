package wire

import "golang.org/x/crypto/cryptobyte"

// ID is the Identification payload, IDi or IDr (RFC 7296 Section 3.5).
type ID struct {
	// Responder selects IDr; otherwise the payload is IDi.
	Responder bool
	IDType    IDType
	// Data is the identity: an address, a name, a DER-encoded
	// distinguished name or an opaque key ID, depending on IDType.
	Data []byte

	raw []byte
}

// Type returns PayloadIDr or PayloadIDi.
func (p *ID) Type() PayloadType {
	if p.Responder {
		return PayloadIDr
	}
	return PayloadIDi
}

// Body returns the payload body without the generic payload header: ID
// Type, the three RESERVED octets and the identification data. This is
// RestOfInitIDPayload or RestOfRespIDPayload of RFC 7296 Section 2.15, over
// which AUTH is computed. For a parsed payload it is the octets as received
// (so it is not affected by later changes to the fields); otherwise it is
// the encoding of the fields.
func (p *ID) Body() []byte {
	if p.raw != nil {
		return p.raw
	}
	return p.appendTo(nil)
}

func (p *ID) decode(b []byte) error {
	*p = ID{Responder: p.Responder}
	s := cryptobyte.String(b)
	var typ uint8
	// RFC 7296 Section 3.5: ID Type (1 octet), RESERVED (3 octets,
	// ignored on receipt but covered by AUTH), Identification Data.
	if !s.ReadUint8(&typ) || !s.Skip(3) {
		return errTruncated("ID payload")
	}
	p.IDType = IDType(typ)
	// RFC 7296 Section 3.5: an ID_IPV4_ADDR is four octets, an
	// ID_IPV6_ADDR sixteen.
	switch {
	case p.IDType == IDIPv4Addr && len(s) != 4:
		return errSyntax("ID_IPV4_ADDR of %d octets", len(s))
	case p.IDType == IDIPv6Addr && len(s) != 16:
		return errSyntax("ID_IPV6_ADDR of %d octets", len(s))
	}
	p.Data = clip(s)
	p.raw = clip(b)
	return nil
}

func (p *ID) appendTo(b []byte) []byte {
	b = append(b, byte(p.IDType), 0, 0, 0)
	return append(b, p.Data...)
}
