package folder

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/fsnotify/fsnotify"
)

// watcher watches every directory of a folder (fsnotify watches one
// directory each) and says when anything in it changed. New directories
// are watched as they appear. Events inside .synk are not changes.
type watcher struct {
	w       *fsnotify.Watcher
	root    string
	log     *slog.Logger
	changed chan struct{} // told of a change (capacity 1: changes merge)
	errs    chan error    // a watcher failure
	done    chan struct{}
	once    sync.Once
}

func newWatcher(root string, log *slog.Logger) (*watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	w := &watcher{w: fw, root: root, log: log, changed: make(chan struct{}, 1), errs: make(chan error, 1), done: make(chan struct{})}
	if err := w.addTree(root); err != nil {
		fw.Close()
		return nil, err
	}
	go w.loop()
	return w, nil
}

// addTree watches dir and every directory below it, but synk's own.
func (w *watcher) addTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if d.Name() == stateDir && filepath.Dir(p) == w.root {
			return filepath.SkipDir
		}
		if err := w.w.Add(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
}

func (w *watcher) loop() {
	defer close(w.done)
	state := filepath.Join(w.root, stateDir) + string(filepath.Separator)
	for {
		select {
		case ev, ok := <-w.w.Events:
			if !ok {
				return
			}
			if strings.HasPrefix(ev.Name, state) || strings.HasPrefix(filepath.Base(ev.Name), tmpPrefix) {
				continue
			}
			if ev.Has(fsnotify.Create) {
				if info, err := os.Lstat(ev.Name); err == nil && info.IsDir() {
					if err := w.addTree(ev.Name); err != nil {
						w.log.Warn("folder: cannot watch", "dir", ev.Name, "err", err)
					}
				}
			}
			select {
			case w.changed <- struct{}{}:
			default:
			}
		case err, ok := <-w.w.Errors:
			if !ok {
				return
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				// Events were lost: a pass rescans everything anyway.
				select {
				case w.changed <- struct{}{}:
				default:
				}
				continue
			}
			select {
			case w.errs <- err:
			default:
			}
		}
	}
}

// close stops the watcher and waits for its goroutine.
func (w *watcher) close() {
	w.once.Do(func() { w.w.Close() })
	<-w.done
}
