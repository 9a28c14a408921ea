package wire

// Unknown is a payload of a type this package does not know (RFC 7296
// Section 2.5). Parse keeps those with the critical bit clear and fails the
// message for those with it set; Critical is therefore only meaningful when
// sending.
type Unknown struct {
	Kind     PayloadType
	Critical bool
	Body     []byte // the payload without its generic header
}

// Type returns Kind.
func (p *Unknown) Type() PayloadType { return p.Kind }

func (p *Unknown) decode(b []byte) error {
	*p = Unknown{Kind: p.Kind, Body: clip(b)}
	return nil
}

func (p *Unknown) appendTo(b []byte) []byte { return append(b, p.Body...) }
