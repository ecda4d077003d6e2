package client

import (
	"errors"
	"maps"
	"slices"

	"github.com/synkhq/synk/internal/mpw"
	"github.com/synkhq/synk/protocol"
)

// A Store's records are msgpack maps with one-letter keys. They are
// written and read here by hand, without the msgpack library, which the
// browser bundle does not link. Records that earlier versions wrote with
// the library (full-width integers, fields in any order) read the same,
// and the library reads these (compact integers, fields sorted by key).

// storedRoom is a room's position and areas as stored:
// {"e": epoch, "o": offset, "h": held areas, "a": areas}.
type storedRoom struct {
	Epoch  uint64
	Offset uint64
	Held   []string // areas the stored objects are exact for, as of the position
	Areas  []string // areas subscribed
}

// storedObject is a cached object as stored:
// {"y": kind, "a": area, "v": version, "f": {field: value}}.
type storedObject struct {
	Kind    string
	Area    string
	Version uint64
	Fields  map[string]protocol.RawMessage
}

var errRecord = errors.New("malformed record")

// appendRoom appends sr's record; a list that is empty is left out.
func appendRoom(b []byte, sr *storedRoom) []byte {
	n := 2
	for _, l := range [][]string{sr.Held, sr.Areas} {
		if len(l) > 0 {
			n++
		}
	}
	b = mpw.AppendMapLen(b, n)
	b = mpw.AppendUint(mpw.AppendStr(b, "e"), sr.Epoch)
	b = mpw.AppendUint(mpw.AppendStr(b, "o"), sr.Offset)
	b = appendList(b, "h", sr.Held)
	return appendList(b, "a", sr.Areas)
}

func appendList(b []byte, key string, l []string) []byte {
	if len(l) == 0 {
		return b
	}
	b = mpw.AppendArrayLen(mpw.AppendStr(b, key), len(l))
	for _, s := range l {
		b = mpw.AppendStr(b, s)
	}
	return b
}

// appendObject appends so's record, its fields in key order.
func appendObject(b []byte, so *storedObject) []byte {
	n := 3
	if len(so.Fields) > 0 {
		n++
	}
	b = mpw.AppendMapLen(b, n)
	b = mpw.AppendStr(mpw.AppendStr(b, "y"), so.Kind)
	b = mpw.AppendStr(mpw.AppendStr(b, "a"), so.Area)
	b = mpw.AppendUint(mpw.AppendStr(b, "v"), so.Version)
	if len(so.Fields) > 0 {
		b = mpw.AppendMapLen(mpw.AppendStr(b, "f"), len(so.Fields))
		for _, k := range slices.Sorted(maps.Keys(so.Fields)) {
			b = mpw.AppendRaw(mpw.AppendStr(b, k), so.Fields[k])
		}
	}
	return b
}

// readRoom reads a room record that [protocol.Check] accepted. As the
// msgpack library did, it takes any integer width, nil for a missing
// value, and skips keys it does not know.
func readRoom(v []byte) (storedRoom, error) {
	var sr storedRoom
	r := mpw.Reader{B: v, OK: true}
	for n := r.MapLen(); n > 0 && r.OK; n-- {
		switch r.AnyStr() {
		case "e":
			sr.Epoch = r.AnyUint(^uint64(0))
		case "o":
			sr.Offset = r.AnyUint(^uint64(0))
		case "h":
			sr.Held = readList(&r)
		case "a":
			sr.Areas = readList(&r)
		default:
			r.Skip()
		}
	}
	if !r.OK {
		return storedRoom{}, errRecord
	}
	return sr, nil
}

func readList(r *mpw.Reader) []string {
	n := r.AnyArrayLen()
	if !r.OK || n > len(r.B)-r.Off {
		r.OK = false
		return nil
	}
	var l []string
	for ; n > 0 && r.OK; n-- {
		l = append(l, r.AnyStr())
	}
	return l
}

// readObject reads an object record that [protocol.Check] accepted, as
// readRoom reads a room's. A nil field value reads as a nil RawMessage.
func readObject(v []byte) (storedObject, error) {
	var so storedObject
	r := mpw.Reader{B: v, OK: true}
	for n := r.MapLen(); n > 0 && r.OK; n-- {
		switch r.AnyStr() {
		case "y":
			so.Kind = r.AnyStr()
		case "a":
			so.Area = r.AnyStr()
		case "v":
			so.Version = r.AnyUint(^uint64(0))
		case "f":
			so.Fields = readFields(&r)
		default:
			r.Skip()
		}
	}
	if !r.OK {
		return storedObject{}, errRecord
	}
	return so, nil
}

func readFields(r *mpw.Reader) map[string]protocol.RawMessage {
	if r.Nil() {
		return nil
	}
	n := r.MapLen()
	if !r.OK || n > len(r.B)-r.Off {
		r.OK = false
		return nil
	}
	f := make(map[string]protocol.RawMessage, n)
	for ; n > 0 && r.OK; n-- {
		k := r.AnyStr()
		v := r.Raw()
		if len(v) == 1 && v[0] == 0xc0 {
			v = nil
		}
		f[k] = v
	}
	return f
}
