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
	}{
		{"inline", FileKind, map[string]msgpack.RawMessage{FileChunks: enc(two), FileChunkList: enc([]byte{})}, two, nil},
		{"list", FileKind, map[string]msgpack.RawMessage{FileChunks: enc([]byte{}), FileChunkList: enc(one)}, nil, one},
		{"not a file", "dir", map[string]msgpack.RawMessage{FileChunks: enc(two)}, nil, nil},
		{"ragged hashes", FileKind, map[string]msgpack.RawMessage{FileChunks: enc(two[:40])}, nil, nil},
		{"short list hash", FileKind, map[string]msgpack.RawMessage{FileChunkList: enc(one[:31])}, nil, nil},
		{"not bytes", FileKind, map[string]msgpack.RawMessage{FileChunks: enc("x"), FileChunkList: enc(7)}, nil, nil},
		{"none", FileKind, nil, nil, nil},
	} {
		hashes, list := ChunkRefs(c.kind, c.fields)
		if !bytes.Equal(hashes, c.hashes) || !bytes.Equal(list, c.list) {
			t.Errorf("%s: ChunkRefs = % x, % x; want % x, % x", c.name, hashes, list, c.hashes, c.list)
		}
	}
}
