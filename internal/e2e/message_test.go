package e2e

import (
	"errors"
	"testing"

	"github.com/synkhq/synk/client"
	"github.com/synkhq/synk/protocol"
)

// TestClient_messages: Room.Send reaches the other members and observers
// as EventMessage, or one member alone; what the server refuses comes back
// as its error, and the room stays usable.
func TestClient_messages(t *testing.T) {
	t.Parallel()
	_, _, url := start(t, nil)
	ada := dial(t, url, "ada")
	ra := join(t, ada, "lobby", nil)
	joe := dial(t, url, "joe")
	rj := join(t, joe, "lobby", nil)
	eve := dial(t, url, "eve")
	re := join(t, eve, "lobby", &client.JoinOptions{Observer: true})
	nextFor(t, ada, client.EventJoin, "joe")

	if err := ra.Send(ctxT(t), "", "pose", []float32{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client.Conn{joe, eve} {
		e := nextFor(t, c, client.EventMessage, "ada")
		var pose []float32
		if err := (client.Member{Entries: map[string]protocol.RawMessage{"d": e.Data}}).Get("d", &pose); err != nil ||
			e.Room != "lobby" || e.Topic != "pose" || e.Direct || len(pose) != 3 || pose[2] != 3 {
			t.Fatalf("got %+v (pose %v, %v), want ada's pose to all", e, pose, err)
		}
	}
	if err := rj.Send(ctxT(t), "ada", "hi", protocol.RawMessage{0xa2, 'o', 'k'}); err != nil {
		t.Fatal(err)
	}
	if e := nextFor(t, ada, client.EventMessage, "joe"); !e.Direct || e.Topic != "hi" || string(e.Data) != "\xa2ok" {
		t.Fatalf("ada got %+v, want joe's direct hi", e)
	}

	// In an area: only eve, subscribed to it, gets it.
	if err := re.Subscribe(ctxT(t), []string{"c1"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := rj.SendArea(ctxT(t), "c1", "", "u", 1); err != nil {
		t.Fatal(err)
	}
	if e := nextFor(t, eve, client.EventMessage, "joe"); e.Area != "c1" || e.Topic != "u" {
		t.Fatalf("eve got %+v, want joe's message in c1", e)
	}
	if err := rj.Send(ctxT(t), "nobody", "hi", 1); protocol.ErrorCode(err) != protocol.CodeNotFound {
		t.Fatalf("Send to nobody = %v, want NotFound", err)
	}
	if err := re.Send(ctxT(t), "", "hi", 1); protocol.ErrorCode(err) != protocol.CodeReadOnly {
		t.Fatalf("an observer's Send = %v, want ReadOnly", err)
	}
	if err := rj.Send(ctxT(t), "", "", 1); protocol.ErrorCode(err) != protocol.CodeBadName {
		t.Fatalf("Send without a topic = %v, want BadName", err)
	}
	big := make([]byte, 17<<10)
	if err := rj.Send(ctxT(t), "", "blob", big); protocol.ErrorCode(err) != protocol.CodeValueTooLarge {
		t.Fatalf("Send of 17 KiB = %v, want ValueTooLarge", err)
	}
	// The room is still joined and its messages still flow.
	if err := rj.Send(ctxT(t), "", "after", "x"); err != nil {
		t.Fatal(err)
	}
	if e := nextFor(t, ada, client.EventMessage, "joe"); e.Topic != "after" {
		t.Fatalf("ada got %+v, want joe's message after the refusals (and none in c1)", e)
	}
	if err := ra.Leave(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := ra.Send(ctxT(t), "", "gone", 1); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("Send after Leave = %v, want ErrClosed", err)
	}
}

// TestClient_messageWhileDisconnected: a message is not kept: Send fails
// with ErrDisconnected while the connection is down, and one sent once it
// is back arrives (but not the earlier one).
func TestClient_messageWhileDisconnected(t *testing.T) {
	t.Parallel()
	_, hs, url := start(t, nil)
	px := newProxy(t, hs.Listener.Addr().String())
	ada := dial(t, "ws://"+px.addr()+"/ws", "ada")
	ra := join(t, ada, "lobby", nil)
	joe := dial(t, url, "joe")
	join(t, joe, "lobby", nil)

	px.down()
	next(t, ada, client.EventDisconnected)
	if err := ra.Send(ctxT(t), "", "lost", 1); !errors.Is(err, client.ErrDisconnected) {
		t.Fatalf("Send while disconnected = %v, want ErrDisconnected", err)
	}
	px.up()
	next(t, ada, client.EventReconnected)
	if err := ra.Send(ctxT(t), "", "back", 2); err != nil {
		t.Fatal(err)
	}
	if e := nextFor(t, joe, client.EventMessage, "ada"); e.Topic != "back" {
		t.Fatalf("joe got %+v, want only the message sent once back", e)
	}
}
