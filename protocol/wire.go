package protocol

import (
	"encoding/binary"
	"slices"

	"github.com/synkhq/synk/internal/mpw"
)

// Frames are encoded and decoded here without reflection. Each frame type
// lists its fields once, in its fields method (fields.go), to a wire that
// counts them, writes them, or reads the one a key names. The bytes are
// those the msgpack library writes for the struct with compact integers
// and sorted map keys (FuzzDecode compares the two); decoding takes any
// encoding of a field's value that fits its type (nil as the zero value,
// any integer width), and refuses what does not (a negative or too large
// integer, a string where a list goes).

// wireOp is what a wire does with the fields it is shown.
type wireOp uint8

const (
	wireCount  wireOp = iota // count the fields to write
	wireAppend               // write them
	wireRead                 // read the field named key
)

// wire is shown a struct's fields by its fields method.
type wire struct {
	op    wireOp
	n     int         // wireCount: fields to write
	b     []byte      // wireAppend: the output
	key   byte        // wireRead: the key just read
	r     *fastReader // wireRead: the input
	found bool        // wireRead: a field took the key
}

// wireStruct is a struct that travels as a map of its fields.
type wireStruct interface {
	fields(w *wire)
}

// appendStruct appends s as a map of its fields; with t set, key "t" with
// t's value comes first.
func appendStruct(b []byte, s wireStruct, t MessageType) []byte {
	w := wire{op: wireCount}
	s.fields(&w)
	if t != 0 {
		w.n++
	}
	b = mpw.AppendMapLen(b, w.n)
	if t != 0 {
		b = append(b, 0xa1, 't', byte(t))
	}
	w.op, w.b = wireAppend, b
	s.fields(&w)
	return w.b
}

// readStruct reads a map into s's fields, skipping keys it does not have.
// nil leaves s as it is.
func readStruct(r *fastReader, s wireStruct) {
	if r.nil() {
		return
	}
	w := wire{op: wireRead, r: r}
	for n := r.mapLen(); n > 0 && r.ok; n-- {
		w.key, w.found = r.key(), false
		if w.key != 0 {
			s.fields(&w)
		}
		if !w.found {
			r.skip()
		}
	}
}

// at reports whether the wire works on the field of key k: for
// wireCount and wireAppend, whether it is to be written (omit: it is
// empty and tagged omitempty), and writes its key; for wireRead, whether
// k is the key read.
func (w *wire) at(k byte, omit bool) bool {
	switch w.op {
	case wireCount:
		if !omit {
			w.n++
		}
		return false
	case wireAppend:
		if omit {
			return false
		}
		w.b = append(w.b, 0xa1, k)
		return true
	default:
		if w.key != k || w.found {
			return false
		}
		w.found = true
		return true
	}
}

func (w *wire) str(k byte, p *string, omitempty bool) {
	if !w.at(k, omitempty && *p == "") {
		return
	}
	if w.op == wireAppend {
		w.b = mpw.AppendStr(w.b, *p)
	} else {
		*p = w.r.anyStr()
	}
}

func (w *wire) boolean(k byte, p *bool, omitempty bool) {
	if !w.at(k, omitempty && !*p) {
		return
	}
	if w.op == wireAppend {
		w.b = mpw.AppendBool(w.b, *p)
	} else {
		*p = w.r.boolean()
	}
}

// wireUint shows w an unsigned integer field.
func wireUint[T ~uint8 | ~uint16 | ~uint32 | ~uint64](w *wire, k byte, p *T, omitempty bool) {
	if !w.at(k, omitempty && *p == 0) {
		return
	}
	if w.op == wireAppend {
		w.b = mpw.AppendUint(w.b, uint64(*p))
	} else {
		*p = T(w.r.anyUint(uint64(^T(0))))
	}
}

func (w *wire) strings(k byte, p *[]string) {
	if !w.at(k, len(*p) == 0) {
		return
	}
	if w.op == wireAppend {
		w.b = mpw.AppendArrayLen(w.b, len(*p))
		for _, s := range *p {
			w.b = mpw.AppendStr(w.b, s)
		}
		return
	}
	n := w.r.anyArrayLen()
	*p = make([]string, 0, min(n, len(w.r.b)-w.r.off))
	for ; n > 0 && w.r.ok; n-- {
		*p = append(*p, w.r.anyStr())
	}
}

// wireList shows w a list of structs, as an array of maps: []Entry (of
// {"k","v"} maps) or []Member.
func wireList[T any, P interface {
	*T
	wireStruct
}](w *wire, k byte, p *[]T) {
	if !w.at(k, len(*p) == 0) {
		return
	}
	if w.op == wireAppend {
		w.b = mpw.AppendArrayLen(w.b, len(*p))
		for i := range *p {
			w.b = appendStruct(w.b, P(&(*p)[i]), 0)
		}
		return
	}
	*p = readList[T, P](w.r)
}

// readList reads an array of maps into structs, or nil.
func readList[T any, P interface {
	*T
	wireStruct
}](r *fastReader) []T {
	var out []T
	for n := r.anyArrayLen(); n > 0 && r.ok; n-- {
		var x T
		readStruct(r, P(&x))
		out = append(out, x)
	}
	return out
}

// entryMap shows w an [EntryMap]: a map from key to value, read from
// that or from an array of entries.
func (w *wire) entryMap(k byte, p *EntryMap) {
	if !w.at(k, len(*p) == 0) {
		return
	}
	if w.op == wireAppend {
		w.b = mpw.AppendMapLen(w.b, len(*p))
		for _, e := range *p {
			w.b = mpw.AppendRaw(mpw.AppendStr(w.b, e.Key), e.Value)
		}
		return
	}
	if c := w.r.peek(); c&0xf0 != 0x80 && c != 0xde && c != 0xdf {
		*p = readList[Entry](w.r)
		return
	}
	n := w.r.mapLen()
	*p = nil
	for ; n > 0 && w.r.ok; n-- {
		e := Entry{Key: w.r.anyStr()}
		e.Value = w.r.value()
		*p = append(*p, e)
	}
}

// position shows w an optional [Position], omitted when nil.
func (w *wire) position(k byte, p **Position) {
	if !w.at(k, *p == nil) {
		return
	}
	if w.op == wireAppend {
		w.b = appendStruct(w.b, *p, 0)
		return
	}
	if *p = nil; !w.r.nil() {
		*p = new(Position)
		readStruct(w.r, *p)
	}
}

// raw shows w one msgpack value kept as its bytes; nil for a nil value.
func (w *wire) raw(k byte, p *RawMessage) {
	if !w.at(k, false) {
		return
	}
	if w.op == wireAppend {
		w.b = mpw.AppendRaw(w.b, *p)
	} else {
		*p = w.r.value()
	}
}

// stringMap shows w a map from string to string, written in key order.
func (w *wire) stringMap(k byte, p *map[string]string, omitempty bool) {
	if !w.at(k, omitempty && len(*p) == 0) {
		return
	}
	if w.op == wireAppend {
		if *p == nil {
			w.b = append(w.b, 0xc0)
			return
		}
		w.b = mpw.AppendMapLen(w.b, len(*p))
		keys := make([]string, 0, len(*p))
		for key := range *p {
			keys = append(keys, key)
		}
		slices.Sort(keys)
		for _, key := range keys {
			w.b = mpw.AppendStr(mpw.AppendStr(w.b, key), (*p)[key])
		}
		return
	}
	*p = nil
	if w.r.nil() {
		return
	}
	n := w.r.mapLen()
	*p = make(map[string]string, min(n, 64))
	for ; n > 0 && w.r.ok; n-- {
		key := w.r.anyStr()
		(*p)[key] = w.r.anyStr()
	}
}

// nested shows w a struct field s; omit: it is nil, tagged omitempty.
func (w *wire) nested(k byte, s wireStruct, omit bool) {
	if !w.at(k, omit) {
		return
	}
	if w.op == wireAppend {
		w.b = appendStruct(w.b, s, 0)
	} else {
		readStruct(w.r, s)
	}
}

// The readers below take what the msgpack library takes for a value of
// the type; fastReader's own (str, uint, arrayLen) only the plain forms.

// peek returns the next byte without reading it, 0 at the end.
func (r *fastReader) peek() byte {
	if r.off >= len(r.b) {
		return 0
	}
	return r.b[r.off]
}

// nil reads a nil, if that comes next.
func (r *fastReader) nil() bool {
	if r.peek() == 0xc0 && r.off < len(r.b) {
		r.off++
		return true
	}
	return false
}

// anyStr reads a string, a bin as a string, or nil as "".
func (r *fastReader) anyStr() string {
	var n int
	switch c := r.byte(); {
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
		r.ok = false
		return ""
	}
	if n > len(r.b)-r.off {
		r.ok = false
		return ""
	}
	s := string(r.b[r.off : r.off+n])
	r.off += n
	return s
}

// anyUint reads an integer of any width, signed or not, that is in
// [0, max], or nil as 0.
func (r *fastReader) anyUint(max uint64) uint64 {
	var v int64
	switch c := r.peek(); {
	case c == 0xc0:
		r.off++
		return 0
	case c <= 0x7f, c >= 0xcc && c <= 0xcf:
		return r.uint(max)
	case c >= 0xe0:
		r.off++
		v = int64(int8(c))
	case c == 0xd0:
		r.off++
		v = int64(int8(r.n(1)))
	case c == 0xd1:
		r.off++
		v = int64(int16(r.n(2)))
	case c == 0xd2:
		r.off++
		v = int64(int32(r.n(4)))
	case c == 0xd3:
		r.off++
		if r.off+8 > len(r.b) {
			r.ok = false
			return 0
		}
		v = int64(binary.BigEndian.Uint64(r.b[r.off:]))
		r.off += 8
	default:
		r.ok = false
		return 0
	}
	if v < 0 || uint64(v) > max {
		r.ok = false
		return 0
	}
	return uint64(v)
}

// boolean reads a bool, or nil as false.
func (r *fastReader) boolean() bool {
	switch r.byte() {
	case 0xc3:
		return true
	case 0xc2, 0xc0:
		return false
	}
	r.ok = false
	return false
}

// anyArrayLen reads an array header, or nil as 0.
func (r *fastReader) anyArrayLen() int {
	switch c := r.byte(); {
	case c >= 0x90 && c <= 0x9f:
		return int(c & 0x0f)
	case c == 0xdc:
		return r.n(2)
	case c == 0xdd:
		return r.n(4)
	case c == 0xc0:
		return 0
	}
	r.ok = false
	return 0
}

// value reads one value as a copy of its bytes, or nil for a nil.
func (r *fastReader) value() RawMessage {
	v := r.raw()
	if len(v) == 1 && v[0] == 0xc0 {
		return nil // as the library decodes a nil RawMessage
	}
	return v
}
