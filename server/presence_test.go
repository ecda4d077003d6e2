//go:build !js

package server

import (
	"reflect"
	"testing"

	"github.com/synkhq/synk/protocol"
)

func TestServer_twoClientsSeeEachOther(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, nil)
	ada := dialPeer(t, hs, "ada")
	if ada.welcome.Client != "ada" || ada.welcome.Limits.MaxKeys != 64 {
		t.Fatalf("Welcome = %+v, want client ada and default limits", ada.welcome)
	}
	j := ada.join("lobby", false, entry("name", "Ada"))
	if len(j.Members) != 1 || j.Members[0].Client != "ada" {
		t.Fatalf("ada's snapshot = %+v, want only ada", j.Members)
	}

	joe := dialPeer(t, hs, "joe")
	j = joe.join("lobby", false, entry("name", "Joe"))
	if got := []string{j.Members[0].Client, j.Members[1].Client}; !reflect.DeepEqual(got, []string{"ada", "joe"}) {
		t.Fatalf("joe's snapshot members = %v, want [ada joe]", got)
	}
	if v := valueOf(t, j.Members[0].Entries[0].Value); v != "Ada" {
		t.Fatalf("ada's name in joe's snapshot = %v, want Ada", v)
	}

	p := expect[*protocol.Presence](ada)
	if p.Event != protocol.EventJoin || p.Client != "joe" || valueOf(t, p.Entries[0].Value) != "Joe" {
		t.Fatalf("ada got %+v, want joe's join with his name", p)
	}

	joe.send(&protocol.Set{ID: 7, Room: "lobby", Entries: []protocol.Entry{entry("x", 3)}, Delete: []string{"name"}})
	if ok := expect[*protocol.OK](joe); ok.ID != 7 {
		t.Fatalf("OK.ID = %d, want 7", ok.ID)
	}
	p = expect[*protocol.Presence](ada)
	if p.Event != protocol.EventChange || p.Client != "joe" || len(p.Entries) != 1 || !reflect.DeepEqual(p.Delete, []string{"name"}) {
		t.Fatalf("ada got %+v, want only joe's change", p)
	}

	joe.send(&protocol.Leave{ID: 8, Room: "lobby"})
	expect[*protocol.OK](joe)
	p = expect[*protocol.Presence](ada)
	if p.Event != protocol.EventLeave || p.Client != "joe" || p.Reason != 0 {
		t.Fatalf("ada got %+v, want joe's leave with no reason", p)
	}
}

// TestServer_roomHandles: a Set names its room by the handle its Joined
// gave; a handle of a room left, or never given, is NotJoined, and a room
// joined again gets a new handle.
func TestServer_roomHandles(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, nil)
	ada := dialPeer(t, hs, "ada")
	ada.join("lobby", false)
	joe := dialPeer(t, hs, "joe")
	hLobby := joe.join("lobby", false).Handle
	hHall := joe.join("hall", false).Handle
	if hLobby == 0 || hHall == 0 || hLobby == hHall {
		t.Fatalf("handles lobby %d, hall %d: want two different non-zero handles", hLobby, hHall)
	}
	expect[*protocol.Presence](ada) // joe's join

	joe.send(&protocol.Set{ID: 7, Handle: hLobby, Entries: []protocol.Entry{entry("x", 3)}})
	expect[*protocol.OK](joe)
	if p := expect[*protocol.Presence](ada); p.Room != "lobby" || p.Client != "joe" || valueOf(t, p.Entries[0].Value) != int8(3) {
		t.Fatalf("ada got %+v, want joe's x=3 in lobby", p)
	}

	joe.send(&protocol.Set{ID: 8, Handle: 99, Delete: []string{"x"}})
	if e := joe.expectError(protocol.CodeNotJoined); e.ID != 8 {
		t.Fatalf("error %+v, want it for request 8", e)
	}

	joe.send(&protocol.Leave{ID: 9, Room: "lobby"})
	expect[*protocol.OK](joe)
	expect[*protocol.Presence](ada) // joe's leave
	joe.send(&protocol.Set{ID: 10, Handle: hLobby, Delete: []string{"x"}})
	joe.expectError(protocol.CodeNotJoined)
	if h := joe.join("lobby", false).Handle; h == hLobby || h == hHall || h == 0 {
		t.Fatalf("lobby joined again got handle %d, want a new one (had %d, %d)", h, hLobby, hHall)
	}
}

func TestServer_observer(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, nil)
	ada := dialPeer(t, hs, "ada")
	ada.join("lobby", false, entry("name", "Ada"))
	obs := dialPeer(t, hs, "")
	j := obs.join("lobby", true)
	if len(j.Members) != 1 || j.Members[0].Client != "ada" {
		t.Fatalf("observer snapshot = %+v, want ada", j.Members)
	}
	obs.send(&protocol.Set{ID: 3, Room: "lobby", Entries: []protocol.Entry{entry("x", 1)}})
	if e := obs.expectError(protocol.CodeReadOnly); e.ID != 3 {
		t.Fatalf("error ID = %d, want 3", e.ID)
	}
	ada.send(&protocol.Set{Room: "lobby", Entries: []protocol.Entry{entry("x", 1)}})
	if p := expect[*protocol.Presence](obs); p.Client != "ada" || p.Event != protocol.EventChange {
		t.Fatalf("observer got %+v, want ada's change", p)
	}
	// The observer is invisible: a new participant's snapshot omits it.
	joe := dialPeer(t, hs, "joe")
	if j := joe.join("lobby", false); len(j.Members) != 2 {
		t.Fatalf("joe's snapshot = %+v, want ada and joe only", j.Members)
	}
}

// TestServer_snapshotThenDiffs checks that a client joining while another
// publishes sees its snapshot and then every later change exactly once.
func TestServer_snapshotThenDiffs(t *testing.T) {
	t.Parallel()
	const n = 400
	_, hs := testServer(t, nil)
	pub := dialPeer(t, hs, "pub")
	pub.join("race", false, entry("n", 0))
	done := make(chan struct{})
	half := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= n; i++ {
			if i == n/2 {
				close(half) // the join races with the second half
			}
			b, _ := protocol.Encode(&protocol.Set{Room: "race", Entries: []protocol.Entry{entry("n", i)}})
			pub.sendRaw(b)
		}
		b, _ := protocol.Encode(&protocol.Set{ID: 999, Room: "race", Entries: []protocol.Entry{entry("done", true)}})
		pub.sendRaw(b)
	}()
	sub := dialPeer(t, hs, "sub")
	<-half
	j := sub.join("race", false)
	var last int64 = -1
	finished := false
	for _, m := range j.Members {
		if m.Client == "pub" {
			for _, e := range m.Entries {
				switch e.Key {
				case "n":
					last = toInt(t, valueOf(t, e.Value))
				case "done":
					finished = true
				}
			}
		}
	}
	if last < 0 {
		t.Fatalf("snapshot %+v has no n from pub", j.Members)
	}
	for !finished {
		p := expect[*protocol.Presence](sub)
		if p.Entries[0].Key == "done" {
			break
		}
		got := toInt(t, valueOf(t, p.Entries[0].Value))
		if got != last+1 {
			t.Fatalf("after n=%d got n=%d: a change was lost or repeated", last, got)
		}
		last = got
	}
	<-done
	if last != n {
		t.Fatalf("last n = %d, want %d", last, n)
	}
}

func toInt(t *testing.T, v any) int64 {
	t.Helper()
	switch v := v.(type) {
	case int8:
		return int64(v)
	case int16:
		return int64(v)
	case int32:
		return int64(v)
	case int64:
		return v
	case uint8:
		return int64(v)
	case uint16:
		return int64(v)
	case uint32:
		return int64(v)
	case uint64:
		return int64(v)
	}
	t.Fatalf("%v (%T) is not an integer", v, v)
	return 0
}

func TestServer_replace(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, nil)
	obs := dialPeer(t, hs, "")
	obs.join("lobby", true)
	old := dialPeer(t, hs, "ada")
	old.join("lobby", false)
	expect[*protocol.Presence](obs)

	dialPeer(t, hs, "ada").join("lobby", false, entry("v", 2))
	if e := old.expectError(protocol.CodeReplaced); e.Room != "lobby" {
		t.Fatalf("Replaced error room = %q, want lobby", e.Room)
	}
	if p := expect[*protocol.Presence](obs); p.Event != protocol.EventLeave || p.Reason != protocol.CodeReplaced {
		t.Fatalf("observer got %+v, want a leave for Replaced", p)
	}
	if p := expect[*protocol.Presence](obs); p.Event != protocol.EventJoin || p.Client != "ada" {
		t.Fatalf("observer got %+v, want ada's join", p)
	}
	old.send(&protocol.Set{ID: 5, Room: "lobby", Entries: []protocol.Entry{entry("v", 1)}})
	old.expectError(protocol.CodeNotJoined)
}
