package wire

// SK is the Encrypted and Authenticated payload (RFC 7296 Section 3.14).
// Parse leaves its contents encrypted; DecryptMessage opens it and
// EncryptMessage builds it.
type SK struct {
	// NextPayload is the type of the first payload inside, carried in
	// the SK payload's own Next Payload field.
	NextPayload PayloadType
	// Body is the Initialization Vector, the ciphertext (payloads,
	// padding and pad length) and the Integrity Checksum Data.
	Body []byte

	offset int // of the generic payload header in Message.Raw
}

// Type returns PayloadSK.
func (*SK) Type() PayloadType { return PayloadSK }

func (p *SK) decode(b []byte) error {
	p.Body = clip(b)
	return nil
}

func (p *SK) appendTo(b []byte) []byte { return append(b, p.Body...) }
