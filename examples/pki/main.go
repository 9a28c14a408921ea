// Command pki is ikego's small certificate authority on the command line:
// it creates a CA, issues server and client certificates for IKEv2, signs
// certificate requests, revokes, writes CRLs, exports PKCS#12 bundles for
// Windows, macOS/iOS and Android, prints and verifies certificates.
//
//	pki init-ca -dir /etc/ikego/pki -dn "C=CH, O=ikego, CN=ikego CA"
//	pki issue -dir /etc/ikego/pki -name vpn -profile server -san vpn.example.org -san 198.51.100.2
//	pki issue -dir /etc/ikego/pki -name alice -profile client -san alice@example.org -type ecdsa256
//	pki export-p12 -dir /etc/ikego/pki -name alice -out alice.p12 -password-file pw.txt
//	pki verify -dir /etc/ikego/pki -name vpn -id vpn.example.org
//
// Run `pki help` for all commands. It is pki.Command of package
// github.com/ikego/ikego/pki; the roadwarrior binary will mount the same
// code as `roadwarrior pki`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/ikego/ikego/pki"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := pki.Command(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return
	case errors.Is(err, pki.ErrUsage):
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
