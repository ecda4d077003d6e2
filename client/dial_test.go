//go:build !js

package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/synkhq/synk/protocol"
)

// scripted serves one websocket connection with fn, for the cases a real
// server never produces.
func scripted(t *testing.T, fn func(ctx context.Context, ws *websocket.Conn)) string {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer ws.CloseNow()
		fn(r.Context(), ws)
	}))
	t.Cleanup(hs.Close)
	return "ws" + strings.TrimPrefix(hs.URL, "http")
}

func TestDial_refused(t *testing.T) {
	t.Parallel()
	url := scripted(t, func(ctx context.Context, ws *websocket.Conn) {
		if _, _, err := ws.Read(ctx); err != nil {
			return
		}
		b, _ := protocol.Encode(protocol.Errorf(protocol.CodeBadVersion, "too old"))
		_ = ws.Write(ctx, websocket.MessageBinary, b)
		_ = ws.Close(websocket.StatusCode(protocol.CodeBadVersion.CloseStatus()), "too old")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := Dial(ctx, url, nil)
	if protocol.ErrorCode(err) != protocol.CodeBadVersion {
		t.Fatalf("Dial = %v, want BadVersion", err)
	}
	if _, err := Dial(ctx, url, &DialOptions{Client: "no/slash"}); protocol.ErrorCode(err) != protocol.CodeBadName {
		t.Fatalf("Dial with a bad id = %v, want BadName", err)
	}
}

// TestConn_garbageEndsSession: a malformed frame from the server ends the
// session, and the event says why.
func TestConn_garbageEndsSession(t *testing.T) {
	t.Parallel()
	url := scripted(t, func(ctx context.Context, ws *websocket.Conn) {
		if _, _, err := ws.Read(ctx); err != nil {
			return
		}
		b, _ := protocol.Encode(&protocol.Welcome{Version: 1, Client: "a", PingMS: 1000, TimeoutMS: 3000})
		_ = ws.Write(ctx, websocket.MessageBinary, b)
		_ = ws.Write(ctx, websocket.MessageBinary, []byte{0xdd, 0xff, 0xff, 0xff, 0xff})
		_, _, _ = ws.Read(ctx) // until the client hangs up
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, url, &DialOptions{MinBackoff: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	e := <-c.Events()
	if e.Kind != EventDisconnected || !errors.Is(e.Err, protocol.ErrMalformed) {
		t.Fatalf("event = %+v, want Disconnected with ErrMalformed", e)
	}
}

// TestWrite_overloadedRetried: a write answered Overloaded (a cluster node
// between two NATS stream leaders) is sent again after a backoff, with the
// same op id, and its caller sees only the final answer.
func TestWrite_overloadedRetried(t *testing.T) {
	t.Parallel()
	opIDs := make(chan string, 4)
	url := scripted(t, func(ctx context.Context, ws *websocket.Conn) {
		send := func(m protocol.Message) {
			b, _ := protocol.Encode(m)
			_ = ws.Write(ctx, websocket.MessageBinary, b)
		}
		overloaded := 2
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				return
			}
			m, err := protocol.Decode(b)
			if err != nil {
				return
			}
			switch m := m.(type) {
			case *protocol.Hello:
				send(&protocol.Welcome{Version: 1, Client: "a", PingMS: 1000, TimeoutMS: 3000})
			case *protocol.Join:
				send(&protocol.Joined{ID: m.ID, Room: m.Room})
			case *protocol.Write:
				opIDs <- m.OpID
				if overloaded > 0 {
					overloaded--
					send(&protocol.Error{ID: m.ID, Room: m.Room, Code: protocol.CodeOverloaded, Message: "try again"})
					continue
				}
				send(&protocol.OK{ID: m.ID, Version: 1})
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, url, &DialOptions{MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, err := c.Join(ctx, "w", nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := r.Create(ctx, "o", "k", "a", nil); err != nil || v != 1 {
		t.Fatalf("create = %d, %v; want 1 after two Overloaded answers", v, err)
	}
	first := <-opIDs
	for range 2 {
		if id := <-opIDs; id != first {
			t.Fatalf("resent with op id %q, want %q", id, first)
		}
	}
}
