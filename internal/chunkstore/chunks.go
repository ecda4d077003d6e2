package chunkstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Chunks is a chunk store: Store (one server's data directory or memory)
// or Cluster (a JetStream Object Store every node of a cluster shares).
// Chunks are named by the SHA-256 of their content, per room; a room's
// chunks count against its quota.
type Chunks interface {
	// OnDisk reports whether PutFrom streams a chunk to its place; if not,
	// a chunk is held whole in memory until stored.
	OnDisk() bool
	// Hold reports whether room holds the chunk and, if it does, renews
	// its age: a device told that the room holds a chunk will name it in a
	// record soon, so the collector must not take it now.
	Hold(ctx context.Context, room string, sum [32]byte, now time.Time) (bool, error)
	// Get returns the chunk's content, or an error wrapping
	// fs.ErrNotExist.
	Get(ctx context.Context, room string, sum [32]byte) ([]byte, error)
	// GetMany reads the chunks sums in order, calling each with every one
	// (data nil and an error wrapping fs.ErrNotExist for one the room
	// lacks) until each returns false. It may read ahead. What it holds
	// read, until each returns, it takes from mem: when mem has no room
	// for a chunk, each gets ErrMemory for it, and no more.
	GetMany(ctx context.Context, room string, sums [][32]byte, mem Budget, each func(i int, data []byte, err error) bool)
	// Put stores data, whose SHA-256 the caller has checked to be sum,
	// unless the room holds it already; it reports whether it was new.
	Put(ctx context.Context, room string, sum [32]byte, data []byte, quota int64) (bool, error)
	// PutFrom stores the chunk write writes, hashed on the way, unless the
	// room holds it already, and only if it hashes to sum and fits the
	// quota. It returns whether it was new and its size.
	PutFrom(ctx context.Context, room string, sum [32]byte, quota int64, write func(io.Writer) (int64, error)) (bool, int64, error)
	// Batch starts storing many of room's chunks at once, within quota.
	Batch(ctx context.Context, room string, quota int64) Batch
	// Sweep deletes, in every room, the chunks keep(room) does not hold
	// that were stored or renewed before cutoff, and reports each room's
	// chunks and bytes deleted. A shared store sweeps once per every
	// across all its users: a call soon after another's does nothing.
	// The cluster's store also purges the pieces of chunks never
	// finished (a node died before it named them) once older than
	// cutoff, and reports their number with room "" (bytes unknown).
	Sweep(ctx context.Context, every time.Duration, keep func(room string) map[[32]byte]bool, cutoff time.Time, report func(room string, n int, freed int64)) error
}

// Budget is memory that many readers share, in bytes.
type Budget interface {
	// TryTake takes n bytes, or reports false if they are not left.
	TryTake(n int64) bool
	// Give gives back n bytes taken.
	Give(n int64)
}

// Batch stores many chunks of one room at once (Chunks.Batch).
type Batch interface {
	// Add stores the chunk of about n bytes named sum that write writes
	// (hashed on the way), unless the room or the batch holds it already:
	// then write is not called, and the caller skips its bytes. It reports
	// whether the chunk is new. The chunk counts against the room's quota
	// from now; it is in the store once Commit returns. Errors: ErrHash,
	// ErrQuota, ErrMemory, ErrDiskFull, ErrStore, ErrUnavailable, or
	// write's own.
	Add(sum [32]byte, n int64, write func(io.Writer) (int64, error)) (bool, error)
	// Held returns the bytes of chunks the batch holds in memory now.
	Held() int64
	// Commit returns once every chunk added is stored, or the first
	// failure.
	Commit() error
	// Abort drops what it can of a batch not committed.
	Abort()
}

var (
	_ Chunks = (*Store)(nil)
	_ Chunks = (*Cluster)(nil)
)

// GetMany reads the chunks one after another (see Chunks.GetMany): a
// local read has no round trip to hide.
// A chunk kept in memory (no directory) is shared, not read: it takes
// nothing from mem.
func (cs *Store) GetMany(ctx context.Context, room string, sums [][32]byte, mem Budget, each func(int, []byte, error) bool) {
	for i, sum := range sums {
		data, err := cs.Get(ctx, room, sum)
		n := int64(len(data))
		if cs.dir == "" {
			n = 0
		}
		if n > 0 && !mem.TryTake(n) {
			each(i, nil, fmt.Errorf("%w: no memory left to send a chunk of %d bytes", ErrMemory, n))
			return
		}
		more := each(i, data, err)
		if n > 0 {
			mem.Give(n)
		}
		if !more {
			return
		}
	}
}

// Sweep collects every room's chunks (see Chunks.Sweep); a collection
// runs on one server only, so every is not needed.
func (cs *Store) Sweep(ctx context.Context, _ time.Duration, keep func(string) map[[32]byte]bool, cutoff time.Time, report func(string, int, int64)) error {
	rooms, err := cs.Rooms()
	if err != nil {
		return err
	}
	var errs []error
	for _, room := range rooms {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, freed, err := cs.Collect(room, keep(room), cutoff)
		if err != nil {
			errs = append(errs, fmt.Errorf("room %q: %w", room, err))
		}
		report(room, n, freed)
	}
	return errors.Join(errs...)
}
