package chunkstore

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"time"

	"github.com/synkhq/synk/internal/diskfree"
)

// diskBatch stores many chunks of one room at once: on disk as one pack
// (packs.go), synced once for all of them, so that a chunk is there whole
// or not at all and every chunk Commit reports is on the disk; in memory
// as the chunks themselves, put in place by Commit. A file of small
// chunks has thousands, and a file and an fsync each would cost more than
// their bytes.
type diskBatch struct {
	cs       *Store
	room     string
	quota    int64
	added    map[[32]byte]int64 // the chunks added, and their sizes
	w        *packWriter        // on disk: the pack being written
	mem      map[[32]byte][]byte
	memBytes int64 // of mem
	free     int64 // what the disk had free when last asked, less what was added since
	asked    bool
	reserve  int64 // bytes counted against the room's quota (and memory) so far
}

// Batch starts a batch of room's chunks, within quota. Call Commit or
// Abort.
func (cs *Store) Batch(_ context.Context, room string, quota int64) Batch {
	return &diskBatch{cs: cs, room: room, quota: quota, added: make(map[[32]byte]int64), mem: make(map[[32]byte][]byte)}
}

// Add stores the chunk of n bytes named sum that write writes (hashed on
// the way), unless the room or the batch holds it already: then write is
// not called, and the caller skips its bytes. It reports whether the
// chunk is new. The chunk counts against the room's quota from now; it
// is in the store once Commit returns. Errors: ErrHash, ErrQuota,
// ErrMemory, ErrDiskFull, ErrStore, or write's own.
func (b *diskBatch) Add(sum [32]byte, n int64, write func(io.Writer) (int64, error)) (bool, error) {
	cs := b.cs
	if _, ok := b.added[sum]; ok {
		return false, nil
	}
	if held, err := cs.Hold(context.Background(), b.room, sum, time.Now()); held || err != nil {
		return false, err
	}
	h := sha256.New()
	if cs.dir == "" {
		w := &sliceWriter{b: make([]byte, 0, n)}
		got, err := write(io.MultiWriter(w, h))
		if err == nil && [32]byte(h.Sum(nil)) != sum {
			err = ErrHash
		}
		if err == nil {
			err = b.count(got)
		}
		if err != nil {
			return false, err
		}
		b.mem[sum], b.added[sum] = w.b, got
		b.memBytes += got
		return true, nil
	}
	if b.w == nil {
		w, err := newPackWriter(cs.packDir(b.room))
		if err != nil {
			return false, fmt.Errorf("%w: %v", ErrStore, err)
		}
		b.w = w
	}
	if b.free -= n; !b.asked || b.free < cs.minFree { // statfs once, and again when it may be short
		free, ok := diskfree.Bytes(b.w.dir)
		if !ok {
			free = 1 << 62
		}
		b.asked = true
		if b.free = free - n; b.free < cs.minFree {
			return false, fmt.Errorf("%w: %d bytes free on the data directory's disk, which keeps %d free", ErrDiskFull, free, cs.minFree)
		}
	}
	got, err := b.w.add(sum, func(f io.Writer) (int64, error) { return write(io.MultiWriter(f, h)) })
	if err != nil {
		return false, err
	}
	if [32]byte(h.Sum(nil)) != sum {
		err = ErrHash
	} else {
		err = b.count(got + idxEntrySize)
	}
	if err != nil {
		b.w.drop()
		return false, err
	}
	b.added[sum] = got
	return true, nil
}

// Held: in memory, every chunk added until Commit; on disk, none.
func (b *diskBatch) Held() int64 { return b.memBytes }

// count counts size bytes more of the room's chunks, within the quota
// (and, in memory, of the server's chunks within its memory budget).
func (b *diskBatch) count(size int64) error {
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
	b.reserve += size
	return nil
}

// Commit puts the batch's chunks in place: on disk, its pack synced, then
// its index; a chunk another request stored meanwhile is counted once.
func (b *diskBatch) Commit() error {
	cs := b.cs
	if cs.dir == "" {
		cs.mu.Lock()
		defer cs.mu.Unlock()
		if cs.mem[b.room] == nil {
			cs.mem[b.room] = make(map[string]memChunk)
		}
		now := time.Now()
		for sum, data := range b.mem {
			if _, ok := cs.mem[b.room][string(sum[:])]; ok {
				cs.usage[b.room] -= int64(len(data))
				cs.inMem -= int64(len(data))
				continue
			}
			cs.mem[b.room][string(sum[:])] = memChunk{data: data, at: now}
		}
		b.mem, b.memBytes, b.reserve = nil, 0, 0
		return nil
	}
	if b.w == nil {
		return nil
	}
	w := b.w
	b.w = nil
	if len(w.entries) == 0 {
		w.abort()
		b.uncount()
		return nil
	}
	if err := w.finish(); err != nil {
		b.uncount()
		return fmt.Errorf("%w: %v", ErrStore, err)
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	rp, err := cs.packsOf(b.room)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrStore, err)
	}
	pf := rp.files[w.name]
	if pf == nil { // (else the index was read from the disk meanwhile)
		pf = &packFile{size: w.off}
		rp.files[w.name] = pf
	}
	now := time.Now()
	for _, e := range w.entries {
		if p := rp.chunks[e.sum]; p != nil {
			continue // stored twice, or read from the disk meanwhile
		}
		rp.chunks[e.sum] = &packed{pack: w.name, off: e.off, size: e.size, at: now}
		pf.live += e.size
	}
	b.reserve = 0
	return nil
}

// Abort drops the batch's chunks not yet committed.
func (b *diskBatch) Abort() {
	if b.w != nil {
		b.w.abort()
		b.w = nil
	}
	b.mem, b.memBytes = nil, 0
	b.uncount()
}

// uncount gives back what the batch counted against the quota.
func (b *diskBatch) uncount() {
	if b.reserve == 0 {
		return
	}
	cs := b.cs
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if _, counted := cs.usage[b.room]; counted {
		cs.usage[b.room] -= b.reserve
	}
	if cs.dir == "" {
		cs.inMem -= b.reserve
	}
	b.reserve = 0
}

// sliceWriter appends to b.
type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }
