//go:build unix

package server

import (
	"sync"
	"syscall"
)

// canWriteNow: writeNow writes a socket without waiting here.
const canWriteNow = true

// writeNow writes b to the socket once, without waiting for room in its
// send buffer, and returns how many bytes it took (0 if none, or on an
// error: the caller then queues the frame and the writer meets the error).
func writeNow(rc syscall.RawConn, b []byte) int {
	w := rawWriters.Get().(*rawWriter)
	w.b, w.n = b, 0
	if rc.Write(w.fn) != nil {
		w.n = 0
	}
	n := w.n
	w.b = nil
	rawWriters.Put(w)
	return n
}

// rawWriter is writeNow's callback with its argument and result: pooled,
// so that a write allocates neither a closure nor its captured result.
type rawWriter struct {
	b  []byte
	n  int
	fn func(fd uintptr) bool // w.write, bound once
}

var rawWriters = sync.Pool{New: func() any {
	w := new(rawWriter)
	w.fn = w.write
	return w
}}

// write is the RawConn callback: one write(2), retried only when a signal
// interrupted it. It reports done either way: writeNow never waits.
func (w *rawWriter) write(fd uintptr) bool {
	for {
		n, err := syscall.Write(int(fd), w.b)
		if err != syscall.EINTR {
			w.n = max(n, 0)
			if err != nil {
				w.n = 0
			}
			return true
		}
	}
}
