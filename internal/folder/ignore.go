package folder

import (
	"errors"
	"io/fs"
	"path/filepath"

	ignore "github.com/sabhiram/go-gitignore"
)

// IgnoreFile holds the folder's ignore patterns, in gitignore syntax, at
// its root. It is synced like any file, so every device ignores alike;
// a device never uploads, downloads or deletes a path it ignores.
const IgnoreFile = ".synkignore"

// ignorer matches paths against the folder's .synkignore.
type ignorer struct {
	m *ignore.GitIgnore // nil: no patterns
}

func loadIgnore(root string) (ignorer, error) {
	m, err := ignore.CompileIgnoreFile(filepath.Join(root, IgnoreFile))
	if errors.Is(err, fs.ErrNotExist) {
		return ignorer{}, nil
	}
	if err != nil {
		return ignorer{}, err
	}
	return ignorer{m}, nil
}

// ignored reports whether the slash path p (a directory's with a
// trailing slash) is ignored, or is synk's own.
func (ig ignorer) ignored(p string, dir bool) bool {
	if reserved(p) {
		return true
	}
	if ig.m == nil {
		return false
	}
	if dir {
		p += "/"
	}
	return ig.m.MatchesPath(p)
}
