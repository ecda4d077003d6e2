package server

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/synkhq/synk/internal/meet"
	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// Server holds the rooms and serves websocket and HTTP clients. Create it
// with [New], mount it as an [http.Handler], stop it with [Shutdown].
type Server struct {
	opts  Options
	log   *slog.Logger
	mux   *http.ServeMux
	store backend // nil: objects live in memory only
	meets *meet.Board
	met   *metrics
	only  string                   // the one room served, or "" for any
	wake  chan struct{}            // wakes a parked janitor: a client came
	idKey atomic.Pointer[[32]byte] // keys the resume secrets of client ids (secretFor); a cluster's nodes share one
	bus   bus                      // the cluster's presence bus, or nil
	//lint:ignore U1000 the js build (the edge) keeps no chunks
	chunks chunkStore // folder sync's chunks (nil under js)

	queued atomic.Int64 // bytes queued for every connection (see conn.send)
	pool   *writePool   // writes for connections whose sockets take frames at once
	bodies bodyGate     // HTTP request bodies being read
	hold   holdings     // presence and object bytes against the budgets
	//lint:ignore U1000 the js build (the edge) keeps no chunks
	collecting atomic.Bool // a chunk collection runs
	//lint:ignore U1000 the js build (the edge) keeps no chunks
	chunksSwept time.Time       // when the last one started (the janitor's)
	failed      atomic.Bool     // a store write failed: memory and disk may differ
	refused     onceAMinute     // origins refused at the websocket, for the log
	ctx         context.Context // ended by Shutdown: stops the janitor and handshakes
	cancel      context.CancelFunc
	wg          sync.WaitGroup

	mu       sync.Mutex // Protects the following.
	rooms    map[string]*room
	conns    map[*conn]struct{}
	clients  map[string]int // connections by client id
	ipConns  map[string]int // open websocket connections per peer address
	open     int            // open websocket connections
	closing  bool
	nextSlot uint8                         // ping slot of the next connection
	slots    [pingSlots]map[*conn]struct{} // conns by ping slot, so a tick visits only its own
	pings    uint32                        // nonce of the last Ping sent
}

// New returns a running server. Its janitor goroutine, which drops silent
// HTTP posters, runs until [Server.Shutdown].
func New(opts *Options) (*Server, error) {
	return newServer(opts, nil, "")
}

// unclustered returns an error when s is a cluster node that cannot share
// objects: Unsupported when its NATS has no JetStream (objects kept per
// node would silently differ), Overloaded while it opens the room log.
func (s *Server) unclustered(what string) error {
	if s.bus == nil {
		return nil
	}
	return s.bus.objectsErr(what)
}

// serves returns a Forbidden error unless s serves room.
func (s *Server) serves(room string) error {
	if s.only == "" || room == s.only {
		return nil
	}
	return protocol.Errorf(protocol.CodeForbidden, "this server holds room %q only: connect to room %q's own address", s.only, room)
}

// newServer returns a running server storing through st, or, when st is
// nil, in opts.DataDir if set. A non-empty only is the one room it
// serves (an edge room's Durable Object).
func newServer(opts *Options, st backend, only string) (*Server, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		pool:    newWritePool(),
		only:    only,
		opts:    o,
		log:     o.Logger,
		mux:     http.NewServeMux(),
		rooms:   make(map[string]*room),
		conns:   make(map[*conn]struct{}),
		clients: make(map[string]int),
		ipConns: make(map[string]int),
		wake:    make(chan struct{}, 1),
		meets:   meet.New(o.MaxMates, o.MaxPendingMeets, o.MaxMeetsPerEvent, o.MaxMeetBytes),
	}
	clean := true
	if st == nil && o.DataDir != "" && o.NATS == nil { // a cluster node's objects are in JetStream
		bolt, ok, err := openStore(o.DataDir)
		if err != nil {
			return nil, err
		}
		if st, clean = bolt, ok; !clean {
			s.log.Warn("the store was not closed cleanly: rooms start new epochs, clients resume from snapshots", "dir", o.DataDir)
		}
	}
	if st != nil {
		if err := s.restore(st, clean); err != nil {
			st.Close(false)
			return nil, err
		}
		s.store = st
	}
	s.hold.opts = &s.opts
	key := new([32]byte)
	_, _ = rand.Read(key[:])
	s.idKey.Store(key)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if o.NATS != nil {
		if s.bus, err = newBus(s, o.NATS); err != nil {
			s.cancel()
			if st != nil {
				st.Close(true)
			}
			return nil, err
		}
	}
	s.met = newMetrics(s)
	if o.Auth == nil {
		s.log.Warn("no auth key: the server runs open, anyone may join, write and meet in any room (development mode)")
	}
	s.mux.HandleFunc("GET /ws", s.serveWS)
	s.mux.HandleFunc("GET /synk", s.serveRooms)
	s.mux.HandleFunc("GET /synk/{room}", s.serveGet)
	s.mux.HandleFunc("POST /synk/{room}", s.servePost)
	s.mux.HandleFunc("GET /event", s.serveEvent)
	s.mux.HandleFunc("POST /event", s.serveEvent)
	s.mux.HandleFunc("GET /stats", s.serveStats)
	s.mux.Handle("GET /metrics", s.met.handler())
	for _, p := range noRoutes {
		s.mux.HandleFunc(p, s.serveNoRoute)
	}
	s.routeChunks()
	s.wg.Add(1)
	go s.janitor()
	if s.bus != nil {
		s.bus.open()
	}
	return s, nil
}

// ServeHTTP implements [http.Handler]. A request's body must arrive
// within BodyTimeout (a websocket, once upgraded, is not bound by it).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.opts.BodyTimeout))
	if s.cors(w, r) {
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Rooms returns every room with its number of participants and observers,
// sorted by name.
func (s *Server) Rooms() []RoomInfo {
	s.mu.Lock()
	rooms := slices.Collect(maps.Values(s.rooms))
	s.mu.Unlock()
	out := make([]RoomInfo, 0, len(rooms))
	for _, r := range rooms {
		r.mu.Lock()
		if !r.dead {
			out = append(out, r.info())
		}
		r.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b RoomInfo) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// Shutdown stops accepting clients, tells every websocket client the server
// is going away after flushing the frames already queued for it, and waits
// for the connections to close or ctx to end; then it closes what remains.
// A second call returns nil at once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	s.closing = true
	conns := slices.Collect(maps.Keys(s.conns))
	s.mu.Unlock()

	s.cancel()
	for _, c := range conns {
		c.stop(protocol.CodeShutdown, "server shutting down")
	}
	waited := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(waited)
	}()
	select {
	case <-waited:
		return s.closeStore()
	case <-ctx.Done():
	}
	s.mu.Lock()
	conns = slices.Collect(maps.Keys(s.conns))
	s.mu.Unlock()
	for _, c := range conns {
		c.ws.CloseNow()
	}
	<-waited
	return errors.Join(ctx.Err(), s.closeStore())
}

// closeStore leaves the cluster, if any, and closes the store.
func (s *Server) closeStore() error {
	var err error
	if s.bus != nil {
		err = s.bus.close()
	}
	if s.store == nil {
		return err
	}
	return errors.Join(err, s.store.Close(!s.failed.Load()))
}

// restore loads the stored objects and change logs into their rooms.
// Rooms with neither stay on disk only, until used again.
func (s *Server) restore(st backend, clean bool) error {
	rooms, err := st.Load(clean)
	if err != nil {
		return err
	}
	for name, sr := range rooms {
		r := newRoom(name, sr.Meta, &s.hold)
		for id, rec := range sr.Objects {
			r.objs.restore(id, rec, s.objectLimits())
		}
		for _, ch := range sr.Log {
			r.objs.remember(ch.OpID, opResult{version: ch.Version}, ch.At, s.objectLimits())
		}
		r.objs.log.set(sr.Log)
		r.objs.seq = sr.Meta.Seq
		if !r.empty() {
			s.hold.settle(r)
			s.rooms[name] = r
		}
	}
	return nil
}

// enter registers a handler goroutine, or reports false if the server is
// shutting down.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.wg.Add(1)
	return true
}

// lockRoom returns the live room called name with its mutex held, creating
// it if create is set, or nil. A room created again continues the change
// log position kept in the store, if any.
func (s *Server) lockRoom(name string, create bool) *room {
	for {
		s.mu.Lock()
		r := s.rooms[name]
		if r == nil && create {
			r = s.createRoomLocked(name)
		}
		s.mu.Unlock()
		if r == nil {
			return nil
		}
		if r = s.lockCreated(r); r != nil {
			return r
		}
	}
}

// createRoomLocked makes room name and puts it in s.rooms; its first user
// opens it (see openIO). The caller holds s.mu, and no I/O happens under it.
func (s *Server) createRoomLocked(name string) *room {
	r := newRoom(name, roomMeta{}, &s.hold)
	r.bus, r.opening = s.bus, true
	s.rooms[name] = r
	return r
}

// openIO does the I/O a new room needs, for its first user, who holds r.mu
// but not s.mu: it continues the change log position kept in the store,
// if any, and in a cluster follows the room and waits until NATS has the
// subscriptions, so that every event another node publishes after reaches
// this one.
func (s *Server) openIO(r *room) {
	m := s.storedMeta(r.name)
	r.objs.log = changeLog{epoch: cmp.Or(m.Epoch, r.objs.log.epoch), start: m.Start}
	r.objs.seq, r.objs.compacted = m.Seq, m.Start
	if r.bus != nil {
		r.bus.watch(r.name)
		r.bus.confirmWatch()
		if e := r.bus.epoch(); e != 0 {
			r.objs.log.epoch = e
		}
	}
	r.opening = false
}

// lockCreated locks r, which the caller found in s.rooms, and returns it,
// or nil if it was freed meanwhile.
func (s *Server) lockCreated(r *room) *room {
	r.mu.Lock()
	if r.opening {
		s.openIO(r)
	}
	if r.dead {
		r.mu.Unlock()
		return nil
	}
	return r
}

// openRoom is lockRoom(name, true) for a client from address ip: it
// refuses to create a room past MaxRoomsTotal (CodeOverloaded) or past
// ip's share, MaxRoomsPerIP (CodeTooMany). A room counts against the
// address that created it until it is freed.
func (s *Server) openRoom(name, ip string) (*room, error) {
	for {
		s.mu.Lock()
		if r := s.rooms[name]; r != nil {
			s.mu.Unlock()
			if r = s.lockRoom(name, false); r != nil {
				return r, nil
			}
			continue // freed meanwhile: create it
		}
		if len(s.rooms) >= s.opts.MaxRoomsTotal {
			s.mu.Unlock()
			return nil, protocol.Errorf(protocol.CodeOverloaded, "the server holds its limit of %d rooms", s.opts.MaxRoomsTotal)
		}
		if !s.hold.takeRoom(ip) {
			s.mu.Unlock()
			return nil, protocol.Errorf(protocol.CodeTooMany, "one address may create %d rooms that are open at once", s.opts.MaxRoomsPerIP)
		}
		r := s.createRoomLocked(name)
		r.creator = ip
		s.mu.Unlock()
		if r = s.lockCreated(r); r != nil {
			return r, nil
		}
	}
}

// storedMeta returns the stored position of a room, or a zero one.
func (s *Server) storedMeta(name string) roomMeta {
	if s.store == nil {
		return roomMeta{}
	}
	m, ok, err := s.store.Meta(name)
	if err != nil {
		s.log.Error("store read failed; the room starts a new epoch", "room", name, "err", err)
	}
	if !ok || err != nil {
		return roomMeta{}
	}
	m.Start = m.Seq // its history was dropped with the room
	return m
}

// unlockRoom releases r and frees it if nobody is left in it.
func (s *Server) unlockRoom(r *room) {
	s.hold.settle(r)
	empty := r.empty()
	r.mu.Unlock()
	if !empty {
		return
	}
	s.mu.Lock()
	r.mu.Lock()
	if !r.dead && r.empty() {
		r.dead = true
		s.hold.drop(r)
		if r.creator != "" {
			s.hold.releaseRoom(r.creator)
		}
		delete(s.rooms, r.name)
		if r.bus != nil {
			r.bus.unwatch(r.name)
		}
	}
	r.mu.Unlock()
	s.mu.Unlock()
}

// join adds c to the room as a participant with entries, or as an
// observer, and queues the Joined snapshot for it, giving the room handle
// h on c.
func (s *Server) join(c *conn, j *protocol.Join, h uint32) error {
	r, err := s.openRoom(j.Room, c.ip)
	if err != nil {
		return err
	}
	defer s.unlockRoom(r)
	if _, ok := r.subs[c]; ok {
		return protocol.Errorf(protocol.CodeAlreadyJoined, "already in room %s", j.Room)
	}
	if j.Observer {
		r.subs[c] = nil
		c.sendJoined(&protocol.Joined{ID: j.ID, Room: r.name, Members: r.snapshot(""), Handle: h})
		return nil
	}
	m := &member{client: c.client, entries: make(map[string]msgpack.RawMessage), conn: c, ip: c.ip}
	if err := r.updateReplacing(m, j.Entries, nil, s.opts.MaxKeys, r.members[c.client]); err != nil {
		return err // the member it would replace, if any, stays
	}
	if old := r.members[c.client]; old != nil && c.proven && (old.node != "" || old.conn != nil && old.conn != c) {
		// The same client on a new connection (it reconnected before the
		// old one timed out, here or on another node): it takes over the
		// membership, and the others hear only what changed in its
		// entries, not a Leave and a Join.
		r.dropMember(old)
		if old.node != "" {
			r.remote--
		} else {
			r.objs.drop(old.conn)
			old.conn.sendMsg(&protocol.Error{Code: protocol.CodeReplaced, Room: r.name,
				Message: c.client + " reconnected on another connection"})
		}
		r.members[c.client] = m
		r.subs[c] = m
		set, del := diffEntries(old.entries, j.Entries)
		switch {
		case old.node != "": // the other nodes must learn where it is now
			if len(set) > 0 || len(del) > 0 {
				r.broadcast(&protocol.Presence{Room: r.name, Event: protocol.EventChange, Client: c.client, Entries: set, Delete: del}, c)
			}
			r.bus.takeOver(r, &protocol.Presence{Room: r.name, Event: protocol.EventJoin, Client: c.client, Entries: j.Entries})
		case len(set) > 0 || len(del) > 0:
			r.announce(&protocol.Presence{Room: r.name, Event: protocol.EventChange, Client: c.client, Entries: set, Delete: del}, c)
		}
		c.sendJoined(&protocol.Joined{ID: j.ID, Room: r.name, Members: r.snapshot(""), Handle: h})
		return nil
	}
	if old := r.members[c.client]; old != nil {
		r.removeMember(old, protocol.CodeReplaced)
		if old.conn != nil {
			old.conn.sendMsg(&protocol.Error{Code: protocol.CodeReplaced, Room: r.name,
				Message: "another connection joined as " + c.client})
		}
	}
	r.announce(&protocol.Presence{Room: r.name, Event: protocol.EventJoin, Client: c.client, Entries: j.Entries}, nil)
	r.members[c.client] = m
	r.subs[c] = m
	c.sendJoined(&protocol.Joined{ID: j.ID, Room: r.name, Members: r.snapshot(""), Handle: h})
	return nil
}

// leave removes c from the room, telling the others why.
func (s *Server) leave(c *conn, name string, reason protocol.Code) error {
	r := s.lockRoom(name, false)
	if r == nil {
		return protocol.Errorf(protocol.CodeNotJoined, "not in room %s", name)
	}
	defer s.unlockRoom(r)
	m, ok := r.subs[c]
	if !ok {
		return protocol.Errorf(protocol.CodeNotJoined, "not in room %s", name)
	}
	delete(r.subs, c)
	r.objs.drop(c)
	if m != nil {
		r.removeMember(m, reason)
	}
	return nil
}

// subscribe changes the areas c watches in a joined room, or resumes its
// view. The frames it causes are queued as c's send buffer allows, the
// rest as c reads; the OK with the room's position comes after them, and
// before any later change.
func (s *Server) subscribe(c *conn, m *protocol.Sub) error {
	r := s.lockRoom(m.Room, false)
	if r == nil {
		return protocol.Errorf(protocol.CodeNotJoined, "not in room %s", m.Room)
	}
	defer s.unlockRoom(r)
	if _, ok := r.subs[c]; !ok {
		return protocol.Errorf(protocol.CodeNotJoined, "not in room %s", m.Room)
	}
	var resumed bool
	var err error
	if m.From != nil {
		resumed, err = r.objs.resume(r.name, c, m.Add, m.Held, *m.From, s.opts.MaxAreas, c.fillBudget())
	} else {
		err = r.objs.subscribe(c, m.Remove, m.Add, s.opts.MaxAreas)
	}
	if err != nil {
		return err
	}
	if !r.objs.answer(c, m.ID, resumed) {
		c.cut("more than %d Subs waiting for their answer", maxAnswers)
		return nil
	}
	if r.objs.fill(r.name, c, c.fillBudget()) {
		c.owe(r.name) // the rest as the client reads
	}
	return nil
}

// writeObject applies a participant's Write.
func (s *Server) writeObject(c *conn, w *protocol.Write) (uint64, error) {
	r := s.lockRoom(w.Room, false)
	if r == nil {
		return 0, protocol.Errorf(protocol.CodeNotJoined, "not in room %s", w.Room)
	}
	switch m, ok := r.subs[c]; {
	case !ok:
		s.unlockRoom(r)
		return 0, protocol.Errorf(protocol.CodeNotJoined, "not in room %s", w.Room)
	case m == nil:
		s.unlockRoom(r)
		return 0, protocol.Errorf(protocol.CodeReadOnly, "observers cannot write")
	}
	return s.applyWrite(r, w)
}

// applyWrite applies w in r, whose lock the caller holds and which it
// releases, then stores the change before returning.
func (s *Server) applyWrite(r *room, w *protocol.Write) (uint64, error) {
	if s.bus != nil {
		return s.bus.writeObject(r, w) // through the cluster's room log
	}
	v, rec, ch, err := r.objs.write(r.name, w, s.objectLimits(), time.Now().UnixMilli())
	epoch := r.objs.log.epoch
	if rec != nil && s.store != nil {
		r.storing(ch.Seq, false)
		defer r.storing(ch.Seq, true)
	}
	s.unlockRoom(r)
	if err != nil {
		return 0, err
	}
	return v, s.persist(r.name, w.Object, epoch, rec, ch)
}

// persist stores rec and ch before the write is acknowledged. Other
// subscribers may see the change before it is on disk; the writer's OK
// waits for it. (A crash in between is why a store not closed cleanly
// starts new epochs.)
func (s *Server) persist(room, id string, epoch uint64, rec *record, ch *change) error {
	if s.store == nil || rec == nil {
		return nil
	}
	start := time.Now()
	err := s.store.Put(room, id, epoch, rec, ch)
	s.met.stored(time.Since(start))
	if err != nil {
		s.failed.Store(true)
		s.log.Error("store write failed", "room", room, "object", id, "err", err)
		return protocol.Errorf(protocol.CodeInternal, "the write could not be stored")
	}
	return nil
}

func (s *Server) objectLimits() limits {
	return limits{maxObjects: s.opts.MaxObjects, maxFields: s.opts.MaxKeys, maxValue: s.opts.MaxValue, history: s.opts.History,
		maxBytes: s.opts.MaxRoomObjectBytes, hold: &s.hold, dedup: s.opts.DedupWindow}
}

// set changes c's presence map in a room and tells the others.
func (s *Server) set(c *conn, m *protocol.Set) error {
	if err := checkValues(m.Entries, s.opts.MaxValue); err != nil {
		return err
	}
	r := s.lockRoom(m.Room, false)
	if r == nil {
		return protocol.Errorf(protocol.CodeNotJoined, "not in room %s", m.Room)
	}
	defer s.unlockRoom(r)
	mem, ok := r.subs[c]
	switch {
	case !ok:
		return protocol.Errorf(protocol.CodeNotJoined, "not in room %s", m.Room)
	case mem == nil:
		return protocol.Errorf(protocol.CodeReadOnly, "observers cannot write")
	}
	if err := r.update(mem, m.Entries, m.Delete, s.opts.MaxKeys); err != nil {
		return err
	}
	r.announce(&protocol.Presence{Room: r.name, Event: protocol.EventChange, Client: c.client,
		Entries: m.Entries, Delete: m.Delete}, c)
	return nil
}

// post stores an HTTP poster's entries, posted being their JSON as sent,
// and returns every other member.
func (s *Server) post(name, client, ip string, entries []protocol.Entry, posted []byte) ([]jsonMember, error) {
	if err := checkValues(entries, s.opts.MaxValue); err != nil {
		return nil, err
	}
	r, err := s.openRoom(name, ip)
	if err != nil {
		return nil, err
	}
	defer s.unlockRoom(r)
	m := r.members[client]
	switch {
	case m == nil:
		if err := s.hold.admitPoster(ip); err != nil {
			return nil, err
		}
		m = &member{client: client, entries: make(map[string]msgpack.RawMessage), ip: ip}
		if err := r.setPosted(m, posted); err != nil {
			s.hold.releasePoster(ip)
			return nil, err
		}
		if err := r.update(m, entries, nil, s.opts.MaxKeys); err != nil {
			r.setPosted(m, nil)
			s.hold.releasePoster(ip)
			return nil, err
		}
		r.members[client] = m
		r.announce(&protocol.Presence{Room: r.name, Event: protocol.EventJoin, Client: client, Entries: entries}, nil)
	case m.conn != nil || m.node != "":
		return nil, protocol.Errorf(protocol.CodeConflict, "client %s is connected by websocket", client)
	default: // the body is the poster's whole data, as supersynk stores it
		old := m.posted
		if err := r.setPosted(m, posted); err != nil {
			return nil, err
		}
		set, del := diffEntries(m.entries, entries)
		if len(set) == 0 && len(del) == 0 {
			if r.bus != nil && string(old) != string(posted) { // same values, spelled anew: for other nodes' HTTP readers
				r.bus.announce(r, &protocol.Presence{Room: r.name, Event: protocol.EventChange, Client: client})
			}
			break
		}
		if err := r.update(m, set, del, s.opts.MaxKeys); err != nil {
			r.setPosted(m, old)
			return nil, err
		}
		r.announce(&protocol.Presence{Room: r.name, Event: protocol.EventChange, Client: client, Entries: set, Delete: del}, nil)
	}
	m.seen = time.Now()
	s.wakeJanitor() // to time the poster out
	return r.jsonMembers(client), nil
}

// members returns every participant of a room in the supersynk shape
// (none if it does not exist).
func (s *Server) members(name string) []jsonMember {
	r := s.lockRoom(name, false)
	if r == nil {
		return []jsonMember{}
	}
	defer s.unlockRoom(r)
	return r.jsonMembers("")
}

// pingSlots spreads the pings over the ping interval: each tick of
// PingInterval/pingSlots pings one slot's connections, so that 10,000
// clients are not all pinged, and all answer, in the same millisecond.
const pingSlots = 64

// janitor pings the websocket clients and stops the silent ones, and
// every PingInterval sweeps the rooms (see sweep). With nobody to ping or
// time out it parks until a client comes, so that an idle server (an edge
// room's Durable Object above all) has no timer running; ageing the
// history and compacting the store wait for that client too.
func (s *Server) janitor() {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.PingInterval / pingSlots)
	defer t.Stop()
	var beat time.Time // the last cluster heartbeat
	for tick := 0; ; tick++ {
		if tick%pingSlots == 0 && s.idle() {
			t.Stop()
			if s.opts.parked != nil {
				s.opts.parked <- struct{}{}
			}
			select {
			case <-s.ctx.Done():
				return
			case <-s.wake:
			}
			t.Reset(s.opts.PingInterval / pingSlots)
		}
		select {
		case <-s.ctx.Done():
			return
		case now := <-t.C:
			s.pingSlot(now, uint8(tick%pingSlots))
			if tick%pingSlots == 0 {
				s.sweep(now)
				s.maybeCollectChunks(now)
			}
			// Nodes beat three times per Timeout, whatever the ping
			// interval: a node is dropped after a Timeout of silence.
			if s.bus != nil && now.Sub(beat) >= s.opts.Timeout/3 {
				beat = now
				s.bus.tick(now.Add(-s.opts.Timeout))
			}
		}
	}
}

// idle reports whether the janitor has nothing to do: no websocket
// client, no HTTP poster, no cluster to send heartbeats to.
func (s *Server) idle() bool {
	if s.bus != nil {
		return false
	}
	s.mu.Lock()
	if len(s.conns) > 0 {
		s.mu.Unlock()
		return false
	}
	rooms := slices.Collect(maps.Values(s.rooms))
	s.mu.Unlock()
	for _, r := range rooms {
		r.mu.Lock()
		n := len(r.members)
		r.mu.Unlock()
		if n > 0 {
			return false
		}
	}
	return true
}

// wakeJanitor wakes the janitor if it is parked.
func (s *Server) wakeJanitor() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// pingSlot pings the websocket clients of one slot, with one Ping frame
// encoded for them all (a Pong's nonce is not checked: any frame shows
// the client is there).
func (s *Server) pingSlot(now time.Time, slot uint8) {
	s.mu.Lock()
	conns := slices.Collect(maps.Keys(s.slots[slot]))
	s.pings++
	nonce := s.pings
	s.mu.Unlock()
	if len(conns) == 0 {
		return
	}
	ping := encode(&protocol.Ping{Nonce: nonce})
	for _, c := range conns {
		c.ping(now, ping)
	}
}

// sweep drops HTTP posters silent for the timeout, forgets changes older
// than the history age, and compacts the store to match.
func (s *Server) sweep(now time.Time) {
	deadline := now.Add(-s.opts.Timeout)
	oldest := now.Add(-s.opts.HistoryAge).UnixMilli()
	s.mu.Lock()
	names := slices.Collect(maps.Keys(s.rooms))
	s.mu.Unlock()
	for _, name := range names {
		r := s.lockRoom(name, false)
		if r == nil {
			continue
		}
		for _, m := range r.members {
			if m.conn == nil && m.node == "" && m.seen.Before(deadline) {
				r.removeMember(m, protocol.CodeTimeout)
			}
		}
		r.objs.log.trimBefore(oldest)
		start, done := r.objs.log.start, r.objs.compacted
		s.unlockRoom(r)
		if s.store == nil {
			continue
		}
		if upTo := r.compactable(start); upTo > done {
			if err := s.store.Compact(name, upTo); err != nil {
				s.log.Error("store compaction failed", "room", name, "err", err)
				continue
			}
			if r = s.lockRoom(name, false); r != nil {
				r.objs.compacted = max(r.objs.compacted, upTo)
				s.unlockRoom(r)
			}
		}
	}
}
