package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the configuration file of the roadwarrior server, in YAML. The
// names follow strongSwan's swanctl.conf(5) where it has the same setting,
// with the same meaning and defaults unless said otherwise;
// roadwarrior.example.yaml documents every field with an example.
//
// Decoding is strict: an unknown field, a list where a value is expected
// or a malformed value is an error naming the field's path, such as
// connections.rw.local_ts[1]. Zero values are the documented defaults.
// Top-level sections that later versions add (the control socket, metrics)
// sit next to these.
type Config struct {
	// Listen are the local addresses IKE and ESP-in-UDP listen on (UDP 500
	// and 4500). Empty means every address of the host, IPv4 and IPv6,
	// answering from the address a peer used (strongSwan's default).
	Listen List `yaml:"listen"`
	// TUN is the device decrypted traffic comes out of and goes into.
	TUN TUNConfig `yaml:"tun"`
	// Pools are the virtual IP pools, named for Connection.Pools.
	Pools []PoolConfig `yaml:"pools"`
	// DPDDelay is the interval of dead peer detection (swanctl dpd_delay)
	// for every connection: after this long without a message or an ESP
	// packet from the peer, a liveness check is sent; 0 turns it off.
	DPDDelay Duration `yaml:"dpd_delay"`
	// IKEv1Timeout bounds the setup of an IKEv1 SA (Main Mode and XAuth,
	// the user typing a password included); 0 means 30 s.
	IKEv1Timeout Duration `yaml:"ikev1_timeout"`
	// PKI names the certificate store that Connection certificate names
	// refer to.
	PKI PKIConfig `yaml:"pki"`
	// Log configures the log on standard error.
	Log LogConfig `yaml:"log"`
	// EAPUsers are the EAP-MSCHAPv2 users of connections with remote.auth
	// eap-mschapv2 (swanctl's eap secrets): identity and password. The
	// passwords are secrets: they never reach a log.
	EAPUsers []EAPUser `yaml:"eap_users"`
	// XAuthUsers are the XAuth users of connections of type xauth
	// (swanctl's xauth secrets): name and password, secrets as EAPUsers.
	XAuthUsers []EAPUser `yaml:"xauth_users"`
	// L2TPUsers are the PPP users of connections of type l2tp (pppd's
	// chap-secrets): name and password for CHAP-MD5 and MS-CHAPv2, secrets
	// as EAPUsers.
	L2TPUsers []EAPUser `yaml:"l2tp_users"`
	// Connections are the connections by name, in the order of the file:
	// for an incoming IKE SA, the first connection whose addresses and
	// identities match is used (as in strongSwan).
	Connections Connections `yaml:"connections"`

	// Dir is the directory relative file names (pki.dir, cert_file,
	// key_file, ca_file) are relative to; Load sets it to the file's
	// directory, "" means the working directory.
	Dir string `yaml:"-"`

	// lines maps field paths to their line in the file, for messages.
	lines map[string]int
	// parseErrs are the fields Parse could not decode.
	parseErrs []error
}

// TUNConfig is the TUN device.
type TUNConfig struct {
	// Name is the interface name, at most 15 bytes; a "%d" in it becomes
	// the lowest free number. "" means "ikego%d".
	Name string `yaml:"name"`
	// MTU of the device; 0 means 1400 (room for the outer IPv6 header, UDP
	// encapsulation and ESP on a 1500-byte path). At least 576, and 1280
	// when IPv6 is used inside the tunnel.
	MTU int `yaml:"mtu"`
}

// PoolConfig is a pool of virtual IP addresses (swanctl pools).
// EAPUser is one EAP-MSCHAPv2 or XAuth account.
type EAPUser struct {
	// ID is the EAP identity or XAuth user name (what the client types).
	ID string `yaml:"id"`
	// Secret is the password.
	Secret string `yaml:"secret"`
}

// PoolConfig is a virtual IP pool.
type PoolConfig struct {
	// Name is how connections refer to the pool. Required and unique.
	Name string `yaml:"name"`
	// Addrs is the pool's addresses: a prefix ("198.18.200.0/24": the
	// network address, and the broadcast address for IPv4, are not
	// handed out) or an inclusive range ("198.18.200.10-198.18.200.99").
	// Pools must not overlap.
	Addrs string `yaml:"addrs"`
	// DNS are the DNS servers sent to clients with an address of this pool
	// (swanctl pools.<name>.dns).
	DNS List `yaml:"dns"`
}

// PKIConfig locates certificates.
type PKIConfig struct {
	// Dir is a certificate store as "pki init-ca" and "pki issue" write it:
	// ca/ca.cert.pem, certs/NAME.cert.pem, private/NAME.key.pem and
	// crl/ca.crl.pem. Certificate names in connections (local.certs,
	// remote.cacerts) are NAMEs in it.
	Dir string `yaml:"dir"`
}

// LogConfig configures the log.
type LogConfig struct {
	// Format is "text" (the default, logfmt) or "json".
	Format string `yaml:"format"`
	// Level is the lowest level logged: debug, info (the default), warn or
	// error.
	Level string `yaml:"level"`
	// Debug turns debug lines on for some subsystems only, whatever Level
	// says: ike (the IKE daemon), esp (the dataplane), cfg (this program:
	// configuration, start-up), net (the sockets) and l2tp (L2TP and PPP).
	Debug List `yaml:"debug"`
}

// Connections is the connections section: a mapping from names to
// connections, kept in the order of the file.
type Connections []*Connection

// Connection is one connection: what clients may connect with
// (host-to-net) or a tunnel to another gateway (net-to-net), with one
// CHILD_SA. Defaults are swanctl's unless said otherwise.
type Connection struct {
	// Name is the connection's key in the connections mapping: letters,
	// digits, '.', '_' and '-'.
	Name string `yaml:"-"`
	// Remark is free text for the operator, shown by -check.
	Remark string `yaml:"remark"`
	// Enabled, default true: a disabled connection is checked but not
	// loaded.
	Enabled *bool `yaml:"enabled"`
	// Type is host-to-net (the default: roadwarrior clients, each with a
	// virtual IP from Pools), net-to-net (a site-to-site tunnel between
	// LocalTS and RemoteTS) or xauth (XAuth host-to-net: IKEv1 clients
	// authenticate with the PSK, then with a name and password of
	// xauth_users, as the IPsec clients built into iOS, macOS and Android
	// do) or l2tp (L2TP/IPsec: IKEv1 with a PSK or certificates, a
	// transport-mode SA for UDP port 1701, then PPP with a name and
	// password of l2tp_users; the client gets an address of its one pool,
	// which must be an IPv4 prefix used by no other type of connection).
	Type string `yaml:"type"`
	// Version is the IKE version: 2 (the default, 1 for types xauth and
	// l2tp), 1, or both (IKEv1 or IKEv2, whichever the client speaks).
	// IKEv1 serves clients (Main Mode with a PSK or RSA certificates,
	// Aggressive Mode, XAuth, Mode Config, Quick Mode, NAT-T, DPD) and, for
	// net-to-net, initiates with every start_action and dpd_action; it
	// takes one local_ts and one remote_ts.
	Version string `yaml:"version"`
	// LocalAddrs restricts the local addresses the connection is used on:
	// addresses, prefixes or ranges; empty means any. With start_action
	// start its first single address is the one we initiate from, unless
	// listen has a single address of the peer's family.
	LocalAddrs List `yaml:"local_addrs"`
	// RemoteAddrs restricts the peers accepted (addresses, prefixes or
	// ranges; empty means any). Its first single address is the peer we
	// initiate to with start_action start (net-to-net).
	RemoteAddrs List `yaml:"remote_addrs"`
	// Local is how we authenticate, Remote what we accept of the peer.
	Local  LocalAuth  `yaml:"local"`
	Remote RemoteAuth `yaml:"remote"`
	// PSK is the pre-shared key when local.auth or remote.auth is psk (the
	// same key for both directions): a string, or "0x" and hex, or "0s"
	// and base64, as in swanctl secrets. It is never logged. At least 8
	// bytes (see Build); 16 or more of random is recommended.
	PSK string `yaml:"psk"`
	// LocalTS are our traffic selectors: the subnets behind us
	// (swanctl syntax: "10.0.0.0/8", "10.0.0.1-10.0.0.9", "0.0.0.0/0[tcp/80]",
	// or "dynamic" alone for our own address). Required.
	LocalTS List `yaml:"local_ts"`
	// RemoteTS are the peer's traffic selectors: net-to-net only, and
	// required there. A host-to-net client gets its virtual IP.
	RemoteTS List `yaml:"remote_ts"`
	// Pools names the virtual IP pools of a host-to-net connection, one per
	// address family a client may ask for.
	Pools List `yaml:"pools"`
	// VIP fixes the virtual IP (one per family) of the one client this
	// connection is for: remote.id must then be an identity without
	// wildcards, and each address must be in one of Pools. The address is
	// reserved for that identity and never handed to another client. Not
	// for types xauth and l2tp, whose addresses go to user names.
	VIP List `yaml:"vip"`
	// DPDAction is what to do when DPD declares the peer dead: clear,
	// hold or restart. Checked; acted on once DPD exists.
	DPDAction string `yaml:"dpd_action"`
	// Proposals are the IKE proposals and ESPProposals the ESP proposals,
	// in strongSwan's syntax ("aes256gcm16-prfsha384-ecp384, default");
	// empty means strongSwan's defaults. Unless Strict, the defaults are
	// accepted after the configured ones.
	Proposals    List `yaml:"proposals"`
	ESPProposals List `yaml:"esp_proposals"`
	Strict       bool `yaml:"strict"`
	// RekeyTime, LifeTime, RekeyBytes, LifeBytes, RekeyPackets and
	// LifePackets limit the CHILD_SA: at a rekey limit (less a random
	// part of the gap to the life limit, for time) it is rekeyed, at a
	// life limit it is removed. A life limit defaults to 110 % of its
	// rekey limit. rekey_time and life_time 0 mean 1 h and 1 h 6 min,
	// strongSwan's defaults; bytes and packets 0 mean no limit.
	RekeyTime    Duration `yaml:"rekey_time"`
	LifeTime     Duration `yaml:"life_time"`
	RekeyBytes   Count    `yaml:"rekey_bytes"`
	LifeBytes    Count    `yaml:"life_bytes"`
	RekeyPackets Count    `yaml:"rekey_packets"`
	LifePackets  Count    `yaml:"life_packets"`
	// Compression proposes and accepts IPComp (RFC 3173, DEFLATE); IKEv2
	// only.
	Compression bool `yaml:"compression"`
	// Mode is tunnel (the default) or transport; for type l2tp transport
	// (the default: the built-in clients) or tunnel (a tunnel between the
	// two hosts for UDP port 1701, as some clients negotiate).
	Mode string `yaml:"mode"`
	// StartAction is what happens at start-up: none (the default: wait for
	// the peer; "add" is accepted for it), start (initiate to remote_addrs)
	// or trap (install trap policies; the first packet that matches
	// initiates; "route" is accepted for it).
	StartAction string `yaml:"start_action"`
	// Encap forces UDP encapsulation of ESP by faking NAT detection.
	Encap bool `yaml:"encap"`
	// Fragmentation, default true, offers IKE fragmentation: IKEv2's (RFC
	// 7383) and IKEv1's (the FRAGMENTATION vendor ID).
	Fragmentation *bool `yaml:"fragmentation"`
	// Aggressive (IKEv1 with a PSK) also accepts Aggressive Mode, which
	// clients use when they send a group name (iOS "Cisco IPSec" with a
	// group name, Android "IPSec Xauth PSK" with an IPSec identifier): the
	// remote id (keyid:GROUP) then picks the connection. A net-to-net
	// connection that initiates starts with Aggressive Mode instead of
	// Main Mode (local.id as the identity the peer expects). Its second
	// message lets anyone guess the PSK offline: use long random PSKs.
	Aggressive bool `yaml:"aggressive"`
	// Pull, default true (IKEv1): the client asks for its virtual IP
	// (Mode Config pull); false pushes it once the client is authenticated
	// (Mode Config SET, with the split-tunnel subnets for Cisco clients).
	Pull *bool `yaml:"pull"`
}

// LocalAuth is how we authenticate (swanctl local sections).
type LocalAuth struct {
	// Auth is pubkey (the default: a certificate) or psk.
	Auth string `yaml:"auth"`
	// ID is our identity in strongSwan's syntax ("vpn.example.com",
	// "C=US, O=Example, CN=vpn.example.com", "198.51.100.2"); empty means
	// the certificate's subject with pubkey, our address with psk.
	ID string `yaml:"id"`
	// Certs (pubkey) names our certificate in the PKI store, whose key
	// must be there too; further names are sent as the chain. Or CertFile
	// and KeyFile: PEM or DER files (the certificate file may hold the
	// chain after the leaf).
	Certs    List   `yaml:"certs"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// Generate (pubkey) makes our certificate when the PKI store has no
	// certificate named certs[0] yet: a server certificate from the
	// store's CA for id (an FQDN or an address), so that "generate a new
	// certificate" is one line. It is made at start and at reload, never
	// replaced once there.
	Generate bool `yaml:"generate"`
}

// RemoteAuth is what we accept of the peer (swanctl remote sections).
type RemoteAuth struct {
	// Auth is pubkey (the default), psk, eap-mschapv2 (IKEv2, with
	// eap_users), or xauth (type xauth with our certificate: hybrid, the
	// client authenticates with its XAuth account alone).
	Auth string `yaml:"auth"`
	// ID is the identity the peer must prove, a pattern that may contain
	// "*" ("*@example.com", "C=US, O=Example, CN=*"); empty accepts any.
	ID string `yaml:"id"`
	// CACerts (pubkey) names the CA certificates in the PKI store the
	// peer's certificate must chain to, or CAFile is a PEM file of them.
	// With neither, the store's own CA (pki.dir/ca/ca.cert.pem) is used,
	// with its CRL when there is one.
	CACerts List   `yaml:"cacerts"`
	CAFile  string `yaml:"ca_file"`
}

// List is a list of strings written either as a YAML sequence or, as in
// swanctl.conf, as one comma-separated string: "a, b" and [a, b] are the
// same.
type List []string

// Duration is a time span: a number of seconds, or a number with a unit
// s, m, h or d as in swanctl.conf ("90", "30m", "1d"), or any Go
// duration ("1h30m").
type Duration time.Duration

// Count is a number of bytes or packets, optionally with a binary suffix
// k, m, g or t (case-insensitive; "512k" is 524288).
type Count uint64

// FieldError is a mistake in the configuration.
type FieldError struct {
	// Path is the field, like connections.rw.local_ts[1].
	Path string
	// Line is where the field is in the file, 0 if not known.
	Line int
	// Msg says what is wrong.
	Msg string
}

// Error returns "path: reason", without the line.
func (e *FieldError) Error() string { return e.Path + ": " + e.Msg }

// Load reads and decodes the file at path, like Parse, and sets Dir.
func Load(path string) (*Config, error) {
	data, err := readRegular(path)
	if err != nil {
		return nil, err
	}
	cfg, err := Parse(data)
	if cfg != nil {
		cfg.Dir = filepath.Dir(path)
	}
	return cfg, err
}

// Parse decodes a configuration strictly; Build checks the values. Its
// error is a YAML syntax error (and the Config nil), or joins a
// *FieldError for each field that could not be decoded: the Config is
// then returned too, without those fields, so that Build can report these
// errors together with the other mistakes (it leaves the failed fields
// alone).
func Parse(data []byte) (*Config, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && err != io.EOF {
		return nil, fmt.Errorf("roadwarrior: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &FieldError{Line: extra.Line, Path: "(file)", Msg: "more than one YAML document"}
	}
	cfg := &Config{lines: map[string]int{}}
	d := &decoder{lines: cfg.lines}
	defer func() { cfg.parseErrs = d.errs }()
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != 0 { // else the file is empty
		d.value(root, reflect.ValueOf(cfg).Elem(), "")
	}
	if len(d.errs) > 0 {
		return cfg, errors.Join(d.errs...)
	}
	return cfg, nil
}

// decoder fills Go values from YAML nodes, knowing the path of each.
type decoder struct {
	lines map[string]int
	errs  []error
}

func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	if path == "" {
		path = "(top level)"
	}
	d.errs = append(d.errs, &FieldError{Path: path, Line: n.Line, Msg: fmt.Sprintf(format, args...)})
}

var (
	listType        = reflect.TypeFor[List]()
	connectionsType = reflect.TypeFor[Connections]()
)

// scalarParser is a type that parses itself from a scalar.
type scalarParser interface{ parseScalar(string) error }

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return "a value"
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// value decodes n into v.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) == 0 {
		return // an empty file
	}
	if path != "" {
		d.lines[path] = n.Line
	}
	if isNull(n) {
		return // an empty value: the default
	}
	switch v.Type() {
	case listType:
		d.list(n, v, path)
		return
	case connectionsType:
		d.connections(n, v, path)
		return
	}
	if p, ok := v.Addr().Interface().(scalarParser); ok {
		if n.Kind != yaml.ScalarNode {
			d.fail(n, path, "want a value, not %s", kindName(n))
		} else if err := p.parseScalar(n.Value); err != nil {
			d.fail(n, path, "%q: %v", n.Value, err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.mapping(n, v, path)
	case reflect.Pointer:
		e := reflect.New(v.Type().Elem())
		d.value(n, e.Elem(), path)
		v.Set(e)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n, path, "want a list, not %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.value(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.String, reflect.Bool, reflect.Int:
		if n.Kind != yaml.ScalarNode {
			d.fail(n, path, "want a value, not %s", kindName(n))
			return
		}
		d.scalar(n, v, path)
	default:
		panic("roadwarrior: no decoding for " + v.Type().String())
	}
}

func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(n.Value)
	case reflect.Bool:
		switch strings.ToLower(n.Value) {
		case "true", "yes", "on":
			v.SetBool(true)
		case "false", "no", "off":
			v.SetBool(false)
		default:
			d.fail(n, path, "%q: want true or false", n.Value)
		}
	case reflect.Int:
		i, err := strconv.Atoi(n.Value)
		if err != nil {
			d.fail(n, path, "%q: not a whole number", n.Value)
		}
		v.SetInt(int64(i))
	}
}

// mapping decodes a mapping into a struct by the fields' yaml tags.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "want a mapping (key: value lines), not %s", kindName(n))
		return
	}
	t := v.Type()
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := k.Value
		p := join(path, key)
		if seen[key] {
			d.fail(k, p, "given twice")
			continue
		}
		seen[key] = true
		f := -1
		for j := range t.NumField() {
			if tag := t.Field(j).Tag.Get("yaml"); tag != "" && tag != "-" && tag == key {
				f = j
			}
		}
		if f < 0 {
			d.fail(k, p, "unknown field")
			continue
		}
		d.value(val, v.Field(f), p)
	}
}

// list decodes a List from a sequence of values or a comma-separated
// value.
func (d *decoder) list(n *yaml.Node, v reflect.Value, path string) {
	var l List
	switch n.Kind {
	case yaml.ScalarNode:
		for s := range strings.SplitSeq(n.Value, ",") {
			if s = strings.TrimSpace(s); s != "" {
				l = append(l, s)
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if c.Kind == yaml.AliasNode {
				c = c.Alias
			}
			p := fmt.Sprintf("%s[%d]", path, i)
			d.lines[p] = c.Line
			if c.Kind != yaml.ScalarNode || isNull(c) {
				d.fail(c, p, "want a value, not %s", kindName(c))
				continue
			}
			l = append(l, strings.TrimSpace(c.Value))
		}
	default:
		d.fail(n, path, "want a list or a value, not %s", kindName(n))
	}
	v.Set(reflect.ValueOf(l))
}

// connections decodes the connections mapping in file order.
func (d *decoder) connections(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "want a mapping of connection names to connections, not %s", kindName(n))
		return
	}
	var cs Connections
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		p := join(path, k.Value)
		if seen[k.Value] {
			d.fail(k, p, "connection defined twice")
			continue
		}
		seen[k.Value] = true
		c := &Connection{Name: k.Value}
		d.lines[p] = k.Line
		if !isNull(val) {
			d.value(val, reflect.ValueOf(c).Elem(), p)
		}
		cs = append(cs, c)
	}
	v.Set(reflect.ValueOf(cs))
}

func (t *Duration) parseScalar(s string) error {
	if s == "" {
		*t = 0
		return nil
	}
	unit := time.Second
	num := s
	switch s[len(s)-1] {
	case 's':
		num = s[:len(s)-1]
	case 'm':
		num, unit = s[:len(s)-1], time.Minute
	case 'h':
		num, unit = s[:len(s)-1], time.Hour
	case 'd':
		num, unit = s[:len(s)-1], 24*time.Hour
	}
	if n, err := strconv.ParseUint(num, 10, 64); err == nil {
		if n > uint64(math.MaxInt64/int64(unit)) {
			return errors.New("too long")
		}
		*t = Duration(time.Duration(n) * unit)
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New(`not a duration (want seconds or a number with s, m, h or d: "30m")`)
	}
	if d < 0 {
		return errors.New("negative")
	}
	*t = Duration(d)
	return nil
}

// String formats t as a Go duration.
func (t Duration) String() string { return time.Duration(t).String() }

func (c *Count) parseScalar(s string) error {
	shift := 0
	num := strings.TrimSpace(s)
	if num != "" {
		switch num[len(num)-1] {
		case 'k', 'K':
			shift = 10
		case 'm', 'M':
			shift = 20
		case 'g', 'G':
			shift = 30
		case 't', 'T':
			shift = 40
		}
		if shift != 0 {
			num = num[:len(num)-1]
		}
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return errors.New(`not a count (want a number, optionally with k, m, g or t: "512m")`)
	}
	if n > math.MaxUint64>>shift {
		return errors.New("too large")
	}
	*c = Count(n << shift)
	return nil
}

// hasFailed reports whether Parse failed on path, on a field inside it or
// on a field it is inside of.
func (c *Config) hasFailed(path string) bool {
	under := func(p, parent string) bool {
		return p == parent || strings.HasPrefix(p, parent+".") || strings.HasPrefix(p, parent+"[")
	}
	for _, e := range c.parseErrs {
		if f := e.(*FieldError).Path; under(path, f) || under(f, path) {
			return true
		}
	}
	return false
}

// line returns the line of path or of its nearest parent in the file.
func (c *Config) line(path string) int {
	for p := path; p != ""; {
		if l, ok := c.lines[p]; ok {
			return l
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}
