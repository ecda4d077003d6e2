package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/synkhq/synk/client"
	"github.com/synkhq/synk/protocol"
	"github.com/synkhq/synk/server"
	"github.com/vmihailenco/msgpack/v5"
)

func dialWith(t *testing.T, url string, opts client.DialOptions) *client.Conn {
	t.Helper()
	opts.MinBackoff, opts.MaxBackoff = 20*time.Millisecond, 200*time.Millisecond
	c, err := client.Dial(ctxT(t), url, &opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// objectEvents returns the object events of c, as "kind object area v",
// marker is the object a test subscribes to last, to know that the frames
// before it arrived: the server streams whole objects in id order, so its
// id sorts after every other test object's.
const marker = "zz-marker"

// until (and without) the put of marker.
func objectEvents(t *testing.T, c *client.Conn, marker string) []string {
	t.Helper()
	var out []string
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case e := <-c.Events():
			if e.Object == marker && e.Kind == client.EventObjectPut {
				return out
			}
			switch e.Kind {
			case client.EventObjectPut, client.EventObjectUpdate, client.EventObjectMove, client.EventObjectRemove,
				client.EventObjectDelete, client.EventObjectsReset, client.EventWritten:
				out = append(out, strings.Join(strings.Fields(fmt.Sprintf("%v %s %s v%d", e.Kind, e.Object, e.Area, e.Version)), " "))
			}
		case <-timeout.C:
			t.Fatalf("no put of %s within 10s; got %v", marker, out)
		}
	}
}

func serverWrite(t *testing.T, s *server.Server, w *protocol.Write) uint64 {
	t.Helper()
	v, err := s.Write(w)
	if err != nil {
		t.Fatalf("Write(%+v): %v", w, err)
	}
	return v
}

func fields(kv ...any) []protocol.Entry {
	var out []protocol.Entry
	for i := 0; i < len(kv); i += 2 {
		out = append(out, protocol.Entry{Key: kv[i].(string), Value: mp(kv[i+1])})
	}
	return out
}

// awayReader joins room "w" as an observer of area A through a proxy, then
// takes the proxy down and waits until the client knows it is offline.
func awayReader(t *testing.T, hs *httptest.Server) (*proxy, *client.Conn, *client.Room) {
	t.Helper()
	px := newProxy(t, hs.Listener.Addr().String())
	c := dial(t, "ws://"+px.addr()+"/ws", "reader")
	r := join(t, c, "w", &client.JoinOptions{Observer: true})
	if err := r.Subscribe(ctxT(t), []string{"A"}, nil); err != nil {
		t.Fatal(err)
	}
	px.down()
	next(t, c, client.EventDisconnected)
	return px, c, r
}

// TestResume_onlyWhatChanged: a client that was away hears of exactly the
// objects that changed in its areas meanwhile, not of the others.
func TestResume_onlyWhatChanged(t *testing.T) {
	t.Parallel()
	srv, hs, _ := start(t, nil)
	for i := range 50 {
		serverWrite(t, srv, &protocol.Write{Room: "w", Op: protocol.OpCreate, Object: fmt.Sprintf("o%02d", i), Kind: "k", Area: "A", Fields: fields("n", 0)})
	}
	serverWrite(t, srv, &protocol.Write{Room: "w", Op: protocol.OpCreate, Object: marker, Kind: "k", Area: "M"})
	px, c, r := awayReader(t, hs)
	serverWrite(t, srv, &protocol.Write{Room: "w", Op: protocol.OpUpdate, Object: "o01", Fields: fields("n", 1)})
	serverWrite(t, srv, &protocol.Write{Room: "w", Op: protocol.OpUpdate, Object: "o01", Fields: fields("n", 2)})
	serverWrite(t, srv, &protocol.Write{Room: "w", Op: protocol.OpMove, Object: "o02", Area: "Z"})
	serverWrite(t, srv, &protocol.Write{Room: "w", Op: protocol.OpCreate, Object: "new", Kind: "k", Area: "A"})
	serverWrite(t, srv, &protocol.Write{Room: "w", Op: protocol.OpUpdate, Object: "o03", Fields: fields("n", 1)})
	serverWrite(t, srv, &protocol.Write{Room: "w", Op: protocol.OpMove, Object: "o03", Area: "Z"})
	px.up()
	// Subscribe waits for the rejoin, and its marker comes after the
	// resume's frames.
	if err := r.Subscribe(ctxT(t), []string{"M"}, nil); err != nil {
		t.Fatal(err)
	}
	// (next skipped the events before the disconnect.)
	got := objectEvents(t, c, marker)
	want := []string{"ObjectUpdate o01 A v3", "ObjectRemove o02 v2", "ObjectRemove o03 v3", "ObjectPut new A v1"} // whole objects last
	if !slices.Equal(got, want) {
		t.Fatalf("events after the reconnect:\n%v\nwant\n%v", got, want)
	}
	if n := len(r.Objects()); n != 50 {
		t.Fatalf("cache holds %d objects, want 50 (and the marker)", n)
	}
}

// TestResume_recreated: an object deleted and created again while a
// client was away starts again at version 1, like the copy the client
// holds; the client must still take the new one.
func TestResume_recreated(t *testing.T) {
	t.Parallel()
	srv, hs, _ := start(t, nil)
	serverWrite(t, srv, &protocol.Write{Room: "w", Op: protocol.OpCreate, Object: "x", Kind: "k", Area: "A", Fields: fields("n", "old")})
	serverWrite(t, srv, &protocol.Write{Room: "w", Op: protocol.OpCreate, Object: marker, Kind: "k", Area: "M"})
	px, c, r := awayReader(t, hs)
	serverWrite(t, srv, &protocol.Write{Room: "w", Op: protocol.OpDelete, Object: "x"})
	serverWrite(t, srv, &protocol.Write{Room: "w", Op: protocol.OpCreate, Object: "x", Kind: "k2", Area: "A", Fields: fields("n", "new")})
	px.up()
	if err := r.Subscribe(ctxT(t), []string{"M"}, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := objectEvents(t, c, marker), []string{"ObjectPut x A v1"}; !slices.Equal(got, want) {
		t.Fatalf("events after the reconnect: %v, want %v", got, want)
	}
	o, ok := r.Object("x")
	if !ok || o.Kind != "k2" || !bytes.Equal(o.Fields["n"], mp("new")) {
		t.Fatalf("cached x = %+v, want the new one", o)
	}
}

// TestResume_historyGone: a client further behind than the server's
// history gets a snapshot, is told so, and ends up exact.
func TestResume_historyGone(t *testing.T) {
	t.Parallel()
	srv, hs, _ := start(t, &server.Options{History: 4})
	for _, id := range []string{"a", "b", "c"} {
		serverWrite(t, srv, &protocol.Write{Room: "w", Op: protocol.OpCreate, Object: id, Kind: "k", Area: "A"})
	}
	px, c, r := awayReader(t, hs)
	serverWrite(t, srv, &protocol.Write{Room: "w", Op: protocol.OpDelete, Object: "a"})
	for i := range 5 {
		serverWrite(t, srv, &protocol.Write{Room: "w", Op: protocol.OpUpdate, Object: "b", Fields: fields("n", i)})
	}
	px.up()
	next(t, c, client.EventObjectsReset)
	var ids []string
	for _, o := range r.Objects() {
		ids = append(ids, fmt.Sprintf("%s v%d", o.ID, o.Version))
	}
	if !slices.Equal(ids, []string{"b v6", "c v1"}) {
		t.Fatalf("cache after the reset = %v, want b v6 and c v1", ids)
	}
}

// TestOffline_writesQueue: writes made while the server is unreachable
// wait in the outbox and go out, in order, once it is back.
func TestOffline_writesQueue(t *testing.T) {
	t.Parallel()
	srv, hs, _ := start(t, nil)
	px := newProxy(t, hs.Listener.Addr().String())
	c := dial(t, "ws://"+px.addr()+"/ws", "writer")
	r := join(t, c, "w", nil)
	ctx := ctxT(t)
	if _, err := r.Create(ctx, "a", "k", "A", map[string]any{"n": 0}); err != nil {
		t.Fatal(err)
	}
	px.down()
	next(t, c, client.EventDisconnected)

	for _, write := range []func(context.Context) error{
		func(ctx context.Context) error { _, err := r.Update(ctx, "a", map[string]any{"n": 1}, nil); return err },
		func(ctx context.Context) error { _, err := r.Move(ctx, "a", "B", nil); return err },
	} {
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		err := write(short)
		cancel()
		if !errors.Is(err, client.ErrPending) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("offline write = %v, want ErrPending wrapping the deadline", err)
		}
	}
	if p := r.Pending(); len(p) != 2 || p[0].Op != protocol.OpUpdate || p[1].Op != protocol.OpMove || p[1].Area != "B" {
		t.Fatalf("Pending = %+v, want the update then the move", p)
	}
	px.up()
	for _, want := range []uint64{2, 3} {
		if e := next(t, c, client.EventWritten); e.Object != "a" || e.Version != want || e.Err != nil {
			t.Fatalf("written event = %+v, want a at version %d", e, want)
		}
	}
	if got := srv.Snapshot("w"); len(got) != 1 || got[0].Version != 3 || got[0].Area != "B" {
		t.Fatalf("server holds %+v, want a in B at version 3", got)
	}
	if p := r.Pending(); len(p) != 0 {
		t.Fatalf("Pending after the answers = %+v", p)
	}
	// A call that waits through an outage gets its answer.
	px.down()
	next(t, c, client.EventDisconnected)
	done := make(chan error, 1)
	go func() {
		_, err := r.Update(ctx, "a", map[string]any{"n": 2}, nil)
		done <- err
	}()
	px.up()
	if err := <-done; err != nil {
		t.Fatalf("Update waiting through the outage = %v", err)
	}
}

// TestOffline_fileStore: a program that closes while offline keeps its
// unanswered writes and its cache in a file; the next run sends the writes
// and resumes from the cache, hearing only of what changed.
func TestOffline_fileStore(t *testing.T) {
	t.Parallel()
	srv, hs, _ := start(t, nil)
	for _, id := range []string{"a", "b", "c"} {
		serverWrite(t, srv, &protocol.Write{Room: "w", Op: protocol.OpCreate, Object: id, Kind: "k", Area: "A"})
	}
	serverWrite(t, srv, &protocol.Write{Room: "w", Op: protocol.OpCreate, Object: marker, Kind: "k", Area: "M"})
	path := filepath.Join(t.TempDir(), "state.db")
	px := newProxy(t, hs.Listener.Addr().String())
	url := "ws://" + px.addr() + "/ws"
	ctx := ctxT(t)

	st, err := client.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c := dialWith(t, url, client.DialOptions{Client: "ada", Store: st})
	r := join(t, c, "w", nil)
	if err := r.Subscribe(ctx, []string{"A"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Create(ctx, "mine", "k", "A", nil); err != nil {
		t.Fatal(err)
	}
	px.down()
	next(t, c, client.EventDisconnected)
	// Long enough for the file to take the write on a busy machine (the
	// Conn's flush of the disconnect may hold the store for a while): the
	// call then waits, offline, until it ends. With 20 ms the fresh-clone
	// CI once got the store's own deadline error instead.
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	_, err = r.Update(short, "a", map[string]any{"by": "ada"}, nil)
	cancel()
	if !errors.Is(err, client.ErrPending) {
		t.Fatalf("offline Update = %v, want ErrPending", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	st.Close()
	serverWrite(t, srv, &protocol.Write{Room: "w", Op: protocol.OpUpdate, Object: "c", Fields: fields("n", 1)})
	px.up()

	st, err = client.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c = dialWith(t, url, client.DialOptions{Client: "ada", Store: st})
	r = join(t, c, "w", nil)
	if err := r.Subscribe(ctx, []string{"M"}, nil); err != nil {
		t.Fatal(err)
	}
	got := objectEvents(t, c, marker)
	want := []string{
		"ObjectPut a A v1", "ObjectPut b A v1", "ObjectPut c A v1", "ObjectPut mine A v1", // from the file
		"ObjectUpdate c A v2", // changed meanwhile: the only object sent
		"ObjectUpdate a A v2", // the offline write, applied...
		"Written a v2",        // ...and answered
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events of the second run:\n%v\nwant\n%v", got, want)
	}
	if o, _ := r.Object("a"); o.Version != 2 {
		t.Fatalf("a in cache = %+v, want version 2", o)
	}
}

func mp(v any) []byte {
	b, err := msgpack.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
