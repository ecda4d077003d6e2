package server

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/coder/websocket"
)

// exactReads is a websocket whose Read returns each message in a slice of
// its own size. coder/websocket's Read gathers a message with io.ReadAll,
// which starts at 512 bytes and doubles: for a Pong of a few bytes, from
// each of 10,000 idle clients every ping interval, that is most of an
// idle server's garbage. Messages are read into a pooled buffer instead
// and copied out once, exactly.
type exactReads struct{ *websocket.Conn }

// readBufs holds the buffers messages are read into.
var readBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// maxPooled is the largest buffer kept for reuse; a larger message's
// buffer goes to the collector.
const maxPooled = 64 << 10

// Read returns the next message. Its limit is the connection's read limit,
// as with websocket.Conn.Read.
func (ws exactReads) Read(ctx context.Context) (websocket.MessageType, []byte, error) {
	typ, r, err := ws.Reader(ctx)
	if err != nil {
		return 0, nil, err
	}
	bp := readBufs.Get().(*[]byte)
	b := (*bp)[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, nil, err
		}
	}
	out := make([]byte, len(b))
	copy(out, b)
	if cap(b) <= maxPooled {
		*bp = b[:0]
		readBufs.Put(bp)
	}
	return typ, out, nil
}
