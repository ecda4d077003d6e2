//go:build !js

package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/synkhq/synk/internal/natstest"
	"github.com/synkhq/synk/protocol"
)

// startNATS runs an in-process NATS server on a free loopback port.
func startNATS(t testing.TB) string { return runNATS(t, false) }

// runNATS runs an in-process NATS server, with JetStream if js, and
// returns its URL.
func runNATS(t testing.TB, js bool) string { return natstest.Run(t, js) }

// proxiedNATS connects to the NATS server at target through a proxy the
// test can cut; reconnected gets a value each time the connection is back.
func proxiedNATS(t *testing.T, target string) (conn *nats.Conn, px *tcpProxy, reconnected chan struct{}) {
	t.Helper()
	px = newTCPProxy(t, target)
	reconnected = make(chan struct{}, 4)
	conn, err := nats.Connect("nats://"+px.ln.Addr().String(), nats.ReconnectWait(20*time.Millisecond),
		nats.ReconnectJitter(0, 0), nats.MaxReconnects(-1),
		nats.ReconnectHandler(func(*nats.Conn) { reconnected <- struct{}{} }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	return conn, px, reconnected
}

// node runs a Server joined to the NATS at url, with short timeouts.
func node(t testing.TB, url string) (*Server, *httptest.Server, *nats.Conn) {
	return nodeWith(t, url, &Options{Timeout: 900 * time.Millisecond, PingInterval: 150 * time.Millisecond})
}

// nodeWith runs a Server with opts joined to the NATS at url.
func nodeWith(t testing.TB, url string, opts *Options) (*Server, *httptest.Server, *nats.Conn) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close) // after the server's Shutdown: cleanups run last first
	opts.NATS = nc
	s, hs := testServer(t, opts)
	return s, hs, nc
}

// awaitPresence returns the next Presence frame of client with event, or
// the member from a snapshot's late arrival; it skips other frames.
func awaitPresence(t *testing.T, p *peer, client string, ev protocol.PresenceEvent) *protocol.Presence {
	t.Helper()
	for {
		m := expect[*protocol.Presence](p)
		if m.Client == client && m.Event == ev {
			return m
		}
	}
}

// TestCluster_presence: clients on two nodes see each other join, change
// and leave; a node that shuts down takes its members with it (Shutdown),
// and one that goes silent loses them after the timeout (Timeout).
func TestCluster_presence(t *testing.T) {
	t.Parallel()
	url := startNATS(t)
	_, hsA, _ := node(t, url)
	sB, hsB, _ := node(t, url)

	ada := dialPeer(t, hsA, "ada")
	ada.join("lobby", false, entry("name", "Ada"))
	joe := dialPeer(t, hsB, "joe")
	j := joe.join("lobby", false, entry("name", "Joe"))
	if len(j.Members) == 1 { // node B had not heard of ada yet: she comes as a join
		p := awaitPresence(t, joe, "ada", protocol.EventJoin)
		if valueOf(t, p.Entries[0].Value) != "Ada" {
			t.Fatalf("joe got %+v, want ada's name", p)
		}
	}
	if p := awaitPresence(t, ada, "joe", protocol.EventJoin); valueOf(t, p.Entries[0].Value) != "Joe" {
		t.Fatalf("ada got %+v, want joe's join with his name", p)
	}

	joe.send(&protocol.Set{Room: "lobby", Entries: []protocol.Entry{entry("x", 3)}})
	if p := awaitPresence(t, ada, "joe", protocol.EventChange); valueOf(t, p.Entries[0].Value) != int8(3) {
		t.Fatalf("ada got %+v, want x=3", p)
	}
	// Both nodes show both members over HTTP.
	for _, hs := range []*httptest.Server{hsA, hsB} {
		if _, out := do(t, hs, "GET", "/synk/lobby", ""); out != `[{"c":"ada","d":[{"k":"name","v":"Ada"}]},{"c":"joe","d":[{"k":"name","v":"Joe"},{"k":"x","v":3}]}]` {
			t.Fatalf("GET /synk/lobby on %s = %s", hs.URL, out)
		}
	}

	ada.send(&protocol.Leave{ID: 5, Room: "lobby"})
	expect[*protocol.OK](ada)
	if p := awaitPresence(t, joe, "ada", protocol.EventLeave); p.Reason != 0 {
		t.Fatalf("joe got %+v, want ada's leave on purpose", p)
	}

	// A third node whose NATS connection dies: its member times out.
	_, hsC, ncC := node(t, url)
	eve := dialPeer(t, hsC, "eve")
	eve.join("lobby", false)
	awaitPresence(t, joe, "eve", protocol.EventJoin)
	ncC.Close()
	if p := awaitPresence(t, joe, "eve", protocol.EventLeave); p.Reason != protocol.CodeTimeout {
		t.Fatalf("joe got %+v, want eve's leave with Timeout", p)
	}

	// Node B shuts down: ann, in the room on A, sees joe go. (ada was not
	// read meanwhile, and A dropped her for not answering its pings.)
	ann := dialPeer(t, hsA, "ann")
	if j := ann.join("lobby", false); len(j.Members) == 1 { // A freed the room when ada left
		awaitPresence(t, ann, "joe", protocol.EventJoin)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- sB.Shutdown(t.Context()) }()
	for { // joe reads to the end, so that B's close handshake completes
		if _, err := joe.recv(); err != nil {
			break
		}
	}
	if p := awaitPresence(t, ann, "joe", protocol.EventLeave); p.Reason != protocol.CodeShutdown {
		t.Fatalf("ann got %+v, want joe's leave with Shutdown", p)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}

// TestCluster_unsupported: objects, not shared across nodes yet, are
// refused with Unsupported rather than kept apart per node.
func TestCluster_unsupported(t *testing.T) {
	t.Parallel()
	s, hs, _ := node(t, startNATS(t))
	if _, out := get(t, hs.URL+"/metrics"); !strings.Contains(out, "synk_cluster_nodes 1") {
		t.Error("/metrics lacks synk_cluster_nodes 1")
	}
	p := dialPeer(t, hs, "ada")
	p.join("lobby", false)
	for _, m := range []protocol.Message{
		&protocol.Sub{ID: 7, Room: "lobby", Add: []string{"a"}},
		&protocol.Write{ID: 8, Room: "lobby", Op: protocol.OpCreate, Object: "o", Kind: "k", Area: "a"},
	} {
		p.send(m)
		p.expectError(protocol.CodeUnsupported)
	}
	// Server code's writes too.
	if _, err := s.Write(&protocol.Write{Room: "lobby", Op: protocol.OpCreate, Object: "o", Kind: "k", Area: "a"}); protocol.ErrorCode(err) != protocol.CodeUnsupported {
		t.Fatalf("Server.Write on a cluster node: %v, want Unsupported", err)
	}
}

// TestCluster_replace: the same client id joining on another node replaces
// the first connection, as on one node.
func TestCluster_replace(t *testing.T) {
	t.Parallel()
	url := startNATS(t)
	_, hsA, _ := node(t, url)
	_, hsB, _ := node(t, url)
	first := dialPeer(t, hsA, "ada")
	first.join("lobby", false)
	second := dialPeer(t, hsB, "ada")
	second.join("lobby", false)
	for {
		m, err := first.recv()
		if err != nil {
			t.Fatalf("the first connection got no Replaced: %v", err)
		}
		if e, ok := m.(*protocol.Error); ok {
			if e.Code != protocol.CodeReplaced {
				t.Fatalf("error %+v, want Replaced", e)
			}
			return
		}
	}
}

// tcpProxy relays TCP connections to target; down cuts them all and
// refuses new ones until up.
type tcpProxy struct {
	ln     net.Listener
	mu     sync.Mutex // Protects target, conns and down.
	target string
	conns  []net.Conn
	down   bool
	wg     sync.WaitGroup
}

// retarget makes new connections go to target.
func (p *tcpProxy) retarget(target string) {
	p.mu.Lock()
	p.target = target
	p.mu.Unlock()
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() { ln.Close(); p.cut(false); p.wg.Wait() })
	return p
}

func (p *tcpProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refuse, target := p.down, p.target
		p.mu.Unlock()
		d, err := net.Dial("tcp", target)
		if refuse || err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, d)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); io.Copy(d, c); d.Close() }()
		go func() { defer p.wg.Done(); io.Copy(c, d); c.Close() }()
	}
}

// cut closes every relayed connection and, with down, refuses new ones.
func (p *tcpProxy) cut(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestCluster_resync: a node whose NATS connection drops misses the
// others' events; when it is back it asks again and its clients catch up.
func TestCluster_resync(t *testing.T) {
	t.Parallel()
	url := startNATS(t)
	_, hsA, ncA := node(t, url)
	px := newTCPProxy(t, strings.TrimPrefix(url, "nats://"))
	ncC, err := nats.Connect("nats://"+px.ln.Addr().String(), nats.ReconnectWait(20*time.Millisecond),
		nats.ReconnectJitter(0, 0), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ncC.Close)
	_, hsC := testServer(t, &Options{NATS: ncC, Timeout: 3 * time.Second, PingInterval: 100 * time.Millisecond})

	ada := dialPeer(t, hsA, "ada")
	ada.join("lobby", false)
	eve := dialPeer(t, hsC, "eve")
	if j := eve.join("lobby", false); len(j.Members) == 1 {
		awaitPresence(t, eve, "ada", protocol.EventJoin)
	}
	awaitPresence(t, ada, "eve", protocol.EventJoin)

	px.cut(true) // node C loses NATS
	ada.send(&protocol.Set{ID: 3, Room: "lobby", Entries: []protocol.Entry{entry("x", 5)}})
	expect[*protocol.OK](ada)
	if err := ncA.Flush(); err != nil { // A's event is in NATS, and C misses it
		t.Fatal(err)
	}
	px.cut(false) // C reconnects, resyncs, and eve hears of x=5
	if p := awaitPresence(t, eve, "ada", protocol.EventChange); valueOf(t, p.Entries[0].Value) != int8(5) {
		t.Fatalf("eve got %+v, want ada's x=5", p)
	}
}

// twoNodes runs two nodes that have heard of each other.
func twoNodes(t *testing.T) (*httptest.Server, *httptest.Server) {
	t.Helper()
	_, hsA, _, hsB := twoNodesOn(t, startNATS(t), &Options{}, &Options{})
	return hsA, hsB
}

// twoNodesOn runs nodes with optsA and optsB on the NATS at url, once
// they have heard of each other.
func twoNodesOn(t *testing.T, url string, optsA, optsB *Options) (*Server, *httptest.Server, *Server, *httptest.Server) {
	t.Helper()
	seenA, seenB := make(chan string, 8), make(chan string, 8)
	optsA.nodeSeen, optsB.nodeSeen = seenA, seenB
	sA, hsA, _ := nodeWith(t, url, optsA)
	sB, hsB, _ := nodeWith(t, url, optsB)
	<-seenA
	<-seenB
	return sA, hsA, sB, hsB
}

// TestCluster_meet: requests on two nodes meet at their event's owner:
// websocket and HTTP clients get each other's payloads; cancellation and
// expiry answer as on one node; /stats on either node shows a request
// pending on the other.
func TestCluster_meet(t *testing.T) {
	t.Parallel()
	hsA, hsB := twoNodes(t)
	ada, joe := dialPeer(t, hsA, "ada"), dialPeer(t, hsB, "joe")

	ada.send(&protocol.Meet{ID: 1, Event: "game", Actor: "ada", Payload: "pa", Mates: 1})
	joe.send(&protocol.Meet{ID: 2, Event: "game", Actor: "joe", Payload: "pj", Mates: 1})
	for _, c := range []struct {
		p  *peer
		id uint32
	}{{ada, 1}, {joe, 2}} {
		m := expect[*protocol.Met](c.p)
		if m.ID != c.id || m.Payloads["ada"] != "pa" || m.Payloads["joe"] != "pj" {
			t.Fatalf("Met %+v, want id %d with both payloads", m, c.id)
		}
	}

	// HTTP on both nodes, the seed's way.
	type answer struct {
		code int
		out  string
	}
	got := make(chan answer, 2)
	for _, c := range []struct {
		hs    *httptest.Server
		actor string
	}{{hsA, "p1"}, {hsB, "p2"}} {
		go func() {
			resp, err := http.Get(c.hs.URL + "/event?event=http&payload=" + c.actor + "-data&actor=" + c.actor)
			if err != nil {
				got <- answer{0, err.Error()}
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got <- answer{resp.StatusCode, string(b)}
		}()
	}
	for range 2 {
		a := <-got
		if a.code != 200 || !strings.Contains(a.out, `"p1": "p1-data"`) || !strings.Contains(a.out, `"p2": "p2-data"`) {
			t.Fatalf("GET /event = %d %s, want both payloads", a.code, a.out)
		}
	}

	joe.send(&protocol.Meet{ID: 3, Event: "wait", Actor: "joe", Mates: 1})
	for deadline := time.Now().Add(10 * time.Second); ; { // until the owner has it (each GET answers at once)
		if _, out := do(t, hsA, "GET", "/stats", ""); strings.Contains(out, `"joe"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("node A's /stats never showed joe's request on B")
		}
	}
	joe.send(&protocol.Cancel{ID: 3})
	if e := joe.expectError(protocol.CodeCanceled); e.ID != 3 {
		t.Fatalf("error %+v, want it for meet 3", e)
	}
	joe.send(&protocol.Meet{ID: 4, Event: "alone", Actor: "joe", Mates: 1, TimeoutMS: 100})
	if e := joe.expectError(protocol.CodeExpired); e.ID != 4 {
		t.Fatalf("error %+v, want it for meet 4", e)
	}
}

// TestCluster_objects: with JetStream, objects are shared: a write on
// one node reaches a subscriber on the other at the same position;
// compare-and-set sees the other node's writes; a client resumes on the
// other node from its position; writes racing from both nodes all apply,
// in one order everywhere.
func TestCluster_objects(t *testing.T) {
	t.Parallel()
	sA, hsA, sB, hsB := twoNodesOn(t, runNATS(t, true), &Options{Rate: -1}, &Options{Rate: -1})
	ada, joe := dialPeer(t, hsA, "ada"), dialPeer(t, hsB, "joe")
	ada.join("w", false)
	joe.join("w", false)
	awaitPresence(t, ada, "joe", protocol.EventJoin)
	joe.send(&protocol.Sub{ID: 1, Room: "w", Add: []string{"a"}})
	subOK := expectOK(t, joe, 1)

	ada.send(&protocol.Write{ID: 2, Room: "w", Op: protocol.OpCreate, Object: "crate", Kind: "item", Area: "a",
		Fields: []protocol.Entry{entry("x", 1)}})
	if ok := expectOK(t, ada, 2); ok.Version != 1 {
		t.Fatalf("create answered %+v, want version 1", ok)
	}
	put := nextObject(t, joe)
	if put.Event != protocol.ObjectPut || put.Object != "crate" || put.Offset <= subOK.Offset {
		t.Fatalf("joe got %+v, want crate's put after offset %d", put, subOK.Offset)
	}

	joe.send(&protocol.Write{ID: 3, Room: "w", Op: protocol.OpUpdate, Object: "crate", Fields: []protocol.Entry{entry("x", 2)}, Expect: 1})
	if ok := expectOK(t, joe, 3); ok.Version != 2 { // (his update's Object frame came first)
		t.Fatalf("update answered %+v, want version 2", ok)
	}
	ada.send(&protocol.Write{ID: 4, Room: "w", Op: protocol.OpUpdate, Object: "crate", Fields: []protocol.Entry{entry("x", 3)}, Expect: 1})
	if e := ada.expectError(protocol.CodeStale); e.ID != 4 {
		t.Fatalf("stale update: %+v", e)
	}

	// Both nodes write at once: every write applies, in one order.
	done := make(chan error, 2)
	for _, s := range []*Server{sA, sB} {
		go func() {
			for i := range 15 {
				if _, err := s.Write(&protocol.Write{Room: "w", Op: protocol.OpUpdate, Object: "crate",
					Fields: []protocol.Entry{entry("n", i)}}); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatalf("racing writes: %v", err)
		}
	}
	version := func(s *Server) (uint64, uint64) {
		r := s.lockRoom("w", false)
		defer s.unlockRoom(r)
		return r.objs.byID["crate"].version, r.logSeq
	}
	// joe's frames tell when B has all 30.
	for n := 0; n < 30; n++ {
		nextObject(t, joe)
	}
	vB, seqB := version(sB)
	if vB != 32 {
		t.Fatalf("node B holds version %d, want 32 (2 + 30 updates)", vB)
	}

	// eve resumes on node A from joe's position after his update on B.
	eve := dialPeer(t, hsA, "eve")
	eve.join("w", false)
	from := protocol.Position{Epoch: subOK.Epoch, Offset: put.Offset}
	eve.send(&protocol.Sub{ID: 5, Room: "w", Add: []string{"a"}, From: &from, Held: []string{"a"}})
	// B's writes reach A through NATS in their own time: eve's frames tell
	// when A has them all (the resume sends crate as A holds it, then each
	// update A applies).
	var resumed bool
	var seen uint64
	for !resumed || seen < vB {
		m, err := eve.recv()
		if err != nil {
			t.Fatalf("eve on A: %v (resumed %v, crate at v%d of %d)", err, resumed, seen, vB)
		}
		switch m := m.(type) {
		case *protocol.OK:
			if !m.Resumed || m.Epoch != subOK.Epoch {
				t.Fatalf("eve's Sub on A answered %+v, want a resume in epoch %x", m, subOK.Epoch)
			}
			resumed = true
		case *protocol.Object:
			if m.Object == "crate" {
				seen = max(seen, m.Version)
			}
		}
	}
	if vA, seqA := version(sA); vA != vB || seqA != seqB {
		t.Fatalf("node A holds crate v%d at %d, node B v%d at %d: want the same", vA, seqA, vB, seqB)
	}
}

// nextObject returns p's next Object frame, skipping others.
func nextObject(t *testing.T, p *peer) *protocol.Object {
	t.Helper()
	for {
		m, err := p.recv()
		if err != nil {
			t.Fatal(err)
		}
		if o, ok := m.(*protocol.Object); ok {
			return o
		}
	}
}

// expectOK receives frames until the OK or Error of request id.
func expectOK(t *testing.T, p *peer, id uint32) *protocol.OK {
	t.Helper()
	for {
		m, err := p.recv()
		if err != nil {
			t.Fatal(err)
		}
		switch m := m.(type) {
		case *protocol.OK:
			if m.ID == id {
				return m
			}
		case *protocol.Error:
			if m.ID == id {
				t.Fatalf("request %d: %v", id, m)
			}
		}
	}
}

// TestCluster_objectsAfterTrim: a node that starts after a room's log was
// trimmed below its beginning rebuilds the room from the objects' last
// records, then the log.
func TestCluster_objectsAfterTrim(t *testing.T) {
	t.Parallel()
	url := runNATS(t, true)
	opts := func() *Options { return &Options{History: 3, Rate: -1} }
	sA, _, _ := nodeWith(t, url, opts())
	for _, w := range []*protocol.Write{
		{Op: protocol.OpCreate, Object: "o1", Kind: "k", Area: "a", Fields: []protocol.Entry{entry("x", 1)}},
		{Op: protocol.OpCreate, Object: "o2", Kind: "k", Area: "b", Fields: []protocol.Entry{entry("y", 1)}},
		{Op: protocol.OpUpdate, Object: "o1", Fields: []protocol.Entry{entry("x", 2)}},
		{Op: protocol.OpCreate, Object: "o3", Kind: "k", Area: "a"},
		{Op: protocol.OpDelete, Object: "o3"},
		{Op: protocol.OpUpdate, Object: "o1", Fields: []protocol.Entry{entry("x", 3)}},
		{Op: protocol.OpMove, Object: "o2", Area: "c"},
	} {
		w.Room = "trim"
		if _, err := sA.Write(w); err != nil {
			t.Fatalf("%v %s: %v", w.Op, w.Object, err)
		}
	}
	trimLog(t, sA, "trim")
	sC, _, _ := nodeWith(t, url, opts()) // starts after the trim: the log holds the last 3 writes
	state := func(s *Server) map[string]string {
		r := s.lockRoom("trim", false)
		if r == nil {
			return nil
		}
		defer s.unlockRoom(r)
		out := map[string]string{"seq": fmt.Sprint(r.logSeq)}
		for id, o := range r.objs.byID {
			out[id] = fmt.Sprintf("%s v%d %v", o.area, o.version, sortedEntries(o.fields))
		}
		return out
	}
	a, c := state(sA), state(sC)
	if !reflect.DeepEqual(a, c) || len(a) != 3 {
		t.Fatalf("node A holds %v, node C %v: want the same two objects", a, c)
	}
}

// trimLog trims room's log as far as node s's memory of it allows, and
// checks that it kept History writes.
func trimLog(t *testing.T, s *Server, room string) {
	t.Helper()
	cl := s.bus.(*cluster)
	co := cl.objs.Load()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.trim(ctx, co, room); err != nil {
		t.Fatal(err)
	}
	if es, whole, err := co.log.since(ctx, room, 0, 0); err != nil || whole || len(es) != s.opts.History {
		t.Fatalf("room %s's log after a trim: %d writes, from its start %v (%v); want the last %d", room, len(es), whole, err, s.opts.History)
	}
}

// TestCluster_objectsFallBehind: a running node cut from NATS while the
// room's log moved on past what the stream keeps reloads the room from
// the records when it is back, and sends its subscribers away to take a
// snapshot, rather than serving stale objects.
func TestCluster_objectsFallBehind(t *testing.T) {
	t.Parallel()
	url := runNATS(t, true)
	sA, _, _ := nodeWith(t, url, &Options{History: 3, Rate: -1})
	ncC, px, reconnected := proxiedNATS(t, strings.TrimPrefix(url, "nats://"))
	sC, hsC := testServer(t, &Options{NATS: ncC, History: 3, Rate: -1})
	write := func(w *protocol.Write) {
		t.Helper()
		w.Room = "far"
		if _, err := sA.Write(w); err != nil {
			t.Fatalf("%v: %v", w.Op, err)
		}
	}
	eve := dialPeer(t, hsC, "eve")
	eve.join("far", false)
	eve.send(&protocol.Sub{ID: 1, Room: "far", Add: []string{"a"}})
	expectOK(t, eve, 1)
	write(&protocol.Write{Op: protocol.OpCreate, Object: "o1", Kind: "k", Area: "a", Fields: []protocol.Entry{entry("x", 1)}})
	nextObject(t, eve) // node C applied it

	px.cut(true)
	for i := 2; i <= 7; i++ { // more than the 3 the stream keeps
		write(&protocol.Write{Op: protocol.OpUpdate, Object: "o1", Fields: []protocol.Entry{entry("x", i)}})
	}
	trimLog(t, sA, "far")
	px.cut(false) // node C notices at its next heartbeat, or at the next write
	select {
	case <-reconnected:
	case <-time.After(10 * time.Second):
		t.Fatal("node C did not reconnect")
	}
	for {
		m, err := eve.recv()
		if err != nil {
			t.Fatalf("eve was not sent away: %v", err)
		}
		if e, ok := m.(*protocol.Error); ok && e.Code == protocol.CodeInternal {
			break
		}
	}
	version := func(s *Server) string {
		r := s.lockRoom("far", false)
		defer s.unlockRoom(r)
		o := r.objs.byID["o1"]
		return fmt.Sprintf("v%d %v", o.version, sortedEntries(o.fields))
	}
	if a, c := version(sA), version(sC); a != c {
		t.Fatalf("node A holds o1 %s, node C %s", a, c)
	}
}
