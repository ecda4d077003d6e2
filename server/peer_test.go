//go:build !js

package server

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// testServer starts a Server behind httptest and stops both at cleanup.
func testServer(t testing.TB, opts *Options) (*Server, *httptest.Server) {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler) // not the open-server warning of every test
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		hs.Close()
	})
	return s, hs
}

// peer is a raw protocol client over a real websocket, for driving the
// server frame by frame (including misbehaving on purpose).
type peer struct {
	t       testing.TB
	ws      *websocket.Conn
	welcome *protocol.Welcome
	nextID  uint32
}

func wsURL(hs *httptest.Server) string { return "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws" }

func dialRaw(t testing.TB, hs *httptest.Server) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, wsURL(hs), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	ws.SetReadLimit(1 << 24)
	t.Cleanup(func() { ws.CloseNow() })
	return ws
}

// dialPeer connects and completes the hello exchange as client.
func dialPeer(t testing.TB, hs *httptest.Server, client string) *peer {
	t.Helper()
	p := &peer{t: t, ws: dialRaw(t, hs)}
	p.send(&protocol.Hello{Version: protocol.Version, Client: client})
	p.welcome = expect[*protocol.Welcome](p)
	return p
}

func (p *peer) send(m protocol.Message) {
	p.t.Helper()
	b, err := protocol.Encode(m)
	if err != nil {
		p.t.Fatal(err)
	}
	p.sendRaw(b)
}

func (p *peer) sendRaw(b []byte) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.ws.Write(ctx, websocket.MessageBinary, b); err != nil {
		p.t.Fatalf("write: %v", err)
	}
}

// recv returns the next frame that is not a Ping, answering Pings.
func (p *peer) recv() (protocol.Message, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, b, err := p.ws.Read(ctx)
		if err != nil {
			return nil, err
		}
		m, err := protocol.Decode(b)
		if err != nil {
			return nil, err
		}
		if ping, ok := m.(*protocol.Ping); ok {
			bb, _ := protocol.Encode(&protocol.Pong{Nonce: ping.Nonce})
			if err := p.ws.Write(ctx, websocket.MessageBinary, bb); err != nil {
				return nil, err
			}
			continue
		}
		return m, nil
	}
}

// expect receives the next frame and fails unless it is a T.
func expect[T protocol.Message](p *peer) T {
	p.t.Helper()
	m, err := p.recv()
	if err != nil {
		p.t.Fatalf("recv: %v", err)
	}
	v, ok := m.(T)
	if !ok {
		var zero T
		p.t.Fatalf("got %T %+v, want %T", m, m, zero)
	}
	return v
}

func (p *peer) id() uint32 { p.nextID++; return p.nextID }

// join joins room and returns the snapshot.
func (p *peer) join(room string, observer bool, entries ...protocol.Entry) *protocol.Joined {
	p.t.Helper()
	id := p.id()
	p.send(&protocol.Join{ID: id, Room: room, Observer: observer, Entries: entries})
	j := expect[*protocol.Joined](p)
	if j.ID != id {
		p.t.Fatalf("Joined.ID = %d, want %d", j.ID, id)
	}
	return j
}

// expectError receives the next frame and fails unless it is an Error
// with code.
func (p *peer) expectError(code protocol.Code) *protocol.Error {
	p.t.Helper()
	e := expect[*protocol.Error](p)
	if e.Code != code {
		p.t.Fatalf("Error code = %v (%s), want %v", e.Code, e.Message, code)
	}
	return e
}

func entry(k string, v any) protocol.Entry {
	b, err := msgpack.Marshal(v)
	if err != nil {
		panic(err)
	}
	return protocol.Entry{Key: k, Value: b}
}

func valueOf(t *testing.T, raw msgpack.RawMessage) any {
	t.Helper()
	var v any
	if err := msgpack.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}
