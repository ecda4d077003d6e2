//go:build !js

package folder

import (
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/synkhq/synk/internal/natstest"
	"github.com/synkhq/synk/server"
)

// startCluster runs n servers sharing an in-process NATS with JetStream:
// their chunks live in its Object Store, their files' records in its room
// log.
func startCluster(t *testing.T, n int) []*hub {
	t.Helper()
	url := natstest.Run(t, true)
	var hubs []*hub
	for range n {
		nc, err := nats.Connect(url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close) // after the server's Shutdown: cleanups run last first
		hubs = append(hubs, startHubWith(t, &server.Options{NATS: nc}))
	}
	return hubs
}

// TestFolder_cluster: issue 22.2. Devices on different nodes of a cluster
// converge through random changes in turns, as on one server. Each seed
// has its own cluster: they share room and device names.
func TestFolder_cluster(t *testing.T) {
	t.Parallel()
	for _, seed := range []uint64{2202, 2203} {
		t.Run(fmt.Sprint("seed_", seed), func(t *testing.T) {
			t.Parallel()
			hubs := startCluster(t, 2)
			convergeAt(t, []string{hubs[0].url, hubs[1].url}, 3, seed)
		})
	}
}

// TestFolder_clusterSmallEdit: a file of many small chunks, uploaded
// through one node and downloaded through the other, in packs; a 1-byte
// change then costs under 64 KB each way there too.
func TestFolder_clusterSmallEdit(t *testing.T) {
	t.Parallel()
	hubs := startCluster(t, 2)
	a, b := t.TempDir(), t.TempDir()
	data := randomBytes(20<<20, 22)
	write(t, a, "big.bin", data)
	fa, fb := device(t, hubs[0], a, "a"), device(t, hubs[1], b, "b")
	once(t, fa, fb)
	sameTrees(t, a, b)
	data[len(data)/3] ^= 1
	write(t, a, "big.bin", data)
	up, down := hubs[0].putBytes.Load(), hubs[1].getBytes.Load()
	once(t, fa, fb)
	sameTrees(t, a, b)
	sent, got := hubs[0].putBytes.Load()-up, hubs[1].getBytes.Load()-down
	t.Logf("a 1-byte change in 20 MB on a cluster: %d bytes up through node A, %d down through node B", sent, got)
	if sent > 64<<10 || got > 64<<10 {
		t.Errorf("a 1-byte change sent %d bytes up and %d down, want at most 64 KB each", sent, got)
	}
}
