package main

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ikego/ikego"
	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike"
	"github.com/ikego/ikego/pki"
	"github.com/ikego/ikego/tun"
)

// defaultSocket is where the control socket is by default.
const defaultSocket = "/run/ikego/roadwarrior.sock"

// Limits of the control protocol.
const (
	maxRequest     = 64 << 10         // bytes of one request
	requestTimeout = 10 * time.Second // to read a request, and to write a response
	upTimeout      = 30 * time.Second // up and restart wait this long for ESTABLISHED
	downTimeout    = 10 * time.Second // down and restart wait this long for the deletes
	pollInterval   = 50 * time.Millisecond
)

// Request is one request on the control socket.
//
// # Protocol
//
// The control socket is a Unix stream socket (-socket, default
// /run/ikego/roadwarrior.sock) of mode 0600, in a directory that the server
// creates with mode 0700 when it is missing. The server asks the kernel who
// connected (SO_PEERCRED) and answers only root and its own user; anyone
// else gets a Response with an Error and the connection is closed.
//
// A client connects, writes one Request as a JSON object and reads one
// Response as a JSON object; then the server closes the connection. The
// verbs, with the Request field they need:
//
//	list                Response.Connections: every connection of the running
//	                    configuration in file order, disabled ones too
//	info    Name        Response.Info: the connection with its IKE and CHILD
//	                    SAs, algorithms, traffic counters, virtual IPs,
//	                    uptime and rekey times
//	up      Name        initiate the connection and wait (30 s at most) until
//	                    it is ESTABLISHED; an error for a disabled connection
//	                    and for one that cannot initiate: host-to-net, or
//	                    net-to-net without the peer's address in remote_addrs
//	down    Name        delete the connection's IKE SAs, telling the peers, and
//	                    wait (10 s at most) until they are gone
//	restart Name        down, then up if the connection can initiate
//	enable  Name        load the connection; the file gets "enabled: true"
//	                    where it said false
//	disable Name        delete its IKE SAs and unload it (new ones are
//	                    refused); the file gets "enabled: false"
//	delete  Name        delete its IKE SAs and remove it from the running
//	                    configuration and from the file
//	reload              read the file again and apply it (see below)
//	ca                  Response.CA: the CA certificates of the server, PEM
//
// enable, disable and delete write the file back atomically (a temporary
// file in the same directory, synced, renamed over it, the directory
// synced), changing only the lines of that connection: comments, blank
// lines and the other settings stay as they are. The last enabled
// connection cannot be disabled or deleted (a server has at least one).
//
// reload applies the file as if the server started with it, keeping what
// is running where the file did not change it: connections that are the
// same keep their IKE SAs; new connections are loaded; changed ones (any
// field but remark, the definition of a pool they use, dpd_delay or pki, or
// the certificates, CAs or key read from the files they name) lose their
// IKE SAs and are loaded with the new settings; removed and newly disabled
// ones lose their IKE SAs and are unloaded. Pools whose name and range stay
// are the same pools, so clients keep their leases. The routes into the
// TUN device follow the pools and net-to-net remote_ts in use. Connections
// with start_action start that are new or changed are initiated; trap
// policies are installed at start-up only (a warning says so). A new CRL
// alone goes to new IKE SAs without deleting any. Listen addresses, the TUN
// device and the log are set at start-up: a change to them is reported as
// a warning. A file with errors changes nothing: the Response has Error
// and, in Errors, each mistake as "FILE:LINE: field.path: reason".
//
// The ca verb answers with the CA of the PKI store (pki.dir), when there is
// one, followed by the CAs the enabled connections accept client
// certificates from (remote.cacerts, remote.ca_file), each once: the
// certificates a client needs to trust the server when the server's
// certificate comes from the same CA, as with "roadwarrior pki init-ca"
// and "pki issue".
type Request struct {
	// Verb is one of the verbs above.
	Verb string `json:"verb"`
	// Name is the connection of info, up, down, restart, enable, disable
	// and delete.
	Name string `json:"name,omitempty"`
}

// Response is the answer to a Request. Error is empty on success.
type Response struct {
	// Error says why the request failed; empty on success.
	Error string `json:"error,omitempty"`
	// Errors are the mistakes in the configuration behind Error, one per
	// field: "FILE:LINE: field.path: reason".
	Errors []string `json:"errors,omitempty"`
	// Message is a line for the operator about what was done.
	Message string `json:"message,omitempty"`
	// Warnings are what was done but needs attention (a setting that takes
	// effect at the next start, a connection with start_action start that
	// could not be initiated).
	Warnings []string `json:"warnings,omitempty"`
	// Now is the server's time of the answer, for uptimes and rekey times.
	Now time.Time `json:"now,omitzero"`
	// Connections is the answer to list.
	Connections []ConnStatus `json:"connections,omitempty"`
	// Info is the answer to info.
	Info *ConnInfo `json:"info,omitempty"`
	// Reload says what reload, enable, disable and delete changed.
	Reload *ReloadResult `json:"reload,omitempty"`
	// CA is the answer to ca: PEM certificates.
	CA string `json:"ca,omitempty"`
}

// Connection states in ConnStatus.Status.
const (
	StatusClosed      = "Closed"
	StatusConnecting  = "Connecting"
	StatusEstablished = "Established"
)

// ConnStatus is one line of the connection table.
type ConnStatus struct {
	Name string `json:"name"`
	// Type is host-to-net or net-to-net.
	Type string `json:"type"`
	// CommonName is whom the connection is for: the CN of remote.id when
	// that is a distinguished name, else remote.id itself; "" means any
	// identity (the CA decides, or the PSK).
	CommonName string `json:"common_name"`
	Remark     string `json:"remark,omitempty"`
	// Enabled is false for a connection that is checked but not loaded.
	Enabled bool `json:"enabled"`
	// Status is Established when an IKE SA of the connection is, else
	// Connecting when one is being set up, else Closed.
	Status string `json:"status"`
	// Clients counts the peers with an established IKE SA of the
	// connection (by identity and address, so that an IKE SA and its
	// rekeyed successor count once).
	Clients int `json:"clients"`
}

// ConnInfo is the answer to info: the connection's settings and its SAs.
type ConnInfo struct {
	ConnStatus
	// Local and Remote are the authentication: method and identity.
	Local  string `json:"local"`
	Remote string `json:"remote"`
	// LocalTS and RemoteTS are the configured traffic selectors; RemoteTS
	// is empty for host-to-net (a client's virtual IP).
	LocalTS  []string `json:"local_ts,omitempty"`
	RemoteTS []string `json:"remote_ts,omitempty"`
	// Pools are the virtual IP pools.
	Pools []string `json:"pools,omitempty"`
	// StartAction is none, start or trap.
	StartAction string `json:"start_action"`
	// Initiates is true when up can initiate it (it has remote_addrs).
	Initiates bool `json:"initiates"`
	// IKESAs are the IKE SAs, oldest first.
	IKESAs []IKESAStatus `json:"ike_sas"`
}

// IKESAStatus is an IKE SA in ConnInfo.
type IKESAStatus struct {
	// ID numbers the IKE SAs of the server (charon's #N).
	ID uint64 `json:"id"`
	// State is CONNECTING, ESTABLISHED, DELETING or CLOSED.
	State     string `json:"state"`
	Initiator bool   `json:"initiator"`
	// Version is the IKE version, 1 or 2; XAuthUser the user an IKEv1
	// client logged in as.
	Version   int    `json:"version"`
	XAuthUser string `json:"xauth_user,omitempty"`
	// SPIi and SPIr are the IKE SPIs in 16 hex digits.
	SPIi     string `json:"spi_i"`
	SPIr     string `json:"spi_r"`
	Local    string `json:"local"`
	Remote   string `json:"remote"`
	RemoteID string `json:"remote_id,omitempty"`
	// RemoteNAT is true when the peer is behind a NAT, LocalNAT when we are.
	RemoteNAT bool     `json:"remote_nat,omitempty"`
	LocalNAT  bool     `json:"local_nat,omitempty"`
	VIPs      []string `json:"vips,omitempty"`
	// Proposal is the selected IKE proposal in charon's form.
	Proposal    string    `json:"proposal,omitempty"`
	Established time.Time `json:"established,omitzero"`
	// RekeyFrom and RekeyBy bound when the IKE SA is rekeyed: the rekey
	// time of the connection (4 h) less a random tenth. Zero when it is
	// never rekeyed or not established.
	RekeyFrom time.Time      `json:"rekey_from,omitzero"`
	RekeyBy   time.Time      `json:"rekey_by,omitzero"`
	ChildSAs  []ChildSAState `json:"child_sas,omitempty"`
}

// ChildSAState is a CHILD_SA in IKESAStatus.
type ChildSAState struct {
	Name string `json:"name"`
	// InSPI and OutSPI are the ESP SPIs in 8 hex digits.
	InSPI    string   `json:"in_spi"`
	OutSPI   string   `json:"out_spi"`
	Proposal string   `json:"proposal,omitempty"`
	Mode     string   `json:"mode"`
	LocalTS  []string `json:"local_ts"`
	RemoteTS []string `json:"remote_ts"`
	// Installed is when the SAs were installed.
	Installed time.Time `json:"installed,omitzero"`
	// RekeyFrom and RekeyBy bound the rekey by time: rekey_time (1 h)
	// less a random part of the gap to life_time. Zero without a time
	// limit.
	RekeyFrom time.Time `json:"rekey_from,omitzero"`
	RekeyBy   time.Time `json:"rekey_by,omitzero"`
	// Traffic of the inbound and outbound SA: ESP payload bytes (after
	// IPComp) and packets.
	BytesIn    uint64 `json:"bytes_in"`
	PacketsIn  uint64 `json:"packets_in"`
	BytesOut   uint64 `json:"bytes_out"`
	PacketsOut uint64 `json:"packets_out"`
	// L2TP are the L2TP/IPsec calls the CHILD_SA carries (type l2tp).
	L2TP []L2TPCall `json:"l2tp,omitempty"`
}

// L2TPCall is a PPP call of an L2TP/IPsec client in ChildSAState.
type L2TPCall struct {
	// User is the PPP user, once authenticated; Addr the address PPP
	// gave, once given; Up is true when packets flow.
	User string `json:"user,omitempty"`
	Addr string `json:"addr,omitempty"`
	Up   bool   `json:"up"`
}

// ReloadResult lists the connections by what a change of the
// configuration did to them.
type ReloadResult struct {
	// Added are loaded now; Changed lost their IKE SAs and run with the new
	// settings (or were disabled or enabled); Removed are gone with their
	// IKE SAs; Unchanged kept theirs.
	Added     []string `json:"added,omitempty"`
	Changed   []string `json:"changed,omitempty"`
	Removed   []string `json:"removed,omitempty"`
	Unchanged []string `json:"unchanged,omitempty"`
	// Terminated counts the IKE SAs deleted.
	Terminated int `json:"terminated,omitempty"`
}

// controlConfig is what the control socket serves.
type controlConfig struct {
	// Socket is the path of the socket; "" turns the control socket off.
	Socket string
	// ConfigPath is the configuration file: reload reads it, enable,
	// disable and delete write it.
	ConfigPath string
	// Config is the configuration the server runs, Runtime its build.
	Config  *Config
	Runtime *Runtime
	Gateway *ikego.Gateway
	// TUN is the name of the TUN device, for the routes of pools that
	// reload adds; "" changes no routes.
	TUN string
	Log *slog.Logger
	// OnChange, when set, is told the new build after a reload, enable,
	// disable or delete changed the running configuration (the metrics
	// follow the pools this way).
	OnChange func(*Runtime)
}

// ikeControl is what the control socket needs of the IKE daemon.
type ikeControl interface {
	Initiate(name string) error
	Terminate(name string) int
	Unroute(name string) int
	Route(name string) error
	SAs() []ike.SAInfo
	Update(peers []*ike.PeerConfig, pools ike.Pools) error
}

var _ ikeControl = (*ike.Manager)(nil)

// routeTable adds and removes the routes into the TUN device.
type routeTable interface {
	AddRoute(p netip.Prefix) error
	DelRoute(p netip.Prefix) error
}

// tunRoutes is the routeTable of a TUN device.
type tunRoutes struct {
	dev   string
	table int
}

func (r tunRoutes) AddRoute(p netip.Prefix) error {
	if err := tun.AddRoute(r.dev, p, r.table); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

func (r tunRoutes) DelRoute(p netip.Prefix) error { return tun.DelRoute(r.dev, p, r.table) }

// controller holds the running configuration and carries out the verbs.
// Its methods are safe for concurrent use: mu guards the configuration
// and is held for each change, from the build to the write-back, but not
// while a verb waits for the peers.
type controller struct {
	ike   ikeControl
	usage func(k esp.SAKey) (packets, bytes uint64, ok bool)
	// l2tp lists the calls of the L2TP service; nil without one.
	l2tp   func() []ikego.L2TPSession
	routes routeTable // nil: routes are not changed
	path   string
	log    *slog.Logger
	now    func() time.Time

	// onChange is told each new Runtime.
	onChange func(*Runtime)

	mu  sync.Mutex
	cfg *Config  // the running configuration, disabled connections too
	rt  *Runtime // its build: rt.IKE.Peers and Pools are the Manager's
	// boot are the settings that take effect only at start-up.
	boot bootSettings
}

// bootSettings are the parts of a Config that a running server cannot
// change.
type bootSettings struct {
	listen List
	tun    TUNConfig
	log    LogConfig
}

func bootOf(cfg *Config) bootSettings {
	return bootSettings{listen: cfg.Listen, tun: cfg.TUN, log: cfg.Log}
}

// newController returns a controller for a running server.
func newController(cfg *Config, rt *Runtime, mgr ikeControl, path string, log *slog.Logger) *controller {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &controller{ike: mgr, path: path, log: log, now: time.Now, cfg: cfg, rt: rt, boot: bootOf(cfg),
		usage: func(esp.SAKey) (uint64, uint64, bool) { return 0, 0, false }}
}

// startControl opens the control socket and serves it until Close. With
// no socket it returns a nil *controlServer, whose Close does nothing.
func startControl(c controlConfig) (*controlServer, error) {
	if c.Socket == "" {
		return nil, nil
	}
	if c.Config == nil || c.Runtime == nil || c.Gateway == nil {
		return nil, errors.New("control: the configuration and the gateway are required")
	}
	// The controller's own copy of the Runtime: it replaces the connections
	// and pools, the caller's stays as it started.
	rt := *c.Runtime
	ikeCfg := *rt.IKE
	rt.IKE = &ikeCfg
	mgr := c.Gateway.IKE()
	if peers, changed := initiators(c.Config, &rt); changed {
		if err := mgr.Update(peers, ikeCfg.Pools); err != nil {
			return nil, fmt.Errorf("control: %w", err)
		}
		ikeCfg.Peers = peers
	}
	ctl := newController(c.Config, &rt, mgr, c.ConfigPath, c.Log)
	ctl.onChange = c.OnChange
	eng := c.Gateway.Engine()
	ctl.usage = func(k esp.SAKey) (uint64, uint64, bool) {
		sa, ok := eng.SA(k)
		if !ok {
			return 0, 0, false
		}
		p, b := sa.Usage()
		return p, b, true
	}
	if svc := c.Gateway.L2TP(); svc != nil {
		ctl.l2tp = svc.Sessions
	}
	if c.TUN != "" {
		ctl.routes = tunRoutes{dev: c.TUN, table: c.Runtime.TUN.Table}
	}
	return serveControl(c.Socket, ctl, ctl.log)
}

// initiators returns the connections of rt with the addresses to initiate
// to and from filled in for the net-to-net connections with start_action
// none, so that up can initiate them as swanctl --initiate does (Build
// fills them in for start_action start and trap only): the first single
// address of remote_addrs, and of local_addrs in its family or else the
// one listen address of that family. It copies the PeerConfigs it
// changes and reports whether it did.
func initiators(cfg *Config, rt *Runtime) ([]*ike.PeerConfig, bool) {
	peers := slices.Clone(rt.IKE.Peers)
	changed := false
	for i, p := range peers {
		j := slices.IndexFunc(cfg.Connections, func(c *Connection) bool { return c.Name == p.Name })
		if p.RemoteHost.IsValid() || j < 0 || cfg.Connections[j].Type != "net-to-net" {
			continue
		}
		var remote netip.AddrPort
		for _, r := range p.RemoteAddrs {
			if r.IsSingleIP() {
				remote = netip.AddrPortFrom(r.Addr(), 500)
				break
			}
		}
		if !remote.IsValid() {
			continue
		}
		family := remote.Addr().BitLen()
		var local netip.Addr
		for _, l := range p.LocalAddrs {
			if l.IsSingleIP() && l.Addr().BitLen() == family {
				local = l.Addr()
				break
			}
		}
		if !local.IsValid() {
			var cands []netip.Addr
			for _, a := range rt.Listen {
				if a.BitLen() == family {
					cands = append(cands, a)
				}
			}
			if len(cands) == 1 {
				local = cands[0]
			}
		}
		if !local.IsValid() {
			continue
		}
		n := *p
		n.RemoteHost, n.LocalAddr = remote, local
		peers[i] = &n
		changed = true
	}
	return peers, changed
}

// controlServer serves a controller on a Unix socket.
type controlServer struct {
	ln     *net.UnixListener
	path   string
	ctl    *controller
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// serveControl listens on path and serves ctl until Close.
func serveControl(path string, ctl *controller, log *slog.Logger) (*controlServer, error) {
	ln, err := listenControl(path)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &controlServer{ln: ln, path: path, ctl: ctl, log: log, ctx: ctx, cancel: cancel}
	s.wg.Add(1)
	go s.accept()
	log.Info("control socket ready", "socket", path)
	return s, nil
}

// listenControl makes the socket: the directory with mode 0700 when it
// is missing, a stale socket replaced, the socket mode 0600.
func listenControl(path string) (*net.UnixListener, error) {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("control socket: %w", err)
		}
		if err := os.Chmod(dir, 0o700); err != nil { // whatever the umask
			return nil, fmt.Errorf("control socket: %w", err)
		}
	}
	if st, err := os.Lstat(path); err == nil {
		if st.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("control socket: %s exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("control socket: %s: another server is listening on it", path)
		}
		os.Remove(path) // stale, from a server that did not end cleanly
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return ln, nil
}

// Close stops accepting, cancels the waits of the requests being served,
// waits for them and removes the socket.
func (s *controlServer) Close() error {
	if s == nil {
		return nil
	}
	var err error
	s.once.Do(func() {
		s.cancel()
		err = s.ln.Close() // removes the socket file
		s.wg.Wait()
	})
	return err
}

func (s *controlServer) accept() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || s.ctx.Err() != nil {
				return
			}
			s.log.Warn("control socket: accept", "err", err)
			select { // out of descriptors, say: give the requests time to end
			case <-s.ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		s.wg.Add(1)
		go s.serve(conn)
	}
}

// serve answers one request.
func (s *controlServer) serve(conn *net.UnixConn) {
	defer s.wg.Done()
	defer conn.Close()
	// The request's waits end with the server.
	stop := context.AfterFunc(s.ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	write := func(r Response) {
		conn.SetWriteDeadline(time.Now().Add(requestTimeout))
		json.NewEncoder(conn).Encode(r)
	}
	uid, pid, err := peerCred(conn)
	if err != nil || !allowedPeer(uid) {
		s.log.Warn("control socket: refused a peer that is not root", "uid", uid, "pid", pid, "err", errString(err))
		write(Response{Error: fmt.Sprintf("permission denied: the control socket is for root (you are uid %d)", uid)})
		return
	}
	conn.SetReadDeadline(time.Now().Add(requestTimeout))
	var req Request
	if err := json.NewDecoder(io.LimitReader(conn, maxRequest)).Decode(&req); err != nil {
		write(Response{Error: "bad request: " + err.Error()})
		return
	}
	conn.SetReadDeadline(time.Time{})
	if req.Verb != "list" && req.Verb != "info" && req.Verb != "ca" {
		s.log.Info("control request", "verb", req.Verb, "conn", req.Name, "uid", uid, "pid", pid)
	}
	write(s.ctl.do(s.ctx, req))
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// allowedPeer reports whether a peer with this uid may use the socket:
// root, or the user the server runs as.
func allowedPeer(uid uint32) bool { return uid == 0 || uid == uint32(os.Geteuid()) }

// do carries out a request.
func (c *controller) do(ctx context.Context, req Request) Response {
	needName := func() (Response, bool) {
		if req.Name == "" {
			return Response{Error: req.Verb + " needs a connection name"}, false
		}
		return Response{}, true
	}
	switch req.Verb {
	case "list":
		return c.list()
	case "reload":
		return c.reload()
	case "ca":
		return c.ca()
	case "info", "up", "down", "restart", "enable", "disable", "delete":
		if r, ok := needName(); !ok {
			return r
		}
	default:
		return Response{Error: fmt.Sprintf("unknown verb %q", req.Verb)}
	}
	switch req.Verb {
	case "info":
		return c.info(req.Name)
	case "up":
		return c.up(ctx, req.Name)
	case "down":
		return c.down(ctx, req.Name)
	case "restart":
		return c.restart(ctx, req.Name)
	case "enable":
		return c.setEnabled(req.Name, true)
	case "disable":
		return c.setEnabled(req.Name, false)
	}
	return c.remove(req.Name)
}

// connLocked returns the connection name of the running configuration.
func (c *controller) connLocked(name string) *Connection {
	for _, cn := range c.cfg.Connections {
		if cn.Name == name {
			return cn
		}
	}
	return nil
}

// peerLocked returns the loaded connection name, nil if it is disabled.
func (c *controller) peerLocked(name string) *ike.PeerConfig {
	for _, p := range c.rt.IKE.Peers {
		if p.Name == name {
			return p
		}
	}
	return nil
}

func noConnection(name string) Response {
	return Response{Error: fmt.Sprintf("no connection %q (list shows them)", name)}
}

func isEnabled(c *Connection) bool { return c.Enabled == nil || *c.Enabled }

// status fills the run-time columns of a connection's table line.
func status(s *ConnStatus, sas []ike.SAInfo) {
	s.Status = StatusClosed
	clients := map[string]bool{}
	for _, sa := range sas {
		if sa.Peer != s.Name {
			continue
		}
		switch sa.State {
		case ike.StateEstablished:
			s.Status = StatusEstablished
			clients[sa.RemoteID.String()+" "+sa.Remote.String()] = true
		case ike.StateConnecting:
			if s.Status == StatusClosed {
				s.Status = StatusConnecting
			}
		}
	}
	s.Clients = len(clients)
}

// connStatus returns the table line of c without the run-time columns.
func connStatus(c *Connection) ConnStatus {
	typ := c.Type
	if typ == "" {
		typ = "host-to-net"
	}
	return ConnStatus{Name: c.Name, Type: typ, CommonName: commonName(c.Remote.ID), Remark: c.Remark,
		Enabled: isEnabled(c)}
}

// commonName returns the CN of a distinguished name, or the identity as
// written.
func commonName(id string) string {
	i, err := pki.ParseIdentity(id)
	if err != nil || i.Type != pki.IDTypeDERASN1DN {
		return id
	}
	var rdns pkix.RDNSequence
	if rest, err := asn1.Unmarshal(i.Data, &rdns); err != nil || len(rest) > 0 {
		return id
	}
	cn := ""
	for _, rdn := range rdns {
		for _, atv := range rdn {
			if s, ok := atv.Value.(string); ok && atv.Type.Equal(oidCommonName) {
				cn = s
			}
		}
	}
	if cn == "" || strings.Contains(cn, "*") {
		return id // a pattern says more in full
	}
	return cn
}

var oidCommonName = asn1.ObjectIdentifier{2, 5, 4, 3}

func (c *controller) list() Response {
	sas := c.ike.SAs()
	c.mu.Lock()
	defer c.mu.Unlock()
	out := []ConnStatus{}
	for _, cn := range c.cfg.Connections {
		s := connStatus(cn)
		status(&s, sas)
		out = append(out, s)
	}
	return Response{Connections: out, Now: c.now()}
}

func (c *controller) info(name string) Response {
	sas := c.ike.SAs()
	c.mu.Lock()
	defer c.mu.Unlock()
	cn := c.connLocked(name)
	if cn == nil {
		return noConnection(name)
	}
	now := c.now()
	in := &ConnInfo{ConnStatus: connStatus(cn), LocalTS: cn.LocalTS, RemoteTS: cn.RemoteTS, Pools: cn.Pools,
		StartAction: cn.StartAction, IKESAs: []IKESAStatus{}}
	status(&in.ConnStatus, sas)
	if in.StartAction == "" {
		in.StartAction = "none"
	}
	auth := func(method, id, dflt string) string {
		if method == "" {
			method = "pubkey"
		}
		if id == "" {
			id = dflt
		}
		return method + " " + id
	}
	in.Local = auth(cn.Local.Auth, cn.Local.ID, "(our address or certificate subject)")
	in.Remote = auth(cn.Remote.Auth, cn.Remote.ID, "%any")
	p := c.peerLocked(name)
	if p != nil {
		in.Initiates = p.RemoteHost.IsValid() && p.LocalAddr.IsValid()
	}
	var calls []ikego.L2TPSession
	if c.l2tp != nil {
		calls = c.l2tp()
	}
	for _, sa := range sas {
		if sa.Peer != name {
			continue
		}
		st := c.saStatus(sa, p)
		for i, ch := range sa.Children {
			for _, call := range calls {
				if call.PolicyID != ch.Policy {
					continue
				}
				lc := L2TPCall{User: call.User, Up: call.Up}
				if call.Addr.IsValid() {
					lc.Addr = call.Addr.String()
				}
				st.ChildSAs[i].L2TP = append(st.ChildSAs[i].L2TP, lc)
			}
		}
		in.IKESAs = append(in.IKESAs, st)
	}
	return Response{Info: in, Now: now}
}

// saStatus describes an IKE SA; p is the connection's loaded
// configuration (for the rekey times), nil if it is not loaded.
func (c *controller) saStatus(sa ike.SAInfo, p *ike.PeerConfig) IKESAStatus {
	st := IKESAStatus{ID: sa.ID, State: sa.State.String(), Initiator: sa.Initiator, Version: sa.Version, XAuthUser: sa.XAuthUser,
		SPIi: fmt.Sprintf("%016x", sa.SPIi), SPIr: fmt.Sprintf("%016x", sa.SPIr),
		Local: sa.Local.String(), Remote: sa.Remote.String(), RemoteNAT: sa.NAT.RemoteBehindNAT,
		LocalNAT: sa.NAT.LocalBehindNAT, Established: sa.Established}
	if sa.RemoteID.Type != 0 {
		st.RemoteID = sa.RemoteID.String()
	}
	for _, v := range sa.VIPs {
		st.VIPs = append(st.VIPs, v.String())
	}
	if sa.State == ike.StateEstablished || sa.State == ike.StateDeleting {
		st.Proposal = strings.TrimPrefix(sa.Proposal.String(), "IKE:")
	}
	if !sa.Established.IsZero() && p != nil && sa.Version != 1 { // IKEv1 clients reauthenticate
		d := 4 * time.Hour // ike.PeerConfig.RekeyTime's default
		if p.RekeyTime != 0 {
			d = p.RekeyTime
		}
		if d > 0 {
			st.RekeyFrom, st.RekeyBy = sa.Established.Add(d-d/10), sa.Established.Add(d)
		}
	}
	for _, ch := range sa.Children {
		cs := ChildSAState{Name: ch.Name, InSPI: fmt.Sprintf("%08x", ch.InSPI), OutSPI: fmt.Sprintf("%08x", ch.OutSPI),
			Proposal: strings.TrimPrefix(ch.Proposal.String(), "ESP:"), Mode: strings.ToUpper(ch.Mode.String()),
			LocalTS: selectorStrings(ch.LocalTS), RemoteTS: selectorStrings(ch.RemoteTS), Installed: ch.Installed}
		cs.PacketsIn, cs.BytesIn, _ = c.usage(ch.InSA())
		cs.PacketsOut, cs.BytesOut, _ = c.usage(ch.OutSA())
		if p != nil && !ch.Installed.IsZero() {
			for _, cc := range p.Children {
				if cc.Name != ch.Name {
					continue
				}
				// As the IKE daemon: 1 h and 1 h 6 min when neither is set;
				// the rekey comes up to the gap to the hard limit early.
				soft, hard := cc.Lifetime.SoftTime, cc.Lifetime.HardTime
				if soft == 0 && hard == 0 {
					soft, hard = time.Hour, time.Hour+6*time.Minute
				}
				if soft > 0 {
					early := time.Duration(0)
					if hard > soft {
						early = hard - soft
					}
					cs.RekeyFrom, cs.RekeyBy = ch.Installed.Add(soft-early), ch.Installed.Add(soft)
				}
			}
		}
		st.ChildSAs = append(st.ChildSAs, cs)
	}
	return st
}

func selectorStrings(ss []esp.Selector) []string {
	out := []string{}
	for _, s := range ss {
		out = append(out, s.String())
	}
	return out
}

// saIDs returns the IDs of the IKE SAs of connection name that are not
// closed.
func saIDs(sas []ike.SAInfo, name string) map[uint64]ike.State {
	ids := map[uint64]ike.State{}
	for _, sa := range sas {
		if sa.Peer == name && sa.State != ike.StateClosed {
			ids[sa.ID] = sa.State
		}
	}
	return ids
}

// wait polls the IKE SAs until done says so, ctx ends or d passes; it
// reports whether done did.
func (c *controller) wait(ctx context.Context, d time.Duration, done func([]ike.SAInfo) bool) bool {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		if done(c.ike.SAs()) {
			return true
		}
		select {
		case <-ctx.Done():
			return done(c.ike.SAs())
		case <-t.C:
		}
	}
}

func (c *controller) up(ctx context.Context, name string) Response {
	c.mu.Lock()
	cn, p := c.connLocked(name), c.peerLocked(name)
	c.mu.Unlock()
	switch {
	case cn == nil:
		return noConnection(name)
	case p == nil:
		return Response{Error: fmt.Sprintf("connection %q is disabled (enable it first)", name)}
	case (!p.RemoteHost.IsValid() || !p.LocalAddr.IsValid()) && cn.Type != "net-to-net":
		return Response{Error: fmt.Sprintf("connection %q cannot initiate: a host-to-net connection waits for its clients", name)}
	case !p.RemoteHost.IsValid() || !p.LocalAddr.IsValid():
		return Response{Error: fmt.Sprintf("connection %q cannot initiate: it needs the peer's address in remote_addrs "+
			"and ours in local_addrs (or a single listen address)", name)}
	}
	before := saIDs(c.ike.SAs(), name)
	if err := c.ike.Initiate(name); err != nil {
		return Response{Error: fmt.Sprintf("initiating %q: %s", name, strings.TrimPrefix(err.Error(), "ike: "))}
	}
	var up *ike.SAInfo
	seen := map[uint64]bool{}
	failed := false
	c.wait(ctx, upTimeout, func(sas []ike.SAInfo) bool {
		live := false
		for _, sa := range sas {
			if sa.Peer != name || before[sa.ID] != 0 {
				continue
			}
			switch sa.State {
			case ike.StateEstablished:
				up = &sa
				return true
			case ike.StateConnecting:
				seen[sa.ID] = true
				live = true
			}
		}
		// The new IKE SA was there and is gone or closed: it failed.
		failed = len(seen) > 0 && !live
		return failed
	})
	switch {
	case up != nil:
		return Response{Message: fmt.Sprintf("connection %q established: IKE SA #%d with %s", name, up.ID, up.Remote)}
	case failed:
		return Response{Error: fmt.Sprintf("initiating %q failed (the log has the reason)", name)}
	}
	return Response{Error: fmt.Sprintf("connection %q is not established after %v (still trying; the log has more)", name, upTimeout)}
}

func (c *controller) down(ctx context.Context, name string) Response {
	c.mu.Lock()
	cn := c.connLocked(name)
	c.mu.Unlock()
	if cn == nil {
		return noConnection(name)
	}
	n, gone := c.terminate(ctx, name)
	switch {
	case n == 0:
		return Response{Message: fmt.Sprintf("connection %q has no IKE SA", name)}
	case !gone:
		return Response{Message: fmt.Sprintf("deleting %d IKE SA(s) of %q: a peer has not confirmed yet", n, name)}
	}
	return Response{Message: fmt.Sprintf("deleted %d IKE SA(s) of %q", n, name)}
}

// terminate deletes the IKE SAs of a connection and waits until they are
// gone; it returns how many there were and whether they went in time.
func (c *controller) terminate(ctx context.Context, name string) (int, bool) {
	before := saIDs(c.ike.SAs(), name)
	n := c.ike.Terminate(name)
	if n == 0 {
		return 0, true
	}
	gone := c.wait(ctx, downTimeout, func(sas []ike.SAInfo) bool {
		for _, sa := range sas {
			if before[sa.ID] != 0 && sa.State != ike.StateClosed {
				return false
			}
		}
		return true
	})
	return n, gone
}

func (c *controller) restart(ctx context.Context, name string) Response {
	c.mu.Lock()
	cn, p := c.connLocked(name), c.peerLocked(name)
	c.mu.Unlock()
	if cn == nil {
		return noConnection(name)
	}
	n, gone := c.terminate(ctx, name)
	if p == nil || !p.RemoteHost.IsValid() || !p.LocalAddr.IsValid() {
		msg := fmt.Sprintf("deleted %d IKE SA(s) of %q; it waits for its clients to connect again", n, name)
		if p == nil {
			msg = fmt.Sprintf("deleted %d IKE SA(s) of %q; it is disabled", n, name)
		}
		return Response{Message: msg}
	}
	r := c.up(ctx, name)
	if !gone {
		r.Warnings = append(r.Warnings, "a peer did not confirm the delete of the old IKE SA")
	}
	if r.Error == "" {
		r.Message = fmt.Sprintf("deleted %d IKE SA(s); %s", n, r.Message)
	}
	return r
}

// ca returns the CA certificates: the PKI store's, then those the
// connections accept client certificates from.
// chainsTo reports whether the chain (leaf first, then intermediates)
// verifies up to one of roots.
func chainsTo(chain, roots []*x509.Certificate) bool {
	rp, ip := x509.NewCertPool(), x509.NewCertPool()
	for _, r := range roots {
		rp.AddCert(r)
	}
	for _, c := range chain[1:] {
		ip.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{Roots: rp, Intermediates: ip, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
		CurrentTime: chain[0].NotBefore.Add(time.Second)})
	return err == nil
}

func (c *controller) ca() Response {
	c.mu.Lock()
	cfg, rt := c.cfg, c.rt
	c.mu.Unlock()
	var certs []*x509.Certificate
	var warnings []string
	if cfg.PKI.Dir != "" {
		dir := cfg.PKI.Dir
		if !filepath.IsAbs(dir) && cfg.Dir != "" {
			dir = filepath.Join(cfg.Dir, dir)
		}
		cas, err := readFile(filepath.Join(dir, pki.StoreCACert), pki.ParseCertificates)
		switch {
		case err == nil && len(cas) > 0:
			certs = append(certs, cas[0])
		case !errors.Is(err, fs.ErrNotExist):
			warnings = append(warnings, fmt.Sprintf("the PKI store's CA: %v", err))
		}
	}
	for _, p := range rt.IKE.Peers {
		certs = append(certs, p.Remote.CAs...)
		// A server certificate file may hold its chain up to the root:
		// clients need the root, not the intermediates we send them.
		for _, cert := range p.Local.Certificates {
			if cert.IsCA && cert.CheckSignatureFrom(cert) == nil {
				certs = append(certs, cert)
			}
		}
	}
	var b strings.Builder
	var seen []*x509.Certificate
	for _, cert := range certs {
		if slices.ContainsFunc(seen, func(c *x509.Certificate) bool { return c.Equal(cert) }) {
			continue
		}
		seen = append(seen, cert)
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	}
	// Each server certificate must chain to one of them, or the clients
	// cannot check it.
	var warned []string
	for _, p := range rt.IKE.Peers {
		if len(p.Local.Certificates) == 0 || slices.Contains(warned, string(p.Local.Certificates[0].RawIssuer)) {
			continue
		}
		if !chainsTo(p.Local.Certificates, seen) {
			warned = append(warned, string(p.Local.Certificates[0].RawIssuer))
			warnings = append(warnings, fmt.Sprintf("connections.%s: the server certificate does not chain to a CA shown here; "+
				"clients also need the root CA of %q", p.Name, p.Local.Certificates[len(p.Local.Certificates)-1].Issuer))
		}
	}
	if b.Len() == 0 {
		return Response{Error: "no CA certificate: pki.dir has none and no connection accepts client certificates " +
			"(with pre-shared keys the clients need no CA)", Warnings: warnings}
	}
	return Response{CA: b.String(), Warnings: warnings}
}
