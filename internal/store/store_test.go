package store

import (
	"testing"

	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// FuzzDecodeStored checks that the decoders of stored values (records,
// changes, room positions) never panic on a damaged file, and that a
// record that decodes encodes back to one that decodes alike.
func FuzzDecodeStored(f *testing.F) {
	for _, v := range []any{
		&Record{Seq: 7, Kind: "k", Area: "A", Version: 3, Fields: map[string]msgpack.RawMessage{"x": {0x01}}, Op: "op-1"},
		&Record{Seq: 8, Deleted: true, Version: 4},
		&Change{Seq: 9, At: 1700000000000, ID: "o", Op: protocol.OpUpdate, Existed: true, Area: "A", Keys: []string{"x"}, Version: 5},
		&Meta{Epoch: 42, Seq: 9, Start: 3},
	} {
		b, err := msgpack.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x81, 0xa1, 0x66, 0xdf, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Meta
		_ = DecodeMeta(b, &m)
		var ch Change
		_ = DecodeChecked(b, &ch)
		var rec Record
		if DecodeChecked(b, &rec) != nil {
			return
		}
		again, err := msgpack.Marshal(&rec)
		if err != nil {
			t.Fatalf("Marshal(%+v): %v", rec, err)
		}
		var back Record
		if err := DecodeChecked(again, &back); err != nil || back.Seq != rec.Seq || back.Deleted != rec.Deleted || len(back.Fields) != len(rec.Fields) {
			t.Fatalf("record %+v came back as %+v (%v)", rec, back, err)
		}
	})
}
