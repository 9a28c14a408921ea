package ike

import (
	"crypto/sha1"
	"crypto/subtle"
	"encoding/binary"
	"io"
	"net/netip"
)

// NAT detection (RFC 7296 §2.23): each side sends, in IKE_SA_INIT, the hash
// of the addresses and ports it believes the packet has. A peer whose
// computed hash of the packet's real source differs is behind a NAT; when
// the hash of our own address differs, we are.

// NATHashLen is the length of a NAT_DETECTION_*_IP notification's data.
const NATHashLen = sha1.Size

// NATHash returns SHA-1(SPIi | SPIr | IP | Port), the data of a
// NAT_DETECTION_SOURCE_IP or NAT_DETECTION_DESTINATION_IP notification for
// the address and port ap (RFC 7296 §2.23). In the IKE_SA_INIT request SPIr
// is zero.
func NATHash(spii, spir uint64, ap netip.AddrPort) [NATHashLen]byte {
	var b [8 + 8 + 16 + 2]byte // on the stack: no allocation
	m := binary.BigEndian.AppendUint64(b[:0], spii)
	m = binary.BigEndian.AppendUint64(m, spir)
	if a := ap.Addr().Unmap(); a.Is4() {
		v := a.As4()
		m = append(m, v[:]...)
	} else {
		v := a.As16()
		m = append(m, v[:]...)
	}
	m = binary.BigEndian.AppendUint16(m, ap.Port())
	return sha1.Sum(m)
}

// FakeNATHash returns random NAT detection data, which makes the peer
// believe we are behind a NAT and so use UDP encapsulation (strongSwan's
// `encap = yes`, and what its kernel-libipsec peers always do).
func FakeNATHash(r io.Reader) ([NATHashLen]byte, error) {
	var out [NATHashLen]byte
	_, err := io.ReadFull(r, out[:])
	return out, err
}

// NATResult is what NAT detection found.
type NATResult struct {
	// LocalBehindNAT: the peer saw a different address or port for us than
	// we have (its DESTINATION_IP hash did not match ours).
	LocalBehindNAT bool
	// RemoteBehindNAT: the packet came from an address or port none of the
	// peer's SOURCE_IP hashes describe.
	RemoteBehindNAT bool
}

// Any reports whether either side is behind a NAT, so that the IKE SA
// floats to the NAT-T port and ESP is UDP-encapsulated (RFC 7296 §2.23).
func (r NATResult) Any() bool { return r.LocalBehindNAT || r.RemoteBehindNAT }

// DetectNAT compares the notifications received in an IKE_SA_INIT message
// with the addresses the message really had: local is where it arrived,
// remote where it came from. srcHashes are the data of every
// NAT_DETECTION_SOURCE_IP notification (a multihomed peer sends several),
// dstHash that of the NAT_DETECTION_DESTINATION_IP one. ok is false when the
// peer sent no NAT detection at all (it does not support it: no NAT is
// assumed, as RFC 7296 §2.23 implies). The comparison is constant time, for
// what it is worth with public data.
func DetectNAT(spii, spir uint64, local, remote netip.AddrPort, srcHashes [][]byte, dstHash []byte) (r NATResult, ok bool) {
	if len(srcHashes) == 0 && dstHash == nil {
		return NATResult{}, false
	}
	if dstHash != nil {
		want := NATHash(spii, spir, local)
		r.LocalBehindNAT = subtle.ConstantTimeCompare(want[:], dstHash) != 1
	}
	if len(srcHashes) > 0 {
		want := NATHash(spii, spir, remote)
		r.RemoteBehindNAT = true
		for _, h := range srcHashes {
			if subtle.ConstantTimeCompare(want[:], h) == 1 {
				r.RemoteBehindNAT = false
			}
		}
	}
	return r, true
}
