package e2e

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/synkhq/synk/client"
	"github.com/synkhq/synk/protocol"
	"github.com/synkhq/synk/server"
)

func TestClient_twoClientsSeeEachOther(t *testing.T) {
	t.Parallel()
	_, _, url := start(t, nil)
	ada := dial(t, url, "ada")
	ra := join(t, ada, "lobby", &client.JoinOptions{Presence: map[string]any{"name": "Ada"}})
	joe := dial(t, url, "joe")
	rj := join(t, joe, "lobby", &client.JoinOptions{Presence: map[string]any{"name": "Joe"}})

	if e := nextFor(t, joe, client.EventJoin, "ada"); e.Room != "lobby" {
		t.Fatalf("joe's first event = %+v, want ada's join from the snapshot", e)
	}
	e := nextFor(t, ada, client.EventJoin, "joe")
	var name string
	if err := (client.Member{Client: e.Client, Entries: e.Entries}).Get("name", &name); err != nil || name != "Joe" {
		t.Fatalf("joe's name = %q, %v; want Joe", name, err)
	}

	if err := rj.Set(ctxT(t), map[string]any{"pos": []float32{1, 2, 3}}); err != nil {
		t.Fatal(err)
	}
	e = nextFor(t, ada, client.EventChange, "joe")
	var pos []float32
	if err := (client.Member{Entries: e.Entries}).Get("pos", &pos); err != nil || len(pos) != 3 || pos[2] != 3 {
		t.Fatalf("pos = %v, %v", pos, err)
	}
	ms := ra.Members()
	if len(ms) != 2 || ms[1].Client != "joe" || len(ms[1].Entries) != 2 {
		t.Fatalf("ada's view = %+v, want ada and joe with name and pos", ms)
	}

	if err := rj.Delete(ctxT(t), "pos"); err != nil {
		t.Fatal(err)
	}
	if e := nextFor(t, ada, client.EventChange, "joe"); len(e.Deleted) != 1 || e.Deleted[0] != "pos" {
		t.Fatalf("change = %+v, want pos deleted", e)
	}
	if err := rj.Leave(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if e := nextFor(t, ada, client.EventLeave, "joe"); e.Err != nil {
		t.Fatalf("leave = %+v, want no error", e)
	}
	if n := len(ra.Members()); n != 1 {
		t.Fatalf("ada sees %d members, want 1", n)
	}
}

func TestClient_observer(t *testing.T) {
	t.Parallel()
	_, _, url := start(t, nil)
	ada := dial(t, url, "ada")
	join(t, ada, "lobby", &client.JoinOptions{Presence: map[string]any{"x": 1}})
	obs := dial(t, url, "")
	ro := join(t, obs, "lobby", &client.JoinOptions{Observer: true})
	if ms := ro.Members(); len(ms) != 1 || ms[0].Client != "ada" {
		t.Fatalf("observer view = %+v, want ada", ms)
	}
	err := ro.Set(ctxT(t), map[string]any{"x": 1})
	if protocol.ErrorCode(err) != protocol.CodeReadOnly {
		t.Fatalf("observer Set = %v, want ReadOnly", err)
	}
	if _, err := obs.Join(ctxT(t), "lobby", nil); protocol.ErrorCode(err) != protocol.CodeAlreadyJoined {
		t.Fatalf("second Join = %v, want AlreadyJoined", err)
	}
}

func TestClient_serverRefusal(t *testing.T) {
	t.Parallel()
	_, _, url := start(t, &server.Options{MaxKeys: 2, MaxValue: 64})
	c := dial(t, url, "ada")
	r := join(t, c, "lobby", nil)
	if err := r.Set(ctxT(t), map[string]any{"a": 1, "b": 2, "c": 3}); protocol.ErrorCode(err) != protocol.CodeTooManyKeys {
		t.Fatalf("Set of 3 keys = %v, want TooManyKeys", err)
	}
	if err := r.Set(ctxT(t), map[string]any{"a": string(make([]byte, 100))}); protocol.ErrorCode(err) != protocol.CodeValueTooLarge {
		t.Fatalf("Set of a large value = %v, want ValueTooLarge", err)
	}
	if _, err := c.Join(ctxT(t), "bad/room", nil); protocol.ErrorCode(err) != protocol.CodeBadName {
		t.Fatalf("Join(bad/room) = %v, want BadName", err)
	}
	if err := r.Set(ctxT(t), map[string]any{"a": 1, "b": 2}); err != nil {
		t.Fatalf("Set within limits = %v", err)
	}
	var e *protocol.Error
	if err := r.Set(ctxT(t), map[string]any{"c": 1}); !errors.As(err, &e) || e.Code != protocol.CodeTooManyKeys {
		t.Fatalf("Set of a third key = %v, want TooManyKeys", err)
	}
	if got := r.Members()[0].Entries; len(got) != 2 {
		t.Fatalf("own entries = %v, want a and b", got)
	}
}

// TestClient_httpPosterSharesRoom: a supersynk HTTP poster and a Go client
// see each other.
func TestClient_httpPosterSharesRoom(t *testing.T) {
	t.Parallel()
	_, hs, url := start(t, &server.Options{Timeout: 2 * time.Second})
	c := dial(t, url, "sock")
	r := join(t, c, "vr", &client.JoinOptions{Presence: map[string]any{"head": "XYZ"}})
	resp, err := hs.Client().Post(hs.URL+"/synk/vr", "application/json",
		stringsReader(`{"c":"ada","d":[{"k":"head","v":"UYTFUYTDI"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp)
	if want := `[{"c":"sock","d":[{"k":"head","v":"XYZ"}]}]`; body != want {
		t.Fatalf("POST answer = %s, want %s", body, want)
	}
	e := nextFor(t, c, client.EventJoin, "ada")
	var head string
	if err := (client.Member{Entries: e.Entries}).Get("head", &head); err != nil || head != "UYTFUYTDI" {
		t.Fatalf("ada's head = %q, %v", head, err)
	}
	if n := len(r.Members()); n != 2 {
		t.Fatalf("members = %d, want 2", n)
	}
}

// TestClient_snapshotInParts: a room whose presence is larger than one
// Joined frame carries (512 KiB) is joined whole: the client puts the
// parts together (issue 15.5: one frame over the client's read limit made
// a room unjoinable).
func TestClient_snapshotInParts(t *testing.T) {
	t.Parallel()
	_, _, url := start(t, nil)
	big := make(map[string]any)
	for k := range 4 {
		big[fmt.Sprint("k", k)] = strings.Repeat("x", 15000)
	}
	for i := range 40 { // 2.4 MB of presence
		join(t, dial(t, url, fmt.Sprintf("m%02d", i)), "big", &client.JoinOptions{Presence: big})
	}
	r := join(t, dial(t, url, ""), "big", &client.JoinOptions{Observer: true})
	if ms := r.Members(); len(ms) != 40 || len(ms[39].Entries) != 4 {
		t.Fatalf("the observer sees %d members, want 40 with 4 values each", len(ms))
	}
}
