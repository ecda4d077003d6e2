//go:build !js

package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/synkhq/synk/protocol"
)

func do(t *testing.T, hs *httptest.Server, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, hs.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, b := roundTrip(t, hs.Client(), req)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type = %q, want application/json", method, path, ct)
	}
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// roundTrip sends req and reads the whole answer.
func roundTrip(t *testing.T, c *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestHTTP_seedAPI(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, nil)
	code, body := do(t, hs, "POST", "/synk/vr", `{"c":"ada","d":[{"k":"head","v":"UYTFUYTDI"}]}`)
	if code != 200 || body != `[]` {
		t.Fatalf("first POST = %d %s, want 200 []", code, body)
	}
	code, body = do(t, hs, "POST", "/synk/vr", `{"c":"joe","d":[{"k":"head","v":"OIHIBEZAWREZ"}]}`)
	if want := `[{"c":"ada","d":[{"k":"head","v":"UYTFUYTDI"}]}]`; code != 200 || body != want {
		t.Fatalf("second POST = %d %s, want 200 %s", code, body, want)
	}
	code, body = do(t, hs, "GET", "/synk/vr", "")
	if want := `[{"c":"ada","d":[{"k":"head","v":"UYTFUYTDI"}]},{"c":"joe","d":[{"k":"head","v":"OIHIBEZAWREZ"}]}]`; code != 200 || body != want {
		t.Fatalf("GET = %d %s, want 200 %s", code, body, want)
	}
	code, body = do(t, hs, "GET", "/synk", "")
	if want := `[{"room":"vr","members":2,"observers":0}]`; code != 200 || body != want {
		t.Fatalf("GET /synk = %d %s, want %s", code, body, want)
	}
	code, body = do(t, hs, "GET", "/synk/nobody", "")
	if code != 200 || body != `[]` {
		t.Fatalf("GET unknown room = %d %s, want 200 []", code, body)
	}
}

func TestHTTP_badInput(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, &Options{MaxFrame: 512})
	tests := []struct {
		name, path, body string
		status           int
		code             protocol.Code
		says             string
	}{
		{"invalid_json", "/synk/r", `{"c":`, 400, protocol.CodeBadRequest, "not a JSON object"},
		{"missing_c", "/synk/r", `{"d":[]}`, 400, protocol.CodeBadRequest, `"c"`},
		{"empty_c", "/synk/r", `{"c":""}`, 400, protocol.CodeBadRequest, `"c" must not be empty`},
		{"c_not_string", "/synk/r", `{"c":5}`, 400, protocol.CodeBadRequest, `"c" must be a string`},
		{"d_not_array", "/synk/r", `{"c":"a","d":{}}`, 400, protocol.CodeBadRequest, `"d" must be an array`},
		{"item_not_object", "/synk/r", `{"c":"a","d":[1]}`, 400, protocol.CodeBadRequest, `d[0] must be an object`},
		{"k_not_string", "/synk/r", `{"c":"a","d":[{"k":1,"v":1}]}`, 400, protocol.CodeBadRequest, `d[0].k`},
		{"v_missing", "/synk/r", `{"c":"a","d":[{"k":"x"}]}`, 400, protocol.CodeBadRequest, `d[0].v is missing`},
		{"bad_room", "/synk/a%09b", `{"c":"a"}`, 400, protocol.CodeBadName, "room"},
		{"bad_client", "/synk/r", `{"c":"a/b","d":[]}`, 400, protocol.CodeBadName, "client id"},
		{"too_large", "/synk/r", `{"c":"a","d":[{"k":"x","v":"` + strings.Repeat("x", 600) + `"}]}`, 413, protocol.CodeFrameTooLarge, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := do(t, hs, "POST", tt.path, tt.body)
			var got struct{ Error httpError }
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("body %s is not a JSON error: %v", body, err)
			}
			if status != tt.status || got.Error.Code != tt.code || !strings.Contains(got.Error.Message, tt.says) {
				t.Fatalf("= %d %s, want %d, code %v, message containing %q", status, body, tt.status, tt.code, tt.says)
			}
		})
	}
}

// TestHTTP_sharesRoomWithWebsocket: posters and websocket members see each
// other, a poster cannot take a websocket member's id, and a silent poster
// times out like a socket client.
func TestHTTP_sharesRoomWithWebsocket(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, &Options{Timeout: 400 * time.Millisecond, PingInterval: 50 * time.Millisecond})
	ws := dialPeer(t, hs, "sock")
	ws.join("mix", false, entry("pos", []float64{1, 2}), entry("raw", []byte{0xff}))

	code, body := do(t, hs, "POST", "/synk/mix", `{"c":"poster","d":[{"k":"n","v":{"a":[1,2.5,"x",null,true]}}]}`)
	if want := `[{"c":"sock","d":[{"k":"pos","v":[1,2]},{"k":"raw","v":"/w=="}]}]`; code != 200 || body != want {
		t.Fatalf("POST = %d %s, want %s", code, body, want)
	}
	p := expect[*protocol.Presence](ws)
	if p.Event != protocol.EventJoin || p.Client != "poster" {
		t.Fatalf("ws got %+v, want the poster's join", p)
	}
	if got, _ := json.Marshal(valueOf(t, p.Entries[0].Value)); string(got) != `{"a":[1,2.5,"x",null,true]}` {
		t.Fatalf("poster's value over ws = %s, want the posted JSON", got)
	}

	code, _ = do(t, hs, "POST", "/synk/mix", `{"c":"sock","d":[]}`)
	if code != http.StatusConflict {
		t.Fatalf("POST as a websocket member's id = %d, want 409", code)
	}

	p = expect[*protocol.Presence](ws) // the poster stops posting
	if p.Event != protocol.EventLeave || p.Client != "poster" || p.Reason != protocol.CodeTimeout {
		t.Fatalf("ws got %+v, want the poster's leave for Timeout", p)
	}
}

// FuzzParsePost checks that the HTTP body decoder never panics and that
// what it accepts is valid for the protocol.
func FuzzParsePost(f *testing.F) {
	f.Add([]byte(`{"c":"ada","d":[{"k":"head","v":"UYTFUYTDI"}]}`))
	f.Add([]byte(`{"c":"joe","d":[{"k":"n","v":{"a":[1,2.5e300,-3,null]}}]}`))
	f.Add([]byte(`{"c":"","d":[{"k":1}]}`))
	f.Add([]byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[`))
	f.Add([]byte(`{"c":"a","d":[{"k":"z","v":18446744073709551615},{"k":"a","v":1.0e0, "x":1}, {"k":"b","v":1e999}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		client, entries, posted, err := parsePost(body)
		if err != nil {
			if protocol.ErrorCode(err) == 0 {
				t.Fatalf("error without a code: %v", err)
			}
			return
		}
		if protocol.CheckClient(client) != nil {
			t.Fatalf("accepted client %q", client)
		}
		for _, e := range entries {
			if protocol.CheckKey(e.Key) != nil || protocol.Check(e.Value, 10000) != nil {
				t.Fatalf("accepted entry %q % x", e.Key, e.Value)
			}
			if _, err := json.Marshal(msgpackToJSON(e.Value)); err != nil {
				t.Fatalf("value does not go back to JSON: %v", err)
			}
		}
		var back []struct {
			K string          `json:"k"`
			V json.RawMessage `json:"v"`
		}
		if err := json.Unmarshal(posted, &back); err != nil || len(back) != len(entries) {
			t.Fatalf("posted %s is not the entries' JSON: %v", posted, err)
		}
		for i, e := range back {
			if v, err := jsonToMsgpack(e.V); e.K != entries[i].Key || err != nil || string(v) != string(entries[i].Value) {
				t.Fatalf("posted entry %d %s differs from %q % x", i, e.V, entries[i].Key, entries[i].Value)
			}
		}
	})
}

// TestHTTP_noRoute: a path under /synk/ that no route takes gets a JSON
// 404, and a known path with another method a JSON 405 MethodNotAllowed
// with Allow (issue 17.2: it said BadRequest; /event, /stats, /synk,
// /metrics and /ws answered net/http's plain text).
func TestHTTP_noRoute(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, nil)
	for _, c := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"DELETE", "/synk/vr", 405, `"code":218,"name":"MethodNotAllowed"`},
		{"PATCH", "/synk/vr/chunks/abc", 405, `"code":218`},
		{"PUT", "/event", 405, `"code":218`},
		{"POST", "/stats", 405, `"code":218`},
		{"POST", "/synk", 405, `"code":218`},
		{"DELETE", "/metrics", 405, `"code":218`},
		{"POST", "/ws", 405, `"code":218`},
		{"GET", "/synk/a/b/c", 404, `"code":209`},
		{"PUT", "/synk/r/chunks/%2F", 404, `"code":209`},
	} {
		code, body := do(t, hs, c.method, c.path, "")
		if code != c.status || !strings.Contains(body, c.code) {
			t.Errorf("%s %s = %d %s, want %d with %s", c.method, c.path, code, body, c.status, c.code)
		}
	}
}
