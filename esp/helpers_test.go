package esp

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/ikego/ikego/esp/ipcomp"
)

// testSuite is one algorithm combination the tests run over.
type testSuite struct {
	name    string
	encr    EncrID
	keyBits int
	integ   IntegID
}

var testSuites = []testSuite{
	{"aes128gcm16", EncrAESGCM16, 128, IntegNone},
	{"aes192gcm16", EncrAESGCM16, 192, IntegNone},
	{"aes256gcm16", EncrAESGCM16, 256, IntegNone},
	{"aes128gcm12", EncrAESGCM12, 128, IntegNone},
	{"aes256gcm8", EncrAESGCM8, 256, IntegNone},
	{"chacha20poly1305", EncrChaCha20Poly1305, 256, IntegNone},
	{"aes128-sha1", EncrAESCBC, 128, IntegHMACSHA1_96},
	{"aes192-sha256", EncrAESCBC, 192, IntegHMACSHA256_128},
	{"aes256-sha256", EncrAESCBC, 256, IntegHMACSHA256_128},
	{"aes256-sha384", EncrAESCBC, 256, IntegHMACSHA384_192},
	{"aes256-sha512", EncrAESCBC, 256, IntegHMACSHA512_256},
	{"3des-sha1", EncrDES3, 192, IntegHMACSHA1_96},
	{"null-sha256", EncrNull, 0, IntegHMACSHA256_128},
}

// detRand is a deterministic byte source for keys.
type detRand struct{ r *rand.ChaCha8 }

func newDetRand(seed byte) *detRand {
	var s [32]byte
	s[0] = seed
	return &detRand{rand.NewChaCha8(s)}
}

func (d *detRand) Read(p []byte) (int, error) { return d.r.Read(p) }

// keys returns keying material for s.
func (s testSuite) keys(r *detRand) (encr, integ []byte) {
	el, ok := s.encr.KeyLen(s.keyBits)
	if !ok {
		panic("bad test suite " + s.name)
	}
	il, _ := s.integ.KeyLen()
	encr, integ = make([]byte, el), make([]byte, il)
	r.Read(encr)
	r.Read(integ)
	return encr, integ
}

// pairOpts varies the SA pair a test builds.
type pairOpts struct {
	mode    Mode
	v6      bool
	esn     bool
	window  int
	ipcomp  bool
	tfc     int
	natOrig netip.Addr // the sender's own address before NAT (transport mode)
}

var (
	addrA4 = netip.MustParseAddr("198.51.100.1")
	addrB4 = netip.MustParseAddr("198.51.100.2")
	addrA6 = netip.MustParseAddr("2001:db8:0:1::1")
	addrB6 = netip.MustParseAddr("2001:db8:0:1::2")
)

// newPair returns the outbound SA of A and the matching inbound SA of B.
func newPair(t testing.TB, s testSuite, o pairOpts) (out, in *SA) {
	t.Helper()
	ek, ik := s.keys(newDetRand(1))
	a, b := addrA4, addrB4
	if o.v6 {
		a, b = addrA6, addrB6
	}
	p := SAParams{
		SPI: 0xc0ffee01, Mode: o.mode, Encr: s.encr, EncrKey: ek, Integ: s.integ, IntegKey: ik,
		ESN: o.esn, Local: netip.AddrPortFrom(a, 0), Remote: netip.AddrPortFrom(b, 0),
		TFCPadding: o.tfc, Rand: newDetRand(2),
	}
	if o.ipcomp {
		p.IPComp = &ipcomp.Compressor{CPI: 0x1234}
	}
	var err error
	if out, err = NewSA(p); err != nil {
		t.Fatal(err)
	}
	p.Local, p.Remote = p.Remote, p.Local
	p.ReplayWindow = o.window
	p.TFCPadding = 0
	if o.natOrig.IsValid() {
		p.OrigRemote = o.natOrig
	}
	if in, err = NewSA(p); err != nil {
		t.Fatal(err)
	}
	return out, in
}

// udpPacket builds an IP packet carrying a UDP datagram with a valid
// checksum from src to dst; compressible selects a payload DEFLATE shrinks.
func udpPacket(src, dst netip.Addr, payloadLen int, compressible bool, seed byte) []byte {
	payload := make([]byte, payloadLen)
	if compressible {
		for i := range payload {
			payload[i] = "ikego ESP test "[i%15]
		}
	} else {
		newDetRand(seed).Read(payload)
	}
	udp := make([]byte, 8+payloadLen)
	binary.BigEndian.PutUint16(udp[0:], 1701)
	binary.BigEndian.PutUint16(udp[2:], 1701)
	binary.BigEndian.PutUint16(udp[4:], uint16(len(udp)))
	copy(udp[8:], payload)
	c := ^udpChecksum(udp, src, dst)
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(udp[6:], c)
	hl := 20
	if src.Is6() {
		hl = 40
	}
	pkt := make([]byte, hl+len(udp))
	putIPHeader(pkt[:hl], src, dst, ProtoUDP, len(udp))
	copy(pkt[hl:], udp)
	return pkt
}

// inBuf returns a buffer with Headroom before and Tailroom after a copy of
// pkt, and the offset of pkt in it.
func inBuf(pkt []byte) ([]byte, int) {
	b := make([]byte, Headroom+len(pkt), Headroom+len(pkt)+Tailroom+65536)
	copy(b[Headroom:], pkt)
	return b, Headroom
}

func mustEqual(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s:\n got %x\nwant %x", what, got, want)
	}
}
