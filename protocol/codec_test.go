package protocol

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDecode_errors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []byte
		is   error
		code Code
	}{
		{"garbage", []byte("hello"), ErrMalformed, 0},
		{"not_a_map", []byte{0x93, 1, 2, 3}, ErrMalformed, 0},
		{"no_type", []byte{0x81, 0xa1, 0x72, 0xa1, 0x61}, ErrMalformed, 0},
		{"type_not_int", []byte{0x81, 0xa1, 0x74, 0xa1, 0x61}, ErrMalformed, 0},
		{"unknown_type", []byte{0x81, 0xa1, 0x74, 0x7f}, ErrUnknownType, 0},
		{"trailing_bytes", []byte{0x81, 0xa1, 0x74, 0x0e, 0xc0}, ErrMalformed, 0},
		{"map16_short", []byte{0xde, 0x00}, ErrMalformed, 0},
		// "f" twice: the library would decode the second list into the
		// first one's elements (found by FuzzDecode).
		{"repeated_key", []byte{0x83, 0xa1, 0x74, 0x0e, 0xa1, 0x66, 0x91, 0x81, 0xa1, 0x76, 0x01, 0xa1, 0x66, 0x91, 0x80}, ErrMalformed, 0},
		{"repeated_type", []byte{0x82, 0xa1, 0x74, 0x0e, 0xa1, 0x74, 0x0f}, ErrMalformed, 0},
		{"wrong_value_type", []byte{0x83, 0xa1, 0x74, 0x03, 0xa1, 0x69, 0x01, 0xa1, 0x72, 0x05}, ErrMalformed, 0},
		{"join_without_id", mustEncode(&Join{Room: "lobby"}), nil, CodeBadRequest},
		{"join_bad_room", mustEncode(&Join{ID: 1, Room: "a\tb"}), nil, CodeBadName},
		{"join_observer_entries", mustEncode(&Join{ID: 1, Room: "a", Observer: true, Entries: []Entry{{Key: "k", Value: mp(1)}}}), nil, CodeBadRequest},
		{"set_empty", mustEncode(&Set{ID: 9, Room: "a"}), nil, CodeBadRequest},
		{"set_bad_key", mustEncode(&Set{Room: "a", Delete: []string{"a\x00"}}), nil, CodeBadName},
		{"set_no_value", mustEncode(&Set{Room: "a", Entries: []Entry{{Key: "k"}}}), nil, CodeBadRequest},
		{"set_room_and_handle", mustEncode(&Set{Room: "a", Handle: 1, Delete: []string{"k"}}), nil, CodeBadRequest},
		{"set_no_room", mustEncode(&Set{Delete: []string{"k"}}), nil, CodeBadName},
		{"hello_bad_client", mustEncode(&Hello{Version: 1, Client: strings.Repeat("a", 65)}), nil, CodeBadName},
		{"sub_empty", mustEncode(&Sub{ID: 1, Room: "a"}), nil, CodeBadRequest},
		{"sub_held_without_from", mustEncode(&Sub{ID: 1, Room: "a", Add: []string{"x"}, Held: []string{"x"}}), nil, CodeBadRequest},
		{"sub_from_epoch_0", mustEncode(&Sub{ID: 1, Room: "a", Add: []string{"x"}, From: &Position{Offset: 3}}), nil, CodeBadRequest},
		{"sub_resume_removes", mustEncode(&Sub{ID: 1, Room: "a", Add: []string{"x"}, Remove: []string{"y"}, From: &Position{Epoch: 1}}), nil, CodeBadRequest},
		{"sub_held_not_added", mustEncode(&Sub{ID: 1, Room: "a", Add: []string{"x"}, From: &Position{Epoch: 1}, Held: []string{"y"}}), nil, CodeBadRequest},
		{"write_bad_op", mustEncode(&Write{ID: 1, Room: "a", Op: 9, Object: "o"}), nil, CodeBadRequest},
		{"write_create_no_area", mustEncode(&Write{ID: 1, Room: "a", Op: OpCreate, Object: "o", Kind: "t"}), nil, CodeBadName},
		{"write_no_object", mustEncode(&Write{ID: 1, Room: "a", Op: OpDelete}), nil, CodeBadName},
		{"write_empty_update", mustEncode(&Write{ID: 1, Room: "a", Op: OpUpdate, Object: "o"}), nil, CodeBadRequest},
		{"meet_no_event", mustEncode(&Meet{ID: 1, Actor: "a", Mates: 1}), nil, CodeBadRequest},
		{"meet_no_actor", mustEncode(&Meet{ID: 1, Event: "e", Mates: 1}), nil, CodeBadRequest},
		{"meet_bad_actor", mustEncode(&Meet{ID: 1, Event: "e", Actor: "a b", Mates: 1}), nil, CodeBadRequest},
		{"meet_actor_edge", mustEncode(&Meet{ID: 1, Event: "e", Actor: "-a", Mates: 1}), nil, CodeBadRequest},
		{"meet_bad_room", mustEncode(&Meet{ID: 1, Room: "a/b", Event: "e", Actor: "a", Mates: 1}), nil, CodeBadName},
		{"meet_no_id", mustEncode(&Meet{Event: "e", Actor: "a", Mates: 1}), nil, CodeBadRequest},
		{"cancel_no_id", mustEncode(&Cancel{}), nil, CodeBadRequest},
		{"presence_bad_event", mustEncode(&Presence{Room: "a", Client: "b", Event: 9}), nil, CodeBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := Decode(tt.in)
			if err == nil {
				t.Fatalf("Decode(% x) = %#v, want an error", tt.in, m)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("Decode error = %v, want %v", err, tt.is)
			}
			if got := ErrorCode(err); got != tt.code {
				t.Fatalf("ErrorCode = %v, want %v (%v)", got, tt.code, err)
			}
		})
	}
}

// TestDecode_setEntryArray: a Set whose entries are an array of {"k","v"}
// maps, as clients sent them before handles, decodes as the map form does,
// by the hand-written decoder and by the library (a float64 array value
// sends it there).
func TestDecode_setEntryArray(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		// {"t":6,"i":4,"r":"lobby","d":[{"k":"x","v":1.5}],"x":["name"]}
		"85a17406a16904a172a56c6f626279a1649182a16ba178a176cb3ff8000000000000a17891a46e616d65",
		// the same with "i" as a uint16: the library decodes it
		"85a17406a169cd0004a172a56c6f626279a1649182a16ba178a176cb3ff8000000000000a17891a46e616d65",
	} {
		b, _ := hex.DecodeString(in)
		m, err := Decode(b)
		if err != nil {
			t.Fatalf("Decode(%s): %v", in, err)
		}
		want := &Set{ID: 4, Room: "lobby", Entries: EntryMap{{Key: "x", Value: mp(1.5)}}, Delete: []string{"name"}}
		if !reflect.DeepEqual(m, want) {
			t.Fatalf("Decode(%s) = %#v, want %#v", in, m, want)
		}
	}
}

func TestDecode_requestIDInError(t *testing.T) {
	t.Parallel()
	_, err := Decode(mustEncode(&Set{ID: 42, Room: "lobby", Entries: []Entry{{Key: "k"}}}))
	var e *Error
	if !errors.As(err, &e) || e.ID != 42 || e.Room != "lobby" {
		t.Fatalf("Decode error = %#v, want an *Error with ID 42 in room lobby", err)
	}
}

func TestDecode_skipsUnknownKeys(t *testing.T) {
	t.Parallel()
	// {"t":7, "y":[1,{"q":nil}], "i":5}: a newer peer's extra key.
	in := []byte{0x83, 0xa1, 't', 0x07, 0xa1, 'y', 0x92, 0x01, 0x81, 0xa1, 'q', 0xc0, 0xa1, 'i', 0x05}
	m, err := Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := (&OK{ID: 5}); !reflect.DeepEqual(m, want) {
		t.Fatalf("Decode = %#v, want %#v", m, want)
	}
}

func TestEncode_manyFields(t *testing.T) {
	t.Parallel()
	// A map16 header must be rewritten as well as a fixmap one.
	b, err := Append([]byte{0xee}, &Welcome{Version: 1, Client: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte{0xee, 0x86, 0xa1, 't', byte(TypeWelcome)}) {
		t.Fatalf("Append = % x, want prefix ee 86 a1 74 02", b)
	}
}

func TestCode(t *testing.T) {
	t.Parallel()
	if !CodeShutdown.Retry() || CodeReplaced.Retry() || CodeReadOnly.Retry() {
		t.Fatal("Retry: want true only for 3xx")
	}
	if got := CodeFromCloseStatus(CodeTimeout.CloseStatus()); got != CodeTimeout {
		t.Fatalf("CodeFromCloseStatus(%d) = %v, want Timeout", CodeTimeout.CloseStatus(), got)
	}
	if got := CodeFromCloseStatus(1000); got != 0 {
		t.Fatalf("CodeFromCloseStatus(1000) = %v, want 0", got)
	}
	err := error(newError(CodeReadOnly, "no"))
	if !errors.Is(err, &Error{Code: CodeReadOnly}) || errors.Is(err, &Error{Code: CodeTimeout}) {
		t.Fatal("errors.Is on *Error must compare codes")
	}
	if got, want := err.Error(), "synk: ReadOnly (204): no"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

func mustEncode(m Message) []byte {
	b, err := Encode(m)
	if err != nil {
		panic(err)
	}
	return b
}
