// Package natstest runs in-process NATS servers on loopback for tests.
package natstest

import (
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
)

// Run starts a NATS server on a free loopback port, with JetStream (its
// store in a temporary directory) if js, stops it when the test ends, and
// returns its URL.
func Run(t testing.TB, js bool) string {
	t.Helper()
	opts := &natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true}
	if js {
		opts.JetStream, opts.StoreDir = true, t.TempDir()
	}
	ns, err := natsserver.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS did not start")
	}
	t.Cleanup(func() { settle(ns, js); ns.Shutdown(); ns.WaitForShutdown() })
	return ns.ClientURL()
}

// settle waits, at most settleWait, until no client is connected and no
// JetStream API request is being served. A request that makes a stream
// and is served while the server shuts down leaves that stream's file
// store (and its goroutines) running after Shutdown: the stream joins
// the account after shutdown has stopped the account's streams. A synk
// server that closes mid-request (its context cancelled) leaves such a
// request behind; so the last client must be gone and its requests
// served first. NATS tells no one when that happens, so this polls.
func settle(ns *natsserver.Server, js bool) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(settleWait)
	for time.Now().Before(deadline) {
		if ns.NumClients() == 0 && (!js || inflight(ns) == 0) {
			return
		}
		<-tick.C
	}
}

const settleWait = 10 * time.Second

// inflight is the number of JetStream API requests ns is serving.
func inflight(ns *natsserver.Server) uint64 {
	info, err := ns.Jsz(nil)
	if err != nil {
		return 0
	}
	return info.API.Inflight
}
