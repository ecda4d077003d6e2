//go:build !js

package server

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/synkhq/synk/protocol"
)

// TestReliability_malformedFrames: each bad frame sent after the Hello gets
// its exact error code, never a hang. After a 2xx the connection still
// serves (a Ping is answered); after a 1xx it is closed with 4000+code.
func TestReliability_malformedFrames(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, &Options{MaxFrame: 1024})
	enc := func(m protocol.Message) []byte { return mustEncode(t, m) }
	tests := []struct {
		name string
		typ  websocket.MessageType
		in   []byte
		code protocol.Code
	}{
		{"text_message", websocket.MessageText, []byte("hello"), protocol.CodeBadFrame},
		{"not_a_map", websocket.MessageBinary, []byte{0x93, 1, 2, 3}, protocol.CodeBadFrame},
		{"truncated", websocket.MessageBinary, enc(&protocol.Join{ID: 1, Room: "lobby"})[:9], protocol.CodeBadFrame},
		{"length_bomb", websocket.MessageBinary, []byte{0xdf, 0xff, 0xff, 0xff, 0xff}, protocol.CodeBadFrame},
		{"deep_nesting", websocket.MessageBinary, append([]byte{0x82, 0xa1, 't', 6, 0xa1, 'd'}, bytes.Repeat([]byte{0x91}, 200)...), protocol.CodeBadFrame},
		{"wrong_value_type", websocket.MessageBinary, []byte{0x83, 0xa1, 0x74, 0x03, 0xa1, 0x69, 0x01, 0xa1, 0x72, 0x05}, protocol.CodeBadFrame},
		{"server_frame", websocket.MessageBinary, enc(&protocol.Welcome{Version: 1, Client: "x"}), protocol.CodeBadFrame},
		{"second_hello", websocket.MessageBinary, enc(&protocol.Hello{Version: 1}), protocol.CodeBadFrame},
		{"too_large", websocket.MessageBinary, enc(&protocol.Join{ID: 1, Room: "a", Entries: []protocol.Entry{entry("k", strings.Repeat("x", 2000))}}), protocol.CodeFrameTooLarge},
		{"join_no_id", websocket.MessageBinary, enc(&protocol.Join{Room: "lobby"}), protocol.CodeBadRequest},
		{"join_bad_room", websocket.MessageBinary, enc(&protocol.Join{ID: 1, Room: "a/b"}), protocol.CodeBadName},
		{"set_no_room", websocket.MessageBinary, enc(&protocol.Set{Delete: []string{"k"}}), protocol.CodeBadName},
		{"set_room_and_handle", websocket.MessageBinary, enc(&protocol.Set{Room: "a", Handle: 1, Delete: []string{"k"}}), protocol.CodeBadRequest},
		{"set_unknown_handle", websocket.MessageBinary, enc(&protocol.Set{ID: 3, Handle: 7, Delete: []string{"k"}}), protocol.CodeNotJoined},
		{"leave_not_joined", websocket.MessageBinary, enc(&protocol.Leave{ID: 1, Room: "attic"}), protocol.CodeNotJoined},
		{"sub_empty", websocket.MessageBinary, enc(&protocol.Sub{ID: 1, Room: "a"}), protocol.CodeBadRequest},
		{"write_bad_op", websocket.MessageBinary, enc(&protocol.Write{ID: 1, Room: "a", Op: 9, Object: "o"}), protocol.CodeBadRequest},
		{"meet_no_event", websocket.MessageBinary, enc(&protocol.Meet{ID: 1, Actor: "a", Mates: 1}), protocol.CodeBadRequest},
		{"meet_too_many_mates", websocket.MessageBinary, enc(&protocol.Meet{ID: 1, Event: "e", Actor: "a", Mates: 999}), protocol.CodeBadRequest},
		{"cancel_no_id", websocket.MessageBinary, enc(&protocol.Cancel{}), protocol.CodeBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := dialPeer(t, hs, "")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := p.ws.Write(ctx, tt.typ, tt.in); err != nil {
				t.Fatal(err)
			}
			if tt.code == protocol.CodeFrameTooLarge {
				// The websocket layer stops reading at the limit and closes
				// with 1009 (message too big), before or after the Error.
				m, err := p.recv()
				if e, ok := m.(*protocol.Error); ok && e.Code == tt.code {
					_, err = p.recv()
				}
				if websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
					t.Fatalf("got %v, %v; want FrameTooLarge and a 1009 close", m, err)
				}
				return
			}
			p.expectError(tt.code)
			if tt.code/100 == 1 {
				_, err := p.recv()
				if got := websocket.CloseStatus(err); int(got) != tt.code.CloseStatus() {
					t.Fatalf("after the error: %v, want close status %d", err, tt.code.CloseStatus())
				}
				return
			}
			p.send(&protocol.Ping{Nonce: 9})
			if pong := expect[*protocol.Pong](p); pong.Nonce != 9 {
				t.Fatalf("Pong %+v, want nonce 9", pong)
			}
		})
	}
}

// rawUpgrade opens a TCP connection to hs and completes a websocket
// handshake by hand, so that the test can send frames no library would.
func rawUpgrade(t *testing.T, hs *httptest.Server) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", hs.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	key := make([]byte, 16)
	rand.Read(key)
	fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
		hs.Listener.Addr(), base64.StdEncoding.EncodeToString(key))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %s", resp.Status)
	}
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
		t.Fatalf("the server negotiated %q; compression is meant to be off", ext)
	}
	return c, br
}

// clientFrame returns one masked client frame with the given first byte.
func clientFrame(first byte, payload []byte) []byte {
	f := []byte{first}
	switch n := len(payload); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n <= 0xffff:
		f = append(f, 0x80|126)
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f = append(f, 0x80|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	mask := []byte{1, 2, 3, 4}
	f = append(f, mask...)
	for i, b := range payload {
		f = append(f, b^mask[i%4])
	}
	return f
}

// TestReliability_compressedBomb: compression is never negotiated, so a
// frame claiming to be compressed (RSV1) — here 64 MiB of zeros deflated
// to a few KB — is a protocol error: the server closes the connection
// without inflating it, and goes on serving.
func TestReliability_compressedBomb(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, nil)
	c, br := rawUpgrade(t, hs)
	var bomb bytes.Buffer
	fw, _ := flate.NewWriter(&bomb, flate.BestCompression)
	zeros := make([]byte, 1<<20)
	for range 64 {
		fw.Write(zeros)
	}
	fw.Close()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	hello := mustEncode(t, &protocol.Hello{Version: protocol.Version, Client: "bomber"})
	c.Write(clientFrame(0x82, hello)) // FIN, binary
	c.Write(clientFrame(0xc2, bomb.Bytes()))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	// The Welcome, a close frame, then EOF; or a reset, when the server
	// closes with the bomb still unread in its socket.
	got, err := io.ReadAll(br)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("the server did not close the connection: %v (read % x)", err, got)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grown := int64(after.TotalAlloc) - int64(before.TotalAlloc); grown > 32<<20 {
		t.Fatalf("the server allocated %d MiB for a %d KB frame", grown>>20, bomb.Len()>>10)
	}
	p := dialPeer(t, hs, "ada")
	p.send(&protocol.Ping{Nonce: 1})
	expect[*protocol.Pong](p)
}

// TestReliability_neverHello: a websocket that never sends its Hello is
// closed after the timeout.
func TestReliability_neverHello(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, &Options{Timeout: 300 * time.Millisecond})
	ws := dialRaw(t, hs)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := ws.Read(ctx); err == nil || ctx.Err() != nil {
		t.Fatalf("read: %v, want the server to close a connection without Hello", err)
	}
}
