package e2e

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/synkhq/synk/client"
	"github.com/synkhq/synk/protocol"
	"github.com/synkhq/synk/server"
)

// TestClient_reconnect: the network drops; the client reconnects, rejoins
// and publishes its entries again, including one set while it was away.
func TestClient_reconnect(t *testing.T) {
	t.Parallel()
	_, hs, url := start(t, nil)
	px := newProxy(t, hs.Listener.Addr().String())
	ada := dial(t, "ws://"+px.addr()+"/ws", "ada")
	ra := join(t, ada, "lobby", &client.JoinOptions{Presence: map[string]any{"name": "Ada"}})
	joe := dial(t, url, "joe")
	join(t, joe, "lobby", nil)
	nextFor(t, ada, client.EventJoin, "joe")

	px.cut()
	if e := next(t, ada, client.EventDisconnected); e.Err == nil {
		t.Fatal("Disconnected event has no error")
	}
	nextFor(t, joe, client.EventLeave, "ada")
	// Set while away (or already back): it returns once the server has it.
	if err := ra.Set(ctxT(t), map[string]any{"x": 42}); err != nil {
		t.Fatalf("Set across reconnect = %v", err)
	}
	next(t, ada, client.EventReconnected)

	e := nextFor(t, joe, client.EventJoin, "ada")
	var name string
	if err := (client.Member{Entries: e.Entries}).Get("name", &name); err != nil || name != "Ada" {
		t.Fatalf("ada rejoined with name %q, %v; want Ada", name, err)
	}
	var x int
	m := client.Member{Entries: e.Entries}
	if _, ok := e.Entries["x"]; !ok {
		// The Set may have gone out after the rejoin, as its own change.
		m = client.Member{Entries: nextFor(t, joe, client.EventChange, "ada").Entries}
	}
	if err := m.Get("x", &x); err != nil || x != 42 {
		t.Fatalf("x = %d, %v; want 42", x, err)
	}
	if n := len(ra.Members()); n != 2 {
		t.Fatalf("ada sees %d members after reconnect, want 2", n)
	}
}

// TestClient_deadPathTimesOut: the path to a client goes silent without a
// close; the server drops it within the timeout and tells the others, and
// the client itself notices and comes back.
func TestClient_deadPathTimesOut(t *testing.T) {
	t.Parallel()
	_, hs, url := start(t, &server.Options{Timeout: 400 * time.Millisecond, PingInterval: 100 * time.Millisecond})
	px := newProxy(t, hs.Listener.Addr().String())
	ghost := dial(t, "ws://"+px.addr()+"/ws", "ghost")
	join(t, ghost, "lobby", nil)
	obs := dial(t, url, "")
	join(t, obs, "lobby", &client.JoinOptions{Observer: true})

	px.blackhole()
	e := nextFor(t, obs, client.EventLeave, "ghost")
	if protocol.ErrorCode(e.Err) != protocol.CodeTimeout {
		t.Fatalf("leave error = %v, want Timeout", e.Err)
	}
	next(t, ghost, client.EventDisconnected)
	next(t, ghost, client.EventReconnected)
	nextFor(t, obs, client.EventJoin, "ghost")
}

// TestClient_serverShutdown: clients are told the server is going away, and
// keep trying to come back until closed.
func TestClient_serverShutdown(t *testing.T) {
	t.Parallel()
	s, _, url := start(t, nil)
	c := dial(t, url, "ada")
	join(t, c, "lobby", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	e := next(t, c, client.EventDisconnected)
	if protocol.ErrorCode(e.Err) != protocol.CodeShutdown {
		t.Fatalf("disconnect error = %v, want Shutdown", e.Err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-c.Events(); ok {
		// Events queued before Close may still be read; the channel closes.
		for range c.Events() {
		}
	}
	if _, err := c.Join(ctxT(t), "again", nil); err != client.ErrClosed {
		t.Fatalf("Join after Close = %v, want ErrClosed", err)
	}
}

// TestClient_replaced: a second connection with the same client id takes
// the room over; the first is told and does not fight back.
func TestClient_replaced(t *testing.T) {
	t.Parallel()
	_, _, url := start(t, nil)
	first := dial(t, url, "ada")
	r1 := join(t, first, "lobby", nil)
	second := dial(t, url, "ada")
	join(t, second, "lobby", nil)
	e := next(t, first, client.EventRoomClosed)
	if protocol.ErrorCode(e.Err) != protocol.CodeReplaced || e.Room != "lobby" {
		t.Fatalf("event = %+v, want RoomClosed for Replaced", e)
	}
	if err := r1.Set(ctxT(t), map[string]any{"x": 1}); protocol.ErrorCode(err) != protocol.CodeReplaced {
		t.Fatalf("Set on a replaced room = %v, want Replaced", err)
	}
}

// TestClient_keepsItsID: a client, named by the server or by itself,
// whose connection dies on its side while the server still holds it,
// reconnects as the same client: its id does not change, it never hears
// itself leave, and the others see neither a Leave nor a Join, only its
// next change. (A chosen id showed a Leave and a Join: it had no secret.)
func TestClient_keepsItsID(t *testing.T) {
	t.Parallel()
	for _, chosen := range []string{"", "ada"} {
		t.Run("id="+chosen, func(t *testing.T) {
			t.Parallel()
			_, hs, url := start(t, nil)
			px := newProxy(t, hs.Listener.Addr().String())
			c := dial(t, "ws://"+px.addr()+"/ws", chosen)
			id := c.Client()
			r := join(t, c, "lobby", &client.JoinOptions{Presence: map[string]any{"pose": 1}})
			obs := dial(t, url, "")
			join(t, obs, "lobby", &client.JoinOptions{Observer: true})
			nextFor(t, obs, client.EventJoin, id) // from its snapshot
			reconnectUnseen(t, px, c, r, obs, id)
		})
	}
}

// reconnectUnseen cuts c's side of its link through px while the server
// holds it, and checks that c comes back as id without hearing itself
// leave, and that obs sees nothing of it but its next change to r.
func reconnectUnseen(t *testing.T, px *proxy, c *client.Conn, r *client.Room, obs *client.Conn, id string) {
	t.Helper()
	px.orphan() // the server does not notice: it holds the old connection until its timeout
	next(t, c, client.EventDisconnected)
	next(t, c, client.EventReconnected)
	if got := c.Client(); got != id {
		t.Fatalf("Client() = %s after the reconnect, want %s", got, id)
	}
	if err := r.Set(ctxT(t), map[string]any{"pose": rand.Int()}); err != nil {
		t.Fatal(err)
	}
	for { // the observer: nothing of the client but its change
		var e client.Event
		select {
		case e = <-obs.Events():
		case <-ctxT(t).Done():
			t.Fatal("the observer did not see the client's change")
		}
		if e.Client == id && (e.Kind == client.EventLeave || e.Kind == client.EventJoin) {
			t.Fatalf("the observer saw %v of the client", e.Kind)
		}
		if e.Client == id && e.Kind == client.EventChange {
			break
		}
	}
	for len(c.Events()) > 0 {
		if e := <-c.Events(); e.Kind == client.EventLeave && e.Client == id {
			t.Fatal("the client heard itself leave")
		}
	}
}

// TestClient_keepsItsIDAcrossRestart: a client the server named keeps its
// id when the server restarts (the new one does not know its secret,
// takes the id as chosen and, since no connection holds it, gives a new
// secret) and on every reconnect after: the new server's clients see it
// once, with no ghost of its old self, and no Leave and Join when it
// reconnects again (before, its old secret was refused on every later
// reconnect).
func TestClient_keepsItsIDAcrossRestart(t *testing.T) {
	t.Parallel()
	s1, hs1, _ := start(t, nil)
	px := newProxy(t, hs1.Listener.Addr().String())
	c := dial(t, "ws://"+px.addr()+"/ws", "")
	id := c.Client()
	r := join(t, c, "lobby", &client.JoinOptions{Presence: map[string]any{"pose": 1}})

	_, hs2, url2 := start(t, nil)
	px.retarget(hs2.Listener.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s1.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	next(t, c, client.EventReconnected)
	if got := c.Client(); got != id {
		t.Fatalf("Client() = %s after a restart, want %s", got, id)
	}
	obs := dial(t, url2, "")
	ro := join(t, obs, "lobby", &client.JoinOptions{Observer: true})
	if ms := ro.Members(); len(ms) != 1 || ms[0].Client != id {
		t.Fatalf("the new server's room holds %v, want only %s", ms, id)
	}
	nextFor(t, obs, client.EventJoin, id) // from its snapshot
	reconnectUnseen(t, px, c, r, obs, id)
}
