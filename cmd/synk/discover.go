package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"

	"github.com/synkhq/synk/internal/lan"
)

// announce announces the server listening at addr on the local network
// until the returned function is called.
func announce(addr *net.TCPAddr, name string, log *slog.Logger) (func(), error) {
	if name == "" {
		host, _ := os.Hostname()
		name = "synk on " + host
	}
	var ips []net.IP // every LAN address, for a listener on all of them
	if !addr.IP.IsUnspecified() {
		ips = []net.IP{addr.IP}
		if addr.IP.IsLoopback() {
			log.Warn("-mdns: the server listens on loopback only; other machines cannot reach it (listen with -addr 0.0.0.0:PORT)")
		}
	}
	a, err := lan.Announce(name, addr.Port, ips, "/ws", log)
	if err != nil {
		return nil, err
	}
	log.Info("announcing on the local network", "service", lan.Service, "name", name)
	return func() { a.Close() }, nil
}

// discover runs "synk discover": it lists the Synk servers that answer on
// the local network, one per line: name, then websocket address.
func discover(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("synk discover", flag.ContinueOnError)
	fs.SetOutput(stderr)
	wait := fs.Duration("timeout", lan.DefaultWait, "how long to wait for answers")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	found, err := lan.Discover(ctx, *wait, log)
	if err != nil {
		return err
	}
	for _, f := range found {
		fmt.Fprintf(stdout, "%s\t%s\n", f.Instance, f.URL())
	}
	if len(found) == 0 {
		fmt.Fprintf(stderr, "no Synk server answered within %v\n", *wait)
	}
	return nil
}
