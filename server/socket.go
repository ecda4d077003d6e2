package server

import (
	"context"

	"github.com/coder/websocket"
	"github.com/synkhq/synk/protocol"
)

// Socket is a websocket connection as the server uses it. A
// *websocket.Conn from github.com/coder/websocket is one; at the edge, a
// websocket a Durable Object accepted is wrapped as one (wasm/edge).
type Socket interface {
	// Read returns the next message; an error ends the connection.
	Read(ctx context.Context) (websocket.MessageType, []byte, error)
	// Write sends one message.
	Write(ctx context.Context, typ websocket.MessageType, p []byte) error
	// Close sends a close frame with code and reason and closes.
	Close(code websocket.StatusCode, reason string) error
	// CloseNow closes without a close handshake.
	CloseNow() error
	// SetReadLimit bounds the size of a message Read accepts; a larger one
	// fails Read with close status 1009 (websocket.StatusMessageTooBig).
	SetReadLimit(n int64)
}

// ServeSocket serves a websocket the caller accepted, as GET /ws serves
// the ones it accepts, and returns at once: the connection goes on in a
// goroutine of its own until the peer leaves or [Server.Shutdown].
// remote names the peer (an address) for limits and logs. It returns an
// error, having closed ws, when the server is shutting down or the
// peer's address is at its connection limit.
func (s *Server) ServeSocket(ws Socket, remote string) error {
	if !s.enter() {
		e := protocol.Errorf(protocol.CodeShutdown, "server shutting down")
		ws.Close(websocket.StatusCode(e.Code.CloseStatus()), e.Message)
		return e
	}
	ip := remoteIP(remote)
	if !s.takeIP(ip) {
		s.wg.Done()
		e := protocol.Errorf(protocol.CodeTooMany, "the limit is %d connections per address, %d in all", s.opts.MaxConnsPerIP, s.opts.MaxConns)
		ws.Close(websocket.StatusPolicyViolation, e.Message)
		return e
	}
	go s.run(ws, nil, remote, func() {
		s.releaseIP(ip)
		s.wg.Done()
	})
	return nil
}
