//go:build !js

package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/synkhq/synk/protocol"
	"github.com/synkhq/synk/server/auth"
)

var hmacKey = []byte("0123456789abcdef0123456789abcdef")

// claims grants user caps in rooms matching pattern, for ttl.
func claims(user string, ttl time.Duration, rooms map[string][]auth.Capability) auth.Claims {
	return auth.Claims{Rooms: rooms, RegisteredClaims: jwt.RegisteredClaims{
		Subject: user, ExpiresAt: jwt.NewNumericDate(time.Now().Add(ttl))}}
}

func mint(t testing.TB, key any, c auth.Claims) string {
	t.Helper()
	s, err := auth.Mint(key, c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// authServer runs a server that requires HMAC tokens.
func authServer(t *testing.T, opts *Options) *httptest.Server {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	opts.Auth = must(auth.New(hmacKey))
	_, hs := testServer(t, opts)
	return hs
}

// helloWith sends a Hello with token and client and returns the answer.
func helloWith(t *testing.T, hs *httptest.Server, client, token string) (*peer, protocol.Message) {
	t.Helper()
	p := &peer{t: t, ws: dialRaw(t, hs)}
	p.send(&protocol.Hello{Version: protocol.Version, Client: client, Token: token})
	m, err := p.recv()
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	if w, ok := m.(*protocol.Welcome); ok {
		p.welcome = w
	}
	return p, m
}

func TestAuth_websocket(t *testing.T) {
	t.Parallel()
	hs := authServer(t, nil)

	for _, c := range []struct{ name, client, token string }{
		{"no_token", "", ""},
		{"bad_token", "", "x.y.z"},
		{"expired", "", mint(t, hmacKey, claims("ada", -time.Minute, nil))},
		{"other_client", "joe", mint(t, hmacKey, claims("ada", time.Hour, nil))},
	} {
		_, m := helloWith(t, hs, c.client, c.token)
		if e, ok := m.(*protocol.Error); !ok || e.Code != protocol.CodeUnauthorized {
			t.Errorf("%s: Hello answered %T %+v, want Unauthorized", c.name, m, m)
		}
	}

	tok := mint(t, hmacKey, claims("ada", time.Hour, map[string][]auth.Capability{
		"lobby": {auth.CapPresence, auth.CapRead}, "hall": {auth.CapObserve}, "*": {auth.CapMeet}}))
	ada, m := helloWith(t, hs, "", tok)
	if w, ok := m.(*protocol.Welcome); !ok || w.Client != "ada" {
		t.Fatalf("Hello answered %T %+v, want a Welcome for ada", m, m)
	}
	ada.join("lobby", false)
	ada.join("hall", true)
	for _, c := range []struct {
		name string
		msg  protocol.Message
	}{
		{"join_hall_as_participant", &protocol.Join{ID: 10, Room: "hall"}},
		{"join_other_room", &protocol.Join{ID: 11, Room: "attic", Observer: true}},
		{"sub_hall", &protocol.Sub{ID: 12, Room: "hall", Add: []string{"a"}}},
		{"write_lobby", &protocol.Write{ID: 13, Room: "lobby", Op: protocol.OpCreate, Object: "o", Kind: "k", Area: "a"}},
		{"meet_as_joe", &protocol.Meet{ID: 14, Event: "e", Actor: "joe", Mates: 1}},
	} {
		ada.send(c.msg)
		if e := ada.expectError(protocol.CodeForbidden); e.ID < 10 {
			t.Errorf("%s: error %+v, want it for the request", c.name, e)
		}
	}
	ada.send(&protocol.Sub{ID: 20, Room: "lobby", Add: []string{"a"}})
	if ok := expect[*protocol.OK](ada); ok.ID != 20 {
		t.Fatalf("OK %+v, want the Sub's", ok)
	}
}

// TestAuth_sessionEndsWithToken: a session lasts no longer than its
// token; the client is told with Unauthorized.
func TestAuth_sessionEndsWithToken(t *testing.T) {
	t.Parallel()
	hs := authServer(t, nil)
	c := claims("ada", 0, nil)
	c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(1500 * time.Millisecond))
	ada, m := helloWith(t, hs, "", mint(t, hmacKey, c))
	if _, ok := m.(*protocol.Welcome); !ok {
		t.Fatalf("Hello answered %T %+v", m, m)
	}
	ada.expectError(protocol.CodeUnauthorized) // when the token expires
}

func TestAuth_http(t *testing.T) {
	t.Parallel()
	hs := authServer(t, nil)
	tok := mint(t, hmacKey, claims("ada", time.Hour, map[string][]auth.Capability{"lobby": {auth.CapPresence, auth.CapObserve}, "*": {auth.CapMeet}}))
	post := `{"c":"ada","d":[{"k":"x","v":1}]}`
	for _, c := range []struct {
		name, method, path, body, auth string
		status                         int
	}{
		{"post_no_token", "POST", "/synk/lobby", post, "", 401},
		{"post_bad_token", "POST", "/synk/lobby?token=x.y.z", post, "", 401},
		{"post", "POST", "/synk/lobby?token=" + tok, post, "", 200},
		{"post_bearer", "POST", "/synk/lobby", post, "Bearer " + tok, 200},
		{"post_as_joe", "POST", "/synk/lobby?token=" + tok, `{"c":"joe","d":[{"k":"x","v":1}]}`, "", 403},
		{"post_other_room", "POST", "/synk/attic?token=" + tok, post, "", 403},
		{"get", "GET", "/synk/lobby", "", "Bearer " + tok, 200},
		{"get_no_token", "GET", "/synk/lobby", "", "", 401},
		{"get_other_room", "GET", "/synk/attic?token=" + tok, "", "", 403},
		{"stats", "GET", "/stats?token=" + tok, "", "", 200},
		{"stats_no_token", "GET", "/stats", "", "", 401},
		{"event_as_joe", "GET", "/event?event=e&actor=joe&token=" + tok, "", "", 403},
		{"event_no_token", "GET", "/event?event=e&actor=ada", "", "", 401},
	} {
		req := must(http.NewRequest(c.method, hs.URL+c.path, strings.NewReader(c.body)))
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d %v, want %d", c.name, resp.StatusCode, body, c.status)
		}
		if c.status >= 400 && body["error"] == nil {
			t.Errorf("%s: body %v, want a JSON error", c.name, body)
		}
	}
	// The room list shows only rooms the token may observe.
	_, out := do(t, hs, "GET", "/synk?token="+mint(t, hmacKey, claims("joe", time.Hour, map[string][]auth.Capability{"hall": {auth.CapObserve}})), "")
	if out != "[]" {
		t.Errorf("joe's room list = %s, want [] (lobby is not his to observe)", out)
	}
}
