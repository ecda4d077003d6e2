package folder

import (
	"bytes"
	"crypto/sha256"
	"math/rand/v2"
	"testing"
)

func TestPolynomialIrreducible(t *testing.T) {
	t.Parallel()
	if !polynomial.Irreducible() {
		t.Fatal("the chunking polynomial is not irreducible")
	}
}

// randomBytes returns n reproducible pseudo-random bytes.
func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	rng := rand.New(rand.NewPCG(seed, seed))
	for i := 0; i < n; i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// differing counts the chunks of b that a lacks.
func differing(a, b []Chunk) int {
	have := make(map[[sha256.Size]byte]bool, len(a))
	for _, c := range a {
		have[c.Hash] = true
	}
	n := 0
	for _, c := range b {
		if !have[c.Hash] {
			n++
		}
	}
	return n
}

// TestSplit_smallEdits: in a 100 MB file, changing one byte changes one
// chunk; inserting one byte changes at most two (the boundary after it
// may move); the chunks cover the content exactly and hash it.
func TestSplit_smallEdits(t *testing.T) {
	t.Parallel()
	data := randomBytes(100<<20, 7)
	base, sum, err := Split(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if sum != sha256.Sum256(data) {
		t.Fatal("the whole-content hash is wrong")
	}
	var off int64
	for i, c := range base {
		if c.Offset != off || c.Size < 1 || c.Size > MaxChunk || i < len(base)-1 && c.Size < MinChunk {
			t.Fatalf("chunk %d: %+v at %d", i, c, off)
		}
		if c.Hash != sha256.Sum256(data[c.Offset:c.Offset+int64(c.Size)]) {
			t.Fatalf("chunk %d's hash is wrong", i)
		}
		off += int64(c.Size)
	}
	if off != int64(len(data)) || len(base) < 20 {
		t.Fatalf("%d chunks cover %d bytes of %d", len(base), off, len(data))
	}

	changed := bytes.Clone(data)
	changed[len(changed)/2] ^= 0xff
	cs, _, _ := Split(bytes.NewReader(changed))
	if n := differing(base, cs); n != 1 {
		t.Fatalf("a 1-byte change made %d new chunks, want 1", n)
	}

	inserted := append(append(bytes.Clone(data[:len(data)/3]), 'x'), data[len(data)/3:]...)
	cs, _, _ = Split(bytes.NewReader(inserted))
	if n := differing(base, cs); n < 1 || n > 2 {
		t.Fatalf("a 1-byte insertion made %d new chunks, want 1 or 2", n)
	}
}

// BenchmarkSplit measures chunking throughput.
//
//	go test ./internal/folder -run '^$' -bench Split
func BenchmarkSplit(b *testing.B) {
	data := randomBytes(64<<20, 1)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, _, err := Split(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
