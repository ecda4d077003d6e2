package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/synkhq/synk/bench/internal/files"
	"github.com/synkhq/synk/internal/folder"
	"github.com/synkhq/synk/server"
)

type config struct {
	Size       int64
	OneFile    int64 // bytes of the one large file edited, or 0
	Dir        string
	Seed       uint64
	CPUProfile string
	Cluster    bool // device b syncs through a second node, over an embedded NATS with JetStream
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		n      int64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}} {
		if v, ok := strings.CutSuffix(strings.ToUpper(s), u.suffix); ok {
			s, mult = v, u.n
			break
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("size %q: want a positive number of bytes, such as 1GB", s)
	}
	return int64(n * float64(mult)), nil
}

func run(ctx context.Context, cfg config, out io.Writer) error {
	root := cfg.Dir
	if root == "" {
		var err error
		if root, err = os.MkdirTemp("", "synk-folder-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(root)
	}
	quiet := slog.New(slog.DiscardHandler)
	var upBytes atomic.Int64 // chunk bytes the server received
	var urls []string
	nodes := 1
	var natsURL string
	if cfg.Cluster {
		nodes = 2
		ns, err := startNATS(filepath.Join(root, "nats"))
		if err != nil {
			return err
		}
		defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
		natsURL = ns.ClientURL()
	}
	for range nodes {
		opts := &server.Options{DataDir: filepath.Join(root, "server"), Logger: quiet}
		if cfg.Cluster {
			nc, err := nats.Connect(natsURL)
			if err != nil {
				return err
			}
			defer nc.Close() // after the server's Shutdown
			opts = &server.Options{NATS: nc, Logger: quiet}
		}
		s, err := server.New(opts)
		if err != nil {
			return err
		}
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == "PUT" && strings.Contains(r.URL.Path, "/chunks/") || strings.HasSuffix(r.URL.Path, "/chunks/put") {
				upBytes.Add(r.ContentLength) // packs: with 36 bytes of header a chunk
			}
			s.ServeHTTP(w, r)
		}))
		defer func() {
			hs.Close()
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s.Shutdown(sctx)
		}()
		urls = append(urls, "ws"+strings.TrimPrefix(hs.URL, "http")+"/ws")
	}
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed))
	fmt.Fprintf(out, "writing %.0f MB of files...\n", float64(cfg.Size)/1e6)
	count, err := files.Fill(a, cfg.Size, rng)
	if err != nil {
		return err
	}
	open := func(dir, name string) (*folder.Folder, error) {
		url := urls[0]
		if name == "b" {
			url = urls[len(urls)-1]
		}
		return folder.Open(ctx, folder.Options{Dir: dir, Room: "bench", Server: url, Device: name, Logger: quiet})
	}
	fa, err := open(a, "a")
	if err != nil {
		return err
	}
	defer fa.Close()
	fb, err := open(b, "b")
	if err != nil {
		return err
	}
	defer fb.Close()

	mb := float64(cfg.Size) / 1e6
	if cfg.CPUProfile != "" {
		pf, err := os.Create(cfg.CPUProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
	}
	start := time.Now()
	if err := fa.Once(ctx); err != nil {
		return err
	}
	up := time.Since(start)
	if cfg.CPUProfile != "" {
		pprof.StopCPUProfile()
	}
	start = time.Now()
	if err := fb.Once(ctx); err != nil {
		return err
	}
	down := time.Since(start)
	fmt.Fprintf(out, "\ninitial sync of %d files, %.0f MB:\n", count, mb)
	fmt.Fprintf(out, "  device a → server   %7.1f s  %7.1f MB/s  (%d chunks)\n", up.Seconds(), mb/up.Seconds(), fa.Stats().ChunksSent)
	fmt.Fprintf(out, "  server → device b   %7.1f s  %7.1f MB/s  (%d chunks)\n", down.Seconds(), mb/down.Seconds(), fb.Stats().ChunksReceived)
	fmt.Fprintf(out, "  end to end          %7.1f s  %7.1f MB/s\n", (up + down).Seconds(), mb/(up+down).Seconds())

	// Small edits, each synced a → b alone.
	largest := largestFile(a)
	edits := []struct {
		name string
		do   func() error
	}{
		{"1 byte changed in the largest file", func() error { return flip(filepath.Join(a, largest), 0.5) }},
		{"100 bytes appended to a medium file", func() error { return appendTo(filepath.Join(a, "medium/d0/f0.bin"), 100) }},
		{"a small file rewritten", func() error { return os.WriteFile(filepath.Join(a, "small/d0/f0.bin"), []byte("new content"), 0o644) }},
		{"a large file renamed", func() error { return os.Rename(filepath.Join(a, largest), filepath.Join(a, "renamed.bin")) }},
		{"a new 1 KB file", func() error { return os.WriteFile(filepath.Join(a, "note.txt"), make([]byte, 1024), 0o644) }},
	}
	fmt.Fprintf(out, "\nsmall edits (chunk bytes; records travel on the websocket):\n")
	fmt.Fprintf(out, "  %-40s %12s %12s\n", "edit", "sent up", "b received")
	for _, e := range edits {
		if err := e.do(); err != nil {
			return err
		}
		u0, d0 := upBytes.Load(), fb.Stats().BytesReceived
		if err := fa.Once(ctx); err != nil {
			return err
		}
		if err := fb.Once(ctx); err != nil {
			return err
		}
		fmt.Fprintf(out, "  %-40s %12d %12d\n", e.name, upBytes.Load()-u0, fb.Stats().BytesReceived-d0)
	}
	if cfg.OneFile > 0 {
		return oneFile(ctx, cfg, a, fa, fb, &upBytes, out)
	}
	return nil
}

// oneFile adds one file of cfg.OneFile bytes and reports what a 1-byte
// change at three places in it sends.
func oneFile(ctx context.Context, cfg config, a string, fa, fb *folder.Folder, upBytes *atomic.Int64, out io.Writer) error {
	rng := rand.New(rand.NewPCG(cfg.Seed+1, cfg.Seed+1))
	if err := files.WriteRandom(filepath.Join(a, "one.bin"), cfg.OneFile, rng); err != nil {
		return err
	}
	start := time.Now()
	if err := fa.Once(ctx); err != nil {
		return err
	}
	if err := fb.Once(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "\none file of %.0f MB, synced a → b in %.1f s; then 1 byte changed:\n", float64(cfg.OneFile)/1e6, time.Since(start).Seconds())
	fmt.Fprintf(out, "  %-40s %12s %12s\n", "at", "sent up", "b received")
	for _, at := range []float64{0.5, 0.1, 0.999} {
		if err := flip(filepath.Join(a, "one.bin"), at); err != nil {
			return err
		}
		u0, d0 := upBytes.Load(), fb.Stats().BytesReceived
		if err := fa.Once(ctx); err != nil {
			return err
		}
		if err := fb.Once(ctx); err != nil {
			return err
		}
		fmt.Fprintf(out, "  %-40s %12d %12d\n", fmt.Sprintf("%.1f%% of the way", 100*at), upBytes.Load()-u0, fb.Stats().BytesReceived-d0)
	}
	return nil
}

func largestFile(dir string) string {
	var best string
	var size int64
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() && info.Size() > size && !strings.Contains(p, "/.synk/") {
			best, size = p, info.Size()
		}
		return nil
	})
	rel, _ := filepath.Rel(dir, best)
	return rel
}

func flip(name string, at float64) error {
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	off := int64(at * float64(info.Size()))
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		return err
	}
	b[0] ^= 0xff
	_, err = f.WriteAt(b, off)
	return err
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

// startNATS runs an embedded NATS server with JetStream (its store in
// dir) on a free loopback port.
func startNATS(dir string) (*natsserver.Server, error) {
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true,
		JetStream: true, StoreDir: dir})
	if err != nil {
		return nil, err
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("NATS did not start")
	}
	return ns, nil
}
