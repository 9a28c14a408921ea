package wire

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net/netip"
	"reflect"
	"testing"
	"testing/iotest"
)

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

// authInner is an IKE_AUTH request as strongSwan sends it with a
// certificate (interop/README.md).
func authInner() []Payload {
	return []Payload{
		&ID{IDType: IDDERASN1DN, Data: seq(60, 0x30)},
		&Cert{Encoding: CertX509Signature, Data: seq(900, 0x30)},
		&Notify{Kind: NotifyInitialContact},
		&CertReq{Encoding: CertX509Signature, Data: seq(20, 0x11)},
		&ID{Responder: true, IDType: IDFQDN, Data: []byte("vpn.example.com")},
		&Auth{Method: AuthDigitalSignature, Data: seq(80, 0x22)},
		&CP{CfgType: CfgRequest, Attributes: []CPAttribute{{Type: CPInternalIP4Address}, {Type: CPInternalIP6Address}}},
		&SA{Proposals: []Proposal{{Number: 1, Protocol: ProtocolESP, SPI: []byte{0xc1, 0x2b, 0x3c, 0x4d}, Transforms: []Transform{
			{Type: TransformEncr, ID: uint16(EncrAESGCM16), Attributes: []Attribute{{Type: AttributeKeyLength, TV: true, Value: 256}}},
			{Type: TransformESN, ID: uint16(ESNNo)},
		}}}},
		&TS{Selectors: []Selector{{Type: TSIPv4AddrRange, EndPort: 0xffff, Start: ip("0.0.0.0"), End: ip("255.255.255.255")}}},
		&TS{Responder: true, Selectors: []Selector{{Type: TSIPv4AddrRange, EndPort: 0xffff, Start: ip("0.0.0.0"), End: ip("255.255.255.255")}}},
		&Notify{Kind: NotifyMOBIKESupported},
		&Notify{Kind: NotifyAdditionalIP6Address, Data: seq(16, 0x20)},
		&Notify{Kind: NotifyMultipleAuthSupported},
		&Notify{Kind: NotifyMessageIDSyncSupported},
	}
}

func TestEncryptRoundTrip(t *testing.T) {
	for name, c := range testCiphers(t) {
		t.Run(name, func(t *testing.T) {
			h := testHeader(ExchangeIKEAuth, FlagInitiator)
			for _, inner := range [][]Payload{authInner(), nil, {&Nonce{Data: seq(16, 0)}}, allPayloads()} {
				b, err := EncryptMessage(h, inner, c, nil)
				if err != nil {
					t.Fatal(err)
				}
				m, err := Parse(b)
				if err != nil {
					t.Fatal(err)
				}
				sk, ok := m.Payloads[0].(*SK)
				if len(m.Payloads) != 1 || !ok || m.Header.NextPayload != PayloadSK || m.Header.Length != uint32(len(b)) {
					t.Fatalf("encrypted message = %s %+v", m, m.Header)
				}
				wantNext := PayloadNone
				if len(inner) > 0 {
					wantNext = inner[0].Type()
				}
				if sk.NextPayload != wantNext {
					t.Errorf("SK Next Payload = %s, want %s", sk.NextPayload, wantNext)
				}
				// Minimal padding: the ciphertext is the smallest
				// aligned length that holds the chain and Pad Length.
				chain, _ := appendChain(nil, inner)
				bs := c.BlockSize()
				if got, want := len(sk.Body)-c.IVLen()-c.ICVLen(), (len(chain)+1+bs-1)/bs*bs; got != want {
					t.Errorf("ciphertext of %d octets, want %d", got, want)
				}
				got, err := DecryptMessage(m, c)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(normalizePayloads(got), inner) && !(len(got) == 0 && len(inner) == 0) {
					t.Errorf("decrypted %s, want %s", FormatPayloads(got), FormatPayloads(inner))
				}
				if !bytes.Equal(m.Raw, b) {
					t.Errorf("DecryptMessage modified the message")
				}
			}
		})
	}
}

// TestEncryptTamper flips every bit of encrypted messages: each flip must
// make Parse or DecryptMessage fail, the latter with ErrIntegrity when the
// message still parses.
func TestEncryptTamper(t *testing.T) {
	for name, c := range testCiphers(t) {
		t.Run(name, func(t *testing.T) {
			b, err := EncryptMessage(testHeader(ExchangeInformational, FlagResponse),
				[]Payload{&Delete{Protocol: ProtocolESP, SPIs: []uint32{1, 2}}, &Notify{Kind: NotifyCookie2, Data: seq(8, 0)}}, c, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := range len(b) * 8 {
				mod := bytes.Clone(b)
				mod[i/8] ^= 1 << (i % 8)
				m, err := Parse(mod)
				if err != nil {
					continue
				}
				if _, err := DecryptMessage(m, c); !errors.Is(err, ErrIntegrity) {
					t.Fatalf("flipping bit %d of octet %d: DecryptMessage = %v, want ErrIntegrity", i%8, i/8, err)
				}
			}
		})
	}
}

// sealRaw builds an encrypted message around an arbitrary plaintext, pad
// length included, bypassing EncryptMessage's padding.
func sealRaw(t *testing.T, c Cipher, next PayloadType, plaintext []byte) *Message {
	t.Helper()
	h := testHeader(ExchangeInformational, 0)
	n := HeaderLen + genericHeaderLen + c.IVLen() + len(plaintext) + c.ICVLen()
	b := h.appendTo(nil, PayloadSK, n)
	skLen := n - HeaderLen
	b = append(b, byte(next), 0, byte(skLen>>8), byte(skLen))
	iv := make([]byte, c.IVLen())
	io.ReadFull(rand.Reader, iv)
	aad := bytes.Clone(b)
	b = append(b, iv...)
	b = c.Seal(b, iv, plaintext, aad)
	m, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDecryptPadding(t *testing.T) {
	nonce, _ := appendChain(nil, []Payload{&Nonce{Data: seq(16, 0)}}) // 20 octets
	for name, c := range testCiphers(t) {
		t.Run(name, func(t *testing.T) {
			bs := c.BlockSize()
			// A pad length longer than the plaintext.
			pt := append(bytes.Clone(nonce), make([]byte, (bs-(len(nonce)+1)%bs)%bs)...)
			pt = append(pt, 0)
			pt[len(pt)-1] = byte(len(pt))
			if _, err := DecryptMessage(sealRaw(t, c, PayloadNonce, pt), c); !errors.Is(err, ErrInvalidSyntax) {
				t.Errorf("pad length %d in %d octets: %v, want ErrInvalidSyntax", pt[len(pt)-1], len(pt), err)
			}
			pt[len(pt)-1] = 0xff
			if _, err := DecryptMessage(sealRaw(t, c, PayloadNonce, pt), c); !errors.Is(err, ErrInvalidSyntax) {
				t.Errorf("pad length 255: %v, want ErrInvalidSyntax", err)
			}
			// A pad length that eats into the payload: the inner chain
			// is then truncated.
			pt[len(pt)-1] = byte(len(pt) - len(nonce))
			if _, err := DecryptMessage(sealRaw(t, c, PayloadNonce, pt), c); !errors.Is(err, ErrTruncated) {
				t.Errorf("pad length eating the payload: %v, want ErrTruncated", err)
			}
			// More padding than needed is accepted (RFC 7296
			// Section 3.14).
			long := append(bytes.Clone(nonce), make([]byte, 16*bs-1-len(nonce)%bs)...)
			long = append(long, byte(len(long)-len(nonce)))
			ps, err := DecryptMessage(sealRaw(t, c, PayloadNonce, long), c)
			if err != nil || len(ps) != 1 {
				t.Errorf("%d octets of padding: %v, %v", long[len(long)-1], ps, err)
			}
			// An authenticated but malformed inner payload.
			bad := []byte{0, 0, 0, 7, 1, 2, 3}
			bad = append(bad, make([]byte, (bs-(len(bad)+1)%bs)%bs)...)
			bad = append(bad, byte(len(bad)-7))
			if _, err := DecryptMessage(sealRaw(t, c, PayloadNonce, bad), c); !errors.Is(err, ErrInvalidSyntax) {
				t.Errorf("short nonce inside: %v, want ErrInvalidSyntax", err)
			}
		})
	}
}

func TestDecryptShortBodies(t *testing.T) {
	for name, c := range testCiphers(t) {
		t.Run(name, func(t *testing.T) {
			for n := range c.IVLen() + c.ICVLen() + 2*c.BlockSize() {
				m := &Message{Header: testHeader(ExchangeInformational, 0), Payloads: []Payload{&SK{Body: seq(n, 0)}}}
				b, err := m.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				m, _ = Parse(b)
				if _, err := DecryptMessage(m, c); !errors.Is(err, ErrIntegrity) {
					t.Fatalf("SK body of %d octets: %v, want ErrIntegrity", n, err)
				}
			}
		})
	}
}

func TestDecryptMisuse(t *testing.T) {
	c := testCiphers(t)["AES_GCM_16_256"]
	// No encrypted payload.
	m := mustParse(t, rubM1)
	if _, err := DecryptMessage(m, c); !errors.Is(err, ErrInvalidSyntax) {
		t.Errorf("IKE_SA_INIT: %v", err)
	}
	if _, err := DecryptMessage(&Message{}, c); !errors.Is(err, ErrInvalidSyntax) {
		t.Errorf("empty message: %v", err)
	}
	// A fragment.
	frags, err := Fragment(testHeader(ExchangeIKEAuth, 0), authInner(), c, nil, 600)
	if err != nil {
		t.Fatal(err)
	}
	m, _ = Parse(frags[0])
	if _, err := DecryptMessage(m, c); !errors.Is(err, ErrInvalidSyntax) {
		t.Errorf("fragment: %v", err)
	}
	// A constructed message has no Raw to take the associated data from.
	if _, err := DecryptMessage(&Message{Payloads: []Payload{&SK{Body: seq(64, 0)}}}, c); err == nil {
		t.Errorf("constructed message decrypted")
	}
}

func TestEncryptErrors(t *testing.T) {
	c := testCiphers(t)["AES_CBC_256/HMAC_SHA2_256_128"]
	h := testHeader(ExchangeIKEAuth, 0)
	if _, err := EncryptMessage(h, []Payload{&SK{}}, c, nil); err == nil {
		t.Errorf("SK inside SK encrypted")
	}
	if _, err := EncryptMessage(h, []Payload{&Nonce{}}, c, nil); err == nil {
		t.Errorf("empty nonce encrypted")
	}
	if _, err := EncryptMessage(h, []Payload{&VendorID{Data: make([]byte, 65500)}}, c, nil); err == nil {
		t.Errorf("oversized message encrypted")
	}
	if _, err := EncryptMessage(h, authInner(), c, iotest.ErrReader(io.ErrUnexpectedEOF)); err == nil {
		t.Errorf("encrypted without randomness")
	}
	// A 16-octet nonce needs 11 octets of padding after the 16-octet IV.
	if _, err := EncryptMessage(h, []Payload{&Nonce{Data: seq(16, 0)}}, c, &fixedRand{seq(16, 0)}); err == nil {
		t.Errorf("encrypted without randomness for the padding")
	}
}
