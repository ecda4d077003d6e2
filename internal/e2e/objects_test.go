package e2e

import (
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/synkhq/synk/client"
	"github.com/synkhq/synk/protocol"
	"github.com/synkhq/synk/server"
)

func TestClient_objects(t *testing.T) {
	t.Parallel()
	_, _, url := start(t, nil)
	a := dial(t, url, "a")
	ra := join(t, a, "w", nil)
	b := dial(t, url, "b")
	rb := join(t, b, "w", &client.JoinOptions{Observer: true})
	ctx := ctxT(t)

	if v, err := ra.Create(ctx, "ball", "item", "A", map[string]any{"x": 1}); err != nil || v != 1 {
		t.Fatalf("Create = %d, %v", v, err)
	}
	if err := rb.Subscribe(ctx, []string{"A", "B"}, nil); err != nil {
		t.Fatal(err)
	}
	if o, ok := rb.Object("ball"); !ok || o.Area != "A" || o.Version != 1 {
		t.Fatalf("b's cache after Subscribe = %+v, %v", o, ok)
	}
	if e := next(t, b, client.EventObjectPut); e.Object != "ball" {
		t.Fatalf("event = %+v", e)
	}
	ra.Move(ctx, "ball", "B", nil)
	if e := next(t, b, client.EventObjectMove); e.Area != "B" || e.Version != 2 {
		t.Fatalf("move event = %+v, want a move to B at version 2 (not remove+add)", e)
	}
	ra.Update(ctx, "ball", map[string]any{"x": 2}, &client.WriteOptions{Delete: []string{"nope"}})
	e := next(t, b, client.EventObjectUpdate)
	var x int
	if err := (client.Object{Fields: e.Fields}).Get("x", &x); err != nil || x != 2 {
		t.Fatalf("update x = %d, %v", x, err)
	}
	if _, err := ra.Update(ctx, "ball", map[string]any{"x": 3}, &client.WriteOptions{Expect: 1}); protocol.ErrorCode(err) != protocol.CodeStale {
		t.Fatalf("stale compare-and-set = %v, want Stale", err)
	}
	ra.Move(ctx, "ball", "C", nil)
	next(t, b, client.EventObjectRemove)
	if _, ok := rb.Object("ball"); ok {
		t.Fatal("ball still cached after it moved out of view")
	}
	if err := rb.Subscribe(ctx, []string{"C"}, []string{"A"}); err != nil {
		t.Fatal(err)
	}
	if objs := rb.Objects(); len(objs) != 1 || objs[0].ID != "ball" {
		t.Fatalf("cache = %+v, want ball", objs)
	}
	if _, err := rb.Create(ctx, "x", "item", "A", nil); protocol.ErrorCode(err) != protocol.CodeReadOnly {
		t.Fatalf("observer Create = %v, want ReadOnly", err)
	}
	if err := ra.DeleteObject(ctx, "ball", nil); err != nil {
		t.Fatal(err)
	}
	next(t, b, client.EventObjectDelete)
}

var (
	modelSeed  = flag.Uint64("model.seed", 0, "seed for TestObjects_model (0: a fixed default)")
	modelSteps = flag.Int("model.steps", 300, "operations in TestObjects_model; raise for a long run")
)

// TestObjects_model drives several clients through random creates,
// updates, moves, deletes, subscription changes and dropped connections,
// then checks that every client's cache equals the server's objects in its
// areas, and that the server holds every acknowledged write exactly once
// (writes cut off by a dropped connection are resent with their op id).
// Each object is written by one owner, so the expected state is exact.
//
//	go test ./internal/e2e -run TestObjects_model -model.seed 7 -model.steps 5000
//
// The clients resume from their position after each reconnect; in the
// short_history run the server keeps 5 changes, so most reconnects fall
// back to a snapshot instead.
func TestObjects_model(t *testing.T) {
	t.Parallel()
	t.Run("resume", func(t *testing.T) { t.Parallel(); runModel(t, 0) })
	t.Run("short_history", func(t *testing.T) { t.Parallel(); runModel(t, 5) })
}

// runModel runs the model test against a server keeping history changes
// per room (0: the default).
func runModel(t *testing.T, history int) {
	seed := *modelSeed
	if seed == 0 {
		seed = 20261123
	}
	t.Logf("seed %d, %d steps", seed, *modelSteps)
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	srv, hs, _ := start(t, &server.Options{History: history})
	areas := []string{"a0", "a1", "a2", "a3", "a4"}
	type actor struct {
		px    *proxy
		conn  *client.Conn
		room  *client.Room
		areas map[string]bool
	}
	type want struct {
		area    string
		version uint64
		n       int
	}
	model := map[string]*want{} // object → acknowledged state
	var resets atomic.Int32     // resumes refused: none, with the default history
	owner := map[string]int{}
	actors := make([]*actor, 4)
	for i := range actors {
		px := newProxy(t, hs.Listener.Addr().String())
		c := dial(t, "ws://"+px.addr()+"/ws", fmt.Sprintf("c%d", i))
		actors[i] = &actor{px: px, conn: c, room: join(t, c, "m", nil), areas: map[string]bool{}}
		go drainEvents(c, &resets)
	}
	ctx := ctxT(t)
	nextID := 0
	for step := 0; step < *modelSteps; step++ {
		i := rng.IntN(len(actors))
		a := actors[i]
		var mine []string
		for _, id := range slices.Sorted(maps.Keys(model)) {
			if owner[id] == i {
				mine = append(mine, id)
			}
		}
		switch op := rng.IntN(10); {
		case op < 2 || len(mine) == 0:
			id := fmt.Sprintf("o%d", nextID)
			nextID++
			area := areas[rng.IntN(len(areas))]
			v, err := a.room.Create(ctx, id, "thing", area, map[string]any{"n": 0})
			owner[id] = i
			model[id] = &want{area: area, version: v}
			if err != nil {
				t.Fatalf("step %d: create: %v", step, err)
			}
		case op < 5:
			id := mine[rng.IntN(len(mine))]
			n := model[id].n + 1
			v, err := a.room.Update(ctx, id, map[string]any{"n": n}, nil)
			if err != nil {
				t.Fatalf("step %d: update: %v", step, err)
			}
			model[id].version, model[id].n = v, n
		case op < 7:
			id := mine[rng.IntN(len(mine))]
			area := areas[rng.IntN(len(areas))]
			v, err := a.room.Move(ctx, id, area, nil)
			if err != nil {
				t.Fatalf("step %d: move: %v", step, err)
			}
			model[id].version, model[id].area = v, area
		case op < 8:
			id := mine[rng.IntN(len(mine))]
			err := a.room.DeleteObject(ctx, id, nil)
			if err != nil {
				t.Fatalf("step %d: delete: %v", step, err)
			}
			delete(model, id)
		case op < 9:
			area := areas[rng.IntN(len(areas))]
			add, remove := []string{area}, []string(nil)
			if a.areas[area] {
				add, remove = nil, add
			}
			if err := actors[i].room.Subscribe(ctx, add, remove); err != nil {
				t.Fatalf("step %d: subscribe: %v", step, err)
			}
			a.areas[area] = !a.areas[area]
		default:
			if rng.IntN(2) == 0 {
				a.px.cut()
			} else {
				a.px.cutAfterNextSend() // a request gets through, its answer does not
			}
		}
	}

	// Quiesce: a Sub round trip on each client is answered after every
	// frame the server queued for it before, and applied in order.
	for i, a := range actors {
		if err := a.room.Subscribe(ctx, []string{"barrier"}, nil); err != nil {
			t.Fatal(err)
		}
		if err := a.room.Subscribe(ctx, nil, []string{"barrier"}); err != nil {
			t.Fatal(err)
		}
		serverObjs := srv.Snapshot("m")
		var wantIDs []string
		for _, o := range serverObjs {
			if a.areas[o.Area] {
				wantIDs = append(wantIDs, fmt.Sprintf("%s@%s v%d", o.ID, o.Area, o.Version))
			}
		}
		var got []string
		for _, o := range a.room.Objects() {
			got = append(got, fmt.Sprintf("%s@%s v%d", o.ID, o.Area, o.Version))
		}
		if !slices.Equal(got, wantIDs) {
			t.Fatalf("client %d (areas %v) cache:\n%v\nserver in its areas:\n%v", i, a.areas, got, wantIDs)
		}
	}
	if n := resets.Load(); n != 0 && history == 0 {
		t.Errorf("%d reconnects fell back to a snapshot; the history covers them all", n)
	}
	t.Logf("%d reconnects fell back to a snapshot", resets.Load())
	serverObjs := srv.Snapshot("m")
	if len(serverObjs) != len(model) {
		t.Fatalf("server has %d objects, acknowledged writes leave %d", len(serverObjs), len(model))
	}
	for _, o := range serverObjs {
		w := model[o.ID]
		var n int
		if err := (client.Object{Fields: o.Fields}).Get("n", &n); err != nil || w == nil || w.area != o.Area || w.version != o.Version || w.n != n {
			t.Fatalf("server object %s@%s v%d n=%d, acknowledged %+v", o.ID, o.Area, o.Version, n, w)
		}
	}
}

// drainEvents reads a Conn's events until it is closed, counting the
// resumes that fell back to a snapshot.
func drainEvents(c *client.Conn, resets *atomic.Int32) {
	for e := range c.Events() {
		if e.Kind == client.EventObjectsReset {
			resets.Add(1)
		}
	}
}
