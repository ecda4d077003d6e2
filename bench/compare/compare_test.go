package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// TestCompare_small runs every workload at a tiny scale against the three
// systems, so that the tool keeps working; it writes its report into a
// temporary directory.
func TestCompare_small(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs three servers")
	}
	sc := &scale{subs: 20, messages: 40, window: 4, rate: 20, rooms: 4, members: 3, roomRate: 5,
		idle: 30, watchers: 5, churners: 2, stormSubs: 10, stormRate: 20, duration: time.Second, idleFor: time.Second,
		sweepStep: time.Second, sweepRates: []int{20, 40}}
	wantSystems = []string{"synk", "centrifuge", "hub"}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out := t.TempDir()
	if err := run(ctx, sc, 1, []string{"fanout", "fanout20", "sweep", "rooms", "idle", "churn", "storm"}, out); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"results.md", "results.json", "fanout.png", "sweep.png", "storm.png"} {
		if fi, err := os.Stat(filepath.Join(out, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// binValue reads what msgpack writes for a []byte of every header size,
// and refuses anything else.
func TestBinValue(t *testing.T) {
	for _, n := range []int{0, 1, 255, 256, 65535, 65536} {
		want := bytes.Repeat([]byte{7}, n)
		raw, err := msgpack.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := binValue(raw); !ok || !bytes.Equal(got, want) {
			t.Errorf("%d bytes: got %d bytes, %v", n, len(got), ok)
		}
		if _, ok := binValue(raw[:len(raw)-1]); n > 0 && ok {
			t.Errorf("%d bytes: a truncated value was taken", n)
		}
	}
	for _, raw := range [][]byte{nil, {0xc4}, {0xa1, 'x'}, {0xc5, 0}, {0xc6, 0, 0, 0}} {
		if _, ok := binValue(raw); ok {
			t.Errorf("% x taken", raw)
		}
	}
}
