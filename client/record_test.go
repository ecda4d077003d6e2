package client

import (
	"bytes"
	"reflect"
	"slices"
	"testing"

	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// libEncode encodes v as the msgpack library does.
func libEncode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := msgpack.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRecords_roundTrip: records read back, the library reads them as
// its struct, and what the library writes for that struct reads the same.
func TestRecords_roundTrip(t *testing.T) {
	t.Parallel()
	long := string(bytes.Repeat([]byte("x"), 300))
	rooms := []storedRoom{
		{},
		{Epoch: 1, Offset: 0},
		{Epoch: 1 << 40, Offset: 300, Held: []string{"A"}, Areas: []string{"A", long}},
		{Epoch: 7, Offset: 1 << 20, Areas: []string{"z"}},
	}
	for _, sr := range rooms {
		b := appendRoom(nil, &sr)
		var lib libRoom
		if err := msgpack.Unmarshal(b, &lib); err != nil || lib.Epoch != sr.Epoch || lib.Offset != sr.Offset ||
			!slices.Equal(lib.Held, sr.Held) || !slices.Equal(lib.Areas, sr.Areas) {
			t.Errorf("room %+v: the library reads % x as %+v, %v", sr, b, lib, err)
		}
		for _, b := range [][]byte{b, libEncode(t, &libRoom{Epoch: sr.Epoch, Offset: sr.Offset, Held: sr.Held, Areas: sr.Areas})} {
			if back, err := readRoom(b); err != nil || !reflect.DeepEqual(back, sr) {
				t.Errorf("room %+v: % x reads back as %+v, %v", sr, b, back, err)
			}
		}
	}
	objects := []storedObject{
		{},
		{Kind: "k", Area: "A", Version: 2},
		{Kind: long, Area: "", Version: 1 << 33, Fields: map[string]protocol.RawMessage{
			"b": {0x01}, "a": {0x92, 0xa1, 'x', 0xc3}, "c": {0xcb, 1, 2, 3, 4, 5, 6, 7, 8}, "n": nil}},
	}
	for _, so := range objects {
		b := appendObject(nil, &so)
		if want := []byte{0xa1, 'f', 0x84, 0xa1, 'a'}; len(so.Fields) == 4 && !bytes.Contains(b, want) {
			t.Errorf("fields not sorted by key: % x", b)
		}
		var lib libObject
		if err := msgpack.Unmarshal(b, &lib); err != nil || lib.Kind != so.Kind || lib.Area != so.Area ||
			lib.Version != so.Version || len(lib.Fields) != len(so.Fields) {
			t.Errorf("object %+v: the library reads % x as %+v, %v", so, b, lib, err)
		}
		lf := map[string]msgpack.RawMessage{}
		for k, v := range so.Fields {
			if !bytes.Equal(lib.Fields[k], v) {
				t.Errorf("object %+v: the library reads field %q as % x", so, k, lib.Fields[k])
			}
			if v == nil {
				v = msgpack.RawMessage{0xc0}
			}
			lf[k] = v
		}
		if len(lf) == 0 {
			lf = nil
		}
		for _, b := range [][]byte{b, libEncode(t, &libObject{Kind: so.Kind, Area: so.Area, Version: so.Version, Fields: lf})} {
			if back, err := readObject(b); err != nil || !reflect.DeepEqual(back, so) {
				t.Errorf("object %+v: % x reads back as %+v, %v", so, b, back, err)
			}
		}
	}
}

// TestRecords_libraryForms: what the msgpack library read, these read
// the same: other integer widths, nil for a missing value, bin keys and
// strings, keys in any order, unknown keys.
func TestRecords_libraryForms(t *testing.T) {
	t.Parallel()
	room := []byte{0x85,
		0xa1, 'x', 0x92, 0x01, 0x02, // unknown key
		0xa1, 'o', 0xd1, 0x01, 0x00, // int16 256
		0xa1, 'e', 0xcf, 0, 0, 0, 0, 0, 0, 0, 9, // uint64 9
		0xa1, 'h', 0xc0, // nil list
		0xa1, 'a', 0xdc, 0x00, 0x01, 0xc4, 0x01, 'B', // array16 of one bin
	}
	sr, err := readRoom(room)
	if err != nil || !reflect.DeepEqual(sr, storedRoom{Epoch: 9, Offset: 256, Areas: []string{"B"}}) {
		t.Errorf("readRoom = %+v, %v", sr, err)
	}
	var lib libRoom
	if err := msgpack.Unmarshal(room, &lib); err != nil || lib.Epoch != 9 || lib.Offset != 256 || len(lib.Areas) != 1 {
		t.Errorf("the library reads %+v, %v: the sample is not what it took", lib, err)
	}
	obj := []byte{0x84,
		0xa1, 'v', 0xc0, // nil version
		0xa1, 'f', 0x82, 0xa1, 'n', 0xc0, 0xa1, 'x', 0x07,
		0xa1, 'y', 0xd9, 0x01, 'k',
		0xc4, 0x01, 'a', 0xa1, 'A', // bin key
	}
	so, err := readObject(obj)
	want := storedObject{Kind: "k", Area: "A", Fields: map[string]protocol.RawMessage{"n": nil, "x": {0x07}}}
	if err != nil || !reflect.DeepEqual(so, want) {
		t.Errorf("readObject = %+v, %v", so, err)
	}
	var libo libObject
	if err := msgpack.Unmarshal(obj, &libo); err != nil || libo.Kind != "k" || libo.Area != "A" || libo.Fields["n"] != nil {
		t.Errorf("the library reads %+v, %v: the sample is not what it took", libo, err)
	}
	for name, bad := range map[string][]byte{
		"not_a_map":        {0x91, 0x01},
		"negative_epoch":   {0x81, 0xa1, 'e', 0xff},
		"string_offset":    {0x81, 0xa1, 'o', 0xa1, 'x'},
		"areas_not_a_list": {0x81, 0xa1, 'a', 0x01},
	} {
		if _, err := readRoom(bad); err == nil {
			t.Errorf("readRoom(%s) = nil error", name)
		}
	}
	for name, bad := range map[string][]byte{
		"fields_not_a_map": {0x81, 0xa1, 'f', 0x91, 0x01},
		"kind_a_number":    {0x81, 0xa1, 'y', 0x01},
	} {
		if _, err := readObject(bad); err == nil {
			t.Errorf("readObject(%s) = nil error", name)
		}
	}
}
