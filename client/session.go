package client

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/synkhq/synk/internal/wraperr"
	"github.com/synkhq/synk/protocol"
)

// session is one live websocket. Its reader applies frames to the rooms in
// order; its writer sends everything queued on out. Both stop when done is
// closed, after which err tells why.
type session struct {
	c       *Conn
	gen     uint64 // counts sessions of c, from 1
	url     string // the server's address
	ws      transport
	welcome *protocol.Welcome
	out     chan []byte
	ctx     context.Context // ended with the session
	cancel  context.CancelFunc
	done    <-chan struct{} // ctx.Done()
	wg      sync.WaitGroup
	parts   map[uint32][]protocol.Member // the reader's: snapshots coming in parts, by Join id

	mu       sync.Mutex // Protects the following.
	pending  map[uint32]chan protocol.Message
	handlers map[uint32]func(protocol.Message) // run by the reader on the answer
	nextID   uint32
	endOnce  sync.Once
	err      error // why the session ended; written once before done is closed
}

// dialSession connects, says hello and starts the reader and writer.
func (c *Conn) dialSession(ctx context.Context, gen uint64) (*session, error) {
	url := c.urls[c.at]
	ws, err := dialTransport(ctx, url, c.opts.ReadLimit)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*session, error) {
		ws.closeNow()
		return nil, err
	}
	hello := &protocol.Hello{Version: protocol.Version, Client: c.opts.Client, Batch: true, Token: c.opts.Token}
	c.mu.Lock()
	if hello.Token == "" && c.secret != "" && (hello.Client == "" || hello.Client == c.client) {
		// The id (the server's, or the one chosen) and the proof the
		// server gave: the same client again.
		hello.Client, hello.Secret = c.client, c.secret
	}
	c.mu.Unlock()
	b, err := protocol.Encode(hello)
	if err != nil {
		return fail(err)
	}
	if err := ws.write(ctx, b); err != nil {
		return fail(wraperr.Prefix("client: hello", err))
	}
	b, err = ws.read(ctx)
	if err != nil {
		return fail(closeError(wraperr.Prefix("client: hello", err)))
	}
	m, err := protocol.Decode(b)
	if err != nil {
		return fail(wraperr.Prefix("client: hello", err))
	}
	var w *protocol.Welcome
	switch m := m.(type) {
	case *protocol.Welcome:
		w = m
	case *protocol.Error:
		return fail(m)
	default:
		return fail(errors.New("client: hello answered with " + m.Type().String()))
	}
	sctx, cancel := context.WithCancel(context.Background())
	s := &session{c: c, gen: gen, url: url, ws: ws, welcome: w, out: make(chan []byte, 64), parts: make(map[uint32][]protocol.Member),
		ctx: sctx, cancel: cancel, done: sctx.Done(), pending: make(map[uint32]chan protocol.Message),
		handlers: make(map[uint32]func(protocol.Message))}
	s.wg.Add(2)
	go s.readLoop()
	go s.writeLoop()
	return s, nil
}

// end stops the session with err; the first call wins.
func (s *session) end(err error) {
	s.endOnce.Do(func() {
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		s.cancel()
		s.ws.closeNow()
	})
}

// close ends the session and waits for its goroutines.
func (s *session) close(err error) {
	s.end(err)
	s.wg.Wait()
}

func (s *session) endErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *session) alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// send queues a frame. It blocks while the writer is busy.
func (s *session) send(ctx context.Context, m protocol.Message) error {
	b, err := protocol.Encode(m)
	if err != nil {
		return err
	}
	select {
	case s.out <- b:
		return nil
	case <-s.done:
		return errSessionLost
	case <-ctx.Done():
		return ctx.Err()
	}
}

// request registers a reply slot for a new request id, and fn, if not
// nil, to run in the reader on the answer, before any later frame is
// applied. fn must not block.
func (s *session) request(fn func(protocol.Message)) (uint32, chan protocol.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	ch := make(chan protocol.Message, 1)
	s.pending[s.nextID] = ch
	if fn != nil {
		s.handlers[s.nextID] = fn
	}
	return s.nextID, ch
}

// forget drops a request that was not sent.
func (s *session) forget(id uint32) {
	s.mu.Lock()
	delete(s.pending, id)
	delete(s.handlers, id)
	s.mu.Unlock()
}

// unwait drops the reply slot of a request nobody waits for any more; its
// handler still runs on the answer.
func (s *session) unwait(id uint32) {
	s.mu.Lock()
	delete(s.pending, id)
	s.mu.Unlock()
}

// await waits for the reply to id: nil for OK or Joined, the *protocol.Error
// for an error, errSessionLost if the connection dropped first.
func (s *session) await(ctx context.Context, id uint32, ch chan protocol.Message) error {
	defer s.unwait(id)
	select {
	case m := <-ch:
		if e, ok := m.(*protocol.Error); ok {
			return e
		}
		return nil
	case <-s.done:
		return errSessionLost
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *session) reply(id uint32, m protocol.Message) {
	s.mu.Lock()
	ch, fn := s.pending[id], s.handlers[id]
	delete(s.pending, id)
	delete(s.handlers, id)
	s.mu.Unlock()
	if fn != nil {
		fn(m)
	}
	if ch != nil {
		ch <- m
	}
}

// writeLoop sends what is queued on out; when the server reads batches,
// the frames queued together go as one message.
func (s *session) writeLoop() {
	defer s.wg.Done()
	var buf []byte
	for {
		select {
		case b := <-s.out:
			if s.welcome.Batch {
				buf = append(buf[:0], b...)
			more:
				for len(buf) < maxBatch {
					select {
					case b := <-s.out:
						buf = append(buf, b...)
					default:
						break more
					}
				}
				b = buf
			}
			if err := s.ws.write(context.Background(), b); err != nil { // end closes the transport
				s.end(closeError(err))
				return
			}
		case <-s.done:
			return
		}
	}
}

// maxBatch bounds the bytes the writer joins into one message.
const maxBatch = 64 << 10

// readLoop reads until the connection ends. The server pings every
// Welcome.PingMS, so a read that waits two pings longer than
// Welcome.TimeoutMS means the server or the path to it is gone. (The
// margin lets the server, which drops silent clients after TimeoutMS,
// notice first and tell the others why.)
func (s *session) readLoop() {
	defer s.wg.Done()
	timeout := time.Duration(s.welcome.TimeoutMS+2*s.welcome.PingMS) * time.Millisecond
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	var serverErr error
	// A watchdog ends a silent connection. Each message only counts itself;
	// the watchdog looks four times per timeout and ends the connection
	// once four looks in a row saw no new message: after a silence longer
	// than the timeout, and at most a quarter longer. (A context with a
	// deadline per read, a timer reset or even a clock reading per message
	// would cost a timer operation or, in a browser, two calls into JS per
	// frame.)
	var timedOut atomic.Bool
	var heard atomic.Uint64 // messages read
	var seen uint64         // heard at the last look; the watchdog's own
	quiet := 0              // looks in a row that saw no new message
	var watchdog *time.Timer
	watchdog = time.AfterFunc(time.Hour, func() {
		if n := heard.Load(); n != seen {
			seen, quiet = n, 0
		} else if quiet++; quiet == 4 {
			timedOut.Store(true)
			s.ws.closeNow()
			return
		}
		watchdog.Reset(timeout / 4)
	})
	watchdog.Reset(timeout / 4) // armed once watchdog is set, for the function to read
	defer watchdog.Stop()
	for {
		// No context: end closes the transport, which ends the read, and a
		// cancelable context costs a callback registration per frame.
		b, err := s.ws.read(context.Background())
		heard.Add(1)
		if err != nil {
			switch {
			case serverErr != nil:
				err = serverErr
			case timedOut.Load():
				// In ms, not Duration.String: its formatting costs the
				// browser bundle ~1 KB of brotli.
				err = &protocol.Error{Code: protocol.CodeTimeout, Message: "no frame from the server within " + strconv.FormatInt(timeout.Milliseconds(), 10) + " ms"}
			default:
				err = closeError(err)
			}
			s.end(err)
			return
		}
		for len(b) > 0 { // a message may carry several frames
			frame, rest, err := protocol.Next(b)
			if err != nil {
				s.end(wraperr.Prefix("client: bad frame from server", err))
				return
			}
			b = rest
			m, err := protocol.Decode(frame)
			if errors.Is(err, protocol.ErrUnknownType) {
				continue
			}
			if err != nil {
				s.end(wraperr.Prefix("client: bad frame from server", err))
				return
			}
			if e := s.handle(m); e != nil {
				serverErr = e
			}
		}
	}
}

// handle acts on one frame from the server. It returns the error that
// explains an imminent close, if the frame is one.
func (s *session) handle(m protocol.Message) error {
	switch m := m.(type) {
	case *protocol.Joined:
		if m.More { // a part of a large snapshot: the rest follows
			s.parts[m.ID] = append(s.parts[m.ID], m.Members...)
			return nil
		}
		if p, ok := s.parts[m.ID]; ok {
			m.Members = append(p, m.Members...)
			delete(s.parts, m.ID)
		}
		if r := s.c.room(m.Room); r != nil {
			r.applySnapshot(s, m)
		}
		s.reply(m.ID, m)
	case *protocol.Presence:
		if r := s.c.room(m.Room); r != nil {
			r.applyPresence(s, m)
		}
	case *protocol.Object:
		if r := s.c.room(m.Room); r != nil {
			r.applyObject(s, m)
		}
	case *protocol.Sent:
		if r := s.c.room(m.Room); r != nil {
			r.applySent(s, m)
		}
	case *protocol.OK:
		s.reply(m.ID, m)
	case *protocol.Met:
		s.reply(m.ID, m)
	case *protocol.Ping:
		b, _ := protocol.Encode(&protocol.Pong{Nonce: m.Nonce})
		select {
		case s.out <- b:
		default: // the writer is behind; the next Ping will do
		}
	case *protocol.Error:
		switch {
		case m.ID != 0:
			s.reply(m.ID, m)
		case m.Room != "":
			if r := s.c.room(m.Room); r != nil {
				r.closeBy(s, m)
			}
		default:
			return m
		}
	}
	return nil
}

// closeNormal closes the websocket with a normal close handshake, then
// stops the session and waits for its goroutines.
func (s *session) closeNormal() {
	_ = s.ws.close()
	s.close(ErrClosed)
}
