package interop

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Install installs strongSwan and the rig's other tools with
// "peer.sh install" when strongSwan is missing, and does nothing otherwise.
// It looks for the rig from the working directory like [Available]. If
// apt-get fails, it runs "apt-get update" and tries once more. It needs
// root and is meant for CI set-up (TestInstall with IKEGO_INTEROP_INSTALL=1),
// never for a test.
func Install(ctx context.Context) error {
	if MissingStrongSwan() == "" {
		return nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	home, err := FindHome(wd)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("/tmp", "ikt")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	install := func() error {
		var out bytes.Buffer
		cmd := exec.CommandContext(ctx, "bash", filepath.Join(home, "peer.sh"), "install")
		cmd.Env = append(os.Environ(), "IKEGO_INTEROP_DIR="+dir)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("interop: peer.sh install: %w\n%s", err, out.String())
		}
		return nil
	}
	if err := install(); err != nil {
		if out, uerr := exec.CommandContext(ctx, "apt-get", "update", "-qq").CombinedOutput(); uerr != nil {
			return fmt.Errorf("%w\ninterop: apt-get update: %v\n%s", err, uerr, out)
		}
		if err := install(); err != nil {
			return err
		}
	}
	if m := MissingStrongSwan(); m != "" {
		return fmt.Errorf("interop: peer.sh install succeeded but %s is still missing", m)
	}
	return nil
}
