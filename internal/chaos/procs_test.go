package chaos

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/synkhq/synk/internal/attack"
)

// natsAndSynk builds nats-server and synk into dir (synk is taken from
// SYNK_CHAOS_BIN when set) and starts a cluster of 3 NATS servers with
// JetStream, killed when the test ends. It returns synk's binary, the
// NATS servers and their URLs joined for -nats.
func natsAndSynk(ctx context.Context, t *testing.T, dir string) (string, []*NATS, string) {
	t.Helper()
	natsBin, err := BuildNATS(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	synkBin := os.Getenv("SYNK_CHAOS_BIN")
	if synkBin == "" {
		if synkBin, err = attack.Build(ctx, dir); err != nil {
			t.Fatal(err)
		}
	}
	servers, err := StartNATSCluster(ctx, natsBin, dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, n := range servers {
			n.Kill()
		}
	})
	var urls []string
	for _, n := range servers {
		urls = append(urls, n.URL())
	}
	return synkBin, servers, strings.Join(urls, ",")
}
