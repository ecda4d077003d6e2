package folder

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/restic/chunker"
)

// polynomial is the Rabin polynomial every device chunks with: chunk
// boundaries, and so chunk hashes, match across devices only if it is the
// same everywhere. It must never change. (It is irreducible; see the test.)
const polynomial = chunker.Pol(0x3DA3358B4DC173)

// Chunk sizes: boundaries fall where the content says, on average every
// 1 MiB, never closer than 512 KiB or further than 8 MiB.
const (
	MinChunk = chunker.MinSize
	MaxChunk = chunker.MaxSize
)

// Chunk is one content-defined piece of a file.
type Chunk struct {
	Hash   [sha256.Size]byte // SHA-256 of its bytes: its name in the chunk store
	Offset int64
	Size   int
}

// splitter is a chunker and a chunk's buffer, kept for the next Split:
// both are large (8.5 MiB), and allocating them per file costs more than
// chunking a small one.
type splitter struct {
	c   *chunker.Chunker
	buf []byte
}

var splitters = sync.Pool{New: func() any {
	return &splitter{c: chunker.New(nil, polynomial), buf: make([]byte, MaxChunk)}
}}

// Split reads r to its end and returns its chunks, in order, and the hash
// of the whole content. It holds at most one chunk (MaxChunk bytes) in
// memory, whatever r's size.
func Split(r io.Reader) ([]Chunk, [sha256.Size]byte, error) {
	whole := sha256.New()
	sp := splitters.Get().(*splitter)
	defer splitters.Put(sp)
	c, buf := sp.c, sp.buf
	c.Reset(io.TeeReader(r, whole), polynomial)
	defer c.Reset(nil, polynomial) // drop r
	var out []Chunk
	var off int64
	for {
		ch, err := c.Next(buf)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, [sha256.Size]byte{}, fmt.Errorf("folder: chunk: %w", err)
		}
		out = append(out, Chunk{Hash: sha256.Sum256(ch.Data), Offset: off, Size: int(ch.Length)})
		off += int64(ch.Length)
	}
	var sum [sha256.Size]byte
	copy(sum[:], whole.Sum(nil))
	return out, sum, nil
}
