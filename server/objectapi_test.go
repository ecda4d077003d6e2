//go:build !js

package server

import (
	"testing"

	"github.com/synkhq/synk/protocol"
)

type ball struct {
	X     float64 `msgpack:"x"`
	Y     float64 `msgpack:"y"`
	Color string  `msgpack:"color"`
}

// TestObjects_typed: server code mutates typed objects and only the
// changed field reaches a subscriber.
func TestObjects_typed(t *testing.T) {
	t.Parallel()
	s, hs := testServer(t, nil)
	balls := NewObjects[ball](s, "world", "ball")
	if _, err := balls.Create("b1", "0:0", &ball{X: 1, Y: 2, Color: "red"}); err != nil {
		t.Fatal(err)
	}
	p := dialPeer(t, hs, "")
	p.join("world", true)
	if got := p.sub("world", []string{"0:0"}, nil); len(got) != 1 || len(got[0].Fields) != 3 {
		t.Fatalf("snapshot = %+v, want b1 with 3 fields", got)
	}
	v, err := balls.Update("b1", func(b *ball) { b.X = 5 })
	if err != nil || v != 2 {
		t.Fatalf("Update = %d, %v; want version 2", v, err)
	}
	m := expect[*protocol.Object](p)
	if m.Event != protocol.ObjectUpdate || len(m.Fields) != 1 || m.Fields[0].Key != "x" {
		t.Fatalf("subscriber got %+v, want only x", m)
	}
	if v, _ := balls.Update("b1", func(b *ball) {}); v != 2 {
		t.Fatalf("no-op Update = version %d, want 2 (nothing written)", v)
	}
	got, area, ver, err := balls.Get("b1")
	if err != nil || got != (ball{X: 5, Y: 2, Color: "red"}) || area != "0:0" || ver != 2 {
		t.Fatalf("Get = %+v %s %d %v", got, area, ver, err)
	}
	if _, err := balls.Move("b1", "0:1"); err != nil {
		t.Fatal(err)
	}
	if m := expect[*protocol.Object](p); m.Event != protocol.ObjectRemove {
		t.Fatalf("subscriber got %+v, want a remove (moved out of view)", m)
	}
	if err := balls.Delete("b1"); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := balls.Get("b1"); protocol.ErrorCode(err) != protocol.CodeNotFound {
		t.Fatalf("Get after Delete = %v, want NotFound", err)
	}
	if _, err := s.Write(&protocol.Write{Room: "world", Op: protocol.OpCreate, Object: "x", Kind: "k"}); protocol.ErrorCode(err) != protocol.CodeBadName {
		t.Fatalf("create without area = %v, want BadName", err)
	}
	if n := len(s.Snapshot("world")); n != 0 {
		t.Fatalf("Snapshot = %d objects, want 0", n)
	}
}
