//go:build !js

package server

import "github.com/nats-io/nats.go"

// NATSConn is the type of [Options.NATS]: a connection to NATS
// (github.com/nats-io/nats.go). Under js/wasm, where a server runs alone
// (the edge), it is a type nothing can make but nil, so that the edge and
// browser builds do not link the NATS client.
type NATSConn = *nats.Conn
