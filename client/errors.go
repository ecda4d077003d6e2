package client

import "errors"

var (
	// ErrClosed is returned by calls on a closed [Conn] or [Room].
	ErrClosed = errors.New("client: closed")

	// ErrPending is wrapped by the error of an object write whose call
	// stopped waiting (its context ended, or the room was closed) before
	// the server answered. The write stays queued, and in the [Store] if
	// there is one: it is sent on every reconnect until answered, and the
	// answer arrives as an [EventWritten].
	ErrPending = errors.New("client: write queued, not yet acknowledged")

	// ErrDisconnected is returned by [Room.Send] while the connection is
	// down: a message is not kept for later.
	ErrDisconnected = errors.New("client: disconnected; messages are not kept")

	// errSessionLost tells a waiting request that its connection dropped.
	errSessionLost = errors.New("client: connection lost")

	// errMeetLost ends a Meet whose connection dropped: the server
	// withdrew it.
	errMeetLost = errors.New("client: connection lost while meeting; the request was withdrawn")
)
