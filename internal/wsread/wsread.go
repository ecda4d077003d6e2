// Package wsread reads websocket messages into slices of their own size.
// The server and the Go client read through it.
package wsread

import (
	"bytes"
	"context"
	"sync"

	"github.com/coder/websocket"
)

// Exact is a websocket whose Read returns each message in a slice of its
// own size. coder/websocket's Read gathers a message with io.ReadAll,
// which starts at 512 bytes and doubles: for a Pong of a few bytes, from
// each of 10,000 idle clients every ping interval, that is most of an
// idle server's garbage, and for a client in a busy room 512 bytes
// allocated and cleared per small message. Messages are read into a
// pooled buffer instead and copied out once, exactly.
type Exact struct{ *websocket.Conn }

// readBufs holds the buffers messages are read into.
var readBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooled is the largest buffer kept for reuse; a larger message's
// buffer goes to the collector.
const maxPooled = 64 << 10

// Read returns the next message. Its limit is the connection's read limit,
// as with websocket.Conn.Read.
func (ws Exact) Read(ctx context.Context) (websocket.MessageType, []byte, error) {
	typ, r, err := ws.Reader(ctx)
	if err != nil {
		return 0, nil, err
	}
	buf := readBufs.Get().(*bytes.Buffer)
	buf.Reset()
	if _, err := buf.ReadFrom(r); err != nil {
		return 0, nil, err
	}
	out := make([]byte, buf.Len())
	copy(out, buf.Bytes())
	if buf.Cap() <= maxPooled {
		readBufs.Put(buf)
	}
	return typ, out, nil
}
