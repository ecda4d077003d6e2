package folder

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progressFrom is the smallest transfer that gets a progress bar.
const progressFrom = 8 << 20

// bar returns a progress bar for a transfer of n bytes, or a writer that
// drops everything when there is nowhere to show it or n is small.
func (f *Folder) bar(n int64, what string) io.Writer {
	if f.opts.Progress == nil || n < progressFrom {
		return io.Discard
	}
	return progressbar.NewOptions64(n,
		progressbar.OptionSetWriter(f.opts.Progress),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(f.opts.Progress) }),
	)
}

// upload sends the chunks of c the server lacks, and its lists, packs of
// them at a time, and fills rec's content fields. The chunks are read
// again from the file and checked against the hashes of the split: a file
// that changed since fails with errChanging and waits for the next pass.
func (ps *passState) upload(ctx context.Context, p string, c *content, rec *record) error {
	f := ps.f
	rec.Size, rec.MTime, rec.Hash, rec.Scheme = c.st.Size, c.st.MTime, c.hash, smallChunks
	all := c.hashes()
	wanted := make([][32]byte, 0, len(c.chunks)+1)
	for _, ch := range c.chunks {
		wanted = append(wanted, ch.Hash)
	}
	var lists [][]byte
	if len(c.chunks) > inlineChunks {
		var root [32]byte
		var depth int
		lists, root, depth = buildTree(all)
		if depth > maxDepth {
			return fmt.Errorf("file of %d chunks is too large to sync", len(c.chunks))
		}
		for _, l := range lists {
			wanted = append(wanted, sha256.Sum256(l))
		}
		rec.List, rec.Depth = root[:], uint8(depth)
	} else {
		rec.Chunks = all
	}
	// Chunks the room's records already name need no question: a file's
	// previous content, or the same content at another path (a copy, a
	// rename), as this device and the room agree on them now.
	held := ps.heldChunks(p, c.hash)
	asked := wanted[:0:0]
	for _, h := range wanted {
		if !held[h] {
			asked = append(asked, h)
		}
	}
	if len(asked) == 0 {
		return nil
	}
	missing, err := f.chunks.missing(ctx, asked)
	if err != nil {
		return err
	}
	if len(missing) == 0 {
		return nil
	}
	var total int64
	for _, ch := range c.chunks {
		if missing[ch.Hash] {
			total += int64(ch.Size)
		}
	}
	file, err := os.Open(f.full(p))
	if err != nil {
		return err
	}
	defer file.Close()
	bar := f.bar(total, "↑ "+p)
	bp := buffers.Get().(*[]byte)
	defer buffers.Put(bp)
	pk := &packer{c: f.chunks}
	defer pk.wait() // after an error: the packs on their way end
	for _, ch := range c.chunks {
		if !missing[ch.Hash] {
			continue
		}
		data, err := chunkAt(file, ch, *bp)
		if err != nil {
			return err
		}
		if err := pk.add(ctx, ch.Hash, data); err != nil {
			return err
		}
		delete(missing, ch.Hash) // a chunk twice in one file goes once
		bar.Write(data)
	}
	for _, l := range lists {
		if h := sha256.Sum256(l); missing[h] {
			if err := pk.add(ctx, h, l); err != nil {
				return err
			}
			delete(missing, h)
		}
	}
	return pk.flush(ctx)
}

// heldChunks returns the chunks, and list chunks, that the room's current
// records name through this device's entries: path p's, and those of
// other paths with content hash: such chunks are on the server (collection
// keeps what records name), so an upload need not ask about them.
func (ps *passState) heldChunks(p string, hash [32]byte) map[[32]byte]bool {
	held := make(map[[32]byte]bool)
	ps.mu.Lock()
	var agreed []*entry
	for q, e := range ps.f.ix.Entries {
		if e.Rec.Scheme != smallChunks || q != p && e.Rec.Hash != hash {
			continue
		}
		if r := ps.remote[q]; r != nil && r.equalAt(&e.Rec) {
			agreed = append(agreed, e)
		}
	}
	ps.mu.Unlock()
	for _, e := range agreed {
		hs := e.hashes()
		for i := 0; i+32 <= len(hs); i += 32 {
			held[[32]byte(hs[i:i+32])] = true
		}
		if e.Rec.List != nil {
			lists, _, _ := buildTree(hs)
			for _, l := range lists {
				held[sha256.Sum256(l)] = true
			}
		}
	}
	return held
}

// buffers holds chunk-sized buffers for the passes' workers.
var buffers = sync.Pool{New: func() any { b := make([]byte, MaxChunk); return &b }}

// localChunk is where a chunk can be read on this device.
type localChunk struct {
	path   string
	offset int64
	size   int32
}

// treeKey names the content of a file by its record's list chunk.
type treeKey struct {
	scheme uint8
	list   [32]byte
}

// knownTrees maps the list chunks of the entries, as the pass began, to
// their chunk hashes: a record naming one (a renamed or copied file)
// needs no list fetched. The caller holds f.mu.
func (ps *passState) knownTrees() map[treeKey][]byte {
	out := make(map[treeKey][]byte)
	for _, e := range ps.f.ix.Entries {
		if e.Rec.List != nil && e.All != nil {
			out[treeKey{e.Rec.Scheme, [32]byte(e.Rec.List)}] = e.All
		}
	}
	return out
}

// reusable indexes the chunks of every local file that is as its entry
// says, so a download takes from them what it can instead of the network
// (a small edit in a large file moves only the changed chunks, a renamed
// file none).
func (ps *passState) reusable() map[[32]byte]localChunk {
	reuse := make(map[[32]byte]localChunk)
	for p, e := range ps.f.ix.Entries {
		l, ok := ps.local[p]
		hs := e.hashes()
		// An entry written within racyWindow of its file's time keeps
		// none (LMTime 0): its chunks are offered all the same, since
		// fetch checks each one's hash and falls back to the server.
		if e.Rec.Dir || !ok || l.Size != e.LSize || l.MTime != e.LMTime && e.LMTime != 0 || len(hs) != 32*len(e.Sizes) {
			continue
		}
		var off int64
		for i, n := range e.Sizes {
			var h [32]byte
			copy(h[:], hs[32*i:])
			reuse[h] = localChunk{path: p, offset: off, size: n}
			off += int64(n)
		}
	}
	return reuse
}

// readLocal returns chunk h from the local file lc names, or an error if it
// is not there as it was (fetch checks its hash).
func (ps *passState) readLocal(h [32]byte, lc localChunk, buf []byte) ([]byte, error) {
	if int(lc.size) > cap(buf) {
		buf = make([]byte, lc.size)
	}
	file, err := os.Open(ps.f.full(lc.path))
	if err != nil {
		return nil, err
	}
	defer file.Close()
	return chunkAt(file, Chunk{Hash: h, Offset: lc.offset, Size: int(lc.size)}, buf[:cap(buf)])
}

// expand returns the chunk hashes record r names through its list: the
// list itself (records of scheme 0), or every list of its tree, level by
// level, within what r's size allows (treeBudget). The lists this device
// has already, those of the path's last agreed content (its entry's
// tree, built again), are not fetched: a 1-byte edit fetches the lists
// it changed. A record whose list another entry has (a renamed file)
// fetches none.
func (ps *passState) expand(ctx context.Context, p string, r *record) ([]byte, error) {
	f := ps.f
	var root [32]byte
	copy(root[:], r.List)
	if all, ok := ps.trees[treeKey{r.Scheme, root}]; ok {
		return all, nil
	}
	known := make(map[[32]byte][]byte)
	if e := ps.entry(p); e != nil && e.Rec.Scheme == smallChunks && e.Rec.List != nil && e.All != nil {
		lists, _, _ := buildTree(e.All)
		for _, l := range lists {
			known[sha256.Sum256(l)] = l
		}
	}
	if r.Scheme != smallChunks {
		hashes, err := f.chunks.download(ctx, root)
		if err != nil {
			return nil, err
		}
		if len(hashes)%32 != 0 {
			return nil, fmt.Errorf("list chunk of %d bytes: %w", len(hashes), errBadRecord)
		}
		return hashes, nil
	}
	budget, fetched := treeBudget(r.Size, int(r.Depth)), int64(0)
	level := [][32]byte{root}
	for d := int(r.Depth); ; d-- {
		st := &stream{c: f.chunks}
		for _, h := range level {
			if known[h] == nil {
				st.want = append(st.want, h)
			}
		}
		var next []byte
		for _, h := range level {
			l, err := known[h], error(nil)
			if l == nil {
				_, l, err = st.next(ctx, nil)
			}
			if err == nil {
				err = checkList(l)
			}
			if fetched += int64(len(l)); err == nil && fetched > budget {
				err = fmt.Errorf("its lists hold more than %d bytes of hashes could name: %w", budget, errBadRecord)
			}
			if err != nil {
				st.close()
				return nil, err
			}
			next = append(next, l...)
		}
		st.close()
		if d == 1 {
			return next, nil
		}
		level = make([][32]byte, len(next)/32)
		for i := range level {
			copy(level[i][:], next[32*i:])
		}
	}
}

// download writes record r's content to p: into a temporary file beside
// it, checked against r's hash, then renamed over p, unless p changed
// locally meanwhile (then the next pass sees a conflict).
func (ps *passState) download(ctx context.Context, p string, l stat, hasL bool, r *record) (*entry, error) {
	f := ps.f
	hashes := r.Chunks
	if r.List != nil {
		var err error
		if hashes, err = ps.expand(ctx, p, r); err != nil {
			return nil, err
		}
		if err := plausible(r.Size, len(hashes)/32, r.Scheme); err != nil {
			return nil, err
		}
	}
	full := f.full(p)
	tmp, err := f.createTemp(p, r.Size)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	ne := &entry{Rec: *r, Sizes: make([]int32, 0, len(hashes)/32)}
	if r.List != nil {
		ne.All = hashes
	}
	whole := sha256.New()
	bar := f.bar(r.Size, "↓ "+p)
	bp := buffers.Get().(*[]byte)
	defer buffers.Put(bp)
	buf := *bp
	// Chunks no local file offers come from the server, packs at a time,
	// in the order written.
	st := &stream{c: f.chunks}
	defer st.close()
	for i := 0; i < len(hashes); i += 32 {
		if _, ok := ps.reuse[[32]byte(hashes[i:i+32])]; !ok {
			st.want = append(st.want, [32]byte(hashes[i:i+32]))
		}
	}
	var written int64
	for i := 0; i < len(hashes); i += 32 {
		h := [32]byte(hashes[i : i+32])
		var data []byte
		var err error
		if lc, ok := ps.reuse[h]; ok {
			if data, err = ps.readLocal(h, lc, buf); err != nil {
				data, err = f.chunks.download(ctx, h) // changed meanwhile
			}
		} else {
			_, data, err = st.next(ctx, buf)
		}
		if err == nil && written+int64(len(data)) > r.Size {
			// Stop at once: the record said less (issue 15.3).
			err = fmt.Errorf("its chunks hold more than its %d bytes: %w", r.Size, errBadRecord)
		}
		if err == nil {
			_, err = tmp.Write(data)
			written += int64(len(data))
		}
		if err != nil {
			tmp.Close()
			return nil, err
		}
		whole.Write(data)
		bar.Write(data)
		ne.Sizes = append(ne.Sizes, int32(len(data)))
	}
	if written != r.Size || [32]byte(whole.Sum(nil)) != r.Hash {
		tmp.Close()
		return nil, fmt.Errorf("its chunks do not make its size and hash: %w", errBadRecord)
	}
	if err := finish(tmp, r, l, hasL); err != nil {
		return nil, err
	}
	// The local file must be as the pass found it: a change made while
	// downloading is not overwritten.
	now, err := lstatAt(full, p, f.opts.Symlinks)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if hasL {
			return nil, errChanging
		}
	case err != nil:
		return nil, err
	case !hasL || now != l:
		return nil, errChanging
	}
	if hasL && l.Link == "" {
		if _, err := f.keepVersion(p, false); err != nil {
			f.log.Warn("folder: no copy of the replaced file kept", "path", p, "err", err)
		}
	}
	if err := f.placeFile(p, tmp.Name()); err != nil {
		return nil, err
	}
	info, err := os.Stat(full)
	if err != nil {
		return nil, err
	}
	ne.LSize, ne.LMTime = stamp(statOf(info), time.Now())
	return ne, nil
}

// finish syncs and closes a downloaded file and gives it r's time and the
// mode it should have here (see fileMode).
func finish(tmp *os.File, r *record, l stat, hasL bool) error {
	err := tmp.Sync()
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), fileMode(r.Mode, l, hasL))
	}
	if err == nil {
		t := time.Unix(0, r.MTime)
		err = os.Chtimes(tmp.Name(), t, t)
	}
	return err
}

// fileMode is the mode a downloaded file gets: of the room's bits only
// the executable one counts, as in Syncthing, over the local file's
// mode (or 0644 for a new file), so a device can neither make a file
// unreadable here nor writable by others (issue 15.9: mode 0 made an
// unreadable file).
func fileMode(remote fs.FileMode, l stat, hasL bool) fs.FileMode {
	m := fs.FileMode(0o644)
	if hasL && !l.Dir && l.Mode&0o600 == 0o600 {
		m = l.Mode & fs.ModePerm
	}
	if remote&0o111 != 0 {
		return m | (m&0o444)>>2 // executable wherever readable
	}
	return m &^ 0o111
}

// conflictName returns a free name for the conflict copy of p made by
// device at t: "dir/report.synk-conflict-laptop-20261123-215430.txt".
func conflictName(root, p, device string, t time.Time) (string, error) {
	dir, base := path.Split(p)
	ext := path.Ext(base)
	if ext == base { // ".bashrc"
		ext = ""
	}
	stem := strings.TrimSuffix(base, ext)
	for i := 1; i < 100; i++ {
		name := fmt.Sprintf("%s%s.synk-conflict-%s-%s%s", dir, stem, device, t.UTC().Format("20060102-150405"), ext)
		if i > 1 {
			name = fmt.Sprintf("%s%s.synk-conflict-%s-%s-%d%s", dir, stem, device, t.UTC().Format("20060102-150405"), i, ext)
		}
		if _, err := os.Lstat(filepath.Join(root, filepath.FromSlash(name))); errors.Is(err, os.ErrNotExist) {
			return name, nil
		}
	}
	return "", fmt.Errorf("no free conflict-copy name for %s", p)
}

// createTemp makes p's directory and a temporary file in it, for a file
// of size bytes, where no link leads the way (see Folder.links).
func (f *Folder) createTemp(p string, size int64) (*os.File, error) {
	f.links.RLock()
	defer f.links.RUnlock()
	if err := f.inside(p); err != nil {
		return nil, err
	}
	dir := filepath.Dir(f.full(p))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := roomFor(dir, size); err != nil {
		return nil, err
	}
	return os.CreateTemp(dir, tmpPrefix+"*")
}

// placeFile renames tmp to p, where no link leads the way (see
// Folder.links).
func (f *Folder) placeFile(p, tmp string) error {
	f.links.RLock()
	defer f.links.RUnlock()
	if err := f.inside(p); err != nil {
		return err
	}
	return os.Rename(tmp, f.full(p))
}
