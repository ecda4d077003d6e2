package protocol

import (
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
	if r.Nil() {
		return
	}
	w := wire{op: wireRead, r: r}
	for n := r.MapLen(); n > 0 && r.OK; n-- {
		w.key, w.found = r.key(), false
		if w.key != 0 {
			s.fields(&w)
		}
		if !w.found {
			r.Skip()
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
		*p = w.r.AnyStr()
	}
}

func (w *wire) boolean(k byte, p *bool, omitempty bool) {
	if !w.at(k, omitempty && !*p) {
		return
	}
	if w.op == wireAppend {
		w.b = mpw.AppendBool(w.b, *p)
	} else {
		*p = w.r.Bool()
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
		*p = T(w.r.AnyUint(uint64(^T(0))))
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
	n := w.r.AnyArrayLen()
	*p = make([]string, 0, min(n, len(w.r.B)-w.r.Off))
	for ; n > 0 && w.r.OK; n-- {
		*p = append(*p, w.r.AnyStr())
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
	for n := r.AnyArrayLen(); n > 0 && r.OK; n-- {
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
	if c := w.r.Peek(); c&0xf0 != 0x80 && c != 0xde && c != 0xdf {
		*p = readList[Entry](w.r)
		return
	}
	n := w.r.MapLen()
	*p = nil
	for ; n > 0 && w.r.OK; n-- {
		e := Entry{Key: w.r.AnyStr()}
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
	if *p = nil; !w.r.Nil() {
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
	if w.r.Nil() {
		return
	}
	n := w.r.MapLen()
	*p = make(map[string]string, min(n, 64))
	for ; n > 0 && w.r.OK; n-- {
		key := w.r.AnyStr()
		(*p)[key] = w.r.AnyStr()
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

// value reads one value as a copy of its bytes, or nil for a nil.
func (r *fastReader) value() RawMessage {
	v := r.Raw()
	if len(v) == 1 && v[0] == 0xc0 {
		return nil // as the library decodes a nil RawMessage
	}
	return v
}
