package main

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike"
	"github.com/ikego/ikego/pki"
)

// baseConfig is a valid host-to-net configuration the error cases change
// one field of.
const baseConfig = `
pools:
  - {name: rw4, addrs: 198.18.200.0/28, dns: [198.51.100.53]}
  - {name: rw6, addrs: "2001:db8:200::/120"}
connections:
  rw:
    local: {auth: psk, id: vpn.example.com}
    remote: {auth: psk, id: client1@example.com}
    psk: ikego-psk-0123456789abcdef
    local_ts: [203.0.113.0/26, 198.18.1.0/24]
    pools: [rw4]
`

// edit is a change of the base configuration: the YAML value at a dotted
// path (created if missing), or the removal of the field if value is "-".
type edit struct{ path, value string }

// configWith returns baseConfig with the edits applied.
func configWith(t *testing.T, edits ...edit) []byte {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(baseConfig), &doc); err != nil {
		t.Fatal(err)
	}
	for _, e := range edits {
		n := doc.Content[0]
		keys := strings.Split(e.path, ".")
		for i, k := range keys {
			if n.Kind != yaml.MappingNode {
				t.Fatalf("edit %s: %s is not a mapping", e.path, k)
			}
			j := slices.IndexFunc(n.Content, func(c *yaml.Node) bool { return c.Value == k })
			if j%2 != 0 {
				j = -1
			}
			last := i == len(keys)-1
			if last && e.value == "-" {
				if j >= 0 {
					n.Content = slices.Delete(n.Content, j, j+2)
				}
				break
			}
			if j < 0 {
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k},
					&yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"})
				j = len(n.Content) - 2
			}
			if last {
				var v yaml.Node
				if err := yaml.Unmarshal([]byte(e.value), &v); err != nil {
					t.Fatalf("edit %s: %v", e.path, err)
				}
				if len(v.Content) == 0 { // an empty value
					v.Content = []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!null"}}
				}
				n.Content[j+1] = v.Content[0]
			}
			n = n.Content[j+1]
		}
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// check parses and builds a configuration from text.
func check(data []byte, dir string) (*Runtime, error) {
	cfg, err := Parse(data)
	if cfg == nil {
		return nil, err
	}
	cfg.Dir = dir
	return Build(cfg) // with Parse's errors
}

// testStore makes a PKI store with a CA, a server certificate "vpn" and a
// CA certificate "partner" in certs/.
func testStore(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pki")
	st := &pki.Store{Dir: dir}
	if _, err := st.InitCA(pki.CAOptions{Subject: "C=US, O=ikego test, CN=test CA", KeyType: pki.KeyTypeECDSAP256}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Issue("vpn", pki.Request{Profile: pki.ProfileServer, Names: []string{"vpn.example.com"}, KeyType: pki.KeyTypeECDSAP256}); err != nil {
		t.Fatal(err)
	}
	other := &pki.Store{Dir: filepath.Join(t.TempDir(), "other")}
	ca, err := other.InitCA(pki.CAOptions{Subject: "C=US, O=partner, CN=partner CA", KeyType: pki.KeyTypeECDSAP256})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put("partner", ca.Cert, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestConfigErrors: every rule and every kind of field refuses a mistake
// with an error that names the field.
func TestConfigErrors(t *testing.T) {
	store := testStore(t)
	other := testStore(t) // a key that does not belong to store's vpn certificate
	pubkey := []edit{{"connections.rw.local", "{auth: pubkey, certs: [vpn]}"}, {"connections.rw.remote", "{auth: pubkey}"},
		{"connections.rw.psk", "-"}, {"pki.dir", store}}
	netToNet := []edit{{"connections.rw.type", "net-to-net"}, {"connections.rw.pools", "-"},
		{"connections.rw.remote_ts", "198.18.2.0/24"}}
	l2tpConn := []edit{{"connections.rw.type", "l2tp"}, {"connections.rw.local_ts", "-"}, {"l2tp_users", "[{id: alice, secret: alice-pw}]"}}
	l2 := func(more ...edit) []edit { return append(slices.Clone(l2tpConn), more...) }
	for _, tc := range []struct {
		name  string
		edits []edit
		want  string // the field path, then the reason
	}{
		// Decoding: unknown fields, wrong kinds, malformed values.
		{"unknown top-level field", []edit{{"bogus", "1"}}, "bogus: unknown field"},
		{"unknown connection field", []edit{{"connections.rw.local_subnets", "10.0.0.0/8"}}, "connections.rw.local_subnets: unknown field"},
		{"unknown nested field", []edit{{"connections.rw.local.cert", "x"}}, "connections.rw.local.cert: unknown field"},
		{"unknown pool field", []edit{{"pools", "[{name: p, addrs: 10.0.0.0/24, gateway: 10.0.0.1}]"}}, "pools[0].gateway: unknown field"},
		{"mapping for a list", []edit{{"listen", "{a: b}"}}, "listen: want a list or a value, not a mapping"},
		{"list for a mapping", []edit{{"connections.rw.local", "[psk]"}}, "connections.rw.local: want a mapping"},
		{"list for a value", []edit{{"connections.rw.psk", "[a, b]"}}, "connections.rw.psk: want a value, not a list"},
		{"connections as a list", []edit{{"connections", "[rw]"}}, "connections: want a mapping"},
		{"int", []edit{{"tun.mtu", "big"}}, `tun.mtu: "big": not a whole number`},
		{"bool", []edit{{"connections.rw.enabled", "maybe"}}, `connections.rw.enabled: "maybe": want true or false`},
		{"bool pointer", []edit{{"connections.rw.fragmentation", "sometimes"}}, "connections.rw.fragmentation"},
		{"duration", []edit{{"connections.rw.rekey_time", "soon"}}, `connections.rw.rekey_time: "soon": not a duration`},
		{"negative duration", []edit{{"dpd_delay", "-5s"}}, `dpd_delay: "-5s": negative`},
		{"ikev1_timeout", []edit{{"ikev1_timeout", "1 fortnight"}}, "ikev1_timeout"},
		{"count", []edit{{"connections.rw.life_bytes", "lots"}}, `connections.rw.life_bytes: "lots": not a count`},
		{"count overflow", []edit{{"connections.rw.life_packets", "99999999999t"}}, "connections.rw.life_packets"},
		{"list item", []edit{{"connections.rw.local_ts", "[10.0.0.0/8, {a: b}]"}}, "connections.rw.local_ts[1]: want a value"},

		// Global settings.
		{"listen address", []edit{{"listen", "[198.51.100.2, vpn.example.com]"}}, `listen[1]: "vpn.example.com": not an IP address`},
		{"listen wildcard", []edit{{"listen", "0.0.0.0"}}, "listen[0]"},
		{"tun name", []edit{{"tun.name", "a-very-long-interface-name"}}, "tun.name"},
		{"tun mtu", []edit{{"tun.mtu", "100"}}, "tun.mtu: 100: want 576 to 65535"},
		{"tun mtu for IPv6", []edit{{"tun.mtu", "1000"}, {"connections.rw.local_ts", `"::/0"`}}, "tun.mtu: 1000: IPv6 in the tunnel needs at least 1280"},
		{"pool name missing", []edit{{"pools", "[{addrs: 10.0.0.0/24}]"}}, "pools[0].name: required"},
		{"duplicate pool", []edit{{"pools", "[{name: rw4, addrs: 10.0.0.0/24}, {name: rw4, addrs: 10.1.0.0/24}]"}}, `pools[1].name: "rw4": a pool of this name is defined before`},
		{"pool addrs missing", []edit{{"pools", "[{name: rw4}]"}}, "pools[0].addrs: required"},
		{"pool prefix", []edit{{"pools", "[{name: rw4, addrs: 10.0.0/24}]"}}, `pools[0].addrs: "10.0.0/24": not a prefix or a range`},
		{"pool range", []edit{{"pools", "[{name: rw4, addrs: 10.0.0.9-10.0.0.1}]"}}, "pools[0].addrs"},
		{"pool range families", []edit{{"pools", `[{name: rw4, addrs: "10.0.0.1-2001:db8::1"}]`}}, "pools[0].addrs"},
		{"overlapping pools", []edit{{"pools", "[{name: rw4, addrs: 10.0.0.0/24}, {name: b, addrs: 10.0.0.100-10.0.1.5}]"}}, `pools[1].addrs: "10.0.0.100-10.0.1.5" overlaps pool "rw4" (pools[0])`},
		{"pool dns", []edit{{"pools", "[{name: rw4, addrs: 10.0.0.0/24, dns: [10.0.0.1, dns.example.com]}]"}}, `pools[0].dns[1]: "dns.example.com": not an IP address`},
		{"pki dir", []edit{{"pki.dir", "/nonexistent/pki"}}, "pki.dir"},
		{"log format", []edit{{"log.format", "xml"}}, `log.format: "xml": want text or json`},
		{"log level", []edit{{"log.level", "loud"}}, `log.level: "loud"`},
		{"log debug", []edit{{"log.debug", "ike, dns"}}, `log.debug[1]: "dns": want one of ike, esp, cfg, net`},
		{"no connection", []edit{{"connections.rw.enabled", "false"}}, "connections: no enabled connection"},
		{"connection given twice", nil, ""}, // raw YAML below

		// Connections.
		{"connection name", []edit{{"connections.rw.remark", "x"}, {"connections.r w", "{}"}}, `connections.r w: "r w": a connection name`},
		{"type xauth without users", []edit{{"connections.rw.type", "xauth"}, {"connections.rw.local_ts", "203.0.113.0/26"}}, "connections.rw.type: xauth needs xauth_users"},
		{"type xauth with version 2", []edit{{"connections.rw.type", "xauth"}, {"connections.rw.version", "2"}}, "connections.rw.version: 2: type xauth is IKEv1"},
		{"type unknown", []edit{{"connections.rw.type", "site"}}, `connections.rw.type: "site": want host-to-net, net-to-net, xauth or l2tp`},
		{"l2tp without users", []edit{{"connections.rw.type", "l2tp"}, {"connections.rw.local_ts", "-"}}, "connections.rw.type: l2tp needs l2tp_users"},
		{"l2tp with version 2", l2(edit{"connections.rw.version", "2"}), "connections.rw.version: 2: L2TP/IPsec clients speak IKEv1"},
		{"l2tp with version both", l2(edit{"connections.rw.version", "both"}), "connections.rw.version: both: L2TP/IPsec clients speak IKEv1"},
		{"l2tp with local_ts", l2(edit{"connections.rw.local_ts", "10.0.0.0/8"}), "connections.rw.local_ts: not for l2tp"},
		{"l2tp in beet mode", l2(edit{"connections.rw.mode", "beet"}), `connections.rw.mode: "beet": want tunnel or transport`},
		{"l2tp with a vip", l2(edit{"connections.rw.vip", "198.18.200.5"}), "connections.rw.vip: not for l2tp"},
		{"l2tp initiating", l2(edit{"connections.rw.start_action", "start"}), "connections.rw.start_action: start: l2tp connections wait for their clients"},
		{"l2tp aggressive", l2(edit{"connections.rw.aggressive", "true"}), "connections.rw.aggressive: not for l2tp"},
		{"l2tp pull", l2(edit{"connections.rw.pull", "false"}), "connections.rw.pull: not for l2tp"},
		{"l2tp without a pool", l2(edit{"connections.rw.pools", "-"}), "connections.rw.pools: l2tp takes one pool"},
		{"l2tp with two pools", l2(edit{"connections.rw.pools", "[rw4, rw6]"}), "connections.rw.pools: l2tp takes one pool"},
		{"l2tp with an IPv6 pool", l2(edit{"connections.rw.pools", "rw6"}), `connections.rw.pools[0]: "rw6": an l2tp pool is an IPv4 prefix from /16 to /30`},
		{"l2tp with a range pool", l2(edit{"pools", "[{name: rw4, addrs: 198.18.200.10-198.18.200.20}]"}), `connections.rw.pools[0]: "rw4": an l2tp pool is an IPv4 prefix`},
		{"l2tp with hybrid", l2(append(slices.Clone(pubkey), edit{"connections.rw.remote.auth", "xauth"})...), "connections.rw.remote.auth: xauth (hybrid) needs type xauth"},
		{"l2tp pool used by IKE", l2(edit{"connections.rw2", "{local: {auth: psk}, remote: {auth: psk}, psk: ikego-psk-0123456789abcdef, local_ts: 10.0.0.0/8, pools: rw4}"}),
			`connections.rw2.pools[0]: "rw4": the pool of l2tp connection "rw"`},
		{"IKE pool used by l2tp", []edit{{"connections.rw2", "{type: l2tp, local: {auth: psk}, remote: {auth: psk}, psk: ikego-psk-0123456789abcdef, pools: rw4}"},
			{"l2tp_users", "[{id: alice, secret: alice-pw}]"}},
			`connections.rw2.pools[0]: "rw4": the pool of connection "rw"`},
		{"l2tp connections with two pools", l2(edit{"pools", "[{name: rw4, addrs: 198.18.200.0/28}, {name: l2, addrs: 198.18.201.0/28}]"},
			edit{"connections.rw2", "{type: l2tp, local: {auth: psk}, remote: {auth: psk}, psk: ikego-psk-0123456789abcdef, pools: l2}"}),
			`connections.rw2.pools[0]: "l2": l2tp connections share one pool`},
		{"vip on xauth", []edit{{"xauth_users", "[{id: bob, secret: x}]"}, {"connections.rw.type", "xauth"}, {"connections.rw.local_ts", "203.0.113.0/26"},
			{"connections.rw.vip", "198.18.200.5"}}, "connections.rw.vip: not for xauth"},
		{"compression with IKEv1", []edit{{"connections.rw.version", "1"}, {"connections.rw.local_ts", "203.0.113.0/26"}, {"connections.rw.compression", "true"}},
			"connections.rw.compression: IPComp is negotiated over IKEv2 only"},
		{"l2tp user empty", []edit{{"l2tp_users", "[{id: '', secret: x}]"}}, "l2tp_users[0].id: empty"},
		{"l2tp user twice", []edit{{"l2tp_users", "[{id: bob, secret: x}, {id: bob, secret: y}]"}}, `l2tp_users[1].id: "bob": given twice`},
		{"version 3", []edit{{"connections.rw.version", "3"}}, `connections.rw.version: "3": want 1, 2 or both`},
		{"several local subnets with IKEv1", []edit{{"connections.rw.version", "1"}}, "connections.rw.local_ts: IKEv1 negotiates one subnet pair per CHILD_SA"},
		{"several local subnets with both", []edit{{"connections.rw.version", "both"}}, "connections.rw.local_ts: IKEv1 negotiates one subnet pair per CHILD_SA"},
		{"IKEv1 psk with remote pubkey", []edit{{"connections.rw.version", "1"}, {"connections.rw.local_ts", "203.0.113.0/26"}, {"connections.rw.remote.auth", "pubkey"}}, "connections.rw.remote.auth: pubkey: with local.auth psk, IKEv1 (version 1) takes remote.auth psk"},
		{"IKEv1 pubkey with remote psk", append(slices.Clone(pubkey), edit{"connections.rw.version", "1"}, edit{"connections.rw.local_ts", "203.0.113.0/26"}, edit{"connections.rw.remote.auth", "psk"}), "connections.rw.remote.auth: psk: with local.auth pubkey, IKEv1 (version 1) takes remote.auth pubkey or xauth"},
		{"IKEv1 XAuth with an ECDSA certificate", append(slices.Clone(pubkey), edit{"connections.rw.type", "xauth"}, edit{"xauth_users", "[{id: bob, secret: x}]"},
			edit{"connections.rw.local_ts", "203.0.113.0/26"}), "connections.rw.local: IKEv1 XAuth and hybrid sign with RSA keys only"},
		{"remote xauth with IKEv2", append(slices.Clone(pubkey), edit{"connections.rw.remote.auth", "xauth"}), "connections.rw.remote.auth: xauth is IKEv1: type xauth"},
		{"remote xauth without type xauth", append(slices.Clone(pubkey), edit{"connections.rw.version", "1"}, edit{"connections.rw.local_ts", "203.0.113.0/26"}, edit{"connections.rw.remote.auth", "xauth"}), "connections.rw.remote.auth: xauth (hybrid) needs type xauth"},
		{"local xauth", []edit{{"connections.rw.local.auth", "xauth"}}, "connections.rw.local.auth: xauth is for the remote end"},
		{"aggressive with IKEv2", []edit{{"connections.rw.aggressive", "true"}}, "connections.rw.aggressive: Aggressive Mode is IKEv1"},
		{"pull with IKEv2", []edit{{"connections.rw.pull", "false"}}, "connections.rw.pull: Mode Config is IKEv1"},
		{"aggressive with certificates", append(slices.Clone(pubkey), edit{"connections.rw.type", "xauth"}, edit{"connections.rw.local_ts", "203.0.113.0/26"}, edit{"connections.rw.aggressive", "true"}), "connections.rw.aggressive: Aggressive Mode is served with a PSK only"},
		{"XAuth initiating", []edit{{"xauth_users", "[{id: bob, secret: x}]"}, {"connections.rw.type", "xauth"}, {"connections.rw.local_ts", "203.0.113.0/26"}, {"connections.rw.start_action", "start"}}, "connections.rw.start_action: start: XAuth connections wait for their clients"},
		{"several remote subnets with IKEv1", append(slices.Clone(netToNet), edit{"connections.rw.version", "1"}, edit{"connections.rw.local_ts", "203.0.113.0/26"}, edit{"connections.rw.remote_ts", "198.18.2.0/24, 198.18.3.0/24"}), "connections.rw.remote_ts: IKEv1 negotiates one subnet pair per CHILD_SA"},
		{"xauth user empty", []edit{{"xauth_users", "[{id: '', secret: x}]"}}, "xauth_users[0].id: empty"},
		{"xauth user twice", []edit{{"xauth_users", "[{id: bob, secret: x}, {id: bob, secret: y}]"}}, `xauth_users[1].id: "bob": given twice`},
		{"xauth secret empty", []edit{{"xauth_users", "[{id: bob, secret: ''}]"}}, "xauth_users[0].secret: empty"},
		{"ikev1_timeout negative", []edit{{"ikev1_timeout", "-5s"}}, `ikev1_timeout: "-5s": negative`},
		{"local auth eap", []edit{{"connections.rw.local.auth", "eap-mschapv2"}}, "connections.rw.local.auth: eap-mschapv2 is for the remote end"},
		{"remote eap without users", []edit{{"connections.rw.remote.auth", "eap-mschapv2"}}, "connections.rw.remote.auth: eap-mschapv2 needs eap_users"},
		{"remote eap with local psk", []edit{{"connections.rw.remote.auth", "eap-mschapv2"}}, "connections.rw.local.auth: remote.auth eap-mschapv2 needs our certificate"},
		{"remote auth unknown", []edit{{"connections.rw.remote.auth", "password"}}, `connections.rw.remote.auth: "password": want psk or pubkey (or eap-mschapv2 or xauth for remote)`},
		{"local id pattern", []edit{{"connections.rw.local.id", "'*.example.com'"}}, "connections.rw.local.id: \"*.example.com\": our own identity cannot be a pattern"},
		{"local id malformed", []edit{{"connections.rw.local.id", "'C=US, XX=vpn'"}}, "connections.rw.local.id"},
		{"remote id malformed", []edit{{"connections.rw.remote.id", "'keyid:#zz'"}}, "connections.rw.remote.id"},
		{"psk missing", []edit{{"connections.rw.psk", "-"}}, "connections.rw.psk: required by auth psk"},
		{"psk without psk auth", append(slices.Clone(pubkey), edit{"connections.rw.psk", "a-key-nobody-uses"}), "connections.rw.psk: set, but neither"},
		{"psk too short", []edit{{"connections.rw.psk", "secret"}}, "connections.rw.psk: 6 bytes is too short"},
		{"psk hex too short", []edit{{"connections.rw.psk", "0x0102030405"}}, "connections.rw.psk: 5 bytes is too short"},
		{"psk bad hex", []edit{{"connections.rw.psk", "0xnothexatall-nothexatall"}}, "connections.rw.psk: 0x: not hexadecimal"},
		{"psk bad base64", []edit{{"connections.rw.psk", "0s!!!!!!!!!!!!!!!!!!!!!!!!"}}, "connections.rw.psk: 0s: not base64"},
		{"local_ts missing", []edit{{"connections.rw.local_ts", "-"}}, "connections.rw.local_ts: required"},
		{"local_ts malformed", []edit{{"connections.rw.local_ts", "[10.0.0.0/8, 10.0.0/8]"}}, `connections.rw.local_ts[1]: "10.0.0/8": not a prefix`},
		{"local_ts dynamic and more", []edit{{"connections.rw.local_ts", "[10.0.0.0/8, dynamic]"}}, "connections.rw.local_ts[1]: dynamic stands alone"},
		{"remote_ts on host-to-net", []edit{{"connections.rw.remote_ts", "10.0.0.0/8"}}, "connections.rw.remote_ts: only for net-to-net"},
		{"remote_ts malformed", append(slices.Clone(netToNet), edit{"connections.rw.remote_ts", `[198.18.2.0/24, "198.18.2.0/24[tcp/http]"]`}), "connections.rw.remote_ts[1]"},
		{"net-to-net without remote_ts", append(slices.Clone(netToNet), edit{"connections.rw.remote_ts", "-"}), "connections.rw.remote_ts: required for net-to-net"},
		{"pools on net-to-net", append(slices.Clone(netToNet), edit{"connections.rw.pools", "rw4"}), "connections.rw.pools: only for host-to-net"},
		{"unknown pool", []edit{{"connections.rw.pools", "[rw4, rw5]"}}, `connections.rw.pools[1]: "rw5": no pool of this name`},
		{"pool named twice", []edit{{"connections.rw.pools", "[rw4, rw4]"}}, `connections.rw.pools[1]: "rw4": named twice`},
		{"vip outside the pools", []edit{{"connections.rw.vip", "198.18.201.1"}}, "connections.rw.vip[0]: 198.18.201.1 is in no pool of the connection (rw4)"},
		{"vip in a pool of another connection", []edit{{"connections.rw.vip", "2001:db8:200::5"}}, "connections.rw.vip[0]: 2001:db8:200::5 is in no pool"},
		{"vip for a wildcard id", []edit{{"connections.rw.vip", "198.18.200.5"}, {"connections.rw.remote.id", "'*@example.com'"}}, "connections.rw.vip: needs a remote.id without wildcards"},
		{"vip for any id", []edit{{"connections.rw.vip", "198.18.200.5"}, {"connections.rw.remote.id", "-"}}, "connections.rw.vip: needs a remote.id without wildcards"},
		{"vip without pools", []edit{{"connections.rw.vip", "198.18.200.5"}, {"connections.rw.pools", "-"}}, "connections.rw.vip: needs pools"},
		{"vip on net-to-net", append(slices.Clone(netToNet), edit{"connections.rw.vip", "198.18.200.5"}), "connections.rw.vip: only for host-to-net"},
		{"two vips of a family", []edit{{"connections.rw.vip", "[198.18.200.5, 198.18.200.6]"}}, "connections.rw.vip[1]: 198.18.200.6: one virtual IP per address family"},
		{"vip malformed", []edit{{"connections.rw.vip", "198.18.200"}}, `connections.rw.vip[0]: "198.18.200": not an IP address`},
		{"vip reserved twice", []edit{{"connections.rw.vip", "198.18.200.5"},
			{"connections.rw2", "{local: {auth: psk}, remote: {auth: psk, id: client2@example.com}, psk: ikego-psk-0123456789abcdef, local_ts: 10.0.0.0/8, pools: rw4, vip: 198.18.200.5}"}},
			`connections.rw2.vip[0]: 198.18.200.5 is already reserved in pool "rw4"`},
		{"dpd_action", []edit{{"connections.rw.dpd_action", "kill"}}, `connections.rw.dpd_action: "kill": want clear, hold or restart`},
		{"proposals", []edit{{"connections.rw.proposals", "aes256-sha256-modp2048, aes999"}}, `connections.rw.proposals: proposal "aes999"`},
		{"esp_proposals", []edit{{"connections.rw.esp_proposals", "[aes128gcm16, aes256-prfsha256-ecp256-foo]"}}, "connections.rw.esp_proposals"},
		{"life_time not above rekey_time", []edit{{"connections.rw.rekey_time", "1h"}, {"connections.rw.life_time", "30m"}}, "connections.rw.life_time: must be more than rekey_time"},
		{"life_bytes not above rekey_bytes", []edit{{"connections.rw.rekey_bytes", "1g"}, {"connections.rw.life_bytes", "1g"}}, "connections.rw.life_bytes: must be more than rekey_bytes"},
		{"life_packets not above rekey_packets", []edit{{"connections.rw.rekey_packets", "1000"}, {"connections.rw.life_packets", "10"}}, "connections.rw.life_packets"},
		{"mode", []edit{{"connections.rw.mode", "beet"}}, `connections.rw.mode: "beet": want tunnel or transport`},
		{"start_action trap", []edit{{"connections.rw.start_action", "trap"}}, "connections.rw.remote_addrs: start_action trap needs the peer's address here"},
		{"dpd_action hold", []edit{{"connections.rw.dpd_action", "hold"}}, "connections.rw.remote_addrs: dpd_action hold needs the peer's address here"},
		{"start_action unknown", []edit{{"connections.rw.start_action", "listen"}}, `connections.rw.start_action: "listen": want none (or add), start, or trap (or route)`},
		{"start without remote_addrs", append(slices.Clone(netToNet), edit{"connections.rw.start_action", "start"}, edit{"connections.rw.local_addrs", "198.51.100.2"}), "connections.rw.remote_addrs: start_action start needs the peer's address"},
		{"start from all addresses", append(slices.Clone(netToNet), edit{"connections.rw.start_action", "start"}, edit{"connections.rw.remote_addrs", "198.51.100.1"}), "connections.rw.local_addrs: start_action start needs the address to initiate from"},
		{"start from an address we do not listen on", append(slices.Clone(netToNet), edit{"connections.rw.start_action", "start"}, edit{"connections.rw.remote_addrs", "198.51.100.1"},
			edit{"connections.rw.local_addrs", "198.51.100.3"}, edit{"listen", "198.51.100.2"}), "connections.rw.local_addrs: 198.51.100.3 is not one of the listen addresses"},
		{"local_addrs", []edit{{"connections.rw.local_addrs", "[198.51.100.2, vpn.example.com]"}}, `connections.rw.local_addrs[1]: "vpn.example.com": not an address, prefix or range`},
		{"remote_addrs", []edit{{"connections.rw.remote_addrs", "10.0.0.9-10.0.0.1"}}, "connections.rw.remote_addrs[0]"},

		// Certificates.
		{"certs without pki.dir", append(slices.Clone(pubkey), edit{"pki.dir", "-"}), "connections.rw.local.certs: names certificates of the PKI store, but pki.dir is not set"},
		{"unknown cert", append(slices.Clone(pubkey), edit{"connections.rw.local.certs", "[nope]"}), `connections.rw.local.certs[0]: "nope": not in the PKI store`},
		{"cert without key", append(slices.Clone(pubkey), edit{"connections.rw.local.certs", "[partner]"}), `connections.rw.local.certs[0]: "partner": its private key`},
		{"unknown cacert", append(slices.Clone(pubkey), edit{"connections.rw.remote.cacerts", "[partner, nope]"}), `connections.rw.remote.cacerts[1]: "nope": not in the PKI store`},
		{"pubkey without certificate", append(slices.Clone(pubkey), edit{"connections.rw.local.certs", "-"}), "connections.rw.local: auth pubkey needs certs"},
		{"certs and cert_file", append(slices.Clone(pubkey), edit{"connections.rw.local.cert_file", "vpn.pem"}), "connections.rw.local.certs: give certs or cert_file and key_file, not both"},
		{"cert_file without key_file", append(slices.Clone(pubkey), edit{"connections.rw.local.certs", "-"}, edit{"connections.rw.local.cert_file", "vpn.pem"}), "connections.rw.local: auth pubkey needs certs"},
		{"cert_file missing", append(slices.Clone(pubkey), edit{"connections.rw.local.certs", "-"}, edit{"connections.rw.local.cert_file", "nope.pem"},
			edit{"connections.rw.local.key_file", filepath.Join(store, "private/vpn.key.pem")}), "connections.rw.local.cert_file"},
		{"cert_file a device", append(slices.Clone(pubkey), edit{"connections.rw.local.certs", "-"}, edit{"connections.rw.local.cert_file", "/dev/zero"},
			edit{"connections.rw.local.key_file", filepath.Join(store, "private/vpn.key.pem")}), "connections.rw.local.cert_file: /dev/zero: not a regular file"},
		{"ca_file a directory", append(slices.Clone(pubkey), edit{"connections.rw.remote.ca_file", store}), "connections.rw.remote.ca_file: " + store + ": not a regular file"},
		{"key_file not a key", append(slices.Clone(pubkey), edit{"connections.rw.local.certs", "-"}, edit{"connections.rw.local.cert_file", filepath.Join(store, "certs/vpn.cert.pem")},
			edit{"connections.rw.local.key_file", filepath.Join(store, "certs/vpn.cert.pem")}), "connections.rw.local.key_file"},
		{"key of another certificate", append(slices.Clone(pubkey), edit{"connections.rw.local.certs", "-"}, edit{"connections.rw.local.cert_file", filepath.Join(store, "certs/vpn.cert.pem")},
			edit{"connections.rw.local.key_file", filepath.Join(other, "private/vpn.key.pem")}), "connections.rw.local: the private key does not belong to the certificate"},
		{"certs with psk", []edit{{"connections.rw.local.certs", "vpn"}}, "connections.rw.local.certs: certificates are for auth pubkey"},
		{"cacerts and ca_file", append(slices.Clone(pubkey), edit{"connections.rw.remote.cacerts", "partner"}, edit{"connections.rw.remote.ca_file", "ca.pem"}), "connections.rw.remote.cacerts: give cacerts or ca_file, not both"},
		{"ca_file not a certificate", append(slices.Clone(pubkey), edit{"connections.rw.remote.ca_file", filepath.Join(store, "private/vpn.key.pem")}), "connections.rw.remote.ca_file"},
		{"remote pubkey without CAs", append(slices.Clone(pubkey), edit{"connections.rw.local.certs", "-"}, edit{"pki.dir", "-"},
			edit{"connections.rw.local.cert_file", filepath.Join(store, "certs/vpn.cert.pem")}, edit{"connections.rw.local.key_file", filepath.Join(store, "private/vpn.key.pem")}),
			"connections.rw.remote: auth pubkey needs cacerts or ca_file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := configWith(t, tc.edits...)
			if tc.name == "connection given twice" {
				data = []byte(baseConfig + "  rw:\n    local_ts: 10.0.0.0/8\n")
				tc.want = "connections.rw: connection defined twice"
			}
			rt, err := check(data, t.TempDir())
			if err == nil {
				t.Fatalf("accepted:\n%s\nwarnings: %q", data, rt.Warnings)
			}
			var found bool
			for _, e := range flatten(err) {
				var fe *FieldError
				if !errors.As(e, &fe) {
					t.Errorf("not a *FieldError: %v", e)
					continue
				}
				if fe.Line == 0 && fe.Path != "connections" {
					t.Errorf("no line for %v", fe)
				}
				found = found || strings.Contains(e.Error(), tc.want)
				if strings.Contains(e.Error(), "ikego-psk-0123456789abcdef") {
					t.Errorf("the error shows the PSK: %v", e)
				}
			}
			if !found {
				t.Errorf("errors:\n%v\nwant one containing %q\nconfig:\n%s", err, tc.want, data)
			}
		})
	}
}

// TestConfigWarnings: what is allowed but probably a mistake, or not acted
// on yet, is a warning, not an error.
func TestConfigWarnings(t *testing.T) {
	for _, tc := range []struct {
		edits []edit
		want  string
	}{
		{[]edit{{"connections.rw.psk", "only-12bytes"}}, "connections.rw.psk: 12 bytes"},
		{[]edit{{"connections.rw.pools", "-"}}, "connections.rw.pools: a host-to-net connection without pools"},
		{nil, `pools[1]: pool "rw6" is used by no enabled connection`},
		{[]edit{{"connections.rw.version", "both"}, {"connections.rw.local_ts", "203.0.113.0/26"}, {"connections.rw.compression", "true"}},
			"connections.rw.compression: IPComp is negotiated with IKEv2 clients only"},
	} {
		rt, err := check(configWith(t, tc.edits...), "")
		if err != nil {
			t.Errorf("%v: %v", tc.edits, err)
			continue
		}
		if !slices.ContainsFunc(rt.Warnings, func(w string) bool { return strings.Contains(w, tc.want) }) {
			t.Errorf("%v: warnings %q, want %q", tc.edits, rt.Warnings, tc.want)
		}
	}
}

// TestExampleConfig: the documented example parses and builds (with a PKI
// store where it expects one) and has what its comments say.
func TestExampleConfig(t *testing.T) {
	cfg, err := Load("roadwarrior.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.PKI.Dir = testStore(t)
	rt, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range rt.IKE.Peers {
		names = append(names, p.Name)
	}
	if fmt.Sprint(names) != "[carol everybody staff-certs cisco-ipsec l2tp]" {
		t.Errorf("connections %v, want the enabled ones in file order", names)
	}
	if x := rt.IKE.Peers[3]; x.Version != ike.VersionIKEv1 || x.Remote.XAuthPassword == nil {
		t.Errorf("cisco-ipsec: version %v, XAuth %v", x.Version, x.Remote.XAuthPassword != nil)
	} else if pw, ok := x.Remote.XAuthPassword("bob"); !ok || pw != "change-me-bob" {
		t.Errorf("cisco-ipsec: bob's password %q %v", pw, ok)
	}
	if l := rt.L2TP; l == nil || l.Pool != netip.MustParsePrefix("198.18.202.0/24") || rt.IKE.Peers[4].Children[0].Mode != esp.ModeTransport {
		t.Errorf("l2tp: service %+v", l)
	} else if pw, ok := l.Password("dave"); !ok || pw != "change-me-dave" {
		t.Errorf("l2tp: dave's password %q %v", pw, ok)
	}
	if rt.Listen != nil || rt.TUN.Name != "ikego%d" || rt.TUN.MTU != 1400 {
		t.Errorf("listen %v, tun %+v", rt.Listen, rt.TUN)
	}
	staff := rt.IKE.Pools[2]
	if a, ok := staff.Lookup("carol@example.com"); !ok || a != netip.MustParseAddr("198.18.201.10") {
		t.Errorf("carol's reserved address: %v %v", a, ok)
	}
	if first, last := staff.Range(); first.String() != "198.18.201.10" || last.String() != "198.18.201.99" {
		t.Errorf("range pool %v-%v", first, last)
	}
	// Every field of the example is set in it: the file documents them all.
	var n yaml.Node
	data, _ := os.ReadFile("roadwarrior.example.yaml")
	if err := yaml.Unmarshal(data, &n); err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, typ := range []any{Config{}, TUNConfig{}, PoolConfig{}, PKIConfig{}, LogConfig{}, Connection{}, LocalAuth{}, RemoteAuth{}} {
		for _, f := range fieldsOf(typ) {
			if !strings.Contains(text, f+":") {
				t.Errorf("roadwarrior.example.yaml does not show %s", f)
			}
		}
	}
	if len(rt.Warnings) != 0 {
		t.Errorf("warnings: %q", rt.Warnings)
	}
}

// TestBuild maps every field of a connection to the ike configuration.
func TestBuild(t *testing.T) {
	store := testStore(t)
	st := &pki.Store{Dir: store}
	// A CRL in the store is used with its CA.
	if _, err := st.Revoke(big.NewInt(12345), pki.ReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	data := []byte(`
listen: 198.51.100.2, 2001:db8:0:1::2
tun: {name: rw0, mtu: 1300}
pools:
  - {name: rw4, addrs: 198.18.200.0/28, dns: [198.51.100.53]}
  - {name: rw6, addrs: "2001:db8:200::/120", dns: ["2001:db8::53", 198.51.100.53]}
  - {name: spare, addrs: 10.9.0.10-10.9.0.20}
pki: {dir: ` + store + `}
log: {format: json, level: warn, debug: [ike, net]}
ikev1_timeout: 45
dpd_delay: 30s
connections:
  carol:
    remote_addrs: [0.0.0.0/0]
    local: {auth: psk, id: vpn.example.com}
    remote: {auth: psk, id: carol@example.com}
    psk: 0s` + "aWtlZ28tcHNrLTAxMjM0NTY3ODlhYmNkZWY=" + `
    local_ts: 203.0.113.0/26, 198.18.1.0/24[tcp/443], 2001:db8:1::/64
    pools: [rw4, rw6]
    vip: [198.18.200.9, "2001:db8:200::9"]
  rw:
    remark: certificates
    local_addrs: 198.51.100.2
    local: {auth: pubkey, certs: [vpn]}
    remote: {auth: pubkey, id: "C=US, O=ikego test, CN=*"}
    local_ts: 0.0.0.0/0
    pools: rw4
    proposals: aes256gcm16-prfsha384-ecp384
    esp_proposals: [aes256gcm16, aes128gcm16]
    strict: true
    rekey_time: 1h
    rekey_bytes: 1g
    life_bytes: 2g
    rekey_packets: 1000
    compression: true
    mode: transport
    encap: true
    fragmentation: false
    dpd_action: clear
  site:
    type: net-to-net
    version: 2
    local_addrs: [198.51.100.2]
    remote_addrs: [198.51.100.1, 198.51.100.64/26]
    local: {auth: psk, id: vpn.example.com}
    remote: {auth: psk, id: branch.example.com, cacerts: []}
    psk: 0x` + "000102030405060708090a0b0c0d0e0f" + `
    local_ts: 203.0.113.0/26
    remote_ts: [198.18.2.0/24, 198.18.3.0-198.18.3.127]
    start_action: start
    dpd_action: restart
    life_time: 2h
  off:
    enabled: false
    remote: {auth: psk}
    local: {auth: psk}
    psk: a-disabled-connection
    local_ts: 10.0.0.0/8
    pools: spare
`)
	rt, err := check(data, "")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(rt.Listen) != "[198.51.100.2 2001:db8:0:1::2]" {
		t.Errorf("listen %v", rt.Listen)
	}
	if rt.TUN.Name != "rw0" || rt.TUN.MTU != 1300 {
		t.Errorf("tun %+v", rt.TUN)
	}
	// Pools of the enabled host-to-net connections and remote_ts of the
	// net-to-net ones; not the pool of the disabled connection.
	if got := fmt.Sprint(rt.TUN.Routes); got != "[198.18.2.0/24 198.18.3.0/25 198.18.200.0/28 2001:db8:200::/120]" {
		t.Errorf("routes %s", got)
	}
	if fmt.Sprint(rt.Start) != "[site]" {
		t.Errorf("start %v", rt.Start)
	}
	if !rt.Log.JSON || rt.Log.Level != slog.LevelWarn || !rt.Log.Debug["ike"] || !rt.Log.Debug["net"] || rt.Log.Debug["esp"] {
		t.Errorf("log %+v", rt.Log)
	}
	if len(rt.IKE.Peers) != 3 || len(rt.IKE.Pools) != 3 {
		t.Fatalf("%d peers, %d pools", len(rt.IKE.Peers), len(rt.IKE.Pools))
	}

	carol, rw, site := rt.IKE.Peers[0], rt.IKE.Peers[1], rt.IKE.Peers[2]
	psk := []byte("ikego-psk-0123456789abcdef")
	if carol.Name != "carol" || carol.Local.Method != ike.AuthPSK || carol.Remote.Method != ike.AuthPSK ||
		carol.Local.ID.String() != "vpn.example.com" || carol.Remote.ID.String() != "carol@example.com" ||
		!bytes.Equal(carol.Local.PSK, psk) || !bytes.Equal(carol.Remote.PSK, psk) {
		t.Errorf("carol's auth: %+v %+v", carol.Local, carol.Remote)
	}
	if fmt.Sprint(carol.RemoteAddrs) != "[0.0.0.0/0]" || carol.LocalAddrs != nil || carol.RemoteHost.IsValid() {
		t.Errorf("carol's addresses: %v %v %v", carol.LocalAddrs, carol.RemoteAddrs, carol.RemoteHost)
	}
	if fmt.Sprint(carol.Pools) != "[rw4 rw6]" || fmt.Sprint(carol.DNS) != "[198.51.100.53 2001:db8::53]" {
		t.Errorf("carol's pools %v, dns %v", carol.Pools, carol.DNS)
	}
	cc := carol.Children[0]
	if cc.Name != "carol" || fmt.Sprint(cc.LocalTS) != "[203.0.113.0/26 198.18.1.0/24[tcp/443] 2001:db8:1::/64]" || cc.RemoteTS != nil ||
		cc.Mode != esp.ModeTunnel || cc.IPComp || cc.Lifetime != (esp.Lifetime{}) || cc.ESPProposals != nil || carol.IKEProposals != nil {
		t.Errorf("carol's child %+v", cc)
	}
	if carol.NoFragmentation || carol.ForceEncap || carol.Strict {
		t.Errorf("carol's defaults %+v", carol)
	}
	for _, p := range rt.IKE.Pools[:2] {
		if a, ok := p.Lookup("carol@example.com"); !ok || !strings.HasSuffix(a.String(), "9") {
			t.Errorf("pool %s: carol's reservation %v %v", p.Name(), a, ok)
		}
	}

	if rw.Local.Method != ike.AuthPubKey || len(rw.Local.Certificates) != 1 || rw.Local.Key == nil ||
		rw.Local.Certificates[0].Subject.CommonName != "vpn.example.com" || rw.Local.ID.Type != 0 {
		t.Errorf("rw's local auth %+v", rw.Local)
	}
	ca, _ := st.CA()
	if rw.Remote.Method != ike.AuthPubKey || len(rw.Remote.CAs) != 1 || !rw.Remote.CAs[0].Equal(ca.Cert) ||
		len(rw.Remote.CRLs) != 1 || rw.Remote.ID.String() != "C=US, O=ikego test, CN=*" {
		t.Errorf("rw's remote auth %+v", rw.Remote)
	}
	if fmt.Sprint(rw.LocalAddrs) != "[198.51.100.2/32]" || rw.RemoteAddrs != nil {
		t.Errorf("rw's addresses %v %v", rw.LocalAddrs, rw.RemoteAddrs)
	}
	if ike.FormatProposals(rw.IKEProposals) != ike.FormatProposals(ike.MustParseProposals("aes256gcm16-prfsha384-ecp384", 1)) || !rw.Strict ||
		!rw.ForceEncap || !rw.NoFragmentation {
		t.Errorf("rw %+v", rw)
	}
	rc := rw.Children[0]
	wantLife := esp.Lifetime{SoftTime: time.Hour, HardTime: 66 * time.Minute, SoftBytes: 1 << 30, HardBytes: 2 << 30, SoftPackets: 1000, HardPackets: 1100}
	if rc.Lifetime != wantLife {
		t.Errorf("rw's lifetime %+v, want %+v", rc.Lifetime, wantLife)
	}
	if len(rc.ESPProposals) != 2 || !rc.Strict || !rc.IPComp || rc.Mode != esp.ModeTransport {
		t.Errorf("rw's child %+v", rc)
	}

	if site.DPDAction != ike.DPDRestart || rw.DPDAction != ike.DPDClear || site.DPDDelay != 30*time.Second || rw.DPDDelay != 30*time.Second {
		t.Errorf("DPD: site %v %v, rw %v %v", site.DPDAction, site.DPDDelay, rw.DPDAction, rw.DPDDelay)
	}
	if site.RemoteHost != netip.MustParseAddrPort("198.51.100.1:500") || site.LocalAddr != netip.MustParseAddr("198.51.100.2") {
		t.Errorf("site initiates from %v to %v", site.LocalAddr, site.RemoteHost)
	}
	if fmt.Sprint(site.RemoteAddrs) != "[198.51.100.1/32 198.51.100.64/26]" || site.Pools != nil {
		t.Errorf("site %+v", site)
	}
	want := make([]byte, 16)
	for i := range want {
		want[i] = byte(i)
	}
	if !bytes.Equal(site.Local.PSK, want) {
		t.Errorf("site's psk from hex")
	}
	sc := site.Children[0]
	if fmt.Sprint(sc.LocalTS) != "[203.0.113.0/26]" || fmt.Sprint(sc.RemoteTS) != "[198.18.2.0/24 198.18.3.0/25]" ||
		sc.Lifetime != (esp.Lifetime{HardTime: 2 * time.Hour}) {
		t.Errorf("site's child %+v", sc)
	}
}

// TestNetToNetListen: start_action start takes the local address from the
// only listen address of the family when local_addrs has none.
func TestNetToNetListen(t *testing.T) {
	rt, err := check(configWith(t, edit{"listen", `[198.51.100.2, "2001:db8::2"]`}, edit{"connections.rw.type", "net-to-net"},
		edit{"connections.rw.pools", "-"}, edit{"connections.rw.remote_ts", "198.18.2.0/24"}, edit{"connections.rw.start_action", "start"},
		edit{"connections.rw.remote_addrs", "198.51.100.1"}), "")
	if err != nil {
		t.Fatal(err)
	}
	if p := rt.IKE.Peers[0]; p.LocalAddr != netip.MustParseAddr("198.51.100.2") || p.RemoteHost.Port() != 500 {
		t.Errorf("initiates from %v to %v", p.LocalAddr, p.RemoteHost)
	}
}

// TestStartActionAliases: the seed's startup words add and route mean
// swanctl's none and trap.
func TestStartActionAliases(t *testing.T) {
	for _, tc := range []struct {
		action string
		want   ike.StartAction
		start  bool
	}{
		{"add", ike.StartNone, false}, {"none", ike.StartNone, false},
		{"route", ike.StartTrap, false}, {"trap", ike.StartTrap, false}, {"start", ike.StartNone, true},
	} {
		rt, err := check(configWith(t, edit{"listen", "198.51.100.2"}, edit{"connections.rw.type", "net-to-net"},
			edit{"connections.rw.pools", "-"}, edit{"connections.rw.remote_ts", "198.18.2.0/24"},
			edit{"connections.rw.start_action", tc.action}, edit{"connections.rw.remote_addrs", "198.51.100.1"}), "")
		if err != nil {
			t.Fatalf("%s: %v", tc.action, err)
		}
		if got := rt.IKE.Peers[0].StartAction; got != tc.want || (len(rt.Start) == 1) != tc.start {
			t.Errorf("%s: start action %v, initiated at start %v; want %v, %v", tc.action, got, rt.Start, tc.want, tc.start)
		}
	}
}

// TestCertFiles: cert_file, key_file and ca_file, relative to the file's
// directory.
func TestCertFiles(t *testing.T) {
	store := testStore(t)
	dir := t.TempDir()
	for _, f := range []struct{ from, to string }{
		{"certs/vpn.cert.pem", "vpn.pem"}, {"private/vpn.key.pem", "vpn.key"}, {pki.StoreCACert, "ca.pem"},
	} {
		b, err := os.ReadFile(filepath.Join(store, f.from))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.to), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(dir, "rw.yaml")
	if err := os.WriteFile(conf, configWith(t, edit{"connections.rw.local", "{auth: pubkey, cert_file: vpn.pem, key_file: vpn.key}"},
		edit{"connections.rw.remote", "{auth: pubkey, ca_file: ca.pem}"}, edit{"connections.rw.psk", "-"}), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(conf)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := rt.IKE.Peers[0]
	if len(p.Local.Certificates) != 1 || p.Local.Key == nil || len(p.Remote.CAs) != 1 || !p.Remote.CAs[0].IsCA {
		t.Errorf("auth %+v %+v", p.Local, p.Remote)
	}
	var _ *x509.Certificate = p.Local.Certificates[0]
}

// TestValues: lists, durations and counts in their accepted spellings.
func TestValues(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{{"90", 90 * time.Second}, {"90s", 90 * time.Second}, {"30m", 30 * time.Minute}, {"2h", 2 * time.Hour}, {"1d", 24 * time.Hour}, {"1h30m", 90 * time.Minute}, {"0", 0}} {
		var d Duration
		if err := d.parseScalar(tc.in); err != nil || time.Duration(d) != tc.want {
			t.Errorf("duration %q: %v %v", tc.in, time.Duration(d), err)
		}
	}
	for _, tc := range []struct {
		in   string
		want uint64
	}{{"1000", 1000}, {"512k", 512 << 10}, {"4M", 4 << 20}, {"1g", 1 << 30}, {"2T", 2 << 40}} {
		var c Count
		if err := c.parseScalar(tc.in); err != nil || uint64(c) != tc.want {
			t.Errorf("count %q: %v %v", tc.in, c, err)
		}
	}
	a, err1 := Parse([]byte("listen: 198.51.100.2, 198.51.100.3\n"))
	b, err2 := Parse([]byte("listen: [198.51.100.2, 198.51.100.3]\n"))
	c, err3 := Parse([]byte("listen:\n  - 198.51.100.2\n  - 198.51.100.3\n"))
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Listen, b.Listen) || !slices.Equal(b.Listen, c.Listen) || len(a.Listen) != 2 {
		t.Errorf("lists %q %q %q", a.Listen, b.Listen, c.Listen)
	}
	if _, err := Parse([]byte("listen: [\n")); err == nil {
		t.Error("a YAML syntax error was accepted")
	}
	if _, err := Parse([]byte("listen: []\n---\nlisten: []\n")); err == nil {
		t.Error("two documents were accepted")
	}
	cfg, err := Parse([]byte("# nothing\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Build(cfg); err == nil || !strings.Contains(err.Error(), "connections: no enabled connection") {
		t.Errorf("empty file: %v", err)
	}
}

// fieldsOf returns the yaml names of a struct's fields.
func fieldsOf(v any) []string {
	var out []string
	data, _ := yaml.Marshal(v)
	var m map[string]any
	yaml.Unmarshal(data, &m)
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestCheckFlag runs the program with -check: the summary, the exit
// statuses, errors with file and line, and no secret in the output.
func TestCheckFlag(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(good, configWith(t, edit{"connections.rw.vip", "198.18.200.7"}), 0o600)
	os.WriteFile(bad, configWith(t, edit{"connections.rw.local_ts", "[10.0.0.0/8, 10.0.0/8]"}, edit{"tun.mtu", "10"}), 0o600)

	var out, errb bytes.Buffer
	if st := run([]string{"-config", good, "-check"}, &out, &errb); st != 0 {
		t.Fatalf("-check of a good file: %d\n%s", st, errb.String())
	}
	for _, w := range []string{"configuration OK", "connection rw: host-to-net, IKEv2", "psk client1@example.com",
		"198.18.200.7 reserved for client1@example.com", "routes [198.18.200.0/28]", "warning: pools[1]"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("summary lacks %q:\n%s", w, out.String())
		}
	}
	if strings.Contains(out.String()+errb.String(), "0123456789abcdef") {
		t.Errorf("the summary shows the PSK:\n%s", out.String())
	}
	l2tpFile := filepath.Join(dir, "l2tp.yaml")
	os.WriteFile(l2tpFile, configWith(t, edit{"connections.rw.type", "l2tp"}, edit{"connections.rw.local_ts", "-"},
		edit{"l2tp_users", "[{id: alice, secret: alice-secret-pw}]"}), 0o600)
	out.Reset()
	if st := run([]string{"-config", l2tpFile, "-check"}, &out, &errb); st != 0 {
		t.Fatalf("-check of an l2tp file: %d\n%s", st, errb.String())
	}
	for _, w := range []string{"connection rw: l2tp, IKEv1", "l2tp:        UDP 1701 in transport-mode SAs, PPP addresses from 198.18.200.0/28 (ours 198.18.200.1)", "1 users"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("summary lacks %q:\n%s", w, out.String())
		}
	}
	if strings.Contains(out.String()+errb.String(), "alice-secret-pw") {
		t.Errorf("the summary shows an L2TP password:\n%s", out.String())
	}

	out.Reset()
	errb.Reset()
	if st := run([]string{"-check", "-config", bad}, &out, &errb); st != 1 {
		t.Errorf("-check of a bad file: status %d", st)
	}
	lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
	var nums []int
	for _, l := range lines {
		var n int
		fmt.Sscanf(strings.TrimPrefix(l, bad+":"), "%d:", &n)
		nums = append(nums, n)
	}
	if len(lines) != 2 || !slices.IsSorted(nums) || nums[0] == 0 ||
		!strings.Contains(errb.String(), "tun.mtu: 10: want 576 to 65535") ||
		!strings.Contains(errb.String(), `connections.rw.local_ts[1]: "10.0.0/8": not a prefix`) {
		t.Errorf("errors, one per line as FILE:LINE: path: reason, by line:\n%s", errb.String())
	}

	errb.Reset()
	if st := run([]string{"-config", good, "extra"}, &out, &errb); st != 2 {
		t.Errorf("with an extra argument: status %d", st)
	}
	if st := run([]string{"-config", filepath.Join(dir, "missing.yaml")}, &out, &errb); st != 1 {
		t.Errorf("a missing file: status %d", st)
	}
}

// TestNoPrivileges runs the binary as an unprivileged user (in a network
// namespace of its own, so that nothing could touch the host's): it must
// say that it needs root or CAP_NET_ADMIN and fail. Needs root to set up.
func TestNoPrivileges(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to drop privileges")
	}
	for _, tool := range []string{"unshare", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(tool + " is missing")
		}
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755) // the test's temporary directory
	conf := filepath.Join(dir, "rw.yaml")
	os.WriteFile(conf, configWith(t), 0o644)
	cmd := exec.Command("unshare", "--net", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
		"--bounding-set=-all", bin, "-config", conf)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("want exit status 1, got %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "roadwarrior: creating the TUN device needs root or CAP_NET_ADMIN") {
		t.Errorf("output:\n%s", out)
	}
}

// buildBinary builds the command into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "roadwarrior")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	if out, err := exec.Command("go", append(args, ".")...).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestQuickstartConfig: the README's command runs quickstart.yaml; it must
// build without errors or warnings.
func TestQuickstartConfig(t *testing.T) {
	data, err := os.ReadFile("quickstart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rt, err := check(data, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rt.Warnings) != 0 || len(rt.IKE.Peers) != 1 || rt.IKE.Peers[0].DPDDelay != 30*time.Second {
		t.Errorf("warnings %q, peers %d", rt.Warnings, len(rt.IKE.Peers))
	}
}

// TestGenerateCerts: local.generate makes the missing certificate from
// the store's CA for local.id once, then leaves it alone; misuse is an
// error naming the field.
func TestGenerateCerts(t *testing.T) {
	store := testStore(t)
	dir := filepath.Dir(store)
	path := filepath.Join(dir, "rw.yaml")
	data := `pki: {dir: pki}
pools: [{name: rw4, addrs: 198.18.200.0/28}]
connections:
  rw:
    local: {auth: pubkey, id: gw.example.com, certs: [gw], generate: true}
    remote: {auth: pubkey}
    local_ts: 203.0.113.0/26
    pools: rw4
`
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	made, err := generateCerts(cfg, path)
	if err != nil || fmt.Sprint(made) != "[gw]" {
		t.Fatalf("made %v, %v", made, err)
	}
	cert, err := (&pki.Store{Dir: store}).Certificate("gw")
	if err != nil || fmt.Sprint(cert.DNSNames) != "[gw.example.com]" {
		t.Fatalf("certificate %v: %v", err, cert)
	}
	if _, err := Build(cfg); err != nil {
		t.Fatalf("Build after generate: %v", err)
	}
	if made, err := generateCerts(cfg, path); err != nil || len(made) != 0 {
		t.Errorf("second run made %v, %v", made, err)
	}
	again, _ := (&pki.Store{Dir: store}).Certificate("gw")
	if !again.Equal(cert) {
		t.Error("the certificate was replaced")
	}
	for _, tc := range []struct{ local, want string }{
		{"{auth: psk, id: gw.example.com, certs: [x], generate: true}", "connections.rw.local.generate: is for auth pubkey"},
		{"{auth: pubkey, certs: [x], generate: true}", "connections.rw.local.id: generate needs our identity"},
		{`{auth: pubkey, id: "C=US, CN=gw", certs: [x], generate: true}`, "generate needs an FQDN or an address"},
		{"{auth: pubkey, id: gw.example.com, generate: true}", "needs certs"},
	} {
		cfg, err := Parse([]byte(strings.Replace(data, "{auth: pubkey, id: gw.example.com, certs: [gw], generate: true}", tc.local, 1)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := generateCerts(cfg, path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.local, err, tc.want)
		}
	}
}

// TestEAPUsers: remote.auth eap-mschapv2 takes its passwords from
// eap_users; mistakes name the field and never quote a secret.
func TestEAPUsers(t *testing.T) {
	store := testStore(t)
	base := `pki: {dir: ` + store + `}
pools: [{name: rw4, addrs: 198.18.200.0/28}]
eap_users:
  - {id: alice, secret: alice-secret-123}
  - {id: bob, secret: bob-secret-456}
connections:
  win:
    local: {auth: pubkey, certs: [vpn]}
    remote: {auth: eap-mschapv2}
    local_ts: 203.0.113.0/26
    pools: rw4
`
	rt, err := check([]byte(base), "")
	if err != nil {
		t.Fatal(err)
	}
	p := rt.IKE.Peers[0]
	if p.Remote.Method != ike.AuthEAP || p.Local.Method != ike.AuthPubKey {
		t.Fatalf("methods %v %v", p.Local.Method, p.Remote.Method)
	}
	if pw, ok := p.Remote.EAPPassword("bob"); !ok || pw != "bob-secret-456" {
		t.Errorf("bob: %q %v", pw, ok)
	}
	if _, ok := p.Remote.EAPPassword("mallory"); ok {
		t.Error("an unknown user has a password")
	}
	bad := strings.Replace(base, "{id: bob, secret: bob-secret-456}", "{id: alice, secret: \"\"}", 1)
	_, err = check([]byte(bad), "")
	if err == nil || !strings.Contains(err.Error(), `eap_users[1].id: "alice": given twice`) || !strings.Contains(err.Error(), "eap_users[1].secret: empty") {
		t.Errorf("errors: %v", err)
	}
	if err != nil && strings.Contains(err.Error(), "alice-secret") {
		t.Error("an error quotes a secret")
	}
}

// TestIKEv1Certificates: IKEv1 with an RSA server certificate: type xauth
// with remote.auth xauth is hybrid (the client does XAuth alone), with
// remote.auth pubkey the client signs and then does XAuth; version 1
// host-to-net with pubkey both ways has no XAuth.
func TestIKEv1Certificates(t *testing.T) {
	store := testStore(t)
	st := &pki.Store{Dir: store}
	if _, _, err := st.Issue("vpn-rsa", pki.Request{Profile: pki.ProfileServer, Names: []string{"vpn.example.com"}, KeyType: pki.KeyTypeRSA2048}); err != nil {
		t.Fatal(err)
	}
	base := `pki: {dir: ` + store + `}
pools: [{name: rw4, addrs: 198.18.200.0/28}]
xauth_users: [{id: bob, secret: bob-secret-456}]
connections:
  rw:
    type: %s
    local: {auth: pubkey, certs: [vpn-rsa], id: vpn.example.com}
    remote: {auth: %s}
    local_ts: 203.0.113.0/26
    pools: rw4
`
	for _, tc := range []struct {
		typ, remote string
		want        ike.AuthMethod
		xauth       bool
	}{
		{"xauth", "xauth", ike.AuthXAuth, true},
		{"xauth", "pubkey", ike.AuthPubKey, true},
		{"host-to-net\n    version: 1", "pubkey", ike.AuthPubKey, false},
	} {
		rt, err := check([]byte(fmt.Sprintf(base, tc.typ, tc.remote)), "")
		if err != nil {
			t.Fatalf("%s/%s: %v", tc.typ, tc.remote, err)
		}
		p := rt.IKE.Peers[0]
		if p.Version != ike.VersionIKEv1 || p.Local.Method != ike.AuthPubKey || p.Remote.Method != tc.want ||
			(p.Remote.XAuthPassword != nil) != tc.xauth {
			t.Errorf("%s/%s: version %v, local %v, remote %v, XAuth %v", tc.typ, tc.remote, p.Version, p.Local.Method,
				p.Remote.Method, p.Remote.XAuthPassword != nil)
		}
		cfg := *rt.IKE
		cfg.Dataplane, cfg.Sender = (*esp.Engine)(nil), (*esp.UDPBind)(nil) // typed nils: only the peers are checked
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s/%s: ike: %v", tc.typ, tc.remote, err)
		}
	}
}

// TestIKEv1Options: aggressive and pull reach the IKEv1 connection.
func TestIKEv1Options(t *testing.T) {
	rt, err := check(configWith(t, edit{"xauth_users", "[{id: bob, secret: bob-secret}]"}, edit{"connections.rw.type", "xauth"},
		edit{"connections.rw.local_ts", "203.0.113.0/26"}, edit{"connections.rw.remote.id", "keyid:group1"},
		edit{"connections.rw.aggressive", "true"}, edit{"connections.rw.pull", "false"}), "")
	if err != nil {
		t.Fatal(err)
	}
	p := rt.IKE.Peers[0]
	if p.Version != ike.VersionIKEv1 || !p.Aggressive || !p.ModeConfigPush || p.Remote.ID.String() != "keyid:group1" {
		t.Errorf("version %v, aggressive %v, push %v, remote id %v", p.Version, p.Aggressive, p.ModeConfigPush, p.Remote.ID)
	}
	rt, err = check(configWith(t, edit{"connections.rw.version", "1"}, edit{"connections.rw.local_ts", "203.0.113.0/26"}), "")
	if err != nil {
		t.Fatal(err)
	}
	if p := rt.IKE.Peers[0]; p.Aggressive || p.ModeConfigPush || p.Remote.XAuthPassword != nil {
		t.Errorf("defaults: aggressive %v, push %v, XAuth %v", p.Aggressive, p.ModeConfigPush, p.Remote.XAuthPassword != nil)
	}
}

// TestL2TPConnection: a connection of type l2tp is an IKEv1 responder for
// transport-mode SAs to our own address, with proposals the built-in
// clients offer, and sets up the L2TP service: its pool (routed into the
// TUN device, whose link address the device holds), DNS and l2tp_users;
// IKE hands out none of the pool's addresses.
func TestL2TPConnection(t *testing.T) {
	rt, err := check(configWith(t, edit{"connections.rw.type", "l2tp"}, edit{"connections.rw.local_ts", "-"},
		edit{"connections.rw.remote.id", "-"}, edit{"l2tp_users", "[{id: alice, secret: alice-pw}]"},
		edit{"log.debug", "l2tp"}), "")
	if err != nil {
		t.Fatal(err)
	}
	p := rt.IKE.Peers[0]
	c := p.Children[0]
	if p.Version != ike.VersionIKEv1 || c.Mode != esp.ModeTransport || len(c.LocalTS) != 0 || len(c.RemoteTS) != 0 || len(p.Pools) != 0 {
		t.Errorf("peer: version %v, mode %v, local_ts %v, remote_ts %v, pools %v", p.Version, c.Mode, c.LocalTS, c.RemoteTS, p.Pools)
	}
	modp1024 := false
	for _, pr := range p.IKEProposals {
		for _, g := range pr.KE {
			modp1024 = modp1024 || g.ID == uint16(ike.GroupMODP1024)
		}
	}
	if !modp1024 || len(c.ESPProposals) == 0 {
		t.Errorf("proposals for the built-in clients: IKE %v, ESP %v", p.IKEProposals, c.ESPProposals)
	}
	l := rt.L2TP
	if l == nil {
		t.Fatal("no L2TP service")
	}
	pool, local := netip.MustParsePrefix("198.18.200.0/28"), netip.MustParseAddr("198.18.200.1")
	if l.Pool != pool || l.LocalAddr != local || !slices.Equal(l.DNS, []netip.Addr{netip.MustParseAddr("198.51.100.53")}) {
		t.Errorf("L2TP: pool %v, local %v, DNS %v", l.Pool, l.LocalAddr, l.DNS)
	}
	if pw, ok := l.Password("alice"); !ok || pw != "alice-pw" {
		t.Errorf("alice: %q %v", pw, ok)
	}
	if _, ok := l.Password("mallory"); ok {
		t.Error("an unknown user has a password")
	}
	if !slices.Contains(rt.TUN.Routes, pool) || !slices.Contains(rt.TUN.Addrs, netip.PrefixFrom(local, 32)) {
		t.Errorf("TUN: routes %v, addrs %v", rt.TUN.Routes, rt.TUN.Addrs)
	}

	// mode tunnel: for clients that negotiate a tunnel between the hosts.
	rt, err = check(configWith(t, edit{"connections.rw.type", "l2tp"}, edit{"connections.rw.local_ts", "-"},
		edit{"l2tp_users", "[{id: alice, secret: alice-pw}]"}, edit{"connections.rw.mode", "tunnel"}), "")
	if err != nil {
		t.Fatal(err)
	}
	if m := rt.IKE.Peers[0].Children[0].Mode; m != esp.ModeTunnel || rt.L2TP == nil {
		t.Errorf("mode tunnel: %v, service %v", m, rt.L2TP != nil)
	}

	// Configured proposals replace those of the built-in clients; a
	// disabled l2tp connection sets up no service.
	rt, err = check(configWith(t, edit{"connections.rw.type", "l2tp"}, edit{"connections.rw.local_ts", "-"},
		edit{"l2tp_users", "[{id: alice, secret: alice-pw}]"}, edit{"connections.rw.proposals", "aes256-sha256-modp2048"},
		edit{"connections.rw2", "{local: {auth: psk}, remote: {auth: psk}, psk: ikego-psk-0123456789abcdef, local_ts: 10.0.0.0/8, pools: rw6}"}), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := rt.IKE.Peers[0].IKEProposals; len(got) != 1 || got[0].String() != "IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048" {
		t.Errorf("configured proposals: %v", got)
	}
	rt, err = check(configWith(t, edit{"connections.rw.type", "l2tp"}, edit{"connections.rw.local_ts", "-"},
		edit{"l2tp_users", "[{id: alice, secret: alice-pw}]"}, edit{"connections.rw.enabled", "false"},
		edit{"connections.rw2", "{local: {auth: psk}, remote: {auth: psk}, psk: ikego-psk-0123456789abcdef, local_ts: 10.0.0.0/8, pools: rw6}"}), "")
	if err != nil {
		t.Fatal(err)
	}
	if rt.L2TP != nil || slices.Contains(rt.TUN.Routes, pool) {
		t.Errorf("disabled l2tp connection: service %v, routes %v", rt.L2TP, rt.TUN.Routes)
	}
}

// TestIKEv1ECDSACertificate: IKEv1 with the store's ECDSA certificate on
// a connection without XAuth signs with ECDSA (RFC 4754).
func TestIKEv1ECDSACertificate(t *testing.T) {
	store := testStore(t) // its "vpn" certificate has a P-256 key
	rt, err := check(configWith(t, edit{"connections.rw.local", "{auth: pubkey, certs: [vpn]}"}, edit{"connections.rw.remote", "{auth: pubkey}"},
		edit{"connections.rw.psk", "-"}, edit{"pki.dir", store}, edit{"connections.rw.version", "1"},
		edit{"connections.rw.local_ts", "203.0.113.0/26"}), "")
	if err != nil {
		t.Fatal(err)
	}
	if p := rt.IKE.Peers[0]; p.Version != ike.VersionIKEv1 || p.Local.Method != ike.AuthPubKey {
		t.Errorf("peer %+v", p)
	}
}
