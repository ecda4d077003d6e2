package protocol

import (
	"encoding/binary"
	"math"
)

// The frames that carry every change — Set, Presence, Object — are decoded
// by hand here, without reflection: at fan-out rates the msgpack library's
// reflective decoding was the largest cost of a client after the system
// calls. Only the plain encodings this package writes are taken; anything
// else (other integer widths, nil values, out-of-range numbers) goes to
// the general decoder (wire.go). FuzzDecode checks both against the
// msgpack library.

// fastReader walks a frame that [Check] accepted.
type fastReader struct {
	b   []byte
	off int
	ok  bool // false once something is not a plain encoding
}

func (r *fastReader) byte() byte {
	if r.off >= len(r.b) {
		r.ok = false
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

func (r *fastReader) n(size int) int {
	if size > len(r.b)-r.off {
		r.ok = false
		return 0
	}
	var n int
	switch size {
	case 1:
		n = int(r.b[r.off])
	case 2:
		n = int(binary.BigEndian.Uint16(r.b[r.off:]))
	case 4:
		n = int(binary.BigEndian.Uint32(r.b[r.off:]))
	}
	r.off += size
	return n
}

// mapLen reads a map header.
func (r *fastReader) mapLen() int {
	switch c := r.byte(); {
	case c >= 0x80 && c <= 0x8f:
		return int(c & 0x0f)
	case c == 0xde:
		return r.n(2)
	case c == 0xdf:
		return r.n(4)
	}
	r.ok = false
	return 0
}

// arrayLen reads an array header, or nil as an empty array.
func (r *fastReader) arrayLen() (int, bool) {
	switch c := r.byte(); {
	case c >= 0x90 && c <= 0x9f:
		return int(c & 0x0f), true
	case c == 0xdc:
		return r.n(2), true
	case c == 0xc0:
		return 0, false
	}
	r.ok = false
	return 0, false
}

// strBytes reads a string (not nil) without copying it.
func (r *fastReader) strBytes() []byte {
	var n int
	switch c := r.byte(); {
	case c >= 0xa0 && c <= 0xbf:
		n = int(c & 0x1f)
	case c == 0xd9:
		n = r.n(1)
	case c == 0xda:
		n = r.n(2)
	default:
		r.ok = false
		return nil
	}
	if n > len(r.b)-r.off {
		r.ok = false
		return nil
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

func (r *fastReader) str() string { return string(r.strBytes()) }

// uint reads a non-negative integer no larger than max.
func (r *fastReader) uint(max uint64) uint64 {
	var v uint64
	switch c := r.byte(); {
	case c <= 0x7f:
		v = uint64(c)
	case c == 0xcc:
		v = uint64(r.n(1))
	case c == 0xcd:
		v = uint64(r.n(2))
	case c == 0xce:
		v = uint64(r.n(4))
	case c == 0xcf:
		if r.off+8 > len(r.b) {
			r.ok = false
			return 0
		}
		v = binary.BigEndian.Uint64(r.b[r.off:])
		r.off += 8
	default:
		r.ok = false
		return 0
	}
	if v > max {
		r.ok = false
	}
	return v
}

// raw returns a copy of the next value, whatever it is.
func (r *fastReader) raw() []byte {
	end, err := skip(r.b, r.off, MaxDepth)
	if err != nil {
		r.ok = false
		return nil
	}
	v := append([]byte(nil), r.b[r.off:end]...)
	r.off = end
	return v
}

// skip passes over the next value.
func (r *fastReader) skip() {
	end, err := skip(r.b, r.off, MaxDepth)
	if err != nil {
		r.ok = false
		return
	}
	r.off = end
}

// key reads a map key: its letter, or 0 for any other key.
func (r *fastReader) key() byte {
	k := r.strBytes()
	if len(k) == 1 {
		return k[0]
	}
	return 0
}

func (r *fastReader) entries() []Entry {
	n, ok := r.arrayLen()
	if !ok || !r.ok {
		return nil
	}
	out := make([]Entry, 0, n)
	for range n {
		var e Entry
		for m := r.mapLen(); m > 0 && r.ok; m-- {
			switch r.key() {
			case 'k':
				e.Key = r.str()
			case 'v':
				if e.Value = r.raw(); len(e.Value) == 1 && e.Value[0] == 0xc0 {
					e.Value = nil // as the library decodes a nil RawMessage
				}
			default:
				r.skip()
			}
		}
		out = append(out, e)
	}
	return out
}

// entryMap reads an [EntryMap]: a map from key to value, or entries.
func (r *fastReader) entryMap() EntryMap {
	if r.off < len(r.b) && r.b[r.off]&0xf0 != 0x80 && r.b[r.off] != 0xde {
		return r.entries()
	}
	n := r.mapLen()
	out := make(EntryMap, 0, n)
	for ; n > 0 && r.ok; n-- {
		var e Entry
		e.Key = r.str()
		if e.Value = r.raw(); len(e.Value) == 1 && e.Value[0] == 0xc0 {
			e.Value = nil
		}
		out = append(out, e)
	}
	return out
}

func (r *fastReader) strings() []string {
	n, ok := r.arrayLen()
	if !ok || !r.ok {
		return nil
	}
	out := make([]string, 0, n)
	for range n {
		out = append(out, r.str())
	}
	return out
}

// decodeFast decodes a Set, Presence, Object, Ping or Pong frame by hand
// (the frames that come often). It reports false for any other type, or
// an encoding it leaves to the general decoder. The loops look alike on purpose: one map walk taking a closure per
// type added 6 KB of brotli to the browser bundle, which is at its budget.
func decodeFast(t MessageType, b []byte) (Message, bool) {
	r := &fastReader{b: b, ok: true}
	n := r.mapLen()
	switch t {
	case TypeSet:
		m := new(Set)
		for ; n > 0 && r.ok; n-- {
			switch r.key() {
			case 't':
				r.skip()
			case 'i':
				m.ID = uint32(r.uint(math.MaxUint32))
			case 'r':
				m.Room = r.str()
			case 'h':
				m.Handle = uint32(r.uint(math.MaxUint32))
			case 'd':
				m.Entries = r.entryMap()
			case 'x':
				m.Delete = r.strings()
			default:
				r.skip()
			}
		}
		return m, r.ok
	case TypePresence:
		m := new(Presence)
		for ; n > 0 && r.ok; n-- {
			switch r.key() {
			case 't':
				r.skip()
			case 'r':
				m.Room = r.str()
			case 'e':
				m.Event = PresenceEvent(r.uint(math.MaxUint8))
			case 'c':
				m.Client = r.str()
			case 'd':
				m.Entries = r.entries()
			case 'x':
				m.Delete = r.strings()
			case 'w':
				m.Reason = Code(r.uint(math.MaxUint16))
			default:
				r.skip()
			}
		}
		return m, r.ok
	case TypeObject:
		m := new(Object)
		for ; n > 0 && r.ok; n-- {
			switch r.key() {
			case 't':
				r.skip()
			case 'r':
				m.Room = r.str()
			case 'e':
				m.Event = ObjectEvent(r.uint(math.MaxUint8))
			case 'o':
				m.Object = r.str()
			case 'y':
				m.Kind = r.str()
			case 'a':
				m.Area = r.str()
			case 'v':
				m.Version = r.uint(math.MaxUint64)
			case 'f':
				m.Fields = r.entries()
			case 'x':
				m.Delete = r.strings()
			case 's':
				m.Offset = r.uint(math.MaxUint64)
			default:
				r.skip()
			}
		}
		return m, r.ok
	case TypePing, TypePong:
		var nonce uint32
		for ; n > 0 && r.ok; n-- {
			if r.key() == 'n' {
				nonce = uint32(r.uint(math.MaxUint32))
			} else {
				r.skip()
			}
		}
		if t == TypePing {
			return &Ping{Nonce: nonce}, r.ok
		}
		return &Pong{Nonce: nonce}, r.ok
	}
	return nil, false
}
