package server

import (
	"testing"

	"github.com/synkhq/synk/protocol"
)

// helloPeer dials s with hello as its first frame.
func helloPeer(t *testing.T, p *peer, hello *protocol.Hello) *peer {
	t.Helper()
	hello.Version = protocol.Version
	p.send(hello)
	p.welcome = expect[*protocol.Welcome](p)
	return p
}

// TestJoin_sameClientReconnects: a client the server gave an id comes
// back on a new connection with that id and its resume secret before the
// old connection timed out: it takes over its membership, and the others
// see only the change of its entries, never a Leave and a Join. Without
// the secret (or with a wrong one) the id is a chosen one: the old member
// is replaced, as before, and the Welcome carries no secret.
func TestJoin_sameClientReconnects(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, nil)
	ada := dialPeer(t, hs, "")
	id, secret := ada.welcome.Client, ada.welcome.Secret
	if secret == "" || len(secret) > protocol.MaxSecret {
		t.Fatalf("Welcome to a client without an id: secret %q", secret)
	}
	ada.join("w", false, entry("pose", 1))
	eve := dialPeer(t, hs, "eve")
	eve.join("w", true)

	again := helloPeer(t, &peer{t: t, ws: dialRaw(t, hs)}, &protocol.Hello{Client: id, Secret: secret})
	if again.welcome.Client != id || again.welcome.Secret != secret {
		t.Fatalf("Welcome to the same client = %+v, want id %s and its secret", again.welcome, id)
	}
	j := again.join("w", false, entry("pose", 2))
	if len(j.Members) != 1 || j.Members[0].Client != id {
		t.Fatalf("Joined members %+v, want only %s", j.Members, id)
	}
	if p := expect[*protocol.Presence](eve); p.Event != protocol.EventChange || p.Client != id {
		t.Fatalf("the observer saw %+v, want only the change of %s's pose", p, id)
	}
	if e := ada.expectError(protocol.CodeReplaced); e.Room != "w" {
		t.Fatalf("the old connection got %+v", e)
	}

	for _, secret := range []string{"", "not-the-secret"} {
		mallory := helloPeer(t, &peer{t: t, ws: dialRaw(t, hs)}, &protocol.Hello{Client: id, Secret: secret})
		if mallory.welcome.Secret != "" {
			t.Fatalf("Welcome to a Hello with secret %q carries a secret", secret)
		}
		mallory.join("w", false, entry("pose", 3))
		if p := expect[*protocol.Presence](eve); p.Event != protocol.EventLeave || p.Reason != protocol.CodeReplaced {
			t.Fatalf("without the secret the observer saw %+v, want a Leave (Replaced)", p)
		}
		if p := expect[*protocol.Presence](eve); p.Event != protocol.EventJoin || p.Client != id {
			t.Fatalf("then %+v, want the Join", p)
		}
	}
	// An id nobody here holds, chosen: the first to take it gets a secret,
	// and may come back with it unseen; a second connection does not.
	solo := dialPeer(t, hs, "solo")
	if solo.welcome.Secret == "" || solo.welcome.Secret == secret {
		t.Fatalf("Welcome to a free chosen id: secret %q, want its own", solo.welcome.Secret)
	}
	if twin := dialPeer(t, hs, "solo"); twin.welcome.Secret != "" {
		t.Fatalf("Welcome to a chosen id held by another connection carries a secret")
	}
	// A secret without an id is a bad Hello.
	bad := &peer{t: t, ws: dialRaw(t, hs)}
	bad.send(&protocol.Hello{Version: protocol.Version, Secret: secret})
	bad.expectError(protocol.CodeBadRequest)
}
