package client

import (
	"context"
	"slices"
	"time"

	"github.com/synkhq/synk/internal/wraperr"
	"github.com/synkhq/synk/protocol"
)

// WriteOptions refine an object write. A nil *WriteOptions means none.
type WriteOptions struct {
	// Expect makes the write compare-and-set: it applies only if the
	// object is at this version, else fails with protocol.CodeStale.
	Expect uint64
	// Delete lists fields to remove (Update only).
	Delete []string
}

// Pending is an object write in a room's outbox: sent, or waiting for the
// connection, and not yet answered.
type Pending struct {
	Op     protocol.ObjectOp
	Object string
	Area   string // create, move
	OpID   string // the client op id the server applies it once by
}

// pendingWrite is one write in the outbox.
type pendingWrite struct {
	w       protocol.Write // ID is set per send
	seq     uint64         // orders the outbox in the store
	done    chan struct{}  // closed once answered
	version uint64         // the answer, once done is closed
	err     error
	waiting bool // a call waits for the answer; guarded by the room's mutex
	tries   int  // answers Overloaded so far; guarded by the room's mutex
}

// maxOverloaded is how many Overloaded answers a write is sent again
// after (with backoff, about 15 s with the default backoff) before the
// answer is the write's: a cluster node that lost its NATS stream leader
// answers so until a new one is elected.
const maxOverloaded = 8

// Create creates object id of kind in area with fields (encoded as
// msgpack) and returns its version, 1.
func (r *Room) Create(ctx context.Context, id, kind, area string, fields map[string]any) (uint64, error) {
	es, err := r.c.encodeEntries(fields)
	if err != nil {
		return 0, err
	}
	return r.writeObject(ctx, &protocol.Write{Op: protocol.OpCreate, Object: id, Kind: kind, Area: area, Fields: es}, nil)
}

// Update stores fields of object id (last writer wins per field) and
// removes opts.Delete. It returns the new version.
func (r *Room) Update(ctx context.Context, id string, fields map[string]any, opts *WriteOptions) (uint64, error) {
	es, err := r.c.encodeEntries(fields)
	if err != nil {
		return 0, err
	}
	w := &protocol.Write{Op: protocol.OpUpdate, Object: id, Fields: es}
	if opts != nil {
		w.Delete = opts.Delete
	}
	return r.writeObject(ctx, w, opts)
}

// Move moves object id to area and returns the new version.
func (r *Room) Move(ctx context.Context, id, area string, opts *WriteOptions) (uint64, error) {
	return r.writeObject(ctx, &protocol.Write{Op: protocol.OpMove, Object: id, Area: area}, opts)
}

// DeleteObject deletes object id.
func (r *Room) DeleteObject(ctx context.Context, id string, opts *WriteOptions) error {
	_, err := r.writeObject(ctx, &protocol.Write{Op: protocol.OpDelete, Object: id}, opts)
	return err
}

// Pending returns the room's writes not yet answered, oldest first.
func (r *Room) Pending() []Pending {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Pending, len(r.outbox))
	for i, pw := range r.outbox {
		out[i] = Pending{Op: pw.w.Op, Object: pw.w.Object, Area: pw.w.Area, OpID: pw.w.OpID}
	}
	return out
}

// writeObject puts w in the room's outbox (and the Store, if any), sends
// it if connected, and waits for the answer or ctx. A write stays in the
// outbox until answered: it goes out again after every reconnect, with
// its op id, which the server applies at most once. If ctx ends first, or
// the room is closed, the error wraps [ErrPending] and the answer arrives
// later as an [EventWritten].
func (r *Room) writeObject(ctx context.Context, w *protocol.Write, opts *WriteOptions) (uint64, error) {
	w.Room = r.name
	if opts != nil {
		w.Expect = opts.Expect
	}
	w.ID = 1
	w.OpID = r.c.nextOpID()
	if b, err := protocol.Encode(w); err != nil {
		return 0, err
	} else if _, err := protocol.Decode(b); err != nil {
		return 0, err
	}
	if r.observer {
		return 0, &protocol.Error{Code: protocol.CodeReadOnly, Message: "observers cannot write"}
	}
	pw := &pendingWrite{w: *w, seq: r.c.nextWriteSeq(), done: make(chan struct{}), waiting: true}
	if err := r.c.storeWrite(ctx, pw); err != nil {
		return 0, err
	}
	r.mu.Lock()
	if r.closed != nil {
		r.mu.Unlock()
		r.c.unstoreWrite(pw)
		return 0, r.closed
	}
	r.outbox = append(r.outbox, pw)
	if s := r.sess; s != nil && s.alive() {
		if err := r.sendWrite(ctx, s, pw); err != nil && err != errSessionLost {
			// ctx ended before the frame could be queued: abandon it.
			r.outbox = r.outbox[:len(r.outbox)-1]
			r.mu.Unlock()
			r.c.unstoreWrite(pw)
			return 0, err
		}
	}
	gone := r.gone
	r.mu.Unlock()

	select {
	case <-pw.done:
		return pw.version, pw.err
	case <-ctx.Done():
	case <-gone:
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-pw.done:
		return pw.version, pw.err
	default:
	}
	pw.waiting = false
	if err := ctx.Err(); err != nil {
		return 0, wraperr.Both(ErrPending, err)
	}
	return 0, wraperr.Both(ErrPending, r.closed)
}

// sendWrite sends pw on s. The caller holds r.mu.
func (r *Room) sendWrite(ctx context.Context, s *session, pw *pendingWrite) error {
	id, _ := s.request(func(m protocol.Message) { r.writeAnswered(pw, m) })
	w := pw.w
	w.ID = id
	if err := s.send(ctx, &w); err != nil {
		s.forget(id)
		return err
	}
	return nil
}

// resend sends pw again on the live session, unless it was answered or
// the room closed meanwhile; without a session, the reconnect sends it.
func (r *Room) resend(pw *pendingWrite) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.sess; slices.Contains(r.outbox, pw) && s != nil && s.alive() {
		_ = r.sendWrite(r.c.ctx, s, pw) // a lost session resends the outbox
	}
}

// sendOutbox sends every write of the outbox on a fresh session s, after
// its Join and Sub. The caller holds r.mu.
func (r *Room) sendOutbox(ctx context.Context, s *session) error {
	for _, pw := range r.outbox {
		if err := r.sendWrite(ctx, s, pw); err != nil {
			return err
		}
	}
	return nil
}

// writeAnswered runs in the reader on the answer to pw.
func (r *Room) writeAnswered(pw *pendingWrite, m protocol.Message) {
	r.mu.Lock()
	select {
	case <-pw.done:
		r.mu.Unlock()
		return // answered on an earlier session
	default:
	}
	switch m := m.(type) {
	case *protocol.OK:
		pw.version = m.Version
	case *protocol.Error:
		if m.Code == protocol.CodeOverloaded && pw.tries < maxOverloaded {
			pw.tries++
			r.mu.Unlock()
			time.AfterFunc(backoff(pw.tries, r.c.opts.MinBackoff, r.c.opts.MaxBackoff), func() { r.resend(pw) })
			return
		}
		pw.err = m
	}
	close(pw.done)
	if i := slices.Index(r.outbox, pw); i >= 0 {
		r.outbox = slices.Delete(r.outbox, i, i+1)
	}
	r.answered = append(r.answered, pw.seq)
	waiting := pw.waiting
	r.mu.Unlock()
	if !waiting {
		r.c.events.push(Event{Kind: EventWritten, Room: r.name, Object: pw.w.Object, Version: pw.version, Err: pw.err})
	}
}
