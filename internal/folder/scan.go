package folder

import (
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// stat is a local file or directory as a scan finds it.
type stat struct {
	Dir   bool
	Other bool   // a special file, or a link not synced: never synced, never replaced
	Link  string // a symbolic link's target, slash-separated (Options.Symlinks)
	Mode  fs.FileMode
	Size  int64
	MTime int64
}

// scan walks the folder and returns every file and directory not ignored,
// by slash path. Special files are marked Other: folder sync leaves them
// alone. So are symbolic links, unless links is set: then a link whose
// target stays in the folder is recorded with its target (and never
// followed), and any other is Other.
func scan(root string, ig ignorer, log *slog.Logger, links bool) (map[string]stat, error) {
	out := make(map[string]stat)
	err := filepath.WalkDir(root, func(full string, d fs.DirEntry, err error) error {
		if err != nil {
			if full == root {
				return err
			}
			log.Warn("folder: cannot read, skipped", "path", full, "err", err)
			return nil
		}
		if full == root {
			return nil
		}
		rel, err := filepath.Rel(root, full)
		if err != nil {
			return err
		}
		p := filepath.ToSlash(rel)
		if ig.ignored(p, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if checkPath(p) != nil {
			log.Warn("folder: name cannot be synced, skipped", "path", p)
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 && links {
			target, err := os.Readlink(full)
			out[p] = statLink(p, target, err)
			return nil
		}
		if !d.IsDir() && !d.Type().IsRegular() {
			out[p] = stat{Other: true}
			return nil
		}
		info, err := d.Info()
		if err != nil { // removed meanwhile
			return nil
		}
		st := stat{Dir: true, Mode: info.Mode() & fs.ModePerm} // a directory's time is not synced
		if !d.IsDir() {
			st = statOf(info)
		}
		out[p] = st
		return nil
	})
	return out, err
}
