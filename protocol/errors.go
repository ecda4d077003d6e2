package protocol

import "errors"

var (
	// ErrMalformed reports bytes that are not one well-formed frame: bad
	// msgpack, a length that does not fit, too deep, or a missing "t".
	ErrMalformed = errors.New("protocol: malformed frame")

	// ErrUnknownType reports a well-formed frame whose type this version
	// does not know. Receivers skip such frames.
	ErrUnknownType = errors.New("protocol: unknown frame type")
)
