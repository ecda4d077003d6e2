//go:build unix

package folder

import (
	"fmt"
	"syscall"
)

// keepFree is the disk space a download leaves free.
const keepFree = 64 << 20

// roomFor returns an error unless the file system of dir has room for a
// file of size bytes, keeping keepFree free: a device never fills its
// disk with the room's files. Where the free space cannot be read, it
// does not stand in the way.
func roomFor(dir string, size int64) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return nil
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	if free-size < keepFree {
		return fmt.Errorf("%d bytes free on the disk, a file of %d needs them and %d more kept free", free, size, keepFree)
	}
	return nil
}
