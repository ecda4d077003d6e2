package server

import (
	"net/http"
	"strings"
	"testing"
)

// TestPost_asTheSeed: supersynk's HTTP API. A POST replaces the poster's
// data, as the seed stores the whole body each time: keys left out are
// gone, and 64 different keys over time are no limit. "d":[] is a member
// with no data; a body without "d", or with "d":null, is a 400.
func TestPost_asTheSeed(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, nil)
	if resp, body := post(t, hs, "/synk/r", `{"c":"a","d":[{"k":"x","v":1},{"k":"y","v":2}]}`); resp.StatusCode != 200 {
		t.Fatalf("post: %d %s", resp.StatusCode, body)
	}
	if resp, body := post(t, hs, "/synk/r", `{"c":"a","d":[{"k":"y","v":3}]}`); resp.StatusCode != 200 {
		t.Fatalf("post: %d %s", resp.StatusCode, body)
	}
	if _, body := get(t, hs.URL+"/synk/r"); body != `[{"c":"a","d":[{"k":"y","v":3}]}]`+"\n" {
		t.Fatalf("GET after a second POST = %s, want only its data", body)
	}
	for i := range 70 { // a new key each time: never more than one held
		if resp, body := post(t, hs, "/synk/r", `{"c":"a","d":[{"k":"k`+string(rune('a'+i%26))+string(rune('a'+i/26))+`","v":1}]}`); resp.StatusCode != 200 {
			t.Fatalf("post %d: %d %s", i, resp.StatusCode, body)
		}
	}
	if resp, body := post(t, hs, "/synk/r", `{"c":"a","d":[]}`); resp.StatusCode != 200 || body != `[]`+"\n" {
		t.Fatalf(`"d":[] answered %d %s`, resp.StatusCode, body)
	}
	if _, body := get(t, hs.URL+"/synk/r"); body != `[{"c":"a","d":[]}]`+"\n" {
		t.Fatalf(`GET after "d":[] = %s, want the member with no data`, body)
	}
	for _, bad := range []string{`{"c":"a"}`, `{"c":"a","d":null}`} {
		if resp, body := post(t, hs, "/synk/r", bad); resp.StatusCode != 400 {
			t.Errorf("POST %s = %d %s, want 400", bad, resp.StatusCode, body)
		}
	}
}

// TestHTTP_cors: a page of an allowed origin (here localhost, allowed by
// default) may call the HTTP API from the browser: the preflight is
// answered and the answers name the origin; another origin's preflight
// is refused, and its answers carry no CORS header.
func TestHTTP_cors(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, nil)
	do := func(method, origin string) *http.Response {
		req, _ := http.NewRequest(method, hs.URL+"/synk/r", strings.NewReader(`{"c":"a","d":[]}`))
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := do("OPTIONS", "http://localhost:3000"); resp.StatusCode != 204 ||
		resp.Header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Fatalf("preflight from localhost: %d %v", resp.StatusCode, resp.Header)
	}
	if resp := do("POST", "http://localhost:3000"); resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" {
		t.Fatalf("POST from localhost: %d %v", resp.StatusCode, resp.Header)
	}
	if resp := do("OPTIONS", "https://evil.example"); resp.StatusCode != 403 {
		t.Fatalf("preflight from another origin: %d", resp.StatusCode)
	}
	if resp := do("POST", "https://evil.example"); resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("an answer to another origin carries %v", resp.Header)
	}
}
