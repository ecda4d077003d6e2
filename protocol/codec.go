package protocol

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
)

var encPool = sync.Pool{New: func() any {
	e := &encoder{}
	e.enc = msgpack.NewEncoder(&e.buf)
	e.enc.UseCompactInts(true)
	e.enc.SetSortMapKeys(true) // the same frame is always the same bytes
	return e
}}

type encoder struct {
	buf bytes.Buffer
	enc *msgpack.Encoder
}

// Encode returns the wire bytes of m.
func Encode(m Message) ([]byte, error) { return Append(nil, m) }

// Append appends the wire bytes of m to dst and returns the extended slice.
// The "t" key comes first, then m's keys in the order of its fields.
func Append(dst []byte, m Message) ([]byte, error) {
	e := encPool.Get().(*encoder)
	defer encPool.Put(e)
	e.buf.Reset()
	if err := e.enc.Encode(m); err != nil {
		return dst, fmt.Errorf("protocol: encode %v: %w", m.Type(), err)
	}
	// The struct is encoded as a map of n fields; rewrite its header to
	// n+1 and put "t" in front of the fields.
	b := e.buf.Bytes()
	var n, hdr int
	switch {
	case len(b) > 0 && b[0]&0xf0 == 0x80:
		n, hdr = int(b[0]&0x0f), 1
	case len(b) > 2 && b[0] == 0xde:
		n, hdr = int(binary.BigEndian.Uint16(b[1:])), 3
	default:
		panic("bug: message did not encode as a map")
	}
	if n+1 < 16 {
		dst = append(dst, 0x80|byte(n+1))
	} else {
		dst = append(dst, 0xde, byte((n+1)>>8), byte(n+1))
	}
	dst = append(dst, 0xa1, 't', byte(m.Type()))
	return append(dst, b[hdr:]...), nil
}

// Decode parses one frame. It returns an error wrapping [ErrMalformed] for
// bytes that are not a frame, [ErrUnknownType] for a frame of a type this
// version does not know, and a [*Error] with code [CodeBadRequest] or
// [CodeBadName] for a frame whose values break the rules of its type.
func Decode(b []byte) (Message, error) {
	if err := Check(b, MaxDepth); err != nil {
		return nil, err
	}
	t, err := frameType(b)
	if err != nil {
		return nil, err
	}
	m, ok := decodeFast(t, b)
	if !ok {
		if m = newMessage(t); m == nil {
			return nil, fmt.Errorf("%w %d", ErrUnknownType, t)
		}
		if err := msgpack.Unmarshal(b, m); err != nil {
			return nil, fmt.Errorf("%w: %v: %v", ErrMalformed, t, err)
		}
	}
	if err := validate(m); err != nil {
		return nil, err
	}
	return m, nil
}

// frameType reads key "t" of the checked top-level map in b.
func frameType(b []byte) (MessageType, error) {
	var n, off int
	switch c := b[0]; {
	case c&0xf0 == 0x80:
		n, off = int(c&0x0f), 1
	case c == 0xde:
		n, off = int(binary.BigEndian.Uint16(b[1:])), 3
	case c == 0xdf:
		n, off = int(binary.BigEndian.Uint32(b[1:])), 5
	default:
		return 0, fmt.Errorf("%w: frame is not a map", ErrMalformed)
	}
	for range n {
		key := off
		end, err := skip(b, off, 1)
		if err != nil {
			return 0, err
		}
		off = end
		if end-key == 2 && b[key] == 0xa1 && b[key+1] == 't' {
			if c := b[off]; c >= 1 && c <= 0x7f {
				return MessageType(c), nil
			}
			return 0, fmt.Errorf("%w: \"t\" is not a positive fixint", ErrMalformed)
		}
		if off, err = skip(b, off, MaxDepth); err != nil {
			return 0, err
		}
	}
	return 0, fmt.Errorf("%w: no \"t\" key", ErrMalformed)
}
