package client

import (
	"context"

	"github.com/synkhq/synk/protocol"
)

// Send sends a message with topic and data (encoded as msgpack; a
// [protocol.RawMessage] goes as it is) to the room's other members and
// observers, or, with to a member's client id, to that member alone. It
// returns when the server has queued it for every receiver; they get an
// [EventMessage]. Messages are not kept: members who join later, or who
// are reconnecting when it goes, never get it, and while this client is
// disconnected Send fails with [ErrDisconnected] rather than wait (also
// when the connection drops before the server answered: then the message
// may have reached some receivers). What a newcomer must see
// belongs in presence ([Room.Set]) or in objects. The server refuses a
// topic that is not a key, a to that is not a member of the room
// (NotFound), data over its MaxValue and a send by an observer, with the
// protocol's error.
func (r *Room) Send(ctx context.Context, to, topic string, data any) error {
	return r.SendArea(ctx, "", to, topic, data)
}

// SendArea is [Room.Send] for something in area (an entity at a place of
// a large world, say): the message reaches only the receivers subscribed
// to that area ([Room.Subscribe]), to among them; the others never get it.
// Its receivers find the area in the event. An empty area is Send.
func (r *Room) SendArea(ctx context.Context, area, to, topic string, data any) error {
	b, err := encodeValue(data)
	if err != nil {
		return err
	}
	// The server checks the rest (topic, to, size, observer) and answers
	// with the error.
	r.mu.Lock()
	s, closed := r.joined, r.closed
	r.mu.Unlock()
	if closed != nil {
		return closed
	}
	if s == nil || !s.alive() {
		return ErrDisconnected
	}
	id, ch := s.request(nil)
	err = s.send(ctx, &protocol.Send{ID: id, Room: r.name, To: to, Area: area, Topic: topic, Data: b})
	if err != nil {
		s.forget(id)
	} else {
		err = s.await(ctx, id, ch)
	}
	if err == errSessionLost {
		return ErrDisconnected // it may have reached some receivers
	}
	return err
}

// applySent queues the event of a message from s.
func (r *Room) applySent(s *session, m *protocol.Sent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.joined != s || r.closed != nil {
		return
	}
	r.c.events.push(Event{Kind: EventMessage, Room: r.name, Client: m.From, Topic: m.Topic, Data: m.Data, Direct: m.Direct, Area: m.Area})
}
