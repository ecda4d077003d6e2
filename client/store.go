package client

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/synkhq/synk/internal/wraperr"
	"github.com/synkhq/synk/protocol"
)

// Store keeps, across restarts of a program, what its [Conn] must not
// lose: for each room, the object writes not yet answered, the cached
// objects, the position in the room's change log they are at, and the
// areas subscribed. With a Store, a program that stops while offline
// sends its writes when it next joins the room, and resumes from its
// cache instead of downloading every object again.
//
// [OpenFile] returns a Store in a file; in the browser, synk.js keeps one
// in IndexedDB. A Store serves one Conn at a time.
type Store interface {
	// Load returns every stored key and its value.
	Load(ctx context.Context) (map[string][]byte, error)
	// Apply stores the values of set and deletes the keys of del, all or
	// nothing, durably, before it returns.
	Apply(ctx context.Context, set map[string][]byte, del []string) error
}

// Keys of a Store. Room names cannot hold a NUL byte, nor can object ids
// (they are keys: no control characters).
const (
	prefixRoom   = "m\x00" // + room → storedRoom
	prefixObject = "o\x00" // + room + NUL + object id → storedObject
	prefixWrite  = "w\x00" // + room + NUL + 16 hex digits of seq → Write frame
)

// roomState is what a Store holds for one room.
type roomState struct {
	room     storedRoom
	hasRoom  bool
	objects  map[string]*Object
	writes   []*pendingWrite
	gone     []string // objects to delete from the Store
	answered []uint64 // writes to delete from the Store
}

func objectKey(room, id string) string { return prefixObject + room + "\x00" + id }

func writeKey(room string, seq uint64) string {
	return prefixWrite + room + "\x00" + hex16(seq)
}

// parseState decodes a Store's contents. It returns the highest write
// sequence number, or an error naming the first key it cannot read.
func parseState(kv map[string][]byte) (map[string]*roomState, uint64, error) {
	rooms := make(map[string]*roomState)
	var maxSeq uint64
	for _, k := range slices.Sorted(maps.Keys(kv)) {
		seq, err := parseKey(rooms, k, kv[k])
		if err != nil {
			return nil, 0, wraperr.Prefix("client: store: key "+strconv.Quote(k), err)
		}
		maxSeq = max(maxSeq, seq)
	}
	return rooms, maxSeq, nil
}

// parseKey reads the value v of key k into its room's state in rooms. For
// a stored write it returns the write's sequence number.
func parseKey(rooms map[string]*roomState, k string, v []byte) (uint64, error) {
	prefix, rest, ok := strings.Cut(k, "\x00")
	if !ok {
		return 0, errors.New("unknown key")
	}
	room, sub, _ := strings.Cut(rest, "\x00")
	if err := protocol.CheckRoom(room); err != nil {
		return 0, err
	}
	st := rooms[room]
	if st == nil {
		st = &roomState{objects: make(map[string]*Object)}
		rooms[room] = st
	}
	switch prefix + "\x00" {
	case prefixRoom:
		return 0, st.readRoom(v)
	case prefixObject:
		return 0, st.readObject(sub, v)
	case prefixWrite:
		return st.readWrite(room, sub, k, v)
	}
	return 0, errors.New("unknown key")
}

// readRoom reads the room's position and areas.
func (st *roomState) readRoom(v []byte) error {
	if err := protocol.Check(v, protocol.MaxDepth); err != nil {
		return err
	}
	var err error
	if st.room, err = readRoom(v); err != nil {
		return err
	}
	if err := firstErr(checkKeys(st.room.Held), checkKeys(st.room.Areas)); err != nil {
		return err
	}
	st.hasRoom = true
	return nil
}

// readObject reads the cached object id.
func (st *roomState) readObject(id string, v []byte) error {
	if err := protocol.CheckKey(id); err != nil {
		return err
	}
	if err := protocol.Check(v, protocol.MaxDepth); err != nil {
		return err
	}
	so, err := readObject(v)
	if err != nil {
		return err
	}
	if so.Fields == nil {
		so.Fields = make(map[string]protocol.RawMessage)
	}
	st.objects[id] = &Object{ID: id, Kind: so.Kind, Area: so.Area, Version: so.Version, Fields: so.Fields}
	return nil
}

// readWrite reads an unanswered write of room stored under key with
// sequence number hex. Only the canonical key (16 lowercase hex digits)
// is taken: keys are read in sorted order, which is then each room's write
// order.
func (st *roomState) readWrite(room, hex, key string, v []byte) (uint64, error) {
	seq, err := strconv.ParseUint(hex, 16, 64)
	if err != nil || key != writeKey(room, seq) {
		return 0, errors.New("bad sequence number")
	}
	m, err := protocol.Decode(v)
	if err != nil {
		return 0, err
	}
	w, ok := m.(*protocol.Write)
	if !ok || w.Room != room {
		return 0, errors.New("not a write of this room")
	}
	st.writes = append(st.writes, &pendingWrite{w: *w, seq: seq, done: make(chan struct{})})
	return seq, nil
}

func checkKeys(keys []string) error {
	for _, k := range keys {
		if err := protocol.CheckKey(k); err != nil {
			return err
		}
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// load gives r the state a Store held for it, and queues a put event for
// every object it restores. Objects of areas it was not exact for are
// dropped. The caller holds r.mu, before the room's first Join.
func (r *Room) load(st *roomState) {
	oc := &r.objs
	oc.init()
	for _, a := range st.room.Areas {
		oc.areas[a] = true
	}
	if st.hasRoom && st.room.Epoch != 0 {
		oc.pos = protocol.Position{Epoch: st.room.Epoch, Offset: st.room.Offset}
		for _, a := range st.room.Held {
			oc.confirmed[a] = true
		}
	}
	for _, id := range slices.Sorted(maps.Keys(st.objects)) {
		o := st.objects[id]
		if !oc.confirmed[o.Area] {
			oc.dirty[id] = true // delete it from the store
			continue
		}
		oc.byID[id] = o
		r.c.events.push(Event{Kind: EventObjectPut, Room: r.name, Object: id, Area: o.Area, Version: o.Version, Fields: maps.Clone(o.Fields)})
	}
	for _, pw := range st.writes {
		r.outbox = append(r.outbox, &pendingWrite{w: pw.w, seq: pw.seq, done: make(chan struct{})})
	}
	for _, id := range st.gone {
		oc.dirty[id] = true
	}
	r.answered = append(r.answered, st.answered...)
	oc.metaDirty = true
}

// state returns r's state as a Store would give it back, for a Room that
// joins again after r was closed; objects r had yet to delete from the
// Store come along, to be deleted by the new Room. The caller holds r.mu.
func (r *Room) state() *roomState {
	oc := &r.objs
	oc.init()
	st := &roomState{hasRoom: true, objects: make(map[string]*Object, len(oc.byID)),
		room: storedRoom{Epoch: oc.pos.Epoch, Offset: oc.pos.Offset, Held: oc.held(), Areas: slices.Sorted(maps.Keys(oc.areas))}}
	for id, o := range oc.byID {
		c := cloneObject(o)
		st.objects[id] = &c
	}
	for id := range oc.dirty {
		if st.objects[id] == nil {
			st.gone = append(st.gone, id)
		}
	}
	st.writes = append(st.writes, r.outbox...)
	st.answered = append(st.answered, r.answered...)
	return st
}

// taken is what [Room.changes] took from a room's dirty state, to be given
// back by [Room.redirty] if the Store refuses it.
type taken struct {
	meta     bool
	ids      []string
	answered []uint64
}

// changes returns what the Store lacks of r, and forgets it was dirty.
// The caller holds r.mu.
func (r *Room) changes(set map[string][]byte, del *[]string) taken {
	oc := &r.objs
	oc.init()
	t := taken{meta: oc.metaDirty, ids: slices.Collect(maps.Keys(oc.dirty)), answered: slices.Clone(r.answered)}
	if oc.metaDirty {
		sr := storedRoom{Epoch: oc.pos.Epoch, Offset: oc.pos.Offset, Held: oc.held(), Areas: slices.Sorted(maps.Keys(oc.areas))}
		set[prefixRoom+r.name] = appendRoom(nil, &sr)
		oc.metaDirty = false
	}
	for id := range oc.dirty {
		if o := oc.byID[id]; o != nil {
			set[objectKey(r.name, id)] = appendObject(nil, &storedObject{Kind: o.Kind, Area: o.Area, Version: o.Version, Fields: o.Fields})
		} else {
			*del = append(*del, objectKey(r.name, id))
		}
	}
	clear(oc.dirty)
	for _, seq := range r.answered {
		*del = append(*del, writeKey(r.name, seq))
	}
	r.answered = r.answered[:0]
	return t
}

// redirty gives back what changes took after the Store refused it: the
// objects written and deleted since, the position and the answered writes
// to delete are all still owed.
func (r *Room) redirty(t taken) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.objs.init()
	r.objs.metaDirty = r.objs.metaDirty || t.meta
	for _, id := range t.ids {
		r.objs.dirty[id] = true
	}
	r.answered = append(r.answered, t.answered...)
}

// allKeys returns every key the Store may hold for r. The caller holds
// r.mu.
func (r *Room) allKeys() []string {
	keys := []string{prefixRoom + r.name}
	for id := range r.objs.byID {
		keys = append(keys, objectKey(r.name, id))
	}
	for id := range r.objs.dirty {
		keys = append(keys, objectKey(r.name, id))
	}
	for _, pw := range r.outbox {
		keys = append(keys, writeKey(r.name, pw.seq))
	}
	for _, seq := range r.answered {
		keys = append(keys, writeKey(r.name, seq))
	}
	return keys
}

// nextWriteSeq numbers a new write of this Conn.
func (c *Conn) nextWriteSeq() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writeSeq++
	return c.writeSeq
}

// storeWrite stores a new write before it is queued.
func (c *Conn) storeWrite(ctx context.Context, pw *pendingWrite) error {
	if c.opts.Store == nil {
		return nil
	}
	b, err := protocol.Encode(&pw.w)
	if err != nil {
		return err
	}
	c.storeMu.Lock()
	defer c.storeMu.Unlock()
	if err := c.opts.Store.Apply(ctx, map[string][]byte{writeKey(pw.w.Room, pw.seq): b}, nil); err != nil {
		return wraperr.Prefix("client: store the write", err)
	}
	return nil
}

// unstoreWrite deletes a stored write that was never queued.
func (c *Conn) unstoreWrite(pw *pendingWrite) {
	if c.opts.Store == nil {
		return
	}
	c.storeMu.Lock()
	defer c.storeMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.opts.Store.Apply(ctx, nil, []string{writeKey(pw.w.Room, pw.seq)})
}

// flush writes what changed in the persisted rooms to the Store.
func (c *Conn) flush(ctx context.Context) error {
	c.storeMu.Lock()
	defer c.storeMu.Unlock()
	c.mu.Lock()
	rooms := slices.Collect(maps.Values(c.persist))
	c.mu.Unlock()
	set := make(map[string][]byte)
	var del []string
	took := make([]taken, len(rooms))
	for i, r := range rooms {
		r.mu.Lock()
		took[i] = r.changes(set, &del)
		r.mu.Unlock()
	}
	if len(set) == 0 && len(del) == 0 {
		return nil
	}
	if err := c.opts.Store.Apply(ctx, set, del); err != nil {
		for i, r := range rooms {
			r.redirty(took[i])
		}
		return wraperr.Prefix("client: store", err)
	}
	return nil
}

// flushLoop flushes every FlushInterval, and when the connection drops,
// until the Conn closes.
func (c *Conn) flushLoop() {
	defer c.wg.Done()
	t := time.NewTicker(c.opts.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-c.flushNow:
		case <-c.ctx.Done():
			return
		}
		_ = c.flush(c.ctx) // retried at the next tick, reported by Close
	}
}

// forgetRoom deletes r's state from the Store: it was left on purpose.
func (c *Conn) forgetRoom(ctx context.Context, r *Room) error {
	if c.opts.Store == nil {
		return nil
	}
	c.storeMu.Lock()
	defer c.storeMu.Unlock()
	c.mu.Lock()
	delete(c.persist, r.name)
	c.mu.Unlock()
	r.mu.Lock()
	keys := r.allKeys()
	r.mu.Unlock()
	if err := c.opts.Store.Apply(ctx, nil, keys); err != nil {
		return wraperr.Prefix("client: store", err)
	}
	return nil
}

// hex16 writes v as 16 lower-case hex digits.
func hex16(v uint64) string {
	h := strconv.FormatUint(v, 16)
	return strings.Repeat("0", 16-len(h)) + h
}
