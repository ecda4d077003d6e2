package client

import (
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
