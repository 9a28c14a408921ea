package main

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/ikego/ikego/pki"
)

// The embedded default: "roadwarrior" without -config keeps a state
// directory (-state, default defaultStateDir, mode 0700) with
//
//	config.yaml          the configuration, from default.yaml
//	psk                  the pre-shared key: 32 random bytes, base64 (0600)
//	pki/ca/...           the CA (pki.Store layout)
//	pki/certs/server...  the server certificate, pki/private/server... its key
//
// The first start creates what is missing (the PSK file only along with
// a new configuration, which is written with its key); later starts use
// what is there and never write over it, so the configuration can be
// edited and client set-ups stay valid. A file that is there but
// unreadable or damaged is an error naming it: nothing is regenerated
// behind the administrator's back, since a new CA or PSK would lock every
// client out.

// defaultStateDir is where the embedded default keeps its state.
const defaultStateDir = "/var/lib/ikego"

//go:embed default.yaml
var defaultTemplate string

// Files of the state directory.
const (
	stateConfig = "config.yaml"
	statePSK    = "psk"
	statePKI    = "pki"
	// serverCert is the server certificate's name in the store.
	serverCert = "server"
)

// defaultPool is the default's virtual IP pool: private (RFC 1918) and
// rarely used by home and office networks.
const defaultPool = "10.99.0.0/24"

// hostInfo returns the host's name and its addresses as clients may dial
// them: the server certificate's names. Tests replace it.
var hostInfo = func() (string, []netip.Addr) {
	name, _ := os.Hostname()
	return name, hostAddrs()
}

// hostAddrs returns the host's unicast addresses, except loopback and
// link-local ones: first those of interfaces other than lo, IPv4 first.
func hostAddrs() []netip.Addr {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	type cand struct {
		a    netip.Addr
		onLo bool
	}
	var cs []cand
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(n.IP)
			ip = ip.Unmap()
			if !ok || !ip.IsGlobalUnicast() {
				continue // loopback, link-local, multicast, unspecified
			}
			cs = append(cs, cand{ip, ifc.Flags&net.FlagLoopback != 0})
		}
	}
	slices.SortStableFunc(cs, func(x, y cand) int {
		switch {
		case x.onLo != y.onLo:
			if x.onLo {
				return 1
			}
			return -1
		case x.a.Is4() != y.a.Is4():
			if x.a.Is4() {
				return -1
			}
			return 1
		}
		return 0
	})
	var out []netip.Addr
	for _, c := range cs {
		if !slices.Contains(out, c.a) {
			out = append(out, c.a)
		}
	}
	return out
}

// stateError is a problem with the state directory: it names the file and
// says what to do.
func stateError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("%s: %v: the embedded default keeps its CA, keys and PSK there; run as root, "+
			"or give a directory you may write with -state DIR (or a configuration with -config FILE)", path, err)
	}
	return fmt.Errorf("%s: %v", path, err)
}

// damaged is the error for a file of the state that is there but unusable.
func damaged(dir, path string, err error) error {
	return fmt.Errorf("%s: %v: restore it, or remove %s to start over with a new CA, server certificate "+
		"and PSK (every client must then be set up again)", path, err, dir)
}

// prepareDefault writes (on first start) or finds the state of the
// embedded default configuration in dir and returns the path of its
// configuration file. It prints what clients need to stdout: with the
// PSK and a strongSwan snippet when it created the state or check is set,
// without them on later starts (stdout of a service often ends in a log).
func prepareDefault(dir string, stdout io.Writer, check bool) (string, error) {
	if dir == "" {
		return "", errors.New("-state: empty directory name")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	dir = abs
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return "", fmt.Errorf("%s: not a directory (the state directory of the embedded default, -state)", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", stateError(dir, err)
	}
	if _, err := os.ReadDir(dir); err != nil {
		return "", stateError(dir, err)
	}

	var created []string
	name, addrs := hostInfo()
	names := serverNames(name, addrs)
	pkiCreated, err := ensurePKI(dir, names)
	if err != nil {
		return "", err
	}
	created = append(created, pkiCreated...)
	path := filepath.Join(dir, stateConfig)
	haveConfig, err := exists(path)
	if err != nil {
		return "", stateError(path, err)
	}
	// The PSK file is what the configuration is written with: a missing
	// one is made only for a new configuration.
	psk, made, err := ensurePSK(dir, !haveConfig)
	if err != nil {
		return "", err
	}
	if made {
		created = append(created, statePSK)
	}
	if !haveConfig {
		if made, err = ensureConfig(dir, path, psk); err != nil {
			return "", err
		}
		if made {
			created = append(created, stateConfig)
		}
	}

	cfg, err := Load(path)
	if err != nil {
		return path, nil // the caller reports the configuration's errors
	}
	printDefault(stdout, dir, path, cfg, addrs, created, check || len(created) > 0)
	return path, nil
}

// serverNames are the names of a new server certificate: the host name
// (unless it is no DNS name, or localhost) and the addresses. The first is
// the server's identity, which clients must dial or expect: the host name
// if it is a fully qualified one (with a dot), else the first address,
// since a bare host name rarely resolves for clients elsewhere.
func serverNames(host string, addrs []netip.Addr) []string {
	var out []string
	for _, a := range addrs {
		out = append(out, a.String())
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" || host == "localhost" || strings.HasPrefix(host, "localhost.") || !isDNSName(host) {
		return out
	}
	if _, err := pki.ParseIdentity(host); err != nil {
		return out
	}
	if strings.Contains(host, ".") {
		return append([]string{host}, out...)
	}
	return append(out, host)
}

// isDNSName reports whether s is a host name of letters, digits and
// hyphens in labels of at most 63 octets.
func isDNSName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// exists reports whether path exists; other errors than "not there" are
// returned.
func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, err
}

// ensurePKI creates the CA and the server certificate if they are not
// there, and checks them. It returns what it created.
func ensurePKI(dir string, names []string) ([]string, error) {
	pdir := filepath.Join(dir, statePKI)
	store := &pki.Store{Dir: pdir}
	paths := []string{
		filepath.Join(pdir, pki.StoreCACert), filepath.Join(pdir, pki.StoreCAKey),
		filepath.Join(pdir, pki.CertPath(serverCert)), filepath.Join(pdir, pki.KeyPath(serverCert)),
	}
	var have [4]bool
	for i, p := range paths {
		ok, err := exists(p)
		if err != nil {
			return nil, stateError(p, err)
		}
		have[i] = ok
	}
	var created []string
	// The pairs must be whole: half a pair is damage, not a first start.
	for i := 0; i < 4; i += 2 {
		if have[i] != have[i+1] {
			missing := paths[i]
			if have[i] {
				missing = paths[i+1]
			}
			return nil, damaged(dir, missing, errors.New("missing, but its other half is there"))
		}
	}
	if !have[0] && have[2] {
		return nil, damaged(dir, paths[0], errors.New("the CA is missing, but a server certificate is there"))
	}
	if len(names) == 0 && !have[2] {
		return nil, errors.New("the host has no name and no address for the server certificate: " +
			"issue one yourself (roadwarrior pki issue -name server -profile server -san NAME -dir " + pdir + ")")
	}
	if !have[0] {
		if err := os.MkdirAll(pdir, 0o700); err != nil {
			return nil, stateError(pdir, err)
		}
		subject := "O=ikego, CN=ikego roadwarrior CA"
		if len(names) > 0 {
			subject += " " + names[0]
		}
		if _, err := store.InitCA(pki.CAOptions{Subject: subject, KeyType: pki.KeyTypeRSA3072}); err != nil {
			return nil, storeError(dir, pdir, err)
		}
		created = append(created, "CA")
	}
	ca, err := store.CA()
	if err != nil {
		return nil, storeError(dir, pdir, err)
	}
	if !have[2] {
		// RSA: what every built-in client accepts.
		_, _, err := store.Issue(serverCert, pki.Request{Profile: pki.ProfileServer, Subject: "O=ikego, CN=" + names[0],
			Names: names, KeyType: pki.KeyTypeRSA3072})
		if err != nil {
			return nil, storeError(dir, pdir, err)
		}
		created = append(created, "server certificate")
	}
	cert, err := store.Certificate(serverCert)
	if err != nil {
		return nil, storeError(dir, pdir, err)
	}
	key, err := store.PrivateKey(serverCert)
	if err != nil {
		return nil, storeError(dir, pdir, err)
	}
	if !sameKey(key.Public(), cert.PublicKey) {
		return nil, damaged(dir, paths[3], errors.New("not the key of the server certificate"))
	}
	if _, err := pki.Verify(cert, pki.VerifyOptions{Roots: []*x509.Certificate{ca.Cert}}); err != nil {
		return nil, damaged(dir, paths[2], fmt.Errorf("does not verify with the CA: %s", strings.TrimPrefix(err.Error(), "pki: ")))
	}
	return created, nil
}

// storeError names the file of a pki error.
func storeError(dir, pdir string, err error) error {
	var fe *pki.FileError
	if errors.As(err, &fe) {
		path := fe.Path
		if !filepath.IsAbs(path) {
			path = filepath.Join(pdir, path)
		}
		if errors.Is(fe.Err, fs.ErrPermission) {
			return stateError(path, fe.Err)
		}
		return damaged(dir, path, fe.Err)
	}
	return fmt.Errorf("%s: %v", pdir, err)
}

// pskLen is the number of random bytes of a generated PSK.
const pskLen = 32

// ensurePSK reads the PSK file or, if create is set, creates a missing one
// with a new key. The key is the text of the file: 32 random bytes in
// URL-safe base64 (43 characters), which every client takes as typed. It
// reports whether it created the file.
func ensurePSK(dir string, create bool) (string, bool, error) {
	path := filepath.Join(dir, statePSK)
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		psk := strings.TrimRight(string(data), "\r\n")
		if err := checkPSKText(psk); err != nil {
			return "", false, damaged(dir, path, err)
		}
		return psk, false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", false, stateError(path, err)
	case !create:
		return "", false, nil
	}
	var psk string
	for {
		b := make([]byte, pskLen)
		rand.Read(b)
		psk = base64.RawURLEncoding.EncodeToString(b)
		// "0x" and "0s" would make the configuration decode it as hex or
		// base64 (swanctl's prefixes).
		if !strings.HasPrefix(psk, "0x") && !strings.HasPrefix(psk, "0s") {
			break
		}
	}
	if _, err := writeNew(path, []byte(psk+"\n")); err != nil {
		return "", false, stateError(path, err)
	}
	return psk, true, nil
}

// checkPSKText checks the content of the PSK file.
func checkPSKText(s string) error {
	switch {
	case s == "":
		return errors.New("empty (want the pre-shared key on one line)")
	case strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0s"):
		return errors.New(`the key must be the text clients type, not "0x" hex or "0s" base64`)
	case len(s) < 16:
		return fmt.Errorf("%d characters is too short for a pre-shared key (16 at least)", len(s))
	}
	for _, c := range []byte(s) {
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return errors.New("more than one line, or characters other than printable ASCII without quotes and backslashes")
		}
	}
	return nil
}

// ensureConfig writes the configuration from the template unless it has
// appeared meanwhile, and reports whether it did.
func ensureConfig(dir, path, psk string) (bool, error) {
	// The identity is the server certificate's main name, its common name
	// (see serverNames): what clients are told to dial and to expect.
	cert, err := (&pki.Store{Dir: filepath.Join(dir, statePKI)}).Certificate(serverCert)
	if err != nil {
		return false, storeError(dir, filepath.Join(dir, statePKI), err)
	}
	names := certNames(cert)
	id := names[0]
	if slices.Contains(names, cert.Subject.CommonName) {
		id = cert.Subject.CommonName
	}
	data, err := renderDefault(dir, id, psk, time.Now())
	if err != nil {
		return false, err
	}
	if _, err := writeNew(path, data); err != nil {
		return false, stateError(path, err)
	}
	return true, nil
}

// renderDefault fills in the configuration template.
func renderDefault(dir, serverID, psk string, now time.Time) ([]byte, error) {
	t, err := template.New("default.yaml").Option("missingkey=error").
		Funcs(template.FuncMap{"quote": strconv.Quote}).Parse(defaultTemplate)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	err = t.Execute(&b, map[string]string{"Dir": dir, "Date": now.UTC().Format(time.DateOnly), "ServerID": serverID,
		"PSK": psk, "Pool": defaultPool})
	if err != nil {
		return nil, err
	}
	if _, err := Parse(b.Bytes()); err != nil {
		return nil, fmt.Errorf("the embedded default configuration: %v", err) // a bug
	}
	return b.Bytes(), nil
}

// writeNew writes a new file of mode 0600 atomically: it appears whole or
// not at all, and an existing file is never replaced (it reports false
// then).
func writeNew(path string, data []byte) (bool, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return false, err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, err
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// certNames returns the subjectAltNames of a server certificate, DNS names
// first, or its subject's common name if it has none.
func certNames(cert *x509.Certificate) []string {
	out := slices.Clone(cert.DNSNames)
	for _, ip := range cert.IPAddresses {
		if a, ok := netip.AddrFromSlice(ip); ok {
			out = append(out, a.Unmap().String())
		}
	}
	if len(out) == 0 {
		out = append(out, cert.Subject.CommonName)
	}
	return out
}

// printDefault tells the administrator what clients need, from the
// configuration as it is now (it may have been edited since it was
// written). The PSK and the client snippet only with secrets.
func printDefault(w io.Writer, dir, path string, cfg *Config, addrs []netip.Addr, created []string, secrets bool) {
	var pskConn, certConn *Connection
	for _, c := range cfg.Connections {
		if (c.Enabled != nil && !*c.Enabled) || (c.Type != "" && c.Type != "host-to-net") {
			continue
		}
		switch {
		case c.Remote.Auth == "psk" && pskConn == nil:
			pskConn = c
		case (c.Remote.Auth == "" || c.Remote.Auth == "pubkey") && certConn == nil:
			certConn = c
		}
	}
	pkiDir := cfg.PKI.Dir
	if pkiDir != "" && !filepath.IsAbs(pkiDir) {
		pkiDir = filepath.Join(cfg.Dir, pkiDir)
	}
	var sans []string
	if cert, err := (&pki.Store{Dir: pkiDir}).Certificate(serverCert); pkiDir != "" && err == nil {
		sans = certNames(cert)
	}
	serverID := ""
	for _, c := range []*Connection{certConn, pskConn} {
		if c != nil && c.Local.ID != "" && serverID == "" {
			serverID = c.Local.ID
		}
	}
	if serverID == "" && len(sans) > 0 {
		serverID = sans[0]
	}
	server := serverID
	if len(addrs) > 0 {
		server = addrs[0].String()
	}

	fmt.Fprintf(w, "roadwarrior: the embedded default configuration, state in %s\n", dir)
	if len(created) > 0 {
		fmt.Fprintf(w, "  created:        %s\n", strings.Join(created, ", "))
	}
	fmt.Fprintf(w, "  config:         %s (edit it to change anything: it is never overwritten)\n", path)
	if len(addrs) > 0 {
		var more []string
		for _, a := range addrs[1:] {
			more = append(more, a.String())
		}
		fmt.Fprintf(w, "  server address: %s", addrs[0])
		if len(more) > 0 {
			fmt.Fprintf(w, " (also %s)", strings.Join(more, ", "))
		}
		fmt.Fprintln(w)
	}
	if serverID != "" {
		fmt.Fprintf(w, "  server id:      %s\n", serverID)
	}
	if len(sans) > 0 {
		fmt.Fprintf(w, "  certificate:    %s (the names clients may dial; %s)\n", strings.Join(sans, ", "),
			filepath.Join(pkiDir, pki.CertPath(serverCert)))
	}
	if pkiDir != "" {
		fmt.Fprintf(w, "  CA certificate: %s\n", filepath.Join(pkiDir, pki.StoreCACert))
	}
	if pskConn != nil {
		if secrets {
			fmt.Fprintf(w, "  PSK:            %s\n", pskConn.PSK)
		} else {
			fmt.Fprintf(w, "  PSK:            in %s (roadwarrior -check -state %s shows it with the client settings)\n",
				pskFile(dir, path, cfg, pskConn), dir)
		}
	}
	for _, p := range cfg.Pools {
		dns := "no DNS server (clients keep theirs)"
		if len(p.DNS) > 0 {
			dns = "DNS " + strings.Join(p.DNS, ", ")
		}
		fmt.Fprintf(w, "  virtual IPs:    %s, %s\n", p.Addrs, dns)
	}
	for _, c := range []*Connection{certConn, pskConn} {
		if c != nil && slices.Contains(c.LocalTS, "0.0.0.0/0") {
			fmt.Fprintln(w, "  traffic:        all IPv4 traffic of the clients (full tunnel); to forward it, enable")
			fmt.Fprintln(w, "                  net.ipv4.ip_forward and NAT the pool (see README.md)")
			break
		}
	}
	if !secrets {
		return
	}
	if pskConn != nil {
		fmt.Fprintf(w, "\nPSK clients (connection %s): IKEv2, pre-shared key both ways; server %s, remote id %s,\n",
			pskConn.Name, server, serverID)
		fmt.Fprintln(w, "local id any name (each client its own), the PSK above. strongSwan (swanctl.conf):")
		fmt.Fprintln(w)
		io.WriteString(w, swanctlPSK(pskConn.Name, server, serverID, pskConn.PSK))
	}
	if certConn != nil && pkiDir != "" {
		fmt.Fprintf(w, "\nCertificate clients (connection %s): issue a certificate for each, and give it the\n", certConn.Name)
		fmt.Fprintln(w, "PKCS#12 file (key, certificate and CA) and the CA certificate:")
		fmt.Fprintf(w, "  roadwarrior pki issue -dir %s -name alice -profile client -san alice@example.com\n", pkiDir)
		fmt.Fprintf(w, "  P12_PASSWORD=... roadwarrior pki export-p12 -dir %s -name alice -out alice.p12 -password-env P12_PASSWORD\n", pkiDir)
	}
}

// pskFile is where the administrator finds the PSK: the state's psk file
// while the configuration has that key, else the configuration.
func pskFile(dir, path string, cfg *Config, c *Connection) string {
	data, err := os.ReadFile(filepath.Join(dir, statePSK))
	if err == nil && strings.TrimRight(string(data), "\r\n") == c.PSK {
		return filepath.Join(dir, statePSK)
	}
	return path
}

// swanctlPSK is a strongSwan client configuration (swanctl.conf) for a
// PSK connection: a virtual IP, all traffic through the tunnel.
func swanctlPSK(name, server, serverID, psk string) string {
	return fmt.Sprintf(`connections {
    ikego-%[1]s {
        version = 2
        remote_addrs = %[2]s
        vips = 0.0.0.0
        local {
            auth = psk
            id = alice@example.com
        }
        remote {
            auth = psk
            id = %[3]s
        }
        children {
            ikego-%[1]s {
                remote_ts = 0.0.0.0/0
            }
        }
    }
}
secrets {
    ike-ikego-%[1]s {
        id = %[3]s
        secret = %[4]q
    }
}
`, name, server, serverID, psk)
}
