package client

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	lo, hi := 100*time.Millisecond, 2*time.Second
	for n := range 40 {
		d := backoff(n, lo, hi)
		if d < lo/2 || d > hi {
			t.Fatalf("backoff(%d) = %v, want within [%v, %v]", n, d, lo/2, hi)
		}
	}
}

func Test_diff(t *testing.T) {
	t.Parallel()
	a := map[string]msgpack.RawMessage{"x": {1}, "y": {2}, "z": {3}}
	b := map[string]msgpack.RawMessage{"x": {1}, "y": {9}, "w": {4}}
	set, del := diff(a, b)
	if want := (map[string]msgpack.RawMessage{"y": {9}, "w": {4}}); !reflect.DeepEqual(set, want) {
		t.Errorf("set = %v, want %v", set, want)
	}
	if want := []string{"z"}; !reflect.DeepEqual(del, want) {
		t.Errorf("del = %v, want %v", del, want)
	}
}

func Test_terminal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want bool
	}{
		{protocol.Errorf(protocol.CodeShutdown, ""), false},
		{protocol.Errorf(protocol.CodeBadVersion, ""), true},
		{protocol.Errorf(protocol.CodeReplaced, ""), true},
		{errors.New("network"), false},
	}
	for _, tt := range tests {
		if got := terminal(tt.err); got != tt.want {
			t.Errorf("terminal(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestEventQueue_neverBlocksThePusher(t *testing.T) {
	t.Parallel()
	q := newEventQueue()
	done := make(chan struct{})
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		q.run(done)
	}()
	for i := range 1000 { // nobody reads yet
		q.push(Event{Kind: EventChange, Client: string(rune('a' + i%26))})
	}
	for i := range 1000 {
		if e := <-q.out; e.Client != string(rune('a'+i%26)) {
			t.Fatalf("event %d = %+v, out of order", i, e)
		}
	}
	close(done)
	<-ran
	if _, ok := <-q.out; ok {
		t.Fatal("out not closed after done")
	}
}

func TestSplitBatch(t *testing.T) {
	batch := func(msgs ...[]byte) []byte {
		var b []byte
		for _, m := range msgs {
			if m == nil {
				b = binary.BigEndian.AppendUint32(b, textMessage)
				continue
			}
			b = binary.BigEndian.AppendUint32(b, uint32(len(m)))
			b = append(b, m...)
		}
		return b
	}
	got, err := splitBatch(batch([]byte{1, 2}, []byte{}, []byte{3}), 8)
	if err != nil || len(got) != 3 || !bytes.Equal(got[0], []byte{1, 2}) || len(got[1]) != 0 || !bytes.Equal(got[2], []byte{3}) {
		t.Fatalf("splitBatch = %v, %v", got, err)
	}
	if got, err := splitBatch(nil, 8); err != nil || len(got) != 0 {
		t.Fatalf("empty batch = %v, %v", got, err)
	}
	for _, tc := range []struct {
		b    []byte
		want error
	}{
		{batch([]byte{1}, nil), errTextMessage},
		{batch(make([]byte, 9)), errTooBig},
		{batch([]byte{1, 2})[:5], errBadBatch},
		{[]byte{0, 0, 0}, errBadBatch},
		{binary.BigEndian.AppendUint32(nil, 0xfffffffe), errTooBig},
	} {
		if _, err := splitBatch(tc.b, 8); err != tc.want {
			t.Errorf("splitBatch(%x) = %v, want %v", tc.b, err, tc.want)
		}
	}
}

// FuzzSplitBatch: any bytes give messages that rebuild the batch exactly,
// or an error; never a panic.
func FuzzSplitBatch(f *testing.F) {
	f.Add([]byte{0, 0, 0, 2, 1, 2, 0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0, 1, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, err := splitBatch(b, 1<<10)
		if err != nil {
			return
		}
		var again []byte
		for _, m := range msgs {
			if len(m) > 1<<10 {
				t.Fatalf("message of %d bytes passed the limit", len(m))
			}
			again = binary.BigEndian.AppendUint32(again, uint32(len(m)))
			again = append(again, m...)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("messages %x do not rebuild %x", msgs, b)
		}
	})
}
