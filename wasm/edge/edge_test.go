//go:build !js

package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/synkhq/synk/client"
	"github.com/synkhq/synk/protocol"
)

// workerd runs the edge worker built by make edge (SYNK_EDGE_DIR) under a
// local workerd (WORKERD), listening on a loopback socket the test opened
// and hands over (--socket-fd): connections queue there until workerd
// accepts them, so nothing waits for it to be ready, and a restarted
// workerd serves the same address. Durable Object storage is in dir.
type workerd struct {
	t      *testing.T
	ln     *net.TCPListener
	dir    string
	addr   string
	cmd    *exec.Cmd
	exited chan error
	log    strings.Builder
}

func newWorkerd(t *testing.T) *workerd {
	t.Helper()
	if os.Getenv("SYNK_EDGE_DIR") == "" || os.Getenv("WORKERD") == "" {
		t.Skip("the edge tests run under make test-edge, which builds the worker and installs workerd")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &workerd{t: t, ln: ln.(*net.TCPListener), dir: t.TempDir(), addr: ln.Addr().String()}
	t.Cleanup(func() { w.stop(); ln.Close() })
	w.start()
	return w
}

func (w *workerd) start() {
	w.t.Helper()
	f, err := w.ln.File()
	if err != nil {
		w.t.Fatal(err)
	}
	defer f.Close()
	w.log.Reset()
	w.cmd = exec.Command(os.Getenv("WORKERD"), "serve", filepath.Join(os.Getenv("SYNK_EDGE_DIR"), "workerd.capnp"),
		"--directory-path", "storage="+w.dir, "--socket-fd", "http=3")
	w.cmd.ExtraFiles = []*os.File{f} // fd 3
	w.cmd.Stdout, w.cmd.Stderr = &w.log, &w.log
	if err := w.cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	w.exited = make(chan error, 1)
	go func(cmd *exec.Cmd, exited chan error) { exited <- cmd.Wait() }(w.cmd, w.exited)
}

// stop kills workerd (it may linger after SIGTERM) and waits for it.
func (w *workerd) stop() {
	if w.cmd == nil {
		return
	}
	w.cmd.Process.Signal(syscall.SIGKILL)
	<-w.exited
	w.cmd = nil
}

func (w *workerd) url(path string) string { return "http://" + w.addr + path }

func httpDo(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// nextEvent returns the next event of kind from c within 20s.
func nextEvent(t *testing.T, c *client.Conn, kind client.EventKind) client.Event {
	t.Helper()
	timeout := time.NewTimer(20 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case e := <-c.Events():
			if e.Kind == kind {
				return e
			}
		case <-timeout.C:
			t.Fatalf("no %v within 20s", kind)
		}
	}
}

// TestEdge: the seed's HTTP API, two Go clients that see each other, and
// objects that survive a workerd restart, all against the edge worker.
func TestEdge(t *testing.T) {
	w := newWorkerd(t)

	t.Run("http", func(t *testing.T) {
		if code, out := httpDo(t, "POST", w.url("/synk/seed"), `{"c":"ada","d":[{"k":"head","v":"0 1.6 0"}]}`); code != 200 || out != "[]" {
			t.Fatalf("first POST = %d %s, want 200 []", code, out)
		}
		code, out := httpDo(t, "POST", w.url("/synk/seed"), `{"c":"joe","d":[{"k":"head","v":"1 1 1"}]}`)
		if code != 200 || out != `[{"c":"ada","d":[{"k":"head","v":"0 1.6 0"}]}]` {
			t.Fatalf("second POST = %d %s, want ada's entries", code, out)
		}
		if code, out := httpDo(t, "GET", w.url("/synk/seed"), ""); code != 200 || !strings.Contains(out, `"c":"joe"`) {
			t.Fatalf("GET = %d %s, want both", code, out)
		}
		if code, out := httpDo(t, "POST", w.url("/synk/seed"), `{"c":"a b"}`); code != 400 || !strings.Contains(out, `"error"`) {
			t.Fatalf("bad POST = %d %s, want 400 with a JSON error", code, out)
		}
		// Room names are UTF-8, percent-encoded in the path.
		if code, out := httpDo(t, "POST", w.url("/synk/caf%C3%A9%20%E2%98%95"), `{"c":"zoë","d":[{"k":"k","v":1.0}]}`); code != 200 || out != "[]" {
			t.Fatalf("POST to a UTF-8 room = %d %s", code, out)
		}
		if code, out := httpDo(t, "GET", w.url("/synk/caf%C3%A9%20%E2%98%95"), ""); code != 200 || out != `[{"c":"zoë","d":[{"k":"k","v":1.0}]}]` {
			t.Fatalf("GET of a UTF-8 room = %d %s", code, out)
		}
		if code, out := httpDo(t, "GET", w.url("/synk/a%09b"), ""); code != 400 || !strings.Contains(out, `"BadName"`) {
			t.Fatalf("GET of a room with a tab = %d %s, want 400 BadName", code, out)
		}
		if code, _ := httpDo(t, "GET", w.url("/nowhere"), ""); code != 404 {
			t.Fatalf("GET /nowhere = %d, want 404", code)
		}
		// A page of another site may not use a websocket: it is told why.
		ws, _, err := websocket.Dial(ctxT(t), "ws://"+w.addr+"/ws/seed",
			&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://evil.test"}}})
		if err != nil {
			t.Fatalf("websocket from https://evil.test: %v", err)
		}
		defer ws.CloseNow()
		hello, _ := protocol.Encode(&protocol.Hello{Version: protocol.Version, Client: "mallory"})
		ws.Write(ctxT(t), websocket.MessageBinary, hello)
		_, b, err := ws.Read(ctxT(t))
		m, _ := protocol.Decode(b)
		if e, ok := m.(*protocol.Error); err != nil || !ok || e.Code != protocol.CodeForbidden || !strings.Contains(e.Message, "add evil.test to -origins (SYNK_ORIGINS)") {
			t.Fatalf("a page of https://evil.test got %v %v, want Forbidden naming -origins evil.test", m, err)
		}
		if _, _, err := ws.Read(ctxT(t)); websocket.CloseStatus(err) != websocket.StatusCode(protocol.CodeForbidden.CloseStatus()) {
			t.Fatalf("then %v, want close status %d", err, protocol.CodeForbidden.CloseStatus())
		}
	})

	url := "ws://" + w.addr + "/ws/lobby"
	dial := func(id string) *client.Conn {
		c, err := client.Dial(ctxT(t), url, &client.DialOptions{Client: id, MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Second})
		if err != nil {
			t.Fatalf("Dial %s: %v\n%s", id, err, w.log.String())
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	var joe *client.Conn
	t.Run("two clients", func(t *testing.T) {
		var ada *client.Conn
		ada, joe = dial("ada"), dial("joe")
		ra, err := ada.Join(ctxT(t), "lobby", &client.JoinOptions{Presence: map[string]any{"name": "Ada"}})
		if err != nil {
			t.Fatal(err)
		}
		rj, err := joe.Join(ctxT(t), "lobby", &client.JoinOptions{Presence: map[string]any{"name": "Joe"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := rj.Subscribe(ctxT(t), []string{"a"}, nil); err != nil {
			t.Fatal(err)
		}
		if e := nextEvent(t, ada, client.EventJoin); e.Client != "joe" {
			t.Fatalf("ada saw %+v, want joe's join", e)
		}
		if err := ra.Set(ctxT(t), map[string]any{"x": 7}); err != nil {
			t.Fatal(err)
		}
		var x int
		if e := nextEvent(t, joe, client.EventChange); (client.Member{Entries: e.Entries}).Get("x", &x) != nil || x != 7 {
			t.Fatalf("joe saw %+v, want ada's x=7", e)
		}
		if _, err := ada.Join(ctxT(t), "attic", nil); err == nil || !strings.Contains(err.Error(), "Forbidden") {
			t.Fatalf("joining another room on lobby's address: %v, want Forbidden", err)
		}
		if _, err := ra.Create(ctxT(t), "crate", "item", "a", map[string]any{"x": 3}); err != nil {
			t.Fatal(err)
		}
		if e := nextEvent(t, joe, client.EventObjectPut); e.Object != "crate" {
			t.Fatalf("joe saw %+v, want the crate", e)
		}
		// Messages go through the room's Durable Object too.
		if err := ra.Send(ctxT(t), "joe", "hi", "psst"); err != nil {
			t.Fatal(err)
		}
		if e := nextEvent(t, joe, client.EventMessage); e.Client != "ada" || e.Topic != "hi" || !e.Direct {
			t.Fatalf("joe saw %+v, want ada's direct hi", e)
		}
	})

	// A restart of workerd: the room's Durable Object starts again from
	// its storage and still holds the object.
	w.stop()
	w.start()
	t.Run("restart", func(t *testing.T) {
		c := dial("eve")
		r, err := c.Join(ctxT(t), "lobby", nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Subscribe(ctxT(t), []string{"a"}, nil); err != nil {
			t.Fatal(err)
		}
		o, ok := r.Object("crate")
		var x int
		if !ok || o.Get("x", &x) != nil || x != 3 {
			t.Fatalf("after a restart the room holds %+v (%v), want crate with x=3", o, ok)
		}
		if _, err := r.Update(ctxT(t), "crate", map[string]any{"x": 4}, nil); err != nil {
			t.Fatal(err)
		}
	})

	// joe's connection died with the first workerd; its client comes back
	// and resumes from its position: it gets the update alone, without a
	// snapshot.
	t.Run("resume", func(t *testing.T) {
		timeout := time.NewTimer(20 * time.Second)
		defer timeout.Stop()
		for {
			select {
			case e := <-joe.Events():
				switch {
				case e.Kind == client.EventObjectsReset || e.Kind == client.EventObjectPut:
					t.Fatalf("joe got %v: a snapshot, not a resume", e.Kind)
				case e.Kind == client.EventObjectUpdate && e.Object == "crate":
					return
				}
			case <-timeout.C:
				t.Fatal("joe did not get the crate's update within 20s")
			}
		}
	})
}
