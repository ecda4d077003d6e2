//go:build !js

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

// TestCluster_takeoverUnseen: a client that fails over to another node
// while its old connection is still held proves its id there (the nodes
// share the key of resume secrets) and takes over its membership: the
// observers on both nodes see only its change, never a Leave and a Join,
// and the old connection, closing later, makes no Leave either.
func TestCluster_takeoverUnseen(t *testing.T) {
	t.Parallel()
	_, hsA, _, hsB := twoNodesOn(t, runNATS(t, true), &Options{}, &Options{})
	ada := dialPeer(t, hsA, "")
	id, secret := ada.welcome.Client, ada.welcome.Secret
	ada.join("w", false, entry("pose", 1))
	eveA, eveB := dialPeer(t, hsA, "eveA"), dialPeer(t, hsB, "eveB")
	eveA.join("w", true)
	if j := eveB.join("w", true); len(j.Members) == 0 {
		awaitPresence(t, eveB, id, protocol.EventJoin)
	}

	again := helloPeer(t, &peer{t: t, ws: dialRaw(t, hsB)}, &protocol.Hello{Client: id, Secret: secret})
	if again.welcome.Secret != secret {
		t.Fatalf("the other node's Welcome has secret %q, want the first node's %q: the nodes do not share the key", again.welcome.Secret, secret)
	}
	again.join("w", false, entry("pose", 2))
	for _, eve := range []*peer{eveA, eveB} {
		if p := expect[*protocol.Presence](eve); p.Event != protocol.EventChange || p.Client != id {
			t.Fatalf("an observer saw %+v, want only the change of %s's pose", p, id)
		}
	}
	ada.expectError(protocol.CodeReplaced)
	ada.ws.CloseNow()
	marker := dialPeer(t, hsA, "marker")
	marker.join("w", false)
	for _, eve := range []*peer{eveA, eveB} {
		if p := expect[*protocol.Presence](eve); p.Event != protocol.EventJoin || p.Client != "marker" {
			t.Fatalf("after the old connection closed an observer saw %+v, want the marker's join", p)
		}
	}
}
