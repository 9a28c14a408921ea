package main

import (
	"github.com/ikego/ikego"
	"github.com/ikego/ikego/ike"
)

// metrics is the optional Prometheus endpoint; a nil *metrics does
// nothing. TODO(metrics).
type metrics struct{}

func newMetrics(addr string) (*metrics, error)               { return nil, nil }
func (m *metrics) onEvent(e ike.Event)                       {}
func (m *metrics) start(g *ikego.Gateway, rt *Runtime) error { return nil }
func (m *metrics) Close() error                              { return nil }
