package ppp

import (
	"crypto/des"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"unicode/utf16"

	"golang.org/x/crypto/md4" //lint:ignore SA1019 MS-CHAPv2 is defined over MD4 (RFC 2759, Section 8.3); there is no choice.
)

// This file holds the MS-CHAPv2 primitives of RFC 2759, Section 8, and the
// MPPE key derivation of RFC 3079, Sections 3.3 and 3.4, that also yields the
// EAP-MSCHAPv2 MSK. Every function is pure: no state, safe for concurrent use.

// Magic constants of RFC 2759, Section 8.7.
var (
	authMagic1 = []byte("Magic server to client signing constant")
	authMagic2 = []byte("Pad to make it do more than one iteration")
)

// Magic constants and pads of RFC 3079, Section 3.4.
var (
	mppeMagic1 = []byte("This is the MPPE Master Key")
	mppeMagic2 = []byte("On the client side, this is the send key; " +
		"on the server side, it is the receive key.")
	mppeMagic3 = []byte("On the client side, this is the receive key; " +
		"on the server side, it is the send key.")
)

// shsPad1 and shsPad2 are SHSpad1 and SHSpad2 of RFC 3079, Section 3.4.
var (
	shsPad1 = [40]byte{}
	shsPad2 = [40]byte{
		0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2,
		0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2,
		0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2,
		0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2,
	}
)

// MSCHAPv2 sizes, RFC 2759, Sections 4 and 5.
const (
	// MSCHAPv2ChallengeLen is the length of the Authenticator-Challenge
	// and of the Peer-Challenge.
	MSCHAPv2ChallengeLen = 16
	// MSCHAPv2NTResponseLen is the length of the NT-Response.
	MSCHAPv2NTResponseLen = 24
	// MSCHAPv2AuthenticatorResponseLen is the length of the
	// "S=<40 hex digits>" authenticator response string.
	MSCHAPv2AuthenticatorResponseLen = 42
	// MSKLen is the length of the EAP-MSCHAPv2 Master Session Key.
	MSKLen = 64
)

// NTPasswordHash returns the MD4 digest of password encoded as UTF-16
// little-endian, without terminator (RFC 2759, Section 8.3). Characters
// outside the Basic Multilingual Plane become surrogate pairs, as on Windows.
// RFC 2759 limits passwords to 256 characters; NTPasswordHash does not
// enforce that limit, callers that need it check it themselves.
func NTPasswordHash(password string) [16]byte {
	units := utf16.Encode([]rune(password))
	buf := make([]byte, 2*len(units))
	for i, u := range units {
		binary.LittleEndian.PutUint16(buf[2*i:], u)
	}
	h := md4.New()
	h.Write(buf)
	var out [16]byte
	h.Sum(out[:0])
	clear(buf)
	return out
}

// HashNTPasswordHash returns the MD4 digest of passwordHash (RFC 2759,
// Section 8.4), the PasswordHashHash that keys the authenticator response and
// the MPPE master key.
func HashNTPasswordHash(passwordHash [16]byte) [16]byte {
	var out [16]byte
	h := md4.New()
	h.Write(passwordHash[:])
	h.Sum(out[:0])
	return out
}

// ChallengeHash returns the first 8 octets of SHA-1(peerChallenge |
// authenticatorChallenge | username) (RFC 2759, Section 8.2).
//
// username is hashed as given. RFC 2759, Section 4, says only the user name is
// used, without any Windows domain prefix ("BIGCO\johndoe" hashes as
// "johndoe"); stripping the prefix is the caller's choice, since peers differ
// in what they put in the Name field.
func ChallengeHash(peerChallenge, authenticatorChallenge [16]byte, username string) [8]byte {
	h := sha1.New()
	h.Write(peerChallenge[:])
	h.Write(authenticatorChallenge[:])
	h.Write([]byte(username))
	var sum [sha1.Size]byte
	h.Sum(sum[:0])
	var out [8]byte
	copy(out[:], sum[:8])
	return out
}

// GenerateNTResponse returns the 24-octet NT-Response a peer sends in its
// MS-CHAPv2 Response packet (RFC 2759, Section 8.1). username is hashed as
// given; see ChallengeHash.
func GenerateNTResponse(authChallenge, peerChallenge [16]byte, username, password string) [24]byte {
	challenge := ChallengeHash(peerChallenge, authChallenge, username)
	passwordHash := NTPasswordHash(password)
	resp := challengeResponse(challenge, passwordHash)
	clear(passwordHash[:])
	return resp
}

// VerifyNTResponse reports whether ntResponse is the NT-Response that
// username with password computes for the two challenges. This is the
// authenticator's check of a received Response packet (RFC 2759, Section 5);
// the comparison takes constant time.
func VerifyNTResponse(authChallenge, peerChallenge [16]byte, ntResponse [24]byte, username, password string) bool {
	want := GenerateNTResponse(authChallenge, peerChallenge, username, password)
	return subtle.ConstantTimeCompare(want[:], ntResponse[:]) == 1
}

// challengeResponse is ChallengeResponse of RFC 2759, Section 8.5: the
// password hash, zero-padded to 21 octets, gives three 7-octet DES keys that
// each encrypt the 8-octet challenge.
func challengeResponse(challenge [8]byte, passwordHash [16]byte) [24]byte {
	var zHash [21]byte
	copy(zHash[:], passwordHash[:])
	var out [24]byte
	for i := range 3 {
		desEncrypt(out[8*i:8*i+8], challenge[:], zHash[7*i:7*i+7])
	}
	clear(zHash[:])
	return out
}

// desEncrypt is DesEncrypt of RFC 2759, Section 8.6: one DES-ECB block under
// the 56-bit key key7, expanded to a 64-bit DES key.
func desEncrypt(dst, block, key7 []byte) {
	key := expandDESKey(key7)
	c, err := des.NewCipher(key[:])
	if err != nil {
		// des.NewCipher fails only on a key length other than 8.
		panic("ppp: " + err.Error())
	}
	c.Encrypt(dst, block)
	clear(key[:])
}

// expandDESKey spreads the 56 bits of key7 over 8 octets, 7 bits each in the
// high bits, and sets the low bit of each octet to odd parity (RFC 2759,
// Sections 8.6 and 9.3). crypto/des ignores parity; it is set so the key
// matches the worked example of Section 9.3.
func expandDESKey(key7 []byte) [8]byte {
	var k uint64
	for _, b := range key7[:7] {
		k = k<<8 | uint64(b)
	}
	var out [8]byte
	for i := range 8 {
		b := byte(k>>(49-7*i)) << 1
		b |= ^byte(popcount8(b)) & 1
		out[i] = b
	}
	return out
}

func popcount8(b byte) int {
	n := 0
	for ; b != 0; b &= b - 1 {
		n++
	}
	return n
}

// GenerateAuthenticatorResponse returns the authenticator response string
// "S=" followed by 40 upper-case hexadecimal digits that the authenticator
// sends in its Success packet (RFC 2759, Sections 5 and 8.7). username is
// hashed as given; see ChallengeHash.
func GenerateAuthenticatorResponse(password string, ntResponse [24]byte, peerChallenge, authChallenge [16]byte, username string) string {
	passwordHash := NTPasswordHash(password)
	passwordHashHash := HashNTPasswordHash(passwordHash)
	clear(passwordHash[:])

	h := sha1.New()
	h.Write(passwordHashHash[:])
	h.Write(ntResponse[:])
	h.Write(authMagic1)
	var digest [sha1.Size]byte
	h.Sum(digest[:0])
	clear(passwordHashHash[:])

	challenge := ChallengeHash(peerChallenge, authChallenge, username)
	h.Reset()
	h.Write(digest[:])
	h.Write(challenge[:])
	h.Write(authMagic2)
	h.Sum(digest[:0])

	return "S=" + strings.ToUpper(hex.EncodeToString(digest[:]))
}

// CheckAuthenticatorResponse reports whether received is the authenticator
// response the peer expects (RFC 2759, Section 8.8). received is exactly the
// 42-octet "S=..." quantity from the Success packet, without the " M=..."
// message that may follow it; the hexadecimal digits must be upper case as
// Section 5 requires. The comparison takes constant time. A peer that gets
// false MUST end the session (RFC 2759, Section 5).
func CheckAuthenticatorResponse(password string, ntResponse [24]byte, peerChallenge, authChallenge [16]byte, username, received string) bool {
	want := GenerateAuthenticatorResponse(password, ntResponse, peerChallenge, authChallenge, username)
	return subtle.ConstantTimeCompare([]byte(want), []byte(received)) == 1
}

// GetMasterKey returns the 16-octet MPPE MasterKey, the first 16 octets of
// SHA-1(passwordHashHash | ntResponse | Magic1) (RFC 3079, Section 3.4).
// passwordHashHash is HashNTPasswordHash(NTPasswordHash(password)).
func GetMasterKey(passwordHashHash [16]byte, ntResponse [24]byte) [16]byte {
	h := sha1.New()
	h.Write(passwordHashHash[:])
	h.Write(ntResponse[:])
	h.Write(mppeMagic1)
	var sum [sha1.Size]byte
	h.Sum(sum[:0])
	var out [16]byte
	copy(out[:], sum[:16])
	clear(sum[:])
	return out
}

// GetAsymmetricStartKey returns the first keyLen octets of SHA-1(masterKey |
// SHSpad1 | Magic | SHSpad2) (RFC 3079, Section 3.4), where Magic is Magic2
// for the client's send key and the server's receive key, and Magic3 for the
// client's receive key and the server's send key. So the client's send key
// equals the server's receive key and the other way round.
//
// keyLen is 8 for 40- and 56-bit MPPE keys and 16 for 128-bit keys (RFC 3079,
// Section 3.3); GetAsymmetricStartKey panics on any other value, which is a
// programming error. The returned slice is newly allocated and owned by the
// caller.
func GetAsymmetricStartKey(masterKey [16]byte, keyLen int, isSend, isServer bool) []byte {
	if keyLen != 8 && keyLen != 16 {
		panic("ppp: MPPE start key length must be 8 or 16")
	}
	magic := mppeMagic2
	if isSend == isServer {
		// Client receive key or server send key.
		magic = mppeMagic3
	}
	h := sha1.New()
	h.Write(masterKey[:])
	h.Write(shsPad1[:])
	h.Write(magic)
	h.Write(shsPad2[:])
	sum := h.Sum(nil)
	clear(sum[keyLen:])
	return sum[:keyLen:keyLen]
}

// MSK returns the 64-octet EAP Master Session Key of EAP-MSCHAPv2 for the
// NT-Response ntResponse of a successful exchange. Both sides derive the same
// MSK:
//
//	MSK = MasterReceiveKey | MasterSendKey | 32 zero octets
//
// with MasterReceiveKey and MasterSendKey the 16-octet keys of RFC 3079,
// Section 3.3, from the authenticator's point of view (the peer's
// MasterSendKey followed by its MasterReceiveKey). This is [MS-CHAP],
// Section 3.1.5.1 "Master Session Key (MSK) Derivation"; strongSwan's
// eap_mschapv2 plugin (GenerateMSK) and hostapd's eap_server_mschapv2
// (getKey, "MSK = server MS-MPPE-Recv-Key | MS-MPPE-Send-Key") agree, hostapd
// without the zero padding.
func MSK(password string, ntResponse [24]byte) [MSKLen]byte {
	passwordHash := NTPasswordHash(password)
	passwordHashHash := HashNTPasswordHash(passwordHash)
	clear(passwordHash[:])
	masterKey := GetMasterKey(passwordHashHash, ntResponse)
	clear(passwordHashHash[:])

	var out [MSKLen]byte
	recv := GetAsymmetricStartKey(masterKey, 16, false, true)
	send := GetAsymmetricStartKey(masterKey, 16, true, true)
	copy(out[0:16], recv)
	copy(out[16:32], send)
	clear(recv)
	clear(send)
	clear(masterKey[:])
	return out
}
