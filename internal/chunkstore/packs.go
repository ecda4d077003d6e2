package chunkstore

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Packs. On disk, the chunks a Batch stores go into one pack file, not a
// file each: a file of small chunks has thousands, and making a file and
// syncing it costs the file system far more than writing its bytes. A
// pack <name>.pack holds the chunks back to back, then its index, 44
// bytes a chunk (its SHA-256, its offset as 8 bytes and its length as 4,
// big-endian), then the index's length as 8 bytes. It is written to a
// temporary name, synced, and renamed into place: there whole or not at
// all. A room's index of packs is read once, at its first use, and kept
// in memory (about 100 bytes a chunk). Collection removes a pack without
// live chunks and writes one less than half live again; the index of a
// pack that keeps more still names its dead chunks, which a restart
// brings back until the next collection takes them again. Chunks stored
// one by one (PutFrom) stay files of their own, as before packs.
//
//	<DataDir>/chunks/<room in hex>/packs/<name>.pack

const (
	packsDir     = "packs"
	idxEntrySize = 32 + 8 + 4
)

// packed is where a chunk lives in a pack.
type packed struct {
	pack string // the pack's name
	off  int64
	size int64
	at   time.Time // stored or last asked about
}

// packFile is what the store knows of one pack.
type packFile struct {
	size int64 // bytes of the pack file
	live int64 // bytes of its chunks the index still names
}

// roomPacks is a room's index of packs.
type roomPacks struct {
	chunks map[[32]byte]*packed
	files  map[string]*packFile
}

func (cs *Store) packDir(room string) string { return filepath.Join(cs.roomDir(room), packsDir) }

// packsOf returns room's index of packs, reading it from disk the first
// time; cs.mu must be held. A pack's chunks count as stored when the
// pack was written, or when the store started if later: how long ago they
// were asked about is not kept across restarts, so none is collected
// before a grace has passed since.
func (cs *Store) packsOf(room string) (*roomPacks, error) {
	if rp := cs.packs[room]; rp != nil {
		return rp, nil
	}
	rp := &roomPacks{chunks: make(map[[32]byte]*packed), files: make(map[string]*packFile)}
	ents, err := os.ReadDir(cs.packDir(room))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".pack")
		if !ok || strings.HasPrefix(name, ".") {
			continue
		}
		pf, entries, at, err := readPackIndex(filepath.Join(cs.packDir(room), e.Name()))
		if err != nil {
			continue // a damaged pack names nothing; collection removes it
		}
		if at.Before(cs.started) {
			at = cs.started
		}
		rp.files[name] = pf
		for _, pe := range entries {
			if rp.chunks[pe.sum] != nil {
				continue // held by another pack already
			}
			rp.chunks[pe.sum] = &packed{pack: name, off: pe.off, size: pe.size, at: at}
			pf.live += pe.size
		}
	}
	cs.packs[room] = rp
	return rp, nil
}

// readPackIndex reads the index at the end of a pack.
func readPackIndex(file string) (*packFile, []packEntry, time.Time, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	size := info.Size()
	var tail [8]byte
	if size < 8 {
		return nil, nil, time.Time{}, errors.New("no index")
	}
	if _, err := f.ReadAt(tail[:], size-8); err != nil {
		return nil, nil, time.Time{}, err
	}
	n := binary.BigEndian.Uint64(tail[:])
	if n%idxEntrySize != 0 || n > uint64(size-8) {
		return nil, nil, time.Time{}, errors.New("a damaged index")
	}
	idx := make([]byte, n)
	if _, err := f.ReadAt(idx, size-8-int64(n)); err != nil {
		return nil, nil, time.Time{}, err
	}
	data := size - 8 - int64(n)
	var entries []packEntry
	for i := 0; i+idxEntrySize <= len(idx); i += idxEntrySize {
		var pe packEntry
		copy(pe.sum[:], idx[i:])
		pe.off = int64(binary.BigEndian.Uint64(idx[i+32:]))
		pe.size = int64(binary.BigEndian.Uint32(idx[i+40:]))
		if pe.off < 0 || pe.off+pe.size > data {
			return nil, nil, time.Time{}, errors.New("a damaged index")
		}
		entries = append(entries, pe)
	}
	return &packFile{size: size}, entries, info.ModTime(), nil
}

// packedChunk returns where room's chunk sum lives in a pack, if it does;
// cs.mu must be held.
func (cs *Store) packedChunk(room string, sum [32]byte) (*packed, error) {
	if cs.dir == "" {
		return nil, nil
	}
	rp, err := cs.packsOf(room)
	if err != nil {
		return nil, err
	}
	return rp.chunks[sum], nil
}

// readPacked reads a chunk from its pack.
func (cs *Store) readPacked(room string, p *packed) ([]byte, error) {
	f, err := os.Open(filepath.Join(cs.packDir(room), p.pack+".pack"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data := make([]byte, p.size)
	if _, err := f.ReadAt(data, p.off); err != nil {
		return nil, err
	}
	return data, nil
}

// packWriter writes a new pack and its index.
type packWriter struct {
	dir     string
	name    string
	f       *os.File
	off     int64
	idx     []byte
	entries []packEntry
}

// packEntry is a chunk written to a pack.
type packEntry struct {
	sum       [32]byte
	off, size int64
}

func newPackWriter(dir string) (*packWriter, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var r [8]byte
	if _, err := rand.Read(r[:]); err != nil {
		return nil, err
	}
	name := hex.EncodeToString(r[:])
	f, err := os.OpenFile(filepath.Join(dir, "."+name+".pack"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	return &packWriter{dir: dir, name: name, f: f}, nil
}

// add writes a chunk of n bytes (write's) named sum, hashed on the way by
// check, and returns its size.
func (w *packWriter) add(sum [32]byte, write func(io.Writer) (int64, error)) (int64, error) {
	n, err := write(w.f)
	if err != nil {
		// What was written stays as dead bytes; keep the offsets true.
		if _, serr := w.f.Seek(w.off+n, io.SeekStart); serr == nil {
			w.off += n
		}
		return n, err
	}
	w.entries = append(w.entries, packEntry{sum: sum, off: w.off, size: n})
	w.idx = append(w.idx, sum[:]...)
	w.idx = binary.BigEndian.AppendUint64(w.idx, uint64(w.off))
	w.idx = binary.BigEndian.AppendUint32(w.idx, uint32(n))
	w.off += n
	return n, nil
}

// drop forgets the last chunk added (it failed a check after its bytes
// were written): its bytes stay in the pack, unnamed.
func (w *packWriter) drop() {
	w.entries = w.entries[:len(w.entries)-1]
	w.idx = w.idx[:len(w.idx)-idxEntrySize]
}

// finish writes the index after the chunks, syncs the pack and renames
// it into place, and syncs the directory.
func (w *packWriter) finish() error {
	w.idx = binary.BigEndian.AppendUint64(w.idx, uint64(len(w.idx)))
	_, err := w.f.Write(w.idx)
	if err == nil {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(w.f.Name(), filepath.Join(w.dir, w.name+".pack"))
	}
	if err == nil {
		err = syncDir(w.dir)
	}
	if err != nil {
		w.remove()
	}
	w.off += int64(len(w.idx))
	return err
}

// abort removes what the writer wrote.
func (w *packWriter) abort() {
	w.f.Close()
	os.Remove(w.f.Name())
}

// remove removes a finished pack.
func (w *packWriter) remove() {
	os.Remove(filepath.Join(w.dir, w.name+".pack"))
	os.Remove(w.f.Name())
}

// syncDir makes the names made in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}

// collectPacks forgets room's packed chunks that keep does not hold and
// that were stored or asked about before cutoff; a pack left without a
// live chunk is removed, one left less than half live is written again
// with its live chunks only, and any other gets an index of its live
// chunks. cs.mu must be held. It returns the chunks and bytes forgotten.
func (cs *Store) collectPacks(room string, keep map[[32]byte]bool, cutoff time.Time) (n int, freed int64, err error) {
	rp, err := cs.packsOf(room)
	if err != nil {
		return 0, 0, err
	}
	touched := make(map[string]bool)
	for sum, p := range rp.chunks {
		if keep[sum] || !p.at.Before(cutoff) {
			continue
		}
		delete(rp.chunks, sum)
		rp.files[p.pack].live -= p.size
		touched[p.pack] = true
		n, freed = n+1, freed+p.size
	}
	dir := cs.packDir(room)
	var errs []error
	for name := range touched {
		pf := rp.files[name]
		var live []packEntry
		for sum, p := range rp.chunks {
			if p.pack == name {
				live = append(live, packEntry{sum: sum, off: p.off, size: p.size})
			}
		}
		switch {
		case pf.live == 0:
			errs = append(errs, os.Remove(filepath.Join(dir, name+".pack")))
			delete(rp.files, name)
		case pf.live < pf.size/2:
			errs = append(errs, cs.repack(room, rp, name, live))
		}
	}
	// A pack a crash left half written, or damaged, once old.
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		name, ok := strings.CutSuffix(strings.TrimPrefix(e.Name(), "."), ".pack")
		if !ok || rp.files[name] != nil && !strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if info, err := e.Info(); err == nil && info.ModTime().Before(cutoff) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	delete(cs.usage, room) // counted again from the disk
	return n, freed, errors.Join(errs...)
}

// repack writes the live chunks of pack name into a new pack and removes
// the old one; cs.mu must be held.
func (cs *Store) repack(room string, rp *roomPacks, name string, live []packEntry) error {
	dir := cs.packDir(room)
	old, err := os.Open(filepath.Join(dir, name+".pack"))
	if err != nil {
		return err
	}
	defer old.Close()
	w, err := newPackWriter(dir)
	if err != nil {
		return err
	}
	for _, e := range live {
		if _, err := w.add(e.sum, func(f io.Writer) (int64, error) {
			return io.Copy(f, io.NewSectionReader(old, e.off, e.size))
		}); err != nil {
			w.abort()
			return fmt.Errorf("repacking %s: %w", name, err)
		}
	}
	if err := w.finish(); err != nil {
		return fmt.Errorf("repacking %s: %w", name, err)
	}
	// (The old pack stays readable until removed below: Get reads under
	// no lock, so a read racing this one may find it gone and be retried
	// by its client.)
	for _, e := range w.entries {
		p := rp.chunks[e.sum]
		p.pack, p.off = w.name, e.off
	}
	var live2 int64
	for _, e := range w.entries {
		live2 += e.size
	}
	rp.files[w.name] = &packFile{size: w.off, live: live2}
	delete(rp.files, name)
	return os.Remove(filepath.Join(dir, name+".pack"))
}
