//go:build js

package server

import "errors"

// newBus: at the edge, a room is one Durable Object; there is no cluster
// to join.
func newBus(*Server, NATSConn) (bus, error) {
	return nil, errors.New("server: Options.NATS is not supported under js/wasm")
}
