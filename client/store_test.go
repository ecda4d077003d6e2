package client

import (
	"strings"
	"testing"

	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// libRoom and libObject are the records as the msgpack library wrote them
// before the client wrote them by hand: the sample below is in that form,
// so stores of earlier versions are known to read.
type libRoom struct {
	Epoch  uint64   `msgpack:"e"`
	Offset uint64   `msgpack:"o"`
	Held   []string `msgpack:"h,omitempty"`
	Areas  []string `msgpack:"a,omitempty"`
}

type libObject struct {
	Kind    string                        `msgpack:"y"`
	Area    string                        `msgpack:"a"`
	Version uint64                        `msgpack:"v"`
	Fields  map[string]msgpack.RawMessage `msgpack:"f,omitempty"`
}

// storedSample is a Store's contents for room "w": a position, two
// objects and one write.
func storedSample(tb testing.TB) map[string][]byte {
	tb.Helper()
	enc := func(v any) []byte {
		b, err := msgpack.Marshal(v)
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	w, err := protocol.Encode(&protocol.Write{ID: 1, Room: "w", Op: protocol.OpMove, Object: "a", Area: "B", OpID: "op-1"})
	if err != nil {
		tb.Fatal(err)
	}
	return map[string][]byte{
		prefixRoom + "w":      enc(&libRoom{Epoch: 9, Offset: 4, Held: []string{"A"}, Areas: []string{"A", "B"}}),
		objectKey("w", "a"):   enc(&libObject{Kind: "k", Area: "A", Version: 2, Fields: map[string]msgpack.RawMessage{"n": {0x01}}}),
		objectKey("w", "b"):   enc(&libObject{Kind: "k", Area: "B", Version: 1}),
		writeKey("w", 7):      w,
		writeKey("w", 0x1234): w,
	}
}

func Test_parseState(t *testing.T) {
	t.Parallel()
	rooms, maxSeq, err := parseState(storedSample(t))
	if err != nil {
		t.Fatal(err)
	}
	st := rooms["w"]
	if maxSeq != 0x1234 || st == nil || !st.hasRoom || st.room.Epoch != 9 || len(st.objects) != 2 || len(st.writes) != 2 ||
		st.writes[0].seq != 7 || st.writes[1].seq != 0x1234 || st.objects["a"].Version != 2 {
		t.Fatalf("parseState = %+v, max %d", st, maxSeq)
	}
	tests := []struct {
		name, key string
		value     []byte
		want      string
	}{
		{"unknown_kind", "x\x00w", []byte{0xc0}, "unknown key"},
		{"no_separator", "garbage", []byte{0xc0}, "unknown key"},
		{"bad_room", prefixRoom + "a/b", []byte{0x80}, "room"},
		{"bad_object_id", objectKey("w", ""), []byte{0x80}, "key must be"},
		{"bad_seq", prefixWrite + "w\x00zz", []byte{0x80}, "sequence"},
		{"short_seq", prefixWrite + "w\x00ff", []byte{0x80}, "sequence"},
		{"upper_case_seq", prefixWrite + "w\x0000000000000000FF", []byte{0x80}, "sequence"},
		{"write_of_other_room", writeKey("v", 1), storedSample(t)[writeKey("w", 7)], "not a write of this room"},
		{"not_a_write", writeKey("w", 1), []byte{0x81, 0xa1, 't', 0x09}, "not a write"},
		{"truncated_object", objectKey("w", "a"), []byte{0x84, 0xa1}, "malformed"},
		{"huge_array", prefixRoom + "w", []byte{0x81, 0xa1, 'h', 0xdd, 0xff, 0xff, 0xff, 0xff}, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			kv := storedSample(t)
			kv[tt.key] = tt.value
			_, _, err := parseState(kv)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("parseState error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// FuzzParseState checks that reading a damaged Store never panics: each
// input is the value of every kind of key in turn.
func FuzzParseState(f *testing.F) {
	for _, v := range storedSample(f) {
		f.Add(v)
	}
	f.Add([]byte{0x81, 0xa1, 'f', 0xdf, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, v []byte) {
		for _, k := range []string{prefixRoom + "w", objectKey("w", "a"), writeKey("w", 3)} {
			kv := storedSample(t)
			kv[k] = v
			rooms, _, err := parseState(kv)
			if err == nil && rooms["w"] == nil {
				t.Fatal("parseState lost room w")
			}
		}
	})
}
