//go:build !unix

package diskfree

// Bytes reports false: the free space is not read on this system.
func Bytes(dir string) (int64, bool) { return 0, false }
