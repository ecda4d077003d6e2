package server

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/synkhq/synk/protocol"
)

var (
	hmacKey      = []byte("0123456789abcdef0123456789abcdef")
	rsaKey, _    = rsa.GenerateKey(rand.Reader, 2048)
	edPub, ed, _ = ed25519.GenerateKey(rand.Reader)
)

// claims grants user caps in rooms matching pattern, for ttl.
func claims(user string, ttl time.Duration, rooms map[string][]Capability) Claims {
	return Claims{Rooms: rooms, RegisteredClaims: jwt.RegisteredClaims{
		Subject: user, ExpiresAt: jwt.NewNumericDate(time.Now().Add(ttl))}}
}

func mint(t testing.TB, key any, c Claims) string {
	t.Helper()
	s, err := Mint(key, c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// rawToken signs header.payload with HMAC-SHA256 and key, whatever the
// header says: the way an attacker forges tokens.
func rawToken(header, payload string, key []byte) string {
	enc := base64.RawURLEncoding
	s := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	if key == nil {
		return s + "."
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return s + "." + enc.EncodeToString(m.Sum(nil))
}

// TestAuth_matrix: valid HS256, RS256 and EdDSA tokens are accepted; an
// expired one, "alg":"none", HS256 signed with the RSA public key, an
// algorithm of another family, a tampered payload and tokens without
// "exp" or "sub" are refused with Unauthorized.
func TestAuth_matrix(t *testing.T) {
	t.Parallel()
	hs, err := NewAuth(hmacKey)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := NewAuth(&rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	eds, err := NewAuth(edPub)
	if err != nil {
		t.Fatal(err)
	}
	lobby := map[string][]Capability{"lobby": {CapPresence}}
	good := claims("ada", time.Hour, lobby)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&rsaKey.PublicKey))})
	payload := `{"sub":"ada","exp":` + jsonNum(time.Now().Add(time.Hour).Unix()) + `,"rooms":{"lobby":["presence"]}}`
	tampered := func(tok string) string {
		parts := strings.Split(tok, ".")
		parts[1] = base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(payload, "lobby", "*", 1)))
		return strings.Join(parts, ".")
	}
	tests := []struct {
		name  string
		auth  *Auth
		token string
		ok    bool
	}{
		{"hs256", hs, mint(t, hmacKey, good), true},
		{"rs256", rs, mint(t, rsaKey, good), true},
		{"eddsa", eds, mint(t, ed, good), true},
		{"hs384", hs, must(jwt.NewWithClaims(jwt.SigningMethodHS384, good).SignedString(hmacKey)), true},
		{"expired", hs, mint(t, hmacKey, claims("ada", -time.Minute, lobby)), false},
		{"alg_none", hs, rawToken(`{"alg":"none","typ":"JWT"}`, payload, nil), false},
		{"alg_none_rsa", rs, rawToken(`{"alg":"none","typ":"JWT"}`, payload, nil), false},
		{"hs256_with_rsa_public_key", rs, rawToken(`{"alg":"HS256","typ":"JWT"}`, payload, pubPEM), false},
		{"rs256_on_hmac_server", hs, mint(t, rsaKey, good), false},
		{"eddsa_on_rsa_server", rs, mint(t, ed, good), false},
		{"other_hmac_key", hs, mint(t, []byte("another secret of thirty-two bytes!!"), good), false},
		{"tampered_hs256", hs, tampered(mint(t, hmacKey, good)), false},
		{"tampered_rs256", rs, tampered(mint(t, rsaKey, good)), false},
		{"no_exp", hs, rawToken(`{"alg":"HS256","typ":"JWT"}`, `{"sub":"ada"}`, hmacKey), false},
		{"no_sub", hs, rawToken(`{"alg":"HS256","typ":"JWT"}`, `{"exp":`+jsonNum(time.Now().Add(time.Hour).Unix())+`}`, hmacKey), false},
		{"empty", hs, "", false},
		{"garbage", hs, "not.a.token", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g, err := tt.auth.Verify(tt.token)
			if tt.ok {
				if err != nil || g.User != "ada" || !g.Allows("lobby", CapPresence) || g.Allows("lobby", CapWrite) {
					t.Fatalf("Verify = %+v, %v; want ada with presence in lobby only", g, err)
				}
				return
			}
			if protocol.ErrorCode(err) != protocol.CodeUnauthorized {
				t.Fatalf("Verify = %+v, %v; want Unauthorized", g, err)
			}
		})
	}
}

func TestAuth_keysAndMint(t *testing.T) {
	t.Parallel()
	if _, err := NewAuth([]byte("short")); err == nil {
		t.Error("NewAuth took a 5-byte HMAC secret")
	}
	if _, err := NewAuth("a string"); err == nil {
		t.Error("NewAuth took a string")
	}
	if _, err := Mint(hmacKey, claims("ada", time.Hour, map[string][]Capability{"x": {"fly"}})); err == nil {
		t.Error("Mint took an unknown capability")
	}
	if _, err := Mint(hmacKey, Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: "ada"}}); err == nil {
		t.Error("Mint took claims without expiry")
	}
	g := &Grant{rooms: map[string][]Capability{"game-*": {CapRead}, "*": {CapMeet}}}
	for _, c := range []struct {
		room string
		cap  Capability
		want bool
	}{{"game-1", CapRead, true}, {"lobby", CapRead, false}, {"", CapMeet, true}, {"game-1", CapWrite, false}} {
		if got := g.Allows(c.room, c.cap); got != c.want {
			t.Errorf("Allows(%q, %s) = %v, want %v", c.room, c.cap, got, c.want)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func jsonNum(n int64) string { return string(must(json.Marshal(n))) }

// authServer runs a server that requires HMAC tokens.
func authServer(t *testing.T, opts *Options) *httptest.Server {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	opts.Auth = must(NewAuth(hmacKey))
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

	tok := mint(t, hmacKey, claims("ada", time.Hour, map[string][]Capability{
		"lobby": {CapPresence, CapRead}, "hall": {CapObserve}, "*": {CapMeet}}))
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
	tok := mint(t, hmacKey, claims("ada", time.Hour, map[string][]Capability{"lobby": {CapPresence, CapObserve}, "*": {CapMeet}}))
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
	_, out := do(t, hs, "GET", "/synk?token="+mint(t, hmacKey, claims("joe", time.Hour, map[string][]Capability{"hall": {CapObserve}})), "")
	if out != "[]" {
		t.Errorf("joe's room list = %s, want [] (lobby is not his to observe)", out)
	}
}

// FuzzVerify: any string given as a token is refused with Unauthorized or
// accepted with a valid user; never a panic.
func FuzzVerify(f *testing.F) {
	a := must(NewAuth(hmacKey))
	f.Add(mint(f, hmacKey, claims("ada", time.Hour, map[string][]Capability{"lobby": {CapPresence}})))
	f.Add(rawToken(`{"alg":"none","typ":"JWT"}`, `{"sub":"ada","exp":99999999999}`, nil))
	f.Add(rawToken(`{"alg":"HS256"}`, `{"sub":"ada","exp":99999999999,"rooms":{"*":["read"]}}`, hmacKey))
	f.Add(rawToken(`{"alg":"HS256"}`, `{"sub":"ada","exp":"soon","rooms":[1]}`, hmacKey))
	f.Add("x.y.z")
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		g, err := a.Verify(token)
		if err != nil {
			if protocol.ErrorCode(err) != protocol.CodeUnauthorized {
				t.Fatalf("Verify error %v, want Unauthorized", err)
			}
			return
		}
		if protocol.CheckClient(g.User) != nil {
			t.Fatalf("accepted user %q", g.User)
		}
		g.Allows("lobby", CapRead)
	})
}
