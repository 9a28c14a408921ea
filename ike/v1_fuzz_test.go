package ike

import (
	"bytes"
	"encoding/binary"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/ikego/ikego/ike/wire"
)

// v1FuzzCookies in a fuzzed body stands for CKY-I | CKY-R of the SA, which
// the seeds cannot know.
var v1FuzzCookies = bytes.Repeat([]byte{0xcc}, 16)

// FuzzV1Responder establishes an IKEv1 SA (Main Mode, XAuth, Mode Config;
// deterministic randomness and clock) and feeds the Manager one message
// with the SA's cookies, then runs its timers. The mode says how the body
// is sent:
//
//	mode%3 == 0: in the clear, as it is
//	mode%3 == 1: encrypted on the message ID's CBC chain
//	mode%3 == 2: encrypted after a HASH payload that verifies
//	             (prf(SKEYID_a, M-ID | body), or HASH(3) with mode&16)
//	mode&8:      a Quick Mode is started first and msgID is its message ID
//
// Nothing may panic, and what the gateway sends must parse.
func FuzzV1Responder(f *testing.F) {
	chain := func(ps ...wire.V1Payload) []byte {
		b, err := wire.MarshalV1Payloads(ps)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	sa := &wire.V1SA{DOI: wire.V1DOIIPsec, Situation: wire.V1SitIdentityOnly, Proposals: []wire.V1Proposal{{
		Number: 1, Protocol: wire.V1ProtocolESP, SPI: []byte{0xc1, 0, 0, 9}, Transforms: []wire.V1Transform{v1ESPTestTransform(0)}}}}
	idci := &wire.V1ID{IDType: wire.V1IDIPv4Addr, Data: []byte{198, 18, 200, 1}}
	idcr := v1SubnetID(v1TestRemoteTS)
	nonce := &wire.V1Nonce{Data: bytes.Repeat([]byte{0x5a}, 32)}
	ex := func(e wire.V1Exchange) uint8 { return uint8(e) }
	pt := func(p wire.V1PayloadType) uint8 { return uint8(p) }
	for _, s := range []struct {
		mode, ex uint8
		msgID    uint32
		next     uint8
		body     []byte
	}{
		{2, ex(wire.V1ExchangeTransaction), 0x11111111, pt(wire.V1PayloadAttributes), chain(&wire.V1Attributes{CfgType: wire.V1CfgRequest,
			Attributes: []wire.V1Attribute{{Type: wire.V1CfgInternalIP4Address}, {Type: wire.V1CfgInternalIP6Address}, {Type: wire.V1CfgInternalIP4DNS}}})},
		{2, ex(wire.V1ExchangeTransaction), 0x11111112, pt(wire.V1PayloadAttributes), chain(&wire.V1Attributes{CfgType: wire.V1CfgReply,
			Attributes: []wire.V1Attribute{{Type: wire.V1CfgXAuthUserName, Data: []byte(v1User)}, {Type: wire.V1CfgXAuthUserPassword, Data: []byte(v1Pass)}}})},
		{2, ex(wire.V1ExchangeTransaction), 0x11111113, pt(wire.V1PayloadAttributes), chain(&wire.V1Attributes{CfgType: wire.V1CfgAck,
			Attributes: []wire.V1Attribute{{Type: wire.V1CfgXAuthStatus, TV: true, Value: 1}}})},
		{2, ex(wire.V1ExchangeQuickMode), 0x22222222, pt(wire.V1PayloadSA), chain(sa, nonce, idci, idcr)},
		{2, ex(wire.V1ExchangeQuickMode), 0x22222223, pt(wire.V1PayloadSA), chain(sa, nonce, &wire.V1KE{Data: make([]byte, 32)}, idci, idcr)},
		{2, ex(wire.V1ExchangeQuickMode), 0x22222224, pt(wire.V1PayloadSA), chain(sa, nonce, idci)},
		{8 | 16 | 2, ex(wire.V1ExchangeQuickMode), 0, pt(wire.V1PayloadNone), nil},
		{8 | 2, ex(wire.V1ExchangeQuickMode), 0, pt(wire.V1PayloadSA), chain(sa, nonce, idci, idcr)},
		{8 | 1, ex(wire.V1ExchangeQuickMode), 0, pt(wire.V1PayloadHash), chain(&wire.V1Hash{Data: make([]byte, 32)})},
		{2, ex(wire.V1ExchangeInformational), 0x33333333, pt(wire.V1PayloadNotify), chain(&wire.V1Notify{DOI: wire.V1DOIIPsec,
			Protocol: wire.V1ProtocolISAKMP, SPI: v1FuzzCookies, Kind: wire.V1NotifyRUThere, Data: []byte{0, 0, 0, 1}})},
		{2, ex(wire.V1ExchangeInformational), 0x33333334, pt(wire.V1PayloadNotify), chain(&wire.V1Notify{DOI: wire.V1DOIIPsec,
			Protocol: wire.V1ProtocolISAKMP, SPI: v1FuzzCookies, Kind: wire.V1NotifyRUThereAck, Data: []byte{0, 0, 0, 1}})},
		{2, ex(wire.V1ExchangeInformational), 0x33333335, pt(wire.V1PayloadDelete), chain(&wire.V1Delete{DOI: wire.V1DOIIPsec,
			Protocol: wire.V1ProtocolISAKMP, SPIs: [][]byte{v1FuzzCookies}})},
		{2, ex(wire.V1ExchangeInformational), 0x33333336, pt(wire.V1PayloadDelete), chain(&wire.V1Delete{DOI: wire.V1DOIIPsec,
			Protocol: wire.V1ProtocolESP, SPIs: [][]byte{{0xc1, 0, 0, 9}, {1, 2, 3, 4}}})},
		{0, ex(wire.V1ExchangeInformational), 0, pt(wire.V1PayloadNotify), chain(&wire.V1Notify{DOI: wire.V1DOIIPsec,
			Protocol: wire.V1ProtocolISAKMP, SPI: v1FuzzCookies, Kind: wire.V1NotifyInvalidCookie})},
		{0, ex(wire.V1ExchangeIDProt), 0, pt(wire.V1PayloadKE), chain(&wire.V1KE{Data: make([]byte, 256)}, nonce)},
		{1, ex(wire.V1ExchangeIDProt), 0, pt(wire.V1PayloadID), chain(&wire.V1ID{IDType: wire.V1IDFQDN, Data: []byte("x")}, &wire.V1Hash{Data: make([]byte, 32)})},
		{1, ex(wire.V1ExchangeTransaction), 0x44444444, pt(wire.V1PayloadHash), []byte{0, 0, 0, 4}},
		{1, ex(wire.V1ExchangeQuickMode), 0, pt(wire.V1PayloadHash), bytes.Repeat([]byte{0xff}, 48)},
		{2, ex(wire.V1ExchangeAggressive), 0x55555555, pt(wire.V1PayloadVendorID), chain(&wire.V1VendorID{Data: []byte("v")})},
	} {
		f.Add(s.mode, s.ex, s.msgID, s.next, s.body)
	}
	f.Fuzz(func(t *testing.T, mode, exch uint8, msgID uint32, next uint8, body []byte) {
		gw := newV1GW(t, func(p *PeerConfig, cfg *Config) {
			p.DPDDelay = 30 * time.Second
			cfg.Logger = slog.New(slog.DiscardHandler)
		})
		c := newV1rw(t, gw, wire.V1AuthXAuthInitPSK)
		c.group = GroupCurve25519
		c.establish()
		var q *v1qm
		if mode&8 != 0 {
			q = c.quick(v1qmOpts{})
			msgID = q.msgID
		}
		body = bytes.ReplaceAll(body, v1FuzzCookies, c.cookies())
		h := c.header(wire.V1Exchange(exch), msgID)
		h.Flags = wire.V1FlagEncryption
		var pkt []byte
		switch mode % 3 {
		case 0:
			h.NextPayload = wire.V1PayloadType(next)
			pkt = c.marshal(wire.V1Message{Header: h, Encrypted: body})
			pkt[19] &^= byte(wire.V1FlagEncryption)
		case 1:
			h.NextPayload = wire.V1PayloadType(next)
			pkt = c.marshal(wire.V1Message{Header: h, Encrypted: c.encrypt(msgID, body)})
		case 2:
			rest := body
			if end, ok := v1rwChainEnd(wire.V1PayloadType(next), body); ok {
				rest = body[:end]
			}
			hash := c.keys.hashMsg(msgID, rest)
			if mode&16 != 0 && q != nil {
				hash = c.keys.hash3(msgID, q.ni, q.nr)
			}
			plain := append([]byte{next, 0, 0, 0}, hash...)
			binary.BigEndian.PutUint16(plain[2:], uint16(len(plain)))
			plain = append(plain, body...)
			h.NextPayload = wire.V1PayloadHash
			pkt = c.marshal(wire.V1Message{Header: h, Encrypted: c.encrypt(msgID, plain)})
		}
		check := func(out [][]byte) {
			for _, b := range out {
				if _, err := wire.ParseV1(b); err != nil {
					t.Fatalf("the gateway sent a message that does not parse: %v", err)
				}
			}
		}
		check(c.send(pkt))
		check(c.sendFrom(netip.MustParseAddrPort("192.0.2.66:4500"), pkt))
		check(c.send(pkt))
		for _, d := range []time.Duration{time.Second, 30 * time.Second, 10 * time.Minute, 9 * time.Hour} {
			check(gw.tick(d))
		}
	})
}
