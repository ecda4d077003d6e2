// Command soak keeps a Synk server busy for a bounded time with many
// clients on loopback — joins, presence churn, object writes and moves,
// dropped connections and rooms left and joined again — then checks that
// no acknowledged write was lost and that the server's goroutines and heap
// came back to where they were after a warm-up.
//
//	go run -C bench ./soak -conns 200 -duration 2m
//
// Without -url it runs a server in its own process (objects stored in a
// temporary directory, 200 changes of history per room) and measures it
// there; with -url it loads that
// server and checks writes only. It exits 1 if a write was lost or the
// goroutines or heap grew beyond the noise bounds it prints.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/synkhq/synk/server"
)

func main() {
	cfg := config{}
	flag.StringVar(&cfg.URL, "url", "", "websocket URL of a running server on loopback (default: one in this process)")
	flag.IntVar(&cfg.Conns, "conns", 200, "clients at once")
	flag.IntVar(&cfg.Rooms, "rooms", 20, "rooms")
	flag.IntVar(&cfg.Areas, "areas", 8, "areas per room")
	flag.DurationVar(&cfg.Duration, "duration", 2*time.Minute, "how long the clients work, after a warm-up of a fifth of it")
	flag.Uint64Var(&cfg.Seed, "seed", uint64(time.Now().UnixNano()), "random seed")
	flag.StringVar(&memProfile, "memprofile", "", "write a heap profile at the end to this file (in-process server)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := soak(ctx, cfg, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
	if !rep.ok() {
		os.Exit(1)
	}
}

// memProfile is where to write a heap profile at the end (-memprofile).
var memProfile string

// report is a soak run's outcome.
type report struct {
	ops, writes, reconnects int64
	lost                    []string
	measured                bool // the server ran in this process
	members                 int  // participants left in rooms at the end (must be 0)
	goroutines              [2]int
	heap                    [2]uint64
}

// Noise bounds: what the heap and goroutine counts may differ by between
// the end of the warm-up and the end of the run without counting as growth.
const (
	goroutineNoise = 10
	heapNoise      = 8 << 20
)

func (r *report) ok() bool {
	return len(r.lost) == 0 && (!r.measured ||
		r.goroutines[1] <= r.goroutines[0]+goroutineNoise && r.heap[1] <= r.heap[0]+heapNoise && r.members == 0)
}

// soak runs the warm-up, the run and the checks, printing to out.
func soak(ctx context.Context, cfg config, out io.Writer) (*report, error) {
	rep := &report{}
	var srv *server.Server // in this process, or nil
	if cfg.URL == "" {
		dir, err := os.MkdirTemp("", "synk-soak-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		// A short change history, which the warm-up fills: a room's
		// history grows to its bound (20,000 changes by default) by design,
		// and would hide a leak behind that growth.
		s, err := server.New(&server.Options{DataDir: dir, History: 200, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return nil, err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		hs := &http.Server{Handler: s}
		go hs.Serve(ln) // ends with hs.Close below
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s.Shutdown(sctx)
			hs.Close()
		}()
		cfg.URL = "ws://" + ln.Addr().String() + "/ws"
		rep.measured = true
		srv = s
	}
	a := &acked{n: make(map[string]map[string]int)}
	t := &tally{}
	warm := cfg
	warm.Duration = max(cfg.Duration/5, time.Second)
	fmt.Fprintf(out, "soak: %d clients, %d rooms, warm-up %v, run %v, seed %d, %s\n", cfg.Conns, cfg.Rooms, warm.Duration, cfg.Duration, cfg.Seed, cfg.URL)
	if err := work(ctx, warm, t, a); err != nil {
		return nil, err
	}
	if rep.measured {
		rep.goroutines[0], rep.heap[0] = settle(ctx, 0)
	}
	if err := work(ctx, cfg, t, a); err != nil {
		return nil, err
	}
	lost, err := verify(ctx, cfg, a)
	if err != nil {
		return nil, err
	}
	rep.lost = lost
	if rep.measured {
		rep.goroutines[1], rep.heap[1] = settle(ctx, rep.goroutines[0]+goroutineNoise)
		for _, ri := range srv.Rooms() {
			rep.members += ri.Members + ri.Observers
		}
		if memProfile != "" {
			if err := writeHeap(memProfile); err != nil {
				return nil, err
			}
		}
	}
	rep.ops, rep.writes, rep.reconnects = t.ops.Load(), t.writes.Load(), t.reconnects.Load()
	fmt.Fprintf(out, "ops %d, acknowledged writes %d, reconnects %d, lost writes %d\n", rep.ops, rep.writes, rep.reconnects, len(rep.lost))
	for _, l := range rep.lost {
		fmt.Fprintln(out, "  lost:", l)
	}
	if rep.measured {
		fmt.Fprintf(out, "goroutines %d → %d (noise %d), heap %.1f → %.1f MiB (noise %d MiB), members left in rooms %d\n",
			rep.goroutines[0], rep.goroutines[1], goroutineNoise,
			float64(rep.heap[0])/(1<<20), float64(rep.heap[1])/(1<<20), heapNoise>>20, rep.members)
	}
	if rep.ok() {
		fmt.Fprintln(out, "ok")
	} else {
		fmt.Fprintln(out, "FAILED")
	}
	return rep, nil
}

// settle lets the server finish closing the clients' connections — it
// does so after each close handshake, out of the clients' sight — and
// returns the goroutine count and live heap. It checks every 50 ms for
// up to 10 s until the goroutines are at most want (0: one check after
// a short pause).
func settle(ctx context.Context, want int) (int, uint64) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for i := 0; ; i++ {
		select {
		case <-tick.C:
		case <-deadline:
		case <-ctx.Done():
		}
		n := runtime.NumGoroutine()
		if (want == 0 && i >= 10) || (want > 0 && n <= want) || ctx.Err() != nil || i >= 200 {
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			return n, m.HeapAlloc
		}
	}
}

func writeHeap(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return pprof.Lookup("heap").WriteTo(f, 0)
}
