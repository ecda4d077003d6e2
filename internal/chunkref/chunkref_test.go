package chunkref

import (
	"bytes"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

func TestChunkRefs(t *testing.T) {
	t.Parallel()
	enc := func(v any) msgpack.RawMessage { b, _ := msgpack.Marshal(v); return b }
	two, one := bytes.Repeat([]byte{1}, 64), bytes.Repeat([]byte{2}, 32)
	for _, c := range []struct {
		name         string
		kind         string
		fields       map[string]msgpack.RawMessage
		hashes, list []byte
		depth        int
	}{
		{"inline", FileKind, map[string]msgpack.RawMessage{FileChunks: enc(two), FileChunkList: enc([]byte{})}, two, nil, 1},
		{"list", FileKind, map[string]msgpack.RawMessage{FileChunks: enc([]byte{}), FileChunkList: enc(one)}, nil, one, 1},
		{"tree", FileKind, map[string]msgpack.RawMessage{FileChunkList: enc(one), FileTreeDepth: enc(3)}, nil, one, 3},
		{"too deep", FileKind, map[string]msgpack.RawMessage{FileChunkList: enc(one), FileTreeDepth: enc(MaxTreeDepth + 1)}, nil, nil, 0},
		{"depth not a number", FileKind, map[string]msgpack.RawMessage{FileChunkList: enc(one), FileTreeDepth: enc("3")}, nil, nil, 0},
		{"not a file", "dir", map[string]msgpack.RawMessage{FileChunks: enc(two)}, nil, nil, 0},
		{"ragged hashes", FileKind, map[string]msgpack.RawMessage{FileChunks: enc(two[:40])}, nil, nil, 1},
		{"short list hash", FileKind, map[string]msgpack.RawMessage{FileChunkList: enc(one[:31])}, nil, nil, 1},
		{"not bytes", FileKind, map[string]msgpack.RawMessage{FileChunks: enc("x"), FileChunkList: enc(7)}, nil, nil, 1},
		{"none", FileKind, nil, nil, nil, 1},
	} {
		hashes, list, depth := ChunkRefs(c.kind, c.fields)
		if !bytes.Equal(hashes, c.hashes) || !bytes.Equal(list, c.list) || depth != c.depth {
			t.Errorf("%s: ChunkRefs = % x, % x, %d; want % x, % x, %d", c.name, hashes, list, depth, c.hashes, c.list, c.depth)
		}
	}
}
