//go:build !js

package server

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/synkhq/synk/protocol"
)

// TestLimits_rate: a connection sending beyond its token bucket is ended
// with RateLimited after the frames within it were served.
func TestLimits_rate(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, &Options{Rate: 1e-3, Burst: 5}) // no refill within the test
	p := dialPeer(t, hs, "ada")                            // the Hello is frame 1
	p.join("lobby", false)                                 // frame 2
	var batch []byte
	for i := range 10 {
		b, _ := protocol.Encode(&protocol.Set{ID: uint32(100 + i), Room: "lobby", Entries: []protocol.Entry{entry("n", i)}})
		batch = append(batch, b...)
	}
	p.sendRaw(batch)
	// The Hello is read before the bucket exists: frames 2–6 fit in it.
	for i := range 4 {
		if ok := expect[*protocol.OK](p); ok.ID != uint32(100+i) {
			t.Fatalf("OK %+v, want request %d", ok, 100+i)
		}
	}
	e := p.expectError(protocol.CodeRateLimited)
	if e.ID != 0 || !strings.Contains(e.Message, "frames per second") {
		t.Fatalf("error %+v, want the session's end", e)
	}
	if _, err := p.recv(); websocket.CloseStatus(err) != websocket.StatusCode(protocol.CodeRateLimited.CloseStatus()) {
		t.Fatalf("after the error: %v, want close status %d", err, protocol.CodeRateLimited.CloseStatus())
	}
}

// TestLimits_connsPerIP: connections beyond the per-address limit are
// refused with 429 and a JSON error; a closed one frees its place.
func TestLimits_connsPerIP(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, &Options{MaxConnsPerIP: 2})
	a := dialPeer(t, hs, "a")
	dialPeer(t, hs, "b")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, wsURL(hs), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third dial: %v, %v; want 429", resp, err)
	}
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `"code":212`) {
		t.Fatalf("429 body %s, want error code 212 (TooMany)", body)
	}
	a.ws.Close(websocket.StatusNormalClosure, "")
	// The place is freed when the server's side of a's connection ends,
	// which the client cannot observe: dial until it is taken (each try
	// is answered at once; ctx bounds them).
	for {
		ws, resp, err := websocket.Dial(ctx, wsURL(hs), nil)
		if err == nil {
			ws.CloseNow()
			return
		}
		if ctx.Err() != nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("dial after a close: %v", err)
		}
	}
}

// TestMetrics: /metrics shows connections, rooms, frames by type, bytes
// and errors by code.
func TestMetrics(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, nil)
	p := dialPeer(t, hs, "ada")
	p.join("lobby", false)
	p.send(&protocol.Leave{ID: 9, Room: "attic"})
	p.expectError(protocol.CodeNotJoined)
	code, out := get(t, hs.URL+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		"synk_connections 1",
		"synk_rooms 1",
		`synk_frames_received_total{type="Join"} 1`,
		`synk_errors_total{code="202",name="NotJoined"} 1`,
		"synk_sent_bytes_total",
		"synk_store_write_seconds_bucket",
		"go_goroutines",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestLimits_conns: past MaxConns websocket connections in all (from any
// address), the next is refused with 429 before the upgrade.
func TestLimits_conns(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, &Options{MaxConns: 2, MaxConnsPerIP: -1})
	dialPeer(t, hs, "a")
	dialPeer(t, hs, "b")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, wsURL(hs), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third dial: %v, %v; want 429", resp, err)
	}
}
