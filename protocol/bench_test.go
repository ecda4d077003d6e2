package protocol

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

func BenchmarkEncode(b *testing.B) {
	for _, tt := range golden {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 512)
			var n int
			for b.Loop() {
				out, err := Append(buf[:0], tt.msg)
				if err != nil {
					b.Fatal(err)
				}
				n = len(out)
			}
			b.ReportMetric(float64(n), "wire-bytes")
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, tt := range golden {
		b.Run(tt.name, func(b *testing.B) {
			in := mustEncode(tt.msg)
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if _, err := Decode(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPose compares a 7-float pose update on the wire with the seed
// (supersynk) JSON request that carries the same numbers as text.
func BenchmarkPose(b *testing.B) {
	pose := []float32{0.25, 1.6, -3.5, 0, 0.7071, 0, 0.7071}
	b.Run("msgpack", func(b *testing.B) {
		m := &Set{Room: "lobby", Entries: []Entry{{Key: "pose", Value: mp(pose)}}}
		var n int
		b.ReportAllocs()
		for b.Loop() {
			out, _ := Encode(m)
			n = len(out)
		}
		b.ReportMetric(float64(n), "wire-bytes")
	})
	b.Run("seed_json", func(b *testing.B) {
		f := make([]string, len(pose))
		for i, x := range pose {
			f[i] = strconv.FormatFloat(float64(x), 'g', -1, 32)
		}
		type kv struct {
			K string `json:"k"`
			V string `json:"v"`
		}
		req := struct {
			C string `json:"c"`
			D []kv   `json:"d"`
		}{"ada", []kv{{"pose", strings.Join(f, " ")}}}
		var n int
		b.ReportAllocs()
		for b.Loop() {
			out, _ := json.Marshal(req)
			n = len(out)
		}
		b.ReportMetric(float64(n), "wire-bytes")
	})
}
