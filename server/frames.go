package server

import (
	"bytes"
	"encoding/binary"
	"net"
	"sync"
	"syscall"
	"time"
)

// frameConn is a hijacked websocket connection that the writer writes
// binary messages to directly, one unfragmented frame each, without the
// websocket library's per-message write path (two channel locks, a
// context check and a copy through its buffer per message: an eighth of
// the server's time in fan-out, issue 19). The library still does the
// opening handshake, all reading, and the control frames: it writes those
// through Write below, which takes the same lock, so that frames never
// interleave. Server frames are never masked (RFC 6455 section 5.1).
type frameConn struct {
	net.Conn
	timeout time.Duration   // the least time a write may take (WriteTimeout)
	rc      syscall.RawConn // the socket, for writes that must not wait; nil if not a plain socket (TLS)

	mu       sync.Mutex // Protects the following and orders writes.
	deadline time.Time  // the write deadline set on the connection
	watch    bool       // the handshake is over: the library writes control frames only
	closed   bool       // the library wrote a close frame: no frame may follow
	pending  []byte     // the rest of a frame tryMessage wrote in part: it goes out first
}

// newFrameConn wraps a hijacked connection.
func newFrameConn(nc net.Conn, timeout time.Duration) *frameConn {
	f := &frameConn{Conn: nc, timeout: timeout}
	if sc, ok := nc.(syscall.Conn); ok && canWriteNow {
		if rc, err := sc.SyscallConn(); err == nil {
			f.rc = rc
		}
	}
	return f
}

// frameBufs hold a header and a small payload for one write: pooled, not
// kept per connection, so that a connection that once got a large frame
// does not keep its buffer while idle.
var frameBufs = sync.Pool{New: func() any { b := make([]byte, 0, maxHeader+smallFrame); return &b }}

// smallFrame is the largest payload copied behind its header, so that
// one write(2) carries both; a larger one goes out with writev.
const smallFrame = 4 << 10

// Write is the library's path: its bufio.Writer flushes each control
// frame in one call (a control frame has at most 127 bytes, the buffer
// holds writeBuffer), so a frame is never split around one of the
// writer's. Only the handshake's answer, written before the writer
// starts, may take several calls.
func (f *frameConn) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.arm(); err != nil {
		return 0, err
	}
	if err := f.flushLocked(); err != nil {
		return 0, err
	}
	if f.watch && len(p) > 0 && p[0]&0x0f == opClose {
		f.closed = true
	}
	return f.Conn.Write(p)
}

// handshakeDone tells f that the library writes no more data frames: from
// now on a close frame from it is recognised by its first byte.
func (f *frameConn) handshakeDone() {
	f.mu.Lock()
	f.watch = true
	f.mu.Unlock()
}

// writeMessage writes p as one binary message. After the library sent a
// close frame it writes nothing and reports net.ErrClosed.
func (f *frameConn) writeMessage(p []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return net.ErrClosed
	}
	if err := f.arm(); err != nil {
		return err
	}
	if err := f.flushLocked(); err != nil {
		return err
	}
	bp := frameBufs.Get().(*[]byte)
	defer frameBufs.Put(bp)
	b := appendHeader((*bp)[:0], len(p))
	if len(p) <= smallFrame {
		_, err := f.Conn.Write(append(b, p...))
		return err
	}
	bufs := net.Buffers{b, p}
	_, err := bufs.WriteTo(f.Conn)
	return err
}

// arm makes sure the next write has at least f.timeout to complete. The
// deadline is moved only when less than that is left, to a quarter
// beyond, so that a busy connection sets it once every timeout/4 rather
// than once per frame. The caller holds f.mu.
func (f *frameConn) arm() error {
	now := time.Now()
	if f.deadline.Sub(now) >= f.timeout {
		return nil
	}
	f.deadline = now.Add(f.timeout + f.timeout/4)
	return f.Conn.SetWriteDeadline(f.deadline)
}

// maxHeader is the longest header of a server frame: 2 bytes and a 64-bit
// length.
const maxHeader = 10

// WebSocket opcodes (RFC 6455 section 5.2).
const (
	opBinary = 0x2
	opClose  = 0x8
)

// appendHeader appends the header of a final, unmasked binary frame
// carrying n bytes.
func appendHeader(b []byte, n int) []byte {
	const fin = 0x80
	switch {
	case n <= 125:
		return append(b, fin|opBinary, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, fin|opBinary, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, fin|opBinary, 127), uint64(n))
	}
}

// tryMessage writes p as one frame if the socket takes it now, without
// waiting, so that the write pool never waits for one client. It reports
// whether any of the frame went out, and how many of its bytes did not:
// those are pending in f, and the next write or flush sends them first.
// When nothing went out (the socket is full, the connection is not a
// plain socket, a frame is pending, p is large, or the write failed) the
// caller leaves p to a writer that may wait, which meets any error.
func (f *frameConn) tryMessage(p []byte) (wrote bool, left int) {
	if f.rc == nil || len(p) > smallFrame {
		return false, 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || f.pending != nil || f.arm() != nil {
		return false, 0
	}
	bp := frameBufs.Get().(*[]byte)
	defer frameBufs.Put(bp)
	b := append(appendHeader((*bp)[:0], len(p)), p...)
	n := writeNow(f.rc, b)
	if n <= 0 {
		return false, 0
	}
	if n < len(b) {
		f.pending = bytes.Clone(b[n:])
	}
	return true, len(b) - n
}

// flush writes what tryMessage left pending, waiting up to the write
// deadline.
func (f *frameConn) flush() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pending == nil {
		return nil
	}
	if err := f.arm(); err != nil {
		return err
	}
	return f.flushLocked()
}

// flushLocked writes the pending bytes; the caller holds f.mu and armed
// the deadline.
func (f *frameConn) flushLocked() error {
	if f.pending == nil {
		return nil
	}
	_, err := f.Conn.Write(f.pending)
	f.pending = nil
	return err
}
