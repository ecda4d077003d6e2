package client

import (
	"context"
	"maps"
	"slices"
	"sync/atomic"

	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// Object is one object in the client's cache of a room.
type Object struct {
	ID, Kind, Area string
	Version        uint64
	Fields         map[string]msgpack.RawMessage
}

// Get decodes field into v.
func (o Object) Get(field string, v any) error {
	return Member{Client: o.ID, Values: o.Fields}.Get(field, v)
}

// WriteOptions refine an object write. A nil *WriteOptions means none.
type WriteOptions struct {
	// Expect makes the write compare-and-set: it applies only if the
	// object is at this version, else fails with protocol.CodeStale.
	Expect uint64
	// Delete lists fields to remove (Update only).
	Delete []string
}

// objectCache is a room's subscribed areas and cached objects. It is
// guarded by the room's mutex.
type objectCache struct {
	areas map[string]bool
	byID  map[string]*Object

	// During a resync after reconnect: ids put since the rejoin, and the
	// request id of the Sub whose answer ends the resync.
	resync   map[string]bool
	resyncID uint32
}

func (oc *objectCache) init() {
	if oc.byID == nil {
		oc.areas = make(map[string]bool)
		oc.byID = make(map[string]*Object)
	}
}

// resubscribe queues, on a fresh session, a Sub for every area, and starts
// a resync. The caller holds the room's mutex.
func (oc *objectCache) resubscribe(ctx context.Context, s *session, room string, events *eventQueue, resyncs *atomic.Int32) error {
	if len(oc.areas) == 0 {
		// Nothing to ask for: whatever is cached is out of view now.
		for _, oid := range slices.Sorted(maps.Keys(oc.byID)) {
			events.push(Event{Kind: EventObjectRemove, Room: room, Object: oid, Version: oc.byID[oid].Version})
			delete(oc.byID, oid)
		}
		return nil
	}
	id, _ := s.request()
	if err := s.send(ctx, &protocol.Sub{ID: id, Room: room, Add: slices.Sorted(maps.Keys(oc.areas))}); err != nil {
		s.forget(id)
		return err
	}
	if oc.resync == nil {
		resyncs.Add(1)
	}
	oc.resync, oc.resyncID = make(map[string]bool), id
	return nil
}

// endResync is called by the reader for every OK from s: the one that
// answers the rejoin's Sub ends the resync, dropping every cached object
// the fresh snapshot did not contain. Running in the reader, it happens
// before any later frame is applied.
func (r *Room) endResync(s *session, id uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.objs.resync == nil || r.objs.resyncID != id || r.sess != s {
		return
	}
	for _, oid := range slices.Sorted(maps.Keys(r.objs.byID)) {
		if !r.objs.resync[oid] {
			o := r.objs.byID[oid]
			delete(r.objs.byID, oid)
			r.c.events.push(Event{Kind: EventObjectRemove, Room: r.name, Object: oid, Version: o.Version})
		}
	}
	r.objs.resync = nil
	r.c.resyncs.Add(-1)
}

// Subscribe changes the areas whose objects this client receives: first
// remove, then add. It returns once the objects of the added areas are in
// [Room.Objects] (their put events queued) and those of the removed areas
// are gone. The set survives reconnects.
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
	return r.commit(ctx, func(id uint32) protocol.Message {
		return &protocol.Sub{ID: id, Room: r.name, Add: add, Remove: remove}
	}, func() {
		r.mu.Lock()
		r.objs.areas = prev
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

// Create creates object id of kind in area with fields (encoded as
// msgpack) and returns its version, 1.
func (r *Room) Create(ctx context.Context, id, kind, area string, fields map[string]any) (uint64, error) {
	es, err := r.c.encodeEntries(fields)
	if err != nil {
		return 0, err
	}
	return r.writeObject(ctx, &protocol.Write{Op: protocol.OpCreate, Object: id, Kind: kind, Area: area, Fields: es}, nil)
}

// Update stores fields of object id (last writer wins per field) and
// removes opts.Delete. It returns the new version.
func (r *Room) Update(ctx context.Context, id string, fields map[string]any, opts *WriteOptions) (uint64, error) {
	es, err := r.c.encodeEntries(fields)
	if err != nil {
		return 0, err
	}
	w := &protocol.Write{Op: protocol.OpUpdate, Object: id, Fields: es}
	if opts != nil {
		w.Delete = opts.Delete
	}
	return r.writeObject(ctx, w, opts)
}

// Move moves object id to area and returns the new version.
func (r *Room) Move(ctx context.Context, id, area string, opts *WriteOptions) (uint64, error) {
	return r.writeObject(ctx, &protocol.Write{Op: protocol.OpMove, Object: id, Area: area}, opts)
}

// DeleteObject deletes object id.
func (r *Room) DeleteObject(ctx context.Context, id string, opts *WriteOptions) error {
	_, err := r.writeObject(ctx, &protocol.Write{Op: protocol.OpDelete, Object: id}, opts)
	return err
}

// writeObject sends w on the room's session once it is joined, and waits
// for the answer. While disconnected the write waits (bounded by ctx) and
// goes out after the rejoin; one whose answer was lost with the connection
// is sent again with the same op id, which the server applies at most once.
func (r *Room) writeObject(ctx context.Context, w *protocol.Write, opts *WriteOptions) (uint64, error) {
	w.Room = r.name
	if opts != nil {
		w.Expect = opts.Expect
	}
	w.ID = 1
	w.OpID = r.c.nextOpID()
	if b, err := protocol.Encode(w); err != nil {
		return 0, err
	} else if _, err := protocol.Decode(b); err != nil {
		return 0, err
	}
	for {
		r.mu.Lock()
		s, closed := r.sess, r.closed
		if closed == nil && r.observer {
			closed = protocol.Errorf(protocol.CodeReadOnly, "observers cannot write")
		}
		if closed != nil || s == nil || !s.alive() {
			r.mu.Unlock()
			if closed != nil {
				return 0, closed
			}
			if err := r.waitRejoined(ctx, s); err != nil {
				return 0, err
			}
			continue
		}
		id, ch := s.request()
		w.ID = id
		err := s.send(ctx, w)
		r.mu.Unlock()
		if err == errSessionLost {
			s.forget(id)
			continue // not sent: try on the next session
		}
		if err != nil {
			s.forget(id)
			return 0, err
		}
		v, err := awaitVersion(ctx, s, id, ch)
		if err == errSessionLost {
			continue // resend, same op id
		}
		return v, err
	}
}

func awaitVersion(ctx context.Context, s *session, id uint32, ch chan protocol.Message) (uint64, error) {
	defer s.forget(id)
	select {
	case m := <-ch:
		switch m := m.(type) {
		case *protocol.Error:
			return 0, m
		case *protocol.OK:
			return m.Version, nil
		}
		return 0, nil
	case <-s.done:
		return 0, errSessionLost
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// applyObject applies one Object frame from s and queues its event.
func (r *Room) applyObject(s *session, m *protocol.Object) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.joined != s || r.closed != nil {
		return
	}
	r.objs.init()
	ev := Event{Room: r.name, Object: m.Object, Area: m.Area, Version: m.Version, Deleted: m.Delete}
	if len(m.Fields) > 0 {
		ev.Set = make(map[string]msgpack.RawMessage, len(m.Fields))
		for _, e := range m.Fields {
			ev.Set[e.Key] = e.Value
		}
	}
	o := r.objs.byID[m.Object]
	switch m.Event {
	case protocol.ObjectPut:
		if r.objs.resync != nil {
			r.objs.resync[m.Object] = true
		}
		if o != nil && o.Version == m.Version && o.Area == m.Area {
			return // unchanged across a reconnect
		}
		fields := ev.Set
		if fields == nil {
			fields = make(map[string]msgpack.RawMessage)
		}
		r.objs.byID[m.Object] = &Object{ID: m.Object, Kind: m.Kind, Area: m.Area, Version: m.Version, Fields: maps.Clone(fields)}
		ev.Kind = EventObjectPut
	case protocol.ObjectUpdate:
		if o == nil {
			return
		}
		for _, k := range m.Delete {
			delete(o.Fields, k)
		}
		maps.Copy(o.Fields, ev.Set)
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
		delete(r.objs.byID, m.Object)
		ev.Kind = EventObjectRemove
		if m.Event == protocol.ObjectDelete {
			ev.Kind = EventObjectDelete
		}
	}
	r.c.events.push(ev)
}
