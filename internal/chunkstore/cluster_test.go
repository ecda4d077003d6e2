//go:build !js

package chunkstore

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/synkhq/synk/internal/natstest"
)

// countingBudget is a Budget of limit bytes that remembers what it lends.
type countingBudget struct {
	mu          sync.Mutex
	held, limit int64
}

func (b *countingBudget) TryTake(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.held+n > b.limit {
		return false
	}
	b.held += n
	return true
}

func (b *countingBudget) Give(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.held -= n
}

// TestCluster_getManyGivesBack: what GetMany read ahead comes back to the
// budget however the reading ends: when each stops after the first chunk
// (the others were read ahead), and when the budget runs out (each gets
// ErrMemory once, then nothing).
func TestCluster_getManyGivesBack(t *testing.T) {
	nc, err := nats.Connect(natstest.Run(t, true))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := NewCluster(nc, 1, 0, 1<<20, time.Hour)
	ctx := t.Context()
	b := c.Batch(ctx, "r", 1<<30)
	var sums [][32]byte
	for i := range 20 {
		data := bytes.Repeat([]byte{byte(i)}, 50<<10)
		sum := sha256.Sum256(data)
		sums = append(sums, sum)
		if _, err := b.Add(sum, int64(len(data)), func(w io.Writer) (int64, error) {
			n, err := w.Write(data)
			return int64(n), err
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	mem := &countingBudget{limit: 1 << 30}
	calls := 0
	c.GetMany(ctx, "r", sums, mem, func(i int, data []byte, err error) bool {
		calls++
		if err != nil || len(data) != 50<<10 {
			t.Errorf("chunk %d: %d bytes, %v", i, len(data), err)
		}
		return false
	})
	if calls != 1 || mem.held != 0 {
		t.Errorf("stopped after the first: %d calls, %d bytes still taken; want 1 and 0", calls, mem.held)
	}
	mem = &countingBudget{limit: 120 << 10} // two chunks at most
	var errs []error
	c.GetMany(ctx, "r", sums, mem, func(i int, data []byte, err error) bool {
		errs = append(errs, err)
		return true
	})
	if n := len(errs); n < 2 || n == len(sums) || errs[n-1] == nil || !errors.Is(errs[n-1], ErrMemory) {
		t.Errorf("with room for two chunks: %d calls, last error %v; want ErrMemory after at least 2", n, errs[len(errs)-1])
	}
	if mem.held != 0 {
		t.Errorf("%d bytes still taken after GetMany", mem.held)
	}
}
