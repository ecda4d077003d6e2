//go:build !js

package server

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// chunkStore keeps each room's chunks, named by the SHA-256 of their
// content, once: on disk under DataDir/chunks, or in memory.
type chunkStore struct {
	dir string // "" keeps chunks in memory

	mu    sync.Mutex                   // Protects the following.
	mem   map[string]map[string][]byte // room → hash → content (memory only)
	usage map[string]int64             // room → bytes held, once counted
}

func newChunkStore(dataDir string) *chunkStore {
	cs := &chunkStore{mem: make(map[string]map[string][]byte), usage: make(map[string]int64)}
	if dataDir != "" {
		cs.dir = filepath.Join(dataDir, "chunks")
	}
	return cs
}

// roomDir is where a room's chunks live: its name in hex, so that any
// valid room name is a safe file name.
func (cs *chunkStore) roomDir(room string) string {
	return filepath.Join(cs.dir, hex.EncodeToString([]byte(room)))
}

func (cs *chunkStore) path(room string, sum [32]byte) string {
	h := hex.EncodeToString(sum[:])
	return filepath.Join(cs.roomDir(room), h[:2], h)
}

// used returns the bytes room's chunks take; cs.mu must be held.
func (cs *chunkStore) used(room string) (int64, error) {
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

// has reports whether room holds the chunk.
func (cs *chunkStore) has(room string, sum [32]byte) (bool, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.hasLocked(room, sum)
}

// get returns the chunk's content, or an error wrapping fs.ErrNotExist.
func (cs *chunkStore) get(room string, sum [32]byte) ([]byte, error) {
	if cs.dir == "" {
		cs.mu.Lock()
		defer cs.mu.Unlock()
		b, ok := cs.mem[room][string(sum[:])]
		if !ok {
			return nil, fs.ErrNotExist
		}
		return b, nil
	}
	return os.ReadFile(cs.path(room, sum))
}

// errQuota is returned by put when the room's chunks would exceed the quota.
var errQuota = errors.New("chunk quota")

// put stores data, whose SHA-256 the caller has checked to be sum, unless
// the room holds it already. On disk it is written to a temporary file,
// synced, and renamed into place, so a chunk is there whole or not at all.
func (cs *chunkStore) put(room string, sum [32]byte, data []byte, quota int64) (created bool, err error) {
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
		return false, fmt.Errorf("%w: room holds %d bytes of chunks, %d more would pass its %d", errQuota, n, len(data), quota)
	}
	if cs.dir == "" {
		if cs.mem[room] == nil {
			cs.mem[room] = make(map[string][]byte)
		}
		cs.mem[room][string(sum[:])] = bytes.Clone(data)
	} else if err := writeSynced(cs.path(room, sum), data); err != nil {
		return false, err
	}
	cs.usage[room] = n + int64(len(data))
	return true, nil
}

func (cs *chunkStore) hasLocked(room string, sum [32]byte) (bool, error) {
	if cs.dir == "" {
		_, ok := cs.mem[room][string(sum[:])]
		return ok, nil
	}
	_, err := os.Stat(cs.path(room, sum))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

func writeSynced(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
