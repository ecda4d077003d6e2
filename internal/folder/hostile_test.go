package folder

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFolder_hostileRecords: a member of the room writes records that lie
// (issue 15.3 and 15.9). A victim device must not fill its disk with them,
// must not retry or log them on every pass, must not write under .synk in
// any case, and must not take a record's permission bits beyond the
// executable one.
func TestFolder_hostileRecords(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	a, b := t.TempDir(), t.TempDir()
	fa := device(t, h, a, "attacker")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	big := make([]byte, oldMaxChunk) // one real 8 MiB chunk, named over and over
	rand.Read(big)
	bigHash := sha256.Sum256(big)
	hello := []byte("hello")
	helloHash := sha256.Sum256(hello)
	list := bytes.Repeat(bigHash[:], oldMaxChunk/32) // 262,144 × 8 MiB: "2 TiB"
	listHash := sha256.Sum256(list)
	for _, c := range [][]byte{big, hello, list} {
		if err := fa.chunks.upload(ctx, sha256.Sum256(c), c); err != nil {
			t.Fatal(err)
		}
	}
	put := func(r record) {
		t.Helper()
		if _, err := fa.room.Create(ctx, objectID(r.Path), KindFile, Area, r.fields()); err != nil {
			t.Fatal(err)
		}
	}
	put(record{Path: "inline-bomb", Mode: 0o644, Size: 5, Hash: helloHash, Chunks: bytes.Repeat(bigHash[:], inlineChunks)})
	put(record{Path: "list-bomb", Mode: 0o644, Size: 5, Hash: helloHash, List: listHash[:]})
	put(record{Path: "liar", Mode: 0o644, Size: oldMinChunk + 1, Hash: helloHash, Chunks: bytes.Repeat(bigHash[:], 2)})
	put(record{Path: ".SYNK/index", Mode: 0o644, Size: 5, Hash: helloHash, Chunks: helloHash[:]})
	put(record{Path: "unreadable", Mode: 0, Size: 5, Hash: helloHash, Chunks: helloHash[:]})
	put(record{Path: "tool", Mode: 0o700, Size: 5, Hash: helloHash, Chunks: helloHash[:]})

	var logs lockedBuffer
	fb, err := Open(t.Context(), Options{Dir: b, Room: "photos", Server: h.url, Device: "victim",
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fb.Close() })
	once(t, fb)
	received := fb.Stats().BytesReceived
	once(t, fb)
	once(t, fb)
	if got := fb.Stats().BytesReceived; got != received {
		t.Errorf("later passes received %d more bytes: refused records were tried again", got-received)
	}
	if received > oldMaxChunk+64<<10 {
		t.Errorf("received %d bytes, want at most one big chunk and the small ones", received)
	}

	// Only the honest files are there, and nothing else on the disk.
	var used int64
	filepath.WalkDir(b, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && !strings.Contains(p, string(filepath.Separator)+stateDir+string(filepath.Separator)) {
			info, _ := d.Info()
			used += info.Size()
		}
		return err
	})
	if used != 10 {
		t.Errorf("the victim's folder holds %d bytes, want 10 (two files of 5)", used)
	}
	for _, p := range []string{"inline-bomb", "list-bomb", "liar", ".SYNK"} {
		if _, err := os.Lstat(filepath.Join(b, p)); err == nil {
			t.Errorf("%s was made", p)
		}
	}
	for p, want := range map[string]fs.FileMode{"unreadable": 0o644, "tool": 0o755} {
		info, err := os.Stat(filepath.Join(b, p))
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s has mode %v, want %v: only the executable bit is taken", p, got, want)
		}
	}
	if n := strings.Count(logs.String(), "ignored until it changes"); n != 4 {
		t.Errorf("%d warnings about refused records over three passes, want 4 (one each):\n%s", n, logs.String())
	}
}

// TestPlausible: the chunk counts that can make a size.
func TestPlausible(t *testing.T) {
	t.Parallel()
	tests := []struct {
		size int64
		n    int
		ok   bool
	}{
		{0, 0, true}, {0, 1, false}, {5, 0, false}, {5, 1, true}, {5, 2, false},
		{oldMinChunk + 1, 2, true}, {oldMaxChunk, 1, true}, {oldMaxChunk + 1, 1, false},
		{5, 256, false}, {100 << 20, 13, true},
	}
	for _, tt := range tests {
		if err := plausible(tt.size, tt.n, 0); (err == nil) != tt.ok {
			t.Errorf("plausible(%d, %d) = %v, want ok %v", tt.size, tt.n, err, tt.ok)
		}
	}
}

// Test_reserved: synk's own names, in any case.
func Test_reserved(t *testing.T) {
	t.Parallel()
	for p, want := range map[string]bool{".synk": true, ".SYNK/index": true, ".Synk/x": true, "a/" + tmpPrefix + "x": true,
		"a/" + strings.ToUpper(tmpPrefix) + "x": true, "synk": false, "a/.synkignore": false} {
		if got := reserved(p); got != want {
			t.Errorf("reserved(%q) = %v, want %v", p, got, want)
		}
	}
}
