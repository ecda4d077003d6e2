//go:build !js

package auth

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
	hs, err := New(hmacKey)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := New(&rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	eds, err := New(edPub)
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
	if _, err := New([]byte("short")); err == nil {
		t.Error("New took a 5-byte HMAC secret")
	}
	if _, err := New("a string"); err == nil {
		t.Error("New took a string")
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

// FuzzVerify: any string given as a token is refused with Unauthorized or
// accepted with a valid user; never a panic.
func FuzzVerify(f *testing.F) {
	a := must(New(hmacKey))
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

func jsonNum(n int64) string { return string(must(json.Marshal(n))) }

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
