package protocol

import "github.com/vmihailenco/msgpack/v5"

// Folder sync keeps files as objects, and their content as chunks the
// server stores by SHA-256 (docs/FOLDER.md). The server keeps a chunk
// while a file refers to it, so the schema of a reference is shared here:
// an object of kind FileKind names its chunks' hashes, 32 bytes each back
// to back, in field FileChunks, or, for a long list, the hash of a chunk
// that holds that list in field FileChunkList.
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
