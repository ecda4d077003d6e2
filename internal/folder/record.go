package folder

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"

	"github.com/synkhq/synk/client"
	"github.com/synkhq/synk/internal/chunkref"
)

// Files and directories are objects of the room, all in one area. A
// record's fields (single letters, like the protocol's keys):
//
//	p  path, slash-separated, relative to the folder's root
//	m  permission bits: of a file, 0755 if executable, else 0644
//	   (only the executable bit is applied; older records may hold
//	   others); of a directory, its bits with the owner's rwx always
//	   set and no one else's write (dirMode; older records: 0755)
//	s  size in bytes                 (files)
//	t  modification time, Unix ns    (files)
//	h  SHA-256 of the content        (files)
//	c  the chunks' SHA-256s, 32 bytes each, in order, for up to
//	   inlineChunks chunks; else empty and
//	l  the SHA-256 of a chunk that holds that list, or of the root of
//	   a tree of lists (tree.go)
//	x  the chunk scheme: absent in records of ~1 MiB chunks and one flat
//	   list (scheme 0); else chunks of MinChunk to MaxChunk bytes, and x
//	   is the depth of the tree under l (0: inline in c)
//	g  a symbolic link's target, slash-separated (links; see link.go)
//
// (c and l, and the kind "file", are chunkref.FileChunks, FileChunkList
// and FileKind: the server reads them to keep the chunks files need.)
//
// The object id is derived from the path, so every device names a path's
// object alike and two devices creating one path meet in CodeExists.
const (
	Area     = "files"
	KindFile = chunkref.FileKind
	KindDir  = "dir"

	inlineChunks = 256 // 8 KiB of hashes: well within a value's limit
)

// record is a file or directory as the room holds it.
type record struct {
	Path    string
	Dir     bool
	Version uint64
	Mode    fs.FileMode
	Size    int64
	MTime   int64
	Hash    [32]byte
	Chunks  []byte // inline chunk hashes, or nil
	List    []byte // hash of the list chunk, or of the tree's root, or nil
	Link    string // a symbolic link's target; "" for files and directories
	Scheme  uint8  // 0: ~1 MiB chunks, a flat list; smallChunks: see record's x
	Depth   uint8  // levels of the tree under List (smallChunks)
}

// smallChunks is the chunk scheme of issue 22.1 (record field x).
const smallChunks = 1

// chunkBounds returns the sizes every chunk but a file's last has in a
// chunk scheme.
func chunkBounds(scheme uint8) (lo, hi int64) {
	if scheme == smallChunks {
		return MinChunk, MaxChunk
	}
	return oldMinChunk, oldMaxChunk
}

// objectID names path's object.
func objectID(path string) string {
	sum := sha256.Sum256([]byte(path))
	return "f" + hex.EncodeToString(sum[:15])
}

// decodeRecord reads an object of the room; an object that is not a
// well-formed record is an error (and is left alone).
func decodeRecord(o client.Object) (*record, error) {
	r := &record{Version: o.Version}
	link := false
	switch o.Kind {
	case KindFile:
	case KindDir:
		r.Dir = true
	case KindLink:
		link = true
	default:
		return nil, fmt.Errorf("object %s is a %q, not a file or dir", o.ID, o.Kind)
	}
	var mode uint32
	if err := o.Get("p", &r.Path); err != nil {
		return nil, fmt.Errorf("object %s: path: %w", o.ID, err)
	}
	if err := o.Get("m", &mode); err != nil {
		return nil, fmt.Errorf("object %s: mode: %w", o.ID, err)
	}
	r.Mode = syncedMode(fs.FileMode(mode))
	if r.Dir {
		r.Mode = dirMode(fs.FileMode(mode))
	}
	if err := checkPath(r.Path); err != nil || objectID(r.Path) != o.ID {
		return nil, fmt.Errorf("object %s: path %q is not valid here (%v)", o.ID, r.Path, err)
	}
	if r.Dir {
		return r, nil
	}
	if link {
		if err := o.Get("g", &r.Link); err != nil {
			return nil, fmt.Errorf("object %s: link target: %w", o.ID, err)
		}
		if err := checkTarget(r.Path, r.Link); err != nil {
			return nil, fmt.Errorf("object %s: %w", o.ID, err)
		}
		r.Mode = linkMode
		return r, nil
	}
	var h []byte
	for _, f := range []struct {
		k string
		v any
	}{{"s", &r.Size}, {"t", &r.MTime}, {"h", &h}, {chunkref.FileChunks, &r.Chunks}, {chunkref.FileChunkList, &r.List}} {
		if err := o.Get(f.k, f.v); err != nil {
			return nil, fmt.Errorf("object %s: field %s: %w", o.ID, f.k, err)
		}
	}
	switch {
	case len(h) != 32:
		return nil, fmt.Errorf("object %s: hash of %d bytes", o.ID, len(h))
	case len(r.Chunks)%32 != 0 || len(r.Chunks) > 32*inlineChunks:
		return nil, fmt.Errorf("object %s: chunk list of %d bytes", o.ID, len(r.Chunks))
	case len(r.List) != 0 && (len(r.List) != 32 || len(r.Chunks) != 0):
		return nil, fmt.Errorf("object %s: bad list-chunk hash", o.ID)
	case r.Size < 0:
		return nil, fmt.Errorf("object %s: negative size", o.ID)
	}
	copy(r.Hash[:], h)
	if _, has := o.Fields[chunkref.FileTreeDepth]; has {
		if err := o.Get(chunkref.FileTreeDepth, &r.Depth); err != nil {
			return nil, fmt.Errorf("object %s: field x: %w", o.ID, err)
		}
		r.Scheme = smallChunks
	}
	lo, _ := chunkBounds(r.Scheme)
	if len(r.List) == 0 {
		r.List = nil
	} else if r.Size <= inlineChunks*lo {
		return nil, fmt.Errorf("object %s: a list chunk for %d bytes: %w", o.ID, r.Size, errBadRecord)
	}
	switch {
	case r.Scheme == smallChunks && r.List != nil && (r.Depth < 1 || r.Depth > maxDepth),
		(r.Scheme != smallChunks || r.List == nil) && r.Depth != 0:
		return nil, fmt.Errorf("object %s: a tree of depth %d: %w", o.ID, r.Depth, errBadRecord)
	}
	if r.List == nil {
		if err := plausible(r.Size, len(r.Chunks)/32, r.Scheme); err != nil {
			return nil, fmt.Errorf("object %s: %w", o.ID, err)
		}
	}
	return r, nil
}

// syncedMode is what of a mode folder sync carries: whether it is
// executable, as 0755 or 0644 (issue 15.9; Syncthing does the same). A
// device applies it as fileMode says.
func syncedMode(m fs.FileMode) fs.FileMode {
	if m&0o111 != 0 {
		return 0o755
	}
	return 0o644
}

// dirMode is what of a directory's mode folder sync carries and
// applies: who else may list and enter it (group and others' r and x),
// as Syncthing syncs directory permissions, but never less than rwx for
// the owner, so that a device cannot lock this one out of its own folder,
// and never write for others, so that it cannot open it to them.
func dirMode(m fs.FileMode) fs.FileMode { return m&0o755 | 0o700 }

// modeOf is the mode a record carries for what a device has at a path.
func modeOf(l stat) fs.FileMode {
	switch {
	case l.Dir:
		return dirMode(l.Mode)
	case l.Link != "":
		return linkMode
	}
	return syncedMode(l.Mode)
}

// errBadRecord is a record that cannot be made into a file: its chunks
// cannot add up to its size, or do not make its hash. It is not tried
// again until it changes.
var errBadRecord = errors.New("the record cannot be made from its chunks")

// plausible checks that n chunks of a scheme can make size bytes: every
// chunk but the last holds its scheme's lo to hi bytes, the last 1 to hi,
// and an empty file has none (issue 15.3: a record naming one 8 MiB chunk
// 256 times for 5 bytes filled a device's disk).
func plausible(size int64, n int, scheme uint8) error {
	lo, hi := chunkBounds(scheme)
	switch {
	case n == 0 && size != 0, n > 0 && size < int64(n-1)*lo+1, size > int64(n)*hi:
		return fmt.Errorf("%d chunks cannot make %d bytes: %w", n, size, errBadRecord)
	}
	return nil
}

// fields are the record's object fields.
func (r *record) fields() map[string]any {
	f := map[string]any{"p": r.Path, "m": uint32(r.Mode & fs.ModePerm)}
	if r.Dir {
		return f
	}
	if r.Link != "" {
		f["g"] = r.Link
		return f
	}
	f["s"], f["t"], f["h"] = r.Size, r.MTime, r.Hash[:]
	// Both always present (one empty), so an update replaces both.
	f[chunkref.FileChunks], f[chunkref.FileChunkList] = append([]byte{}, r.Chunks...), append([]byte{}, r.List...)
	if r.Scheme == smallChunks {
		f[chunkref.FileTreeDepth] = r.Depth
	}
	return f
}

// kind is the record's object kind.
func (r *record) kind() string {
	switch {
	case r.Dir:
		return KindDir
	case r.Link != "":
		return KindLink
	}
	return KindFile
}

// same reports whether r and o hold the same thing: kind, content, mode.
func (r *record) same(o *record) bool {
	return r.Dir == o.Dir && r.Link == o.Link && r.Hash == o.Hash && r.Mode == o.Mode && r.Size == o.Size
}

// equalAt reports whether r is the version o describes.
func (r *record) equalAt(o *record) bool {
	return r.Version == o.Version && r.same(o) && bytes.Equal(r.Chunks, o.Chunks) && bytes.Equal(r.List, o.List) &&
		r.Scheme == o.Scheme && r.Depth == o.Depth
}
