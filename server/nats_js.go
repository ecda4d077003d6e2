//go:build js

package server

// NATSConn is the type of [Options.NATS]. Under js/wasm a server runs
// alone (the edge: a room is one Durable Object), so it is a type nothing
// can make but nil, and the NATS client is not linked.
type NATSConn = *noNATS

// noNATS stands for a NATS connection under js/wasm: there is none.
type noNATS struct{}
