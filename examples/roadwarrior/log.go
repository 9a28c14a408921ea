package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/ikego/ikego/ike"
)

// loggers are the loggers of the subsystems (log.debug): each line carries
// "subsys", and each subsystem has its own lowest level.
type loggers struct {
	cfg, ike, esp, net, l2tp *slog.Logger
}

func newLoggers(w io.Writer, s LogSettings) loggers {
	lowest := s.Level
	if len(s.Debug) > 0 {
		lowest = min(lowest, slog.LevelDebug)
	}
	opts := &slog.HandlerOptions{Level: lowest}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if s.JSON {
		h = slog.NewJSONHandler(w, opts)
	}
	sub := func(name string) *slog.Logger {
		level := s.Level
		if s.Debug[name] {
			level = slog.LevelDebug
		}
		return slog.New(&levelHandler{h: h.WithAttrs([]slog.Attr{slog.String("subsys", name)}), min: level})
	}
	return loggers{cfg: sub("cfg"), ike: sub("ike"), esp: sub("esp"), net: sub("net"), l2tp: sub("l2tp")}
}

// levelHandler passes on the records from its level up.
type levelHandler struct {
	h   slog.Handler
	min slog.Level
}

func (l *levelHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= l.min && l.h.Enabled(ctx, level)
}

func (l *levelHandler) Handle(ctx context.Context, r slog.Record) error { return l.h.Handle(ctx, r) }

func (l *levelHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &levelHandler{h: l.h.WithAttrs(as), min: l.min}
}

func (l *levelHandler) WithGroup(name string) slog.Handler {
	return &levelHandler{h: l.h.WithGroup(name), min: l.min}
}

// logEvents returns an ike.Config.OnEvent that logs the clients coming
// and going: the lines an operator follows (the IKE daemon logs the
// details of each exchange itself).
func logEvents(log *slog.Logger) func(ike.Event) {
	return func(e ike.Event) {
		switch e.Kind {
		case ike.EventIKEUp:
			log.Info("connection up", "conn", e.Peer, "remote", e.Remote.String(), "id", e.RemoteID.String(),
				"vips", fmt.Sprint(e.VIPs), "ike_spis", fmt.Sprintf("%016x_i %016x_r", e.SPIi, e.SPIr))
		case ike.EventIKEDown:
			args := []any{"conn", e.Peer, "remote", e.Remote.String(), "id", e.RemoteID.String(),
				"ike_spis", fmt.Sprintf("%016x_i %016x_r", e.SPIi, e.SPIr)}
			if e.Err != nil {
				args = append(args, "err", e.Err.Error())
			}
			log.Info("connection down", args...)
		case ike.EventChildUp, ike.EventChildDown:
			log.Debug(e.Kind.String(), "conn", e.Peer, "child", e.Child,
				"spis", fmt.Sprintf("%08x_i %08x_o", e.InSPI, e.OutSPI),
				"local_ts", fmt.Sprint(e.LocalTS), "remote_ts", fmt.Sprint(e.RemoteTS))
		}
	}
}
