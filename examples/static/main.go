// Command static runs an IPsec gateway with manually keyed SAs from a small
// file, the way `ip xfrm policy` and `ip xfrm state` set up kernel IPsec by
// hand: the first runnable demo of the dataplane, and the peer of the
// dataplane's network-namespace tests and throughput benchmarks.
//
//	static -config gw.conf
//
// It needs CAP_NET_ADMIN for the TUN device. When the device is up and the
// sockets are open it prints "ready" on standard output; it stops on SIGINT
// or SIGTERM. See config.go for the file's format.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/ikego/ikego"
	"github.com/ikego/ikego/esp"
	"github.com/ikego/ikego/tun"
)

func main() {
	path := flag.String("config", "", "the configuration file")
	verbose := flag.Bool("v", false, "log debug lines")
	stats := flag.Duration("stats", 0, "log the counters this often (0: only at exit)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file until exit")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "static:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "static:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if err := run(*path, *stats, log); err != nil {
		fmt.Fprintln(os.Stderr, "static:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(path string, statsEvery time.Duration, log *slog.Logger) error {
	if path == "" {
		return fmt.Errorf("-config is required")
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	cfg, err := parseConfig(f, path)
	f.Close()
	if err != nil {
		return err
	}
	dev, err := tun.Create(tun.Config{Name: cfg.tunName, MTU: cfg.mtu, Addrs: cfg.addrs, Routes: cfg.routes})
	if err != nil {
		return err
	}
	bind, err := esp.NewUDPBind(esp.UDPBindConfig{
		Addrs: cfg.listen, IKEPort: cfg.ikePort, NATTPort: cfg.nattPort, RawESP: cfg.rawESP, Logger: log,
		Offload: !cfg.noOffload,
	})
	if err != nil {
		dev.Close()
		return err
	}
	gw, err := ikego.NewGateway(ikego.GatewayConfig{TUN: dev, Bind: bind, Workers: cfg.workers, Logger: log})
	if err != nil {
		dev.Close()
		bind.Close()
		return err
	}
	e := gw.Engine()
	for _, p := range cfg.policies {
		if err := e.SetPolicy(p); err != nil {
			gw.Close()
			return fmt.Errorf("policy %d: %w", p.ID, err)
		}
	}
	for _, s := range cfg.sas {
		if _, err := e.AddSA(s.dir, s.params, s.policy, s.life); err != nil {
			gw.Close()
			return fmt.Errorf("%s sa %#x: %w", s.dir, s.params.SPI, err)
		}
	}
	if err := gw.Start(); err != nil {
		gw.Close()
		return err
	}
	name, _ := dev.Name()
	log.Info("static gateway up", "tun", name, "policies", len(cfg.policies), "sas", len(cfg.sas))
	fmt.Println("ready")

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	var tick <-chan time.Time
	if statsEvery > 0 {
		t := time.NewTicker(statsEvery)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-tick:
			logStats(log, e, cfg)
			continue
		case s := <-sig:
			log.Info("stopping", "signal", s.String())
		}
		break
	}
	logStats(log, e, cfg)
	return gw.Close()
}

func logStats(log *slog.Logger, e *esp.Engine, cfg *config) {
	log.Info("engine", "stats", fmt.Sprintf("%+v", e.Stats()))
	for _, s := range cfg.sas {
		k := esp.InSA(s.params.SPI)
		if s.dir == esp.DirOut {
			k = esp.OutSA(s.policy, s.params.SPI)
		}
		if sa, ok := e.SA(k); ok {
			log.Info("sa", "dir", s.dir.String(), "spi", fmt.Sprintf("%#x", s.params.SPI), "stats", fmt.Sprintf("%+v", sa.Stats()))
		}
	}
}
