package server

import (
	"maps"
	"slices"

	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// object is one object of a room. The server is its authority.
type object struct {
	id, kind, area string
	version        uint64
	fields         map[string]msgpack.RawMessage
}

func (o *object) put(room string) *protocol.Object {
	return &protocol.Object{Room: room, Event: protocol.ObjectPut, Object: o.id, Kind: o.kind,
		Area: o.area, Version: o.version, Fields: sortedEntries(o.fields)}
}

// view is what one connection sees of a room's objects: the areas it
// subscribed to, and the objects and versions it holds. Every frame the
// connection gets about objects is derived from this record, under the
// room's lock, so a move racing a subscription change can neither lose an
// object nor leave a stale one in the client's cache.
type view struct {
	c     *conn
	areas map[string]bool
	held  map[string]uint64
}

// objects is a room's objects, indexed by id and area, and the views that
// watch each area. Its methods are called with the room's lock held.
type objects struct {
	byID   map[string]*object
	byArea map[string]map[string]*object
	views  map[*conn]*view
	watch  map[string]map[*view]bool // area → views subscribed to it
	seq    uint64                    // counts the room's object writes, for the store
	done   map[string]opResult       // answers to recent client op ids
	order  []string                  // op ids in done, oldest first
}

// opResult is the first answer to a client op id.
type opResult struct {
	version uint64
	err     error
}

// maxOps bounds the op ids a room remembers for exactly-once writes.
const maxOps = 10000

func (ob *objects) remember(op string, res opResult) {
	if op == "" {
		return
	}
	if ob.done == nil {
		ob.done = make(map[string]opResult)
	}
	if _, ok := ob.done[op]; !ok {
		ob.order = append(ob.order, op)
		if len(ob.order) > maxOps {
			delete(ob.done, ob.order[0])
			ob.order = ob.order[1:]
		}
	}
	ob.done[op] = res
}

func (ob *objects) init() {
	if ob.byID == nil {
		ob.byID = make(map[string]*object)
		ob.byArea = make(map[string]map[string]*object)
		ob.views = make(map[*conn]*view)
		ob.watch = make(map[string]map[*view]bool)
	}
}

// subscribe applies a Sub for c: removes, then adds areas, queueing a
// remove for each object leaving c's view and a put for each entering it.
func (ob *objects) subscribe(room string, c *conn, remove, add []string, maxAreas int) error {
	ob.init()
	v := ob.views[c]
	if v == nil {
		v = &view{c: c, areas: make(map[string]bool), held: make(map[string]uint64)}
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
		if !v.areas[a] {
			continue
		}
		delete(v.areas, a)
		delete(ob.watch[a], v)
		for _, id := range slices.Sorted(maps.Keys(ob.byArea[a])) {
			if _, ok := v.held[id]; ok {
				delete(v.held, id)
				c.sendMsg(&protocol.Object{Room: room, Event: protocol.ObjectRemove, Object: id, Version: ob.byID[id].version})
			}
		}
	}
	for _, a := range add {
		if v.areas[a] {
			continue
		}
		v.areas[a] = true
		if ob.watch[a] == nil {
			ob.watch[a] = make(map[*view]bool)
		}
		ob.watch[a][v] = true
		for _, id := range slices.Sorted(maps.Keys(ob.byArea[a])) {
			if _, ok := v.held[id]; !ok {
				o := ob.byID[id]
				v.held[id] = o.version
				c.sendMsg(o.put(room))
			}
		}
	}
	return nil
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

// limits bounds what a write may create.
type limits struct{ maxObjects, maxFields, maxValue int }

// write applies one Write and tells every view that must know. It returns
// the object's new version.
//
// A write whose op id was seen before is not applied again: the first
// answer is returned, with a nil record.
func (ob *objects) write(room string, w *protocol.Write, lim limits) (uint64, *record, error) {
	if res, ok := ob.done[w.OpID]; ok && w.OpID != "" {
		return res.version, nil, res.err
	}
	v, err := ob.apply(room, w, lim)
	ob.remember(w.OpID, opResult{version: v, err: err})
	if err != nil {
		return 0, nil, err
	}
	ob.seq++
	rec := &record{Seq: ob.seq, Deleted: w.Op == protocol.OpDelete, Version: v, Op: w.OpID}
	if o := ob.byID[w.Object]; o != nil {
		rec.Kind, rec.Area, rec.Fields = o.kind, o.area, maps.Clone(o.fields)
	}
	return v, rec, nil
}

// restore puts a stored object back, as at start-up.
func (ob *objects) restore(id string, rec *record) {
	ob.init()
	ob.remember(rec.Op, opResult{version: rec.Version})
	if rec.Deleted {
		return
	}
	o := &object{id: id, kind: rec.Kind, area: rec.Area, version: rec.Version, fields: rec.Fields}
	if o.fields == nil {
		o.fields = make(map[string]msgpack.RawMessage)
	}
	ob.byID[id] = o
	ob.index(o)
}

// apply changes the objects for w and tells the views.
func (ob *objects) apply(room string, w *protocol.Write, lim limits) (uint64, error) {
	ob.init()
	if err := checkValues(w.Fields, lim.maxValue); err != nil {
		return 0, err
	}
	o := ob.byID[w.Object]
	if w.Op == protocol.OpCreate {
		if o != nil {
			return 0, protocol.Errorf(protocol.CodeExists, "object %s exists", w.Object)
		}
		if len(ob.byID) >= lim.maxObjects {
			return 0, protocol.Errorf(protocol.CodeTooMany, "the room holds the limit of %d objects", lim.maxObjects)
		}
		o = &object{id: w.Object, kind: w.Kind, area: w.Area, fields: make(map[string]msgpack.RawMessage)}
		if err := applyFields(o.fields, w.Fields, nil, lim.maxFields); err != nil {
			return 0, err
		}
		ob.byID[o.id] = o
		ob.index(o)
		ob.changed(room, o, "", w)
		return o.version, nil
	}
	switch {
	case o == nil:
		return 0, protocol.Errorf(protocol.CodeNotFound, "no object %s", w.Object)
	case w.Expect != 0 && w.Expect != o.version:
		return 0, protocol.Errorf(protocol.CodeStale, "object %s is at version %d, not %d", w.Object, o.version, w.Expect)
	}
	old := o.area
	switch w.Op {
	case protocol.OpUpdate:
		if err := applyFields(o.fields, w.Fields, w.Delete, lim.maxFields); err != nil {
			return 0, err
		}
	case protocol.OpMove:
		if w.Area == o.area {
			return o.version, nil
		}
		delete(ob.byArea[o.area], o.id)
		if len(ob.byArea[o.area]) == 0 {
			delete(ob.byArea, o.area)
		}
		o.area = w.Area
		ob.index(o)
	case protocol.OpDelete:
		delete(ob.byID, o.id)
		delete(ob.byArea[o.area], o.id)
		if len(ob.byArea[o.area]) == 0 {
			delete(ob.byArea, o.area)
		}
	}
	ob.changed(room, o, old, w)
	return o.version, nil
}

func (ob *objects) index(o *object) {
	if ob.byArea[o.area] == nil {
		ob.byArea[o.area] = make(map[string]*object)
	}
	ob.byArea[o.area][o.id] = o
}

// applyFields removes del, then stores set, if the result keeps within max
// fields.
func applyFields(fields map[string]msgpack.RawMessage, set []protocol.Entry, del []string, max int) error {
	m := &member{entries: fields}
	return m.apply(set, del, max)
}

// changed bumps o's version and queues the frame each affected view needs.
// from is o's area before a move ("" otherwise).
func (ob *objects) changed(room string, o *object, from string, w *protocol.Write) {
	o.version++
	deleted := w.Op == protocol.OpDelete
	var targets []*view
	for _, a := range []string{from, o.area} {
		for v := range ob.watch[a] {
			if !slices.Contains(targets, v) {
				targets = append(targets, v)
			}
		}
	}
	frames := make(map[protocol.ObjectEvent][]byte, 2)
	frame := func(ev protocol.ObjectEvent) []byte {
		if b, ok := frames[ev]; ok {
			return b
		}
		m := &protocol.Object{Room: room, Event: ev, Object: o.id, Version: o.version}
		switch ev {
		case protocol.ObjectPut:
			m = o.put(room)
		case protocol.ObjectUpdate:
			m.Fields, m.Delete = w.Fields, w.Delete
		case protocol.ObjectMove:
			m.Area = o.area
		}
		b, err := protocol.Encode(m)
		if err != nil {
			panic("bug: object frame does not encode: " + err.Error())
		}
		frames[ev] = b
		return b
	}
	for _, v := range targets {
		_, had := v.held[o.id]
		sees := !deleted && v.areas[o.area]
		var ev protocol.ObjectEvent
		switch {
		case had && deleted:
			ev = protocol.ObjectDelete
		case had && sees && w.Op == protocol.OpMove:
			ev = protocol.ObjectMove
		case had && sees:
			ev = protocol.ObjectUpdate
		case !had && sees:
			ev = protocol.ObjectPut
		case had && !sees:
			ev = protocol.ObjectRemove
		default:
			continue
		}
		if sees {
			v.held[o.id] = o.version
		} else {
			delete(v.held, o.id)
		}
		v.c.send(frame(ev))
	}
}
