package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// joinNATS connects to the NATS given by -nats: a URL, or "embedded" for
// a NATS server with JetStream in this process, listening on listen so
// that other nodes can join it (its data under dataDir, or a temporary
// directory), syncing JetStream to disk as sync says: "" for NATS's
// default (every 2 minutes), "always" for every write, or an interval.
// It returns the connection and a function that closes it and stops the
// embedded server.
func joinNATS(spec, listen, dataDir, sync string, log *slog.Logger) (*nats.Conn, func(), error) {
	if spec == "" {
		return nil, func() {}, nil
	}
	url, stopServer := spec, func() {}
	if spec == "embedded" {
		host, portStr, err := net.SplitHostPort(listen)
		if err != nil {
			return nil, nil, fmt.Errorf("-nats-listen %q: %w", listen, err)
		}
		port, err := strconv.Atoi(portStr)
		if err != nil {
			return nil, nil, fmt.Errorf("-nats-listen %q: bad port", listen)
		}
		store := filepath.Join(dataDir, "nats")
		cleanup := func() {}
		if dataDir == "" {
			if store, err = os.MkdirTemp("", "synk-nats-"); err != nil {
				return nil, nil, err
			}
			cleanup = func() { os.RemoveAll(store) }
		}
		opts := &natsserver.Options{Host: host, Port: port, JetStream: true, StoreDir: store, NoSigs: true, NoLog: true}
		switch sync {
		case "":
		case "always":
			opts.SyncAlways = true
		default:
			if opts.SyncInterval, err = time.ParseDuration(sync); err != nil || opts.SyncInterval <= 0 {
				cleanup()
				return nil, nil, fmt.Errorf("-nats-sync %q: want always or a duration such as 1s", sync)
			}
		}
		ns, err := natsserver.NewServer(opts)
		if err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("embedded NATS: %w", err)
		}
		go ns.Start()
		if !ns.ReadyForConnections(10 * time.Second) {
			ns.Shutdown()
			cleanup()
			return nil, nil, fmt.Errorf("embedded NATS did not start on %s", listen)
		}
		url = ns.ClientURL()
		stopServer = func() { ns.Shutdown(); ns.WaitForShutdown(); cleanup() }
		log.Info("embedded NATS with JetStream", "url", url, "store", store)
	}
	// A NATS server that died is left at once for another of the list:
	// the default pause before reconnecting (2 s) would add to the time
	// writes wait after a stream leader's death (docs/CLUSTER.md).
	nc, err := nats.Connect(url, nats.Name("synk"), nats.MaxReconnects(-1),
		nats.ReconnectWait(100*time.Millisecond), nats.ReconnectJitter(100*time.Millisecond, time.Second))
	if err != nil {
		stopServer()
		return nil, nil, fmt.Errorf("NATS %s: %w", url, err)
	}
	return nc, func() { nc.Close(); stopServer() }, nil
}
