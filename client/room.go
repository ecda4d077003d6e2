package client

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"strconv"
	"sync"

	"github.com/synkhq/synk/internal/wraperr"
	"github.com/synkhq/synk/protocol"
)

// Room is a joined room. Its methods may be called from any goroutine.
type Room struct {
	c        *Conn
	name     string
	observer bool

	mu       sync.Mutex // Protects the following.
	sess     *session   // the session this room's Join was last sent on
	joined   *session   // the session whose Joined snapshot is applied
	handle   uint32     // the room's handle on joined, 0 if none
	ever     bool       // joined at least once: rejoin on reconnect
	members  map[string]map[string]protocol.RawMessage
	own      map[string]protocol.RawMessage
	objs     objectCache
	outbox   []*pendingWrite // object writes not yet answered, oldest first
	answered []uint64        // store sequence numbers of writes answered since the last flush
	closed   error
	gone     chan struct{} // closed when closed is set
	changed  chan struct{} // closed and replaced when joined or closed changes
}

// Member is one participant of a room and its entries as msgpack values.
type Member struct {
	Client  string
	Entries map[string]protocol.RawMessage
}

// Join joins the room called name and returns once the server has sent its
// snapshot: [Room.Members] is then complete, and a join event for each
// member already there is queued on [Conn.Events]. A join interrupted by a
// dropped connection is retried on the next one.
//
// With a [Store] that holds the room, the room starts from it: its
// objects are in [Room.Objects] (their put events queued) and its areas
// subscribed, resuming from the stored position, and its unanswered
// writes are sent again; their answers arrive as [EventWritten].
func (c *Conn) Join(ctx context.Context, name string, opts *JoinOptions) (*Room, error) {
	if err := protocol.CheckRoom(name); err != nil {
		return nil, err
	}
	var o JoinOptions
	if opts != nil {
		o = *opts
	}
	if o.Observer && len(o.Presence) > 0 {
		return nil, &protocol.Error{Code: protocol.CodeBadRequest, Message: "an observer cannot publish entries"}
	}
	r := &Room{c: c, name: name, observer: o.Observer, members: make(map[string]map[string]protocol.RawMessage),
		own: make(map[string]protocol.RawMessage), changed: make(chan struct{}), gone: make(chan struct{})}
	es, err := c.encodeEntries(o.Presence)
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		r.own[e.Key] = e.Value
	}
	c.mu.Lock()
	switch {
	case c.failure != nil:
		c.mu.Unlock()
		return nil, c.failure
	case c.rooms[name] != nil:
		c.mu.Unlock()
		return nil, &protocol.Error{Code: protocol.CodeAlreadyJoined, Message: "already in room " + name}
	}
	c.rooms[name] = r
	stored := c.loaded[name]
	old := c.persist[name]
	c.mu.Unlock()
	if old != nil && stored == nil {
		// Joined before on this Conn, then closed by the server: start
		// from where it was.
		old.mu.Lock()
		stored = old.state()
		old.mu.Unlock()
	}
	if stored != nil {
		r.mu.Lock()
		r.load(stored)
		r.mu.Unlock()
	}
	for {
		s, err := c.waitSession(ctx)
		if err != nil {
			c.removeRoom(r)
			return nil, err
		}
		id, ch, err := r.sendJoin(ctx, s)
		if err == nil {
			err = s.await(ctx, id, ch)
		}
		switch {
		case err == nil:
			if c.opts.Store != nil {
				c.mu.Lock()
				delete(c.loaded, name)
				c.persist[name] = r
				c.mu.Unlock()
			}
			return r, nil
		case err == errSessionLost:
			continue
		case ctx.Err() != nil:
			r.leaveQuietly(s)
		}
		c.removeRoom(r)
		r.markClosed(err)
		return nil, err
	}
}

// Name returns the room's name.
func (r *Room) Name() string { return r.name }

// Members returns every participant, sorted by client id. Unless it
// observes, this client is included with its entries as last set here.
func (r *Room) Members() []Member {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Member, 0, len(r.members))
	for _, id := range slices.Sorted(maps.Keys(r.members)) {
		vals := r.members[id]
		if !r.observer && r.joined != nil && id == r.joined.welcome.Client {
			vals = r.own
		}
		out = append(out, Member{Client: id, Entries: maps.Clone(vals)})
	}
	return out
}

// Set stores entries in this client's presence map; each value is encoded
// as msgpack. It returns when the server has them: acknowledged, or
// published again on rejoin if the connection dropped meanwhile. If the
// server refuses them, the local map is restored and the error returned.
func (r *Room) Set(ctx context.Context, entries map[string]any) error {
	es, err := r.c.encodeEntries(entries)
	if err != nil {
		return err
	}
	return r.write(ctx, es, nil)
}

// Delete removes keys from this client's presence map, as [Room.Set] stores.
func (r *Room) Delete(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		if err := protocol.CheckKey(k); err != nil {
			return err
		}
	}
	return r.write(ctx, nil, keys)
}

// Leave leaves the room. The Room is unusable afterwards. Its writes not
// yet answered are abandoned, and its state deleted from the [Store].
func (r *Room) Leave(ctx context.Context) error {
	r.mu.Lock()
	if r.closed != nil {
		r.mu.Unlock()
		return ErrClosed
	}
	s := r.sess
	r.mu.Unlock()
	r.markClosed(ErrClosed)
	r.c.removeRoom(r)
	if err := r.c.forgetRoom(ctx, r); err != nil {
		return err
	}
	if s == nil || !s.alive() {
		return nil
	}
	id, ch := s.request(nil)
	err := s.send(ctx, &protocol.Leave{ID: id, Room: r.name})
	if err == nil {
		err = s.await(ctx, id, ch)
	}
	if err == errSessionLost {
		return nil // the server drops the room with the connection
	}
	return err
}

func (r *Room) write(ctx context.Context, set []protocol.Entry, del []string) error {
	r.mu.Lock()
	if r.closed != nil {
		r.mu.Unlock()
		return r.closed
	}
	if r.observer {
		r.mu.Unlock()
		return &protocol.Error{Code: protocol.CodeReadOnly, Message: "observers cannot write"}
	}
	if lim := r.c.currentLimits(); lim.MaxKeys > 0 && countAfter(r.own, set, del) > int(lim.MaxKeys) {
		r.mu.Unlock()
		return &protocol.Error{Code: protocol.CodeTooManyKeys, Message: "the limit is " + strconv.Itoa(int(lim.MaxKeys)) + " keys"}
	}
	prev := make(map[string]protocol.RawMessage, len(set)+len(del))
	for _, k := range del {
		if v, ok := r.own[k]; ok {
			prev[k] = v
		}
		delete(r.own, k)
	}
	for _, e := range set {
		if _, done := prev[e.Key]; !done {
			prev[e.Key] = r.own[e.Key] // nil: absent before
		}
		r.own[e.Key] = e.Value
	}
	var m *protocol.Set
	return r.commit(ctx, func(s *session) (uint32, chan protocol.Message) {
		id, ch := s.request(nil)
		m = &protocol.Set{ID: id, Entries: set, Delete: del}
		if r.joined == s && r.handle != 0 {
			m.Handle = r.handle
		} else {
			m.Room = r.name
		}
		return id, ch
	}, func() protocol.Message { return m }, func() { r.restore(prev, set) })
}

// commit sends a change of this client's state that the caller has just
// applied locally, with r.mu held; commit unlocks it. req registers the
// request on the room's session and frame returns the frame to send; both
// run under r.mu, so that the frame follows the Join that r.sess carries.
// commit returns when the server answers or, if the connection drops
// first, when the room is rejoined on a new session, whose Join carried
// the state. A refusal by the server, or a ctx that ends before the frame
// is sent, runs undo.
func (r *Room) commit(ctx context.Context, req func(*session) (uint32, chan protocol.Message),
	frame func() protocol.Message, undo func()) error {
	s := r.sess
	var id uint32
	var ch chan protocol.Message
	sent := false
	if s != nil && s.alive() {
		id, ch = req(s)
		err := s.send(ctx, frame())
		if err != nil {
			s.forget(id)
		}
		if err != nil && err != errSessionLost {
			r.mu.Unlock()
			undo()
			return err
		}
		sent = err == nil
	}
	r.mu.Unlock()
	if sent {
		err := s.await(ctx, id, ch)
		if err != errSessionLost {
			if protocol.ErrorCode(err) != 0 {
				undo()
			}
			return err
		}
	}
	return r.waitRejoined(ctx, s)
}

// restore undoes a refused write, key by key, unless a later write changed
// the key again.
func (r *Room) restore(prev map[string]protocol.RawMessage, set []protocol.Entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	mine := make(map[string]protocol.RawMessage, len(set))
	for _, e := range set {
		mine[e.Key] = e.Value
	}
	for k, old := range prev {
		cur, has := r.own[k]
		if v, wrote := mine[k]; wrote && (!has || !bytes.Equal(cur, v)) || !wrote && has {
			continue
		}
		if old == nil {
			delete(r.own, k)
		} else {
			r.own[k] = old
		}
	}
}

// waitRejoined waits until the room is joined on a session other than old,
// whose Join therefore carried this client's entries as they are now.
func (r *Room) waitRejoined(ctx context.Context, old *session) error {
	for {
		r.mu.Lock()
		j, closed, ch := r.joined, r.closed, r.changed
		r.mu.Unlock()
		if closed != nil {
			return closed
		}
		if j != nil && j != old && j.alive() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// sendJoin queues a Join on s carrying this client's entries as they are.
func (r *Room) sendJoin(ctx context.Context, s *session) (uint32, chan protocol.Message, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed != nil {
		return 0, nil, r.closed
	}
	r.sess = s
	id, ch := s.request(nil)
	j := &protocol.Join{ID: id, Room: r.name, Observer: r.observer}
	for _, k := range slices.Sorted(maps.Keys(r.own)) {
		j.Entries = append(j.Entries, protocol.Entry{Key: k, Value: r.own[k]})
	}
	if err := s.send(ctx, j); err != nil {
		s.forget(id)
		return 0, nil, err
	}
	if err := r.resubscribe(ctx, s); err != nil {
		s.forget(id)
		return 0, nil, err
	}
	if err := r.sendOutbox(ctx, s); err != nil {
		s.forget(id)
		return 0, nil, err
	}
	return id, ch, nil
}

// leaveQuietly tells the server, without waiting, that an abandoned Join
// is not wanted.
func (r *Room) leaveQuietly(s *session) {
	b, err := protocol.Encode(&protocol.Leave{ID: 1 << 31, Room: r.name})
	if err != nil {
		return
	}
	select {
	case s.out <- b:
	default:
	}
}

func (r *Room) wasJoined() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ever
}

func (r *Room) markClosed(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed == nil {
		r.closed = err
		close(r.gone)
		r.signal()
	}
}

// signal wakes waitRejoined. The caller holds r.mu.
func (r *Room) signal() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// closeBy handles the server closing the room for this client.
func (r *Room) closeBy(s *session, e *protocol.Error) {
	r.mu.Lock()
	if r.sess != s || r.closed != nil {
		r.mu.Unlock()
		return
	}
	r.closed = e
	close(r.gone)
	r.signal()
	r.mu.Unlock()
	r.c.removeRoom(r)
	r.c.events.push(Event{Kind: EventRoomClosed, Room: r.name, Err: e})
}

// applySnapshot replaces the view with a Joined snapshot from s and queues
// the events that turn the old view into the new one.
func (r *Room) applySnapshot(s *session, j *protocol.Joined) {
	members := j.Members
	self := s.welcome.Client
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sess != s || r.closed != nil {
		return
	}
	next := make(map[string]map[string]protocol.RawMessage, len(members))
	for _, m := range members {
		vals := make(map[string]protocol.RawMessage, len(m.Entries))
		for _, e := range m.Entries {
			vals[e.Key] = e.Value
		}
		next[m.Client] = vals
	}
	for _, id := range slices.Sorted(maps.Keys(r.members)) {
		if _, ok := next[id]; !ok && id != self {
			r.c.events.push(Event{Kind: EventLeave, Room: r.name, Client: id,
				Err: &protocol.Error{Code: protocol.CodeTimeout, Message: "gone while disconnected"}})
		}
	}
	for _, id := range slices.Sorted(maps.Keys(next)) {
		if id == self {
			continue
		}
		old, had := r.members[id]
		if !had {
			r.c.events.push(Event{Kind: EventJoin, Room: r.name, Client: id, Entries: maps.Clone(next[id])})
			continue
		}
		set, del := diff(old, next[id])
		if len(set) > 0 || len(del) > 0 {
			r.c.events.push(Event{Kind: EventChange, Room: r.name, Client: id, Entries: set, Deleted: del})
		}
	}
	r.members = next
	r.joined = s
	r.handle = j.Handle
	r.ever = true
	r.signal()
}

// applyPresence applies one change from s and queues its event.
func (r *Room) applyPresence(s *session, p *protocol.Presence) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.joined != s || r.closed != nil {
		return
	}
	ev := Event{Room: r.name, Client: p.Client, Deleted: p.Delete}
	if len(p.Entries) > 0 {
		ev.Entries = make(map[string]protocol.RawMessage, len(p.Entries))
		for _, e := range p.Entries {
			ev.Entries[e.Key] = e.Value
		}
	}
	switch p.Event {
	case protocol.EventJoin:
		ev.Kind = EventJoin
		r.members[p.Client] = maps.Clone(ev.Entries)
		if r.members[p.Client] == nil {
			r.members[p.Client] = make(map[string]protocol.RawMessage)
		}
	case protocol.EventChange:
		ev.Kind = EventChange
		vals := r.members[p.Client]
		if vals == nil {
			vals = make(map[string]protocol.RawMessage)
			r.members[p.Client] = vals
		}
		for _, k := range p.Delete {
			delete(vals, k)
		}
		maps.Copy(vals, ev.Entries)
	case protocol.EventLeave:
		ev.Kind = EventLeave
		delete(r.members, p.Client)
		if p.Reason != 0 {
			ev.Err = &protocol.Error{Code: p.Reason, Room: r.name}
		}
	}
	r.c.events.push(ev)
}

// diff returns what turns a into b.
func diff(a, b map[string]protocol.RawMessage) (map[string]protocol.RawMessage, []string) {
	var set map[string]protocol.RawMessage
	var del []string
	for k, v := range b {
		if old, ok := a[k]; !ok || !bytes.Equal(old, v) {
			if set == nil {
				set = make(map[string]protocol.RawMessage)
			}
			set[k] = v
		}
	}
	for _, k := range slices.Sorted(maps.Keys(a)) {
		if _, ok := b[k]; !ok {
			del = append(del, k)
		}
	}
	return set, del
}

// countAfter counts own's keys once del is removed and set stored.
func countAfter(own map[string]protocol.RawMessage, set []protocol.Entry, del []string) int {
	keys := maps.Clone(own)
	for _, k := range del {
		delete(keys, k)
	}
	for _, e := range set {
		keys[e.Key] = e.Value
	}
	return len(keys)
}

func (c *Conn) currentLimits() protocol.Limits {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.limits
}

// encodeEntries encodes values as msgpack ([encodeValue]) and checks keys and sizes
// against the server's limits.
func (c *Conn) encodeEntries(m map[string]any) ([]protocol.Entry, error) {
	lim := c.currentLimits()
	out := make([]protocol.Entry, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if err := protocol.CheckKey(k); err != nil {
			return nil, err
		}
		b, err := encodeValue(m[k])
		if err != nil {
			return nil, wraperr.Prefix("client: encode "+strconv.Quote(k), err)
		}
		if lim.MaxValue > 0 && len(b) > int(lim.MaxValue) {
			return nil, &protocol.Error{Code: protocol.CodeValueTooLarge,
				Message: "value of " + strconv.Quote(k) + " is " + strconv.Itoa(len(b)) + " bytes, the limit is " + strconv.Itoa(int(lim.MaxValue))}
		}
		out = append(out, protocol.Entry{Key: k, Value: b})
	}
	return out, nil
}
