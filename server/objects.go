package server

import (
	"maps"
	"slices"
	"time"

	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// object is one object of a room. The server is its authority.
type object struct {
	id, kind, area string
	version        uint64
	fields         map[string]msgpack.RawMessage
}

// put returns the frame that carries o whole, at room offset seq.
func (o *object) put(room string, seq uint64) *protocol.Object {
	return &protocol.Object{Room: room, Event: protocol.ObjectPut, Object: o.id, Kind: o.kind,
		Area: o.area, Version: o.version, Fields: sortedEntries(o.fields), Offset: seq}
}

// objects is a room's objects, indexed by id and area, and the views that
// watch each area. Its methods are called with the room's lock held.
type objects struct {
	byID   map[string]*object
	byArea map[string]map[string]*object
	views  map[*conn]*view
	watch  map[string]map[*view]bool // area → views subscribed to it
	seq    uint64                    // the room's offset: counts its object writes in this epoch
	bytes  int64                     // its objects' cost (see objectCost)
	log    changeLog                 // recent changes, for resume
	done   map[string]opResult       // answers to recent client op ids
	order  []string                  // op ids in done, oldest first
	// doneBytes is done's cost (see opCost), for the budgets.
	doneBytes int64

	compacted uint64 // the store holds no change at or below this offset
}

// opResult is the first answer to a client op id, and the time (unix
// milliseconds, the write's clock) it was given.
type opResult struct {
	version uint64
	err     error
	at      int64
}

// maxRememberedOps bounds the op ids a room remembers, whatever their age.
const maxRememberedOps = 100_000

// opCost is what remembering an op id costs in the budgets of objects.
func opCost(op string) int64 { return int64(len(op)) + entryOverhead }

// remember keeps the answer to op, given at time at, and forgets op ids
// answered more than lim.dedup before it (or beyond maxRememberedOps): a
// write resent within the window applies once, however many writes came
// between. In a cluster at is the writer's clock, which every node applies
// with, so every node remembers the same op ids.
func (ob *objects) remember(op string, res opResult, at int64, lim limits) {
	if op == "" {
		return
	}
	if ob.done == nil {
		ob.done = make(map[string]opResult)
	}
	res.at = at
	if _, ok := ob.done[op]; !ok {
		ob.order = append(ob.order, op)
		ob.doneBytes += opCost(op)
	}
	ob.done[op] = res
	for len(ob.order) > 0 {
		old := ob.order[0]
		if len(ob.order) <= maxRememberedOps && ob.done[old].at >= at-lim.dedup.Milliseconds() {
			break
		}
		delete(ob.done, old)
		ob.doneBytes -= opCost(old)
		ob.order = ob.order[1:]
	}
}

func (ob *objects) init() {
	if ob.byID == nil {
		ob.byID = make(map[string]*object)
		ob.byArea = make(map[string]map[string]*object)
		ob.views = make(map[*conn]*view)
		ob.watch = make(map[string]map[*view]bool)
	}
}

// limits bounds what a write may create, and the history kept. maxBytes
// bounds the room's bytes of objects (0: no bound); hold, when set, the
// server's (a write from another node's log is not refused for it).
type limits struct {
	maxObjects, maxFields, maxValue, history int
	maxBytes                                 int64
	hold                                     *holdings
	dedup                                    time.Duration // how long an op id is remembered
}

// write applies one Write at time now (unix milliseconds) and tells every
// view that must know. It returns the object's new version and, when the
// write changed something, the record to store and the logged change.
//
// A write whose op id was seen before is not applied again: the first
// answer is returned, with a nil record.
func (ob *objects) write(room string, w *protocol.Write, lim limits, now int64) (uint64, *record, *change, error) {
	if res, ok := ob.done[w.OpID]; ok && w.OpID != "" {
		return res.version, nil, nil, res.err
	}
	v, ch, err := ob.apply(room, w, lim, now)
	ob.remember(w.OpID, opResult{version: v, err: err}, now, lim)
	if err != nil || ch == nil {
		return v, nil, nil, err
	}
	ob.log.append(*ch, lim.history)
	rec := &record{Seq: ch.Seq, Deleted: w.Op == protocol.OpDelete, Version: v, Op: w.OpID}
	if o := ob.byID[w.Object]; o != nil {
		rec.Kind, rec.Area, rec.Fields = o.kind, o.area, maps.Clone(o.fields)
	}
	return v, rec, ch, nil
}

// restore puts a stored object back, as at start-up, remembering its last
// op id as answered now.
func (ob *objects) restore(id string, rec *record, lim limits) {
	ob.init()
	ob.seq = max(ob.seq, rec.Seq)
	ob.remember(rec.Op, opResult{version: rec.Version}, time.Now().UnixMilli(), lim)
	if rec.Deleted {
		return
	}
	o := &object{id: id, kind: rec.Kind, area: rec.Area, version: rec.Version, fields: rec.Fields}
	if o.fields == nil {
		o.fields = make(map[string]msgpack.RawMessage)
	}
	ob.byID[id] = o
	ob.index(o)
	ob.bytes += objectCost(o)
}

// apply changes the objects for w and tells the views. It returns the
// change it made, or nil for a move to the area the object is in.
func (ob *objects) apply(room string, w *protocol.Write, lim limits, now int64) (uint64, *change, error) {
	ob.init()
	o, cost, err := ob.precheck(w, lim)
	if err != nil {
		return 0, nil, err
	}
	ch := &change{At: now, ID: w.Object, Op: w.Op, OpID: w.OpID}
	if w.Op == protocol.OpCreate {
		o = &object{id: w.Object, kind: w.Kind, area: w.Area, fields: make(map[string]msgpack.RawMessage)}
		if err := applyFields(o.fields, w.Fields, nil, lim.maxFields); err != nil {
			return 0, nil, err
		}
		ob.byID[o.id] = o
		ob.index(o)
		ob.bytes += cost
		ob.changed(room, o, "", w, ch)
		return o.version, ch, nil
	}
	old := o.area
	ch.Existed, ch.Area = true, old
	switch w.Op {
	case protocol.OpUpdate:
		if err := applyFields(o.fields, w.Fields, w.Delete, lim.maxFields); err != nil {
			return 0, nil, err
		}
		ch.Keys = make([]string, 0, len(w.Fields)+len(w.Delete))
		for _, e := range w.Fields {
			ch.Keys = append(ch.Keys, e.Key)
		}
		ch.Keys = append(ch.Keys, w.Delete...)
	case protocol.OpMove:
		if w.Area == o.area {
			return o.version, nil, nil
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
	ob.bytes += cost
	ob.changed(room, o, old, w, ch)
	return o.version, ch, nil
}

// precheck returns the object w is about and how many bytes w would add
// to the room's objects, after the checks that need no change made: value
// sizes, existence, the object limit, the expected version, and the room's
// and the server's bytes of objects. The field limit is checked as the
// fields are applied.
func (ob *objects) precheck(w *protocol.Write, lim limits) (*object, int64, error) {
	if err := checkValues(w.Fields, lim.maxValue); err != nil {
		return nil, 0, err
	}
	o := ob.byID[w.Object]
	switch {
	case w.Op == protocol.OpCreate && o != nil:
		return nil, 0, protocol.Errorf(protocol.CodeExists, "object %s exists", w.Object)
	case w.Op == protocol.OpCreate && len(ob.byID) >= lim.maxObjects:
		return nil, 0, protocol.Errorf(protocol.CodeTooMany, "the room holds the limit of %d objects", lim.maxObjects)
	case w.Op != protocol.OpCreate && o == nil:
		return nil, 0, protocol.Errorf(protocol.CodeNotFound, "no object %s", w.Object)
	case w.Op != protocol.OpCreate && w.Expect != 0 && w.Expect != o.version:
		return nil, 0, protocol.Errorf(protocol.CodeStale, "object %s is at version %d, not %d", w.Object, o.version, w.Expect)
	}
	var cost int64
	switch w.Op {
	case protocol.OpCreate:
		cost = objectCost(&object{id: w.Object, kind: w.Kind, area: w.Area}) + costDelta(nil, w.Fields, nil)
	case protocol.OpUpdate:
		cost = costDelta(o.fields, w.Fields, w.Delete)
	case protocol.OpMove:
		cost = int64(len(w.Area) - len(o.area))
	case protocol.OpDelete:
		cost = -objectCost(o)
	}
	if cost > 0 && lim.maxBytes > 0 && ob.cost()+cost > lim.maxBytes {
		return nil, 0, protocol.Errorf(protocol.CodeTooMany, "the room would hold %d bytes of objects and history, over its limit of %d", ob.cost()+cost, lim.maxBytes)
	}
	if lim.hold != nil {
		if err := lim.hold.overObjects(cost); err != nil {
			return nil, 0, err
		}
	}
	return o, cost, nil
}

// cost is what the room's objects and their history cost in the budgets.
func (ob *objects) cost() int64 { return ob.bytes + ob.log.bytes + ob.doneBytes }

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

// changed bumps o's version and the room's offset, fills in ch, and
// queues the frame each affected view needs. from is o's area before the
// write ("" for a create).
func (ob *objects) changed(room string, o *object, from string, w *protocol.Write, ch *change) {
	o.version++
	ob.seq++
	ch.Seq, ch.Version = ob.seq, o.version
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
		m := &protocol.Object{Room: room, Event: ev, Object: o.id, Version: o.version, Offset: ob.seq}
		switch ev {
		case protocol.ObjectPut:
			m = o.put(room, ob.seq)
		case protocol.ObjectUpdate:
			m.Fields, m.Delete = w.Fields, w.Delete
		case protocol.ObjectMove:
			m.Area = o.area
		}
		b := encode(m)
		frames[ev] = b
		return b
	}
	for _, v := range targets {
		if v.pending[o.id] {
			if !deleted {
				continue // fill sends its state when it comes to it
			}
			delete(v.pending, o.id) // a delete is told at once: fill could not give its version
		}
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
