//go:build unix

// Package diskfree reads how much of a file system is free, so that a
// server or a device can refuse to fill its disk.
package diskfree

import "syscall"

// Bytes returns the bytes an unprivileged user may still write on the
// file system of dir, and false where that cannot be read.
func Bytes(dir string) (int64, bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return int64(st.Bavail) * int64(st.Bsize), true
}
