package web

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

func get(t *testing.T, h http.Handler, path string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHandler(t *testing.T) {
	t.Parallel()
	h := Handler()
	tests := []struct {
		path, accept    string
		status          int
		ctype, encoding string
	}{
		{"/", "", 200, "text/html; charset=utf-8", ""},
		{"/observer", "", 200, "text/html; charset=utf-8", ""},
		{"/synk.js", "", 200, "text/javascript; charset=utf-8", ""},
		{"/synk.d.ts", "", 200, "text/plain; charset=utf-8", ""},
		{"/favicon.ico", "", 200, "image/svg+xml", ""},
		{"/nope.js", "", 404, "", ""},
		{"/synk.js.br", "br", 404, "", ""},
		{"/../web.go", "", 404, "", ""},
	}
	for _, tt := range tests {
		rec := get(t, h, tt.path, map[string]string{"Accept-Encoding": tt.accept})
		if rec.Code != tt.status {
			t.Errorf("GET %s = %d, want %d", tt.path, rec.Code, tt.status)
			continue
		}
		if tt.ctype != "" && rec.Header().Get("Content-Type") != tt.ctype {
			t.Errorf("GET %s Content-Type = %q, want %q", tt.path, rec.Header().Get("Content-Type"), tt.ctype)
		}
		if tt.status == 200 && (rec.Header().Get("ETag") == "" || rec.Header().Get("Access-Control-Allow-Origin") != "*") {
			t.Errorf("GET %s lacks an ETag or CORS header: %v", tt.path, rec.Header())
		}
	}
}

// TestHandler_precompressed needs `make wasm` to have run; without the
// bundle it is skipped (the browser tests, which build it, cover it too).
func TestHandler_precompressed(t *testing.T) {
	t.Parallel()
	h := Handler().(*handler)
	if h.files["synk.wasm"] == nil || h.files["synk.wasm.br"] == nil {
		t.Skip("synk.wasm not built (make wasm)")
	}
	rec := get(t, h, "/synk.wasm", map[string]string{"Accept-Encoding": "gzip, br"})
	if rec.Header().Get("Content-Type") != "application/wasm" || rec.Header().Get("Content-Encoding") != "br" {
		t.Fatalf("headers = %v, want application/wasm in br", rec.Header())
	}
	if rec.Body.Len() != len(h.files["synk.wasm.br"].data) {
		t.Fatal("body is not the brotli variant")
	}
	etag := rec.Header().Get("ETag")
	if rec := get(t, h, "/synk.wasm", map[string]string{"Accept-Encoding": "gzip", "If-None-Match": etag}); rec.Code != 200 || rec.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip-only client: %d %v, want 200 in gzip (its ETag differs)", rec.Code, rec.Header())
	}
	if rec := get(t, h, "/synk.wasm", map[string]string{"Accept-Encoding": "br", "If-None-Match": etag}); rec.Code != http.StatusNotModified {
		t.Fatalf("revalidation = %d, want 304", rec.Code)
	}
	if rec := get(t, h, "/synk.wasm", map[string]string{"Accept-Encoding": "br;q=0, gzip;q=0"}); rec.Header().Get("Content-Encoding") != "" {
		t.Fatalf("q=0 refused encodings, got %q", rec.Header().Get("Content-Encoding"))
	}
}

// TestHandler_noClient: issue 17.4. A binary built without `make wasm`
// answers the bundle's files with a JSON 404 that says how to get them,
// readable by pages of any origin; HasClient tells the binary at start.
func TestHandler_noClient(t *testing.T) {
	t.Parallel()
	h := handlerFor(fstest.MapFS{"index.html": {Data: []byte("<p>")}, "synk.js": {Data: []byte("export {}")}})
	for _, p := range []string{"/synk.wasm", "/wasm_exec.js"} {
		rec := get(t, h, p, nil)
		var body struct {
			Error struct {
				Code    int    `json:"code"`
				Name    string `json:"name"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != 404 || body.Error.Name != "Unsupported" ||
			!strings.Contains(body.Error.Message, "make build") || rec.Header().Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("GET %s = %d %v %s, want a JSON 404 saying to run make build", p, rec.Code, rec.Header(), rec.Body)
		}
	}
	if rec := get(t, h, "/", nil); rec.Code != 200 {
		t.Errorf("GET / = %d", rec.Code)
	}
	if _, err := os.Stat("static/synk.wasm"); (err == nil) != HasClient() {
		t.Errorf("HasClient() = %v, but static/synk.wasm: %v", HasClient(), err)
	}
}

// TestHandler_hashedNames: issue 20.3. The client's files are also served
// under content-hashed names, cached as immutable, and the worker script
// the server sends loads those.
func TestHandler_hashedNames(t *testing.T) {
	t.Parallel()
	worker := "const here = 1;\nconst wasmFile = \"synk.wasm\";\nconst execFile = \"wasm_exec.js\";\nfetch(wasmFile);\n"
	page := "const base = 1;\nconst wasmFile = \"synk.wasm\";\nWebAssembly.compileStreaming(fetch(wasmFile));\n"
	fs := fstest.MapFS{
		"synk.wasm":         {Data: []byte("\x00asm wasm")},
		"synk.wasm.br":      {Data: []byte("brotli of it")},
		"wasm_exec.js":      {Data: []byte("globalThis.Go = class {};")},
		"synk-worker.js":    {Data: []byte(worker)},
		"synk-worker.js.br": {Data: []byte("stale brotli of the worker")},
		"synk.js":           {Data: []byte(page)},
		"synk.js.gz":        {Data: []byte("stale gzip of synk.js")},
	}
	h := handlerFor(fs)
	wasmName := "synk." + strings.Trim(etag(fs["synk.wasm"].Data), `"`) + ".wasm"
	execName := "wasm_exec." + strings.Trim(etag(fs["wasm_exec.js"].Data), `"`) + ".js"

	rec := get(t, h, "/synk-worker.js", map[string]string{"Accept-Encoding": "br"})
	want := strings.NewReplacer(`"synk.wasm"`, `"`+wasmName+`"`, `"wasm_exec.js"`, `"`+execName+`"`).Replace(worker)
	if rec.Body.String() != want || rec.Header().Get("Content-Encoding") != "" || rec.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("worker = %q %v, want %q uncompressed and revalidated", rec.Body, rec.Header(), want)
	}
	// synk.js compiles the client while the worker starts: it names the
	// same file, and goes gzipped from the rewritten text.
	want = strings.ReplaceAll(page, `"synk.wasm"`, `"`+wasmName+`"`)
	for _, enc := range []string{"", "br", "gzip"} {
		rec := get(t, h, "/synk.js", map[string]string{"Accept-Encoding": enc})
		body := rec.Body.Bytes()
		if enc == "gzip" {
			zr, err := gzip.NewReader(rec.Body)
			if err != nil {
				t.Fatalf("synk.js (gzip): %v", err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				t.Fatalf("synk.js (gzip): %v", err)
			}
		}
		wantEnc := map[string]string{"br": "", "gzip": "gzip"}[enc]
		if string(body) != want || rec.Header().Get("Content-Encoding") != wantEnc || rec.Header().Get("Cache-Control") != "no-cache" {
			t.Errorf("synk.js (%q) = %q %v, want %q, encoding %q, revalidated", enc, body, rec.Header(), want, wantEnc)
		}
	}
	for _, c := range []struct{ path, enc, body, ctype string }{
		{"/" + wasmName, "", "\x00asm wasm", "application/wasm"},
		{"/" + wasmName, "br", "brotli of it", "application/wasm"},
		{"/" + execName, "gzip", "globalThis.Go = class {};", "text/javascript; charset=utf-8"},
	} {
		rec := get(t, h, c.path, map[string]string{"Accept-Encoding": c.enc})
		if rec.Code != 200 || rec.Body.String() != c.body || rec.Header().Get("Content-Type") != c.ctype ||
			rec.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s (%s) = %d %q %v", c.path, c.enc, rec.Code, rec.Body, rec.Header())
		}
	}
	if rec := get(t, h, "/synk.wasm", nil); rec.Code != 200 || rec.Header().Get("Cache-Control") != "no-cache" {
		t.Errorf("GET /synk.wasm = %d %v, want the plain name revalidated", rec.Code, rec.Header())
	}
	if rec := get(t, h, "/synk.0123456789abcdef.wasm", nil); rec.Code != 404 {
		t.Errorf("GET another hash = %d, want 404", rec.Code)
	}

	// A worker without the lines to rewrite is a bug found at start.
	fs["synk-worker.js"] = &fstest.MapFile{Data: []byte("fetch('synk.wasm')")}
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "wasmFile") {
				t.Errorf("a worker naming no files: recover() = %v, want a panic naming the line", r)
			}
		}()
		handlerFor(fs)
	}()
	// The embedded files hold together (this runs on the real worker).
	Handler()
}
