package folder

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func symlinks(o *Options) { o.Symlinks = true }

// link makes a symbolic link at root/p to target, or skips the test where
// links cannot be made.
func link(t *testing.T, root, p, target string) {
	t.Helper()
	full := filepath.Join(root, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, full); err != nil {
		t.Skip("no symbolic links here:", err)
	}
}

// paths returns the paths the room holds records for.
func paths(f *Folder) map[string]string {
	out := make(map[string]string)
	for _, o := range f.room.Objects() {
		var p string
		o.Get("p", &p)
		out[p] = o.Kind
	}
	return out
}

// TestFolder_symlinks: with Symlinks, a link inside the folder is synced
// as a link (a change of its target, its removal and a file it becomes
// too), never followed: a link to a directory does not bring the
// directory's files twice. A link whose target is absolute or climbs out
// of the folder stays on its device. A device without Symlinks neither
// makes the room's links nor sends its own.
func TestFolder_symlinks(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	write(t, a, "data/x.txt", []byte("x"))
	write(t, a, "data/y.txt", []byte("y"))
	link(t, a, "cur", "data/x.txt")
	link(t, a, "all", "data")
	link(t, a, "data/up", "../data/y.txt")
	link(t, a, "abs", "/etc")
	link(t, a, "out", "../outside")
	link(t, c, "mine", "x")
	fa, fb := device(t, h, a, "a", symlinks), device(t, h, b, "b", symlinks)
	fc := device(t, h, c, "c")
	once(t, fa, fb, fc)

	got := paths(fa)
	for p, kind := range map[string]string{"cur": KindLink, "all": KindLink, "data/up": KindLink, "data": KindDir, "data/x.txt": KindFile} {
		if got[p] != kind {
			t.Errorf("the room holds %s as %q, want %q", p, got[p], kind)
		}
	}
	for _, p := range []string{"abs", "out", "all/x.txt", "mine"} {
		if _, ok := got[p]; ok {
			t.Errorf("the room holds %s", p)
		}
	}
	want := map[string]string{"cur": "link data/x.txt", "all": "link data", "data/up": "link ../data/y.txt"}
	tb := tree(t, b)
	for p, w := range want {
		if tb[p] != w {
			t.Errorf("b's %s = %q, want %q", p, tb[p], w)
		}
	}
	if _, ok := tb["abs"]; ok {
		t.Error("b has a's absolute link")
	}
	if tb["data/x.txt"] != tree(t, a)["data/x.txt"] {
		t.Error("b lacks data/x.txt")
	}
	if x, err := os.ReadFile(filepath.Join(b, "all", "x.txt")); err != nil || string(x) != "x" {
		t.Errorf("b/all/x.txt through the link = %q, %v", x, err)
	}
	tc := tree(t, c)
	if _, ok := tc["cur"]; ok {
		t.Error("c, without Symlinks, made the room's link")
	}
	if tc["mine"] != "link x" || tc["data/x.txt"] == "" {
		t.Errorf("c = %v, want its own link left alone and the files", tc)
	}

	// A new target, a removal, a link that becomes a file.
	os.Remove(filepath.Join(a, "cur"))
	link(t, a, "cur", "data/y.txt")
	os.Remove(filepath.Join(a, "all"))
	os.Remove(filepath.Join(a, "data/up"))
	write(t, a, "data/up", []byte("now a file"))
	once(t, fa, fb)
	tb = tree(t, b)
	if tb["cur"] != "link data/y.txt" {
		t.Errorf("b's cur = %q after its target changed", tb["cur"])
	}
	if _, ok := tb["all"]; ok {
		t.Error("b kept the removed link")
	}
	if tb["data/up"] != tree(t, a)["data/up"] || tb["data/x.txt"] == "" {
		t.Errorf("b = %v after the link became a file and the link to data went", tb)
	}
	// And back from b: the file becomes a link again.
	os.Remove(filepath.Join(b, "data/up"))
	link(t, b, "data/up", "x.txt")
	once(t, fb, fa)
	if ta := tree(t, a); ta["data/up"] != "link x.txt" {
		t.Errorf("a's data/up = %q, want b's link", ta["data/up"])
	}
}

// TestFolder_hostileLinks: a room member that writes link records by hand
// gets none made that point out of the folder, and none written through:
// a file record under a link is not written to the link's target.
func TestFolder_hostileLinks(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	a, b, outside := t.TempDir(), t.TempDir(), t.TempDir()
	fa, fb := device(t, h, a, "a", symlinks), device(t, h, b, "b", symlinks)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for p, target := range map[string]string{
		"ssh": "/root/.ssh", "up": "../../../etc", "deep/up": "../../x", "nul": "a\x00b",
		"long": strings.Repeat("a/", maxTarget), "out": outside,
	} {
		r := &record{Path: p, Link: target, Mode: linkMode}
		if _, err := fa.room.Create(ctx, objectID(p), KindLink, Area, r.fields()); err != nil {
			t.Fatal(p, err)
		}
	}
	// A link inside, and a file under it: its target must stay empty.
	write(t, b, "inbox/.keep", nil)
	for _, r := range []*record{{Path: "drop", Link: "inbox", Mode: linkMode}, {Path: "drop/evil.txt", Mode: 0o644, Size: 0, Hash: emptyHash}} {
		if _, err := fa.room.Create(ctx, objectID(r.Path), r.kind(), Area, r.fields()); err != nil {
			t.Fatal(r.Path, err)
		}
	}
	// b's pass may refuse drop/evil.txt (drop is a link by then) or make
	// it before drop: either way nothing reaches inbox.
	fb.Once(ctx)
	fb.Once(ctx)
	tb := tree(t, b)
	if tb["drop"] != "link inbox" {
		t.Errorf("b's drop = %q, want the link the room holds", tb["drop"])
	}
	for _, p := range []string{"ssh", "up", "deep/up", "nul", "long", "out"} {
		if _, ok := tb[p]; ok {
			t.Errorf("b made %s", p)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(b, "inbox")); len(ents) != 1 {
		t.Errorf("written through the link drop: inbox holds %d entries", len(ents))
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("written outside the folder: %v", ents)
	}
}

var emptyHash = sha256.Sum256(nil)
