package server

import (
	"maps"
	"slices"

	"github.com/synkhq/synk/protocol"
)

// view is what one connection sees of a room's objects: the areas it
// subscribed to, and the objects and versions it holds. Every frame the
// connection gets about objects is derived from this record, under the
// room's lock, so a move racing a subscription change can neither lose an
// object nor leave a stale one in the client's cache.
//
// A snapshot is streamed, never queued whole: a Sub marks the objects
// entering or leaving the view as pending, and fill sends their frames a
// slice at a time as the client reads (its writer asks for more when its
// queue runs low). A Sub is answered once nothing is pending, so its OK
// still comes after every frame it caused. However large an area, or
// however often a client that never reads subscribes to it again, the
// frames queued for it stay within its send buffer (issue 15).
type view struct {
	c     *conn
	areas map[string]bool
	held  map[string]uint64
	// pending holds the objects the client is owed a frame about: a put
	// if the object is in its areas, else a remove if it holds it. A
	// pending object's changes send nothing; fill sends its state then.
	pending map[string]bool
	order   []string    // fill's order over pending: sorted ids
	answers []subAnswer // Subs to answer, oldest first, once nothing is pending
}

// subAnswer is a Sub waiting for its OK.
type subAnswer struct {
	id      uint32
	resumed bool
}

// maxAnswers bounds the Subs one view may have waiting for their OK: a
// client that sends Subs and never reads is cut as too slow past it.
const maxAnswers = 1024

func newView(c *conn) *view {
	return &view{c: c, areas: make(map[string]bool), held: make(map[string]uint64), pending: make(map[string]bool)}
}

// watchArea adds v to the watchers of area a.
func (ob *objects) watchArea(v *view, a string) {
	v.areas[a] = true
	if ob.watch[a] == nil {
		ob.watch[a] = make(map[*view]bool)
	}
	ob.watch[a][v] = true
}

// subscribe applies a Sub for c: removes, then adds areas, marking each
// object leaving c's view or entering it as pending. An area both removed
// and added stays as it is: the client's copy of it is current, so nothing
// is sent again.
func (ob *objects) subscribe(c *conn, remove, add []string, maxAreas int) error {
	ob.init()
	v := ob.views[c]
	if v == nil {
		v = newView(c)
	}
	n := len(v.areas)
	for _, a := range remove {
		if v.areas[a] {
			n--
		}
	}
	for _, a := range add {
		if !v.areas[a] && !slices.Contains(remove, a) {
			n++
		}
	}
	if n > maxAreas {
		return protocol.Errorf(protocol.CodeTooMany, "%d areas would exceed the limit of %d", n, maxAreas)
	}
	ob.views[c] = v
	for _, a := range remove {
		if !v.areas[a] || slices.Contains(add, a) {
			continue
		}
		delete(v.areas, a)
		delete(ob.watch[a], v)
		for id := range ob.byArea[a] {
			if _, ok := v.held[id]; ok {
				v.pending[id] = true
			}
		}
	}
	for _, a := range add {
		if v.areas[a] {
			continue
		}
		ob.watchArea(v, a)
		for id := range ob.byArea[a] {
			if _, ok := v.held[id]; !ok {
				v.pending[id] = true
			}
		}
	}
	return nil
}

// position returns the room's position.
func (ob *objects) position() protocol.Position {
	return protocol.Position{Epoch: ob.log.epoch, Offset: ob.seq}
}

// resume gives c, which has no view yet, the areas add, telling it only
// what changed since from in the areas held: its cache holds those as of
// from. Objects it must get whole are pending, like a snapshot's;
// deletes, removes, moves and updates within updateBudget bytes are queued
// at once. It reports false, having subscribed plainly instead (a
// snapshot), when the changes since from are not all known.
func (ob *objects) resume(room string, c *conn, add, held []string, from protocol.Position, maxAreas, updateBudget int) (bool, error) {
	ob.init()
	if v := ob.views[c]; v != nil && len(v.areas) > 0 {
		return false, protocol.Errorf(protocol.CodeBadRequest, "only a connection's first sub of a room may resume")
	}
	var cs []change
	ok := from.Epoch == ob.log.epoch
	if ok {
		cs, ok = ob.log.since(from.Offset, ob.seq)
	}
	if !ok {
		return false, ob.subscribe(c, nil, add, maxAreas)
	}
	areas := make(map[string]bool, len(add))
	for _, a := range add {
		areas[a] = true
	}
	if len(areas) > maxAreas {
		return false, protocol.Errorf(protocol.CodeTooMany, "%d areas would exceed the limit of %d", len(areas), maxAreas)
	}
	had := make(map[string]bool, len(held))
	for _, a := range held {
		had[a] = true
	}
	v := ob.views[c]
	if v == nil {
		v = newView(c)
		ob.views[c] = v
	}
	for a := range areas {
		ob.watchArea(v, a)
		for id, o := range ob.byArea[a] {
			v.held[id] = o.version
		}
	}
	rs := &resumption{ob: ob, v: v, c: c, room: room, areas: areas, had: had, budget: updateBudget}
	nets := netChanges(cs)
	for _, id := range slices.Sorted(maps.Keys(nets)) {
		rs.object(id, nets[id])
	}
	for a := range areas {
		if had[a] {
			continue
		}
		for id := range ob.byArea[a] {
			if nets[id] == nil {
				rs.owe(id, false)
			}
		}
	}
	return true, nil
}

// resumption is one resume under way: the view v of connection c, the
// areas it gets, the areas it held (had), and the bytes of updates it may
// still be sent at once (budget).
type resumption struct {
	ob     *objects
	v      *view
	c      *conn
	room   string
	areas  map[string]bool
	had    map[string]bool
	budget int
}

// object tells the client what became of object id since its position, n
// being the object's net change: a delete or a remove for one it held and
// no longer sees, a move and the changed fields for one it keeps seeing
// (within the budget; beyond it, and for one it gets anew, it is owed
// whole).
func (rs *resumption) object(id string, n *netChange) {
	o := rs.ob.byID[id]
	held := n.existed && rs.had[n.area]
	sees := o != nil && rs.areas[o.area]
	switch {
	case held && !sees && o == nil:
		rs.send(&protocol.Object{Event: protocol.ObjectDelete, Object: id, Version: n.version})
	case held && !sees:
		rs.send(&protocol.Object{Event: protocol.ObjectRemove, Object: id, Version: o.version})
	case sees && (!held || n.replaced):
		rs.owe(id, held)
	case sees:
		moved := o.area != n.area
		if moved {
			rs.send(&protocol.Object{Event: protocol.ObjectMove, Object: id, Area: o.area, Version: o.version})
		}
		if len(n.keys) == 0 && moved {
			return
		}
		if rs.budget <= 0 {
			rs.owe(id, true) // the rest goes out as the client reads, whole
			return
		}
		m := &protocol.Object{Event: protocol.ObjectUpdate, Object: id, Version: o.version}
		for _, k := range slices.Sorted(maps.Keys(n.keys)) {
			if val, ok := o.fields[k]; ok {
				m.Fields = append(m.Fields, protocol.Entry{Key: k, Value: val})
			} else {
				m.Delete = append(m.Delete, k)
			}
		}
		rs.send(m)
	}
}

// owe marks id pending; unless the client has a copy (had), it holds
// nothing of it yet.
func (rs *resumption) owe(id string, had bool) {
	rs.v.pending[id] = true
	if !had {
		delete(rs.v.held, id)
	}
}

// send queues m, counting it against the budget.
func (rs *resumption) send(m *protocol.Object) {
	m.Room, m.Offset = rs.room, rs.ob.seq
	b := encode(m)
	rs.budget -= len(b)
	rs.c.send(b)
}

// answer queues the OK of Sub id for c's view, sent by fill once nothing
// is pending. It reports false when too many answers wait already.
func (ob *objects) answer(c *conn, id uint32, resumed bool) bool {
	v := ob.views[c]
	if len(v.answers) >= maxAnswers {
		return false
	}
	v.answers = append(v.answers, subAnswer{id: id, resumed: resumed})
	return true
}

// fill queues for c up to about budget bytes of the frames its view is
// owed, oldest id first, then, once nothing is pending, the OKs of its
// Subs with the room's position. It reports whether anything is still
// owed. The caller holds the room's lock.
func (ob *objects) fill(room string, c *conn, budget int) bool {
	v := ob.views[c]
	if v == nil {
		return false // it left the room
	}
	for len(v.pending) > 0 && budget > 0 {
		if len(v.order) == 0 {
			v.order = slices.Sorted(maps.Keys(v.pending))
		}
		id := v.order[0]
		v.order = v.order[1:]
		if !v.pending[id] {
			continue // sent already, or settled by a delete
		}
		delete(v.pending, id)
		if b := ob.reconcile(room, v, id); b != nil {
			budget -= len(b)
			c.send(b)
		}
	}
	if len(v.pending) > 0 {
		return true
	}
	v.order = nil
	pos := ob.position()
	for _, a := range v.answers {
		c.sendMsg(&protocol.OK{ID: a.id, Epoch: pos.Epoch, Offset: pos.Offset, Resumed: a.resumed})
	}
	v.answers = nil
	return false
}

// reconcile returns the frame that brings the client's copy of object id
// up to date with v (nil if it needs none), and records what it then holds.
func (ob *objects) reconcile(room string, v *view, id string) []byte {
	o := ob.byID[id]
	version, had := v.held[id]
	switch {
	case o != nil && v.areas[o.area]:
		v.held[id] = o.version
		return encode(o.put(room, ob.seq))
	case !had:
		return nil
	case o == nil: // deleted while pending: changed sends deletes at once, so this is a bug's safety net
		delete(v.held, id)
		return encode(&protocol.Object{Room: room, Event: protocol.ObjectDelete, Object: id, Version: version, Offset: ob.seq})
	default:
		delete(v.held, id)
		return encode(&protocol.Object{Room: room, Event: protocol.ObjectRemove, Object: id, Version: o.version, Offset: ob.seq})
	}
}

// drop forgets c's view (it left the room).
func (ob *objects) drop(c *conn) {
	v := ob.views[c]
	if v == nil {
		return
	}
	for a := range v.areas {
		delete(ob.watch[a], v)
		if len(ob.watch[a]) == 0 {
			delete(ob.watch, a)
		}
	}
	delete(ob.views, c)
}
