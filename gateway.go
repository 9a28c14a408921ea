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
	Workers    int
	PathMTU    int
	Logger     *slog.Logger
}

// Gateway is a running IPsec gateway: a TUN device, the sockets, and the ESP
// engine between them, the way wireguard-go's device.NewDevice(tun, bind,
// logger) composes a WireGuard peer. Policies and SAs are managed through
// Engine (by hand, or by IKE).
type Gateway struct {
	engine *esp.Engine
	ike    *ike.Manager
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
	if cfg.IKE != nil {
		c := *cfg.IKE
		c.Dataplane, c.Sender = e, cfg.Bind
		if c.Logger == nil {
			c.Logger = log
		}
		if g.ike, err = ike.NewManager(c); err != nil {
			e.Close()
			return nil, err
		}
	}
	return g, nil
}

// IKE returns the gateway's IKE daemon, nil without one.
func (g *Gateway) IKE() *ike.Manager { return g.ike }

// Engine returns the gateway's ESP engine, where policies and SAs are
// installed.
func (g *Gateway) Engine() *esp.Engine { return g.engine }

// Start opens the sockets and starts moving packets.
func (g *Gateway) Start() error {
	if g.ike != nil {
		g.ike.Start()
	}
	if err := g.engine.Start(); err != nil {
		return err
	}
	g.log.Info("gateway started")
	return nil
}

// Close stops the gateway and closes its TUN device and sockets.
func (g *Gateway) Close() error {
	if g.ike != nil {
		g.ike.Close() // deletes sent to the peers while the Bind is open
	}
	err := g.engine.Close()
	g.log.Info("gateway stopped")
	return err
}
