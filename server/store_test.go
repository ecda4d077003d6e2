//go:build !js

package server

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/synkhq/synk/protocol"
)

func TestStore_restart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	open := func() (*Server, *Objects[ball]) {
		s, err := New(&Options{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		return s, NewObjects[ball](s, "world", "ball")
	}
	stop := func(s *Server) {
		if err := s.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	s, balls := open()
	balls.Create("b1", "A", &ball{X: 1})
	balls.Create("b2", "A", &ball{X: 2})
	balls.Update("b1", func(b *ball) { b.X = 10 })
	balls.Move("b2", "B")
	balls.Create("b3", "A", &ball{})
	balls.Delete("b3")
	stop(s)

	s, balls = open()
	got := s.Snapshot("world")
	if len(got) != 2 || got[0].ID != "b1" || got[0].Version != 2 || got[1].Area != "B" {
		t.Fatalf("after restart: %+v, want b1 at version 2 and b2 in B", got)
	}
	// Writes after a restart must win over the stored ones.
	balls.Update("b1", func(b *ball) { b.X = 11 })
	balls.Create("b3", "C", &ball{X: 3})
	stop(s)

	s, balls = open()
	defer stop(s)
	if b, _, v, err := balls.Get("b1"); err != nil || b.X != 11 || v != 3 {
		t.Fatalf("b1 after second restart = %+v v%d %v, want X 11 at version 3", b, v, err)
	}
	if _, area, _, err := balls.Get("b3"); err != nil || area != "C" {
		t.Fatalf("b3 recreated after its delete: area %q, %v", area, err)
	}
}

func TestStore_openError(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := New(&Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	if _, err := New(&Options{DataDir: dir}); err == nil {
		t.Fatal("a second server opened the same data directory")
	}
}

// TestStore_opIDs: a write resent with the same op id is applied once and
// answered alike, also after a restart.
func TestStore_opIDs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := New(&Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	w := func() *protocol.Write {
		return &protocol.Write{Room: "r", Op: protocol.OpUpdate, Object: "o", OpID: "ada-1",
			Fields: []protocol.Entry{entry("n", 1)}}
	}
	s.Write(&protocol.Write{Room: "r", Op: protocol.OpCreate, Object: "o", Kind: "k", Area: "a", OpID: "ada-0"})
	v1, err1 := s.Write(w())
	v2, err2 := s.Write(w())
	if err1 != nil || err2 != nil || v1 != 2 || v2 != 2 || s.Snapshot("r")[0].Version != 2 {
		t.Fatalf("resend: %d %v, %d %v, want version 2 twice and applied once", v1, err1, v2, err2)
	}
	if _, err := s.Write(&protocol.Write{Room: "r", Op: protocol.OpCreate, Object: "o", Kind: "k", Area: "a", OpID: "ada-0"}); err != nil {
		t.Fatalf("resent create = %v, want its first answer (success), not Exists", err)
	}
	s.Shutdown(context.Background())

	s, err = New(&Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	if v, err := s.Write(w()); err != nil || v != 2 || s.Snapshot("r")[0].Version != 2 {
		t.Fatalf("resend after restart: %d %v, want version 2, not applied again", v, err)
	}
}

// slowMeta is a store whose read of one room's position hangs until
// release: a slow disk.
type slowMeta struct {
	backend
	room             string
	entered, release chan struct{}
}

func (m *slowMeta) Meta(room string) (roomMeta, bool, error) {
	if room == m.room {
		close(m.entered)
		<-m.release
	}
	return m.backend.Meta(room)
}

// TestServer_roomIOOutsideGlobalLock: issue 18.2. Opening a room reads the
// store (and, in a cluster, subscribes on NATS) without the server-wide
// lock: while one room's store read hangs, other rooms are served. Before,
// the read ran under it and the whole server waited.
func TestServer_roomIOOutsideGlobalLock(t *testing.T) {
	t.Parallel()
	bolt, _, err := openStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	slow := &slowMeta{backend: bolt, room: "slow", entered: make(chan struct{}), release: make(chan struct{})}
	s, err := newServer(&Options{Logger: slog.New(slog.DiscardHandler)}, slow, "")
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		hs.Close()
		s.Shutdown(context.Background())
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := hs.Client().Post(hs.URL+"/synk/slow", "application/json", strings.NewReader(`{"c":"a","d":[]}`)); err == nil {
			resp.Body.Close()
		}
	}()
	<-slow.entered
	c := *hs.Client() // its connections close with hs
	c.Timeout = 5 * time.Second
	resp, err := c.Post(hs.URL+"/synk/fast", "application/json", strings.NewReader(`{"c":"b","d":[]}`))
	close(slow.release)
	<-done
	if err != nil {
		t.Fatalf("another room while one room's store read hangs: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("another room: %d", resp.StatusCode)
	}
}
