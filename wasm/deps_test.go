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
		"net/http":                          "bloat: the browser has its own WebSocket",
		"net":                               "bloat",
		"crypto/tls":                        "bloat",
		"testing":                           "test code in the bundle",
		"github.com/coder/websocket":        "the js transport replaces it in the browser",
		"github.com/synkhq/synk/server":     "the server is not for browsers",
		"fmt":                               "~85 KB of brotli of reflection-driven formatting: use strconv and internal/wraperr",
		"github.com/vmihailenco/msgpack/v5": "~100 KB of brotli: its init links the whole reflective codec",
		"os":                                "bloat: the browser has no files",
	}
	for _, dep := range jsDeps(t, ".", browserTags) {
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
	"time", "context", "cmp", "iter", "maps", "slices", "math", "math/bits", "math/rand/v2",
	"unicode", "unicode/utf8", "strconv", "strings", "bytes", "io", "encoding/binary",
	"reflect", // imported by encoding/binary; none of its code is linked (make wasm-size)
	"github.com/synkhq/synk/protocol", "github.com/synkhq/synk/client", "github.com/synkhq/synk/wasm",
	"github.com/synkhq/synk/internal/bridge",  // the worker's event batches: 18.4 KB of code (make wasm-size)
	"github.com/synkhq/synk/internal/mpw",     // msgpack reading and writing for protocol, client and bridge: 27.8 KB of code
	"github.com/synkhq/synk/internal/wraperr", // wrapped errors without fmt: 4.2 KB of code
}

// browserTags are the build tags of the browser bundle (make wasm).
const browserTags = "synkbrowser"

// TestDeps_allowList: the browser bundle links only browserDeps.
func TestDeps_allowList(t *testing.T) {
	t.Parallel()
	for _, dep := range jsDeps(t, ".", browserTags) {
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
	for _, dep := range jsDeps(t, "./edge", "") {
		if strings.HasPrefix(dep, "github.com/nats-io/") {
			t.Errorf("the edge worker depends on %s: a room there is one Durable Object, with no cluster", dep)
		}
	}
}

// jsDeps lists what pkg links when built for js/wasm with tags, by the
// toolchain that make builds the bundle with (SYNK_WASM_TOOLCHAIN), when
// given.
func jsDeps(t *testing.T, pkg, tags string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-tags", tags, "-deps", pkg)
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
