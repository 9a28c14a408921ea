package pki

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"os"
	"strings"
	"time"
)

// ErrUsage is wrapped by the errors of Command for a wrong command line;
// a program exits with status 2 for them.
var ErrUsage = errors.New("pki: usage")

// maxInputSize bounds the files the command line reads.
const maxInputSize = 4 << 20

// CLI is the pki command line with its environment. The zero CLI writes to
// io.Discard; Command fills in the writers.
type CLI struct {
	// Config is passed to the Store and CA (time and randomness).
	Config Config
	// Stdout receives results, Stderr notes; nil means io.Discard.
	Stdout, Stderr io.Writer
	// Getenv reads environment variables (-password-env); nil means
	// os.Getenv.
	Getenv func(string) string
}

// Command runs the pki command line with args (without the program name):
// a subcommand and its flags. It returns nil on success, an error wrapping
// flag.ErrHelp for -h, an error wrapping ErrUsage for a wrong command
// line, and otherwise an error naming the file and the reason. Mount it
// as a subcommand of another program, e.g. `roadwarrior pki ...`.
func Command(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := &CLI{Stdout: stdout, Stderr: stderr}
	return c.Run(ctx, args)
}

type subcommand struct {
	name, args, help string
	run              func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error
}

var subcommands []subcommand

func init() {
	subcommands = []subcommand{
		{"init-ca", "-dn DN [-type rsa3072] [-days 3650] [-force]", "create a self-signed CA in the store", (*CLI).initCA},
		{"import-ca", "(-cert FILE -key FILE | -in FILE.p12 -password-file FILE) [-force]", "store an existing CA certificate and key", (*CLI).importCA},
		{"issue", "-name NAME -profile server|client [-dn DN] -san NAME... [-type rsa2048] [-days 730] [-force]", "issue a certificate and key", (*CLI).issue},
		{"sign-csr", "-in CSR -name NAME -profile server|client [-dn DN] [-san NAME]... [-days 730] [-out FILE] [-force]", "sign a PKCS#10 request", (*CLI).signCSR},
		{"import", "-name NAME -in FILE [-key FILE] [-password-file FILE] [-force]", "store a certificate (and key) from PEM, DER or PKCS#12", (*CLI).importCert},
		{"revoke", "(-name NAME | -serial HEX) [-reason key-compromise]", "revoke a certificate and write the new CRL", (*CLI).revoke},
		{"crl", "[-out FILE] [-force]", "re-sign the CRL with a fresh nextUpdate", (*CLI).crl},
		{"export-p12", "-name NAME -out FILE.p12 (-password-file FILE | -password-env VAR) [-format legacy|legacy-rc2|modern] [-force]", "export a client bundle (key, certificate, CA) as PKCS#12", (*CLI).exportP12},
		{"export-ca", "[-out FILE] [-form pem|der] [-force]", "export the CA certificate for clients", (*CLI).exportCA},
		{"list", "", "list the stored certificates", (*CLI).list},
		{"print", "(-in FILE [-password-file FILE] | -name NAME | -ca)", "print a certificate, request, CRL, key or PKCS#12 file", (*CLI).print},
		{"verify", "(-in FILE | -name NAME) [-cacert FILE... [-crl FILE...]] [-id ID] [-eku any|server|client] [-time RFC3339] [-require-crl]", "verify a certificate against the store's CA and CRL or given CAs", (*CLI).verify},
	}
}

func (c *CLI) out() io.Writer {
	if c.Stdout == nil {
		return io.Discard
	}
	return c.Stdout
}

func (c *CLI) errw() io.Writer {
	if c.Stderr == nil {
		return io.Discard
	}
	return c.Stderr
}

func (c *CLI) usage() {
	w := c.errw()
	fmt.Fprintln(w, "usage: pki COMMAND [-dir DIR] [flags]")
	fmt.Fprintln(w, "commands:")
	for _, s := range subcommands {
		fmt.Fprintf(w, "  %-11s %s\n", s.name, s.help)
	}
	fmt.Fprintln(w, "run `pki COMMAND -h` for the flags of a command")
}

// Run runs the command line args (see Command).
func (c *CLI) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		c.usage()
		return fmt.Errorf("%w: no command", ErrUsage)
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		c.usage()
		return flag.ErrHelp
	}
	for _, s := range subcommands {
		if s.name != args[0] {
			continue
		}
		fs := flag.NewFlagSet("pki "+s.name, flag.ContinueOnError)
		fs.SetOutput(c.errw())
		fs.Usage = func() {
			fmt.Fprintf(c.errw(), "usage: pki %s [-dir DIR] %s\n%s\n", s.name, s.args, s.help)
			fs.PrintDefaults()
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		return s.run(c, ctx, fs, args[1:])
	}
	c.usage()
	return fmt.Errorf("%w: unknown command %q", ErrUsage, args[0])
}

// parse parses the flags and rejects extra arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: %s: unexpected argument %q", ErrUsage, fs.Name(), fs.Arg(0))
	}
	return nil
}

func usagef(fs *flag.FlagSet, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrUsage, fs.Name(), fmt.Sprintf(format, args...))
}

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

// storeFlags adds -dir and -force.
func (c *CLI) storeFlags(fs *flag.FlagSet) (*Store, *bool) {
	s := &Store{Config: c.Config}
	fs.StringVar(&s.Dir, "dir", ".", "the store directory")
	force := fs.Bool("force", false, "overwrite existing files")
	return s, force
}

// passwordFlags adds -password-file and -password-env.
func (c *CLI) passwordFlags(fs *flag.FlagSet) func() (string, bool, error) {
	file := fs.String("password-file", "", "read the password from the first line of `FILE`")
	env := fs.String("password-env", "", "read the password from environment variable `VAR`")
	return func() (string, bool, error) {
		switch {
		case *file != "" && *env != "":
			return "", false, usagef(fs, "give -password-file or -password-env, not both")
		case *file != "":
			b, err := readInput(*file)
			if err != nil {
				return "", false, err
			}
			line, _, _ := strings.Cut(string(b), "\n")
			return strings.TrimSuffix(line, "\r"), true, nil
		case *env != "":
			get := c.Getenv
			if get == nil {
				get = os.Getenv
			}
			return get(*env), true, nil
		}
		return "", false, nil
	}
}

func daysFlag(fs *flag.FlagSet, def string) *int {
	return fs.Int("days", 0, "lifetime in days (default "+def+")")
}

func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

// readInput reads a file named on the command line, bounded in size.
func readInput(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fileErr(path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxInputSize+1))
	if err != nil {
		return nil, fileErr(path, err)
	}
	if len(b) > maxInputSize {
		return nil, &FileError{Path: path, Err: errors.New("file too large")}
	}
	return b, nil
}

func (c *CLI) initCA(_ context.Context, fs *flag.FlagSet, args []string) error {
	s, force := c.storeFlags(fs)
	dn := fs.String("dn", "", "the CA's subject `DN`, e.g. \"C=CH, O=ikego, CN=ikego CA\"")
	kt := fs.String("type", "rsa3072", "key `type`: rsa2048, rsa3072, rsa4096, ecdsa256, ecdsa384, ed25519")
	d := daysFlag(fs, "3650")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dn == "" {
		return usagef(fs, "-dn is required")
	}
	t, err := ParseKeyType(*kt)
	if err != nil {
		return err
	}
	s.Overwrite = *force
	ca, err := s.InitCA(CAOptions{Subject: *dn, KeyType: t, Lifetime: days(*d)})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out(), "created CA %q, valid until %s\n", subjectString(ca.Cert), ca.Cert.NotAfter.Format(time.RFC3339))
	fmt.Fprintf(c.out(), "wrote %s and %s\n", StoreCACert, StoreCAKey)
	return nil
}

func (c *CLI) importCA(_ context.Context, fs *flag.FlagSet, args []string) error {
	s, force := c.storeFlags(fs)
	certPath := fs.String("cert", "", "the CA certificate `FILE` (PEM or DER)")
	keyPath := fs.String("key", "", "the CA private key `FILE` (PEM or DER)")
	in := fs.String("in", "", "a PKCS#12 or PEM `FILE` with certificate and key")
	password := c.passwordFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	b, err := c.loadBundle(fs, *in, *certPath, *keyPath, password)
	if err != nil {
		return err
	}
	if b.Key == nil || b.Certificate == nil {
		return usagef(fs, "need the CA certificate and its private key")
	}
	s.Overwrite = *force
	ca, err := s.ImportCA(b.Certificate, b.Key)
	if err != nil {
		return fileErr(firstNonEmpty(*certPath, *in), err)
	}
	fmt.Fprintf(c.out(), "imported CA %q\n", subjectString(ca.Cert))
	return nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// loadBundle reads -in (PKCS#12 or PEM) or -cert and -key.
func (c *CLI) loadBundle(fs *flag.FlagSet, in, certPath, keyPath string, password func() (string, bool, error)) (*Bundle, error) {
	pw, _, err := password()
	if err != nil {
		return nil, err
	}
	switch {
	case in != "" && certPath != "":
		return nil, usagef(fs, "give -in or -cert, not both")
	case in != "":
		data, err := readInput(in)
		if err != nil {
			return nil, err
		}
		b, err := ParseBundle(data, pw)
		if err != nil {
			return nil, fileErr(in, err)
		}
		if keyPath != "" {
			if err := c.addKey(b, keyPath); err != nil {
				return nil, err
			}
		}
		return b, nil
	case certPath != "":
		data, err := readInput(certPath)
		if err != nil {
			return nil, err
		}
		certs, err := ParseCertificates(data)
		if err != nil {
			return nil, fileErr(certPath, err)
		}
		b, err := newBundle(nil, certs)
		if err != nil {
			return nil, fileErr(certPath, err)
		}
		if keyPath != "" {
			if err := c.addKey(b, keyPath); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	return nil, usagef(fs, "-in or -cert is required")
}

func (c *CLI) addKey(b *Bundle, keyPath string) error {
	data, err := readInput(keyPath)
	if err != nil {
		return err
	}
	key, err := ParsePrivateKey(data)
	if err != nil {
		return fileErr(keyPath, err)
	}
	certs := append([]*x509.Certificate{b.Certificate}, b.Chain...)
	if b.Certificate == nil {
		certs = b.Chain
	}
	nb, err := newBundle(key, certs)
	if err != nil {
		return fileErr(keyPath, err)
	}
	*b = *nb
	return nil
}

func (c *CLI) issue(_ context.Context, fs *flag.FlagSet, args []string) error {
	s, force := c.storeFlags(fs)
	name := fs.String("name", "", "the `NAME` to store the certificate and key under")
	profile := fs.String("profile", "", "`server` or client")
	dn := fs.String("dn", "", "subject `DN` (default \"CN=\" and the first -san)")
	var sans stringList
	fs.Var(&sans, "san", "subjectAltName: DNS name, IP address or e-mail address (repeatable)")
	kt := fs.String("type", "rsa2048", "key `type`: rsa2048, rsa3072, rsa4096, ecdsa256, ecdsa384, ed25519")
	d := daysFlag(fs, "730")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" {
		return usagef(fs, "-name is required")
	}
	p, err := ParseProfile(*profile)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUsage, fs.Name(), err)
	}
	t, err := ParseKeyType(*kt)
	if err != nil {
		return err
	}
	s.Overwrite = *force
	cert, _, err := s.Issue(*name, Request{Profile: p, Subject: *dn, Names: sans, KeyType: t, Lifetime: days(*d)})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out(), "issued %q, serial %s, valid until %s\n", subjectString(cert), formatSerial(cert.SerialNumber.Bytes()), cert.NotAfter.Format(time.RFC3339))
	fmt.Fprintf(c.out(), "wrote %s and %s\n", CertPath(*name), KeyPath(*name))
	return nil
}

func (c *CLI) signCSR(_ context.Context, fs *flag.FlagSet, args []string) error {
	s, force := c.storeFlags(fs)
	in := fs.String("in", "", "the PKCS#10 request `FILE` (PEM or DER)")
	name := fs.String("name", "", "the `NAME` to store the certificate under")
	profile := fs.String("profile", "", "`server` or client")
	dn := fs.String("dn", "", "replace the requested subject `DN`")
	var sans stringList
	fs.Var(&sans, "san", "replace the requested subjectAltNames (repeatable)")
	out := fs.String("out", "", "also write the certificate (PEM) to `FILE`")
	d := daysFlag(fs, "730")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *in == "" || *name == "" {
		return usagef(fs, "-in and -name are required")
	}
	p, err := ParseProfile(*profile)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUsage, fs.Name(), err)
	}
	data, err := readInput(*in)
	if err != nil {
		return err
	}
	csr, err := ParseCSR(data)
	if err != nil {
		return fileErr(*in, err)
	}
	if *out != "" && !*force {
		if _, err := os.Lstat(*out); err == nil {
			return &FileError{Path: *out, Err: ErrExists}
		}
	}
	s.Overwrite = *force
	opts := SignOptions{Profile: p, Subject: *dn, Lifetime: days(*d)}
	if len(sans) > 0 {
		opts.Names = sans
	}
	cert, files, err := s.signCSR(*name, csr, opts)
	if err != nil {
		return fileErr(*in, err)
	}
	if *out != "" {
		files = append(files, outFile(*out, EncodeCertificatesPEM(cert), 0o644))
	}
	if err := s.write(files...); err != nil {
		return err
	}
	fmt.Fprintf(c.out(), "signed %q, serial %s, valid until %s\n", subjectString(cert), formatSerial(cert.SerialNumber.Bytes()), cert.NotAfter.Format(time.RFC3339))
	fmt.Fprintf(c.out(), "wrote %s\n", CertPath(*name))
	return nil
}

func (c *CLI) importCert(_ context.Context, fs *flag.FlagSet, args []string) error {
	s, force := c.storeFlags(fs)
	name := fs.String("name", "", "the `NAME` to store the certificate under")
	in := fs.String("in", "", "a certificate, PEM bundle or PKCS#12 `FILE`")
	keyPath := fs.String("key", "", "the private key `FILE`, if separate")
	password := c.passwordFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" || *in == "" {
		return usagef(fs, "-name and -in are required")
	}
	if err := CheckName(*name); err != nil {
		return err
	}
	b, err := c.loadBundle(fs, *in, "", *keyPath, password)
	if err != nil {
		return err
	}
	if b.Certificate == nil {
		return &FileError{Path: *in, Err: errors.New("no certificate")}
	}
	if err := checkTime(b.Certificate, s.Config.now(), "certificate"); err != nil {
		return fileErr(*in, err)
	}
	// A certificate of our own CA must also not be revoked.
	if caCert, err := s.loadCert(StoreCACert); err == nil && b.Certificate.CheckSignatureFrom(caCert) == nil {
		if _, err := s.Verify(b.Certificate, VerifyOptions{Time: s.Config.now()}); err != nil {
			return fileErr(*in, err)
		}
	}
	s.Overwrite = *force
	if err := s.Put(*name, b.Certificate, b.Key); err != nil {
		return err
	}
	fmt.Fprintf(c.out(), "imported %q", subjectString(b.Certificate))
	if b.Key != nil {
		fmt.Fprintf(c.out(), " with its private key")
	}
	fmt.Fprintln(c.out())
	return nil
}

func (c *CLI) revoke(_ context.Context, fs *flag.FlagSet, args []string) error {
	s, _ := c.storeFlags(fs)
	name := fs.String("name", "", "revoke the stored certificate `NAME`")
	serialHex := fs.String("serial", "", "revoke the serial number `HEX`")
	reasonName := fs.String("reason", "", "key-compromise, ca-compromise, affiliation-changed, superseded, cessation-of-operation, certificate-hold")
	if err := parse(fs, args); err != nil {
		return err
	}
	reason, err := ParseRevocationReason(*reasonName)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUsage, fs.Name(), err)
	}
	var serial *big.Int
	switch {
	case (*name == "") == (*serialHex == ""):
		return usagef(fs, "give -name or -serial")
	case *name != "":
		cert, err := s.Certificate(*name)
		if err != nil {
			return err
		}
		caCert, err := s.loadCert(StoreCACert)
		if err != nil {
			return err
		}
		if err := cert.CheckSignatureFrom(caCert); err != nil {
			return &FileError{Path: CertPath(*name), Err: errors.New("not issued by the store's CA")}
		}
		serial = cert.SerialNumber
	default:
		b, err := parseHex(*serialHex)
		if err != nil || len(b) == 0 {
			return usagef(fs, "bad -serial %q", *serialHex)
		}
		serial = new(big.Int).SetBytes(b)
	}
	crl, err := s.Revoke(serial, reason)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out(), "revoked serial %s; wrote %s (CRL number %s, %d entries, next update %s)\n",
		formatSerial(serial.Bytes()), StoreCRL, crl.Number, len(crl.RevokedCertificateEntries), crl.NextUpdate.Format(time.RFC3339))
	return nil
}

func (c *CLI) crl(_ context.Context, fs *flag.FlagSet, args []string) error {
	s, force := c.storeFlags(fs)
	out := fs.String("out", "", "also write the CRL (DER, as CRL distribution points serve it) to `FILE`")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out != "" && !*force {
		if _, err := os.Lstat(*out); err == nil {
			return &FileError{Path: *out, Err: ErrExists}
		}
	}
	crl, err := s.nextCRL(nil, 0)
	if err != nil {
		return err
	}
	files := []fileWrite{s.crlFile(crl)}
	if *out != "" {
		files = append(files, outFile(*out, crl.Raw, 0o644))
	}
	s.Overwrite = *force
	if err := s.write(files...); err != nil {
		return err
	}
	fmt.Fprintf(c.out(), "wrote %s (CRL number %s, %d entries, next update %s)\n",
		StoreCRL, crl.Number, len(crl.RevokedCertificateEntries), crl.NextUpdate.Format(time.RFC3339))
	return nil
}

func (c *CLI) exportP12(_ context.Context, fs *flag.FlagSet, args []string) error {
	s, force := c.storeFlags(fs)
	name := fs.String("name", "", "the stored certificate and key `NAME`")
	out := fs.String("out", "", "the PKCS#12 `FILE` to write (mode 0600)")
	format := fs.String("format", "legacy", "legacy (3DES/SHA-1, for iOS and macOS), legacy-rc2, or modern (AES-256/SHA-256)")
	password := c.passwordFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" || *out == "" {
		return usagef(fs, "-name and -out are required")
	}
	f, err := ParseP12Format(*format)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUsage, fs.Name(), err)
	}
	pw, ok, err := password()
	if err != nil {
		return err
	}
	if !ok || pw == "" {
		return usagef(fs, "a non-empty password is required (-password-file or -password-env)")
	}
	if !*force {
		if _, err := os.Lstat(*out); err == nil {
			return &FileError{Path: *out, Err: ErrExists}
		}
	}
	cert, err := s.Certificate(*name)
	if err != nil {
		return err
	}
	key, err := s.PrivateKey(*name)
	if err != nil {
		return err
	}
	chain, err := s.Verify(cert, VerifyOptions{Time: s.Config.now()})
	if err != nil {
		return fileErr(CertPath(*name), err)
	}
	p12, err := EncodePKCS12(key, cert, chain[1:], pw, f, s.Config.Rand)
	if err != nil {
		return err
	}
	if err := writeFiles([]fileWrite{outFile(*out, p12, 0o600)}, *force); err != nil {
		return err
	}
	fmt.Fprintf(c.out(), "wrote %s (%s PKCS#12: key, certificate %q and %d CA certificate(s))\n", *out, f, subjectString(cert), len(chain)-1)
	return nil
}

func (c *CLI) exportCA(_ context.Context, fs *flag.FlagSet, args []string) error {
	s, force := c.storeFlags(fs)
	out := fs.String("out", "", "write to `FILE` instead of standard output")
	form := fs.String("form", "pem", "pem, or der (.cer/.crt for Windows)")
	if err := parse(fs, args); err != nil {
		return err
	}
	caCert, err := s.loadCert(StoreCACert)
	if err != nil {
		return err
	}
	var data []byte
	switch *form {
	case "pem":
		data = EncodeCertificatesPEM(caCert)
	case "der":
		data = caCert.Raw
	default:
		return usagef(fs, "-form must be pem or der")
	}
	if *out == "" {
		_, err := c.out().Write(data)
		return err
	}
	return writeFiles([]fileWrite{outFile(*out, data, 0o644)}, *force)
}

func (c *CLI) list(_ context.Context, fs *flag.FlagSet, args []string) error {
	s, _ := c.storeFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	names, err := s.Names()
	if err != nil {
		return err
	}
	for _, n := range names {
		cert, err := s.Certificate(n)
		if err != nil {
			fmt.Fprintf(c.out(), "%-20s %v\n", n, err)
			continue
		}
		status := "valid"
		if _, err := s.Verify(cert, VerifyOptions{Time: s.Config.now()}); err != nil {
			status = strings.TrimPrefix(err.Error(), "pki: ")
		}
		fmt.Fprintf(c.out(), "%-20s %q serial %s until %s: %s\n", n, subjectString(cert),
			formatSerial(cert.SerialNumber.Bytes()), cert.NotAfter.Format("2006-01-02"), status)
	}
	return nil
}

func (c *CLI) print(_ context.Context, fs *flag.FlagSet, args []string) error {
	s, _ := c.storeFlags(fs)
	in := fs.String("in", "", "the `FILE` to print")
	name := fs.String("name", "", "print the stored certificate `NAME`")
	ca := fs.Bool("ca", false, "print the store's CA certificate")
	password := c.passwordFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	now := s.Config.now()
	switch {
	case *ca:
		cert, err := s.loadCert(StoreCACert)
		if err != nil {
			return err
		}
		printCert(c.out(), cert, now)
		return nil
	case *name != "":
		cert, err := s.Certificate(*name)
		if err != nil {
			return err
		}
		printCert(c.out(), cert, now)
		return nil
	case *in == "":
		return usagef(fs, "-in, -name or -ca is required")
	}
	data, err := readInput(*in)
	if err != nil {
		return err
	}
	pw, given, err := password()
	if err != nil {
		return err
	}
	err = printAny(c.out(), data, pw, now)
	if errors.Is(err, ErrWrongPassword) && !given {
		err = fmt.Errorf("%w (give it with -password-file or -password-env)", err)
	}
	return fileErr(*in, err)
}

func (c *CLI) verify(_ context.Context, fs *flag.FlagSet, args []string) error {
	s, _ := c.storeFlags(fs)
	in := fs.String("in", "", "the certificate `FILE` to verify (further certificates in it are intermediates)")
	name := fs.String("name", "", "verify the stored certificate `NAME`")
	var cacerts, crls stringList
	fs.Var(&cacerts, "cacert", "trusted CA certificate `FILE` instead of the store's CA (repeatable)")
	fs.Var(&crls, "crl", "CRL `FILE` to check with -cacert (repeatable)")
	idStr := fs.String("id", "", "also check that the certificate matches this IKE identity")
	eku := fs.String("eku", "any", "required extended key usage: any, server or client")
	at := fs.String("time", "", "verify at this time (RFC 3339) instead of now")
	requireCRL := fs.Bool("require-crl", false, "fail unless a current CRL of the CA is available")
	if err := parse(fs, args); err != nil {
		return err
	}
	opts := VerifyOptions{Time: s.Config.now(), RequireCRL: *requireCRL}
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return usagef(fs, "bad -time: %v", err)
		}
		opts.Time = t
	}
	switch *eku {
	case "any":
	case "server":
		opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	case "client":
		opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	default:
		return usagef(fs, "-eku must be any, server or client")
	}
	var id Identity
	if *idStr != "" {
		var err error
		if id, err = ParseIdentity(*idStr); err != nil {
			return fmt.Errorf("%w: %s: -id: %v", ErrUsage, fs.Name(), err)
		}
	}
	var cert *x509.Certificate
	file := *in
	switch {
	case (*in == "") == (*name == ""):
		return usagef(fs, "give -in or -name")
	case *name != "":
		var err error
		if cert, err = s.Certificate(*name); err != nil {
			return err
		}
		file = CertPath(*name)
	default:
		data, err := readInput(*in)
		if err != nil {
			return err
		}
		certs, err := ParseCertificates(data)
		if err != nil {
			return fileErr(*in, err)
		}
		cert, opts.Intermediates = certs[0], certs[1:]
	}
	var chain []*x509.Certificate
	var err error
	if len(cacerts) > 0 {
		for _, p := range cacerts {
			data, err := readInput(p)
			if err != nil {
				return err
			}
			certs, err := ParseCertificates(data)
			if err != nil {
				return fileErr(p, err)
			}
			opts.Roots = append(opts.Roots, certs...)
		}
		for _, p := range crls {
			data, err := readInput(p)
			if err != nil {
				return err
			}
			crl, err := ParseCRL(data)
			if err != nil {
				return fileErr(p, err)
			}
			opts.CRLs = append(opts.CRLs, crl)
		}
		chain, err = Verify(cert, opts)
	} else {
		if len(crls) > 0 {
			return usagef(fs, "-crl needs -cacert; the store's CRL is used otherwise")
		}
		chain, err = s.Verify(cert, opts)
	}
	if err != nil {
		return fileErr(file, err)
	}
	for _, c2 := range chain[1:] {
		fmt.Fprintf(c.out(), "  using trusted certificate %q\n", subjectString(c2))
	}
	if *idStr != "" {
		if !MatchCertificate(id, cert) {
			return &FileError{Path: file, Err: fmt.Errorf("identity %q does not match the certificate", id)}
		}
		fmt.Fprintf(c.out(), "  identity %q matches\n", id)
	}
	fmt.Fprintln(c.out(), "certificate trusted, lifetimes valid")
	return nil
}
