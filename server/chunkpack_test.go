//go:build !js

package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/synkhq/synk/internal/chunkpack"
	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// packOf makes a pack of chunks; a nil chunk is a missing one.
func packOf(chunks ...[]byte) []byte {
	var b []byte
	for _, c := range chunks {
		if c == nil {
			b = chunkpack.AppendHeader(b, [32]byte{1}, -1)
			continue
		}
		b = append(chunkpack.AppendHeader(b, sha256.Sum256(c), len(c)), c...)
	}
	return b
}

// readPack reads an answer of chunks/get: each chunk's bytes, nil for a
// missing one.
func readPack(t *testing.T, body []byte, limit int) [][]byte {
	t.Helper()
	var out [][]byte
	r := chunkpack.NewReader(bytes.NewReader(body), limit)
	for {
		h, n, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if n < 0 {
			out = append(out, nil)
			continue
		}
		data, err := r.ReadBody(nil)
		if err != nil || sha256.Sum256(data) != h {
			t.Fatalf("chunk %x: %v", h[:4], err)
		}
		out = append(out, data)
	}
}

func hashesJSON(chunks ...[]byte) []byte {
	var req struct {
		Hashes []string `json:"hashes"`
	}
	for _, c := range chunks {
		req.Hashes = append(req.Hashes, hashOf(c))
	}
	b, _ := json.Marshal(req)
	return b
}

// TestChunks_pack: many chunks stored with one request and read with one,
// in memory and on disk; the answer names a missing chunk as such; on disk
// no temporary file is left, and a pack refused midway leaves neither
// files nor quota used.
func TestChunks_pack(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"", t.TempDir()} {
		name := map[bool]string{true: "memory", false: "disk"}[dir == ""]
		t.Run(name, func(t *testing.T) {
			_, hs := testServer(t, &Options{DataDir: dir, MaxChunk: 1 << 10, ChunkQuota: 3000})
			u := hs.URL + "/synk/photos/chunks/"
			a, b, c := bytes.Repeat([]byte("a"), 1000), bytes.Repeat([]byte("b"), 500), []byte("c")
			if code, body := rawDo(t, u+hashOf(c), "PUT", c, ""); code != 201 {
				t.Fatalf("PUT c = %d %s", code, body)
			}
			code, body := rawDo(t, u+"put", "POST", packOf(a, b, c, a), "")
			if code != 200 || string(body) != `{"created":2,"held":2}`+"\n" {
				t.Fatalf("put = %d %s, want 2 created and 2 held (c before, a twice)", code, body)
			}
			missing := []byte("never stored")
			code, body = rawDo(t, u+"get", "POST", hashesJSON(b, missing, a, c), "")
			if got := readPack(t, body, 1<<10); code != 200 || len(got) != 4 || !bytes.Equal(got[0], b) || got[1] != nil ||
				!bytes.Equal(got[2], a) || !bytes.Equal(got[3], c) {
				t.Fatalf("get = %d, %d chunks", code, len(got))
			}
			used := func() int64 { // bytes of chunks in place, on disk: in packs or files of their own
				var n int64
				filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
					if err == nil && !d.IsDir() && strings.Contains(p, "chunks") && !strings.HasSuffix(p, ".idx") {
						info, _ := d.Info()
						n += info.Size()
						if strings.HasPrefix(d.Name(), ".") {
							t.Errorf("a temporary file is left: %s", p)
						}
					}
					return nil
				})
				return n
			}
			stored := used()
			if dir != "" && (stored < 1501 || stored > 1501+3*chunkpack.HeaderSize+8) {
				t.Fatalf("disk holds %d bytes of chunks, want 1501 and their index", stored)
			}
			// Refused midway: a chunk that does not hash to its name, a
			// missing one, one over MaxChunk, one cut short, the quota.
			d, e := bytes.Repeat([]byte("d"), 900), bytes.Repeat([]byte("e"), 900)
			lying := append(chunkpack.AppendHeader(nil, sha256.Sum256([]byte("x")), 3), "abc"...)
			long := chunkpack.AppendHeader(nil, [32]byte{}, 2000)
			cut := packOf(e)
			for what, tc := range map[string]struct {
				body []byte
				code int
				says string
			}{
				"bad hash":  {append(packOf(d), lying...), 400, "does not hash"},
				"missing":   {packOf(d, nil), 400, "missing"},
				"too large": {append(packOf(d), long...), 413, "over the 1024-byte limit"},
				"cut":       {append(packOf(d), cut[:len(cut)-5]...), 400, "EOF"},
				"quota":     {packOf(d, e), 507, "quota"},
			} {
				code, body := rawDo(t, u+"put", "POST", tc.body, "")
				if code != tc.code || !strings.Contains(string(body), tc.says) {
					t.Errorf("%s: %d %s, want %d saying %q", what, code, body, tc.code, tc.says)
				}
			}
			if dir != "" && used() != stored {
				t.Errorf("after refused packs the disk holds %d bytes of chunks, want %d as before", used(), stored)
			}
			// The refusals kept no quota: 1,499 bytes are still free.
			f := bytes.Repeat([]byte("f"), 1000)
			if code, body := rawDo(t, u+"put", "POST", packOf(f), ""); code != 200 {
				t.Errorf("a pack within the quota after refusals = %d %s", code, body)
			}
		})
	}
}

// TestChunks_packLimits: a put of more chunks than a pack may hold, or of
// more bytes, is refused; a get's answer ends at its byte limit, and the
// client asks again for the rest.
func TestChunks_packLimits(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, &Options{})
	u := hs.URL + "/synk/photos/chunks/"
	many := make([][]byte, maxPackChunks+1)
	for i := range many {
		many[i] = []byte{byte(i)}
	}
	if code, body := rawDo(t, u+"put", "POST", packOf(many...), ""); code != 429 || !strings.Contains(string(body), "at most 4096 chunks") {
		t.Errorf("put of %d chunks = %d %s", len(many), code, body)
	}
	big := make([][]byte, 3)
	for i := range big {
		big[i] = bytes.Repeat([]byte{byte(i)}, 7<<20)
	}
	if code, body := rawDo(t, u+"put", "POST", packOf(big...), ""); code != 413 {
		t.Errorf("put of 21 MiB = %d %s, want 413", code, body)
	}
	for _, c := range big {
		if code, body := rawDo(t, u+"put", "POST", packOf(c), ""); code != 200 {
			t.Fatalf("put = %d %s", code, body)
		}
	}
	code, body := rawDo(t, u+"get", "POST", hashesJSON(big...), "")
	if got := readPack(t, body, 8<<20); code != 200 || len(got) != 2 {
		t.Fatalf("get of 21 MiB = %d with %d chunks, want the first 2 (16 MiB at most)", code, len(got))
	}
	var req struct {
		Hashes []string `json:"hashes"`
	}
	for range maxPackChunks + 1 {
		req.Hashes = append(req.Hashes, hex.EncodeToString(make([]byte, 32)))
	}
	b, _ := json.Marshal(req)
	if code, body := rawDo(t, u+"get", "POST", b, ""); code != 429 || !strings.Contains(string(body), "at most 4096") {
		t.Errorf("get of %d hashes = %d %s", len(req.Hashes), code, body)
	}
}

// TestChunks_packCollect: on disk, the chunks of a pack no file refers to
// are collected once older than the grace: a pack left without live
// chunks is removed, one left less than half live is written again with
// the live ones, which stay readable, also by a server started again on
// the same directory; a pack a crash left without its index goes.
func TestChunks_packCollect(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := New(&Options{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	u := hs.URL + "/synk/photos/chunks/"
	chunk := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 1000+i) }
	var all [][]byte
	for i := range 10 {
		all = append(all, chunk(i))
	}
	for _, p := range [][][]byte{all[:4], all[4:8], all[8:]} { // three packs
		if code, body := rawDo(t, u+"put", "POST", packOf(p...), ""); code != 200 {
			t.Fatalf("put = %d %s", code, body)
		}
	}
	packs := func() []string {
		ents, _ := os.ReadDir(filepath.Join(dir, "chunks", hex.EncodeToString([]byte("photos")), "packs"))
		var out []string
		for _, e := range ents {
			out = append(out, e.Name())
		}
		return out
	}
	if n := len(packs()); n != 3 {
		t.Fatalf("%d files in packs/, want 3 packs: %v", n, packs())
	}
	orphan := filepath.Join(dir, "chunks", hex.EncodeToString([]byte("photos")), "packs", ".0123456789abcdef.pack")
	os.WriteFile(orphan, []byte("cut"), 0o644)
	// Files refer to chunk 0 of the first pack, 4-7 (all) of the second,
	// none of the third.
	var list []byte
	for _, c := range append([][]byte{all[0]}, all[4:8]...) {
		sum := sha256.Sum256(c)
		list = append(list, sum[:]...)
	}
	if _, err := s.Write(&protocol.Write{Room: "photos", Op: protocol.OpCreate, Object: "f", Kind: "file", Area: "files",
		Fields: []protocol.Entry{{Key: "c", Value: must(msgpack.Marshal(list))}}}); err != nil {
		t.Fatal(err)
	}
	s.collectChunks(time.Now().Add(25 * time.Hour))
	held := func(s string) map[int]bool {
		code, body := rawDo(t, s+"/synk/photos/chunks/get", "POST", hashesJSON(all...), "")
		if code != 200 {
			t.Fatalf("get = %d", code)
		}
		out := make(map[int]bool)
		for i, c := range readPack(t, body, 1<<20) {
			if c != nil {
				if !bytes.Equal(c, all[i]) {
					t.Fatalf("chunk %d came back as other bytes", i)
				}
				out[i] = true
			}
		}
		return out
	}
	if got := held(hs.URL); len(got) != 5 || !got[0] || !got[4] || !got[7] {
		t.Fatalf("held after collection: %v, want 0 and 4-7", got)
	}
	if n := len(packs()); n != 2 {
		t.Errorf("packs/ holds %v, want 2 packs (the first written again, the third removed, the orphan gone)", packs())
	}
	// A server started again on the directory reads the packs' indexes.
	hs.Close()
	if err := s.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, hs2 := testServer(t, &Options{DataDir: dir})
	if got := held(hs2.URL); len(got) != 5 {
		t.Fatalf("held after a restart: %v", got)
	}
}
