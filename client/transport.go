package client

import (
	"context"
	"strconv"

	"github.com/synkhq/synk/internal/wraperr"
	"github.com/synkhq/synk/protocol"
)

// transport is one websocket connection as a session uses it. Natively it
// is github.com/coder/websocket (transport.go's !js twin); in a browser it
// is the page's own WebSocket through syscall/js (transport_js.go), which
// keeps net/http out of the wasm bundle.
type transport interface {
	// read returns the next binary message.
	read(ctx context.Context) ([]byte, error)
	// write sends one binary message.
	write(ctx context.Context, b []byte) error
	// close starts a normal close handshake and releases the connection.
	close() error
	// closeNow drops the connection without a handshake.
	closeNow() error
}

// closeStatusError reports that the peer closed the websocket with a status.
type closeStatusError struct {
	status int
	reason string
}

func (e *closeStatusError) Error() string {
	return "websocket closed with status " + strconv.Itoa(e.status) + ": " + e.reason
}

// statusMessageTooBig is the websocket close status for an oversized message.
const statusMessageTooBig = 1009

// closeError turns a websocket close carrying a Synk code into a
// *protocol.Error; other errors pass through.
func closeError(err error) error {
	if ce, ok := wraperr.Find[*closeStatusError](err); ok {
		if code := protocol.CodeFromCloseStatus(ce.status); code != 0 {
			return &protocol.Error{Code: code, Message: ce.reason}
		}
		if ce.status == statusMessageTooBig {
			return &protocol.Error{Code: protocol.CodeFrameTooLarge, Message: ce.reason}
		}
	}
	return err
}
