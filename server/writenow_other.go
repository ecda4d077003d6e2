//go:build !unix

package server

import "syscall"

// writeNow writes nothing where a socket cannot be written without
// waiting: every frame goes through the writer goroutine.
func writeNow(syscall.RawConn, []byte) int { return 0 }
