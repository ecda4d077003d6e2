package bridge

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/synkhq/synk/client"
	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

func raw(t testing.TB, v any) protocol.RawMessage {
	t.Helper()
	b, err := msgpack.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeBatch decodes bt as the page does: one array of maps.
func decodeBatch(t *testing.T, bt *Batch) []map[string]any {
	t.Helper()
	b := bt.Bytes()
	if err := protocol.Check(b, protocol.MaxDepth); err != nil {
		t.Fatalf("batch is not one msgpack value: %v", err)
	}
	var out []map[string]any
	if err := msgpack.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != bt.Len() {
		t.Fatalf("batch holds %d items, Len says %d", len(out), bt.Len())
	}
	return out
}

func TestBatch_events(t *testing.T) {
	pose := []byte{1, 2, 3, 4}
	var bt Batch
	if got := bt.Bytes(); !bytes.Equal(got, []byte{0x90}) {
		t.Fatalf("empty batch = % x, want an empty array", got)
	}
	bt.Event(client.Event{Kind: client.EventJoin, Room: "lobby", Client: "ada",
		Entries: map[string]protocol.RawMessage{"name": raw(t, "Ada"), "pose": raw(t, pose), "gone": nil}}, "")
	bt.Event(client.Event{Kind: client.EventChange, Room: "lobby", Client: "ada", Deleted: []string{"name"}}, "")
	bt.Event(client.Event{Kind: client.EventLeave, Room: "lobby", Client: "bob",
		Err: &protocol.Error{Code: protocol.CodeTimeout, Message: "silent"}}, "")
	bt.Event(client.Event{Kind: client.EventDisconnected, Err: errors.New("link down")}, "")
	bt.Event(client.Event{Kind: client.EventObjectPut, Room: "lobby", Object: "crate", Area: "a1", Version: 300,
		Fields: map[string]protocol.RawMessage{"mass": raw(t, 40)}}, "box")
	bt.Event(client.Event{Kind: client.EventObjectUpdate, Room: "lobby", Object: "crate", Version: 1 << 40, Deleted: []string{"mass"}}, "")
	bt.Event(client.Event{Kind: client.EventWritten, Room: "lobby", Object: "crate", Version: 0,
		Err: &protocol.Error{Code: protocol.CodeConflict, Message: "expected 3"}}, "")
	bt.Event(client.Event{Kind: client.EventObjectsReset, Room: "lobby"}, "")
	bt.Event(client.Event{Kind: client.EventRoomClosed, Room: "lobby"}, "")
	bt.Event(client.Event{Kind: client.EventMessage, Room: "lobby", Client: "joe", Topic: "u", Data: raw(t, map[string]any{"x": 1})}, "")
	bt.Event(client.Event{Kind: client.EventMessage, Room: "lobby", Client: "joe", Topic: "hi", Data: raw(t, "psst"), Direct: true, Area: "0:0"}, "")
	bt.Event(client.Event{Kind: 200}, "")

	got := decodeBatch(t, &bt)
	want := []map[string]any{
		{"kind": "join", "room": "lobby", "client": "ada", "entries": map[string]any{"name": "Ada", "pose": pose, "gone": nil}, "deleted": []any{}},
		{"kind": "change", "room": "lobby", "client": "ada", "entries": map[string]any{}, "deleted": []any{"name"}},
		{"kind": "leave", "room": "lobby", "client": "bob", "entries": map[string]any{}, "deleted": []any{},
			"error": map[string]any{"message": (&protocol.Error{Code: protocol.CodeTimeout, Message: "silent"}).Error(), "code": uint16(protocol.CodeTimeout), "codeName": "Timeout"}},
		{"kind": "disconnected", "entries": map[string]any{}, "deleted": []any{},
			"error": map[string]any{"message": "link down", "code": int8(0)}},
		{"kind": "object", "op": "put", "room": "lobby", "object": "crate", "area": "a1", "objectKind": "box", "version": uint16(300),
			"fields": map[string]any{"mass": int8(40)}, "deleted": []any{}},
		{"kind": "object", "op": "update", "room": "lobby", "object": "crate", "version": uint64(1 << 40),
			"fields": map[string]any{}, "deleted": []any{"mass"}},
		{"kind": "written", "room": "lobby", "object": "crate", "version": int8(0),
			"error": map[string]any{"message": (&protocol.Error{Code: protocol.CodeConflict, Message: "expected 3"}).Error(), "code": uint16(protocol.CodeConflict), "codeName": "Conflict"}},
		{"kind": "reset", "room": "lobby"},
		{"kind": "closed", "room": "lobby", "entries": map[string]any{}, "deleted": []any{}},
		{"kind": "message", "room": "lobby", "client": "joe", "topic": "u", "data": map[string]any{"x": int8(1)}},
		{"kind": "message", "room": "lobby", "client": "joe", "topic": "hi", "data": "psst", "direct": true, "area": "0:0"},
		{"kind": "unknown"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(normalize(got[i]), normalize(want[i])) {
			t.Errorf("event %d:\n got %#v\nwant %#v", i, got[i], want[i])
		}
	}

	bt.Reset()
	if bt.Len() != 0 || !bytes.Equal(bt.Bytes(), []byte{0x90}) {
		t.Fatal("Reset left items")
	}
}

// normalize turns every integer into an int64, as the page sees numbers.
func normalize(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = normalize(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = normalize(x)
		}
		return out
	}
	r := reflect.ValueOf(v)
	switch r.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return r.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int64(r.Uint())
	}
	return v
}

func TestBatch_pendingError(t *testing.T) {
	var bt Batch
	err := errors.Join(client.ErrPending, &protocol.Error{Code: protocol.CodeOverloaded, Message: "busy"})
	bt.Event(client.Event{Kind: client.EventWritten, Room: "r", Object: "o", Err: err}, "")
	e := decodeBatch(t, &bt)[0]["error"].(map[string]any)
	if e["pending"] != true || e["codeName"] != "Overloaded" {
		t.Fatalf("error = %v, want pending and Overloaded", e)
	}
}

func TestBatch_large(t *testing.T) {
	// Past the fixed-size headers: 70,000 events, a 40-byte key, a
	// 300-byte and a 70,000-byte string, 20 entries.
	var bt Batch
	entries := make(map[string]protocol.RawMessage)
	for i := range 20 {
		entries[strings.Repeat("k", i+1)] = raw(t, i)
	}
	long := strings.Repeat("x", 70000)
	bt.Event(client.Event{Kind: client.EventJoin, Room: strings.Repeat("r", 300), Client: long, Entries: entries}, "")
	for range 70000 {
		bt.Event(client.Event{Kind: client.EventReconnected}, "")
	}
	got := decodeBatch(t, &bt)
	if got[0]["client"] != long || len(got[0]["entries"].(map[string]any)) != 20 || got[70000]["kind"] != "reconnected" {
		t.Fatal("large batch decoded wrong")
	}
}

func TestAppendState(t *testing.T) {
	members := []client.Member{{Client: "ada", Entries: map[string]protocol.RawMessage{"x": raw(t, 1.5)}}}
	objects := []client.Object{{ID: "crate", Kind: "box", Area: "a1", Version: 7, Fields: map[string]protocol.RawMessage{"when": raw(t, time.Unix(10, 0).UTC())}}}
	pending := []client.Pending{{Op: protocol.OpCreate, Object: "lamp", Area: "a2"}, {Op: protocol.OpDelete, Object: "crate"}, {Op: 99, Object: "odd"}}
	var bt Batch
	bt.State("lobby", members, objects, pending)
	bt.State("lobby", nil, nil, []client.Pending{})
	bt.State("lobby", []client.Member{}, nil, nil)
	got := decodeBatch(t, &bt)
	want := []map[string]any{
		{"kind": "sync", "room": "lobby",
			"members": []any{map[string]any{"client": "ada", "entries": map[string]any{"x": 1.5}}},
			"objects": []any{map[string]any{"id": "crate", "kind": "box", "area": "a1", "version": int8(7),
				"fields": map[string]any{"when": time.Unix(10, 0)}}},
			"pending": []any{map[string]any{"op": "create", "object": "lamp", "area": "a2"},
				map[string]any{"op": "delete", "object": "crate"}, map[string]any{"op": "unknown", "object": "odd"}}},
		{"kind": "sync", "room": "lobby", "pending": []any{}},
		{"kind": "sync", "room": "lobby", "members": []any{}},
	}
	for i := range want {
		if !reflect.DeepEqual(normalize(got[i]), normalize(want[i])) {
			t.Errorf("state %d:\n got %#v\nwant %#v", i, got[i], want[i])
		}
	}
	// A join's answer is the same map on its own.
	one := AppendState(nil, "lobby", members, objects, pending)
	if b := bt.Bytes(); !bytes.Equal(b[5:5+len(one)], one) {
		t.Fatal("AppendState differs from the batch's state")
	}
}

func TestDecodeEntries(t *testing.T) {
	good := raw(t, map[string]any{"name": "Ada", "pose": []byte{1, 2}, "n": map[string]any{"deep": []any{1, 2}}})
	m, err := DecodeEntries(good)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 3 || !bytes.Equal(m["name"].(protocol.RawMessage), raw(t, "Ada")) {
		t.Fatalf("entries = %v", m)
	}
	// Entries encode back as the client sends them.
	var back map[string]any
	if err := msgpack.Unmarshal(raw(t, m), &back); err != nil || back["name"] != "Ada" {
		t.Fatalf("re-encoded entries = %v, %v", back, err)
	}
	if m, err := DecodeEntries([]byte{0x80}); err != nil || len(m) != 0 {
		t.Fatalf("empty map: %v, %v", m, err)
	}

	deep := []byte{0x81, 0xa1, 'k'}
	for range protocol.MaxDepth + 1 {
		deep = append(deep, 0x91)
	}
	deep = append(deep, 0xc0)
	for name, b := range map[string][]byte{
		"empty":          nil,
		"array":          raw(t, []int{1}),
		"int key":        {0x81, 0x01, 0x01},
		"repeated key":   {0x82, 0xa1, 'k', 0x01, 0xa1, 'k', 0x02},
		"truncated key":  {0x81, 0xa3, 'k'},
		"missing value":  {0x81, 0xa1, 'k'},
		"bad value":      {0x81, 0xa1, 'k', 0xc1},
		"short value":    {0x81, 0xa1, 'k', 0xc4, 0x05, 1},
		"trailing bytes": {0x80, 0x00},
		"map16 short":    {0xde, 0x00},
		"too deep":       deep,
		"huge count":     {0xdf, 0xff, 0xff, 0xff, 0xff},
	} {
		if _, err := DecodeEntries(b); !errors.Is(err, ErrEntries) {
			t.Errorf("%s: err = %v, want ErrEntries", name, err)
		}
	}
}

func FuzzDecodeEntries(f *testing.F) {
	f.Add([]byte{0x80})
	f.Add([]byte(raw(f, map[string]any{"name": "Ada", "x": 1.5, "pose": []byte{1, 2, 3}})))
	f.Add([]byte(raw(f, map[string]any{"a": map[string]any{"b": []any{nil, true, "c"}}, "t": time.Unix(1, 2)})))
	f.Add([]byte{0xde, 0x00, 0x01, 0xd9, 0x01, 'k', 0xc0})
	f.Add([]byte{0x82, 0xa1, 'k', 0x01, 0xa1, 'k', 0x02})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeEntries(b)
		if err != nil {
			if !errors.Is(err, ErrEntries) {
				t.Fatalf("error %v does not wrap ErrEntries", err)
			}
			return
		}
		// Every value is one well-formed msgpack value, and the entries
		// encode back into a map the msgpack library reads with the same
		// keys.
		for k, v := range m {
			if err := protocol.Check(v.(protocol.RawMessage), protocol.MaxDepth); err != nil {
				t.Fatalf("value of %q: %v", k, err)
			}
		}
		enc, err := msgpack.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var back map[string]msgpack.RawMessage
		if err := msgpack.Unmarshal(enc, &back); err != nil || len(back) != len(m) {
			t.Fatalf("entries do not encode back: %v (%d of %d)", err, len(back), len(m))
		}
	})
}
