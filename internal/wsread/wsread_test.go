//go:build !js

package wsread

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestExact: each message comes back whole in a slice of its own
// size, across the pooled buffer's growth and past what the pool keeps;
// a message over the read limit is an error, as with Conn.Read.
func TestExact(t *testing.T) {
	t.Parallel()
	sizes := []int{0, 3, 4 << 10, 4<<10 + 1, 100 << 10, 5}
	got := make(chan []byte, len(sizes))
	failed := make(chan error, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(200 << 10)
		ws := Exact{c}
		for range sizes {
			_, b, err := ws.Read(r.Context())
			if err != nil {
				failed <- err
				return
			}
			got <- b
		}
		c.SetReadLimit(1 << 10)
		_, _, err = ws.Read(r.Context())
		failed <- err
	}))
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for i, n := range sizes {
		want := bytes.Repeat([]byte{byte(i + 1)}, n)
		if err := c.Write(ctx, websocket.MessageBinary, want); err != nil {
			t.Fatal(err)
		}
		select {
		case b := <-got:
			if !bytes.Equal(b, want) || cap(b) != n {
				t.Fatalf("message %d: %d bytes (cap %d), want %d exactly", i, len(b), cap(b), n)
			}
		case err := <-failed:
			t.Fatalf("message %d: %v", i, err)
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
	_ = c.Write(ctx, websocket.MessageBinary, make([]byte, 2<<10))
	select {
	case err := <-failed:
		if websocket.CloseStatus(err) != websocket.StatusMessageTooBig && !strings.Contains(err.Error(), "read limited") {
			t.Fatalf("over the limit: %v, want a read-limit error", err)
		}
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
}
