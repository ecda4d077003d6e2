package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/synkhq/synk/protocol"
)

// conn is one websocket client. The handler goroutine reads; writeLoop
// writes everything, from the bounded queue.
type conn struct {
	s      *Server
	ws     *websocket.Conn
	client string
	batch  bool         // the client reads several frames per message
	seen   atomic.Int64 // unix nanoseconds of the last frame received

	buf   []byte        // the writer's: frames packed into one message
	qmu   sync.Mutex    // Protects queue and bulk.
	queue [][]byte      // frames for the writer, oldest first
	bulk  int           // frames of queue queued by sendBulk
	wake  chan struct{} // signalled when a frame is queued

	// rooms is touched only by the reader goroutine. A room's subs map is
	// the truth; an entry here may be stale after a CodeReplaced.
	rooms map[string]bool

	mmu   sync.Mutex              // Protects meets.
	meets map[uint32]*pendingMeet // pending meet requests by request id

	watchdog *time.Timer // closes the websocket when a write takes too long

	stopOnce sync.Once
	quit     chan struct{} // closed by stop
	quitCode protocol.Code // written once, before quit is closed
	quitMsg  string
}

// stop ends the connection with code (0: the peer went away). The writer
// sends the code to the client where that makes sense, then closes.
func (c *conn) stop(code protocol.Code, msg string) {
	c.stopOnce.Do(func() {
		c.quitCode, c.quitMsg = code, msg
		close(c.quit)
	})
}

// send queues a frame without blocking. A connection with more than
// SendQueue frames of live changes waiting is stopped as too slow.
func (c *conn) send(b []byte) { c.enqueue(b, false) }

// sendBulk queues a frame of a snapshot or resume. Such frames are bounded
// by the room's objects, not by SendQueue: a client subscribing to a large
// area is not cut for it, only for falling behind the live changes after.
func (c *conn) sendBulk(b []byte) { c.enqueue(b, true) }

func (c *conn) enqueue(b []byte, bulk bool) {
	select {
	case <-c.quit:
		return // the writer is finishing or gone
	default:
	}
	c.qmu.Lock()
	if !bulk && len(c.queue)-c.bulk >= c.s.opts.SendQueue {
		c.qmu.Unlock()
		c.stop(protocol.CodeSlowConsumer, "send queue full")
		return
	}
	c.queue = append(c.queue, b)
	if bulk {
		c.bulk++
	}
	c.qmu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// take hands the writer every queued frame, and the queue buf to fill next.
func (c *conn) take(buf [][]byte) [][]byte {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	out := c.queue
	c.queue, c.bulk = buf[:0], 0
	return out
}

func (c *conn) sendMsg(m protocol.Message) { c.send(encode(m)) }

func (c *conn) sendBulkMsg(m protocol.Message) { c.sendBulk(encode(m)) }

func encode(m protocol.Message) []byte {
	b, err := protocol.Encode(m)
	if err != nil {
		panic("bug: server frame does not encode: " + err.Error())
	}
	return b
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		writeError(w, http.StatusServiceUnavailable, protocol.Errorf(protocol.CodeShutdown, "server shutting down"))
		return
	}
	defer s.wg.Done()
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: s.opts.OriginPatterns})
	if err != nil {
		s.log.Debug("websocket accept", "remote", r.RemoteAddr, "err", err)
		return
	}
	defer ws.CloseNow()
	ws.SetReadLimit(int64(s.opts.MaxFrame))

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	hello, err := s.handshake(ctx, ws)
	if err != nil {
		s.log.Debug("websocket handshake", "remote", r.RemoteAddr, "err", err)
		return
	}
	client := hello.Client
	c := &conn{s: s, ws: ws, client: client, batch: hello.Batch, wake: make(chan struct{}, 1),
		rooms: make(map[string]bool), quit: make(chan struct{}), meets: make(map[uint32]*pendingMeet)}
	c.seen.Store(time.Now().UnixNano())
	c.watchdog = time.AfterFunc(time.Hour, func() {
		c.stop(0, "")
		ws.CloseNow() // a write blocked beyond WriteTimeout
	})
	c.watchdog.Stop()
	defer c.watchdog.Stop()

	s.mu.Lock()
	s.conns[c] = struct{}{}
	if s.closing {
		c.stop(protocol.CodeShutdown, "server shutting down")
	}
	s.mu.Unlock()

	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		defer ws.CloseNow() // unblocks the reader
		c.writeLoop()
	}()
	c.readLoop()
	c.stop(0, "")
	c.dropMeets()
	<-writerDone

	reason := c.quitCode
	for name := range c.rooms {
		_ = s.leave(c, name, reason) // NotJoined after a replace is fine
	}
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.log.Debug("websocket closed", "client", client, "code", reason)
}

// handshake reads the Hello and answers with the Welcome.
func (s *Server) handshake(ctx context.Context, ws *websocket.Conn) (*protocol.Hello, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	defer context.AfterFunc(s.ctx, cancel)() // Shutdown ends handshakes at once
	fail := func(e *protocol.Error) (*protocol.Hello, error) {
		b, _ := protocol.Encode(e)
		_ = ws.Write(ctx, websocket.MessageBinary, b)
		_ = ws.Close(websocket.StatusCode(e.Code.CloseStatus()), e.Message)
		return nil, e
	}
	typ, b, err := ws.Read(ctx)
	if err != nil {
		return nil, err
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
	if h.Client == "" {
		var id [6]byte
		_, _ = rand.Read(id[:])
		h.Client = "u-" + hex.EncodeToString(id[:])
	}
	o := s.opts
	b, err = protocol.Encode(&protocol.Welcome{Version: protocol.Version, Client: h.Client, Batch: true,
		PingMS: uint32(o.PingInterval / time.Millisecond), TimeoutMS: uint32(o.Timeout / time.Millisecond),
		Limits: protocol.Limits{MaxFrame: uint32(o.MaxFrame), MaxKeys: uint32(o.MaxKeys),
			MaxValue: uint32(o.MaxValue), MaxRooms: uint32(o.MaxRooms)}})
	if err != nil {
		return nil, err
	}
	return h, ws.Write(ctx, websocket.MessageBinary, b)
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
		if typ != websocket.MessageBinary {
			c.stop(protocol.CodeBadFrame, "frames are binary messages")
			return
		}
		for len(b) > 0 { // a message may carry several frames
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
		return true // from a newer client: skip
	case err != nil:
		e := asProtocolError(err)
		if e.Code == protocol.CodeBadFrame {
			c.stop(e.Code, e.Message)
			return false
		}
		c.sendMsg(e)
		return true
	}
	var id uint32
	switch m := m.(type) {
	case *protocol.Join:
		id = m.ID
		err = c.join(m)
	case *protocol.Leave:
		id = m.ID
		err = c.s.leave(c, m.Room, 0)
		delete(c.rooms, m.Room)
		if err == nil {
			c.sendMsg(&protocol.OK{ID: m.ID})
		}
	case *protocol.Set:
		id = m.ID
		err = c.s.set(c, m)
		if err == nil && m.ID != 0 {
			c.sendMsg(&protocol.OK{ID: m.ID})
		}
	case *protocol.Sub:
		id = m.ID
		err = c.s.subscribe(c, m) // queues its OK itself
	case *protocol.Write:
		id = m.ID
		var v uint64
		if v, err = c.s.writeObject(c, m); err == nil {
			c.sendMsg(&protocol.OK{ID: m.ID, Version: v})
		}
	case *protocol.Meet:
		id = m.ID
		err = c.meet(m) // answered later, with a Met or an Error
	case *protocol.Cancel:
		c.endMeet(m.ID, protocol.Errorf(protocol.CodeCanceled, "canceled by the client"))
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
		c.sendMsg(e)
	}
	return true
}

func (c *conn) join(j *protocol.Join) error {
	if !c.rooms[j.Room] && len(c.rooms) >= c.s.opts.MaxRooms {
		c.pruneRooms()
		if len(c.rooms) >= c.s.opts.MaxRooms {
			return protocol.Errorf(protocol.CodeTooManyRooms, "the limit is %d rooms per connection", c.s.opts.MaxRooms)
		}
	}
	if err := checkValues(j.Entries, c.s.opts.MaxValue); err != nil {
		return err
	}
	if err := c.s.join(c, j); err != nil {
		return err
	}
	c.rooms[j.Room] = true
	return nil
}

// pruneRooms forgets rooms that this connection was replaced in.
func (c *conn) pruneRooms() {
	for name := range c.rooms {
		r := c.s.lockRoom(name, false)
		if r == nil {
			delete(c.rooms, name)
			continue
		}
		if _, ok := r.subs[c]; !ok {
			delete(c.rooms, name)
		}
		c.s.unlockRoom(r)
	}
}

func (c *conn) writeLoop() {
	t := time.NewTicker(c.s.opts.PingInterval)
	defer t.Stop()
	hold := time.NewTimer(time.Hour)
	hold.Stop()
	var nonce uint32
	var batch, spare [][]byte
	var last time.Time // end of the last write
	for {
		select {
		case <-c.wake:
			if d := c.s.opts.Coalesce - time.Since(last); c.batch && d > 0 {
				// Busy: frames came within Coalesce of the last write. Let
				// more gather, so that one write carries them all.
				hold.Reset(d)
				select {
				case <-hold.C:
				case <-c.quit:
					hold.Stop()
				}
			}
			batch, spare = c.take(spare), batch
			for len(batch) > 0 {
				select {
				case <-c.quit:
					c.finish(batch)
					return
				default:
				}
				n := 1
				msg := batch[0]
				if c.batch && len(batch) > 1 {
					msg, n = c.pack(batch)
				}
				if err := c.write(msg); err != nil {
					c.stop(0, "")
					return
				}
				clear(batch[:n])
				batch = batch[n:]
			}
			last = time.Now()
		case now := <-t.C:
			if now.Sub(time.Unix(0, c.seen.Load())) > c.s.opts.Timeout {
				c.stop(protocol.CodeTimeout, "no frame within the timeout")
				continue
			}
			nonce++
			b, _ := protocol.Encode(&protocol.Ping{Nonce: nonce})
			if err := c.write(b); err != nil {
				c.stop(0, "")
				return
			}
		case <-c.quit:
			c.finish(nil)
			return
		}
	}
}

// maxBatch bounds the bytes of frames packed into one message.
const maxBatch = 64 << 10

// pack joins the first frames of batch into one message of at most
// maxBatch bytes (or one frame, if larger) and says how many it took.
func (c *conn) pack(batch [][]byte) ([]byte, int) {
	size, n := 0, 0
	for n < len(batch) && (n == 0 || size+len(batch[n]) <= maxBatch) {
		size += len(batch[n])
		n++
	}
	if n == 1 {
		return batch[0], 1
	}
	c.buf = c.buf[:0]
	for _, f := range batch[:n] {
		c.buf = append(c.buf, f...)
	}
	return c.buf, n
}

// write writes one message. A write blocked beyond WriteTimeout closes
// the connection (a watchdog timer, cheaper per frame than a context).
func (c *conn) write(b []byte) error {
	c.watchdog.Reset(c.s.opts.WriteTimeout)
	err := c.ws.Write(context.Background(), websocket.MessageBinary, b)
	c.watchdog.Stop()
	return err
}

// finish closes the websocket after stop. A peer that is gone, silent or
// too slow is cut at once; otherwise the frames not yet written (rest,
// then the queue) are flushed, then an Error frame with the code, then the
// close handshake.
func (c *conn) finish(rest [][]byte) {
	switch code := c.quitCode; code {
	case 0, protocol.CodeTimeout, protocol.CodeSlowConsumer:
		c.ws.CloseNow()
	default:
		for _, b := range append(rest, c.take(nil)...) {
			if c.write(b) != nil {
				c.ws.CloseNow()
				return
			}
		}
		b, _ := protocol.Encode(&protocol.Error{Code: code, Message: c.quitMsg})
		if c.write(b) == nil {
			_ = c.ws.Close(websocket.StatusCode(code.CloseStatus()), c.quitMsg)
		}
		c.ws.CloseNow()
	}
}
