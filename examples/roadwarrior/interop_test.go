package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ikego/ikego/internal/interop"
	"github.com/ikego/ikego/pki"
)

// TestInteropStrongSwanClient runs the built binary as the responder of
// the rig's roadwarrior scenarios (../shared/interop): strongSwan 5.9.8 is
// the client in the left namespace, the binary with a YAML file written
// from the scenario's facts the server in the right one. The rig
// initiates, checks the CHILD_SA and pings through the tunnel into both
// protected subnets; then it stops the binary with SIGTERM, which must
// delete the IKE SA at strongSwan and end cleanly. ikev2-psk-v6 does the
// same over IPv6 with a virtual IP of each family; the last run listens on
// all addresses (listen left out) instead of the server's address.
func TestInteropStrongSwanClient(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	bin := buildBinary(t)
	for _, tc := range []struct {
		name, scen   string
		v6, wildcard bool
	}{
		{"ikev2-psk", "ikev2-psk", false, false},
		{"ikev2-psk-v6", "ikev2-psk-v6", true, false},
		{"ikev2-psk-listen-all", "ikev2-psk", false, true},
		{"ikev1-xauth", "ikev1-main-psk-xauth", false, false},
		{"ikev1-hybrid", "ikev1-hybrid", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scen, v6 := tc.scen, tc.v6
			rig := interop.Available(t)
			info := rig.Info(scen)
			conf := filepath.Join(t.TempDir(), "roadwarrior.yaml")
			text := interopConfig(info, v6, tc.wildcard)
			clientID := info["CLIENT1_ID"]
			switch {
			case scen == "ikev1-hybrid":
				text, clientID = interopConfigHybrid(t, rig, info), info["LEFT_ADDR"]
			case info["IKE_VERSION"] == "1":
				text, clientID = interopConfigXAuth(info), info["LEFT_ADDR"]
			}
			if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			// The file must pass -check before the rig starts.
			var out, errb strings.Builder
			if st := run([]string{"-check", "-config", conf}, &out, &errb); st != 0 {
				t.Fatalf("-check: %d\n%s", st, errb.String())
			}

			res := rig.Test(scen, interop.TestOptions{
				SwanSide: "left",
				PeerCmd:  fmt.Sprintf("exec %s -config %s -socket %s", bin, conf, filepath.Join(filepath.Dir(conf), "ctl.sock")),
				PeerWait: 10 * time.Second,
			})
			peerLog, _ := os.ReadFile(info["PEER_LOG"])
			if !res.Pass {
				t.Fatalf("%v\n%s\nour log:\n%s", res, res.Output, peerLog)
			}

			// Our log: the client came with its identity and virtual
			// IPs, and SIGTERM stopped the server cleanly.
			log := string(peerLog)
			listen := regexp.QuoteMeta("[" + info["RIGHT_ADDR"])
			if tc.wildcard {
				listen = "all addresses"
			}
			if !regexp.MustCompile(`msg="roadwarrior started".* listen="?` + listen).MatchString(log) {
				t.Errorf("our log does not say we listen on %s:\n%s", listen, log)
			}
			want := []string{`msg="roadwarrior started"`, `msg="connection up" subsys=ike conn=rw`, "id=" + clientID,
				info["FIRST_VIP4"], "msg=stopping subsys=cfg signal=terminated ike_sas=1", "msg=stopped"}
			if v6 {
				want = append(want, info["FIRST_VIP6"])
			}
			for _, w := range want {
				if !strings.Contains(log, w) {
					t.Errorf("our log lacks %q:\n%s", w, log)
				}
			}
			for _, bad := range []string{info["PSK"], info["XAUTH_PASS"], "level=ERROR", "level=WARN", "DATA RACE"} {
				if bad != "" && strings.Contains(log, bad) {
					t.Errorf("our log contains %q:\n%s", bad, log)
				}
			}
			// strongSwan got the delete the Manager sent on SIGTERM.
			left, err := os.ReadFile(info["LOG_LEFT"])
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(left), "received DELETE for IKE_SA") {
				t.Errorf("strongSwan did not get our delete; its log:\n%s", tail(string(left), 30))
			}
		})
	}
}

// interopConfig is the server's configuration for the rig's roadwarrior
// scenarios, from the scenario's facts (peer.sh info).
func interopConfig(info map[string]string, v6, wildcard bool) string {
	listen := info["RIGHT_ADDR"]
	pools := fmt.Sprintf("  - {name: rw4, addrs: %s, dns: [%s]}\n", info["POOL4"], info["DNS4"])
	names := "rw4"
	localTS := "203.0.113.0/26, 198.18.1.0/24"
	if v6 {
		listen += ", " + info["RIGHT_ADDR6"]
		pools += fmt.Sprintf("  - {name: rw6, addrs: %q, dns: [%q]}\n", info["POOL6"], info["DNS6"])
		names += ", rw6"
		localTS += ", 2001:db8:1::/64"
	}
	if wildcard {
		listen = "[]"
	}
	return fmt.Sprintf(`# written by TestInteropStrongSwanClient
listen: %s
tun: {name: ikrw%%d}
pools:
%slog: {level: info}
connections:
  rw:
    local: {auth: psk, id: %s}
    remote: {auth: psk, id: %s}
    psk: %q
    local_ts: %s
    pools: %s
`, listen, pools, info["SERVER_ID"], info["CLIENT1_ID"], info["PSK"], localTS, names)
}

// interopConfigXAuth is the server's configuration for the rig's
// ikev1-main-psk-xauth scenario: a connection of type xauth.
func interopConfigXAuth(info map[string]string) string {
	return fmt.Sprintf(`# written by TestInteropStrongSwanClient
listen: %s
tun: {name: ikrw%%d}
pools:
  - {name: rw4, addrs: %s, dns: [%s]}
log: {level: info}
xauth_users:
  - {id: %s, secret: %q}
connections:
  rw:
    type: xauth
    local: {auth: psk}
    remote: {auth: psk}
    psk: %q
    local_ts: 203.0.113.0/26
    esp_proposals: aes256-sha256, aes256-sha1
    pools: rw4
`, info["RIGHT_ADDR"], info["POOL4"], info["DNS4"], info["XAUTH_USER"], info["XAUTH_PASS"], info["PSK"])
}

// interopConfigHybrid is the server's configuration for the rig's
// ikev1-hybrid scenario: type xauth with remote.auth xauth, our RSA
// certificate from a PKI store made here, whose CA the rig's client
// trusts.
func interopConfigHybrid(t *testing.T, rig *interop.Rig, info map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pki")
	store := &pki.Store{Dir: dir}
	ca, err := store.InitCA(pki.CAOptions{Subject: "C=US, O=ikego-interop, CN=ikego hybrid CA", KeyType: pki.KeyTypeRSA2048})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.Issue("server", pki.Request{Profile: pki.ProfileServer, Subject: "C=US, O=ikego-interop, CN=vpn.example.com",
		Names: []string{"vpn.example.com"}, KeyType: pki.KeyTypeRSA2048}); err != nil {
		t.Fatal(err)
	}
	rigPKI := filepath.Join(rig.Dir, "pki")
	if err := os.MkdirAll(rigPKI, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string][]byte{"ca.cert.pem": pki.EncodeCertificatesPEM(ca.Cert), ".done": nil} {
		if err := os.WriteFile(filepath.Join(rigPKI, name), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return fmt.Sprintf(`# written by TestInteropStrongSwanClient
listen: %s
tun: {name: ikrw%%d}
pki: {dir: %s}
pools:
  - {name: rw4, addrs: %s, dns: [%s]}
log: {level: info}
xauth_users:
  - {id: %s, secret: %q}
connections:
  rw:
    type: xauth
    local: {auth: pubkey, certs: [server], id: vpn.example.com}
    remote: {auth: xauth}
    local_ts: 203.0.113.0/26
    esp_proposals: aes256-sha256, aes256-sha1
    pools: rw4
`, info["RIGHT_ADDR"], dir, info["POOL4"], info["DNS4"], info["XAUTH_USER"], info["XAUTH_PASS"])
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
