package web

import (
	"encoding/json"
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
