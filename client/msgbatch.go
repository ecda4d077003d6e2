package client

import (
	"encoding/binary"
	"errors"
)

// In a browser, the worker's JS (__synkListen in web/static/synk-worker.js)
// hands the websocket messages that arrived while Go was busy to Go in one
// buffer: each message is its length (4 bytes, big-endian) then its bytes.
// A text message, which the protocol does not use, is the length
// textMessage and no bytes.
const textMessage = 0xffffffff

// errTextMessage ends a connection on which the server sent text.
var errTextMessage = errors.New("client: text message from server")

// errTooBig ends a connection on which a message passed the read limit.
var errTooBig = &closeStatusError{status: statusMessageTooBig, reason: "message too big"}

// errBadBatch ends a connection whose batch of messages is cut short.
var errBadBatch = errors.New("client: truncated message batch")

// splitBatch returns the messages of a batch, which keep b's memory, or
// the first error: a text message, one longer than limit, a cut batch.
func splitBatch(b []byte, limit int64) ([][]byte, error) {
	var msgs [][]byte
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, errBadBatch
		}
		n := binary.BigEndian.Uint32(b)
		switch {
		case n == textMessage:
			return nil, errTextMessage
		case int64(n) > limit:
			return nil, errTooBig
		case uint64(n) > uint64(len(b)-4):
			return nil, errBadBatch
		}
		msgs = append(msgs, b[4:4+n:4+n])
		b = b[4+n:]
	}
	return msgs, nil
}
