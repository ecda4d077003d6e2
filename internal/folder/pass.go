package folder

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/synkhq/synk/client"
	"github.com/synkhq/synk/protocol"
)

// A pass compares, for every path, three things: the entry (what this
// device and the room last agreed on), the local file, and the room's
// record. Whichever side moved away from the entry wins; if both moved to
// different content, the room's version takes the path and the local one
// is kept as a conflict copy. Writes are compare-and-set on the version
// the device saw, so of two devices writing a path at once one succeeds
// and the other sees the room move, and makes the conflict copy.

// passResult is what one pass did.
type passResult struct {
	changes int     // paths written locally or in the room
	lost    int     // writes refused because the room moved first ([errLost])
	errs    []error // paths left for a later pass
}

// pass reconciles the folder with the room once.
func (f *Folder) pass(ctx context.Context) (passResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var res passResult
	ig, err := loadIgnore(f.root)
	if err != nil {
		return res, fmt.Errorf("folder: %s: %w", IgnoreFile, err)
	}
	local, err := scan(f.root, ig, f.log, f.opts.Symlinks)
	if err != nil {
		return res, fmt.Errorf("folder: scanning %s: %w", f.root, err)
	}
	remote := f.records(ig)
	paths := make(map[string]bool)
	for p := range local {
		paths[p] = true
	}
	for p := range remote {
		paths[p] = true
	}
	for p, e := range f.ix.Entries {
		if ig.ignored(p, e.Rec.Dir) {
			delete(f.ix.Entries, p) // ignored now: forget it, touch nothing
			continue
		}
		paths[p] = true
	}
	if st := f.statusOf(remote, local); st.Files < st.Total || st.Left > 0 {
		st.State, st.At = "syncing", time.Now().UnixMilli()
		f.sayStatus(ctx, st)
	}
	ps := &passState{f: f, local: local, remote: remote, rmfiles: make(map[string]stat), saved: time.Now()}
	ps.reuse, ps.trees = ps.reusable(), ps.knownTrees()
	ps.reconcileAll(ctx, slices.Sorted(maps.Keys(paths)), &res)
	if ps.saveErr != nil {
		return res, fmt.Errorf("folder: saving the index: %w", ps.saveErr)
	}
	res.changes += ps.removeDeleted()
	if err := f.pruneVersions(time.Now()); err != nil {
		f.log.Warn("folder: pruning .synk/versions", "err", err)
	}
	if err := f.ix.save(); err != nil {
		return res, fmt.Errorf("folder: saving the index: %w", err)
	}
	if ctx.Err() == nil {
		f.sayStatus(ctx, f.passStatus(f.records(ig), res))
	}
	return res, ctx.Err()
}

// records returns the room's records that this device syncs, by path:
// not ignored, well formed, and links only with Options.Symlinks. Any
// other object of the folder's area is refused (and said once).
func (f *Folder) records(ig ignorer) map[string]*record {
	remote := make(map[string]*record)
	for _, o := range f.room.Objects() {
		if o.Area != Area {
			continue
		}
		if v, ok := f.refused[o.ID]; ok && v == o.Version {
			continue // told once already
		}
		r, err := decodeRecord(o)
		if err == nil && r.Link != "" && !f.opts.Symlinks {
			err = fmt.Errorf("%s is a symbolic link, and this device does not sync links (Options.Symlinks)", r.Path)
		}
		if err != nil {
			f.refuse(o.ID, o.Version, err)
			continue
		}
		if !ig.ignored(r.Path, r.Dir) {
			remote[r.Path] = r
		}
	}
	return remote
}

// reconcileAll reconciles paths, in order, on workers goroutines, and
// counts what they did in res; the index is saved every 2 s meanwhile.
// What this device deleted leaves the room last, once every other path
// went: a renamed file's new record then reaches the other devices
// before the old one's deletion, and they make it from the old file
// instead of downloading it (a deletion first, and a device that acts on
// it at once has nothing left to take the chunks from).
func (ps *passState) reconcileAll(ctx context.Context, paths []string, res *passResult) {
	ps.reconcileSome(ctx, paths, res)
	ps.mu.Lock()
	deletes := ps.deletes
	ps.deletes, ps.late = nil, true
	ps.mu.Unlock()
	ps.reconcileSome(ctx, deletes, res)
}

// errDeferred is a deletion left for the end of the pass.
var errDeferred = errors.New("deferred")

func (ps *passState) reconcileSome(ctx context.Context, paths []string, res *passResult) {
	f := ps.f
	todo := make(chan string)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for path := range todo {
				changed, err := ps.reconcile(ctx, path)
				ps.mu.Lock()
				if errors.Is(err, errDeferred) {
					changed, err = false, nil
				}
				if changed && err == nil {
					res.changes++
				}
				if errors.Is(err, errBadRecord) {
					f.refuse(objectID(path), ps.remote[path].Version, fmt.Errorf("%s: %w", path, err))
				} else if errors.Is(err, errLost) {
					res.lost++
					f.log.Debug("folder: write refused: the room changed first", "path", path)
				} else if err != nil {
					res.errs = append(res.errs, fmt.Errorf("%s: %w", path, err))
				}
				if time.Since(ps.saved) > 2*time.Second && ps.saveErr == nil {
					ps.saveErr = f.ix.save()
					ps.saved = time.Now()
				}
				ps.mu.Unlock()
			}
		})
	}
	for _, path := range paths {
		if ctx.Err() != nil {
			break
		}
		todo <- path
	}
	close(todo)
	wg.Wait()
}

// removeDeleted removes what the room deleted and returns how many it
// removed. Files go first, unless changed since the scan (the next pass
// then sends them back); directories last, deepest first, once their
// files have gone: one that is not empty holds new local files and stays
// (and is written to the room again next pass).
func (ps *passState) removeDeleted() int {
	f, n := ps.f, 0
	for p, l := range ps.rmfiles {
		if now, err := lstatAt(f.full(p), p, f.opts.Symlinks); err == nil && now == l {
			if l.Link != "" { // a link has no content to keep
				if err := os.Remove(f.full(p)); err == nil {
					n++
				}
				continue
			}
			if moved, err := f.keepVersion(p, true); moved && err == nil {
				n++
				continue
			} else if err != nil {
				f.log.Warn("folder: no copy of the deleted file kept", "path", p, "err", err)
			}
			if err := os.Remove(f.full(p)); err == nil {
				n++
			}
		}
	}
	slices.Sort(ps.rmdirs)
	for _, d := range slices.Backward(ps.rmdirs) {
		if err := os.Remove(f.full(d)); err == nil {
			n++
		}
	}
	return n
}

// refuse sets aside version v of object id, which cannot be synced, and
// says why once (issue 15.9: 5,000 bad records made 165,000 log lines in
// 13 s when every pass said it again). The caller holds f.mu and, in a
// pass's workers, ps.mu.
func (f *Folder) refuse(id string, v uint64, err error) {
	if f.refused == nil {
		f.refused = make(map[string]uint64)
	}
	f.refused[id] = v
	f.log.Warn("folder: object of the room ignored until it changes", "err", err)
}

// workers is how many paths a pass works on at once: transfers of small
// files are bound by round trips and fsyncs more than by bandwidth.
const workers = 8

// passState is one pass's view, shared by its workers.
type passState struct {
	f      *Folder
	local  map[string]stat         // the scan: read only
	remote map[string]*record      // the room's records: read only
	reuse  map[[32]byte]localChunk // chunks of unchanged local files: read only
	trees  map[treeKey][]byte      // chunk hashes of the entries' list chunks: read only

	mu      sync.Mutex // Protects the following, and f.ix.
	rmfiles map[string]stat
	rmdirs  []string
	deletes []string // paths deleted here, to leave the room at the end
	late    bool     // the pass is at its end: deletions go now
	saved   time.Time
	saveErr error
}

// entry returns path p's entry, or nil.
func (ps *passState) entry(p string) *entry {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.f.ix.Entries[p]
}

// set replaces p's entry; nil deletes it.
func (ps *passState) set(p string, e *entry) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if e == nil {
		delete(ps.f.ix.Entries, p)
	} else {
		ps.f.ix.Entries[p] = e
	}
}

func (f *Folder) full(p string) string { return filepath.Join(f.root, filepath.FromSlash(p)) }

// inside checks that no directory on the way to p is a symbolic link (or
// not a directory): the room's records must not write through a link out
// of the folder.
func (f *Folder) inside(p string) error {
	dir := f.root
	parts := strings.Split(p, "/")
	for _, part := range parts[:len(parts)-1] {
		dir = filepath.Join(dir, part)
		info, err := os.Lstat(dir)
		if errors.Is(err, os.ErrNotExist) {
			return nil // made as a plain directory
		}
		if err != nil {
			return err
		}
		if !info.IsDir() {
			return fmt.Errorf("%s is a %v here, not a directory", dir, info.Mode().Type())
		}
	}
	return nil
}

// makeDir makes the directory p, and its parents, with mode, where no link
// leads the way (see Folder.links).
func (f *Folder) makeDir(p string, mode os.FileMode) error {
	f.links.RLock()
	defer f.links.RUnlock()
	if err := f.inside(p); err != nil {
		return err
	}
	full := f.full(p)
	if err := os.MkdirAll(full, 0o755); err != nil {
		return err
	}
	return os.Chmod(full, mode)
}

// reconcile brings one path into agreement; changed reports a write.
func (ps *passState) reconcile(ctx context.Context, p string) (changed bool, err error) {
	e := ps.entry(p)
	l, hasL := ps.local[p]
	r := ps.remote[p]
	if hasL && l.Other {
		if r != nil {
			return false, fmt.Errorf("not synced: a symbolic link or special file is there on this device")
		}
		return false, nil
	}
	localChanged, c, err := ps.localChanged(p, e, l, hasL)
	if err != nil {
		return false, err
	}
	switch remoteChanged := e == nil && r != nil || e != nil && (r == nil || !r.equalAt(&e.Rec)); {
	case !localChanged && !remoteChanged:
		return false, nil
	case localChanged && !remoteChanged:
		return true, ps.push(ctx, p, l, hasL, r, c)
	case !localChanged:
		return true, ps.pull(ctx, p, l, hasL, r)
	}
	return ps.bothChanged(ctx, p, l, hasL, r, c)
}

// localChanged reports whether path p on this device differs from its
// entry e (nil: never synced), reading the file only when its size and
// time do not tell; the content read, if any, is returned for the push.
// A file touched but not changed gets its entry's time renewed.
func (ps *passState) localChanged(p string, e *entry, l stat, hasL bool) (bool, *content, error) {
	switch {
	case e == nil:
		return hasL, nil, nil
	case !hasL || l.Dir != e.Rec.Dir || l.Link != e.Rec.Link || modeOf(l) != e.Rec.Mode:
		return true, nil, nil
	case l.Dir, l.Link != "", l.Size == e.LSize && l.MTime == e.LMTime && e.LMTime != 0:
		return false, nil, nil
	}
	c, err := readContent(ps.f.full(p))
	if err != nil {
		return false, nil, err
	}
	if c.hash != e.Rec.Hash {
		return true, c, nil
	}
	ne := *e // touched, not changed
	ne.LSize, ne.LMTime = stamp(c.st, time.Now())
	ps.set(p, &ne)
	return false, c, nil
}

// bothChanged settles path p, changed here (l, hasL; c its content if
// read) and in the room (r) since its last sync: a deletion loses to a
// change, the same change on both sides is no conflict, and a true
// conflict keeps the room's version at the path and this device's as a
// conflict copy, which the next pass sends as a new file.
func (ps *passState) bothChanged(ctx context.Context, p string, l stat, hasL bool, r *record, c *content) (bool, error) {
	f := ps.f
	switch {
	case !hasL && r == nil:
		ps.set(p, nil)
		return false, nil
	case !hasL: // deleted here, changed there: keep the change
		return true, ps.pull(ctx, p, l, false, r)
	case r == nil: // changed here, deleted there: keep the change
		return true, ps.push(ctx, p, l, true, nil, c)
	}
	if l.Dir && r.Dir { // its permissions changed on both: the room's win
		if err := os.Chmod(f.full(p), r.Mode); err != nil {
			return false, err
		}
		ps.set(p, &entry{Rec: *r})
		return false, nil
	}
	if l.Link != "" && l.Link == r.Link { // both made the same link
		ps.set(p, &entry{Rec: *r})
		return false, nil
	}
	if !l.Dir && !r.Dir && l.Link == "" && r.Link == "" {
		if c == nil {
			var err error
			if c, err = readContent(f.full(p)); err != nil {
				return false, err
			}
		}
		if c.hash == r.Hash && syncedMode(l.Mode) == r.Mode { // both made the same change
			ne := &entry{Rec: *r, Sizes: c.sizes()}
			if r.List != nil {
				ne.All = c.hashes()
			}
			ne.LSize, ne.LMTime = stamp(c.st, time.Now())
			ps.set(p, ne)
			return false, nil
		}
	}
	copyName, err := conflictName(f.root, p, f.opts.Device, time.Now())
	if err != nil {
		return false, err
	}
	if err := os.Rename(f.full(p), f.full(copyName)); err != nil {
		return false, err
	}
	f.log.Warn("folder: conflict: both sides changed; the room's version kept, this device's renamed", "path", p, "copy", copyName)
	return true, ps.pull(ctx, p, stat{}, false, r)
}

// push writes the local state of p to the room.
func (ps *passState) push(ctx context.Context, p string, l stat, hasL bool, r *record, c *content) error {
	f := ps.f
	id := objectID(p)
	if !hasL {
		if r != nil {
			ps.mu.Lock()
			if !ps.late {
				ps.deletes = append(ps.deletes, p)
				ps.mu.Unlock()
				return errDeferred
			}
			ps.mu.Unlock()
			if err := f.room.DeleteObject(ctx, id, &client.WriteOptions{Expect: r.Version}); err != nil {
				return lostRace(err)
			}
		}
		ps.set(p, nil)
		return nil
	}
	rec := &record{Path: p, Dir: l.Dir, Link: l.Link, Mode: modeOf(l)}
	ne := &entry{}
	if !l.Dir && l.Link == "" {
		var err error
		if c == nil {
			c = ps.renamed(p, l)
		}
		if c == nil {
			if c, err = readContent(f.full(p)); err != nil {
				return err
			}
		}
		if err := ps.upload(ctx, p, c, rec); err != nil {
			return err
		}
		ne.Sizes = c.sizes()
		if rec.List != nil {
			ne.All = c.hashes()
		}
		ne.LSize, ne.LMTime = stamp(c.st, time.Now())
	}
	if r != nil && r.kind() != rec.kind() { // a file became a directory or a link, or back
		if err := f.room.DeleteObject(ctx, id, &client.WriteOptions{Expect: r.Version}); err != nil {
			return lostRace(err)
		}
		r = nil
	}
	var err error
	if r == nil {
		rec.Version, err = f.room.Create(ctx, id, rec.kind(), Area, rec.fields())
	} else {
		rec.Version, err = f.room.Update(ctx, id, rec.fields(), &client.WriteOptions{Expect: r.Version})
	}
	if err != nil {
		return lostRace(err)
	}
	ne.Rec = *rec
	ps.set(p, ne)
	return nil
}

// errLost is a write refused because the room moved since this device
// looked (another device wrote the path first). The room's change is on
// its way, and the next pass resolves the path with it.
var errLost = errors.New("the room changed first")

// lostRace turns a write refused because another device wrote first into
// errLost.
func lostRace(err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) && (pe.Code == protocol.CodeStale || pe.Code == protocol.CodeExists || pe.Code == protocol.CodeNotFound) {
		return errLost
	}
	return err
}

// pull makes the local state of p the room's record r.
func (ps *passState) pull(ctx context.Context, p string, l stat, hasL bool, r *record) error {
	f := ps.f
	full := f.full(p)
	if err := f.inside(p); err != nil {
		return err
	}
	switch {
	case r == nil:
		if hasL {
			// Removed at the end of the pass, so that a download in
			// this pass can still take chunks from it (a rename).
			ps.mu.Lock()
			if l.Dir {
				ps.rmdirs = append(ps.rmdirs, p)
			} else {
				ps.rmfiles[p] = l
			}
			ps.mu.Unlock()
		}
		ps.set(p, nil)
		return nil
	case r.Dir:
		if hasL && !l.Dir { // a file, as agreed: the room made it a directory
			moved, err := f.keepVersion(p, true)
			if err != nil {
				f.log.Warn("folder: no copy of the replaced file kept", "path", p, "err", err)
			}
			if !moved {
				if err := os.Remove(full); err != nil && !errors.Is(err, os.ErrNotExist) {
					return err
				}
			}
		}
		if err := f.makeDir(p, r.Mode); err != nil {
			return err
		}
		ps.set(p, &entry{Rec: *r})
		return nil
	case r.Link != "":
		return ps.makeLink(p, l, hasL, r)
	case hasL && l.Dir:
		// A directory, as agreed: the room made it a file. Its files go
		// at the end of this pass, then it; the next pass downloads the
		// file (or, if new files kept the directory, makes it a conflict).
		ps.mu.Lock()
		ps.rmdirs = append(ps.rmdirs, p)
		ps.mu.Unlock()
		ps.set(p, nil)
		return nil
	}
	ne, err := ps.download(ctx, p, l, hasL, r)
	if err != nil {
		return err
	}
	ps.set(p, ne)
	return nil
}
