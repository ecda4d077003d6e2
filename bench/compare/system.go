package main

import (
	"context"
	"fmt"
)

// system is a server under test: how to start it and how its clients
// connect, publish and receive.
type system struct {
	name string
	// args are the server's flags for a workload.
	args func(w *workload) []string
	// dial connects a client to room. Messages others publish in the room
	// go to h.msg.
	dial func(ctx context.Context, srv *server, room, id string, h handler) (peer, error)
}

// handler receives what a client sees. Calls come from the client's own
// goroutines.
type handler struct {
	member   bool // publishes: a participant, not a silent subscriber
	msg      func(payload []byte)
	presence func(who string, joined bool) // set: a participant told of arrivals and departures
}

// peer is one connected client.
type peer interface {
	// publish sends payload to the others of the client's room and waits
	// for the server to accept it.
	publish(ctx context.Context, payload []byte) error
	// close disconnects.
	close()
}

// systems lists the servers compared, Synk first.
func systems(bins map[string]string) []*system {
	return []*system{synkSystem(bins["synk"]), centrifugeSystem(bins["centrifuge"]), hubSystem(bins["hub"])}
}

func (s *system) start(ctx context.Context, bins map[string]string, w *workload) (*server, error) {
	srv, err := startServer(ctx, bins[s.name], s.args(w)...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.name, err)
	}
	return srv, nil
}
