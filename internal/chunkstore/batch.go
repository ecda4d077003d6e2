package chunkstore

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/synkhq/synk/internal/diskfree"
)

// Batch stores many chunks of one room with one sync of the disk for all
// of them instead of one each (a file of small chunks has thousands):
// each chunk goes to a temporary file beside its place as it is added,
// and Commit syncs them, renames them into place and syncs again, so a
// chunk is there whole or not at all, and every chunk Commit reports is
// on the disk. In memory, Add stores each chunk at once.
type Batch struct {
	cs      *Store
	room    string
	quota   int64
	pending []pendingChunk
	added   map[[32]byte]bool // the chunks in pending
}

// pendingChunk is a chunk written to tmp, to be renamed to dst (on disk),
// or held as data (in memory).
type pendingChunk struct {
	sum      [32]byte
	tmp, dst string
	data     []byte
	size     int64
}

// Batch starts a batch of room's chunks, within quota. Call Commit or
// Abort.
func (cs *Store) Batch(room string, quota int64) *Batch {
	return &Batch{cs: cs, room: room, quota: quota, added: make(map[[32]byte]bool)}
}

// Add stores the chunk of n bytes named sum that write writes (on disk
// streamed to a temporary file, hashed on the way; in memory read whole),
// unless the room holds it already: then write is not called, and the
// caller skips its bytes. It reports whether the chunk is new. The chunk
// counts against the room's quota from now; it is in the store once
// Commit returns. Errors: ErrHash, ErrQuota, ErrMemory, ErrDiskFull,
// ErrStore, or write's own.
func (b *Batch) Add(sum [32]byte, n int64, write func(io.Writer) (int64, error)) (bool, error) {
	cs := b.cs
	if b.added[sum] {
		return false, nil
	}
	if held, err := cs.Hold(b.room, sum, time.Now()); held || err != nil {
		return false, err
	}
	if cs.dir == "" {
		w := &sliceWriter{b: make([]byte, 0, n)}
		got, err := write(w)
		if err == nil && sha256.Sum256(w.b) != sum {
			err = ErrHash
		}
		if err == nil {
			err = b.reserve(got)
		}
		if err != nil {
			return false, err
		}
		b.pending = append(b.pending, pendingChunk{sum: sum, data: w.b, size: got})
		b.added[sum] = true
		return true, nil
	}
	dst := cs.Path(b.room, sum)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return false, fmt.Errorf("%w: %v", ErrStore, err)
	}
	if free, ok := diskfree.Bytes(filepath.Dir(dst)); ok && free-n < cs.minFree {
		return false, fmt.Errorf("%w: %d bytes free on the data directory's disk, which keeps %d free", ErrDiskFull, free, cs.minFree)
	}
	f, err := os.CreateTemp(filepath.Dir(dst), ".tmp-")
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrStore, err)
	}
	h := sha256.New()
	got, err := write(io.MultiWriter(f, h))
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("%w: %v", ErrStore, cerr)
	}
	if err == nil && [32]byte(h.Sum(nil)) != sum {
		err = ErrHash
	}
	if err == nil {
		err = b.reserve(got)
	}
	if err != nil {
		os.Remove(f.Name())
		return false, err
	}
	b.pending = append(b.pending, pendingChunk{sum: sum, tmp: f.Name(), dst: dst, size: got})
	b.added[sum] = true
	return true, nil
}

// reserve counts size bytes more of the room's chunks, within the quota
// (and, in memory, of the server's chunks within its memory budget).
func (b *Batch) reserve(size int64) error {
	cs := b.cs
	cs.mu.Lock()
	defer cs.mu.Unlock()
	used, err := cs.used(b.room)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrStore, err)
	}
	if used+size > b.quota {
		return fmt.Errorf("%w: room holds %d bytes of chunks, %d more would pass its %d", ErrQuota, used, size, b.quota)
	}
	if cs.dir == "" {
		if cs.inMem+size > cs.maxMem {
			return fmt.Errorf("%w: the server holds %d bytes of chunks in memory, its limit is %d", ErrMemory, cs.inMem, cs.maxMem)
		}
		cs.inMem += size
	}
	cs.usage[b.room] = used + size
	return nil
}

// Commit puts the batch's chunks in place, durably: their bytes are
// synced before any is renamed into place, and the renames before Commit
// returns.
func (b *Batch) Commit() error {
	if len(b.pending) == 0 {
		return nil
	}
	if b.cs.dir == "" {
		b.commitMemory()
		return nil
	}
	dir := b.cs.roomDir(b.room)
	if err := syncFiles(dir, b.pending); err != nil {
		b.Abort()
		return fmt.Errorf("%w: %v", ErrStore, err)
	}
	var errs []error
	for i, p := range b.pending {
		if err := b.place(p); err != nil {
			errs = append(errs, err)
		}
		b.pending[i].tmp = ""
	}
	if err := syncDirs(dir, b.pending); err != nil {
		errs = append(errs, err)
	}
	b.pending = nil
	if len(errs) > 0 {
		return fmt.Errorf("%w: %v", ErrStore, errors.Join(errs...))
	}
	return nil
}

// place renames p into place, unless another request stored that chunk
// meanwhile: then it is counted once.
func (b *Batch) place(p pendingChunk) error {
	cs := b.cs
	cs.mu.Lock()
	defer cs.mu.Unlock()
	_, err := os.Stat(p.dst)
	if err == nil {
		err = os.ErrExist
	} else {
		err = os.Rename(p.tmp, p.dst)
	}
	if err != nil {
		os.Remove(p.tmp)
		if _, counted := cs.usage[b.room]; counted {
			cs.usage[b.room] -= p.size
		}
	}
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	return err
}

// commitMemory puts the batch's chunks in memory; one another request
// stored meanwhile is counted once.
func (b *Batch) commitMemory() {
	cs := b.cs
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.mem[b.room] == nil {
		cs.mem[b.room] = make(map[string]memChunk)
	}
	now := time.Now()
	for _, p := range b.pending {
		if _, ok := cs.mem[b.room][string(p.sum[:])]; ok {
			cs.usage[b.room] -= p.size
			cs.inMem -= p.size
			continue
		}
		cs.mem[b.room][string(p.sum[:])] = memChunk{data: p.data, at: now}
	}
	b.pending = nil
}

// Abort drops the batch's chunks not yet committed.
func (b *Batch) Abort() {
	for _, p := range b.pending {
		if p.tmp != "" {
			os.Remove(p.tmp)
		}
		if p.tmp != "" || p.data != nil {
			b.unreserve(p.size)
		}
	}
	b.pending = nil
}

func (b *Batch) unreserve(size int64) {
	b.cs.mu.Lock()
	defer b.cs.mu.Unlock()
	if _, counted := b.cs.usage[b.room]; counted {
		b.cs.usage[b.room] -= size
	}
	if b.cs.dir == "" {
		b.cs.inMem -= size
	}
}

// sliceWriter appends to b.
type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }
