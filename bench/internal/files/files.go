// Package files writes the folders the folder-sync benchmarks sync:
// incompressible files of mixed sizes, reproducible from a seed.
package files

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// Fill writes about size bytes of incompressible files into dir: half in
// a few large files (64–256 MB), 40% in medium ones (1–16 MB), 10% in
// small ones (1–64 KB), in nested directories. It returns the file count.
func Fill(dir string, size int64, rng *rand.Rand) (int, error) {
	files := 0
	for _, class := range []struct {
		share    float64
		min, max int64
		dir      string
	}{{0.5, 64 << 20, 256 << 20, "large"}, {0.4, 1 << 20, 16 << 20, "medium"}, {0.1, 1 << 10, 64 << 10, "small"}} {
		budget := int64(class.share * float64(size))
		for i := 0; budget > 0; i++ {
			n := min(budget, class.min+rng.Int64N(class.max-class.min))
			full := filepath.Join(dir, fmt.Sprintf("%s/d%d/f%d.bin", class.dir, i%16, i))
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				return files, err
			}
			if err := WriteRandom(full, n, rng); err != nil {
				return files, err
			}
			files++
			budget -= n
		}
	}
	return files, nil
}

// WriteRandom writes n random bytes to name.
func WriteRandom(name string, n int64, rng *rand.Rand) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	buf := make([]byte, min(n, 1<<20))
	for left := n; left > 0; {
		k := min(left, int64(len(buf)))
		for i := 0; i < int(k); i += 8 {
			v := rng.Uint64()
			for j := 0; j < 8 && i+j < int(k); j++ {
				buf[i+j] = byte(v >> (8 * j))
			}
		}
		if _, err := f.Write(buf[:k]); err != nil {
			f.Close()
			return err
		}
		left -= k
	}
	return f.Close()
}
