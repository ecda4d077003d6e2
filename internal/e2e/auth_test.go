package e2e

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/synkhq/synk/client"
	"github.com/synkhq/synk/protocol"
	"github.com/synkhq/synk/server"
	"github.com/synkhq/synk/server/auth"
)

// TestAuth_client: the Go client presents its token; the server takes the
// token's subject as its id and enforces its capabilities; a bad token
// fails Dial; a session whose token expires ends for good (no reconnect).
func TestAuth_client(t *testing.T) {
	key := []byte("a development secret of 32 bytes")
	verifier, err := auth.New(key)
	if err != nil {
		t.Fatal(err)
	}
	_, _, url := start(t, &server.Options{Auth: verifier})
	token := func(user string, ttl time.Duration) string {
		s, err := auth.Mint(key, auth.Claims{
			Rooms:            map[string][]auth.Capability{"lobby": {auth.CapPresence, auth.CapRead}},
			RegisteredClaims: jwt.RegisteredClaims{Subject: user, ExpiresAt: jwt.NewNumericDate(time.Now().Add(ttl))}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	if _, err := client.Dial(ctxT(t), url, &client.DialOptions{Token: "x.y.z"}); protocol.ErrorCode(err) != protocol.CodeUnauthorized {
		t.Fatalf("Dial with a bad token: %v, want Unauthorized", err)
	}

	ada, err := client.Dial(ctxT(t), url, &client.DialOptions{Token: token("ada", time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	defer ada.Close()
	if ada.Client() != "ada" {
		t.Fatalf("client id %q, want the token's subject ada", ada.Client())
	}
	room := join(t, ada, "lobby", nil)
	if err := room.Set(ctxT(t), map[string]any{"x": 1}); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if _, err := room.Create(ctxT(t), "ball", "item", "a", map[string]any{"x": 1}); protocol.ErrorCode(err) != protocol.CodeForbidden {
		t.Fatalf("Create without write: %v, want Forbidden", err)
	}
	if _, err := ada.Join(ctxT(t), "attic", nil); protocol.ErrorCode(err) != protocol.CodeForbidden {
		t.Fatalf("Join attic: %v, want Forbidden", err)
	}

	joe, err := client.Dial(ctxT(t), url, &client.DialOptions{Token: token("joe", 1500*time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	defer joe.Close()
	if e := next(t, joe, client.EventClosed); protocol.ErrorCode(e.Err) != protocol.CodeUnauthorized {
		t.Fatalf("joe's session ended with %v, want Unauthorized", e.Err)
	}
}
