// Package chunkpack is the body of folder sync's multi-chunk requests
// (docs/PROTOCOL.md, "Chunks"): chunks back to back, each as its SHA-256
// (32 bytes), its length (4 bytes, big-endian) and its bytes. In an
// answer, a length of 0xFFFFFFFF with no bytes after it says the server
// holds no such chunk.
//
// Both ends use it: the server (server/) and the folder-sync device
// (internal/folder). Neither trusts what it reads: a length over the
// reader's limit, a header cut short and a missing chunk where none may
// be are errors.
package chunkpack

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// HeaderSize is the bytes before each chunk's own.
const HeaderSize = 32 + 4

// missingLen is the length that says a chunk is missing.
const missingLen = 0xFFFFFFFF

// AppendHeader appends the header of a chunk of n bytes named hash to b;
// n < 0 says it is missing.
func AppendHeader(b []byte, hash [32]byte, n int) []byte {
	b = append(b, hash[:]...)
	if n < 0 {
		return binary.BigEndian.AppendUint32(b, missingLen)
	}
	return binary.BigEndian.AppendUint32(b, uint32(n))
}

// ErrTooLarge is a chunk longer than the reader's limit.
var ErrTooLarge = errors.New("chunkpack: chunk over the limit")

// Reader reads a pack: Next gives each chunk's name and length, then Body
// its bytes.
type Reader struct {
	r     io.Reader
	limit int
	body  io.LimitedReader
	hdr   [HeaderSize]byte
}

// NewReader reads a pack from r whose chunks hold at most limit bytes.
func NewReader(r io.Reader, limit int) *Reader {
	return &Reader{r: r, limit: limit, body: io.LimitedReader{R: r}}
}

// Next reads the next chunk's header: its name and length, -1 when it is
// missing. What the previous chunk's Body left unread is skipped. At the
// pack's end it returns io.EOF; a header cut short is
// io.ErrUnexpectedEOF, a length over the limit ErrTooLarge.
func (p *Reader) Next() (hash [32]byte, n int, err error) {
	if p.body.N > 0 {
		if _, err := io.Copy(io.Discard, &p.body); err != nil {
			return hash, 0, err
		}
		if p.body.N > 0 {
			return hash, 0, io.ErrUnexpectedEOF
		}
	}
	if _, err := io.ReadFull(p.r, p.hdr[:]); err != nil {
		return hash, 0, err // io.EOF only at a clean end
	}
	copy(hash[:], p.hdr[:32])
	m := binary.BigEndian.Uint32(p.hdr[32:])
	if m == missingLen {
		return hash, -1, nil
	}
	if int64(m) > int64(p.limit) {
		return hash, 0, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, m, p.limit)
	}
	p.body.N = int64(m)
	return hash, int(m), nil
}

// Body reads the current chunk's bytes; it ends (io.EOF) at their end.
// Fewer bytes than the header said is io.ErrUnexpectedEOF from ReadBody
// or the next Next.
func (p *Reader) Body() io.Reader { return &p.body }

// ReadBody returns the current chunk's bytes, read into buf if it is
// large enough.
func (p *Reader) ReadBody(buf []byte) ([]byte, error) {
	n := int(p.body.N)
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(&p.body, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}
