//go:build !js

package server

import (
	"maps"
	"slices"

	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// A room's side of the cluster (cluster.go): what it tells other nodes of
// its members, and how it takes theirs.

// localMembers returns the participants connected to this node.
func (r *room) localMembers() []protocol.Member {
	out := make([]protocol.Member, 0, len(r.members)-r.remote)
	for _, id := range slices.Sorted(maps.Keys(r.members)) {
		if m := r.members[id]; m.node == "" {
			out = append(out, protocol.Member{Client: id, Entries: sortedEntries(m.entries)})
		}
	}
	return out
}

// recount counts m's map again after it was replaced whole (a member of
// another node). The caller holds r.mu.
func (r *room) recount(m *member) {
	c := mapCost(m.entries) + int64(len(m.posted))
	r.hold.admitPresence(r, m.ip, c-m.cost)
	m.cost = c
}
func entryMap(entries []protocol.Entry) map[string]msgpack.RawMessage {
	m := make(map[string]msgpack.RawMessage, len(entries))
	for _, e := range entries {
		m[e.Key] = e.Value
	}
	return m
}
