package main

import (
	"bytes"
	"context"
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
		{"folder", a, "-room", "bad/room", "-server", "ws://" + addr, "-once"},
	} {
		if err := run(t.Context(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}

// TestWebsocketURL: -server takes an address as a person writes it.
func TestWebsocketURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"127.0.0.1:8080":           "ws://127.0.0.1:8080/ws",
		"http://127.0.0.1:8080":    "ws://127.0.0.1:8080/ws",
		"http://host:8080/":        "ws://host:8080/ws",
		"https://sync.example.org": "wss://sync.example.org/ws",
		"ws://host:7700":           "ws://host:7700/ws",
		"ws://host:7700/ws":        "ws://host:7700/ws",
		"wss://host/custom/ws":     "wss://host/custom/ws",
		"ftp://host:21":            "",
		"http://":                  "",
	} {
		got, err := websocketURL(in)
		if got != want || (err != nil) != (want == "") {
			t.Errorf("websocketURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestFolder_missingDir: a folder that does not exist is an error, unless
// -create.
func TestFolder_missingDir(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "nope")
	var out strings.Builder
	err := syncFolder(context.Background(), []string{dir, "-room", "r", "-server", "127.0.0.1:1", "-once"}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("synk folder on a missing directory: %v, want an error saying so", err)
	}
}
