package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/synkhq/synk/client"
	"github.com/synkhq/synk/protocol"
)

// config is one soak run.
type config struct {
	URL      string        // the server's websocket URL
	Conns    int           // clients at once
	Rooms    int           // rooms they share
	Areas    int           // areas per room
	Duration time.Duration // how long the clients work
	Seed     uint64
}

// tally is what the clients did.
type tally struct {
	ops, writes, reconnects atomic.Int64
}

// acked is the last acknowledged write of each object: its field "n".
type acked struct {
	mu sync.Mutex
	n  map[string]map[string]int // room → object → n
}

func (a *acked) set(room, id string, n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n[room] == nil {
		a.n[room] = make(map[string]int)
	}
	a.n[room][id] = n
}

// work runs cfg.Conns clients until cfg.Duration passes. Each client
// joins a room, changes its presence, writes its own objects (create,
// update, move) and, now and then, drops its connection and dials again
// or moves to another room. Every acknowledged write is recorded.
func work(ctx context.Context, cfg config, t *tally, a *acked) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, cfg.Conns)
	for i := range cfg.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := worker(ctx, cfg, i, t, a); err != nil {
				errc <- fmt.Errorf("client %d: %w", i, err)
			}
		}()
	}
	wg.Wait()
	close(errc)
	var errs []error
	for err := range errc {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// worker is one client's life: sessions of a few dozen operations each.
func worker(ctx context.Context, cfg config, i int, t *tally, a *acked) error {
	rng := rand.New(rand.NewPCG(cfg.Seed, uint64(i)))
	id := fmt.Sprintf("soak-%d", i)
	n := 0 // the value of field "n" of this client's next write
	for ctx.Err() == nil {
		c, err := client.Dial(ctx, cfg.URL, &client.DialOptions{Client: id, MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
		if err != nil {
			return ignoreEnd(ctx, err)
		}
		err = session(ctx, cfg, rng, c, id, &n, t, a)
		c.Close()
		if err != nil {
			return ignoreEnd(ctx, err)
		}
		t.reconnects.Add(1)
	}
	return nil
}

func session(ctx context.Context, cfg config, rng *rand.Rand, c *client.Conn, id string, n *int, t *tally, a *acked) error {
	room := fmt.Sprintf("soak-room-%d", rng.IntN(cfg.Rooms))
	r, err := c.Join(ctx, room, &client.JoinOptions{Presence: map[string]any{"name": id}})
	if err != nil {
		return err
	}
	area := func() string { return fmt.Sprintf("a%d", rng.IntN(cfg.Areas)) }
	if err := r.Subscribe(ctx, []string{area(), area()}, nil); err != nil {
		return err
	}
	for range 10 + rng.IntN(40) {
		if ctx.Err() != nil {
			return nil
		}
		t.ops.Add(1)
		obj := fmt.Sprintf("%s-o%d", id, rng.IntN(4))
		var err error
		switch op := rng.IntN(10); {
		case op < 4:
			err = r.Set(ctx, map[string]any{"x": rng.IntN(1000), "y": rng.IntN(1000)})
		case op < 9:
			*n++
			if _, err = r.Update(ctx, obj, map[string]any{"n": *n}, nil); isNotFound(err) {
				_, err = r.Create(ctx, obj, "soak", area(), map[string]any{"n": *n})
			}
			if err == nil {
				t.writes.Add(1)
				a.set(room, obj, *n)
			}
		default:
			if _, err = r.Move(ctx, obj, area(), nil); isNotFound(err) {
				err = nil
			}
		}
		if err != nil {
			return err
		}
	}
	if rng.IntN(2) == 0 {
		return r.Leave(ctx)
	}
	return nil // drop the connection with the room joined
}

// verify joins every room the clients wrote in as a fresh observer,
// subscribes to every area, and returns the acknowledged writes whose
// object is missing or holds another value.
func verify(ctx context.Context, cfg config, a *acked) ([]string, error) {
	c, err := client.Dial(ctx, cfg.URL, &client.DialOptions{Client: "soak-verifier"})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	areas := make([]string, cfg.Areas)
	for i := range areas {
		areas[i] = fmt.Sprintf("a%d", i)
	}
	var lost []string
	for room, objs := range a.n {
		r, err := c.Join(ctx, room, &client.JoinOptions{Observer: true})
		if err != nil {
			return nil, err
		}
		if err := r.Subscribe(ctx, areas, nil); err != nil {
			return nil, err
		}
		for id, want := range objs {
			var got int
			o, ok := r.Object(id)
			// Only its owner writes an object, with n rising: the server
			// holds the last acknowledged n, or a later write's whose
			// answer the run's end cut off.
			if !ok || o.Get("n", &got) != nil || got < want {
				lost = append(lost, fmt.Sprintf("%s/%s: n=%d acknowledged, server has %d (present %v)", room, id, want, got, ok))
			}
		}
		if err := r.Leave(ctx); err != nil {
			return nil, err
		}
	}
	return lost, nil
}

func isNotFound(err error) bool { return protocol.ErrorCode(err) == protocol.CodeNotFound }

// ignoreEnd turns errors caused by the run's end into nil.
func ignoreEnd(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}
