package protocol

import (
	"errors"
	"strconv"

	"github.com/synkhq/synk/internal/mpw"
	"github.com/synkhq/synk/internal/wraperr"
)

// Encode returns the wire bytes of m.
func Encode(m Message) ([]byte, error) { return Append(nil, m) }

// Append appends the wire bytes of m to dst and returns the extended slice.
// The "t" key comes first, then m's keys in the order of its fields.
func Append(dst []byte, m Message) ([]byte, error) {
	s, ok := m.(wireStruct)
	if !ok {
		return dst, errors.New("protocol: a " + m.Type().String() + " frame not of this package")
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
			return nil, wraperr.New(ErrUnknownType.Error()+" "+strconv.Itoa(int(t)), ErrUnknownType)
		}
		r := newReader(b)
		if readStruct(r, m.(wireStruct)); !r.OK {
			return nil, wraperr.Detail(ErrMalformed, t.String()+": a value does not fit its key's type")
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
	r := mpw.Reader{B: b, OK: true}
	n := r.MapLen()
	if !r.OK {
		return 0, wraperr.Detail(ErrMalformed, "frame is not a map")
	}
	off := r.Off    // a length past the bytes left fails in the loop
	var seen uint32 // letters a–z
	t := MessageType(0)
	for range n {
		key := off
		val, err := mpw.End(b, off, MaxDepth-1)
		if err != nil {
			return 0, malformed(err)
		}
		if off, err = mpw.End(b, val, MaxDepth-1); err != nil {
			return 0, malformed(err)
		}
		if k := b[val-1]; val-key == 2 && b[key] == 0xa1 && k >= 'a' && k <= 'z' {
			if seen&(1<<(k-'a')) != 0 {
				return 0, wraperr.Detail(ErrMalformed, "key \""+string(rune(k))+"\" repeated")
			}
			seen |= 1 << (k - 'a')
			if k == 't' {
				if t = MessageType(b[val]); t < 1 || t > 0x7f {
					return 0, wraperr.Detail(ErrMalformed, "\"t\" is not a positive fixint")
				}
			}
		}
	}
	switch {
	case off != len(b):
		return 0, wraperr.Detail(ErrMalformed, strconv.Itoa(len(b)-off)+" trailing bytes")
	case t == 0:
		return 0, wraperr.Detail(ErrMalformed, "no \"t\" key")
	}
	return t, nil
}
