package folder

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/google/renameio/v2"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/synkhq/synk/protocol"
)

// stateDir is the folder's own directory, never synced: the index, the
// client's store and the device name.
const stateDir = ".synk"

// tmpPrefix starts the names of files being downloaded.
const tmpPrefix = ".synk-tmp-"

// entry is what this device last agreed with the room about one path: the
// room's record then, and the local file's size and time then, by which a
// later local change is noticed without reading the file.
type entry struct {
	Rec    record `msgpack:"r"`
	LSize  int64  `msgpack:"s"`
	LMTime int64  `msgpack:"t"` // 0: unknown, hash the file to compare
	// Sizes are the local chunks' sizes, in the order of the record's
	// chunk hashes, so a download can take a chunk from this file.
	Sizes []int32 `msgpack:"z"`
	// All holds every chunk hash when the record keeps them in a list
	// chunk (the record's own Chunks is then empty).
	All []byte `msgpack:"a"`
}

// hashes returns every chunk hash of the entry's content, in order.
func (e *entry) hashes() []byte {
	if e.All != nil {
		return e.All
	}
	return e.Rec.Chunks
}

// index is the folder's entries by path, kept in .synk/index.
type index struct {
	file    string
	Entries map[string]*entry `msgpack:"e"`
}

func loadIndex(root string) (*index, error) {
	ix := &index{file: filepath.Join(root, stateDir, "index"), Entries: make(map[string]*entry)}
	b, err := os.ReadFile(ix.file)
	if errors.Is(err, fs.ErrNotExist) {
		return ix, nil
	}
	if err != nil {
		return nil, err
	}
	// Check first: msgpack v5.4 allocates a list as long as its header
	// says (vmihailenco/msgpack#401), so a damaged header alone could ask
	// for gigabytes.
	err = protocol.Check(b, protocol.MaxDepth)
	if err == nil {
		err = msgpack.Unmarshal(b, ix)
	}
	if err != nil {
		return nil, fmt.Errorf("folder: index %s is damaged (delete it to start over): %w", ix.file, err)
	}
	if ix.Entries == nil {
		ix.Entries = make(map[string]*entry)
	}
	return ix, nil
}

// save writes the index whole, through a temporary file and a rename.
func (ix *index) save() error {
	b, err := msgpack.Marshal(ix)
	if err != nil {
		return err
	}
	return renameio.WriteFile(ix.file, b, 0o644)
}

// checkPath accepts a record's path only if it stays inside the folder
// and is not the folder's own state: a device cannot make another write
// outside its folder.
func checkPath(p string) error {
	switch {
	case !fs.ValidPath(p) || p == ".":
		return fmt.Errorf("%q is not a relative slash-separated path", p)
	case strings.ContainsAny(p, "\\\x00"):
		return fmt.Errorf("%q holds a backslash or NUL", p)
	case reserved(p):
		return fmt.Errorf("%q is reserved for synk's own state", p)
	}
	return nil
}

// reserved reports whether p is synk's own: the state directory or a
// download in progress.
// Case does not matter: on a case-insensitive file system ".SYNK" is
// ".synk".
func reserved(p string) bool {
	first, _, _ := strings.Cut(p, "/")
	base := path.Base(p)
	return strings.EqualFold(first, stateDir) ||
		len(base) >= len(tmpPrefix) && strings.EqualFold(base[:len(tmpPrefix)], tmpPrefix)
}
