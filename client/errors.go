package client

import "errors"

var (
	// ErrClosed is returned by calls on a closed [Conn] or [Room].
	ErrClosed = errors.New("client: closed")

	// errSessionLost tells a waiting request that its connection dropped.
	errSessionLost = errors.New("client: connection lost")
)
