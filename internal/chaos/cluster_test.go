package chaos

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/synkhq/synk/client"
	"github.com/synkhq/synk/internal/attack"
	"github.com/synkhq/synk/internal/leakcheck"
)

var long = flag.Bool("long", false, "the long variant: more writing between the kills (make soak)")

func TestMain(m *testing.M) { leakcheck.Main(m, 8<<20) }

// model is what the writers were told: per object, field "n" as last
// acknowledged and as last written (its answer may have been lost).
type model struct {
	mu      sync.Mutex
	acked   map[string]int
	written map[string]int
	times   []time.Time    // of every acknowledgement, in order
	ackCh   chan time.Time // each acknowledgement's time, when someone listens
}

// pause returns the longest time between two acknowledgements, the second
// after from, and when that second one came.
func (m *model) pause(from time.Time) (time.Duration, time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var longest time.Duration
	var end time.Time
	for i := 1; i < len(m.times); i++ {
		if m.times[i].After(from) && m.times[i].Sub(m.times[i-1]) > longest {
			longest, end = m.times[i].Sub(m.times[i-1]), m.times[i]
		}
	}
	return longest, end
}

func (m *model) wrote(id string, n int) {
	m.mu.Lock()
	m.written[id] = n
	m.mu.Unlock()
}

func (m *model) ack(id string, n int) {
	now := time.Now()
	m.mu.Lock()
	m.acked[id] = n
	m.times = append(m.times, now)
	m.mu.Unlock()
	select {
	case m.ackCh <- now:
	default:
	}
}

const room = "chaos"

// writer writes until ctx ends: creates of its own objects, each then
// updated twice; conn fails over between the nodes.
func writer(ctx context.Context, r *client.Room, prefix string, m *model, errs chan<- error) {
	var id string
	for k := 0; ctx.Err() == nil; k++ {
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		var err error
		if k%3 == 0 {
			id = fmt.Sprintf("%s-%05d", prefix, k)
			m.wrote(id, k)
			_, err = r.Create(wctx, id, "box", "a", map[string]any{"n": k})
		} else {
			m.wrote(id, k)
			_, err = r.Update(wctx, id, map[string]any{"n": k}, nil)
		}
		cancel()
		switch {
		case err == nil:
			m.ack(id, k)
		case ctx.Err() != nil, errors.Is(err, client.ErrPending):
			return // the test ends (or a write outlived 30 s: the check will say if it was lost)
		default:
			errs <- fmt.Errorf("%s %s: %w", prefix, id, err)
			return
		}
	}
}

// TestCluster runs 3 nats-servers (one JetStream cluster, replicas 3) and
// 3 synk nodes started together, as separate processes, with writers on
// every node; then it SIGKILLs the room log's stream leader, and later a
// synk node, while they write, and brings both back. It asserts that no
// acknowledged write is lost, that the nodes hold the same objects, that
// presence converges after the node's return, and that no idle client of
// a healthy node was cut. It logs the failover figures of docs/CLUSTER.md.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs 6 processes")
	}
	phase := 3 * time.Second
	if *long {
		phase = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute+10*phase)
	defer cancel()
	dir := t.TempDir()
	synkBin, servers, natsURLs := natsAndSynk(ctx, t, dir)
	startNode := func() (*attack.Target, time.Duration, error) {
		began := time.Now()
		n, err := attack.Start(ctx, synkBin, "-nats", natsURLs, "-nats-replicas", "3", "-rate", "-1")
		return n, time.Since(began), err
	}

	// The three nodes start together, as the NATS cluster elects its leader.
	nodes := make([]*attack.Target, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() { nodes[i], _, errs[i] = startNode() })
	}
	wg.Wait()
	defer func() {
		for i, n := range nodes {
			if n != nil {
				n.Stop()
				if t.Failed() {
					t.Logf("node %d's last log lines:\n%s", i, tail(n.Log(), 40))
				}
			}
		}
	}()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	ws := func(i int) string { return nodes[i].WS() }
	dial := func(t *testing.T, id string, urls ...string) *client.Conn {
		t.Helper()
		c, err := client.Dial(ctx, urls[0], &client.DialOptions{Client: id, URLs: urls[1:],
			MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Second})
		if err != nil {
			t.Fatalf("dial %s: %v", id, err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	joinRoom := func(t *testing.T, c *client.Conn, observer bool) *client.Room {
		t.Helper()
		opts := &client.JoinOptions{Observer: true}
		if !observer {
			opts = &client.JoinOptions{Presence: map[string]any{"at": "here"}}
		}
		r, err := c.Join(ctx, room, opts)
		if err != nil {
			t.Fatalf("join: %v", err)
		}
		return r
	}

	// Idle members, one per node, with no other address: those of healthy
	// nodes must never be cut. An observer on node 0 times the leave of
	// node 2's when node 2 dies.
	idle := make([]*client.Conn, 3)
	for i := range idle {
		idle[i] = dial(t, fmt.Sprint("idle-", i), ws(i))
		joinRoom(t, idle[i], false)
	}
	watch := dial(t, "watch", ws(0))
	joinRoom(t, watch, true)

	// Two writers per node, each given every node's address.
	m := &model{acked: map[string]int{}, written: map[string]int{}, ackCh: make(chan time.Time, 1)}
	wctx, stopWriters := context.WithCancel(ctx)
	defer stopWriters()
	werrs := make(chan error, 6)
	var writers sync.WaitGroup
	type writerConn struct {
		c *client.Conn
		r *client.Room
	}
	var wconns []writerConn
	for i := range 3 {
		for k := range 2 {
			c := dial(t, fmt.Sprintf("writer-%d-%d", i, k), ws(i), ws((i+1)%3), ws((i+2)%3))
			r := joinRoom(t, c, false)
			wconns = append(wconns, writerConn{c, r})
			writers.Go(func() { writer(wctx, r, fmt.Sprintf("w%d%d", i, k), m, werrs) })
		}
	}
	pause := func(d time.Duration) {
		select {
		case <-time.After(d): // writing goes on meanwhile
		case err := <-werrs:
			t.Fatalf("writer: %v", err)
		}
	}
	pause(phase)

	// 1. The stream leader's nats-server dies.
	nc, err := nats.Connect(natsURLs)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	leader := streamLeader(ctx, t, js)
	var victim *NATS
	for _, n := range servers {
		if n.Name == leader {
			victim = n
		}
	}
	if victim == nil {
		t.Fatalf("stream leader %q is none of the servers", leader)
	}
	for len(m.ackCh) > 0 {
		<-m.ackCh
	}
	killed := time.Now()
	victim.Kill()
	for waiting := true; waiting; { // until writes are acknowledged again, a second after the kill at least
		select {
		case at := <-m.ackCh:
			waiting = at.Before(killed.Add(time.Second))
		case err := <-werrs:
			t.Fatalf("writer after the leader's kill: %v", err)
		case <-time.After(60 * time.Second):
			t.Fatal("no write acknowledged within 60 s of the stream leader's kill")
		}
	}
	stalled, resumed := m.pause(killed)
	pause(phase)
	if err := victim.Start(ctx); err != nil {
		t.Fatal(err)
	}
	pause(phase)

	// 2. A synk node dies; its writers move on, its idle member leaves.
	leaves := make(chan time.Time, 1)
	go func() {
		for e := range watch.Events() {
			if e.Kind == client.EventLeave && e.Client == "idle-2" {
				leaves <- time.Now()
				return
			}
		}
	}()
	nodeKilled := time.Now()
	nodes[2].Kill()
	var leaveAfter time.Duration
	select {
	case at := <-leaves:
		leaveAfter = at.Sub(nodeKilled)
	case <-time.After(60 * time.Second):
		t.Fatal("node 2's idle member did not leave within 60 s")
	}
	info, err := js.Stream(ctx, "SYNK_ROOMS")
	if err != nil {
		t.Fatal(err)
	}
	st, err := info.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var startTime time.Duration
	if nodes[2], startTime, err = startNode(); err != nil {
		t.Fatal(err)
	}
	kept := st.State.Msgs
	pause(phase)
	stopWriters()
	writers.Wait()
	select {
	case err := <-werrs:
		t.Fatalf("writer: %v", err)
	default:
	}
	// A write whose caller stopped waiting is still in its client's outbox
	// (and maybe on its way through a node): wait for every answer, so
	// that the marker comes after every write.
	settle := time.After(60 * time.Second)
	for _, w := range wconns {
		for len(w.r.Pending()) > 0 {
			select {
			case <-w.c.Events():
			case <-settle:
				t.Fatalf("writes still unanswered after 60 s: %v", w.r.Pending())
			}
		}
	}

	// Every node holds every acknowledged write, and the same objects.
	marker := dial(t, "marker", ws(0))
	mr := joinRoom(t, marker, false)
	if _, err := mr.Create(ctx, "zz-marker", "box", "z", nil); err != nil {
		t.Fatal(err)
	}
	var views []map[string]string
	for i := range nodes {
		objs := readObjects(ctx, t, dial(t, fmt.Sprint("reader-", i), ws(i)))
		m.mu.Lock()
		for id, n := range m.acked {
			o, ok := objs[id]
			var v int
			if ok {
				o.Get("n", &v)
			}
			if !ok || v != n && v != m.written[id] {
				t.Errorf("node %d: object %s holds n=%d (present %v), want %d as acknowledged", i, id, v, ok, n)
			}
		}
		m.mu.Unlock()
		view := make(map[string]string)
		for id, o := range objs {
			view[id] = fmt.Sprintf("v%d %s %x", o.Version, o.Area, o.Fields["n"])
		}
		views = append(views, view)
	}
	for i := 1; i < len(views); i++ {
		if !maps.Equal(views[0], views[i]) {
			var diff []string
			for _, id := range slices.Sorted(maps.Keys(views[0])) {
				if views[0][id] != views[i][id] && len(diff) < 5 {
					diff = append(diff, fmt.Sprintf("%s: %q vs %q", id, views[0][id], views[i][id]))
				}
			}
			t.Errorf("node %d holds %d objects, node 0 %d: they differ (%v)", i, len(views[i]), len(views[0]), diff)
		}
	}

	// Presence converges: an observer on each node sees the same members.
	var members [][]string
	for i := range nodes {
		members = append(members, converged(ctx, t, dial(t, fmt.Sprint("eye-", i), ws(i)), 9))
	}
	for i := 1; i < len(members); i++ {
		if !slices.Equal(members[0], members[i]) {
			t.Errorf("node %d sees members %v, node 0 %v", i, members[i], members[0])
		}
	}

	// No idle client of a healthy node was cut.
	for i := range 2 {
	drain:
		for {
			select {
			case e := <-idle[i].Events():
				if e.Kind == client.EventDisconnected {
					t.Errorf("idle-%d, on a healthy node, was cut: %v", i, e.Err)
				}
			default:
				break drain
			}
		}
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	t.Logf("figures: %d writes acknowledged by 6 writers over 3 nodes", len(m.times))
	t.Logf("figures: after the stream leader's SIGKILL, no write was acknowledged for %.2f s; writes were acknowledged again %.2f s after the kill",
		stalled.Seconds(), resumed.Sub(killed).Seconds())
	t.Logf("figures: a dead node's members left %.2f s after its SIGKILL (-timeout 10s)", leaveAfter.Seconds())
	t.Logf("figures: a node restarted in %.2f s with %d writes kept in the room log (%.2f s per 10,000)",
		startTime.Seconds(), kept, startTime.Seconds()*10000/float64(max(kept, 1)))
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// streamLeader returns the name of the server leading the room log.
func streamLeader(ctx context.Context, t *testing.T, js jetstream.JetStream) string {
	t.Helper()
	s, err := js.Stream(ctx, "SYNK_ROOMS")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil || info.Cluster == nil || info.Cluster.Leader == "" {
		t.Fatalf("stream info: %+v, %v", info, err)
	}
	return info.Cluster.Leader
}

// readObjects subscribes c to areas a and z of the room and returns its
// objects once the marker object (area z) arrived: written after every
// other, it comes after them.
func readObjects(ctx context.Context, t *testing.T, c *client.Conn) map[string]client.Object {
	t.Helper()
	r, err := c.Join(ctx, room, &client.JoinOptions{Observer: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Subscribe(ctx, []string{"a", "z"}, nil); err != nil {
		t.Fatal(err)
	}
	for {
		if _, ok := r.Object("zz-marker"); ok {
			break
		}
		select {
		case <-c.Events():
		case <-ctx.Done():
			t.Fatal("the marker did not arrive")
		}
	}
	out := make(map[string]client.Object)
	for _, o := range r.Objects() {
		out[o.ID] = o
	}
	return out
}

// converged joins c as an observer and returns the members it sees once
// there are want of them, waiting on presence events.
func converged(ctx context.Context, t *testing.T, c *client.Conn, want int) []string {
	t.Helper()
	r, err := c.Join(ctx, room, &client.JoinOptions{Observer: true})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.After(30 * time.Second)
	for {
		var ids []string
		for _, mb := range r.Members() {
			ids = append(ids, mb.Client)
		}
		slices.Sort(ids)
		if len(ids) == want {
			return ids
		}
		select {
		case <-c.Events():
		case <-deadline:
			t.Fatalf("members seen: %v, want %d", ids, want)
		}
	}
}
