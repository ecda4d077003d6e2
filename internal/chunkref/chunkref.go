// Package chunkref is the one place that knows how folder sync's file
// objects refer to chunks: the folder records (internal/folder) write
// references this way, and the server's chunk collection (server) reads
// them to keep the chunks files need.
//
// Folder sync keeps files as objects, and their content as chunks the
// server stores by SHA-256 (docs/FOLDER.md). An object of kind FileKind
// names its chunks' hashes, 32 bytes each back to back, in field
// FileChunks, or, for a long list, the hash of a chunk that holds that
// list in field FileChunkList; with field FileTreeDepth at d > 1, that
// chunk lists the hashes of list chunks of depth d-1, and so on down to
// the lists of depth 1, which name the file's chunks.
//
// (It is not in protocol/, which the browser bundle compiles: the browser
// never reads chunk references.)
package chunkref

import "github.com/vmihailenco/msgpack/v5"

// The schema of a chunk reference.
const (
	FileKind      = "file"
	FileChunks    = "c"
	FileChunkList = "l"
	FileTreeDepth = "x"

	// MaxTreeDepth is the deepest tree of lists a reader follows.
	MaxTreeDepth = 6
)

// ChunkRefs reads the chunk references of an object of kind with fields
// (msgpack values): the inline hashes (a multiple of 32 bytes), the hash
// of a list chunk (32 bytes) and the depth of the tree under it (1 for a
// flat list, as in records without FileTreeDepth), hashes and list nil
// when absent or malformed, and both nil unless kind is FileKind.
func ChunkRefs(kind string, fields map[string]msgpack.RawMessage) (hashes, list []byte, depth int) {
	if kind != FileKind {
		return nil, nil, 0
	}
	if msgpack.Unmarshal(fields[FileChunks], &hashes) != nil || len(hashes)%32 != 0 || len(hashes) == 0 {
		hashes = nil
	}
	if msgpack.Unmarshal(fields[FileChunkList], &list) != nil || len(list) != 32 {
		list = nil
	}
	depth = 1
	if raw, ok := fields[FileTreeDepth]; ok && list != nil {
		if msgpack.Unmarshal(raw, &depth) != nil || depth < 1 || depth > MaxTreeDepth {
			list, depth = nil, 0
		}
	}
	return hashes, list, depth
}
