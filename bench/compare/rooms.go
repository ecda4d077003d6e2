package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// roomsWorkload: sc.rooms rooms of sc.members members; every member
// publishes sc.roomRate messages per second to its room for sc.duration,
// and receives the others'.
func roomsWorkload() *workload {
	return &workload{
		name:  "rooms",
		title: "Many small rooms: 1,000 rooms × 10 members, each publishing a 100 B message every 10 s",
		metrics: []metric{
			{"deliveries_per_s", "deliveries/s", +1},
			{"delivered_pct", "delivered %", +1},
			{"p50_ms", "p50 ms", -1}, {"p99_ms", "p99 ms", -1}, {"p999_ms", "p999 ms", -1},
			{"cpu_us_per_delivery", "server CPU µs/delivery", -1},
			{"client_cpu_us_per_delivery", "clients' CPU µs/delivery", -1},
			{"rss_peak_mb", "server peak RSS MB", -1},
			{"bytes_per_delivery", "bytes sent/delivery", -1},
		},
		run: runRooms,
	}
}

func runRooms(ctx context.Context, sys *system, srv *server, sc *scale) (result, error) {
	n := sc.rooms * sc.members
	var mu sync.Mutex // guards the following
	lat := make([][]time.Duration, n)
	seen := make([]map[uint64]bool, n) // by receiver: sender<<32 | seq
	var received int64
	var measuring bool
	peers, err := connectAll(n, func(i int) (peer, error) {
		return sys.dial(ctx, srv, fmt.Sprintf("room%d", i/sc.members), fmt.Sprintf("m%d", i), handler{member: true,
			msg: func(b []byte) {
				at, seq, ok := parse(b)
				if !ok || sender(b) == i {
					return // centrifuge echoes a publication to its sender
				}
				d := time.Since(at)
				key := uint64(sender(b))<<32 | uint64(seq)
				mu.Lock()
				if seen[i] == nil {
					seen[i] = make(map[uint64]bool)
				}
				// A client that reconnects may get a value again: count
				// each message once.
				if measuring && !seen[i][key] {
					seen[i][key] = true
					lat[i] = append(lat[i], d)
					received++
				}
				mu.Unlock()
			}})
	})
	if err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	defer closeAll(peers)
	r := result{}
	var sent int64
	err = measure(srv, r, func() (float64, error) {
		mu.Lock()
		measuring = true
		mu.Unlock()
		ctx, cancel := context.WithTimeout(ctx, sc.duration)
		defer cancel()
		var wg sync.WaitGroup
		var smu sync.Mutex
		every := time.Duration(float64(time.Second) / sc.roomRate)
		for i, p := range peers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Spread the members over the period.
				t := time.NewTimer(time.Duration(rand.Int64N(int64(every))))
				defer t.Stop()
				for seq := 0; ; seq++ {
					select {
					case <-t.C:
					case <-ctx.Done():
						return
					}
					t.Reset(every)
					if p.publish(ctx, messageFrom(seq, i, time.Now())) == nil {
						smu.Lock()
						sent++
						smu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		// Let the last messages arrive: at most a second.
		settle := time.NewTimer(time.Second)
		<-settle.C
		mu.Lock()
		defer mu.Unlock()
		measuring = false
		return float64(received), nil
	})
	if err != nil {
		return nil, err
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sortDurations(all)
	r["deliveries_per_s"] = float64(received) / sc.duration.Seconds()
	if sent > 0 {
		r["delivered_pct"] = 100 * float64(received) / float64(sent*int64(sc.members-1))
	}
	r["p50_ms"], r["p99_ms"], r["p999_ms"] = percentile(all, 0.5), percentile(all, 0.99), percentile(all, 0.999)
	return r, nil
}
