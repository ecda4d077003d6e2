package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"time"
)

// workload is one load, run against each system in turn.
type workload struct {
	name     string
	title    string
	history  int      // centrifuge's channel history (for recovery)
	presence bool     // centrifuge's join/leave events and presence
	skip     []string // systems it does not apply to
	metrics  []metric // what it reports, in table order
	run      func(ctx context.Context, sys *system, srv *server, sc *scale) (result, error)
}

// metric is one reported number. Better says which way is better, for
// the ratios: +1 higher, -1 lower, 0 neither.
type metric struct {
	key, title string
	better     int
}

// result holds a run's numbers by metric key.
type result map[string]float64

// scale sizes every workload; flags set it.
type scale struct {
	subs, messages, window int           // fan-out
	rate                   int           // fan-out latency run: messages/s
	sweepStep              time.Duration // fan-out sweep: each rate's length
	sweepRates             []int         // fan-out sweep: its rates, messages/s
	rooms, members         int           // many small rooms
	roomRate               float64
	idle                   int // idle capacity
	watchers, churners     int // presence churn
	duration               time.Duration
	idleFor                time.Duration // the idle load's window: every keepalive runs in it
	stormSubs, stormRate   int           // reconnect storm
}

func (w *workload) applies(sys string) bool { return !slices.Contains(w.skip, sys) }

// measure samples the server around f and adds CPU seconds, peak RSS and
// bytes written per delivery to r.
func measure(srv *server, r result, f func() (deliveries float64, err error)) error {
	before, err := srv.sample()
	if err != nil {
		return err
	}
	self := &server{cmd: &exec.Cmd{Process: &os.Process{Pid: os.Getpid()}}}
	selfBefore, err := self.sample()
	if err != nil {
		return err
	}
	n, err := f()
	if err != nil {
		return err
	}
	after, err := srv.sample()
	if err != nil {
		return err
	}
	selfAfter, err := self.sample()
	if err != nil {
		return err
	}
	if n > 0 {
		r["client_cpu_us_per_delivery"] = selfAfter.sub(selfBefore).cpu.Seconds() * 1e6 / n
	}
	d := after.sub(before)
	r["cpu_s"] = d.cpu.Seconds()
	r["rss_peak_mb"] = float64(after.rssPeak) / (1 << 20)
	if n > 0 {
		r["bytes_per_delivery"] = float64(d.wrote) / n
		r["cpu_us_per_delivery"] = d.cpu.Seconds() * 1e6 / n
	}
	return nil
}

var errStalled = fmt.Errorf("deliveries stalled")
