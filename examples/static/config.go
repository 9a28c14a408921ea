package main

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/ikego/ikego/esp"
)

// config is a static gateway: a TUN device, the sockets, policies and
// manually keyed SAs, the way `ip xfrm policy` and `ip xfrm state` set up
// kernel IPsec by hand.
//
//	# comments and blank lines are ignored
//	tun name ikego0 mtu 1400 address 198.18.2.1/24 address 2001:db8:2::1/64
//	route 203.0.113.0/26
//	listen natt-port 4500 ike-port 500 raw-esp address 198.51.100.1 [no-offload]
//	policy 1 local 198.18.2.0/24 remote 203.0.113.0/26 priority 100 action protect
//	sa out policy 1 spi 0x1001 enc aes128gcm16 key 0x... local 198.51.100.1 remote 198.51.100.2:4500
//	sa in policy 1 spi 0x2001 enc aes256 key 0x... integ sha256 integ-key 0x... local 198.51.100.1 remote 198.51.100.2:4500 replay 1024 esn
//
// A remote address without a port means raw ESP (IP protocol 50); with a
// port, UDP encapsulation (RFC 3948). Selectors use strongSwan's syntax and
// may be repeated or comma-separated.
type config struct {
	tunName   string
	mtu       int
	addrs     []netip.Prefix
	routes    []netip.Prefix
	listen    []netip.Addr
	ikePort   uint16
	nattPort  uint16
	rawESP    bool
	noOffload bool
	workers   int
	policies  []esp.Policy
	sas       []staticSA
}

type staticSA struct {
	dir    esp.Direction
	policy uint32
	params esp.SAParams
	life   esp.Lifetime
}

// encNames maps strongSwan's ESP algorithm keywords to transforms and key
// sizes in bits.
var encNames = map[string]struct {
	id   esp.EncrID
	bits int
}{
	"aes128gcm16": {esp.EncrAESGCM16, 128}, "aes192gcm16": {esp.EncrAESGCM16, 192}, "aes256gcm16": {esp.EncrAESGCM16, 256},
	"aes128gcm12": {esp.EncrAESGCM12, 128}, "aes192gcm12": {esp.EncrAESGCM12, 192}, "aes256gcm12": {esp.EncrAESGCM12, 256},
	"aes128gcm8": {esp.EncrAESGCM8, 128}, "aes192gcm8": {esp.EncrAESGCM8, 192}, "aes256gcm8": {esp.EncrAESGCM8, 256},
	"chacha20poly1305": {esp.EncrChaCha20Poly1305, 256},
	"aes128":           {esp.EncrAESCBC, 128}, "aes192": {esp.EncrAESCBC, 192}, "aes256": {esp.EncrAESCBC, 256},
	"3des": {esp.EncrDES3, 192}, "null": {esp.EncrNull, 0},
}

var integNames = map[string]esp.IntegID{
	"sha1": esp.IntegHMACSHA1_96, "sha256": esp.IntegHMACSHA256_128,
	"sha384": esp.IntegHMACSHA384_192, "sha512": esp.IntegHMACSHA512_256,
}

// parseConfig reads a static configuration. Errors name the line.
func parseConfig(r io.Reader, name string) (*config, error) {
	c := &config{tunName: "ikego%d", mtu: 1400}
	sc := bufio.NewScanner(r)
	ln := 0
	for sc.Scan() {
		ln++
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		var err error
		switch f[0] {
		case "tun":
			err = c.parseTUN(f[1:])
		case "route":
			err = each(f[1:], func(s string) error {
				p, err := netip.ParsePrefix(s)
				c.routes = append(c.routes, p.Masked())
				return err
			})
		case "listen":
			err = c.parseListen(f[1:])
		case "workers":
			if len(f) != 2 {
				err = fmt.Errorf("workers takes one number")
			} else {
				c.workers, err = strconv.Atoi(f[1])
			}
		case "policy":
			err = c.parsePolicy(f[1:])
		case "sa":
			err = c.parseSA(f[1:])
		default:
			err = fmt.Errorf("unknown directive %q", f[0])
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, ln, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

// each runs fn on each comma-separated item of the words.
func each(words []string, fn func(string) error) error {
	if len(words) == 0 {
		return fmt.Errorf("missing value")
	}
	for _, w := range words {
		for _, item := range strings.Split(w, ",") {
			if item == "" {
				continue
			}
			if err := fn(item); err != nil {
				return err
			}
		}
	}
	return nil
}

// pairs turns "k v k v" words into a list, keeping repeated keys.
func pairs(words []string, flags ...string) ([][2]string, error) {
	var out [][2]string
	for i := 0; i < len(words); i++ {
		k := words[i]
		isFlag := false
		for _, fl := range flags {
			isFlag = isFlag || fl == k
		}
		if isFlag {
			out = append(out, [2]string{k, ""})
			continue
		}
		if i+1 >= len(words) {
			return nil, fmt.Errorf("%q needs a value", k)
		}
		out = append(out, [2]string{k, words[i+1]})
		i++
	}
	return out, nil
}

func (c *config) parseTUN(w []string) error {
	kv, err := pairs(w)
	if err != nil {
		return err
	}
	for _, p := range kv {
		switch p[0] {
		case "name":
			c.tunName = p[1]
		case "mtu":
			if c.mtu, err = strconv.Atoi(p[1]); err != nil || c.mtu < 576 || c.mtu > 65535 {
				return fmt.Errorf("mtu %q: want 576 to 65535", p[1])
			}
		case "address":
			a, err := netip.ParsePrefix(p[1])
			if err != nil {
				return fmt.Errorf("address: %w", err)
			}
			c.addrs = append(c.addrs, a)
		default:
			return fmt.Errorf("tun: unknown option %q", p[0])
		}
	}
	return nil
}

func (c *config) parseListen(w []string) error {
	kv, err := pairs(w, "raw-esp", "no-offload")
	if err != nil {
		return err
	}
	for _, p := range kv {
		switch p[0] {
		case "address":
			a, err := netip.ParseAddr(p[1])
			if err != nil {
				return fmt.Errorf("address: %w", err)
			}
			c.listen = append(c.listen, a)
		case "ike-port", "natt-port":
			n, err := strconv.ParseUint(p[1], 10, 16)
			if err != nil || n == 0 {
				return fmt.Errorf("%s %q: want 1 to 65535", p[0], p[1])
			}
			if p[0] == "ike-port" {
				c.ikePort = uint16(n)
			} else {
				c.nattPort = uint16(n)
			}
		case "raw-esp":
			c.rawESP = true
		case "no-offload":
			c.noOffload = true
		default:
			return fmt.Errorf("listen: unknown option %q", p[0])
		}
	}
	return nil
}

func (c *config) parsePolicy(w []string) error {
	if len(w) < 1 {
		return fmt.Errorf("policy needs an ID")
	}
	id, err := strconv.ParseUint(w[0], 0, 32)
	if err != nil || id == 0 {
		return fmt.Errorf("policy ID %q: want a number from 1", w[0])
	}
	p := esp.Policy{ID: uint32(id), Priority: 100, Action: esp.ActionProtect}
	kv, err := pairs(w[1:])
	if err != nil {
		return err
	}
	sel := func(s string, into *[]esp.Selector) error {
		return each([]string{s}, func(item string) error {
			x, err := esp.ParseSelector(item)
			*into = append(*into, x)
			return err
		})
	}
	for _, kvp := range kv {
		switch kvp[0] {
		case "local":
			err = sel(kvp[1], &p.Local)
		case "remote":
			err = sel(kvp[1], &p.Remote)
		case "priority":
			var n uint64
			n, err = strconv.ParseUint(kvp[1], 10, 32)
			p.Priority = uint32(n)
		case "action":
			switch kvp[1] {
			case "protect":
				p.Action = esp.ActionProtect
			case "trap":
				p.Action = esp.ActionTrap
			case "drop":
				p.Action = esp.ActionDrop
			case "bypass":
				p.Action = esp.ActionBypass
			default:
				err = fmt.Errorf("action %q: want protect, trap, drop or bypass", kvp[1])
			}
		default:
			err = fmt.Errorf("policy: unknown option %q", kvp[0])
		}
		if err != nil {
			return err
		}
	}
	if len(p.Local) == 0 || len(p.Remote) == 0 {
		return fmt.Errorf("policy %d needs local and remote selectors", p.ID)
	}
	c.policies = append(c.policies, p)
	return nil
}

func parseHexKey(s string) ([]byte, error) {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	return hex.DecodeString(s)
}

func parseEndpoint(s string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%q is neither an address nor address:port", s)
	}
	return netip.AddrPortFrom(a, 0), nil
}

func (c *config) parseSA(w []string) error {
	if len(w) < 1 || (w[0] != "in" && w[0] != "out") {
		return fmt.Errorf("sa needs a direction, in or out")
	}
	s := staticSA{dir: esp.DirOut}
	if w[0] == "in" {
		s.dir = esp.DirIn
	}
	kv, err := pairs(w[1:], "esn")
	if err != nil {
		return err
	}
	var encName string
	var encKey []byte
	for _, p := range kv {
		switch p[0] {
		case "policy":
			var n uint64
			n, err = strconv.ParseUint(p[1], 0, 32)
			s.policy = uint32(n)
		case "spi":
			var n uint64
			n, err = strconv.ParseUint(p[1], 0, 32)
			s.params.SPI = uint32(n)
		case "mode":
			switch p[1] {
			case "tunnel":
				s.params.Mode = esp.ModeTunnel
			case "transport":
				s.params.Mode = esp.ModeTransport
			default:
				err = fmt.Errorf("mode %q: want tunnel or transport", p[1])
			}
		case "enc":
			encName = p[1]
		case "key":
			encKey, err = parseHexKey(p[1])
		case "integ":
			id, ok := integNames[p[1]]
			if !ok {
				err = fmt.Errorf("integ %q: want sha1, sha256, sha384 or sha512", p[1])
			}
			s.params.Integ = id
		case "integ-key":
			s.params.IntegKey, err = parseHexKey(p[1])
		case "local":
			s.params.Local, err = parseEndpoint(p[1])
		case "remote":
			s.params.Remote, err = parseEndpoint(p[1])
		case "replay":
			s.params.ReplayWindow, err = strconv.Atoi(p[1])
		case "esn":
			s.params.ESN = true
		case "tfc":
			s.params.TFCPadding, err = strconv.Atoi(p[1])
		case "life-bytes":
			s.life.HardBytes, err = strconv.ParseUint(p[1], 10, 64)
		case "life-packets":
			s.life.HardPackets, err = strconv.ParseUint(p[1], 10, 64)
		default:
			err = fmt.Errorf("sa: unknown option %q", p[0])
		}
		if err != nil {
			return fmt.Errorf("sa %s: %w", p[0], err)
		}
	}
	enc, ok := encNames[encName]
	if !ok {
		return fmt.Errorf("sa: enc %q is not an ESP algorithm name (e.g. aes128gcm16, aes256, chacha20poly1305)", encName)
	}
	want, _ := enc.id.KeyLen(enc.bits)
	if len(encKey) != want {
		return fmt.Errorf("sa: %s takes a %d-octet key (salt included), got %d", encName, want, len(encKey))
	}
	s.params.Encr, s.params.EncrKey = enc.id, encKey
	if s.policy == 0 {
		return fmt.Errorf("sa: needs a policy")
	}
	if !s.params.Local.Addr().IsValid() || !s.params.Remote.Addr().IsValid() {
		return fmt.Errorf("sa: needs local and remote addresses")
	}
	// NewSA checks the rest (SPI range, integrity, key lengths) with its own
	// errors; check it now so that a bad file changes nothing.
	if _, err := esp.NewSA(s.params); err != nil {
		return fmt.Errorf("sa: %w", err)
	}
	c.sas = append(c.sas, s)
	return nil
}

// check validates what the lines cannot alone.
func (c *config) check() error {
	ids := map[uint32]bool{}
	for _, p := range c.policies {
		if ids[p.ID] {
			return fmt.Errorf("policy %d defined twice", p.ID)
		}
		ids[p.ID] = true
	}
	spis := map[[2]uint32]bool{}
	for _, s := range c.sas {
		if !ids[s.policy] {
			return fmt.Errorf("sa %#x refers to policy %d, which is not defined", s.params.SPI, s.policy)
		}
		k := [2]uint32{uint32(s.dir), s.params.SPI}
		if spis[k] {
			return fmt.Errorf("%s sa %#x defined twice", s.dir, s.params.SPI)
		}
		spis[k] = true
	}
	return nil
}
