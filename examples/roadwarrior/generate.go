package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/ikego/ikego/pki"
)

// generateCerts makes the certificates that connections with
// local.generate ask for and the PKI store does not have yet: a server
// certificate (serverAuth and ikeIntermediate, the identity as its
// subjectAltName and CN) named certs[0], issued by the store's CA. path is
// the configuration file (relative store directories are relative to it).
// It reports what it made; Build then finds the certificates as usual.
// Errors name the field.
func generateCerts(cfg *Config, path string) ([]string, error) {
	var made []string
	var errs []error
	for _, c := range cfg.Connections {
		if !c.Local.Generate {
			continue
		}
		f := "connections." + c.Name + ".local"
		if c.Local.Auth != "" && c.Local.Auth != "pubkey" {
			errs = append(errs, &FieldError{Path: f + ".generate", Msg: "is for auth pubkey", Line: cfg.line(f + ".generate")})
			continue
		}
		if len(c.Local.Certs) == 0 || cfg.PKI.Dir == "" {
			errs = append(errs, &FieldError{Path: f + ".generate", Msg: "needs certs (the name to give the certificate) and pki.dir",
				Line: cfg.line(f + ".generate")})
			continue
		}
		id := c.Local.ID
		if id == "" {
			errs = append(errs, &FieldError{Path: f + ".id", Msg: "generate needs our identity (an FQDN or an address) for the certificate",
				Line: cfg.line(f + ".generate")})
			continue
		}
		ident, err := pki.ParseIdentity(id)
		if err != nil || (ident.Type != pki.IDTypeFQDN && ident.Type != pki.IDTypeIPv4Addr && ident.Type != pki.IDTypeIPv6Addr) {
			errs = append(errs, &FieldError{Path: f + ".id", Msg: fmt.Sprintf("%q: generate needs an FQDN or an address", id), Line: cfg.line(f + ".id")})
			continue
		}
		dir := cfg.PKI.Dir
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(filepath.Dir(path), dir)
		}
		store := &pki.Store{Dir: dir}
		name := c.Local.Certs[0]
		if _, err := store.Certificate(name); err == nil {
			continue // there already: never replaced
		} else if !errors.Is(err, pki.ErrNotFound) {
			errs = append(errs, &FieldError{Path: f + ".certs[0]", Msg: fmt.Sprintf("%q: %v", name, err), Line: cfg.line(f + ".certs")})
			continue
		}
		if _, _, err := store.Issue(name, pki.Request{Profile: pki.ProfileServer, Names: []string{id}}); err != nil {
			errs = append(errs, &FieldError{Path: f + ".generate", Msg: fmt.Sprintf("issuing %q: %v", name, err), Line: cfg.line(f + ".generate")})
			continue
		}
		made = append(made, name)
	}
	return made, errors.Join(errs...)
}
