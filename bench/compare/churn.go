package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// churnWorkload: sc.watchers participants stay in a room and are told of
// every arrival and departure, while sc.churners clients join it and leave
// (disconnect) in a loop for sc.duration. The hub has no presence.
func churnWorkload() *workload {
	return &workload{
		name:     "churn",
		title:    "Presence churn: 200 participants watch 32 clients join and leave in a loop",
		presence: true,
		skip:     []string{"hub"},
		metrics: []metric{
			{"cycles_per_s", "join+leave cycles/s", +1},
			{"events_per_s", "presence events delivered/s", +1},
			{"cpu_us_per_cycle", "server CPU µs/cycle", -1},
			{"rss_peak_mb", "server peak RSS MB", -1},
		},
		run: runChurn,
	}
}

func runChurn(ctx context.Context, sys *system, srv *server, sc *scale) (result, error) {
	var events atomic.Int64
	watchers, err := connectAll(sc.watchers, func(i int) (peer, error) {
		return sys.dial(ctx, srv, "churn", fmt.Sprintf("w%d", i), handler{presence: func(string, bool) { events.Add(1) }})
	})
	if err != nil {
		return nil, fmt.Errorf("watchers: %w", err)
	}
	defer closeAll(watchers)
	var cycles atomic.Int64
	r := result{}
	var firstErr error
	var errOnce sync.Once
	err = measure(srv, r, func() (float64, error) {
		events.Store(0)
		ctx, cancel := context.WithTimeout(ctx, sc.duration)
		defer cancel()
		var wg sync.WaitGroup
		for c := range sc.churners {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; ctx.Err() == nil; n++ {
					p, err := sys.dial(ctx, srv, "churn", fmt.Sprintf("c%d-%d", c, n), handler{presence: func(string, bool) {}})
					if err != nil {
						if ctx.Err() == nil {
							errOnce.Do(func() { firstErr = err })
						}
						return
					}
					p.close()
					cycles.Add(1)
				}
			}()
		}
		wg.Wait()
		return 0, firstErr
	})
	if err != nil {
		return nil, err
	}
	n := float64(cycles.Load())
	r["cycles_per_s"] = n / sc.duration.Seconds()
	r["events_per_s"] = float64(events.Load()) / sc.duration.Seconds()
	if n > 0 {
		r["cpu_us_per_cycle"] = r["cpu_s"] * 1e6 / n
	}
	return r, nil
}
