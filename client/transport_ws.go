//go:build !js

package client

import (
	"context"
	"errors"

	"github.com/coder/websocket"
	"github.com/synkhq/synk/internal/wraperr"
	"github.com/synkhq/synk/internal/wsread"
)

// wsTransport is a transport over github.com/coder/websocket.
type wsTransport struct{ c *websocket.Conn }

func dialTransport(ctx context.Context, url string, readLimit int64) (transport, error) {
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, wraperr.Prefix("client: dial "+url, err)
	}
	c.SetReadLimit(readLimit)
	return wsTransport{c}, nil
}

func (t wsTransport) read(ctx context.Context) ([]byte, error) {
	_, b, err := wsread.Exact{Conn: t.c}.Read(ctx)
	return b, statusError(err)
}

func (t wsTransport) write(ctx context.Context, b []byte) error {
	return statusError(t.c.Write(ctx, websocket.MessageBinary, b))
}

func (t wsTransport) close() error    { return t.c.Close(websocket.StatusNormalClosure, "") }
func (t wsTransport) closeNow() error { return t.c.CloseNow() }

func statusError(err error) error {
	if s := websocket.CloseStatus(err); s != -1 {
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			return &closeStatusError{status: int(s), reason: ce.Reason}
		}
	}
	return err
}
