package server

import "github.com/synkhq/synk/protocol"

// relay carries out a client's Send: the message goes to the room's other
// receivers, or to the one member it names, on this node and, in a
// cluster, on the others; with an area, only to those of them subscribed
// to the area. Nothing of it is kept.
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
	out := &protocol.Sent{Room: r.name, From: c.client, Area: m.Area, Topic: m.Topic, Data: m.Data}
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
// (to empty), or the connection of member to, if it is here; of those,
// with an area, only the ones subscribed to it. The caller holds r.mu.
func (r *room) deliver(m *protocol.Sent, to string, except *conn) {
	switch {
	case to == "" && m.Area == "":
		r.broadcast(m, except)
	case to == "":
		r.broadcastArea(m, except)
	default:
		mem := r.members[to]
		if mem == nil || mem.conn == nil {
			return
		}
		if v := r.objs.views[mem.conn]; m.Area != "" && (v == nil || !v.areas[m.Area]) {
			return
		}
		direct := *m
		direct.Direct = true
		mem.conn.sendMsg(&direct)
	}
}

// broadcastArea queues m for the receivers subscribed to its area but
// except, encoding it once. The caller holds r.mu.
func (r *room) broadcastArea(m *protocol.Sent, except *conn) {
	var b []byte
	for v := range r.objs.watch[m.Area] {
		if v.c == except {
			continue
		}
		if b == nil {
			var err error
			if b, err = protocol.Encode(m); err != nil {
				panic("bug: Sent frame does not encode: " + err.Error())
			}
		}
		v.c.send(b)
	}
}
