package protocol

import (
	"math"

	"github.com/synkhq/synk/internal/mpw"
)

// The frames that carry every change — Set, Presence, Object — are decoded
// by hand here, without reflection: at fan-out rates the msgpack library's
// reflective decoding was the largest cost of a client after the system
// calls. Only the plain encodings this package writes are taken; anything
// else (other integer widths, nil values, out-of-range numbers) goes to
// the general decoder (wire.go). FuzzDecode checks both against the
// msgpack library.

// fastReader walks a frame that [Check] accepted: an [mpw.Reader] with
// the readers of this package's compound values.
type fastReader struct{ mpw.Reader }

// newReader returns a fastReader at the start of b.
func newReader(b []byte) *fastReader { return &fastReader{mpw.Reader{B: b, OK: true}} }

// key reads a map key: its letter, or 0 for any other key.
func (r *fastReader) key() byte {
	k := r.StrBytes()
	if len(k) == 1 {
		return k[0]
	}
	return 0
}

func (r *fastReader) entries() []Entry {
	n, ok := r.ArrayLen()
	if !ok || !r.OK {
		return nil
	}
	out := make([]Entry, 0, n)
	for range n {
		var e Entry
		for m := r.MapLen(); m > 0 && r.OK; m-- {
			switch r.key() {
			case 'k':
				e.Key = r.Str()
			case 'v':
				if e.Value = r.Raw(); len(e.Value) == 1 && e.Value[0] == 0xc0 {
					e.Value = nil // as the library decodes a nil RawMessage
				}
			default:
				r.Skip()
			}
		}
		out = append(out, e)
	}
	return out
}

// entryMap reads an [EntryMap]: a map from key to value, or entries.
func (r *fastReader) entryMap() EntryMap {
	if r.Off < len(r.B) && r.B[r.Off]&0xf0 != 0x80 && r.B[r.Off] != 0xde {
		return r.entries()
	}
	n := r.MapLen()
	out := make(EntryMap, 0, n)
	for ; n > 0 && r.OK; n-- {
		var e Entry
		e.Key = r.Str()
		if e.Value = r.Raw(); len(e.Value) == 1 && e.Value[0] == 0xc0 {
			e.Value = nil
		}
		out = append(out, e)
	}
	return out
}

func (r *fastReader) strings() []string {
	n, ok := r.ArrayLen()
	if !ok || !r.OK {
		return nil
	}
	out := make([]string, 0, n)
	for range n {
		out = append(out, r.Str())
	}
	return out
}

// decodeFast decodes a Set, Presence, Object, Ping or Pong frame by hand
// (the frames that come often). It reports false for any other type, or
// an encoding it leaves to the general decoder. The loops look alike on purpose: one map walk taking a closure per
// type added 6 KB of brotli to the browser bundle, which is at its budget.
func decodeFast(t MessageType, b []byte) (Message, bool) {
	r := newReader(b)
	n := r.MapLen()
	switch t {
	case TypeSet:
		m := new(Set)
		for ; n > 0 && r.OK; n-- {
			switch r.key() {
			case 't':
				r.Skip()
			case 'i':
				m.ID = uint32(r.Uint(math.MaxUint32))
			case 'r':
				m.Room = r.Str()
			case 'h':
				m.Handle = uint32(r.Uint(math.MaxUint32))
			case 'd':
				m.Entries = r.entryMap()
			case 'x':
				m.Delete = r.strings()
			default:
				r.Skip()
			}
		}
		return m, r.OK
	case TypePresence:
		m := new(Presence)
		for ; n > 0 && r.OK; n-- {
			switch r.key() {
			case 't':
				r.Skip()
			case 'r':
				m.Room = r.Str()
			case 'e':
				m.Event = PresenceEvent(r.Uint(math.MaxUint8))
			case 'c':
				m.Client = r.Str()
			case 'd':
				m.Entries = r.entries()
			case 'x':
				m.Delete = r.strings()
			case 'w':
				m.Reason = Code(r.Uint(math.MaxUint16))
			default:
				r.Skip()
			}
		}
		return m, r.OK
	case TypeObject:
		m := new(Object)
		for ; n > 0 && r.OK; n-- {
			switch r.key() {
			case 't':
				r.Skip()
			case 'r':
				m.Room = r.Str()
			case 'e':
				m.Event = ObjectEvent(r.Uint(math.MaxUint8))
			case 'o':
				m.Object = r.Str()
			case 'y':
				m.Kind = r.Str()
			case 'a':
				m.Area = r.Str()
			case 'v':
				m.Version = r.Uint(math.MaxUint64)
			case 'f':
				m.Fields = r.entries()
			case 'x':
				m.Delete = r.strings()
			case 's':
				m.Offset = r.Uint(math.MaxUint64)
			default:
				r.Skip()
			}
		}
		return m, r.OK
	case TypePing, TypePong:
		var nonce uint32
		for ; n > 0 && r.OK; n-- {
			if r.key() == 'n' {
				nonce = uint32(r.Uint(math.MaxUint32))
			} else {
				r.Skip()
			}
		}
		if t == TypePing {
			return &Ping{Nonce: nonce}, r.OK
		}
		return &Pong{Nonce: nonce}, r.OK
	}
	return nil, false
}
