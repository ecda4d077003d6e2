package folder

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestFolder_versions: with Versions, a file another device replaced or
// deleted is kept in .synk/versions, the newest n of each file; with
// VersionsFor, none older than that; the copies are not synced.
func TestFolder_versions(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	a, b := t.TempDir(), t.TempDir()
	write(t, a, "docs/report.txt", []byte("v1"))
	write(t, a, "other", []byte("o"))
	fa := device(t, h, a, "a")
	fb, err := Open(t.Context(), Options{Dir: b, Room: "photos", Server: h.url, Device: "b", Logger: slog.New(slog.DiscardHandler),
		Versions: 2, VersionsFor: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fb.Close() })
	once(t, fa, fb)
	kept := func(want ...string) {
		t.Helper()
		var got []string
		filepath.WalkDir(filepath.Join(b, versionsDir), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				data, _ := os.ReadFile(p)
				got = append(got, string(data))
			}
			return nil
		})
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("b keeps %q, want %q", got, want)
		}
	}
	kept()
	for _, v := range []string{"v2", "v3", "v4"} {
		write(t, a, "docs/report.txt", []byte(v))
		once(t, fa, fb)
	}
	kept("v2", "v3") // v1 was the third oldest
	if data, _ := os.ReadFile(filepath.Join(b, "docs/report.txt")); string(data) != "v4" {
		t.Fatalf("b has %q, want v4", data)
	}
	os.Remove(filepath.Join(a, "docs/report.txt"))
	once(t, fa, fb)
	kept("v3", "v4")
	if _, err := os.Stat(filepath.Join(b, "docs/report.txt")); !os.IsNotExist(err) {
		t.Fatalf("the deleted file is still on b: %v", err)
	}
	// A copy older than a day goes at the next pass.
	old := filepath.Join(b, versionName("other", time.Now().Add(-25*time.Hour)))
	write(t, b, filepath.ToSlash(mustRel(t, b, old)), []byte("old"))
	once(t, fb)
	kept("v3", "v4")
	// a never got b's copies.
	sameTrees(t, a, b)
	if _, err := os.Stat(filepath.Join(a, versionsDir)); !os.IsNotExist(err) {
		t.Fatalf("a has b's copies: %v", err)
	}
}

func mustRel(t *testing.T, root, p string) string {
	t.Helper()
	rel, err := filepath.Rel(root, p)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

// TestParseVersion: names round-trip, a second copy's suffix too; other
// names are not copies.
func TestParseVersion(t *testing.T) {
	at := time.Date(2026, 1, 2, 15, 4, 5, 6e6, time.UTC)
	for _, p := range []string{"docs/report.txt", ".bashrc", "a/b/c", "x.tar.gz"} {
		name := versionName(p, at)
		for _, n := range []string{name, name + "~3"} {
			of, got, ok := parseVersion(n[len(versionsDir)+1:])
			if !ok || of != p || !got.Equal(at) {
				t.Errorf("%s: got %q %v %v, want %q %v", n, of, got, ok, p, at)
			}
		}
	}
	for _, n := range []string{"report.txt", "report~2026.txt", "~"} {
		if _, _, ok := parseVersion(n); ok {
			t.Errorf("%q read as a copy", n)
		}
	}
}
