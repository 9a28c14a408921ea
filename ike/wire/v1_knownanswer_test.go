package wire

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// IKEv1 known answers: messages of strongSwan 5.9.8 (Debian 12 charon)
// talking to itself, captured with the interop rig of ../shared/interop,
// from copies of its scenarios whose strongswan.left.extra adds a filelog
// with "ike = 4", which logs the Phase 1 encryption key:
//
//   - main: ikev1-main-psk-xauth (Main Mode PSK, XAuth, Mode Config pull,
//     Quick Mode), IKEGO_INTEROP_PREFIX=v1k$$ IKEGO_INTEROP_DIR=/tmp/v1k$$
//     peer.sh test /tmp/v1scen/ikev1-main-psk-xauth.
//   - aggr: ikev1-aggr-psk-xauth (Aggressive Mode, XAuth, Mode Config push
//     with Cisco Unity), the same way.
//   - cert: ikev1-main-cert with "dpd_delay = 2s" on both sides (Main Mode
//     with RSA signatures, CERT, CR and SIG, fragmented Main Mode 5 and 6,
//     two Quick Modes with PFS): peer.sh test ... --keep, then a second
//     capture (dumpcap in the right namespace) during 9 s of DPD and
//     "peer.sh swanctl left --terminate --ike ikev1-main-cert" (Delete
//     ESP twice and ISAKMP), merged with mergecap.
//
// testdata/v1/<scenario>.pcap are the captures and <scenario>-NN.hex the
// NN-th ISAKMP datagram of each, without the 4-octet non-ESP marker of port
// 4500:
//
//	tshark -r main.pcap -Y isakmp -T fields -e udp.dstport -e udp.payload
//
// testdata/v1/ikev1_decryption_table holds the initiator cookies and the
// encryption keys from charon's logs, with which TShark decrypts the
// encrypted messages; NN.plain.hex is the "Decrypted IKE" data source of
// `tshark -x` (the body with its padding; for the last fragment, that of
// the reassembled message). The expected values of
// v1_knownanswer_data_test.go are TShark (Wireshark) 4.0.17
// (4.0.17-0+deb12u3)'s dissection of the same packets, written by
// testdata/v1/pdml2go.py:
//
//	XDG_CONFIG_HOME=<dir with wireshark/ikev1_decryption_table> \
//	  tshark -r main.pcap -Y isakmp -T pdml | python3 pdml2go.py main-01 ...
//
// The test needs neither tshark nor the rig.

type v1Capture struct {
	name  string
	b     []byte // the datagram
	plain []byte // the decrypted body with its padding, if encrypted
}

// v1Captures reads testdata/v1/*.hex in name order.
func v1Captures(t testing.TB) []v1Capture {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "v1", "*-[0-9][0-9].hex"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no captures: %v", err)
	}
	read := func(f string) []byte {
		raw, err := os.ReadFile(f)
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			t.Fatal(err)
		}
		b, err := hex.DecodeString(strings.TrimSpace(string(raw)))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		return b
	}
	var out []v1Capture
	for _, f := range files {
		out = append(out, v1Capture{
			name:  strings.TrimSuffix(filepath.Base(f), ".hex"),
			b:     read(f),
			plain: read(strings.TrimSuffix(f, ".hex") + ".plain.hex"),
		})
	}
	return out
}

func TestV1KnownAnswerHeaders(t *testing.T) {
	caps := v1Captures(t)
	if len(caps) != len(v1Headers) {
		t.Errorf("%d captures, %d expected headers", len(caps), len(v1Headers))
	}
	for _, c := range caps {
		want, ok := v1Headers[c.name]
		if !ok {
			t.Errorf("%s: no expected header", c.name)
			continue
		}
		m, err := ParseV1(c.b)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		h := m.Header
		if hex16(h.InitiatorCookie) != want.icookie || hex16(h.ResponderCookie) != want.rcookie ||
			h.NextPayload != want.next || h.Exchange != want.exchange || h.Flags != want.flags ||
			h.MessageID != want.msgid || h.Length != want.length || h.MajorVersion != 1 || h.MinorVersion != 0 {
			t.Errorf("%s: header %+v, want %+v", c.name, h, want)
		}
		if h.Encrypted() != (len(m.Payloads) == 0) || (h.Encrypted() && len(m.Encrypted) != int(h.Length)-V1HeaderLen) {
			t.Errorf("%s: %d payloads, %d encrypted octets", c.name, len(m.Payloads), len(m.Encrypted))
		}
		if b, err := m.Marshal(); err != nil || !bytes.Equal(b, c.b) {
			t.Errorf("%s: re-encoded differently: %v", c.name, err)
		}
	}
}

func hex16(v uint64) string {
	return hex.EncodeToString([]byte{byte(v >> 56), byte(v >> 48), byte(v >> 40), byte(v >> 32), byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// v1Data writes octets as testdata/v1/pdml2go.py does: in hex, or their
// length and hash when longer than 64 octets.
func v1Data(b []byte) string {
	if len(b) > 64 {
		h := sha256.Sum256(b)
		return fmt.Sprintf("len=%d sha256=%x", len(b), h[:8])
	}
	return hex.EncodeToString(b)
}

// v1Describe writes a payload the way testdata/v1/pdml2go.py writes
// tshark's dissection of it.
func v1Describe(p V1Payload) string {
	attrs := func(as []V1Attribute) string {
		var sb strings.Builder
		for _, a := range as {
			if a.TV {
				fmt.Fprintf(&sb, " %d=%04x", a.Type, a.Value)
			} else {
				fmt.Fprintf(&sb, " %d~%x", a.Type, a.Data)
			}
		}
		return sb.String()
	}
	switch q := p.(type) {
	case *V1SA:
		s := fmt.Sprintf("SA doi=%d sit=%08x", q.DOI, q.Situation)
		for _, prop := range q.Proposals {
			s += fmt.Sprintf("|P%d p=%d spi=%x", prop.Number, prop.Protocol, prop.SPI)
			for _, t := range prop.Transforms {
				s += fmt.Sprintf("|T%d id=%d", t.Number, t.ID) + attrs(t.Attributes)
			}
		}
		return s
	case *V1KE:
		return "KE " + v1Data(q.Data)
	case *V1ID:
		return fmt.Sprintf("ID t=%d p=%d port=%d %s", q.IDType, q.Protocol, q.Port, v1Data(q.Data))
	case *V1Cert:
		return fmt.Sprintf("CERT enc=%d %s", q.Encoding, v1Data(q.Data))
	case *V1CertReq:
		return fmt.Sprintf("CR t=%d %s", q.Encoding, v1Data(q.Authority))
	case *V1Hash:
		return "HASH " + v1Data(q.Data)
	case *V1Signature:
		return "SIG " + v1Data(q.Data)
	case *V1Nonce:
		return "No " + v1Data(q.Data)
	case *V1Notify:
		return fmt.Sprintf("N doi=%d p=%d spi=%x t=%d %s", q.DOI, q.Protocol, q.SPI, q.Kind, v1Data(q.Data))
	case *V1Delete:
		spis := make([]string, len(q.SPIs))
		for i, spi := range q.SPIs {
			spis[i] = hex.EncodeToString(spi)
		}
		return fmt.Sprintf("D doi=%d p=%d spis=%s", q.DOI, q.Protocol, strings.Join(spis, ","))
	case *V1VendorID:
		return "V " + v1Data(q.Data)
	case *V1Attributes:
		return fmt.Sprintf("CP t=%d id=%d", q.CfgType, q.Identifier) + attrs(q.Attributes)
	case *V1NATD:
		if q.Draft {
			return "NAT-D(draft) " + v1Data(q.Hash)
		}
		return "NAT-D " + v1Data(q.Hash)
	case *V1Fragment:
		last := 0
		if q.Last {
			last = 1
		}
		return fmt.Sprintf("FRAG id=%d n=%d last=%d %s", q.ID, q.Number, last, v1Data(q.Data))
	}
	return fmt.Sprintf("%s %+v", p.Type(), p)
}

// v1CompareDissection compares payloads with tshark's dissection.
func v1CompareDissection(t *testing.T, name string, ps []V1Payload) {
	t.Helper()
	want, ok := v1Dissections[name]
	if !ok {
		t.Errorf("%s: no dissection", name)
		return
	}
	got := make([]string, len(ps))
	for i, p := range ps {
		got[i] = v1Describe(p)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s (%s):", name, FormatV1Payloads(ps))
		for i := range max(len(got), len(want)) {
			var g, w string
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if g != w {
				t.Errorf("  payload %d:\n   got %s\n  want %s", i+1, g, w)
			}
		}
	}
}

// v1OpenBody parses the decrypted body of an encrypted message and checks
// that the chain re-encodes to its prefix (the rest is padding).
func v1OpenBody(t *testing.T, name string, m *V1Message, plain []byte) []V1Payload {
	t.Helper()
	if plain == nil || len(plain) != len(m.Encrypted) {
		t.Fatalf("%s: no plaintext of %d octets", name, len(m.Encrypted))
	}
	ps, err := ParseV1Payloads(m.Header.NextPayload, plain)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	body, err := MarshalV1Payloads(ps)
	if err != nil || !bytes.Equal(body, plain[:len(body)]) {
		t.Errorf("%s: re-encoded body differs: %v", name, err)
	}
	return ps
}

// TestV1KnownAnswerPayloads compares every payload of every captured
// message, decrypted by tshark where encrypted, with tshark's dissection.
// The fragments of Main Mode 5 and 6 of the certificate scenario are
// reassembled and the decrypted result compared too.
func TestV1KnownAnswerPayloads(t *testing.T) {
	caps := v1Captures(t)
	frags := map[string][]byte{}
	reassembled := 0
	for _, c := range caps {
		m, err := ParseV1(c.b)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		ps := m.Payloads
		if m.Header.Encrypted() {
			ps = v1OpenBody(t, c.name, m, c.plain)
		}
		v1CompareDissection(t, c.name, ps)
		f, ok := FindV1[*V1Fragment](ps)
		if !ok {
			if !m.Header.Encrypted() && c.plain != nil {
				t.Errorf("%s: plaintext for a cleartext message", c.name)
			}
			continue
		}
		// The fragments are numbered from 1 and the data of fragment
		// 1 starts with the original header (same cookies).
		key := fmt.Sprintf("%s/%d", c.name[:4], f.ID)
		if (f.Number == 1) != (frags[key] == nil) || len(ps) != 1 || m.Header.Encrypted() {
			t.Fatalf("%s: fragment %d out of order", c.name, f.Number)
		}
		frags[key] = append(frags[key], f.Data...)
		if !f.Last {
			continue
		}
		orig, err := ParseV1(frags[key])
		if err != nil {
			t.Fatalf("%s: reassembled: %v", c.name, err)
		}
		if orig.Header.InitiatorCookie != m.Header.InitiatorCookie || orig.Header.ResponderCookie != m.Header.ResponderCookie ||
			orig.Header.Exchange != V1ExchangeIDProt || !orig.Header.Encrypted() {
			t.Errorf("%s: reassembled header %+v", c.name, orig.Header)
		}
		v1CompareDissection(t, c.name+".reassembled", v1OpenBody(t, c.name, orig, c.plain))
		delete(frags, key)
		reassembled++
	}
	if len(v1Dissections) != len(caps)+reassembled {
		t.Errorf("%d dissections for %d messages", len(v1Dissections), len(caps)+reassembled)
	}
	if reassembled != 2 || len(frags) != 0 {
		t.Errorf("%d messages reassembled, %d incomplete", reassembled, len(frags))
	}
}

// TestV1KnownAnswerSemantics reads some captured values through the typed
// constants, as package ike will.
func TestV1KnownAnswerSemantics(t *testing.T) {
	payloads := map[string][]V1Payload{}
	for _, c := range v1Captures(t) {
		m, err := ParseV1(c.b)
		if err != nil {
			t.Fatal(err)
		}
		payloads[c.name] = m.Payloads
		if m.Header.Encrypted() {
			payloads[c.name], _ = ParseV1Payloads(m.Header.NextPayload, c.plain)
		}
	}
	for name, want := range map[string]string{
		"main-01": "SA V V V V V",
		"main-03": "KE No NAT-D NAT-D",
		"main-05": "ID HASH",
		"main-07": "HASH CPRQ",
		"main-13": "HASH SA No ID ID",
		"aggr-01": "SA KE No ID V V V V V V",
		"aggr-02": "SA KE No ID V V V V V NAT-D NAT-D HASH",
		"aggr-08": "HASH CPS",
	} {
		if got := FormatV1Payloads(payloads[name]); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
	// Main Mode 1: strongSwan's default IKEv1 proposal (see the rig's
	// README): AES-CBC-128, SHA2-256, Curve25519, XAUTHInitPreShared.
	sa := payloads["main-01"][0].(*V1SA)
	if sa.DOI != V1DOIIPsec || sa.Situation != V1SitIdentityOnly || len(sa.Proposals) != 1 ||
		sa.Proposals[0].Protocol != V1ProtocolISAKMP || len(sa.Proposals[0].Transforms) != 2 {
		t.Fatalf("main-01 SA: %+v", sa)
	}
	tr := sa.Proposals[0].Transforms[0]
	for typ, want := range map[V1AttrType]uint64{
		V1AttrEncryption: uint64(V1EncrAESCBC), V1AttrKeyLength: 128, V1AttrHash: uint64(V1HashSHA2256),
		V1AttrGroup: 31, V1AttrAuthMethod: uint64(V1AuthXAuthInitPSK), V1AttrLifeType: uint64(V1LifeSeconds),
		V1AttrLifeDuration: 15840,
	} {
		a, ok := tr.Attribute(typ)
		if v, _ := a.Uint64(); !ok || v != want {
			t.Errorf("main-01 %s = %d, want %d", typ.Phase1String(), v, want)
		}
	}
	if tr.ID != V1KeyIKE {
		t.Errorf("transform ID %d", tr.ID)
	}
	// Quick Mode 1: ESP AES-CBC-256 with HMAC-SHA2-256 or HMAC-SHA1 in
	// UDP-encapsulated tunnel mode, and the client's VIP and the
	// protected subnet as IDci and IDcr.
	qm := payloads["main-13"]
	esp := qm[1].(*V1SA).Proposals[0]
	if esp.Protocol != V1ProtocolESP || len(esp.SPI) != 4 || len(esp.Transforms) != 2 {
		t.Fatalf("main-13 proposal: %+v", esp)
	}
	for i, auth := range []V1IPsecAuthAlg{V1AuthAlgHMACSHA2256, V1AuthAlgHMACSHA1} {
		tr := esp.Transforms[i]
		a, _ := tr.Attribute(V1IPsecAttrAuthAlg)
		m, _ := tr.Attribute(V1IPsecAttrEncapMode)
		k, _ := tr.Attribute(V1IPsecAttrKeyLength)
		if V1ESPTransformID(tr.ID) != V1ESPAESCBC || V1IPsecAuthAlg(a.Value) != auth ||
			V1EncapMode(m.Value) != V1EncapUDPTunnel || k.Value != 256 {
			t.Errorf("main-13 transform %d: %+v", i+1, tr)
		}
	}
	idci, idcr := qm[3].(*V1ID), qm[4].(*V1ID)
	if a := idci.Addrs(); idci.IDType != V1IDIPv4Addr || len(a) != 1 || a[0].String() != "198.18.200.1" {
		t.Errorf("IDci %+v", idci)
	}
	if a := idcr.Addrs(); idcr.IDType != V1IDIPv4AddrSubnet || len(a) != 2 || a[0].String() != "203.0.113.0" || a[1].String() != "255.255.255.192" {
		t.Errorf("IDcr %+v", idcr)
	}
	// XAuth and Mode Config push.
	reply := payloads["main-08"][1].(*V1Attributes)
	if u, _ := reply.Attribute(V1CfgXAuthUserName); reply.CfgType != V1CfgReply || string(u.Data) != "bob" {
		t.Errorf("XAuth reply %+v", reply)
	}
	status := payloads["main-09"][1].(*V1Attributes)
	if s, ok := status.Attribute(V1CfgXAuthStatus); status.CfgType != V1CfgSet || !ok || !s.TV || s.Value != 1 {
		t.Errorf("XAuth status %+v", status)
	}
	set := payloads["aggr-08"][1].(*V1Attributes)
	addr, _ := set.Attribute(V1CfgInternalIP4Address)
	dns, _ := set.Attribute(V1CfgInternalIP4DNS)
	split, ok := set.Attribute(V1CfgUnitySplitInclude)
	if a, _ := addr.Addr(); a.String() != "198.18.200.1" || !ok || len(split.Data) != 14 {
		t.Errorf("CFG_SET %+v", set)
	}
	if a, _ := dns.Addr(); a.String() != "198.51.100.53" {
		t.Errorf("DNS %+v", dns)
	}

	// Certificates, DPD and Delete.
	var cm5 []V1Payload
	for _, c := range v1Captures(t) {
		if c.name == "cert-05" || c.name == "cert-06" {
			m, _ := ParseV1(c.b)
			cm5 = append(cm5, m.Payloads...)
		}
	}
	f1, f2 := cm5[0].(*V1Fragment), cm5[1].(*V1Fragment)
	whole, err := ParseV1(append(bytes.Clone(f1.Data), f2.Data...))
	if err != nil || f1.Last || !f2.Last || f1.ID != f2.ID {
		t.Fatalf("fragments: %v", err)
	}
	var plain []byte
	for _, c := range v1Captures(t) {
		if c.name == "cert-06" {
			plain = c.plain
		}
	}
	mm5, _ := ParseV1Payloads(whole.Header.NextPayload, plain)
	if got := FormatV1Payloads(mm5); got != "ID CERT SIG CERTREQ N(INITIAL-CONTACT)" {
		t.Errorf("Main Mode 5: %s", got)
	}
	if id := mm5[0].(*V1ID); id.IDType != V1IDDERASN1DN {
		t.Errorf("ID type %s", id.IDType)
	}
	if c := mm5[1].(*V1Cert); c.Encoding != V1CertX509Sig || c.Data[0] != 0x30 {
		t.Errorf("CERT %s", c.Encoding)
	}
	if s := mm5[2].(*V1Signature); len(s.Data) != 256 { // RSA 2048
		t.Errorf("SIG of %d octets", len(s.Data))
	}
	ic := mm5[4].(*V1Notify)
	cookies := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, whole.Header.InitiatorCookie), whole.Header.ResponderCookie)
	if ic.DOI != V1DOIIPsec || ic.Protocol != V1ProtocolISAKMP || !bytes.Equal(ic.SPI, cookies) {
		t.Errorf("INITIAL-CONTACT %+v", ic)
	}
	dpd := payloads["cert-17"][1].(*V1Notify)
	ack := payloads["cert-18"][1].(*V1Notify)
	s1, ok1 := dpd.Sequence()
	s2, ok2 := ack.Sequence()
	if dpd.Kind != V1NotifyRUThere || ack.Kind != V1NotifyRUThereAck || !ok1 || !ok2 || s1 != s2 || s1 != 0x2ee21c95 {
		t.Errorf("DPD %+v %+v", dpd, ack)
	}
	if d := payloads["cert-25"][1].(*V1Delete); d.Protocol != V1ProtocolISAKMP || len(d.SPIs) != 1 || !bytes.Equal(d.SPIs[0], cookies) {
		t.Errorf("Delete ISAKMP %+v", d)
	}
	if d := payloads["cert-23"][1].(*V1Delete); d.Protocol != V1ProtocolESP || len(d.SPIs) != 1 || len(d.SPIs[0]) != 4 {
		t.Errorf("Delete ESP %+v", d)
	}

	// SAi_b and IDii_b, over which HASH_I and HASH_R are computed (RFC
	// 2409 Section 5), are the payload bodies as sent: tshark's payload
	// lengths 92 and 19 include the 4-octet generic header.
	var am1 []byte
	for _, c := range v1Captures(t) {
		if c.name == "aggr-01" {
			am1 = c.b
		}
	}
	sa, id := payloads["aggr-01"][0].(*V1SA), payloads["aggr-01"][3].(*V1ID)
	saStart := V1HeaderLen + genericHeaderLen
	if len(sa.Body()) != 92-4 || !bytes.Equal(sa.Body(), am1[saStart:saStart+88]) {
		t.Errorf("SAi_b of %d octets", len(sa.Body()))
	}
	if want := append([]byte{11, 0, 0, 0}, "ikego-group"...); !bytes.Equal(id.Body(), want) || len(id.Body()) != 19-4 {
		t.Errorf("IDii_b = %x", id.Body())
	}
}
