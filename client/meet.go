package client

import (
	"context"
	"maps"
	"time"

	"github.com/synkhq/synk/protocol"
)

// MeetParams is a rendezvous request (see [Conn.Meet]).
type MeetParams struct {
	// Event names what to meet on: only requests with the same event meet.
	Event string
	// Actor is this request's name: its payload is keyed by it, and it is
	// in the default labels and selector. Two members of a group never
	// share an actor.
	Actor string
	// Payload is given to every member of the group.
	Payload string
	// Mates is how many others to meet; 0 means 1, as in netsync. A group
	// has as many members as its largest Mates plus one.
	Mates int
	// Labels describe this request to the others' selectors. Default
	// {"actor": Actor}.
	Labels map[string]string
	// Selector chooses the others by their labels, in Kubernetes label
	// selector syntax ("role=guest, level in (2,3)"). Default
	// "actor != <Actor>".
	Selector string
	// Timeout bounds the wait on the server; 0 means the server's limit.
	// The server answers an expired request with protocol.CodeExpired.
	Timeout time.Duration
}

// Meet waits until others meet this request on the server-wide scope
// (shared with the HTTP API's /event), then returns every member's payload
// keyed by actor, this one included. When ctx ends first, the request is
// withdrawn and ctx's error returned. A request lives on one connection:
// if it drops, Meet returns an error and the request never takes part in
// a match; call again to wait anew.
func (c *Conn) Meet(ctx context.Context, p *MeetParams) (map[string]string, error) {
	return c.meet(ctx, "", p)
}

// Meet is [Conn.Meet] scoped to the room: only requests made in this room
// meet each other. Observers cannot meet.
func (r *Room) Meet(ctx context.Context, p *MeetParams) (map[string]string, error) {
	if r.observer {
		return nil, &protocol.Error{Code: protocol.CodeReadOnly, Message: "observers cannot meet"}
	}
	return r.c.meet(ctx, r.name, p)
}

func (c *Conn) meet(ctx context.Context, room string, p *MeetParams) (map[string]string, error) {
	m := &protocol.Meet{ID: 1, Room: room, Event: p.Event, Actor: p.Actor, Payload: p.Payload,
		Mates: uint32(max(p.Mates, 1)), Labels: maps.Clone(p.Labels), Selector: p.Selector}
	if p.Mates < 0 {
		return nil, &protocol.Error{Code: protocol.CodeBadRequest, Message: "mates must not be negative"}
	}
	if p.Timeout > 0 {
		m.TimeoutMS = uint32(min(p.Timeout.Milliseconds(), 1<<32-1))
	}
	if b, err := protocol.Encode(m); err != nil {
		return nil, err
	} else if _, err := protocol.Decode(b); err != nil {
		return nil, err
	}
	s, err := c.waitSession(ctx)
	if err != nil {
		return nil, err
	}
	id, ch := s.request(nil)
	m.ID = id
	if err := s.send(ctx, m); err != nil {
		s.forget(id)
		return nil, err
	}
	select {
	case a := <-ch:
		return metPayloads(a)
	case <-s.done:
		s.unwait(id)
		return nil, errMeetLost
	case <-ctx.Done():
	}
	// Withdraw it; the answer tells whether it was matched meanwhile.
	b, _ := protocol.Encode(&protocol.Cancel{ID: id})
	select {
	case s.out <- b:
	case <-s.done:
		s.unwait(id)
		return nil, ctx.Err()
	}
	t := time.NewTimer(cancelWait)
	defer t.Stop()
	select {
	case a := <-ch:
		if payloads, err := metPayloads(a); err == nil {
			return payloads, nil // matched before the Cancel arrived
		}
	case <-s.done:
		s.unwait(id)
	case <-t.C:
		s.unwait(id)
	}
	return nil, ctx.Err()
}

// cancelWait bounds the wait for the server's answer to a Cancel.
const cancelWait = 5 * time.Second

func metPayloads(m protocol.Message) (map[string]string, error) {
	switch m := m.(type) {
	case *protocol.Met:
		return m.Payloads, nil
	case *protocol.Error:
		return nil, m
	}
	return nil, &protocol.Error{Code: protocol.CodeInternal, Message: "meet answered with " + m.Type().String()}
}
