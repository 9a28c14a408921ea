package main

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/pki"
)

// fakeHost makes the default see a host named vpn.example.com with two
// addresses, whatever machine the test runs on.
func fakeHost(t *testing.T) {
	t.Helper()
	old := hostInfo
	hostInfo = func() (string, []netip.Addr) {
		return "vpn.example.com", []netip.Addr{netip.MustParseAddr("198.51.100.2"), netip.MustParseAddr("2001:db8::2")}
	}
	t.Cleanup(func() { hostInfo = old })
}

// stateFiles are the files of a state directory with their modes.
var stateFiles = map[string]os.FileMode{
	".":                          0o700 | os.ModeDir,
	stateConfig:                  0o600,
	statePSK:                     0o600,
	"pki/" + pki.StoreCACert:     0o644,
	"pki/" + pki.StoreCAKey:      0o600,
	"pki/certs/server.cert.pem":  0o644,
	"pki/private/server.key.pem": 0o600,
}

// snapshot returns the contents and modification times of the state's
// files.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for name := range stateFiles {
		if name == "." {
			continue
		}
		p := filepath.Join(dir, name)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := os.Stat(p)
		out[name] = string(data) + "@" + st.ModTime().String()
	}
	return out
}

// field returns the value of a "  key:   value" line of the printed
// summary.
func field(t *testing.T, out, key string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(key) + `: +(.*)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %q line in:\n%s", key, out)
	}
	return m[1]
}

// TestDefaultState: the first start creates the state directory with a
// CA, a server certificate for the host's names, a PSK and the
// configuration, with private files 0600 in a 0700 directory, and prints
// what clients need; the configuration builds as documented. The second
// start changes nothing and keeps the PSK off stdout; an edit of the
// configuration stays.
func TestDefaultState(t *testing.T) {
	fakeHost(t)
	dir := filepath.Join(t.TempDir(), "state")
	var out bytes.Buffer
	path, err := prepareDefault(dir, &out, false)
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(dir, stateConfig) {
		t.Errorf("config path %s", path)
	}
	for name, mode := range stateFiles {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != mode {
			t.Errorf("%s: mode %v, want %v", name, st.Mode(), mode)
		}
	}

	// The PSK: 32 random bytes as text.
	data, _ := os.ReadFile(filepath.Join(dir, statePSK))
	psk := strings.TrimSuffix(string(data), "\n")
	if raw, err := base64.RawURLEncoding.DecodeString(psk); err != nil || len(raw) != 32 {
		t.Errorf("psk %q: %d bytes, %v", psk, len(raw), err)
	}

	// The server certificate: every name, the EKUs clients want, from the
	// CA.
	store := &pki.Store{Dir: filepath.Join(dir, statePKI)}
	cert, err := store.Certificate(serverCert)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := store.CA()
	if err != nil {
		t.Fatal(err)
	}
	if got := certNames(cert); !slices.Equal(got, []string{"vpn.example.com", "198.51.100.2", "2001:db8::2"}) {
		t.Errorf("names %v", got)
	}
	if !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageServerAuth) || len(cert.UnknownExtKeyUsage) != 1 ||
		!cert.UnknownExtKeyUsage[0].Equal(pki.OIDExtKeyUsageIKEIntermediate) || cert.Subject.CommonName != "vpn.example.com" {
		t.Errorf("EKUs %v %v, subject %v", cert.ExtKeyUsage, cert.UnknownExtKeyUsage, cert.Subject)
	}
	if _, err := pki.Verify(cert, pki.VerifyOptions{Roots: []*x509.Certificate{ca.Cert}}); err != nil {
		t.Error(err)
	}

	// What is printed.
	o := out.String()
	caPath := filepath.Join(dir, statePKI, pki.StoreCACert)
	for key, want := range map[string]string{"PSK": psk, "CA certificate": caPath, "server id": "vpn.example.com",
		"config": path + " (edit it", "server address": "198.51.100.2 (also 2001:db8::2)",
		"created": "CA, server certificate, psk, config.yaml", "virtual IPs": "10.99.0.0/24, no DNS server"} {
		if got := field(t, o, key); !strings.HasPrefix(got, want) {
			t.Errorf("%s: %q, want %q", key, got, want)
		}
	}
	for _, w := range []string{"roadwarrior pki issue -dir " + filepath.Join(dir, statePKI) + " -name alice -profile client",
		"roadwarrior pki export-p12 -dir", "full tunnel"} {
		if !strings.Contains(o, w) {
			t.Errorf("output lacks %q:\n%s", w, o)
		}
	}
	conf, err := parseSwanctl(swanctlSnippet(t, o))
	if err != nil {
		t.Fatalf("the strongSwan snippet: %v\n%s", err, o)
	}
	checkSwanctlPSK(t, conf, "198.51.100.2", "vpn.example.com", psk)

	// The configuration: two connections, full tunnel, the generated
	// credentials.
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rt.Warnings) > 0 || rt.Listen != nil || len(rt.IKE.Peers) != 2 || len(rt.IKE.Pools) != 1 ||
		!slices.Equal(rt.TUN.Routes, []netip.Prefix{netip.MustParsePrefix(defaultPool)}) {
		t.Fatalf("runtime: warnings %q, listen %v, %d peers, %d pools, routes %v", rt.Warnings, rt.Listen,
			len(rt.IKE.Peers), len(rt.IKE.Pools), rt.TUN.Routes)
	}
	certPeer, pskPeer := rt.IKE.Peers[0], rt.IKE.Peers[1]
	all := []esp.Selector{esp.SelectorFromPrefix(netip.MustParsePrefix("0.0.0.0/0"))}
	for _, p := range rt.IKE.Peers {
		if p.Local.ID.String() != "vpn.example.com" || p.Remote.ID.Type != 0 || !slices.Equal(p.Children[0].LocalTS, all) ||
			!slices.Equal(p.Pools, []string{"rw"}) || p.DPDDelay != 30*time.Second {
			t.Errorf("%s: local id %v, remote id %v, local_ts %v, pools %v", p.Name, p.Local.ID, p.Remote.ID,
				p.Children[0].LocalTS, p.Pools)
		}
	}
	if certPeer.Name != "rw-cert" || !certPeer.Local.Certificates[0].Equal(cert) || len(certPeer.Remote.CAs) != 1 ||
		!certPeer.Remote.CAs[0].Equal(ca.Cert) {
		t.Errorf("%s: not the generated certificate and CA", certPeer.Name)
	}
	if pskPeer.Name != "rw-psk" || string(pskPeer.Local.PSK) != psk || string(pskPeer.Remote.PSK) != psk {
		t.Errorf("%s: not the generated PSK", pskPeer.Name)
	}

	// The second start: nothing changes, the PSK stays off stdout.
	before := snapshot(t, dir)
	out.Reset()
	if _, err := prepareDefault(dir, &out, false); err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t, dir); !sameMap(before, after) {
		t.Error("the second start changed the state")
	}
	o = out.String()
	if strings.Contains(o, psk) || strings.Contains(o, "created:") || strings.Contains(o, "connections {") {
		t.Errorf("second start:\n%s", o)
	}
	if got := field(t, o, "PSK"); !strings.HasPrefix(got, "in "+filepath.Join(dir, statePSK)) {
		t.Errorf("PSK line %q", got)
	}
	if field(t, o, "CA certificate") != caPath {
		t.Errorf("no CA path:\n%s", o)
	}

	// -check shows the PSK again, and the configuration's summary.
	var stdout, stderr bytes.Buffer
	if st := run([]string{"-check", "-state", dir}, &stdout, &stderr); st != 0 {
		t.Fatalf("-check: %d\n%s", st, stderr.String())
	}
	o = stdout.String()
	if field(t, o, "PSK") != psk || !strings.Contains(o, path+": configuration OK") ||
		!strings.Contains(o, "connection rw-psk: host-to-net") || !strings.Contains(o, "connection rw-cert: host-to-net") {
		t.Errorf("-check:\n%s", o)
	}

	// An edit is kept, and what is printed follows it.
	edited := strings.Replace(string(mustRead(t, path)), defaultPool, "198.18.200.0/28", 1)
	if err := os.WriteFile(path, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if _, err := prepareDefault(dir, &out, true); err != nil {
		t.Fatal(err)
	}
	if string(mustRead(t, path)) != edited || !strings.HasPrefix(field(t, out.String(), "virtual IPs"), "198.18.200.0/28") {
		t.Errorf("the edit is lost:\n%s", out.String())
	}
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// swanctlSnippet cuts the swanctl.conf snippet out of the printed text:
// from "connections {" to the end of the "secrets" section.
func swanctlSnippet(t *testing.T, out string) string {
	t.Helper()
	i := strings.Index(out, "\nconnections {")
	j := strings.Index(out, "\nsecrets {")
	if i < 0 || j < i {
		t.Fatalf("no swanctl snippet in:\n%s", out)
	}
	k := strings.Index(out[j:], "\n}\n")
	if k < 0 {
		t.Fatalf("the secrets section does not end:\n%s", out)
	}
	return out[i+1 : j+k+3]
}

// parseSwanctl parses swanctl.conf's syntax (strongswan.conf(5)): sections
// "name {" ... "}" and "key = value" settings, one per line, "#"
// comments. A value in double quotes is unquoted.
func parseSwanctl(s string) (map[string]any, error) {
	root := map[string]any{}
	stack := []map[string]any{root}
	for n, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		cur := stack[len(stack)-1]
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case line == "}":
			if len(stack) == 1 {
				return nil, fmt.Errorf("line %d: } without section", n+1)
			}
			stack = stack[:len(stack)-1]
		case strings.HasSuffix(line, "{"):
			name := strings.TrimSpace(strings.TrimSuffix(line, "{"))
			if name == "" || strings.ContainsAny(name, " =\t") {
				return nil, fmt.Errorf("line %d: bad section name %q", n+1, name)
			}
			if _, dup := cur[name]; dup {
				return nil, fmt.Errorf("line %d: %s twice", n+1, name)
			}
			sec := map[string]any{}
			cur[name] = sec
			stack = append(stack, sec)
		default:
			k, v, ok := strings.Cut(line, "=")
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if !ok || k == "" || strings.ContainsAny(k, " \t{}") {
				return nil, fmt.Errorf("line %d: not a setting: %q", n+1, line)
			}
			if strings.HasPrefix(v, `"`) {
				if len(v) < 2 || !strings.HasSuffix(v, `"`) {
					return nil, fmt.Errorf("line %d: unterminated quote", n+1)
				}
				v = v[1 : len(v)-1]
			}
			cur[k] = v
		}
	}
	if len(stack) != 1 {
		return nil, errors.New("a section does not end")
	}
	return root, nil
}

// checkSwanctlPSK checks the structure of the printed client: one IKEv2
// connection to server asking for a virtual IP and everything, PSK both
// ways with the server's identity, and the secret.
func checkSwanctlPSK(t *testing.T, conf map[string]any, server, serverID, psk string) {
	t.Helper()
	get := func(m map[string]any, path ...string) any {
		var v any = m
		for _, p := range path {
			mm, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = mm[p]
		}
		return v
	}
	conns, _ := get(conf, "connections").(map[string]any)
	secrets, _ := get(conf, "secrets").(map[string]any)
	if len(conf) != 2 || len(conns) != 1 || len(secrets) != 1 {
		t.Fatalf("want one connection and one secret: %v", conf)
	}
	for _, c := range conns {
		c := c.(map[string]any)
		for _, kv := range [][2]any{
			{get(c, "version"), "2"}, {get(c, "remote_addrs"), server}, {get(c, "vips"), "0.0.0.0"},
			{get(c, "local", "auth"), "psk"}, {get(c, "remote", "auth"), "psk"}, {get(c, "remote", "id"), serverID},
		} {
			if kv[0] != kv[1] {
				t.Errorf("connection: %v, want %v (%v)", kv[0], kv[1], c)
			}
		}
		if get(c, "local", "id") == nil {
			t.Error("no local id")
		}
		children, _ := get(c, "children").(map[string]any)
		if len(children) != 1 {
			t.Fatalf("children %v", children)
		}
		for _, ch := range children {
			if get(ch.(map[string]any), "remote_ts") != "0.0.0.0/0" {
				t.Errorf("child %v", ch)
			}
		}
	}
	for _, s := range secrets {
		s := s.(map[string]any)
		if !strings.HasPrefix(fmt.Sprint(get(conf, "secrets")), "map[ike") || get(s, "secret") != psk || get(s, "id") != serverID {
			t.Errorf("secret %v", s)
		}
	}
}

// TestDefaultDamaged: a file of the state that is there but unusable is an
// error that names it, and nothing is regenerated.
func TestDefaultDamaged(t *testing.T) {
	fakeHost(t)
	good := filepath.Join(t.TempDir(), "good")
	if _, err := prepareDefault(good, new(bytes.Buffer), false); err != nil {
		t.Fatal(err)
	}
	other := &pki.Store{Dir: filepath.Join(t.TempDir(), "other")}
	if _, err := other.InitCA(pki.CAOptions{Subject: "CN=other CA", KeyType: pki.KeyTypeECDSAP256}); err != nil {
		t.Fatal(err)
	}
	otherCert, otherKey, err := other.Issue("server", pki.Request{Profile: pki.ProfileServer, Names: []string{"vpn.example.com"},
		KeyType: pki.KeyTypeECDSAP256})
	if err != nil {
		t.Fatal(err)
	}
	otherKeyPEM, _ := pki.EncodePrivateKeyPEM(otherKey)

	for _, tc := range []struct {
		name, file string
		change     func(path string) error // nil: remove the file
		want       string
	}{
		{"CA certificate garbage", "pki/" + pki.StoreCACert, write("not a certificate"), ""},
		{"CA key garbage", "pki/" + pki.StoreCAKey, write("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"), ""},
		{"CA key missing", "pki/" + pki.StoreCAKey, nil, "missing, but its other half is there"},
		{"CA missing", "pki/" + pki.StoreCACert, removeCA, "the CA is missing, but a server certificate is there"},
		{"server key missing", "pki/private/server.key.pem", nil, "missing, but its other half is there"},
		{"server key of another certificate", "pki/private/server.key.pem", write(string(otherKeyPEM)),
			"not the key of the server certificate"},
		{"server certificate of another CA", "pki/certs/server.cert.pem", func(p string) error {
			os.WriteFile(filepath.Join(filepath.Dir(p), "../private/server.key.pem"), otherKeyPEM, 0o600)
			return os.WriteFile(p, pki.EncodeCertificatesPEM(otherCert), 0o644)
		}, "does not verify with the CA"},
		{"psk empty", statePSK, write(""), "empty"},
		{"psk short", statePSK, write("short\n"), "too short"},
		{"psk two lines", statePSK, write("0123456789abcdef\nsecond line\n"), "more than one line"},
		{"psk hex", statePSK, write("0x00112233445566778899aabbccddeeff\n"), `not "0x" hex`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			if err := os.CopyFS(dir, os.DirFS(good)); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, tc.file)
			change := tc.change
			if change == nil {
				change = os.Remove
			}
			if err := change(path); err != nil {
				t.Fatal(err)
			}
			before := listFiles(t, dir)
			var out bytes.Buffer
			_, err := prepareDefault(dir, &out, false)
			if err == nil {
				t.Fatalf("no error; output:\n%s", out.String())
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, path+": ") || !strings.Contains(msg, tc.want) ||
				!strings.Contains(msg, "remove "+dir+" to start over") {
				t.Errorf("error %q, want it to start with %s and say %q", msg, path, tc.want)
			}
			if after := listFiles(t, dir); !slices.Equal(before, after) {
				t.Errorf("files changed: %v -> %v", before, after)
			}
			// The program says it the same way.
			var stdout, stderr bytes.Buffer
			if st := run([]string{"-check", "-state", dir}, &stdout, &stderr); st != 1 ||
				!strings.Contains(stderr.String(), "roadwarrior: "+path+": ") {
				t.Errorf("run: status %d, stderr %q", st, stderr.String())
			}
		})
	}

	// A configuration with a mistake: the usual FILE:LINE: message.
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.CopyFS(dir, os.DirFS(good)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, stateConfig)
	os.WriteFile(path, []byte(strings.Replace(string(mustRead(t, path)), "dpd_delay: 30s", "dpd_delay: soon", 1)), 0o600)
	var stdout, stderr bytes.Buffer
	if st := run([]string{"-check", "-state", dir}, &stdout, &stderr); st != 1 ||
		!regexp.MustCompile(regexp.QuoteMeta(path)+`:\d+: dpd_delay: "soon"`).MatchString(stderr.String()) {
		t.Errorf("status %d, stderr %q", st, stderr.String())
	}
}

func write(s string) func(string) error {
	return func(p string) error { return os.WriteFile(p, []byte(s), 0o600) }
}

func removeCA(p string) error {
	if err := os.Remove(p); err != nil {
		return err
	}
	return os.Remove(filepath.Join(filepath.Dir(p), "ca.key.pem"))
}

func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, strings.TrimPrefix(p, dir))
		}
		return err
	})
	return out
}

// TestDefaultStateDir: a state path that is a file, or an empty one, is an
// error before anything is written.
func TestDefaultStateDir(t *testing.T) {
	fakeHost(t)
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o600)
	if _, err := prepareDefault(f, new(bytes.Buffer), false); err == nil || !strings.Contains(err.Error(), f+": not a directory") {
		t.Errorf("a file: %v", err)
	}
	if _, err := prepareDefault(filepath.Join(f, "sub"), new(bytes.Buffer), false); err == nil || !strings.Contains(err.Error(), f) {
		t.Errorf("under a file: %v", err)
	}
	if _, err := prepareDefault("", new(bytes.Buffer), false); err == nil {
		t.Error("empty: no error")
	}

	// Missing parts are made when their pairs are whole: the
	// configuration and the PSK after they were removed, with the kept
	// certificate. The PSK alone is not made again: the configuration
	// has its key.
	dir := filepath.Join(t.TempDir(), "state")
	if _, err := prepareDefault(dir, new(bytes.Buffer), false); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, statePSK))
	var out bytes.Buffer
	if _, err := prepareDefault(dir, &out, true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, statePSK)); err == nil || strings.Contains(out.String(), "created:") {
		t.Errorf("the PSK file was made again:\n%s", out.String())
	}
	out.Reset()
	if _, err := prepareDefault(dir, &out, false); err != nil {
		t.Fatal(err)
	}
	if got := field(t, out.String(), "PSK"); !strings.HasPrefix(got, "in "+filepath.Join(dir, stateConfig)) {
		t.Errorf("PSK line %q", got)
	}
	cert := mustRead(t, filepath.Join(dir, "pki/certs/server.cert.pem"))
	os.Remove(filepath.Join(dir, stateConfig))
	os.Remove(filepath.Join(dir, statePSK))
	out.Reset()
	if _, err := prepareDefault(dir, &out, false); err != nil {
		t.Fatal(err)
	}
	if got := field(t, out.String(), "created"); got != "psk, config.yaml" ||
		!bytes.Equal(cert, mustRead(t, filepath.Join(dir, "pki/certs/server.cert.pem"))) {
		t.Errorf("created %q", got)
	}
}

// TestServerNames: a fully qualified host name goes first, the identity
// clients dial; a bare one after the addresses; localhost and odd names are
// left out.
func TestServerNames(t *testing.T) {
	a := []netip.Addr{netip.MustParseAddr("198.51.100.2"), netip.MustParseAddr("2001:db8::2")}
	for _, tc := range []struct {
		host string
		want []string
	}{
		{"VPN.Example.com.", []string{"vpn.example.com", "198.51.100.2", "2001:db8::2"}},
		{"gw", []string{"198.51.100.2", "2001:db8::2", "gw"}},
		{"localhost", []string{"198.51.100.2", "2001:db8::2"}},
		{"", []string{"198.51.100.2", "2001:db8::2"}},
		{"under_score", []string{"198.51.100.2", "2001:db8::2"}},
		{"-bad.example", []string{"198.51.100.2", "2001:db8::2"}},
		{"198.51.100.7", []string{"198.51.100.2", "2001:db8::2"}},
	} {
		if got := serverNames(tc.host, a); !slices.Equal(got, tc.want) {
			t.Errorf("%q: %v, want %v", tc.host, got, tc.want)
		}
	}
	old := hostInfo
	defer func() { hostInfo = old }()

	// A bare host name: the server is the address, the name is in the
	// certificate too.
	hostInfo = func() (string, []netip.Addr) { return "gw", a[:1] }
	var out bytes.Buffer
	if _, err := prepareDefault(filepath.Join(t.TempDir(), "state"), &out, false); err != nil {
		t.Fatal(err)
	}
	if id, names := field(t, out.String(), "server id"), field(t, out.String(), "certificate"); id != "198.51.100.2" ||
		!strings.HasPrefix(names, "gw, 198.51.100.2 ") {
		t.Errorf("server id %q, certificate %q", id, names)
	}

	// Only an IPv6 address: it is the identity and the subject.
	hostInfo = func() (string, []netip.Addr) { return "", a[1:] }
	out.Reset()
	if _, err := prepareDefault(filepath.Join(t.TempDir(), "state"), &out, false); err != nil {
		t.Fatal(err)
	}
	if id := field(t, out.String(), "server id"); id != "2001:db8::2" {
		t.Errorf("server id %q", id)
	}

	// Without a name or address there is no certificate to make.
	hostInfo = func() (string, []netip.Addr) { return "localhost", nil }
	_, err := prepareDefault(filepath.Join(t.TempDir(), "state"), new(bytes.Buffer), false)
	if err == nil || !strings.Contains(err.Error(), "no name and no address") {
		t.Errorf("no names: %v", err)
	}
}

// TestRenderDefault: the template makes a configuration for any server
// identity and PSK the default can produce, and leaves no placeholder.
func TestRenderDefault(t *testing.T) {
	for _, id := range []string{"vpn.example.com", "198.51.100.2", "2001:db8::2"} {
		psk := "-Ab_0123456789abcdefghijklmnopqrstuvwxyzABCD"
		data, err := renderDefault("/var/lib/ikego", id, psk, time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), "{{") || !strings.Contains(string(data), "on 2026-01-02") {
			t.Errorf("%s", data)
		}
		cfg, err := Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Connections[1].PSK != psk || cfg.Connections[0].Local.ID != id || cfg.Pools[0].Addrs != defaultPool {
			t.Errorf("%s: %+v", id, cfg.Connections[1])
		}
	}
}

// TestDefaultUnprivileged runs the binary on the default as an
// unprivileged user (in a network namespace of its own): with a state
// directory it may not create, it says so and what to do; with one it
// may, it creates the state and then says that it needs CAP_NET_ADMIN.
// Needs root to set up.
func TestDefaultUnprivileged(t *testing.T) {
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
	os.Chmod(filepath.Dir(dir), 0o755)
	nobody := func(args ...string) (string, int) {
		cmd := exec.Command("unshare", append([]string{"--net", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
			"--inh-caps=-all", "--bounding-set=-all", bin}, args...)...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return string(out), ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}

	denied := filepath.Join(dir, "state")
	out, st := nobody("-state", denied)
	if st != 1 || !strings.Contains(out, "roadwarrior: "+denied+": permission denied: the embedded default keeps its CA, keys and PSK there; run as root") {
		t.Errorf("status %d:\n%s", st, out)
	}

	mine := filepath.Join(dir, "mine")
	os.Mkdir(mine, 0o700)
	os.Chown(mine, 65534, 65534)
	state := filepath.Join(mine, "state")
	out, st = nobody("-state", state, "-socket", filepath.Join(mine, "ctl.sock"))
	if st != 1 || !strings.Contains(out, "roadwarrior: creating the TUN device needs root or CAP_NET_ADMIN") ||
		!strings.Contains(out, "created:        CA, server certificate, psk, config.yaml") {
		t.Errorf("status %d:\n%s", st, out)
	}
	if _, err := os.Stat(filepath.Join(state, stateConfig)); err != nil {
		t.Error(err)
	}
}
