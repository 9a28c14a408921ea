package ppp

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"golang.org/x/crypto/md4" //lint:ignore SA1019 the reference MD4 for NTPasswordHash checks.
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func unhex16(t *testing.T, s string) [16]byte {
	t.Helper()
	return [16]byte(unhex(t, s))
}

func unhex24(t *testing.T, s string) [24]byte {
	t.Helper()
	return [24]byte(unhex(t, s))
}

// rfc2759 holds the intermediate values of RFC 2759, Section 9.2 "Hash
// Example", which RFC 3079, Section 3.5 reuses.
type rfc2759Vector struct {
	username, password string
	authChallenge      [16]byte
	peerChallenge      [16]byte
	challengeHash      []byte
	passwordHash       []byte
	ntResponse         [24]byte
	passwordHashHash   []byte
	authResponse       string
}

func rfc2759(t *testing.T) rfc2759Vector {
	t.Helper()
	return rfc2759Vector{
		// RFC 2759, Section 9.2: 0-to-256-char UserName 55 73 65 72.
		username: "User",
		// RFC 2759, Section 9.2: 0-to-256-unicode-char Password
		// 63 00 6C 00 69 00 65 00 6E 00 74 00 50 00 61 00 73 00 73 00.
		password: "clientPass",
		// RFC 2759, Section 9.2: 16-octet AuthenticatorChallenge.
		authChallenge: unhex16(t, "5B 5D 7C 7D 7B 3F 2F 3E 3C 2C 60 21 32 26 26 28"),
		// RFC 2759, Section 9.2: 16-octet PeerChallenge.
		peerChallenge: unhex16(t, "21 40 23 24 25 5E 26 2A 28 29 5F 2B 3A 33 7C 7E"),
		// RFC 2759, Section 9.2: 8-octet Challenge.
		challengeHash: unhex(t, "D0 2E 43 86 BC E9 12 26"),
		// RFC 2759, Section 9.2: 16-octet PasswordHash.
		passwordHash: unhex(t, "44 EB BA 8D 53 12 B8 D6 11 47 44 11 F5 69 89 AE"),
		// RFC 2759, Section 9.2: 24 octet NT-Response.
		ntResponse: unhex24(t, "82 30 9E CD 8D 70 8B 5E A0 8F AA 39 81 CD 83 54 42 33 11 4A 3D 85 D6 DF"),
		// RFC 2759, Section 9.2: 16-octet PasswordHashHash.
		passwordHashHash: unhex(t, "41 C0 0C 58 4B D2 D9 1C 40 17 A2 A1 2F A5 9F 3F"),
		// RFC 2759, Section 9.2: 42-octet AuthenticatorResponse.
		authResponse: "S=407A5589115FD0D6209F510FE9C04566932CDA56",
	}
}

func TestRFC2759HashExample(t *testing.T) {
	v := rfc2759(t)

	pwHash := NTPasswordHash(v.password)
	if !bytes.Equal(pwHash[:], v.passwordHash) {
		t.Errorf("NTPasswordHash = %X, want %X", pwHash, v.passwordHash)
	}
	pwHashHash := HashNTPasswordHash(pwHash)
	if !bytes.Equal(pwHashHash[:], v.passwordHashHash) {
		t.Errorf("HashNTPasswordHash = %X, want %X", pwHashHash, v.passwordHashHash)
	}
	ch := ChallengeHash(v.peerChallenge, v.authChallenge, v.username)
	if !bytes.Equal(ch[:], v.challengeHash) {
		t.Errorf("ChallengeHash = %X, want %X", ch, v.challengeHash)
	}
	nt := GenerateNTResponse(v.authChallenge, v.peerChallenge, v.username, v.password)
	if nt != v.ntResponse {
		t.Errorf("GenerateNTResponse = %X, want %X", nt, v.ntResponse)
	}
	ar := GenerateAuthenticatorResponse(v.password, v.ntResponse, v.peerChallenge, v.authChallenge, v.username)
	if ar != v.authResponse {
		t.Errorf("GenerateAuthenticatorResponse = %q, want %q", ar, v.authResponse)
	}
	if len(ar) != MSCHAPv2AuthenticatorResponseLen {
		t.Errorf("len(GenerateAuthenticatorResponse) = %d, want %d", len(ar), MSCHAPv2AuthenticatorResponseLen)
	}
	if !VerifyNTResponse(v.authChallenge, v.peerChallenge, v.ntResponse, v.username, v.password) {
		t.Error("VerifyNTResponse rejected the RFC 2759 NT-Response")
	}
	if !CheckAuthenticatorResponse(v.password, v.ntResponse, v.peerChallenge, v.authChallenge, v.username, v.authResponse) {
		t.Error("CheckAuthenticatorResponse rejected the RFC 2759 authenticator response")
	}
}

// TestExpandDESKey checks the key expansion of RFC 2759, Section 8.6 against
// the first key of the worked example in Section 9.3 (password "MyPw").
func TestExpandDESKey(t *testing.T) {
	// RFC 2759, Section 9.3: First "raw" DES key (initial 7 octets of
	// password hash) and First parity-corrected DES key.
	raw := unhex(t, "FC 15 6A F7 ED CD 6C")
	want := unhex(t, "FD 0B 5B 5E 7F 6E 34 D9")
	got := expandDESKey(raw)
	if !bytes.Equal(got[:], want) {
		t.Errorf("expandDESKey(%X) = %X, want %X", raw, got, want)
	}
	// RFC 2759, Section 9.3: the raw key is the start of NTPasswordHash("MyPw").
	h := NTPasswordHash("MyPw")
	if !bytes.Equal(h[:7], raw) {
		t.Errorf("NTPasswordHash(\"MyPw\")[:7] = %X, want %X", h[:7], raw)
	}
	// Every expanded octet has odd parity, whatever the input.
	for _, k := range [][]byte{make([]byte, 7), bytes.Repeat([]byte{0xff}, 7), unhex(t, "01 23 45 67 89 AB CD")} {
		e := expandDESKey(k)
		for i, b := range e {
			if popcount8(b)%2 != 1 {
				t.Errorf("expandDESKey(%X)[%d] = %02X has even parity", k, i, b)
			}
		}
	}
}

func TestRFC3079KeyDerivation(t *testing.T) {
	v := rfc2759(t)
	// RFC 3079, Section 3.5.3 (Sample 128-bit Key Derivation): MasterKey.
	wantMaster := unhex16(t, "FD EC E3 71 7A 8C 83 8C B3 88 E5 27 AE 3C DD 31")
	// RFC 3079, Section 3.5.3: SendStartKey128. It is the Magic3 key: the
	// server's send key, which is the client's receive key.
	wantSendStart := unhex(t, "8B 7C DC 14 9B 99 3A 1B A1 18 CB 15 3F 56 DC CB")

	master := GetMasterKey([16]byte(v.passwordHashHash), v.ntResponse)
	if master != wantMaster {
		t.Fatalf("GetMasterKey = %X, want %X", master, wantMaster)
	}
	serverSend := GetAsymmetricStartKey(master, 16, true, true)
	if !bytes.Equal(serverSend, wantSendStart) {
		t.Errorf("GetAsymmetricStartKey(send, server) = %X, want %X", serverSend, wantSendStart)
	}
	// The client's receive key is the server's send key, and the other way round.
	if clientRecv := GetAsymmetricStartKey(master, 16, false, false); !bytes.Equal(clientRecv, serverSend) {
		t.Errorf("client receive key %X != server send key %X", clientRecv, serverSend)
	}
	serverRecv := GetAsymmetricStartKey(master, 16, false, true)
	clientSend := GetAsymmetricStartKey(master, 16, true, false)
	if !bytes.Equal(serverRecv, clientSend) {
		t.Errorf("server receive key %X != client send key %X", serverRecv, clientSend)
	}
	if bytes.Equal(serverRecv, serverSend) {
		t.Error("send and receive keys are equal")
	}
	// A 64-bit key (40- and 56-bit MPPE) is the prefix of the same digest
	// (RFC 3079, Section 3.4: the first SessionKeyLength octets).
	if short := GetAsymmetricStartKey(master, 8, true, true); !bytes.Equal(short, wantSendStart[:8]) {
		t.Errorf("8-octet start key = %X, want %X", short, wantSendStart[:8])
	}
}

func TestGetAsymmetricStartKeyBadLength(t *testing.T) {
	for _, n := range []int{0, 7, 9, 20, -1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("GetAsymmetricStartKey(keyLen=%d) did not panic", n)
				}
			}()
			GetAsymmetricStartKey([16]byte{}, n, true, true)
		}()
	}
}

func TestMSK(t *testing.T) {
	v := rfc2759(t)
	msk := MSK(v.password, v.ntResponse)
	master := GetMasterKey([16]byte(v.passwordHashHash), v.ntResponse)
	// [MS-CHAP], Section 3.1.5.1: MSK = MasterReceiveKey | MasterSendKey |
	// 32 zero octets, seen from the authenticator.
	want := append(GetAsymmetricStartKey(master, 16, false, true),
		GetAsymmetricStartKey(master, 16, true, true)...)
	want = append(want, make([]byte, 32)...)
	if !bytes.Equal(msk[:], want) {
		t.Fatalf("MSK = %X, want %X", msk, want)
	}
	// The second half of the key material is the RFC 3079, Section 3.5.3
	// SendStartKey128 (the server's send key).
	if got, w := msk[16:32], unhex(t, "8B 7C DC 14 9B 99 3A 1B A1 18 CB 15 3F 56 DC CB"); !bytes.Equal(got, w) {
		t.Errorf("MSK[16:32] = %X, want %X", got, w)
	}
	// The peer's view, its send key then its receive key, is the same MSK.
	peer := append(GetAsymmetricStartKey(master, 16, true, false),
		GetAsymmetricStartKey(master, 16, false, false)...)
	if !bytes.Equal(msk[:32], peer) {
		t.Errorf("MSK[:32] = %X, peer send|recv = %X", msk[:32], peer)
	}
	if other := MSK("clientPasS", v.ntResponse); other == msk {
		t.Error("MSK does not depend on the password")
	}
}

func TestVerifyNTResponseRejects(t *testing.T) {
	v := rfc2759(t)
	flip := func(b [16]byte) [16]byte { b[15] ^= 1; return b }
	badNT := v.ntResponse
	badNT[23] ^= 0x80
	tests := []struct {
		name                         string
		authChallenge, peerChallenge [16]byte
		ntResponse                   [24]byte
		username, password           string
	}{
		{"wrong password", v.authChallenge, v.peerChallenge, v.ntResponse, v.username, "clientpass"},
		{"empty password", v.authChallenge, v.peerChallenge, v.ntResponse, v.username, ""},
		{"wrong username", v.authChallenge, v.peerChallenge, v.ntResponse, "user", v.password},
		{"domain prefix kept", v.authChallenge, v.peerChallenge, v.ntResponse, `BIGCO\User`, v.password},
		{"wrong authenticator challenge", flip(v.authChallenge), v.peerChallenge, v.ntResponse, v.username, v.password},
		{"wrong peer challenge", v.authChallenge, flip(v.peerChallenge), v.ntResponse, v.username, v.password},
		{"swapped challenges", v.peerChallenge, v.authChallenge, v.ntResponse, v.username, v.password},
		{"corrupt NT-Response", v.authChallenge, v.peerChallenge, badNT, v.username, v.password},
		{"zero NT-Response", v.authChallenge, v.peerChallenge, [24]byte{}, v.username, v.password},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if VerifyNTResponse(tt.authChallenge, tt.peerChallenge, tt.ntResponse, tt.username, tt.password) {
				t.Error("VerifyNTResponse accepted")
			}
		})
	}
}

func TestCheckAuthenticatorResponseRejects(t *testing.T) {
	v := rfc2759(t)
	flip := func(b [16]byte) [16]byte { b[0] ^= 1; return b }
	badNT := v.ntResponse
	badNT[0] ^= 1
	ok := v.authResponse
	tests := []struct {
		name                         string
		password, username           string
		ntResponse                   [24]byte
		peerChallenge, authChallenge [16]byte
		received                     string
	}{
		{"wrong password", "clientPas", v.username, v.ntResponse, v.peerChallenge, v.authChallenge, ok},
		{"wrong username", v.password, "Usr", v.ntResponse, v.peerChallenge, v.authChallenge, ok},
		{"wrong NT-Response", v.password, v.username, badNT, v.peerChallenge, v.authChallenge, ok},
		{"wrong peer challenge", v.password, v.username, v.ntResponse, flip(v.peerChallenge), v.authChallenge, ok},
		{"wrong authenticator challenge", v.password, v.username, v.ntResponse, v.peerChallenge, flip(v.authChallenge), ok},
		{"lower-case hex", v.password, v.username, v.ntResponse, v.peerChallenge, v.authChallenge, "S=" + strings.ToLower(ok[2:])},
		{"message appended", v.password, v.username, v.ntResponse, v.peerChallenge, v.authChallenge, ok + " M=Welcome"},
		{"truncated", v.password, v.username, v.ntResponse, v.peerChallenge, v.authChallenge, ok[:41]},
		{"empty", v.password, v.username, v.ntResponse, v.peerChallenge, v.authChallenge, ""},
		{"last digit changed", v.password, v.username, v.ntResponse, v.peerChallenge, v.authChallenge, ok[:41] + "7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if CheckAuthenticatorResponse(tt.password, tt.ntResponse, tt.peerChallenge, tt.authChallenge, tt.username, tt.received) {
				t.Error("CheckAuthenticatorResponse accepted")
			}
		})
	}
}

// TestRoundTrip runs a peer and an authenticator against each other with
// passwords the RFC vectors do not cover: empty, non-ASCII, and outside the
// Basic Multilingual Plane.
func TestRoundTrip(t *testing.T) {
	authChallenge := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	peerChallenge := [16]byte{0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87, 0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f}
	for _, pw := range []string{"", "Résumé", "p\u00e4ss\U0001F511word", strings.Repeat("x", 256)} {
		nt := GenerateNTResponse(authChallenge, peerChallenge, "alice", pw)
		if !VerifyNTResponse(authChallenge, peerChallenge, nt, "alice", pw) {
			t.Errorf("password %q: authenticator rejected the peer", pw)
		}
		s := GenerateAuthenticatorResponse(pw, nt, peerChallenge, authChallenge, "alice")
		if !CheckAuthenticatorResponse(pw, nt, peerChallenge, authChallenge, "alice", s) {
			t.Errorf("password %q: peer rejected the authenticator", pw)
		}
		if len(s) != MSCHAPv2AuthenticatorResponseLen || s[:2] != "S=" || s != strings.ToUpper(s) {
			t.Errorf("password %q: malformed authenticator response %q", pw, s)
		}
	}
}

// TestNTPasswordHashUTF16 pins the UTF-16LE encoding: "Résumé" hashes as the
// octets 52 00 E9 00 73 00 75 00 6D 00 E9 00, not as its UTF-8 bytes, and a
// character outside the BMP as a surrogate pair.
func TestNTPasswordHashUTF16(t *testing.T) {
	// RFC 2759, Section 8.3 hashes the Unicode password; U+1F511 is the
	// surrogate pair D83D DD11, little-endian 3D D8 11 DD.
	got := NTPasswordHash("\U0001F511")
	want := md4Sum([]byte{0x3d, 0xd8, 0x11, 0xdd})
	if got != want {
		t.Errorf("NTPasswordHash(U+1F511) = %X, want MD4(3D D8 11 DD) = %X", got, want)
	}
	got = NTPasswordHash("Résumé")
	want = md4Sum(unhex(t, "52 00 E9 00 73 00 75 00 6D 00 E9 00"))
	if got != want {
		t.Errorf("NTPasswordHash(\"Résumé\") = %X, want %X", got, want)
	}
}

func md4Sum(b []byte) [16]byte {
	var out [16]byte
	h := md4.New()
	h.Write(b)
	h.Sum(out[:0])
	return out
}
