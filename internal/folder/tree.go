package folder

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/synkhq/synk/internal/chunkref"
)

// A file of more than inlineChunks chunks names them through a tree of
// list chunks (issue 22.1): the chunk hashes are cut into lists where the
// hashes themselves say (after minList entries, after any entry whose
// last 4 bytes are 0 modulo listEvery, and at maxList), each list is a
// chunk named by its hash, those hashes are cut into lists the same way,
// and so on up to one list, the root, which the record names (field l,
// the tree's depth in x). Since the cuts depend on the hashes alone, a
// changed chunk changes one list per level (two where it moved a cut),
// and an inserted one shifts no other list: a 1-byte edit in a 1 GB file
// sends a chunk of ~24 KiB and lists of ~2.5 KiB, not a list of 1.4 MiB.
// Records without x (chunkScheme 0) name one flat list.
const (
	minList   = 16                    // entries of a list, but the last of a level
	maxList   = 256                   // entries: a list chunk holds at most 8 KiB
	listEvery = 64                    // a cut after about 1 in listEvery entries past minList
	maxDepth  = chunkref.MaxTreeDepth // levels of lists: maxList^6 chunks is far beyond any file
)

// cutLists cuts a level's hashes (32 bytes each) into lists.
func cutLists(level []byte) [][]byte {
	var lists [][]byte
	start := 0
	for i := 0; i < len(level); i += 32 {
		n := (i-start)/32 + 1
		last := binary.BigEndian.Uint32(level[i+28 : i+32])
		if n >= minList && last%listEvery == 0 || n == maxList {
			lists = append(lists, level[start:i+32])
			start = i + 32
		}
	}
	if start < len(level) {
		lists = append(lists, level[start:])
	}
	return lists
}

// buildTree returns the list chunks of a tree over hashes (more than
// inlineChunks of them), every level's, the root's hash and the depth.
func buildTree(hashes []byte) (lists [][]byte, root [32]byte, depth int) {
	level := hashes
	for {
		cut := cutLists(level)
		lists = append(lists, cut...)
		depth++
		next := make([]byte, 0, 32*len(cut))
		for _, l := range cut {
			h := sha256.Sum256(l)
			next = append(next, h[:]...)
		}
		if len(cut) == 1 {
			copy(root[:], next)
			return lists, root, depth
		}
		level = next
	}
}

// treeBudget bounds the bytes of lists a download may fetch for a record
// of size bytes: its leaves can name at most size/MinChunk+1 chunks, and
// each level above holds at most as many entries as the one below.
func treeBudget(size int64, depth int) int64 {
	return 32 * (size/MinChunk + 2) * int64(depth)
}

// checkList checks a list chunk fetched for a tree: whole hashes, at most
// maxList of them, at least one.
func checkList(l []byte) error {
	if len(l) == 0 || len(l)%32 != 0 || len(l) > 32*maxList {
		return fmt.Errorf("a list chunk of %d bytes: %w", len(l), errBadRecord)
	}
	return nil
}
