//go:build !js

package server

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/synkhq/synk/internal/store"
	"github.com/synkhq/synk/protocol"
)

// subAt sends m (its ID set here) and returns the frames it caused and
// its OK.
func (p *peer) subAt(m *protocol.Sub) ([]*protocol.Object, *protocol.OK) {
	p.t.Helper()
	m.ID = p.id()
	p.send(m)
	var got []*protocol.Object
	for {
		switch f := expect[protocol.Message](p).(type) {
		case *protocol.Object:
			got = append(got, f)
		case *protocol.OK:
			if f.ID != m.ID {
				p.t.Fatalf("OK.ID = %d, want %d", f.ID, m.ID)
			}
			return got, f
		default:
			p.t.Fatalf("got %T %+v during sub", f, f)
		}
	}
}

// withObjects starts a server whose room "r" holds n objects in area A,
// and an observer of the room that has not subscribed yet.
func withObjects(t *testing.T, opts *Options, n int) (*Server, *httptest.Server, *peer) {
	t.Helper()
	s, hs := testServer(t, opts)
	for i := range n {
		mustWrite(t, s, create("r", fmt.Sprintf("o%03d", i), "A"))
	}
	p := dialPeer(t, hs, "")
	p.join("r", true)
	return s, hs, p
}

// brief renders object frames as "event id area v<version> fields -deleted".
func brief(objs []*protocol.Object) []string {
	var out []string
	for _, o := range objs {
		s := fmt.Sprintf("%v %s %s v%d", o.Event, o.Object, o.Area, o.Version)
		for _, e := range o.Fields {
			s += " " + e.Key
		}
		for _, k := range o.Delete {
			s += " -" + k
		}
		out = append(out, strings.Join(strings.Fields(s), " "))
	}
	return out
}

// mustWrite applies w as server code and returns the new version.
func mustWrite(t testing.TB, s *Server, w *protocol.Write) uint64 {
	t.Helper()
	v, err := s.Write(w)
	if err != nil {
		t.Fatalf("Write(%+v): %v", w, err)
	}
	return v
}

func create(room, id, area string, fields ...protocol.Entry) *protocol.Write {
	return &protocol.Write{Room: room, Op: protocol.OpCreate, Object: id, Kind: "k", Area: area, Fields: fields}
}

func update(room, id string, del []string, fields ...protocol.Entry) *protocol.Write {
	return &protocol.Write{Room: room, Op: protocol.OpUpdate, Object: id, Fields: fields, Delete: del}
}

func move(room, id, area string) *protocol.Write {
	return &protocol.Write{Room: room, Op: protocol.OpMove, Object: id, Area: area}
}

func del(room, id string) *protocol.Write {
	return &protocol.Write{Room: room, Op: protocol.OpDelete, Object: id}
}

// TestResume_netChanges: a client resuming from a position hears, for each
// object changed since, its net change as seen from the areas it held,
// and a put for every object of an area it adds; nothing of the rest.
func TestResume_netChanges(t *testing.T) {
	t.Parallel()
	s, hs := testServer(t, nil)
	w := func(wr *protocol.Write) uint64 { return mustWrite(t, s, wr) }
	for _, o := range []struct{ id, area string }{
		{"upd", "A"}, {"mov", "B"}, {"in", "C"}, {"gone", "A"}, {"out", "A"},
		{"far", "C"}, {"again", "A"}, {"still", "A"}, {"nothing", "B"}, {"dee", "D"},
	} {
		w(create("r", o.id, o.area, entry("n", 0), entry("m", 0)))
	}
	p := dialPeer(t, hs, "p")
	p.join("r", true)
	_, ok := p.subAt(&protocol.Sub{Room: "r", Add: []string{"A", "B"}})
	from := protocol.Position{Epoch: ok.Epoch, Offset: ok.Offset}
	if ok.Epoch == 0 || ok.Offset != 10 || ok.Resumed {
		t.Fatalf("first Sub's OK = %+v, want epoch ≠ 0 at offset 10, not resumed", ok)
	}

	w(update("r", "upd", []string{"m"}, entry("n", 1)))
	w(update("r", "upd", nil, entry("n", 2)))
	w(move("r", "mov", "A"))
	w(update("r", "mov", nil, entry("m", 5)))
	w(move("r", "in", "B"))
	w(del("r", "gone"))
	w(move("r", "out", "C"))
	w(update("r", "far", nil, entry("n", 9)))
	w(del("r", "again"))
	w(create("r", "again", "A", entry("z", 1)))
	w(create("r", "new", "B"))
	w(move("r", "nothing", "A"))
	w(move("r", "nothing", "B"))
	w(update("r", "dee", nil, entry("n", 3)))

	q := dialPeer(t, hs, "q")
	q.join("r", true)
	got, ok := q.subAt(&protocol.Sub{Room: "r", Add: []string{"A", "B", "D"}, From: &from, Held: []string{"A", "B"}})
	want := []string{ // changes told in part first, then whole objects (streamed), each by id
		"ObjectDelete gone v2",     //
		"ObjectMove mov A v3",      // moved within view, then updated
		"ObjectUpdate mov v3 m",    //
		"ObjectUpdate nothing v3",  // moved away and back: only the version
		"ObjectRemove out v2",      // moved out of view
		"ObjectUpdate upd v3 n -m", // net field change
		"ObjectPut again A v1 z",   // deleted and created again: whole
		"ObjectPut dee D v2 m n",   // area D was not held: every object in it
		"ObjectPut in B v2 m n",    // moved into view
		"ObjectPut new B v1",       // created
	}
	if !slices.Equal(brief(got), want) {
		t.Fatalf("resume sent\n%s\nwant\n%s", strings.Join(brief(got), "\n"), strings.Join(want, "\n"))
	}
	if !ok.Resumed || ok.Epoch != from.Epoch || ok.Offset != 24 {
		t.Fatalf("OK = %+v, want resumed at offset 24 of epoch %x", ok, from.Epoch)
	}
	for _, o := range got {
		if o.Offset != 24 {
			t.Fatalf("frame %+v: offset %d, want 24", o, o.Offset)
		}
	}
	// The view is exact afterwards: a later change to "still" (held, never
	// sent) arrives as an update, and "far" stays out of view.
	w(update("r", "far", nil, entry("n", 10)))
	w(update("r", "still", nil, entry("n", 1)))
	if m := expect[*protocol.Object](q); m.Object != "still" || m.Event != protocol.ObjectUpdate || m.Offset != 26 {
		t.Fatalf("after resume got %+v, want an update of still at offset 26", m)
	}
}

func TestResume_fallsBackToSnapshot(t *testing.T) {
	t.Parallel()
	s, hs, p := withObjects(t, &Options{History: 3}, 3)
	_, ok := p.subAt(&protocol.Sub{Room: "r", Add: []string{"A"}})
	at := protocol.Position{Epoch: ok.Epoch, Offset: ok.Offset}

	tests := []struct {
		name   string
		from   protocol.Position
		writes int
		resume bool
	}{
		{"same_position", at, 0, true},
		{"within_history", at, 3, true},
		{"beyond_history", at, 4, false},
		{"other_epoch", protocol.Position{Epoch: at.Epoch + 1, Offset: at.Offset}, 0, false},
		{"ahead", protocol.Position{Epoch: at.Epoch, Offset: 1 << 40}, 0, false},
	}
	n := 0
	for _, tt := range tests {
		for range tt.writes {
			mustWrite(t, s, update("r", "o000", nil, entry("n", n)))
			n++
		}
		q := dialPeer(t, hs, "")
		q.join("r", true)
		got, ok := q.subAt(&protocol.Sub{Room: "r", Add: []string{"A"}, From: &tt.from, Held: []string{"A"}})
		if ok.Resumed != tt.resume {
			t.Errorf("%s: Resumed = %v, want %v", tt.name, ok.Resumed, tt.resume)
		}
		if !tt.resume && len(got) != 3 {
			t.Errorf("%s: snapshot of %d objects, want 3 puts", tt.name, len(got))
		}
		if tt.resume && len(got) != min(tt.writes, 1) {
			t.Errorf("%s: resume sent %v, want one update at most", tt.name, brief(got))
		}
		q.ws.CloseNow()
		at = protocol.Position{Epoch: ok.Epoch, Offset: ok.Offset}
	}
}

func TestResume_errors(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, &Options{MaxAreas: 2})
	p := dialPeer(t, hs, "p")
	p.join("r", true)
	_, ok := p.subAt(&protocol.Sub{Room: "r", Add: []string{"A"}})
	from := &protocol.Position{Epoch: ok.Epoch, Offset: ok.Offset}
	p.send(&protocol.Sub{ID: 50, Room: "r", Add: []string{"B"}, From: from})
	if e := p.expectError(protocol.CodeBadRequest); e.ID != 50 || !strings.Contains(e.Message, "first sub") {
		t.Fatalf("resume after a sub: %+v", e)
	}
	q := dialPeer(t, hs, "q")
	q.join("r", true)
	q.send(&protocol.Sub{ID: 51, Room: "r", Add: []string{"A", "B", "C"}, From: from})
	q.expectError(protocol.CodeTooMany)
	q.send(&protocol.Sub{ID: 52, Room: "s", Add: []string{"A"}, From: from})
	q.expectError(protocol.CodeNotJoined)
}

// TestResume_acrossRestart: positions stay valid when the server stops
// cleanly and starts again from its data directory, and are refused (a
// snapshot is sent instead) after a stop that was not clean.
func TestResume_acrossRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	open := func() (*Server, *peer) {
		s, err := New(&Options{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		hs := startHTTP(t, s)
		p := dialPeer(t, hs, "")
		p.join("r", true)
		return s, p
	}
	s, p := open()
	mustWrite(t, s, create("r", "a", "A"))
	mustWrite(t, s, create("r", "b", "A"))
	_, ok := p.subAt(&protocol.Sub{Room: "r", Add: []string{"A"}})
	from := protocol.Position{Epoch: ok.Epoch, Offset: ok.Offset}
	mustWrite(t, s, update("r", "a", nil, entry("n", 1)))
	p.ws.CloseNow()
	shutdown(t, s)

	s, p = open()
	got, ok := p.subAt(&protocol.Sub{Room: "r", Add: []string{"A"}, From: &from, Held: []string{"A"}})
	if !ok.Resumed || ok.Epoch != from.Epoch || ok.Offset != 3 || !slices.Equal(brief(got), []string{"ObjectUpdate a v2 n"}) {
		t.Fatalf("resume after a clean restart: %+v %v, want the update of a at offset 3", ok, brief(got))
	}
	// A crash: the file is closed without the clean mark.
	p.ws.CloseNow()
	s.store.Close(false) // as a crash leaves it: not marked closed cleanly
	s.Shutdown(context.Background())

	s, p = open()
	defer shutdown(t, s)
	defer p.ws.CloseNow()
	got, ok = p.subAt(&protocol.Sub{Room: "r", Add: []string{"A"}, From: &from, Held: []string{"A"}})
	if ok.Resumed || ok.Epoch == from.Epoch || len(got) != 2 {
		t.Fatalf("resume after a crash: %+v %v, want a snapshot in a new epoch", ok, brief(got))
	}
}

// TestHistory_compaction: changes older than HistoryAge are forgotten in
// memory and in the store (with the tombstones of deleted objects); a room
// left with no objects and no history is freed, and when used again it
// continues its epoch and offset, so its new writes are stored (a room
// created again used to restart at offset 0, below its tombstones).
func TestHistory_compaction(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := New(&Options{DataDir: dir, HistoryAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, s, create("r", "a", "A"))
	mustWrite(t, s, create("r", "b", "A"))
	mustWrite(t, s, del("r", "a"))
	mustWrite(t, s, del("r", "b"))
	r := s.lockRoom("r", false)
	epoch := r.objs.log.epoch
	s.unlockRoom(r)

	s.sweep(time.Now().Add(2 * time.Hour))
	if r := s.lockRoom("r", false); r != nil {
		s.unlockRoom(r)
		t.Fatal("room with no objects and no history was not freed")
	}
	logs, records := storeCounts(t, s.store.(*store.Bolt), "r")
	if logs != 0 || records != 0 {
		t.Fatalf("after compaction the store holds %d changes and %d records of r, want none", logs, records)
	}
	mustWrite(t, s, create("r", "a", "B"))
	r = s.lockRoom("r", false)
	if r.objs.log.epoch != epoch || r.objs.seq != 5 {
		t.Errorf("room used again: epoch %x offset %d, want %x and 5", r.objs.log.epoch, r.objs.seq, epoch)
	}
	s.unlockRoom(r)
	shutdown(t, s)

	s, err = New(&Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(t, s)
	if got := s.Snapshot("r"); len(got) != 1 || got[0].Area != "B" {
		t.Fatalf("after restart r holds %+v, want a in B", got)
	}
}

// TestHistory_count: the log keeps at most History changes.
func TestHistory_count(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t, &Options{History: 5})
	mustWrite(t, s, create("r", "a", "A"))
	for i := range 20 {
		mustWrite(t, s, update("r", "a", nil, entry("n", i)))
	}
	r := s.lockRoom("r", false)
	defer s.unlockRoom(r)
	if n, start := len(r.objs.log.entries), r.objs.log.start; n != 5 || start != 16 || r.objs.seq != 21 {
		t.Fatalf("log holds %d changes after %d, offset %d; want 5 after 16, offset 21", n, start, r.objs.seq)
	}
}

func startHTTP(t *testing.T, s *Server) *httptest.Server {
	t.Helper()
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return hs
}

func shutdown(t *testing.T, s *Server) {
	t.Helper()
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// storeCounts counts the stored changes and object records of room.
func storeCounts(t *testing.T, st *store.Bolt, room string) (logs, records int) {
	t.Helper()
	logs, records, err := st.Counts(room)
	if err != nil {
		t.Fatal(err)
	}
	return logs, records
}
