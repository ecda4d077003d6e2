package server

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/coder/websocket"
	"github.com/synkhq/synk/protocol"
)

// Writing. Frames go into a connection's queue without blocking. The
// server's write pool writes them while the socket takes them at once;
// otherwise, and for connections the pool cannot write (see pooled), a
// writer goroutine of the connection's own runs while the queue has
// frames and ends when it is empty, so an idle connection costs no
// goroutine stack but its reader's. The
// janitor pings every connection (see Server.ping).

// stop ends the connection with code (0: the peer went away). A writer
// then sends the code to the client where that makes sense, and closes.
func (c *conn) stop(code protocol.Code, msg string) {
	c.stopOnce.Do(func() {
		if code != 0 {
			c.s.met.failed(code)
		}
		c.quitCode, c.quitMsg = code, msg
		close(c.quit)
		c.qmu.Lock()
		c.qclosed = true
		c.startWriter(true) // unless the pool or a writer has c: it sees quit
		c.qmu.Unlock()
	})
}

// startWriter has c's queue written unless that is under way already: a
// running writer takes what was queued before it ends. The write pool
// does it if c is pooled and own is false; else a writer goroutine of c's
// own. The caller holds c.qmu.
func (c *conn) startWriter(own bool) {
	if c.writing {
		return
	}
	c.writing = true
	c.writers.Add(1)
	if !own && c.pooled() {
		c.s.pool.add(c)
		return
	}
	go c.write()
}

// pooled reports whether the write pool may write for c: c writes frames
// to its socket directly, and its writes are not coalesced (that takes a
// timer of its own).
func (c *conn) pooled() bool {
	return c.raw != nil && c.raw.rc != nil && !(c.batch && c.s.opts.Coalesce > 0)
}

// writeReady is the write pool's turn at c: it writes what c has queued
// while the socket takes each frame at once, then puts c at the back of
// the pool's line if more came meanwhile, so that a busy connection does
// not keep a worker from the others. When the socket is full, c is
// stopped, or its views are owed frames, it hands c to a writer goroutine
// of its own (which may wait) with what is left: no worker ever waits for
// one client.
func (c *conn) writeReady() {
	defer c.writers.Done()
	select {
	case <-c.quit:
		c.handOff(nil, 0)
		return
	default:
	}
	c.qmu.Lock()
	if len(c.owing) > 0 {
		c.handOffLocked(nil, 0)
		c.qmu.Unlock()
		return
	}
	c.qmu.Unlock()
	batch, left, ok := c.take()
	switch {
	case !ok:
		return
	case left > 0:
		c.handOff(batch, left)
		return
	}
	for rest := batch; len(rest) > 0; {
		msg, n := rest[0], 1
		if c.batch && len(rest) > 1 {
			msg, n = c.pack(rest, smallFrame) // what tryMessage takes
		}
		wrote, left := c.raw.tryMessage(msg)
		if !wrote {
			c.handOff(rest, 0)
			return
		}
		c.s.met.sent(n, len(msg))
		c.sent(len(msg) - left)
		if left > 0 {
			c.handOff(rest[n:], left)
			return
		}
		rest = rest[n:]
	}
	clear(batch)
	c.qmu.Lock()
	defer c.qmu.Unlock()
	c.spare = batch
	if len(c.queue) == 0 && !c.qclosed && len(c.owing) == 0 {
		c.writing = false
		return
	}
	c.writers.Add(1)
	c.s.pool.add(c)
}

// handOff puts rest back at the head of c's queue, with left bytes of a
// frame pending in c.raw, and starts a writer goroutine of c's own for
// them and what follows. c.writing stays set.
func (c *conn) handOff(rest [][]byte, left int) {
	c.qmu.Lock()
	c.handOffLocked(rest, left)
	c.qmu.Unlock()
}

func (c *conn) handOffLocked(rest [][]byte, left int) {
	if len(rest) > 0 {
		c.queue = append(slices.Clip(rest), c.queue...)
	}
	c.left += left
	c.writers.Add(1)
	go c.write()
}

// send queues a frame without blocking. Every queued frame counts against
// the connection's send buffer (SendBuffer bytes) and the server's
// (MaxQueued): a connection that would go past either is cut as too slow.
// A frame into an empty queue always fits the connection's own buffer, so
// one large frame never cuts a client that keeps up; the server's is
// never exceeded.
func (c *conn) send(b []byte) {
	c.qmu.Lock()
	if c.qclosed {
		c.qmu.Unlock()
		return // the writer is finishing or gone
	}
	n := len(b)
	if c.queued > 0 && c.queued+n > c.s.opts.SendBuffer || c.s.queued.Load()+int64(n) > c.s.opts.MaxQueued {
		full := "its send buffer is full"
		if c.queued+n <= c.s.opts.SendBuffer {
			full = "the server's send buffers are full"
		}
		c.qmu.Unlock()
		c.cut("%s", full)
		return
	}
	c.queue = append(c.queue, b)
	c.queued += n
	c.s.queued.Add(int64(n))
	c.startWriter(false)
	c.qmu.Unlock()
}

// cut stops c as a slow consumer, with a reason for its log.
func (c *conn) cut(format string, args ...any) {
	c.s.met.cut()
	c.stop(protocol.CodeSlowConsumer, "too slow: "+fmt.Sprintf(format, args...))
}

// sent uncounts n bytes the writer wrote or dropped.
func (c *conn) sent(n int) {
	c.qmu.Lock()
	c.queued -= n
	c.qmu.Unlock()
	c.s.queued.Add(-int64(n))
}

// fillBudget is how many bytes of a streamed snapshot may be queued for c
// now: what keeps its queue under half its send buffer.
func (c *conn) fillBudget() int {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	return c.s.opts.SendBuffer/2 - c.queued
}

// owe notes that c's view of room is owed frames (see view), which the
// writer sends as the queue drains.
func (c *conn) owe(room string) {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if c.qclosed {
		return
	}
	if c.owing == nil {
		c.owing = make(map[string]bool)
	}
	c.owing[room] = true
	c.startWriter(true) // refill is the own writer's
}

// refill queues more of what c's views are owed, while its queue is under
// half its send buffer. The writer calls it holding no lock.
func (c *conn) refill() {
	c.qmu.Lock()
	if len(c.owing) == 0 || c.qclosed || c.queued >= c.s.opts.SendBuffer/2 {
		c.qmu.Unlock()
		return
	}
	rooms := c.owing
	c.owing = nil
	c.qmu.Unlock()
	for name := range rooms {
		r := c.s.lockRoom(name, false)
		if r == nil {
			continue // gone, and the view with it
		}
		more := r.objs.fill(r.name, c, c.fillBudget())
		c.s.unlockRoom(r)
		if more {
			c.owe(name)
		}
	}
}

func (c *conn) sendMsg(m protocol.Message) { c.send(encode(m)) }

// joinedPart is about the most bytes of presence one Joined frame carries.
const joinedPart = 512 << 10

// sendJoined queues a room's snapshot: one Joined frame, or several
// marked More when its members carry more than joinedPart bytes, so that
// no frame comes near a client's read limit (issue 15.5).
func (c *conn) sendJoined(j *protocol.Joined) {
	all, part, size := j.Members, 0, 0
	for i, m := range all {
		n := len(m.Client) + entryOverhead
		for _, e := range m.Entries {
			n += len(e.Key) + len(e.Value) + 8
		}
		if size > 0 && size+n > joinedPart {
			c.sendMsg(&protocol.Joined{ID: j.ID, Room: j.Room, Members: all[part:i], Handle: j.Handle, More: true})
			part, size = i, 0
		}
		size += n
	}
	j.Members = all[part:]
	c.sendMsg(j)
}

func encode(m protocol.Message) []byte {
	b, err := protocol.Encode(m)
	if err != nil {
		panic("bug: server frame does not encode: " + err.Error())
	}
	return b
}

// take hands the writer every queued frame. When the queue is empty and
// no view is owed frames it reports false, and the writer must end
// (c.writing is false then). A writer does not wait for more: starting a
// goroutine for the next frame costs less than parking one with a timer
// per connection (issue 19.1), and an idle connection holds no writer.
//
// left is how many bytes of a frame that send wrote in part are pending
// in c.raw: the writer flushes them before anything else.
func (c *conn) take() (batch [][]byte, left int, ok bool) {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if len(c.queue) == 0 && !c.qclosed && len(c.owing) == 0 && c.left == 0 {
		c.writing = false
		return nil, 0, false
	}
	batch, left = c.queue, c.left
	c.queue, c.spare, c.left = c.spare[:0], nil, 0
	return batch, left, true
}

// write is the writer: it writes what is queued until the queue is empty,
// or finishes the connection once it is stopped.
func (c *conn) write() {
	defer c.writers.Done()
	coalesce := c.batch && c.s.opts.Coalesce > 0 // else no clock is read per write
	for {
		if d := c.s.opts.Coalesce - c.sinceWrite(coalesce); d > 0 {
			// Busy: frames came within Coalesce of the last write. Let
			// more gather, so that one write carries them all.
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-c.quit:
				t.Stop()
			}
		}
		batch, left, ok := c.take()
		if !ok {
			return
		}
		select {
		case <-c.quit:
			c.finish(batch)
			return
		default:
		}
		if left > 0 {
			if err := c.raw.flush(); err != nil {
				c.stop(0, "")
				c.ws.CloseNow()
				c.finish(nil)
				return
			}
			c.sent(left)
		}
		for rest := batch; len(rest) > 0; {
			msg, n := rest[0], 1
			if c.batch && len(rest) > 1 {
				msg, n = c.pack(rest, maxBatch)
			}
			if err := c.writeMsg(msg); err != nil {
				c.stop(0, "")
				c.ws.CloseNow()
				c.finish(nil)
				return
			}
			c.s.met.sent(n, len(msg))
			c.sent(len(msg))
			rest = rest[n:]
		}
		if coalesce && len(batch) > 0 {
			c.lastWrite = time.Now()
		}
		clear(batch)
		c.spare = batch
		c.refill()
	}
}

// sinceWrite is the time since the writer last wrote, if coalesce (the
// connection's writes are coalesced); otherwise it reads no clock and
// reports an eternity.
func (c *conn) sinceWrite(coalesce bool) time.Duration {
	if !coalesce {
		return math.MaxInt64
	}
	return time.Since(c.lastWrite)
}

// maxBatch bounds the bytes of frames packed into one message.
const maxBatch = 64 << 10

// pack joins the first frames of batch into one message of at most
// limit bytes (or one frame, if larger) and says how many it took.
func (c *conn) pack(batch [][]byte, limit int) ([]byte, int) {
	size, n := 0, 0
	for n < len(batch) && (n == 0 || size+len(batch[n]) <= limit) {
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

// writeMsg writes one message. A write blocked beyond WriteTimeout closes
// the connection: a deadline on the raw connection, else a watchdog timer
// (cheaper per frame than a context).
func (c *conn) writeMsg(b []byte) error {
	if c.raw != nil {
		return c.raw.writeMessage(b)
	}
	if c.watchdog == nil {
		c.watchdog = time.AfterFunc(c.s.opts.WriteTimeout, func() {
			c.stop(0, "")
			c.ws.CloseNow()
		})
	} else {
		c.watchdog.Reset(c.s.opts.WriteTimeout)
	}
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
		c.qmu.Lock()
		rest = append(rest, c.queue...)
		c.queue = nil
		c.qmu.Unlock()
		for _, b := range rest {
			if c.writeMsg(b) != nil {
				c.ws.CloseNow()
				return
			}
		}
		b, _ := protocol.Encode(&protocol.Error{Code: code, Message: c.quitMsg})
		if c.writeMsg(b) == nil {
			_ = c.ws.Close(websocket.StatusCode(code.CloseStatus()), c.quitMsg)
		}
		c.ws.CloseNow()
	}
}

// ping sends c the encoded Ping frame, or stops c if nothing was heard
// from it within the timeout. The janitor calls it every PingInterval.
func (c *conn) ping(now time.Time, frame []byte) {
	if now.Sub(time.Unix(0, c.seen.Load())) > c.s.opts.Timeout {
		c.stop(protocol.CodeTimeout, "no frame within the timeout")
		return
	}
	c.send(frame)
}
