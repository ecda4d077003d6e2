package server

import (
	"time"

	"github.com/synkhq/synk/internal/meet"
	"github.com/synkhq/synk/protocol"
)

// bus shares a room's presence with the other nodes of a cluster
// (cluster.go, over NATS). A server running alone has none.
type bus interface {
	// announce tells the other nodes of a local member's event in r; the
	// caller holds r.mu.
	announce(r *room, p *protocol.Presence)
	// takeOver tells the other nodes that a client another node held
	// reconnected here, proving its id (p is its Join): they move it
	// here without a Leave and a Join. The caller holds r.mu.
	takeOver(r *room, p *protocol.Presence)
	// relay sends a local member's message to the other nodes: to every
	// receiver there (to empty) or to client to. The caller holds r.mu.
	relay(r *room, m *protocol.Sent, to string)
	// watch follows a room now in memory here. The first user of a new
	// room calls it (Server.openIO), holding r.mu but not s.mu.
	watch(name string)
	// confirmWatch waits until what watch asked for is in place, so that
	// every event another node publishes after it arrives here. Called
	// right after watch, the same way.
	confirmWatch()
	// unwatch stops following a room freed here.
	unwatch(name string)
	// open opens what the nodes share beyond presence (the room log); New
	// waits for it, with the janitor running.
	open()
	// tick sends a heartbeat and drops nodes not heard from since deadline.
	tick(deadline time.Time)
	// close leaves the cluster.
	close() error
	// nodes counts the live nodes, this one included.
	nodes() int
	// objectsErr returns why this node refuses what (objects), nil when
	// the nodes share them (a room log in JetStream, whose epoch epoch is).
	objectsErr(what string) error
	epoch() uint64
	// writeObject takes a write on r, whose lock the caller holds and
	// which it releases.
	writeObject(r *room, w *protocol.Write) (uint64, error)
	// meet sends a meet request to the node that owns its event; onMatch
	// or onEnd gets its outcome. The returned function cancels it.
	meet(scope string, p meet.Params, timeout time.Duration, onMatch func(map[string]string),
		onEnd func(*protocol.Error)) func(protocol.Code, string)
	// stats gathers every node's pending meets of scope, waiting at most
	// wait for the others.
	stats(scope string, wait time.Duration) map[string]map[string]map[string]meet.Stat
}
