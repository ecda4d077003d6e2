package folder

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/synkhq/synk/client"
)

// watchStatuses joins the hub's room as an observer and returns a function
// that waits until the devices' statuses satisfy ok, and returns them.
func watchStatuses(t *testing.T, h *hub) func(what string, ok func(map[string]Status) bool) map[string]Status {
	t.Helper()
	conn, err := client.Dial(t.Context(), h.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	room, err := conn.Join(t.Context(), "photos", &client.JoinOptions{Observer: true})
	if err != nil {
		t.Fatal(err)
	}
	return func(what string, ok func(map[string]Status) bool) map[string]Status {
		t.Helper()
		timeout := time.NewTimer(30 * time.Second)
		defer timeout.Stop()
		for {
			list, err := Statuses(room.Members())
			if err != nil {
				t.Fatal(err)
			}
			by := make(map[string]Status)
			for _, d := range list {
				by[d.Device] = d.Status
			}
			if ok(by) {
				return by
			}
			select {
			case <-conn.Events():
			case <-timeout.C:
				t.Fatalf("%s: statuses %+v", what, by)
			}
		}
	}
}

// TestFolder_status: each device says in the room's presence how its
// folder stands: synced with every file, or failing with the path and its
// error; and what it has left before a pass (bytes to download).
func TestFolder_status(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	a, b := t.TempDir(), t.TempDir()
	for i := range 3 {
		write(t, a, fmt.Sprintf("docs/%d.txt", i), []byte("x"))
	}
	fa, fb := device(t, h, a, "a"), device(t, h, b, "b")
	wait := watchStatuses(t, h)
	once(t, fa, fb)
	st := wait("both synced", func(s map[string]Status) bool {
		return s["a"].State == "synced" && s["b"].State == "synced"
	})
	for _, d := range []string{"a", "b"} {
		if s := st[d]; s.Files != 4 || s.Total != 4 || s.Left != 0 || s.Failed != 0 || s.Error != "" || s.At == 0 {
			t.Errorf("%s: %+v, want 4 of 4 files (docs and 3 in it), nothing left", d, s)
		}
	}

	// What b has left before its pass: the new file's bytes.
	write(t, a, "big.bin", randomBytes(1<<20, 1))
	once(t, fa)
	fb.mu.Lock()
	ig, err := loadIgnore(b)
	if err != nil {
		t.Fatal(err)
	}
	local, err := scan(b, ig, fb.log, false)
	if err != nil {
		t.Fatal(err)
	}
	left := fb.statusOf(fb.records(ig), local)
	fb.mu.Unlock()
	if left.Files != 4 || left.Total != 5 || left.Left != 1<<20 {
		t.Errorf("b before its pass: %+v, want 4 of 5 files, 1 MiB left", left)
	}

	// A path b cannot sync: a link (b does not sync links) where the room
	// has a file.
	if err := os.Symlink("elsewhere", filepath.Join(b, "clash.txt")); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	write(t, a, "clash.txt", []byte("a's"))
	once(t, fa)
	fb.Once(t.Context()) // fails: that is the point
	st = wait("b failing", func(s map[string]Status) bool { return s["b"].State == "failing" })
	if s := st["b"]; s.Failed != 1 || !strings.Contains(s.Error, "clash.txt") || s.Files != 5 || s.Total != 6 || s.Left != 3 {
		t.Errorf("b: %+v, want clash.txt failing, 5 of 6 files and its 3 bytes left", s)
	}
}
