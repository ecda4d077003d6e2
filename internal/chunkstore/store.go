// Package chunkstore keeps folder sync's chunks for the server: each
// room's chunks named by their SHA-256, in a data directory (streamed to
// disk, with a floor of free space) or in memory (with a budget), with
// per-room quotas and collection of the chunks no file refers to any more.
package chunkstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/renameio/v2"
	"github.com/synkhq/synk/internal/diskfree"
)

// Store keeps each room's chunks, named by the SHA-256 of their
// content, once: on disk under DataDir/chunks, or in memory.
type Store struct {
	dir      string // "" keeps chunks in memory
	maxMem   int64  // the most bytes of chunks held in memory, every room's
	minFree  int64  // the disk space an upload to dir must leave free
	maxChunk int64  // the largest chunk

	started time.Time // when the store began: packed chunks are no older

	mu    sync.Mutex                     // Protects the following.
	mem   map[string]map[string]memChunk // room → hash → chunk (memory only)
	packs map[string]*roomPacks          // room → its packs, once read (disk only)
	usage map[string]int64               // room → bytes held, once counted
	inMem int64                          // bytes of chunks in mem
}

// memChunk is a chunk kept in memory.
type memChunk struct {
	data []byte
	at   time.Time // stored or last asked about
}

func New(dataDir string, maxMem, minFree, maxChunk int64) *Store {
	cs := &Store{maxMem: maxMem, minFree: minFree, maxChunk: maxChunk, started: time.Now(),
		mem: make(map[string]map[string]memChunk), packs: make(map[string]*roomPacks), usage: make(map[string]int64)}
	if dataDir != "" {
		cs.dir = filepath.Join(dataDir, "chunks")
	}
	return cs
}

// OnDisk reports whether chunks are kept in a data directory (PutFrom
// streams to it) rather than in memory (Put takes whole chunks).
func (cs *Store) OnDisk() bool { return cs.dir != "" }

// roomDir is where a room's chunks live: its name in hex, so that any
// valid room name is a safe file name.
func (cs *Store) roomDir(room string) string {
	return filepath.Join(cs.dir, hex.EncodeToString([]byte(room)))
}

// Path is the file that keeps room's chunk sum when the store is on disk:
// <dir>/chunks/<room in hex>/<first 2 of the hash>/<hash in hex>.
func (cs *Store) Path(room string, sum [32]byte) string {
	h := hex.EncodeToString(sum[:])
	return filepath.Join(cs.roomDir(room), h[:2], h)
}

// used returns the bytes room's chunks take; cs.mu must be held.
func (cs *Store) used(room string) (int64, error) {
	if n, ok := cs.usage[room]; ok {
		return n, nil
	}
	var n int64
	if cs.dir != "" {
		err := filepath.WalkDir(cs.roomDir(room), func(_ string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				info, err := d.Info()
				if err != nil {
					return err
				}
				n += info.Size()
			}
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return 0, err
		}
	}
	cs.usage[room] = n
	return n, nil
}

// Hold reports whether room holds the chunk and, if it does, renews its
// time: a device that is told the room holds a chunk will refer to it
// soon, so the collector must not take it now (see collect).
func (cs *Store) Hold(_ context.Context, room string, sum [32]byte, now time.Time) (bool, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.dir == "" {
		c, ok := cs.mem[room][string(sum[:])]
		if ok {
			c.at = now
			cs.mem[room][string(sum[:])] = c
		}
		return ok, nil
	}
	if p, err := cs.packedChunk(room, sum); p != nil || err != nil {
		if p != nil {
			p.at = now
		}
		return p != nil, err
	}
	err := os.Chtimes(cs.Path(room, sum), time.Time{}, now)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// Get returns the chunk's content, or an error wrapping fs.ErrNotExist.
func (cs *Store) Get(_ context.Context, room string, sum [32]byte) ([]byte, error) {
	if cs.dir == "" {
		cs.mu.Lock()
		defer cs.mu.Unlock()
		c, ok := cs.mem[room][string(sum[:])]
		if !ok {
			return nil, fs.ErrNotExist
		}
		return c.data, nil
	}
	for try := 0; ; try++ {
		cs.mu.Lock()
		p, err := cs.packedChunk(room, sum)
		var at packed
		if p != nil {
			at = *p
		}
		cs.mu.Unlock()
		if err != nil {
			return nil, err
		}
		if p == nil {
			return os.ReadFile(cs.Path(room, sum))
		}
		data, err := cs.readPacked(room, &at)
		if errors.Is(err, fs.ErrNotExist) && try == 0 {
			continue // a collection moved it to another pack meanwhile
		}
		return data, err
	}
}

// ErrQuota is returned by put when the room's chunks would exceed the
// quota; ErrMemory when the server's chunks in memory would exceed
// MaxChunkMemory.
var (
	ErrQuota  = errors.New("chunk quota")
	ErrMemory = errors.New("chunk memory")
	// ErrDiskFull: the data directory's disk would keep less than
	// MinFreeDisk free.
	ErrDiskFull = errors.New("chunk disk")
)

// Put stores data, whose SHA-256 the caller has checked to be sum, unless
// the room holds it already. On disk it is written to a temporary file,
// synced, and renamed into place, so a chunk is there whole or not at all.
func (cs *Store) Put(_ context.Context, room string, sum [32]byte, data []byte, quota int64) (created bool, err error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if ok, err := cs.hasLocked(room, sum); ok || err != nil {
		return false, err
	}
	n, err := cs.used(room)
	if err != nil {
		return false, err
	}
	if n+int64(len(data)) > quota {
		return false, fmt.Errorf("%w: room holds %d bytes of chunks, %d more would pass its %d", ErrQuota, n, len(data), quota)
	}
	if cs.dir == "" {
		if cs.inMem+int64(len(data)) > cs.maxMem {
			return false, fmt.Errorf("%w: the server holds %d bytes of chunks in memory, its limit is %d", ErrMemory, cs.inMem, cs.maxMem)
		}
		if cs.mem[room] == nil {
			cs.mem[room] = make(map[string]memChunk)
		}
		cs.mem[room][string(sum[:])] = memChunk{data: bytes.Clone(data), at: time.Now()}
		cs.inMem += int64(len(data))
	} else {
		if err := os.MkdirAll(filepath.Dir(cs.Path(room, sum)), 0o755); err != nil {
			return false, err
		}
		// A temporary file, synced, renamed into place: whole or absent.
		if err := renameio.WriteFile(cs.Path(room, sum), data, 0o644); err != nil {
			return false, err
		}
	}
	cs.usage[room] = n + int64(len(data))
	return true, nil
}

// ErrHash is returned by putFrom for content that does not hash to
// its name; ErrStore wraps a failure of the store itself.
var (
	ErrHash  = errors.New("chunk content does not hash to its name")
	ErrStore = errors.New("chunk store")
)

// PutFrom stores the chunk that write writes, streamed to a temporary file
// beside its place and hashed on the way, unless the room holds it
// already: it is renamed into place, synced, only if it hashes to sum and
// fits the room's quota. It returns whether it was created and its size.
// Errors from write are returned as they are.
func (cs *Store) PutFrom(_ context.Context, room string, sum [32]byte, quota int64, write func(io.Writer) (int64, error)) (created bool, n int64, err error) {
	dst := cs.Path(room, sum)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return false, 0, fmt.Errorf("%w: %v", ErrStore, err)
	}
	if free, ok := diskfree.Bytes(filepath.Dir(dst)); ok && free-cs.maxChunk < cs.minFree {
		return false, 0, fmt.Errorf("%w: %d bytes free on the data directory's disk, which keeps %d free", ErrDiskFull, free, cs.minFree)
	}
	pf, err := renameio.NewPendingFile(dst, renameio.WithPermissions(0o644))
	if err != nil {
		return false, 0, fmt.Errorf("%w: %v", ErrStore, err)
	}
	defer pf.Cleanup()
	h := sha256.New()
	if n, err = write(io.MultiWriter(pf, h)); err != nil {
		return false, n, err
	}
	if [32]byte(h.Sum(nil)) != sum {
		return false, n, ErrHash
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if ok, err := cs.hasLocked(room, sum); ok || err != nil {
		return false, n, err
	}
	used, err := cs.used(room)
	if err != nil {
		return false, n, fmt.Errorf("%w: %v", ErrStore, err)
	}
	if used+n > quota {
		return false, n, fmt.Errorf("%w: room holds %d bytes of chunks, %d more would pass its %d", ErrQuota, used, n, quota)
	}
	if err := pf.CloseAtomicallyReplace(); err != nil {
		return false, n, fmt.Errorf("%w: %v", ErrStore, err)
	}
	cs.usage[room] = used + n
	return true, n, nil
}

func (cs *Store) hasLocked(room string, sum [32]byte) (bool, error) {
	if cs.dir == "" {
		_, ok := cs.mem[room][string(sum[:])]
		return ok, nil
	}
	if p, err := cs.packedChunk(room, sum); p != nil || err != nil {
		return p != nil, err
	}
	_, err := os.Stat(cs.Path(room, sum))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// Rooms returns the rooms that hold chunks.
func (cs *Store) Rooms() ([]string, error) {
	if cs.dir == "" {
		cs.mu.Lock()
		defer cs.mu.Unlock()
		out := make([]string, 0, len(cs.mem))
		for r := range cs.mem {
			out = append(out, r)
		}
		return out, nil
	}
	ents, err := os.ReadDir(cs.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	var out []string
	for _, e := range ents {
		if b, err := hex.DecodeString(e.Name()); err == nil && e.IsDir() {
			out = append(out, string(b))
		}
	}
	return out, err
}

// Collect deletes room's chunks that keep does not hold and that were
// stored or asked about before cutoff. Each is checked and deleted under
// cs.mu, so a chunk that hold renews meanwhile stays. It returns the
// chunks and bytes deleted.
func (cs *Store) Collect(room string, keep map[[32]byte]bool, cutoff time.Time) (n int, freed int64, err error) {
	if cs.dir == "" {
		cs.mu.Lock()
		defer cs.mu.Unlock()
		for k, c := range cs.mem[room] {
			if !keep[[32]byte([]byte(k))] && c.at.Before(cutoff) {
				delete(cs.mem[room], k)
				n, freed = n+1, freed+int64(len(c.data))
			}
		}
		if len(cs.mem[room]) == 0 {
			delete(cs.mem, room)
		}
		cs.usage[room] -= freed
		cs.inMem -= freed
		return n, freed, nil
	}
	var names []string
	cs.mu.Lock()
	n, freed, err = cs.collectPacks(room, keep, cutoff)
	cs.mu.Unlock()
	if err != nil {
		return n, freed, err
	}
	err = filepath.WalkDir(cs.roomDir(room), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && d.Name() == packsDir {
			return filepath.SkipDir // collectPacks' own
		}
		if err == nil && d.Type().IsRegular() {
			names = append(names, p)
		}
		return err
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, 0, err
	}
	for _, p := range names {
		var sum [32]byte
		if _, err := hex.Decode(sum[:], []byte(filepath.Base(p))); err != nil {
			// A temporary file left by a crash: gone once old.
			if info, err := os.Stat(p); err == nil && info.ModTime().Before(cutoff) {
				os.Remove(p)
			}
			continue
		}
		if keep[sum] {
			continue
		}
		cs.mu.Lock()
		info, err := os.Stat(p)
		if err == nil && info.ModTime().Before(cutoff) {
			if err = os.Remove(p); err == nil {
				n, freed = n+1, freed+info.Size()
				if _, counted := cs.usage[room]; counted {
					cs.usage[room] -= info.Size()
				}
			}
		}
		cs.mu.Unlock()
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return n, freed, err
		}
	}
	return n, freed, nil
}
