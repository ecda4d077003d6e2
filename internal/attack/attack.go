package attack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// Attack is one hostile workload.
type Attack interface {
	// Name says what it does, in a few words.
	Name() string
	// Setup makes what the attack needs (a room's objects, say); its
	// memory counts in the baseline, not against the attack.
	Setup(ctx context.Context, t *Target) error
	// Run attacks until ctx ends, then lets go of everything it opened.
	Run(ctx context.Context, t *Target) error
}

// Result is what an attack made the server hold.
type Result struct {
	Name string
	// Base is the server's peak RSS after Setup; Peak after the attack.
	Base, Peak int64
	// ProbeMax is the longest round trip of a well-behaved client during
	// the attack, of ProbeCount; ProbeErr its first failure.
	ProbeMax   time.Duration
	ProbeCount int
	ProbeErr   error
	// Alive: the server still ran afterwards.
	Alive bool
	// CPU is the share of one core the server used during the attack.
	CPU float64
}

// Growth is how far the attack raised the server's peak RSS.
func (r Result) Growth() int64 { return r.Peak - r.Base }

func (r Result) String() string {
	return fmt.Sprintf("%-40s peak RSS %6.1f MB (+%5.1f MB over %5.1f MB), CPU %3.0f%%, probe max %v over %d round trips",
		r.Name, mb(r.Peak), mb(r.Growth()), mb(r.Base), 100*r.CPU, r.ProbeMax.Round(time.Millisecond), r.ProbeCount)
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }

// Measure sets a up against t, then runs it for hold with a probe client
// doing round trips, and reports the server's peak RSS before and after.
func Measure(ctx context.Context, t *Target, a Attack, hold time.Duration) (Result, error) {
	res := Result{Name: a.Name()}
	if err := a.Setup(ctx, t); err != nil {
		return res, fmt.Errorf("%s: setup: %w", a.Name(), err)
	}
	var err error
	if res.Base, err = t.PeakRSS(); err != nil {
		return res, err
	}
	probe, err := StartProbe(ctx, t)
	if err != nil {
		return res, fmt.Errorf("probe: %w", err)
	}
	cpu0, _ := t.CPUTime()
	start := time.Now()
	actx, cancel := context.WithTimeout(ctx, hold)
	runErr := a.Run(actx, t)
	out := ranOut(actx, runErr) // an error once its time ran out is the attack's end
	cancel()
	if cpu1, err := t.CPUTime(); err == nil {
		res.CPU = float64(cpu1-cpu0) / float64(time.Since(start))
	}
	res.ProbeMax, res.ProbeCount, res.ProbeErr = probe.Stop()
	res.Alive = t.Alive()
	if res.Alive {
		res.Peak, err = t.PeakRSS()
	}
	if runErr != nil && (!out || errors.Is(runErr, ErrBound)) {
		return res, fmt.Errorf("%s: %w", a.Name(), runErr)
	}
	return res, err
}

// ErrBound is wrapped by an attack's error when the server broke a bound
// the attack checks itself.
var ErrBound = errors.New("attack: the server broke a bound")

// ranOut reports whether err came of ctx's time running out: ctx is done,
// or err is a deadline of an operation bounded by ctx (the network's
// deadline can fire a moment before ctx's own timer).
func ranOut(ctx context.Context, err error) bool {
	return ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded)
}

// hold waits until ctx ends, and reports nil: an attack that held its
// ground for its time did what it meant to.
func hold(ctx context.Context) error {
	<-ctx.Done()
	return nil
}
