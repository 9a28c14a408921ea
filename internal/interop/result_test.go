package interop

import (
	"errors"
	"strings"
	"testing"
)

func TestParseResult(t *testing.T) {
	tests := []struct {
		name   string
		output string
		want   Result
		err    bool
	}{
		{name: "pass", output: "===== initiate =====\nPING 203.0.113.1: OK\nRESULT ikev2-psk PASS\n",
			want: Result{Scenario: "ikev2-psk", Pass: true}},
		{name: "pass without newline", output: "RESULT ikev2-psk PASS",
			want: Result{Scenario: "ikev2-psk", Pass: true}},
		{name: "crlf", output: "RESULT ikev2-psk PASS\r\n",
			want: Result{Scenario: "ikev2-psk", Pass: true}},
		{name: "fail with reason", output: "logs: ...\nRESULT ikev2-psk FAIL ping from left to 203.0.113.1 failed\n",
			want: Result{Scenario: "ikev2-psk", Reason: "ping from left to 203.0.113.1 failed"}},
		{name: "fail without reason", output: "RESULT ikev1-hybrid FAIL\n",
			want: Result{Scenario: "ikev1-hybrid", Reason: "no reason given"}},
		{name: "last line wins", output: "RESULT a PASS\nRESULT a FAIL interrupted\n",
			want: Result{Scenario: "a", Reason: "interrupted"}},
		{name: "trailing stderr after result", output: "RESULT a PASS\n[peer.sh] deleted namespace ikt-left\n",
			want: Result{Scenario: "a", Pass: true}},
		{name: "lock", output: "RESULT ikev2-psk FAIL another run holds /tmp/x/.lock\n",
			want: Result{Scenario: "ikev2-psk", Reason: "another run holds /tmp/x/.lock"}},
		{name: "not at line start", output: "echo RESULT a PASS\n", err: true},
		{name: "empty", output: "", err: true},
		{name: "no verdict", output: "RESULT ikev2-psk\n", err: true},
		{name: "bad verdict", output: "RESULT ikev2-psk PASSED\n", err: true},
		{name: "no scenario", output: "RESULT  PASS\n", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseResult(tt.output)
			if tt.err {
				if !errors.Is(err, ErrNoResult) {
					t.Fatalf("ParseResult(%q) = %+v, %v; want ErrNoResult", tt.output, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseResult(%q) = %+v, %v; want %+v", tt.output, got, err, tt.want)
			}
			if s := got.String(); !strings.HasPrefix(s, "RESULT "+tt.want.Scenario) {
				t.Errorf("String() = %q", s)
			}
		})
	}
}

func TestParseInfo(t *testing.T) {
	out := "RIG_DIR=/work/shared/interop\n" +
		"PREFIX=ikt\n" +
		"LEFT_ADDR6=\n" +
		"SERVER_DN=C=US, O=ikego-interop, CN=vpn.example.com\n" +
		"\n" +
		"CHILD=net1 net2\r\n" +
		"PSK=ikego-psk-0123456789abcdef\n" +
		"PREFIX=ik1x1\n"
	m, err := ParseInfo(out)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"RIG_DIR":    "/work/shared/interop",
		"PREFIX":     "ik1x1",
		"LEFT_ADDR6": "",
		"SERVER_DN":  "C=US, O=ikego-interop, CN=vpn.example.com",
		"CHILD":      "net1 net2",
		"PSK":        "ikego-psk-0123456789abcdef",
	}
	if len(m) != len(want) {
		t.Errorf("got %d keys, want %d: %v", len(m), len(want), m)
	}
	for k, v := range want {
		if got, ok := m[k]; !ok || got != v {
			t.Errorf("%s = %q (present %v), want %q", k, got, ok, v)
		}
	}
	for _, bad := range []string{
		"no equals sign\n",
		"=value\n",
		"1KEY=value\n",
		"KEY-X=value\n",
		"[peer.sh] PKI created in /tmp/x/pki\n",
		"K=v\n  \n",
	} {
		if m, err := ParseInfo(bad); err == nil {
			t.Errorf("ParseInfo(%q) = %v, want an error", bad, m)
		}
	}
}

func TestFindHome(t *testing.T) {
	root := t.TempDir()
	repo := root + "/main"
	deep := repo + "/a/b"
	mustMkdir(t, deep)
	mustMkdir(t, root+"/shared/interop")
	if _, err := FindHome(deep); err == nil {
		t.Fatal("FindHome without go.mod and peer.sh succeeded")
	}
	mustWrite(t, repo+"/go.mod", "module x\n")
	if _, err := FindHome(deep); err == nil {
		t.Fatal("FindHome without peer.sh succeeded")
	}
	mustWrite(t, root+"/shared/interop/peer.sh", "#!/bin/sh\n")
	home, err := FindHome(deep)
	if err != nil || home != root+"/shared/interop" {
		t.Fatalf("FindHome = %q, %v; want %q", home, err, root+"/shared/interop")
	}
}

func TestNewPrefix(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		p := newPrefix()
		if len(p) < 1 || len(p) > 12 || strings.Trim(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != "" {
			t.Fatalf("prefix %q is not 1-12 of [A-Za-z0-9_]", p)
		}
		if seen[p] {
			t.Fatalf("prefix %q repeated", p)
		}
		seen[p] = true
	}
}
