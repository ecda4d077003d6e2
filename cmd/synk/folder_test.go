package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFolder_cli: "synk folder DIR --room R --server ws://… --once" on two
// directories makes them equal.
func TestFolder_cli(t *testing.T) {
	t.Parallel()
	addr := startServe(t)
	a, b := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(a, "hello.txt"), []byte("hi"), 0o644)
	for _, dir := range []string{a, b} {
		var out bytes.Buffer
		if err := run(t.Context(), []string{"folder", dir, "--room", "photos", "--server", "ws://" + addr, "--once", "--log-level", "warn"}, &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "synced "+dir) {
			t.Errorf("output %q", out.String())
		}
	}
	if got, err := os.ReadFile(filepath.Join(b, "hello.txt")); err != nil || string(got) != "hi" {
		t.Fatalf("b/hello.txt = %q, %v", got, err)
	}
	for _, args := range [][]string{
		{"folder", a},
		{"folder", a, "-room", "r"},
		{"folder", "-room", "r", "-server", "ws://" + addr},
		{"folder", a, "-room", "r", "-server", "ws://" + addr, "-progress", "sometimes"},
		{"folder", a, "-room", "bad room", "-server", "ws://" + addr, "-once"},
	} {
		if err := run(t.Context(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}
