package l2tp

import (
	"crypto/md5"
	"errors"
	"strconv"

	"golang.org/x/crypto/cryptobyte"
)

// MessageType is the value of the Message Type AVP (RFC 2661, Section 3.2).
type MessageType uint16

// Control message types (RFC 2661, Section 3.2). Type 0 is reserved, and a
// control message without AVPs is a ZLB acknowledgment.
const (
	MsgSCCRQ   MessageType = 1  // Start-Control-Connection-Request
	MsgSCCRP   MessageType = 2  // Start-Control-Connection-Reply
	MsgSCCCN   MessageType = 3  // Start-Control-Connection-Connected
	MsgStopCCN MessageType = 4  // Stop-Control-Connection-Notification
	MsgHELLO   MessageType = 6  // Hello
	MsgOCRQ    MessageType = 7  // Outgoing-Call-Request
	MsgOCRP    MessageType = 8  // Outgoing-Call-Reply
	MsgOCCN    MessageType = 9  // Outgoing-Call-Connected
	MsgICRQ    MessageType = 10 // Incoming-Call-Request
	MsgICRP    MessageType = 11 // Incoming-Call-Reply
	MsgICCN    MessageType = 12 // Incoming-Call-Connected
	MsgCDN     MessageType = 14 // Call-Disconnect-Notify
	MsgWEN     MessageType = 15 // WAN-Error-Notify
	MsgSLI     MessageType = 16 // Set-Link-Info
)

var messageNames = [...]string{
	MsgSCCRQ: "SCCRQ", MsgSCCRP: "SCCRP", MsgSCCCN: "SCCCN", MsgStopCCN: "StopCCN",
	MsgHELLO: "HELLO", MsgOCRQ: "OCRQ", MsgOCRP: "OCRP", MsgOCCN: "OCCN",
	MsgICRQ: "ICRQ", MsgICRP: "ICRP", MsgICCN: "ICCN", MsgCDN: "CDN",
	MsgWEN: "WEN", MsgSLI: "SLI",
}

// String returns the message's abbreviation from RFC 2661, or its number.
func (t MessageType) String() string {
	if int(t) < len(messageNames) && messageNames[t] != "" {
		return messageNames[t]
	}
	return "MessageType(" + strconv.Itoa(int(t)) + ")"
}

// known reports whether RFC 2661 defines t.
func (t MessageType) known() bool {
	return int(t) < len(messageNames) && messageNames[t] != ""
}

// sessionLevel reports whether t belongs to a session rather than to the
// control connection (RFC 2661, Section 6).
func (t MessageType) sessionLevel() bool {
	return t >= MsgOCRQ && t != 13
}

// AVPType is the Attribute Type of an AVP with Vendor ID 0 (RFC 2661,
// Section 4.4).
type AVPType uint16

// Attribute types of RFC 2661, Section 4.4.
const (
	AVPMessageType            AVPType = 0
	AVPResultCode             AVPType = 1
	AVPProtocolVersion        AVPType = 2
	AVPFramingCapabilities    AVPType = 3
	AVPBearerCapabilities     AVPType = 4
	AVPTieBreaker             AVPType = 5
	AVPFirmwareRevision       AVPType = 6
	AVPHostName               AVPType = 7
	AVPVendorName             AVPType = 8
	AVPAssignedTunnelID       AVPType = 9
	AVPReceiveWindowSize      AVPType = 10
	AVPChallenge              AVPType = 11
	AVPQ931Cause              AVPType = 12
	AVPChallengeResponse      AVPType = 13
	AVPAssignedSessionID      AVPType = 14
	AVPCallSerialNumber       AVPType = 15
	AVPMinimumBPS             AVPType = 16
	AVPMaximumBPS             AVPType = 17
	AVPBearerType             AVPType = 18
	AVPFramingType            AVPType = 19
	AVPCalledNumber           AVPType = 21
	AVPCallingNumber          AVPType = 22
	AVPSubAddress             AVPType = 23
	AVPTxConnectSpeed         AVPType = 24
	AVPPhysicalChannelID      AVPType = 25
	AVPInitialReceivedLCPConf AVPType = 26
	AVPLastSentLCPConf        AVPType = 27
	AVPLastReceivedLCPConf    AVPType = 28
	AVPProxyAuthenType        AVPType = 29
	AVPProxyAuthenName        AVPType = 30
	AVPProxyAuthenChallenge   AVPType = 31
	AVPProxyAuthenID          AVPType = 32
	AVPProxyAuthenResponse    AVPType = 33
	AVPCallErrors             AVPType = 34
	AVPACCM                   AVPType = 35
	AVPRandomVector           AVPType = 36
	AVPPrivateGroupID         AVPType = 37
	AVPRxConnectSpeed         AVPType = 38
	AVPSequencingRequired     AVPType = 39
)

var avpNames = [...]string{
	"Message Type", "Result Code", "Protocol Version", "Framing Capabilities",
	"Bearer Capabilities", "Tie Breaker", "Firmware Revision", "Host Name",
	"Vendor Name", "Assigned Tunnel ID", "Receive Window Size", "Challenge",
	"Q.931 Cause Code", "Challenge Response", "Assigned Session ID",
	"Call Serial Number", "Minimum BPS", "Maximum BPS", "Bearer Type",
	"Framing Type", "", "Called Number", "Calling Number", "Sub-Address",
	"Tx Connect Speed", "Physical Channel ID", "Initial Received LCP CONFREQ",
	"Last Sent LCP CONFREQ", "Last Received LCP CONFREQ", "Proxy Authen Type",
	"Proxy Authen Name", "Proxy Authen Challenge", "Proxy Authen ID",
	"Proxy Authen Response", "Call Errors", "ACCM", "Random Vector",
	"Private Group ID", "Rx Connect Speed", "Sequencing Required",
}

// String returns the attribute's name from RFC 2661, or its number.
func (t AVPType) String() string {
	if int(t) < len(avpNames) && avpNames[t] != "" {
		return avpNames[t]
	}
	return "AVPType(" + strconv.Itoa(int(t)) + ")"
}

// known reports whether RFC 2661 defines t.
func (t AVPType) known() bool {
	return int(t) < len(avpNames) && avpNames[t] != ""
}

// AVP header bits and limits, RFC 2661, Section 4.1.
const (
	avpBitM        = 0x8000
	avpBitH        = 0x4000
	avpReserved    = 0x3C00
	avpLengthMask  = 0x03FF
	avpHeaderLen   = 6
	maxAVPValueLen = avpLengthMask - avpHeaderLen
)

// AVP errors.
var (
	// ErrShortAVP reports an AVP whose Length is below 6 or beyond the
	// message.
	ErrShortAVP = errors.New("l2tp: AVP truncated")
	// ErrHidden reports a hidden AVP that cannot be revealed: no shared
	// secret, no preceding Random Vector, or a bad hidden length.
	ErrHidden = errors.New("l2tp: cannot reveal hidden AVP")
	// ErrAVPTooLong reports a value that does not fit the 10-bit Length.
	ErrAVPTooLong = errors.New("l2tp: AVP value too long")
)

// AVP is one attribute-value pair (RFC 2661, Section 4.1).
type AVP struct {
	// Mandatory is the M bit: a receiver that does not recognize the AVP
	// must tear down the session or tunnel.
	Mandatory bool
	// Hidden is the H bit. ParseMessage reveals hidden values, and
	// Message.Append hides the values of AVPs that have it set.
	Hidden bool
	// Reserved reports reserved header bits set on receipt; such an AVP is
	// treated as unrecognized (RFC 2661, Section 4.1).
	Reserved bool
	// VendorID is zero for the IETF attributes of AVPType.
	VendorID uint16
	Type     AVPType
	// Value aliases the parsed message unless it was hidden.
	Value []byte
}

// recognized reports whether this package understands a.
func (a *AVP) recognized() bool {
	return a.VendorID == 0 && !a.Reserved && a.Type.known()
}

// Uint16 returns a two-octet value.
func (a *AVP) Uint16() (uint16, bool) {
	if len(a.Value) != 2 {
		return 0, false
	}
	return uint16(a.Value[0])<<8 | uint16(a.Value[1]), true
}

// Uint32 returns a four-octet value.
func (a *AVP) Uint32() (uint32, bool) {
	if len(a.Value) != 4 {
		return 0, false
	}
	return uint32(a.Value[0])<<24 | uint32(a.Value[1])<<16 | uint32(a.Value[2])<<8 | uint32(a.Value[3]), true
}

// HideValue returns value hidden as RFC 2661, Section 4.3 describes for an
// AVP of type t: the hidden-AVP subformat (the two-octet original length,
// the value and pad) XORed with the stream MD5(t | secret | rv), then
// MD5(secret | previous 16 ciphertext octets) for each following chunk.
// A final chunk shorter than 16 octets uses the first octets of its key.
func HideValue(t AVPType, value, secret, rv, pad []byte) ([]byte, error) {
	if len(value) > 0xFFFF || 2+len(value)+len(pad) > maxAVPValueLen {
		return nil, ErrAVPTooLong
	}
	p := make([]byte, 0, 2+len(value)+len(pad))
	p = append(p, byte(len(value)>>8), byte(len(value)))
	p = append(p, value...)
	p = append(p, pad...)
	hideXOR(p, t, secret, rv, true)
	return p, nil
}

// RevealValue undoes HideValue and returns the original value.
func RevealValue(t AVPType, hidden, secret, rv []byte) ([]byte, error) {
	if len(hidden) < 2 {
		return nil, ErrHidden
	}
	p := append([]byte(nil), hidden...)
	hideXOR(p, t, secret, rv, false)
	n := int(p[0])<<8 | int(p[1])
	if n > len(p)-2 {
		return nil, ErrHidden
	}
	return p[2 : 2+n], nil
}

// hideXOR XORs p in place with the key stream of RFC 2661, Section 4.3.
// Each chunk's key depends on the previous ciphertext chunk, which is p
// after encryption (hide) or before decryption (reveal).
func hideXOR(p []byte, t AVPType, secret, rv []byte, hide bool) {
	h := md5.New()
	h.Write([]byte{byte(t >> 8), byte(t)})
	h.Write(secret)
	h.Write(rv)
	var key, prev [md5.Size]byte
	h.Sum(key[:0])
	for i := 0; i < len(p); i += md5.Size {
		chunk := p[i:min(i+md5.Size, len(p))]
		copy(prev[:], chunk)
		for j := range chunk {
			chunk[j] ^= key[j]
		}
		if hide {
			copy(prev[:], chunk)
		}
		h.Reset()
		h.Write(secret)
		h.Write(prev[:len(chunk)])
		h.Sum(key[:0])
	}
}

// appendAVP appends one AVP with value v as it goes on the wire.
func appendAVP(b []byte, a *AVP, v []byte) []byte {
	flags := uint16(avpHeaderLen + len(v))
	if a.Mandatory {
		flags |= avpBitM
	}
	if a.Hidden {
		flags |= avpBitH
	}
	return append(append(b, byte(flags>>8), byte(flags), byte(a.VendorID>>8), byte(a.VendorID), byte(a.Type>>8), byte(a.Type)), v...)
}

// parseAVP reads one AVP from s, without revealing it.
func parseAVP(s *cryptobyte.String) (AVP, error) {
	var a AVP
	var flags, vendor, typ uint16
	if !s.ReadUint16(&flags) {
		return AVP{}, ErrShortAVP
	}
	// RFC 2661, Section 4.1: Length covers the six header octets.
	n := int(flags & avpLengthMask)
	if n < avpHeaderLen {
		return AVP{}, ErrShortAVP
	}
	var v []byte
	if !s.ReadUint16(&vendor) || !s.ReadUint16(&typ) || !s.ReadBytes(&v, n-avpHeaderLen) {
		return AVP{}, ErrShortAVP
	}
	a.Mandatory = flags&avpBitM != 0
	a.Hidden = flags&avpBitH != 0
	a.Reserved = flags&avpReserved != 0
	a.VendorID = vendor
	a.Type = AVPType(typ)
	a.Value = v
	return a, nil
}
