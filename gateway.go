package ikego

import (
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/ike"
	"github.com/ikego/ikego/tun"
)

// GatewayConfig configures a Gateway. TUN and Bind are required; the zero
// values of the rest are the defaults of esp.EngineConfig.
type GatewayConfig struct {
	// TUN is the device inner packets come from and go to (tun.Create, or
	// an in-memory device from tun/tuntest). The gateway closes it.
	TUN tun.Device
	// Bind carries ESP and IKE (esp.NewUDPBind, or esp/esptest's in-memory
	// binds). The gateway closes it.
	Bind esp.Bind
	// IKE, when set, runs the gateway's IKE daemon: an ike.Manager with
	// these connections and pools, whose Dataplane and Sender the gateway
	// fills in (the engine and the Bind).
	IKE *ike.Config
	// IKEHandler, when IKE is nil, receives the IKE datagrams instead (a
	// hand-driven IKE, or none).
	IKEHandler func(pkt []byte, ep esp.Endpoint)
	// L2TP, when set, serves L2TP/IPsec clients: an LNS on UDP port 1701
	// behind transport-mode SAs, with PPP and an address pool (see
	// L2TPConfig). With IKE, the tunnels of a CHILD_SA that IKE removes
	// for good are closed with it.
	L2TP    *L2TPConfig
	Workers int
	PathMTU int
	Logger  *slog.Logger
}

// Gateway is a running IPsec gateway: a TUN device, the sockets, and the ESP
// engine between them, the way wireguard-go's device.NewDevice(tun, bind,
// logger) composes a WireGuard peer, with an optional IKE daemon and an
// optional L2TP/IPsec service. Policies and SAs are managed through Engine
// (by hand, or by IKE).
type Gateway struct {
	engine *esp.Engine
	ike    *ike.Manager
	log    *slog.Logger
	// l2tp is the L2TP/IPsec service, nil without one; SetL2TP replaces it
	// under l2tpMu, the IKE goroutines read it (ikeEvent).
	l2tp    atomic.Pointer[L2TPService]
	l2tpMu  sync.Mutex
	pathMTU int
	started bool // under l2tpMu
}

// NewGateway builds a gateway from cfg without starting it.
func NewGateway(cfg GatewayConfig) (*Gateway, error) {
	if cfg.TUN == nil || cfg.Bind == nil {
		return nil, errors.New("ikego: a gateway needs a TUN device and a Bind")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{log: log, pathMTU: cfg.PathMTU}
	handler := cfg.IKEHandler
	if cfg.IKE != nil {
		handler = func(pkt []byte, ep esp.Endpoint) { g.ike.HandleDatagram(pkt, ep) }
	}
	e, err := esp.NewEngine(esp.EngineConfig{
		TUN: cfg.TUN, Bind: cfg.Bind, IKE: handler,
		Workers: cfg.Workers, PathMTU: cfg.PathMTU, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	g.engine = e
	if cfg.L2TP != nil {
		svc, err := newL2TPService(*cfg.L2TP, e, cfg.PathMTU, log)
		if err != nil {
			e.Close()
			return nil, err
		}
		g.l2tp.Store(svc)
	}
	if cfg.IKE != nil {
		c := *cfg.IKE
		c.Dataplane, c.Sender = e, cfg.Bind
		if c.Logger == nil {
			c.Logger = log
		}
		user := c.OnEvent
		c.OnEvent = func(ev ike.Event) {
			if user != nil {
				user(ev)
			}
			g.ikeEvent(ev)
		}
		if g.ike, err = ike.NewManager(c); err != nil {
			if svc := g.l2tp.Load(); svc != nil {
				svc.Close()
			}
			e.Close()
			return nil, err
		}
	}
	return g, nil
}

// ikeEvent closes the L2TP tunnels of a CHILD_SA that IKE removed for good
// (not replaced by a rekey): nothing can reach their clients any more, and
// their addresses go back to the pool.
func (g *Gateway) ikeEvent(ev ike.Event) {
	if ev.Kind != ike.EventChildDown || ev.Rekey {
		return
	}
	if svc := g.l2tp.Load(); svc != nil {
		svc.CloseConn(ev.Policy)
	}
}

// IKE returns the gateway's IKE daemon, nil without one.
func (g *Gateway) IKE() *ike.Manager { return g.ike }

// Engine returns the gateway's ESP engine, where policies and SAs are
// installed.
func (g *Gateway) Engine() *esp.Engine { return g.engine }

// L2TP returns the gateway's L2TP/IPsec service, nil without one.
func (g *Gateway) L2TP() *L2TPService { return g.l2tp.Load() }

// SetL2TP starts, replaces or stops the gateway's L2TP/IPsec service while
// it runs (a reloaded configuration): nil stops it; otherwise a new service
// with cfg replaces the running one, whose tunnels get a StopCCN first
// (their clients dial again and get addresses of the new pool). A cfg the
// service refuses leaves the gateway without one.
func (g *Gateway) SetL2TP(cfg *L2TPConfig) error {
	g.l2tpMu.Lock()
	defer g.l2tpMu.Unlock()
	if old := g.l2tp.Swap(nil); old != nil {
		old.Close() // frees UDP port 1701 of the engine
	}
	if cfg == nil {
		return nil
	}
	svc, err := newL2TPService(*cfg, g.engine, g.pathMTU, g.log)
	if err != nil {
		return err
	}
	if g.started {
		svc.start()
	}
	g.l2tp.Store(svc)
	return nil
}

// Start opens the sockets and starts moving packets.
func (g *Gateway) Start() error {
	if g.ike != nil {
		g.ike.Start()
	}
	if err := g.engine.Start(); err != nil {
		return err
	}
	g.l2tpMu.Lock()
	if svc := g.l2tp.Load(); svc != nil {
		svc.start()
	}
	g.started = true
	g.l2tpMu.Unlock()
	g.log.Info("gateway started")
	return nil
}

// Close stops the gateway and closes its TUN device and sockets.
func (g *Gateway) Close() error {
	g.l2tpMu.Lock()
	if svc := g.l2tp.Swap(nil); svc != nil {
		svc.Close() // StopCCNs sent while the SAs and the Bind are there
	}
	g.l2tpMu.Unlock()
	if g.ike != nil {
		g.ike.Close() // deletes sent to the peers while the Bind is open
	}
	err := g.engine.Close()
	g.log.Info("gateway stopped")
	return err
}
