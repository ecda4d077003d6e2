package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/synkhq/synk/client"
)

// TestStorm_publishingNoGapsNoDuplicates: while a publisher creates 300
// objects, every subscriber's connection is cut twice at once (a
// reconnect storm). Each subscriber reconnects and resumes; in the end
// each saw every object put exactly once: no gap, no duplicate, and no
// fallback to a snapshot.
func TestStorm_publishingNoGapsNoDuplicates(t *testing.T) {
	t.Parallel()
	const subs, objects = 30, 300
	_, hs, url := start(t, nil)
	px := newProxy(t, hs.Listener.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	type tally struct {
		puts   map[string]int
		resets int
		drops  int
		room   *client.Room
	}
	tallies := make([]*tally, subs)
	done := make(chan int, subs)
	var wg sync.WaitGroup
	for i := range subs {
		c := dial(t, "ws://"+px.addr()+"/ws", fmt.Sprintf("sub-%d", i))
		r := join(t, c, "storm", &client.JoinOptions{Observer: true})
		if err := r.Subscribe(ctxT(t), []string{"a"}, nil); err != nil {
			t.Fatal(err)
		}
		tl := &tally{puts: make(map[string]int), room: r}
		tallies[i] = tl
		wg.Add(1)
		go func() { // ends when the Conn closes (cleanup) or the test times out
			defer wg.Done()
			for {
				select {
				case e, ok := <-c.Events():
					if !ok {
						return
					}
					switch e.Kind {
					case client.EventObjectPut:
						if tl.puts[e.Object]++; len(tl.puts) == objects && tl.puts[e.Object] == 1 {
							done <- i
						}
					case client.EventObjectsReset:
						tl.resets++
					case client.EventDisconnected:
						tl.drops++
					}
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	t.Cleanup(wg.Wait) // after the Conns close (cleanups run last-in first-out)

	pub := dial(t, url, "pub")
	rp := join(t, pub, "storm", nil)
	for i := range objects {
		if i == objects/3 || i == 2*objects/3 {
			px.cut() // every subscriber at once
		}
		if _, err := rp.Create(ctx, fmt.Sprintf("m-%03d", i), "msg", "a", map[string]any{"i": i}); err != nil {
			t.Fatalf("Create %d: %v", i, err)
		}
	}
	for range subs {
		select {
		case <-done:
		case <-ctx.Done():
			t.Fatal("not every subscriber saw every object within 60s")
		}
	}
	cancel()
	wg.Wait()
	for i, tl := range tallies {
		for id, n := range tl.puts {
			if n != 1 {
				t.Errorf("sub-%d saw %s put %d times", i, id, n)
			}
		}
		if len(tl.puts) != objects || len(tl.room.Objects()) != objects {
			t.Errorf("sub-%d saw %d objects, holds %d; want %d", i, len(tl.puts), len(tl.room.Objects()), objects)
		}
		if tl.resets != 0 || tl.drops < 2 {
			t.Errorf("sub-%d: %d resets, %d drops; want 0 resets and 2 drops", i, tl.resets, tl.drops)
		}
	}
}
