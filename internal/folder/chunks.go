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

// Chunk sizes: boundaries fall where the content says, after MinChunk
// bytes with a chance of 1 in 2^averageBits at each byte (about 24 KiB on
// average), and never further than MaxChunk, so a 1-byte edit sends one
// small chunk and the lists that name it (issue 22.1): at most 40 KiB and
// three lists of at most 8 KiB in a file of a few GB, ~30 KB as a rule.
// (Smaller chunks send less per edit but cost the server a file each:
// 16 KiB on average made the 1 GB initial sync 1.3 times slower.) Records written
// before (without field x: chunkScheme 0) name chunks of oldMinChunk to
// oldMaxChunk bytes, ~1 MiB; they still sync, and a file's next change
// splits it anew.
const (
	MinChunk    = 16 << 10
	MaxChunk    = 40 << 10
	averageBits = 13

	oldMinChunk = chunker.MinSize // 512 KiB
	oldMaxChunk = chunker.MaxSize // 8 MiB: the largest chunk a download takes
)

// Chunk is one content-defined piece of a file.
type Chunk struct {
	Hash   [sha256.Size]byte // SHA-256 of its bytes: its name in the chunk store
	Offset int64
	Size   int
}

// splitter is a chunker and a chunk's buffer, kept for the next Split:
// allocating them per file costs more than chunking a small one.
type splitter struct {
	c   *chunker.Chunker
	buf []byte
}

var splitters = sync.Pool{New: func() any {
	return &splitter{c: chunker.NewWithBoundaries(nil, polynomial, MinChunk, MaxChunk), buf: make([]byte, MaxChunk)}
}}

// Split reads r to its end and returns its chunks, in order, and the hash
// of the whole content. It holds at most one chunk (MaxChunk bytes) in
// memory, whatever r's size.
func Split(r io.Reader) ([]Chunk, [sha256.Size]byte, error) {
	whole := sha256.New()
	sp := splitters.Get().(*splitter)
	defer splitters.Put(sp)
	c, buf := sp.c, sp.buf
	c.ResetWithBoundaries(io.TeeReader(r, whole), polynomial, MinChunk, MaxChunk)
	c.SetAverageBits(averageBits)
	defer c.ResetWithBoundaries(nil, polynomial, MinChunk, MaxChunk) // drop r
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
