//go:build !js

package server

import (
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
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

// TestPost_exactValues: issue 17.2. HTTP readers get a poster's values
// back as posted: 64-bit integers keep their digits, numbers keep their
// spelling, entries and object members their order; websocket members
// get the exact numbers in msgpack. A number JSON cannot carry back, or a
// key given twice, is a 400 rather than a silent null or a lost entry.
func TestPost_exactValues(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, nil)
	ws := dialPeer(t, hs, "sock")
	ws.join("r", false)
	d := `[{"k":"z","v":18446744073709551615},{"k":"big","v":9007199254740993},{"k":"a","v":1.0},` +
		`{"k":"m","v":{"y":1e3,"x":-0.0,"w":[1.50,"\u00e9"]}},{"k":"n","v":-9223372036854775808}]`
	if resp, body := post(t, hs, "/synk/r", `{"c":"a", "d": `+strings.ReplaceAll(d, ",", ", ")+`}`); resp.StatusCode != 200 {
		t.Fatalf("post: %d %s", resp.StatusCode, body)
	}
	if _, body := get(t, hs.URL+"/synk/r"); !strings.Contains(body, `{"c":"a","d":`+d+`}`) {
		t.Fatalf("GET = %s\nwant the entries as posted: %s", body, d)
	}
	if resp, body := post(t, hs, "/synk/r", `{"c":"b","d":[]}`); resp.StatusCode != 200 || !strings.Contains(body, `{"c":"a","d":`+d+`}`) {
		t.Fatalf("another poster got %d %s", resp.StatusCode, body)
	}
	p := expect[*protocol.Presence](ws)
	want := map[string]any{"z": uint64(math.MaxUint64), "big": int64(9007199254740993), "a": 1.0, "n": int64(math.MinInt64)}
	for _, e := range p.Entries {
		if w, ok := want[e.Key]; ok {
			var v any
			if err := msgpack.Unmarshal(e.Value, &v); err != nil || v != w {
				t.Errorf("websocket member got %s = %#v, want %#v", e.Key, v, w)
			}
		}
	}
	for _, bad := range []string{
		`{"c":"a","d":[{"k":"x","v":1e999}]}`,
		`{"c":"a","d":[{"k":"x","v":-1e400}]}`,
		`{"c":"a","d":[{"k":"x","v":1},{"k":"x","v":2}]}`,
	} {
		if resp, body := post(t, hs, "/synk/r", bad); resp.StatusCode != 400 {
			t.Errorf("POST %s = %d %s, want 400", bad, resp.StatusCode, body)
		}
	}
	if _, body := get(t, hs.URL+"/synk/r"); !strings.Contains(body, `{"c":"a","d":`+d+`}`) {
		t.Fatalf("a refused POST changed the data: %s", body)
	}
}

// TestCluster_postedAsPosted: on a cluster, every node's HTTP readers get
// a poster's data as posted, whether the node heard the post as it
// happened, heard it respelled with the same values, or took the room's
// members when it opened the room later.
func TestCluster_postedAsPosted(t *testing.T) {
	t.Parallel()
	hsA, hsB := twoNodes(t)
	watcher := dialPeer(t, hsB, "w")
	watcher.join("r", true)
	d := `[{"k":"z","v":18446744073709551615},{"k":"a","v":1.0}]`
	if resp, body := post(t, hsA, "/synk/r", `{"c":"a","d":`+d+`}`); resp.StatusCode != 200 {
		t.Fatalf("post: %d %s", resp.StatusCode, body)
	}
	awaitPresence(t, watcher, "a", protocol.EventJoin)
	if _, body := get(t, hsB.URL+"/synk/r"); body != `[{"c":"a","d":`+d+`}]`+"\n" {
		t.Fatalf("GET on the other node = %s, want %s", body, d)
	}
	d = `[{"k":"z","v":18446744073709551615},{"k":"a","v":1.00}]` // the same values
	post(t, hsA, "/synk/r", `{"c":"a","d":`+d+`}`)
	post(t, hsA, "/synk/r", `{"c":"marker","d":[]}`) // after a's event, from the same node
	awaitPresence(t, watcher, "marker", protocol.EventJoin)
	if _, body := get(t, hsB.URL+"/synk/r"); !strings.HasPrefix(body, `[{"c":"a","d":`+d+`}`) {
		t.Fatalf("GET on the other node after a respelling = %s, want %s", body, d)
	}

	post(t, hsA, "/synk/later", `{"c":"a","d":`+d+`}`)
	late := dialPeer(t, hsB, "l")
	if j := late.join("later", true); len(j.Members) == 0 { // else it comes once the other node answers
		awaitPresence(t, late, "a", protocol.EventJoin)
	}
	if _, body := get(t, hsB.URL+"/synk/later"); body != `[{"c":"a","d":`+d+`}]`+"\n" {
		t.Fatalf("GET on a node that opened the room later = %s, want %s", body, d)
	}
}

// TestHTTP_utf8Names: issue 17.2. Room names and client ids are any UTF-8
// without control characters or "/", percent-encoded in the path, as the
// seed's Flask routes take them; a refused name's error shows it as it is
// ('é', not 'Ã').
func TestHTTP_utf8Names(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, nil)
	ws := dialPeer(t, hs, "ünïcode ☕")
	ws.join("café ☕", false)
	if resp, body := post(t, hs, "/synk/caf%C3%A9%20%E2%98%95", `{"c":"zoë","d":[{"k":"k","v":1}]}`); resp.StatusCode != 200 ||
		body != `[{"c":"ünïcode ☕","d":[]}]`+"\n" {
		t.Fatalf("POST to a UTF-8 room = %d %s", resp.StatusCode, body)
	}
	if p := expect[*protocol.Presence](ws); p.Client != "zoë" || p.Room != "café ☕" {
		t.Fatalf("the websocket member got %+v", p)
	}
	for _, c := range []struct{ path, body, says string }{
		{"/synk/caf%C3%A9%2Fbar", `{"c":"a","d":[]}`, `room "café/bar" has a "/"`},
		{"/synk/r", `{"c":"zoë/x","d":[]}`, `client id "zoë/x" has a "/"`},
		{"/synk/caf%C3%A9%09", `{"c":"a","d":[]}`, `room "café\t" has a control character (U+0009)`},
	} {
		resp, body := post(t, hs, c.path, c.body)
		var e map[string]httpError
		json.Unmarshal([]byte(body), &e)
		if resp.StatusCode != 400 || e["error"].Code != protocol.CodeBadName || !strings.Contains(e["error"].Message, c.says) {
			t.Errorf("POST %s %s = %d %s, want 400 saying %s", c.path, c.body, resp.StatusCode, body, c.says)
		}
	}
}

// TestCluster_anyRoomName: a room whose name holds what a NATS subject
// cannot (spaces, dots, wildcards) is shared by the nodes like any other.
func TestCluster_anyRoomName(t *testing.T) {
	t.Parallel()
	hsA, hsB := twoNodes(t)
	const room = "a..b *> ☕"
	watcher := dialPeer(t, hsB, "w")
	watcher.join(room, true)
	ada := dialPeer(t, hsA, "ada")
	ada.join(room, false, entry("x", 1))
	if p := awaitPresence(t, watcher, "ada", protocol.EventJoin); p.Room != room {
		t.Fatalf("the other node's member got %+v", p)
	}
	other := dialPeer(t, hsA, "other")
	other.join("a..b", false) // a prefix of the name's subject before: not the same room
	ada.send(&protocol.Set{Room: room, Entries: []protocol.Entry{entry("x", 2)}})
	if p := awaitPresence(t, watcher, "ada", protocol.EventChange); p.Room != room {
		t.Fatalf("the other node's member got %+v", p)
	}
}

// TestPost_postedTextCounts: the text an HTTP poster's data is kept as,
// for HTTP readers, counts toward the presence budgets with its values: a
// poster cannot hold twice what the budget says by posting JSON.
func TestPost_postedTextCounts(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, &Options{MaxRoomPresence: 4500})
	body := func(n int) string { return `{"c":"a","d":[{"k":"v","v":"` + strings.Repeat("x", n) + `"}]}` }
	if resp, b := post(t, hs, "/synk/r", body(1000)); resp.StatusCode != 200 {
		t.Fatalf("1,000 bytes: %d %s", resp.StatusCode, b)
	}
	// 3,000 bytes of value fit the budget alone, not with their text.
	if resp, b := post(t, hs, "/synk/r", body(3000)); resp.StatusCode != 429 || !strings.Contains(b, "TooMany") {
		t.Fatalf("3,000 bytes kept twice in a 4,500-byte room: %d %s, want 429 TooMany", resp.StatusCode, b)
	}
	if _, b := get(t, hs.URL+"/synk/r"); !strings.Contains(b, strings.Repeat("x", 1000)+`"`) || strings.Contains(b, strings.Repeat("x", 1001)) {
		t.Fatalf("a refused POST changed the data: %.80s…", b)
	}
}
