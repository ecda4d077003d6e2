package protocol

import (
	"fmt"
)

// Encode returns the wire bytes of m.
func Encode(m Message) ([]byte, error) { return Append(nil, m) }

// Append appends the wire bytes of m to dst and returns the extended slice.
// The "t" key comes first, then m's keys in the order of its fields.
func Append(dst []byte, m Message) ([]byte, error) {
	s, ok := m.(wireStruct)
	if !ok {
		return dst, fmt.Errorf("protocol: %T is not a frame of this package", m)
	}
	return appendStruct(dst, s, m.Type()), nil
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
		r := &fastReader{b: b, ok: true}
		if readStruct(r, m.(wireStruct)); !r.ok {
			return nil, fmt.Errorf("%w: %v: a value does not fit its key's type", ErrMalformed, t)
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
