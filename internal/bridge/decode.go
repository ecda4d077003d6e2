package bridge

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// ErrEntries is wrapped by the errors of [DecodeEntries].
var ErrEntries = errors.New("synk: entries must be a plain object")

// DecodeEntries splits b, one msgpack map with string keys as synk.js
// encodes a presence or an object's fields, into its keys and raw values.
// Each value is checked as [protocol.Check] does (nesting at most
// protocol.MaxDepth) and kept as it is, sharing b's memory; a key given
// twice is an error. The client checks keys and sizes against the
// server's limits when it encodes them.
func DecodeEntries(b []byte) (map[string]any, error) {
	n, off, err := mapLen(b)
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, min(n, len(b)/2))
	for range n {
		var k string
		if k, off, err = str(b, off); err != nil {
			return nil, err
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("%w: key %q twice", ErrEntries, k)
		}
		v, _, err := protocol.Next(b[off:])
		if err != nil {
			return nil, fmt.Errorf("%w: value of %q: %v", ErrEntries, k, err)
		}
		off += len(v)
		out[k] = msgpack.RawMessage(v)
	}
	if off != len(b) {
		return nil, fmt.Errorf("%w: %d bytes after the map", ErrEntries, len(b)-off)
	}
	return out, nil
}

// mapLen reads the map header at the start of b.
func mapLen(b []byte) (n, off int, err error) {
	switch {
	case len(b) > 0 && b[0]&0xf0 == 0x80:
		return int(b[0] & 0x0f), 1, nil
	case len(b) >= 3 && b[0] == 0xde:
		return int(binary.BigEndian.Uint16(b[1:])), 3, nil
	case len(b) >= 5 && b[0] == 0xdf:
		return int(binary.BigEndian.Uint32(b[1:])), 5, nil
	}
	return 0, 0, fmt.Errorf("%w: not a msgpack map", ErrEntries)
}

// str reads the msgpack str at b[off:] and returns it and the offset
// after it.
func str(b []byte, off int) (string, int, error) {
	if off >= len(b) {
		return "", 0, fmt.Errorf("%w: truncated", ErrEntries)
	}
	var n, hdr int
	switch c := b[off]; {
	case c&0xe0 == 0xa0:
		n, hdr = int(c&0x1f), 1
	case c == 0xd9 && off+2 <= len(b):
		n, hdr = int(b[off+1]), 2
	case c == 0xda && off+3 <= len(b):
		n, hdr = int(binary.BigEndian.Uint16(b[off+1:])), 3
	case c == 0xdb && off+5 <= len(b):
		n, hdr = int(binary.BigEndian.Uint32(b[off+1:])), 5
	default:
		return "", 0, fmt.Errorf("%w: a key is not a string", ErrEntries)
	}
	off += hdr
	if n > len(b)-off {
		return "", 0, fmt.Errorf("%w: truncated", ErrEntries)
	}
	return string(b[off : off+n]), off + n, nil
}
