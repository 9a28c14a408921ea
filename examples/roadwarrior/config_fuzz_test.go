package main

import (
	"errors"
	"os"
	"testing"
)

// FuzzConfig feeds arbitrary files to Parse and Build: no panic, and every
// mistake Build reports is a *FieldError naming a field (what the CLI
// prints as FILE:LINE: field: reason). Files named by the configuration
// are looked up in an empty directory.
func FuzzConfig(f *testing.F) {
	for _, name := range []string{"default.yaml", "quickstart.yaml", "roadwarrior.example.yaml"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(controlConf))
	f.Add([]byte("connections: [\n"))
	f.Add([]byte("pools:\n  - {name: a, addrs: 198.18.200.0/28}\n  - {name: a, addrs: 2001:db8::/120}\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data)
		if cfg == nil {
			if err == nil {
				t.Fatal("no configuration and no error")
			}
			return
		}
		cfg.Dir = dir
		_, err = Build(cfg)
		if err == nil {
			return
		}
		var errs []error
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			errs = j.Unwrap()
		} else {
			errs = []error{err}
		}
		for _, e := range errs {
			var fe *FieldError
			if !errors.As(e, &fe) || fe.Path == "" || fe.Msg == "" {
				t.Fatalf("Build error %q (%T) is not a FieldError naming a field", e, e)
			}
		}
	})
}
