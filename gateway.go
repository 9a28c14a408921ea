package ikego

import (
	"errors"
	"log/slog"

	"github.com/ikego/ikego/esp"
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
	// IKE receives IKE datagrams until the gateway runs its own IKE
	// daemon.
	IKE     func(pkt []byte, ep esp.Endpoint)
	Workers int
	PathMTU int
	Logger  *slog.Logger
}

// Gateway is a running IPsec gateway: a TUN device, the sockets, and the ESP
// engine between them, the way wireguard-go's device.NewDevice(tun, bind,
// logger) composes a WireGuard peer. Policies and SAs are managed through
// Engine (by hand, or by IKE).
type Gateway struct {
	engine *esp.Engine
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
	e, err := esp.NewEngine(esp.EngineConfig{
		TUN: cfg.TUN, Bind: cfg.Bind, IKE: cfg.IKE,
		Workers: cfg.Workers, PathMTU: cfg.PathMTU, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	return &Gateway{engine: e, log: log}, nil
}

// Engine returns the gateway's ESP engine, where policies and SAs are
// installed.
func (g *Gateway) Engine() *esp.Engine { return g.engine }

// Start opens the sockets and starts moving packets.
func (g *Gateway) Start() error {
	if err := g.engine.Start(); err != nil {
		return err
	}
	g.log.Info("gateway started")
	return nil
}

// Close stops the gateway and closes its TUN device and sockets.
func (g *Gateway) Close() error {
	err := g.engine.Close()
	g.log.Info("gateway stopped")
	return err
}
