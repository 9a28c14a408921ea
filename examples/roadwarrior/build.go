package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ikego/ikego"
	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike"
	"github.com/ikego/ikego/ike/wire"
	"github.com/ikego/ikego/pki"
	"github.com/ikego/ikego/tun"
)

// Runtime is a checked configuration, ready to run: what Build makes of a
// Config.
type Runtime struct {
	// IKE has the enabled connections and the pools, with fixed virtual
	// IPs reserved. Dataplane, Sender, Logger and OnEvent are left to the
	// caller (the Gateway fills in the first two).
	IKE *ike.Config
	// TUN is the device: routes to the pools of host-to-net connections
	// and to the remote_ts of net-to-net connections.
	TUN tun.Config
	// Listen are the addresses to listen on; nil means all.
	Listen []netip.Addr
	// L2TP serves the L2TP/IPsec clients of the connections of type l2tp;
	// nil without one. Its pool is routed into TUN and its LocalAddr is
	// one of TUN's addresses.
	L2TP *ikego.L2TPConfig
	// L2TPPool names the pool of L2TP, among IKE.Pools (where IKE
	// leases none of it); "" without L2TP.
	L2TPPool string
	// Start names the connections to initiate at start-up, in file order.
	Start []string
	// Log is the checked log configuration.
	Log LogSettings
	// Warnings are what is allowed but probably not meant, or configured
	// but not acted on yet.
	Warnings []string
}

// LogSettings is Config.Log, checked.
type LogSettings struct {
	JSON  bool
	Level slog.Level
	// Debug has the subsystems logged at debug level whatever Level says.
	Debug map[string]bool
}

// Subsystems of the log (log.debug).
var subsystems = []string{"ike", "esp", "cfg", "net", "l2tp"}

// Build checks cfg and turns it into a Runtime. It reads the certificate
// files cfg names and changes nothing outside. Every error is a
// *FieldError naming the field; all of them are joined, with those of
// Parse if it could decode cfg only in part. Rules beyond the
// fields' own syntax:
//
//   - a psk must be at least 8 bytes: IKEv2 PSK authentication lets anyone
//     who sees one AUTH payload (an attacker posing as the server collects
//     the client's) guess the key offline at the speed of HMAC, so short
//     keys fall at once; below 16 bytes Build warns;
//   - a host-to-net connection has no remote_ts (clients get their virtual
//     IP as remote TS) and a net-to-net connection no pools or vip;
//   - a vip must be in a pool of the connection, and remote.id must name
//     one client (no wildcards): the reservation is keyed by that identity;
//   - pools have unique names and do not overlap; pool and certificate
//     names must exist;
//   - start_action start needs a remote address to initiate to and a local
//     address to initiate from;
//   - IKEv1 (version 1 or both) takes one local_ts and one remote_ts (a
//     Quick Mode negotiates one pair), RSA or ECDSA keys for certificates
//     (RSA with XAuth and hybrid), and
//     the same method (psk or pubkey) on both ends, or xauth (hybrid) for
//     type xauth; xauth and l2tp connections wait for their clients;
//   - an l2tp connection is IKEv1 (transport mode unless mode says
//     tunnel, which some clients negotiate between the hosts) without local_ts,
//     remote_ts or vip, with one pool that is an IPv4 prefix from /16 to
//     /30 and serves no connection of another type; all l2tp connections
//     share that pool (one L2TP service) and need l2tp_users.
func Build(cfg *Config) (*Runtime, error) {
	b := &builder{cfg: cfg, rt: &Runtime{IKE: &ike.Config{}}, pools: map[string]*poolInfo{},
		errs: slices.Clone(cfg.parseErrs)}
	b.global()
	for _, c := range cfg.Connections {
		b.connection(c)
	}
	b.finish()
	if len(b.errs) > 0 {
		return nil, errors.Join(b.errs...)
	}
	return b.rt, nil
}

type builder struct {
	cfg     *Config
	rt      *Runtime
	errs    []error
	pools   map[string]*poolInfo
	ipv6    bool // IPv6 is used inside the tunnel
	enabled int
	// l2tpPool is the pool of the l2tp connections, which share it.
	l2tpPool string
}

type poolInfo struct {
	index  int // in Config.Pools
	pool   *ike.Pool
	prefix netip.Prefix // the pool's prefix, invalid for a range
	routes []netip.Prefix
	dns    []netip.Addr
	used   bool
	// l2tp and ike are the names of the first connection of type l2tp
	// and of another type naming the pool: a pool serves one or the other.
	l2tp, ike string
}

func (b *builder) fail(path, format string, args ...any) {
	if b.cfg.hasFailed(path) {
		return // Parse has said what is wrong there
	}
	b.errs = append(b.errs, &FieldError{Path: path, Line: b.cfg.line(path), Msg: fmt.Sprintf(format, args...)})
}

func (b *builder) warn(path, format string, args ...any) {
	b.rt.Warnings = append(b.rt.Warnings, path+": "+fmt.Sprintf(format, args...))
}

func (b *builder) dir(name string) string {
	if name == "" || filepath.IsAbs(name) || b.cfg.Dir == "" {
		return name
	}
	return filepath.Join(b.cfg.Dir, name)
}

func (b *builder) global() {
	cfg := b.cfg
	seen := map[string]bool{}
	for _, list := range []struct {
		name  string
		users []EAPUser
	}{{"eap_users", cfg.EAPUsers}, {"xauth_users", cfg.XAuthUsers}, {"l2tp_users", cfg.L2TPUsers}} {
		clear(seen)
		for i, u := range list.users {
			f := fmt.Sprintf("%s[%d]", list.name, i)
			switch {
			case u.ID == "":
				b.fail(f+".id", "empty")
			case seen[u.ID]:
				b.fail(f+".id", "%q: given twice", u.ID)
			}
			seen[u.ID] = true
			if u.Secret == "" {
				b.fail(f+".secret", "empty") // the secret itself is never quoted
			}
		}
	}
	b.rt.IKE.IKEv1Timeout = time.Duration(cfg.IKEv1Timeout)
	for i, s := range cfg.Listen {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			b.fail(fmt.Sprintf("listen[%d]", i), "%q: not an IP address", s)
			continue
		}
		if a.IsUnspecified() {
			b.fail(fmt.Sprintf("listen[%d]", i), "%q: leave listen empty to listen on all addresses", s)
			continue
		}
		b.rt.Listen = append(b.rt.Listen, a.Unmap())
	}
	if n := cfg.TUN.Name; len(n) > 15 || strings.ContainsAny(n, "/ \t:") {
		b.fail("tun.name", "%q: an interface name has at most 15 bytes and no '/', ':' or spaces", n)
	}
	b.rt.TUN.Name = cfg.TUN.Name
	b.rt.TUN.MTU = cfg.TUN.MTU
	if b.rt.TUN.MTU == 0 {
		b.rt.TUN.MTU = tun.DefaultMTU
	} else if cfg.TUN.MTU < 576 || cfg.TUN.MTU > 65535 {
		b.fail("tun.mtu", "%d: want 576 to 65535", cfg.TUN.MTU)
	}

	type span struct {
		first, last netip.Addr
		path, name  string
	}
	var spans []span
	for i, pc := range cfg.Pools {
		path := fmt.Sprintf("pools[%d]", i)
		ok := true
		switch {
		case pc.Name == "":
			b.fail(path+".name", "required")
			ok = false
		case b.pools[pc.Name] != nil:
			b.fail(path+".name", "%q: a pool of this name is defined before", pc.Name)
			ok = false
		}
		var pool *ike.Pool
		var routes []netip.Prefix
		var prefix netip.Prefix
		var err error
		if pc.Addrs == "" {
			b.fail(path+".addrs", "required: a prefix or a first-last range")
			continue
		}
		if first, last, isRange := strings.Cut(pc.Addrs, "-"); isRange {
			f, err1 := netip.ParseAddr(strings.TrimSpace(first))
			l, err2 := netip.ParseAddr(strings.TrimSpace(last))
			if err1 != nil || err2 != nil {
				b.fail(path+".addrs", "%q: not a prefix or a range of two addresses", pc.Addrs)
				continue
			}
			pool, err = ike.NewPoolRange(pc.Name, f, l)
			routes = esp.Selector{Start: f, End: l}.Prefixes()
		} else {
			p, perr := netip.ParsePrefix(pc.Addrs)
			if perr != nil {
				b.fail(path+".addrs", "%q: not a prefix or a range of two addresses", pc.Addrs)
				continue
			}
			pool, err = ike.NewPool(pc.Name, p)
			routes = []netip.Prefix{p.Masked()}
			prefix = p.Masked()
		}
		if err != nil {
			b.fail(path+".addrs", "%q: %s", pc.Addrs, strings.TrimPrefix(err.Error(), "ike: "))
			continue
		}
		first, last := pool.Range()
		for _, o := range spans {
			if first.BitLen() == o.first.BitLen() && first.Compare(o.last) <= 0 && o.first.Compare(last) <= 0 {
				b.fail(path+".addrs", "%q overlaps pool %q (%s)", pc.Addrs, o.name, o.path)
			}
		}
		spans = append(spans, span{first, last, path, pc.Name})
		info := &poolInfo{index: i, pool: pool, prefix: prefix, routes: routes}
		for j, s := range pc.DNS {
			a, err := netip.ParseAddr(s)
			if err != nil || a.Zone() != "" {
				b.fail(fmt.Sprintf("%s.dns[%d]", path, j), "%q: not an IP address", s)
				continue
			}
			info.dns = append(info.dns, a)
		}
		if ok {
			b.pools[pc.Name] = info
			b.rt.IKE.Pools = append(b.rt.IKE.Pools, pool)
		}
	}
	if cfg.PKI.Dir != "" {
		if st, err := os.Stat(b.dir(cfg.PKI.Dir)); err != nil {
			b.fail("pki.dir", "%v", err)
		} else if !st.IsDir() {
			b.fail("pki.dir", "%s: not a directory", b.dir(cfg.PKI.Dir))
		}
	}

	switch cfg.Log.Format {
	case "", "text":
	case "json":
		b.rt.Log.JSON = true
	default:
		b.fail("log.format", "%q: want text or json", cfg.Log.Format)
	}
	switch cfg.Log.Level {
	case "", "info":
		b.rt.Log.Level = slog.LevelInfo
	case "debug":
		b.rt.Log.Level = slog.LevelDebug
	case "warn", "warning":
		b.rt.Log.Level = slog.LevelWarn
	case "error":
		b.rt.Log.Level = slog.LevelError
	default:
		b.fail("log.level", "%q: want debug, info, warn or error", cfg.Log.Level)
	}
	b.rt.Log.Debug = map[string]bool{}
	for i, s := range cfg.Log.Debug {
		if !slices.Contains(subsystems, s) {
			b.fail(fmt.Sprintf("log.debug[%d]", i), "%q: want one of %s", s, strings.Join(subsystems, ", "))
		}
		b.rt.Log.Debug[s] = true
	}
}

var connName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// connection checks c and adds its PeerConfig.
func (b *builder) connection(c *Connection) {
	path := "connections." + c.Name
	f := func(field string) string { return path + "." + field }
	nerr := len(b.errs)
	if !connName.MatchString(c.Name) || len(c.Name) > 64 {
		b.fail(path, "%q: a connection name has 1 to 64 letters, digits, '.', '_' and '-'", c.Name)
	}
	enabled := c.Enabled == nil || *c.Enabled

	netToNet, xauth, isL2TP := false, false, false
	switch c.Type {
	case "", "host-to-net":
	case "net-to-net":
		netToNet = true
	case "xauth":
		xauth = true
	case "l2tp":
		isL2TP = true
	default:
		b.fail(f("type"), "%q: want host-to-net, net-to-net, xauth or l2tp", c.Type)
	}
	version := ike.VersionIKEv2
	switch c.Version {
	case "":
		if xauth || isL2TP {
			version = ike.VersionIKEv1
		}
	case "2":
		if xauth {
			b.fail(f("version"), "2: type xauth is IKEv1 (version 1 or both)")
		}
		if isL2TP {
			b.fail(f("version"), "2: L2TP/IPsec clients speak IKEv1 (version 1)")
		}
	case "1":
		version = ike.VersionIKEv1
	case "both":
		version = ike.VersionAny
		if isL2TP {
			b.fail(f("version"), "both: L2TP/IPsec clients speak IKEv1 (version 1)")
		}
	default:
		b.fail(f("version"), "%q: want 1, 2 or both", c.Version)
	}
	ikev1 := version != ike.VersionIKEv2

	p := &ike.PeerConfig{Name: c.Name, Version: version, Strict: c.Strict, ForceEncap: c.Encap,
		NoFragmentation: c.Fragmentation != nil && !*c.Fragmentation}
	child := &ike.ChildConfig{Name: c.Name, Strict: c.Strict, IPComp: c.Compression}
	switch {
	case c.Compression && version == ike.VersionIKEv1:
		b.fail(f("compression"), "IPComp is negotiated over IKEv2 only (version 2 or both)")
	case c.Compression && version == ike.VersionAny:
		b.warn(f("compression"), "IPComp is negotiated with IKEv2 clients only; IKEv1 clients get none")
	}
	p.Children = []*ike.ChildConfig{child}

	p.LocalAddrs = b.addrs(f("local_addrs"), c.LocalAddrs)
	p.RemoteAddrs = b.addrs(f("remote_addrs"), c.RemoteAddrs)
	b.auth(c, p)
	if ikev1 {
		b.ikev1(c, p, xauth)
	} else {
		if p.Remote.Method == ike.AuthXAuth {
			b.fail(f("remote.auth"), "xauth is IKEv1: type xauth")
		}
		if c.Aggressive {
			b.fail(f("aggressive"), "Aggressive Mode is IKEv1 (version 1 or both)")
		}
		if c.Pull != nil {
			b.fail(f("pull"), "Mode Config is IKEv1 (version 1 or both); IKEv2 clients always ask")
		}
	}

	// Traffic selectors.
	switch {
	case isL2TP && len(c.LocalTS) > 0:
		b.fail(f("local_ts"), "not for l2tp: the SA carries L2TP (UDP port 1701) between the client and our own address")
	case isL2TP:
	case len(c.LocalTS) == 0:
		b.fail(f("local_ts"), "required: the subnets behind us (0.0.0.0/0, ::/0 for all traffic)")
	}
	child.LocalTS = b.selectors(f("local_ts"), c.LocalTS)
	if ikev1 && len(c.LocalTS) > 1 {
		b.fail(f("local_ts"), "IKEv1 negotiates one subnet pair per CHILD_SA (Quick Mode); %d are given", len(c.LocalTS))
	}
	switch {
	case netToNet && len(c.RemoteTS) == 0:
		b.fail(f("remote_ts"), "required for net-to-net: the subnets behind the peer")
	case netToNet:
		child.RemoteTS = b.selectors(f("remote_ts"), c.RemoteTS)
	case len(c.RemoteTS) > 0:
		b.fail(f("remote_ts"), "only for net-to-net: a host-to-net client's traffic selector is its virtual IP")
	}
	if isL2TP {
		b.l2tpConn(c, p, child, enabled)
	}

	// Virtual IPs.
	var pools []*poolInfo
	if netToNet && len(c.Pools) > 0 {
		b.fail(f("pools"), "only for host-to-net")
	}
	for i, name := range c.Pools {
		pi := b.pools[name]
		switch {
		case pi == nil:
			b.fail(fmt.Sprintf("%s[%d]", f("pools"), i), "%q: no pool of this name in pools", name)
			continue
		case slices.Contains(p.Pools, name):
			b.fail(fmt.Sprintf("%s[%d]", f("pools"), i), "%q: named twice", name)
			continue
		}
		if isL2TP {
			continue // b.l2tpConn checks it: PPP, not IKE, gives its addresses
		}
		if pi.ike == "" {
			pi.ike = c.Name
		}
		if pi.l2tp != "" {
			b.fail(fmt.Sprintf("%s[%d]", f("pools"), i), "%q: the pool of l2tp connection %q; a pool serves L2TP or IKE clients, not both", name, pi.l2tp)
			continue
		}
		pools = append(pools, pi)
		p.Pools = append(p.Pools, name)
		for _, a := range pi.dns {
			if !slices.Contains(p.DNS, a) {
				p.DNS = append(p.DNS, a)
			}
		}
		if enabled {
			pi.used = true
		}
	}
	if !netToNet && len(c.Pools) == 0 && c.Type != "l2tp" && c.Type != "xauth" {
		b.warn(f("pools"), "a host-to-net connection without pools gives clients no virtual IP; traffic to their own addresses is not routed into the tunnel")
	}
	switch {
	case xauth && len(c.VIP) > 0:
		// Leases of xauth connections are keyed by the XAuth user, not
		// by remote.id: a reservation would never be used.
		b.fail(f("vip"), "not for xauth: the virtual IP is leased to the XAuth user, whom remote.id does not name")
	case !isL2TP:
		b.vips(c, pools, enabled)
	}

	p.DPDDelay = time.Duration(b.cfg.DPDDelay)
	switch c.DPDAction {
	case "", "clear":
	case "hold":
		p.DPDAction = ike.DPDHold
	case "restart":
		p.DPDAction = ike.DPDRestart
	default:
		b.fail(f("dpd_action"), "%q: want clear, hold or restart", c.DPDAction)
	}
	if len(c.Proposals) > 0 {
		ps, err := ike.ParseProposals(strings.Join(c.Proposals, ","), wire.ProtocolIKE)
		if err != nil {
			b.fail(f("proposals"), "%s", strings.TrimPrefix(err.Error(), "ike: "))
		}
		p.IKEProposals = ps
	}
	if len(c.ESPProposals) > 0 {
		ps, err := ike.ParseProposals(strings.Join(c.ESPProposals, ","), wire.ProtocolESP)
		if err != nil {
			b.fail(f("esp_proposals"), "%s", strings.TrimPrefix(err.Error(), "ike: "))
		}
		child.ESPProposals = ps
	}
	b.lifetime(c, child)
	switch c.Mode {
	case "":
		child.Mode = esp.ModeTunnel
		if isL2TP {
			child.Mode = esp.ModeTransport
		}
	case "tunnel":
		child.Mode = esp.ModeTunnel // for l2tp: between the hosts, as some clients negotiate
	case "transport":
		child.Mode = esp.ModeTransport
	default:
		b.fail(f("mode"), "%q: want tunnel or transport", c.Mode)
	}
	start := false
	switch c.StartAction {
	case "", "none", "add":
	case "start":
		start = true
		b.initiation(c, p, "start_action start")
	case "trap", "route":
		p.StartAction = ike.StartTrap
		b.initiation(c, p, "start_action trap")
	default:
		b.fail(f("start_action"), "%q: want none (or add), start, or trap (or route)", c.StartAction)
	}
	if p.DPDAction != ike.DPDClear && !p.RemoteHost.IsValid() {
		b.initiation(c, p, "dpd_action "+c.DPDAction)
	}

	if !enabled || len(b.errs) > nerr {
		return
	}
	b.enabled++
	for _, s := range append(slices.Clone(child.LocalTS), child.RemoteTS...) {
		b.ipv6 = b.ipv6 || s.Is6()
	}
	for _, pi := range pools {
		first, _ := pi.pool.Range()
		b.ipv6 = b.ipv6 || first.Is6()
	}
	for _, s := range child.RemoteTS {
		b.route(s.Prefixes()...)
	}
	b.rt.IKE.Peers = append(b.rt.IKE.Peers, p)
	if start {
		b.rt.Start = append(b.rt.Start, c.Name)
	}
}

// The proposals of an l2tp connection without proposals or esp_proposals,
// before the defaults (unless strict): the clients built into Windows
// (7 to 11, unless told otherwise in the registry), iOS and Android offer
// MODP-1024 with SHA-1 in Main Mode and AES-CBC with SHA-1 for ESP, which
// our defaults leave out.
const (
	l2tpIKEProposals = "aes256-sha256-modp2048, aes256-sha1-modp2048, aes128-sha1-modp2048, " +
		"aes256-sha256-modp1024, aes256-sha1-modp1024, aes128-sha1-modp1024"
	l2tpESPProposals = "aes256-sha256, aes256-sha1, aes128-sha1"
)

// l2tpConn checks what a connection of type l2tp needs and sets up the
// L2TP/IPsec service: one IPv4 pool given as a prefix (every l2tp
// connection shares the service, so they name the same pool), l2tp_users,
// clients that come to us.
func (b *builder) l2tpConn(c *Connection, p *ike.PeerConfig, child *ike.ChildConfig, enabled bool) {
	path := "connections." + c.Name
	if len(c.VIP) > 0 {
		b.fail(path+".vip", "not for l2tp: PPP gives each call an address of the pool")
	}
	switch c.StartAction {
	case "", "none", "add":
	default:
		b.fail(path+".start_action", "%s: l2tp connections wait for their clients (none)", c.StartAction)
	}
	if c.Aggressive {
		b.fail(path+".aggressive", "not for l2tp: L2TP/IPsec clients use Main Mode")
	}
	if c.Pull != nil {
		b.fail(path+".pull", "not for l2tp: PPP, not Mode Config, gives the address")
	}
	if len(c.Proposals) == 0 {
		p.IKEProposals = ike.MustParseProposals(l2tpIKEProposals, wire.ProtocolIKE)
	}
	if len(c.ESPProposals) == 0 {
		child.ESPProposals = ike.MustParseProposals(l2tpESPProposals, wire.ProtocolESP)
	}
	if len(b.cfg.L2TPUsers) == 0 {
		b.fail(path+".type", "l2tp needs l2tp_users")
	}
	if len(c.Pools) != 1 {
		b.fail(path+".pools", "l2tp takes one pool (an IPv4 prefix): the addresses PPP gives; %d are given", len(c.Pools))
		return
	}
	pi := b.pools[c.Pools[0]]
	field := path + ".pools[0]"
	switch {
	case pi == nil:
		return // connection() said so
	case !pi.prefix.IsValid() || !pi.prefix.Addr().Is4() || pi.prefix.Bits() < 16 || pi.prefix.Bits() > 30:
		b.fail(field, "%q: an l2tp pool is an IPv4 prefix from /16 to /30, not %s", c.Pools[0], b.cfg.Pools[pi.index].Addrs)
		return
	case pi.ike != "":
		b.fail(field, "%q: the pool of connection %q; a pool serves L2TP or IKE clients, not both", c.Pools[0], pi.ike)
		return
	case b.l2tpPool != "" && b.l2tpPool != c.Pools[0]:
		b.fail(field, "%q: l2tp connections share one pool, and an earlier one names %q", c.Pools[0], b.l2tpPool)
		return
	}
	b.l2tpPool = c.Pools[0]
	if pi.l2tp == "" {
		pi.l2tp = c.Name
	}
	var dns []netip.Addr
	for _, a := range pi.dns {
		if a.Is4() && len(dns) < 2 {
			dns = append(dns, a)
		}
	}
	if len(dns) < len(pi.dns) {
		b.warn(fmt.Sprintf("pools[%d].dns", pi.index), "PPP gives L2TP clients up to two IPv4 DNS servers: %v", dns)
	}
	if !enabled || b.rt.L2TP != nil {
		return
	}
	pi.used = true
	users := map[string]string{}
	for _, u := range b.cfg.L2TPUsers {
		users[u.ID] = u.Secret
	}
	local := pi.prefix.Addr().Next()
	b.rt.L2TPPool = c.Pools[0]
	b.rt.L2TP = &ikego.L2TPConfig{
		Pool: pi.prefix, LocalAddr: local, DNS: dns,
		Password: func(user string) (string, bool) {
			pw, ok := users[user]
			return pw, ok
		},
	}
	b.rt.TUN.Addrs = append(b.rt.TUN.Addrs, netip.PrefixFrom(local, 32))
}

// addrs parses local_addrs or remote_addrs: addresses, prefixes, ranges.
func (b *builder) addrs(path string, l List) []netip.Prefix {
	var out []netip.Prefix
	for i, s := range l {
		if s == "%any" {
			continue
		}
		if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		if first, last, ok := strings.Cut(s, "-"); ok {
			f, err1 := netip.ParseAddr(strings.TrimSpace(first))
			l, err2 := netip.ParseAddr(strings.TrimSpace(last))
			if err1 == nil && err2 == nil && f.BitLen() == l.BitLen() && f.Compare(l) <= 0 {
				out = append(out, esp.Selector{Start: f, End: l}.Prefixes()...)
				continue
			}
		}
		b.fail(fmt.Sprintf("%s[%d]", path, i), "%q: not an address, prefix or range (host names are not resolved)", s)
	}
	return out
}

// selectors parses local_ts or remote_ts.
func (b *builder) selectors(path string, l List) []esp.Selector {
	var out []esp.Selector
	for i, s := range l {
		if s == "dynamic" {
			if len(l) > 1 {
				b.fail(fmt.Sprintf("%s[%d]", path, i), "dynamic stands alone")
			}
			return nil
		}
		sel, err := esp.ParseSelector(s)
		if err != nil {
			why := err.Error()
			if se, ok := errors.AsType[*esp.SelectorError](err); ok {
				why = se.Reason
			}
			b.fail(fmt.Sprintf("%s[%d]", path, i), "%q: not a prefix, range or address: %s", s, why)
			continue
		}
		out = append(out, sel)
	}
	return out
}

// ikev1 checks what an IKEv1 connection needs: a PSK on both ends (the
// IKEv1 responder authenticates with a PSK only), no initiation, and for
// type xauth the XAuth accounts.
func (b *builder) ikev1(c *Connection, p *ike.PeerConfig, xauth bool) {
	path := "connections." + c.Name
	switch {
	case p.Local.Method == ike.AuthPSK && p.Remote.Method != ike.AuthPSK:
		b.fail(path+".remote.auth", "%s: with local.auth psk, IKEv1 (version %s) takes remote.auth psk", p.Remote.Method, p.Version)
	case p.Local.Method == ike.AuthPubKey && p.Remote.Method != ike.AuthPubKey && p.Remote.Method != ike.AuthXAuth:
		b.fail(path+".remote.auth", "%s: with local.auth pubkey, IKEv1 (version %s) takes remote.auth pubkey or xauth (hybrid)", p.Remote.Method, p.Version)
	case p.Local.Method == ike.AuthPubKey && p.Local.Key != nil && (xauth || p.Remote.Method == ike.AuthXAuth):
		if _, ok := p.Local.Key.Public().(*rsa.PublicKey); !ok {
			b.fail(path+".local", "IKEv1 XAuth and hybrid sign with RSA keys only: the certificate's key is not RSA")
		}
	case p.Local.Method == ike.AuthPubKey && p.Local.Key != nil:
		switch k := p.Local.Key.Public().(type) {
		case *rsa.PublicKey:
		case *ecdsa.PublicKey:
			if n := k.Params().Name; n != "P-256" && n != "P-384" && n != "P-521" {
				b.fail(path+".local", "IKEv1 signs with ECDSA on P-256, P-384 or P-521, not %s", n)
			}
		default:
			b.fail(path+".local", "IKEv1 signs with RSA or ECDSA keys")
		}
	}
	if p.Remote.Method == ike.AuthXAuth && !xauth {
		b.fail(path+".remote.auth", "xauth (hybrid) needs type xauth")
	}
	if len(c.RemoteTS) > 1 {
		b.fail(path+".remote_ts", "IKEv1 negotiates one subnet pair per CHILD_SA (Quick Mode); %d are given", len(c.RemoteTS))
	}
	if p.Remote.Method == ike.AuthXAuth || xauth {
		if c.StartAction == "start" || c.StartAction == "trap" || c.StartAction == "route" {
			b.fail(path+".start_action", "%s: XAuth connections wait for their clients (none)", c.StartAction)
		}
	}
	p.Aggressive = c.Aggressive
	p.ModeConfigPush = c.Pull != nil && !*c.Pull
	if c.Aggressive && p.Local.Method != ike.AuthPSK {
		b.fail(path+".aggressive", "Aggressive Mode is served with a PSK only")
	}
	if !xauth {
		return
	}
	users := map[string]string{}
	for _, u := range b.cfg.XAuthUsers {
		users[u.ID] = u.Secret
	}
	if len(users) == 0 {
		b.fail(path+".type", "xauth needs xauth_users")
	}
	p.Remote.XAuthPassword = func(name string) (string, bool) {
		pw, ok := users[name]
		return pw, ok
	}
}

// auth fills p.Local and p.Remote.
func (b *builder) auth(c *Connection, p *ike.PeerConfig) {
	path := "connections." + c.Name
	method := func(field, s string) ike.AuthMethod {
		switch s {
		case "", "pubkey":
			return ike.AuthPubKey
		case "psk":
			return ike.AuthPSK
		case "eap-mschapv2":
			if field == "remote.auth" {
				return ike.AuthEAP
			}
		case "xauth":
			if field == "remote.auth" {
				return ike.AuthXAuth
			}
		}
		switch {
		case s == "eap-mschapv2" || s == "xauth":
			b.fail(path+"."+field, "%s is for the remote end", s)
		case strings.HasPrefix(s, "eap") || strings.HasPrefix(s, "xauth"):
			b.fail(path+"."+field, "%s is not supported (psk, pubkey or, remotely, eap-mschapv2 or xauth)", s)
		default:
			b.fail(path+"."+field, "%q: want psk or pubkey (or eap-mschapv2 or xauth for remote)", s)
		}
		return 0
	}
	p.Local.Method = method("local.auth", c.Local.Auth)
	p.Remote.Method = method("remote.auth", c.Remote.Auth)
	if p.Remote.Method == ike.AuthEAP {
		if p.Local.Method != ike.AuthPubKey {
			b.fail(path+".local.auth", "remote.auth eap-mschapv2 needs our certificate: local.auth pubkey")
		}
		users := map[string]string{}
		for _, u := range b.cfg.EAPUsers {
			users[u.ID] = u.Secret
		}
		if len(users) == 0 {
			b.fail(path+".remote.auth", "eap-mschapv2 needs eap_users")
		}
		p.Remote.EAPPassword = func(id string) (string, bool) {
			pw, ok := users[id]
			return pw, ok
		}
	}

	if c.Local.ID != "" {
		id, err := pki.ParseIdentity(c.Local.ID)
		switch {
		case err != nil:
			b.fail(path+".local.id", "%q: %s", c.Local.ID, strings.TrimPrefix(err.Error(), "pki: "))
		case id.HasWildcards():
			b.fail(path+".local.id", "%q: our own identity cannot be a pattern", c.Local.ID)
		default:
			p.Local.ID = id
		}
	}
	if c.Remote.ID != "" {
		id, err := pki.ParseIdentity(c.Remote.ID)
		if err != nil {
			b.fail(path+".remote.id", "%q: %s", c.Remote.ID, strings.TrimPrefix(err.Error(), "pki: "))
		}
		p.Remote.ID = id
	}

	// The pre-shared key.
	usesPSK := p.Local.Method == ike.AuthPSK || p.Remote.Method == ike.AuthPSK
	switch {
	case usesPSK && c.PSK == "":
		b.fail(path+".psk", "required by auth psk")
	case !usesPSK && c.PSK != "":
		b.fail(path+".psk", "set, but neither local.auth nor remote.auth is psk")
	case usesPSK:
		psk, err := decodeSecret(c.PSK)
		switch {
		case err != nil:
			b.fail(path+".psk", "%v", err) // the message never quotes the secret
		case len(psk) < 8:
			b.fail(path+".psk", "%d bytes is too short: an observed IKE_AUTH lets an attacker test guesses offline; use at least 16 random bytes (8 is the minimum accepted)", len(psk))
		case len(psk) < 16:
			b.warn(path+".psk", "%d bytes: an observed IKE_AUTH lets an attacker test guesses offline; 16 or more random bytes are recommended", len(psk))
		}
		if p.Local.Method == ike.AuthPSK {
			p.Local.PSK = psk
		}
		if p.Remote.Method == ike.AuthPSK {
			p.Remote.PSK = psk
		}
	}

	// Certificates.
	store := &pki.Store{Dir: b.dir(b.cfg.PKI.Dir)}
	needStore := func(field string) bool {
		if b.cfg.PKI.Dir == "" {
			b.fail(path+"."+field, "names certificates of the PKI store, but pki.dir is not set")
			return false
		}
		return true
	}
	l := c.Local
	hasLocal := len(l.Certs) > 0 || l.CertFile != "" || l.KeyFile != ""
	switch {
	case p.Local.Method == 0: // unknown, said above
	case p.Local.Method != ike.AuthPubKey:
		if hasLocal {
			b.fail(path+".local.certs", "certificates are for auth pubkey")
		}
	case len(l.Certs) > 0 && (l.CertFile != "" || l.KeyFile != ""):
		b.fail(path+".local.certs", "give certs or cert_file and key_file, not both")
	case len(l.Certs) > 0:
		if !needStore("local.certs") {
			break
		}
		for i, name := range l.Certs {
			cert, err := store.Certificate(name)
			if err != nil {
				b.fail(fmt.Sprintf("%s.local.certs[%d]", path, i), "%q: %s", name, storeErr(err))
				continue
			}
			p.Local.Certificates = append(p.Local.Certificates, cert)
			if i == 0 {
				key, err := store.PrivateKey(name)
				if err != nil {
					b.fail(fmt.Sprintf("%s.local.certs[%d]", path, i), "%q: its private key: %s", name, storeErr(err))
					continue
				}
				p.Local.Key = key
			}
		}
	case l.CertFile == "" || l.KeyFile == "":
		b.fail(path+".local", "auth pubkey needs certs (names in the PKI store) or cert_file and key_file")
	default:
		certs, err := readFile(b.dir(l.CertFile), pki.ParseCertificates)
		if err != nil {
			b.fail(path+".local.cert_file", "%v", err)
		}
		key, err := readFile(b.dir(l.KeyFile), pki.ParsePrivateKey)
		if err != nil {
			b.fail(path+".local.key_file", "%v", err)
		}
		p.Local.Certificates, p.Local.Key = certs, key
	}
	if p.Local.Key != nil && len(p.Local.Certificates) > 0 && !sameKey(p.Local.Key.Public(), p.Local.Certificates[0].PublicKey) {
		b.fail(path+".local", "the private key does not belong to the certificate")
	}

	r := c.Remote
	switch {
	case p.Remote.Method == 0:
	case p.Remote.Method != ike.AuthPubKey:
		if len(r.CACerts) > 0 || r.CAFile != "" {
			b.fail(path+".remote.cacerts", "CA certificates are for auth pubkey")
		}
	case len(r.CACerts) > 0 && r.CAFile != "":
		b.fail(path+".remote.cacerts", "give cacerts or ca_file, not both")
	case len(r.CACerts) > 0:
		if !needStore("remote.cacerts") {
			break
		}
		for i, name := range r.CACerts {
			cert, err := store.Certificate(name)
			if err != nil {
				b.fail(fmt.Sprintf("%s.remote.cacerts[%d]", path, i), "%q: %s", name, storeErr(err))
				continue
			}
			p.Remote.CAs = append(p.Remote.CAs, cert)
		}
	case r.CAFile != "":
		cas, err := readFile(b.dir(r.CAFile), pki.ParseCertificates)
		if err != nil {
			b.fail(path+".remote.ca_file", "%v", err)
		}
		p.Remote.CAs = cas
	case b.cfg.PKI.Dir == "":
		b.fail(path+".remote", "auth pubkey needs cacerts or ca_file (or pki.dir, whose CA is then used)")
	default:
		ca, err := readFile(filepath.Join(store.Dir, pki.StoreCACert), pki.ParseCertificates)
		if err != nil {
			b.fail(path+".remote.cacerts", "none given, and the PKI store has no CA: %v", err)
			break
		}
		p.Remote.CAs = ca[:1]
		crl, err := store.CRL()
		switch {
		case err == nil:
			p.Remote.CRLs = []*x509.RevocationList{crl}
		case !errors.Is(err, pki.ErrNotFound):
			b.fail(path+".remote.cacerts", "the PKI store's CRL: %s", storeErr(err))
		}
	}
}

func storeErr(err error) string {
	if errors.Is(err, pki.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
		return "not in the PKI store"
	}
	return strings.TrimPrefix(err.Error(), "pki: ")
}

func readFile[T any](name string, parse func([]byte) (T, error)) (T, error) {
	var zero T
	data, err := readRegular(name)
	if err != nil {
		return zero, err
	}
	v, err := parse(data)
	if err != nil {
		return zero, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "pki: "))
	}
	return v, nil
}

// maxFileSize bounds what the server reads from a file the configuration
// names: certificates, keys, CRLs and the configuration itself.
const maxFileSize = 16 << 20

// readRegular reads a regular file of at most maxFileSize octets: a
// configuration naming /dev/zero or a FIFO gets an error, not a server
// that hangs or runs out of memory at start.
func readRegular(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", name)
	}
	if st.Size() > maxFileSize {
		return nil, fmt.Errorf("%s: %d octets, more than the %d a configuration or credential file may have", name, st.Size(), maxFileSize)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s: more than the %d octets a configuration or credential file may have", name, maxFileSize)
	}
	return data, nil
}

func sameKey(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// decodeSecret decodes a swanctl secret: "0x" hex, "0s" base64, or the
// string itself. Its errors never contain the secret.
func decodeSecret(s string) ([]byte, error) {
	switch {
	case strings.HasPrefix(s, "0x"):
		b, err := hex.DecodeString(s[2:])
		if err != nil {
			return nil, errors.New("0x: not hexadecimal")
		}
		return b, nil
	case strings.HasPrefix(s, "0s"):
		b, err := base64.StdEncoding.DecodeString(s[2:])
		if err != nil {
			return nil, errors.New("0s: not base64")
		}
		return b, nil
	}
	return []byte(s), nil
}

// vips checks the fixed virtual IPs of c and, if c is enabled, reserves
// them.
func (b *builder) vips(c *Connection, pools []*poolInfo, enabled bool) {
	path := "connections." + c.Name + ".vip"
	if len(c.VIP) == 0 {
		return
	}
	id, err := pki.ParseIdentity(c.Remote.ID)
	switch {
	case c.Type == "net-to-net":
		b.fail(path, "only for host-to-net")
		return
	case len(pools) == 0:
		b.fail(path, "needs pools: the address must be in one of the connection's pools")
		return
	case c.Remote.ID == "" || err != nil || id.HasWildcards():
		b.fail(path, "needs a remote.id without wildcards: the address is reserved for that one client")
		return
	}
	var families []int
	for i, s := range c.VIP {
		p := fmt.Sprintf("%s[%d]", path, i)
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			b.fail(p, "%q: not an IP address", s)
			continue
		}
		a = a.Unmap()
		if slices.Contains(families, a.BitLen()) {
			b.fail(p, "%s: one virtual IP per address family", a)
			continue
		}
		families = append(families, a.BitLen())
		var pool *ike.Pool
		for _, pi := range pools {
			if pi.pool.Contains(a) {
				pool = pi.pool
			}
		}
		if pool == nil {
			b.fail(p, "%s is in no pool of the connection (%s)", a, strings.Join(c.Pools, ", "))
			continue
		}
		if !enabled {
			continue
		}
		// The Manager keys leases by the peer's identity string, which is
		// the pattern's string when the pattern has no wildcards.
		if err := pool.Reserve(id.String(), a); err != nil {
			var pe *ike.PoolError
			if errors.As(err, &pe) && errors.Is(err, ike.ErrAddressInUse) {
				b.fail(p, "%s is already reserved in pool %q for another client", a, pe.Pool)
			} else {
				b.fail(p, "%s", strings.TrimPrefix(err.Error(), "ike: "))
			}
		}
	}
}

// lifetime fills the CHILD_SA limits.
func (b *builder) lifetime(c *Connection, child *ike.ChildConfig) {
	path := "connections." + c.Name
	pair := func(rekeyName, lifeName string, rekey, life uint64) (soft, hard uint64) {
		if life == 0 && rekey != 0 {
			life = rekey + rekey/10 // swanctl: life_* defaults to 110 % of rekey_*
			if life < rekey {
				life = ^uint64(0)
			}
		}
		if rekey != 0 && life <= rekey {
			b.fail(path+"."+lifeName, "must be more than %s", rekeyName)
		}
		return rekey, life
	}
	l := &child.Lifetime
	st, ht := pair("rekey_time", "life_time", uint64(c.RekeyTime), uint64(c.LifeTime))
	l.SoftTime, l.HardTime = durationOf(st), durationOf(ht)
	l.SoftBytes, l.HardBytes = pair("rekey_bytes", "life_bytes", uint64(c.RekeyBytes), uint64(c.LifeBytes))
	l.SoftPackets, l.HardPackets = pair("rekey_packets", "life_packets", uint64(c.RekeyPackets), uint64(c.LifePackets))
}

func durationOf(n uint64) time.Duration {
	return time.Duration(min(n, math.MaxInt64))
}

// initiation sets where the connection initiates from and to (start
// actions start and trap, DPD actions hold and restart).
func (b *builder) initiation(c *Connection, p *ike.PeerConfig, why string) {
	path := "connections." + c.Name
	for _, r := range p.RemoteAddrs {
		if r.IsSingleIP() {
			p.RemoteHost = netip.AddrPortFrom(r.Addr(), 500)
			break
		}
	}
	if !p.RemoteHost.IsValid() {
		b.fail(path+".remote_addrs", "%s needs the peer's address here", why)
		return
	}
	family := p.RemoteHost.Addr().BitLen()
	for _, l := range p.LocalAddrs {
		if l.IsSingleIP() && l.Addr().BitLen() == family {
			p.LocalAddr = l.Addr()
			break
		}
	}
	if !p.LocalAddr.IsValid() {
		var cands []netip.Addr
		for _, a := range b.rt.Listen {
			if a.BitLen() == family {
				cands = append(cands, a)
			}
		}
		if len(cands) == 1 {
			p.LocalAddr = cands[0]
		}
	}
	switch {
	case !p.LocalAddr.IsValid():
		b.fail(path+".local_addrs", "%s needs the address to initiate from: put it here (or listen on one address of the family)", why)
	case b.rt.Listen != nil && !slices.Contains(b.rt.Listen, p.LocalAddr):
		b.fail(path+".local_addrs", "%s is not one of the listen addresses", p.LocalAddr)
	}
}

// route adds routes into the TUN device.
func (b *builder) route(ps ...netip.Prefix) {
	for _, p := range ps {
		if !slices.Contains(b.rt.TUN.Routes, p) {
			b.rt.TUN.Routes = append(b.rt.TUN.Routes, p)
		}
	}
}

// finish adds the routes to the pools and checks what spans connections.
func (b *builder) finish() {
	for i, pc := range b.cfg.Pools {
		pi := b.pools[pc.Name]
		if pi == nil || pi.index != i {
			continue
		}
		if !pi.used {
			b.warn(fmt.Sprintf("pools[%d]", i), "pool %q is used by no enabled connection", pc.Name)
			continue
		}
		b.route(pi.routes...)
	}
	if b.ipv6 && b.rt.TUN.MTU < 1280 {
		b.fail("tun.mtu", "%d: IPv6 in the tunnel needs at least 1280", b.rt.TUN.MTU)
	}
	if b.enabled == 0 && len(b.errs) == 0 {
		b.fail("connections", "no enabled connection")
	}
}
