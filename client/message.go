package client

import (
	"context"
	"strconv"

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
// belongs in presence ([Room.Set]) or in objects.
func (r *Room) Send(ctx context.Context, to, topic string, data any) error {
	if err := protocol.CheckKey(topic); err != nil {
		return err
	}
	if to != "" {
		if err := protocol.CheckClient(to); err != nil {
			return err
		}
	}
	b, err := encodeValue(data)
	if err != nil {
		return err
	}
	if lim := r.c.currentLimits(); lim.MaxValue > 0 && len(b) > int(lim.MaxValue) {
		return &protocol.Error{Code: protocol.CodeValueTooLarge, Room: r.name,
			Message: "message data is " + strconv.Itoa(len(b)) + " bytes, the limit is " + strconv.Itoa(int(lim.MaxValue))}
	}
	r.mu.Lock()
	switch {
	case r.closed != nil:
		r.mu.Unlock()
		return r.closed
	case r.observer:
		r.mu.Unlock()
		return &protocol.Error{Code: protocol.CodeReadOnly, Room: r.name, Message: "observers cannot send messages"}
	}
	s := r.joined
	r.mu.Unlock()
	if s == nil || !s.alive() {
		return ErrDisconnected
	}
	id, ch := s.request(nil)
	err = s.send(ctx, &protocol.Send{ID: id, Room: r.name, To: to, Topic: topic, Data: b})
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
	r.c.events.push(Event{Kind: EventMessage, Room: r.name, Client: m.From, Topic: m.Topic, Data: m.Data, Direct: m.Direct})
}
