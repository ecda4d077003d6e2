package client

import (
	"sync"

	"github.com/synkhq/synk/protocol"
)

//go:generate go tool stringer -type=EventKind -trimprefix=Event -output=event_string.go

// EventKind says what an [Event] reports.
type EventKind uint8

// Event kinds.
const (
	EventJoin         EventKind = iota + 1 // Client joined Room with Entries
	EventChange                            // Client stored Entries and removed Deleted
	EventLeave                             // Client left Room; Err says why if not on purpose
	EventDisconnected                      // the connection dropped; Err says why
	EventReconnected                       // the connection is back and every room rejoined
	EventRoomClosed                        // the server closed Room for this client; Err says why
	EventClosed                            // the Conn stopped for good; Err says why

	EventObjectPut    // Object entered the view whole: Area, Version, and every field in Fields
	EventObjectUpdate // Object's Fields were stored and those named in Deleted removed
	EventObjectMove   // Object moved to Area, both in view
	EventObjectRemove // Object left the view (moved away or unsubscribed)
	EventObjectDelete // Object was deleted
	EventObjectsReset // the cache could not resume from its position (history gone): it was refreshed from a snapshot
	EventWritten      // a queued write nobody waited for was answered: Object, Version, and Err if refused
	EventMessage      // Client sent Room a message: Topic, Data, Direct if to this client alone, Area if in one
)

// Event is one change seen by a [Conn].
type Event struct {
	Kind    EventKind
	Room    string                         // the room, for room events
	Client  string                         // the participant, for Join, Change and Leave
	Entries map[string]protocol.RawMessage // presence entries stored (Join, Change); decode with [Member.Get]
	Fields  map[string]protocol.RawMessage // object fields stored (ObjectPut, ObjectUpdate); decode with [Object.Get]
	Deleted []string                       // entry keys (Change) or field names (ObjectUpdate) removed
	Err     error                          // why, for Leave, Disconnected, RoomClosed and Closed; the refusal for Written
	Object  string                         // the object, for object events
	Area    string                         // the object's area (put, move); a message's area, if sent with one (Message)
	Version uint64                         // the object's version after the change
	Topic   string                         // a message's topic (Message)
	Data    protocol.RawMessage            // a message's data, one msgpack value (Message)
	Direct  bool                           // a message sent to this client alone (Message)
}

// eventQueue is an unbounded queue drained into a channel by one goroutine,
// so that the reader never waits for the user.
type eventQueue struct {
	out    chan Event
	notify chan struct{}

	mu     sync.Mutex // Protects the following.
	items  []Event
	busy   bool // run holds an event it is handing over
	closed bool
}

func newEventQueue() *eventQueue {
	return &eventQueue{out: make(chan Event), notify: make(chan struct{}, 1)}
}

func (q *eventQueue) push(e Event) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	if len(q.items) == 0 && !q.busy {
		// Nothing is ahead of e: if the user waits on out, hand e over
		// at once, without a trip through run.
		select {
		case q.out <- e:
			q.mu.Unlock()
			return
		default:
		}
	}
	q.items = append(q.items, e)
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// run delivers events until done is closed, then closes out.
func (q *eventQueue) run(done <-chan struct{}) {
	defer close(q.out)
	for {
		q.mu.Lock()
		var e Event
		ok := len(q.items) > 0
		if ok {
			e = q.items[0]
			q.items[0] = Event{}
			q.items = q.items[1:]
			q.busy = true
		}
		q.mu.Unlock()
		if !ok {
			select {
			case <-q.notify:
				continue
			case <-done:
				q.drop()
				return
			}
		}
		select {
		case q.out <- e:
			q.mu.Lock()
			q.busy = false
			q.mu.Unlock()
		case <-done:
			q.drop()
			return
		}
	}
}

// drop discards what is left once the queue is closed.
func (q *eventQueue) drop() {
	q.mu.Lock()
	q.closed = true
	q.items = nil
	q.mu.Unlock()
}
