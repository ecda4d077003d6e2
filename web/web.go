// Package web holds the browser side of Synk — the synk.js module, its
// TypeScript definitions, the wasm client and the demo pages — embedded in
// the synk binary, and the handler that serves them.
//
// synk.wasm, wasm_exec.js and the .br/.gz variants are built into static/
// by `make wasm`; a binary built without them (a plain `go build` or
// `go install`) serves the pages and answers 404 for the bundle with
// [NoClient] as its JSON error, which synk.js and the pages show.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// NoClient says why a binary has no browser client, and what to do.
const NoClient = "this synk binary was built without the browser client (web/static/synk.wasm): " +
	"build it with `make build`, or run `make wasm` before `go build ./cmd/synk`"

// HasClient reports whether the binary carries the browser client:
// synk.wasm and the wasm_exec.js of the toolchain that built it.
func HasClient() bool {
	for _, name := range clientFiles {
		if _, err := fs.Stat(static, "static/"+name); err != nil {
			return false
		}
	}
	return true
}

// clientFiles are the browser client's files that `make wasm` builds.
var clientFiles = []string{"synk.wasm", "wasm_exec.js"}

// pages maps clean URLs to their files.
var pages = map[string]string{"/": "index.html", "/observer": "observer.html", "/vr": "vr.html", "/three": "three.html", "/favicon.ico": "favicon.svg"}

// Handler serves the embedded files. It sends a pre-compressed variant
// (.br, then .gz) to browsers that accept it, WebAssembly as
// application/wasm, an ETag on everything with Cache-Control no-cache (so
// browsers revalidate and get 304 until a new build), and allows any
// origin to load the files, so that other sites can embed the client.
//
// The client's large files are also served under names that carry a hash
// of their content (synk.<hash>.wasm, wasm_exec.<hash>.js), cached for a
// year as immutable, and synk-worker.js and synk.js are served naming
// them: a returning visitor loads them from its cache without asking the
// server.
func Handler() http.Handler {
	root, err := fs.Sub(static, "static")
	if err != nil {
		panic("bug: static directory missing from the embed: " + err.Error())
	}
	return handlerFor(root)
}

func handlerFor(root fs.FS) *handler {
	h := &handler{files: make(map[string]*file)}
	_ = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		h.files[p] = &file{data: b, etag: etag(b)}
		return nil
	})
	h.hashNames()
	return h
}

func etag(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}

// rewrites are the lines of the scripts that name the client's files,
// which hashNames rewrites, in order: the worker loads both, synk.js
// compiles synk.wasm while the worker starts, and the demo page's preload
// snippet does both earlier still.
var rewrites = []struct{ script, name, line string }{
	{"synk-worker.js", "synk.wasm", `const wasmFile = "synk.wasm";`},
	{"synk-worker.js", "wasm_exec.js", `const execFile = "wasm_exec.js";`},
	{"synk.js", "synk.wasm", `const wasmFile = "synk.wasm";`},
	{"index.html", "synk.wasm", `var wasmFile = "synk.wasm";`}, // the preload snippet
}

// hashNames adds the content-hashed names of the client's files, and
// rewrites synk-worker.js and synk.js to load them. Without the client (a
// binary built without make wasm) it changes nothing, and the scripts ask
// for the plain names, which answer why they are missing.
func (h *handler) hashNames() {
	if slices.ContainsFunc(clientFiles, func(n string) bool { return h.files[n] == nil }) {
		return
	}
	hashed := make(map[string]string, len(clientFiles))
	for _, name := range clientFiles {
		f := h.files[name]
		ext := path.Ext(name)
		hashed[name] = strings.TrimSuffix(name, ext) + "." + strings.Trim(f.etag, `"`) + ext
		h.files[hashed[name]] = &file{data: f.data, etag: f.etag, immutable: true}
		for _, enc := range []string{".br", ".gz"} {
			if v := h.files[name+enc]; v != nil {
				h.files[hashed[name]+enc] = v
			}
		}
	}
	src := make(map[string]string)
	for _, rw := range rewrites {
		f := h.files[rw.script]
		if f == nil {
			continue
		}
		text, ok := src[rw.script]
		if !ok {
			text = string(f.data)
		}
		if !strings.Contains(text, rw.line) {
			panic("bug: " + rw.script + " has no line " + rw.line + " for the server to rewrite")
		}
		src[rw.script] = strings.Replace(text, rw.line, strings.Replace(rw.line, rw.name, hashed[rw.name], 1), 1)
	}
	for script, text := range src {
		// The build's compressed copies are of the plain script: the
		// rewritten one is gzipped here (a few KB, once at start).
		delete(h.files, script+".br")
		h.files[script] = &file{data: []byte(text), etag: etag([]byte(text))}
		h.files[script+".gz"] = &file{data: gzipped([]byte(text))}
	}
}

// gzipped compresses b at the best level.
func gzipped(b []byte) []byte {
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.BestCompression) // a valid level: no error
	_, _ = zw.Write(b)                                       // a bytes.Buffer does not fail
	_ = zw.Close()
	return out.Bytes()
}

type handler struct{ files map[string]*file }

type file struct {
	data      []byte
	etag      string
	immutable bool // a content-hashed name: cache for a year
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name, ok := pages[r.URL.Path]
	if !ok {
		name = strings.TrimPrefix(path.Clean(r.URL.Path), "/")
	}
	f := h.files[name]
	if f == nil && slices.Contains(clientFiles, name) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.WriteHeader(http.StatusNotFound)
		msg, _ := json.Marshal(NoClient)
		fmt.Fprintf(w, `{"error":{"code":216,"name":"Unsupported","message":%s}}`+"\n", msg)
		return
	}
	if f == nil || strings.HasSuffix(name, ".br") || strings.HasSuffix(name, ".gz") {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	ctype := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	case ".wasm":
		ctype = "application/wasm"
	case ".ts": // not video/mp2t
		ctype = "text/plain; charset=utf-8"
	}
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	hd.Set("Content-Type", ctype)
	if f.immutable {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	hd.Set("Vary", "Accept-Encoding")
	hd.Set("Access-Control-Allow-Origin", "*")
	hd.Set("Access-Control-Expose-Headers", "Date") // synk-naf.js sets its clock by it
	hd.Set("X-Content-Type-Options", "nosniff")
	accept := r.Header.Get("Accept-Encoding")
	for _, enc := range []struct{ ext, name string }{{".br", "br"}, {".gz", "gzip"}} {
		if v := h.files[name+enc.ext]; v != nil && acceptsEncoding(accept, enc.name) {
			hd.Set("Content-Encoding", enc.name)
			f = &file{data: v.data, etag: strings.TrimSuffix(f.etag, `"`) + "-" + enc.name + `"`, immutable: f.immutable}
			break
		}
	}
	hd.Set("ETag", f.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.data))
}

// acceptsEncoding reports whether an Accept-Encoding header allows enc
// (listed, with no q or a q above 0).
func acceptsEncoding(header, enc string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), enc) {
			continue
		}
		q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
		if !ok {
			return true
		}
		f, err := strconv.ParseFloat(q, 64)
		return err == nil && f > 0
	}
	return false
}
