package folder

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/synkhq/synk/client"
	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// FuzzDecodeRecord: any object another device writes either decodes into
// a record that stays inside the folder (a link's target too) and encodes
// back the same, or is
// refused with an error; never a panic.
func FuzzDecodeRecord(f *testing.F) {
	good := &record{Path: "a/b.txt", Mode: 0o644, Size: 3, MTime: 1, Chunks: bytes.Repeat([]byte{7}, 32)}
	for _, r := range []*record{good, {Path: "d", Dir: true}, {Path: "big", List: bytes.Repeat([]byte{1}, 32)},
		{Path: "a/cur", Link: "b.txt", Mode: linkMode}, {Path: "up", Link: "../etc", Mode: linkMode}} {
		b, _ := msgpack.Marshal(r.fields())
		f.Add(r.kind(), b)
	}
	f.Add("file", []byte{0x81, 0xa1, 'p', 0xa5, '.', '.', '/', 'x', 'y'})
	f.Add("dir", []byte{0x80})
	f.Fuzz(func(t *testing.T, kind string, raw []byte) {
		// Fields reach decodeRecord only from checked frames or the
		// checked client store; unchecked, a map header alone makes the
		// library allocate ~100 MB, and the fuzzer's worker runs out of memory.
		if protocol.Check(raw, protocol.MaxDepth) != nil {
			return
		}
		var fields map[string]msgpack.RawMessage
		if msgpack.Unmarshal(raw, &fields) != nil {
			return
		}
		id := "x"
		var p string
		if msgpack.Unmarshal(fields["p"], &p) == nil {
			id = objectID(p)
		}
		r, err := decodeRecord(client.Object{ID: id, Kind: kind, Area: Area, Version: 1, Fields: fields})
		if err != nil {
			return
		}
		if checkPath(r.Path) != nil || len(r.Chunks)%32 != 0 || (r.List != nil && len(r.List) != 32) ||
			r.Link != "" && checkTarget(r.Path, r.Link) != nil {
			t.Fatalf("accepted a bad record: %+v", r)
		}
		again := map[string]msgpack.RawMessage{}
		for k, v := range r.fields() {
			again[k], _ = msgpack.Marshal(v)
		}
		r2, err := decodeRecord(client.Object{ID: id, Kind: r.kind(), Version: 1, Fields: again})
		if err != nil || !r2.equalAt(r) || r2.MTime != r.MTime {
			t.Fatalf("round trip: %+v → %+v, %v", r, r2, err)
		}
	})
}

// FuzzLoadIndex: a damaged index is an error that says what to do, never
// a panic.
func FuzzLoadIndex(f *testing.F) {
	ix := &index{Entries: map[string]*entry{"a": {Rec: record{Path: "a", Size: 1}, LSize: 1, Sizes: []int32{1}}}}
	b, _ := msgpack.Marshal(ix)
	f.Add(b)
	f.Add([]byte{0x80})
	f.Add([]byte{0x81, 0xa1, 'e', 0xc0})
	f.Fuzz(func(t *testing.T, raw []byte) {
		root := t.TempDir()
		os.MkdirAll(filepath.Join(root, stateDir), 0o755)
		os.WriteFile(filepath.Join(root, stateDir, "index"), raw, 0o644)
		ix, err := loadIndex(root)
		if err == nil && ix.Entries == nil {
			t.Fatal("an index without entries")
		}
	})
}
