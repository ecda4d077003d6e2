package protocol

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"testing"

	"github.com/synkhq/synk/internal/mpw"
	"github.com/vmihailenco/msgpack/v5"
)

// FuzzDecode checks that Decode never panics, and that whatever it accepts
// encodes to bytes that decode to an equal frame and encode the same again.
func FuzzDecode(f *testing.F) {
	for _, tt := range golden {
		f.Add(mustEncode(tt.msg))
	}
	f.Add([]byte{0x81, 0xa1, 0x6f, 0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0xdf, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		if _, err := checkFrame(in); err == nil && Check(in, MaxDepth) != nil {
			t.Fatalf("checkFrame accepts % x, which Check refuses", in)
		}
		checkFast(t, in)
		checkWire(t, in)
		m, err := Decode(in)
		if err != nil {
			return
		}
		once, err := Encode(m)
		if err != nil {
			t.Fatalf("Encode(%#v) after Decode: %v", m, err)
		}
		m2, err := Decode(once)
		if err != nil {
			t.Fatalf("Decode(Encode(m)) = %v for % x", err, once)
		}
		twice, err := Encode(m2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(once, twice) {
			t.Fatalf("not stable:\n% x\n% x", once, twice)
		}
	})
}

// FuzzCheck checks that Check never panics and agrees with itself on a
// prefix: a strict prefix of a valid value is never valid.
func FuzzCheck(f *testing.F) {
	for _, tt := range golden {
		f.Add(mustEncode(tt.msg))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if Check(in, MaxDepth) != nil || len(in) == 0 {
			return
		}
		if Check(in[:len(in)-1], MaxDepth) == nil {
			t.Fatalf("Check accepts both % x and its prefix", in)
		}
	})
}

// checkFast checks that the hand-written decoder, where it takes a frame,
// decodes it as the msgpack library does.
func checkFast(t *testing.T, in []byte) {
	typ, err := checkFrame(in)
	if err != nil {
		return
	}
	fast, ok := decodeFast(typ, in)
	if !ok {
		return
	}
	slow := newMessage(typ)
	if err := msgpack.Unmarshal(in, slow); err != nil {
		t.Fatalf("% x: the fast decoder took what the library refuses: %v", in, err)
	}
	if !reflect.DeepEqual(normalize(fast), normalize(slow)) {
		t.Fatalf("% x:\nfast    %#v\nlibrary %#v", in, fast, slow)
	}
}

// normalize makes empty lists nil: the library leaves a list nil or
// empty by circumstance, and nothing reads the difference. Values stay as
// they are.
func normalize(m Message) Message {
	entries := func(es []Entry) []Entry {
		if len(es) == 0 {
			return nil
		}
		return es
	}
	strs := func(s []string) []string {
		if len(s) == 0 {
			return nil
		}
		return s
	}
	switch m := m.(type) {
	case *Set:
		c := *m
		c.Entries, c.Delete = entries(c.Entries), strs(c.Delete)
		return &c
	case *Presence:
		c := *m
		c.Entries, c.Delete = entries(c.Entries), strs(c.Delete)
		return &c
	case *Object:
		c := *m
		c.Fields, c.Delete = entries(c.Fields), strs(c.Delete)
		return &c
	}
	return m
}

// checkWire checks the reflection-free codec (wire.go) against the msgpack
// library: what it reads from a frame, the library reads the same; and
// what the library reads, it writes as the library does.
func checkWire(t *testing.T, in []byte) {
	typ, err := checkFrame(in)
	if err != nil {
		return
	}
	ours := newMessage(typ)
	if ours == nil {
		return
	}
	r := newReader(in)
	readStruct(r, ours.(wireStruct))
	lib := newMessage(typ)
	libErr := msgpack.Unmarshal(in, lib)
	if r.OK {
		if libErr != nil {
			t.Fatalf("% x: the codec took what the library refuses: %v", in, libErr)
		}
		if a, b := normalizeAll(ours), normalizeAll(lib); !reflect.DeepEqual(a, b) {
			t.Fatalf("% x:\ncodec   %#v\nlibrary %#v", in, a, b)
		}
	}
	if libErr != nil {
		return
	}
	got, err := Encode(lib)
	if err != nil {
		t.Fatal(err)
	}
	if want := libraryEncode(t, lib); !bytes.Equal(got, want) {
		t.Fatalf("%#v:\ncodec   % x\nlibrary % x", lib, got, want)
	}
}

// libraryEncode encodes m with the msgpack library as the codec means to:
// compact integers, sorted map keys, "t" first.
func libraryEncode(t *testing.T, m Message) []byte {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.UseCompactInts(true)
	enc.SetSortMapKeys(true)
	if err := enc.Encode(m); err != nil {
		t.Fatalf("library: encode %#v: %v", m, err)
	}
	b := buf.Bytes()
	var n, hdr int
	switch {
	case b[0]&0xf0 == 0x80:
		n, hdr = int(b[0]&0x0f), 1
	case b[0] == 0xde:
		n, hdr = int(binary.BigEndian.Uint16(b[1:])), 3
	default:
		t.Fatalf("library: % x is not a map", b)
	}
	out := mpw.AppendMapLen(nil, n+1)
	out = append(out, 0xa1, 't', byte(m.Type()))
	return append(out, b[hdr:]...)
}

// normalizeAll makes every empty list and map in v nil, at any depth: the
// library and the codec leave them nil or empty by circumstance, and
// nothing reads the difference.
func normalizeAll(m Message) Message {
	v := reflect.New(reflect.TypeOf(m).Elem())
	v.Elem().Set(reflect.ValueOf(m).Elem())
	normalizeValue(v.Elem())
	return v.Interface().(Message)
}

func normalizeValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			c := reflect.New(v.Type().Elem())
			c.Elem().Set(v.Elem())
			normalizeValue(c.Elem())
			v.Set(c)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			normalizeValue(v.Field(i))
		}
	case reflect.Slice:
		if v.Len() == 0 {
			v.SetZero()
			return
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return // a raw value
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(c, v)
		for i := range c.Len() {
			normalizeValue(c.Index(i))
		}
		v.Set(c)
	case reflect.Map:
		if v.Len() == 0 {
			v.SetZero()
		}
	}
}
