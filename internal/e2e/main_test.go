package e2e

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/synkhq/synk/client"
	"github.com/synkhq/synk/internal/leakcheck"
	"github.com/synkhq/synk/server"
)

func TestMain(m *testing.M) {
	leakcheck.Main(m, 8<<20)
}

// start runs a real server on loopback and returns its websocket URL.
func start(t testing.TB, opts *server.Options) (*server.Server, *httptest.Server, string) {
	t.Helper()
	if opts == nil {
		opts = &server.Options{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := server.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		hs.Close()
	})
	return s, hs, "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dial(t *testing.T, url, id string) *client.Conn {
	t.Helper()
	c, err := client.Dial(ctxT(t), url, &client.DialOptions{Client: id, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func join(t *testing.T, c *client.Conn, room string, opts *client.JoinOptions) *client.Room {
	t.Helper()
	r, err := c.Join(ctxT(t), room, opts)
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	return r
}

// next returns the next event of kind, skipping others, within 10s.
func next(t *testing.T, c *client.Conn, kind client.EventKind) client.Event {
	t.Helper()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case e, ok := <-c.Events():
			if !ok {
				t.Fatalf("events closed waiting for %v", kind)
			}
			if e.Kind == kind {
				return e
			}
		case <-timeout.C:
			t.Fatalf("no %v event within 10s", kind)
		}
	}
}

// nextFor returns the next event of kind about client id.
func nextFor(t *testing.T, c *client.Conn, kind client.EventKind, id string) client.Event {
	t.Helper()
	for {
		if e := next(t, c, kind); e.Client == id {
			return e
		}
	}
}
