package folder

import (
	"fmt"

	"github.com/synkhq/synk/internal/diskfree"
)

// keepFree is the disk space a download leaves free.
const keepFree = 64 << 20

// roomFor returns an error unless the file system of dir has room for a
// file of size bytes, keeping keepFree free: a device never fills its
// disk with the room's files. Where the free space cannot be read, it
// does not stand in the way.
func roomFor(dir string, size int64) error {
	free, ok := diskfree.Bytes(dir)
	if ok && free-size < keepFree {
		return fmt.Errorf("%d bytes free on the disk, a file of %d needs them and %d more kept free", free, size, keepFree)
	}
	return nil
}
