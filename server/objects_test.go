//go:build !js

package server

import (
	"fmt"
	"strings"
	"testing"

	"github.com/synkhq/synk/protocol"
)

func (p *peer) sub(room string, add, remove []string) []*protocol.Object {
	p.t.Helper()
	id := p.id()
	p.send(&protocol.Sub{ID: id, Room: room, Add: add, Remove: remove})
	var got []*protocol.Object
	for {
		switch m := expect[protocol.Message](p).(type) {
		case *protocol.Object:
			got = append(got, m)
		case *protocol.OK:
			if m.ID != id {
				p.t.Fatalf("OK.ID = %d, want %d", m.ID, id)
			}
			return got
		default:
			p.t.Fatalf("got %T %+v during sub", m, m)
		}
	}
}

// write sends w and returns the new version, skipping object frames.
func (p *peer) write(w *protocol.Write) (uint64, *protocol.Error) {
	p.t.Helper()
	w.ID = p.id()
	p.send(w)
	for {
		switch m := expect[protocol.Message](p).(type) {
		case *protocol.OK:
			return m.Version, nil
		case *protocol.Error:
			return 0, m
		}
	}
}

func TestObjects_views(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, nil)
	w := dialPeer(t, hs, "writer")
	w.join("r", false)
	o := dialPeer(t, hs, "")
	o.join("r", true)

	for _, id := range []string{"a", "b"} {
		if _, err := w.write(&protocol.Write{Room: "r", Op: protocol.OpCreate, Object: id, Kind: "item", Area: "A",
			Fields: []protocol.Entry{entry("n", 1)}}); err != nil {
			t.Fatal(err)
		}
	}
	w.write(&protocol.Write{Room: "r", Op: protocol.OpCreate, Object: "c", Kind: "item", Area: "C"})
	got := o.sub("r", []string{"A", "B"}, nil)
	if len(got) != 2 || got[0].Object != "a" || got[1].Object != "b" || got[0].Event != protocol.ObjectPut || got[0].Version != 1 {
		t.Fatalf("snapshot = %+v, want puts of a and b at version 1", got)
	}

	step := func(wr *protocol.Write, want protocol.ObjectEvent, area string) {
		t.Helper()
		v, err := w.write(wr)
		if err != nil {
			t.Fatalf("write %+v: %v", wr, err)
		}
		m := expect[*protocol.Object](o)
		if m.Event != want || m.Object != wr.Object || m.Version != v || m.Area != area {
			t.Fatalf("observer got %+v, want %v of %s at version %d in %q", m, want, wr.Object, v, area)
		}
	}
	step(&protocol.Write{Room: "r", Op: protocol.OpUpdate, Object: "a", Fields: []protocol.Entry{entry("n", 2)}}, protocol.ObjectUpdate, "")
	step(&protocol.Write{Room: "r", Op: protocol.OpMove, Object: "a", Area: "B"}, protocol.ObjectMove, "B")
	step(&protocol.Write{Room: "r", Op: protocol.OpMove, Object: "a", Area: "C"}, protocol.ObjectRemove, "")
	step(&protocol.Write{Room: "r", Op: protocol.OpMove, Object: "c", Area: "A"}, protocol.ObjectPut, "A")
	step(&protocol.Write{Room: "r", Op: protocol.OpDelete, Object: "b"}, protocol.ObjectDelete, "")

	if got := o.sub("r", nil, []string{"A"}); len(got) != 1 || got[0].Object != "c" || got[0].Event != protocol.ObjectRemove {
		t.Fatalf("unsubscribe A = %+v, want c removed", got)
	}
	// Updates to objects out of view send nothing: the next frame the
	// observer gets is the put for its new subscription.
	w.write(&protocol.Write{Room: "r", Op: protocol.OpUpdate, Object: "c", Fields: []protocol.Entry{entry("n", 9)}})
	if got := o.sub("r", []string{"C"}, nil); len(got) != 1 || got[0].Object != "a" || got[0].Event != protocol.ObjectPut {
		t.Fatalf("subscribe C = %+v, want only a put (c is in A now)", got)
	}
}

func TestObjects_errors(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, &Options{MaxObjects: 2, MaxAreas: 2, MaxKeys: 1})
	w := dialPeer(t, hs, "w")
	w.join("r", false)
	create := func(id string) *protocol.Write {
		return &protocol.Write{Room: "r", Op: protocol.OpCreate, Object: id, Kind: "k", Area: "A"}
	}
	if _, err := w.write(create("a")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		w    *protocol.Write
		code protocol.Code
	}{
		{"exists", create("a"), protocol.CodeExists},
		{"not_found", &protocol.Write{Room: "r", Op: protocol.OpMove, Object: "zz", Area: "B"}, protocol.CodeNotFound},
		{"stale", &protocol.Write{Room: "r", Op: protocol.OpMove, Object: "a", Area: "B", Expect: 7}, protocol.CodeStale},
		{"too_many_fields", &protocol.Write{Room: "r", Op: protocol.OpUpdate, Object: "a", Fields: []protocol.Entry{entry("x", 1), entry("y", 2)}}, protocol.CodeTooManyKeys},
		{"not_joined", &protocol.Write{Room: "q", Op: protocol.OpDelete, Object: "a"}, protocol.CodeNotJoined},
	}
	for _, tt := range tests {
		if _, err := w.write(tt.w); err == nil || err.Code != tt.code {
			t.Errorf("%s: error = %v, want %v", tt.name, err, tt.code)
		}
	}
	if v, err := w.write(&protocol.Write{Room: "r", Op: protocol.OpUpdate, Object: "a", Fields: []protocol.Entry{entry("x", 1)}, Expect: 1}); err != nil || v != 2 {
		t.Fatalf("compare-and-set at the right version = %d, %v; want 2", v, err)
	}
	w.write(create("b"))
	if _, err := w.write(create("c")); err == nil || err.Code != protocol.CodeTooMany {
		t.Fatalf("third object: %v, want TooMany", err)
	}
	w.send(&protocol.Sub{ID: 99, Room: "r", Add: []string{"1", "2", "3"}})
	w.expectError(protocol.CodeTooMany)

	o := dialPeer(t, hs, "")
	o.join("r", true)
	o.send(&protocol.Write{ID: 5, Room: "r", Op: protocol.OpDelete, Object: "a"})
	o.expectError(protocol.CodeReadOnly)
}

// TestObjects_snapshotBeyondSendBuffer: a snapshot larger than the send
// buffer reaches the client whole, streamed as it reads, and the live
// changes after it follow.
func TestObjects_snapshotBeyondSendBuffer(t *testing.T) {
	t.Parallel()
	s, _, p := withObjects(t, &Options{SendBuffer: 64 << 10}, 100)
	for i := range 100 { // 100 × 2 KB: three times the send buffer
		mustWrite(t, s, update("r", fmt.Sprintf("o%03d", i), nil, entry("pad", strings.Repeat("x", 2000))))
	}
	if got := p.sub("r", []string{"A"}, nil); len(got) != 100 {
		t.Fatalf("snapshot of %d objects, want 100", len(got))
	}
	mustWrite(t, s, update("r", "o000", nil, entry("n", 1)))
	if m := expect[*protocol.Object](p); m.Object != "o000" || m.Event != protocol.ObjectUpdate {
		t.Fatalf("after the snapshot got %+v, want the update of o000", m)
	}
}

// TestObjects_resubscribeSendsNothing: an area removed and added again in
// one Sub, or added again while held, is not sent again (issue 15: a client
// repeating such Subs made the server queue a snapshot each time).
func TestObjects_resubscribeSendsNothing(t *testing.T) {
	t.Parallel()
	_, _, p := withObjects(t, nil, 10)
	if got := p.sub("r", []string{"A"}, nil); len(got) != 10 {
		t.Fatalf("snapshot of %d objects, want 10", len(got))
	}
	if got := p.sub("r", []string{"A"}, []string{"A"}); len(got) != 0 {
		t.Fatalf("removing and adding A again sent %v, want nothing", brief(got))
	}
	if got := p.sub("r", []string{"A"}, nil); len(got) != 0 {
		t.Fatalf("adding A again sent %v, want nothing", brief(got))
	}
	if got := p.sub("r", nil, []string{"A"}); len(got) != 10 || got[0].Event != protocol.ObjectRemove {
		t.Fatalf("removing A sent %v, want 10 removes", brief(got))
	}
}

// TestObjects_pendingSettledByChanges: objects a streamed snapshot still
// owes a client are sent as they are when it reads, not as they were when
// it subscribed: one deleted meanwhile is never put, one moved out of view
// is not put, one updated comes with its update.
func TestObjects_pendingSettledByChanges(t *testing.T) {
	t.Parallel()
	s, _, p := withObjects(t, &Options{SendBuffer: 64 << 10}, 60)
	pad := entry("pad", strings.Repeat("x", 4000))
	for i := range 60 { // 240 KB: most of it is pending after the Sub
		mustWrite(t, s, update("r", fmt.Sprintf("o%03d", i), nil, pad))
	}
	id := p.id()
	p.send(&protocol.Sub{ID: id, Room: "r", Add: []string{"A"}}) // not read yet
	mustWrite(t, s, del("r", "o059"))
	mustWrite(t, s, move("r", "o058", "B"))
	mustWrite(t, s, update("r", "o057", nil, entry("n", 7)))
	mustWrite(t, s, create("r", "zz", "A")) // the last frame: once seen, so is every effect of the writes
	seen := map[string]*protocol.Object{}
	for answered := false; !answered || seen["zz"] == nil; {
		m := expect[protocol.Message](p)
		if ok, isOK := m.(*protocol.OK); isOK && ok.ID == id {
			answered = true
		}
		if o, isObj := m.(*protocol.Object); isObj {
			if prev := seen[o.Object]; prev != nil && o.Event == protocol.ObjectPut {
				t.Fatalf("%s put twice", o.Object)
			}
			seen[o.Object] = o
		}
	}
	if o := seen["o059"]; o != nil && o.Event == protocol.ObjectPut {
		t.Fatalf("deleted o059 last seen as %v", o.Event)
	}
	if o := seen["o058"]; o != nil && o.Event == protocol.ObjectPut {
		t.Fatalf("o058 moved out of view last seen as %v", o.Event)
	}
	if o := seen["o057"]; o == nil || o.Version != 3 {
		t.Fatalf("o057 last seen as %+v, want version 3", o)
	}
	if n := len(seen); n < 57 {
		t.Fatalf("saw %d objects, want at least 57", n)
	}
}
