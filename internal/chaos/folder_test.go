package chaos

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/synkhq/synk/internal/attack"
	"github.com/synkhq/synk/internal/folder"
)

// TestClusterFolder: issue 22.2, as processes. Two devices sync a folder
// through two synk nodes of a cluster of three NATS servers (JetStream,
// three replicas), each device on its own node: their chunks live in the
// cluster's Object Store. They converge; then the NATS server leading the
// chunks' stream is killed, both devices change files and sync through
// the leader's loss, and they converge again, and once more after it is
// back.
func TestClusterFolder(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs 5 processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	synkBin, servers, natsURLs := natsAndSynk(ctx, t, dir)
	nodes := make([]*attack.Target, 2)
	for i := range nodes {
		var err error
		if nodes[i], err = attack.Start(ctx, synkBin, "-nats", natsURLs, "-nats-replicas", "3", "-rate", "-1"); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		for i, n := range nodes {
			n.Stop()
			if t.Failed() {
				t.Logf("node %d's last log lines:\n%s", i, tail(n.Log(), 40))
			}
		}
	}()

	dirs := []string{filepath.Join(dir, "a"), filepath.Join(dir, "b")}
	devs := make([]*folder.Folder, 2)
	for i := range devs {
		if err := os.MkdirAll(dirs[i], 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := folder.Open(ctx, folder.Options{Dir: dirs[i], Room: "photos", Server: nodes[i].WS(),
			Device: fmt.Sprint("dev", i), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		devs[i] = f
	}
	rng := rand.New(rand.NewPCG(22, 2))
	for i := range 20 {
		writeRandom(t, rng, dirs[0], fmt.Sprintf("small/%d.txt", i), 100+rng.IntN(4000))
	}
	writeRandom(t, rng, dirs[0], "big.bin", 6<<20)
	syncAll(ctx, t, devs)
	sameFiles(t, dirs...)

	// The leader of the chunks' stream dies; both devices change files.
	nc, err := nats.Connect(natsURLs)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, "OBJ_SYNK_CHUNKS")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil || info.Cluster == nil {
		t.Fatalf("chunk stream info: %+v, %v", info, err)
	}
	var killed *NATS
	for _, n := range servers {
		if n.Name == info.Cluster.Leader {
			killed = n
		}
	}
	if killed == nil {
		t.Fatalf("no server named %q leads the chunks", info.Cluster.Leader)
	}
	killed.Kill()
	t.Logf("killed %s, the chunks' stream leader", killed.Name)
	big := filepath.Join(dirs[0], "big.bin")
	data, err := os.ReadFile(big)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 1
	if err := os.WriteFile(big, data, 0o644); err != nil {
		t.Fatal(err)
	}
	writeRandom(t, rng, dirs[1], "from-b/new.bin", 300<<10)
	if err := os.Remove(filepath.Join(dirs[1], "small/3.txt")); err != nil {
		t.Fatal(err)
	}
	syncAll(ctx, t, devs)
	sameFiles(t, dirs...)

	if err := killed.Start(ctx); err != nil {
		t.Fatal(err)
	}
	writeRandom(t, rng, dirs[1], "after.bin", 200<<10)
	syncAll(ctx, t, devs)
	sameFiles(t, dirs...)
}

// syncAll runs each device's pass twice in turn (the second brings each
// the other's changes), trying a failed pass again: a pass may meet a
// JetStream electing a new leader.
func syncAll(ctx context.Context, t *testing.T, devs []*folder.Folder) {
	t.Helper()
	for range 2 {
		for i, f := range devs {
			var err error
			for try := 0; try < 10; try++ {
				if err = f.Once(ctx); err == nil {
					break
				}
				t.Logf("device %d's pass: %v (trying again)", i, err)
			}
			if err != nil {
				t.Fatalf("device %d: %v", i, err)
			}
		}
	}
}

// writeRandom writes n random bytes to root/p.
func writeRandom(t *testing.T, rng *rand.Rand, root, p string, n int) {
	t.Helper()
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	full := filepath.Join(root, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// sameFiles fails unless the folders hold the same files, Synk's own
// state (.synk) left out.
func sameFiles(t *testing.T, dirs ...string) {
	t.Helper()
	want := files(t, dirs[0])
	for _, d := range dirs[1:] {
		if got := files(t, d); !maps.Equal(got, want) {
			t.Fatalf("%s holds %v, %s holds %v", dirs[0], slices.Sorted(maps.Keys(want)), d, slices.Sorted(maps.Keys(got)))
		}
	}
}

func files(t *testing.T, root string) map[string][32]byte {
	t.Helper()
	out := make(map[string][32]byte)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == ".synk" {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[filepath.ToSlash(rel)] = sha256.Sum256(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
