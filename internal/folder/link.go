package folder

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// Symbolic links are synced as links when Options.Symlinks is set: a
// record of kind "link" with the link's target text in field g. Folder
// sync never follows one (the scan does not descend into a link to a
// directory, and nothing is written through a link: see inside), and it
// syncs only targets that stay inside the folder: relative, and not
// climbing above the folder's root from the link's directory. Any other
// link is left alone on its device and refused in the room, so a room
// member cannot plant a link to a place outside the folder (~/.ssh, /)
// on other devices.
const (
	KindLink = "link"

	maxTarget = 1024 // bytes of a link's target text
	linkMode  = fs.ModePerm
)

// checkTarget checks that target is a link target folder sync carries for
// a link at slash path p.
func checkTarget(p, target string) error {
	t := filepath.ToSlash(target)
	switch {
	case target == "":
		return errors.New("an empty link target")
	case len(target) > maxTarget:
		return fmt.Errorf("a link target of %d bytes (at most %d)", len(target), maxTarget)
	case !utf8.ValidString(target) || strings.ContainsRune(target, 0):
		return errors.New("a link target that is not UTF-8 text")
	case filepath.IsAbs(target) || path.IsAbs(t) || filepath.VolumeName(target) != "":
		return fmt.Errorf("link target %q is absolute: only links within the folder are synced", target)
	}
	if to := path.Join(path.Dir(p), t); to == ".." || strings.HasPrefix(to, "../") {
		return fmt.Errorf("link target %q leaves the folder: only links within it are synced", target)
	}
	return nil
}

// statLink is what a scan records for a symbolic link at p whose target
// is target: a link stat, or Other when folder sync does not carry it.
func statLink(p, target string, err error) stat {
	if err != nil || checkTarget(p, target) != nil {
		return stat{Other: true}
	}
	return stat{Link: filepath.ToSlash(target), Mode: linkMode}
}

// lstatAt is the stat a scan would record for full, without following a
// link; links reports whether links are synced.
func lstatAt(full, p string, links bool) (stat, error) {
	info, err := os.Lstat(full)
	switch {
	case err != nil:
		return stat{}, err
	case info.Mode()&fs.ModeSymlink != 0 && links:
		target, err := os.Readlink(full)
		return statLink(p, target, err), nil
	case !info.IsDir() && !info.Mode().IsRegular():
		return stat{Other: true}, nil
	case info.IsDir():
		return stat{Dir: true, Mode: info.Mode() & fs.ModePerm}, nil
	}
	return statOf(info), nil
}

// makeLink makes p the link record r describes: a link made beside it,
// then renamed over it if p is still as the pass found it (l, hasL).
// A file it replaces is kept as a version; a directory is removed at the
// end of the pass and the link made by the next.
func (ps *passState) makeLink(p string, l stat, hasL bool, r *record) error {
	f := ps.f
	if hasL && l.Dir {
		ps.mu.Lock()
		ps.rmdirs = append(ps.rmdirs, p)
		ps.mu.Unlock()
		ps.set(p, nil)
		return nil
	}
	full := f.full(p)
	// No other path is checked and used meanwhile (see Folder.links).
	f.links.Lock()
	defer f.links.Unlock()
	if err := f.inside(p); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(full), tmpPrefix+"link-"+objectID(p))
	os.Remove(tmp) // left by a crash
	if err := os.Symlink(filepath.FromSlash(r.Link), tmp); err != nil {
		return err
	}
	defer os.Remove(tmp) // a no-op once renamed
	now, err := lstatAt(full, p, true)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if hasL {
			return errChanging
		}
	case err != nil:
		return err
	case !hasL || now != l:
		return errChanging
	}
	if hasL && l.Link == "" && !l.Other {
		if _, err := f.keepVersion(p, false); err != nil {
			f.log.Warn("folder: no copy of the replaced file kept", "path", p, "err", err)
		}
	}
	if err := os.Rename(tmp, full); err != nil {
		return err
	}
	ps.set(p, &entry{Rec: *r})
	return nil
}
