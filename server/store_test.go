package server

import (
	"context"
	"testing"
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
