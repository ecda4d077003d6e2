// Command syncthing runs Synk's folder sync and Syncthing side by side on
// loopback, on the same data, and reports for each workload the time
// until the second device holds what changed on the first, the bytes on
// the wire and the peak RSS of each side (docs/FOLDER.md, "Beside
// Syncthing").
//
//	go run -C bench ./syncthing -size 1GB -runs 3 -out ../docs/folder
//
// Syncthing v1.30.0 is built from its Go module (the module proxy's copy,
// with -tags noassets: the REST API without the web GUI's files) into
// .cache/syncthing-v1.30.0 once. Two Syncthing instances run with API
// keys, listening on 127.0.0.1 only, with global and local discovery,
// relays, NAT traversal, usage reports and upgrades off, the folder shared
// by the configuration this tool writes; otherwise Syncthing's defaults.
// Synk runs as a server (synk serve, chunks on disk) and two devices
// (synk folder), each its own process. Each system's links go through a
// TCP relay that counts the bytes both ways.
//
// The workloads, in order on the same folder: the initial sync of -size
// bytes of mixed files (3,000+ files at 1 GB), 1 byte changed in the
// largest file, 100 bytes appended to a medium file, the largest file
// renamed, 1,000 small new files. After each change Syncthing is asked to
// scan the folder at once (POST /rest/db/scan) rather than waiting for
// its file watcher's default 10 s delay; Synk's watcher reacts after
// 200 ms of quiet.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
)

func main() {
	size := flag.String("size", "1GB", "bytes of files to sync at first (KB, MB, GB suffixes)")
	runs := flag.Int("runs", 3, "runs of every workload per system; medians are reported")
	small := flag.Int("small", 1000, "small new files in the last workload")
	out := flag.String("out", "", "directory for syncthing.md and a PNG chart per metric")
	seed := flag.Uint64("seed", 1, "random seed of the files")
	dir := flag.String("dir", "", "where the folders, the server's data and Syncthing's homes go (default: a temporary directory)")
	flag.Parse()
	n, err := parseSize(*size)
	if err != nil {
		fmt.Fprintln(os.Stderr, "syncthing:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg := config{size: n, runs: *runs, small: *small, seed: *seed, dir: *dir}
	if err := run(ctx, cfg, *out); err != nil {
		fmt.Fprintln(os.Stderr, "syncthing:", err)
		os.Exit(1)
	}
}

// config is one comparison's settings.
type config struct {
	size    int64
	runs    int
	small   int
	seed    uint64
	dir     string
	synkBin string
	stBin   string
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for suffix, m := range map[string]int64{"KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30} {
		if v, ok := strings.CutSuffix(strings.ToUpper(s), suffix); ok {
			s, mult = v, m
			break
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("size %q: want a positive number of bytes, such as 1GB", s)
	}
	return int64(n * float64(mult)), nil
}

// repoRoot is the repository's root: the parent of bench/.
func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "bench", "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("not inside the synk repository: %s", wd)
		}
	}
}
