package folder

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// randomOp does one random file operation in root: create, modify,
// delete, rename, make an empty directory (sometimes in a file's place) or
// remove a directory tree.
// Names come from small sets, so devices often touch the same paths.
func randomOp(t *testing.T, rng *rand.Rand, root string) {
	t.Helper()
	dirs := []string{"", "d1/", "d2/", "d1/d3/"}
	name := func() string { return fmt.Sprintf("%sf%d.txt", dirs[rng.IntN(len(dirs))], rng.IntN(6)) }
	files := func() []string {
		var out []string
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() && d.Name() == stateDir {
				return filepath.SkipDir
			}
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(root, p)
				out = append(out, filepath.ToSlash(rel))
			}
			return nil
		})
		return out
	}
	pick := func() (string, bool) {
		fs := files()
		if len(fs) == 0 {
			return "", false
		}
		return fs[rng.IntN(len(fs))], true
	}
	full := func(p string) string { return filepath.Join(root, filepath.FromSlash(p)) }
	switch op := rng.IntN(10); {
	case op < 3: // create or overwrite
		size := rng.IntN(4096)
		if rng.IntN(8) == 0 {
			size = 600<<10 + rng.IntN(2<<20) // a few chunks
		}
		p := full(name())
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, randomBytes(size, rng.Uint64()), 0o644) // fails where a directory took the name
	case op < 5: // modify a few bytes in place
		if p, ok := pick(); ok {
			b, _ := os.ReadFile(full(p))
			if len(b) == 0 {
				b = []byte{0}
			}
			b[rng.IntN(len(b))] ^= byte(1 + rng.IntN(255))
			os.WriteFile(full(p), b, 0o644)
		}
	case op < 7: // delete
		if p, ok := pick(); ok {
			os.Remove(full(p))
		}
	case op < 8: // rename
		if p, ok := pick(); ok {
			to := name()
			os.MkdirAll(filepath.Dir(full(to)), 0o755)
			os.Rename(full(p), full(to))
		}
	case op < 9: // an empty directory; sometimes where a file was
		if p, ok := pick(); ok && rng.IntN(3) == 0 {
			os.Remove(full(p))
			os.MkdirAll(full(p), 0o755)
			return
		}
		os.MkdirAll(full(fmt.Sprintf("%se%d", dirs[rng.IntN(len(dirs))], rng.IntN(3))), 0o755)
	default: // remove a directory tree
		os.RemoveAll(full(dirs[1+rng.IntN(len(dirs)-1)]))
	}
}

var seeds = flag.Int("folder.seeds", 1, "seeds TestFolder_converge runs for each device count (a long run: 50)")

// TestFolder_converge: devices that make random changes, some to the same
// paths, and sync in turns end with equal folders.
func TestFolder_converge(t *testing.T) {
	for _, n := range []int{2, 3} {
		for s := range *seeds {
			seed := uint64(1000*s + n)
			t.Run(fmt.Sprintf("%d_devices_seed_%d", n, seed), func(t *testing.T) {
				t.Parallel()
				converge(t, n, seed)
			})
		}
	}
}

// devices opens n devices named prefix0, prefix1, … on new directories.
func devices(t *testing.T, h *hub, n int, prefix string) (dirs []string, devs []*Folder) {
	for i := range n {
		dirs = append(dirs, t.TempDir())
		devs = append(devs, device(t, h, dirs[i], fmt.Sprintf("%s%d", prefix, i)))
	}
	return dirs, devs
}

func converge(t *testing.T, n int, seed uint64) {
	convergeAt(t, []string{startHub(t).url}, n, seed)
}

// convergeAt is converge with device i on servers[i%len(servers)].
func convergeAt(t *testing.T, servers []string, n int, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, seed))
	var dirs []string
	var devs []*Folder
	at := func(i int) *Folder { return deviceAt(t, servers[i%len(servers)], dirs[i], fmt.Sprintf("dev%d", i)) }
	for i := range n {
		dirs = append(dirs, t.TempDir())
		devs = append(devs, at(i))
	}
	for round := range 12 {
		for i := range n {
			for range 1 + rng.IntN(4) {
				randomOp(t, rng, dirs[i])
			}
		}
		// Not every device syncs every round: some lag behind, some
		// restart (and resume from their stored position).
		for i := range n {
			if rng.IntN(6) == 0 {
				devs[i].Close()
				devs[i] = at(i)
			}
			if round%3 == 2 || rng.IntN(3) > 0 {
				once(t, devs[i])
			}
		}
	}
	for range 2 {
		once(t, devs...)
	}
	sameTrees(t, dirs...)
	t.Logf("seed %d: %d paths", seed, len(tree(t, dirs[0])))
}

// TestFolder_convergeRunning: three devices run (watching, syncing as
// changes come) while random operations hit all three folders at once;
// once they stop and settle, the folders are equal.
func TestFolder_convergeRunning(t *testing.T) {
	t.Parallel()
	const n = 3
	seed := uint64(77)
	rng := rand.New(rand.NewPCG(seed, seed))
	h := startHub(t)
	dirs, devs := devices(t, h, n, "run")
	ctx, cancel := context.WithCancel(t.Context())
	errs := make(chan error, n)
	passed := make(chan struct{}, 64)
	for _, f := range devs {
		f.passed = passed
		go func() { errs <- f.Run(ctx) }()
	}
	for round := range 10 {
		for i := range n {
			for range 1 + rng.IntN(3) {
				randomOp(t, rng, dirs[i])
			}
		}
		// Let some passes happen between rounds: wait for a few (a round
		// whose operations changed nothing makes none).
		quiet := time.NewTimer(2 * time.Second)
		for k := 0; k < 2+round%3; k++ {
			select {
			case <-passed:
			case <-quiet.C:
				k = 99
			}
		}
		quiet.Stop()
	}
	cancel()
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	for _, f := range devs {
		f.passed = nil
	}
	for range 2 {
		once(t, devs...)
	}
	sameTrees(t, dirs...)
	t.Logf("seed %d: %d paths", seed, len(tree(t, dirs[0])))
}
