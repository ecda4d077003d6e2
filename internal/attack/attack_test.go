package attack

import (
	"context"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/synkhq/synk/internal/leakcheck"
)

func TestMain(m *testing.M) {
	leakcheck.Main(m, 8<<20)
}

// synk returns the binary the tests attack: SYNK_ATTACK_BIN (another
// build, say an older one), or this tree's, built once.
func synk(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and attacks the synk binary")
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads peak RSS from /proc")
	}
	if bin == "" {
		bin = os.Getenv("SYNK_ATTACK_BIN")
	}
	if bin == "" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		dir, err := os.MkdirTemp("", "synk-attack")
		if err != nil {
			t.Fatal(err)
		}
		if bin, err = Build(ctx, dir); err != nil {
			t.Fatal(err)
		}
	}
	return bin
}

var bin string

// TestAttacks runs every attack of issue 15 against a fresh server (one
// at a time: they measure the server's memory) and checks its bounds:
// the server's peak RSS grows at most the case's bound over its baseline
// after setup, and a well-behaved client's round trip stays under
// MaxRoundTrip while the attack runs. Before the fixes these servers
// grew by the Before figures in Cases, or were killed for lack of memory.
func TestAttacks(t *testing.T) {
	b := synk(t)
	for _, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), c.Hold+2*time.Minute)
			defer cancel()
			res, err := c.Run(ctx, b, os.Getenv("SYNK_ATTACK_PLAIN") != "")
			if err != nil {
				t.Fatal(err)
			}
			t.Log(res)
			if err := c.Check(res); err != nil {
				t.Error(err)
			}
		})
	}
}
