package client

import (
	"cmp"
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/synkhq/synk/internal/wraperr"
	"github.com/synkhq/synk/protocol"
)

// Conn is a connection to a Synk server that survives network failures.
// Create it with [Dial]; stop it with [Conn.Close].
type Conn struct {
	url    string   // of the live session (URL)
	urls   []string // the server's addresses: Dial's url, then DialOptions.URLs
	at     int      // the one in use, or tried next; the dialing goroutine's
	opts   DialOptions
	events *eventQueue
	ctx    context.Context // ended by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // supervisor and event dispatcher

	mu       sync.Mutex // Protects the following.
	sess     *session   // the live session, nil while reconnecting
	sessCh   chan struct{}
	rooms    map[string]*Room
	client   string
	secret   string // the resume secret of client, when the server gave it
	limits   protocol.Limits
	failure  error  // set when the Conn stops for good
	opPrefix string // random, names this Conn's object writes
	opSeq    uint64
	writeSeq uint64                // numbers writes in the Store
	loaded   map[string]*roomState // Store contents of rooms not joined yet
	persist  map[string]*Room      // joined rooms whose state goes to the Store

	storeMu  sync.Mutex    // Serializes Store.Apply calls.
	flushNow chan struct{} // asks the flusher to flush at once
}

// nextOpID returns a new op id for an object write: unique per Conn, so
// that the server applies a resent write once.
func (c *Conn) nextOpID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.opSeq++
	return c.opPrefix + "-" + strconv.FormatUint(uint64(c.opSeq), 10)
}

// Dial connects to the websocket endpoint at url, such as
// "ws://127.0.0.1:8080/ws", and says hello. It returns an error if that
// first attempt fails (with [DialOptions.URLs], after trying each once);
// after it, the Conn reconnects on its own.
func Dial(ctx context.Context, url string, opts *DialOptions) (*Conn, error) {
	o := opts.withDefaults()
	if o.Client != "" {
		if err := protocol.CheckClient(o.Client); err != nil {
			return nil, err
		}
	}
	c := &Conn{urls: append([]string{url}, o.URLs...), opts: o, events: newEventQueue(), sessCh: make(chan struct{}), rooms: make(map[string]*Room),
		opPrefix: "op" + hex16(rand.Uint64()), // math/rand/v2: crypto/rand costs 40 KB of wasm
		loaded:   make(map[string]*roomState), persist: make(map[string]*Room), flushNow: make(chan struct{}, 1)}
	if o.Store != nil {
		kv, err := o.Store.Load(ctx)
		if err != nil {
			return nil, wraperr.Prefix("client: load the store", err)
		}
		if c.loaded, c.writeSeq, err = parseState(kv); err != nil {
			return nil, err
		}
	}
	var s *session
	var err error
	for c.at = range c.urls {
		if s, err = c.dialSession(ctx, 1); err == nil || terminal(err) || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.setSession(s)
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		c.events.run(c.ctx.Done())
	}()
	go c.supervise(s)
	if o.Store != nil {
		c.wg.Add(1)
		go c.flushLoop()
	}
	return c, nil
}

// URL returns the address of the server this connection is on, or was
// last on.
func (c *Conn) URL() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.url
}

// Client returns the client id the server gave this connection.
func (c *Conn) Client() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.client
}

// Events returns the channel on which every event of this Conn arrives, in
// order. It is closed by [Conn.Close].
func (c *Conn) Events() <-chan Event { return c.events.out }

// Close closes the connection, which leaves every room, stops the Conn's
// goroutines and waits for them. Events not yet received are dropped.
// With a [Store], the rooms' state is flushed to it first, unanswered
// writes included, and Close returns the error of that flush. Close is
// safe to call more than once.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.failure == nil {
		c.failure = ErrClosed
	}
	rooms := c.rooms
	c.rooms = make(map[string]*Room)
	c.mu.Unlock()
	for _, r := range rooms {
		r.markClosed(ErrClosed)
	}
	c.cancel()
	c.wg.Wait()
	if c.opts.Store == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.flush(ctx)
}

func (c *Conn) setSession(s *session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sess = s
	if s != nil {
		c.url = s.url
		// A secret is kept when a later Welcome has none (a restarted server
		// does not know it): the id is still sent, and stays this client's.
		c.client, c.secret = s.welcome.Client, cmp.Or(s.welcome.Secret, c.secret)
		c.limits = s.welcome.Limits
	}
	close(c.sessCh)
	c.sessCh = make(chan struct{})
}

// waitSession returns the live session, waiting while reconnecting.
func (c *Conn) waitSession(ctx context.Context) (*session, error) {
	for {
		c.mu.Lock()
		s, ch, failure := c.sess, c.sessCh, c.failure
		c.mu.Unlock()
		if failure != nil {
			return nil, failure
		}
		if s != nil && s.alive() {
			return s, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (c *Conn) room(name string) *Room {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rooms[name]
}

func (c *Conn) removeRoom(r *Room) {
	c.mu.Lock()
	if c.rooms[r.name] == r {
		delete(c.rooms, r.name)
	}
	c.mu.Unlock()
}

// supervise watches the live session and replaces it when it drops.
func (c *Conn) supervise(s *session) {
	defer c.wg.Done()
	for {
		select {
		case <-s.done:
		case <-c.ctx.Done():
			s.closeNormal()
			return
		}
		s.close(nil)
		err := s.endErr()
		c.setSession(nil)
		select { // offline from now on, maybe for long: save the cache
		case c.flushNow <- struct{}{}:
		default:
		}
		c.events.push(Event{Kind: EventDisconnected, Err: err})
		if terminal(err) {
			c.fail(err)
			return
		}
		if s = c.reconnect(s.gen); s == nil {
			return
		}
	}
}

// terminal reports whether a session that ended with err must not be
// retried: the server said so with a 1xx or 4xx code.
func terminal(err error) bool {
	code := protocol.ErrorCode(err)
	return code != 0 && !code.Retry()
}

// fail stops the Conn for good after err.
func (c *Conn) fail(err error) {
	c.mu.Lock()
	c.failure = wraperr.Prefix("client: stopped", err)
	rooms := c.rooms
	c.rooms = make(map[string]*Room)
	close(c.sessCh)
	c.sessCh = make(chan struct{})
	c.mu.Unlock()
	for _, r := range rooms {
		r.markClosed(err)
	}
	c.events.push(Event{Kind: EventClosed, Err: err})
}

// reconnect dials with backoff until a session is up and every room is
// rejoined. It returns nil when the Conn is closed or fails.
func (c *Conn) reconnect(gen uint64) *session {
	for attempt := 0; ; attempt++ {
		t := time.NewTimer(backoff(attempt, c.opts.MinBackoff, c.opts.MaxBackoff))
		select {
		case <-t.C:
		case <-c.ctx.Done():
			t.Stop()
			return nil
		}
		gen++
		c.at = (c.at + 1) % len(c.urls) // a node that died may not come back: try the next
		ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
		s, err := c.dialSession(ctx, gen)
		if err == nil {
			err = c.rejoin(ctx, s)
			if err != nil {
				s.close(err)
			}
		}
		cancel()
		if err == nil {
			c.events.push(Event{Kind: EventReconnected})
			return s
		}
		if terminal(err) {
			c.events.push(Event{Kind: EventDisconnected, Err: err})
			c.fail(err)
			return nil
		}
	}
}

// rejoin makes s the live session and joins every room on it again, with
// this client's entries as they are now.
func (c *Conn) rejoin(ctx context.Context, s *session) error {
	c.setSession(s)
	c.mu.Lock()
	rooms := make([]*Room, 0, len(c.rooms))
	for _, r := range c.rooms {
		rooms = append(rooms, r)
	}
	c.mu.Unlock()
	type call struct {
		r  *Room
		id uint32
		ch chan protocol.Message
	}
	calls := make([]call, 0, len(rooms))
	for _, r := range rooms {
		if !r.wasJoined() {
			continue // its Join call is still running and retries by itself
		}
		id, ch, err := r.sendJoin(ctx, s)
		if err != nil {
			return err
		}
		calls = append(calls, call{r, id, ch})
	}
	for _, cl := range calls {
		err := s.await(ctx, cl.id, cl.ch)
		switch {
		case err == errSessionLost || err == ctx.Err() && err != nil:
			return err
		case err != nil:
			c.removeRoom(cl.r)
			cl.r.markClosed(err)
			c.events.push(Event{Kind: EventRoomClosed, Room: cl.r.name, Err: err})
		}
	}
	return nil
}
