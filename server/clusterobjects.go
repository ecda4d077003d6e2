//go:build !js

package server

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// Objects in a cluster. Every object write goes through the room log
// (roomlog.go): the node that takes it checks it against the room's state
// at the room's last applied sequence S, and appends it expecting S; a
// conflict means another node's write came first, so the node applies
// what it missed and tries again. Every node applies the room's writes
// in log order with the same clock reading (the writer's), so all hold
// the same objects, versions and change logs, at offsets that are the
// log's stream sequences, under the log's epoch: a client resumes on any
// node. The writer's OK waits until its own node applied the write.
type clusterObjects struct {
	log     *roomLog
	records jetstream.KeyValue // each object's last record: to rebuild a room the log no longer reaches
	sub     *nats.Subscription

	mu      sync.Mutex // Protects the following.
	next    uint64
	waiters map[string]chan writeResult
}

// writeResult is the outcome of an applied write, for its writer.
type writeResult struct {
	version uint64
	err     error
	rec     *record // the object's record after the write, if it changed
}

// logWrite is a write as the room log stores it.
type logWrite struct {
	Frame []byte `msgpack:"w"` // the Write frame
	At    int64  `msgpack:"n"` // the writer's clock, unix milliseconds
	Token string `msgpack:"k"` // the writer's, to answer it
}

// maxAppendTries bounds the retries of a write that keeps losing races.
const maxAppendTries = 20

// openObjects opens the room log, replays every room's stored writes and
// follows new ones. A NATS without JetStream gives an error: objects then
// stay refused.
func (cl *cluster) openObjects() error {
	ctx, cancel := context.WithTimeout(cl.s.ctx, 30*time.Second)
	defer cancel()
	log, err := openRoomLog(ctx, cl.nc, cl.s.opts.History, cl.s.opts.NATSReplicas)
	if err != nil {
		return err
	}
	js, err := jetstream.New(cl.nc)
	if err != nil {
		return err
	}
	records, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "SYNK_OBJECTS",
		Storage: jetstream.FileStorage, Replicas: cl.s.opts.NATSReplicas})
	if err != nil {
		return err
	}
	co := &clusterObjects{log: log, records: records, waiters: make(map[string]chan writeResult)}
	cl.objects = co
	info, err := log.stream.Info(ctx, jetstream.WithSubjectFilter(roomLogSubject+">"))
	if err != nil {
		return err
	}
	for subj := range info.State.Subjects {
		room, err := roomFromToken(subj[len(roomLogSubject):])
		if err != nil {
			continue
		}
		if err := cl.catchUp(ctx, room, 0); err != nil {
			return err
		}
	}
	co.sub, err = log.follow(func(room string, e logEntry) {
		r := cl.s.lockRoom(room, true)
		last := r.logSeq
		if e.Seq <= last {
			cl.s.unlockRoom(r)
			return
		}
		if e.Prev != last { // missed some: read them from the log first
			cl.s.unlockRoom(r)
			ctx, cancel := context.WithTimeout(cl.s.ctx, 10*time.Second)
			defer cancel()
			if err := cl.catchUp(ctx, room, last); err != nil {
				cl.s.log.Error("cluster: room log gap not filled", "room", room, "err", err)
			}
			return
		}
		cl.apply(r, e)
		cl.s.unlockRoom(r)
	})
	return err
}

// catchUpAll reads, for every room holding objects here, the writes this
// node may have missed (after its connection to NATS came back).
func (cl *cluster) catchUpAll() {
	if cl.objects == nil {
		return
	}
	cl.s.mu.Lock()
	rooms := slices.Collect(maps.Values(cl.s.rooms))
	cl.s.mu.Unlock()
	for _, r := range rooms {
		r.mu.Lock()
		name, last := r.name, r.logSeq
		r.mu.Unlock()
		if last == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(cl.s.ctx, 10*time.Second)
		if err := cl.catchUp(ctx, name, last); err != nil {
			cl.s.log.Error("cluster: room catch-up failed", "room", name, "err", err)
		}
		cancel()
	}
}

// catchUp applies room's stored writes after sequence after.
func (cl *cluster) catchUp(ctx context.Context, room string, after uint64) error {
	es, whole, err := cl.objects.log.since(ctx, room, after)
	if err != nil {
		return err
	}
	r := cl.s.lockRoom(room, true)
	defer cl.s.unlockRoom(r)
	if !whole && after == 0 && r.logSeq == 0 {
		// A node starting after the room's log was trimmed: its objects'
		// last records first, then the log from there. Resuming clients
		// older than that get a snapshot.
		if err := cl.loadRecords(ctx, r); err != nil {
			return err
		}
	} else if !whole {
		// This node missed more of the room's log than the stream still
		// holds: reload the room from the records, and send its clients
		// away to come back for a snapshot.
		cl.s.log.Warn("cluster: this node fell behind the room's kept history: reloading the room", "room", room)
		if err := cl.reload(ctx, r); err != nil {
			return err
		}
	}
	for _, e := range es {
		if e.Seq > r.logSeq {
			cl.apply(r, e)
		}
	}
	return nil
}

// apply applies one logged write to r, whose lock the caller holds, and
// answers its writer if it is waiting here.
func (cl *cluster) apply(r *room, e logEntry) {
	var lw logWrite
	var res writeResult
	var m protocol.Message
	err := decodeChecked(e.Data, &lw)
	if err == nil {
		m, err = protocol.Decode(lw.Frame)
	}
	w, ok := m.(*protocol.Write)
	if err != nil || !ok {
		res.err = protocol.Errorf(protocol.CodeInternal, "a logged write does not decode")
	} else {
		r.objs.init()
		r.objs.seq = e.Seq - 1 // the write's change takes the log's sequence
		lim := cl.s.objectLimits()
		lim.hold = nil // the writer's node checked the server's budget; every node applies alike
		res.version, res.rec, _, res.err = r.objs.write(r.name, w, lim, lw.At)
	}
	r.objs.seq, r.logSeq = e.Seq, e.Seq
	co := cl.objects
	co.mu.Lock()
	ch := co.waiters[lw.Token]
	delete(co.waiters, lw.Token)
	co.mu.Unlock()
	if ch != nil {
		ch <- res
	}
}

// epoch returns the room log's epoch, or 0 without one.
func (cl *cluster) epoch() uint64 {
	if cl.objects == nil {
		return 0
	}
	return cl.objects.log.epoch
}

// sharesObjects reports whether objects go through the room log.
func (cl *cluster) sharesObjects() bool { return cl.objects != nil }

// writeObject takes a client's or server code's write on room r, whose
// lock the caller holds and which it releases.
func (cl *cluster) writeObject(r *room, w *protocol.Write) (uint64, error) {
	co := cl.objects
	if co == nil {
		cl.s.unlockRoom(r)
		return 0, protocol.Errorf(protocol.CodeUnsupported, "objects need JetStream in the cluster's NATS")
	}
	frame, err := protocol.Encode(withID(w))
	if err != nil {
		cl.s.unlockRoom(r)
		return 0, err
	}
	ctx, cancel := context.WithTimeout(cl.s.ctx, 10*time.Second)
	defer cancel()
	name := r.name
	for range maxAppendTries {
		if err := r.objs.check(w, cl.s.objectLimits()); err != nil {
			cl.s.unlockRoom(r)
			return 0, err
		}
		expect := r.logSeq
		cl.s.unlockRoom(r)
		co.mu.Lock()
		co.next++
		token := cl.node + "." + strconv.FormatUint(co.next, 36)
		done := make(chan writeResult, 1)
		co.waiters[token] = done
		co.mu.Unlock()
		data, _ := msgpack.Marshal(&logWrite{Frame: frame, At: time.Now().UnixMilli(), Token: token})
		_, err := co.log.append(ctx, name, data, expect)
		if err == nil {
			select {
			case res := <-done:
				if res.rec != nil {
					if err := co.storeRecord(ctx, name, w.Object, res.rec); err != nil {
						cl.s.log.Warn("cluster: object record not kept (the room log has the write)", "room", name, "object", w.Object, "err", err)
					}
				}
				return res.version, res.err
			case <-ctx.Done():
				co.forget(token)
				return 0, protocol.Errorf(protocol.CodeInternal, "the write was stored but not applied here in time")
			}
		}
		co.forget(token)
		if !errors.Is(err, errLogConflict) {
			cl.s.log.Error("cluster: room log append failed", "room", name, "err", err)
			return 0, protocol.Errorf(protocol.CodeInternal, "the write could not be stored")
		}
		if err := cl.catchUp(ctx, name, expect); err != nil {
			return 0, protocol.Errorf(protocol.CodeInternal, "the room could not catch up")
		}
		r = cl.s.lockRoom(name, true)
	}
	cl.s.unlockRoom(r)
	return 0, protocol.Errorf(protocol.CodeInternal, "the room is too busy: try again")
}

// recordKey is an object's key in the records bucket.
func recordKey(room, id string) string { return roomToken(room) + "." + hex.EncodeToString([]byte(id)) }

// storeRecord keeps rec as object id's last record, unless a newer one is
// kept (two nodes' writers may store out of order).
func (co *clusterObjects) storeRecord(ctx context.Context, room, id string, rec *record) error {
	val, err := msgpack.Marshal(rec)
	if err != nil {
		return err
	}
	key := recordKey(room, id)
	for range maxAppendTries {
		e, err := co.records.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			_, err = co.records.Create(ctx, key, val)
		case err != nil:
			return err
		default:
			var prev record
			if decodeChecked(e.Value(), &prev) == nil && prev.Seq >= rec.Seq {
				return nil
			}
			_, err = co.records.Update(ctx, key, val, e.Revision())
		}
		if err == nil || !isLogConflict(err) && !errors.Is(err, jetstream.ErrKeyExists) {
			return err
		}
	}
	return errors.New("server: object record: too many concurrent updates")
}

// reload empties r's objects and loads them from the records. Every local
// subscriber's connection ends with Internal: its client reconnects and,
// its position being older than the room's history, takes a snapshot.
// The caller holds r's lock.
func (cl *cluster) reload(ctx context.Context, r *room) error {
	for c := range r.objs.views {
		c.stop(protocol.CodeInternal, "room "+r.name+" was reloaded: reconnect")
	}
	epoch := r.objs.log.epoch
	r.objs = objects{}
	r.objs.init()
	r.objs.log.epoch = epoch
	return cl.loadRecords(ctx, r)
}

// loadRecords puts r's objects back from their last records, and sets the
// room's position to the newest of them. The caller holds r's lock.
func (cl *cluster) loadRecords(ctx context.Context, r *room) error {
	co := cl.objects
	keys, err := co.records.ListKeysFiltered(ctx, roomToken(r.name)+".>")
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil
	}
	if err != nil {
		return err
	}
	defer keys.Stop()
	var last uint64
	for key := range keys.Keys() {
		e, err := co.records.Get(ctx, key)
		if err != nil {
			return err
		}
		id, err := hex.DecodeString(key[len(roomToken(r.name))+1:])
		if err != nil {
			continue
		}
		var rec record
		if err := decodeChecked(e.Value(), &rec); err != nil {
			return fmt.Errorf("object record %s: %w", key, err)
		}
		r.objs.restore(string(id), &rec, cl.s.opts.History)
		last = max(last, rec.Seq)
	}
	r.objs.seq, r.logSeq = last, last
	r.objs.log.start = last
	return nil
}

func roomFromToken(tok string) (string, error) {
	b, err := hex.DecodeString(tok)
	return string(b), err
}

func (co *clusterObjects) forget(token string) {
	co.mu.Lock()
	delete(co.waiters, token)
	co.mu.Unlock()
}

// check reports the error applying w would give, without applying it.
func (ob *objects) check(w *protocol.Write, lim limits) error {
	ob.init()
	if _, ok := ob.done[w.OpID]; ok && w.OpID != "" {
		return nil // answered again from memory when applied
	}
	o, _, err := ob.precheck(w, lim)
	switch {
	case err != nil:
		return err
	case w.Op == protocol.OpCreate:
		return applyFields(make(map[string]msgpack.RawMessage), w.Fields, nil, lim.maxFields)
	case w.Op == protocol.OpUpdate:
		return applyFields(maps.Clone(o.fields), w.Fields, w.Delete, lim.maxFields)
	}
	return nil
}
