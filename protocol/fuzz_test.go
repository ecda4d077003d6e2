package protocol

import (
	"bytes"
	"reflect"
	"testing"

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
