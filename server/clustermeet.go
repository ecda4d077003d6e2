//go:build !js

package server

import (
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/synkhq/synk/internal/meet"
	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// Meets in a cluster. A group must form in one place, so each event (in
// its scope) has one owner node: the live node with the highest
// rendezvous hash of (node, scope, event). Every node sends its clients'
// requests for the event to the owner, whose board matches them as on a
// single node, and whose word is final: a match, or the end of a request
// (canceled, expired, refused). Subjects:
//
//	synk.m.<node>    a request, to its owner
//	synk.mc.<node>   a cancellation, to the owner
//	synk.mr.<node>   an owner's answer, to the requesting node
//	synk.ms          a request for every node's pending meets (/stats)
//
// Nodes that briefly disagree on who is alive may pick different owners
// for an event; requests then wait apart until the views agree again
// (within the timeout). A node that shuts down answers the requests it
// owns with Shutdown; when one dies, the nodes that sent it requests end
// them with Internal once they notice.
type clusterMeets struct {
	mu      sync.Mutex              // Protects the following.
	next    uint64                  // token counter
	waiting map[string]*waitingMeet // this node's requests, by token
	owned   map[string]*ownedMeet   // requests this node owns, by token
}

// waitingMeet is a request of this node's client, sent to its owner.
type waitingMeet struct {
	owner   string
	onMatch func(map[string]string)
	onEnd   func(*protocol.Error)
}

// ownedMeet is a request on this node's board for another node (or for
// this one).
type ownedMeet struct {
	from  string
	req   *meet.Request
	timer *time.Timer
}

// meetMsg travels between nodes: a request (Params set), a cancellation
// (Code set), or an answer (Payloads, or Code and Message).
type meetMsg struct {
	Token     string            `msgpack:"t"`
	From      string            `msgpack:"f,omitempty"`
	Scope     string            `msgpack:"r,omitempty"`
	Params    *meet.Params      `msgpack:"p,omitempty"`
	TimeoutMS int64             `msgpack:"o,omitempty"`
	Payloads  map[string]string `msgpack:"y,omitempty"`
	Code      protocol.Code     `msgpack:"e,omitempty"`
	Message   string            `msgpack:"m,omitempty"`
}

// owner returns the node that owns event in scope.
func (cl *cluster) owner(scope, event string) string {
	cl.mu.Lock()
	nodes := append(slices.Collect(maps.Keys(cl.seen)), cl.node)
	cl.mu.Unlock()
	best, bestH := "", uint64(0)
	for _, n := range nodes {
		h := fnv.New64a()
		h.Write([]byte(n + "\x00" + scope + "\x00" + event))
		if v := h.Sum64(); best == "" || v > bestH || v == bestH && n > best {
			best, bestH = n, v
		}
	}
	return best
}

// meet sends a request to its owner; onMatch or onEnd is called once,
// with its outcome. The returned function cancels it with a code (the
// outcome still comes through onEnd, or onMatch if it matched first).
func (cl *cluster) meet(scope string, p meet.Params, timeout time.Duration,
	onMatch func(map[string]string), onEnd func(*protocol.Error)) func(protocol.Code, string) {
	cl.meets.mu.Lock()
	cl.meets.next++
	token := cl.node + "." + strconv.FormatUint(cl.meets.next, 36)
	owner := cl.owner(scope, p.Event)
	cl.meets.waiting[token] = &waitingMeet{owner: owner, onMatch: onMatch, onEnd: onEnd}
	cl.meets.mu.Unlock()
	m := &meetMsg{Token: token, From: cl.node, Scope: scope, Params: &p, TimeoutMS: timeout.Milliseconds()}
	if owner == cl.node {
		cl.own(m)
	} else {
		cl.send("synk.m."+owner, m)
	}
	return func(code protocol.Code, msg string) {
		c := &meetMsg{Token: token, Code: code, Message: msg}
		if owner == cl.node {
			cl.cancelOwned(c)
		} else {
			cl.send("synk.mc."+owner, c)
		}
	}
}

func (cl *cluster) send(subj string, m *meetMsg) {
	b, err := msgpack.Marshal(m)
	if err == nil {
		err = cl.nc.Publish(subj, b)
	}
	if err != nil {
		cl.s.log.Warn("cluster meet publish failed", "subject", subj, "err", err)
	}
}

// answer delivers an owner's answer to the requesting node.
func (cl *cluster) answer(from string, m *meetMsg) {
	if from == cl.node {
		cl.settle(m)
		return
	}
	cl.send("synk.mr."+from, m)
}

// own puts a request on this node's board, as its owner.
func (cl *cluster) own(m *meetMsg) {
	if m.Params == nil {
		return
	}
	req, err := cl.s.meets.Prepare(m.Scope, *m.Params)
	if err != nil {
		e := asProtocolError(err)
		cl.answer(m.From, &meetMsg{Token: m.Token, Code: e.Code, Message: e.Message})
		return
	}
	om := &ownedMeet{from: m.From, req: req}
	req.OnMatch = func(payloads map[string]string) { // under the board's lock: no blocking
		cl.meets.mu.Lock()
		if om.timer != nil {
			om.timer.Stop()
		}
		delete(cl.meets.owned, m.Token)
		cl.meets.mu.Unlock()
		cl.answer(m.From, &meetMsg{Token: m.Token, Payloads: payloads})
	}
	cl.meets.mu.Lock()
	cl.meets.owned[m.Token] = om
	cl.meets.mu.Unlock()
	if err := cl.s.meets.Add(req); err != nil {
		cl.meets.mu.Lock()
		delete(cl.meets.owned, m.Token)
		cl.meets.mu.Unlock()
		e := asProtocolError(err)
		cl.answer(m.From, &meetMsg{Token: m.Token, Code: e.Code, Message: e.Message})
		return
	}
	timeout := time.Duration(m.TimeoutMS) * time.Millisecond
	cl.meets.mu.Lock()
	if cl.meets.owned[m.Token] == om { // not matched at once
		om.timer = time.AfterFunc(timeout, func() {
			cl.cancelOwned(&meetMsg{Token: m.Token, Code: protocol.CodeExpired,
				Message: "no match within " + timeout.String()})
		})
	}
	cl.meets.mu.Unlock()
}

// cancelOwned withdraws an owned request, if still pending, and answers
// it with the cancellation's code.
func (cl *cluster) cancelOwned(c *meetMsg) {
	cl.meets.mu.Lock()
	om := cl.meets.owned[c.Token]
	cl.meets.mu.Unlock()
	if om == nil || !cl.s.meets.Withdraw(om.req) {
		return // answered already, or matched: its answer is on its way
	}
	cl.meets.mu.Lock()
	if om.timer != nil {
		om.timer.Stop()
	}
	delete(cl.meets.owned, c.Token)
	cl.meets.mu.Unlock()
	cl.answer(om.from, &meetMsg{Token: c.Token, Code: c.Code, Message: c.Message})
}

// settle hands an owner's answer to the request's callbacks.
func (cl *cluster) settle(m *meetMsg) {
	cl.meets.mu.Lock()
	w := cl.meets.waiting[m.Token]
	delete(cl.meets.waiting, m.Token)
	cl.meets.mu.Unlock()
	switch {
	case w == nil:
	case m.Code != 0:
		w.onEnd(&protocol.Error{Code: m.Code, Message: m.Message})
	default:
		w.onMatch(m.Payloads)
	}
}

func (cl *cluster) onMeetRequest(msg *nats.Msg) {
	var m meetMsg
	if decodeChecked(msg.Data, &m) == nil {
		cl.heard(m.From)
		cl.own(&m)
	}
}

func (cl *cluster) onMeetCancel(msg *nats.Msg) {
	var m meetMsg
	if decodeChecked(msg.Data, &m) == nil && m.Code != 0 {
		cl.cancelOwned(&m)
	}
}

func (cl *cluster) onMeetAnswer(msg *nats.Msg) {
	var m meetMsg
	if decodeChecked(msg.Data, &m) == nil {
		cl.settle(&m)
	}
}

// maxStatsPerNode is the most pending requests a node lists for another's
// /stats: its answer must fit a NATS message (1 MB by default).
const maxStatsPerNode = 2000

// onStats answers a request for this node's pending meets of a scope.
func (cl *cluster) onStats(msg *nats.Msg) {
	if msg.Reply == "" {
		return
	}
	part, _ := cl.s.meets.Stats(string(msg.Data), maxStatsPerNode)
	b, err := msgpack.Marshal(part)
	if err == nil {
		err = msg.Respond(b)
	}
	if err != nil {
		cl.s.log.Warn("cluster stats reply failed", "err", err)
	}
}

// stats returns the pending meets of scope on every node: the ones this
// node owns and the others' answers within wait.
func (cl *cluster) stats(scope string, wait time.Duration) map[string]map[string]map[string]meet.Stat {
	out, _ := cl.s.meets.Stats(scope, maxStats)
	cl.mu.Lock()
	others := len(cl.seen)
	cl.mu.Unlock()
	if others == 0 {
		return out
	}
	inbox := cl.nc.NewRespInbox()
	sub, err := cl.nc.SubscribeSync(inbox)
	if err != nil {
		return out
	}
	defer sub.Unsubscribe()
	if err := cl.nc.PublishRequest("synk.ms", inbox, []byte(scope)); err != nil {
		return out
	}
	deadline := time.Now().Add(wait)
	for range others {
		msg, err := sub.NextMsg(time.Until(deadline))
		if err != nil {
			break
		}
		var part map[string]map[string]map[string]meet.Stat
		if decodeChecked(msg.Data, &part) != nil {
			continue
		}
		for event, byActor := range part {
			if out[event] == nil {
				out[event] = make(map[string]map[string]meet.Stat)
			}
			for actor, byRid := range byActor {
				if out[event][actor] == nil {
					out[event][actor] = make(map[string]meet.Stat)
				}
				maps.Copy(out[event][actor], byRid)
			}
		}
	}
	return out
}

// endMeets ends, at shutdown, the requests this node owns (their nodes
// are told) and those it sent.
func (cl *cluster) endMeets() {
	cl.meets.mu.Lock()
	owned := slices.Collect(maps.Keys(cl.meets.owned))
	waiting := cl.meets.waiting
	cl.meets.waiting = make(map[string]*waitingMeet)
	cl.meets.mu.Unlock()
	for _, token := range owned {
		cl.cancelOwned(&meetMsg{Token: token, Code: protocol.CodeShutdown, Message: "the node holding the meet is shutting down: try again"})
	}
	for _, w := range waiting {
		w.onEnd(protocol.Errorf(protocol.CodeShutdown, "server shutting down"))
	}
}

// dropMeets ends what depended on node, gone: this node's requests it
// owned, and the requests it sent here.
func (cl *cluster) dropMeets(node string, code protocol.Code) {
	cl.meets.mu.Lock()
	var lost []*waitingMeet
	for token, w := range cl.meets.waiting {
		if w.owner == node {
			lost = append(lost, w)
			delete(cl.meets.waiting, token)
		}
	}
	var orphans []string
	for token, om := range cl.meets.owned {
		if om.from == node {
			orphans = append(orphans, token)
		}
	}
	cl.meets.mu.Unlock()
	for _, w := range lost {
		w.onEnd(protocol.Errorf(protocol.CodeInternal, "the node holding the meet left (%v): try again", code))
	}
	for _, token := range orphans {
		cl.cancelOwned(&meetMsg{Token: token, Code: protocol.CodeCanceled, Message: "the requesting node left"})
	}
}
