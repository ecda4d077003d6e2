package meet

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkMeet measures the meet board with 10,000 requests pending at
// once: each op submits 10,000 requests from 10,000 goroutines (mates 1 to
// 4; one in ten has a selector that only half of the others match), waits
// until every request that can be matched is, and withdraws the rest.
// It reports requests matched per second and the wait from arrival to
// match at the 50th and 99th percentiles.
//
//	go test ./internal/meet -run '^$' -bench Meet -benchtime 5x
func BenchmarkMeet(b *testing.B) {
	const n = 10000
	var waits []time.Duration
	matched, unmatched := 0, 0
	var elapsed time.Duration
	for b.Loop() {
		board := New(16, 2*n, 2*n, 1<<40)
		rng := rand.New(rand.NewPCG(uint64(len(waits)), 9))
		reqs := make([]*Request, n)
		for i := range reqs {
			p := Params{Event: "game", Actor: fmt.Sprint("p", i), Mates: 1 + rng.IntN(4),
				Labels: map[string]string{"tier": "silver"}}
			if i%2 == 0 {
				p.Labels["tier"] = "gold"
			}
			if rng.IntN(10) == 0 {
				p.Selector = "tier=gold"
			}
			r, err := board.Prepare("", p)
			if err != nil {
				b.Fatal(err)
			}
			reqs[i] = r
		}
		met := make([]time.Time, n)
		arrived := make([]time.Time, n)
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := time.Now()
		for i, r := range reqs {
			r.OnMatch = func(map[string]string) {
				mu.Lock()
				met[i] = time.Now()
				mu.Unlock()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				mu.Lock()
				arrived[i] = time.Now()
				mu.Unlock()
				if err := board.Add(r); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
		elapsed += time.Since(start)
		for i, r := range reqs {
			if board.Withdraw(r) {
				unmatched++
				continue
			}
			matched++
			waits = append(waits, met[i].Sub(arrived[i]))
		}
	}
	slices.Sort(waits)
	pct := func(p float64) float64 { return float64(waits[int(p*float64(len(waits)-1))]) / 1e6 }
	b.ReportMetric(float64(matched)/elapsed.Seconds(), "matched/s")
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(unmatched)/float64(matched+unmatched)*100, "%unmatched")
}
