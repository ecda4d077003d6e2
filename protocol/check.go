package protocol

import (
	"strconv"

	"github.com/synkhq/synk/internal/mpw"
	"github.com/synkhq/synk/internal/wraperr"
)

// MaxDepth is the deepest nesting of arrays and maps that [Check] accepts.
// The frame itself is depth 1.
const MaxDepth = mpw.MaxDepth

// Check reports whether b holds exactly one well-formed msgpack value whose
// every declared length fits in the bytes that follow it, nested no deeper
// than maxDepth. It allocates nothing, so it is safe to run on untrusted
// bytes before the msgpack library decodes them.
func Check(b []byte, maxDepth int) error {
	n, err := mpw.End(b, 0, maxDepth)
	if err != nil {
		return malformed(err)
	}
	if n != len(b) {
		return wraperr.Detail(ErrMalformed, strconv.Itoa(len(b)-n)+" trailing bytes")
	}
	return nil
}

// Next splits off the first frame of a websocket message that carries
// one or more frames back to back (see [Hello].Batch). It checks the frame
// as [Check] does and returns it and the bytes after it.
func Next(msg []byte) (frame, rest []byte, err error) {
	n, err := mpw.End(msg, 0, MaxDepth)
	if err != nil {
		return nil, nil, malformed(err)
	}
	return msg[:n:n], msg[n:], nil
}

// malformed wraps an error of [mpw.End] as [ErrMalformed].
func malformed(err error) error { return wraperr.Detail(ErrMalformed, err.Error()) }
