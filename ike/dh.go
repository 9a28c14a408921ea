package ike

import (
	"crypto/ecdh"
	crand "crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/ikego/ikego/ike/wire"
)

// Group is a key exchange method, numbered as IKEv2 Transform Type 4 (IANA
// "Transform Type 4 - Key Exchange Method Transform IDs"); it is also the
// group of a KE payload (RFC 7296 Section 3.4). Its numbers are those of
// wire.DHGroup.
type Group uint16

// The key exchange methods this package implements, and GroupNone.
const (
	// GroupNone is no key exchange: in an ESP proposal, PFS optional.
	GroupNone Group = 0
	// GroupMODP1024 is the 1024-bit MODP group of RFC 2409 Section 6.2.
	// Legacy: accepted only when configured explicitly.
	GroupMODP1024 Group = 2
	// GroupMODP1536 is the 1536-bit MODP group of RFC 3526 Section 2.
	// Legacy: accepted only when configured explicitly.
	GroupMODP1536 Group = 5
	GroupMODP2048 Group = 14 // RFC 3526 Section 3
	GroupMODP3072 Group = 15 // RFC 3526 Section 4
	GroupMODP4096 Group = 16 // RFC 3526 Section 5
	GroupECP256   Group = 19 // RFC 5903 Section 3.1, NIST P-256
	GroupECP384   Group = 20 // RFC 5903 Section 3.2, NIST P-384
	GroupECP521   Group = 21 // RFC 5903 Section 3.3, NIST P-521
	// GroupCurve25519 is X25519 (RFC 8031, RFC 7748).
	GroupCurve25519 Group = 31
)

// Groups returns every group NewKeyShare implements, strongest-first
// within each kind, legacy MODP groups last.
func Groups() []Group {
	return []Group{GroupCurve25519, GroupECP256, GroupECP384, GroupECP521,
		GroupMODP2048, GroupMODP3072, GroupMODP4096, GroupMODP1536, GroupMODP1024}
}

// String returns the group's name as strongSwan logs it, such as
// "MODP_2048", "ECP_256" or "CURVE_25519".
func (g Group) String() string {
	if info, ok := transformInfos[transformKey{wire.TransformKE, uint16(g)}]; ok {
		return info.name
	}
	return wire.DHGroup(g).String()
}

// Supported reports whether NewKeyShare implements g.
func (g Group) Supported() bool {
	_, ok := groupInfos[g]
	return ok
}

// PublicLen returns the length of the key exchange data of a KE payload for
// g (RFC 7296 Section 3.4, RFC 5903 Section 7, RFC 8031 Section 2), and 0
// for an unsupported group.
func (g Group) PublicLen() int {
	info, ok := groupInfos[g]
	if !ok {
		return 0
	}
	if info.curve != nil {
		if g == GroupCurve25519 {
			return info.coordLen
		}
		return 2 * info.coordLen
	}
	return info.pLen
}

// groupInfo describes a group: a MODP prime and exponent size, or an
// elliptic curve.
type groupInfo struct {
	// MODP (RFC 3526): p, its length in octets, and the length of the
	// private exponent in octets. The generator is 2 for all of them.
	p        *big.Int
	pm1      *big.Int // p - 1
	pLen     int
	expLen   int
	curve    ecdh.Curve
	coordLen int // octets of a coordinate (of the u-coordinate for X25519)
}

// The MODP primes, written out in hex as in the RFCs. Each is
// 2^n - 2^(n-64) - 1 + 2^64 * (floor(2^(n-130) pi) + k); the tests recompute
// them from pi and check that they are safe primes.
const (
	// RFC 2409 Section 6.2, the Second Oakley Group.
	modp1024P = "" +
		"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74" +
		"020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437" +
		"4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
		"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF"
	// RFC 3526 Section 2.
	modp1536P = "" +
		"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74" +
		"020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437" +
		"4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
		"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05" +
		"98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB" +
		"9ED529077096966D670C354E4ABC9804F1746C08CA237327FFFFFFFFFFFFFFFF"
	// RFC 3526 Section 3.
	modp2048P = "" +
		"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74" +
		"020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437" +
		"4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
		"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05" +
		"98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB" +
		"9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B" +
		"E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718" +
		"3995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF"
	// RFC 3526 Section 4.
	modp3072P = "" +
		"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74" +
		"020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437" +
		"4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
		"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05" +
		"98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB" +
		"9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B" +
		"E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718" +
		"3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33" +
		"A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7" +
		"ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864" +
		"D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2" +
		"08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF"
	// RFC 3526 Section 5.
	modp4096P = "" +
		"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74" +
		"020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437" +
		"4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
		"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05" +
		"98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB" +
		"9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B" +
		"E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718" +
		"3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33" +
		"A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7" +
		"ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864" +
		"D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2" +
		"08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A92108011A723C12A787E6D7" +
		"88719A10BDBA5B2699C327186AF4E23C1A946834B6150BDA2583E9CA2AD44CE8" +
		"DBBBC2DB04DE8EF92E8EFC141FBECAA6287C59474E6BC05D99B2964FA090C3A2" +
		"233BA186515BE7ED1F612970CEE2D7AFB81BDD762170481CD0069127D5B05AA9" +
		"93B4EA988D8FDDC186FFB7DC90A6C08F4DF435C934063199FFFFFFFFFFFFFFFF"
)

// modpGroup builds the description of a MODP group. expBits is the private
// exponent size: twice the group's strength estimate (the upper column of
// RFC 3526 Section 8; 160 bits for the 80-bit 1024-bit group), since the
// best attack on a short exponent costs the square root of its range.
func modpGroup(hexP string, expBits int) *groupInfo {
	p, ok := new(big.Int).SetString(hexP, 16)
	if !ok {
		panic("ike: bad MODP prime")
	}
	return &groupInfo{p: p, pm1: new(big.Int).Sub(p, big.NewInt(1)), pLen: (p.BitLen() + 7) / 8, expLen: (expBits + 7) / 8}
}

var groupInfos = map[Group]*groupInfo{
	GroupMODP1024:   modpGroup(modp1024P, 160),
	GroupMODP1536:   modpGroup(modp1536P, 240),
	GroupMODP2048:   modpGroup(modp2048P, 320),
	GroupMODP3072:   modpGroup(modp3072P, 420),
	GroupMODP4096:   modpGroup(modp4096P, 480),
	GroupECP256:     {curve: ecdh.P256(), coordLen: 32},
	GroupECP384:     {curve: ecdh.P384(), coordLen: 48},
	GroupECP521:     {curve: ecdh.P521(), coordLen: 66},
	GroupCurve25519: {curve: ecdh.X25519(), coordLen: 32},
}

var bigTwo = big.NewInt(2)

// ErrInvalidKE is wrapped by every KEError: the peer's key exchange data is
// malformed or fails the checks of RFC 7296 Section 2.12 and RFC 6989. The
// session answers a request carrying it with INVALID_SYNTAX.
var ErrInvalidKE = errors.New("ike: invalid key exchange data")

// ErrUnsupportedGroup is returned by NewKeyShare for a group it does not
// implement. A KE payload of a group that was not selected is answered with
// INVALID_KE_PAYLOAD naming the selected group (RFC 7296 Sections 1.2 and
// 3.4).
var ErrUnsupportedGroup = errors.New("ike: unsupported key exchange method")

// KEError reports unusable key exchange data received from the peer.
type KEError struct {
	Group Group
	// Malformed is true if the data has the wrong length for the group
	// (RFC 7296 Section 3.4), false if it is the right size but not a
	// valid public value.
	Malformed bool
	Reason    string
}

// Error returns a message such as "ike: ECP_256 key exchange data: point
// not on the curve".
func (e *KEError) Error() string {
	return "ike: " + e.Group.String() + " key exchange data: " + e.Reason
}

// Unwrap returns ErrInvalidKE.
func (e *KEError) Unwrap() error { return ErrInvalidKE }

// KeyShare is one side of a key exchange: an ephemeral private key of a
// group and its public value. It is not safe for concurrent use; Public and
// Shared may be called any number of times.
//
// MODP groups use math/big, whose arithmetic is not constant time; the
// elliptic curve groups use crypto/ecdh, which is.
type KeyShare struct {
	group Group
	info  *groupInfo
	pub   []byte
	x     *big.Int         // MODP private exponent
	priv  *ecdh.PrivateKey // ECP and Curve25519
}

// NewKeyShare generates a key share of group g with randomness from rand
// (crypto/rand if nil). Unlike crypto/ecdh's GenerateKey, which ignores its
// reader since Go 1.26, it reads the private key from rand itself, so a
// deterministic Rand in tests gives deterministic key shares. An
// unsupported group returns an error wrapping ErrUnsupportedGroup.
func NewKeyShare(g Group, rand io.Reader) (*KeyShare, error) {
	info, ok := groupInfos[g]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnsupportedGroup, g)
	}
	if rand == nil {
		rand = crand.Reader
	}
	n := info.expLen
	if info.curve != nil {
		n = info.coordLen
	}
	buf := make([]byte, n)
	// Rejection sampling: a NIST scalar must be in [1, n-1], a MODP
	// exponent at least 2. A retry is rare (P-521: the top byte is
	// masked to one bit; the others: a chance of about 2^-32 or less).
	for range 64 {
		if _, err := io.ReadFull(rand, buf); err != nil {
			return nil, fmt.Errorf("ike: generating %s key share: %w", g, err)
		}
		if g == GroupECP521 {
			buf[0] &= 0x01
		}
		if ks, err := newKeyShareFromPrivate(g, buf); err == nil {
			return ks, nil
		}
	}
	return nil, fmt.Errorf("ike: generating %s key share: no valid private key from the random source", g)
}

// newKeyShareFromPrivate makes a key share from a given private key: the
// big-endian MODP exponent, the NIST scalar or the X25519 scalar.
func newKeyShareFromPrivate(g Group, private []byte) (*KeyShare, error) {
	info, ok := groupInfos[g]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnsupportedGroup, g)
	}
	ks := &KeyShare{group: g, info: info}
	if info.curve != nil {
		priv, err := info.curve.NewPrivateKey(private)
		if err != nil {
			return nil, err
		}
		ks.priv = priv
		pub := priv.PublicKey().Bytes()
		if g != GroupCurve25519 {
			// RFC 5903 Section 7: x || y, without SEC1's 0x04 prefix.
			pub = pub[1:]
		}
		ks.pub = pub
		return ks, nil
	}
	x := new(big.Int).SetBytes(private)
	if x.Cmp(bigTwo) < 0 {
		return nil, errors.New("ike: MODP exponent below 2")
	}
	ks.x = x
	// RFC 7296 Section 3.4: the public value is padded with zeros to
	// the length of the prime.
	ks.pub = new(big.Int).Exp(bigTwo, x, info.p).FillBytes(make([]byte, info.pLen))
	return ks, nil
}

// Group returns the group of the key share.
func (k *KeyShare) Group() Group { return k.group }

// Public returns the key exchange data for a KE payload: for MODP groups
// g^x as a big-endian integer of the prime's length (RFC 7296 Section 3.4),
// for ECP groups x || y of the point, each coordinate of the field's length
// (RFC 5903 Section 7), for Curve25519 the 32-octet u-coordinate (RFC 8031
// Section 2). The caller must not modify it.
func (k *KeyShare) Public() []byte { return k.pub }

// Shared computes the shared secret g^ir from the peer's key exchange data,
// in the encoding RFC 7296 Section 2.14 feeds to the PRF: for MODP, a
// big-endian integer of the prime's length; for ECP, the x-coordinate of
// the shared point (RFC 5903 Section 7); for Curve25519, the 32-octet
// output of X25519 (RFC 8031 Section 2).
//
// The peer's value is checked first (RFC 7296 Section 2.12, RFC 6989): a
// MODP value must satisfy 1 < y < p-1, which is all RFC 6989 Section 2.1
// requires for safe-prime groups such as all the MODP groups here (their
// only small subgroup is {1, p-1}); an ECP point must be on the curve and
// not the point at infinity (RFC 6989 Section 2.3; crypto/ecdh checks the
// 0x04-prefixed form); an X25519 result of all zeros, from a low-order
// point, is refused (RFC 8031 Section 2). Failures return a *KEError.
func (k *KeyShare) Shared(peer []byte) ([]byte, error) {
	if want := k.group.PublicLen(); len(peer) != want {
		return nil, &KEError{Group: k.group, Malformed: true, Reason: fmt.Sprintf("%d octets, want %d", len(peer), want)}
	}
	if k.priv != nil {
		return k.sharedECDH(peer)
	}
	y := new(big.Int).SetBytes(peer)
	// RFC 6989 Section 2.1: 1 < y < p-1.
	if y.Cmp(bigTwo) < 0 || y.Cmp(k.info.pm1) >= 0 {
		return nil, &KEError{Group: k.group, Reason: "public value outside 1 < y < p-1 (RFC 6989 Section 2.1)"}
	}
	z := new(big.Int).Exp(y, k.x, k.info.p)
	// With y in range, y has order q or 2q and x < q, so z is never 1;
	// checked anyway, as the cost is nothing next to Exp.
	if z.Cmp(bigTwo) < 0 {
		return nil, &KEError{Group: k.group, Reason: "degenerate shared secret"}
	}
	return z.FillBytes(make([]byte, k.info.pLen)), nil
}

func (k *KeyShare) sharedECDH(peer []byte) ([]byte, error) {
	encoded := peer
	if k.group != GroupCurve25519 {
		// RFC 5903 Section 7: the KE data is x || y; crypto/ecdh wants
		// the uncompressed SEC1 form.
		encoded = make([]byte, 1+len(peer))
		encoded[0] = 4
		copy(encoded[1:], peer)
	}
	pub, err := k.info.curve.NewPublicKey(encoded)
	if err != nil {
		return nil, &KEError{Group: k.group, Reason: "point not on the curve (RFC 6989 Section 2.3)"}
	}
	shared, err := k.priv.ECDH(pub)
	if err != nil {
		// crypto/ecdh refuses an all-zero X25519 output.
		return nil, &KEError{Group: k.group, Reason: "all-zero shared secret (RFC 8031 Section 2)"}
	}
	if k.group == GroupCurve25519 && subtle.ConstantTimeCompare(shared, make([]byte, len(shared))) == 1 {
		return nil, &KEError{Group: k.group, Reason: "all-zero shared secret (RFC 8031 Section 2)"}
	}
	return shared, nil
}
