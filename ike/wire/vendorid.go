package wire

// VendorID is the Vendor ID payload (RFC 7296 Section 3.12).
type VendorID struct {
	Data []byte // typically a hash of a vendor string
}

// Type returns PayloadVendorID.
func (*VendorID) Type() PayloadType { return PayloadVendorID }

func (p *VendorID) decode(b []byte) error {
	// RFC 7296 Section 3.12: the Vendor ID, of any length.
	*p = VendorID{Data: clip(b)}
	return nil
}

func (p *VendorID) appendTo(b []byte) []byte { return append(b, p.Data...) }
