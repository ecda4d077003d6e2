package mpw

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// TestReader_readsWhatItWrites: the plain readers take what the writers
// write, and every Any reader takes it too.
func TestReader_readsWhatItWrites(t *testing.T) {
	for _, v := range []uint64{0, 127, 128, 255, 256, math.MaxUint16 + 1, math.MaxUint32 + 1, math.MaxUint64} {
		for _, any := range []bool{false, true} {
			r := Reader{B: AppendUint(nil, v), OK: true}
			got := r.Uint(math.MaxUint64)
			if any {
				r = Reader{B: r.B, OK: true}
				got = r.AnyUint(math.MaxUint64)
			}
			if !r.OK || got != v || r.Off != len(r.B) {
				t.Errorf("%d (any %v) reads as %d, ok %v, at %d of %d", v, any, got, r.OK, r.Off, len(r.B))
			}
		}
	}
	for _, n := range []int{0, 31, 32, 255, 256, math.MaxUint16, math.MaxUint16 + 1} {
		s := strings.Repeat("s", n)
		b := AppendStr(nil, s)
		readers := []func(*Reader) string{(*Reader).AnyStr}
		if n <= math.MaxUint16 {
			readers = append(readers, (*Reader).Str) // the plain readers stop at 16-bit lengths
		}
		for _, read := range readers {
			r := Reader{B: b, OK: true}
			if got := read(&r); !r.OK || got != s || r.Off != len(b) {
				t.Errorf("string of %d reads as %d bytes, ok %v", n, len(got), r.OK)
			}
		}
		r := Reader{B: AppendMapLen(AppendArrayLen(nil, n), n), OK: true}
		if a := r.AnyArrayLen(); a != n || r.MapLen() != n || !r.OK {
			t.Errorf("headers of %d read as %d and the map's, ok %v", n, a, r.OK)
		}
	}
}

// TestReader_libraryForms: the Any readers take every form the msgpack
// library takes for the type, and refuse what does not fit.
func TestReader_libraryForms(t *testing.T) {
	enc := func(v any) []byte {
		b, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, v := range []any{int8(5), int16(300), int32(70000), int64(1 << 40), uint8(200), uint16(5), uint32(5), uint64(5), nil} {
		b := enc(v)
		var want uint64
		if err := msgpack.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		r := Reader{B: b, OK: true}
		if got := r.AnyUint(math.MaxUint64); !r.OK || got != want {
			t.Errorf("AnyUint(% x) = %d, ok %v; the library reads %d", b, got, r.OK, want)
		}
	}
	for name, b := range map[string][]byte{"negative": enc(int8(-1)), "too_large": enc(uint16(300)), "string": enc("1"), "empty": nil} {
		r := Reader{B: b, OK: true}
		if r.AnyUint(255); r.OK {
			t.Errorf("AnyUint(%s) is ok", name)
		}
	}
	for _, b := range [][]byte{enc("abc"), enc([]byte("abc")), {0xdb, 0, 0, 0, 3, 'a', 'b', 'c'}} {
		r := Reader{B: b, OK: true}
		if got := r.AnyStr(); !r.OK || got != "abc" {
			t.Errorf("AnyStr(% x) = %q, ok %v", b, got, r.OK)
		}
	}
	r := Reader{B: []byte{0xc0, 0xc0, 0xc0, 0xc3, 0xc0}, OK: true}
	if r.AnyStr() != "" || r.AnyArrayLen() != 0 || r.Bool() || !r.Bool() || !r.Nil() || !r.OK {
		t.Error("nil does not read as the zero value")
	}
	r = Reader{B: []byte{0x92, 0x01, 0x02, 0x07}, OK: true}
	if raw := r.Raw(); string(raw) != "\x92\x01\x02" || r.Peek() != 0x07 {
		t.Errorf("Raw = % x, then % x", raw, r.Peek())
	}
	r = Reader{B: []byte{0xd9, 0x01, 'x'}, OK: true}
	if r.MapLen(); r.OK {
		t.Error("MapLen takes a string")
	}
	if r.Str(); r.OK {
		t.Error("a read after a failure is ok")
	}
}

func TestEnd(t *testing.T) {
	for _, c := range []struct {
		b    []byte
		end  int
		want string
	}{
		{[]byte{0x92, 0x01, 0xa1, 'x', 0xff}, 4, ""},
		{[]byte{0x92, 0x01}, 0, "length 2 at offset 1 exceeds the 1 bytes left"},
		{[]byte{0x91, 0xcd, 0x01}, 0, "length 2 at offset 2 exceeds the 1 bytes left"},
		{[]byte{0xda, 0x01}, 0, "truncated at offset 1"},
		{[]byte{0xc1}, 0, "byte 0xc1 at offset 0 is not a msgpack type"},
		{[]byte{0xdc, 0xff, 0xff, 0x01}, 0, "length 65535 at offset 3 exceeds the 1 bytes left"},
		{[]byte{0x91, 0x91, 0x91, 0x01}, 0, "nested too deep"},
	} {
		end, err := End(c.b, 0, 3)
		var se *SyntaxError
		if c.want == "" && (err != nil || end != c.end) || c.want != "" && (!errors.As(err, &se) || se.Msg != c.want) {
			t.Errorf("End(% x) = %d, %v; want %d, %q", c.b, end, err, c.end, c.want)
		}
	}
}
