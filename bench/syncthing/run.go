package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/synkhq/synk/bench/internal/files"
)

// systems in the order they run and are reported.
var systems = []string{"synk", "syncthing"}

// workloads in the order they run on one folder.
var workloads = []string{"initial sync", "1 byte changed in the largest file", "100 bytes appended to a medium file",
	"the largest file renamed", "small new files"}

// measurement is one workload's figures on one system in one run.
type measurement struct {
	Seconds float64 // from the change (or the start) until b holds it
	Wire    int64   // bytes through the relays, both ways
}

// result is one run of every workload on one system, and its peak RSS.
type result struct {
	M   map[string]measurement
	RSS map[string]int64 // per process, bytes
}

func run(ctx context.Context, cfg config, out string) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	cache := filepath.Join(root, ".cache")
	fmt.Fprintln(os.Stderr, "building synk and syncthing "+syncthingVersion+"…")
	if cfg.stBin, err = buildSyncthing(ctx, cache); err != nil {
		return err
	}
	cfg.synkBin = filepath.Join(cache, "bench-synk")
	if b, err := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", cfg.synkBin, "github.com/synkhq/synk/cmd/synk").CombinedOutput(); err != nil {
		return fmt.Errorf("building synk: %v\n%s", err, b)
	}
	results := make(map[string][]result)
	for r := range cfg.runs {
		for _, sys := range systems {
			res, err := runOnce(ctx, cfg, sys)
			if err != nil {
				return fmt.Errorf("%s, run %d: %w", sys, r+1, err)
			}
			results[sys] = append(results[sys], res)
			for _, w := range workloads {
				m := res.M[w]
				fmt.Fprintf(os.Stderr, "%-10s run %d  %-40s %8.2f s %14d B\n", sys, r+1, w, m.Seconds, m.Wire)
			}
		}
	}
	rep := report(cfg, results)
	fmt.Print(rep)
	if out == "" {
		return nil
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "syncthing.md"), []byte(rep), 0o644); err != nil {
		return err
	}
	return charts(results, out)
}

// runOnce runs every workload on sys, on fresh folders.
func runOnce(ctx context.Context, cfg config, sys string) (result, error) {
	tmp, err := os.MkdirTemp(cfg.dir, "synk-vs-syncthing-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(tmp)
	a, b := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	for _, d := range []string{a, b} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return result{}, err
		}
	}
	rng := rand.New(rand.NewPCG(cfg.seed, cfg.seed))
	if _, err := files.Fill(a, cfg.size, rng); err != nil {
		return result{}, err
	}
	want, err := listing(a)
	if err != nil {
		return result{}, err
	}
	start := time.Now()
	var s *side
	switch sys {
	case "synk":
		s, err = startSynk(ctx, cfg.synkBin, filepath.Join(tmp, "server"), a, b)
	default:
		s, err = startSyncthing(ctx, cfg.stBin, filepath.Join(tmp, "homes"), a, b)
	}
	if err != nil {
		return result{}, err
	}
	defer s.stop()
	res := result{M: make(map[string]measurement)}
	wait := func(what string, done func() bool) error {
		deadline := time.Now().Add(15 * time.Minute)
		for !done() {
			if time.Now().After(deadline) {
				return fmt.Errorf("%s: b did not converge within 15 minutes", what)
			}
			for _, p := range s.procs {
				select {
				case <-p.done:
					return fmt.Errorf("%s exited: %s", p.name, lastLines(p.output(), 20))
				default:
				}
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
		return nil
	}
	// The initial sync: from the start until b has every file, whole.
	if err := wait("initial sync", func() bool { return sameSizes(b, want) }); err != nil {
		return res, err
	}
	res.M["initial sync"] = measurement{Seconds: time.Since(start).Seconds(), Wire: s.wire()}
	if err := sameContent(a, b); err != nil {
		return res, fmt.Errorf("initial sync: %w", err)
	}
	largest := largestFile(want)
	edits := []struct {
		name string
		do   func() error
		done func() bool
	}{
		{workloads[1], func() error { return flipMiddle(filepath.Join(a, largest)) },
			func() bool { return sameByteMiddle(filepath.Join(a, largest), filepath.Join(b, largest)) }},
		{workloads[2], func() error { return appendTo(filepath.Join(a, "medium/d0/f0.bin"), 100) },
			func() bool {
				return sameSize(filepath.Join(a, "medium/d0/f0.bin"), filepath.Join(b, "medium/d0/f0.bin"))
			}},
		{workloads[3], func() error { return os.Rename(filepath.Join(a, largest), filepath.Join(a, "renamed.bin")) },
			func() bool {
				_, err := os.Stat(filepath.Join(b, largest))
				return os.IsNotExist(err) && sameSize(filepath.Join(a, "renamed.bin"), filepath.Join(b, "renamed.bin"))
			}},
		{workloads[4], func() error { return smallFiles(filepath.Join(a, "new"), cfg.small, rng) },
			func() bool { return countFiles(filepath.Join(b, "new")) == cfg.small }},
	}
	for _, e := range edits {
		w0 := s.wire()
		t0 := time.Now()
		if err := e.do(); err != nil {
			return res, err
		}
		if err := s.poke(ctx); err != nil {
			return res, err
		}
		if err := wait(e.name, e.done); err != nil {
			return res, err
		}
		res.M[e.name] = measurement{Seconds: time.Since(t0).Seconds(), Wire: s.wire() - w0}
	}
	if err := wait("the last change", func() bool { return sameContent(a, b) == nil }); err != nil {
		return res, err
	}
	res.RSS = s.peakRSS()
	return res, nil
}

// ignored are the names each system keeps for itself in a folder.
func ignored(rel string) bool {
	first, _, _ := strings.Cut(rel, "/")
	return first == ".synk" || first == ".stfolder" || first == ".stversions" || strings.HasPrefix(filepath.Base(rel), ".syncthing.") ||
		strings.HasPrefix(filepath.Base(rel), ".synk-tmp-")
}

// listing returns dir's files and their sizes, by slash path.
func listing(dir string) (map[string]int64, error) {
	out := make(map[string]int64)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel != "." && ignored(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			out[rel] = info.Size()
		}
		return nil
	})
	return out, err
}

// sameSizes reports whether dir holds exactly want's files at their sizes.
func sameSizes(dir string, want map[string]int64) bool {
	got, err := listing(dir)
	if err != nil || len(got) != len(want) {
		return false
	}
	for p, n := range want {
		if got[p] != n {
			return false
		}
	}
	return true
}

// sameContent compares a's and b's files, bytes and all.
func sameContent(a, b string) error {
	la, err := listing(a)
	if err != nil {
		return err
	}
	lb, err := listing(b)
	if err != nil {
		return err
	}
	if len(la) != len(lb) {
		return fmt.Errorf("a has %d files, b %d", len(la), len(lb))
	}
	for p := range la {
		ha, err := hashFile(filepath.Join(a, p))
		if err != nil {
			return err
		}
		hb, err := hashFile(filepath.Join(b, p))
		if err != nil || ha != hb {
			return fmt.Errorf("%s differs (%v)", p, err)
		}
	}
	return nil
}

func hashFile(name string) ([32]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return [32]byte{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return [32]byte{}, err
	}
	return [32]byte(h.Sum(nil)), nil
}

func largestFile(l map[string]int64) string {
	var best string
	for p, n := range l {
		if n > l[best] || n == l[best] && p < best {
			best = p
		}
	}
	return best
}

// flipMiddle changes the byte in the middle of a file.
func flipMiddle(name string) error {
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, info.Size()/2); err != nil {
		return err
	}
	b[0] ^= 0xff
	_, err = f.WriteAt(b, info.Size()/2)
	return err
}

// sameByteMiddle reports whether two files of one size hold the same
// byte in their middle (both systems replace a file whole, by rename, so
// the new byte means the new file).
func sameByteMiddle(a, b string) bool {
	read := func(name string) (byte, int64, bool) {
		f, err := os.Open(name)
		if err != nil {
			return 0, 0, false
		}
		defer f.Close()
		info, err := f.Stat()
		if err != nil {
			return 0, 0, false
		}
		c := make([]byte, 1)
		_, err = f.ReadAt(c, info.Size()/2)
		return c[0], info.Size(), err == nil
	}
	ca, na, oka := read(a)
	cb, nb, okb := read(b)
	return oka && okb && ca == cb && na == nb
}

func sameSize(a, b string) bool {
	ia, err := os.Stat(a)
	if err != nil {
		return false
	}
	ib, err := os.Stat(b)
	return err == nil && ia.Size() == ib.Size()
}

func appendTo(name string, n int) error {
	f, err := os.OpenFile(name, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.Write(make([]byte, n))
	return err
}

// smallFiles writes n files of 1-4 KB into dir.
func smallFiles(dir string, n int, rng *rand.Rand) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i := range n {
		if err := files.WriteRandom(filepath.Join(dir, fmt.Sprintf("n%04d.txt", i)), 1024+rng.Int64N(3072), rng); err != nil {
			return err
		}
	}
	return nil
}

func countFiles(dir string) int {
	l, err := listing(dir)
	if err != nil {
		return 0
	}
	return len(l)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// median returns the median of xs and their range.
func median(xs []float64) (med, lo, hi float64) {
	if len(xs) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[(len(s)-1)/2], s[0], s[len(s)-1]
}
