package protocol

import (
	"encoding/binary"
	"fmt"
)

// MaxDepth is the deepest nesting of arrays and maps that [Check] accepts.
// The frame itself is depth 1.
const MaxDepth = 32

// Check reports whether b holds exactly one well-formed msgpack value whose
// every declared length fits in the bytes that follow it, nested no deeper
// than maxDepth. It allocates nothing, so it is safe to run on untrusted
// bytes before the msgpack library decodes them.
func Check(b []byte, maxDepth int) error {
	n, err := skip(b, 0, maxDepth)
	if err != nil {
		return err
	}
	if n != len(b) {
		return fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(b)-n)
	}
	return nil
}

// Next splits off the first frame of a websocket message that carries
// one or more frames back to back (see [Hello].Batch). It checks the frame
// as [Check] does and returns it and the bytes after it.
func Next(msg []byte) (frame, rest []byte, err error) {
	n, err := skip(msg, 0, MaxDepth)
	if err != nil {
		return nil, nil, err
	}
	return msg[:n:n], msg[n:], nil
}

// skip returns the offset just past the msgpack value that starts at off.
func skip(b []byte, off, depth int) (int, error) {
	if depth <= 0 {
		return 0, fmt.Errorf("%w: nested too deep", ErrMalformed)
	}
	if off >= len(b) {
		return 0, errTruncated(off)
	}
	c := b[off]
	off++
	switch {
	case c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
		return off, nil // fixint, nil, bool
	case c >= 0x80 && c <= 0x8f:
		return skipN(b, off, 2*int(c&0x0f), depth)
	case c >= 0x90 && c <= 0x9f:
		return skipN(b, off, int(c&0x0f), depth)
	case c >= 0xa0 && c <= 0xbf:
		return span(b, off, int(c&0x1f))
	}
	switch c {
	case 0xc4, 0xd9: // bin8, str8
		return lenSpan(b, off, 1, 0)
	case 0xc5, 0xda: // bin16, str16
		return lenSpan(b, off, 2, 0)
	case 0xc6, 0xdb: // bin32, str32
		return lenSpan(b, off, 4, 0)
	case 0xc7: // ext8: length, type, data
		return lenSpan(b, off, 1, 1)
	case 0xc8:
		return lenSpan(b, off, 2, 1)
	case 0xc9:
		return lenSpan(b, off, 4, 1)
	case 0xca: // float32
		return span(b, off, 4)
	case 0xcb: // float64
		return span(b, off, 8)
	case 0xcc, 0xd0:
		return span(b, off, 1)
	case 0xcd, 0xd1:
		return span(b, off, 2)
	case 0xce, 0xd2:
		return span(b, off, 4)
	case 0xcf, 0xd3:
		return span(b, off, 8)
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1, 2, 4, 8, 16 plus a type byte
		return span(b, off, 1+(1<<(c-0xd4)))
	case 0xdc, 0xdd, 0xde, 0xdf:
		n, off, err := items(b, off, c)
		if err != nil {
			return 0, err
		}
		return skipN(b, off, n, depth)
	}
	return 0, fmt.Errorf("%w: byte 0x%02x at offset %d is not a msgpack type", ErrMalformed, c, off-1)
}

// skipN skips n values that must each take at least one byte.
func skipN(b []byte, off, n, depth int) (int, error) {
	if n > len(b)-off {
		return 0, errClaims(n, off, len(b))
	}
	var err error
	for range n {
		if off, err = skip(b, off, depth-1); err != nil {
			return 0, err
		}
	}
	return off, nil
}

// items reads the length after an array16/32 or map16/32 byte c and
// returns the number of values that follow: a map's pairs count twice.
func items(b []byte, off int, c byte) (int, int, error) {
	size := 2
	if c == 0xdd || c == 0xdf {
		size = 4
	}
	n, off, err := readLen(b, off, size)
	if err != nil {
		return 0, 0, err
	}
	if c >= 0xde {
		if n > (len(b)-off)/2 {
			return 0, 0, errClaims(n, off, len(b))
		}
		n *= 2
	}
	return n, off, nil
}

// lenSpan reads a size-byte big-endian length, skips extra header bytes and
// then the length's worth of data.
func lenSpan(b []byte, off, size, extra int) (int, error) {
	n, off, err := readLen(b, off, size)
	if err != nil {
		return 0, err
	}
	return span(b, off, extra+n)
}

func readLen(b []byte, off, size int) (int, int, error) {
	if size > len(b)-off {
		return 0, 0, errTruncated(off)
	}
	var n uint64
	switch size {
	case 1:
		n = uint64(b[off])
	case 2:
		n = uint64(binary.BigEndian.Uint16(b[off:]))
	default:
		n = uint64(binary.BigEndian.Uint32(b[off:]))
	}
	return int(n), off + size, nil
}

func span(b []byte, off, n int) (int, error) {
	if n > len(b)-off {
		return 0, errClaims(n, off, len(b))
	}
	return off + n, nil
}

func errTruncated(off int) error {
	return fmt.Errorf("%w: truncated at offset %d", ErrMalformed, off)
}

func errClaims(n, off, total int) error {
	return fmt.Errorf("%w: length %d at offset %d exceeds the %d bytes left", ErrMalformed, n, off, total-off)
}
