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
	if _, err := Dial(ctx, url, &DialOptions{Client: "no spaces"}); protocol.ErrorCode(err) != protocol.CodeBadName {
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
