package ike

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	_ "crypto/sha1" // registers crypto.SHA1 for v1Hash
	_ "crypto/sha256"
	_ "crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/ikego/ikego/ike/wire"
)

// v1Hash is the negotiated IKEv1 hash (RFC 2409 Appendix A, Hash Algorithm
// attribute). Its HMAC is the PRF: RFC 2409 Section 5 uses the HMAC version
// of the negotiated hash when no PRF is negotiated, and Appendix A defines
// no PRF values. The hash itself makes the IVs (RFC 2409 Appendix B). Supported:
// crypto.SHA1, crypto.SHA256, crypto.SHA384 and crypto.SHA512; MD5 is
// refused.
type v1Hash = crypto.Hash

// v1HashSupported reports whether h may be an IKEv1 hash here.
func v1HashSupported(h v1Hash) bool {
	switch h {
	case crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512:
		return h.Available()
	}
	return false
}

// v1PRF returns prf(key, data[0] | data[1] | ...), the HMAC of h (RFC 2409
// Section 5, RFC 2104), in a new slice; nil if h is not supported.
func v1PRF(h v1Hash, key []byte, data ...[]byte) []byte {
	if !v1HashSupported(h) {
		return nil
	}
	m := hmac.New(h.New, key)
	for _, d := range data {
		m.Write(d)
	}
	return m.Sum(make([]byte, 0, h.Size()))
}

// v1Cipher is the Phase 1 cipher of an ISAKMP SA (RFC 2409 Appendix A,
// Encryption Algorithm and Key Length attributes): AES-CBC (RFC 3602) with
// KeyBits 128, 192 or 256, or 3DES-CBC with KeyBits 192 or 0 (its key
// length is fixed). AES needs an explicit KeyBits: the session fills it
// from the Key Length attribute.
type v1Cipher struct {
	Alg     wire.V1EncrAlg
	KeyBits int
}

// keyLen returns the key length in octets, or an error for a cipher this
// package does not implement.
func (c v1Cipher) keyLen() (int, error) {
	switch c.Alg {
	case wire.V1EncrAESCBC:
		switch c.KeyBits {
		case 128, 192, 256:
			return c.KeyBits / 8, nil
		}
	case wire.V1Encr3DES:
		switch c.KeyBits {
		case 0, 192:
			return 24, nil
		}
	default:
		return 0, fmt.Errorf("ike: unsupported IKEv1 encryption algorithm %s", c.Alg)
	}
	return 0, fmt.Errorf("ike: unsupported key length %d for IKEv1 %s", c.KeyBits, c.Alg)
}

// newBlock returns the block cipher of c keyed with key, which must have
// the length keyLen returns.
func (c v1Cipher) newBlock(key []byte) (cipher.Block, error) {
	n, err := c.keyLen()
	if err != nil {
		return nil, err
	}
	if len(key) != n {
		return nil, fmt.Errorf("ike: %d-octet key for IKEv1 %s, want %d", len(key), c.Alg, n)
	}
	if c.Alg == wire.V1Encr3DES {
		// RFC 2409 Appendix B asks to reject weak and semi-weak
		// DES keys; for a key derived by a PRF their probability is
		// negligible (about 2^-50), and crypto/des has no check.
		return des.NewTripleDESCipher(key)
	}
	return aes.NewCipher(key)
}

// v1Keys are the keys of an IKEv1 ISAKMP SA (RFC 2409 Section 5) and the
// Phase 1 cipher made from them. They are secret: never log them. A v1Keys
// is not modified after deriveV1Keys returns it; its methods may be called
// concurrently. The IV chains (RFC 2409 Appendix B) are the caller's: the
// methods take an IV and return the next one.
type v1Keys struct {
	hash v1Hash
	// SKEYID authenticates Phase 1 (HASH_I and HASH_R).
	SKEYID []byte
	// SKEYIDd derives the keys of the IPsec SAs (RFC 2409 Section 5.5).
	SKEYIDd []byte
	// SKEYIDa authenticates the messages after Phase 1 (Quick Mode,
	// Informational and Transaction HASH payloads).
	SKEYIDa []byte
	// SKEYIDe is the seed of EncKey.
	SKEYIDe []byte
	// EncKey is the Phase 1 encryption key: SKEYID_e truncated, or
	// expanded as RFC 2409 Appendix B says when it is too short.
	EncKey []byte
	block  cipher.Block
}

// v1SKEYIDPSK returns SKEYID for pre-shared key authentication (RFC 2409
// Section 5): prf(pre-shared-key, Ni_b | Nr_b), where Ni_b and Nr_b are the
// bodies of the nonce payloads. It returns nil for an unsupported hash,
// which deriveV1Keys refuses.
func v1SKEYIDPSK(h v1Hash, psk, ni, nr []byte) []byte {
	return v1PRF(h, psk, ni, nr)
}

// v1SKEYIDSig returns SKEYID for signature authentication (RFC 2409
// Section 5): prf(Ni_b | Nr_b, g^xy). It returns nil for an unsupported
// hash, which deriveV1Keys refuses.
func v1SKEYIDSig(h v1Hash, ni, nr, gxy []byte) []byte {
	key := make([]byte, 0, len(ni)+len(nr))
	key = append(append(key, ni...), nr...)
	return v1PRF(h, key, gxy)
}

// deriveV1Keys derives the keys of an ISAKMP SA from SKEYID (RFC 2409
// Section 5):
//
//	SKEYID_d = prf(SKEYID, g^xy | CKY-I | CKY-R | 0)
//	SKEYID_a = prf(SKEYID, SKEYID_d | g^xy | CKY-I | CKY-R | 1)
//	SKEYID_e = prf(SKEYID, SKEYID_a | g^xy | CKY-I | CKY-R | 2)
//
// with the cookies as 8 octets in network order and the constants as one
// octet, then the encryption key of c from SKEYID_e (RFC 2409 Appendix B).
// The inputs are not retained.
func deriveV1Keys(h v1Hash, c v1Cipher, skeyid, gxy []byte, ckyI, ckyR uint64) (*v1Keys, error) {
	if !v1HashSupported(h) {
		return nil, fmt.Errorf("ike: unsupported IKEv1 hash %v", h)
	}
	n, err := c.keyLen()
	if err != nil {
		return nil, err
	}
	if len(skeyid) == 0 {
		return nil, errors.New("ike: empty SKEYID")
	}
	if len(gxy) == 0 {
		return nil, errors.New("ike: empty shared secret")
	}
	var ckys [16]byte
	binary.BigEndian.PutUint64(ckys[:8], ckyI)
	binary.BigEndian.PutUint64(ckys[8:], ckyR)
	k := &v1Keys{hash: h, SKEYID: append([]byte(nil), skeyid...)}
	k.SKEYIDd = v1PRF(h, skeyid, gxy, ckys[:], []byte{0})
	k.SKEYIDa = v1PRF(h, skeyid, k.SKEYIDd, gxy, ckys[:], []byte{1})
	k.SKEYIDe = v1PRF(h, skeyid, k.SKEYIDa, gxy, ckys[:], []byte{2})
	k.EncKey = v1ExpandKey(h, k.SKEYIDe, n)
	if k.block, err = c.newBlock(k.EncKey); err != nil {
		return nil, err
	}
	return k, nil
}

// v1ExpandKey returns the n-octet encryption key made from SKEYID_e (RFC
// 2409 Appendix B): its first n octets, or when it is shorter
//
//	Ka = K1 | K2 | K3 | ...
//	K1 = prf(SKEYID_e, 0)
//	K2 = prf(SKEYID_e, K1)
//	K3 = prf(SKEYID_e, K2)
//
// cut to n octets, with 0 a single zero octet (as strongSwan's
// keymat_v1.c does).
func v1ExpandKey(h v1Hash, skeyidE []byte, n int) []byte {
	if len(skeyidE) >= n {
		return append([]byte(nil), skeyidE[:n]...)
	}
	out := make([]byte, 0, n+h.Size())
	prev := []byte{0}
	for len(out) < n {
		start := len(out)
		out = append(out, v1PRF(h, skeyidE, prev)...)
		prev = out[start:]
	}
	return out[:n:n]
}

// blockSize returns the block size of the Phase 1 cipher, 0 without one.
func (k *v1Keys) blockSize() int {
	if k.block == nil {
		return 0
	}
	return k.block.BlockSize()
}

// ivHash returns hash(data[0] | data[1] | ...) cut to the block size (RFC
// 2409 Appendix B), in a new slice.
func (k *v1Keys) ivHash(data ...[]byte) []byte {
	if !v1HashSupported(k.hash) || k.block == nil {
		return nil
	}
	d := k.hash.New()
	for _, b := range data {
		d.Write(b)
	}
	iv := d.Sum(nil)
	return iv[:min(len(iv), k.blockSize()):min(len(iv), k.blockSize())]
}

// initialIV returns the IV of the first encrypted Phase 1 message (RFC
// 2409 Appendix B): hash(g^xi | g^xr), the public values of the KE
// payloads of the initiator and of the responder, cut to the block size.
// Each later Phase 1 message uses the last cipher block of the previous one.
func (k *v1Keys) initialIV(gxi, gxr []byte) []byte {
	return k.ivHash(gxi, gxr)
}

// phase2IV returns the first IV of an exchange after Phase 1 (Quick Mode,
// Informational, Transaction) with message ID msgID (RFC 2409 Appendix B
// and Section 5.5): hash(last Phase 1 CBC output block | M-ID), the M-ID in
// network order, cut to the block size. Later messages of the same M-ID
// use the last cipher block of the previous one.
func (k *v1Keys) phase2IV(lastPhase1IV []byte, msgID uint32) []byte {
	return k.ivHash(lastPhase1IV, binary.BigEndian.AppendUint32(nil, msgID))
}

// hashI returns HASH_I (RFC 2409 Section 5):
//
//	HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b)
//
// saiB is the body of the initiator's SA payload (without its generic
// header, wire.V1SA.Body), idiiB that of its ID payload (wire.V1ID.Body).
func (k *v1Keys) hashI(gxi, gxr []byte, ckyI, ckyR uint64, saiB, idiiB []byte) []byte {
	return v1PRF(k.hash, k.SKEYID, gxi, gxr, be64(ckyI), be64(ckyR), saiB, idiiB)
}

// hashR returns HASH_R (RFC 2409 Section 5):
//
//	HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b)
//
// saiB is the body of the initiator's SA payload, idirB that of the
// responder's ID payload.
func (k *v1Keys) hashR(gxi, gxr []byte, ckyI, ckyR uint64, saiB, idirB []byte) []byte {
	return v1PRF(k.hash, k.SKEYID, gxr, gxi, be64(ckyR), be64(ckyI), saiB, idirB)
}

// hashMsg returns prf(SKEYID_a, M-ID | parts[0] | parts[1] | ...), the
// M-ID in network order. It is Quick Mode HASH(1) with parts the payloads
// after the HASH payload, HASH(2) with parts Ni_b and those payloads (RFC
// 2409 Section 5.5), the HASH of Informational exchanges (RFC 2409 Section
// 5.7) and that of Transaction exchanges (Mode Config and XAuth,
// draft-ietf-ipsec-isakmp-mode-cfg-05 Section 3.2). The payloads are
// encoded with their generic headers, as sent (wire.MarshalV1Payloads, or
// the received octets), without the padding of the encrypted body.
func (k *v1Keys) hashMsg(msgID uint32, parts ...[]byte) []byte {
	data := make([][]byte, 0, 1+len(parts))
	data = append(data, binary.BigEndian.AppendUint32(nil, msgID))
	return v1PRF(k.hash, k.SKEYIDa, append(data, parts...)...)
}

// hash3 returns Quick Mode HASH(3) (RFC 2409 Section 5.5):
// prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b), with 0 a single zero octet.
func (k *v1Keys) hash3(msgID uint32, ni, nr []byte) []byte {
	return v1PRF(k.hash, k.SKEYIDa, []byte{0}, binary.BigEndian.AppendUint32(nil, msgID), ni, nr)
}

// keymat returns n octets of keying material for an IPsec SA (RFC 2409
// Section 5.5):
//
//	KEYMAT = K1 | K2 | K3 | ...
//	K1 = prf(SKEYID_d, [ g(qm)^xy | ] protocol | SPI | Ni_b | Nr_b)
//	K2 = prf(SKEYID_d, K1 | [ g(qm)^xy | ] protocol | SPI | Ni_b | Nr_b)
//
// gqm is the Quick Mode shared secret with PFS, nil without; protocol is
// the IPsec protocol (wire.V1ProtocolESP) and spi the SPI of the SA, the
// one its receiver chose, in network order. The encryption key comes
// first, then the integrity key (RFC 2409 Section 5.5; RFC 2407 has no
// other order). n < 1 returns nil.
func (k *v1Keys) keymat(n int, gqm []byte, protocol uint8, spi uint32, ni, nr []byte) []byte {
	if n < 1 || !v1HashSupported(k.hash) {
		return nil
	}
	seed := make([]byte, 0, len(gqm)+5+len(ni)+len(nr))
	seed = append(seed, gqm...)
	seed = append(seed, protocol)
	seed = binary.BigEndian.AppendUint32(seed, spi)
	seed = append(append(seed, ni...), nr...)
	out := make([]byte, 0, n+k.hash.Size())
	m := hmac.New(k.hash.New, k.SKEYIDd)
	var prev []byte
	for len(out) < n {
		m.Reset()
		m.Write(prev)
		m.Write(seed)
		start := len(out)
		out = m.Sum(out)
		prev = out[start:]
	}
	return out[:n:n]
}

// encrypt pads plain and CBC-encrypts it with iv into a new slice (RFC 2409
// Section 5.3 and Appendix B). The padding is 1 to a block size of zero
// octets, a whole block when plain is already aligned: exactly what
// strongSwan 5.9 sends (encrypted_payload.c encrypt_v1); RFC 2408 Section
// 3.5 leaves the padding's contents open and the receiver reads the
// payload chain from the front. next is the last cipher block, the IV of
// the next message of the same chain. iv must be one block: otherwise, or
// without a cipher, encrypt returns nil, nil.
func (k *v1Keys) encrypt(iv, plain []byte) (ct, next []byte) {
	bs := k.blockSize()
	if bs == 0 || len(iv) != bs {
		return nil, nil
	}
	ct = make([]byte, len(plain)+bs-len(plain)%bs)
	copy(ct, plain)
	cipher.NewCBCEncrypter(k.block, iv).CryptBlocks(ct, ct)
	return ct, append([]byte(nil), ct[len(ct)-bs:]...)
}

// decrypt CBC-decrypts ct with iv into a new slice (RFC 2409 Section 5.3
// and Appendix B). ct must be a non-empty multiple of the block size and iv
// one block. The padding is left on: wire.ParseV1Payloads reads the
// payload chain from the front and ignores what follows it. next is the
// last cipher block of ct (a copy), the IV of the next message of the same
// chain: the caller adopts it only once the message has been
// authenticated, so that a forged message cannot break the chain.
func (k *v1Keys) decrypt(iv, ct []byte) (plain, next []byte, err error) {
	bs := k.blockSize()
	switch {
	case bs == 0:
		return nil, nil, errors.New("ike: no IKEv1 cipher")
	case len(iv) != bs:
		return nil, nil, fmt.Errorf("ike: IKEv1 IV of %d octets, want %d", len(iv), bs)
	case len(ct) == 0 || len(ct)%bs != 0:
		return nil, nil, fmt.Errorf("ike: encrypted IKEv1 body of %d octets is not a multiple of the block size %d", len(ct), bs)
	}
	plain = make([]byte, len(ct))
	cipher.NewCBCDecrypter(k.block, iv).CryptBlocks(plain, ct)
	return plain, append([]byte(nil), ct[len(ct)-bs:]...), nil
}

// be64 returns v as 8 octets in network order.
func be64(v uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, v)
}
