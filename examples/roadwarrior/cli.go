package main

import "io"

// isVerb reports whether s is a CLI verb (the first argument of a control
// command rather than a flag). TODO(control): the CLI.
func isVerb(s string) bool { return false }

// runCLI runs a CLI verb against the server's control socket.
func runCLI(args []string, stdout, stderr io.Writer) int { return 2 }
