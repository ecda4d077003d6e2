package folder

import (
	"fmt"
	"testing"
)

// BenchmarkInitialSync: a 64 MB folder of mixed files from one device
// through the server to a fresh second device, per iteration (MB/s of
// the whole trip). go run -C bench ./folder -size 1GB for the full figure.
func BenchmarkInitialSync(b *testing.B) {
	h := startHub(b)
	src := b.TempDir()
	var total int64
	for i := range 48 { // 48 small files of 16 KB
		write(b, src, fmt.Sprintf("small/%d.txt", i), randomBytes(16<<10, uint64(i)))
		total += 16 << 10
	}
	for i := range 5 { // 5 medium of 4 MB
		write(b, src, fmt.Sprintf("medium/%d.bin", i), randomBytes(4<<20, uint64(100+i)))
		total += 4 << 20
	}
	write(b, src, "large.bin", randomBytes(43<<20, 200))
	total += 43 << 20
	fa := device(b, h, src, "src")
	once(b, fa) // the server holds the chunks; each iteration downloads
	b.SetBytes(total)
	b.ResetTimer()
	for i := range b.N {
		fb := device(b, h, b.TempDir(), fmt.Sprintf("dst%d", i))
		once(b, fb)
		fb.Close()
	}
}

// BenchmarkSmallEdit: one byte changed in a 32 MB file, synced up and
// down again; reports the chunk bytes sent up per edit.
func BenchmarkSmallEdit(b *testing.B) {
	h := startHub(b)
	a, c := b.TempDir(), b.TempDir()
	data := randomBytes(32<<20, 5)
	write(b, a, "f.bin", data)
	fa, fc := device(b, h, a, "a"), device(b, h, c, "c")
	once(b, fa, fc)
	sent := h.putBytes.Load()
	b.ResetTimer()
	for i := range b.N {
		data[(i*7919)%len(data)] ^= 1
		write(b, a, "f.bin", data)
		once(b, fa, fc)
	}
	b.ReportMetric(float64(h.putBytes.Load()-sent)/float64(b.N), "bytes-sent/op")
}
