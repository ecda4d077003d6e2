//go:build !js

package server

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// startJetStream runs an in-process NATS server with JetStream and
// returns a connection to it.
func startJetStream(t *testing.T) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(runNATS(t, true))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// TestRoomLog: appends check the room's last sequence (a stale one is a
// conflict); followers get every stored change in order with the room's
// previous sequence; reading back after a position tells whether the
// history still reaches it; a stream made again is a new epoch.
func TestRoomLog(t *testing.T) {
	t.Parallel()
	nc := startJetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	l, err := openRoomLog(ctx, nc, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan [2]any, 16)
	sub, err := l.follow(func(room string, e logEntry) { got <- [2]any{room, e} })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := nc.Flush(); err != nil { // the subscription is in place before the appends
		t.Fatal(err)
	}

	must := func(room string, data string, expect uint64) uint64 {
		t.Helper()
		seq, err := l.append(ctx, room, []byte(data), expect)
		if err != nil {
			t.Fatalf("append %s %q after %d: %v", room, data, expect, err)
		}
		return seq
	}
	a1 := must("lobby.1", "a1", 0)
	if _, err := l.append(ctx, "lobby.1", []byte("stale"), 0); !errors.Is(err, errLogConflict) {
		t.Fatalf("append after a stale sequence: %v, want a conflict", err)
	}
	b1 := must("hall", "b1", 0)
	a2 := must("lobby.1", "a2", a1)
	for _, want := range []struct {
		room      string
		seq, prev uint64
	}{{"lobby.1", a1, 0}, {"hall", b1, 0}, {"lobby.1", a2, a1}} {
		select {
		case g := <-got:
			e := g[1].(logEntry)
			if g[0] != want.room || e.Seq != want.seq || e.Prev != want.prev {
				t.Fatalf("followed %v %+v, want %s seq %d after %d", g[0], e, want.room, want.seq, want.prev)
			}
		case <-ctx.Done():
			t.Fatal("no change followed")
		}
	}

	es, whole, err := l.since(ctx, "lobby.1", a1, 0)
	if err != nil || !whole || len(es) != 1 || string(es[0].Data) != "a2" {
		t.Fatalf("since a1 = %+v %v %v, want [a2], whole", es, whole, err)
	}
	a3 := must("lobby.1", "a3", a2)
	a4 := must("lobby.1", "a4", a3)
	if es, _, _ = l.since(ctx, "lobby.1", 0, a4); len(es) != 3 || es[2].Seq != a3 {
		t.Fatalf("since 0 before a4 = %+v, want a1, a2, a3", es)
	}
	if err := l.trim(ctx, "lobby.1", a2); err != nil { // a1 is gone
		t.Fatal(err)
	}
	if first, err := l.first(ctx, "lobby.1"); first != a2 || err != nil {
		t.Fatalf("first after the trim = %d, %v; want a2 (%d)", first, err, a2)
	}
	if es, whole, err = l.since(ctx, "lobby.1", 0, 0); err != nil || whole || len(es) != 3 {
		t.Fatalf("since 0 after a trim = %d entries, whole %v, %v; want 3, not whole", len(es), whole, err)
	}
	if _, whole, _ = l.since(ctx, "lobby.1", a1, 0); !whole {
		t.Fatal("since a1 after the trim: want whole (a2 follows a1)")
	}

	info, err := l.stream.Info(ctx)
	if err != nil || l.epoch != epochOf(info.Created) {
		t.Fatalf("epoch %x, stream created %v (%v)", l.epoch, info, err)
	}
	if epochOf(info.Created.Add(time.Nanosecond)) == l.epoch {
		t.Fatal("a stream made again (another creation time) has the same epoch")
	}
}

// TestRoomLog_full: JetStream never drops a room's change by itself: past
// logCap(History) an append is refused until the room is trimmed.
func TestRoomLog_full(t *testing.T) {
	t.Parallel()
	nc := startJetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	l, err := openRoomLog(ctx, nc, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	var last uint64
	for range logCap(1) {
		if last, err = l.append(ctx, "r", []byte("x"), last); err != nil {
			t.Fatalf("append %d: %v", len(seqs), err)
		}
		seqs = append(seqs, last)
	}
	if _, err := l.append(ctx, "r", []byte("x"), last); !errors.Is(err, errLogFull) {
		t.Fatalf("append past the cap: %v, want errLogFull", err)
	}
	if es, _, err := l.since(ctx, "r", 0, 0); err != nil || len(es) != len(seqs) || es[0].Seq != seqs[0] {
		t.Fatalf("the log holds %d changes (%v), want all %d from the first", len(es), err, len(seqs))
	}
	if err := l.trim(ctx, "r", seqs[len(seqs)-1]); err != nil {
		t.Fatal(err)
	}
	if _, err := l.append(ctx, "r", []byte("x"), last); err != nil {
		t.Fatalf("append after the trim: %v", err)
	}
}

func TestIsLogConflict(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&jetstream.APIError{ErrorCode: jetstream.JSErrCodeStreamWrongLastSequence}, true},
		{&jetstream.APIError{ErrorCode: jetstream.JSErrCodeStreamWrongLastSequenceConstant}, true},
		{&jetstream.APIError{ErrorCode: jetstream.JSErrCodeMessageNotFound}, false},
		{errors.New("timeout"), false},
	} {
		if got := isLogConflict(c.err); got != c.want {
			t.Errorf("isLogConflict(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
