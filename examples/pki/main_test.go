package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets the tests run the command: the test binary re-executed
// with PKI_EXAMPLE_MAIN=1 is the pki command.
func TestMain(m *testing.M) {
	if os.Getenv("PKI_EXAMPLE_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runPKI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "PKI_EXAMPLE_MAIN=1")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

func TestExitCodes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	if out, errOut, code := runPKI(t, "init-ca", "-dir", dir, "-dn", "C=CH, O=ikego, CN=ikego CA", "-type", "ecdsa256"); code != 0 ||
		!strings.Contains(out, "created CA") {
		t.Errorf("init-ca: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := runPKI(t, "init-ca", "-dir", dir, "-dn", "CN=again", "-type", "ecdsa256"); code != 1 ||
		!strings.Contains(errOut, "pki: ca/ca.cert.pem: file exists") {
		t.Errorf("second init-ca: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := runPKI(t, "issue", "-dir", dir); code != 2 || !strings.Contains(errOut, "-name is required") {
		t.Errorf("usage error: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := runPKI(t, "help"); code != 0 || !strings.Contains(errOut, "export-p12") {
		t.Errorf("help: exit %d\n%s", code, errOut)
	}
	bad := filepath.Join(t.TempDir(), "bad.pem")
	os.WriteFile(bad, []byte("-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n"), 0o600)
	if _, errOut, code := runPKI(t, "verify", "-dir", dir, "-in", bad); code != 1 || !strings.Contains(errOut, "pki: "+bad+": corrupt PEM block") {
		t.Errorf("corrupt PEM: exit %d\n%s", code, errOut)
	}
}
