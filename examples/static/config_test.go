package main

import (
	"strings"
	"testing"

	"github.com/ikego/ikego/esp"
)

const goodConfig = `# a gateway
tun name ikst0 mtu 1400 address 198.18.2.1/24 address 2001:db8:2::1/64
route 203.0.113.0/26,198.18.1.0/24
listen address 198.51.100.1 natt-port 4500 raw-esp
workers 2
policy 1 local 198.18.2.0/24 remote 203.0.113.0/26 remote 198.18.1.0/24 priority 50
policy 2 local 198.18.2.0/24 remote 0.0.0.0/0[udp/53] action trap
sa out policy 1 spi 0x1001 enc aes128gcm16 key 0x000102030405060708090a0b0c0d0e0f10111213 local 198.51.100.1 remote 198.51.100.2:4500
sa in policy 1 spi 0x2001 enc aes256 key 0x000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f integ sha256 integ-key 0x000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f local 198.51.100.1 remote 198.51.100.2 replay 1024 esn
`

func TestParseConfig(t *testing.T) {
	c, err := parseConfig(strings.NewReader(goodConfig), "good.conf")
	if err != nil {
		t.Fatal(err)
	}
	if c.tunName != "ikst0" || c.mtu != 1400 || len(c.addrs) != 2 || len(c.routes) != 2 {
		t.Fatalf("tun: %+v", c)
	}
	if !c.rawESP || c.nattPort != 4500 || len(c.listen) != 1 || c.workers != 2 {
		t.Fatalf("listen: %+v", c)
	}
	if len(c.policies) != 2 || len(c.policies[0].Remote) != 2 || c.policies[0].Priority != 50 || c.policies[1].Action != esp.ActionTrap {
		t.Fatalf("policies: %+v", c.policies)
	}
	if len(c.sas) != 2 {
		t.Fatalf("sas: %+v", c.sas)
	}
	out, in := c.sas[0], c.sas[1]
	if out.dir != esp.DirOut || out.params.Encr != esp.EncrAESGCM16 || out.params.Remote.Port() != 4500 {
		t.Fatalf("out sa: %+v", out)
	}
	if in.dir != esp.DirIn || in.params.Integ != esp.IntegHMACSHA256_128 || !in.params.ESN || in.params.ReplayWindow != 1024 || in.params.Remote.Port() != 0 {
		t.Fatalf("in sa: %+v", in)
	}
}

// TestParseConfigErrors: every mistake is refused with the line and the
// reason.
func TestParseConfigErrors(t *testing.T) {
	const key16 = "0x000102030405060708090a0b0c0d0e0f10111213"
	for _, tc := range []struct{ conf, want string }{
		{"bogus 1", `:1: unknown directive "bogus"`},
		{"tun mtu 10", `mtu "10"`},
		{"tun address 198.18.2.1", "address"},
		{"route 203.0.113.0", "203.0.113.0"},
		{"listen natt-port 0", "natt-port"},
		{"policy 0 local 10.0.0.0/8 remote 0.0.0.0/0", "policy ID"},
		{"policy 1 local 10.0.0.0/8", "needs local and remote"},
		{"policy 1 local 10.0.0.0/33 remote 0.0.0.0/0", "10.0.0.0/33"},
		{"policy 1 local 10.0.0.0/8 remote 0.0.0.0/0 action allow", `action "allow"`},
		{"policy 1 local 10.0.0.0/8 remote 0.0.0.0/0\npolicy 1 local 10.0.0.0/8 remote 0.0.0.0/0", "defined twice"},
		{"sa sideways", "direction"},
		{"policy 1 local 10.0.0.0/8 remote 0.0.0.0/0\nsa out policy 1 spi 0x1001 enc rot13 key 0x00 local 198.51.100.1 remote 198.51.100.2", `enc "rot13"`},
		{"policy 1 local 10.0.0.0/8 remote 0.0.0.0/0\nsa out policy 1 spi 0x1001 enc aes128gcm16 key 0x0001 local 198.51.100.1 remote 198.51.100.2", "20-octet key"},
		{"policy 1 local 10.0.0.0/8 remote 0.0.0.0/0\nsa out policy 1 spi 0x10 enc aes128gcm16 key " + key16 + " local 198.51.100.1 remote 198.51.100.2", "reserved"},
		{"policy 1 local 10.0.0.0/8 remote 0.0.0.0/0\nsa out policy 1 spi 0x1001 enc aes128 key 0x000102030405060708090a0b0c0d0e0f local 198.51.100.1 remote 198.51.100.2", "integrity"},
		{"sa out policy 7 spi 0x1001 enc aes128gcm16 key " + key16 + " local 198.51.100.1 remote 198.51.100.2", "policy 7, which is not defined"},
		{"policy 1 local 10.0.0.0/8 remote 0.0.0.0/0\nsa out policy 1 spi 0x1001 enc aes128gcm16 key " + key16 + " local 198.51.100.1", "needs local and remote"},
		{"policy 1 local 10.0.0.0/8 remote 0.0.0.0/0\nsa out policy 1 spi 0x1001 enc aes128gcm16 key " + key16 + " local 198.51.100.1 remote 198.51.100.2 remote", `"remote" needs a value`},
	} {
		_, err := parseConfig(strings.NewReader(tc.conf), "t.conf")
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "t.conf") {
			t.Errorf("%q:\n got %v\nwant an error naming the file and containing %q", tc.conf, err, tc.want)
		}
	}
}
