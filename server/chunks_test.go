//go:build !js

package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/synkhq/synk/internal/chunkstore"
	"github.com/synkhq/synk/protocol"
	"github.com/synkhq/synk/server/auth"
	"github.com/vmihailenco/msgpack/v5"
)

func hashOf(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// rawDo sends body and returns the status and the raw answer.
func rawDo(t *testing.T, url, method string, body []byte, auth string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, b := roundTrip(t, http.DefaultClient, req)
	return resp.StatusCode, b
}

func TestChunks(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"", t.TempDir()} {
		name := map[bool]string{true: "memory", false: "disk"}[dir == ""]
		t.Run(name, func(t *testing.T) {
			_, hs := testServer(t, &Options{DataDir: dir, MaxChunk: 1 << 10, ChunkQuota: 1500})
			data := bytes.Repeat([]byte("synk"), 200) // 800 bytes
			h := hashOf(data)
			u := hs.URL + "/synk/photos/chunks/"
			if code, body := rawDo(t, u+"missing", "POST", []byte(`{"hashes":["`+h+`"]}`), ""); code != 200 || string(body) != `{"missing":["`+h+`"]}`+"\n" {
				t.Fatalf("missing before = %d %s", code, body)
			}
			if code, body := rawDo(t, u+h, "PUT", data, ""); code != 201 {
				t.Fatalf("PUT = %d %s, want 201", code, body)
			}
			if code, body := rawDo(t, u+h, "PUT", data, ""); code != 200 {
				t.Fatalf("PUT again = %d %s, want 200", code, body)
			}
			if code, body := rawDo(t, u+h, "GET", nil, ""); code != 200 || !bytes.Equal(body, data) {
				t.Fatalf("GET = %d, %d bytes", code, len(body))
			}
			if code, body := rawDo(t, u+"missing", "POST", []byte(`{"hashes":["`+h+`"]}`), ""); code != 200 || string(body) != `{"missing":[]}`+"\n" {
				t.Fatalf("missing after = %d %s", code, body)
			}
			// Rooms do not share chunks.
			if code, body := rawDo(t, hs.URL+"/synk/other/chunks/"+h, "GET", nil, ""); code != 404 || !strings.Contains(string(body), `"code":209`) {
				t.Fatalf("GET other room = %d %s, want 404 NotFound", code, body)
			}
			other := bytes.Repeat([]byte("x"), 900)
			for _, c := range []struct {
				name, method, path string
				body               []byte
				status             int
				want               string
			}{
				{"bad_hash", "GET", u + "abc", nil, 400, "64 hex digits"},
				{"upper_hex", "GET", u + strings.ToUpper(h), nil, 400, "lowercase hex"},
				{"mismatch", "PUT", u + hashOf([]byte("other")), data, 400, "does not hash"},
				{"too_large", "PUT", u + hashOf(make([]byte, 2000)), make([]byte, 2000), 413, "limit"},
				{"bad_room", "GET", hs.URL + "/synk/bad%09room/chunks/" + h, nil, 400, `"code":201`},
				{"missing_unknown_field", "POST", u + "missing", []byte(`{"hash":[]}`), 400, "unknown field"},
				{"missing_bad_hash", "POST", u + "missing", []byte(`{"hashes":["zz"]}`), 400, "64 hex"},
				{"quota", "PUT", u + hashOf(other), other, 507, "quota"},
			} {
				t.Run(c.name, func(t *testing.T) {
					code, body := rawDo(t, c.path, c.method, c.body, "")
					if code != c.status || !strings.Contains(string(body), c.want) {
						t.Fatalf("%s %s = %d %s, want %d with %q", c.method, c.path, code, body, c.status, c.want)
					}
				})
			}
		})
	}
}

// TestChunks_kept: chunks on disk outlive the server.
func TestChunks_kept(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := []byte("kept across restarts")
	s, hs := testServer(t, &Options{DataDir: dir})
	if code, body := rawDo(t, hs.URL+"/synk/r/chunks/"+hashOf(data), "PUT", data, ""); code != 201 {
		t.Fatalf("PUT = %d %s", code, body)
	}
	hs.Close()
	if err := s.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, hs = testServer(t, &Options{DataDir: dir})
	if code, body := rawDo(t, hs.URL+"/synk/r/chunks/"+hashOf(data), "GET", nil, ""); code != 200 || !bytes.Equal(body, data) {
		t.Fatalf("GET after restart = %d %q", code, body)
	}
}

func TestChunks_auth(t *testing.T) {
	t.Parallel()
	hs := authServer(t, nil)
	reader := mint(t, hmacKey, claims("ada", time.Hour, map[string][]auth.Capability{"photos": {auth.CapRead}}))
	writer := mint(t, hmacKey, claims("joe", time.Hour, map[string][]auth.Capability{"photos": {auth.CapRead, auth.CapWrite}}))
	data := []byte("a chunk")
	u := hs.URL + "/synk/photos/chunks/" + hashOf(data)
	for _, c := range []struct {
		name, method, tok string
		status            int
	}{
		{"put_no_token", "PUT", "", 401},
		{"put_reader", "PUT", reader, 403},
		{"put_writer", "PUT", writer, 201},
		{"get_no_token", "GET", "", 401},
		{"get_reader", "GET", reader, 200},
	} {
		if code, body := rawDo(t, u, c.method, data, c.tok); code != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, code, body, c.status)
		}
	}
	if code, body := rawDo(t, hs.URL+"/synk/other/chunks/"+hashOf(data), "GET", nil, writer); code != 403 {
		t.Errorf("other room: %d %s, want 403", code, body)
	}
}

// FuzzChunkRequest: any chunk name and missing-list body gets 200 or a
// 4xx JSON error, never a panic (or, for a name that is no clean path,
// the mux's redirect to the cleaned one).
func FuzzChunkRequest(f *testing.F) {
	h := hashOf([]byte("x"))
	f.Add(h, []byte(`{"hashes":["`+h+`"]}`))
	f.Add("zz", []byte(`{"hashes":[1]}`))
	f.Add(strings.ToUpper(h), []byte(`{}`))
	f.Add("", []byte(`{"hashes":null,"x":1}`))
	f.Add(".", []byte(`{}`))
	f.Add(h, packOf([]byte("x"), []byte("yz")))
	f.Add(h, packOf(nil))
	f.Add("..", []byte(`{}`))
	s, err := New(&Options{Logger: slog.New(slog.DiscardHandler), ChunkQuota: 1 << 20})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	f.Fuzz(func(t *testing.T, hash string, body []byte) {
		if hash == "" {
			hash = "-" // "/chunks/" alone is no route: the mux's plain 404
		}
		for _, req := range []*http.Request{
			httptest.NewRequest("POST", "/synk/r/chunks/missing", bytes.NewReader(body)),
			httptest.NewRequest("PUT", "/synk/r/chunks/"+url.PathEscape(hash), bytes.NewReader(body)),
			httptest.NewRequest("GET", "/synk/r/chunks/"+url.PathEscape(hash), nil),
			httptest.NewRequest("POST", "/synk/r/chunks/put", bytes.NewReader(body)),
			httptest.NewRequest("POST", "/synk/r/chunks/get", bytes.NewReader(body)),
		} {
			w := httptest.NewRecorder()
			s.ServeHTTP(w, req)
			if c := w.Code; (c == 301 || c == 307 || c == 308) && path.Clean(req.URL.Path) != req.URL.Path {
				continue // the mux sends a name like "." or ".." to the cleaned path
			}
			if c := w.Code; c != 200 && c != 201 && (c < 400 || c > 499) {
				t.Fatalf("%s %s = %d %s", req.Method, req.URL, c, w.Body)
			}
			if w.Code >= 400 && !strings.Contains(w.Body.String(), `"code":`) {
				t.Fatalf("%s %s = %d without a JSON error: %s", req.Method, req.URL, w.Code, w.Body)
			}
		}
	})
}

// TestChunks_collect: chunks no file object refers to, directly or
// through a list chunk or a tree of them, go once older than the grace;
// asking about a chunk renews it.
func TestChunks_collect(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"", t.TempDir()} {
		name := map[bool]string{true: "memory", false: "disk"}[dir == ""]
		t.Run(name, func(t *testing.T) {
			s, hs := testServer(t, &Options{DataDir: dir})
			u := hs.URL + "/synk/photos/chunks/"
			put := func(data []byte) [32]byte {
				if code, body := rawDo(t, u+hashOf(data), "PUT", data, ""); code != 201 {
					t.Fatalf("PUT = %d %s", code, body)
				}
				return sha256.Sum256(data)
			}
			a, b, c := put([]byte("in the file")), put([]byte("in a note")), put([]byte("in the list"))
			list := put(c[:])
			// A tree of depth 3: root → mid → leaf → d and e.
			d, e, stray := put([]byte("deep down")), put([]byte("deep too")), put([]byte("in no list"))
			leaf := put(append(d[:], e[:]...))
			mid := put(leaf[:])
			root := put(mid[:])
			bin := func(v []byte) msgpack.RawMessage { return must(msgpack.Marshal(v)) }
			for _, w := range []*protocol.Write{
				{Room: "photos", Op: protocol.OpCreate, Object: "f1", Kind: "file", Area: "files",
					Fields: []protocol.Entry{{Key: "c", Value: bin(a[:])}, {Key: "l", Value: bin(list[:])}}},
				{Room: "photos", Op: protocol.OpCreate, Object: "f2", Kind: "file", Area: "files",
					Fields: []protocol.Entry{{Key: "l", Value: bin(root[:])}, {Key: "x", Value: must(msgpack.Marshal(3))}}},
				{Room: "photos", Op: protocol.OpCreate, Object: "n1", Kind: "note", Area: "files",
					Fields: []protocol.Entry{{Key: "c", Value: bin(b[:])}}},
			} {
				if _, err := s.Write(w); err != nil {
					t.Fatal(err)
				}
			}
			held := func(sum [32]byte) bool {
				code, _ := rawDo(t, u+hex.EncodeToString(sum[:]), "GET", nil, "")
				return code == 200
			}
			s.collectChunks(time.Now().Add(-time.Hour)) // all younger than the grace
			if !held(b) {
				t.Fatal("an unreferenced chunk younger than the grace was collected")
			}
			s.collectChunks(time.Now().Add(25 * time.Hour))
			sums := map[string][32]byte{"a": a, "list": list, "c": c, "b": b, "root": root, "mid": mid, "leaf": leaf, "d": d, "e": e, "stray": stray}
			for what, want := range map[string]bool{"a": true, "list": true, "c": true, "b": false,
				"root": true, "mid": true, "leaf": true, "d": true, "e": true, "stray": false} {
				sum := sums[what]
				if held(sum) != want {
					t.Errorf("chunk %s held = %v, want %v", what, !want, want)
				}
			}
			// The quota counts what is left: "in a note" can come back.
			put([]byte("in a note"))
		})
	}
}

// TestChunks_collectRenewed: a chunk the missing list was asked about is
// not collected, however old.
func TestChunks_collectRenewed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, hs := testServer(t, &Options{DataDir: dir})
	u := hs.URL + "/synk/r/chunks/"
	old := time.Now().Add(-48 * time.Hour)
	var sums []string
	for _, data := range []string{"asked", "forgotten"} {
		h := hashOf([]byte(data))
		if code, body := rawDo(t, u+h, "PUT", []byte(data), ""); code != 201 {
			t.Fatalf("PUT = %d %s", code, body)
		}
		var sum [32]byte
		hex.Decode(sum[:], []byte(h))
		if err := os.Chtimes(s.chunks.(*chunkstore.Store).Path("r", sum), time.Time{}, old); err != nil {
			t.Fatal(err)
		}
		sums = append(sums, h)
	}
	if code, body := rawDo(t, u+"missing", "POST", []byte(`{"hashes":["`+sums[0]+`"]}`), ""); code != 200 || !strings.Contains(string(body), `"missing":[]`) {
		t.Fatalf("missing = %d %s", code, body)
	}
	s.collectChunks(time.Now())
	if code, _ := rawDo(t, u+sums[0], "GET", nil, ""); code != 200 {
		t.Error("the chunk asked about was collected")
	}
	if code, _ := rawDo(t, u+sums[1], "GET", nil, ""); code != 404 {
		t.Error("the old unreferenced chunk was kept")
	}
}

// TestChunks_memoryBudget: issue 15.6. Chunks kept in memory are bounded
// server-wide, whatever the rooms' quotas: past MaxChunkMemory an upload
// is answered 507 Overloaded; a collected chunk makes room.
func TestChunks_memoryBudget(t *testing.T) {
	t.Parallel()
	s, hs := testServer(t, &Options{MaxChunk: 1 << 10, MaxChunkMemory: 2500})
	chunk := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 1000) }
	for i := range 2 { // in two rooms, each within its quota
		data := chunk(i)
		if code, body := rawDo(t, fmt.Sprintf("%s/synk/r%d/chunks/%s", hs.URL, i, hashOf(data)), "PUT", data, ""); code != 201 {
			t.Fatalf("PUT %d = %d %s", i, code, body)
		}
	}
	data := chunk(2)
	code, body := rawDo(t, hs.URL+"/synk/r2/chunks/"+hashOf(data), "PUT", data, "")
	if code != 507 || !strings.Contains(string(body), `"code":217`) {
		t.Fatalf("third chunk = %d %s, want 507 Overloaded", code, body)
	}
	if n, _, err := s.chunks.(*chunkstore.Store).Collect("r0", nil, time.Now().Add(time.Hour)); n != 1 || err != nil {
		t.Fatalf("collect = %d, %v", n, err)
	}
	if code, body := rawDo(t, hs.URL+"/synk/r2/chunks/"+hashOf(data), "PUT", data, ""); code != 201 {
		t.Fatalf("after a collection = %d %s, want 201", code, body)
	}
}

// TestChunks_diskFull: issue 15.6. Uploads to a data directory leave
// MinFreeDisk free on its disk, whatever the rooms' quotas: a server whose
// disk has less is answered 507 Overloaded (here: asking for more free
// space than any disk has).
func TestChunks_diskFull(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, &Options{DataDir: t.TempDir(), MinFreeDisk: 1 << 62})
	data := []byte("hello")
	code, body := rawDo(t, hs.URL+"/synk/r/chunks/"+hashOf(data), "PUT", data, "")
	if code != 507 || !strings.Contains(string(body), `"code":217`) || !strings.Contains(string(body), "free") {
		t.Fatalf("PUT = %d %s, want 507 Overloaded about free disk", code, body)
	}
}
