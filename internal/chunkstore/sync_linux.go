package chunkstore

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncFiles makes the pending chunks' bytes durable: one syncfs(2) of the
// file system that holds dir, which costs far less than an fsync per
// file for thousands of small chunks.
func syncFiles(dir string, _ []pendingChunk) error { return syncfs(dir) }

// syncDirs makes the renames into the chunks' directories durable.
func syncDirs(dir string, _ []pendingChunk) error { return syncfs(dir) }

func syncfs(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return unix.Syncfs(int(d.Fd()))
}
