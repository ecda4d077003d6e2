package client

import (
	"bytes"
	"context"
	"maps"
	"slices"

	"github.com/synkhq/synk/protocol"
)

// Object is one object in the client's cache of a room.
type Object struct {
	ID, Kind, Area string
	Version        uint64
	Fields         map[string]protocol.RawMessage
}

// objectCache is a room's subscribed areas and cached objects, and what
// resuming after a disconnect needs: the position the cache is at and the
// areas it holds as of that position. It is guarded by the room's mutex.
type objectCache struct {
	areas map[string]bool // wanted: the sum of every Subscribe
	byID  map[string]*Object

	// The cache holds the server's objects in confirmed as of pos, or
	// newer: applying a change twice is harmless, since every frame
	// carries absolute values.
	pos       protocol.Position
	confirmed map[string]bool
	subs      map[uint32][]string // unanswered Subs on the room's session: the areas they touch

	// Between a rejoin's Sub and its answer: the ids put since, and the
	// Sub's request id.
	resyncing bool
	resynced  map[string]bool
	resyncID  uint32

	dirty     map[string]bool // objects whose stored copy is out of date
	metaDirty bool            // pos, areas or confirmed changed since the last flush
}

func (oc *objectCache) init() {
	if oc.byID == nil {
		oc.areas = make(map[string]bool)
		oc.byID = make(map[string]*Object)
		oc.confirmed = make(map[string]bool)
		oc.subs = make(map[uint32][]string)
		oc.dirty = make(map[string]bool)
	}
}

// held returns the areas whose objects the cache holds for sure as of pos:
// confirmed by the server, untouched by a Sub still unanswered, and still
// wanted.
func (oc *objectCache) held() []string {
	uncertain := make(map[string]bool)
	for _, as := range oc.subs {
		for _, a := range as {
			uncertain[a] = true
		}
	}
	var out []string
	for _, a := range slices.Sorted(maps.Keys(oc.confirmed)) {
		if oc.areas[a] && !uncertain[a] {
			out = append(out, a)
		}
	}
	return out
}

// drop removes object id from the cache and queues its removal event.
func (r *Room) drop(id string) {
	o := r.objs.byID[id]
	delete(r.objs.byID, id)
	r.objs.dirty[id] = true
	r.c.events.push(Event{Kind: EventObjectRemove, Room: r.name, Object: id, Version: o.Version})
}

// resubscribe queues, on a fresh session s, a Sub for every wanted area:
// a resume from the cache's position if it has one, else a plain one. The
// caller holds r.mu.
func (r *Room) resubscribe(ctx context.Context, s *session) error {
	oc := &r.objs
	oc.init()
	held := oc.held()
	clear(oc.subs)
	oc.metaDirty = true
	if len(oc.areas) == 0 {
		// Nothing to ask for: whatever is cached is out of view now.
		for _, id := range slices.Sorted(maps.Keys(oc.byID)) {
			r.drop(id)
		}
		oc.pos, oc.confirmed, oc.resyncing = protocol.Position{}, make(map[string]bool), false
		return nil
	}
	sub := &protocol.Sub{Room: r.name, Add: slices.Sorted(maps.Keys(oc.areas))}
	touched := sub.Add
	if oc.pos.Epoch != 0 {
		keep := make(map[string]bool, len(held))
		for _, a := range held {
			keep[a] = true
		}
		for _, id := range slices.Sorted(maps.Keys(oc.byID)) {
			if !keep[oc.byID[id].Area] {
				r.drop(id)
			}
		}
		pos := oc.pos
		sub.From, sub.Held = &pos, held
		oc.confirmed = keep
		touched = slices.DeleteFunc(slices.Clone(sub.Add), func(a string) bool { return keep[a] })
	} else {
		oc.confirmed = make(map[string]bool)
	}
	id, _ := s.request(func(m protocol.Message) { r.subAnswered(s, sub, m) })
	sub.ID = id
	if err := s.send(ctx, sub); err != nil {
		s.forget(id)
		return err
	}
	oc.subs[id] = touched
	oc.resyncing, oc.resynced, oc.resyncID = true, make(map[string]bool), id
	return nil
}

// subAnswered runs in the reader on the answer to a Sub sent on s, before
// any later frame: the server's view of this client is now the Sub's.
func (r *Room) subAnswered(s *session, sub *protocol.Sub, m protocol.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sess != s || r.closed != nil {
		return
	}
	oc := &r.objs
	delete(oc.subs, sub.ID)
	ok, _ := m.(*protocol.OK)
	if oc.resyncing && sub.ID == oc.resyncID {
		oc.resyncing = false
		if ok == nil || !ok.Resumed {
			// A snapshot (or nothing, if refused): what it did not put
			// again is gone.
			for _, id := range slices.Sorted(maps.Keys(oc.byID)) {
				if !oc.resynced[id] {
					r.drop(id)
				}
			}
			if sub.From != nil {
				r.c.events.push(Event{Kind: EventObjectsReset, Room: r.name})
			}
		}
		oc.resynced = nil
	}
	if ok == nil {
		return // refused: the view did not change
	}
	for _, a := range sub.Remove {
		delete(oc.confirmed, a)
	}
	for _, a := range sub.Add {
		oc.confirmed[a] = true
	}
	oc.pos = protocol.Position{Epoch: ok.Epoch, Offset: ok.Offset}
	oc.metaDirty = true
}

// Subscribe changes the areas whose objects this client receives: first
// remove, then add. It returns once the objects of the added areas are in
// [Room.Objects] (their put events queued) and those of the removed areas
// are gone. The set survives reconnects, and restarts with a [Store].
func (r *Room) Subscribe(ctx context.Context, add, remove []string) error {
	for _, a := range slices.Concat(add, remove) {
		if err := protocol.CheckKey(a); err != nil {
			return err
		}
	}
	if len(add) == 0 && len(remove) == 0 {
		return nil
	}
	r.mu.Lock()
	if r.closed != nil {
		r.mu.Unlock()
		return r.closed
	}
	r.objs.init()
	prev := maps.Clone(r.objs.areas)
	for _, a := range remove {
		delete(r.objs.areas, a)
	}
	for _, a := range add {
		r.objs.areas[a] = true
	}
	r.objs.metaDirty = true
	var sub *protocol.Sub
	return r.commit(ctx, func(s *session) (uint32, chan protocol.Message) {
		sub = &protocol.Sub{Room: r.name, Add: add, Remove: remove}
		id, ch := s.request(func(m protocol.Message) { r.subAnswered(s, sub, m) })
		sub.ID = id
		r.objs.subs[id] = slices.Concat(add, remove)
		return id, ch
	}, func() protocol.Message { return sub }, func() {
		r.mu.Lock()
		r.objs.areas = prev
		r.objs.metaDirty = true
		r.mu.Unlock()
	})
}

// Objects returns the cached objects, sorted by id.
func (r *Room) Objects() []Object {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Object, 0, len(r.objs.byID))
	for _, id := range slices.Sorted(maps.Keys(r.objs.byID)) {
		out = append(out, cloneObject(r.objs.byID[id]))
	}
	return out
}

// Object returns the cached object id.
func (r *Room) Object(id string) (Object, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	o, ok := r.objs.byID[id]
	if !ok {
		return Object{}, false
	}
	return cloneObject(o), true
}

func cloneObject(o *Object) Object {
	c := *o
	c.Fields = maps.Clone(o.Fields)
	return c
}

// applyObject applies one Object frame from s and queues its event.
func (r *Room) applyObject(s *session, m *protocol.Object) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.joined != s || r.closed != nil {
		return
	}
	oc := &r.objs
	oc.init()
	if !oc.resyncing && oc.pos.Epoch != 0 && m.Offset > oc.pos.Offset {
		oc.pos.Offset = m.Offset
		oc.metaDirty = true
	}
	ev := Event{Room: r.name, Object: m.Object, Area: m.Area, Version: m.Version, Deleted: m.Delete}
	if len(m.Fields) > 0 {
		ev.Fields = make(map[string]protocol.RawMessage, len(m.Fields))
		for _, e := range m.Fields {
			ev.Fields[e.Key] = e.Value
		}
	}
	o := oc.byID[m.Object]
	switch m.Event {
	case protocol.ObjectPut:
		if oc.resynced != nil {
			oc.resynced[m.Object] = true
		}
		if o != nil && o.Version == m.Version && o.Area == m.Area && o.Kind == m.Kind &&
			maps.EqualFunc(o.Fields, ev.Fields, func(a, b protocol.RawMessage) bool { return bytes.Equal(a, b) }) {
			return // unchanged across a reconnect (a version alone does not say: one deleted and created again starts at 1)
		}
		fields := ev.Fields
		if fields == nil {
			fields = make(map[string]protocol.RawMessage)
		}
		oc.byID[m.Object] = &Object{ID: m.Object, Kind: m.Kind, Area: m.Area, Version: m.Version, Fields: maps.Clone(fields)}
		ev.Kind = EventObjectPut
	case protocol.ObjectUpdate:
		if o == nil {
			return
		}
		for _, k := range m.Delete {
			delete(o.Fields, k)
		}
		maps.Copy(o.Fields, ev.Fields)
		o.Version = m.Version
		ev.Kind, ev.Area = EventObjectUpdate, o.Area
	case protocol.ObjectMove:
		if o == nil {
			return
		}
		o.Area, o.Version = m.Area, m.Version
		ev.Kind = EventObjectMove
	case protocol.ObjectRemove, protocol.ObjectDelete:
		if o == nil {
			return
		}
		delete(oc.byID, m.Object)
		ev.Kind = EventObjectRemove
		if m.Event == protocol.ObjectDelete {
			ev.Kind = EventObjectDelete
		}
	default:
		return
	}
	oc.dirty[m.Object] = true
	r.c.events.push(ev)
}
