package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
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

// scripted serves one websocket connection with fn, for the cases a real
// server never produces.
func scripted(t *testing.T, fn func(ctx context.Context, ws *websocket.Conn)) string {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer ws.CloseNow()
		fn(r.Context(), ws)
	}))
	t.Cleanup(hs.Close)
	return "ws" + strings.TrimPrefix(hs.URL, "http")
}

func TestDial_refused(t *testing.T) {
	t.Parallel()
	url := scripted(t, func(ctx context.Context, ws *websocket.Conn) {
		if _, _, err := ws.Read(ctx); err != nil {
			return
		}
		b, _ := protocol.Encode(protocol.Errorf(protocol.CodeBadVersion, "too old"))
		_ = ws.Write(ctx, websocket.MessageBinary, b)
		_ = ws.Close(websocket.StatusCode(protocol.CodeBadVersion.CloseStatus()), "too old")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := Dial(ctx, url, nil)
	if protocol.ErrorCode(err) != protocol.CodeBadVersion {
		t.Fatalf("Dial = %v, want BadVersion", err)
	}
	if _, err := Dial(ctx, url, &DialOptions{Client: "no spaces"}); protocol.ErrorCode(err) != protocol.CodeBadName {
		t.Fatalf("Dial with a bad id = %v, want BadName", err)
	}
}

// TestConn_garbageEndsSession: a malformed frame from the server ends the
// session, and the event says why.
func TestConn_garbageEndsSession(t *testing.T) {
	t.Parallel()
	url := scripted(t, func(ctx context.Context, ws *websocket.Conn) {
		if _, _, err := ws.Read(ctx); err != nil {
			return
		}
		b, _ := protocol.Encode(&protocol.Welcome{Version: 1, Client: "a", PingMS: 1000, TimeoutMS: 3000})
		_ = ws.Write(ctx, websocket.MessageBinary, b)
		_ = ws.Write(ctx, websocket.MessageBinary, []byte{0xdd, 0xff, 0xff, 0xff, 0xff})
		_, _, _ = ws.Read(ctx) // until the client hangs up
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, url, &DialOptions{MinBackoff: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	e := <-c.Events()
	if e.Kind != EventDisconnected || !errors.Is(e.Err, protocol.ErrMalformed) {
		t.Fatalf("event = %+v, want Disconnected with ErrMalformed", e)
	}
}
