package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/ikego/ikego/pki"
)

// The command line of the control socket:
//
//	roadwarrior [-socket PATH] [-json] VERB [NAME]
//
// sends the verb to the running server (see Request for what each does)
// and prints the answer: list as a table, info as a description of the
// SAs, ca as PEM, the others as a line. With -json the server's Response
// is printed as it came. "roadwarrior pki ..." is the pki command line
// of package pki, run locally: it needs no server. Exit status: 0 on
// success, 1 on errors (the message on standard error), 2 on wrong usage.

// cliTimeout bounds a request: the longest verbs (up, restart) wait 40 s.
const cliTimeout = 90 * time.Second

// isVerb reports whether s is a CLI verb (the first argument of a control
// command rather than a flag).
func isVerb(s string) bool {
	switch s {
	case "list", "info", "up", "down", "restart", "enable", "disable", "delete", "reload", "ca", "pki", "help":
		return true
	}
	return false
}

// isCLI reports whether args are a CLI command line: a verb, after the
// flags -socket PATH and -json.
func isCLI(args []string) bool {
	for i := 0; i < len(args); i++ {
		a := strings.TrimPrefix(args[i], "-")
		switch {
		case a == "-socket" || a == "socket":
			i++
		case strings.HasPrefix(a, "socket=") || strings.HasPrefix(a, "-socket="), a == "json" || a == "-json":
		default:
			return isVerb(args[i])
		}
	}
	return false
}

func cliUsage(w io.Writer) {
	fmt.Fprint(w, `usage: roadwarrior [-socket PATH] [-json] VERB [NAME]

  list           the connections: name, type, common name, remark, enabled,
                 status (Closed, Connecting, Established) and clients
  info NAME      a connection's IKE and CHILD SAs: algorithms, traffic,
                 virtual IPs, uptime, rekey times
  up NAME        initiate a connection (one with remote_addrs)
  down NAME      delete a connection's IKE SAs
  restart NAME   down, then up if it initiates
  enable NAME    load a disabled connection (and say so in the file)
  disable NAME   delete its IKE SAs and refuse new ones (enabled: false)
  delete NAME    remove a connection from the server and the file
  reload         apply the configuration file; unchanged connections keep
                 their SAs, a file with errors changes nothing
  ca             print the server's CA certificates (PEM)
  pki ...        the certificate store (runs here, needs no server)

flags:
  -socket PATH   the server's control socket (default `+defaultSocket+`)
  -json          print the server's answer as JSON
`)
}

// runCLI runs a CLI verb against the server's control socket.
func runCLI(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("roadwarrior", flag.ContinueOnError)
	flags.SetOutput(stderr)
	socket := flags.String("socket", defaultSocket, "the control socket")
	asJSON := flags.Bool("json", false, "print the answer as JSON")
	flags.Usage = func() { cliUsage(stderr) }
	if err := flags.Parse(args); err != nil {
		return 2
	}
	rest := flags.Args()
	if len(rest) == 0 {
		cliUsage(stderr)
		return 2
	}
	verb, vargs := rest[0], rest[1:]
	req := Request{Verb: verb}
	switch verb {
	case "help":
		cliUsage(stdout)
		return 0
	case "pki":
		return runPKI(vargs, stdout, stderr)
	case "list", "reload", "ca":
		if len(vargs) != 0 {
			fmt.Fprintf(stderr, "roadwarrior: %s takes no arguments\n", verb)
			return 2
		}
	default:
		if !isVerb(verb) {
			fmt.Fprintf(stderr, "roadwarrior: unknown verb %q\n", verb)
			cliUsage(stderr)
			return 2
		}
		if len(vargs) != 1 {
			fmt.Fprintf(stderr, "roadwarrior: usage: roadwarrior %s NAME\n", verb)
			return 2
		}
		req.Name = vargs[0]
	}
	resp, raw, err := request(*socket, req, cliTimeout)
	if err != nil {
		fmt.Fprintln(stderr, "roadwarrior:", err)
		return 1
	}
	if *asJSON {
		stdout.Write(raw)
		if resp.Error != "" {
			return 1
		}
		return 0
	}
	for _, w := range resp.Warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	if resp.Error != "" {
		fmt.Fprintln(stderr, "roadwarrior:", resp.Error)
		for _, e := range resp.Errors {
			fmt.Fprintln(stderr, e)
		}
		return 1
	}
	switch verb {
	case "list":
		printList(stdout, resp.Connections)
	case "info":
		if resp.Info != nil {
			printInfo(stdout, resp.Info, resp.Now)
		}
	case "ca":
		io.WriteString(stdout, resp.CA)
	default:
		fmt.Fprintln(stdout, resp.Message)
	}
	return 0
}

// request sends req to the server at path and returns its response, also
// as it came.
func request(path string, req Request, timeout time.Duration) (*Response, []byte, error) {
	conn, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ECONNREFUSED):
			return nil, nil, fmt.Errorf("no server at %s: is it running (with this -socket)?", path)
		case errors.Is(err, fs.ErrPermission):
			return nil, nil, fmt.Errorf("%s: permission denied: the control socket is for root", path)
		}
		return nil, nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	// A refusing server answers without reading: its answer is read even
	// when the request could not be written.
	werr := json.NewEncoder(conn).Encode(req)
	raw, err := io.ReadAll(io.LimitReader(conn, 64<<20))
	if len(raw) == 0 {
		if werr != nil {
			err = werr
		}
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, nil, fmt.Errorf("%s: no answer: %w", path, err)
	}
	var resp Response
	if err := json.Unmarshal(raw, &resp); err != nil {
		return nil, nil, fmt.Errorf("%s: a bad answer: %w", path, err)
	}
	return &resp, raw, nil
}

func runPKI(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := pki.Command(ctx, args, stdout, stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, pki.ErrUsage):
		fmt.Fprintln(stderr, err)
		return 2
	}
	fmt.Fprintln(stderr, err)
	return 1
}

func printList(w io.Writer, conns []ConnStatus) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTYPE\tCOMMON NAME\tREMARK\tENABLED\tSTATUS\tCLIENTS")
	for _, c := range conns {
		cn, remark, enabled := c.CommonName, c.Remark, "yes"
		if cn == "" {
			cn = "%any"
		}
		if remark == "" {
			remark = "-"
		}
		if !c.Enabled {
			enabled = "no"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", c.Name, c.Type, cn, remark, enabled, c.Status, c.Clients)
	}
	tw.Flush()
}

// ago formats the time from t to now, in seconds.
func ago(now, t time.Time) string { return now.Sub(t).Round(time.Second).String() }

// rekeyIn formats a rekey window.
func rekeyIn(now, from, by time.Time) string {
	if by.IsZero() {
		return "never"
	}
	a, b := from.Sub(now).Round(time.Second), by.Sub(now).Round(time.Second)
	switch {
	case b <= 0:
		return "due"
	case a <= 0:
		return "within " + b.String()
	}
	return fmt.Sprintf("in %v to %v", a, b)
}

func printInfo(w io.Writer, in *ConnInfo, now time.Time) {
	enabled := "enabled"
	if !in.Enabled {
		enabled = "disabled"
	}
	fmt.Fprintf(w, "%s: %s, %s, %s, %d client(s)\n", in.Name, in.Type, enabled, in.Status, in.Clients)
	if in.Remark != "" {
		fmt.Fprintf(w, "  remark:    %s\n", in.Remark)
	}
	fmt.Fprintf(w, "  local:     %s\n  remote:    %s\n", in.Local, in.Remote)
	fmt.Fprintf(w, "  local_ts:  %s\n", strings.Join(in.LocalTS, ", "))
	if len(in.RemoteTS) > 0 {
		fmt.Fprintf(w, "  remote_ts: %s\n", strings.Join(in.RemoteTS, ", "))
	}
	if len(in.Pools) > 0 {
		fmt.Fprintf(w, "  pools:     %s\n", strings.Join(in.Pools, ", "))
	}
	start := in.StartAction
	if !in.Initiates {
		start += ", waits for its clients"
	}
	fmt.Fprintf(w, "  start:     %s\n", start)
	for _, sa := range in.IKESAs {
		role := "responder"
		if sa.Initiator {
			role = "initiator"
		}
		rid := sa.RemoteID
		if rid == "" {
			rid = "%any"
		}
		version := "IKEv2"
		if sa.Version == 1 {
			version = "IKEv1"
		}
		if sa.XAuthUser != "" {
			rid += ", XAuth " + sa.XAuthUser
		}
		fmt.Fprintf(w, "  #%d: %s, %s %s, %s...%s[%s]\n", sa.ID, sa.State, version, role, sa.Local, sa.Remote, rid)
		fmt.Fprintf(w, "      SPIs %s_i %s_r", sa.SPIi, sa.SPIr)
		if sa.RemoteNAT {
			fmt.Fprint(w, ", remote behind NAT")
		}
		if sa.LocalNAT {
			fmt.Fprint(w, ", local behind NAT")
		}
		fmt.Fprintln(w)
		if sa.Proposal != "" {
			fmt.Fprintf(w, "      %s\n", sa.Proposal)
		}
		if len(sa.VIPs) > 0 {
			fmt.Fprintf(w, "      virtual IPs %s\n", strings.Join(sa.VIPs, " "))
		}
		if !sa.Established.IsZero() {
			fmt.Fprintf(w, "      up %s (since %s), rekey %s\n", ago(now, sa.Established),
				sa.Established.Local().Format(time.DateTime), rekeyIn(now, sa.RekeyFrom, sa.RekeyBy))
		}
		for _, ch := range sa.ChildSAs {
			fmt.Fprintf(w, "      %s: INSTALLED, %s, SPIs %s_i %s_o, %s\n", ch.Name, ch.Mode, ch.InSPI, ch.OutSPI, ch.Proposal)
			fmt.Fprintf(w, "        in  %s: %d bytes, %d packets\n", ch.InSPI, ch.BytesIn, ch.PacketsIn)
			fmt.Fprintf(w, "        out %s: %d bytes, %d packets\n", ch.OutSPI, ch.BytesOut, ch.PacketsOut)
			if !ch.Installed.IsZero() {
				fmt.Fprintf(w, "        installed %s ago, rekey %s\n", ago(now, ch.Installed), rekeyIn(now, ch.RekeyFrom, ch.RekeyBy))
			}
			fmt.Fprintf(w, "        local  %s\n        remote %s\n", strings.Join(ch.LocalTS, " "), strings.Join(ch.RemoteTS, " "))
			for _, l := range ch.L2TP {
				state := "connecting"
				if l.Up {
					state = "up"
				}
				fmt.Fprintf(w, "        l2tp: user %s, address %s, %s\n", cmp.Or(l.User, "(not yet authenticated)"), cmp.Or(l.Addr, "(none yet)"), state)
			}
		}
	}
}
