package server

import "github.com/synkhq/synk/protocol"

// relay carries out a client's Send: the message goes to the room's other
// receivers, or to the one member it names, on this node and, in a
// cluster, on the others. Nothing of it is kept.
func (s *Server) relay(c *conn, m *protocol.Send) error {
	if len(m.Data) > s.opts.MaxValue {
		return protocol.Errorf(protocol.CodeValueTooLarge, "message data is %d bytes, the limit is %d", len(m.Data), s.opts.MaxValue)
	}
	r := s.lockRoom(m.Room, false)
	if r == nil {
		return protocol.Errorf(protocol.CodeNotJoined, "not in room %s", m.Room)
	}
	defer s.unlockRoom(r)
	switch mem, ok := r.subs[c]; {
	case !ok:
		return protocol.Errorf(protocol.CodeNotJoined, "not in room %s", m.Room)
	case mem == nil:
		return protocol.Errorf(protocol.CodeReadOnly, "observers cannot send messages")
	}
	out := &protocol.Sent{Room: r.name, From: c.client, Topic: m.Topic, Data: m.Data}
	if m.To != "" {
		to := r.members[m.To]
		switch {
		case to == nil:
			return protocol.Errorf(protocol.CodeNotFound, "client %s is not in room %s", m.To, r.name)
		case to.conn == nil && to.node == "":
			return protocol.Errorf(protocol.CodeUnsupported, "client %s posts over HTTP: it cannot receive messages", m.To)
		}
	}
	r.deliver(out, m.To, c)
	if r.bus != nil && (m.To == "" || r.members[m.To].node != "") {
		r.bus.relay(r, out, m.To)
	}
	return nil
}

// deliver queues m for this node's receivers in r: every one but except
// (to empty), or the connection of member to, if it is here. The caller
// holds r.mu.
func (r *room) deliver(m *protocol.Sent, to string, except *conn) {
	if to == "" {
		r.broadcast(m, except)
		return
	}
	if mem := r.members[to]; mem != nil && mem.conn != nil {
		direct := *m
		direct.Direct = true
		mem.conn.sendMsg(&direct)
	}
}
