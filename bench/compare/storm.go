package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/synkhq/synk/bench/internal/relay"
)

// stormWorkload: sc.stormSubs subscribers of one room, behind a relay that
// cuts every connection at once while a publisher sends sc.stormRate
// messages per second. Every client reconnects on its own. Measured: the
// time until every subscriber has a message published after the cut
// (converged), the messages a subscriber never saw, and subscribers whose
// last message is not the last published (stale) once publishing stops.
// Synk syncs state: a returning client gets the current value, not every
// value in between; centrifuge recovers each publication from its history.
func stormWorkload() *workload {
	return &workload{
		name:    "storm",
		title:   "Reconnect storm: 1,000 subscribers drop at once and return while 20 messages/s are published",
		history: 1000,
		skip:    []string{"hub"},
		metrics: []metric{
			{"converge_ms", "time to converge ms", -1},
			{"missed_pct", "messages missed %", -1},
			{"stale", "stale subscribers at the end", -1},
			{"cpu_s", "server CPU s", -1},
			{"rss_peak_mb", "server peak RSS MB", -1},
		},
		run: runStorm,
	}
}

// subState is what one storm subscriber saw.
type subState struct {
	mu       sync.Mutex // Protects the following.
	seen     map[int]bool
	last     int
	caughtUp time.Time // first receipt of a message sent after the cut
}

func runStorm(ctx context.Context, sys *system, srv *server, sc *scale) (result, error) {
	rl, err := relay.Start(srv.addr)
	if err != nil {
		return nil, err
	}
	defer rl.Close()
	via := &server{addr: rl.Addr()}
	var cutAt time.Time
	var cutMu sync.Mutex
	states := make([]*subState, sc.stormSubs)
	subs, err := connectAll(sc.stormSubs, func(i int) (peer, error) {
		st := &subState{seen: make(map[int]bool), last: -1}
		states[i] = st
		return sys.dial(ctx, via, "storm", fmt.Sprintf("s%d", i), handler{msg: func(b []byte) {
			at, seq, ok := parse(b)
			if !ok {
				return
			}
			cutMu.Lock()
			cut := cutAt
			cutMu.Unlock()
			st.mu.Lock()
			st.seen[seq] = true
			st.last = max(st.last, seq)
			if !cut.IsZero() && st.caughtUp.IsZero() && at.After(cut) {
				st.caughtUp = time.Now()
			}
			st.mu.Unlock()
		}})
	})
	if err != nil {
		return nil, fmt.Errorf("subscribers: %w", err)
	}
	defer closeAll(subs)
	pub, err := sys.dial(ctx, srv, "storm", "pub", handler{member: true})
	if err != nil {
		return nil, err
	}
	defer pub.close()

	r := result{}
	seq := 0
	err = measure(srv, r, func() (float64, error) {
		tick := time.NewTicker(time.Second / time.Duration(sc.stormRate))
		defer tick.Stop()
		publish := func(d time.Duration) error {
			end := time.Now().Add(d)
			for time.Now().Before(end) {
				select {
				case <-tick.C:
				case <-ctx.Done():
					return ctx.Err()
				}
				if err := pub.publish(ctx, message(seq, time.Now())); err != nil {
					return err
				}
				seq++
			}
			return nil
		}
		if err := publish(2 * time.Second); err != nil {
			return 0, err
		}
		cutMu.Lock()
		cutAt = time.Now()
		cutMu.Unlock()
		rl.Cut()
		// Publish until every subscriber caught up, then 2 s more.
		deadline := time.Now().Add(60 * time.Second)
		for !allCaughtUp(states) {
			if time.Now().After(deadline) {
				break
			}
			if err := publish(100 * time.Millisecond); err != nil {
				return 0, err
			}
		}
		return 0, publish(2 * time.Second)
	})
	if err != nil {
		return nil, err
	}
	// Let the last messages arrive.
	settle := time.NewTimer(time.Second)
	<-settle.C
	var converged time.Time
	missed, stale, waiting := 0, 0, 0
	for _, st := range states {
		st.mu.Lock()
		if st.caughtUp.IsZero() {
			waiting++
		} else if st.caughtUp.After(converged) {
			converged = st.caughtUp
		}
		for s := 0; s < seq; s++ {
			if !st.seen[s] {
				missed++
			}
		}
		if st.last != seq-1 {
			stale++
		}
		st.mu.Unlock()
	}
	if waiting > 0 {
		return nil, fmt.Errorf("%d subscribers never caught up", waiting)
	}
	r["converge_ms"] = float64(converged.Sub(cutAt)) / float64(time.Millisecond)
	r["missed_pct"] = 100 * float64(missed) / float64(seq*len(states))
	r["stale"] = float64(stale)
	return r, nil
}

func allCaughtUp(states []*subState) bool {
	for _, st := range states {
		st.mu.Lock()
		ok := !st.caughtUp.IsZero()
		st.mu.Unlock()
		if !ok {
			return false
		}
	}
	return true
}
