package mpw

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// TestAppend_asTheLibrary: every writer gives the msgpack library's bytes
// (compact integers) at and around each form's bounds.
func TestAppend_asTheLibrary(t *testing.T) {
	lib := func(f func(e *msgpack.Encoder) error) []byte {
		var buf bytes.Buffer
		e := msgpack.NewEncoder(&buf)
		e.UseCompactInts(true)
		if err := f(e); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	for _, n := range []int{0, 1, 15, 16, 31, 32, 255, 256, math.MaxUint16, math.MaxUint16 + 1} {
		if got, want := AppendMapLen(nil, n), lib(func(e *msgpack.Encoder) error { return e.EncodeMapLen(n) }); !bytes.Equal(got, want) {
			t.Errorf("AppendMapLen(%d) = % x, want % x", n, got, want)
		}
		if got, want := AppendArrayLen(nil, n), lib(func(e *msgpack.Encoder) error { return e.EncodeArrayLen(n) }); !bytes.Equal(got, want) {
			t.Errorf("AppendArrayLen(%d) = % x, want % x", n, got, want)
		}
		s := strings.Repeat("x", n)
		if got, want := AppendStr(nil, s), lib(func(e *msgpack.Encoder) error { return e.EncodeString(s) }); !bytes.Equal(got, want) {
			t.Errorf("AppendStr(%d bytes) differs", n)
		}
	}
	for _, v := range []uint64{0, 127, 128, 255, 256, math.MaxUint16, math.MaxUint16 + 1, math.MaxUint32, math.MaxUint32 + 1, math.MaxUint64} {
		if got, want := AppendUint(nil, v), lib(func(e *msgpack.Encoder) error { return e.EncodeUint(v) }); !bytes.Equal(got, want) {
			t.Errorf("AppendUint(%d) = % x, want % x", v, got, want)
		}
	}
	for _, v := range []bool{false, true} {
		if got, want := AppendBool(nil, v), lib(func(e *msgpack.Encoder) error { return e.EncodeBool(v) }); !bytes.Equal(got, want) {
			t.Errorf("AppendBool(%v) = % x, want % x", v, got, want)
		}
	}
	if got := AppendRaw([]byte{1}, nil); !bytes.Equal(got, []byte{1, 0xc0}) {
		t.Errorf("AppendRaw(nil) = % x, want nil's c0", got)
	}
	if got := AppendRaw(nil, []byte{0x92, 1, 2}); !bytes.Equal(got, []byte{0x92, 1, 2}) {
		t.Errorf("AppendRaw = % x", got)
	}
}
