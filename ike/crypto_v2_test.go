package ike

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"errors"
	"hash"
	mrand "math/rand/v2"
	"reflect"
	"testing"

	"github.com/ikego/ikego/ike/wire"
)

// skProposals are the IKE proposals whose SK ciphers are tested.
var skProposals = []string{
	"aes128gcm16-prfsha256-x25519",
	"aes256gcm16-prfsha384-ecp384",
	"aes192gcm12-prfsha256-ecp256",
	"aes128gcm8-prfsha256-ecp256",
	"aes256gcm8-prfsha512-ecp521",
	"chacha20poly1305-prfsha256-x25519",
	"aes128-sha256-modp2048",
	"aes256-sha512-ecp256",
	"aes192-sha384-ecp384",
	"aes128-sha1-modp2048",
	"3des-sha1-modp1024",
}

// testIKEKeys derives keys for p from fixed inputs.
func testIKEKeys(t testing.TB, p Proposal) *IKEKeys {
	t.Helper()
	k, err := DeriveIKEKeys(p, bytes.Repeat([]byte{7}, 32), bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32), 0x1111, 0x2222)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// testInner is what the encrypted test messages carry.
func testInner() []wire.Payload {
	return []wire.Payload{
		&wire.Notify{Kind: wire.NotifyInitialContact},
		&wire.VendorID{Data: []byte("ikego SK cipher test, somewhat longer than one block")},
		&wire.Nonce{Data: bytes.Repeat([]byte{0x5a}, 32)},
	}
}

// TestSKRoundTrip encrypts with each cipher through wire.EncryptMessage on
// one side and decrypts with wire.DecryptMessage on the other, both ways.
func TestSKRoundTrip(t *testing.T) {
	for _, s := range skProposals {
		p := MustParseProposals(s, wire.ProtocolIKE)[0]
		t.Run(p.String(), func(t *testing.T) {
			k := testIKEKeys(t, p)
			iSend, iRecv, err := k.SKCiphers(p, true)
			if err != nil {
				t.Fatal(err)
			}
			rSend, rRecv, err := k.SKCiphers(p, false)
			if err != nil {
				t.Fatal(err)
			}
			rnd := mrand.NewChaCha8([32]byte{3})
			for _, dir := range []struct {
				name              string
				send, recv, wrong wire.Cipher
				flags             wire.Flags
			}{
				{"initiator to responder", iSend, rRecv, iRecv, wire.FlagInitiator},
				{"responder to initiator", rSend, iRecv, rRecv, wire.FlagResponse},
			} {
				hdr := wire.Header{InitiatorSPI: 0x1111, ResponderSPI: 0x2222, Exchange: wire.ExchangeIKEAuth, Flags: dir.flags, MessageID: 1}
				b, err := wire.EncryptMessage(hdr, testInner(), dir.send, rnd)
				if err != nil {
					t.Fatal(err)
				}
				m, err := wire.Parse(b)
				if err != nil {
					t.Fatal(err)
				}
				got, err := wire.DecryptMessage(m, dir.recv)
				if err != nil {
					t.Fatalf("%s: %v", dir.name, err)
				}
				if !reflect.DeepEqual(got, testInner()) {
					t.Fatalf("%s: payloads %v", dir.name, wire.FormatPayloads(got))
				}
				// The directions have different keys: the
				// sender's receiving cipher cannot open it.
				if _, err := wire.DecryptMessage(m, dir.wrong); !errors.Is(err, wire.ErrIntegrity) {
					t.Fatalf("%s: opened with the other direction's keys: %v", dir.name, err)
				}
				checkTamper(t, b, dir.recv)
			}
		})
	}
}

// checkTamper flips one bit at a time across the message, header, SK
// payload header, IV, ciphertext and ICV: every change must fail the
// integrity check, and the original must still open.
func checkTamper(t *testing.T, b []byte, c wire.Cipher) {
	t.Helper()
	for i := range b {
		bad := bytes.Clone(b)
		bad[i] ^= 0x01
		m, err := wire.Parse(bad)
		if err != nil {
			continue // the codec already refuses it
		}
		if _, err := wire.DecryptMessage(m, c); err == nil {
			t.Fatalf("bit flip at octet %d of %d not detected", i, len(b))
		}
	}
	// Truncated ICV.
	if m, err := wire.Parse(b); err == nil {
		sk := m.Payloads[len(m.Payloads)-1].(*wire.SK)
		sk.Body = sk.Body[:len(sk.Body)-1]
		if _, err := wire.DecryptMessage(m, c); err == nil {
			t.Fatal("truncated SK payload accepted")
		}
	}
	m, err := wire.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wire.DecryptMessage(m, c); err != nil {
		t.Fatalf("original no longer opens: %v", err)
	}
}

// TestSKAEADConstruction checks the AES-GCM SK payload against RFC 5282
// built directly from crypto/cipher: nonce = salt (last 4 octets of SK_e)
// | IV, associated data = the message up to the end of the SK payload
// header, ICV = the GCM tag truncated to the ICV length.
func TestSKAEADConstruction(t *testing.T) {
	for _, s := range []string{"aes256gcm16-prfsha256-x25519", "aes128gcm12-prfsha256-x25519", "aes128gcm8-prfsha256-x25519"} {
		p := MustParseProposals(s, wire.ProtocolIKE)[0]
		k := testIKEKeys(t, p)
		send, _, err := k.SKCiphers(p, true)
		if err != nil {
			t.Fatal(err)
		}
		hdr := wire.Header{InitiatorSPI: 1, ResponderSPI: 2, Exchange: wire.ExchangeInformational, Flags: wire.FlagInitiator, MessageID: 7}
		b, err := wire.EncryptMessage(hdr, testInner(), send, mrand.NewChaCha8([32]byte{}))
		if err != nil {
			t.Fatal(err)
		}
		const aadLen = wire.HeaderLen + 4
		iv := b[aadLen : aadLen+8]
		icvLen := send.ICVLen()
		block, _ := aes.NewCipher(k.SKei[:len(k.SKei)-4])
		gcm, _ := cipher.NewGCM(block)
		nonce := append(bytes.Clone(k.SKei[len(k.SKei)-4:]), iv...)
		ct := b[aadLen+8 : len(b)-icvLen]
		plain, err := openTruncatedGCM(gcm, block, nonce, ct, b[len(b)-icvLen:], b[:aadLen])
		if err != nil {
			t.Fatalf("%s: the reference construction does not open it: %v", s, err)
		}
		inner, err := wire.ParseInner(wire.PayloadNotify, plain[:len(plain)-1-int(plain[len(plain)-1])])
		if err != nil || !reflect.DeepEqual(inner, testInner()) {
			t.Fatalf("%s: %v %v", s, wire.FormatPayloads(inner), err)
		}
	}
}

// openTruncatedGCM opens GCM with a possibly truncated tag by recomputing
// the full tag over the CTR-decrypted plaintext.
func openTruncatedGCM(gcm cipher.AEAD, block cipher.Block, nonce, ct, tag, aad []byte) ([]byte, error) {
	ctr := make([]byte, 16)
	copy(ctr, nonce)
	ctr[15] = 2
	plain := make([]byte, len(ct))
	cipher.NewCTR(block, ctr).XORKeyStream(plain, ct)
	full := gcm.Seal(nil, nonce, plain, aad)
	if !bytes.Equal(full[len(ct):len(ct)+len(tag)], tag) {
		return nil, errors.New("tag mismatch")
	}
	return plain, nil
}

// TestSKCBCConstruction checks RFC 7296 Section 3.14 for AES-CBC with an
// HMAC: the ICV is the truncated HMAC with SK_a of the whole message up to
// the ICV, and the ciphertext is CBC with the payload's IV under SK_e.
func TestSKCBCConstruction(t *testing.T) {
	for _, c := range []struct {
		s      string
		h      func() hash.Hash
		icvLen int
	}{
		{"aes128-sha256-modp2048", integHashOf(t, wire.IntegHMACSHA2_256_128), 16},
		{"aes256-sha1-modp2048", integHashOf(t, wire.IntegHMACSHA1_96), 12},
		{"aes256-sha384-modp2048", integHashOf(t, wire.IntegHMACSHA2_384_192), 24},
		{"aes256-sha512-modp2048", integHashOf(t, wire.IntegHMACSHA2_512_256), 32},
	} {
		p := MustParseProposals(c.s, wire.ProtocolIKE)[0]
		k := testIKEKeys(t, p)
		send, _, err := k.SKCiphers(p, true) // the initiator sends with SK_ei and SK_ai
		if err != nil {
			t.Fatal(err)
		}
		hdr := wire.Header{InitiatorSPI: 1, ResponderSPI: 2, Exchange: wire.ExchangeInformational, Flags: wire.FlagInitiator}
		b, err := wire.EncryptMessage(hdr, testInner(), send, mrand.NewChaCha8([32]byte{}))
		if err != nil {
			t.Fatal(err)
		}
		if send.ICVLen() != c.icvLen || send.IVLen() != 16 || send.BlockSize() != 16 {
			t.Fatalf("%s: ICV %d IV %d block %d", c.s, send.ICVLen(), send.IVLen(), send.BlockSize())
		}
		m := hmac.New(c.h, k.SKai)
		m.Write(b[:len(b)-c.icvLen])
		if want := m.Sum(nil)[:c.icvLen]; !bytes.Equal(b[len(b)-c.icvLen:], want) {
			t.Fatalf("%s: ICV %x, want %x", c.s, b[len(b)-c.icvLen:], want)
		}
		const ivStart = wire.HeaderLen + 4
		block, _ := aes.NewCipher(k.SKei)
		ct := b[ivStart+16 : len(b)-c.icvLen]
		plain := make([]byte, len(ct))
		cipher.NewCBCDecrypter(block, b[ivStart:ivStart+16]).CryptBlocks(plain, ct)
		inner, err := wire.ParseInner(wire.PayloadNotify, plain[:len(plain)-1-int(plain[len(plain)-1])])
		if err != nil || !reflect.DeepEqual(inner, testInner()) {
			t.Fatalf("%s: %v %v", c.s, wire.FormatPayloads(inner), err)
		}
	}
}

func integHashOf(t *testing.T, id wire.IntegID) func() hash.Hash {
	h, _, err := integHash(id)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestSKInPlace seals into the spare capacity of dst, as EncryptMessage
// does, and opens the result.
func TestSKInPlace(t *testing.T) {
	for _, s := range skProposals {
		p := MustParseProposals(s, wire.ProtocolIKE)[0]
		k := testIKEKeys(t, p)
		c, err := NewSKCipher(p, k.SKei, k.SKai)
		if err != nil {
			t.Fatal(err)
		}
		aad := []byte("associated data, the message up to the SK header")
		iv := bytes.Repeat([]byte{0x42}, c.IVLen())
		plain := bytes.Repeat([]byte{0x17}, 3*c.BlockSize()*8)
		buf := make([]byte, len(aad)+len(iv), len(aad)+len(iv)+len(plain)+c.ICVLen()+16)
		copy(buf, aad)
		copy(buf[len(aad):], iv)
		pt := buf[len(buf) : len(buf)+len(plain)]
		copy(pt, plain)
		out := c.Seal(buf, buf[len(aad):], pt, buf[:len(aad)])
		if len(out) != len(aad)+len(iv)+len(plain)+c.ICVLen() || &out[0] != &buf[0] || !bytes.Equal(out[:len(aad)], aad) {
			t.Fatalf("%s: Seal did not append in place", s)
		}
		got, err := c.Open(nil, iv, out[len(aad)+len(iv):], aad)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("%s: Open: %v", s, err)
		}
		if _, err := c.Open(nil, iv, out[len(aad)+len(iv):], aad[1:]); err == nil {
			t.Fatalf("%s: changed associated data accepted", s)
		}
		if _, err := c.Open(nil, iv, out[:c.ICVLen()-1], aad); err == nil {
			t.Fatalf("%s: ciphertext shorter than the ICV accepted", s)
		}
	}
}

func TestNewSKCipherErrors(t *testing.T) {
	p := MustParseProposals("aes128-sha256-modp2048", wire.ProtocolIKE)[0]
	if _, err := NewSKCipher(p, make([]byte, 15), make([]byte, 32)); err == nil {
		t.Error("short SK_e accepted")
	}
	if _, err := NewSKCipher(p, make([]byte, 16), make([]byte, 20)); err == nil {
		t.Error("short SK_a accepted")
	}
	g := MustParseProposals("aes128gcm16-prfsha256-ecp256", wire.ProtocolIKE)[0]
	if _, err := NewSKCipher(g, make([]byte, 16), nil); err == nil {
		t.Error("GCM key without salt accepted")
	}
	if _, err := NewSKCipher(g, make([]byte, 20), make([]byte, 32)); err == nil {
		t.Error("integrity key with an AEAD accepted")
	}
	if _, err := NewSKCipher(MustParseProposals("aes128gcm16", wire.ProtocolESP)[0], make([]byte, 20), nil); err == nil {
		t.Error("SK cipher from an ESP proposal")
	}
}

// BenchmarkSKRoundTrip measures one protected IKE_AUTH-sized message per
// cipher: EncryptMessage, Parse, DecryptMessage.
func BenchmarkSKRoundTrip(b *testing.B) {
	inner := []wire.Payload{&wire.VendorID{Data: make([]byte, 1000)}}
	for _, s := range []string{"aes256gcm16-prfsha256-x25519", "chacha20poly1305-prfsha256-x25519", "aes256-sha256-x25519"} {
		p := MustParseProposals(s, wire.ProtocolIKE)[0]
		b.Run(p.String(), func(b *testing.B) {
			k := testIKEKeys(b, p)
			send, _, _ := k.SKCiphers(p, true)
			_, peerRecv, _ := k.SKCiphers(p, false)
			hdr := wire.Header{InitiatorSPI: 1, ResponderSPI: 2, Exchange: wire.ExchangeIKEAuth, Flags: wire.FlagInitiator, MessageID: 1}
			b.ReportAllocs()
			for b.Loop() {
				msg, err := wire.EncryptMessage(hdr, inner, send, nil)
				if err != nil {
					b.Fatal(err)
				}
				m, err := wire.Parse(msg)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := wire.DecryptMessage(m, peerRecv); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
