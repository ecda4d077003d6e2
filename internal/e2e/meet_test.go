package e2e

import (
	"context"
	"errors"
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/synkhq/synk/client"
	"github.com/synkhq/synk/protocol"
)

// meetAsync runs Meet in the background.
func meetAsync(ctx context.Context, meet func(context.Context, *client.MeetParams) (map[string]string, error), p *client.MeetParams) <-chan meetResult {
	ch := make(chan meetResult, 1)
	go func() {
		m, err := meet(ctx, p)
		ch <- meetResult{m, err}
	}()
	return ch
}

type meetResult struct {
	payloads map[string]string
	err      error
}

// stats returns the server's /stats body for room ("" for server-wide).
func stats(t *testing.T, base, room string) string {
	t.Helper()
	resp, err := http.Get(base + "/stats?room=" + room)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// waitStats waits until /stats mentions want (or, with want "", is empty).
// It polls: /stats is the one place that shows who waits, and the server
// tells no third party when a request arrives or leaves. (The server's own
// tests wait on the board's events instead.)
func waitStats(t *testing.T, base, room, want string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		s := stats(t, base, room)
		if want == "" && strings.TrimSpace(s) == "{}" || want != "" && strings.Contains(s, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/stats?room=%s = %s, want %q", room, s, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestClient_meet(t *testing.T) {
	t.Parallel()
	_, hs, url := start(t, nil)
	ctx := ctxT(t)
	a := dial(t, url, "a")
	b := dial(t, url, "b")

	// Two Go clients, server-wide (whichever arrives second completes the
	// group).
	got := meetAsync(ctx, a.Meet, &client.MeetParams{Event: "e", Actor: "ada", Payload: "hi"})
	m, err := b.Meet(ctx, &client.MeetParams{Event: "e", Actor: "bob", Payload: "yo"})
	want := map[string]string{"ada": "hi", "bob": "yo"}
	if err != nil || !maps.Equal(m, want) {
		t.Fatalf("bob met %v, %v", m, err)
	}
	if r := <-got; r.err != nil || !maps.Equal(r.payloads, want) {
		t.Fatalf("ada met %v, %v", r.payloads, r.err)
	}

	// In a room, with labels and a selector; the observer cannot meet.
	ra, rb := join(t, a, "arena", nil), join(t, b, "arena", nil)
	got = meetAsync(ctx, ra.Meet, &client.MeetParams{Event: "duel", Actor: "ada", Labels: map[string]string{"level": "3"}, Selector: "level in (3,4)"})
	m, err = rb.Meet(ctx, &client.MeetParams{Event: "duel", Actor: "bob", Labels: map[string]string{"level": "4"}, Selector: "level=3"})
	if err != nil || len(m) != 2 {
		t.Fatalf("bob met %v, %v", m, err)
	}
	if r := <-got; r.err != nil || len(r.payloads) != 2 {
		t.Fatalf("ada met %v, %v", r.payloads, r.err)
	}
	obs := join(t, dial(t, url, "o"), "arena", &client.JoinOptions{Observer: true})
	if _, err := obs.Meet(ctx, &client.MeetParams{Event: "duel", Actor: "o"}); protocol.ErrorCode(err) != protocol.CodeReadOnly {
		t.Fatalf("observer Meet = %v, want ReadOnly", err)
	}

	// Canceled by its context: withdrawn from the server (Meet returns once
	// the server answered the Cancel).
	short, cancel := context.WithCancel(ctx)
	got = meetAsync(short, a.Meet, &client.MeetParams{Event: "alone", Actor: "ada"})
	waitStats(t, hs.URL, "", `"alone"`)
	cancel()
	if r := <-got; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("canceled Meet = %v", r.err)
	}
	if s := stats(t, hs.URL, ""); strings.TrimSpace(s) != "{}" {
		t.Fatalf("/stats after the cancel = %s", s)
	}

	// Expired on the server.
	if _, err := a.Meet(ctx, &client.MeetParams{Event: "alone", Actor: "ada", Timeout: 20 * time.Millisecond}); protocol.ErrorCode(err) != protocol.CodeExpired {
		t.Fatalf("Meet past its timeout = %v, want Expired", err)
	}
	// A bad selector is refused with the problem named.
	if _, err := a.Meet(ctx, &client.MeetParams{Event: "e", Actor: "ada", Selector: "level in (3"}); protocol.ErrorCode(err) != protocol.CodeBadRequest || !strings.Contains(err.Error(), "selector") {
		t.Fatalf("bad selector = %v", err)
	}
}

// TestClient_meetLostWithTheConnection: a pending meet whose connection
// drops fails at once, and the server forgets it.
func TestClient_meetLostWithTheConnection(t *testing.T) {
	t.Parallel()
	_, hs, _ := start(t, nil)
	px := newProxy(t, hs.Listener.Addr().String())
	c := dial(t, "ws://"+px.addr()+"/ws", "a")
	got := meetAsync(ctxT(t), c.Meet, &client.MeetParams{Event: "e", Actor: "ada"})
	waitStats(t, hs.URL, "", `"ada"`)
	px.cut()
	if r := <-got; r.err == nil || !strings.Contains(r.err.Error(), "withdrawn") {
		t.Fatalf("Meet across a dropped connection = %v", r.err)
	}
	waitStats(t, hs.URL, "", "")
}
