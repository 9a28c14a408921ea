package ike

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"time"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike/wire"
	"github.com/ikego/ikego/pki"
)

// Config configures a Manager: the IKE daemon of one gateway. It is plain
// data with documented zero values; the Manager does not modify it, and it
// must not be modified while the Manager runs (Manager.SetPeers replaces the
// peer list).
type Config struct {
	// Peers are the connections: what may connect to us, and what we
	// connect to. The first whose addresses and identities match an incoming
	// IKE SA is used.
	Peers []*PeerConfig
	// Pools are the virtual IP pools PeerConfig.Pools names.
	Pools Pools
	// Dataplane installs the negotiated SAs and policies (an *esp.Engine).
	// Required.
	Dataplane Dataplane
	// Sender sends IKE datagrams (an esp.Bind). Required.
	Sender Sender

	// Retransmit is the schedule of requests; the zero value is strongSwan's
	// (4 s × 1.8^n, 5 retransmissions).
	Retransmit Retransmit
	// HalfOpenLimit bounds the IKE SAs that have finished IKE_SA_INIT but
	// not IKE_AUTH; beyond it IKE_SA_INIT requests are dropped. 0 means
	// 4096. CookieThreshold is the number of half-open SAs from which a
	// valid COOKIE is required (RFC 7296 Section 2.6); 0 means
	// HalfOpenLimit/4, negative always requires one.
	HalfOpenLimit, CookieThreshold int
	// HalfOpenPerSource bounds the half-open IKE SAs from one IP address
	// (strongSwan's block_threshold); 0 means 8.
	HalfOpenPerSource int
	// HalfOpenTimeout is how long an IKE SA may take from IKE_SA_INIT to
	// the end of IKE_AUTH; 0 means 30 s.
	HalfOpenTimeout time.Duration
	// IKEv1Timeout is how long an IKEv1 SA may take from Main Mode's first
	// message to the end of XAuth (a user typing a password); 0 means 30 s.
	IKEv1Timeout time.Duration
	// FragmentSize is the largest IKE message sent unfragmented when the
	// peer supports IKEv2 fragmentation (RFC 7383), without IP and UDP
	// headers; 0 means 1280 minus those headers, strongSwan's default.
	FragmentSize int

	// Workers is the number of goroutines that process messages; 0 means
	// GOMAXPROCS.
	Workers int
	// Rand is the source of SPIs, nonces, key shares and IVs; nil means
	// crypto/rand. Now is the clock; nil means time.Now.
	Rand io.Reader
	Now  func() time.Time
	// Logger receives the log; nil discards it. Secrets are never logged.
	Logger *slog.Logger
	// Redirect, when set, may send a new client elsewhere (RFC 5685): it
	// is asked for every IKE_SA_INIT request from a peer that supports
	// redirects and was not redirected already, and returns the gateway
	// to send it to, or the zero Addr to serve it here. The answer
	// leaves no state behind.
	Redirect func(local, remote netip.AddrPort) netip.Addr
	// OnEvent, when set, is called for every session event (SAs up and
	// down, failures) on the goroutine of the session; it must not block.
	OnEvent func(Event)
}

// Sender sends datagrams: *esp.UDPBind and the in-memory binds implement
// it. IKE messages on the NAT-T port get their non-ESP marker from the
// Manager.
type Sender interface {
	Send(bufs [][]byte, ep esp.Endpoint) error
}

// AuthMethod is how one end of an IKE SA authenticates.
type AuthMethod uint8

// Authentication methods.
const (
	// AuthPSK is a pre-shared key (RFC 7296 Section 2.15).
	AuthPSK AuthMethod = iota + 1
	// AuthPubKey is a certificate and its private key: RSA, ECDSA or
	// Ed25519 signatures (RFC 7296 Section 3.8, RFC 7427).
	AuthPubKey
	// AuthEAP (remote only) is EAP-MSCHAPv2 (RFC 7296 Section 2.16, RFC
	// 2759) with AuthConfig.EAPPassword; we authenticate with a
	// certificate (AuthPubKey locally), as the built-in Windows client
	// requires.
	AuthEAP
	// AuthXAuth (remote only, IKEv1) is XAuth alone, the client's half of
	// hybrid authentication (draft-ietf-ipsec-isakmp-hybrid-auth-05): we
	// authenticate with an RSA certificate, the client only with the
	// user name and password AuthConfig.XAuthPassword checks.
	AuthXAuth
)

// String returns the name used in configuration files and logs.
func (m AuthMethod) String() string {
	switch m {
	case AuthPSK:
		return "psk"
	case AuthPubKey:
		return "pubkey"
	case AuthEAP:
		return "eap-mschapv2"
	case AuthXAuth:
		return "xauth"
	}
	return fmt.Sprintf("auth(%d)", uint8(m))
}

// AuthConfig is one end's authentication. For the local end it says how we
// prove who we are; for the remote end what we accept.
type AuthConfig struct {
	Method AuthMethod
	// ID is the identity. Locally it is what we send (the zero value means
	// the certificate's subject DN with AuthPubKey, or our IP address);
	// remotely it is a pattern in strongSwan's sense (wildcards allowed;
	// the zero value accepts any identity the authentication proves).
	ID pki.Identity
	// PSK is the pre-shared key of AuthPSK, the same for both ends.
	PSK []byte
	// Certificates (local, AuthPubKey) is our chain, leaf first, and Key
	// the leaf's private key.
	Certificates []*x509.Certificate
	Key          crypto.Signer
	// CAs (remote, AuthPubKey) are the trust anchors the peer's
	// certificate must chain to; CRLs are checked when given.
	CAs  []*x509.Certificate
	CRLs []*x509.RevocationList
	// EAPPassword (remote, AuthEAP) returns the password of an EAP
	// identity, false for an unknown one.
	EAPPassword func(identity string) (password string, ok bool)
	// EAPIdentity and EAPSecret (local, AuthEAP, IKEv2 initiator) are our
	// EAP-MSCHAPv2 account: we leave AUTH out of IKE_AUTH, check the
	// gateway's certificate, answer its EAP requests, and prove ourselves
	// with the MSK (RFC 7296 Section 2.16).
	EAPIdentity string
	EAPSecret   []byte
	// XAuthPassword (remote, IKEv1 only), when set, requires Extended
	// Authentication (draft-beaulieu-ike-xauth-02) after Main Mode: the
	// peer must propose XAUTHInitPreShared, and we ask it for a user name
	// and password, which must match what XAuthPassword returns for the
	// name (false: no such user). The virtual IPs of such a peer are
	// leased to its XAuth user name.
	XAuthPassword func(user string) (password string, ok bool)
	// XAuthUser and XAuthSecret (local, IKEv1 initiator only), when
	// XAuthUser is set, are our Extended Authentication account: we
	// propose XAUTHInitPreShared (or XAUTHInitRSA with a certificate) and
	// answer the gateway's XAuth request with them. PeerConfig.RequestVIP
	// then asks for a virtual IP with Mode Config (or, with
	// ModeConfigPush, waits for the gateway to push one).
	XAuthUser   string
	XAuthSecret []byte
}

// PeerConfig is one connection: an IKE SA and the CHILD_SAs under it.
type PeerConfig struct {
	// Name identifies the connection in logs, events and the API.
	Name string
	// Version is the IKE version the connection speaks; the zero value is
	// IKEv2.
	Version Version
	// Aggressive (IKEv1, PSK): as responder we also accept Aggressive
	// Mode, in which the initiator's identity (a group name) picks the
	// connection and its PSK; as initiator we start with it instead of
	// Main Mode, Local.ID being the group name (keyid:GROUP) the gateway
	// expects. Its second message lets anyone who asks guess the PSK
	// offline: use it only with long random PSKs, for peers that need it.
	Aggressive bool
	// ModeConfigPush (IKEv1) sends the virtual IP, DNS servers and, to
	// Cisco Unity clients, the split-tunnel subnets in a Mode Config SET
	// once the client is authenticated (strongSwan's pull = no), instead
	// of waiting for its request.
	ModeConfigPush bool
	// LocalAddrs restricts the local addresses the connection is used on
	// (empty: any). RemoteAddrs restricts the peers accepted (empty: any).
	LocalAddrs  []netip.Prefix
	RemoteAddrs []netip.Prefix
	// RemoteHost is the peer to initiate to (required to initiate); a zero
	// port means 500. LocalAddr is the source address to initiate from (the
	// zero value lets the kernel choose... it must be set with a UDPBind
	// bound to specific addresses).
	RemoteHost netip.AddrPort
	LocalAddr  netip.Addr

	// IKEProposals, in strongSwan's syntax parsed by ParseProposals; empty
	// means DefaultIKEProposals. Unless Strict, the defaults are also
	// accepted after the configured ones (strongSwan's "default" keyword).
	IKEProposals []Proposal
	Strict       bool

	Local, Remote AuthConfig

	// Pools names the Config.Pools virtual IPs are given from when the
	// peer asks for them (one address per family); DNS servers are sent with
	// them.
	Pools []string
	DNS   []netip.Addr
	// RequestVIP makes us ask for a virtual IP as initiator (a roadwarrior
	// client).
	RequestVIP bool

	// ForceEncap sends fake NAT detection hashes so that the peer believes
	// there is a NAT and both sides use UDP encapsulation.
	ForceEncap bool
	// NoFragmentation turns IKE fragmentation off: IKEv2's (RFC 7383) and
	// IKEv1's (the FRAGMENTATION vendor ID is not sent, our messages go
	// whole; the peer's fragments are still put together).
	NoFragmentation bool
	// NoMOBIKE refuses MOBIKE (RFC 4555): without it, a responder agrees
	// when the initiator offers it and follows the peer's address updates.
	NoMOBIKE bool
	// Keepalive is the interval of NAT keepalives when we are behind a NAT;
	// 0 means 20 s, negative none.
	Keepalive time.Duration

	// DPDDelay is the liveness check interval (RFC 7296 §2.4): when nothing
	// came from the peer for this long (IKE messages or ESP packets), an
	// empty INFORMATIONAL is sent and retransmitted; 0 turns it off. When the
	// peer does not answer, DPDAction applies.
	DPDDelay  time.Duration
	DPDAction DPDAction

	// StartAction is what the Manager does with the connection when it
	// starts: nothing (wait for the peer), initiate it, or install trap
	// policies that initiate it on the first packet.
	StartAction StartAction

	// Unique says what a new IKE SA of the same connection and remote
	// identity does to existing ones (strongSwan's unique): UniqueNo keeps
	// them (unless the peer sends INITIAL_CONTACT, which always replaces),
	// UniqueReplace deletes them, UniqueKeep deletes the new one.
	Unique Uniqueness

	// ReauthTime, when positive, reauthenticates the IKE SA this long
	// after it is made (less a random tenth), make before break: a new IKE
	// SA with new authentication and CHILD_SAs is made first (without
	// INITIAL_CONTACT), then the old one is deleted. Only an end that can
	// initiate (RemoteHost set) reauthenticates; 0 never.
	ReauthTime time.Duration

	// RekeyTime is when the IKE SA is rekeyed after it is made, less a
	// random tenth; 0 means 4 h, negative never.
	RekeyTime time.Duration

	// Children are the CHILD_SAs: the first is negotiated with IKE_AUTH,
	// the rest with CREATE_CHILD_SA. As responder, the child whose selectors
	// fit the peer's proposal is used.
	Children []*ChildConfig
}

// Version selects the IKE versions of a connection, as swanctl's version.
type Version uint8

// IKE versions.
const (
	// VersionIKEv2 is IKEv2 (RFC 7296) alone, the default.
	VersionIKEv2 Version = iota
	// VersionIKEv1 is IKEv1 (RFC 2409) alone (see the package doc for
	// what of it is implemented). As initiator a connection negotiates
	// each CHILD_SA's first local and remote selector.
	VersionIKEv1
	// VersionAny accepts either version from the peer (an IKEv2 initiator
	// is used to initiate).
	VersionAny
)

// String returns the name used in configuration files and logs.
func (v Version) String() string {
	switch v {
	case VersionIKEv2:
		return "2"
	case VersionIKEv1:
		return "1"
	case VersionAny:
		return "any"
	}
	return fmt.Sprintf("Version(%d)", uint8(v))
}

// speaks reports whether the connection accepts IKE major version major.
func (p *PeerConfig) speaks(major uint8) bool {
	switch major {
	case 1:
		return p.Version == VersionIKEv1 || p.Version == VersionAny
	case 2:
		return p.Version == VersionIKEv2 || p.Version == VersionAny
	}
	return false
}

// DPDAction is what happens to an IKE SA whose peer is found dead, and to
// one that failed otherwise (a retransmission timeout, a hard expiry).
type DPDAction uint8

// DPD actions, as strongSwan's dpd_action.
const (
	// DPDClear closes the IKE SA and gives its virtual IPs back.
	DPDClear DPDAction = iota
	// DPDHold closes it and installs trap policies for its CHILD_SAs:
	// the next packet that matches renegotiates.
	DPDHold
	// DPDRestart closes it and initiates it again at once.
	DPDRestart
)

// String returns the name used in configuration files and logs.
func (a DPDAction) String() string {
	switch a {
	case DPDClear:
		return "clear"
	case DPDHold:
		return "hold"
	case DPDRestart:
		return "restart"
	}
	return fmt.Sprintf("DPDAction(%d)", uint8(a))
}

// Uniqueness is the policy for several IKE SAs of one remote identity.
type Uniqueness uint8

// Uniqueness policies, as strongSwan's unique.
const (
	UniqueNo Uniqueness = iota
	UniqueReplace
	UniqueKeep
)

// String returns the name used in configuration files and logs.
func (u Uniqueness) String() string {
	switch u {
	case UniqueNo:
		return "no"
	case UniqueReplace:
		return "replace"
	case UniqueKeep:
		return "keep"
	}
	return fmt.Sprintf("Uniqueness(%d)", uint8(u))
}

// StartAction is what a Manager does with a connection when it starts.
type StartAction uint8

// Start actions, as strongSwan's start_action.
const (
	// StartNone waits for the peer ("add").
	StartNone StartAction = iota
	// StartInitiate initiates the connection ("start").
	StartInitiate
	// StartTrap installs trap policies for the CHILD_SAs: the first packet
	// that matches initiates ("route", "trap").
	StartTrap
)

// String returns the name used in configuration files and logs.
func (a StartAction) String() string {
	switch a {
	case StartNone:
		return "none"
	case StartInitiate:
		return "start"
	case StartTrap:
		return "trap"
	}
	return fmt.Sprintf("StartAction(%d)", uint8(a))
}

// ChildConfig is one CHILD_SA: traffic selectors, ESP proposals and mode.
type ChildConfig struct {
	Name string
	// LocalTS and RemoteTS are the traffic selectors of each side. Empty
	// LocalTS means our own address; empty RemoteTS means the peer's
	// virtual IPs, or its address when it has none ("dynamic").
	LocalTS, RemoteTS []esp.Selector
	// ESPProposals, empty meaning DefaultESPProposals; Strict as for IKE.
	ESPProposals []Proposal
	Strict       bool
	// Mode is esp.ModeTunnel (the zero value) or esp.ModeTransport.
	Mode esp.Mode
	// IPComp proposes or accepts IPComp (RFC 3173) with DEFLATE.
	IPComp bool
	// Lifetime limits the SAs; the zero value is unlimited.
	Lifetime esp.Lifetime
	// ReplayWindow is the inbound anti-replay window in packets; 0 means
	// 1024, negative turns replay protection off.
	ReplayWindow int
}

// ikeProposals returns the proposals we offer or accept.
func (p *PeerConfig) ikeProposals() []Proposal {
	if len(p.IKEProposals) == 0 {
		return DefaultIKEProposals()
	}
	if p.Strict {
		return p.IKEProposals
	}
	return AppendDefaults(p.IKEProposals, wire.ProtocolIKE)
}

// espProposals returns the ESP proposals we offer or accept.
func (c *ChildConfig) espProposals() []Proposal {
	if len(c.ESPProposals) == 0 {
		return DefaultESPProposals()
	}
	if c.Strict {
		return c.ESPProposals
	}
	return AppendDefaults(c.ESPProposals, wire.ProtocolESP)
}

func (c *ChildConfig) replayWindow() int {
	switch {
	case c.ReplayWindow == 0:
		return 1024
	case c.ReplayWindow < 0:
		return 0
	}
	return c.ReplayWindow
}

// matchesAddrs reports whether the connection may be used between local
// and remote.
func (p *PeerConfig) matchesAddrs(local, remote netip.Addr) bool {
	in := func(ps []netip.Prefix, a netip.Addr) bool {
		if len(ps) == 0 {
			return true
		}
		for _, p := range ps {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	return in(p.LocalAddrs, local) && in(p.RemoteAddrs, remote)
}

// Validate checks the configuration; each error names the connection and
// the field.
func (c *Config) Validate() error {
	var errs []error
	if c.Dataplane == nil {
		errs = append(errs, errors.New("ike: Config.Dataplane is required"))
	}
	if c.Sender == nil {
		errs = append(errs, errors.New("ike: Config.Sender is required"))
	}
	names := map[string]bool{}
	for i, p := range c.Peers {
		if p == nil {
			errs = append(errs, fmt.Errorf("ike: Peers[%d] is nil", i))
			continue
		}
		if p.Name == "" {
			errs = append(errs, fmt.Errorf("ike: Peers[%d]: empty name", i))
		} else if names[p.Name] {
			errs = append(errs, fmt.Errorf("ike: connection %q: duplicate name", p.Name))
		}
		names[p.Name] = true
		if err := p.validate(c.Pools); err != nil {
			errs = append(errs, fmt.Errorf("ike: connection %q: %w", p.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (p *PeerConfig) validate(pools Pools) error {
	var errs []error
	for _, side := range []struct {
		name string
		a    *AuthConfig
	}{{"local", &p.Local}, {"remote", &p.Remote}} {
		switch side.a.Method {
		case AuthPSK:
			if len(side.a.PSK) == 0 {
				errs = append(errs, fmt.Errorf("%s auth: psk without a key", side.name))
			}
		case AuthEAP:
			switch {
			case side.name == "local" && (side.a.EAPIdentity == "" || len(side.a.EAPSecret) == 0):
				errs = append(errs, errors.New("local auth: eap needs EAPIdentity and EAPSecret"))
			case side.name == "local" && p.Remote.Method != AuthPubKey:
				errs = append(errs, errors.New("local auth eap: the remote end must authenticate with a certificate"))
			case side.name == "local" && p.Version != VersionIKEv2:
				errs = append(errs, errors.New("local auth eap: IKEv2 only"))
			case side.name == "local":
			case side.a.EAPPassword == nil:
				errs = append(errs, errors.New("remote auth: eap needs EAPPassword"))
			case p.Local.Method != AuthPubKey:
				errs = append(errs, errors.New("remote auth eap: the local end must authenticate with a certificate"))
			}
		case AuthXAuth:
			if side.name == "local" || p.Version == VersionIKEv2 || side.a.XAuthPassword == nil || p.Local.Method != AuthPubKey {
				errs = append(errs, errors.New("auth xauth (hybrid) is for the remote end of IKEv1, with XAuthPassword and a local certificate"))
			}
		case AuthPubKey:
			if side.name == "local" && (len(side.a.Certificates) == 0 || side.a.Key == nil) {
				errs = append(errs, errors.New("local auth: pubkey needs a certificate and its key"))
			}
			if side.name == "remote" && len(side.a.CAs) == 0 {
				errs = append(errs, errors.New("remote auth: pubkey needs at least one CA"))
			}
		default:
			errs = append(errs, fmt.Errorf("%s auth: unknown method %v", side.name, side.a.Method))
		}
	}
	for _, name := range p.Pools {
		found := false
		for _, pl := range pools {
			found = found || pl.Name() == name
		}
		if !found {
			errs = append(errs, fmt.Errorf("pools: no pool %q", name))
		}
	}
	if len(p.Children) == 0 {
		errs = append(errs, errors.New("children: at least one CHILD_SA is needed"))
	}
	if (p.StartAction != StartNone || p.DPDAction != DPDClear) && (!p.RemoteHost.IsValid() || !p.LocalAddr.IsValid()) {
		errs = append(errs, fmt.Errorf("start action %v and DPD action %v initiate: they need RemoteHost and LocalAddr", p.StartAction, p.DPDAction))
	}
	if p.StartAction > StartTrap {
		errs = append(errs, fmt.Errorf("unknown start action %v", p.StartAction))
	}
	if p.DPDAction > DPDRestart {
		errs = append(errs, fmt.Errorf("unknown DPD action %v", p.DPDAction))
	}
	if p.DPDDelay < 0 {
		errs = append(errs, fmt.Errorf("negative DPD delay %v", p.DPDDelay))
	}
	if p.Version > VersionAny {
		errs = append(errs, fmt.Errorf("unknown IKE version %v", p.Version))
	}
	if p.Version != VersionIKEv2 {
		switch {
		case p.Local.Method == AuthPSK && p.Remote.Method != AuthPSK:
			errs = append(errs, errors.New("IKEv1: with a local psk the remote end uses the psk too"))
		case p.Local.Method == AuthPubKey && p.Remote.Method != AuthPubKey && p.Remote.Method != AuthXAuth:
			errs = append(errs, errors.New("IKEv1: with a local certificate the remote end uses a certificate or xauth (hybrid)"))
		case p.Local.Method == AuthPubKey && p.Local.Key != nil && keyTypeOf(p.Local.Key.Public()) != sigKeyRSA &&
			(p.Remote.Method == AuthXAuth || p.Remote.XAuthPassword != nil || p.Local.XAuthUser != ""):
			errs = append(errs, errors.New("IKEv1: XAuth and hybrid with certificates take RSA keys only"))
		case p.Local.Method == AuthPubKey && p.Local.Key != nil && keyTypeOf(p.Local.Key.Public()) != sigKeyRSA:
			if k, ok := p.Local.Key.Public().(*ecdsa.PublicKey); !ok {
				errs = append(errs, errors.New("IKEv1: certificates with RSA or ECDSA keys"))
			} else if _, ok := curveOf(k); !ok {
				errs = append(errs, errors.New("IKEv1: ECDSA keys on P-256, P-384 or P-521"))
			}
		}
	}
	if p.Aggressive && (p.Version == VersionIKEv2 || p.Local.Method != AuthPSK) {
		errs = append(errs, errors.New("aggressive mode: IKEv1 with a PSK only"))
	}
	if p.ModeConfigPush && p.Version == VersionIKEv2 {
		errs = append(errs, errors.New("mode config push: IKEv1 only"))
	}
	if p.Remote.XAuthPassword != nil && p.Version == VersionIKEv2 {
		errs = append(errs, errors.New("remote auth: XAuth is IKEv1 only"))
	}
	switch {
	case p.Local.XAuthUser != "" && p.Version == VersionIKEv2:
		errs = append(errs, errors.New("local auth: XAuth is IKEv1 only"))
	case p.Local.XAuthUser != "" && p.Local.Method != AuthPSK && p.Local.Method != AuthPubKey:
		errs = append(errs, errors.New("local auth: XAuth follows a PSK or a certificate"))
	case p.Remote.XAuthUser != "" || len(p.Remote.XAuthSecret) > 0:
		errs = append(errs, errors.New("remote auth: XAuthUser and XAuthSecret are our own account (local)"))
	}
	for i, c := range p.Children {
		if c == nil {
			errs = append(errs, fmt.Errorf("children[%d] is nil", i))
			continue
		}
		if c.Mode != esp.ModeTunnel && c.Mode != esp.ModeTransport {
			errs = append(errs, fmt.Errorf("child %q: unknown mode %v", c.Name, c.Mode))
		}
		if c.IPComp && p.Version == VersionIKEv1 {
			errs = append(errs, fmt.Errorf("child %q: IPComp is negotiated over IKEv2 only", c.Name))
		}
		for _, pr := range c.ESPProposals {
			if pr.Protocol != wire.ProtocolESP {
				errs = append(errs, fmt.Errorf("child %q: proposal %v is not for ESP", c.Name, pr))
			}
		}
	}
	return errors.Join(errs...)
}
