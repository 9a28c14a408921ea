package main

import (
	"io"
	"log/slog"

	"github.com/ikego/ikego"
)

// defaultSocket is where the control socket is by default.
const defaultSocket = "/run/ikego/roadwarrior.sock"

// controlConfig is what the control socket serves.
type controlConfig struct {
	Socket     string
	ConfigPath string
	Gateway    *ikego.Gateway
	Runtime    *Runtime
	Log        *slog.Logger
}

// startControl opens the control socket. TODO(control): the JSON API.
func startControl(c controlConfig) (io.Closer, error) { return io.NopCloser(nil), nil }
