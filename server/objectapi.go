package server

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// ObjectState is one object as the server holds it.
type ObjectState struct {
	ID, Kind, Area string
	Version        uint64
	Fields         map[string]msgpack.RawMessage
}

// Snapshot returns every object of a room, sorted by id.
func (s *Server) Snapshot(room string) []ObjectState {
	r := s.lockRoom(room, false)
	if r == nil {
		return nil
	}
	defer s.unlockRoom(r)
	out := make([]ObjectState, 0, len(r.objs.byID))
	for _, id := range slices.Sorted(maps.Keys(r.objs.byID)) {
		o := r.objs.byID[id]
		out = append(out, ObjectState{ID: o.id, Kind: o.kind, Area: o.area, Version: o.version, Fields: maps.Clone(o.fields)})
	}
	return out
}

// Write applies w on behalf of server code, as if a participant had sent
// it (its ID is ignored); creating an object creates its room if needed.
// It returns the object's new version, after storing the write when the
// server has a DataDir. Once Shutdown has begun it fails with
// protocol.CodeShutdown, so that every write it acknowledged is stored.
func (s *Server) Write(w *protocol.Write) (uint64, error) {
	b, err := protocol.Encode(withID(w))
	if err != nil {
		return 0, err
	}
	if _, err := protocol.Decode(b); err != nil {
		return 0, err
	}
	if err := s.unclustered("objects"); err != nil {
		return 0, err
	}
	if !s.enter() {
		return 0, protocol.Errorf(protocol.CodeShutdown, "server shutting down")
	}
	defer s.wg.Done()
	// In a cluster the room may hold objects written through another
	// node while this one has not opened it: open it, and the room log
	// decides (a NotFound from the log frees the empty room later).
	r := s.lockRoom(w.Room, w.Op == protocol.OpCreate || s.bus != nil)
	if r == nil {
		return 0, protocol.Errorf(protocol.CodeNotFound, "no object %s in room %s", w.Object, w.Room)
	}
	return s.applyWrite(r, w)
}

// withID returns w with a request id, which frame validation wants.
func withID(w *protocol.Write) *protocol.Write {
	c := *w
	if c.ID == 0 {
		c.ID = 1
	}
	return &c
}

// Objects gives server code typed access to the objects of one kind in one
// room: T is a struct whose msgpack tags name the fields. A world
// simulation ticking on the server mutates its objects through it; only
// the fields that change travel to clients.
type Objects[T any] struct {
	s          *Server
	room, kind string
}

// NewObjects returns typed access to the objects of kind in room.
func NewObjects[T any](s *Server, room, kind string) *Objects[T] {
	return &Objects[T]{s: s, room: room, kind: kind}
}

// Create adds object id in area with v's fields.
func (o *Objects[T]) Create(id, area string, v *T) (uint64, error) {
	fields, err := toFields(v)
	if err != nil {
		return 0, err
	}
	return o.s.Write(&protocol.Write{Room: o.room, Op: protocol.OpCreate, Object: id, Kind: o.kind, Area: area, Fields: fields})
}

// Get returns object id decoded into a T, with its area and version.
func (o *Objects[T]) Get(id string) (v T, area string, version uint64, err error) {
	st, err := o.state(id)
	if err != nil {
		return v, "", 0, err
	}
	err = fromFields(st.Fields, &v)
	return v, st.Area, st.Version, err
}

// Update applies fn to object id and writes the fields that changed,
// retrying if another writer got in between (compare-and-set on the
// version). It returns the new version, or the old one if nothing changed.
func (o *Objects[T]) Update(id string, fn func(*T)) (uint64, error) {
	for range 16 {
		st, err := o.state(id)
		if err != nil {
			return 0, err
		}
		var v T
		if err := fromFields(st.Fields, &v); err != nil {
			return 0, err
		}
		fn(&v)
		next, err := toFields(&v)
		if err != nil {
			return 0, err
		}
		w := &protocol.Write{Room: o.room, Op: protocol.OpUpdate, Object: id, Expect: st.Version}
		have := make(map[string]bool, len(next))
		for _, e := range next {
			have[e.Key] = true
			if !bytes.Equal(st.Fields[e.Key], e.Value) {
				w.Fields = append(w.Fields, e)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(st.Fields)) {
			if !have[k] {
				w.Delete = append(w.Delete, k)
			}
		}
		if len(w.Fields) == 0 && len(w.Delete) == 0 {
			return st.Version, nil
		}
		ver, err := o.s.Write(w)
		if protocol.ErrorCode(err) != protocol.CodeStale {
			return ver, err
		}
	}
	return 0, protocol.Errorf(protocol.CodeStale, "object %s kept changing under 16 updates", id)
}

// Move moves object id to area.
func (o *Objects[T]) Move(id, area string) (uint64, error) {
	return o.s.Write(&protocol.Write{Room: o.room, Op: protocol.OpMove, Object: id, Area: area})
}

// Delete deletes object id.
func (o *Objects[T]) Delete(id string) error {
	_, err := o.s.Write(&protocol.Write{Room: o.room, Op: protocol.OpDelete, Object: id})
	return err
}

func (o *Objects[T]) state(id string) (ObjectState, error) {
	r := o.s.lockRoom(o.room, false)
	if r == nil {
		return ObjectState{}, protocol.Errorf(protocol.CodeNotFound, "no object %s", id)
	}
	defer o.s.unlockRoom(r)
	ob := r.objs.byID[id]
	if ob == nil || ob.kind != o.kind {
		return ObjectState{}, protocol.Errorf(protocol.CodeNotFound, "no %s object %s", o.kind, id)
	}
	return ObjectState{ID: ob.id, Kind: ob.kind, Area: ob.area, Version: ob.version, Fields: maps.Clone(ob.fields)}, nil
}

// toFields encodes a struct as fields, sorted by name.
func toFields(v any) ([]protocol.Entry, error) {
	b, err := msgpack.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]msgpack.RawMessage
	if err := msgpack.Unmarshal(b, &m); err != nil {
		return nil, errors.New("server: an object must encode as a map (a struct or map type)")
	}
	out := make([]protocol.Entry, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, protocol.Entry{Key: k, Value: m[k]})
	}
	return out, nil
}

// fromFields decodes fields into v.
func fromFields(fields map[string]msgpack.RawMessage, v any) error {
	b, err := msgpack.Marshal(fields)
	if err != nil {
		return err
	}
	if err := msgpack.Unmarshal(b, v); err != nil {
		return fmt.Errorf("server: decode object: %w", err)
	}
	return nil
}
