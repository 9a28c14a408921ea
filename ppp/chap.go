package ppp

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// CHAP packet codes (RFC 1994, Section 4).
const (
	CHAPChallenge Code = 1
	CHAPResponse  Code = 2
	CHAPSuccess   Code = 3
	CHAPFailure   Code = 4
)

// mschapv2ResponseLen is the Value-Size of an MS-CHAPv2 Response: 16-octet
// Peer-Challenge, 8 reserved zero octets, 24-octet NT-Response and a Flags
// octet (RFC 2759, Section 4).
const mschapv2ResponseLen = 49

// CHAP errors.
var (
	// ErrCHAPMalformed reports a CHAP packet whose Value-Size overruns it
	// (RFC 1994, Section 4.1).
	ErrCHAPMalformed = errors.New("ppp: malformed CHAP packet")
	// ErrCHAPUnexpected reports a CHAP packet that answers no outstanding
	// Challenge.
	ErrCHAPUnexpected = errors.New("ppp: unexpected CHAP packet")
)

// AuthResult is the outcome of a successful CHAP exchange.
type AuthResult struct {
	// User is the Name field of the peer's Response, as received.
	User string
	// Protocol is the CHAP algorithm used.
	Protocol AuthProtocol
	// MasterKey is the MPPE MasterKey of RFC 3079, Section 3.4, derived
	// from an MS-CHAPv2 exchange; zero for CHAP-MD5.
	MasterKey [16]byte
}

// chapState is the authenticator's progress.
type chapState uint8

const (
	chapIdle chapState = iota
	chapChallenged
	chapSucceeded
	chapFailed
)

// chapServer is the authenticator side of CHAP (RFC 1994) with the MD5 and
// MS-CHAPv2 algorithms. Like the automaton it is sans-I/O.
type chapServer struct {
	alg     AuthProtocol
	name    string
	rand    io.Reader
	secret  func(user string) (string, bool)
	restart time.Duration
	maxTx   int

	state     chapState
	id        uint8
	challenge [16]byte
	packet    []byte // the Challenge, kept for retransmission
	reply     []byte // the Success or Failure, resent on a repeated Response
	tx        int
	deadline  time.Time
	result    AuthResult
	reason    string // why authentication failed

	out [][]byte
}

// start sends a new Challenge.
func (c *chapServer) start(alg AuthProtocol, now time.Time) error {
	c.alg = alg
	c.result = AuthResult{}
	c.reply = nil
	c.reason = ""
	var idb [1]byte
	if _, err := io.ReadFull(c.rand, idb[:]); err != nil {
		return err
	}
	// A fresh random Identifier and value for every Challenge (RFC 1994,
	// Section 2.3).
	c.id += 1 + idb[0]%128
	if _, err := io.ReadFull(c.rand, c.challenge[:]); err != nil {
		return err
	}
	d := make([]byte, 0, 1+len(c.challenge)+len(c.name))
	d = append(d, byte(len(c.challenge)))
	d = append(d, c.challenge[:]...)
	d = append(d, c.name...)
	c.packet = Packet{Code: CHAPChallenge, Identifier: c.id, Data: d}.Append(nil)
	c.state = chapChallenged
	c.tx = 0
	c.transmit(now)
	return nil
}

func (c *chapServer) transmit(now time.Time) {
	c.tx++
	c.deadline = now.Add(c.restart)
	c.out = append(c.out, c.packet)
}

// handleTimeout retransmits the Challenge, or gives up after maxTx.
func (c *chapServer) handleTimeout(now time.Time) {
	if c.state != chapChallenged || c.deadline.IsZero() || now.Before(c.deadline) {
		return
	}
	if c.tx >= c.maxTx {
		c.state = chapFailed
		c.deadline = time.Time{}
		c.reason = "no CHAP response"
		return
	}
	c.transmit(now)
}

func (c *chapServer) reset() {
	c.state = chapIdle
	c.deadline = time.Time{}
	c.packet, c.reply = nil, nil
	c.result = AuthResult{}
}

// handlePacket handles a CHAP packet from the peer. Only Responses are
// expected from a peer that authenticates to us.
func (c *chapServer) handlePacket(b []byte) error {
	p, err := ParsePacket(b)
	if err != nil {
		return err
	}
	if p.Code != CHAPResponse {
		return ErrCHAPUnexpected
	}
	// RFC 1994, Section 4.1: Value-Size, Value, then Name to the end.
	s := cryptobyte.String(p.Data)
	var value []byte
	var size uint8
	if !s.ReadUint8(&size) || !s.ReadBytes(&value, int(size)) {
		return ErrCHAPMalformed
	}
	name := string(s)
	if p.Identifier != c.id {
		return ErrCHAPUnexpected
	}
	switch c.state {
	case chapSucceeded, chapFailed:
		// RFC 1994, Section 4.2: our Success or Failure was lost; say it
		// again.
		if c.reply != nil {
			c.out = append(c.out, c.reply)
		}
		return nil
	case chapChallenged:
	default:
		return ErrCHAPUnexpected
	}
	c.deadline = time.Time{}
	var ok bool
	var msg string
	switch c.alg {
	case AuthMSCHAPv2:
		ok, msg = c.checkMSCHAPv2(value, name)
	default:
		ok, msg = c.checkMD5(p.Identifier, value, name)
	}
	code := CHAPFailure
	c.state = chapFailed
	if ok {
		code = CHAPSuccess
		c.state = chapSucceeded
		c.result.User = name
		c.result.Protocol = c.alg
	} else {
		c.reason = "authentication failed for " + quoteName(name)
	}
	c.reply = Packet{Code: code, Identifier: p.Identifier, Data: []byte(msg)}.Append(nil)
	c.out = append(c.out, c.reply)
	return nil
}

// checkMD5 verifies a CHAP-MD5 Response: MD5(Identifier | secret |
// challenge) (RFC 1994, Section 2).
func (c *chapServer) checkMD5(id uint8, value []byte, name string) (bool, string) {
	secret, found := c.secret(name)
	if !found || len(value) != md5.Size {
		return false, "Access denied"
	}
	h := md5.New()
	h.Write([]byte{id})
	h.Write([]byte(secret))
	h.Write(c.challenge[:])
	var sum [md5.Size]byte
	h.Sum(sum[:0])
	if subtle.ConstantTimeCompare(sum[:], value) != 1 {
		return false, "Access denied"
	}
	return true, "Access granted"
}

// checkMSCHAPv2 verifies an MS-CHAPv2 Response (RFC 2759, Sections 4 to 6)
// and returns the Success or Failure message.
func (c *chapServer) checkMSCHAPv2(value []byte, name string) (bool, string) {
	// Flags (the last octet) MUST be zero; the reserved octets are not
	// checked: RFC 2759 asks senders, not receivers, for zeros there.
	if len(value) != mschapv2ResponseLen || value[48] != 0 {
		return false, c.mschapv2Failure()
	}
	password, found := c.secret(name)
	if !found {
		return false, c.mschapv2Failure()
	}
	peerChallenge := [16]byte(value[0:16])
	ntResponse := [24]byte(value[24:48])
	user := mschapv2User(name)
	if !VerifyNTResponse(c.challenge, peerChallenge, ntResponse, user, password) {
		return false, c.mschapv2Failure()
	}
	auth := GenerateAuthenticatorResponse(password, ntResponse, peerChallenge, c.challenge, user)
	ph := NTPasswordHash(password)
	phh := HashNTPasswordHash(ph)
	c.result.MasterKey = GetMasterKey(phh, ntResponse)
	clear(ph[:])
	clear(phh[:])
	// RFC 2759, Section 5: "S=<auth_string> M=<message>".
	return true, auth + " M=Access granted"
}

// mschapv2Failure is the Failure message of RFC 2759, Section 6: E=691 is
// authentication failure, R=0 forbids a retry, C= is a new challenge (32
// hexadecimal digits) and V=3 the protocol version.
func (c *chapServer) mschapv2Failure() string {
	var fresh [16]byte
	_, _ = io.ReadFull(c.rand, fresh[:])
	return "E=691 R=0 C=" + strings.ToUpper(hex.EncodeToString(fresh[:])) + " V=3 M=Authentication failure"
}

// mschapv2User is the user name MS-CHAPv2 hashes: the Name without a
// Windows domain prefix (RFC 2759, Section 4: "BIGCO\johndoe" is hashed as
// "johndoe").
func mschapv2User(name string) string {
	if i := strings.LastIndexByte(name, '\\'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// quoteName makes a peer-chosen name safe to log.
func quoteName(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strconv.Quote(s)
}
