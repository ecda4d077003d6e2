package folder

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// versionsDir, inside the folder's state directory, keeps the copies of
// files another device replaced or deleted, when Options.Versions or
// Options.VersionsFor ask for them: a bad edit on one device can be undone
// on another. A copy of "docs/report.txt" replaced at 15:04:05.000 on
// 2 January 2026 (UTC) is ".synk/versions/docs/report~20260102-150405.000.txt",
// as Syncthing's simple versioning names them.
const versionsDir = stateDir + "/versions"

// versionStamp is the time in a copy's name: fixed width, so that names
// sort by time.
const versionStamp = "20060102-150405.000"

// versioning reports whether replaced and deleted files are kept.
func (f *Folder) versioning() bool { return f.opts.Versions > 0 || f.opts.VersionsFor > 0 }

// versionName is the copy's path, slash-separated and relative to the
// folder, for file p set aside at t.
func versionName(p string, t time.Time) string {
	dir, base := path.Split(p)
	ext := path.Ext(base)
	if ext == base { // ".bashrc"
		ext = ""
	}
	return versionsDir + "/" + dir + strings.TrimSuffix(base, ext) + "~" + t.UTC().Format(versionStamp) + ext
}

// keepVersion sets aside a copy of file p before another device's
// change replaces it (move false: a hard link, so that the replacement
// stays atomic; where links fail, a copy is not kept) or deletes it (move
// true: the file itself goes there). Without versioning it does nothing.
// It returns whether p was moved away.
func (f *Folder) keepVersion(p string, move bool) (bool, error) {
	if !f.versioning() {
		return false, nil
	}
	name := versionName(p, time.Now())
	dst := f.full(name)
	for i := 1; ; i++ { // two copies within a millisecond
		if _, err := os.Lstat(dst); errors.Is(err, os.ErrNotExist) {
			break
		}
		dst = f.full(name) + "~" + strconv.Itoa(i)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return false, err
	}
	if move {
		if err := os.Rename(f.full(p), dst); err != nil {
			return false, err
		}
		return true, nil
	}
	if err := os.Link(f.full(p), dst); err != nil {
		f.log.Warn("folder: no copy of the replaced file kept", "path", p, "err", err)
	}
	return false, nil
}

// pruneVersions removes the copies past the limits: beyond the
// Options.Versions newest of each file, and older than
// Options.VersionsFor. It is called after each pass.
func (f *Folder) pruneVersions(now time.Time) error {
	if !f.versioning() {
		return nil
	}
	root := f.full(versionsDir)
	byFile := make(map[string][]version)
	err := filepath.WalkDir(root, func(full string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, full)
		of, t, ok := parseVersion(filepath.ToSlash(rel))
		if !ok {
			return nil
		}
		byFile[of] = append(byFile[of], version{full: full, t: t})
		return nil
	})
	if err != nil {
		return err
	}
	for _, vs := range byFile {
		slices.SortFunc(vs, func(a, b version) int { return b.t.Compare(a.t) }) // newest first
		for i, v := range vs {
			tooMany := f.opts.Versions > 0 && i >= f.opts.Versions
			tooOld := f.opts.VersionsFor > 0 && now.Sub(v.t) > f.opts.VersionsFor
			if tooMany || tooOld {
				if err := os.Remove(v.full); err != nil && !errors.Is(err, os.ErrNotExist) {
					return err
				}
			}
		}
	}
	return nil
}

// version is a kept copy: its path and when it was set aside.
type version struct {
	full string
	t    time.Time
}

// parseVersion reads a copy's name, relative to the versions directory:
// the file it is of, and when it was set aside.
func parseVersion(rel string) (of string, t time.Time, ok bool) {
	dir, base := path.Split(rel)
	i := strings.LastIndex(base, "~")
	if _, err := strconv.Atoi(base[i+1:]); i > 0 && err == nil { // "~1": another copy within a millisecond
		base = base[:i]
		i = strings.LastIndex(base, "~")
	}
	if i < 0 || len(base) < i+1+len(versionStamp) {
		return "", time.Time{}, false
	}
	t, err := time.Parse(versionStamp, base[i+1:i+1+len(versionStamp)])
	if err != nil {
		return "", time.Time{}, false
	}
	return dir + base[:i] + base[i+1+len(versionStamp):], t, true
}
