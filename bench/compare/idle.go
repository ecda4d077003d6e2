package main

import (
	"context"
	"fmt"
	"runtime"
	"time"
)

// idleWorkload: sc.idle connections, each subscribed to one room, sending
// nothing. The server's RSS grows by about the same amount per
// connection; that amount is what an idle connection costs.
func idleWorkload() *workload {
	return &workload{
		name:  "idle",
		title: "Idle capacity: 10,000 connections, each in one room, no traffic",
		metrics: []metric{
			{"rss_per_conn_kb", "server RSS KB/connection", -1},
			{"rss_mb", "server RSS MB", -1},
			{"rss_per_conn_kb_nogc", "KB/connection before a collection", -1},
			{"cpu_s_idle_min", "server CPU s per minute idle", -1},
			{"connect_per_s", "connects/s", +1},
		},
		run: func(ctx context.Context, sys *system, srv *server, sc *scale) (result, error) {
			if err := srv.freeMemory(ctx); err != nil {
				return nil, err
			}
			base, err := srv.sample()
			if err != nil {
				return nil, err
			}
			start := time.Now()
			peers, err := connectAll(sc.idle, func(i int) (peer, error) {
				return sys.dial(ctx, srv, fmt.Sprintf("idle%d", i%100), fmt.Sprintf("i%d", i), handler{msg: func([]byte) {}})
			})
			if err != nil {
				return nil, err
			}
			defer closeAll(peers)
			took := time.Since(start)
			runtime.GC() // the clients' garbage is not the server's; keep this process small
			before, err := srv.sample()
			if err != nil {
				return nil, err
			}
			t := time.NewTimer(sc.idleFor) // pings and keepalives run meanwhile
			select {
			case <-t.C:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			after, err := srv.sample()
			if err != nil {
				return nil, err
			}
			// What the connections hold once the server's garbage is
			// collected: a fair comparison, whatever each one's GC pace.
			if err := srv.freeMemory(ctx); err != nil {
				return nil, err
			}
			held, err := srv.sample()
			if err != nil {
				return nil, err
			}
			return result{
				"rss_per_conn_kb":      float64(held.rss-base.rss) / float64(sc.idle) / 1024,
				"rss_per_conn_kb_nogc": float64(after.rss-base.rss) / float64(sc.idle) / 1024,
				"rss_mb":               float64(held.rss) / (1 << 20),
				"cpu_s_idle_min":       after.sub(before).cpu.Seconds() * time.Minute.Seconds() / sc.idleFor.Seconds(),
				"connect_per_s":        float64(sc.idle) / took.Seconds(),
			}, nil
		},
	}
}
