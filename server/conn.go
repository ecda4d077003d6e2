package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/synkhq/synk/internal/wsread"
	"github.com/synkhq/synk/protocol"
	"github.com/synkhq/synk/server/auth"
	"golang.org/x/time/rate"
)

// conn is one websocket client. Its own goroutine reads (see run); a writer
// goroutine runs while there is something to write (see writer.go).
type conn struct {
	s      *Server
	ws     Socket
	raw    *frameConn // ws's connection, for writing; nil at the edge
	client string
	// proven: the client id is this client's (the server chose it, or the
	// Hello carried its resume secret, or a token names it), so the
	// connection takes over its membership from an older one quietly.
	proven bool
	ip     string       // the peer's address, for the per-address budgets
	batch  bool         // the client reads several frames per message
	seen   atomic.Int64 // unix nanoseconds of the last frame received
	slot   uint8        // when the janitor pings it (see pingSlots)

	qmu     sync.Mutex      // Protects the following.
	queue   [][]byte        // frames for the writer, oldest first
	queued  int             // bytes of frames in queue or being written
	owing   map[string]bool // rooms whose view is owed frames (see view)
	left    int             // bytes of a frame the write pool wrote in part, pending in raw
	writing bool            // the write pool or a writer has c, or the connection is finished
	qclosed bool            // stop was called: no writer starts but the last
	writers sync.WaitGroup  // the pool's turn at c or the writer, if either is under way

	// The writer's own (or the pool's, on its turn), used by one at a time.
	buf       []byte      // frames packed into one message
	spare     [][]byte    // the queue's next array
	lastWrite time.Time   // end of the last write
	watchdog  *time.Timer // closes the websocket when a write takes too long

	// rooms and handles are touched only by the reader goroutine. A room's
	// subs map is the truth; an entry here may be stale after a
	// CodeReplaced. A handle names a joined room in a Set; handles are
	// never reused on a connection, so a stale one cannot hit another room.
	rooms      map[string]uint32 // joined rooms: their handles
	handles    map[uint32]string // joined rooms by handle
	lastHandle uint32

	grant   *auth.Grant   // what the client's token allows; nil: auth is off
	expiry  *time.Timer   // ends the session when the token expires
	limiter *rate.Limiter // frames per second; nil: no limit

	mmu   sync.Mutex              // Protects meets.
	meets map[uint32]*pendingMeet // pending meet requests by request id

	stopOnce sync.Once
	quit     chan struct{} // closed by stop
	quitCode protocol.Code // written once, before quit is closed
	quitMsg  string
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		writeError(w, http.StatusServiceUnavailable, protocol.Errorf(protocol.CodeShutdown, "server shutting down"))
		return
	}
	ip := remoteIP(r.RemoteAddr)
	if !s.takeIP(ip) {
		s.wg.Done()
		writeError(w, http.StatusTooManyRequests, protocol.Errorf(protocol.CodeTooMany,
			"the limit is %d connections per address, %d in all", s.opts.MaxConnsPerIP, s.opts.MaxConns))
		return
	}
	if err := s.CheckOrigin(r.Header.Get("Origin"), r.Host); err != nil {
		defer s.wg.Done()
		defer s.releaseIP(ip)
		s.refuseOrigin(w, r, err)
		return
	}
	hj := &hijacker{ResponseWriter: w, timeout: s.opts.WriteTimeout}
	ws, err := websocket.Accept(hj, r, &websocket.AcceptOptions{InsecureSkipVerify: true}) // CheckOrigin did
	if err != nil {
		s.releaseIP(ip)
		s.wg.Done()
		s.log.Debug("websocket accept", "remote", r.RemoteAddr, "err", err)
		return
	}
	// The connection goes on in a goroutine of its own, and the handler
	// returns: net/http's goroutine, its deep stack and its 8 KiB of
	// buffers for the hijacked connection are then freed.
	go s.run(wsread.Exact{Conn: ws}, hj.conn, r.RemoteAddr, func() {
		s.releaseIP(ip)
		s.wg.Done()
	})
}

// remoteIP returns the address of a request's peer without its port.
func remoteIP(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// takeIP counts a connection from ip, unless ip or the server is at its
// limit.
func (s *Server) takeIP(ip string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open >= s.opts.MaxConns || s.opts.MaxConnsPerIP >= 0 && s.ipConns[ip] >= s.opts.MaxConnsPerIP {
		return false
	}
	s.open++
	s.ipConns[ip]++
	return true
}

// releaseIP uncounts a connection from ip.
func (s *Server) releaseIP(ip string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.open--
	if s.ipConns[ip]--; s.ipConns[ip] <= 0 {
		delete(s.ipConns, ip)
	}
}

// run serves one websocket: the handshake here, then its reads on a
// goroutine of its own (serve) until it ends, and then done. raw, if not
// nil, is the connection under ws, which the writer writes messages to
// directly. The reader most connections keep for long, and idle, so it
// starts with a fresh stack: not the deeper one the handshake grew, which
// only a collection would shrink (issue 19: KB per idle connection).
func (s *Server) run(ws Socket, raw *frameConn, remote string, done func()) {
	c := s.handshakeConn(ws, raw, remote)
	if c == nil {
		done()
		return
	}
	go func() {
		defer done()
		c.serve()
	}()
}

// handshakeConn does the handshake and registers the connection, or
// closes ws and returns nil.
func (s *Server) handshakeConn(ws Socket, raw *frameConn, remote string) *conn {
	ws.SetReadLimit(int64(s.opts.MaxFrame))
	hello, grant, proven, err := s.handshake(s.ctx, ws)
	if err != nil {
		s.log.Debug("websocket handshake", "remote", remote, "err", err)
		ws.CloseNow()
		return nil
	}
	if raw != nil {
		raw.handshakeDone()
	}
	c := &conn{s: s, ws: ws, raw: raw, client: hello.Client, proven: proven, ip: remoteIP(remote), batch: hello.Batch, grant: grant,
		rooms: make(map[string]uint32), handles: make(map[uint32]string), quit: make(chan struct{}), meets: make(map[uint32]*pendingMeet)}
	c.seen.Store(time.Now().UnixNano())
	if s.opts.Rate > 0 {
		c.limiter = rate.NewLimiter(rate.Limit(s.opts.Rate), s.opts.Burst)
	}
	if grant != nil {
		// A session lasts no longer than its token.
		c.expiry = time.AfterFunc(time.Until(grant.Expires), func() {
			c.stop(protocol.CodeUnauthorized, "the token expired")
		})
	}

	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.wakeJanitor()
	c.slot = s.nextSlot
	s.nextSlot = (s.nextSlot + 1) % pingSlots
	if s.slots[c.slot] == nil {
		s.slots[c.slot] = make(map[*conn]struct{})
	}
	s.slots[c.slot][c] = struct{}{}
	if s.closing {
		c.stop(protocol.CodeShutdown, "server shutting down")
	}
	s.mu.Unlock()
	return c
}

// serve reads c until the peer goes or the writer closes the websocket,
// then takes c out of its rooms and the server.
func (c *conn) serve() {
	s := c.s
	defer c.ws.CloseNow()
	if c.expiry != nil {
		defer c.expiry.Stop()
	}
	c.readLoop()
	c.stop(0, "")
	c.dropMeets()
	c.writers.Wait()
	if c.watchdog != nil {
		c.watchdog.Stop()
	}
	c.qmu.Lock()
	unsent := c.queued // queued, never written
	c.qmu.Unlock()
	c.sent(unsent)

	reason := c.quitCode
	for name := range c.rooms {
		_ = s.leave(c, name, reason) // NotJoined after a replace is fine
	}
	s.mu.Lock()
	delete(s.conns, c)
	delete(s.slots[c.slot], c)
	s.mu.Unlock()
	s.releaseClient(c.client) // held since the handshake
	s.log.Debug("websocket closed", "client", c.client, "code", reason)
}

// handshake reads the Hello and answers with the Welcome.
// It reports whether the client id is proven to be this client's.
func (s *Server) handshake(ctx context.Context, ws Socket) (*protocol.Hello, *auth.Grant, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout) // ctx ends with Shutdown
	defer cancel()
	fail := func(e *protocol.Error) (*protocol.Hello, *auth.Grant, bool, error) {
		b, _ := protocol.Encode(e)
		_ = ws.Write(ctx, websocket.MessageBinary, b)
		_ = ws.Close(websocket.StatusCode(e.Code.CloseStatus()), e.Message)
		return nil, nil, false, e
	}
	typ, b, err := ws.Read(ctx)
	if err != nil {
		return nil, nil, false, err
	}
	if typ != websocket.MessageBinary {
		return fail(protocol.Errorf(protocol.CodeBadFrame, "frames are binary messages"))
	}
	m, err := protocol.Decode(b)
	if err != nil {
		return fail(asProtocolError(err))
	}
	h, ok := m.(*protocol.Hello)
	if !ok {
		return fail(protocol.Errorf(protocol.CodeHelloFirst, "first frame must be a Hello, got %v", m.Type()))
	}
	if h.Version != protocol.Version {
		return fail(protocol.Errorf(protocol.CodeBadVersion, "version %d is not supported; this server speaks %d", h.Version, protocol.Version))
	}
	var grant *auth.Grant
	if s.opts.Auth != nil {
		if grant, err = s.opts.Auth.Verify(h.Token); err != nil {
			return fail(asProtocolError(err))
		}
		if h.Client != "" && h.Client != grant.User {
			return fail(protocol.Errorf(protocol.CodeUnauthorized, "the token is for client %q, not %q", grant.User, h.Client))
		}
		h.Client = grant.User
	}
	proven := grant != nil // the token names the client
	switch {
	case h.Client == "":
		var id [6]byte
		_, _ = rand.Read(id[:])
		h.Client, proven = "u-"+hex.EncodeToString(id[:]), true
	case h.Secret != "" && grant == nil:
		proven = hmac.Equal([]byte(h.Secret), []byte(s.secretFor(h.Client)))
	}
	// A secret goes to a client whose id is proven, and to one that
	// chose an id no connection here holds: the first to take an id may
	// take it over later (after a cut, or this server's restart) without
	// the others seeing it leave and join.
	// The id is counted as held from here, so that of two connections
	// taking a free id at once only the first gets a secret; the caller
	// uncounts it when the connection ends, this function if it fails.
	var secret string
	if held := s.holdClient(h.Client); grant == nil && (proven || !held) {
		secret = s.secretFor(h.Client)
	}
	o := s.opts
	b, err = protocol.Encode(&protocol.Welcome{Version: protocol.Version, Client: h.Client, Batch: true,
		PingMS: uint32(o.PingInterval / time.Millisecond), TimeoutMS: uint32(o.Timeout / time.Millisecond),
		Limits: protocol.Limits{MaxFrame: uint32(o.MaxFrame), MaxKeys: uint32(o.MaxKeys),
			MaxValue: uint32(o.MaxValue), MaxRooms: uint32(o.MaxRooms)}, Secret: secret})
	if err == nil {
		err = ws.Write(ctx, websocket.MessageBinary, b)
	}
	if err != nil {
		s.releaseClient(h.Client)
		return nil, nil, false, err
	}
	return h, grant, proven, nil
}

// holdClient counts a connection with client's id, and reports whether
// another connection of this server had it already.
func (s *Server) holdClient(client string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[client]++
	return s.clients[client] > 1
}

// releaseClient uncounts a connection with client's id.
func (s *Server) releaseClient(client string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clients[client]--; s.clients[client] <= 0 {
		delete(s.clients, client)
	}
}

// secretFor returns client's resume secret: a keyed hash only this server
// (this process, or the nodes of its cluster, which share the key) can
// make, so that nobody else can take over a client's membership by its id.
func (s *Server) secretFor(client string) string {
	mac := hmac.New(sha256.New, s.idKey.Load()[:])
	mac.Write([]byte(client))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:18])
}

// asProtocolError turns a Decode error into the error frame that answers it.
func asProtocolError(err error) *protocol.Error {
	var e *protocol.Error
	if errors.As(err, &e) {
		return e
	}
	return protocol.Errorf(protocol.CodeBadFrame, "%v", err)
}

// readLoop reads until the connection fails or the writer closes it.
// Reads take no context: a per-read timeout costs a timer per frame, and
// the writer's ping check (Timeout) and CloseNow end a silent peer.
func (c *conn) readLoop() {
	for {
		typ, b, err := c.ws.Read(context.Background())
		if err != nil {
			if websocket.CloseStatus(err) == websocket.StatusMessageTooBig {
				c.stop(protocol.CodeFrameTooLarge, "frame too large")
			}
			return
		}
		c.seen.Store(time.Now().UnixNano())
		c.s.met.got(len(b))
		if typ != websocket.MessageBinary {
			c.stop(protocol.CodeBadFrame, "frames are binary messages")
			return
		}
		for len(b) > 0 { // a message may carry several frames
			if c.limiter != nil && !c.limiter.Allow() {
				c.s.log.Info("client over its rate limit: disconnected", "client", c.client)
				c.stop(protocol.CodeRateLimited, fmt.Sprintf("more than %g frames per second (bursts of %d)", c.s.opts.Rate, c.s.opts.Burst))
				return
			}
			frame, rest, err := protocol.Next(b)
			if err != nil {
				frame, rest = b, nil // Decode reports what is wrong
			}
			if !c.handle(frame) {
				return
			}
			b = rest
		}
	}
}

// handle acts on one frame. It returns false when the connection must end.
func (c *conn) handle(b []byte) bool {
	m, err := protocol.Decode(b)
	switch {
	case errors.Is(err, protocol.ErrUnknownType):
		c.s.met.received(0)
		return true // from a newer client: skip
	case err != nil:
		c.s.met.received(0)
		e := asProtocolError(err)
		if e.Code == protocol.CodeBadFrame {
			c.stop(e.Code, e.Message)
			return false
		}
		c.s.met.failed(e.Code)
		c.sendMsg(e)
		return true
	}
	c.s.met.received(m.Type())
	switch m.(type) {
	case *protocol.Ping, *protocol.Pong:
		return c.act(m)
	}
	// Other frames go deep into the server (rooms, snapshots, encoders)
	// and come less often: they run on a goroutine of their own while the
	// reader waits, so that the reader's stack, which an idle connection
	// keeps, stays as small as reading needs: 4 KiB, not 8 (issue 19).
	done := make(chan bool, 1)
	go func() { done <- c.act(m) }()
	return <-done
}

// act carries out one decoded frame. It returns false when the
// connection must end.
func (c *conn) act(m protocol.Message) bool {
	var (
		id  uint32
		err error
	)
	switch m := m.(type) {
	case *protocol.Join:
		id, err = m.ID, c.join(m)
	case *protocol.Leave:
		id, err = m.ID, c.leave(m)
	case *protocol.Set:
		id, err = m.ID, c.set(m)
	case *protocol.Sub:
		id, err = m.ID, c.sub(m) // queues its OK itself
	case *protocol.Write:
		id, err = m.ID, c.writeObject(m)
	case *protocol.Meet:
		id, err = m.ID, c.meet(m) // answered later, with a Met or an Error
	case *protocol.Cancel:
		c.endMeet(m.ID, protocol.Errorf(protocol.CodeCanceled, "canceled by the client"))
	case *protocol.Send:
		id, err = m.ID, c.s.relay(c, m)
		if err == nil && id != 0 {
			c.sendMsg(&protocol.OK{ID: id})
		}
	case *protocol.Ping:
		c.sendMsg(&protocol.Pong{Nonce: m.Nonce})
	case *protocol.Pong:
	default:
		c.stop(protocol.CodeBadFrame, "a client does not send "+m.Type().String())
		return false
	}
	if err != nil {
		e := asProtocolError(err)
		e.ID = id
		c.s.met.failed(e.Code)
		c.sendMsg(e)
	}
	return true
}

// leave takes the client out of a room and answers OK.
func (c *conn) leave(m *protocol.Leave) error {
	err := c.s.leave(c, m.Room, 0)
	c.forget(m.Room)
	if err == nil {
		c.sendMsg(&protocol.OK{ID: m.ID})
	}
	return err
}

// set publishes the client's entries in a room named or given by handle,
// and answers OK when asked (an ID).
func (c *conn) set(m *protocol.Set) error {
	if m.Handle != 0 {
		if m.Room = c.handles[m.Handle]; m.Room == "" {
			return protocol.Errorf(protocol.CodeNotJoined, "no joined room has handle %d", m.Handle)
		}
	}
	err := c.s.set(c, m)
	if err == nil && m.ID != 0 {
		c.sendMsg(&protocol.OK{ID: m.ID})
	}
	return err
}

// sub changes the client's areas in a room, if its token lets it read.
func (c *conn) sub(m *protocol.Sub) error {
	if err := c.s.unclustered("objects"); err != nil {
		return err
	}
	if err := c.grant.Check(m.Room, auth.CapRead); err != nil {
		return err
	}
	return c.s.subscribe(c, m)
}

// writeObject applies an object write, if the token lets the client write, and
// answers OK with the object's version.
func (c *conn) writeObject(m *protocol.Write) error {
	if err := c.s.unclustered("objects"); err != nil {
		return err
	}
	if err := c.grant.Check(m.Room, auth.CapWrite); err != nil {
		return err
	}
	v, err := c.s.writeObject(c, m)
	if err == nil {
		c.sendMsg(&protocol.OK{ID: m.ID, Version: v})
	}
	return err
}

func (c *conn) join(j *protocol.Join) error {
	if err := c.s.serves(j.Room); err != nil {
		return err
	}
	need := auth.CapPresence
	if j.Observer {
		need = auth.CapObserve
	}
	if err := c.grant.Check(j.Room, need); err != nil {
		return err
	}
	if _, ok := c.rooms[j.Room]; !ok && len(c.rooms) >= c.s.opts.MaxRooms {
		c.pruneRooms()
		if len(c.rooms) >= c.s.opts.MaxRooms {
			return protocol.Errorf(protocol.CodeTooManyRooms, "the limit is %d rooms per connection", c.s.opts.MaxRooms)
		}
	}
	if err := checkValues(j.Entries, c.s.opts.MaxValue); err != nil {
		return err
	}
	h := c.lastHandle + 1
	if err := c.s.join(c, j, h); err != nil {
		return err
	}
	c.forget(j.Room) // a stale entry after a replace
	c.lastHandle = h
	c.rooms[j.Room] = h
	c.handles[h] = j.Room
	return nil
}

// forget drops a room this connection left or was replaced in.
func (c *conn) forget(name string) {
	if h, ok := c.rooms[name]; ok {
		delete(c.handles, h)
		delete(c.rooms, name)
	}
}

// pruneRooms forgets rooms that this connection was replaced in.
func (c *conn) pruneRooms() {
	for name := range c.rooms {
		r := c.s.lockRoom(name, false)
		if r == nil {
			c.forget(name)
			continue
		}
		if _, ok := r.subs[c]; !ok {
			c.forget(name)
		}
		c.s.unlockRoom(r)
	}
}
