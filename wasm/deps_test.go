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
	cmd := exec.Command("go", "list", "-deps", ".")
	cmd.Env = append(cmd.Environ(), "GOOS=js", "GOARCH=wasm")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	bad := map[string]string{
		"net/http":                      "bloat: the browser has its own WebSocket",
		"net":                           "bloat",
		"crypto/tls":                    "bloat",
		"testing":                       "test code in the bundle",
		"github.com/coder/websocket":    "the js transport replaces it in the browser",
		"github.com/synkhq/synk/server": "the server is not for browsers",
	}
	for _, dep := range strings.Fields(string(out)) {
		if why, ok := bad[dep]; ok {
			t.Errorf("synk.wasm depends on %s: %s", dep, why)
		}
	}
}
