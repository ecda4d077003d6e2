// Command compare runs Synk, a peer built on centrifugal/centrifuge, and a
// bare websocket broadcast hub (the floor) on this machine under the same
// loads, one after the other, and prints each one's numbers and Synk's
// ratios to the others. Every server runs as its own process on loopback,
// so that its CPU time, memory and bytes written are its own; the clients
// run in this process, each system with its own Go client.
//
//	go run -C bench ./compare                       # every workload, 3 runs, medians
//	go run -C bench ./compare -workloads fanout -runs 5
//	go run -C bench ./compare -out ../docs/bench    # also write tables and charts there
//	go run -C bench ./compare -workloads none -out ../docs/bench   # redraw them from results.json
//
// Each load is bounded: a fixed number of messages or a fixed duration.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strings"
	"time"
)

func main() {
	var sc scale
	flag.IntVar(&sc.subs, "subs", 1000, "fan-out: subscribers")
	flag.IntVar(&sc.messages, "messages", 2000, "fan-out: messages")
	flag.IntVar(&sc.window, "window", 8, "fan-out: messages in flight end to end")
	flag.IntVar(&sc.rate, "rate", 20, "fan-out steady run: messages per second")
	flag.IntVar(&sc.rooms, "rooms", 1000, "small rooms: rooms")
	flag.IntVar(&sc.members, "members", 10, "small rooms: members per room")
	flag.Float64Var(&sc.roomRate, "room-rate", 0.1, "small rooms: messages per second per member")
	flag.IntVar(&sc.idle, "idle", 10000, "idle: connections")
	flag.IntVar(&sc.watchers, "watchers", 200, "churn: participants that stay")
	flag.IntVar(&sc.churners, "churners", 32, "churn: clients joining and leaving in a loop")
	flag.IntVar(&sc.stormSubs, "storm-subs", 1000, "storm: subscribers that drop and return")
	flag.IntVar(&sc.stormRate, "storm-rate", 20, "storm: messages per second published meanwhile")
	flag.DurationVar(&sc.sweepStep, "sweep-step", 5*time.Second, "sweep: how long each rate is held")
	flag.DurationVar(&sc.duration, "duration", 10*time.Second, "length of the timed loads")
	flag.DurationVar(&sc.idleFor, "idle-duration", time.Minute, "idle: how long the connections sit (centrifuge pings every 25 s)")
	runs := flag.Int("runs", 3, "runs of each load per system; medians are reported")
	only := flag.String("workloads", "fanout,fanout20,sweep,rooms,idle,churn,storm", "loads to run, comma-separated")
	out := flag.String("out", "", "directory for results.md, results.json and PNG charts")
	onlySys := flag.String("systems", "synk,centrifuge,hub", "systems to run, comma-separated")
	cpuprofile := flag.String("cpuprofile", "", "write this process's (the clients') CPU profile to the file")
	flag.StringVar(&synkExtra, "synk-args", "", "extra flags for synk serve, e.g. \"-pprof 127.0.0.1:6061\" to profile it")
	flag.Parse()
	sc.sweepRates = sweepRates

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "compare:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	wantSystems = strings.Split(*onlySys, ",")
	if err := run(ctx, &sc, *runs, strings.Split(*only, ","), *out); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

// wantSystems lists the systems to run (-systems).
var wantSystems []string

func allWorkloads() []*workload {
	return []*workload{fanoutWorkload(), fanoutRateWorkload(), fanoutSweepWorkload(), roomsWorkload(), idleWorkload(), churnWorkload(), stormWorkload()}
}

func run(ctx context.Context, sc *scale, runs int, only []string, out string) error {
	dir, err := os.MkdirTemp("", "synk-compare")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintln(os.Stderr, "building the servers…")
	bins, err := buildAll(ctx, dir)
	if err != nil {
		return err
	}
	rep := newReport(sc, runs)
	for _, w := range allWorkloads() {
		if !slices.Contains(only, w.name) {
			continue
		}
		for i := range runs {
			for _, sys := range systems(bins) {
				if !w.applies(sys.name) || !slices.Contains(wantSystems, sys.name) {
					continue
				}
				r, err := runOnce(ctx, sys, bins, w, sc)
				if err != nil {
					return fmt.Errorf("%s on %s, run %d: %w", w.name, sys.name, i+1, err)
				}
				fmt.Fprintf(os.Stderr, "%-9s %-10s run %d: %s\n", w.name, sys.name, i+1, r.brief(w))
				rep.add(w, sys.name, r)
			}
		}
		fmt.Println(rep.table(w))
	}
	if out != "" {
		return rep.write(out)
	}
	return nil
}

// runOnce starts a fresh server, runs w against it and stops it.
func runOnce(ctx context.Context, sys *system, bins map[string]string, w *workload, sc *scale) (result, error) {
	srv, err := sys.start(ctx, bins, w)
	if err != nil {
		return nil, err
	}
	defer srv.kill()
	return w.run(ctx, sys, srv, sc)
}
