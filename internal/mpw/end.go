package mpw

import (
	"encoding/binary"
	"strconv"
)

// End returns the offset just past the msgpack value that starts at off
// in b, nested no deeper than depth (a scalar is depth 1). It allocates
// nothing but its error: every declared length must fit in the bytes
// left, so it is safe on untrusted bytes. Its errors are [*SyntaxError].
func End(b []byte, off, depth int) (int, error) {
	if depth <= 0 {
		return 0, &SyntaxError{"nested too deep"}
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
	return 0, &SyntaxError{"byte 0x" + hex2(c) + " at offset " + strconv.Itoa(off-1) + " is not a msgpack type"}
}

// skipN skips n values that must each take at least one byte.
func skipN(b []byte, off, n, depth int) (int, error) {
	if n > len(b)-off {
		return 0, errClaims(n, off, len(b))
	}
	var err error
	for range n {
		if off, err = End(b, off, depth-1); err != nil {
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
	return &SyntaxError{"truncated at offset " + strconv.Itoa(off)}
}

func errClaims(n, off, total int) error {
	return &SyntaxError{"length " + strconv.Itoa(n) + " at offset " + strconv.Itoa(off) +
		" exceeds the " + strconv.Itoa(total-off) + " bytes left"}
}

// hex2 writes c as two lower-case hex digits.
func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&0x0f]})
}

// SyntaxError reports bytes that are not well-formed msgpack: an unknown
// type byte, a length that does not fit, or nesting too deep.
type SyntaxError struct {
	Msg string // what is wrong, and at which offset
}

func (e *SyntaxError) Error() string { return e.Msg }
