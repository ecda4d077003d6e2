// Package chunkref is the one place that knows how folder sync's file
// objects refer to chunks: the folder records (internal/folder) write
// references this way, and the server's chunk collection (server) reads
// them to keep the chunks files need.
//
// Folder sync keeps files as objects, and their content as chunks the
// server stores by SHA-256 (docs/FOLDER.md). An object of kind FileKind
// names its chunks' hashes, 32 bytes each back to back, in field
// FileChunks, or, for a long list, the hash of a chunk that holds that
// list in field FileChunkList.
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
)

// ChunkRefs reads the chunk references of an object of kind with fields
// (msgpack values): the inline hashes (a multiple of 32 bytes) and the
// hash of a list chunk (32 bytes), each nil when absent or malformed, and
// both nil unless kind is FileKind.
func ChunkRefs(kind string, fields map[string]msgpack.RawMessage) (hashes, list []byte) {
	if kind != FileKind {
		return nil, nil
	}
	if msgpack.Unmarshal(fields[FileChunks], &hashes) != nil || len(hashes)%32 != 0 || len(hashes) == 0 {
		hashes = nil
	}
	if msgpack.Unmarshal(fields[FileChunkList], &list) != nil || len(list) != 32 {
		list = nil
	}
	return hashes, list
}
