//go:build !unix

package server

import "syscall"

// canWriteNow: a socket here cannot be written without waiting (writeNow
// has no system call to make), so frameConns get no RawConn and every
// connection has writer goroutines of its own, not the write pool.
const canWriteNow = false

// writeNow is not called where canWriteNow is false.
func writeNow(syscall.RawConn, []byte) int { return 0 }
