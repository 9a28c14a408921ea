// Command roadwarrior is ikego's VPN server: an IKEv2 and IKEv1 gateway for
// roadwarrior clients (strongSwan, and the IKEv2, IPsec XAuth and
// L2TP/IPsec clients built into Windows, macOS, iOS and Android) and for
// net-to-net tunnels, configured by one YAML file whose names follow
// strongSwan's swanctl.conf.
//
//	roadwarrior                          run on the embedded default (state in -state)
//	roadwarrior -config rw.yaml          run the gateway on a file
//	roadwarrior -config rw.yaml -check   check the file, print a summary
//	roadwarrior -metrics 127.0.0.1:9108  also serve Prometheus metrics
//	roadwarrior list | info NAME | up NAME | down NAME | restart NAME |
//	    enable NAME | disable NAME | delete NAME | reload | ca | pki ...
//	                                     control a running server (-socket)
//
// Without -config the embedded default runs: on first start it creates a
// state directory (-state, /var/lib/ikego) with a CA, a server
// certificate, a random PSK and the configuration using them, and prints
// what a client needs; later starts reuse them (default.go).
//
// It creates a TUN device with routes to the virtual IP pools (and to the
// remote subnets of net-to-net connections), listens on UDP 500 and 4500,
// serves L2TP (UDP 1701) inside the transport-mode SAs of l2tp connections,
// initiates the connections with start_action start, and logs to standard
// error. SIGINT or SIGTERM deletes the IKE SAs (the peers are told) and
// ends it with status 0. Running needs root or CAP_NET_ADMIN (and
// CAP_NET_BIND_SERVICE for the ports); -check needs neither.
//
// The file is described in config.go (type Config) and, with an example
// of every field, in roadwarrior.example.yaml. Exit status: 0 on a clean
// stop or a good -check, 1 on errors, 2 on wrong usage.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/ikego/ikego"
	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike"
	"github.com/ikego/ikego/tun"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the program with its arguments and output; it returns the exit
// status.
func run(args []string, stdout, stderr io.Writer) int {
	if isCLI(args) {
		return runCLI(args, stdout, stderr)
	}
	fs := flag.NewFlagSet("roadwarrior", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "the configuration `file` (YAML; see roadwarrior.example.yaml)")
	check := fs.Bool("check", false, "check the configuration, print a summary and exit (0: good, 1: errors)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile to this `file` until exit")
	socket := fs.String("socket", defaultSocket, "the control `socket` (Unix, root only) for the CLI verbs")
	stateDir := fs.String("state", defaultStateDir, "the state `directory` of the embedded default configuration")
	metricsAddr := fs.String("metrics", "", "serve Prometheus metrics on this `address` (e.g. 127.0.0.1:9108)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: roadwarrior [-config FILE] [-state DIR] [-check] [-socket PATH] [-metrics ADDR] [-cpuprofile FILE]\n"+
			"       roadwarrior [-socket PATH] [-json] VERB [NAME]   (roadwarrior help: the verbs)\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "roadwarrior: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	if *path == "" {
		// The embedded default: a state directory with a generated CA,
		// server certificate and PSK, and the configuration using them.
		p, err := prepareDefault(*stateDir, stdout, *check)
		if err != nil {
			fmt.Fprintln(stderr, "roadwarrior:", err)
			return 1
		}
		*path = p
	}
	cfg, err := Load(*path)
	var rt *Runtime
	if cfg != nil {
		// Certificates that connections ask to have generated are made
		// first; Build then finds them in the store.
		made, gerr := generateCerts(cfg, *path)
		for _, name := range made {
			fmt.Fprintf(stderr, "roadwarrior: generated the certificate %q in the PKI store\n", name)
		}
		rt, err = Build(cfg) // with Load's errors
		err = errors.Join(err, gerr)
		if err != nil {
			rt = nil
		}
	}
	if err != nil {
		printErrors(stderr, *path, err)
		return 1
	}
	if *check {
		summary(stdout, *path, cfg, rt)
		return 0
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(stderr, "roadwarrior:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	opts := serveOptions{configPath: *path, socket: *socket, metrics: *metricsAddr, config: cfg}
	if err := serve(rt, newLoggers(stderr, rt.Log), opts); err != nil {
		fmt.Fprintln(stderr, "roadwarrior:", err)
		return 1
	}
	return 0
}

// printErrors prints each configuration error on a line of its own,
// "FILE:LINE: path: reason".
func printErrors(w io.Writer, file string, err error) {
	errs := flatten(err)
	line := func(e error) int {
		if fe, ok := errors.AsType[*FieldError](e); ok {
			return fe.Line
		}
		return 0
	}
	slices.SortStableFunc(errs, func(a, b error) int { return line(a) - line(b) })
	for _, e := range errs {
		var fe *FieldError
		switch {
		case errors.As(e, &fe) && fe.Line > 0:
			fmt.Fprintf(w, "%s:%d: %v\n", file, fe.Line, fe)
		default:
			fmt.Fprintf(w, "%s: %v\n", file, e)
		}
	}
}

// flatten returns the errors inside joined errors.
func flatten(err error) []error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, flatten(e)...)
	}
	return out
}

// serveOptions are the settings of a running server that are not in the
// configuration file.
type serveOptions struct {
	configPath string  // the file the CLI changes are written back to
	config     *Config // the configuration rt was built from
	socket     string  // the control socket
	metrics    string  // the metrics listen address, "" for none
}

// serve runs the gateway until SIGINT or SIGTERM.
func serve(rt *Runtime, log loggers, opts serveOptions) error {
	for _, w := range rt.Warnings {
		log.cfg.Warn(w)
	}
	dev, err := tun.Create(rt.TUN)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return fmt.Errorf("creating the TUN device needs root or CAP_NET_ADMIN: run it as root "+
				"(or grant the binary cap_net_admin,cap_net_bind_service with setcap) (%v)", err)
		}
		return err
	}
	name, _ := dev.Name()
	bind, err := esp.NewUDPBind(esp.UDPBindConfig{Addrs: rt.Listen, Offload: true, Logger: log.net})
	if err != nil {
		dev.Close()
		return err
	}
	mx, err := newMetrics(opts.metrics)
	if err != nil {
		dev.Close()
		bind.Close()
		return err
	}
	defer mx.Close()
	ikeCfg := *rt.IKE
	ikeCfg.Logger = log.ike
	logEv := logEvents(log.ike)
	ikeCfg.OnEvent = func(e ike.Event) {
		logEv(e)
		mx.onEvent(e)
	}
	l2tp := newL2TPRunner(rt, log.l2tp)
	g, err := ikego.NewGateway(ikego.GatewayConfig{TUN: dev, Bind: bind, IKE: &ikeCfg, L2TP: l2tp.running, Logger: log.esp})
	if err != nil {
		dev.Close()
		bind.Close()
		return err
	}
	l2tp.gw, l2tp.tunName = g, name
	// Signals from here on are a stop request, even during start-up.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	if err := g.Start(); err != nil {
		g.Close()
		switch {
		case errors.Is(err, os.ErrPermission):
			return fmt.Errorf("listening on UDP 500 and 4500 needs root or CAP_NET_BIND_SERVICE (%v)", err)
		case errors.Is(err, syscall.EADDRINUSE):
			return fmt.Errorf("UDP 500 or 4500 is in use: is another IKE daemon (charon, pluto) running? (%v)", err)
		}
		return err
	}
	if err := mx.start(g, rt); err != nil {
		g.Close()
		return err
	}
	ctl, err := startControl(controlConfig{Socket: opts.socket, ConfigPath: opts.configPath, Config: opts.config,
		Runtime: rt, Gateway: g, TUN: name, Log: log.cfg, OnChange: func(rt *Runtime) {
			mx.update(rt)
			l2tp.update(rt)
		}})
	if err != nil {
		g.Close()
		return err
	}
	defer ctl.Close()
	listen := "all addresses"
	if rt.Listen != nil {
		listen = fmt.Sprint(rt.Listen)
	}
	var conns []string
	for _, p := range rt.IKE.Peers {
		conns = append(conns, p.Name)
	}
	log.cfg.Info("roadwarrior started", "tun", name, "routes", fmt.Sprint(rt.TUN.Routes), "listen", listen,
		"connections", strings.Join(conns, ","))
	for _, name := range rt.Start {
		if err := g.IKE().Initiate(name); err != nil {
			log.cfg.Error("initiate failed", "conn", name, "err", err)
		} else {
			log.cfg.Info("initiating", "conn", name)
		}
	}
	s := <-sig
	log.cfg.Info("stopping", "signal", s.String(), "ike_sas", len(g.IKE().SAs()))
	err = g.Close()
	if err != nil {
		log.cfg.Warn("closing the gateway", "err", err)
	}
	log.cfg.Info("stopped")
	return nil
}

// summary prints what -check found.
func summary(w io.Writer, file string, cfg *Config, rt *Runtime) {
	fmt.Fprintf(w, "%s: configuration OK\n", file)
	if rt.Listen == nil {
		fmt.Fprintln(w, "listen:      all addresses, UDP 500 and 4500")
	} else {
		fmt.Fprintf(w, "listen:      %v, UDP 500 and 4500\n", rt.Listen)
	}
	name := rt.TUN.Name
	if name == "" {
		name = "ikego%d"
	}
	fmt.Fprintf(w, "tun:         %s, mtu %d, routes %v\n", name, rt.TUN.MTU, rt.TUN.Routes)
	for _, p := range rt.IKE.Pools {
		first, last := p.Range()
		var dns []string
		for _, pc := range cfg.Pools {
			if pc.Name == p.Name() {
				dns = pc.DNS
			}
		}
		fmt.Fprintf(w, "pool %s: %s-%s (%d addresses), dns %v", p.Name(), first, last, p.Size(), dns)
		for _, l := range p.Leases() {
			if l.Reserved {
				fmt.Fprintf(w, ", %s reserved for %s", l.Address, l.Identity)
			}
		}
		fmt.Fprintln(w)
	}
	if l := rt.L2TP; l != nil {
		fmt.Fprintf(w, "l2tp:        UDP %d in transport-mode SAs, PPP addresses from %s (ours %s), dns %v, %d users\n",
			ikego.L2TPPort, l.Pool, l.LocalAddr, l.DNS, len(cfg.L2TPUsers))
	}
	for _, c := range cfg.Connections {
		var p *ike.PeerConfig
		for _, q := range rt.IKE.Peers {
			if q.Name == c.Name {
				p = q
			}
		}
		if p == nil {
			fmt.Fprintf(w, "connection %s: disabled\n", c.Name)
			continue
		}
		typ := c.Type
		if typ == "" {
			typ = "host-to-net"
		}
		version := map[ike.Version]string{ike.VersionIKEv1: "IKEv1", ike.VersionAny: "IKEv1 or IKEv2"}[p.Version]
		if version == "" {
			version = "IKEv2"
		}
		fmt.Fprintf(w, "connection %s: %s, %s", c.Name, typ, version)
		if c.Remark != "" {
			fmt.Fprintf(w, " (%s)", c.Remark)
		}
		fmt.Fprintln(w)
		id := func(a ike.AuthConfig, local bool) string {
			switch {
			case a.ID.Type != 0:
				return a.ID.String()
			case len(a.Certificates) > 0:
				return fmt.Sprintf("(the certificate's subject: %s)", a.Certificates[0].Subject)
			case local:
				return "(our address)"
			}
			return "%any"
		}
		fmt.Fprintf(w, "  local:     %s %s\n", p.Local.Method, id(p.Local, true))
		fmt.Fprintf(w, "  remote:    %s %s\n", p.Remote.Method, id(p.Remote, false))
		ch := p.Children[0]
		remoteTS := "the client's virtual IP"
		if len(ch.RemoteTS) > 0 {
			remoteTS = fmt.Sprint(ch.RemoteTS)
		}
		fmt.Fprintf(w, "  local_ts:  %v\n  remote_ts: %s\n", ch.LocalTS, remoteTS)
		if len(p.Pools) > 0 {
			fmt.Fprintf(w, "  pools:     %v, dns %v\n", p.Pools, p.DNS)
		}
		start := "none (wait for the peer)"
		if p.RemoteHost.IsValid() {
			start = fmt.Sprintf("start: initiate from %s to %s", p.LocalAddr, p.RemoteHost)
		}
		fmt.Fprintf(w, "  start:     %s\n", start)
	}
	for _, warn := range rt.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
}

// l2tpRunner keeps the gateway's L2TP/IPsec service in step with the
// builds of the configuration: the first for NewGateway, then each reload's
// (update). Changed l2tp_users take effect for the next logins without
// touching the calls; a new, changed or removed pool (or the first or last
// l2tp connection) starts, replaces or stops the service, whose calls then
// end, and moves the device's address on the PPP links.
type l2tpRunner struct {
	log      *slog.Logger
	password atomic.Pointer[func(string) (string, bool)]
	running  *ikego.L2TPConfig // the service's configuration, nil without one
	// gw is the gateway once it exists; tunName its TUN device, "" to
	// leave the device's addresses alone.
	gw      l2tpSetter
	tunName string
}

// l2tpSetter is what the runner needs of the gateway.
type l2tpSetter interface {
	SetL2TP(*ikego.L2TPConfig) error
}

func newL2TPRunner(rt *Runtime, log *slog.Logger) *l2tpRunner {
	r := &l2tpRunner{log: log}
	if rt.L2TP != nil {
		r.running = r.wrap(rt.L2TP)
	}
	return r
}

// wrap copies c for the service: its logger, and a Password that reads the
// accounts of the latest build.
func (r *l2tpRunner) wrap(c *ikego.L2TPConfig) *ikego.L2TPConfig {
	w := *c
	w.Logger = r.log
	pw := c.Password
	r.password.Store(&pw)
	w.Password = func(user string) (string, bool) { return (*r.password.Load())(user) }
	return &w
}

// update follows a new build.
func (r *l2tpRunner) update(rt *Runtime) {
	next := rt.L2TP
	switch {
	case next == nil && r.running == nil:
	case next != nil && r.running != nil && next.Pool == r.running.Pool && next.LocalAddr == r.running.LocalAddr &&
		slices.Equal(next.DNS, r.running.DNS):
		pw := next.Password
		r.password.Store(&pw)
	case next == nil:
		if err := r.gw.SetL2TP(nil); err != nil {
			r.log.Error("cannot stop the L2TP service", "err", err)
		}
		r.linkAddr(r.running.LocalAddr, false)
		r.running = nil
		r.log.Info("L2TP service stopped: no enabled l2tp connection")
	default:
		c := r.wrap(next)
		if r.running != nil && r.running.LocalAddr != c.LocalAddr {
			r.linkAddr(r.running.LocalAddr, false)
		}
		if r.running == nil || r.running.LocalAddr != c.LocalAddr {
			r.linkAddr(c.LocalAddr, true)
		}
		if err := r.gw.SetL2TP(c); err != nil {
			r.log.Error("cannot start the L2TP service", "pool", c.Pool.String(), "err", err)
			r.running = nil
			return
		}
		r.running = c
		r.log.Info("L2TP service started", "pool", c.Pool.String(), "local", c.LocalAddr.String())
	}
}

// linkAddr adds or removes the gateway's address on the PPP links on the
// TUN device.
func (r *l2tpRunner) linkAddr(a netip.Addr, add bool) {
	if r.tunName == "" || !a.IsValid() {
		return
	}
	p := netip.PrefixFrom(a, a.BitLen())
	var err error
	if add {
		err = tun.AddAddr(r.tunName, p)
	} else {
		err = tun.DelAddr(r.tunName, p)
	}
	if err != nil {
		r.log.Warn("cannot change the TUN device's address on the PPP links", "addr", p.String(), "add", add, "err", err)
	}
}
