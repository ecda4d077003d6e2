//go:build !js

package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/synkhq/synk/protocol"
)

// frameLink is a websocket accepted through a hijacker: the writer's raw
// connection, the library's server side and a library client.
type frameLink struct {
	raw    *frameConn
	server *websocket.Conn
	client *websocket.Conn
}

func newFrameLink(t testing.TB, timeout time.Duration) *frameLink {
	t.Helper()
	return newFrameLinkOn(t, timeout, "tcp")
}

// newFrameLinkOn is newFrameLink over network "tcp" (loopback) or "unix"
// (a socket in t's temporary directory).
func newFrameLinkOn(t testing.TB, timeout time.Duration, network string) *frameLink {
	t.Helper()
	type accepted struct {
		raw *frameConn
		ws  *websocket.Conn
	}
	got := make(chan accepted, 1)
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hj := &hijacker{ResponseWriter: w, timeout: timeout}
		ws, err := websocket.Accept(hj, r, nil)
		if err != nil {
			t.Errorf("accept: %v", err)
			close(got)
			return
		}
		hj.conn.handshakeDone()
		got <- accepted{hj.conn, ws}
	}))
	if network == "unix" {
		ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "ws"))
		if err != nil {
			t.Fatal(err)
		}
		hs.Listener.Close()
		hs.Listener = ln
	}
	hs.Start()
	t.Cleanup(hs.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url, opts := "ws"+strings.TrimPrefix(hs.URL, "http"), (*websocket.DialOptions)(nil)
	if network == "unix" {
		url, opts = "ws://unix/", &websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", hs.Listener.Addr().String())
			}}}}
	}
	client, _, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	client.SetReadLimit(-1)
	a, ok := <-got
	if !ok {
		t.FailNow()
	}
	t.Cleanup(func() {
		client.CloseNow()
		a.ws.CloseNow()
	})
	return &frameLink{raw: a.raw, server: a.ws, client: client}
}

// sizes cross every header length: 7-bit, 16-bit and 64-bit lengths, and
// the copied and the writev paths.
var frameSizes = []int{0, 1, 125, 126, 127, 4095, smallFrame, smallFrame + 1, 0xffff, 0x10000, 300 << 10}

func payload(n, seed int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + seed)
	}
	return b
}

// The library's reader reads every frame the writer writes, while the
// library writes pongs on the same connection.
func TestFrameConn_libraryReads(t *testing.T) {
	l := newFrameLink(t, 5*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() { // the server's reader answers the client's pings
		for {
			if _, _, err := l.server.Read(ctx); err != nil {
				return
			}
		}
	}()
	const rounds = 20
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < rounds*len(frameSizes); i++ {
			if err := l.raw.writeMessage(payload(frameSizes[i%len(frameSizes)], i)); err != nil {
				t.Errorf("write %d: %v", i, err)
				return
			}
		}
	}()
	pinged := make(chan error, 1)
	go func() {
		defer wg.Done()
		for range 50 {
			if err := l.client.Ping(ctx); err != nil {
				pinged <- err
				return
			}
		}
		pinged <- nil
	}()
	for i := 0; i < rounds*len(frameSizes); i++ {
		typ, b, err := l.client.Read(ctx)
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if want := payload(frameSizes[i%len(frameSizes)], i); typ != websocket.MessageBinary || !bytes.Equal(b, want) {
			t.Fatalf("message %d: %v of %d bytes, want binary of %d", i, typ, len(b), len(want))
		}
	}
	l.client.CloseRead(ctx) // reads on, for the pongs still due
	if err := <-pinged; err != nil {
		t.Fatalf("ping: %v", err)
	}
	wg.Wait()
}

// Once the library wrote a close frame, the writer writes nothing more.
func TestFrameConn_nothingAfterClose(t *testing.T) {
	l := newFrameLink(t, 5*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- l.server.Close(websocket.StatusNormalClosure, "bye") }()
	_, _, err := l.client.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("client read: %v, want the close frame", err)
	}
	if err := <-closed; err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := l.raw.writeMessage([]byte("late")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after close: %v, want net.ErrClosed", err)
	}
}

// The close frame is recognised as the library writes it, while the
// connection is still open.
func TestFrameConn_closeFrameSeen(t *testing.T) {
	l := newFrameLink(t, 5*time.Second)
	if err := l.raw.writeMessage([]byte("before")); err != nil {
		t.Fatal(err)
	}
	if _, err := l.raw.Write([]byte{0x80 | opClose, 2, 0x03, 0xe8}); err != nil { // as the library writes one: 1000
		t.Fatal(err)
	}
	if err := l.raw.writeMessage([]byte("after")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after a close frame: %v, want net.ErrClosed", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, b, err := l.client.Read(ctx); err != nil || string(b) != "before" {
		t.Fatalf("first read: %q, %v", b, err)
	}
	if _, _, err := l.client.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("second read: %v, want the close frame", err)
	}
}

// A client that does not read has a write cut by the deadline.
func TestFrameConn_deadline(t *testing.T) {
	l := newFrameLink(t, 100*time.Millisecond)
	big := make([]byte, 1<<20)
	var err error
	for i := 0; i < 1024 && err == nil; i++ { // the socket buffers fill long before 1 GiB
		err = l.raw.writeMessage(big)
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("writes to a client that does not read: %v, want a deadline error", err)
	}
}

func TestAppendHeader(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want []byte
	}{
		{0, []byte{0x82, 0}},
		{125, []byte{0x82, 125}},
		{126, []byte{0x82, 126, 0, 126}},
		{0xffff, []byte{0x82, 126, 0xff, 0xff}},
		{0x10000, []byte{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
	} {
		if got := appendHeader(nil, tc.n); !bytes.Equal(got, tc.want) {
			t.Errorf("header for %d bytes: % x, want % x", tc.n, got, tc.want)
		}
	}
}

// FuzzFrameConn writes each input as a message and has the library read
// it back.
func FuzzFrameConn(f *testing.F) {
	for i, n := range frameSizes {
		f.Add(payload(n, i))
	}
	l := newFrameLink(f, 5*time.Second)
	f.Fuzz(func(t *testing.T, p []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		wrote := make(chan error, 1)
		go func() { wrote <- l.raw.writeMessage(p) }() // a large one waits for the read
		typ, b, err := l.client.Read(ctx)
		if werr := <-wrote; werr != nil {
			t.Fatal(werr)
		}
		if err != nil || typ != websocket.MessageBinary || !bytes.Equal(b, p) {
			t.Fatalf("read back %v, %d bytes, %v; wrote %d bytes", typ, len(b), err, len(p))
		}
	})
}

// Connections the server accepts are written through their frameConn.
func TestServer_writesFrames(t *testing.T) {
	s, hs := testServer(t, nil)
	p := dialPeer(t, hs, "ada")
	p.send(&protocol.Join{ID: 1, Room: "r"})
	expect[*protocol.Joined](p)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.conns) != 1 {
		t.Fatalf("%d connections", len(s.conns))
	}
	for c := range s.conns {
		if c.raw == nil {
			t.Fatal("the connection has no frameConn: its writes go through the library")
		}
	}
}

// tryMessage writes while the socket takes frames, leaves the rest of one
// it takes in part pending, and refuses once it is full; the pending bytes
// and the frames written after them arrive whole and in order.
//
// It runs over a unix socket with a small send buffer: a frame there
// spans several buffers, as a frame of more than one segment does on a
// network, so the socket can take part of one. (Over loopback TCP a
// frame of up to smallFrame bytes is one buffer: taken whole or not.)
func TestFrameConn_tryMessage(t *testing.T) {
	l := newFrameLinkOn(t, 5*time.Second, "unix")
	if err := l.raw.Conn.(*net.UnixConn).SetWriteBuffer(4 << 10); err != nil {
		t.Fatal(err)
	}
	const size = smallFrame // 4,100 bytes a frame: two of the socket's buffers
	var sent [][]byte
	partial, full := false, false
	for i := 0; i < 100_000 && !full; i++ { // the client does not read: the buffers fill long before
		p := payload(size, i)
		wrote, left := l.raw.tryMessage(p)
		switch {
		case !wrote:
			full = true
		case left > 0:
			partial = true
			sent = append(sent, p)
		default:
			sent = append(sent, p)
		}
	}
	if !full || !partial {
		t.Fatalf("after %d frames: full %v, a frame written in part %v; want both", len(sent), full, partial)
	}
	if wrote, _ := l.raw.tryMessage(payload(1, 0)); wrote {
		t.Fatal("tryMessage wrote with a frame pending")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	last := payload(size, -1)
	done := make(chan error, 1)
	go func() { // these wait for the client to read
		if err := l.raw.flush(); err != nil {
			done <- err
			return
		}
		done <- l.raw.writeMessage(last)
	}()
	for i, want := range append(sent, last) {
		_, b, err := l.client.Read(ctx)
		if err != nil || !bytes.Equal(b, want) {
			t.Fatalf("message %d: %d bytes, %v; want %d bytes as written", i, len(b), err, len(want))
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if wrote, left := l.raw.tryMessage(last); !wrote || left != 0 {
		t.Fatalf("into an emptied socket: wrote %v, %d bytes left", wrote, left)
	}
}

// Clients that stop reading, more of them than the write pool has
// workers, block no one: while their sockets are full and their queues
// grow (no WriteTimeout or send buffer cuts them in this test), a reading
// client in the same room gets every change (issue 19: the pool's
// workers never wait for a socket).
func TestServer_stalledReadersBlockNoOne(t *testing.T) {
	s, hs := testServer(t, &Options{SendBuffer: 8 << 20, WriteTimeout: time.Minute, Rate: -1})
	pub := dialPeer(t, hs, "pub")
	pub.join("room", false)
	stalled := 2*runtime.GOMAXPROCS(0) + 2
	for i := range stalled {
		p := dialPeer(t, hs, fmt.Sprintf("stalled%d", i))
		p.join("room", true) // an observer, and it never reads again
	}
	fast := dialPeer(t, hs, "fast")
	fast.join("room", true)
	s.mu.Lock()
	for c := range s.conns {
		if strings.HasPrefix(c.client, "stalled") {
			// Small socket buffers fill after a few frames.
			if err := c.raw.Conn.(*net.TCPConn).SetWriteBuffer(8 << 10); err != nil {
				t.Error(err)
			}
		}
	}
	s.mu.Unlock()
	value := entry("v", strings.Repeat("x", 3000)) // under smallFrame: the pool writes it
	for i := range 300 {                           // 900 KB each: far past the small buffers
		pub.send(&protocol.Set{ID: uint32(i + 1), Room: "room", Entries: []protocol.Entry{value}})
		expect[*protocol.OK](pub)
		if m := expect[*protocol.Presence](fast); m.Client != "pub" || m.Event != protocol.EventChange {
			t.Fatalf("change %d: fast got %+v", i, m)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.qmu.Lock()
		queued, closed := c.queued, c.qclosed
		c.qmu.Unlock()
		if strings.HasPrefix(c.client, "stalled") && (queued == 0 || closed) {
			t.Errorf("%s: %d bytes queued, stopped %v; want it stalled, not cut", c.client, queued, closed)
		}
	}
}
