package pki

// Interop with independent tools: strongSwan's `pki` (Debian package
// strongswan-pki) and `openssl`. Each test skips, saying so, when its tool
// is not on PATH; CI installs both.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("SKIPPED interop test %s: %q not on PATH (install the Debian packages strongswan-pki and openssl)", t.Name(), tool)
		}
	}
}

// tool runs a command and returns its combined output and exit code.
// strongSwan's pki warns about plugins it cannot load; those lines are
// dropped.
func tool(t *testing.T, stdin []byte, name string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(l, "plugin '") {
			lines = append(lines, l)
		}
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %q: %v", name, args, err)
	}
	return strings.Join(lines, "\n"), code
}

func mustTool(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, code := tool(t, nil, name, args...)
	if code != 0 {
		t.Fatalf("%s %s: exit %d\n%s", name, strings.Join(args, " "), code, out)
	}
	return out
}

func toolVersions(t *testing.T) {
	t.Helper()
	v, _ := tool(t, nil, "openssl", "version")
	p, _ := tool(t, nil, "pki", "--help")
	first, _, _ := strings.Cut(strings.TrimSpace(p), "\n")
	t.Logf("tools: %s; %s", strings.TrimSpace(v), first)
}

// strongSwanVerify asserts `pki --verify` trusts (or rejects) cert.
func strongSwanVerify(t *testing.T, cert, ca string, trusted bool, extra ...string) string {
	t.Helper()
	args := append([]string{"--verify", "--in", cert, "--cacert", ca}, extra...)
	out, code := tool(t, nil, "pki", args...)
	if trusted && (code != 0 || !strings.Contains(out, "certificate trusted")) {
		t.Errorf("pki --verify --in %s: exit %d\n%s", filepath.Base(cert), code, out)
	}
	if !trusted && code == 0 {
		t.Errorf("pki --verify --in %s trusted it:\n%s", filepath.Base(cert), out)
	}
	return out
}

// opensslVerify asserts `openssl verify -CAfile` accepts (or rejects) cert.
func opensslVerify(t *testing.T, cert, ca string, ok bool, extra ...string) string {
	t.Helper()
	args := append(append([]string{"verify", "-CAfile", ca}, extra...), cert)
	out, code := tool(t, nil, "openssl", args...)
	if ok && (code != 0 || !strings.Contains(out, cert+": OK")) {
		t.Errorf("openssl verify %s: exit %d\n%s", filepath.Base(cert), code, out)
	}
	if !ok && code == 0 {
		t.Errorf("openssl verify %s accepted it:\n%s", filepath.Base(cert), out)
	}
	return out
}

func TestInteropIssuedVerify(t *testing.T) {
	need(t, "pki", "openssl")
	toolVersions(t)
	for _, tc := range []struct {
		caType, leafType KeyType
	}{
		{KeyTypeRSA2048, KeyTypeRSA2048},
		{KeyTypeECDSAP384, KeyTypeECDSAP256},
		{KeyTypeEd25519, KeyTypeEd25519},
	} {
		t.Run(tc.caType.String(), func(t *testing.T) {
			dir := t.TempDir()
			s := &Store{Dir: dir}
			if _, err := s.InitCA(CAOptions{Subject: "C=CH, O=ikego, CN=ikego Interop CA", KeyType: tc.caType}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Issue("server", Request{Profile: ProfileServer, Subject: "C=CH, O=ikego, CN=vpn.example.org",
				Names: []string{"vpn.example.org", "198.51.100.2", "2001:db8:0:1::2"}, KeyType: tc.leafType}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Issue("client", Request{Profile: ProfileClient, Subject: "C=CH, O=ikego, CN=client1",
				Names: []string{"client1@example.com"}, KeyType: tc.leafType}); err != nil {
				t.Fatal(err)
			}
			ca := filepath.Join(dir, StoreCACert)
			for _, name := range []string{"server", "client"} {
				cert := filepath.Join(dir, CertPath(name))
				strongSwanVerify(t, cert, ca, true)
				opensslVerify(t, cert, ca, true)
			}
			strongSwanVerify(t, ca, ca, true)
			server := filepath.Join(dir, CertPath("server"))
			opensslVerify(t, server, ca, true, "-purpose", "sslserver")
			opensslVerify(t, filepath.Join(dir, CertPath("client")), ca, true, "-purpose", "sslclient")

			// strongSwan reads the extensions IKE clients look at.
			out := mustTool(t, "pki", "--print", "--in", server)
			for _, want := range []string{
				`subject:  "C=CH, O=ikego, CN=vpn.example.org"`,
				`issuer:   "C=CH, O=ikego, CN=ikego Interop CA"`,
				"altNames:  vpn.example.org, 198.51.100.2, 2001:db8:0:1::2",
				"flags:     serverAuth ikeIntermediate",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("pki --print lacks %q:\n%s", want, out)
				}
			}
			out = mustTool(t, "pki", "--print", "--in", filepath.Join(dir, CertPath("client")))
			if !strings.Contains(out, "altNames:  client1@example.com") || !strings.Contains(out, "flags:     clientAuth") {
				t.Errorf("client certificate:\n%s", out)
			}
			out = mustTool(t, "pki", "--print", "--in", ca)
			if !strings.Contains(out, "flags:     CA CRLSign") {
				t.Errorf("CA certificate:\n%s", out)
			}
			out = mustTool(t, "openssl", "x509", "-in", server, "-noout", "-ext", "extendedKeyUsage,subjectAltName")
			for _, want := range []string{"TLS Web Server Authentication, 1.3.6.1.5.5.8.2.2", "DNS:vpn.example.org", "IP Address:198.51.100.2"} {
				if !strings.Contains(out, want) {
					t.Errorf("openssl x509 lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

func TestInteropCRL(t *testing.T) {
	need(t, "pki", "openssl")
	dir := t.TempDir()
	s := &Store{Dir: dir}
	if _, err := s.InitCA(CAOptions{Subject: "C=CH, O=ikego, CN=ikego CRL CA", KeyType: KeyTypeECDSAP256}); err != nil {
		t.Fatal(err)
	}
	_, _, err := s.Issue("good", Request{Profile: ProfileClient, Names: []string{"good@example.org"}, KeyType: KeyTypeECDSAP256})
	if err != nil {
		t.Fatal(err)
	}
	bad, _, err := s.Issue("bad", Request{Profile: ProfileClient, Names: []string{"bad@example.org"}, KeyType: KeyTypeECDSAP256})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Revoke(bad.SerialNumber, ReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	ca, crl := filepath.Join(dir, StoreCACert), filepath.Join(dir, StoreCRL)
	goodPath, badPath := filepath.Join(dir, CertPath("good")), filepath.Join(dir, CertPath("bad"))

	out := strongSwanVerify(t, badPath, ca, false, "--crl", crl)
	if !strings.Contains(out, "certificate was revoked") || !strings.Contains(out, "key compromise") {
		t.Errorf("pki --verify of the revoked certificate:\n%s", out)
	}
	out = strongSwanVerify(t, goodPath, ca, true, "--crl", crl)
	if !strings.Contains(out, "crl correctly signed") {
		t.Errorf("strongSwan did not check our CRL:\n%s", out)
	}
	out = opensslVerify(t, badPath, ca, false, "-crl_check", "-CRLfile", crl)
	if !strings.Contains(out, "certificate revoked") {
		t.Errorf("openssl verify of the revoked certificate:\n%s", out)
	}
	opensslVerify(t, goodPath, ca, true, "-crl_check", "-CRLfile", crl)
	out = mustTool(t, "pki", "--print", "--type", "crl", "--in", crl)
	if !strings.Contains(out, "1 revoked certificate:") || !strings.Contains(out, formatSerial(bad.SerialNumber.Bytes())+": ") ||
		!strings.Contains(out, "key compromise") {
		t.Errorf("pki --print of the CRL:\n%s", out)
	}
}

func TestInteropSignCSR(t *testing.T) {
	need(t, "pki", "openssl")
	tmp := t.TempDir()
	s := &Store{Dir: filepath.Join(tmp, "store")}
	if _, err := s.InitCA(CAOptions{Subject: "C=CH, O=ikego, CN=ikego CSR CA", KeyType: KeyTypeRSA2048}); err != nil {
		t.Fatal(err)
	}
	caPath := filepath.Join(s.Dir, StoreCACert)
	csrs := map[string]string{} // name -> CSR file
	p := func(n string) string { return filepath.Join(tmp, n) }

	// openssl req, RSA and EC, server and client.
	mustTool(t, "openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", p("o-rsa.key"), "-out", p("o-rsa.csr"),
		"-subj", "/C=CH/O=ikego/CN=vpn.example.org", "-addext", "subjectAltName=DNS:vpn.example.org,IP:198.51.100.2")
	csrs["openssl-rsa-server"] = p("o-rsa.csr")
	mustTool(t, "openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", p("o-ec.key"),
		"-out", p("o-ec.csr"), "-outform", "DER", "-subj", "/C=CH/O=ikego/CN=carol", "-addext", "subjectAltName=email:carol@example.org")
	csrs["openssl-ec-client"] = p("o-ec.csr")
	// strongSwan pki --gen and --req, RSA and ECDSA.
	mustTool(t, "sh", "-c", "pki --gen --type rsa --size 2048 --outform pem > "+p("s-rsa.key")+" 2>/dev/null")
	mustTool(t, "sh", "-c", "pki --req --in "+p("s-rsa.key")+" --type rsa --dn 'C=CH, O=ikego, CN=gw.example.org' --san gw.example.org --san 198.51.100.3 --outform pem > "+p("s-rsa.csr")+" 2>/dev/null")
	csrs["strongswan-rsa-server"] = p("s-rsa.csr")
	mustTool(t, "sh", "-c", "pki --gen --type ecdsa --size 384 > "+p("s-ec.key")+" 2>/dev/null")
	mustTool(t, "sh", "-c", "pki --req --in "+p("s-ec.key")+" --type ecdsa --dn 'C=CH, O=ikego, CN=dave' --san dave@example.org > "+p("s-ec.csr")+" 2>/dev/null")
	csrs["strongswan-ec-client"] = p("s-ec.csr")

	for name, file := range csrs {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		csr, err := ParseCSR(data)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		profile := ProfileClient
		if strings.HasSuffix(name, "server") {
			profile = ProfileServer
		}
		cert, err := s.SignCSR(name, csr, SignOptions{Profile: profile})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(cert.DNSNames)+len(cert.EmailAddresses) == 0 {
			t.Errorf("%s: subjectAltNames lost", name)
		}
		certPath := filepath.Join(s.Dir, CertPath(name))
		strongSwanVerify(t, certPath, caPath, true)
		opensslVerify(t, certPath, caPath, true)

		// The same request with a flipped signature bit is refused.
		der := data
		if b, _ := pem.Decode(data); b != nil {
			der = b.Bytes
		}
		tampered := bytes.Clone(der)
		tampered[len(tampered)-8] ^= 0x01
		if _, err := ParseCSR(tampered); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s tampered: %v", name, err)
		}
	}
}

func TestInteropPKCS12Export(t *testing.T) {
	need(t, "openssl")
	dir := t.TempDir()
	ca := newCA(t, time.Now(), "C=CH, O=ikego, CN=ikego P12 CA") // the tools use the real clock
	cert, key, err := ca.Issue(Request{Profile: ProfileClient, Subject: "C=CH, O=ikego, CN=alice", Names: []string{"alice@example.org"}, KeyType: KeyTypeRSA2048})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		format     P12Format
		info       string
		needLegacy bool
	}{
		{P12Legacy, "pbeWithSHA1And3-KeyTripleDES-CBC", false},
		{P12LegacyRC2, "pbeWithSHA1And40BitRC2-CBC", true},
		{P12Modern, "PBES2, PBKDF2, AES-256-CBC", false},
	} {
		p12, err := EncodePKCS12(key, cert, []*x509.Certificate{ca.Cert}, "s3cret pass", tc.format, nil)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, tc.format.String()+".p12")
		if err := os.WriteFile(file, p12, 0o600); err != nil {
			t.Fatal(err)
		}
		variants := [][]string{{"-legacy"}}
		if !tc.needLegacy {
			variants = append(variants, nil)
		}
		for _, extra := range variants {
			args := append([]string{"pkcs12", "-in", file, "-passin", "pass:s3cret pass", "-nokeys"}, extra...)
			out := mustTool(t, "openssl", args...)
			if !strings.Contains(out, "subject=C = CH, O = ikego, CN = alice") || !strings.Contains(out, "CN = ikego P12 CA") {
				t.Errorf("%v %v: openssl pkcs12 -nokeys:\n%s", tc.format, extra, out)
			}
			args = append([]string{"pkcs12", "-in", file, "-passin", "pass:s3cret pass", "-info", "-noout"}, extra...)
			out = mustTool(t, "openssl", args...)
			if !strings.Contains(out, tc.info) {
				t.Errorf("%v %v: openssl pkcs12 -info lacks %q:\n%s", tc.format, extra, tc.info, out)
			}
			args = append([]string{"pkcs12", "-in", file, "-passin", "pass:s3cret pass", "-nocerts", "-nodes"}, extra...)
			out = mustTool(t, "openssl", args...)
			k, err := ParsePrivateKey([]byte(out))
			if err != nil || !publicKeysEqual(k.Public(), key.Public()) {
				t.Errorf("%v %v: key from openssl: %v", tc.format, extra, err)
			}
		}
		out, code := tool(t, nil, "openssl", "pkcs12", "-in", file, "-passin", "pass:wrong", "-nokeys", "-legacy")
		if code == 0 || !strings.Contains(out, "verify error") {
			t.Errorf("%v: openssl accepted a wrong password (exit %d):\n%s", tc.format, code, out)
		}
		strongSwanReadsPKCS12(t, file, "s3cret pass")
	}
}

// strongSwanReadsPKCS12 lists a PKCS#12 file with `pki --pkcs12 --list`,
// which reads the password from the terminal: it runs under script(1) for a
// pseudo-terminal and types the password when the prompt appears.
func strongSwanReadsPKCS12(t *testing.T, file, password string) {
	t.Helper()
	if _, err := exec.LookPath("pki"); err != nil {
		t.Logf("SKIPPED strongSwan PKCS#12 check: pki not on PATH")
		return
	}
	if _, err := exec.LookPath("script"); err != nil {
		t.Logf("SKIPPED strongSwan PKCS#12 check: script(1) not on PATH")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "script", "-qec", "pki --pkcs12 --list --in '"+file+"'", "/dev/null")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	r := bufio.NewReader(stdout)
	typed := false
	for {
		b, err := r.ReadByte()
		if err != nil {
			break
		}
		out.WriteByte(b)
		if !typed && bytes.HasSuffix(out.Bytes(), []byte("passphrase: ")) {
			typed = true
			io.WriteString(stdin, password+"\n")
		}
	}
	stdin.Close()
	err = cmd.Wait()
	text := out.String()
	if err != nil || !strings.Contains(text, `"C=CH, O=ikego, CN=alice"`) || !strings.Contains(text, "Private keys:") {
		t.Errorf("pki --pkcs12 --list %s: %v\n%s", filepath.Base(file), err, text)
	}
}

func TestInteropImport(t *testing.T) {
	need(t, "pki", "openssl")
	tmp := t.TempDir()
	p := func(n string) string { return filepath.Join(tmp, n) }
	read := func(n string) []byte {
		b, err := os.ReadFile(p(n))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	// A CA made by strongSwan (DER key, PEM certificate), loaded by us.
	mustTool(t, "sh", "-c", "pki --gen --type ecdsa --size 256 > "+p("swca.key")+" 2>/dev/null")
	mustTool(t, "sh", "-c", "pki --self --ca --lifetime 30 --in "+p("swca.key")+" --type ecdsa --dn 'C=CH, O=strongSwan, CN=sw CA' --outform pem > "+p("swca.pem")+" 2>/dev/null")
	swKey, err := ParsePrivateKey(read("swca.key"))
	if err != nil {
		t.Fatal(err)
	}
	swCert, err := ParseCertificate(read("swca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	store := &Store{Dir: p("store")}
	if _, err := store.ImportCA(swCert, swKey); err != nil {
		t.Fatal(err)
	}
	// We issue with it; both tools verify.
	if _, _, err := store.Issue("ours", Request{Profile: ProfileServer, Names: []string{"vpn.example.org"}, KeyType: KeyTypeECDSAP256}); err != nil {
		t.Fatal(err)
	}
	strongSwanVerify(t, filepath.Join(store.Dir, CertPath("ours")), p("swca.pem"), true)
	opensslVerify(t, filepath.Join(store.Dir, CertPath("ours")), p("swca.pem"), true)

	// Keys of every type strongSwan and openssl write, PEM and DER.
	mustTool(t, "sh", "-c", "pki --gen --type rsa --size 2048 > "+p("sw-rsa.der")+" 2>/dev/null")
	mustTool(t, "sh", "-c", "pki --gen --type rsa --size 2048 --outform pem > "+p("sw-rsa.pem")+" 2>/dev/null")
	mustTool(t, "sh", "-c", "pki --gen --type ed25519 --outform pem > "+p("sw-ed.pem")+" 2>/dev/null")
	mustTool(t, "sh", "-c", "pki --gen --type ecdsa --size 384 --outform pem > "+p("sw-ec.pem")+" 2>/dev/null")
	mustTool(t, "openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", p("o-ec8.pem"))
	mustTool(t, "openssl", "ec", "-in", p("o-ec8.pem"), "-out", p("o-ec1.pem"))
	mustTool(t, "openssl", "ecparam", "-name", "prime256v1", "-genkey", "-out", p("o-ecparam.pem"))
	mustTool(t, "openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", p("o-rsa8.pem"))
	mustTool(t, "openssl", "rsa", "-in", p("o-rsa8.pem"), "-traditional", "-out", p("o-rsa1.pem"))
	mustTool(t, "openssl", "pkey", "-in", p("o-rsa8.pem"), "-outform", "DER", "-out", p("o-rsa8.der"))
	mustTool(t, "openssl", "genpkey", "-algorithm", "ED25519", "-out", p("o-ed.pem"))
	for _, f := range []string{"sw-rsa.der", "sw-rsa.pem", "sw-ed.pem", "sw-ec.pem", "o-ec8.pem", "o-ec1.pem", "o-ecparam.pem",
		"o-rsa8.pem", "o-rsa1.pem", "o-rsa8.der", "o-ed.pem"} {
		if _, err := ParsePrivateKey(read(f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}

	// A certificate strongSwan issued, PEM and DER, and its CRL.
	mustTool(t, "sh", "-c", "pki --pub --in "+p("sw-rsa.der")+" --type rsa | pki --issue --lifetime 10 --cacert "+p("swca.pem")+
		" --cakey "+p("swca.key")+" --dn 'C=CH, O=strongSwan, CN=carol' --san carol@example.org --flag clientAuth --outform pem > "+p("carol.pem")+" 2>/dev/null")
	mustTool(t, "openssl", "x509", "-in", p("carol.pem"), "-outform", "DER", "-out", p("carol.der"))
	var carol *x509.Certificate
	for _, f := range []string{"carol.pem", "carol.der"} {
		c, err := ParseCertificate(read(f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		carol = c
		if _, err := Verify(c, VerifyOptions{Roots: []*x509.Certificate{swCert}}); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if !MatchCertificate(mustID(t, "carol@example.org"), c) || !MatchCertificate(mustID(t, "C=CH, O=strongSwan, CN=*"), c) {
			t.Errorf("%s: identities do not match", f)
		}
	}
	mustTool(t, "sh", "-c", "pki --signcrl --cacert "+p("swca.pem")+" --cakey "+p("swca.key")+" --cert "+p("carol.pem")+
		" --reason key-compromise --outform pem > "+p("sw.crl")+" 2>/dev/null")
	crl, err := ParseCRL(read("sw.crl"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(carol, VerifyOptions{Roots: []*x509.Certificate{swCert}, CRLs: []*x509.RevocationList{crl}}); !errors.Is(err, ErrRevoked) {
		t.Errorf("carol with strongSwan's CRL: %v", err)
	}
	if b, err := ParseBundle(append(read("carol.pem"), read("sw-rsa.pem")...), ""); err == nil {
		t.Errorf("carol with a foreign key: %v", b)
	}

	// PKCS#12 files made by openssl: legacy (RC2 + 3DES) and OpenSSL 3's
	// default (AES-256, PBKDF2, SHA-256 MAC); a DER key inside a PEM chain.
	mustTool(t, "openssl", "pkey", "-in", p("sw-rsa.der"), "-inform", "DER", "-out", p("carol.key"))
	for _, variant := range [][]string{{"-legacy"}, nil, {"-descert"}} {
		out := p("carol" + strings.Join(variant, "") + ".p12")
		args := append([]string{"pkcs12", "-export", "-in", p("carol.pem"), "-inkey", p("carol.key"), "-certfile", p("swca.pem"),
			"-passout", "pass:openssl pw", "-name", "carol", "-out", out}, variant...)
		mustTool(t, "openssl", args...)
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		b, err := DecodePKCS12(data, "openssl pw")
		if err != nil {
			t.Errorf("openssl pkcs12 %v: %v", variant, err)
			continue
		}
		if !b.Certificate.Equal(carol) || len(b.Chain) != 1 || !b.Chain[0].Equal(swCert) || b.Key == nil {
			t.Errorf("openssl pkcs12 %v: wrong content", variant)
		}
		if _, err := DecodePKCS12(data, "wrong"); !errors.Is(err, ErrWrongPassword) {
			t.Errorf("openssl pkcs12 %v, wrong password: %v", variant, err)
		}
		// Through the store, as the CLI imports it.
		if err := store.Put("carol"+strings.Join(variant, ""), b.Certificate, b.Key); err != nil {
			t.Error(err)
		}
	}
}

// TestInteropDN checks ParseDN against strongSwan's own encoder (the
// subject `pki --self --dn` writes) and Identity.String against `pki
// --print`.
func TestInteropDN(t *testing.T) {
	need(t, "pki")
	tmp := t.TempDir()
	key := filepath.Join(tmp, "k.der")
	mustTool(t, "sh", "-c", "pki --gen --type ecdsa --size 256 > "+key+" 2>/dev/null")
	for _, dn := range []string{
		"C=CH, O=ikego, CN=vpn.example.org",
		"C=US, O=ikego-interop, CN=client1",
		"/C=CH/O=ikego/CN=x",
		"CN = spaced , O =x",
		"CN=*, O=ikego",
		"CN=Müller AG",
		"E=alice@example.org, CN=alice",
		"DC=org, DC=example, UID=u1, SN=Smith, serialNumber=42",
		"ST=Zug, L=Baar, OU=VPN, T=t, G=g, I=i, N=n, D=d",
		"employeeNumber=7, EN=8, UN=u, UA=a, ID=x, dnQualifier=q, pseudonym=p, STREET=s, postalCode=1, postalAddress=a, dmdName=d",
		"CN=a=b",
		"CN=",
		"CN=x, ",
	} {
		out := filepath.Join(tmp, "c.pem")
		mustTool(t, "sh", "-c", "pki --self --in "+key+" --type ecdsa --dn '"+dn+"' --outform pem > "+out+" 2>/dev/null")
		data, _ := os.ReadFile(out)
		cert, err := ParseCertificate(data)
		if err != nil {
			t.Fatalf("%q: %v", dn, err)
		}
		ours, err := ParseDN(dn)
		if err != nil {
			t.Errorf("ParseDN(%q): %v", dn, err)
			continue
		}
		if !bytes.Equal(ours, cert.RawSubject) {
			t.Errorf("ParseDN(%q) = %x, strongSwan: %x", dn, ours, cert.RawSubject)
		}
		printed := mustTool(t, "pki", "--print", "--in", out)
		id := Identity{Type: IDTypeDERASN1DN, Data: ours}
		if s := id.String(); isASCII(s) && !strings.Contains(printed, `subject:  "`+s+`"`) {
			t.Errorf("String() = %q, pki --print:\n%s", s, printed)
		}
	}
}
