package ikego

import (
	"errors"
	"log/slog"

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
	l2tp   *L2TPService
	log    *slog.Logger
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
	g := &Gateway{log: log}
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
		if g.l2tp, err = newL2TPService(*cfg.L2TP, e, cfg.PathMTU, log); err != nil {
			e.Close()
			return nil, err
		}
	}
	if cfg.IKE != nil {
		c := *cfg.IKE
		c.Dataplane, c.Sender = e, cfg.Bind
		if c.Logger == nil {
			c.Logger = log
		}
		if g.l2tp != nil {
			user := c.OnEvent
			c.OnEvent = func(ev ike.Event) {
				if user != nil {
					user(ev)
				}
				g.ikeEvent(ev)
			}
		}
		if g.ike, err = ike.NewManager(c); err != nil {
			if g.l2tp != nil {
				g.l2tp.Close()
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
	if ev.Kind == ike.EventChildDown && !ev.Rekey && g.l2tp != nil {
		g.l2tp.CloseConn(ev.Policy)
	}
}

// IKE returns the gateway's IKE daemon, nil without one.
func (g *Gateway) IKE() *ike.Manager { return g.ike }

// Engine returns the gateway's ESP engine, where policies and SAs are
// installed.
func (g *Gateway) Engine() *esp.Engine { return g.engine }

// L2TP returns the gateway's L2TP/IPsec service, nil without one.
func (g *Gateway) L2TP() *L2TPService { return g.l2tp }

// Start opens the sockets and starts moving packets.
func (g *Gateway) Start() error {
	if g.ike != nil {
		g.ike.Start()
	}
	if err := g.engine.Start(); err != nil {
		return err
	}
	if g.l2tp != nil {
		g.l2tp.start()
	}
	g.log.Info("gateway started")
	return nil
}

// Close stops the gateway and closes its TUN device and sockets.
func (g *Gateway) Close() error {
	if g.l2tp != nil {
		g.l2tp.Close() // StopCCNs sent while the SAs and the Bind are there
	}
	if g.ike != nil {
		g.ike.Close() // deletes sent to the peers while the Bind is open
	}
	err := g.engine.Close()
	g.log.Info("gateway stopped")
	return err
}
