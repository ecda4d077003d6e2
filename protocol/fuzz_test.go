package protocol

import (
	"bytes"
	"testing"
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
