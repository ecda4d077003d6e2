package folder

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/synkhq/synk/client"
	"github.com/synkhq/synk/server"
	"github.com/synkhq/synk/server/auth"
)

// hub is a real server on loopback, counting the chunk bytes uploaded to
// it and downloaded from it, as they go on the wire (packs with their
// headers).
type hub struct {
	srv      *server.Server
	url      string
	putBytes atomic.Int64 // request bodies of chunk uploads
	puts     atomic.Int64 // chunk upload requests
	getBytes atomic.Int64 // answers to chunk downloads
}

// counted counts the bytes written through it.
type counted struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c counted) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n.Add(int64(n))
	return n, err
}

func startHub(t testing.TB) *hub {
	t.Helper()
	return startHubWith(t, &server.Options{DataDir: t.TempDir()})
}

// startHubWith is startHub for a server with opts.
func startHubWith(t testing.TB, opts *server.Options) *hub {
	t.Helper()
	opts.Logger = slog.New(slog.DiscardHandler)
	s, err := server.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	h := &hub{srv: s}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "PUT" && strings.Contains(r.URL.Path, "/chunks/"), strings.HasSuffix(r.URL.Path, "/chunks/put"):
			h.puts.Add(1)
			h.putBytes.Add(r.ContentLength)
		case r.Method == "GET" && strings.Contains(r.URL.Path, "/chunks/"), strings.HasSuffix(r.URL.Path, "/chunks/get"):
			w = counted{w, &h.getBytes}
		}
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	h.url = "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"
	return h
}

// framesSent reads the server's count of websocket frames sent.
func (h *hub) framesSent(t testing.TB) int {
	t.Helper()
	w := httptest.NewRecorder()
	h.srv.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range strings.Split(w.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "synk_frames_sent_total "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return int(n)
		}
	}
	t.Fatal("no synk_frames_sent_total in /metrics")
	return 0
}

// device opens a folder in dir and closes it at the end of the test.
func device(t testing.TB, h *hub, dir, name string, with ...func(*Options)) *Folder {
	t.Helper()
	return deviceAt(t, h.url, dir, name, with...)
}

// deviceAt is device through the server at url.
func deviceAt(t testing.TB, url, dir, name string, with ...func(*Options)) *Folder {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	if d := os.Getenv("FOLDER_DEBUG"); d != "" { // a directory for the logs, one file a test
		w, err := os.OpenFile(filepath.Join(d, strings.ReplaceAll(t.Name(), "/", "_")+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.Close() })
		log = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})).With("dev", name)
	}
	opts := Options{Dir: dir, Room: "photos", Server: url, Device: name, Logger: log}
	for _, w := range with {
		w(&opts)
	}
	f, err := Open(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func once(t testing.TB, fs ...*Folder) {
	t.Helper()
	for _, f := range fs {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		err := f.Once(ctx)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", f.Device(), err)
		}
	}
}

// tree describes a folder: each path with "dir", or whether it is
// executable (the one permission bit synced) and its content hash.
// Synk's own state is left out.
func tree(t testing.TB, root string) map[string]string {
	t.Helper()
	out := make(map[string]string)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		switch {
		case rel == ".":
			return nil
		case rel == stateDir:
			return filepath.SkipDir
		case d.IsDir():
			out[rel] = "dir"
			return nil
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			out[rel] = "link " + target
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, _ := d.Info()
		out[rel] = fmt.Sprintf("exec=%v %x", info.Mode()&0o100 != 0, sha256.Sum256(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTrees(t testing.TB, dirs ...string) {
	t.Helper()
	want := tree(t, dirs[0])
	for _, d := range dirs[1:] {
		if got := tree(t, d); !maps.Equal(got, want) {
			t.Fatalf("%s and %s differ:\n%s", dirs[0], d, diffTrees(want, got))
		}
	}
}

func diffTrees(a, b map[string]string) string {
	var s strings.Builder
	for _, p := range slices.Sorted(maps.Keys(a)) {
		if b[p] != a[p] {
			fmt.Fprintf(&s, "  %s: %q vs %q\n", p, a[p], b[p])
		}
	}
	for _, p := range slices.Sorted(maps.Keys(b)) {
		if _, ok := a[p]; !ok {
			fmt.Fprintf(&s, "  %s: missing vs %q\n", p, b[p])
		}
	}
	return s.String()
}

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func write(t testing.TB, root, p string, data []byte) {
	t.Helper()
	full := filepath.Join(root, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFolder_basics(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	a, b := t.TempDir(), t.TempDir()
	write(t, a, "notes.txt", []byte("hello"))
	write(t, a, "deep/er/still/file.bin", randomBytes(3<<20, 1))
	write(t, a, "run.sh", []byte("#!/bin/sh\n"))
	os.Chmod(filepath.Join(a, "run.sh"), 0o755)
	os.MkdirAll(filepath.Join(a, "empty/inner"), 0o755)
	write(t, a, "blank", nil)
	fa, fb := device(t, h, a, "a"), device(t, h, b, "b")
	once(t, fa, fb)
	sameTrees(t, a, b)

	// Modify, delete, rename, remove a directory, on b this time.
	write(t, b, "notes.txt", []byte("hello, world"))
	os.Remove(filepath.Join(b, "blank"))
	sent := fb.Stats().BytesSent
	if err := os.Rename(filepath.Join(b, "deep/er/still/file.bin"), filepath.Join(b, "moved.bin")); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(b, "empty"))
	once(t, fb, fa)
	sameTrees(t, a, b)
	if got := fb.Stats().BytesSent - sent; got > 100 {
		t.Errorf("a rename sent %d chunk bytes: its chunks were on the server already", got)
	}
	if _, err := os.Stat(filepath.Join(a, "empty")); !os.IsNotExist(err) {
		t.Errorf("the removed directory is still on a: %v", err)
	}
}

// TestFolder_dirModes: a directory's permissions travel (group's and
// others' read and enter), a change of them alone too, both ways; what
// would lock the owner out or let others write is not applied.
func TestFolder_dirModes(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	a, b := t.TempDir(), t.TempDir()
	for _, d := range []string{"private", "shared", "team/inner"} {
		if err := os.MkdirAll(filepath.Join(a, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, a, "private/key", []byte("k"))
	chmod := func(root, p string, m fs.FileMode) {
		t.Helper()
		if err := os.Chmod(filepath.Join(root, p), m); err != nil {
			t.Fatal(err)
		}
	}
	modes := func(root string, want map[string]fs.FileMode) {
		t.Helper()
		for p, m := range want {
			info, err := os.Stat(filepath.Join(root, p))
			if err != nil {
				t.Fatal(err)
			}
			if got := info.Mode().Perm(); got != m {
				t.Errorf("%s/%s has mode %v, want %v", filepath.Base(root), p, got, m)
			}
		}
	}
	chmod(a, "private", 0o700)
	chmod(a, "team", 0o750)
	fa, fb := device(t, h, a, "a"), device(t, h, b, "b")
	once(t, fa, fb)
	sameTrees(t, a, b)
	modes(b, map[string]fs.FileMode{"private": 0o700, "team": 0o750, "shared": 0o755, "team/inner": 0o755})

	// A change of mode alone, on b; then on a one that would lock the
	// owner out and let others write: b gets rwx for the owner, no write
	// for others.
	chmod(b, "shared", 0o711)
	once(t, fb, fa)
	modes(a, map[string]fs.FileMode{"shared": 0o711})
	chmod(a, "team/inner", 0o077)
	once(t, fa, fb)
	modes(b, map[string]fs.FileMode{"team/inner": 0o755})
	chmod(a, "team/inner", 0o755)
	sameTrees(t, a, b)
}

// TestFolder_oneByteIn100MB: a 1-byte change in a 100 MB file sends one
// small chunk and the lists that name it, at most 64 KB on the wire each
// way (issue 22.1; it was a 4.8 MB chunk before), counted at the server.
func TestFolder_oneByteIn100MB(t *testing.T) {
	if testing.Short() {
		t.Skip("100 MB")
	}
	t.Parallel()
	h := startHub(t)
	a, b := t.TempDir(), t.TempDir()
	data := randomBytes(100<<20, 3)
	write(t, a, "big.bin", data)
	fa, fb := device(t, h, a, "a"), device(t, h, b, "b")
	var progress lockedBuffer
	fa.opts.Progress = &progress
	once(t, fa, fb)
	if out := progress.String(); !strings.Contains(out, "↑ big.bin") || !strings.Contains(out, "100%") {
		t.Errorf("no progress bar for a 100 MB upload: %q", out)
	}
	if sent, n := h.putBytes.Load(), int64(len(data)); sent < n || sent > n+n/100 {
		t.Fatalf("the first sync sent %d bytes of packs, want %d and at most 1%% more", sent, n)
	}
	for _, at := range []int{len(data) / 2, 12345, len(data) - 7} {
		data[at] ^= 1
		write(t, a, "big.bin", data)
		up, down, before := h.putBytes.Load(), h.getBytes.Load(), fb.Stats()
		once(t, fa, fb)
		sameTrees(t, a, b)
		sent, got := h.putBytes.Load()-up, h.getBytes.Load()-down
		after := fb.Stats()
		t.Logf("a 1-byte change at %d in 100 MB: %d bytes up, %d down (%d chunks)", at, sent, got, after.ChunksReceived-before.ChunksReceived)
		if sent > 64<<10 || got > 64<<10 {
			t.Errorf("a 1-byte change at %d sent %d bytes up and %d down, want at most 64 KB each", at, sent, got)
		}
	}
}

func TestFolder_conflict(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	a, b := t.TempDir(), t.TempDir()
	write(t, a, "doc/report.txt", []byte("v1"))
	fa, fb := device(t, h, a, "laptop"), device(t, h, b, "desk")
	once(t, fa, fb)
	write(t, a, "doc/report.txt", []byte("laptop's edit"))
	write(t, b, "doc/report.txt", []byte("desk's edit, longer"))
	once(t, fa, fb, fa)
	sameTrees(t, a, b)
	got, _ := os.ReadFile(filepath.Join(b, "doc/report.txt"))
	if string(got) != "laptop's edit" {
		t.Fatalf("report.txt = %q, want the first write's", got)
	}
	copies, _ := filepath.Glob(filepath.Join(b, "doc/report.synk-conflict-desk-*.txt"))
	if len(copies) != 1 {
		t.Fatalf("conflict copies: %v", copies)
	}
	if c, _ := os.ReadFile(copies[0]); string(c) != "desk's edit, longer" {
		t.Fatalf("the conflict copy holds %q", c)
	}
}

// TestFolder_offline: a device that was away gets what it missed from the
// change log and sends its own offline edits.
func TestFolder_offline(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	a, b := t.TempDir(), t.TempDir()
	write(t, a, "keep.txt", []byte("1"))
	write(t, a, "gone.txt", []byte("2"))
	for i := range 40 { // unchanged while b is away: b must not hear of them again
		write(t, a, fmt.Sprintf("old/%d.txt", i), []byte{byte(i)})
	}
	fa, fb := device(t, h, a, "a"), device(t, h, b, "b")
	once(t, fa, fb)
	fb.Close()

	write(t, a, "new-on-a.txt", []byte("3"))
	os.Remove(filepath.Join(a, "gone.txt"))
	once(t, fa)
	write(t, b, "new-on-b.txt", []byte("4")) // while b is offline
	write(t, b, "keep.txt", []byte("changed on b"))

	sent := h.framesSent(t)
	fb = device(t, h, b, "b")
	once(t, fb)
	// From the change log: new-on-a.txt and gone.txt, b's own two writes
	// (to b and to a), and the answers; a snapshot alone is 44 records.
	if n := h.framesSent(t) - sent; n > 20 {
		t.Errorf("the server sent %d frames for b's return, want only what b missed", n)
	} else {
		t.Logf("the server sent %d frames for b's return", n)
	}
	once(t, fa)
	sameTrees(t, a, b)
	want := map[string]string{"keep.txt": "changed on b", "new-on-a.txt": "3", "new-on-b.txt": "4"}
	for p, w := range want {
		if got, _ := os.ReadFile(filepath.Join(a, p)); string(got) != w {
			t.Errorf("%s = %q, want %q", p, got, w)
		}
	}
	if _, err := os.Stat(filepath.Join(b, "gone.txt")); !os.IsNotExist(err) {
		t.Error("gone.txt is back")
	}
}

func TestFolder_ignore(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	a, b := t.TempDir(), t.TempDir()
	write(t, a, IgnoreFile, []byte("*.tmp\nbuild/\n!keep.tmp\n"))
	write(t, a, "x.tmp", []byte("no"))
	write(t, a, "keep.tmp", []byte("yes"))
	write(t, a, "build/out.o", []byte("no"))
	write(t, a, "src/main.go", []byte("yes"))
	fa, fb := device(t, h, a, "a"), device(t, h, b, "b")
	once(t, fa, fb)
	got := slices.Sorted(maps.Keys(tree(t, b)))
	if want := []string{IgnoreFile, "keep.tmp", "src", "src/main.go"}; !slices.Equal(got, want) {
		t.Fatalf("b holds %v, want %v", got, want)
	}
}

// TestFolder_changedWhileRead: a file that changes between its split and
// its upload is not sent half old, half new: the pass fails that path.
func TestFolder_changedWhileRead(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	a := t.TempDir()
	data := randomBytes(4<<20, 9)
	write(t, a, "f.bin", data)
	fa := device(t, h, a, "a")
	c, err := readContent(filepath.Join(a, "f.bin"))
	if err != nil {
		t.Fatal(err)
	}
	data[3<<20] ^= 1
	write(t, a, "f.bin", data)
	ps := &passState{f: fa}
	if err := ps.upload(t.Context(), "f.bin", c, &record{Path: "f.bin"}); err != errChanging {
		t.Fatalf("upload of a changed file = %v, want errChanging", err)
	}
	once(t, fa) // the next pass reads it again and sends it
	if len(fa.room.Objects()) != 1 {
		t.Fatal("the file was not sent after it settled")
	}
}

func TestDecodeRecord_paths(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"../etc/passwd", "/etc/passwd", "a/../../b", ".synk/index", "a/.synk-tmp-1", "", ".", "a//b", `a\b`} {
		if checkPath(p) == nil {
			t.Errorf("checkPath(%q) accepted", p)
		}
	}
	for _, p := range []string{"a", "a/b.txt", ".synkignore", "x/.synk/y", "日本/語"} {
		if err := checkPath(p); err != nil {
			t.Errorf("checkPath(%q) = %v", p, err)
		}
	}
}

func TestConflictName(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 23, 21, 54, 30, 0, time.UTC)
	root := t.TempDir()
	for p, want := range map[string]string{
		"report.txt":       "report.synk-conflict-desk-20261123-215430.txt",
		"d/.bashrc":        "d/.bashrc.synk-conflict-desk-20261123-215430",
		"d/archive.tar.gz": "d/archive.tar.synk-conflict-desk-20261123-215430.gz",
	} {
		if got, err := conflictName(root, p, "desk", at); err != nil || got != want {
			t.Errorf("conflictName(%q) = %q, %v; want %q", p, got, err, want)
		}
	}
	write(t, root, "report.synk-conflict-desk-20261123-215430.txt", nil)
	if got, _ := conflictName(root, "report.txt", "desk", at); got != "report.synk-conflict-desk-20261123-215430-2.txt" {
		t.Errorf("taken name: got %q", got)
	}
}

// TestFolder_run: running devices see each other's changes as they happen
// (fsnotify here, the room there), nested directories made after the
// start included.
func TestFolder_run(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	a, b := t.TempDir(), t.TempDir()
	fa, fb := device(t, h, a, "a"), device(t, h, b, "b")
	passed := make(chan struct{})
	fb.passed = passed
	ctx, cancel := context.WithCancel(t.Context())
	errs := make(chan error, 2)
	for _, f := range []*Folder{fa, fb} {
		go func() { errs <- f.Run(ctx) }()
	}
	defer func() {
		cancel()
		for range 2 {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
	}()
	// until waits for b's passes until cond holds.
	until := func(what string, cond func() bool) {
		t.Helper()
		timeout := time.NewTimer(30 * time.Second)
		defer timeout.Stop()
		for !cond() {
			select {
			case <-passed:
			case <-timeout.C:
				t.Fatalf("b never got %s: %v", what, tree(t, b))
			}
		}
	}
	<-passed // b's first pass, at start
	write(t, a, "x.txt", []byte("one"))
	until("x.txt", func() bool { return tree(t, b)["x.txt"] == tree(t, a)["x.txt"] })
	os.MkdirAll(filepath.Join(a, "new/dir"), 0o755)
	write(t, a, "new/dir/y.txt", []byte("two")) // in a directory watched only since now
	until("new/dir/y.txt", func() bool { _, ok := tree(t, b)["new/dir/y.txt"]; return ok })
	os.Remove(filepath.Join(a, "x.txt"))
	until("x.txt's deletion", func() bool { _, ok := tree(t, b)["x.txt"]; return !ok })
}

// TestFolder_noWriteThroughLinks: a record under a path that is a
// symbolic link on this device is not written through it.
func TestFolder_noWriteThroughLinks(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	a, b, outside := t.TempDir(), t.TempDir(), t.TempDir()
	write(t, a, "docs/x.txt", []byte("x"))
	if err := os.Symlink(outside, filepath.Join(b, "docs")); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	fa, fb := device(t, h, a, "a"), device(t, h, b, "b")
	once(t, fa)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := fb.Once(ctx); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("Once = %v, want an error about docs", err)
	}
	once(t, fa) // the room keeps docs: b left its link and the room alone
	if got := tree(t, a)["docs/x.txt"]; got == "" {
		t.Fatal("docs/x.txt is gone from a")
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Fatalf("written outside the folder: %v", ents)
	}
}

// TestFolder_auth: with auth on, a device syncs with a token of its own
// (its subject names the device); a token that may only read gets a clear
// refusal of its upload and changes nothing.
func TestFolder_auth(t *testing.T) {
	t.Parallel()
	key := []byte("0123456789abcdef0123456789abcdef")
	verifier, err := auth.New(key)
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(&server.Options{Auth: verifier, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	defer func() {
		hs.Close()
		s.Shutdown(context.Background())
	}()
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"
	token := func(sub string, caps ...auth.Capability) string {
		tok, err := auth.Mint(key, auth.Claims{Rooms: map[string][]auth.Capability{"photos": caps},
			RegisteredClaims: jwt.RegisteredClaims{Subject: sub, ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	open := func(dir, tok string) *Folder {
		f, err := Open(t.Context(), Options{Dir: dir, Room: "photos", Server: url, Token: tok, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	a, b := t.TempDir(), t.TempDir()
	write(t, a, "x.txt", []byte("x"))
	fa := open(a, token("laptop", auth.CapPresence, auth.CapRead, auth.CapWrite))
	if fa.Device() != "laptop" {
		t.Errorf("device = %q, want the token's subject", fa.Device())
	}
	once(t, fa)
	write(t, b, "y.txt", []byte("y"))
	fb := open(b, token("viewer", auth.CapPresence, auth.CapRead))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := fb.Once(ctx); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("a read-only device's Once = %v, want a 403 for its upload", err)
	}
	if got, _ := os.ReadFile(filepath.Join(b, "x.txt")); string(got) != "x" {
		t.Fatalf("the read-only device did not receive x.txt: %q", got)
	}
	if len(fa.room.Objects()) != 1 {
		t.Fatalf("the room holds %d files, want 1", len(fa.room.Objects()))
	}
}

// TestFolder_kindChange: a file that becomes a directory (and back) on
// one device does so on the other; a file made where the other device made
// a directory of the same name becomes a conflict copy.
func TestFolder_kindChange(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	a, b := t.TempDir(), t.TempDir()
	write(t, a, "x", []byte("a file"))
	fa, fb := device(t, h, a, "a"), device(t, h, b, "b")
	once(t, fa, fb)
	os.Remove(filepath.Join(a, "x"))
	write(t, a, "x/inside.txt", []byte("now a directory"))
	os.Chmod(filepath.Join(a, "x/inside.txt"), 0o700)
	once(t, fa, fb)
	sameTrees(t, a, b)
	os.RemoveAll(filepath.Join(b, "x"))
	write(t, b, "x", []byte("a file again"))
	once(t, fb, fa)
	sameTrees(t, a, b)

	write(t, a, "y/z.txt", []byte("dir on a"))
	write(t, b, "y", []byte("file on b"))
	once(t, fa, fb, fa)
	sameTrees(t, a, b)
	if got := tree(t, b); got["y"] != "dir" || len(slices.Collect(func(yield func(string) bool) {
		for p := range got {
			if strings.HasPrefix(p, "y.synk-conflict-b-") && !yield(p) {
				return
			}
		}
	})) != 1 {
		t.Fatalf("want y a directory and one conflict copy of b's file: %v", got)
	}
}

// TestFolder_renameOrder: a file renamed here reaches the room as its new
// path first, its old path's deletion last, so a device that acts on each
// change as it comes makes the new path from the old file instead of
// downloading it (the old one's deletion first left it nothing to take
// the chunks from: 270 MB for a 256 MB rename, bench/syncthing).
func TestFolder_renameOrder(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	a := t.TempDir()
	write(t, a, "aaa/old.bin", randomBytes(1<<20, 5))
	write(t, a, "other.txt", []byte("x"))
	fa := device(t, h, a, "a")
	once(t, fa)
	watch, err := client.Dial(t.Context(), h.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	room, err := watch.Join(t.Context(), "photos", &client.JoinOptions{Observer: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := room.Subscribe(t.Context(), []string{Area}, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(a, "aaa/old.bin"), filepath.Join(a, "zzz.bin")); err != nil {
		t.Fatal(err)
	}
	once(t, fa)
	var order []string
	timeout := time.After(30 * time.Second)
	for len(order) < 2 {
		select {
		case ev := <-watch.Events():
			switch {
			case ev.Kind == client.EventObjectPut && ev.Object == objectID("zzz.bin"):
				order = append(order, "new")
			case ev.Kind == client.EventObjectDelete && ev.Object == objectID("aaa/old.bin"):
				order = append(order, "old gone")
			}
		case <-timeout:
			t.Fatalf("events so far: %v", order)
		}
	}
	if order[0] != "new" {
		t.Errorf("the room got %v: the old path's deletion before the new path", order)
	}
}

// TestFolder_runWhileBusy: a running device passes while another keeps
// sending changes, at most a second after the first, instead of waiting
// for the changes to stop (the initial sync of 3,000 files downloaded
// nothing until the last was uploaded).
func TestFolder_runWhileBusy(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	a, b := t.TempDir(), t.TempDir()
	fa, fb := device(t, h, a, "a"), device(t, h, b, "b")
	passed := make(chan struct{})
	fb.passed = passed
	ctx, cancel := context.WithCancel(t.Context())
	errs := make(chan error, 1)
	go func() { errs <- fb.Run(ctx) }()
	var passes atomic.Int64
	drained := make(chan struct{})
	<-passed // the first pass, at start
	go func() {
		defer close(drained)
		for {
			select {
			case <-passed:
				passes.Add(1)
			case <-ctx.Done():
				return
			}
		}
	}()
	defer func() {
		cancel()
		<-drained
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}()
	// Changes at a pace faster than the 200 ms b waits for quiet, for
	// 2.5 s (bounded: at most 500 of them).
	start := time.Now()
	for i := 0; i < 500 && time.Since(start) < 2500*time.Millisecond; i++ {
		write(t, a, fmt.Sprintf("f%03d.txt", i), []byte("x"))
		once(t, fa)
		if passes.Load() > 0 {
			return
		}
	}
	t.Fatalf("b passed %d times while a sent changes for %v", passes.Load(), time.Since(start))
}

// TestFolder_renamedNotSplit: a new file that looks like one gone from
// its old path (size and time to the nanosecond) takes the old one's
// chunks only if its own first and last chunks match: another content
// with the same size and time is split and synced as what it is.
func TestFolder_renamedNotSplit(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	a, b := t.TempDir(), t.TempDir()
	old := randomBytes(1<<20, 7)
	write(t, a, "x.bin", old)
	write(t, a, "keep.bin", randomBytes(300<<10, 8))
	hourAgo := time.Now().Add(-time.Hour) // entries keep times older than racyWindow
	for _, p := range []string{"x.bin", "keep.bin"} {
		if err := os.Chtimes(filepath.Join(a, p), hourAgo, hourAgo.Add(time.Duration(len(p)))); err != nil {
			t.Fatal(err)
		}
	}
	fa, fb := device(t, h, a, "a"), device(t, h, b, "b")
	once(t, fa, fb)
	info, err := os.Stat(filepath.Join(a, "x.bin"))
	if err != nil {
		t.Fatal(err)
	}
	// A true move, and a lookalike: keep.bin's size, time and another content.
	if err := os.Rename(filepath.Join(a, "x.bin"), filepath.Join(a, "moved/x.bin")); err != nil {
		os.MkdirAll(filepath.Join(a, "moved"), 0o755)
		if err := os.Rename(filepath.Join(a, "x.bin"), filepath.Join(a, "moved/x.bin")); err != nil {
			t.Fatal(err)
		}
	}
	keep, err := os.Stat(filepath.Join(a, "keep.bin"))
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(a, "keep.bin"))
	other := randomBytes(300<<10, 9)
	write(t, a, "lookalike.bin", other)
	if err := os.Chtimes(filepath.Join(a, "lookalike.bin"), keep.ModTime(), keep.ModTime()); err != nil {
		t.Fatal(err)
	}
	once(t, fa, fb)
	sameTrees(t, a, b)
	recs := fb.records(ignorer{})
	if r := recs["moved/x.bin"]; r == nil || r.Hash != sha256.Sum256(old) || r.MTime != info.ModTime().UnixNano() {
		t.Errorf("moved/x.bin's record: %+v", r)
	}
	if r := recs["lookalike.bin"]; r == nil || r.Hash != sha256.Sum256(other) {
		t.Errorf("lookalike.bin's record names the content it looks like, not its own: %+v", r)
	}
}
