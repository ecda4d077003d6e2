//go:build !js

package server

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/synkhq/synk/protocol"
)

// TestServer_silentClientTimesOut: a client that stops answering (a frozen
// tab, a dead network path) is dropped within the timeout, and the others
// are told why.
func TestServer_silentClientTimesOut(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, &Options{Timeout: 300 * time.Millisecond, PingInterval: 50 * time.Millisecond})
	ada := dialPeer(t, hs, "ada")
	ada.join("lobby", false)
	ghost := dialPeer(t, hs, "ghost")
	ghost.join("lobby", false)
	expect[*protocol.Presence](ada) // ghost joins, then never reads or writes again

	p := expect[*protocol.Presence](ada)
	if p.Event != protocol.EventLeave || p.Client != "ghost" || p.Reason != protocol.CodeTimeout {
		t.Fatalf("ada got %+v, want ghost's leave for Timeout", p)
	}
}

// TestServer_slowReaderIsCut: a client that reads too slowly is disconnected
// while the others keep receiving every change.
func TestServer_slowReaderIsCut(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, &Options{SendBuffer: 64 << 10, WriteTimeout: time.Second, Rate: -1}) // the publisher floods
	pub := dialPeer(t, hs, "pub")
	pub.join("room", false)
	fast := dialPeer(t, hs, "fast")
	fast.join("room", false)
	slow := dialPeer(t, hs, "slow")
	slow.join("room", false) // and never reads again
	expect[*protocol.Presence](fast)
	expect[*protocol.Presence](pub)
	expect[*protocol.Presence](pub)

	type result struct {
		changes  int
		sawLeave bool
		err      error
	}
	got := make(chan result, 1)
	step := make(chan struct{}, 1) // fast received a change
	go func() {
		var r result
		defer func() { got <- r }()
		for {
			m, err := fast.recv()
			if err != nil {
				r.err = err
				return
			}
			switch p := m.(*protocol.Presence); {
			case p.Event == protocol.EventLeave && p.Client == "slow" && p.Reason == protocol.CodeSlowConsumer:
				r.sawLeave = true
			case p.Event == protocol.EventChange && p.Entries[0].Key == "final":
				return
			case p.Event == protocol.EventChange:
				r.changes++
				step <- struct{}{}
			}
		}
	}()
	big := entry("blob", strings.Repeat("x", 15000))
	sent, cut := 0, false
	for ; sent < 20000 && !cut; sent++ {
		pub.send(&protocol.Set{ID: uint32(sent + 1), Room: "room", Entries: []protocol.Entry{big}})
		for waiting := true; waiting; {
			switch m := expect[protocol.Message](pub).(type) {
			case *protocol.OK:
				waiting = false
			case *protocol.Presence:
				cut = m.Event == protocol.EventLeave && m.Client == "slow"
			}
		}
		// Pace by the fast reader, so that only the slow one falls behind.
		select {
		case <-step:
		case r := <-got:
			t.Fatalf("fast reader stopped: %d changes, err %v", r.changes, r.err)
		}
	}
	if !cut {
		t.Fatalf("slow reader not cut after %d frames", sent)
	}
	pub.send(&protocol.Set{Room: "room", Entries: []protocol.Entry{entry("final", true)}})
	r := <-got
	if r.err != nil || !r.sawLeave || r.changes != sent {
		t.Fatalf("fast: %d changes of %d, saw slow's leave: %v, err: %v", r.changes, sent, r.sawLeave, r.err)
	}
}

func TestServer_limits(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, &Options{MaxKeys: 2, MaxValue: 300, MaxRooms: 2, MaxFrame: 1024})
	p := dialPeer(t, hs, "ada")
	p.join("a", false, entry("k1", 1))
	tests := []struct {
		name string
		msg  protocol.Message
		code protocol.Code
	}{
		{"too_many_keys", &protocol.Set{ID: 1, Room: "a", Entries: []protocol.Entry{entry("k2", 2), entry("k3", 3)}}, protocol.CodeTooManyKeys},
		{"value_too_large", &protocol.Set{ID: 2, Room: "a", Entries: []protocol.Entry{entry("k2", strings.Repeat("v", 301))}}, protocol.CodeValueTooLarge},
		{"not_joined", &protocol.Set{ID: 3, Room: "b", Entries: []protocol.Entry{entry("k", 1)}}, protocol.CodeNotJoined},
		{"leave_not_joined", &protocol.Leave{ID: 4, Room: "b"}, protocol.CodeNotJoined},
		{"already_joined", &protocol.Join{ID: 5, Room: "a"}, protocol.CodeAlreadyJoined},
		{"bad_room", &protocol.Join{ID: 6, Room: "no/slash"}, protocol.CodeBadName},
		{"bad_key", &protocol.Set{ID: 7, Room: "a", Delete: []string{""}}, protocol.CodeBadName},
	}
	for _, tt := range tests {
		p.send(tt.msg)
		if e := p.expectError(tt.code); e.ID == 0 {
			t.Errorf("%s: error has no request id", tt.name)
		}
	}
	// Deleting and storing in one Set stays within the key limit.
	p.send(&protocol.Set{ID: 8, Room: "a", Entries: []protocol.Entry{entry("k2", 2), entry("k3", 3)}, Delete: []string{"k1"}})
	expect[*protocol.OK](p)

	p.join("b", true)
	p.send(&protocol.Join{ID: 9, Room: "c"})
	p.expectError(protocol.CodeTooManyRooms)

	// A frame over MaxFrame ends the connection.
	p.send(&protocol.Set{Room: "a", Entries: []protocol.Entry{entry("k2", strings.Repeat("v", 2000))}})
	_, err := p.recv()
	if got := websocket.CloseStatus(err); got != websocket.StatusMessageTooBig {
		t.Fatalf("close status = %v (%v), want StatusMessageTooBig", got, err)
	}
}

func TestServer_badHandshake(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, nil)
	tests := []struct {
		name  string
		first []byte
		code  protocol.Code
	}{
		{"join_first", mustEncode(t, &protocol.Join{ID: 1, Room: "a"}), protocol.CodeHelloFirst},
		{"bad_version", mustEncode(t, &protocol.Hello{Version: 99}), protocol.CodeBadVersion},
		{"garbage", []byte{0xc1}, protocol.CodeBadFrame},
		{"length_bomb", []byte{0x81, 0xa1, 0x6f, 0xdd, 0xff, 0xff, 0xff, 0xff}, protocol.CodeBadFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &peer{t: t, ws: dialRaw(t, hs)}
			p.sendRaw(tt.first)
			p.expectError(tt.code)
			_, err := p.recv()
			if got := websocket.CloseStatus(err); int(got) != tt.code.CloseStatus() {
				t.Fatalf("close status = %d, want %d", got, tt.code.CloseStatus())
			}
		})
	}
}

func TestServer_badFrameAfterHello(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, nil)
	p := dialPeer(t, hs, "ada")
	p.sendRaw([]byte{0xdf, 0xff, 0xff, 0xff, 0xff})
	p.expectError(protocol.CodeBadFrame)
	// An unknown frame type is skipped, not an error: ping still answers.
	q := dialPeer(t, hs, "joe")
	q.sendRaw([]byte{0x81, 0xa1, 't', 0x7e})
	q.send(&protocol.Ping{Nonce: 5})
	if pong := expect[*protocol.Pong](q); pong.Nonce != 5 {
		t.Fatalf("Pong.Nonce = %d, want 5", pong.Nonce)
	}
}

// TestServer_emptyRoomsFreed counts rooms as clients come and go.
func TestServer_emptyRoomsFreed(t *testing.T) {
	t.Parallel()
	s, hs := testServer(t, nil)
	a := dialPeer(t, hs, "a")
	a.join("one", false)
	a.join("two", true)
	b := dialPeer(t, hs, "b")
	b.join("two", false)
	expect[*protocol.Presence](a)
	if n := len(s.Rooms()); n != 2 {
		t.Fatalf("rooms = %d, want 2", n)
	}
	a.send(&protocol.Leave{ID: 10, Room: "one"})
	expect[*protocol.OK](a)
	if got := s.Rooms(); len(got) != 1 || got[0] != (RoomInfo{Name: "two", Members: 1, Observers: 1}) {
		t.Fatalf("rooms = %+v, want two with 1 member and 1 observer", got)
	}
	b.ws.Close(websocket.StatusNormalClosure, "")
	if p := expect[*protocol.Presence](a); p.Event != protocol.EventLeave || p.Client != "b" {
		t.Fatalf("a got %+v, want b's leave", p)
	}
	a.send(&protocol.Leave{ID: 11, Room: "two"})
	expect[*protocol.OK](a)
	if got := s.Rooms(); len(got) != 0 {
		t.Fatalf("rooms = %+v, want none", got)
	}
}

// TestServer_shutdown: queued frames are flushed, then each client is told
// the server is going away.
func TestServer_shutdown(t *testing.T) {
	t.Parallel()
	s, hs := testServer(t, nil)
	a := dialPeer(t, hs, "a")
	a.join("r", false)
	b := dialPeer(t, hs, "b")
	b.join("r", false)
	expect[*protocol.Presence](a)
	b.send(&protocol.Set{ID: 1, Room: "r", Entries: []protocol.Entry{entry("x", 1)}})
	expect[*protocol.OK](b) // a's change is queued or sent by now

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(ctx) }()
	if p := expect[*protocol.Presence](a); p.Event != protocol.EventChange {
		t.Fatalf("a got %+v, want the change queued before shutdown", p)
	}
	a.expectError(protocol.CodeShutdown)
	_, err := a.recv()
	if got := websocket.CloseStatus(err); int(got) != protocol.CodeShutdown.CloseStatus() {
		t.Fatalf("close status = %d, want %d", got, protocol.CodeShutdown.CloseStatus())
	}
	b.expectError(protocol.CodeShutdown)
	if _, err := b.recv(); websocket.CloseStatus(err) == -1 {
		t.Fatalf("b: %v, want a close", err)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if n := len(s.Rooms()); n != 0 {
		t.Fatalf("rooms after shutdown = %d, want 0", n)
	}
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown = %v, want nil", err)
	}
	if code, _ := do(t, hs, "POST", "/synk/r", `{"c":"late"}`); code != 503 {
		t.Fatalf("POST after Shutdown = %d, want 503", code)
	}
	if _, _, err := websocket.Dial(ctx, wsURL(hs), nil); err == nil {
		t.Fatal("websocket dial after Shutdown succeeded")
	}
}

// TestServer_origins: a page of an origin not allowed is refused, and
// told why where a browser lets it know: its Hello is answered with a
// Forbidden Error naming the flag that would allow it, and the close
// status carries the code. The server logs the origin and that flag at
// the default level, once a minute per origin (issue 17.4).
func TestServer_origins(t *testing.T) {
	t.Parallel()
	var log syncBuffer
	_, hs := testServer(t, &Options{OriginPatterns: []string{"app.example"},
		Logger: slog.New(slog.NewTextHandler(&log, nil))})
	for _, tt := range []struct {
		origin string
		ok     bool
	}{
		{"http://app.example", true},
		{"http://localhost:3000", true},
		{"http://evil.example:81", false},
		{"http://evil.example:81", false},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ws, _, err := websocket.Dial(ctx, wsURL(hs), &websocket.DialOptions{HTTPHeader: map[string][]string{"Origin": {tt.origin}}})
		if err != nil {
			t.Fatalf("origin %s: dial: %v", tt.origin, err)
		}
		ws.Write(ctx, websocket.MessageBinary, mustEncode(t, &protocol.Hello{Version: protocol.Version, Client: "a"}))
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("origin %s: no answer to Hello: %v", tt.origin, err)
		}
		m, _ := protocol.Decode(b)
		if _, welcome := m.(*protocol.Welcome); welcome != tt.ok {
			t.Errorf("origin %s: Hello answered %#v, want ok=%v", tt.origin, m, tt.ok)
		}
		if !tt.ok {
			e, _ := m.(*protocol.Error)
			if e == nil || e.Code != protocol.CodeForbidden || !strings.Contains(e.Message, "add evil.example:81 to -origins") {
				t.Errorf("origin %s: refused with %#v, want Forbidden naming -origins and evil.example:81", tt.origin, m)
			}
			_, _, err := ws.Read(ctx)
			if websocket.CloseStatus(err) != websocket.StatusCode(protocol.CodeForbidden.CloseStatus()) {
				t.Errorf("origin %s: closed with %v, want status %d", tt.origin, err, protocol.CodeForbidden.CloseStatus())
			}
		}
		cancel()
		ws.CloseNow()
	}
	logged := log.String()
	if n := strings.Count(logged, "websocket refused"); n != 1 ||
		!strings.Contains(logged, "level=WARN") || !strings.Contains(logged, `origin=http://evil.example:81`) ||
		!strings.Contains(logged, `"allow with"="-origins evil.example:81"`) {
		t.Errorf("log (want one line naming the origin and the flag):\n%s", logged)
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func mustEncode(t *testing.T, m protocol.Message) []byte {
	t.Helper()
	b, err := protocol.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestConn_batches: a client may send several frames in one message, and
// a client that reads batches gets the frames queued together packed into
// one message, at most maxBatch bytes.
func TestConn_batches(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, nil)
	p := dialPeer(t, hs, "ada")
	join, _ := protocol.Encode(&protocol.Join{ID: 1, Room: "r"})
	set, _ := protocol.Encode(&protocol.Set{ID: 2, Room: "r", Entries: []protocol.Entry{entry("x", 1)}})
	p.sendRaw(append(join, set...))
	expect[*protocol.Joined](p)
	if ok := expect[*protocol.OK](p); ok.ID != 2 {
		t.Fatalf("OK for %d, want the Set's", ok.ID)
	}

	c := &conn{batch: true}
	small := make([]byte, 100)
	big := make([]byte, maxBatch)
	if msg, n := c.pack([][]byte{small, small, small}, maxBatch); n != 3 || len(msg) != 300 {
		t.Fatalf("pack of 3 small frames = %d bytes, %d frames", len(msg), n)
	}
	if msg, n := c.pack([][]byte{big, small}, maxBatch); n != 1 || len(msg) != maxBatch {
		t.Fatalf("pack of a large frame = %d bytes, %d frames; want it alone", len(msg), n)
	}
	if _, n := c.pack([][]byte{small, big}, maxBatch); n != 1 {
		t.Fatalf("pack took %d frames past maxBatch", n)
	}
	many := slices.Repeat([][]byte{small}, 50)
	if msg, n := c.pack(many, smallFrame); n != smallFrame/100 || len(msg) != n*100 {
		t.Fatalf("pack up to smallFrame took %d frames, %d bytes; want %d frames", n, len(msg), smallFrame/100)
	}
}

// TestConn_coalesce: with Options.Coalesce, a batching client's frames
// that come within Coalesce of the last write wait and go out together;
// without it, nothing waits, so a frame sent alone arrives alone.
func TestConn_coalesce(t *testing.T) {
	t.Parallel()
	const coalesce = 2 * time.Second // far longer than the pause below, even on a loaded machine
	for _, tc := range []struct {
		coalesce time.Duration
		want     []int // frames per message after the first
	}{{coalesce, []int{2}}, {0, []int{1, 1}}} {
		s, hs := testServer(t, &Options{Coalesce: tc.coalesce})
		p := &peer{t: t, ws: dialRaw(t, hs)}
		p.send(&protocol.Hello{Version: protocol.Version, Client: "ada", Batch: true})
		expect[*protocol.Welcome](p)
		// The server answers a Ping once the connection is registered
		// (the Welcome comes before): then c can be found.
		p.send(&protocol.Ping{Nonce: 1})
		for n := 0; n == 0; {
			if n = readFrames(t, p); n > 1 {
				t.Fatalf("Coalesce %v: first message has %d frames", tc.coalesce, n)
			}
		}
		s.mu.Lock()
		var c *conn
		for c = range s.conns {
		}
		s.mu.Unlock()
		c.sendMsg(&protocol.Pong{Nonce: 2})
		<-time.After(50 * time.Millisecond) // the next frame comes later than the write of one not held
		c.sendMsg(&protocol.Pong{Nonce: 3})
		var got []int
		for sum := 0; sum < 2; {
			if n := readFrames(t, p); n > 0 {
				got = append(got, n)
				sum += n
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Fatalf("Coalesce %v: frames per message %v, want %v", tc.coalesce, got, tc.want)
		}
	}
}

// readFrames reads one message and counts its Pongs; it may also carry
// Pings, and nothing else.
func readFrames(t *testing.T, p *peer) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := p.ws.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for len(b) > 0 {
		frame, rest, err := protocol.Next(b)
		if err != nil {
			t.Fatal(err)
		}
		m, err := protocol.Decode(frame)
		if err != nil {
			t.Fatal(err)
		}
		switch m.(type) {
		case *protocol.Pong:
			n++
		case *protocol.Ping: // the janitor's, whenever its slot comes
		default:
			t.Fatalf("got %T", m)
		}
		b = rest
	}
	return n
}

// TestServeSocket: a websocket accepted by another handler is served
// like one of /ws.
func TestServeSocket(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t, nil)
	own := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		if err := s.ServeSocket(ws, r.RemoteAddr); err != nil {
			t.Errorf("ServeSocket: %v", err)
		}
	}))
	defer own.Close()
	p := dialPeer(t, own, "ada")
	if j := p.join("lobby", false); j.Members[0].Client != "ada" {
		t.Fatalf("Joined %+v", j)
	}
}

// TestServer_oneRoom: a server holding one room (an edge room's Durable
// Object) refuses every other room, over websocket and HTTP.
func TestServer_oneRoom(t *testing.T) {
	t.Parallel()
	s, err := newServer(&Options{Logger: slog.New(slog.DiscardHandler)}, nil, "lobby")
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	defer hs.Close()
	defer s.Shutdown(context.Background())
	p := dialPeer(t, hs, "ada")
	p.join("lobby", false)
	p.send(&protocol.Join{ID: 9, Room: "attic"})
	if e := p.expectError(protocol.CodeForbidden); !strings.Contains(e.Message, "lobby") {
		t.Fatalf("error %+v, want it to name the room served", e)
	}
	p.send(&protocol.Meet{ID: 10, Room: "attic", Event: "e", Actor: "ada", Mates: 1})
	p.expectError(protocol.CodeForbidden)
	if code, _ := do(t, hs, "POST", "/synk/attic", `{"c":"joe"}`); code != 403 {
		t.Fatalf("POST /synk/attic = %d, want 403", code)
	}
	if code, _ := do(t, hs, "GET", "/synk/lobby", ""); code != 200 {
		t.Fatalf("GET /synk/lobby = %d, want 200", code)
	}
}

func TestCheckOrigin(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t, &Options{OriginPatterns: []string{"*.example.com"}})
	for _, c := range []struct {
		origin, host string
		ok           bool
	}{
		{"", "synk.dev", true},
		{"https://synk.dev", "synk.dev", true},
		{"https://app.example.com", "synk.dev", true},
		{"http://localhost:3000", "synk.dev", true},
		{"https://evil.test", "synk.dev", false},
		{"::", "synk.dev", false},
	} {
		if err := s.CheckOrigin(c.origin, c.host); (err == nil) != c.ok {
			t.Errorf("CheckOrigin(%q, %q) = %v, want ok %v", c.origin, c.host, err, c.ok)
		}
	}
}

// TestServer_janitorParks: with no client the janitor stops its timer;
// a client that comes wakes it, and is pinged.
func TestServer_janitorParks(t *testing.T) {
	t.Parallel()
	parked := make(chan struct{}, 4)
	_, hs := testServer(t, &Options{parked: parked, Timeout: 600 * time.Millisecond, PingInterval: 100 * time.Millisecond})
	<-parked // at start
	p := dialPeer(t, hs, "ada")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for { // the woken janitor pings ada
		_, b, err := p.ws.Read(ctx)
		if err != nil {
			t.Fatalf("no ping: %v", err)
		}
		if m, _ := protocol.Decode(b); m != nil && m.Type() == protocol.TypePing {
			break
		}
	}
	p.ws.Close(websocket.StatusNormalClosure, "")
	select { // ada gone: it parks again
	case <-parked:
	case <-ctx.Done():
		t.Fatal("the janitor did not park after the last client left")
	}
}
