package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// sweepRates are the fan-out sweep's steps by default, in messages per
// second, each to every subscriber (× 1,000 deliveries per second).
var sweepRates = []int{20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 140, 160, 180, 200}

// sweepP95 is the shootout rule's bound: the largest load whose p95
// latency stays within it.
const sweepP95 = 250 * time.Millisecond

// fanoutSweepWorkload publishes at fixed rates, rising step by step, and
// reports the largest rate every subscriber received with p95 latency ≤
// 250 ms, and the latency and cost there. Unlike the windowed fan-out,
// whose latency is set by its closed loop of messages in flight, this is
// latency below saturation.
func fanoutSweepWorkload() *workload {
	return &workload{
		name:  "sweep",
		title: "Fan-out at rising fixed rates: the largest with p95 ≤ 250 ms (1 room, 1,000 subscribers, 100 B messages)",
		metrics: []metric{
			{"max_deliveries_per_s", "deliveries/s with p95 ≤ 250 ms", +1},
			{"p50_ms", "p50 ms there", -1}, {"p95_ms", "p95 ms there", -1}, {"p99_ms", "p99 ms there", -1},
			{"cpu_us_per_delivery", "server CPU µs/delivery there", -1},
		},
		run: runSweep,
	}
}

func runSweep(ctx context.Context, sys *system, srv *server, sc *scale) (result, error) {
	const warm = 50
	total := warm
	for _, rate := range sc.sweepRates {
		total += rate * int(sc.sweepStep.Seconds())
	}
	t := newTracker(sc.subs, total)
	pub, closeFan, err := dialFanout(ctx, sys, srv, sc, t)
	if err != nil {
		return nil, err
	}
	defer closeFan()

	// send publishes messages [from, to) at rate per second (0: one at a
	// time, each once every subscriber had the one before), then waits
	// until every subscriber has them all.
	send := func(from, to, rate int) error {
		var tick <-chan time.Time
		if rate > 0 {
			tk := time.NewTicker(time.Second / time.Duration(rate))
			defer tk.Stop()
			tick = tk.C
		}
		for k := from; k < to; k++ {
			if tick != nil {
				select {
				case <-tick:
				case <-ctx.Done():
					return ctx.Err()
				}
			} else if k > from {
				if err := waitDone(ctx, t.done[k-1]); err != nil {
					return err
				}
			}
			if err := pub.publish(ctx, message(k, time.Now())); err != nil {
				return fmt.Errorf("publish %d: %w", k, err)
			}
		}
		for k := from; k < to; k++ {
			if err := waitDone(ctx, t.done[k]); err != nil {
				return fmt.Errorf("message %d: %w", k, err)
			}
		}
		return nil
	}
	if err := send(0, warm, 0); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	best := result{"max_deliveries_per_s": 0}
	next := warm
	for _, rate := range sc.sweepRates {
		for i := range t.lat {
			t.lat[i] = t.lat[i][:0]
		}
		from, to := next, next+rate*int(sc.sweepStep.Seconds())
		next = to
		base := t.received.Load()
		r := result{}
		var start time.Time
		err := measure(srv, r, func() (float64, error) {
			start = time.Now()
			if err := send(from, to, rate); err != nil {
				return 0, err
			}
			return float64(t.received.Load() - base), nil
		})
		if errors.Is(err, errStalled) {
			fmt.Fprintf(os.Stderr, "  sweep %s %d messages/s: stalled (a subscriber lost messages)\n", sys.name, rate)
			break // cut as too slow: past capacity
		}
		if err != nil {
			return nil, fmt.Errorf("%d messages/s: %w", rate, err)
		}
		lat := t.latencies()
		got := float64(t.received.Load()-base) / t.lastDelivery().Sub(start).Seconds()
		want := float64(rate * sc.subs)
		fmt.Fprintf(os.Stderr, "  sweep %s %d messages/s: %.0f deliveries/s of %.0f, p95 %.1f ms\n", sys.name, rate, got, want, percentile(lat, 0.95))
		if percentile(lat, 0.95) > float64(sweepP95/time.Millisecond) || got < 0.95*want {
			break
		}
		best = result{"max_deliveries_per_s": want, "p50_ms": percentile(lat, 0.5), "p95_ms": percentile(lat, 0.95),
			"p99_ms": percentile(lat, 0.99), "cpu_us_per_delivery": r["cpu_us_per_delivery"]}
	}
	return best, nil
}
