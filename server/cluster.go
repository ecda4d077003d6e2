//go:build !js

package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// Clustering. Nodes that share a NATS (Options.NATS) share their rooms'
// presence on plain NATS subjects, never stored:
//
//	synk.p.<room>   a node's presence events in room: join, change, leave
//	synk.s.<room>   a request for the members each node holds in room
//
// (<room> is the name in hex, roomToken: a name may hold any character a
// subject cannot.)
//
//	synk.r.<node>   the replies to a node's requests
//	synk.hb         every node's heartbeat, three per Timeout
//	synk.bye        a node shutting down
//
// A node watches a room while it is in memory there (a local participant,
// observer or object). Each node numbers its events; an event at or below
// the number a snapshot reply carried is old and skipped, so the members
// a node learns from a reply and the events after it join without a gap
// or a step back. A node silent for Timeout is presumed dead: its members
// leave every room with Timeout.
type cluster struct {
	s    *Server
	nc   *nats.Conn
	node string
	seq  atomic.Uint64 // this node's last event number

	reconnects uint64 // the connection's reconnect count at the last tick
	meets      clusterMeets

	objs       atomic.Pointer[clusterObjects] // the room log, once opened
	ready      atomic.Bool                    // every room is loaded from it and new writes followed
	noJS       atomic.Bool                    // the NATS has no JetStream: objects are refused for good
	catching   atomic.Bool                    // a catch-up of every room runs (catchUpSoon)
	catchAgain atomic.Bool                    // and must go round once more
	wg         sync.WaitGroup                 // the goroutines of spawn

	mu      sync.Mutex // Protects the following.
	closed  bool       // close has begun: spawn starts nothing
	watches map[string]*nats.Subscription
	seen    map[string]time.Time // other nodes by id: last heard from
	subs    []*nats.Subscription // hb, bye, replies
}

// clusterEvent is one node's presence event in a room, or its reply to a
// snapshot request (Members set, Kind 0).
type clusterEvent struct {
	Node    string                 `msgpack:"n"`
	Seq     uint64                 `msgpack:"q"`
	Room    string                 `msgpack:"r,omitempty"`
	Kind    protocol.PresenceEvent `msgpack:"k,omitempty"`
	Client  string                 `msgpack:"c,omitempty"`
	Entries []protocol.Entry       `msgpack:"d,omitempty"`
	Delete  []string               `msgpack:"x,omitempty"`
	Reason  protocol.Code          `msgpack:"w,omitempty"`
	Members []protocol.Member      `msgpack:"m,omitempty"`
	Posted  []byte                 `msgpack:"j,omitempty"` // an HTTP poster's data as posted (see parsePost)
	PostedM map[string][]byte      `msgpack:"p,omitempty"` // the same for Members, by client
	Took    bool                   `msgpack:"t,omitempty"` // a Join of a client that proved its id: it moves here unseen
	Sent    *protocol.Sent         `msgpack:"s,omitempty"` // a member's message, for the receivers here
	To      string                 `msgpack:"o,omitempty"` // the message's one receiver; empty: every receiver
}

// newBus returns the presence bus of a server in a cluster.
func newBus(s *Server, nc *nats.Conn) (bus, error) { return newCluster(s, nc) }

func newCluster(s *Server, nc *nats.Conn) (*cluster, error) {
	var id [6]byte
	rand.Read(id[:])
	cl := &cluster{s: s, nc: nc, node: hex.EncodeToString(id[:]),
		watches: make(map[string]*nats.Subscription), seen: make(map[string]time.Time),
		meets: clusterMeets{waiting: make(map[string]*waitingMeet), owned: make(map[string]*ownedMeet)}}
	for subj, h := range map[string]nats.MsgHandler{
		"synk.hb":            cl.onHeartbeat,
		"synk.bye":           cl.onBye,
		"synk.r." + cl.node:  cl.onReply,
		"synk.m." + cl.node:  cl.onMeetRequest,
		"synk.mc." + cl.node: cl.onMeetCancel,
		"synk.mr." + cl.node: cl.onMeetAnswer,
		"synk.ms":            cl.onStats,
	} {
		sub, err := nc.Subscribe(subj, h)
		if err != nil {
			cl.close()
			return nil, fmt.Errorf("server: cluster: %w", err)
		}
		cl.subs = append(cl.subs, sub)
	}
	cl.nc.Publish("synk.hb", []byte(cl.node)) // the others know this node at once
	return cl, nil
}

// open opens the room log (startObjects); New calls it once the janitor
// runs, so that heartbeats go on while it waits.
func (cl *cluster) open() { cl.startObjects() }

// spawn runs f on a goroutine close waits for; f must end when the
// server's context does. It reports false, running nothing, once close
// has begun.
func (cl *cluster) spawn(f func()) bool {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.closed {
		return false
	}
	cl.wg.Go(f)
	return true
}

func (cl *cluster) publish(subj, reply string, ev *clusterEvent) {
	b, err := msgpack.Marshal(ev)
	if err == nil {
		err = cl.nc.PublishMsg(&nats.Msg{Subject: subj, Reply: reply, Data: b})
	}
	if err != nil {
		cl.s.log.Warn("cluster publish failed", "subject", subj, "err", err)
	}
}

// announce publishes a local member's presence event in r. The caller
// holds r.mu, so a room's events leave in the order the room made them.
func (cl *cluster) announce(r *room, p *protocol.Presence) { cl.publishEvent(r, p, false) }

func (cl *cluster) takeOver(r *room, p *protocol.Presence) { cl.publishEvent(r, p, true) }

func (cl *cluster) publishEvent(r *room, p *protocol.Presence, took bool) {
	ev := &clusterEvent{Node: cl.node, Seq: cl.seq.Add(1), Kind: p.Event,
		Client: p.Client, Entries: p.Entries, Delete: p.Delete, Reason: p.Reason, Took: took}
	if m := r.members[p.Client]; m != nil && p.Event != protocol.EventLeave {
		ev.Posted = m.posted
	}
	cl.publish("synk.p."+roomToken(r.name), "", ev)
}

// relay publishes a local member's message in r, in line with the room's
// presence events (the same subject and sequence), so that a member's
// join reaches the other nodes before its messages. The caller holds r.mu.
func (cl *cluster) relay(r *room, m *protocol.Sent, to string) {
	cl.publish("synk.p."+roomToken(r.name), "", &clusterEvent{Node: cl.node, Seq: cl.seq.Add(1), Sent: m, To: to})
}

// watch starts following room and asks the other nodes for its members.
// The caller holds s.mu.
func (cl *cluster) watch(name string) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.watches[name] != nil {
		return
	}
	sub, err := cl.nc.Subscribe("synk.p."+roomToken(name), cl.onPresence)
	if err != nil {
		cl.s.log.Warn("cluster subscribe failed", "room", name, "err", err)
		return
	}
	sub.SetPendingLimits(-1, -1) // a room never drops events: the room lock is brief
	cl.watches[name] = sub
	if sub, err := cl.nc.Subscribe("synk.s."+roomToken(name), cl.onRequest); err == nil {
		cl.watches["\x00"+name] = sub
	}
	cl.publish("synk.s."+roomToken(name), "synk.r."+cl.node, &clusterEvent{Node: cl.node, Room: name})
}

// confirmWatch makes a round trip to NATS: the subscriptions of watch were
// sent before it, so once it returns NATS delivers this node every event
// published after. A join answered before that could miss a member that
// joins at once on another node. NATS unreachable, it gives up after
// confirmWait; the resync after the reconnect mends the room then.
func (cl *cluster) confirmWatch() {
	if err := cl.nc.FlushTimeout(confirmWait); err != nil {
		cl.s.log.Debug("cluster: subscriptions not confirmed", "err", err)
	}
}

// confirmWait bounds confirmWatch.
const confirmWait = time.Second

// unwatch stops following a room freed here.
func (cl *cluster) unwatch(name string) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	for _, key := range []string{name, "\x00" + name} {
		if sub := cl.watches[key]; sub != nil {
			sub.Unsubscribe()
			delete(cl.watches, key)
		}
	}
}

// onRequest answers another node's request with this node's members of
// the room and its event number.
func (cl *cluster) onRequest(msg *nats.Msg) {
	var req clusterEvent
	if decodeChecked(msg.Data, &req) != nil || req.Node == cl.node || msg.Reply == "" {
		return
	}
	r := cl.s.lockRoom(req.Room, false)
	if r == nil {
		return
	}
	reply := &clusterEvent{Node: cl.node, Seq: cl.seq.Load(), Room: r.name, Members: r.localMembers(), PostedM: localPosted(r)}
	cl.s.unlockRoom(r)
	cl.publish(msg.Reply, "", reply)
}

// onReply applies another node's members of a room.
func (cl *cluster) onReply(msg *nats.Msg) {
	var ev clusterEvent
	if decodeChecked(msg.Data, &ev) != nil || ev.Node == cl.node {
		return
	}
	cl.heard(ev.Node)
	r := cl.s.lockRoom(ev.Room, false)
	if r == nil {
		return
	}
	defer cl.s.unlockRoom(r)
	cl.applyMembers(r, &ev)
}

// applyMembers makes a node's members of r those of ev, a reply or a
// resync, unless events newer than it were applied already.
func (cl *cluster) applyMembers(r *room, ev *clusterEvent) {
	if ev.Seq < r.remoteSeq[ev.Node] {
		return // events newer than the reply were applied already
	}
	r.remoteSeq[ev.Node] = ev.Seq
	had := make(map[string]bool)
	for _, m := range ev.Members {
		had[m.Client] = true
		cl.applyJoin(r, ev.Node, m.Client, m.Entries, ev.PostedM[m.Client], false)
	}
	for _, m := range slices.Collect(maps.Values(r.members)) {
		if m.node == ev.Node && !had[m.client] {
			r.removeMember(m, protocol.CodeTimeout)
		}
	}
}

// localPosted returns the data of r's local HTTP posters as posted, by
// client, or nil. The caller holds r.mu.
func localPosted(r *room) map[string][]byte {
	var out map[string][]byte
	for id, m := range r.members {
		if m.node == "" && m.posted != nil {
			if out == nil {
				out = make(map[string][]byte)
			}
			out[id] = m.posted
		}
	}
	return out
}

// onPresence applies another node's event.
func (cl *cluster) onPresence(msg *nats.Msg) {
	var ev clusterEvent
	if decodeChecked(msg.Data, &ev) != nil || ev.Node == cl.node {
		return
	}
	cl.heard(ev.Node)
	room, err := roomFromToken(msg.Subject[len("synk.p."):])
	if err != nil {
		return
	}
	r := cl.s.lockRoom(room, false)
	if r == nil {
		return
	}
	defer cl.s.unlockRoom(r)
	if ev.Sent != nil {
		if ev.Seq > r.remoteSeq[ev.Node] {
			r.remoteSeq[ev.Node] = ev.Seq
			r.deliver(ev.Sent, ev.To, nil)
		}
		return
	}
	if ev.Kind == 0 { // a resync: the node's members, after it reconnected
		cl.applyMembers(r, &ev)
		return
	}
	if ev.Seq <= r.remoteSeq[ev.Node] {
		return
	}
	r.remoteSeq[ev.Node] = ev.Seq
	m := r.members[ev.Client]
	switch ev.Kind {
	case protocol.EventJoin:
		cl.applyJoin(r, ev.Node, ev.Client, ev.Entries, ev.Posted, ev.Took)
	case protocol.EventChange:
		if m != nil && m.node == ev.Node {
			r.setPosted(m, ev.Posted) // counted, never refused
			if len(ev.Entries) == 0 && len(ev.Delete) == 0 {
				break // only the posted spelling changed
			}
			r.update(m, ev.Entries, ev.Delete, math.MaxInt) // its node kept it within the limits; counted, never refused
			r.broadcast(&protocol.Presence{Room: r.name, Event: protocol.EventChange, Client: ev.Client,
				Entries: ev.Entries, Delete: ev.Delete}, nil)
		}
	case protocol.EventLeave:
		if m != nil && m.node == ev.Node {
			r.removeMember(m, ev.Reason)
		}
	}
}

// applyJoin adds or refreshes a member of another node. A local member
// with the same client id is replaced, as a second connection is on one
// node; unless took, the client having proven its id there: then it moves
// to that node unseen, and the others hear only what changed.
func (cl *cluster) applyJoin(r *room, node, client string, entries []protocol.Entry, posted []byte, took bool) {
	m := r.members[client]
	if m != nil && m.node == node {
		m.posted = posted // recounted below, or now
		set, del := diffEntries(m.entries, entries)
		if len(set) > 0 || len(del) > 0 {
			m.entries = entryMap(entries)
			r.recount(m)
			r.broadcast(&protocol.Presence{Room: r.name, Event: protocol.EventChange, Client: client, Entries: set, Delete: del}, nil)
		} else {
			r.recount(m)
		}
		return
	}
	if m != nil && took {
		r.dropMember(m)
		if m.node != "" {
			r.remote--
		} else if m.conn != nil {
			r.objs.drop(m.conn)
			m.conn.sendMsg(&protocol.Error{Code: protocol.CodeReplaced, Room: r.name,
				Message: client + " reconnected on another node"})
		}
		moved := &member{client: client, entries: entryMap(entries), node: node, posted: posted}
		r.recount(moved)
		r.members[client] = moved
		r.remote++
		if set, del := diffEntries(m.entries, entries); len(set) > 0 || len(del) > 0 {
			r.broadcast(&protocol.Presence{Room: r.name, Event: protocol.EventChange, Client: client, Entries: set, Delete: del}, nil)
		}
		return
	}
	if m != nil {
		r.removeMember(m, protocol.CodeReplaced)
		if m.conn != nil {
			m.conn.sendMsg(&protocol.Error{Code: protocol.CodeReplaced, Room: r.name,
				Message: "another connection joined as " + client})
		}
	}
	m = &member{client: client, entries: entryMap(entries), node: node, posted: posted}
	r.recount(m)
	r.members[client] = m
	r.remote++
	r.broadcast(&protocol.Presence{Room: r.name, Event: protocol.EventJoin, Client: client, Entries: entries}, nil)
}

// heard records that node is alive, and reports whether it is new.
func (cl *cluster) heard(node string) bool {
	cl.mu.Lock()
	_, known := cl.seen[node]
	cl.seen[node] = time.Now()
	cl.mu.Unlock()
	if !known && cl.s.opts.nodeSeen != nil {
		cl.s.opts.nodeSeen <- node
	}
	return !known
}

// onHeartbeat notes a node alive; a new one hears from this node at once,
// without waiting for its next heartbeat.
func (cl *cluster) onHeartbeat(msg *nats.Msg) {
	if node := string(msg.Data); node != cl.node && cl.heard(node) {
		cl.nc.Publish("synk.hb", []byte(cl.node))
	}
}

func (cl *cluster) onBye(msg *nats.Msg) {
	if node := string(msg.Data); node != cl.node {
		cl.drop(node, protocol.CodeShutdown)
	}
}

// tick sends this node's heartbeat and drops the nodes silent since
// deadline; after the connection to NATS came back, it resyncs. The
// janitor calls it three times per Timeout.
func (cl *cluster) tick(deadline time.Time) {
	if n := cl.nc.Stats().Reconnects; n != cl.reconnects {
		cl.reconnects = n
		cl.resync()
		cl.catchUpSoon() // object writes followed while away were lost too
	}
	if err := cl.nc.Publish("synk.hb", []byte(cl.node)); err != nil {
		cl.s.log.Warn("cluster heartbeat failed", "err", err)
	}
	cl.mu.Lock()
	var dead []string
	for node, at := range cl.seen {
		if at.Before(deadline) {
			dead = append(dead, node)
		}
	}
	cl.mu.Unlock()
	for _, node := range dead {
		cl.s.log.Warn("cluster node silent: its members leave", "node", node)
		cl.drop(node, protocol.CodeTimeout)
	}
}

// resync repairs what the nodes missed of each other while this node's
// connection was down (publishes were buffered, but events to this node
// were lost): for every room it follows, it sends its members to the
// others and asks for theirs.
func (cl *cluster) resync() {
	cl.mu.Lock()
	var names []string
	for key := range cl.watches {
		if key[0] != 0 {
			names = append(names, key)
		}
	}
	cl.mu.Unlock()
	cl.s.log.Info("cluster connection back: resyncing rooms", "rooms", len(names))
	for _, name := range names {
		r := cl.s.lockRoom(name, false)
		if r == nil {
			continue
		}
		cl.publish("synk.p."+roomToken(name), "", &clusterEvent{Node: cl.node, Seq: cl.seq.Add(1), Members: r.localMembers(), PostedM: localPosted(r)})
		cl.s.unlockRoom(r)
		cl.publish("synk.s."+roomToken(name), "synk.r."+cl.node, &clusterEvent{Node: cl.node, Room: name})
	}
}

func (cl *cluster) nodes() int {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return 1 + len(cl.seen)
}

// drop removes every member of node from every room, with reason.
func (cl *cluster) drop(node string, reason protocol.Code) {
	cl.mu.Lock()
	delete(cl.seen, node)
	cl.mu.Unlock()
	cl.dropMeets(node, reason)
	cl.s.mu.Lock()
	names := slices.Collect(maps.Keys(cl.s.rooms))
	cl.s.mu.Unlock()
	for _, name := range names {
		r := cl.s.lockRoom(name, false)
		if r == nil {
			continue
		}
		for _, m := range slices.Collect(maps.Values(r.members)) {
			if m.node == node {
				r.removeMember(m, reason)
			}
		}
		delete(r.remoteSeq, node)
		cl.s.unlockRoom(r)
	}
}

// close tells the other nodes this one is leaving and stops following
// NATS. The connection is the caller's.
func (cl *cluster) close() error {
	cl.mu.Lock()
	cl.closed = true
	cl.mu.Unlock()
	cl.wg.Wait() // the server's context has ended: they are ending
	cl.endMeets()
	if co := cl.objs.Load(); co != nil && co.sub != nil {
		co.sub.Unsubscribe()
	}
	if cl.nc.IsClosed() {
		return nil // nobody to tell
	}
	cl.mu.Lock()
	subs := append(slices.Collect(maps.Values(cl.watches)), cl.subs...)
	cl.watches, cl.subs = map[string]*nats.Subscription{}, nil
	cl.mu.Unlock()
	var errs []error
	for _, sub := range subs {
		errs = append(errs, sub.Unsubscribe())
	}
	errs = append(errs, cl.nc.Publish("synk.bye", []byte(cl.node)), cl.nc.Flush())
	return errors.Join(errs...)
}
