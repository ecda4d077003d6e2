package server

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"time"
)

// Buffer sizes of a websocket after the upgrade. net/http hands a
// hijacked connection 4 KiB for reading and 4 KiB for writing; frames are
// mostly a few hundred bytes, larger reads and writes bypass a bufio
// buffer anyway, and for an idle connection those 8 KiB were a third of
// its memory. The websocket library writes only the handshake's answer
// and control frames (at most 127 bytes) through its buffer; the writer
// writes messages to the frameConn itself.
const (
	readBuffer  = 1 << 10
	writeBuffer = 256
)

// hijacker gives the websocket library a hijacked connection with smaller
// bufio buffers, wrapped as a frameConn that the writer then writes to.
type hijacker struct {
	http.ResponseWriter
	timeout time.Duration // WriteTimeout
	conn    *frameConn    // set by Hijack
}

// Hijack implements http.Hijacker.
func (w *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("server: the connection cannot be hijacked")
	}
	nc, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	conn := newFrameConn(nc, w.timeout)
	w.conn = conn
	bw := bufio.NewWriterSize(conn, writeBuffer)
	n := brw.Reader.Buffered()
	if n > readBuffer {
		// The client sent ahead: keep the reader that holds it.
		return conn, bufio.NewReadWriter(brw.Reader, bw), nil
	}
	var src io.Reader = nc
	if n > 0 {
		pending, _ := brw.Reader.Peek(n)
		src = io.MultiReader(bytes.NewReader(bytes.Clone(pending)), conn)
	}
	r := bufio.NewReaderSize(src, readBuffer)
	if n > 0 {
		_, _ = r.Peek(n) // buffer them, where the websocket library looks
	}
	return conn, bufio.NewReadWriter(r, bw), nil
}
