package l2tp

import (
	"errors"
	"strconv"

	"golang.org/x/crypto/cryptobyte"
)

// Message errors.
var (
	// ErrNoMessageType reports a control message whose first AVP is not a
	// two-octet Message Type in the clear (RFC 2661, Section 4.4.1).
	ErrNoMessageType = errors.New("l2tp: first AVP is not a valid Message Type")
	// ErrDuplicateAVP reports an IETF AVP that appears twice; only the
	// Random Vector may repeat (RFC 2661, Section 4.3).
	ErrDuplicateAVP = errors.New("l2tp: duplicate AVP")
	// ErrMissingAVP reports a message without an AVP its type requires.
	ErrMissingAVP = errors.New("l2tp: required AVP missing")
	// ErrBadAVP reports an AVP value of the wrong size or out of range.
	ErrBadAVP = errors.New("l2tp: bad AVP value")
)

// Message is the body of a control message: its AVPs, the Message Type
// first. A ZLB acknowledgment has no body and is not a Message.
type Message struct {
	Type MessageType
	// AVPs holds every AVP in order, the Message Type AVP included, with
	// hidden values revealed.
	AVPs []AVP
}

// ParseMessage parses the AVPs of a control message, revealing hidden ones
// with secret and the most recent preceding Random Vector (RFC 2661,
// Section 4.3). Values of AVPs that were not hidden alias b.
func ParseMessage(b []byte, secret []byte) (Message, error) {
	var m Message
	s := cryptobyte.String(b)
	var seen [len(avpNames)]bool
	var rv []byte
	for !s.Empty() {
		a, err := parseAVP(&s)
		if err != nil {
			return Message{}, err
		}
		if len(m.AVPs) == 0 {
			// RFC 2661, Section 4.4.1: Message Type is first, never hidden.
			if a.VendorID != 0 || a.Type != AVPMessageType || a.Hidden || a.Reserved {
				return Message{}, ErrNoMessageType
			}
			v, ok := a.Uint16()
			if !ok {
				return Message{}, ErrNoMessageType
			}
			m.Type = MessageType(v)
		}
		if a.Hidden {
			if len(secret) == 0 || rv == nil {
				return Message{}, ErrHidden
			}
			v, err := RevealValue(a.Type, a.Value, secret, rv)
			if err != nil {
				return Message{}, err
			}
			a.Value = v
		}
		if a.VendorID == 0 && int(a.Type) < len(seen) {
			if a.Type == AVPRandomVector {
				rv = a.Value
			} else if seen[a.Type] {
				return Message{}, ErrDuplicateAVP
			}
			seen[a.Type] = true
		}
		m.AVPs = append(m.AVPs, a)
	}
	if len(m.AVPs) == 0 {
		return Message{}, ErrNoMessageType
	}
	return m, nil
}

// Append appends the AVPs of m to b. AVPs with Hidden set are hidden with
// secret and the most recent preceding Random Vector AVP in m.AVPs, without
// pad. m.Type is not consulted: the first AVP must carry it.
func (m *Message) Append(b []byte, secret []byte) ([]byte, error) {
	var rv []byte
	for i := range m.AVPs {
		a := &m.AVPs[i]
		v := a.Value
		if a.Hidden {
			if len(secret) == 0 || rv == nil {
				return nil, ErrHidden
			}
			var err error
			if v, err = HideValue(a.Type, v, secret, rv, nil); err != nil {
				return nil, err
			}
		}
		if len(v) > maxAVPValueLen {
			return nil, ErrAVPTooLong
		}
		if a.VendorID == 0 && a.Type == AVPRandomVector {
			rv = a.Value
		}
		b = appendAVP(b, a, v)
	}
	return b, nil
}

// Get returns the first IETF AVP of type t.
func (m *Message) Get(t AVPType) (*AVP, bool) {
	for i := range m.AVPs {
		if m.AVPs[i].VendorID == 0 && m.AVPs[i].Type == t {
			return &m.AVPs[i], true
		}
	}
	return nil, false
}

// Uint16 returns the value of a two-octet IETF AVP of type t.
func (m *Message) Uint16(t AVPType) (uint16, error) {
	a, ok := m.Get(t)
	if !ok {
		return 0, ErrMissingAVP
	}
	v, ok := a.Uint16()
	if !ok {
		return 0, ErrBadAVP
	}
	return v, nil
}

// unknownMandatory returns the first AVP that this package does not
// recognize and that has the M bit set (RFC 2661, Section 4.1).
func (m *Message) unknownMandatory() (*AVP, bool) {
	for i := range m.AVPs {
		if a := &m.AVPs[i]; a.Mandatory && !a.recognized() {
			return a, true
		}
	}
	return nil, false
}

// Add appends an IETF AVP with the M bit set.
func (m *Message) Add(t AVPType, v []byte) {
	m.AVPs = append(m.AVPs, AVP{Mandatory: true, Type: t, Value: v})
}

// AddUint16 appends a two-octet IETF AVP with the M bit set.
func (m *Message) AddUint16(t AVPType, v uint16) {
	m.Add(t, []byte{byte(v >> 8), byte(v)})
}

// AddUint32 appends a four-octet IETF AVP with the M bit set.
func (m *Message) AddUint32(t AVPType, v uint32) {
	m.Add(t, []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// NewMessage returns a Message of type t with its Message Type AVP.
func NewMessage(t MessageType) Message {
	m := Message{Type: t}
	m.AddUint16(AVPMessageType, uint16(t))
	return m
}

// ResultCode is the Result Code field of the Result Code AVP (RFC 2661,
// Section 4.4.2). Its meaning depends on the message: StopCCN or CDN.
type ResultCode uint16

// StopCCN result codes (RFC 2661, Section 4.4.2).
const (
	StopGeneral         ResultCode = 1  // general request to clear control connection
	StopError           ResultCode = 2  // general error, see the Error Code
	StopChannelExists   ResultCode = 3  // control channel already exists
	StopNotAuthorized   ResultCode = 4  // requester is not authorized
	StopVersion         ResultCode = 5  // protocol version not supported
	StopShutdown        ResultCode = 6  // requester is being shut down
	StopFSMError        ResultCode = 7  // finite state machine error
	CDNLostCarrier      ResultCode = 1  // call disconnected due to loss of carrier
	CDNError            ResultCode = 2  // general error, see the Error Code
	CDNAdministrative   ResultCode = 3  // disconnected for administrative reasons
	CDNTemporaryNoRes   ResultCode = 4  // temporary lack of facilities
	CDNPermanentNoRes   ResultCode = 5  // permanent lack of facilities
	CDNInvalidDest      ResultCode = 6  // invalid destination
	CDNNoCarrier        ResultCode = 7  // no carrier detected
	CDNBusy             ResultCode = 8  // busy signal
	CDNNoDialTone       ResultCode = 9  // no dial tone
	CDNTimeout          ResultCode = 10 // call not established in the time allotted
	CDNNoFramingSupport ResultCode = 11 // no appropriate framing detected
)

// ErrorCode is the Error Code of the Result Code AVP, given with result
// code 2 (RFC 2661, Section 4.4.2).
type ErrorCode uint16

// General error codes (RFC 2661, Section 4.4.2).
const (
	ErrCodeNone             ErrorCode = 0
	ErrCodeNoControl        ErrorCode = 1 // no control connection exists yet
	ErrCodeLength           ErrorCode = 2 // length is wrong
	ErrCodeRange            ErrorCode = 3 // field value out of range
	ErrCodeResources        ErrorCode = 4 // insufficient resources
	ErrCodeSessionID        ErrorCode = 5 // invalid Session ID
	ErrCodeVendor           ErrorCode = 6 // generic vendor-specific error
	ErrCodeTryAnother       ErrorCode = 7 // try another LNS
	ErrCodeUnknownMandatory ErrorCode = 8 // unknown mandatory AVP
)

// Result is the value of a Result Code AVP.
type Result struct {
	Code    ResultCode
	Error   ErrorCode
	Message string
}

// String formats the result for logs.
func (r Result) String() string {
	s := "result " + strconv.Itoa(int(r.Code))
	if r.Code == StopError || r.Error != 0 {
		s += " error " + strconv.Itoa(int(r.Error))
	}
	if r.Message != "" {
		s += " " + strconv.Quote(r.Message)
	}
	return s
}

// appendResult encodes r (RFC 2661, Section 4.4.2): the Error Code is sent
// when there is one or a message follows.
func appendResult(b []byte, r Result) []byte {
	b = append(b, byte(r.Code>>8), byte(r.Code))
	if r.Error != 0 || r.Message != "" {
		b = append(b, byte(r.Error>>8), byte(r.Error))
		b = append(b, r.Message...)
	}
	return b
}

// ParseResult decodes the value of a Result Code AVP.
func ParseResult(v []byte) (Result, error) {
	s := cryptobyte.String(v)
	var r Result
	var c, e uint16
	if !s.ReadUint16(&c) {
		return Result{}, ErrBadAVP
	}
	r.Code = ResultCode(c)
	if s.Empty() {
		return r, nil
	}
	if !s.ReadUint16(&e) {
		return Result{}, ErrBadAVP
	}
	r.Error = ErrorCode(e)
	r.Message = string(s)
	return r, nil
}

// AppendControl appends a whole control message: the header h (its T, L
// and S bits forced) and the AVPs of m, hidden with secret where asked.
func AppendControl(b []byte, h Header, m *Message, secret []byte) ([]byte, error) {
	h.Control = true
	start := len(b)
	b = AppendHeader(b, h, 0)
	var err error
	if m != nil {
		if b, err = m.Append(b, secret); err != nil {
			return nil, err
		}
	}
	n := len(b) - start
	if n > 0xFFFF {
		return nil, ErrAVPTooLong
	}
	b[start+2], b[start+3] = byte(n>>8), byte(n)
	return b, nil
}

// AppendData appends a data message: the header h (its T bit cleared) and
// the PPP frame.
func AppendData(b []byte, h Header, frame []byte) []byte {
	h.Control = false
	return append(AppendHeader(b, h, len(frame)), frame...)
}
