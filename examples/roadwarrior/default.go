package main

import (
	"errors"
	"io"
)

// defaultStateDir is where the embedded default keeps its state.
const defaultStateDir = "/var/lib/ikego"

// prepareDefault writes (on first start) or finds the state of the
// embedded default configuration in dir and returns the path of its
// configuration file. TODO(default): the embedded default.
func prepareDefault(dir string, stdout io.Writer, check bool) (string, error) {
	return "", errors.New("-config is required (the embedded default is not there yet)")
}
