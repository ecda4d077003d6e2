package folder

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// errChanging is a file that changed while it was read: it is left for a
// later pass, when it has settled.
var errChanging = errors.New("folder: file changed while being read")

// content is a local file read into chunks.
type content struct {
	chunks []Chunk
	hash   [32]byte
	st     stat // the file's stat when read, unchanged from start to end
}

// hashes returns the content's chunk hashes, concatenated.
func (c *content) hashes() []byte {
	b := make([]byte, 0, 32*len(c.chunks))
	for _, ch := range c.chunks {
		b = append(b, ch.Hash[:]...)
	}
	return b
}

func (c *content) sizes() []int32 {
	z := make([]int32, len(c.chunks))
	for i, ch := range c.chunks {
		z[i] = int32(ch.Size)
	}
	return z
}

// statOf is a file's stat as a scan records it.
func statOf(info fs.FileInfo) stat {
	return stat{Dir: info.IsDir(), Mode: info.Mode() & fs.ModePerm, Size: info.Size(), MTime: info.ModTime().UnixNano()}
}

// readContent splits the file at full into chunks, streaming. If the file
// changes while it is read, it returns errChanging.
func readContent(full string) (*content, error) {
	f, err := os.Open(full)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	before, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !before.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is no longer a regular file", full)
	}
	chunks, hash, err := Split(f)
	if err != nil {
		return nil, err
	}
	after, err := os.Stat(full)
	if err != nil {
		return nil, err
	}
	st := statOf(before)
	if statOf(after) != st || !os.SameFile(before, after) {
		return nil, errChanging
	}
	return &content{chunks: chunks, hash: hash, st: st}, nil
}

// chunkAt reads chunk ch of the open file f and checks its hash; a
// mismatch means the file changed since it was split.
func chunkAt(f *os.File, ch Chunk, buf []byte) ([]byte, error) {
	buf = buf[:ch.Size]
	if _, err := f.ReadAt(buf, ch.Offset); err != nil {
		return nil, fmt.Errorf("%w: %v", errChanging, err)
	}
	if sha256.Sum256(buf) != ch.Hash {
		return nil, errChanging
	}
	return buf, nil
}

// racyWindow: a file whose time is this close to now may change again
// within the file system's time resolution without its size or time
// changing, so its entry keeps no time and the next pass reads it again.
const racyWindow = 2 * time.Second

// stamp returns the local size and time an entry keeps for st.
func stamp(st stat, now time.Time) (int64, int64) {
	if now.UnixNano()-st.MTime < int64(racyWindow) {
		return st.Size, 0
	}
	return st.Size, st.MTime
}

// renamed returns the content of the new file at p (l) if it is a file
// this pass finds gone from its old path (a rename or a move): an entry
// whose file is missing here, of l's size and time to the nanosecond,
// whose first and last chunks p holds. Its chunks and hash are the old
// entry's, so p is neither split again nor its chunks asked about (the
// room's record of the old path names them). Else nil: split p.
func (ps *passState) renamed(p string, l stat) *content {
	ps.mu.Lock()
	var from *entry
	for q, e := range ps.f.ix.Entries {
		if _, here := ps.local[q]; here || q == p || e.Rec.Dir || e.Rec.Link != "" || e.Rec.Scheme != smallChunks ||
			e.LMTime == 0 || e.LSize != l.Size || e.LMTime != l.MTime || len(e.Sizes) == 0 || len(e.hashes()) != 32*len(e.Sizes) {
			continue
		}
		from = e
		break
	}
	ps.mu.Unlock()
	if from == nil {
		return nil
	}
	c := &content{hash: from.Rec.Hash, st: l}
	hs := from.hashes()
	var off int64
	for i, n := range from.Sizes {
		c.chunks = append(c.chunks, Chunk{Hash: [32]byte(hs[32*i : 32*i+32]), Offset: off, Size: int(n)})
		off += int64(n)
	}
	if off != l.Size {
		return nil
	}
	f, err := os.Open(ps.f.full(p))
	if err != nil {
		return nil
	}
	defer f.Close()
	buf := make([]byte, MaxChunk)
	for _, ch := range []Chunk{c.chunks[0], c.chunks[len(c.chunks)-1]} {
		if ch.Size > len(buf) {
			return nil
		}
		if _, err := chunkAt(f, ch, buf); err != nil {
			return nil // other content after all: split it
		}
	}
	return c
}
