package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCompare_small runs every workload at a tiny scale against the three
// systems, so that the tool keeps working; it writes its report into a
// temporary directory.
func TestCompare_small(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs three servers")
	}
	sc := &scale{subs: 20, messages: 40, window: 4, rate: 20, rooms: 4, members: 3, roomRate: 5,
		idle: 30, watchers: 5, churners: 2, stormSubs: 10, stormRate: 20, duration: time.Second}
	wantSystems = []string{"synk", "centrifuge", "hub"}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out := t.TempDir()
	if err := run(ctx, sc, 1, []string{"fanout", "fanout20", "rooms", "idle", "churn", "storm"}, out); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"results.md", "results.json", "fanout.png", "storm.png"} {
		if fi, err := os.Stat(filepath.Join(out, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}
