package ike

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/ikego/ikego/ike/wire"
)

// Informational exchanges of an IKEv1 SA (RFC 2408 Section 4.8, RFC 2409
// Section 5.7): deletes, notifications and dead peer detection (RFC 3706),
// each a single message with HASH(1).

// v1Informational handles the payloads of an authenticated Informational
// message.
func (s *session) v1Informational(ps []wire.V1Payload) {
	v := s.v1
	for _, p := range ps {
		switch p := p.(type) {
		case *wire.V1Notify:
			switch p.Kind {
			case wire.V1NotifyRUThere:
				seq, ok := p.Sequence()
				if !ok || !bytes.Equal(p.SPI, s.v1Cookies()) {
					continue
				}
				s.v1Inform(&wire.V1Notify{DOI: wire.V1DOIIPsec, Protocol: wire.V1ProtocolISAKMP, SPI: s.v1Cookies(),
					Kind: wire.V1NotifyRUThereAck, Data: binary.BigEndian.AppendUint32(nil, seq)})
			case wire.V1NotifyRUThereAck:
				seq, ok := p.Sequence()
				if ok && v.pending != nil && v.pending.kind == "DPD" && seq == v.dpdSeq {
					v.pending = nil
				}
			default:
				s.logger().Info("IKEv1 notification", "type", p.Kind.String())
			}
		case *wire.V1Delete:
			switch p.Protocol {
			case wire.V1ProtocolISAKMP:
				for _, spi := range p.SPIs {
					if bytes.Equal(spi, s.v1Cookies()) {
						s.logger().Info("peer deletes the IKEv1 SA")
						s.close(nil, false)
						return
					}
				}
			case wire.V1ProtocolESP:
				for _, spi := range p.SPIs {
					if len(spi) != 4 {
						continue
					}
					out := binary.BigEndian.Uint32(spi)
					found := false
					for _, c := range s.children {
						if c.outSPI == out {
							s.logger().Info("peer deletes a CHILD_SA", "child", c.cfg.Name, "out", fmt.Sprintf("%08x", out))
							s.dropChild(c)
							found = true
							break
						}
					}
					if !found {
						// Perhaps moved to a newer ISAKMP SA of the peer
						// (v1Adopt): the Manager looks there.
						v.orphanDeletes = append(v.orphanDeletes, out)
					}
				}
			}
		}
	}
}

// v1SendDPD sends an R-U-THERE (RFC 3706 Section 5) and waits for its
// acknowledgement, retransmitting like any request of ours.
func (s *session) v1SendDPD() {
	v := s.v1
	if v.dpdSeq == 0 {
		var b [4]byte
		if _, err := s.env.rand.Read(b[:]); err != nil {
			return
		}
		v.dpdSeq = binary.BigEndian.Uint32(b[:]) & 0x7fffffff // RFC 3706 §7: room before wrapping
	}
	v.dpdSeq++
	n := &wire.V1Notify{DOI: wire.V1DOIIPsec, Protocol: wire.V1ProtocolISAKMP, SPI: s.v1Cookies(),
		Kind: wire.V1NotifyRUThere, Data: binary.BigEndian.AppendUint32(nil, v.dpdSeq)}
	id, err := s.v1Request("DPD", wire.V1ExchangeInformational, []wire.V1Payload{n})
	if err != nil {
		s.logger().Warn("cannot send R-U-THERE", "err", err)
		return
	}
	delete(v.ivs, id)
}

// v1ExpireChild handles the hard expiry of a CHILD_SA of an IKEv1 SA: it
// goes, and the peer is told.
func (s *session) v1ExpireChild(c *childSA) {
	s.logger().Info("CHILD_SA expired", "child", c.cfg.Name, "in", fmt.Sprintf("%08x", c.inSPI))
	s.v1Inform(&wire.V1Delete{DOI: wire.V1DOIIPsec, Protocol: wire.V1ProtocolESP,
		SPIs: [][]byte{binary.BigEndian.AppendUint32(nil, c.inSPI)}})
	s.dropChild(c)
}
