//go:build !js

package server

import (
	"fmt"
	"sync/atomic"
	"testing"
)

// BenchmarkStore_write measures acknowledged object writes per second into
// the bbolt store (each fsync'd before its OK). "serial" is one writer;
// "parallel" has 64 writers, whose writes bbolt's Batch commits together.
//
//	go test ./server -run '^$' -bench Store -benchtime 2000x
func BenchmarkStore_write(b *testing.B) {
	for _, bc := range []struct {
		name    string
		writers int
	}{{"serial", 1}, {"parallel", 64}} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := New(&Options{DataDir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Shutdown(b.Context())
			balls := NewObjects[ball](s, "bench", "ball")
			for i := range 64 {
				balls.Create(fmt.Sprintf("b%d", i), "A", &ball{})
			}
			b.SetParallelism(bc.writers)
			var n atomic.Int64
			b.ResetTimer()
			if bc.writers == 1 {
				for i := 0; b.Loop(); i++ {
					if _, err := balls.Update("b0", func(x *ball) { x.X = float64(i) }); err != nil {
						b.Fatal(err)
					}
				}
			} else {
				b.RunParallel(func(pb *testing.PB) {
					id := fmt.Sprintf("b%d", n.Add(1)%64)
					for i := 0; pb.Next(); i++ {
						if _, err := balls.Update(id, func(x *ball) { x.X = float64(i) }); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
		})
	}
}
