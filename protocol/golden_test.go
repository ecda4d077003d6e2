package protocol

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

var update = flag.Bool("update", false, "rewrite testdata/*.hex from the golden table")

// mp encodes v as a msgpack value for use in an [Entry].
func mp(v any) RawMessage {
	b, err := msgpack.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// packF32 packs floats as little-endian float32 bytes, as a JS
// Float32Array's bytes are.
func packF32(f ...float32) []byte {
	b := make([]byte, 0, 4*len(f))
	for _, x := range f {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// golden lists one example of every frame type. Its wire bytes live in
// testdata/NAME.hex, shared with the JavaScript tests and docs/PROTOCOL.md.
var golden = []struct {
	name string
	msg  Message
}{
	{"hello", &Hello{Version: 1, Client: "ada"}},
	{"hello_anonymous", &Hello{Version: 1}},
	{"hello_batch", &Hello{Version: 1, Client: "ada", Batch: true}},
	{"hello_token", &Hello{Version: 1, Batch: true, Token: "h.p.s"}},
	{"hello_resume", &Hello{Version: 1, Client: "u-4e1f", Batch: true, Secret: "k3Yq"}},
	{"welcome", &Welcome{Version: 1, Client: "ada", PingMS: 3000, TimeoutMS: 10000,
		Limits: Limits{MaxFrame: 65536, MaxKeys: 64, MaxValue: 16384, MaxRooms: 16}, Batch: true}},
	{"welcome_secret", &Welcome{Version: 1, Client: "u-4e1f", PingMS: 3000, TimeoutMS: 10000,
		Limits: Limits{MaxFrame: 65536, MaxKeys: 64, MaxValue: 16384, MaxRooms: 16}, Batch: true, Secret: "k3Yq"}},
	{"join", &Join{ID: 1, Room: "lobby", Entries: []Entry{{Key: "name", Value: mp("ada")}}}},
	{"join_observer", &Join{ID: 2, Room: "lobby", Observer: true}},
	{"joined", &Joined{ID: 1, Room: "lobby", Members: []Member{
		{Client: "ada", Entries: []Entry{{Key: "name", Value: mp("ada")}}},
		{Client: "joe", Entries: []Entry{{Key: "head", Value: mp([]byte{1, 2})}}},
	}, Handle: 1}},
	{"joined_more", &Joined{ID: 1, Room: "lobby", Members: []Member{
		{Client: "ada", Entries: []Entry{{Key: "name", Value: mp("ada")}}},
	}, Handle: 1, More: true}},
	{"leave", &Leave{ID: 3, Room: "lobby"}},
	{"set", &Set{ID: 4, Room: "lobby", Entries: []Entry{{Key: "x", Value: mp(1.5)}}, Delete: []string{"name"}}},
	{"set_pose", &Set{Handle: 1, Entries: []Entry{{Key: "pose", Value: mp([]float32{0, 1.6, 0, 0, 0, 0, 1})}}}},
	{"set_pose_packed", &Set{Handle: 1, Entries: []Entry{{Key: "pose", Value: mp(packF32(0, 1.6, 0, 0, 0, 0, 1))}}}},
	{"ok", &OK{ID: 4}},
	{"presence_join", &Presence{Room: "lobby", Event: EventJoin, Client: "joe", Entries: []Entry{{Key: "name", Value: mp("joe")}}}},
	{"presence_change", &Presence{Room: "lobby", Event: EventChange, Client: "joe", Entries: []Entry{{Key: "x", Value: mp(2)}}, Delete: []string{"name"}}},
	{"presence_leave", &Presence{Room: "lobby", Event: EventLeave, Client: "joe", Reason: CodeTimeout}},
	{"ping", &Ping{Nonce: 7}},
	{"pong", &Pong{Nonce: 7}},
	{"error", &Error{ID: 4, Code: CodeReadOnly, Message: "observers cannot write", Room: "lobby"}},
	{"sub", &Sub{ID: 5, Room: "lobby", Add: []string{"0:0", "0:1"}, Remove: []string{"9:9"}}},
	{"sub_resume", &Sub{ID: 1, Room: "lobby", Add: []string{"0:0", "0:1"}, From: &Position{Epoch: 0x5eed, Offset: 41}, Held: []string{"0:0"}}},
	{"ok_sub", &OK{ID: 1, Epoch: 0x5eed, Offset: 44, Resumed: true}},
	{"write_create", &Write{ID: 6, Room: "lobby", Op: OpCreate, Object: "ball", Kind: "item", Area: "0:0", Fields: []Entry{{Key: "x", Value: mp(3)}}}},
	{"write_update", &Write{ID: 7, Room: "lobby", Op: OpUpdate, Object: "ball", Fields: []Entry{{Key: "x", Value: mp(4)}}, Delete: []string{"y"}, Expect: 1, OpID: "ada-7"}},
	{"write_move", &Write{ID: 8, Room: "lobby", Op: OpMove, Object: "ball", Area: "0:1"}},
	{"write_delete", &Write{ID: 9, Room: "lobby", Op: OpDelete, Object: "ball"}},
	{"ok_version", &OK{ID: 7, Version: 2}},
	{"object_put", &Object{Room: "lobby", Event: ObjectPut, Object: "ball", Kind: "item", Area: "0:0", Version: 1, Fields: []Entry{{Key: "x", Value: mp(3)}}, Offset: 41}},
	{"object_update", &Object{Room: "lobby", Event: ObjectUpdate, Object: "ball", Version: 2, Fields: []Entry{{Key: "x", Value: mp(4)}}, Delete: []string{"y"}, Offset: 42}},
	{"object_move", &Object{Room: "lobby", Event: ObjectMove, Object: "ball", Area: "0:1", Version: 3, Offset: 43}},
	{"object_remove", &Object{Room: "lobby", Event: ObjectRemove, Object: "ball", Version: 3, Offset: 43}},
	{"meet", &Meet{ID: 10, Event: "joinGame", Actor: "gameMaker", Payload: "gameid=123", Mates: 2}},
	{"meet_room", &Meet{ID: 11, Room: "lobby", Event: "duel", Actor: "ada", Mates: 1, Labels: map[string]string{"actor": "ada", "level": "3"},
		Selector: "actor != ada, level in (2,3,4)", TimeoutMS: 30000}},
	{"cancel", &Cancel{ID: 11}},
	{"met", &Met{ID: 10, Payloads: map[string]string{"gameMaker": "gameid=123", "player1": "p1", "player2": "p2"}}},
	{"send", &Send{Room: "lobby", Topic: "u", Data: mp(map[string]any{"x": 1})}},
	{"send_direct", &Send{ID: 12, Room: "lobby", To: "joe", Topic: "hi", Data: mp("hello")}},
	{"sent", &Sent{Room: "lobby", From: "ada", Topic: "u", Data: mp(map[string]any{"x": 1})}},
	{"sent_direct", &Sent{Room: "lobby", From: "ada", Direct: true, Topic: "hi", Data: mp("hello")}},
	{"send_area", &Send{Room: "lobby", Area: "3:-1", Topic: "u", Data: mp(1)}},
	{"sent_area", &Sent{Room: "lobby", From: "ada", Area: "3:-1", Topic: "u", Data: mp(1)}},
	{"error_expired", &Error{ID: 11, Code: CodeExpired, Message: "no match within 30s", Room: "lobby"}},
	{"object_delete", &Object{Room: "lobby", Event: ObjectDelete, Object: "ball", Version: 4, Offset: 44}},
}

func spaced(b []byte) string { return fmt.Sprintf("% x", b) }

func TestGolden(t *testing.T) {
	t.Parallel()
	for _, tt := range golden {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Encode(tt.msg)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			path := filepath.Join("testdata", tt.name+".hex")
			if *update {
				if err := os.WriteFile(path, []byte(spaced(got)+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if want := readHex(t, tt.name); !bytes.Equal(got, want) {
				t.Fatalf("Encode =\n%s\nwant (testdata/%s.hex)\n%s", spaced(got), tt.name, spaced(want))
			}
			back, err := Decode(got)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(back, tt.msg) {
				t.Fatalf("Decode = %#v, want %#v", back, tt.msg)
			}
		})
	}
}

// readHex reads a testdata fixture into bytes.
func readHex(tb testing.TB, name string) []byte {
	tb.Helper()
	s, err := os.ReadFile(filepath.Join("testdata", name+".hex"))
	if err != nil {
		tb.Fatal(err)
	}
	b, err := hex.DecodeString(strings.Join(strings.Fields(string(s)), ""))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
