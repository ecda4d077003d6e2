//go:build !js

package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// natsCluster is n in-process NATS servers with JetStream, routed to each
// other on loopback as one cluster.
type natsCluster struct {
	servers []*natsserver.Server
	urls    []string
}

// runNATSCluster starts a NATS cluster of n servers and returns once each
// takes connections (its JetStream may still be electing a leader).
func runNATSCluster(t testing.TB, n int) *natsCluster {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
	}
	var routes []*url.URL
	for _, p := range ports {
		routes = append(routes, &url.URL{Scheme: "nats", Host: "127.0.0.1:" + strconv.Itoa(p)})
	}
	nc := &natsCluster{}
	for i := range n {
		opts := &natsserver.Options{ServerName: fmt.Sprintf("n%d", i), Host: "127.0.0.1", Port: -1,
			NoLog: true, NoSigs: true, JetStream: true, StoreDir: t.TempDir(),
			Cluster: natsserver.ClusterOpts{Name: "synk", Host: "127.0.0.1", Port: ports[i]}, Routes: routes}
		ns, err := natsserver.NewServer(opts)
		if err != nil {
			t.Fatal(err)
		}
		go ns.Start()
		t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
		nc.servers = append(nc.servers, ns)
	}
	for _, ns := range nc.servers {
		if !ns.ReadyForConnections(10 * time.Second) {
			t.Fatal("NATS did not start")
		}
		nc.urls = append(nc.urls, ns.ClientURL())
	}
	return nc
}

// TestCluster_startTogether: nodes started at the same moment as a fresh
// three-server NATS cluster, whose JetStream has no leader yet, all open
// the room log (creating its stream races between them) and take object
// writes, without a restart. Before, each gave up after 30 s and refused
// objects as if the NATS had no JetStream.
func TestCluster_startTogether(t *testing.T) {
	t.Parallel()
	nc := runNATSCluster(t, 3)
	nodes := make([]*Server, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() {
			conn, err := nats.Connect(nc.urls[i])
			if err != nil {
				errs[i] = err
				return
			}
			t.Cleanup(conn.Close)
			nodes[i], errs[i] = New(&Options{NATS: conn, NATSReplicas: 3, Rate: -1, Logger: slog.New(slog.DiscardHandler)})
		})
	}
	wg.Wait()
	for i, s := range nodes {
		if errs[i] != nil {
			t.Fatalf("node %d: %v", i, errs[i])
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s.Shutdown(ctx)
		})
	}
	for i, s := range nodes {
		if err := s.unclustered("objects"); err != nil {
			t.Fatalf("node %d refuses objects: %v", i, err)
		}
		if _, err := s.Write(&protocol.Write{Room: "w", Op: protocol.OpCreate, Object: fmt.Sprint("o", i), Kind: "k", Area: "a"}); err != nil {
			t.Fatalf("node %d: create: %v", i, err)
		}
	}
}

// TestCluster_catchUpOffJanitor: a node whose NATS connection comes back
// while JetStream does not answer (as while it elects a stream leader)
// catches its rooms up in the background: its idle clients keep getting
// pings and are not cut. Here the connection comes back to a NATS server
// where the JetStream API swallows every request. Before, the janitor read
// the missed writes itself, up to 10 s a room, and cut every idle client
// of the node for silence when it came back.
func TestCluster_catchUpOffJanitor(t *testing.T) {
	t.Parallel()
	url := runNATS(t, true)
	mute := runNATS(t, false) // JetStream requests there get no answer at all (started first: it stops after the node)
	conn, px, reconnected := proxiedNATS(t, strings.TrimPrefix(url, "nats://"))
	s, hs := testServer(t, &Options{NATS: conn, Rate: -1,
		Timeout: 2 * time.Second, PingInterval: 200 * time.Millisecond}) // a cut would come within 2 s, even on a busy machine
	if _, err := s.Write(&protocol.Write{Room: "w", Op: protocol.OpCreate, Object: "o", Kind: "k", Area: "a"}); err != nil {
		t.Fatal(err)
	}
	ada := dialPeer(t, hs, "ada")
	ada.join("w", false)

	hole, err := nats.Connect(mute)
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()
	if _, err := hole.Subscribe("$JS.API.>", func(*nats.Msg) {}); err != nil {
		t.Fatal(err)
	}
	if err := hole.Flush(); err != nil {
		t.Fatal(err)
	}
	px.retarget(strings.TrimPrefix(mute, "nats://"))
	px.cut(false) // the node's NATS connection drops and comes back, to the mute server
	select {
	case <-reconnected:
	case <-time.After(10 * time.Second):
		t.Fatal("the node did not reconnect to NATS")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const pings = 30 // 6 s at one ping each 200 ms: three times the timeout
	for n := 0; n < pings; {
		_, b, err := ada.ws.Read(ctx)
		if err != nil {
			t.Fatalf("the idle client was cut after %d pings: %v", n, err)
		}
		if ping, ok := decodeOrNil(b).(*protocol.Ping); ok {
			n++
			pong, _ := protocol.Encode(&protocol.Pong{Nonce: ping.Nonce})
			if err := ada.ws.Write(ctx, 2, pong); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !s.bus.(*cluster).catching.Load() {
		t.Fatal("the catch-up is over: the test did not overlap it")
	}
	if err := s.Shutdown(ctx); err != nil { // while the mute server runs
		t.Fatal(err)
	}
}

func decodeOrNil(b []byte) protocol.Message {
	m, _ := protocol.Decode(b)
	return m
}

// ackModel is what writers were told: per object, the values of field "n"
// acknowledged last, and written last (acknowledged or not).
type ackModel struct {
	mu      sync.Mutex
	acked   map[string]int
	written map[string]int
}

// writeLoad writes n times on s: creates of its own objects, each then
// updated twice, and records what was acknowledged in m.
func writeLoad(t *testing.T, s *Server, prefix string, n int, m *ackModel) {
	var (
		id      string
		created bool // the create of id was acknowledged
	)
	for k := range n {
		w := &protocol.Write{Room: "m", Op: protocol.OpUpdate, Object: id, Fields: []protocol.Entry{entry("n", k)}}
		if k%3 == 0 {
			id, created = fmt.Sprintf("%s-%04d", prefix, k), false
			w = &protocol.Write{Room: "m", Op: protocol.OpCreate, Object: id, Kind: "k", Area: "a", Fields: []protocol.Entry{entry("n", k)}}
		}
		m.mu.Lock()
		m.written[id] = k
		m.mu.Unlock()
		_, err := s.Write(w)
		switch code := protocol.ErrorCode(err); {
		case err == nil:
			created = created || w.Op == protocol.OpCreate
			m.mu.Lock()
			m.acked[id] = k
			m.mu.Unlock()
		case code == protocol.CodeOverloaded:
		case code == protocol.CodeNotFound && !created:
			// Its create was refused as Overloaded: it may not exist.
		default:
			t.Errorf("%s %v %s: %v", prefix, w.Op, id, err)
			return
		}
	}
}

// objectValues returns the value of field "n" of each object of room m on
// s, once s applied the marker create of id marker.
func objectValues(t *testing.T, s *Server) map[string]int {
	t.Helper()
	r := s.lockRoom("m", false)
	if r == nil {
		return nil
	}
	defer s.unlockRoom(r)
	out := make(map[string]int)
	for id, o := range r.objs.byID {
		if o.fields["n"] == nil {
			continue
		}
		var n int
		if err := msgpack.Unmarshal(o.fields["n"], &n); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		out[id] = n
	}
	return out
}

// TestCluster_noAckedWriteLost is a model test of the room log under
// trimming (History 8, so the log is trimmed every few writes) and node
// restarts: eight writers on two nodes while a third node restarts four
// times, then a node started after all that, then a node started after
// every node stopped. Each must hold every acknowledged write: each
// object the model has, with the value last acknowledged (or a later one
// written, whose answer was lost). Before, a node loading the room while
// writes went on missed the writes acknowledged during its load, and a
// write whose object record failed to store was lost after the trim.
func TestCluster_noAckedWriteLost(t *testing.T) {
	t.Parallel()
	url := runNATS(t, true)
	start := func() *Server {
		t.Helper()
		conn, err := nats.Connect(url)
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(&Options{NATS: conn, History: 8, Rate: -1, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stopNode(s); conn.Close() })
		return s
	}
	a, b, c := start(), start(), start()
	m := &ackModel{acked: map[string]int{}, written: map[string]int{}}
	var wg sync.WaitGroup
	for i := range 4 { // writes in flight at once on each node
		wg.Go(func() { writeLoad(t, a, fmt.Sprint("a", i), 240, m) })
		wg.Go(func() { writeLoad(t, b, fmt.Sprint("b", i), 240, m) })
	}
	for range 4 {
		stopNode(c)
		c = start()
	}
	wg.Wait()
	mustWrite(t, a, &protocol.Write{Room: "m", Op: protocol.OpCreate, Object: "zz-marker", Kind: "k", Area: "z"})
	check := func(name string, s *Server) {
		t.Helper()
		awaitObject(t, s, "zz-marker")
		got := objectValues(t, s)
		m.mu.Lock()
		defer m.mu.Unlock()
		for id, n := range m.acked {
			if v, ok := got[id]; !ok || v != n && v != m.written[id] {
				t.Errorf("node %s: object %s = %d (held %v), want %d, acknowledged", name, id, v, ok, n)
			}
		}
	}
	check("a", a)
	check("b", b)
	check("c (restarted while writes went on)", c)
	check("d (started after)", start())
	stopNode(a)
	stopNode(b)
	stopNode(c)
	check("e (started after every node stopped)", start())
}

// stopNode shuts s down, once.
func stopNode(s *Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.Shutdown(ctx)
}

// awaitObject waits until s holds object id of room m.
func awaitObject(t *testing.T, s *Server, id string) {
	t.Helper()
	hs := httptest.NewServer(s)
	defer hs.Close()
	p := dialPeer(t, hs, "")
	p.join("m", true)
	p.send(&protocol.Sub{ID: 1, Room: "m", Add: []string{"z"}})
	for {
		if o, ok := expect[protocol.Message](p).(*protocol.Object); ok && o.Object == id {
			return
		}
	}
}

// TestCluster_dedupWindow: a client's write resent on another node after
// more writes than the room keeps (History 3) is answered as the first
// time, not applied again: op ids are remembered for DedupWindow, on every
// node. Before, they were forgotten after History writes, and the resent
// create was answered Exists.
func TestCluster_dedupWindow(t *testing.T) {
	t.Parallel()
	_, hsA, sB, hsB := twoNodesOn(t, runNATS(t, true), &Options{History: 3, Rate: -1}, &Options{History: 3, Rate: -1})
	create := &protocol.Write{ID: 1, Room: "w", Op: protocol.OpCreate, Object: "crate", Kind: "k", Area: "a", OpID: "ada-1"}
	ada := dialPeer(t, hsA, "ada")
	ada.join("w", false)
	ada.send(create)
	if ok := expectOK(t, ada, 1); ok.Version != 1 {
		t.Fatalf("create answered %+v", ok)
	}
	for i := range 10 {
		mustWrite(t, sB, &protocol.Write{Room: "w", Op: protocol.OpUpdate, Object: "crate", Fields: []protocol.Entry{entry("n", i)},
			OpID: fmt.Sprint("joe-", i)})
	}
	ada2 := dialPeer(t, hsB, "ada") // the client moved to node B, and resends
	ada2.join("w", false)
	create.ID = 2
	ada2.send(create)
	if ok := expectOK(t, ada2, 2); ok.Version != 1 {
		t.Fatalf("the resent create answered %+v, want its first answer (version 1)", ok)
	}
}

// TestRemember_window: op ids are forgotten once older than the window
// (by the writes' clock), and beyond maxRememberedOps whatever their age;
// the budget counts what they hold.
func TestRemember_window(t *testing.T) {
	t.Parallel()
	var ob objects
	lim := limits{dedup: time.Minute}
	ob.remember("a", opResult{version: 1}, 0, lim)
	ob.remember("b", opResult{version: 2}, 30_000, lim)
	if _, ok := ob.done["a"]; !ok || ob.doneBytes != opCost("a")+opCost("b") {
		t.Fatalf("a forgotten within the window, or bytes %d", ob.doneBytes)
	}
	ob.remember("c", opResult{version: 3}, 60_001, lim)
	if _, ok := ob.done["a"]; ok {
		t.Fatal("a remembered past the window")
	}
	if _, ok := ob.done["b"]; !ok || len(ob.order) != 2 || ob.doneBytes != opCost("b")+opCost("c") {
		t.Fatalf("b forgotten within the window: %v, bytes %d", ob.order, ob.doneBytes)
	}
	for i := range maxRememberedOps + 5 {
		ob.remember(fmt.Sprint("op", i), opResult{}, 60_002, lim)
	}
	if len(ob.done) != maxRememberedOps || len(ob.order) != maxRememberedOps {
		t.Fatalf("%d op ids remembered, want at most %d", len(ob.done), maxRememberedOps)
	}
}

// TestCluster_writeOnLaggingNode: a node that has not applied a write
// acknowledged through another node yet (its NATS connection was down)
// reads the log before it refuses a write that depends on it: an update
// of an object created a moment ago on node A succeeds on node B.
func TestCluster_writeOnLaggingNode(t *testing.T) {
	t.Parallel()
	url := runNATS(t, true)
	sA, _, _ := nodeWith(t, url, &Options{Rate: -1})
	conn, px, reconnected := proxiedNATS(t, strings.TrimPrefix(url, "nats://"))
	sB, _ := testServer(t, &Options{NATS: conn, Rate: -1, Timeout: time.Hour, PingInterval: 30 * time.Minute}) // no catch-up at a heartbeat
	mustWrite(t, sB, &protocol.Write{Room: "w", Op: protocol.OpCreate, Object: "first", Kind: "k", Area: "a"})
	px.cut(true)
	mustWrite(t, sA, &protocol.Write{Room: "w", Op: protocol.OpCreate, Object: "crate", Kind: "k", Area: "a"})
	px.cut(false)
	select {
	case <-reconnected:
	case <-time.After(10 * time.Second):
		t.Fatal("node B did not reconnect")
	}
	if v, err := sB.Write(&protocol.Write{Room: "w", Op: protocol.OpUpdate, Object: "crate", Fields: []protocol.Entry{entry("n", 1)}}); err != nil || v != 2 {
		t.Fatalf("update on node B = v%d, %v; want v2", v, err)
	}
}
