package ike

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ikego/ikego/ike/wire"
)

// v1TestPSK is the pre-shared key of the interop rig's IKEv1 PSK scenarios
// (secrets of ../shared/interop/scenarios/ikev1-*/left.conf).
const v1TestPSK = "ikego-psk-0123456789abcdef"

// readHex reads a file of hex (whitespace ignored); nil if it does not
// exist.
func readHex(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(name)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	b, err := hex.DecodeString(strings.Join(strings.Fields(string(raw)), ""))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}

func unhexV1(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// v1KeysFromEncKey builds v1Keys that can only encrypt and make IVs, from
// a Phase 1 encryption key alone (as TShark's IKEv1 decryption table has).
func v1KeysFromEncKey(t testing.TB, h v1Hash, c v1Cipher, key []byte) *v1Keys {
	t.Helper()
	b, err := c.newBlock(key)
	if err != nil {
		t.Fatal(err)
	}
	return &v1Keys{hash: h, EncKey: key, block: b}
}

// v1SuiteOf returns the hash and cipher of the single transform of a
// responder's Phase 1 SA payload (RFC 2409 Appendix A).
func v1SuiteOf(t testing.TB, sa *wire.V1SA) (v1Hash, v1Cipher) {
	t.Helper()
	if len(sa.Proposals) != 1 || len(sa.Proposals[0].Transforms) != 1 {
		t.Fatalf("SA is not a selected proposal: %+v", sa)
	}
	tr := sa.Proposals[0].Transforms[0]
	get := func(typ wire.V1AttrType) uint64 {
		a, ok := tr.Attribute(typ)
		v, ok2 := a.Uint64()
		if !ok || !ok2 {
			return 0
		}
		return v
	}
	hashes := map[wire.V1HashAlg]v1Hash{
		wire.V1HashSHA1: crypto.SHA1, wire.V1HashSHA2256: crypto.SHA256,
		wire.V1HashSHA2384: crypto.SHA384, wire.V1HashSHA2512: crypto.SHA512,
	}
	h, ok := hashes[wire.V1HashAlg(get(wire.V1AttrHash))]
	if !ok {
		t.Fatalf("hash %d", get(wire.V1AttrHash))
	}
	return h, v1Cipher{Alg: wire.V1EncrAlg(get(wire.V1AttrEncryption)), KeyBits: int(get(wire.V1AttrKeyLength))}
}

// v1ChainLen returns the length of the payload chain at the start of plain
// (RFC 2408 Section 3.2), without the padding that follows it.
func v1ChainLen(t testing.TB, first wire.V1PayloadType, plain []byte) int {
	t.Helper()
	n := 0
	for next := first; next != wire.V1PayloadNone; {
		if len(plain)-n < 4 {
			t.Fatalf("chain truncated at %d", n)
		}
		next = wire.V1PayloadType(plain[n])
		n += int(binary.BigEndian.Uint16(plain[n+2:]))
	}
	if n > len(plain) {
		t.Fatalf("chain of %d octets in %d", n, len(plain))
	}
	return n
}

// v1Chains tracks the CBC IV chains of one ISAKMP SA (RFC 2409 Appendix B)
// as strongSwan's keymat_v1.c does: one for Phase 1 (M-ID 0) and one per
// M-ID after it, started from the Phase 1 chain as it is at that moment.
type v1Chains struct {
	k      *v1Keys
	phase1 []byte
	ivs    map[uint32][]byte
}

func (c *v1Chains) iv(msgID uint32) []byte {
	if msgID == 0 {
		return c.phase1
	}
	if iv, ok := c.ivs[msgID]; ok {
		return iv
	}
	return c.k.phase2IV(c.phase1, msgID)
}

func (c *v1Chains) advance(msgID uint32, next []byte) {
	if msgID == 0 {
		c.phase1 = next
		return
	}
	c.ivs[msgID] = next
}

// TestV1DecryptCaptures decrypts every encrypted message of the captured
// strongSwan 5.9.8 exchanges of wire/testdata/v1 (see the comment of
// wire/v1_knownanswer_test.go) with the Phase 1 encryption key of
// ikev1_decryption_table, the IVs made by initialIV and phase2IV and
// chained per M-ID, and compares the plaintext, padding included, with
// TShark's. Main Mode 5 and 6 of the certificate scenario are fragmented
// (payload type 132): they are reassembled first, as the wire test does.
func TestV1DecryptCaptures(t *testing.T) {
	dir := filepath.Join("wire", "testdata", "v1")
	table := map[uint64][]byte{}
	f, err := os.Open(filepath.Join(dir, "ikev1_decryption_table"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for sc := bufio.NewScanner(f); sc.Scan(); {
		cky, key, ok := strings.Cut(strings.TrimSpace(sc.Text()), ",")
		if !ok {
			continue
		}
		c, err := strconv.ParseUint(cky, 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		table[c] = unhexV1(t, strings.ToLower(key))
	}
	for _, scen := range []struct {
		name      string
		encrypted int // messages to decrypt, reassembled ones counted once
	}{{"main", 11}, {"aggr", 10}, {"cert", 19}} {
		t.Run(scen.name, func(t *testing.T) {
			files, _ := filepath.Glob(filepath.Join(dir, scen.name+"-[0-9][0-9].hex"))
			var (
				chains   *v1Chains
				kes      [][]byte
				h        v1Hash
				c        v1Cipher
				frags    []byte
				verified int
			)
			for _, file := range files {
				name := strings.TrimSuffix(filepath.Base(file), ".hex")
				m, err := wire.ParseV1(readHex(t, file))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if frag, ok := wire.FindV1[*wire.V1Fragment](m.Payloads); ok {
					// Cisco-style IKEv1 fragments carry the encrypted
					// message, header included, in order.
					frags = append(frags, frag.Data...)
					if !frag.Last {
						continue
					}
					if m, err = wire.ParseV1(frags); err != nil {
						t.Fatalf("%s reassembled: %v", name, err)
					}
					frags = nil
				}
				if !m.Header.Encrypted() {
					if sa, ok := wire.FindV1[*wire.V1SA](m.Payloads); ok && m.Header.ResponderCookie != 0 {
						h, c = v1SuiteOf(t, sa)
					}
					if ke, ok := wire.FindV1[*wire.V1KE](m.Payloads); ok && m.Header.MessageID == 0 {
						kes = append(kes, ke.Data)
					}
					continue
				}
				if chains == nil {
					key := table[m.Header.InitiatorCookie]
					if key == nil || len(kes) != 2 {
						t.Fatalf("%s: key %x, %d KE payloads", name, key, len(kes))
					}
					k := v1KeysFromEncKey(t, h, c, key)
					chains = &v1Chains{k: k, phase1: k.initialIV(kes[0], kes[1]), ivs: map[uint32][]byte{}}
				}
				want := readHex(t, strings.TrimSuffix(file, ".hex")+".plain.hex")
				iv := chains.iv(m.Header.MessageID)
				plain, next, err := chains.k.decrypt(iv, m.Encrypted)
				if err != nil || !bytes.Equal(plain, want) {
					t.Fatalf("%s (%s, M-ID %d): decrypted %x, %v\nwant %x", name, m.Header.Exchange, m.Header.MessageID, plain, err, want)
				}
				if !bytes.Equal(next, m.Encrypted[len(m.Encrypted)-len(iv):]) {
					t.Errorf("%s: next IV %x", name, next)
				}
				// The case can fail: any other IV gives another first
				// block.
				bad := bytes.Clone(iv)
				bad[len(bad)-1] ^= 1
				if p, _, _ := chains.k.decrypt(bad, m.Encrypted); bytes.Equal(p, want) {
					t.Errorf("%s: decrypts with a wrong IV", name)
				}
				// And encrypt is the inverse of decrypt.
				if ct, n2 := chains.k.encrypt(iv, want); !bytes.Equal(ct[:len(m.Encrypted)], m.Encrypted) || len(ct) != len(m.Encrypted)+len(iv) || !bytes.Equal(n2, ct[len(ct)-len(iv):]) {
					t.Errorf("%s: re-encrypted differently", name)
				}
				chains.advance(m.Header.MessageID, next)
				verified++
			}
			if verified != scen.encrypted {
				t.Errorf("%d messages decrypted, want %d", verified, scen.encrypted)
			}
		})
	}
}

// v1Logged holds the values charon logged (testdata/v1keymat/*/charon-left.txt,
// written by extract.py): label and hex, in log order.
type v1Logged []struct{ label, value string }

func readV1Logged(t testing.TB, name string) v1Logged {
	t.Helper()
	raw, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var l v1Logged
	for line := range strings.SplitSeq(string(raw), "\n") {
		label, value, ok := strings.Cut(line, " = ")
		if ok && !strings.HasPrefix(line, "#") {
			l = append(l, struct{ label, value string }{label, value})
		}
	}
	return l
}

// one returns the only value logged under label.
func (l v1Logged) one(t testing.TB, label string) []byte {
	t.Helper()
	vs := l.all(label)
	if len(vs) != 1 {
		t.Fatalf("%d values of %q logged", len(vs), label)
	}
	return unhexV1(t, vs[0])
}

// all returns the values logged under label, in hex.
func (l v1Logged) all(label string) []string {
	var vs []string
	for _, e := range l {
		if e.label == label {
			vs = append(vs, e.value)
		}
	}
	return vs
}

func checkHex(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if len(want) == 0 || !bytes.Equal(got, want) {
		t.Errorf("%s = %x, want %x", what, got, want)
	}
}

// TestV1KeymatStrongSwan derives the keys of strongSwan 5.9.8 IKEv1 SAs of
// the interop rig (testdata/v1keymat/README.md) from the PSK, the captured
// messages and the logged g^xy, and checks every step against what charon
// logged at level 4 and against the captured messages themselves: SKEYID,
// SKEYID_d/a/e, the encryption key (truncated or expanded, RFC 2409
// Appendix B), the initial IV and the IV chains, HASH_I and HASH_R against
// the HASH payloads of Main Mode 5 and 6, every Transaction and Quick Mode
// HASH against its HASH payload, KEYMAT against the logged ESP keys, and
// the ESP keys against the captured ESP packets (ICV and decryption).
func TestV1KeymatStrongSwan(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("testdata", "v1keymat", "*", "charon-left.txt"))
	if len(dirs) != 4 {
		t.Fatalf("%d cases", len(dirs))
	}
	for _, logFile := range dirs {
		dir := filepath.Dir(logFile)
		t.Run(filepath.Base(dir), func(t *testing.T) { testV1KeymatCase(t, dir) })
	}
}

func testV1KeymatCase(t *testing.T, dir string) {
	logged := readV1Logged(t, filepath.Join(dir, "charon-left.txt"))
	files, _ := filepath.Glob(filepath.Join(dir, "msg-[0-9][0-9].hex"))
	var msgs []*wire.V1Message
	var frags []byte
	for _, f := range files {
		m, err := wire.ParseV1(readHex(t, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if frag, ok := wire.FindV1[*wire.V1Fragment](m.Payloads); ok {
			// Main Mode 5 and 6 with certificates are fragmented: the
			// fragments carry the encrypted message, in order.
			if frags = append(frags, frag.Data...); !frag.Last {
				continue
			}
			if m, err = wire.ParseV1(frags); err != nil {
				t.Fatalf("%s reassembled: %v", f, err)
			}
			frags = nil
		}
		msgs = append(msgs, m)
	}
	if len(msgs) < 9 {
		t.Fatalf("%d messages", len(msgs))
	}
	// Main Mode 1 to 4 are in the clear (RFC 2409 Section 5):
	// SA / SA / KE Ni / KE Nr.
	sai, _ := wire.FindV1[*wire.V1SA](msgs[0].Payloads)
	sar, _ := wire.FindV1[*wire.V1SA](msgs[1].Payloads)
	kei, _ := wire.FindV1[*wire.V1KE](msgs[2].Payloads)
	ker, _ := wire.FindV1[*wire.V1KE](msgs[3].Payloads)
	ni, _ := wire.FindV1[*wire.V1Nonce](msgs[2].Payloads)
	nr, _ := wire.FindV1[*wire.V1Nonce](msgs[3].Payloads)
	if sai == nil || sar == nil || kei == nil || ker == nil || ni == nil || nr == nil {
		t.Fatal("Main Mode 1 to 4 incomplete")
	}
	h, c := v1SuiteOf(t, sar)
	ckyI, ckyR := msgs[1].Header.InitiatorCookie, msgs[1].Header.ResponderCookie
	gxi, gxr, gxy := kei.Data, ker.Data, logged.one(t, "shared Diffie Hellman secret")

	var skeyid []byte
	auth, _ := sar.Proposals[0].Transforms[0].Attribute(wire.V1AttrAuthMethod)
	switch wire.V1AuthMethod(auth.Value) {
	case wire.V1AuthPSK, wire.V1AuthXAuthInitPSK:
		skeyid = v1SKEYIDPSK(h, []byte(v1TestPSK), ni.Data, nr.Data)
	case wire.V1AuthRSASig:
		skeyid = v1SKEYIDSig(h, ni.Data, nr.Data, gxy)
	default:
		t.Fatalf("auth method %d", auth.Value)
	}
	checkHex(t, "SKEYID", skeyid, logged.one(t, "SKEYID"))
	k, err := deriveV1Keys(h, c, skeyid, gxy, ckyI, ckyR)
	if err != nil {
		t.Fatal(err)
	}
	checkHex(t, "SKEYID_d", k.SKEYIDd, logged.one(t, "SKEYID_d"))
	checkHex(t, "SKEYID_a", k.SKEYIDa, logged.one(t, "SKEYID_a"))
	checkHex(t, "SKEYID_e", k.SKEYIDe, logged.one(t, "SKEYID_e"))
	checkHex(t, "Ka", k.EncKey, logged.one(t, "encryption key Ka"))
	checkHex(t, "initial IV", k.initialIV(gxi, gxr), logged.one(t, "initial IV"))

	chains := &v1Chains{k: k, phase1: k.initialIV(gxi, gxr), ivs: map[uint32][]byte{}}
	loggedIVs := map[uint32][]string{}
	for _, e := range logged {
		if mid, ok := strings.CutPrefix(e.label, "next IV for MID "); ok {
			n, _ := strconv.ParseUint(mid, 10, 32)
			loggedIVs[uint32(n)] = append(loggedIVs[uint32(n)], e.value)
		}
	}
	// A Quick Mode: HASH(1) SA Ni [KE] IDci IDcr, HASH(2) SA Nr [KE]
	// IDci IDcr, HASH(3) (RFC 2409 Section 5.5).
	type quickMode struct {
		ni, nr       []byte
		spiI, spiR   []byte // of the ESP proposals of HASH(1) and HASH(2)
		pfs, hashed3 bool
	}
	qms := map[uint32]*quickMode{}
	var qmOrder []*quickMode
	hashes := 0
	for i, m := range msgs[4:] {
		name := fmt.Sprintf("message %d (%s %d)", i+5, m.Header.Exchange, m.Header.MessageID)
		if !m.Header.Encrypted() {
			t.Fatalf("%s in the clear", name)
		}
		mid := m.Header.MessageID
		iv := chains.iv(mid)
		if mid != 0 && !slices.Contains(loggedIVs[mid], hex.EncodeToString(iv)) {
			t.Errorf("%s: IV %x not logged for its M-ID", name, iv)
		}
		plain, next, err := k.decrypt(iv, m.Encrypted)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ps, err := wire.ParseV1Payloads(m.Header.NextPayload, plain)
		if err != nil {
			t.Fatalf("%s: %v (plaintext %x)", name, err, plain)
		}
		chains.advance(mid, next)
		if m.Header.Exchange == wire.V1ExchangeIDProt {
			// Main Mode 5 and 6: HASH_I over IDii_b, HASH_R over
			// IDir_b, sent in a HASH payload or signed in SIG. Their
			// inputs, taken from the captured payloads, are those
			// charon logged.
			id, _ := wire.FindV1[*wire.V1ID](ps)
			if id == nil || i > 1 {
				t.Fatalf("%s: %s", name, wire.FormatV1Payloads(ps))
			}
			var got []byte
			if i == 0 {
				data := slices.Concat(gxi, gxr, be64(ckyI), be64(ckyR), sai.Body(), id.Body())
				checkHex(t, "HASH_I data", data, logged.one(t, "HASH_I data"))
				got = k.hashI(gxi, gxr, ckyI, ckyR, sai.Body(), id.Body())
				checkHex(t, "HASH_I", got, logged.one(t, "HASH_I"))
			} else {
				data := slices.Concat(gxr, gxi, be64(ckyR), be64(ckyI), sai.Body(), id.Body())
				checkHex(t, "HASH_R data", data, logged.one(t, "HASH_R data"))
				got = k.hashR(gxi, gxr, ckyI, ckyR, sai.Body(), id.Body())
				checkHex(t, "HASH_R", got, logged.one(t, "HASH_R"))
			}
			if hp, ok := wire.FindV1[*wire.V1Hash](ps); ok {
				checkHex(t, name+" HASH payload", got, hp.Data)
			} else {
				checkV1Signature(t, name, ps, got)
			}
			hashes++
			continue
		}
		hp, ok := ps[0].(*wire.V1Hash)
		if !ok {
			t.Fatalf("%s: payloads %s", name, wire.FormatV1Payloads(ps))
		}
		// The payloads after HASH, as received, without the padding
		// (RFC 2409 Section 5.5: "the entire message ... following
		// the HASH payload").
		after := plain[4+len(hp.Data) : v1ChainLen(t, m.Header.NextPayload, plain)]
		var got []byte
		switch m.Header.Exchange {
		case wire.V1ExchangeTransaction, wire.V1ExchangeInformational:
			got = k.hashMsg(mid, after)
			if !slices.Contains(logged.all("Hash"), hex.EncodeToString(got)) {
				t.Errorf("%s: HASH %x not logged", name, got)
			}
		case wire.V1ExchangeQuickMode:
			qm := qms[mid]
			no, _ := wire.FindV1[*wire.V1Nonce](ps)
			sa, _ := wire.FindV1[*wire.V1SA](ps)
			_, pfs := wire.FindV1[*wire.V1KE](ps)
			switch {
			case qm == nil:
				qm = &quickMode{ni: no.Data, spiI: sa.Proposals[0].SPI, pfs: pfs}
				qms[mid] = qm
				qmOrder = append(qmOrder, qm)
				got = k.hashMsg(mid, after)
				if !slices.Contains(logged.all("Hash(1)"), hex.EncodeToString(got)) {
					t.Errorf("%s: HASH(1) %x not logged", name, got)
				}
			case qm.nr == nil:
				qm.nr, qm.spiR = no.Data, sa.Proposals[0].SPI
				got = k.hashMsg(mid, qm.ni, after)
				if !slices.Contains(logged.all("Hash(2)"), hex.EncodeToString(got)) {
					t.Errorf("%s: HASH(2) %x not logged", name, got)
				}
			default:
				got = k.hash3(mid, qm.ni, qm.nr)
				if !slices.Contains(logged.all("Hash(3)"), hex.EncodeToString(got)) {
					t.Errorf("%s: HASH(3) %x not logged", name, got)
				}
				if len(after) != 0 {
					t.Errorf("%s: payloads after HASH(3)", name)
				}
				qm.hashed3 = true
			}
		default:
			t.Fatalf("%s: unexpected exchange", name)
		}
		checkHex(t, name+" HASH payload", got, hp.Data)
		hashes++
	}
	if hashes != len(msgs)-4 || len(qmOrder) == 0 {
		t.Fatalf("%d HASH payloads checked, %d Quick Modes", hashes, len(qmOrder))
	}

	// KEYMAT (RFC 2409 Section 5.5), in the order charon logged the
	// Quick Modes. The SA the initiator sends on has the responder's
	// SPI; charon logs its keys first ("initiator SA seed").
	keys := map[uint32][2][]byte{} // by SPI: encryption and integrity keys
	dhs := logged.all("DH secret")
	for i, qm := range qmOrder {
		at := func(label string) []byte {
			vs := logged.all(label)
			if len(vs) != len(qmOrder) || !qm.hashed3 {
				t.Fatalf("%d values of %q for %d Quick Modes", len(vs), label, len(qmOrder))
			}
			return unhexV1(t, vs[i])
		}
		var gqm []byte
		if qm.pfs {
			gqm, dhs = unhexV1(t, dhs[0]), dhs[1:]
		}
		esp := uint8(wire.V1ProtocolESP)
		spiOut, spiIn := binary.BigEndian.Uint32(qm.spiR), binary.BigEndian.Uint32(qm.spiI)
		checkHex(t, "initiator SA seed", slices.Concat(gqm, []byte{esp}, qm.spiR, qm.ni, qm.nr), at("initiator SA seed"))
		encrI, integI := at("encryption initiator key"), at("integrity initiator key")
		encrR, integR := at("encryption responder key"), at("integrity responder key")
		n := len(encrI) + len(integI)
		out := k.keymat(n, gqm, esp, spiOut, qm.ni, qm.nr)
		checkHex(t, "KEYMAT initiator", out, slices.Concat(encrI, integI))
		in := k.keymat(n, gqm, esp, spiIn, qm.ni, qm.nr)
		checkHex(t, "KEYMAT responder", in, slices.Concat(encrR, integR))
		keys[spiOut] = [2][]byte{out[:len(encrI)], out[len(encrI):]}
		keys[spiIn] = [2][]byte{in[:len(encrR)], in[len(encrR):]}
	}
	if len(dhs) != 0 {
		t.Errorf("%d DH secrets left", len(dhs))
	}

	// The captured ESP packets authenticate and decrypt with them.
	espFiles, _ := filepath.Glob(filepath.Join(dir, "esp-*.hex"))
	if len(espFiles) == 0 {
		t.Fatal("no ESP packet")
	}
	for _, f := range espFiles {
		pkt := readHex(t, f)
		kk, ok := keys[binary.BigEndian.Uint32(pkt)]
		if !ok {
			t.Fatalf("%s: unknown SPI", f)
		}
		checkV1ESP(t, f, pkt, kk[0], kk[1])
	}
}

// checkV1Signature checks that the SIG payload of ps is the RSA signature
// of hash with the key of its CERT payload: PKCS #1 v1.5 without a
// DigestInfo (RFC 2409 Section 5.1; strongSwan's RSA_EMSA_PKCS1_NULL).
func checkV1Signature(t *testing.T, name string, ps []wire.V1Payload, hash []byte) {
	t.Helper()
	sig, ok1 := wire.FindV1[*wire.V1Signature](ps)
	cert, ok2 := wire.FindV1[*wire.V1Cert](ps)
	if !ok1 || !ok2 {
		t.Fatalf("%s: %s", name, wire.FormatV1Payloads(ps))
	}
	c, err := x509.ParseCertificate(cert.Data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	pub, ok := c.PublicKey.(*rsa.PublicKey)
	if !ok {
		t.Fatalf("%s: %T key", name, c.PublicKey)
	}
	if err := rsa.VerifyPKCS1v15(pub, 0, hash, sig.Data); err != nil {
		t.Errorf("%s: SIG: %v", name, err)
	}
}

// checkV1ESP checks the ICV of a captured ESP packet (RFC 4303 Section 2)
// and that it decrypts to an IPv4 packet with a well-formed trailer. The
// algorithms follow from the key lengths: AES-256-CBC or 3DES-CBC, and
// HMAC-SHA-256-128 (RFC 4868) or HMAC-SHA-1-96 (RFC 2404).
func checkV1ESP(t *testing.T, name string, pkt, encr, integ []byte) {
	t.Helper()
	var block cipher.Block
	var err error
	switch len(encr) {
	case 32:
		block, err = aes.NewCipher(encr)
	case 24:
		block, err = des.NewTripleDESCipher(encr)
	default:
		t.Fatalf("%s: %d-octet ESP key", name, len(encr))
	}
	if err != nil {
		t.Fatal(err)
	}
	newHash, icvLen := sha1.New, 12
	if len(integ) == 32 {
		newHash, icvLen = func() hash.Hash { return sha256.New() }, 16
	}
	bs := block.BlockSize()
	if len(pkt) < 8+bs+icvLen || (len(pkt)-8-bs-icvLen)%bs != 0 {
		t.Fatalf("%s: ESP packet of %d octets", name, len(pkt))
	}
	body, icv := pkt[:len(pkt)-icvLen], pkt[len(pkt)-icvLen:]
	mac := hmac.New(newHash, integ)
	mac.Write(body)
	if !hmac.Equal(mac.Sum(nil)[:icvLen], icv) {
		t.Errorf("%s: ICV does not verify", name)
	}
	plain := make([]byte, len(body)-8-bs)
	cipher.NewCBCDecrypter(block, body[8:8+bs]).CryptBlocks(plain, body[8+bs:])
	padLen, next := int(plain[len(plain)-2]), plain[len(plain)-1]
	if next != 4 || plain[0]>>4 != 4 || padLen+2 > len(plain) ||
		int(binary.BigEndian.Uint16(plain[2:])) != len(plain)-2-padLen {
		t.Errorf("%s: decrypted to %x", name, plain)
	}
}

// TestV1EncryptPadding checks the padding of encrypt: 1 to a block size of
// zeros, as strongSwan's encrypt_v1, and decrypt of what it made.
func TestV1EncryptPadding(t *testing.T) {
	for _, c := range []v1Cipher{{wire.V1EncrAESCBC, 128}, {wire.V1EncrAESCBC, 256}, {wire.V1Encr3DES, 192}} {
		n, _ := c.keyLen()
		k := v1KeysFromEncKey(t, crypto.SHA256, c, bytes.Repeat([]byte{7}, n))
		bs := k.blockSize()
		iv := make([]byte, bs)
		for l := range 3*bs + 1 {
			plain := bytes.Repeat([]byte{0xa5}, l)
			ct, next := k.encrypt(iv, plain)
			if len(ct) != (l/bs+1)*bs || !bytes.Equal(next, ct[len(ct)-bs:]) {
				t.Fatalf("%v: %d octets encrypted to %d", c, l, len(ct))
			}
			got, next2, err := k.decrypt(iv, ct)
			if err != nil || !bytes.Equal(got[:l], plain) || !bytes.Equal(got[l:], make([]byte, len(ct)-l)) || !bytes.Equal(next2, next) {
				t.Fatalf("%v: %d octets: %x, %v", c, l, got, err)
			}
		}
		if ct, next := k.encrypt(iv[1:], []byte{1}); ct != nil || next != nil {
			t.Errorf("%v: encrypted with a short IV", c)
		}
	}
}

// TestV1KeysErrors checks what deriveV1Keys and the ciphers refuse, and
// that the IV derivations cut to the block size.
func TestV1KeysErrors(t *testing.T) {
	skeyid, gxy := []byte("skeyid"), []byte("gxy")
	aes128 := v1Cipher{wire.V1EncrAESCBC, 128}
	for _, tc := range []struct {
		name   string
		h      v1Hash
		c      v1Cipher
		skeyid []byte
		gxy    []byte
	}{
		{"MD5", crypto.MD5, aes128, skeyid, gxy},
		{"no hash", 0, aes128, skeyid, gxy},
		{"DES", crypto.SHA1, v1Cipher{wire.V1EncrDES, 64}, skeyid, gxy},
		{"AES without key length", crypto.SHA1, v1Cipher{wire.V1EncrAESCBC, 0}, skeyid, gxy},
		{"AES-512", crypto.SHA1, v1Cipher{wire.V1EncrAESCBC, 512}, skeyid, gxy},
		{"3DES-128", crypto.SHA1, v1Cipher{wire.V1Encr3DES, 128}, skeyid, gxy},
		{"empty SKEYID", crypto.SHA1, aes128, nil, gxy},
		{"empty g^xy", crypto.SHA1, aes128, skeyid, nil},
	} {
		if k, err := deriveV1Keys(tc.h, tc.c, tc.skeyid, tc.gxy, 1, 2); err == nil || !strings.HasPrefix(err.Error(), "ike: ") {
			t.Errorf("%s: %v, %v", tc.name, k, err)
		}
	}
	if v1SKEYIDPSK(crypto.MD5, []byte("psk"), []byte("ni"), []byte("nr")) != nil ||
		v1SKEYIDSig(crypto.MD5, []byte("ni"), []byte("nr"), gxy) != nil {
		t.Error("SKEYID with MD5")
	}
	for _, c := range []v1Cipher{aes128, {wire.V1Encr3DES, 0}} {
		for _, h := range []v1Hash{crypto.SHA1, crypto.SHA384, crypto.SHA512} {
			k, err := deriveV1Keys(h, c, skeyid, gxy, 1, 2)
			if err != nil {
				t.Fatal(err)
			}
			bs := k.blockSize()
			if len(k.initialIV(gxy, gxy)) != bs || len(k.phase2IV(k.initialIV(gxy, gxy), 7)) != bs ||
				len(k.hashMsg(1)) != h.Size() || len(k.keymat(1000, nil, 3, 1, nil, nil)) != 1000 || k.keymat(0, nil, 3, 1, nil, nil) != nil {
				t.Errorf("%v %v: wrong lengths", c, h)
			}
		}
	}
	var empty v1Keys
	if _, _, err := empty.decrypt(make([]byte, 16), make([]byte, 16)); err == nil {
		t.Error("decrypt without a cipher")
	}
	if ct, _ := empty.encrypt(make([]byte, 16), nil); ct != nil || empty.initialIV(nil, nil) != nil {
		t.Error("encrypt without a cipher")
	}
}

// TestV1SKEYIDSig checks SKEYID for signatures against its definition with
// the key and data in the order of RFC 2409 Section 5: the nonces are the
// key.
func TestV1SKEYIDSig(t *testing.T) {
	ni, nr, gxy := []byte("initiator nonce"), []byte("responder nonce"), []byte("g^xy")
	m := hmac.New(sha256.New, []byte("initiator nonceresponder nonce"))
	m.Write(gxy)
	checkHex(t, "SKEYID", v1SKEYIDSig(crypto.SHA256, ni, nr, gxy), m.Sum(nil))
}

// FuzzV1Decrypt checks that decrypt never panics and fails exactly when
// the IV is not one block or the ciphertext not a non-empty multiple of
// the block size.
func FuzzV1Decrypt(f *testing.F) {
	f.Add(make([]byte, 16), make([]byte, 32), false)
	f.Add(make([]byte, 8), make([]byte, 8), true)
	f.Add([]byte{}, make([]byte, 15), false)
	f.Add(make([]byte, 16), []byte{}, true)
	keys := map[bool]*v1Keys{
		false: v1KeysFromEncKey(f, crypto.SHA256, v1Cipher{wire.V1EncrAESCBC, 128}, make([]byte, 16)),
		true:  v1KeysFromEncKey(f, crypto.SHA1, v1Cipher{wire.V1Encr3DES, 192}, bytes.Repeat([]byte{1, 2, 3}, 8)),
	}
	f.Fuzz(func(t *testing.T, iv, ct []byte, tdes bool) {
		k := keys[tdes]
		bs := k.blockSize()
		plain, next, err := k.decrypt(iv, ct)
		valid := len(iv) == bs && len(ct) > 0 && len(ct)%bs == 0
		if (err == nil) != valid {
			t.Fatalf("iv %d, ct %d octets: %v", len(iv), len(ct), err)
		}
		if err != nil {
			return
		}
		if len(plain) != len(ct) || !bytes.Equal(next, ct[len(ct)-bs:]) {
			t.Fatalf("%d octets decrypted to %d", len(ct), len(plain))
		}
		if again, _ := k.encrypt(iv, plain); !bytes.Equal(again[:len(ct)], ct) {
			t.Fatal("encrypt is not the inverse of decrypt")
		}
	})
}
