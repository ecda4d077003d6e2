package server

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
)

// Buffer sizes of a websocket after the upgrade. net/http hands a
// hijacked connection 4 KiB for reading and 4 KiB for writing; frames are
// mostly a few hundred bytes, larger reads and writes bypass a bufio
// buffer anyway, and for an idle connection those 8 KiB were a third of
// its memory.
const (
	readBuffer  = 1 << 10
	writeBuffer = 1 << 10
)

// smallBuffers gives a hijacked connection smaller bufio buffers.
type smallBuffers struct{ http.ResponseWriter }

// Hijack implements http.Hijacker.
func (w smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("server: the connection cannot be hijacked")
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	n := brw.Reader.Buffered()
	if n > readBuffer {
		return conn, brw, nil // the client sent ahead: keep what holds it
	}
	var src io.Reader = conn
	if n > 0 {
		pending, _ := brw.Reader.Peek(n)
		src = io.MultiReader(bytes.NewReader(bytes.Clone(pending)), conn)
	}
	r := bufio.NewReaderSize(src, readBuffer)
	if n > 0 {
		_, _ = r.Peek(n) // buffer them, where the websocket library looks
	}
	return conn, bufio.NewReadWriter(r, bufio.NewWriterSize(conn, writeBuffer)), nil
}
