package server

import (
	"time"

	"github.com/synkhq/synk/internal/meet"
	"github.com/synkhq/synk/protocol"
	"github.com/synkhq/synk/server/auth"
)

// pendingMeet is a websocket client's meet request on the board, or, on
// a cluster node, sent to its owner (cancel set).
type pendingMeet struct {
	req    *meet.Request
	timer  *time.Timer // expires the request
	cancel func(protocol.Code, string)
}

// meet puts a client's Meet on the board. Its answer, a Met or an Error
// with its request id, is queued when the group forms, when it expires,
// or when the client cancels it; a connection that ends withdraws its
// requests.
func (c *conn) meet(m *protocol.Meet) error {
	if err := c.s.serves(m.Room); err != nil {
		return err
	}
	if err := c.grant.Check(m.Room, auth.CapMeet); err != nil {
		return err
	}
	if c.grant != nil && m.Actor != c.grant.User {
		return protocol.Errorf(protocol.CodeForbidden, "the token is for actor %q, not %q", c.grant.User, m.Actor)
	}
	if m.Room != "" {
		if err := c.s.canMeet(c, m.Room); err != nil {
			return err
		}
	}
	c.mmu.Lock()
	n, dup := len(c.meets), c.meets[m.ID] != nil
	c.mmu.Unlock()
	switch {
	case dup:
		return protocol.Errorf(protocol.CodeBadRequest, "request id %d is already a pending meet", m.ID)
	case n >= c.s.opts.MaxMeets:
		return protocol.Errorf(protocol.CodeTooMany, "the limit is %d pending meets per connection", c.s.opts.MaxMeets)
	}
	req, err := c.s.meets.Prepare(m.Room, meet.Params{Event: m.Event, Actor: m.Actor, Payload: m.Payload,
		Labels: m.Labels, Selector: m.Selector, Mates: int(m.Mates)})
	if err != nil {
		return err
	}
	timeout := c.s.opts.MeetTimeout
	if d := time.Duration(m.TimeoutMS) * time.Millisecond; d > 0 && d < timeout {
		timeout = d
	}
	id := m.ID
	if c.s.bus != nil {
		return c.meetClustered(id, m.Room, req.Params(), timeout)
	}
	pm := &pendingMeet{req: req}
	req.OnMatch = func(payloads map[string]string) {
		c.dropMeet(id)
		c.sendMsg(&protocol.Met{ID: id, Payloads: payloads})
	}
	c.mmu.Lock()
	c.meets[id] = pm
	c.mmu.Unlock()
	if err := c.s.meets.Add(req); err != nil {
		c.dropMeet(id)
		return err
	}
	c.mmu.Lock()
	if c.meets[id] == pm { // still pending: not matched at once
		pm.timer = time.AfterFunc(timeout, func() {
			c.endMeet(id, protocol.Errorf(protocol.CodeExpired, "no match within %v", timeout))
		})
	}
	c.mmu.Unlock()
	return nil
}

// meetClustered sends meet id to its event's owner node; its Met or Error
// comes back from there.
func (c *conn) meetClustered(id uint32, scope string, p meet.Params, timeout time.Duration) error {
	pm := &pendingMeet{}
	c.mmu.Lock()
	c.meets[id] = pm
	c.mmu.Unlock()
	pm.cancel = c.s.bus.meet(scope, p, timeout, func(payloads map[string]string) {
		c.dropMeet(id)
		c.sendMsg(&protocol.Met{ID: id, Payloads: payloads})
	}, func(e *protocol.Error) {
		c.dropMeet(id)
		e.ID = id
		c.sendMsg(e)
	})
	return nil
}

// endMeet withdraws meet id, if still pending, and answers it with e.
func (c *conn) endMeet(id uint32, e *protocol.Error) {
	c.mmu.Lock()
	pm := c.meets[id]
	c.mmu.Unlock()
	if pm != nil && pm.cancel != nil {
		pm.cancel(e.Code, e.Message) // the owner answers
		return
	}
	if pm == nil || !c.s.meets.Withdraw(pm.req) {
		return // answered already, or matched: its Met is queued
	}
	c.dropMeet(id)
	e.ID = id
	c.sendMsg(e)
}

// dropMeet forgets meet id and stops its timer.
func (c *conn) dropMeet(id uint32) {
	c.mmu.Lock()
	defer c.mmu.Unlock()
	if pm := c.meets[id]; pm != nil {
		if pm.timer != nil {
			pm.timer.Stop()
		}
		delete(c.meets, id)
	}
}

// dropMeets withdraws every pending meet of the connection, which ended.
func (c *conn) dropMeets() {
	c.mmu.Lock()
	meets := c.meets
	c.meets = make(map[uint32]*pendingMeet)
	c.mmu.Unlock()
	for _, pm := range meets {
		if pm.cancel != nil {
			pm.cancel(protocol.CodeCanceled, "the connection ended")
			continue
		}
		if pm.timer != nil {
			pm.timer.Stop()
		}
		c.s.meets.Withdraw(pm.req)
	}
}

// canMeet checks that c may meet in room: joined, as a participant.
func (s *Server) canMeet(c *conn, name string) error {
	r := s.lockRoom(name, false)
	if r == nil {
		return protocol.Errorf(protocol.CodeNotJoined, "not in room %s", name)
	}
	defer s.unlockRoom(r)
	switch m, ok := r.subs[c]; {
	case !ok:
		return protocol.Errorf(protocol.CodeNotJoined, "not in room %s", name)
	case m == nil:
		return protocol.Errorf(protocol.CodeReadOnly, "observers cannot meet")
	}
	return nil
}
