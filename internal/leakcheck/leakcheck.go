// Package leakcheck ends a package's tests with the checks every suite
// runs: no goroutine left behind (go.uber.org/goleak) and a live heap,
// after a collection, below a bound.
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"testing"

	"go.uber.org/goleak"
)

// Main runs the tests, then fails the run if goroutines outlive them or
// more than maxHeap bytes stay live after a garbage collection: state a
// suite's servers and clients should have freed when they closed.
func Main(m *testing.M, maxHeap uint64, opts ...goleak.Option) {
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(opts...); err != nil {
			fmt.Fprintf(os.Stderr, "leakcheck: goroutines left behind: %v\n", err)
			code = 1
		}
		// Two collections: what sits in a sync.Pool survives the first
		// (as the pool's victim cache) and is a cache, not a leak.
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapAlloc > maxHeap {
			fmt.Fprintf(os.Stderr, "leakcheck: %.1f MiB of heap still live after the tests (bound %.1f MiB)\n",
				float64(ms.HeapAlloc)/(1<<20), float64(maxHeap)/(1<<20))
			code = 1
		}
	}
	os.Exit(code)
}
