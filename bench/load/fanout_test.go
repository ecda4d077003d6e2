package main

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/synkhq/synk/bench/internal/loadgen"
	"github.com/synkhq/synk/server"
)

// BenchmarkFanout publishes b.N changes to one room of 1,000 observers over
// real websockets on loopback, and reports deliveries/s and latency: "max"
// publishes as fast as acknowledgements allow (throughput; latency then is
// mostly queueing), "60Hz" at a pose-update rate (latency).
//
//	go test -C bench ./load -run '^$' -bench Fanout -benchtime 600x
func BenchmarkFanout(b *testing.B) {
	for _, bc := range []struct {
		name string
		rate int
	}{{"max", 0}, {"60Hz", 60}} {
		b.Run(bc.name, func(b *testing.B) {
			_, _, url := start(b, &server.Options{SendBuffer: 64 << 20, Rate: -1})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			b.ResetTimer()
			r, err := loadgen.Run(ctx, loadgen.Config{URL: url, Subscribers: 1000, Messages: b.N, InFlight: 32, Rate: bc.rate})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(r.PerSecond, "deliveries/s")
			b.ReportMetric(float64(r.P50.Microseconds()), "p50-µs")
			b.ReportMetric(float64(r.P99.Microseconds()), "p99-µs")
			b.Log(r)
		})
	}
}

// TestFanout_small runs the load generator at a small size, so that the
// benchmark's code path is exercised by every test run.
func TestFanout_small(t *testing.T) {
	t.Parallel()
	_, _, url := start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := loadgen.Run(ctx, loadgen.Config{URL: url, Subscribers: 20, Messages: 50})
	if err != nil {
		t.Fatal(err)
	}
	if r.Deliveries != 20*50 {
		t.Fatalf("deliveries = %d, want %d", r.Deliveries, 20*50)
	}
}

// start runs a server with opts on loopback until the test ends and
// returns its websocket URL.
func start(tb testing.TB, opts *server.Options) (*server.Server, *httptest.Server, string) {
	tb.Helper()
	if opts == nil {
		opts = &server.Options{}
	}
	opts.Logger = slog.New(slog.DiscardHandler)
	s, err := server.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	hs := httptest.NewServer(s)
	tb.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			tb.Error(err)
		}
	})
	return s, hs, "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"
}
