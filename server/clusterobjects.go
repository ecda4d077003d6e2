//go:build !js

package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
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
//
// A room's log is trimmed only by a node (trim), after each object the
// trim removes writes of has a record in the bucket SYNK_OBJECTS at least
// as new: a node that loads the room later reads the records, then the
// log, and so never misses an acknowledged write.
type clusterObjects struct {
	log     *roomLog
	records jetstream.KeyValue // each object's record, as of a sequence: to load a room its log no longer reaches
	sub     *nats.Subscription

	mu      sync.Mutex // Protects the following.
	next    uint64
	waiters map[string]chan writeResult
}

// writeResult is the outcome of an applied write, for its writer.
type writeResult struct {
	version uint64
	err     error
}

// logWrite is a write as the room log stores it.
type logWrite struct {
	Frame []byte `msgpack:"w"` // the Write frame
	At    int64  `msgpack:"n"` // the writer's clock, unix milliseconds
	Token string `msgpack:"k"` // the writer's, to answer it
}

const (
	// maxAppendTries bounds the retries of a write that keeps losing races.
	maxAppendTries = 20
	// openWait is how long New waits for the room log before it serves;
	// after that the node keeps trying in the background.
	openWait = 30 * time.Second
	// attemptWait bounds one attempt at opening the room log. Nodes started
	// together on a NATS cluster still electing its JetStream leader may
	// get no answer at all: the next attempt may.
	attemptWait = 5 * time.Second
	// appendWait bounds one append. A stream leader lost mid-way leaves it
	// unanswered; the next attempt reaches the new leader.
	appendWait = 2 * time.Second
	// writeWait bounds a write, its retries included.
	writeWait = 10 * time.Second
	// catchUpWait bounds reading one room's missed writes.
	catchUpWait = 10 * time.Second
	// noResponders is how many attempts in a row nobody may answer
	// before the NATS is taken to have no JetStream.
	noResponders = 3
	// catchUpWorkers is how many rooms catch up at once.
	catchUpWorkers = 4
)

// errNoJetStream is a NATS without JetStream: objects stay refused.
var errNoJetStream = errors.New("server: cluster: the NATS has no JetStream")

// startObjects opens the room log, waiting at most openWait; past that
// it keeps trying in the background, and objects are refused with
// Overloaded ("try again") until it is open.
func (cl *cluster) startObjects() {
	ctx, cancel := context.WithTimeout(cl.s.ctx, openWait)
	err := cl.openObjects(ctx)
	cancel()
	switch {
	case err == nil:
	case errors.Is(err, errNoJetStream):
		cl.noJS.Store(true)
		cl.s.log.Warn("cluster: the NATS has no JetStream: objects are refused on this node (docs/CLUSTER.md)", "err", err)
	default:
		cl.s.log.Warn("cluster: the room log is not reachable yet: objects wait for it (trying again in the background)", "err", err)
		cl.spawn(func() {
			if err := cl.openObjects(cl.s.ctx); errors.Is(err, errNoJetStream) {
				cl.noJS.Store(true)
			}
		})
	}
}

// openObjects opens the room log, trying again with a growing pause until
// it is open, ctx ends, or the NATS turns out to have no JetStream.
func (cl *cluster) openObjects(ctx context.Context) error {
	pause, unanswered := 100*time.Millisecond, 0
	for {
		err := cl.openObjectsOnce(ctx)
		if err == nil || errors.Is(err, errNoJetStream) {
			return err
		}
		// Nobody serves the JetStream API: a NATS without JetStream, unless
		// a server of it is still starting.
		if errors.Is(err, nats.ErrNoResponders) {
			if unanswered++; unanswered >= noResponders {
				return fmt.Errorf("%w: %v", errNoJetStream, err)
			}
		} else {
			unanswered = 0
		}
		cl.s.log.Info("cluster: the room log is not ready: trying again", "err", err, "in", pause)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		pause = min(2*pause, 2*time.Second)
	}
}

// openObjectsOnce makes one attempt: it opens the room log and the
// records, loads every room the log has writes for, and follows new ones.
func (cl *cluster) openObjectsOnce(ctx context.Context) error {
	actx, cancel := context.WithTimeout(ctx, attemptWait)
	defer cancel()
	log, err := openRoomLog(actx, cl.nc, cl.s.opts.History, cl.s.opts.NATSReplicas)
	if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
		return fmt.Errorf("%w: %v", errNoJetStream, err)
	}
	if err != nil {
		return err
	}
	records, err := log.js.CreateOrUpdateKeyValue(actx, jetstream.KeyValueConfig{Bucket: "SYNK_OBJECTS",
		Storage: jetstream.FileStorage, Replicas: cl.s.opts.NATSReplicas})
	if err != nil {
		return fmt.Errorf("server: object records: %w", err)
	}
	if err := cl.shareIDKey(actx, log.js); err != nil {
		return err
	}
	info, err := log.stream.Info(actx, jetstream.WithSubjectFilter(roomLogSubject+">"))
	if err != nil {
		return err
	}
	co := &clusterObjects{log: log, records: records, waiters: make(map[string]chan writeResult)}
	cl.objs.Store(co)
	for _, subj := range slices.Sorted(maps.Keys(info.State.Subjects)) {
		room, err := roomFromToken(subj[len(roomLogSubject):])
		if err != nil {
			continue
		}
		if err := cl.catchUpRoom(ctx, co, room); err != nil {
			return err
		}
	}
	co.sub, err = log.follow(func(room string, e logEntry) { cl.onLogEntry(co, room, e) })
	if err != nil {
		return err
	}
	cl.ready.Store(true)
	return nil
}

// shareIDKey makes the nodes key resume secrets alike (secretFor): the
// first node stores a random key in the SYNK_SERVER bucket, and every
// node takes the stored one, so that a client that fails over to another
// node proves its id there and takes over its membership unseen.
func (cl *cluster) shareIDKey(ctx context.Context, js jetstream.JetStream) error {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "SYNK_SERVER",
		Storage: jetstream.FileStorage, Replicas: cl.s.opts.NATSReplicas})
	if err != nil {
		return fmt.Errorf("server: shared id key: %w", err)
	}
	key := new([32]byte)
	rand.Read(key[:])
	if _, err := kv.Create(ctx, "idkey", key[:]); errors.Is(err, jetstream.ErrKeyExists) {
		e, err := kv.Get(ctx, "idkey")
		if err != nil {
			return fmt.Errorf("server: shared id key: %w", err)
		}
		if len(e.Value()) != len(key) {
			return fmt.Errorf("server: shared id key: %d bytes stored, want %d", len(e.Value()), len(key))
		}
		copy(key[:], e.Value())
	} else if err != nil {
		return fmt.Errorf("server: shared id key: %w", err)
	}
	cl.s.idKey.Store(key)
	return nil
}

// onLogEntry applies a write another node (or this one) stored, unless
// this node has it already; a gap before it is read from the log first.
func (cl *cluster) onLogEntry(co *clusterObjects, room string, e logEntry) {
	r := cl.s.lockRoom(room, true)
	last := r.logSeq
	if e.Seq <= last {
		cl.s.unlockRoom(r)
		return
	}
	if e.Prev != last { // missed some: read them from the log first
		cl.s.unlockRoom(r)
		ctx, cancel := context.WithTimeout(cl.s.ctx, catchUpWait)
		defer cancel()
		if err := cl.catchUp(ctx, co, room, last); err != nil {
			cl.s.log.Error("cluster: room log gap not filled", "room", room, "err", err)
		}
		return
	}
	cl.apply(co, r, e)
	cl.s.unlockRoom(r)
}

// catchUpSoon starts reading, for every room holding objects here, the
// writes this node may have missed while its connection to NATS was
// down. It runs off the janitor, so that pings and heartbeats never wait
// on NATS; a call while one runs makes it go round once more.
func (cl *cluster) catchUpSoon() {
	if !cl.ready.Load() {
		return
	}
	cl.catchAgain.Store(true)
	if !cl.catching.CompareAndSwap(false, true) {
		return
	}
	if !cl.spawn(func() {
		for {
			for cl.catchAgain.Swap(false) {
				cl.catchUpAll()
			}
			cl.catching.Store(false)
			if !cl.catchAgain.Load() || !cl.catching.CompareAndSwap(false, true) {
				return
			}
		}
	}) {
		cl.catching.Store(false)
	}
}

// catchUpAll catches up every room with objects here, catchUpWorkers at a
// time, each within catchUpWait; rooms that failed (JetStream electing a
// leader) are tried again with a growing pause until they succeed or the
// server stops.
func (cl *cluster) catchUpAll() {
	co := cl.objs.Load()
	cl.s.mu.Lock()
	names := slices.Sorted(maps.Keys(cl.s.rooms))
	cl.s.mu.Unlock()
	for pause := 100 * time.Millisecond; len(names) > 0; pause = min(2*pause, 2*time.Second) {
		var mu sync.Mutex
		var failed []string
		var wg sync.WaitGroup
		slots := make(chan struct{}, catchUpWorkers)
		for _, name := range names {
			r := cl.s.lockRoom(name, false)
			if r == nil {
				continue
			}
			last := r.logSeq
			cl.s.unlockRoom(r)
			if last == 0 {
				continue
			}
			select {
			case slots <- struct{}{}:
			case <-cl.s.ctx.Done():
			}
			if cl.s.ctx.Err() != nil {
				break
			}
			wg.Go(func() {
				defer func() { <-slots }()
				ctx, cancel := context.WithTimeout(cl.s.ctx, catchUpWait)
				defer cancel()
				if err := cl.catchUp(ctx, co, name, last); err != nil {
					cl.s.log.Warn("cluster: room catch-up failed: trying again", "room", name, "err", err)
					mu.Lock()
					failed = append(failed, name)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		names = failed
		if len(names) == 0 {
			return
		}
		t := time.NewTimer(pause)
		select {
		case <-cl.s.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// catchUpRoom applies room's stored writes after the last one applied
// here.
func (cl *cluster) catchUpRoom(ctx context.Context, co *clusterObjects, room string) error {
	r := cl.s.lockRoom(room, true)
	last := r.logSeq
	cl.s.unlockRoom(r)
	rctx, cancel := context.WithTimeout(ctx, catchUpWait)
	defer cancel()
	return cl.catchUp(rctx, co, room, last)
}

// catchUp applies room's stored writes after sequence after. If the log
// no longer reaches back to it, the room is loaded again (load).
func (cl *cluster) catchUp(ctx context.Context, co *clusterObjects, room string, after uint64) error {
	es, whole, err := co.log.since(ctx, room, after, 0)
	if err != nil {
		return err
	}
	if !whole {
		return cl.load(ctx, co, room)
	}
	r := cl.s.lockRoom(room, true)
	defer cl.s.unlockRoom(r)
	for _, e := range es {
		if e.Seq > r.logSeq {
			cl.apply(co, r, e)
		}
	}
	return nil
}

// loadTries bounds how often load starts over because the room's log was
// trimmed while it read.
const loadTries = 20

// load builds room's objects from their records and the room's log: the
// first kept write's sequence F, then the records, then the log from F,
// which must still start at F. A trim stores the records of what it
// removes before it removes it, so the records read hold every write
// below F, and the log every write from F: no window between them. If a
// trim moved F meanwhile, load starts over.
func (cl *cluster) load(ctx context.Context, co *clusterObjects, room string) error {
	for range loadTries {
		first, err := co.log.first(ctx, room)
		if err != nil {
			return err
		}
		recs, err := co.readRecords(ctx, room)
		if err != nil {
			return err
		}
		var es []logEntry
		if first != 0 {
			if es, _, err = co.log.since(ctx, room, first-1, 0); err != nil {
				return err
			}
			if len(es) == 0 || es[0].Seq != first || !unbroken(es) {
				continue // trimmed meanwhile
			}
		}
		// This node may have applied writes past what was read meanwhile:
		// read up to them, so that the room never steps back.
		for {
			var end uint64
			if len(es) > 0 {
				end = es[len(es)-1].Seq
			}
			r := cl.s.lockRoom(room, true)
			if r.logSeq <= end || len(es) == 0 {
				cl.rebuild(co, r, recs, es)
				cl.s.unlockRoom(r)
				return nil
			}
			cl.s.unlockRoom(r)
			more, whole, err := co.log.since(ctx, room, end, 0)
			if err != nil {
				return err
			}
			if !whole || len(more) == 0 {
				break // trimmed meanwhile: start over
			}
			es = append(es, more...)
		}
	}
	return fmt.Errorf("server: cluster: room %q: its log was trimmed during each of %d loads", room, loadTries)
}

// rebuild replaces r's objects with recs, then applies es, the room's log
// from its first kept write, skipping each write an object's record is
// as new as. A room that held objects here (this node fell behind the
// kept log) sends its subscribers away with Internal: they reconnect and
// take a snapshot. The caller holds r's lock.
func (cl *cluster) rebuild(co *clusterObjects, r *room, recs map[string]*record, es []logEntry) {
	if r.logSeq > 0 {
		cl.s.log.Warn("cluster: this node fell behind the room's kept log: loading the room again", "room", r.name)
		for c := range r.objs.views {
			c.stop(protocol.CodeInternal, "room "+r.name+" was loaded again: reconnect")
		}
	}
	epoch := r.objs.log.epoch
	r.objs = objects{}
	r.objs.init()
	r.objs.log.epoch = epoch
	lim := cl.s.objectLimits()
	var last uint64
	for _, id := range slices.Sorted(maps.Keys(recs)) {
		r.objs.restore(id, recs[id], lim)
		last = max(last, recs[id].Seq)
	}
	for _, e := range es {
		if lw, w, err := decodeLogged(e.Data); err == nil {
			if rec := recs[w.Object]; rec != nil && rec.Seq >= e.Seq {
				// The record holds this write already.
				version := rec.Version
				if o := r.objs.byID[w.Object]; o != nil {
					version = o.version
				}
				r.objs.remember(w.OpID, opResult{version: version}, lw.At, lim)
				co.answer(lw.Token, writeResult{version: version})
				last = max(last, e.Seq)
				continue
			}
		}
		cl.apply(co, r, e)
		last = max(last, e.Seq)
	}
	r.logSeq, r.objs.seq = last, last
	r.objs.log.set(nil)
	r.objs.log.start = last // clients resuming from before it take a snapshot
}

// decodeLogged decodes a stored write.
func decodeLogged(data []byte) (*logWrite, *protocol.Write, error) {
	var lw logWrite
	if err := decodeChecked(data, &lw); err != nil {
		return nil, nil, err
	}
	m, err := protocol.Decode(lw.Frame)
	if err != nil {
		return nil, nil, err
	}
	w, ok := m.(*protocol.Write)
	if !ok {
		return nil, nil, errors.New("server: a logged write is not a Write")
	}
	return &lw, w, nil
}

// apply applies one logged write to r, whose lock the caller holds, and
// answers its writer if it is waiting here.
func (cl *cluster) apply(co *clusterObjects, r *room, e logEntry) {
	var res writeResult
	lw, w, err := decodeLogged(e.Data)
	if err != nil {
		res.err = protocol.Errorf(protocol.CodeInternal, "a logged write does not decode")
	} else {
		r.objs.init()
		r.objs.seq = e.Seq - 1 // the write's change takes the log's sequence
		lim := cl.s.objectLimits()
		lim.hold = nil // the writer's node checked the server's budget; every node applies alike
		res.version, _, _, res.err = r.objs.write(r.name, w, lim, lw.At)
	}
	r.objs.seq, r.logSeq = e.Seq, e.Seq
	r.untrimmed++
	if lw != nil {
		co.answer(lw.Token, res)
	}
}

// answer gives a waiting writer its result.
func (co *clusterObjects) answer(token string, res writeResult) {
	co.mu.Lock()
	ch := co.waiters[token]
	delete(co.waiters, token)
	co.mu.Unlock()
	if ch != nil {
		ch <- res
	}
}

// epoch returns the room log's epoch, or 0 without one.
func (cl *cluster) epoch() uint64 {
	if co := cl.objs.Load(); co != nil {
		return co.log.epoch
	}
	return 0
}

// objectsErr returns why objects are refused on this node, or nil.
func (cl *cluster) objectsErr(what string) error {
	switch {
	case cl.ready.Load():
		return nil
	case cl.noJS.Load():
		return protocol.Errorf(protocol.CodeUnsupported, "%s are shared across cluster nodes through JetStream, which this cluster's NATS lacks (docs/CLUSTER.md)", what)
	}
	return protocol.Errorf(protocol.CodeOverloaded, "this node is still opening the cluster's room log (JetStream): try again")
}

// writeObject takes a client's or server code's write on room r, whose
// lock the caller holds and which it releases. An append that NATS does
// not answer (a stream leader being elected) is tried again within
// writeWait with the same token, so a first attempt that was stored after
// all answers the writer and the write applies once; past writeWait the
// answer is Overloaded ("try again"), which the clients retry.
func (cl *cluster) writeObject(r *room, w *protocol.Write) (uint64, error) {
	co := cl.objs.Load()
	if err := cl.objectsErr("objects"); err != nil {
		cl.s.unlockRoom(r)
		return 0, err
	}
	token := co.newToken(cl.node)
	wc := *withID(w)
	if wc.OpID == "" {
		wc.OpID = "~" + token // server code's write: retried appends apply once too
	}
	frame, err := protocol.Encode(&wc)
	if err != nil {
		cl.s.unlockRoom(r)
		return 0, err
	}
	data, _ := msgpack.Marshal(&logWrite{Frame: frame, At: time.Now().UnixMilli(), Token: token})
	done := make(chan writeResult, 1)
	co.wait(token, done)
	defer co.forget(token)
	ctx, cancel := context.WithTimeout(cl.s.ctx, writeWait)
	defer cancel()
	name := r.name
	retry := protocol.Errorf(protocol.CodeOverloaded, "the cluster's room log did not take the write in time: try again")
	tries, caughtUp := appendTries{pause: 20 * time.Millisecond}, false
	for {
		if res, ok := r.objs.done[wc.OpID]; ok { // applied already: a resend, or an earlier attempt stored after all
			cl.s.unlockRoom(r)
			return res.version, res.err
		}
		if err := r.objs.check(&wc, cl.s.objectLimits()); err != nil {
			// This node may not have applied the writes that make it pass
			// yet (an object created through another node a moment ago):
			// read what the log has past its position, once, and check again.
			last := r.logSeq
			cl.s.unlockRoom(r)
			if caughtUp {
				return 0, err
			}
			caughtUp = true
			cctx, ccancel := context.WithTimeout(ctx, appendWait)
			cerr := cl.catchUp(cctx, co, name, last)
			ccancel()
			if cerr != nil {
				return 0, err
			}
			r = cl.s.lockRoom(name, true)
			continue
		}
		expect := r.logSeq
		cl.s.unlockRoom(r)
		actx, acancel := context.WithTimeout(ctx, appendWait)
		_, err := co.log.append(actx, name, data, expect)
		acancel()
		if err == nil {
			select {
			case res := <-done:
				cl.trimSoon(co, name)
				return res.version, res.err
			case <-ctx.Done():
				return 0, protocol.Errorf(protocol.CodeOverloaded, "the write was stored but not applied here in time: try again")
			}
		}
		if err := tries.failed(ctx, cl, co, name, err); err != nil {
			return 0, err
		}
		if ctx.Err() != nil {
			return 0, retry
		}
		// What this node missed may hold an earlier attempt of this write.
		cctx, ccancel := context.WithTimeout(ctx, appendWait)
		err = cl.catchUp(cctx, co, name, expect)
		ccancel()
		if err != nil && ctx.Err() != nil {
			return 0, retry
		}
		select {
		case res := <-done:
			return res.version, res.err
		default:
		}
		r = cl.s.lockRoom(name, true)
	}
}

// appendTries is what writeObject's appends of one write have met so far.
type appendTries struct {
	conflicts int           // appends refused because the log moved on
	pause     time.Duration // before the next attempt after an unanswered one
}

// failed prepares the next attempt after the append to room name failed
// with err: a conflict counts (the room is too busy after
// maxAppendTries), a full log is trimmed, and anything else (no answer)
// waits a growing pause or until ctx is done. It returns the error to
// answer the writer with, or nil to try again.
func (a *appendTries) failed(ctx context.Context, cl *cluster, co *clusterObjects, name string, err error) error {
	switch {
	case errors.Is(err, errLogConflict):
		if a.conflicts++; a.conflicts >= maxAppendTries {
			return protocol.Errorf(protocol.CodeOverloaded, "the room is too busy: try again")
		}
	case errors.Is(err, errLogFull):
		if err := cl.trim(ctx, co, name); err != nil {
			cl.s.log.Warn("cluster: room log full and not trimmed", "room", name, "err", err)
		}
	default:
		cl.s.log.Debug("cluster: room log append failed: trying again", "room", name, "err", err)
		t := time.NewTimer(a.pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		a.pause = min(2*a.pause, 500*time.Millisecond)
	}
	return nil
}

// newToken names a write of this node, for its answer.
func (co *clusterObjects) newToken(node string) string {
	co.mu.Lock()
	defer co.mu.Unlock()
	co.next++
	return node + "." + strconv.FormatUint(co.next, 36)
}

// wait registers the writer of token.
func (co *clusterObjects) wait(token string, ch chan writeResult) {
	co.mu.Lock()
	co.waiters[token] = ch
	co.mu.Unlock()
}

func (co *clusterObjects) forget(token string) {
	co.mu.Lock()
	delete(co.waiters, token)
	co.mu.Unlock()
}

// trimSoon trims room's log in the background once this node applied
// half of History writes since it last did, unless a trim of it runs.
func (cl *cluster) trimSoon(co *clusterObjects, name string) {
	r := cl.s.lockRoom(name, false)
	if r == nil {
		return
	}
	start := !r.trimming && r.untrimmed >= max(1, cl.s.opts.History/2)
	if start {
		r.trimming, r.untrimmed = true, 0
	}
	cl.s.unlockRoom(r)
	if !start {
		return
	}
	if !cl.spawn(func() {
		ctx, cancel := context.WithTimeout(cl.s.ctx, writeWait)
		defer cancel()
		if err := cl.trim(ctx, co, name); err != nil {
			cl.s.log.Warn("cluster: room log not trimmed", "room", name, "err", err)
		}
		cl.trimDone(name)
	}) {
		cl.trimDone(name)
	}
}

func (cl *cluster) trimDone(name string) {
	if r := cl.s.lockRoom(name, false); r != nil {
		r.trimming = false
		cl.s.unlockRoom(r)
	}
}

// trim removes room's logged writes older than the oldest change this
// node keeps in memory (the last History). First, every object those
// writes touched gets a record at least as new as its last of them: the
// record this node holds now, unless the bucket has a newer one.
func (cl *cluster) trim(ctx context.Context, co *clusterObjects, room string) error {
	r := cl.s.lockRoom(room, false)
	if r == nil {
		return nil
	}
	var keep uint64
	if len(r.objs.log.entries) > 0 {
		keep = r.objs.log.entries[0].Seq
	}
	cl.s.unlockRoom(r)
	if keep == 0 {
		return nil
	}
	first, err := co.log.first(ctx, room)
	if err != nil || first == 0 || first >= keep {
		return err
	}
	es, _, err := co.log.since(ctx, room, first-1, keep)
	if err != nil {
		return err
	}
	latest := make(map[string]uint64)
	for _, e := range es {
		if _, w, err := decodeLogged(e.Data); err == nil {
			latest[w.Object] = e.Seq
		}
	}
	for _, id := range slices.Sorted(maps.Keys(latest)) {
		kept, err := co.record(ctx, room, id)
		if err != nil {
			return err
		}
		if kept != nil && kept.Seq >= latest[id] {
			continue
		}
		r := cl.s.lockRoom(room, false)
		if r == nil {
			return nil
		}
		rec := r.objs.recordOf(id, r.logSeq)
		cl.s.unlockRoom(r)
		if err := co.storeRecord(ctx, room, id, rec); err != nil {
			return err
		}
	}
	return co.log.trim(ctx, room, keep)
}

// recordKey is an object's key in the records bucket.
func recordKey(room, id string) string { return roomToken(room) + "." + hex.EncodeToString([]byte(id)) }

// record returns object id's record in the bucket, nil if none.
func (co *clusterObjects) record(ctx context.Context, room, id string) (*record, error) {
	e, err := co.records.Get(ctx, recordKey(room, id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rec record
	if err := decodeChecked(e.Value(), &rec); err != nil {
		return nil, fmt.Errorf("object record %s: %w", e.Key(), err)
	}
	return &rec, nil
}

// storeRecord keeps rec as object id's record, unless a newer one is kept
// (two nodes may store out of order).
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

// readRecords returns room's object records by object id, read in one
// stream (a watch of the room's keys, which delivers every current value
// and then says it is done).
func (co *clusterObjects) readRecords(ctx context.Context, room string) (map[string]*record, error) {
	out := make(map[string]*record)
	prefix := roomToken(room) + "."
	w, err := co.records.WatchFiltered(ctx, []string{prefix + ">"}, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return nil, errors.New("server: object records: the watch ended")
			}
			if e == nil { // every current value was delivered
				return out, nil
			}
			id, err := hex.DecodeString(strings.TrimPrefix(e.Key(), prefix))
			if err != nil {
				continue
			}
			var rec record
			if err := decodeChecked(e.Value(), &rec); err != nil {
				return nil, fmt.Errorf("object record %s: %w", e.Key(), err)
			}
			out[string(id)] = &rec
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func roomFromToken(tok string) (string, error) {
	b, err := hex.DecodeString(tok)
	return string(b), err
}

// recordOf returns object id's record as of sequence seq: its state now,
// or its deletion.
func (ob *objects) recordOf(id string, seq uint64) *record {
	o := ob.byID[id]
	if o == nil {
		return &record{Seq: seq, Deleted: true}
	}
	return &record{Seq: seq, Kind: o.kind, Area: o.area, Version: o.version, Fields: maps.Clone(o.fields)}
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
