package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/synkhq/synk/client"
	"github.com/synkhq/synk/internal/folder"
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

// TestFolder_statusCLI: "synk folder -status" prints each device's status
// from the room, without a directory.
func TestFolder_statusCLI(t *testing.T) {
	t.Parallel()
	addr := startServe(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hi"), 0o644)
	f, err := folder.Open(t.Context(), folder.Options{Dir: dir, Room: "photos", Server: "ws://" + addr + "/ws", Device: "laptop",
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Once(t.Context()); err != nil {
		t.Fatal(err)
	}
	// A member whose "folder" is not a status: named, not fatal.
	prank, err := client.Dial(t.Context(), "ws://"+addr+"/ws", &client.DialOptions{Client: "prank"})
	if err != nil {
		t.Fatal(err)
	}
	defer prank.Close()
	if _, err := prank.Join(t.Context(), "photos", &client.JoinOptions{Presence: map[string]any{folder.StatusKey: "all good"}}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(t.Context(), []string{"folder", "-status", "-room", "photos", "-server", addr}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "DEVICE") || !strings.Contains(lines[1], "laptop") ||
		!strings.Contains(lines[1], "synced") || !strings.Contains(lines[1], "1/1") || !strings.Contains(lines[2], "unreadable: device prank") {
		t.Errorf("output:\n%s", out.String())
	}
	out.Reset()
	if err := run(t.Context(), []string{"folder", "-status", "-room", "empty", "-server", addr}, &out, io.Discard); err != nil ||
		!strings.Contains(out.String(), "no device") {
		t.Errorf("an empty room: %q, %v", out.String(), err)
	}
}
