package main

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"

	"github.com/ikego/ikego/ike"
	"github.com/ikego/ikego/pki"
)

// A change of the running configuration (reload, enable, disable, delete)
// goes in two steps, both under controller.mu. planLocked builds the new
// configuration and compares it with the running one without touching
// anything: a configuration with errors stops here. commitLocked then
// applies it: the fixed virtual IPs are reserved in the pools that stay,
// routes are added, the Manager gets the connections and pools
// (Manager.Update, validated before it changes anything), the IKE SAs of
// changed and removed connections are deleted, routes that are no longer
// needed go, and new connections with start_action start are initiated.

// change is a planned change of the running configuration.
type change struct {
	cfg *Config
	// rt is cfg's build, its pools replaced by the running ones that stay.
	rt     *Runtime
	result ReloadResult
	// reserve are the fixed virtual IPs to reserve in the pools that stay
	// (Build reserved them in pools of its own); unreserve those reserved
	// there that the new configuration no longer has.
	reserve, unreserve []reservation
	// teardown are the connections whose IKE SAs are deleted: changed and
	// removed ones. unroute are those whose trap policies go with them.
	teardown, unroute []string
	// initiate are the new and changed connections with start_action start,
	// route those with start_action trap.
	initiate             []string
	route                []string
	addRoutes, delRoutes []netip.Prefix
	warnings             []string
}

// reservation is a fixed virtual IP.
type reservation struct {
	pool *ike.Pool
	id   string
	addr netip.Addr
	path string // the field, for errors
}

// planLocked builds cfg and works out what changes against the running
// configuration; nothing changes yet. Its error is Build's.
func (c *controller) planLocked(cfg *Config) (*change, error) {
	rt, err := Build(cfg)
	if err != nil {
		return nil, err
	}
	rt.IKE.Peers, _ = initiators(cfg, rt)
	ch := &change{cfg: cfg, rt: rt, warnings: slices.Clone(rt.Warnings)}
	old := c.cfg

	// Pools: a pool whose name and range stay is the running pool, with its
	// leases.
	running := map[string]*ike.Pool{}
	for _, p := range c.rt.IKE.Pools {
		running[p.Name()] = p
	}
	kept := map[string]*ike.Pool{}
	for i, p := range rt.IKE.Pools {
		if o := running[p.Name()]; o != nil && sameRange(o, p) {
			rt.IKE.Pools[i] = o
			kept[p.Name()] = o
		}
	}
	if err := ch.planReservations(kept); err != nil {
		return nil, err
	}

	// Connections. A connection is changed when a field other than its
	// remark is (enabled too), or the definition of a pool it uses, or a
	// global setting that goes into every connection.
	oldConns := map[string]*Connection{}
	for _, cn := range old.Connections {
		oldConns[cn.Name] = cn
	}
	poolChanged := func(name string) bool {
		a, b := poolConfig(old, name), poolConfig(cfg, name)
		return a == nil || b == nil || a.Addrs != b.Addrs || !slices.Equal(a.DNS, b.DNS)
	}
	global := old.DPDDelay != cfg.DPDDelay || old.PKI != cfg.PKI || old.IKEv1Timeout != cfg.IKEv1Timeout
	// Changed EAP accounts change the connections that use them.
	eapChanged := !slices.Equal(old.EAPUsers, cfg.EAPUsers)
	xauthChanged := !slices.Equal(old.XAuthUsers, cfg.XAuthUsers)
	oldPeers := peersByName(c.rt)
	newPeers := peersByName(rt)
	names := map[string]bool{}
	for _, cn := range cfg.Connections {
		names[cn.Name] = true
		o := oldConns[cn.Name]
		switch {
		case o == nil:
			ch.result.Added = append(ch.result.Added, cn.Name)
		case connChanged(o, cn) || (isEnabled(o) || isEnabled(cn)) &&
			(global || slices.ContainsFunc(slices.Concat(o.Pools, cn.Pools), poolChanged)) ||
			eapChanged && (o.Remote.Auth == "eap-mschapv2" || cn.Remote.Auth == "eap-mschapv2") ||
			xauthChanged && (o.Type == "xauth" || cn.Type == "xauth") ||
			oldPeers[cn.Name] != nil && newPeers[cn.Name] != nil && !sameCredentials(oldPeers[cn.Name], newPeers[cn.Name]):
			ch.result.Changed = append(ch.result.Changed, cn.Name)
			ch.teardown = append(ch.teardown, cn.Name)
			if p := oldPeers[cn.Name]; p != nil && p.StartAction == ike.StartTrap {
				ch.unroute = append(ch.unroute, cn.Name)
			}
		default:
			ch.result.Unchanged = append(ch.result.Unchanged, cn.Name)
			// The running PeerConfig stays, so that its IKE SAs and the new
			// ones are of one connection (INITIAL_CONTACT and uniqueness
			// replace IKE SAs of the same PeerConfig); unless only its CRLs
			// are new, which the new IKE SAs get.
			if p, q := oldPeers[cn.Name], newPeers[cn.Name]; p != nil && q != nil && sameCRLs(p, q) {
				rt.IKE.Peers[slices.Index(rt.IKE.Peers, q)] = p
			}
			continue
		}
		// New or changed.
		if slices.Contains(rt.Start, cn.Name) {
			ch.initiate = append(ch.initiate, cn.Name)
		}
		if p := newPeers[cn.Name]; p != nil && p.StartAction == ike.StartTrap && isEnabled(cn) {
			ch.route = append(ch.route, cn.Name)
		}
	}
	for _, cn := range old.Connections {
		if !names[cn.Name] {
			ch.result.Removed = append(ch.result.Removed, cn.Name)
			ch.teardown = append(ch.teardown, cn.Name)
		}
	}

	// Routes into the TUN device.
	for _, p := range rt.TUN.Routes {
		if !slices.Contains(c.rt.TUN.Routes, p) {
			ch.addRoutes = append(ch.addRoutes, p)
		}
	}
	for _, p := range c.rt.TUN.Routes {
		if !slices.Contains(rt.TUN.Routes, p) {
			ch.delRoutes = append(ch.delRoutes, p)
		}
	}

	// What only a start changes.
	boot := bootOf(cfg)
	for _, s := range []struct {
		name     string
		old, new any
	}{{"listen", c.boot.listen, boot.listen}, {"tun", c.boot.tun, boot.tun}, {"log", c.boot.log, boot.log}} {
		if !reflect.DeepEqual(s.old, s.new) {
			ch.warnings = append(ch.warnings, s.name+": changed; it takes effect when the server starts again")
		}
	}
	return ch, nil
}

// planReservations lists the fixed virtual IPs of the enabled connections
// that fall into pools that stay, and checks that the running pools can
// reserve them, as Build checked for its own.
func (ch *change) planReservations(kept map[string]*ike.Pool) error {
	loaded := peersByName(ch.rt)
	var errs []error
	for _, cn := range ch.cfg.Connections {
		if loaded[cn.Name] == nil || len(cn.VIP) == 0 {
			continue
		}
		id, err := pki.ParseIdentity(cn.Remote.ID)
		if err != nil {
			continue // Build said so
		}
		for i, s := range cn.VIP {
			a, err := netip.ParseAddr(s)
			if err != nil {
				continue
			}
			a = a.Unmap()
			for _, name := range cn.Pools {
				pool := kept[name]
				if pool == nil || !pool.Contains(a) {
					continue
				}
				ch.reserve = append(ch.reserve, reservation{pool: pool, id: id.String(), addr: a,
					path: fmt.Sprintf("connections.%s.vip[%d]", cn.Name, i)})
			}
		}
	}
	// Reservations in the pools that stay which the configuration dropped
	// (a fixed IP removed or changed, its connection disabled or deleted)
	// end, before the new ones are made: an address may move from one
	// client to another.
	for _, pool := range kept {
		for _, l := range pool.Leases() {
			if l.Reserved && !slices.ContainsFunc(ch.reserve, func(r reservation) bool {
				return r.pool == pool && r.id == l.Identity && r.addr == l.Address
			}) {
				ch.unreserve = append(ch.unreserve, reservation{pool: pool, id: l.Identity, addr: l.Address})
			}
		}
	}
	for _, r := range ch.reserve {
		if err := r.check(ch.unreserve); err != nil {
			errs = append(errs, &FieldError{Path: r.path, Line: ch.cfg.line(r.path), Msg: err.Error()})
		}
	}
	return errors.Join(errs...)
}

// check reports what Pool.Reserve would refuse once the reservations
// ending are gone: the address online with or reserved for another
// identity, or the identity online with another address.
func (r reservation) check(ending []reservation) error {
	for _, l := range r.pool.Leases() {
		ends := slices.ContainsFunc(ending, func(e reservation) bool {
			return e.pool == r.pool && e.id == l.Identity && e.addr == l.Address
		})
		switch {
		case l.Address == r.addr && l.Identity != r.id && (l.Online || l.Reserved && !ends):
			return fmt.Errorf("%s is in use by %s in pool %q", r.addr, l.Identity, r.pool.Name())
		case l.Identity == r.id && l.Address != r.addr && l.Online:
			return fmt.Errorf("%s is online with %s: disconnect it first (down)", r.id, l.Address)
		}
	}
	return nil
}

// commitLocked applies a planned change.
func (c *controller) commitLocked(ch *change) error {
	var ended []reservation
	for _, r := range ch.unreserve {
		if r.pool.Unreserve(r.id, r.addr) {
			ended = append(ended, r)
		}
	}
	for _, r := range ch.reserve {
		if err := r.pool.Reserve(r.id, r.addr); err != nil {
			// A client took an address meanwhile: nothing is applied, and
			// the reservations that ended are made again.
			for _, e := range ended {
				e.pool.Reserve(e.id, e.addr)
			}
			return &FieldError{Path: r.path, Line: ch.cfg.line(r.path), Msg: strings.TrimPrefix(err.Error(), "ike: ")}
		}
	}
	var added []netip.Prefix
	undo := func() {
		for _, p := range added {
			c.routes.DelRoute(p)
		}
	}
	if c.routes != nil {
		for _, p := range ch.addRoutes {
			if err := c.routes.AddRoute(p); err != nil {
				undo()
				return fmt.Errorf("adding the route to %s through the TUN device: %w", p, err)
			}
			added = append(added, p)
		}
	}
	if err := c.ike.Update(ch.rt.IKE.Peers, ch.rt.IKE.Pools); err != nil {
		undo()
		return err
	}
	c.cfg, c.rt = ch.cfg, ch.rt
	if c.onChange != nil {
		c.onChange(ch.rt)
	}
	for _, name := range ch.unroute {
		c.ike.Unroute(name)
	}
	for _, name := range ch.teardown {
		ch.result.Terminated += c.ike.Terminate(name)
	}
	if c.routes != nil {
		for _, p := range ch.delRoutes {
			if err := c.routes.DelRoute(p); err != nil {
				ch.warnings = append(ch.warnings, fmt.Sprintf("removing the route to %s: %v", p, err))
			}
		}
	}
	for _, name := range ch.initiate {
		if err := c.ike.Initiate(name); err != nil {
			ch.warnings = append(ch.warnings, fmt.Sprintf("connections.%s: start_action start: %v", name, err))
		}
	}
	for _, name := range ch.route {
		if err := c.ike.Route(name); err != nil {
			ch.warnings = append(ch.warnings, fmt.Sprintf("connections.%s: start_action trap: %v", name, err))
		}
	}
	for _, name := range slices.Concat(ch.result.Added, ch.result.Changed, ch.result.Removed) {
		c.log.Info("configuration changed", "conn", name)
	}
	return nil
}

// sameRange reports whether two pools hand out the same addresses.
func sameRange(a, b *ike.Pool) bool {
	af, al := a.Range()
	bf, bl := b.Range()
	return af == bf && al == bl
}

func poolConfig(cfg *Config, name string) *PoolConfig {
	for i := range cfg.Pools {
		if cfg.Pools[i].Name == name {
			return &cfg.Pools[i]
		}
	}
	return nil
}

func peersByName(rt *Runtime) map[string]*ike.PeerConfig {
	m := map[string]*ike.PeerConfig{}
	for _, p := range rt.IKE.Peers {
		m[p.Name] = p
	}
	return m
}

// sameCredentials reports whether two builds of a connection have the
// same certificates, CAs and key (the files they come from may have
// changed while the configuration stayed).
func sameCredentials(a, b *ike.PeerConfig) bool {
	same := func(x, y *x509.Certificate) bool { return bytes.Equal(x.Raw, y.Raw) }
	var ka, kb crypto.PublicKey
	if a.Local.Key != nil {
		ka = a.Local.Key.Public()
	}
	if b.Local.Key != nil {
		kb = b.Local.Key.Public()
	}
	return slices.EqualFunc(a.Local.Certificates, b.Local.Certificates, same) &&
		slices.EqualFunc(a.Remote.CAs, b.Remote.CAs, same) && (ka == nil && kb == nil || sameKey(ka, kb))
}

// sameCRLs reports whether two builds of a connection have the same CRLs.
func sameCRLs(a, b *ike.PeerConfig) bool {
	return slices.EqualFunc(a.Remote.CRLs, b.Remote.CRLs, func(x, y *x509.RevocationList) bool { return bytes.Equal(x.Raw, y.Raw) })
}

// connChanged reports whether a connection changed in more than its
// remark.
func connChanged(a, b *Connection) bool {
	x, y := normalConn(a), normalConn(b)
	x.Remark, y.Remark = "", ""
	return !reflect.DeepEqual(x, y)
}

// normalConn returns a copy of c with the defaults of its optional
// booleans spelt out, so that "left out" and "true" compare equal.
func normalConn(c *Connection) Connection {
	n := *c
	t := true
	if n.Enabled == nil {
		n.Enabled = &t
	}
	if n.Fragmentation == nil {
		n.Fragmentation = &t
	}
	return n
}

// withConnections returns a copy of cfg with its connections changed by
// edit, which gets a copy of the list.
func withConnections(cfg *Config, edit func(Connections) Connections) *Config {
	n := *cfg
	n.Connections = edit(slices.Clone(cfg.Connections))
	return &n
}

// configError is the Response to a configuration with errors.
func configError(path string, err error, what string) Response {
	var b strings.Builder
	printErrors(&b, path, err)
	return Response{Error: fmt.Sprintf("%s has errors; %s", path, what),
		Errors: strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")}
}

// reload applies the configuration file.
func (c *controller) reload() Response {
	c.mu.Lock()
	defer c.mu.Unlock()
	cfg, err := Load(c.path)
	if cfg == nil {
		return configError(c.path, err, "nothing changed")
	}
	made, gerr := generateCerts(cfg, c.path)
	if gerr != nil {
		return configError(c.path, errors.Join(err, gerr), "nothing changed")
	}
	for _, name := range made {
		c.log.Info("generated a certificate", "name", name)
	}
	ch, err := c.planLocked(cfg) // with Load's errors
	if err != nil {
		return configError(c.path, err, "nothing changed")
	}
	if err := c.commitLocked(ch); err != nil {
		return Response{Error: fmt.Sprintf("reloading %s: %v; nothing changed", c.path, err)}
	}
	r := ch.result
	var parts []string
	for _, l := range []struct {
		what  string
		names []string
	}{{"added", r.Added}, {"changed", r.Changed}, {"removed", r.Removed}, {"unchanged", r.Unchanged}} {
		if len(l.names) > 0 {
			parts = append(parts, l.what+" "+strings.Join(l.names, ", "))
		}
	}
	msg := fmt.Sprintf("reloaded %s: %s", c.path, strings.Join(parts, "; "))
	if r.Terminated > 0 {
		msg += fmt.Sprintf("; %d IKE SA(s) deleted", r.Terminated)
	}
	return Response{Message: msg, Reload: &r, Warnings: ch.warnings}
}

// setEnabled enables or disables a connection, in the running
// configuration and in the file.
func (c *controller) setEnabled(name string, on bool) Response {
	c.mu.Lock()
	defer c.mu.Unlock()
	cn := c.connLocked(name)
	if cn == nil {
		return noConnection(name)
	}
	op, word := editDisable, "disabled"
	if on {
		op, word = editEnable, "enabled"
	}
	data, edited, err := c.editFileLocked(name, op)
	if err != nil {
		return Response{Error: fmt.Sprintf("%s: %v; nothing changed", c.path, err)}
	}
	var ch *change
	if isEnabled(cn) != on {
		cfg := withConnections(c.cfg, func(cs Connections) Connections {
			i := slices.Index(cs, cn)
			n := *cn
			n.Enabled = &on
			cs[i] = &n
			return cs
		})
		if ch, err = c.planLocked(cfg); err != nil {
			return configError(c.path, err, "nothing changed")
		}
		if err := c.commitLocked(ch); err != nil {
			return Response{Error: fmt.Sprintf("%s %s: %v; nothing changed", word, name, err)}
		}
	}
	return c.finishEdit(name, word, ch, data, edited)
}

// remove deletes a connection from the running configuration and the
// file.
func (c *controller) remove(name string) Response {
	c.mu.Lock()
	defer c.mu.Unlock()
	cn := c.connLocked(name)
	if cn == nil {
		return noConnection(name)
	}
	data, edited, err := c.editFileLocked(name, editDelete)
	if err != nil {
		return Response{Error: fmt.Sprintf("%s: %v; nothing changed", c.path, err)}
	}
	cfg := withConnections(c.cfg, func(cs Connections) Connections {
		return slices.DeleteFunc(cs, func(x *Connection) bool { return x == cn })
	})
	ch, err := c.planLocked(cfg)
	if err != nil {
		return configError(c.path, err, "nothing changed")
	}
	if err := c.commitLocked(ch); err != nil {
		return Response{Error: fmt.Sprintf("deleting %s: %v; nothing changed", name, err)}
	}
	return c.finishEdit(name, "deleted", ch, data, edited)
}

// editFileLocked reads the configuration file and returns it with the
// edit made.
func (c *controller) editFileLocked(name string, op editOp) (data, edited []byte, err error) {
	data, err = readRegular(c.path)
	if err != nil {
		return nil, nil, err
	}
	edited, err = editConfig(data, name, op)
	return data, edited, err
}

// finishEdit writes the edited file, once the change runs, and answers.
func (c *controller) finishEdit(name, word string, ch *change, data, edited []byte) Response {
	r := Response{Message: fmt.Sprintf("connection %s %s", name, word)}
	if ch == nil {
		r.Message += " already"
	} else {
		r.Reload, r.Warnings = &ch.result, ch.warnings
		if n := ch.result.Terminated; n > 0 {
			r.Message += fmt.Sprintf(", %d IKE SA(s) deleted", n)
		}
	}
	if bytes.Equal(data, edited) {
		return r
	}
	if err := writeFileAtomic(c.path, edited); err != nil {
		r.Error = fmt.Sprintf("%s; but writing %s failed, so it will be undone by a reload or restart: %v", r.Message, c.path, err)
		r.Message = ""
		return r
	}
	r.Message += "; " + c.path + " updated"
	return r
}
