//go:build !js

package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps pins what the browser bundle may link: net/http alone would add
// about 425 KB of brotli to synk.wasm.
func TestDeps(t *testing.T) {
	t.Parallel()
	bad := map[string]string{
		"net/http":                      "bloat: the browser has its own WebSocket",
		"net":                           "bloat",
		"crypto/tls":                    "bloat",
		"testing":                       "test code in the bundle",
		"github.com/coder/websocket":    "the js transport replaces it in the browser",
		"github.com/synkhq/synk/server": "the server is not for browsers",
	}
	for _, dep := range jsDeps(t, ".") {
		if why, ok := bad[dep]; ok {
			t.Errorf("synk.wasm depends on %s: %s", dep, why)
		}
		if strings.HasPrefix(dep, "github.com/nats-io/") {
			t.Errorf("synk.wasm depends on %s: no cluster in the browser", dep)
		}
	}
}

// TestDeps_edge: the edge worker (the server in a Durable Object, alone)
// links no NATS client: Options.NATS is typed so that it need not (issue
// 18.3: 61 KB of brotli).
func TestDeps_edge(t *testing.T) {
	t.Parallel()
	for _, dep := range jsDeps(t, "./edge") {
		if strings.HasPrefix(dep, "github.com/nats-io/") {
			t.Errorf("the edge worker depends on %s: a room there is one Durable Object, with no cluster", dep)
		}
	}
}

// jsDeps lists what pkg links when built for js/wasm.
func jsDeps(t *testing.T, pkg string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", pkg)
	cmd.Env = append(cmd.Environ(), "GOOS=js", "GOARCH=wasm")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	return strings.Fields(string(out))
}
