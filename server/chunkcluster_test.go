//go:build !js

package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// TestCluster_chunks: issue 22.2. On a cluster the chunks live in
// JetStream: a chunk stored through one node is held, served and counted
// on the other; hashes are checked, sizes bounded, and the room's quota
// is one for the whole cluster.
func TestCluster_chunks(t *testing.T) {
	t.Parallel()
	url := runNATS(t, true)
	opts := func() *Options {
		return &Options{Timeout: 900 * time.Millisecond, PingInterval: 150 * time.Millisecond, MaxChunk: 1 << 10, ChunkQuota: 2000}
	}
	_, hsA, _ := nodeWith(t, url, opts())
	_, hsB, _ := nodeWith(t, url, opts())
	data := bytes.Repeat([]byte("synk"), 200) // 800 bytes, and 512 of meta
	h := hashOf(data)
	a, b := hsA.URL+"/synk/photos/chunks/", hsB.URL+"/synk/photos/chunks/"
	if code, body := rawDo(t, b+"missing", "POST", []byte(`{"hashes":["`+h+`"]}`), ""); code != 200 || string(body) != `{"missing":["`+h+`"]}`+"\n" {
		t.Fatalf("missing before = %d %s", code, body)
	}
	if code, body := rawDo(t, a+h, "PUT", data, ""); code != 201 {
		t.Fatalf("PUT on A = %d %s, want 201", code, body)
	}
	if code, body := rawDo(t, b+h, "PUT", data, ""); code != 200 {
		t.Fatalf("PUT on B = %d %s, want 200: held", code, body)
	}
	if code, body := rawDo(t, b+h, "GET", nil, ""); code != 200 || !bytes.Equal(body, data) {
		t.Fatalf("GET on B = %d, %d bytes", code, len(body))
	}
	if code, body := rawDo(t, b+"missing", "POST", []byte(`{"hashes":["`+h+`"]}`), ""); code != 200 || string(body) != `{"missing":[]}`+"\n" {
		t.Fatalf("missing on B after = %d %s", code, body)
	}
	if code, body := rawDo(t, hsB.URL+"/synk/other/chunks/"+h, "GET", nil, ""); code != 404 || !strings.Contains(string(body), `"code":209`) {
		t.Fatalf("GET other room = %d %s, want 404 NotFound", code, body)
	}
	other := bytes.Repeat([]byte("x"), 600)
	for _, c := range []struct {
		name, method, path string
		body               []byte
		status             int
		want               string
	}{
		{"mismatch", "PUT", b + hashOf([]byte("other")), data, 400, "does not hash"},
		{"too_large", "PUT", b + hashOf(make([]byte, 2000)), make([]byte, 2000), 413, "limit"},
		// 800+512 held through A, 600+512 more would pass 2000: one quota.
		{"quota", "PUT", b + hashOf(other), other, 507, "quota"},
		{"quota_pack", "POST", b + "put", packOf(other), 507, "quota"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, body := rawDo(t, c.path, c.method, c.body, "")
			if code != c.status || !strings.Contains(string(body), c.want) {
				t.Fatalf("%s %s = %d %s, want %d with %q", c.method, c.path, code, body, c.status, c.want)
			}
		})
	}
	// Packs: stored through B, read through A, a missing one named so.
	small := [][]byte{[]byte("one"), []byte("two"), []byte("three")}
	if code, body := rawDo(t, hsB.URL+"/synk/packs/chunks/put", "POST", packOf(small...), ""); code != 200 || string(body) != `{"created":3,"held":0}`+"\n" {
		t.Fatalf("pack put on B = %d %s", code, body)
	}
	code, body := rawDo(t, hsA.URL+"/synk/packs/chunks/get", "POST", hashesJSON(small[0], []byte("never stored"), small[2]), "")
	if code != 200 {
		t.Fatalf("pack get on A = %d %s", code, body)
	}
	got := readPack(t, body, 1<<10)
	if len(got) != 3 || !bytes.Equal(got[0], small[0]) || got[1] != nil || !bytes.Equal(got[2], small[2]) {
		t.Fatalf("pack get on A = %q", got)
	}
	// A large chunk (old records' sizes) is stored as several pieces.
	bigOpts := func() *Options {
		return &Options{Timeout: 900 * time.Millisecond, PingInterval: 150 * time.Millisecond, MaxChunk: 1 << 20}
	}
	_, hsC, _ := nodeWith(t, url, bigOpts())
	_, hsD, _ := nodeWith(t, url, bigOpts())
	big := make([]byte, 300<<10)
	for i := range big {
		big[i] = byte(i * 7 % 251)
	}
	if code, body := rawDo(t, hsC.URL+"/synk/big/chunks/"+hashOf(big), "PUT", big, ""); code != 201 {
		t.Fatalf("PUT of 300 KiB = %d %s", code, body)
	}
	if code, body := rawDo(t, hsD.URL+"/synk/big/chunks/"+hashOf(big), "GET", nil, ""); code != 200 || !bytes.Equal(body, big) {
		t.Fatalf("GET of 300 KiB on D = %d, %d bytes", code, len(body))
	}
}

// TestCluster_chunkBucketFull: every room's chunks together are bounded
// on a cluster (ClusterChunkBytes): rooms each within their quota are
// refused with 507 Overloaded once the bucket is full.
func TestCluster_chunkBucketFull(t *testing.T) {
	t.Parallel()
	url := runNATS(t, true)
	_, hs, _ := nodeWith(t, url, &Options{Timeout: 900 * time.Millisecond, PingInterval: 150 * time.Millisecond,
		MaxChunk: 16 << 10, ClusterChunkBytes: 64 << 10})
	refused := -1
	for i := range 16 {
		data := bytes.Repeat([]byte{byte(i)}, 8<<10)
		code, body := rawDo(t, fmt.Sprintf("%s/synk/r%d/chunks/%s", hs.URL, i, hashOf(data)), "PUT", data, "")
		if code == 507 && strings.Contains(string(body), `"code":217`) {
			refused = i
			break
		}
		if code != 201 {
			t.Fatalf("PUT %d = %d %s", i, code, body)
		}
	}
	if refused < 0 || refused > 8 {
		t.Fatalf("refused from chunk %d on, want a 507 Overloaded by the 9th 8 KiB chunk in 64 KiB", refused)
	}
}

// TestCluster_chunkCollect: the collector runs on a cluster: it keeps what
// the room's files name (inline, in lists) and chunks asked about since
// the cutoff, and takes the rest; and it recounts the quota.
func TestCluster_chunkCollect(t *testing.T) {
	t.Parallel()
	url := runNATS(t, true)
	o := func() *Options {
		return &Options{Timeout: 900 * time.Millisecond, PingInterval: 150 * time.Millisecond,
			ChunkGrace: time.Hour, ChunkSweep: time.Hour, ChunkQuota: 3000}
	}
	_, hsA, nc := nodeWith(t, url, o())
	sB, hsB, _ := nodeWith(t, url, o())
	put := func(data []byte) [32]byte {
		if code, body := rawDo(t, hsA.URL+"/synk/photos/chunks/"+hashOf(data), "PUT", data, ""); code != 201 {
			t.Fatalf("PUT = %d %s", code, body)
		}
		return sha256.Sum256(data)
	}
	a, c := put([]byte("in the file")), put([]byte("in the list"))
	list := put(c[:])
	stray, asked := put([]byte("in no list")), put([]byte("asked about"))
	bin := func(v []byte) msgpack.RawMessage { return must(msgpack.Marshal(v)) }
	// Written through B, which answers once it applied it.
	if _, err := sB.Write(&protocol.Write{Room: "photos", Op: protocol.OpCreate, Object: "f1", Kind: "file", Area: "files",
		Fields: []protocol.Entry{{Key: "c", Value: bin(a[:])}, {Key: "l", Value: bin(list[:])}}}); err != nil {
		t.Fatal(err)
	}
	held := func(sum [32]byte) bool {
		code, _ := rawDo(t, hsB.URL+"/synk/photos/chunks/"+hex.EncodeToString(sum[:]), "GET", nil, "")
		return code == 200
	}
	late := bytes.Repeat([]byte("q"), 300)
	if code, body := rawDo(t, hsB.URL+"/synk/photos/chunks/"+hashOf(late), "PUT", late, ""); code != 507 {
		t.Fatalf("PUT past the quota = %d %s, want 507", code, body)
	}
	// A node that died between a chunk's pieces and its meta left pieces
	// that no meta names.
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	const orphan = "$O.SYNK_CHUNKS.C.orphanNUID0000000000"
	if _, err := js.Publish(t.Context(), orphan, bytes.Repeat([]byte("o"), 1000)); err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(t.Context(), "OBJ_SYNK_CHUNKS")
	if err != nil {
		t.Fatal(err)
	}
	orphaned := func() bool {
		_, err := st.GetLastMsgForSubject(t.Context(), orphan)
		if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	// The nodes' janitors sweep once an hour (the first at once); the
	// test sweeps when it likes by taking the lease back first. (Sweeps
	// that overlap may leave a count too high until the next one.)
	use, err := js.KeyValue(t.Context(), "SYNK_CHUNK_USE")
	if err != nil {
		t.Fatal(err)
	}
	collect := func(now time.Time) {
		if err := use.Purge(t.Context(), "sweep"); err != nil {
			t.Fatal(err)
		}
		sB.collectChunks(now)
	}
	collect(time.Now().Add(-time.Hour)) // all younger than the grace
	if !held(stray) || !orphaned() {
		t.Fatal("an unreferenced chunk or unfinished piece younger than the grace was collected")
	}
	// Asked about past a fourth of the grace: renewed, so kept by a
	// collection whose cutoff is after it was stored.
	cutoff := time.Now()
	if ok, err := sB.chunks.Hold(t.Context(), "photos", asked, time.Now().Add(time.Hour)); !ok || err != nil {
		t.Fatalf("Hold = %v, %v", ok, err)
	}
	collect(cutoff.Add(time.Hour))
	for what, want := range map[string]bool{"a": true, "c": true, "list": true, "stray": false, "asked": true} {
		sum := map[string][32]byte{"a": a, "c": c, "list": list, "stray": stray, "asked": asked}[what]
		if held(sum) != want {
			t.Errorf("chunk %s held = %v, want %v", what, !want, want)
		}
	}
	if orphaned() {
		t.Error("the unfinished chunk's piece outlived the collection")
	}
	// The recount gave the stray's bytes back: now it fits.
	if code, body := rawDo(t, hsB.URL+"/synk/photos/chunks/"+hashOf(late), "PUT", late, ""); code != 201 {
		t.Fatalf("PUT after the collection = %d %s, want 201", code, body)
	}
}

// TestCluster_chunkRace: the same chunk stored through two nodes at once
// is stored once, created for one request and held for the others, and
// counted once against the room's quota.
func TestCluster_chunkRace(t *testing.T) {
	t.Parallel()
	url := runNATS(t, true)
	o := &Options{Timeout: 900 * time.Millisecond, PingInterval: 150 * time.Millisecond}
	_, hsA, nc := nodeWith(t, url, o)
	_, hsB, _ := nodeWith(t, url, &Options{Timeout: 900 * time.Millisecond, PingInterval: 150 * time.Millisecond})
	data := bytes.Repeat([]byte("race"), 250)
	codes := make(chan int, 8)
	start := make(chan struct{})
	for i := range 8 {
		hs := []*httptest.Server{hsA, hsB}[i%2]
		go func() {
			<-start
			code, _ := rawDo(t, hs.URL+"/synk/r/chunks/"+hashOf(data), "PUT", data, "")
			codes <- code
		}()
	}
	close(start)
	created := 0
	for range 8 {
		switch code := <-codes; code {
		case 201:
			created++
		case 200:
		default:
			t.Errorf("PUT = %d, want 201 or 200", code)
		}
	}
	if created != 1 {
		t.Errorf("%d requests created the chunk, want 1", created)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(t.Context(), "SYNK_CHUNK_USE")
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(t.Context(), "room."+hex.EncodeToString([]byte("r")))
	if err != nil {
		t.Fatal(err)
	}
	if string(e.Value()) != "1512" {
		t.Fatalf("room r counts %q, want 1512: 1,000 bytes and 512 of meta, once", e.Value())
	}
}

// TestCluster_chunkPackMemory: a cluster node holds a pack's chunks in
// memory until JetStream has them, and counts them against the server's
// body budget; the batch settles every 4 MiB and gives the budget back.
// A 15 MiB pack of 1 MiB chunks is stored under a 6 MiB budget (without
// the settling it would stop at the sixth chunk with 503), and two at once
// are refused (503) rather than held past it.
func TestCluster_chunkPackMemory(t *testing.T) {
	t.Parallel()
	url := runNATS(t, true)
	opts := func() *Options {
		return &Options{MaxChunk: 1 << 20, MaxBodyMemory: 6 << 20, ChunkQuota: 1 << 30}
	}
	sA, hsA, _ := nodeWith(t, url, opts())
	_, hsB, _ := nodeWith(t, url, opts())
	chunks := make([][]byte, 15)
	for i := range chunks {
		chunks[i] = bytes.Repeat([]byte{byte(i + 1)}, 1<<20)
	}
	a, b := hsA.URL+"/synk/photos/chunks/", hsB.URL+"/synk/photos/chunks/"
	if code, body := rawDo(t, a+"put", "POST", packOf(chunks...), ""); code != 200 || string(body) != `{"created":15,"held":0}`+"\n" {
		t.Fatalf("put of 15 MiB under a 6 MiB budget = %d %s", code, body)
	}
	code, body := rawDo(t, b+"get", "POST", hashesJSON(chunks...), "")
	got := readPack(t, body, 1<<20)
	if code != 200 || len(got) != len(chunks) {
		t.Fatalf("get on B = %d with %d chunks, want 15", code, len(got))
	}
	for i := range got {
		if !bytes.Equal(got[i], chunks[i]) {
			t.Fatalf("chunk %d differs", i)
		}
	}
	// Two new packs at once through one node: each may hold 5 MiB of the
	// 6: at least one is stored, and a refusal is a 503 that says why.
	more := [2][][]byte{}
	for k := range more {
		for i := range 8 {
			more[k] = append(more[k], bytes.Repeat([]byte{byte(100 + 10*k + i)}, 1<<20))
		}
	}
	type answer struct {
		k, code int
		body    string
	}
	answers := make(chan answer, 2)
	for k := range more {
		go func() {
			resp, err := http.Post(a+"put", "application/octet-stream", bytes.NewReader(packOf(more[k]...)))
			if err != nil {
				answers <- answer{k, 0, err.Error()}
				return
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				answers <- answer{k, 0, err.Error()}
				return
			}
			answers <- answer{k, resp.StatusCode, string(body)}
		}()
	}
	var refused []int
	for range more {
		an := <-answers
		switch {
		case an.code == 200:
		case an.code == 503 && strings.Contains(an.body, "bytes of request bodies"):
			refused = append(refused, an.k)
		default:
			t.Errorf("concurrent put = %d %s, want 200 or 503 for memory", an.code, an.body)
		}
	}
	// Both answered: the budget is whole again, and a refused pack sent
	// alone is stored.
	sA.bodies.mu.Lock()
	held := sA.bodies.held
	sA.bodies.mu.Unlock()
	if held != 0 {
		t.Errorf("the body budget holds %d after the answers, want 0", held)
	}
	for _, k := range refused {
		if code, body := rawDo(t, a+"put", "POST", packOf(more[k]...), ""); code != 200 {
			t.Errorf("refused pack sent again alone = %d %s", code, body)
		}
	}
}

// TestChunks_answerMemory: a chunk read for an answer counts against the
// body budget until it is written, on disk and on a cluster (where a pack
// reads ahead): with the budget taken by others, a chunk's GET and a
// pack's are 503 Overloaded; with room for one chunk, a pack holds one at
// a time; and every byte taken is given back, also what a cluster read
// ahead and did not send.
func TestChunks_answerMemory(t *testing.T) {
	t.Parallel()
	const budget = 1 << 20
	for _, where := range []string{"disk", "cluster"} {
		t.Run(where, func(t *testing.T) {
			t.Parallel()
			o := &Options{MaxChunk: 256 << 10, MaxBodyMemory: budget}
			var s *Server
			var hs *httptest.Server
			if where == "disk" {
				o.DataDir = t.TempDir()
				s, hs = testServer(t, o)
			} else {
				s, hs, _ = nodeWith(t, runNATS(t, true), o)
			}
			chunks := make([][]byte, 6)
			for i := range chunks {
				chunks[i] = bytes.Repeat([]byte{byte(i + 1)}, 64<<10)
			}
			u := hs.URL + "/synk/photos/chunks/"
			if code, body := rawDo(t, u+"put", "POST", packOf(chunks...), ""); code != 200 {
				t.Fatalf("put = %d %s", code, body)
			}
			held := func() int64 {
				s.bodies.mu.Lock()
				defer s.bodies.mu.Unlock()
				return s.bodies.held
			}
			mem := bodyMemory{s}
			// Others hold all but 10 KiB.
			if !mem.TryTake(budget - 10<<10) {
				t.Fatal("the budget is not free")
			}
			if code, body := rawDo(t, u+hashOf(chunks[0]), "GET", nil, ""); code != 503 || !strings.Contains(string(body), `"code":217`) {
				t.Errorf("GET with no memory left = %d %s, want 503 Overloaded", code, body)
			}
			if code, body := rawDo(t, u+"get", "POST", hashesJSON(chunks...), ""); code != 503 || !strings.Contains(string(body), `"code":217`) {
				t.Errorf("pack GET with no memory left = %d %s, want 503 Overloaded", code, body)
			}
			// Room for one chunk and a bit: the pack holds one at a time
			// (on disk, all come; a cluster reading ahead may end it
			// sooner, and the client asks again).
			mem.Give(100 << 10)
			code, body := rawDo(t, u+"get", "POST", hashesJSON(chunks...), "")
			got := readPack(t, body, 256<<10)
			if code != 200 || len(got) == 0 || where == "disk" && len(got) != len(chunks) {
				t.Errorf("pack GET with room for one chunk = %d with %d chunks", code, len(got))
			}
			for i := range got {
				if !bytes.Equal(got[i], chunks[i]) {
					t.Errorf("chunk %d of the pack differs", i)
				}
			}
			if h := held(); h != budget-110<<10 {
				t.Errorf("after the answers the budget holds %d, want only the others' %d", h, budget-110<<10)
			}
			mem.Give(budget - 110<<10)
			code, body = rawDo(t, u+"get", "POST", hashesJSON(chunks...), "")
			if got := readPack(t, body, 256<<10); code != 200 || len(got) != len(chunks) {
				t.Errorf("pack GET with the budget free = %d with %d chunks, want all", code, len(got))
			}
			if h := held(); h != 0 {
				t.Errorf("the budget holds %d after every answer, want 0", h)
			}
		})
	}
}
