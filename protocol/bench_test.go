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
	for _, bc := range []struct {
		name string
		m    *Set
	}{
		{"by_name", &Set{Room: "lobby", Entries: []Entry{{Key: "pose", Value: mp(pose)}}}},
		{"handle", &Set{Handle: 1, Entries: []Entry{{Key: "pose", Value: mp(pose)}}}},
		{"handle_packed", &Set{Handle: 1, Entries: []Entry{{Key: "pose", Value: mp(packF32(pose...))}}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var n int
			b.ReportAllocs()
			for b.Loop() {
				out, _ := Encode(bc.m)
				n = len(out)
			}
			b.ReportMetric(float64(n), "wire-bytes")
		})
	}
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

// BenchmarkObjectDiff compares the frame for one changed field of an
// eight-field object with the frame carrying the whole object.
func BenchmarkObjectDiff(b *testing.B) {
	fields := []Entry{
		{Key: "x", Value: mp(12.5)}, {Key: "y", Value: mp(3.25)}, {Key: "z", Value: mp(-7.0)},
		{Key: "rot", Value: mp([]float32{0, 0.7071, 0, 0.7071})}, {Key: "color", Value: mp("#e5c07b")},
		{Key: "name", Value: mp("crate-17")}, {Key: "mass", Value: mp(40)}, {Key: "owner", Value: mp("ada")},
	}
	for _, bc := range []struct {
		name string
		msg  *Object
	}{
		{"whole", &Object{Room: "world", Event: ObjectPut, Object: "crate-17", Kind: "crate", Area: "3:4", Version: 9, Fields: fields}},
		{"one_field", &Object{Room: "world", Event: ObjectUpdate, Object: "crate-17", Version: 10, Fields: fields[:1]}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var n int
			b.ReportAllocs()
			for b.Loop() {
				out, _ := Encode(bc.msg)
				n = len(out)
			}
			b.ReportMetric(float64(n), "wire-bytes")
		})
	}
}
