//go:build !js

package main

import (
	"os"
	"os/exec"
	"slices"
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

// browserDeps is every package the browser bundle may link, apart from
// the runtime's and the standard library's internal ones and those
// internal to a listed third-party package (this module's own internal
// packages are listed): a new one fails TestDeps_allowList, so that
// growing the bundle is a decision (issue 20.5).
var browserDeps = []string{
	"unsafe", "runtime", "errors", "sync", "sync/atomic", "syscall", "syscall/js",
	"time", "context", "cmp", "iter", "maps", "slices", "sort", "math", "math/bits", "math/rand/v2",
	"unicode", "unicode/utf8", "strconv", "strings", "bytes", "bufio", "reflect",
	"io", "io/fs", "path", "os", "fmt", "log", "encoding", "encoding/binary",
	"github.com/vmihailenco/msgpack/v5", "github.com/vmihailenco/msgpack/v5/msgpcode",
	"github.com/vmihailenco/tagparser/v2",
	"github.com/synkhq/synk/protocol", "github.com/synkhq/synk/client", "github.com/synkhq/synk/wasm",
	"github.com/synkhq/synk/internal/bridge", // the worker's event batches: 18.6 KB of code (make wasm-size)
	"github.com/synkhq/synk/internal/mpw",    // msgpack writers shared by protocol and the bridge: 6.8 KB of code
}

// TestDeps_allowList: the browser bundle links only browserDeps.
func TestDeps_allowList(t *testing.T) {
	t.Parallel()
	for _, dep := range jsDeps(t, ".") {
		internal := strings.HasPrefix(dep, "internal/") || strings.Contains(dep, "/internal/") || strings.HasSuffix(dep, "/internal")
		if strings.HasPrefix(dep, "github.com/synkhq/synk/") {
			internal = false // ours are listed
		}
		if !internal && !slices.Contains(browserDeps, dep) {
			t.Errorf("synk.wasm now links %s: if that is meant, add it to browserDeps with the size it costs (make wasm-size)", dep)
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

// jsDeps lists what pkg links when built for js/wasm, by the toolchain
// that make builds the bundle with (SYNK_WASM_TOOLCHAIN), when given.
func jsDeps(t *testing.T, pkg string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", pkg)
	cmd.Env = append(cmd.Environ(), "GOOS=js", "GOARCH=wasm")
	if tc := os.Getenv("SYNK_WASM_TOOLCHAIN"); tc != "" {
		cmd.Env = append(cmd.Env, "GOTOOLCHAIN="+tc)
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	return strings.Fields(string(out))
}
