package server

import (
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// room is one named room: its participants' presence maps and the
// connections that receive its changes.
type room struct {
	name string

	mu      sync.Mutex // Protects the following.
	dead    bool       // freed: removed from Server.rooms, must not be used
	members map[string]*member
	subs    map[*conn]*member // receivers; a nil member marks an observer
	objs    objects           // the room's objects and who sees which
	bus     bus               // the cluster's, or nil
	// opening: new, its first user must open it (Server.openIO: the store's
	// position, the cluster's subscriptions), outside Server.mu (set under
	// Server.mu at creation, before anyone else can see the room).
	opening bool
	remote  int    // members of other nodes, in members
	logSeq  uint64 // in a cluster: the room log's last sequence applied here
	//lint:ignore U1000 cluster state: the js build (the edge) has no cluster
	untrimmed int // in a cluster: writes applied since this node last trimmed the room's log
	//lint:ignore U1000 cluster state: the js build (the edge) has no cluster
	trimming bool // in a cluster: a trim of the room's log runs
	// remoteSeq is, per other node, the number of its last event applied.
	remoteSeq map[string]uint64

	hold     *holdings // the server's budgets
	creator  string    // the address of the client that created it, counted against its share of rooms
	presence int64     // bytes of presence of its members, as the budgets count them
	counted  int64     // bytes of its objects the budgets count (see holdings.settle)

	pmu      sync.Mutex          // Protects inflight.
	inflight map[uint64]struct{} // offsets of writes being stored
}

// newRoom returns an empty room whose change log starts at m.
func newRoom(name string, m roomMeta, hold *holdings) *room {
	r := &room{name: name, members: make(map[string]*member), subs: make(map[*conn]*member), remoteSeq: make(map[string]uint64), hold: hold}
	r.objs.log = changeLog{epoch: m.Epoch, start: m.Start}
	r.objs.seq, r.objs.compacted = m.Seq, m.Start
	if r.objs.log.epoch == 0 {
		r.objs.log.epoch = newEpoch()
	}
	return r
}

// storing marks the write at offset seq as being stored (done false) or
// stored (done true).
func (r *room) storing(seq uint64, done bool) {
	r.pmu.Lock()
	defer r.pmu.Unlock()
	if done {
		delete(r.inflight, seq)
		return
	}
	if r.inflight == nil {
		r.inflight = make(map[uint64]struct{})
	}
	r.inflight[seq] = struct{}{}
}

// compactable returns the highest offset below every write still being
// stored, capped at limit.
func (r *room) compactable(limit uint64) uint64 {
	r.pmu.Lock()
	defer r.pmu.Unlock()
	for seq := range r.inflight {
		limit = min(limit, seq-1)
	}
	return limit
}

// member is one participant and its presence map.
type member struct {
	client  string
	entries map[string]msgpack.RawMessage
	conn    *conn     // nil for an HTTP poster or a member of another node
	seen    time.Time // last HTTP post
	node    string    // the cluster node it is connected to; "" for this one
	ip      string    // the address of its client; "" for a member of another node
	cost    int64     // its entries' bytes, and posted's, as the budgets count them
	posted  []byte    // an HTTP poster's data as posted, for HTTP readers (see parsePost); nil if not posted
}

// RoomInfo describes a room, as listed by [Server.Rooms].
type RoomInfo struct {
	Name      string `json:"room"`
	Members   int    `json:"members"`
	Observers int    `json:"observers"`
}

func (r *room) info() RoomInfo {
	ri := RoomInfo{Name: r.name, Members: len(r.members)}
	for _, m := range r.subs {
		if m == nil {
			ri.Observers++
		}
	}
	return ri
}

// empty reports whether the room can be freed: nobody in it, no objects,
// and no change history a client could resume from.
func (r *room) empty() bool {
	return len(r.members) == r.remote && len(r.subs) == 0 && len(r.objs.byID) == 0 && len(r.objs.log.entries) == 0 &&
		r.logSeq == 0 // a room the cluster's log has writes for stays: it must apply every one
}

// snapshot returns every participant but except, sorted by client id, each
// with its entries sorted by key. The caller holds r.mu.
func (r *room) snapshot(except string) []protocol.Member {
	out := make([]protocol.Member, 0, len(r.members))
	for _, id := range slices.Sorted(maps.Keys(r.members)) {
		if id != except {
			out = append(out, protocol.Member{Client: id, Entries: sortedEntries(r.members[id].entries)})
		}
	}
	return out
}

func sortedEntries(m map[string]msgpack.RawMessage) []protocol.Entry {
	if len(m) == 0 {
		return nil
	}
	out := make([]protocol.Entry, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, protocol.Entry{Key: k, Value: m[k]})
	}
	return out
}

// broadcast queues m (a Presence, or a Sent) for every receiver but
// except. It encodes m once and never blocks. The caller holds r.mu.
func (r *room) broadcast(m protocol.Message, except *conn) {
	if len(r.subs) == 0 || len(r.subs) == 1 && r.subs[except] != nil {
		return
	}
	b, err := protocol.Encode(m)
	if err != nil {
		panic("bug: " + m.Type().String() + " frame does not encode: " + err.Error())
	}
	for c := range r.subs {
		if c != except {
			c.send(b)
		}
	}
}

// removeMember drops m from the room and tells the others why. The caller
// holds r.mu.
func (r *room) removeMember(m *member, reason protocol.Code) {
	r.dropMember(m)
	p := &protocol.Presence{Room: r.name, Event: protocol.EventLeave, Client: m.client, Reason: reason}
	if m.node != "" {
		r.remote--
		r.broadcast(p, nil)
		return
	}
	r.announce(p, nil)
}

// dropMember removes m from r and uncounts what it held, telling nobody.
// The caller holds r.mu.
func (r *room) dropMember(m *member) {
	delete(r.members, m.client)
	r.hold.admitPresence(r, m.ip, -m.cost)
	m.cost = 0
	if m.conn == nil && m.node == "" {
		r.hold.releasePoster(m.ip)
	}
	if m.conn != nil {
		delete(r.subs, m.conn)
	}
}

// announce queues p, a local member's event, for every receiver but
// except, and tells the other nodes of the cluster. The caller holds r.mu.
func (r *room) announce(p *protocol.Presence, except *conn) {
	r.broadcast(p, except)
	if r.bus != nil {
		r.bus.announce(r, p)
	}
}

// apply removes del from m's map, then stores set, if the result keeps
// within maxKeys. The caller holds r.mu.
func (m *member) apply(set []protocol.Entry, del []string, maxKeys int) error {
	n := len(m.entries)
	gone := make(map[string]bool, len(del))
	for _, k := range del {
		if _, ok := m.entries[k]; ok && !gone[k] {
			gone[k] = true
			n--
		}
	}
	added := make(map[string]bool, len(set))
	for _, e := range set {
		if _, ok := m.entries[e.Key]; (!ok || gone[e.Key]) && !added[e.Key] {
			added[e.Key] = true
			n++
		}
	}
	if n > maxKeys {
		return protocol.Errorf(protocol.CodeTooManyKeys, "%d keys would exceed the limit of %d", n, maxKeys)
	}
	for k := range gone {
		delete(m.entries, k)
	}
	for _, e := range set {
		m.entries[e.Key] = e.Value
	}
	return nil
}

// update changes m's map as apply does, within the budgets: the room's,
// the server's and its address's share of presence bytes (a member of
// another node is counted, never refused). The caller holds r.mu.
func (r *room) update(m *member, set []protocol.Entry, del []string, maxKeys int) error {
	return r.updateReplacing(m, set, del, maxKeys, nil)
}

// updateReplacing is update for a new member m that takes old's place
// (old may be nil; the caller removes it once this succeeds).
func (r *room) updateReplacing(m *member, set []protocol.Entry, del []string, maxKeys int, old *member) error {
	d := costDelta(m.entries, set, del)
	if err := r.hold.admitReplacing(r, m.ip, d, old); err != nil {
		return err
	}
	if err := m.apply(set, del, maxKeys); err != nil {
		r.hold.admitPresence(r, m.ip, -d)
		return err
	}
	m.cost += d
	return nil
}

// checkValues returns a CodeValueTooLarge error for a value over max bytes.
func checkValues(es []protocol.Entry, max int) error {
	for _, e := range es {
		if len(e.Value) > max {
			return protocol.Errorf(protocol.CodeValueTooLarge, "value of %q is %d bytes, the limit is %d", e.Key, len(e.Value), max)
		}
	}
	return nil
}

// diffEntries returns what turns old into the entries next.
func diffEntries(old map[string]msgpack.RawMessage, next []protocol.Entry) (set []protocol.Entry, del []string) {
	keep := make(map[string]bool, len(next))
	for _, e := range next {
		keep[e.Key] = true
		if v, ok := old[e.Key]; !ok || string(v) != string(e.Value) {
			set = append(set, e)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(old)) {
		if !keep[k] {
			del = append(del, k)
		}
	}
	return set, del
}
