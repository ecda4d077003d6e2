//go:build !linux

package chunkstore

import (
	"os"
	"path/filepath"
)

// syncFiles makes the pending chunks' bytes durable, an fsync each.
func syncFiles(_ string, ps []pendingChunk) error {
	for _, p := range ps {
		if err := syncPath(p.tmp, os.O_RDWR); err != nil {
			return err
		}
	}
	return nil
}

// syncDirs makes the renames into the chunks' directories durable.
func syncDirs(_ string, ps []pendingChunk) error {
	done := make(map[string]bool)
	for _, p := range ps {
		if d := filepath.Dir(p.dst); !done[d] {
			done[d] = true
			if err := syncPath(d, os.O_RDONLY); err != nil {
				return err
			}
		}
	}
	return nil
}

func syncPath(name string, flag int) error {
	f, err := os.OpenFile(name, flag, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
