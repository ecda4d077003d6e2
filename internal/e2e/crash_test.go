package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/synkhq/synk/client"
)

// runSynk starts the synk binary on loopback with its store in dir and
// returns its websocket URL and the running command.
func runSynk(t *testing.T, bin, dir string) (string, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command(bin, "serve", "-addr", "127.0.0.1:0", "-data", dir)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg="synk serving" addr=http://(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case a := <-addr:
		return "ws://" + a + "/ws", cmd
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("synk did not start")
		return "", nil
	}
}

// TestStore_crash kills the server with SIGKILL in the middle of a stream
// of writes, restarts it from its data directory, and checks that every
// acknowledged write is there.
func TestStore_crash(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the synk binary")
	}
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "synk")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/synkhq/synk/cmd/synk").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	url, cmd := runSynk(t, bin, dir)

	c := dial(t, url, "writer")
	r := join(t, c, "crash", nil)
	acked := map[string]int{} // object → highest acknowledged n
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	killed := false
	wctx := ctx // after the kill, writes wait for a server that is gone: bound them
	for i := 0; i < 5000; i++ {
		id := fmt.Sprintf("o%d", i%20)
		var err error
		if _, ok := acked[id]; !ok {
			_, err = r.Create(wctx, id, "n", "all", map[string]any{"n": i})
		} else {
			_, err = r.Update(wctx, id, map[string]any{"n": i}, nil)
		}
		if err != nil {
			if !killed {
				t.Fatalf("write %d before the kill: %v", i, err)
			}
			break // the server is gone
		}
		acked[id] = i
		if i == 300 {
			// Kill while the next writes are in flight.
			go cmd.Process.Signal(syscall.SIGKILL)
			killed = true
			var cancelW context.CancelFunc
			wctx, cancelW = context.WithTimeout(ctx, 3*time.Second)
			defer cancelW()
		}
	}
	cmd.Wait()
	c.Close()

	url, cmd = runSynk(t, bin, dir)
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	c2 := dial(t, url, "reader")
	r2 := join(t, c2, "crash", &client.JoinOptions{Observer: true})
	if err := r2.Subscribe(ctx, []string{"all"}, nil); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, o := range r2.Objects() {
		var n int
		if err := o.Get("n", &n); err != nil {
			t.Fatal(err)
		}
		got[o.ID] = n
	}
	for id, n := range acked {
		if got[id] < n {
			t.Errorf("object %s: n = %d after restart, but %d was acknowledged", id, got[id], n)
		}
	}
	last := 0
	for _, n := range acked {
		last = max(last, n)
	}
	t.Logf("%d objects after restart; writes acknowledged up to n=%d", len(got), last)
}

// TestClient_crash kills a client process with SIGKILL after it queued a
// write while offline, then starts a new client on the same store file:
// the write reaches the server, once.
func TestClient_crash(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	t.Parallel()
	srv, hs, _ := start(t, nil)
	px := newProxy(t, hs.Listener.Addr().String())
	url := "ws://" + px.addr() + "/ws"
	path := filepath.Join(t.TempDir(), "client.db")

	cmd := exec.Command(os.Args[0], "-test.run=^TestClient_crashChild$", "-test.v")
	cmd.Env = append(os.Environ(), "SYNK_CRASH_CHILD="+url+" "+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	lines := bufio.NewScanner(out)
	var said []string // the child's output, for a failure's message
	await := func(want string) {
		t.Helper()
		for lines.Scan() {
			said = append(said, lines.Text())
			if lines.Text() == want {
				return
			}
		}
		t.Fatalf("child ended before printing %q; its output:\n%s", want, strings.Join(said, "\n"))
	}
	await("ready")
	px.down()
	await("queued")
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	px.up()

	st, err := client.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := dialWith(t, url, client.DialOptions{Store: st})
	r := join(t, c, "w", nil)
	// The child may have died before its store learned that the create
	// was answered: then the create goes again, and the server answers it
	// as the first time (version 1, not Exists).
	e := next(t, c, client.EventWritten)
	if e.Version == 1 && e.Err == nil {
		e = next(t, c, client.EventWritten)
	}
	if e.Object != "x" || e.Version != 2 || e.Err != nil {
		t.Fatalf("written event = %+v, want x at version 2", e)
	}
	if got := srv.Snapshot("w"); len(got) != 1 || got[0].Version != 2 || string(got[0].Fields["by"]) != string(mp("child")) {
		t.Fatalf("server holds %+v, want x at version 2 written by the child", got)
	}
	if p := r.Pending(); len(p) != 0 {
		t.Fatalf("pending after the answer: %+v", p)
	}
}

// TestClient_crashChild is the client process of TestClient_crash.
func TestClient_crashChild(t *testing.T) {
	arg := os.Getenv("SYNK_CRASH_CHILD")
	if arg == "" {
		t.Skip("run by TestClient_crash")
	}
	url, path, _ := strings.Cut(arg, " ")
	st, err := client.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := client.Dial(ctx, url, &client.DialOptions{Store: st, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Join(ctx, "w", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Create(ctx, "x", "k", "A", nil); err != nil {
		t.Fatal(err)
	}
	fmt.Println("ready")
	for e := range c.Events() {
		if e.Kind == client.EventDisconnected {
			break
		}
	}
	// Long enough for the store to take the write on a busy machine: the
	// call then waits, offline, until it ends.
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := r.Update(short, "x", map[string]any{"by": "child"}, nil); !errors.Is(err, client.ErrPending) {
		t.Fatalf("offline Update = %v, want ErrPending", err)
	}
	fmt.Println("queued")
	select {} // killed here
}
