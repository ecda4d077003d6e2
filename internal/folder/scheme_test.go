package folder

import (
	"bytes"
	"context"
	"crypto/sha256"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/synkhq/synk/internal/chunkref"
)

// TestFolder_oldRecords: records written before small chunks (chunks of
// 512 KiB to 8 MiB, inline or in one flat list, no field x) still sync,
// and a change to such a file goes out in small chunks.
func TestFolder_oldRecords(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	a, b := t.TempDir(), t.TempDir()
	fa := device(t, h, a, "old")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	publish := func(p string, content []byte, chunks [][]byte) {
		t.Helper()
		var hashes []byte
		for _, c := range chunks {
			sum := sha256.Sum256(c)
			if err := fa.chunks.upload(ctx, sum, c); err != nil {
				t.Fatal(err)
			}
			hashes = append(hashes, sum[:]...)
		}
		r := record{Path: p, Mode: 0o644, Size: int64(len(content)), MTime: time.Now().UnixNano(), Hash: sha256.Sum256(content)}
		if len(chunks) <= inlineChunks {
			r.Chunks = hashes
		} else {
			list := sha256.Sum256(hashes)
			if err := fa.chunks.upload(ctx, list, hashes); err != nil {
				t.Fatal(err)
			}
			r.List = list[:]
		}
		if _, has := r.fields()[chunkref.FileTreeDepth]; has {
			t.Fatal("an old record with field x")
		}
		if _, err := fa.room.Create(ctx, objectID(p), KindFile, Area, r.fields()); err != nil {
			t.Fatal(err)
		}
	}
	x, y, z := randomBytes(600<<10, 1), randomBytes(700<<10, 2), randomBytes(100<<10, 3)
	inline := bytes.Join([][]byte{x, y, z}, nil)
	publish("inline.bin", inline, [][]byte{x, y, z})
	block := randomBytes(oldMinChunk, 4)
	blocks := make([][]byte, inlineChunks+1)
	for i := range blocks {
		blocks[i] = block
	}
	listed := bytes.Repeat(block, len(blocks)) // 128.5 MiB through a flat list
	publish("listed.bin", listed, blocks)

	fb := device(t, h, b, "new")
	once(t, fb)
	for p, want := range map[string][]byte{"inline.bin": inline, "listed.bin": listed} {
		if got, err := os.ReadFile(filepath.Join(b, p)); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: %d bytes, %v; want the old record's %d", p, len(got), err, len(want))
		}
	}
	// A change on the new device goes out in small chunks, and the old
	// device's folder takes it.
	inline[5] ^= 1
	write(t, b, "inline.bin", inline)
	once(t, fb)
	r := fb.records(ignorer{})["inline.bin"]
	if r == nil || r.Scheme != smallChunks || len(r.Chunks)/32 < 10 {
		t.Fatalf("the changed file's record: %+v, want small chunks", r)
	}
	once(t, fa, fb)
	sameTrees(t, a, b)
}

// TestFolder_hostileTrees: a member writes records whose trees of lists
// lie: too deep, lists that are not lists, more chunks than the size
// allows, a tree that fans out far beyond it. A victim device refuses each
// once, fetches no more lists than the size could need, and writes none.
func TestFolder_hostileTrees(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	a, b := t.TempDir(), t.TempDir()
	fa := device(t, h, a, "attacker")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	up := func(data []byte) [32]byte {
		t.Helper()
		sum := sha256.Sum256(data)
		if err := fa.chunks.upload(ctx, sum, data); err != nil {
			t.Fatal(err)
		}
		return sum
	}
	chunk := up(randomBytes(MaxChunk, 9))
	full := up(bytes.Repeat(chunk[:], maxList)) // maxList × the same chunk
	wide := up(bytes.Repeat(full[:], maxList))  // maxList × maxList of them
	ragged := up(append(chunk[:], 1))
	const size = 3 << 20
	put := func(p string, depth uint8, list [32]byte, inline []byte) {
		t.Helper()
		r := record{Path: p, Mode: 0o644, Size: size, Hash: sha256.Sum256([]byte(p)), Scheme: smallChunks, Depth: depth, Chunks: inline}
		if inline == nil {
			r.List = list[:]
		}
		if _, err := fa.room.Create(ctx, objectID(p), KindFile, Area, r.fields()); err != nil {
			t.Fatal(err)
		}
	}
	put("too-many", 1, full, nil)           // 512 chunks cannot make 3 MiB: refused once the list is read
	put("fan-out", 2, wide, nil)            // 262,144 chunks: stopped past the budget
	put("ragged", 1, ragged, nil)           // 33 bytes are no list
	put("too-deep", 7, full, nil)           // refused as it is decoded
	put("no-tree", 2, [32]byte{}, chunk[:]) // a depth without a list

	var logs lockedBuffer
	fb, err := Open(t.Context(), Options{Dir: b, Room: "photos", Server: h.url, Device: "victim",
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fb.Close() })
	before := h.getBytes.Load()
	once(t, fb)
	got := h.getBytes.Load() - before
	once(t, fb)
	once(t, fb)
	if again := h.getBytes.Load() - before - got; again != 0 {
		t.Errorf("later passes fetched %d more bytes: refused records were tried again", again)
	}
	// The lists read: full (8 KiB) for too-many, wide (8 KiB) and at most
	// a few of its 8 KiB lists for fan-out (the budget of 3 MiB at depth 2
	// is 12.4 KiB), ragged's 33 bytes.
	if got > 64<<10 {
		t.Errorf("fetched %d bytes for records of 3 MiB that name 1 chunk: more lists than they could need", got)
	}
	for _, p := range []string{"too-many", "fan-out", "ragged", "too-deep", "no-tree"} {
		if _, err := os.Lstat(filepath.Join(b, p)); err == nil {
			t.Errorf("%s was made", p)
		}
	}
	if n := bytes.Count([]byte(logs.String()), []byte("ignored until it changes")); n != 5 {
		t.Errorf("%d warnings about refused records over three passes, want 5 (one each):\n%s", n, logs.String())
	}
}
