package chunkpack

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"testing"
)

func pack(chunks ...[]byte) []byte {
	var b []byte
	for _, c := range chunks {
		if c == nil {
			b = AppendHeader(b, [32]byte{9}, -1)
			continue
		}
		b = append(AppendHeader(b, sha256.Sum256(c), len(c)), c...)
	}
	return b
}

// TestReader: chunks come out as they went in, a missing one as -1, an
// unread body is skipped; a cut, an over-long length and a cut header are
// errors.
func TestReader(t *testing.T) {
	a, b := []byte("hello"), bytes.Repeat([]byte{1}, 300)
	r := NewReader(bytes.NewReader(pack(a, nil, b, a)), 1000)
	for i, want := range [][]byte{a, nil, b} {
		h, n, err := r.Next()
		if err != nil {
			t.Fatal(i, err)
		}
		if want == nil {
			if n != -1 || h != [32]byte{9} {
				t.Fatalf("%d: missing chunk read as %d bytes", i, n)
			}
			continue
		}
		got, err := r.ReadBody(nil)
		if err != nil || !bytes.Equal(got, want) || h != sha256.Sum256(want) || n != len(want) {
			t.Fatalf("%d: %q, %v", i, got, err)
		}
	}
	if _, _, err := r.Next(); err != nil { // read the header, not the body
		t.Fatal(err)
	}
	if _, _, err := r.Next(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
	cut := pack(b)
	for name, tc := range map[string]struct {
		raw   []byte
		limit int
		want  error
	}{
		"body cut":   {cut[:len(cut)-1], 1000, io.ErrUnexpectedEOF},
		"header cut": {cut[:20], 1000, io.ErrUnexpectedEOF},
		"too long":   {cut, 299, ErrTooLarge},
	} {
		r := NewReader(bytes.NewReader(tc.raw), tc.limit)
		_, _, err := r.Next()
		if err == nil {
			_, err = r.ReadBody(nil)
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}

// FuzzReader: any bytes read as a pack give chunks within the limit whose
// lengths add up to what was read, or an error; never a panic or a read
// past the limit.
func FuzzReader(f *testing.F) {
	f.Add(pack([]byte("a"), nil, []byte("bc")), 8)
	f.Add(pack(bytes.Repeat([]byte{7}, 40)), 16)
	f.Add([]byte{1, 2, 3}, 4)
	f.Fuzz(func(t *testing.T, raw []byte, limit int) {
		if limit < 0 || limit > 1<<16 {
			return
		}
		r := NewReader(bytes.NewReader(raw), limit)
		total := 0
		for {
			_, n, err := r.Next()
			if err != nil {
				break
			}
			total += HeaderSize
			if n < 0 {
				continue
			}
			if n > limit {
				t.Fatalf("a chunk of %d bytes over the limit %d", n, limit)
			}
			body, err := r.ReadBody(nil)
			if err != nil {
				break
			}
			total += len(body)
		}
		if total > len(raw) {
			t.Fatalf("read %d bytes of %d", total, len(raw))
		}
	})
}
