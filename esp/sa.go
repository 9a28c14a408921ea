package esp

import (
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"fmt"
	"hash"
	"io"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/ikego/ikego/esp/ipcomp"
)

// Mode is the IPsec mode of an SA (RFC 4301 §4.1).
type Mode uint8

// The two modes.
const (
	// ModeTunnel protects whole IP packets (next header 4 or 41).
	ModeTunnel Mode = iota
	// ModeTransport protects the payload of an IP packet between the two
	// endpoints themselves.
	ModeTransport
)

// String returns "tunnel" or "transport".
func (m Mode) String() string {
	switch m {
	case ModeTunnel:
		return "tunnel"
	case ModeTransport:
		return "transport"
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// Buffer space Seal and Open need around a packet. Buffers with this much room
// before and after the packet never make Seal or Open allocate.
const (
	// Headroom is the most room Seal needs before the packet (ESP header and
	// IV), and Open in transport mode (to rebuild an IPv6 header).
	Headroom = 64
	// Tailroom is the most room Seal needs after the packet: TFC padding
	// aside, padding, pad length, next header, ICV, and scratch space for the
	// nonce, the AAD and the untruncated HMAC.
	Tailroom = 256
)

// SAParams describes one direction of an ESP SA: everything IKE (or a manual
// key file) negotiated for it. The zero value is not usable: SPI, Encr and
// the keys must be set.
type SAParams struct {
	SPI  uint32 // the SPI in the ESP header; 0-255 are reserved (RFC 4303 §2.1)
	Mode Mode

	// Encr and EncrKey: the cipher and its keying material; for AES-GCM and
	// ChaCha20-Poly1305 the key followed by the 4-octet salt (RFC 4106 §8.1,
	// RFC 7634 §2).
	Encr    EncrID
	EncrKey []byte
	// Integ and IntegKey: the HMAC for non-AEAD ciphers; IntegNone with
	// AEADs. EncrNull requires an integrity algorithm.
	Integ    IntegID
	IntegKey []byte

	// ESN selects 64-bit extended sequence numbers (RFC 4303 §2.2.1).
	ESN bool
	// ReplayWindow is the anti-replay window of an inbound SA in packets;
	// 0 turns replay checking off. At most MaxReplayWindow.
	ReplayWindow int

	// Local and Remote are the SA's outer endpoints: the source and
	// destination of outbound packets, the destination and source of inbound
	// ones. Transport-mode Open builds the IP header from them. A non-zero
	// port means UDP encapsulation (RFC 3948) on that port.
	Local, Remote netip.AddrPort
	// OrigLocal and OrigRemote are the addresses the peer used for the two
	// ends before NAT (IKE's NAT-OA, RFC 3947 §5.2, RFC 7296 §2.23.1). In
	// transport mode Open fixes the TCP and UDP checksums of received
	// packets from them to Local and Remote (RFC 3948 §3.1.2). Zero when
	// there is no NAT.
	OrigLocal, OrigRemote netip.Addr

	// IPComp, when set, compresses outbound payloads with DEFLATE and
	// accepts compressed inbound ones (RFC 3173). Its CPI is the one the peer
	// chose for the direction of this SA.
	IPComp *ipcomp.Compressor

	// TFCPadding pads outbound tunnel-mode packets with zeros to at least
	// this many octets of inner packet (RFC 4303 §2.7); 0 turns it off.
	TFCPadding int

	// Rand is the randomness for CBC IV generation keys; nil means
	// crypto/rand.
	Rand io.Reader
}

// Stats are an SA's counters. Every received packet that Open rejects is
// counted once, by its error.
type Stats struct {
	Packets, Bytes uint64 // protected or verified packets, and their ESP payload octets (after IPComp)

	UnknownSPI, Auth, Replay, Padding, Truncated, TooBig, Dummy, NextHeader, Compression uint64
}

// SA is one direction of an ESP security association. Seal and Open are safe
// for concurrent use: many goroutines may protect or verify packets of one SA
// at once. The keys are not retained beyond the cipher state built from them.
type SA struct {
	spi        uint32
	mode       Mode
	encr       *encrAlg
	integ      *integAlg
	esn        bool
	hdrLen     int // SPI + sequence number + IV
	slack      int // octets an AEAD writes past the ICV before truncating
	icvLen     int
	align      int
	tfc        int
	local      netip.AddrPort
	remote     netip.AddrPort
	origLocal  netip.Addr
	origRemote netip.Addr
	comp       *ipcomp.Compressor

	aead  cipher.AEAD
	salt  [4]byte
	block cipher.Block // CBC and 3DES
	ivGen cipher.Block // encrypts sequence numbers into unpredictable CBC IVs
	pool  sync.Pool    // *cbcState: per-call CBC and HMAC state
	comps sync.Pool    // *[]byte: IPComp scratch buffers

	seq    atomic.Uint64 // last sequence number sent
	replay replayWindow

	// testIV, set by tests only, replaces the IV Seal would choose.
	testIV func(seq uint64) []byte

	packets, bytes                                                 atomic.Uint64
	errSPI, errAuth, errReplay, errPad, errTrunc, errBig, errDummy atomic.Uint64
	errNext, errComp                                               atomic.Uint64
}

// cbcState is the mutable state one Seal or Open of a CBC+HMAC SA needs.
type cbcState struct {
	enc, dec     cipher.BlockMode
	encIV, decIV ivSetter
	mac          hash.Hash
}

type ivSetter interface{ SetIV([]byte) }

// NewSA checks p and builds the SA's cipher state. The error names the field
// that is wrong.
func NewSA(p SAParams) (*SA, error) {
	if p.SPI < 256 {
		return nil, fmt.Errorf("esp: SPI %#x is reserved", p.SPI)
	}
	if p.Mode != ModeTunnel && p.Mode != ModeTransport {
		return nil, fmt.Errorf("esp: unknown mode %d", p.Mode)
	}
	e, ok := encrAlgs[p.Encr]
	if !ok {
		return nil, fmt.Errorf("esp: unknown encryption algorithm %d", p.Encr)
	}
	keyLen := len(p.EncrKey) - e.saltLen
	okKey := false
	for _, l := range e.keyLens {
		okKey = okKey || l == keyLen
	}
	if !okKey {
		return nil, fmt.Errorf("esp: %v takes no %d-octet key", p.Encr, len(p.EncrKey))
	}
	if p.ReplayWindow < 0 || p.ReplayWindow > MaxReplayWindow {
		return nil, fmt.Errorf("esp: replay window %d outside 0..%d", p.ReplayWindow, MaxReplayWindow)
	}
	if p.Mode == ModeTransport {
		l, r := p.Local.Addr(), p.Remote.Addr()
		if !l.IsValid() || !r.IsValid() || l.Is4() != r.Is4() {
			return nil, fmt.Errorf("esp: transport mode needs Local and Remote addresses of one family (got %v, %v)", l, r)
		}
	}
	if p.TFCPadding < 0 || p.TFCPadding > 65535 {
		return nil, fmt.Errorf("esp: TFC padding %d outside 0..65535", p.TFCPadding)
	}
	sa := &SA{
		spi: p.SPI, mode: p.Mode, encr: e, esn: p.ESN, align: e.blockSize,
		hdrLen: 8 + e.ivLen, tfc: p.TFCPadding, comp: p.IPComp,
		local: p.Local, remote: p.Remote, origLocal: p.OrigLocal, origRemote: p.OrigRemote,
	}
	if e.aead != nil {
		if p.Integ != IntegNone {
			return nil, fmt.Errorf("esp: %v is an AEAD and takes no integrity algorithm (got %v)", p.Encr, p.Integ)
		}
		aead, err := e.aead(p.EncrKey[:keyLen], e.icvLen)
		if err != nil {
			return nil, fmt.Errorf("esp: %v: %w", p.Encr, err)
		}
		sa.aead = aead
		copy(sa.salt[:], p.EncrKey[keyLen:])
		sa.icvLen = e.icvLen
		if _, short := aead.(*shortGCM); short {
			sa.slack = 16 - e.icvLen
		}
	} else {
		ia, ok := integAlgs[p.Integ]
		if !ok {
			return nil, fmt.Errorf("esp: %v needs an integrity algorithm (got %v)", p.Encr, p.Integ)
		}
		if len(p.IntegKey) != ia.keyLen {
			return nil, fmt.Errorf("esp: %v takes a %d-octet key, not %d", p.Integ, ia.keyLen, len(p.IntegKey))
		}
		sa.integ = ia
		sa.icvLen = ia.icvLen
		if e.block != nil {
			b, err := e.block(p.EncrKey)
			if err != nil {
				return nil, fmt.Errorf("esp: %v: %w", p.Encr, err)
			}
			sa.block = b
			// RFC 3602 §2.3: CBC IVs must be unpredictable. Encrypting the
			// sequence number under a second, random key of the same cipher
			// gives that without a random read per packet (the method of
			// NIST SP 800-38A Appendix C).
			r := p.Rand
			if r == nil {
				r = rand.Reader
			}
			ivKey := make([]byte, len(p.EncrKey))
			if _, err := io.ReadFull(r, ivKey); err != nil {
				return nil, fmt.Errorf("esp: IV key: %w", err)
			}
			if sa.ivGen, err = e.block(ivKey); err != nil {
				return nil, fmt.Errorf("esp: IV key: %w", err)
			}
		}
		integKey := append([]byte(nil), p.IntegKey...)
		block, zeroIV := sa.block, make([]byte, e.ivLen)
		sa.pool.New = func() any {
			st := &cbcState{mac: hmac.New(ia.hash, integKey)}
			if block != nil {
				st.enc = cipher.NewCBCEncrypter(block, zeroIV)
				st.dec = cipher.NewCBCDecrypter(block, zeroIV)
				st.encIV, _ = st.enc.(ivSetter)
				st.decIV, _ = st.dec.(ivSetter)
			}
			return st
		}
	}
	if sa.integ != nil && sa.block != nil {
		if st := sa.pool.Get().(*cbcState); st.encIV == nil || st.decIV == nil {
			return nil, fmt.Errorf("esp: %v: the cipher's CBC mode cannot change its IV", p.Encr)
		} else {
			sa.pool.Put(st)
		}
	}
	sa.replay.init(p.ReplayWindow)
	if p.IPComp != nil {
		sa.comps.New = func() any { b := make([]byte, 65536); return &b }
	}
	return sa, nil
}

// SPI returns the SA's SPI.
func (sa *SA) SPI() uint32 { return sa.spi }

// Mode returns the SA's mode.
func (sa *SA) Mode() Mode { return sa.mode }

// HeaderLen returns the octets Seal puts before the payload: SPI, sequence
// number and IV.
func (sa *SA) HeaderLen() int { return sa.hdrLen }

// Overhead returns the octets ESP adds to a payload of n octets, IPComp and
// TFC padding aside (for MTU and MSS calculations).
func (sa *SA) Overhead(n int) int {
	return sa.hdrLen + sa.padLen(n) + 2 + sa.icvLen
}

// padLen returns the padding for a payload of n octets: the least that makes
// payload, padding, pad length and next header a multiple of the cipher's
// block size (RFC 4303 §2.4).
func (sa *SA) padLen(n int) int {
	return (sa.align - (n+2)%sa.align) % sa.align
}

// Stats returns a snapshot of the SA's counters.
func (sa *SA) Stats() Stats {
	pk, by := sa.Usage()
	return Stats{
		Packets: pk, Bytes: by,
		UnknownSPI: sa.errSPI.Load(), Auth: sa.errAuth.Load(), Replay: sa.errReplay.Load(),
		Padding: sa.errPad.Load(), Truncated: sa.errTrunc.Load(), TooBig: sa.errBig.Load(),
		Dummy: sa.errDummy.Load(), NextHeader: sa.errNext.Load(), Compression: sa.errComp.Load(),
	}
}

// Usage returns the packets and ESP payload octets (after IPComp) the SA
// protected or verified: what lifetimes in packets and bytes count.
func (sa *SA) Usage() (packets, bytes uint64) {
	pk, by := sa.replay.usage()
	return sa.packets.Load() + pk, sa.bytes.Load() + by
}

// NextSeq reserves the next outbound sequence number. Without ESN the numbers
// end at 2^32-1; after that NextSeq returns ErrSeqOverflow until the SA is
// replaced (RFC 4303 §3.3.3: the counter must not cycle).
func (sa *SA) NextSeq() (uint64, error) {
	s := sa.seq.Add(1)
	if (!sa.esn && s > 0xffffffff) || s == 0 {
		sa.seq.Store(^uint64(0)) // the next Add wraps to 0: stay exhausted
		return 0, ErrSeqOverflow
	}
	return s, nil
}

// LastSeq returns the highest outbound sequence number reserved so far, or on
// an inbound SA the highest verified one.
func (sa *SA) LastSeq() uint64 {
	if s := sa.seq.Load(); s != 0 {
		return s
	}
	return sa.replay.top.Load()
}

// count records err against the SA's counters and returns it.
func (sa *SA) count(err error) error {
	switch err {
	case ErrUnknownSPI:
		sa.errSPI.Add(1)
	case ErrAuth:
		sa.errAuth.Add(1)
	case ErrReplay:
		sa.errReplay.Add(1)
	case ErrPadding:
		sa.errPad.Add(1)
	case ErrTruncated:
		sa.errTrunc.Add(1)
	case ErrTooBig, ErrNoRoom:
		sa.errBig.Add(1)
	case ErrDummy:
		sa.errDummy.Add(1)
	case ErrNextHeader:
		sa.errNext.Add(1)
	case ErrCompression:
		sa.errComp.Add(1)
	}
	return err
}
