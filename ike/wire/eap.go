package wire

import "encoding/binary"

// EAP codes (RFC 3748 Section 4; RFC 6696 Section 5.3 for Initiate and
// Finish).
const (
	EAPRequest  = 1
	EAPResponse = 2
	EAPSuccess  = 3
	EAPFailure  = 4
	EAPInitiate = 5
	EAPFinish   = 6
)

// EAP is the Extensible Authentication payload (RFC 7296 Section 3.16): one
// EAP message, whose header is checked but whose method data is not
// interpreted.
type EAP struct {
	// Message is the whole EAP message: Code, Identifier, Length, and
	// for requests and responses Type and Type-Data.
	Message []byte
}

// Type returns PayloadEAP.
func (*EAP) Type() PayloadType { return PayloadEAP }

// Code returns the EAP code.
func (p *EAP) Code() uint8 { return p.Message[0] }

// Identifier returns the EAP identifier, which matches responses to
// requests.
func (p *EAP) Identifier() uint8 { return p.Message[1] }

// MethodType returns the EAP method type of a request or response (1 for
// Identity, 26 for MS-CHAPv2 and so on), or 0 for other codes.
func (p *EAP) MethodType() uint8 {
	if len(p.Message) < 5 {
		return 0
	}
	return p.Message[4]
}

func (p *EAP) decode(b []byte) error {
	*p = EAP{}
	// RFC 3748 Section 4: Code (1 octet), Identifier (1 octet), Length
	// (2 octets, of the whole EAP packet), Data. Requests and responses
	// have a Type (Section 4.1); Success and Failure have no data
	// (Section 4.2).
	if len(b) < 4 {
		return errTruncated("EAP message")
	}
	length := int(binary.BigEndian.Uint16(b[2:4]))
	if length != len(b) {
		if length > len(b) {
			return newError(ErrTruncated, "EAP message: length %d in %d octets", length, len(b))
		}
		return errSyntax("EAP message: length %d in %d octets", length, len(b))
	}
	switch b[0] {
	case EAPRequest, EAPResponse, EAPInitiate, EAPFinish:
		if length < 5 {
			return errSyntax("EAP code %d of length %d", b[0], length)
		}
	case EAPSuccess, EAPFailure:
		if length != 4 {
			return errSyntax("EAP code %d of length %d", b[0], length)
		}
	default:
		return errSyntax("EAP code %d", b[0])
	}
	p.Message = clip(b)
	return nil
}

func (p *EAP) appendTo(b []byte) []byte { return append(b, p.Message...) }
