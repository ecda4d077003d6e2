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
	t, err := checkFrame(b)
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

// checkFrame checks b as [Check] does, in the same single walk checks that
// it is a map that names no letter key twice, and returns its type: key
// "t", a positive fixint. No writer repeats a key, and the msgpack library
// would decode a repeated list into the first one's elements.
func checkFrame(b []byte) (MessageType, error) {
	var n, off int
	switch {
	case len(b) == 0:
		return 0, errTruncated(0)
	case b[0]&0xf0 == 0x80:
		n, off = int(b[0]&0x0f), 1
	case b[0] == 0xde || b[0] == 0xdf:
		var err error
		if n, off, err = items(b, 1, b[0]); err != nil {
			return 0, err
		}
		n /= 2
	default:
		return 0, fmt.Errorf("%w: frame is not a map", ErrMalformed)
	}
	var seen uint32 // letters a–z
	t := MessageType(0)
	for range n {
		key := off
		val, err := skip(b, off, MaxDepth-1)
		if err != nil {
			return 0, err
		}
		if off, err = skip(b, val, MaxDepth-1); err != nil {
			return 0, err
		}
		if k := b[val-1]; val-key == 2 && b[key] == 0xa1 && k >= 'a' && k <= 'z' {
			if seen&(1<<(k-'a')) != 0 {
				return 0, fmt.Errorf("%w: key %q repeated", ErrMalformed, k)
			}
			seen |= 1 << (k - 'a')
			if k == 't' {
				if t = MessageType(b[val]); t < 1 || t > 0x7f {
					return 0, fmt.Errorf("%w: \"t\" is not a positive fixint", ErrMalformed)
				}
			}
		}
	}
	switch {
	case off != len(b):
		return 0, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(b)-off)
	case t == 0:
		return 0, fmt.Errorf("%w: no \"t\" key", ErrMalformed)
	}
	return t, nil
}
