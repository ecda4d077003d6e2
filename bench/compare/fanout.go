package main

import (
	"context"
	"fmt"
	"time"
)

// fanoutWorkload: one room, sc.subs subscribers, one publisher of 100-byte
// messages. The publisher keeps sc.window messages in flight end to end
// (it sends message k once message k-window reached every subscriber), so
// the queues stay bounded and the latency is that of the highest rate the
// server sustains.
func fanoutWorkload() *workload {
	return &workload{
		name:  "fanout",
		title: "Fan-out: 1 room, 1,000 subscribers, 1 publisher, 100 B messages, as fast as they are delivered",
		metrics: []metric{
			{"deliveries_per_s", "deliveries/s", +1},
			{"p50_ms", "p50 ms", -1}, {"p99_ms", "p99 ms", -1}, {"p999_ms", "p999 ms", -1},
			{"cpu_us_per_delivery", "server CPU µs/delivery", -1},
			{"client_cpu_us_per_delivery", "clients' CPU µs/delivery", -1},
			{"rss_peak_mb", "server peak RSS MB", -1},
			{"bytes_per_delivery", "bytes sent/delivery", -1},
		},
		run: func(ctx context.Context, sys *system, srv *server, sc *scale) (result, error) {
			return runFanout(ctx, sys, srv, sc, sc.messages, 0)
		},
	}
}

// fanoutRateWorkload is fan-out at a fixed rate well within every
// system's capacity: latency without queueing, and the CPU it costs.
func fanoutRateWorkload() *workload {
	return &workload{
		name:  "fanout20",
		title: "Fan-out at 20 messages/s: 1 room, 1,000 subscribers (latency and cost at a steady rate)",
		metrics: []metric{
			{"deliveries_per_s", "deliveries/s", 0},
			{"p50_ms", "p50 ms", -1}, {"p99_ms", "p99 ms", -1}, {"p999_ms", "p999 ms", -1},
			{"cpu_s", "server CPU s", -1},
			{"bytes_per_delivery", "bytes sent/delivery", -1},
		},
		run: func(ctx context.Context, sys *system, srv *server, sc *scale) (result, error) {
			return runFanout(ctx, sys, srv, sc, int(sc.duration.Seconds())*sc.rate, sc.rate)
		},
	}
}

// runFanout publishes messages: rate per second, or end-to-end windowed
// as fast as they are delivered when rate is 0.
func runFanout(ctx context.Context, sys *system, srv *server, sc *scale, messages, rate int) (result, error) {
	const warm = 50
	t := newTracker(sc.subs, warm+messages)
	pub, closeFan, err := dialFanout(ctx, sys, srv, sc, t)
	if err != nil {
		return nil, err
	}
	defer closeFan()

	send := func(from, to int) error {
		var tick *time.Ticker
		if rate > 0 {
			tick = time.NewTicker(time.Second / time.Duration(rate))
			defer tick.Stop()
		}
		for k := from; k < to; k++ {
			switch {
			case tick != nil:
				select {
				case <-tick.C:
				case <-ctx.Done():
					return ctx.Err()
				}
			case k-sc.window >= from:
				if err := waitDone(ctx, t.done[k-sc.window]); err != nil {
					return fmt.Errorf("message %d: %w", k-sc.window, err)
				}
			}
			if err := pub.publish(ctx, message(k, time.Now())); err != nil {
				return fmt.Errorf("publish %d: %w", k, err)
			}
		}
		for k := max(from, to-sc.window); k < to; k++ {
			if err := waitDone(ctx, t.done[k]); err != nil {
				return fmt.Errorf("message %d: %w", k, err)
			}
		}
		return nil
	}
	if err := send(0, warm); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	for i := range t.lat {
		t.lat[i] = t.lat[i][:0]
	}
	base := t.received.Load()
	r := result{}
	var start time.Time
	err = measure(srv, r, func() (float64, error) {
		start = time.Now()
		if err := send(warm, warm+messages); err != nil {
			return 0, err
		}
		return float64(t.received.Load() - base), nil
	})
	if err != nil {
		return nil, err
	}
	n := float64(t.received.Load() - base)
	lat := t.latencies()
	r["deliveries_per_s"] = n / t.lastDelivery().Sub(start).Seconds()
	r["p50_ms"], r["p99_ms"], r["p999_ms"] = percentile(lat, 0.5), percentile(lat, 0.99), percentile(lat, 0.999)
	return r, nil
}

// dialFanout connects the fan-out room's sc.subs subscribers, which
// record what they receive in t, and its publisher. The function it
// returns disconnects them all.
func dialFanout(ctx context.Context, sys *system, srv *server, sc *scale, t *tracker) (peer, func(), error) {
	subs, err := connectAll(sc.subs, func(i int) (peer, error) {
		return sys.dial(ctx, srv, "fan", fmt.Sprintf("s%d", i), handler{msg: func(b []byte) { t.got(i, b) }})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("subscribers: %w", err)
	}
	pub, err := sys.dial(ctx, srv, "fan", "pub", handler{member: true})
	if err != nil {
		closeAll(subs)
		return nil, nil, fmt.Errorf("publisher: %w", err)
	}
	return pub, func() { pub.close(); closeAll(subs) }, nil
}

// waitDone waits for ch, at most 30 s without progress.
func waitDone(ctx context.Context, ch chan struct{}) error {
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	select {
	case <-ch:
		return nil
	case <-t.C:
		return errStalled
	case <-ctx.Done():
		return ctx.Err()
	}
}
