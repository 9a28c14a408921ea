package wire

import (
	crand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Cipher is the keyed protection of SK and SKF payloads for one direction
// of an IKE SA: an AEAD algorithm (RFC 5282, RFC 7634), or an encryption
// algorithm combined with an integrity algorithm (RFC 7296 Section 3.14).
// Package ike implements it from the negotiated transforms and SK_e/SK_a;
// this package only frames.
//
// The associated data aad passed to Seal and Open is the message from the
// first octet of the IKE header to the last octet of the SK payload header
// (or of the SKF payload header, Fragment Number and Total Fragments
// included). An AEAD authenticates it as its associated data (RFC 5282
// Section 5.1, RFC 7383 Section 2.5); a non-AEAD combination computes the
// ICV over aad, iv and the ciphertext, which together are the whole message
// up to the Pad Length (RFC 7296 Section 3.14).
type Cipher interface {
	// IVLen returns the length of the Initialization Vector carried in
	// the payload: the block size for CBC, 8 for AES-GCM, AES-CCM and
	// ChaCha20-Poly1305.
	IVLen() int
	// BlockSize returns the alignment of the plaintext, padding and Pad
	// Length: the cipher's block size for CBC, 1 for counter-mode AEADs.
	BlockSize() int
	// ICVLen returns the length of the Integrity Checksum Data (the AEAD
	// tag or the truncated MAC).
	ICVLen() int
	// Seal encrypts plaintext and appends the ciphertext followed by the
	// ICV to dst, returning the result. plaintext may be exactly dst's
	// spare capacity, dst[len(dst):len(dst)+len(plaintext)] (in place,
	// as with cipher.AEAD); iv and aad must not overlap it.
	Seal(dst, iv, plaintext, aad []byte) []byte
	// Open verifies the ICV at the end of ciphertext, and only if it is
	// correct decrypts the rest and appends the plaintext to dst. It
	// must not modify ciphertext unless dst aliases it as in Seal.
	Open(dst, iv, ciphertext, aad []byte) ([]byte, error)
}

// EncryptMessage builds an encrypted message: the header, with Next Payload
// SK and the computed Length, and an SK payload holding the inner payloads
// (RFC 7296 Section 3.14). It reads the IV and then the padding from rand
// (crypto/rand if nil) and pads to the minimum that aligns to
// c.BlockSize().
func EncryptMessage(hdr Header, inner []Payload, c Cipher, rand io.Reader) ([]byte, error) {
	if err := checkInner(inner); err != nil {
		return nil, err
	}
	next := PayloadNone
	if len(inner) > 0 {
		next = inner[0].Type()
	}
	b := hdr.appendTo(make([]byte, 0, 512), PayloadSK, 0)
	b = append(b, byte(next), 0, 0, 0)
	ptStart := HeaderLen + genericHeaderLen + c.IVLen()
	b = append(b, make([]byte, c.IVLen())...)
	b, err := appendChain(b, inner)
	if err != nil {
		return nil, err
	}
	return sealPayload(b, HeaderLen, genericHeaderLen, ptStart, c, rand)
}

// checkInner checks payloads to be encrypted.
func checkInner(inner []Payload) error {
	if err := checkPayloads(inner); err != nil {
		return err
	}
	for _, p := range inner {
		if t := p.Type(); t == PayloadSK || t == PayloadSKF {
			return fmt.Errorf("wire: %s payload inside an encrypted payload", t)
		}
	}
	return nil
}

// sealPayload completes an SK or SKF payload. b holds the message up to the
// plaintext, which starts at ptStart after a zeroed IV; the payload header
// of hdrLen octets starts at off. It fills in the IV and padding from
// rand, sets both length fields and encrypts in place.
func sealPayload(b []byte, off, hdrLen, ptStart int, c Cipher, rand io.Reader) ([]byte, error) {
	if rand == nil {
		rand = crand.Reader
	}
	ivStart := off + hdrLen
	if _, err := io.ReadFull(rand, b[ivStart:ptStart]); err != nil {
		return nil, fmt.Errorf("wire: reading IV: %w", err)
	}
	// RFC 7296 Section 3.14: the payloads, Padding and Pad Length are a
	// multiple of the block size; the Padding may hold any value and the
	// sender uses the minimum.
	bs := max(c.BlockSize(), 1)
	pad := (bs - (len(b)-ptStart+1)%bs) % bs
	padStart := len(b)
	b = append(b, make([]byte, pad)...)
	if _, err := io.ReadFull(rand, b[padStart:]); err != nil {
		return nil, fmt.Errorf("wire: reading padding: %w", err)
	}
	b = append(b, byte(pad))
	total := len(b) + c.ICVLen()
	if total > MaxMessageLen {
		return nil, fmt.Errorf("wire: encrypted message of %d octets", total)
	}
	putLength(b, total)
	payloadLen := total - off
	b[off+2], b[off+3] = byte(payloadLen>>8), byte(payloadLen)

	b = slices.Grow(b, c.ICVLen())
	out := c.Seal(b[:ptStart], b[ivStart:ptStart], b[ptStart:], b[:ivStart])
	if len(out) != total {
		return nil, fmt.Errorf("wire: cipher produced %d octets, want %d", len(out), total)
	}
	return out, nil
}

// DecryptMessage verifies and decrypts the SK payload that ends m and
// returns the payloads inside, which alias a new buffer (m.Raw is not
// modified). m must come from Parse, since the associated data is taken
// from m.Raw.
//
// The ICV is checked first; a failure, or a payload too short to hold an
// IV and ICV or not aligned to the block size, returns an error wrapping
// ErrIntegrity: drop the message silently. A pad length longer than the
// plaintext, or a malformed inner payload, is an authenticated syntax error
// (ErrInvalidSyntax).
func DecryptMessage(m *Message, c Cipher) ([]Payload, error) {
	if len(m.Payloads) == 0 {
		return nil, errSyntax("no encrypted payload")
	}
	switch p := m.Payloads[len(m.Payloads)-1].(type) {
	case *SK:
		if m.Raw == nil {
			return nil, errors.New("wire: DecryptMessage needs a parsed message")
		}
		pt, err := openPayload(m.Raw, p.offset, genericHeaderLen, p.Body, c)
		if err != nil {
			return nil, err
		}
		return ParseInner(p.NextPayload, pt)
	case *SKF:
		return nil, errSyntax("SKF payload: a fragment, to be given to a Reassembler")
	}
	return nil, errSyntax("no encrypted payload")
}

// openPayload verifies and decrypts the body of an SK or SKF payload whose
// header of hdrLen octets starts at off in raw, and returns the plaintext
// payloads without padding and pad length, in a new buffer.
func openPayload(raw []byte, off, hdrLen int, body []byte, c Cipher) ([]byte, error) {
	ivLen, icvLen, bs := c.IVLen(), c.ICVLen(), max(c.BlockSize(), 1)
	aadEnd := off + hdrLen
	if aadEnd > len(raw) {
		return nil, errors.New("wire: encrypted payload is not in the message")
	}
	// RFC 7296 Section 3.14: IV, then at least the Pad Length octet,
	// aligned to the block size, then the ICV.
	if len(body) < ivLen+1+icvLen {
		return nil, newError(ErrIntegrity, "encrypted payload of %d octets", len(body))
	}
	if (len(body)-ivLen-icvLen)%bs != 0 {
		return nil, newError(ErrIntegrity, "ciphertext of %d octets with block size %d", len(body)-ivLen-icvLen, bs)
	}
	pt, err := c.Open(nil, body[:ivLen], body[ivLen:], raw[:aadEnd])
	if err != nil {
		return nil, newError(ErrIntegrity, "%v", err)
	}
	if len(pt) == 0 {
		return nil, errSyntax("empty plaintext")
	}
	// RFC 7296 Section 3.14: the recipient accepts any pad length that
	// results in proper alignment, but not one longer than the data.
	pad := int(pt[len(pt)-1])
	if pad+1 > len(pt) {
		return nil, errSyntax("pad length %d in %d octets of plaintext", pad, len(pt))
	}
	return pt[: len(pt)-1-pad : len(pt)-1-pad], nil
}
