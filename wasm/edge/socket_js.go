package main

import (
	"context"
	"errors"
	"sync"
	"syscall/js"

	"github.com/coder/websocket"
)

var jsUint8Array = js.Global().Get("Uint8Array")

// socket is a websocket accepted by the Durable Object (WebSocketPair and
// state.acceptWebSocket), served by the server as any other: the
// Durable Object's webSocketMessage and webSocketClose handlers push into
// it, and writes call the websocket's send.
type socket struct {
	ws js.Value

	mu     sync.Mutex // Protects the following.
	in     [][]byte   // messages not yet read
	typ    []websocket.MessageType
	closed error // set when the peer closed or the socket was closed
	limit  int64
	wake   chan struct{} // signalled when in or closed changes
}

func newSocket(ws js.Value) *socket {
	return &socket{ws: ws, wake: make(chan struct{}, 1), limit: 32768}
}

// push queues a message from the Durable Object's webSocketMessage.
func (s *socket) push(data js.Value) {
	var b []byte
	typ := websocket.MessageText
	if data.Type() == js.TypeString {
		b = []byte(data.String())
	} else {
		u := jsUint8Array.New(data)
		b = make([]byte, u.Length())
		js.CopyBytesToGo(b, u)
		typ = websocket.MessageBinary
	}
	s.mu.Lock()
	if s.closed == nil {
		if int64(len(b)) > s.limit {
			s.closed = websocket.CloseError{Code: websocket.StatusMessageTooBig, Reason: "message too big"}
			s.ws.Call("close", int(websocket.StatusMessageTooBig), "message too big")
		} else {
			s.in = append(s.in, b)
			s.typ = append(s.typ, typ)
		}
	}
	s.mu.Unlock()
	s.signal()
}

// gone records that the peer closed the websocket.
func (s *socket) gone(code int, reason string) {
	s.mu.Lock()
	if s.closed == nil {
		s.closed = websocket.CloseError{Code: websocket.StatusCode(code), Reason: reason}
	}
	s.mu.Unlock()
	s.signal()
}

func (s *socket) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Read implements server.Socket.
func (s *socket) Read(ctx context.Context) (websocket.MessageType, []byte, error) {
	for {
		s.mu.Lock()
		if len(s.in) > 0 {
			b, typ := s.in[0], s.typ[0]
			s.in, s.typ = s.in[1:], s.typ[1:]
			s.mu.Unlock()
			return typ, b, nil
		}
		err := s.closed
		s.mu.Unlock()
		if err != nil {
			return 0, nil, err
		}
		select {
		case <-s.wake:
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		}
	}
}

var errClosed = errors.New("edge: websocket closed")

// Write implements server.Socket. send never blocks: the runtime buffers.
func (s *socket) Write(_ context.Context, typ websocket.MessageType, p []byte) (err error) {
	s.mu.Lock()
	closed := s.closed != nil
	s.mu.Unlock()
	if closed {
		return errClosed
	}
	defer func() {
		if r := recover(); r != nil { // the websocket was closed under us
			err = errClosed
		}
	}()
	if typ == websocket.MessageText {
		s.ws.Call("send", string(p))
		return nil
	}
	u := jsUint8Array.New(len(p))
	js.CopyBytesToJS(u, p)
	s.ws.Call("send", u)
	return nil
}

// Close implements server.Socket.
func (s *socket) Close(code websocket.StatusCode, reason string) error {
	s.close(int(code), reason)
	return nil
}

// CloseNow implements server.Socket. A Durable Object cannot drop the
// connection without a close frame: it closes with 1001 (going away).
func (s *socket) CloseNow() error {
	s.close(int(websocket.StatusGoingAway), "")
	return nil
}

func (s *socket) close(code int, reason string) {
	s.mu.Lock()
	already := s.closed != nil
	if !already {
		s.closed = websocket.CloseError{Code: websocket.StatusCode(code), Reason: reason}
	}
	s.mu.Unlock()
	s.signal()
	if !already {
		func() {
			defer func() { recover() }() // already closed by the peer
			s.ws.Call("close", code, reason)
		}()
	}
}

// SetReadLimit implements server.Socket.
func (s *socket) SetReadLimit(n int64) {
	s.mu.Lock()
	s.limit = n
	s.mu.Unlock()
}
