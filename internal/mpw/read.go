package mpw

import "encoding/binary"

// MaxDepth is the deepest nesting of arrays and maps that [Reader.Raw]
// and [Reader.Skip] pass over: a frame of the protocol, or a stored record.
const MaxDepth = 32

// Reader walks msgpack values in B from Off. OK turns false at the first
// value that is not of the form asked for (or runs past the end), and the
// reads after that return zero values: a caller checks OK once at the end.
//
// The plain readers (ArrayLen, StrBytes, Str, Uint) take only the
// shortest forms that [AppendStr] and the others write for lengths below
// 65536, the forms a fast path expects (MapLen takes every map header);
// the Any readers (and Bool) take every form the msgpack library takes
// for a value of the type.
type Reader struct {
	B   []byte
	Off int
	OK  bool
}

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if r.Off >= len(r.B) {
		r.OK = false
		return 0
	}
	c := r.B[r.Off]
	r.Off++
	return c
}

func (r *Reader) n(size int) int {
	if size > len(r.B)-r.Off {
		r.OK = false
		return 0
	}
	var n int
	switch size {
	case 1:
		n = int(r.B[r.Off])
	case 2:
		n = int(binary.BigEndian.Uint16(r.B[r.Off:]))
	case 4:
		n = int(binary.BigEndian.Uint32(r.B[r.Off:]))
	}
	r.Off += size
	return n
}

// MapLen reads a map header.
func (r *Reader) MapLen() int {
	switch c := r.Byte(); {
	case c >= 0x80 && c <= 0x8f:
		return int(c & 0x0f)
	case c == 0xde:
		return r.n(2)
	case c == 0xdf:
		return r.n(4)
	}
	r.OK = false
	return 0
}

// ArrayLen reads an array header, or nil as an empty array.
func (r *Reader) ArrayLen() (int, bool) {
	switch c := r.Byte(); {
	case c >= 0x90 && c <= 0x9f:
		return int(c & 0x0f), true
	case c == 0xdc:
		return r.n(2), true
	case c == 0xc0:
		return 0, false
	}
	r.OK = false
	return 0, false
}

// StrBytes reads a string (not nil) without copying it.
func (r *Reader) StrBytes() []byte {
	var n int
	switch c := r.Byte(); {
	case c >= 0xa0 && c <= 0xbf:
		n = int(c & 0x1f)
	case c == 0xd9:
		n = r.n(1)
	case c == 0xda:
		n = r.n(2)
	default:
		r.OK = false
		return nil
	}
	if n > len(r.B)-r.Off {
		r.OK = false
		return nil
	}
	s := r.B[r.Off : r.Off+n]
	r.Off += n
	return s
}

func (r *Reader) Str() string { return string(r.StrBytes()) }

// Uint reads a non-negative integer no larger than max.
func (r *Reader) Uint(max uint64) uint64 {
	var v uint64
	switch c := r.Byte(); {
	case c <= 0x7f:
		v = uint64(c)
	case c == 0xcc:
		v = uint64(r.n(1))
	case c == 0xcd:
		v = uint64(r.n(2))
	case c == 0xce:
		v = uint64(r.n(4))
	case c == 0xcf:
		if r.Off+8 > len(r.B) {
			r.OK = false
			return 0
		}
		v = binary.BigEndian.Uint64(r.B[r.Off:])
		r.Off += 8
	default:
		r.OK = false
		return 0
	}
	if v > max {
		r.OK = false
	}
	return v
}

// Raw returns a copy of the next value, whatever it is.
func (r *Reader) Raw() []byte {
	end, err := End(r.B, r.Off, MaxDepth)
	if err != nil {
		r.OK = false
		return nil
	}
	v := append([]byte(nil), r.B[r.Off:end]...)
	r.Off = end
	return v
}

// Skip passes over the next value.
func (r *Reader) Skip() {
	end, err := End(r.B, r.Off, MaxDepth)
	if err != nil {
		r.OK = false
		return
	}
	r.Off = end
}

// The readers below take what the msgpack library takes for a value of
// the type; the ones above (but Raw and Skip) only the plain forms.

// Peek returns the next byte without reading it, 0 at the end.
func (r *Reader) Peek() byte {
	if r.Off >= len(r.B) {
		return 0
	}
	return r.B[r.Off]
}

// Nil reads a nil, if that comes next.
func (r *Reader) Nil() bool {
	if r.Peek() == 0xc0 && r.Off < len(r.B) {
		r.Off++
		return true
	}
	return false
}

// AnyStr reads a string, a bin as a string, or nil as "".
func (r *Reader) AnyStr() string {
	var n int
	switch c := r.Byte(); {
	case c >= 0xa0 && c <= 0xbf:
		n = int(c & 0x1f)
	case c == 0xd9 || c == 0xc4:
		n = r.n(1)
	case c == 0xda || c == 0xc5:
		n = r.n(2)
	case c == 0xdb || c == 0xc6:
		n = r.n(4)
	case c == 0xc0:
		return ""
	default:
		r.OK = false
		return ""
	}
	if n > len(r.B)-r.Off {
		r.OK = false
		return ""
	}
	s := string(r.B[r.Off : r.Off+n])
	r.Off += n
	return s
}

// AnyUint reads an integer of any width, signed or not, that is in
// [0, max], or nil as 0.
func (r *Reader) AnyUint(max uint64) uint64 {
	var v int64
	switch c := r.Peek(); {
	case c == 0xc0:
		r.Off++
		return 0
	case c <= 0x7f, c >= 0xcc && c <= 0xcf:
		return r.Uint(max)
	case c >= 0xe0:
		r.Off++
		v = int64(int8(c))
	case c == 0xd0:
		r.Off++
		v = int64(int8(r.n(1)))
	case c == 0xd1:
		r.Off++
		v = int64(int16(r.n(2)))
	case c == 0xd2:
		r.Off++
		v = int64(int32(r.n(4)))
	case c == 0xd3:
		r.Off++
		if r.Off+8 > len(r.B) {
			r.OK = false
			return 0
		}
		v = int64(binary.BigEndian.Uint64(r.B[r.Off:]))
		r.Off += 8
	default:
		r.OK = false
		return 0
	}
	if v < 0 || uint64(v) > max {
		r.OK = false
		return 0
	}
	return uint64(v)
}

// Bool reads a bool, or nil as false.
func (r *Reader) Bool() bool {
	switch r.Byte() {
	case 0xc3:
		return true
	case 0xc2, 0xc0:
		return false
	}
	r.OK = false
	return false
}

// AnyArrayLen reads an array header, or nil as 0.
func (r *Reader) AnyArrayLen() int {
	switch c := r.Byte(); {
	case c >= 0x90 && c <= 0x9f:
		return int(c & 0x0f)
	case c == 0xdc:
		return r.n(2)
	case c == 0xdd:
		return r.n(4)
	case c == 0xc0:
		return 0
	}
	r.OK = false
	return 0
}
