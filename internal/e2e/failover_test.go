package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/synkhq/synk/client"
	"github.com/synkhq/synk/internal/natstest"
	"github.com/synkhq/synk/server"
)

// clusterNode runs a server joined to the NATS at url, and returns it with
// its websocket URL.
func clusterNode(t *testing.T, url string) (*server.Server, string) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close) // after the server's Shutdown
	s, _, ws := start(t, &server.Options{NATS: nc, Rate: -1, Timeout: 2 * time.Second, PingInterval: 200 * time.Millisecond})
	return s, ws
}

// TestFailover: a client given the addresses of two cluster nodes moves
// to the second when its node shuts down, with its rooms, cache and
// outbox: a write made while it moved is answered there, its cached
// object stays, and its presence reaches the other node's clients again.
func TestFailover(t *testing.T) {
	t.Parallel()
	natsURL := natstest.Run(t, true)
	sA, urlA := clusterNode(t, natsURL)
	_, urlB := clusterNode(t, natsURL)

	bob := dial(t, urlB, "bob")
	join(t, bob, "w", nil)
	ada, err := client.Dial(ctxT(t), urlA, &client.DialOptions{Client: "ada", URLs: []string{urlB},
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ada.Close() })
	r := join(t, ada, "w", &client.JoinOptions{Presence: map[string]any{"pose": 1}})
	nextFor(t, bob, client.EventJoin, "ada")
	if err := r.Subscribe(ctxT(t), []string{"a"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Create(ctxT(t), "crate", "item", "a", map[string]any{"x": 1}); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sA.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	next(t, ada, client.EventDisconnected)
	v, err := r.Update(ctxT(t), "crate", map[string]any{"x": 2}, nil) // sent once it is on node B
	if err != nil || v != 2 {
		t.Fatalf("update after the failover: version %d, %v; want 2", v, err)
	}
	if got := ada.URL(); got != urlB {
		t.Fatalf("ada is on %s, want node B (%s)", got, urlB)
	}
	if o, ok := r.Object("crate"); !ok || o.Version != 2 {
		t.Fatalf("ada's cache holds crate %+v (%v), want version 2", o, ok)
	}
	for { // bob saw ada leave with node A, then come back through node B
		e := next(t, bob, client.EventJoin)
		if e.Client == "ada" {
			break
		}
	}
	if _, err := r.Update(ctxT(t), "crate", map[string]any{"x": 3}, nil); err != nil {
		t.Fatal(err)
	}
}
