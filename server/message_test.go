//go:build !js

package server

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/synkhq/synk/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

func mp(t *testing.T, v any) protocol.RawMessage {
	t.Helper()
	b, err := msgpack.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestServer_messages: a Send reaches every other receiver of the room,
// observers included, in order, and not its sender; a Send to one member
// reaches that member alone, marked direct.
func TestServer_messages(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, nil)
	ada := dialPeer(t, hs, "ada")
	ada.join("lobby", false)
	joe := dialPeer(t, hs, "joe")
	joe.join("lobby", false)
	eve := dialPeer(t, hs, "eve")
	eve.join("lobby", true)
	expect[*protocol.Presence](ada) // joe joined

	ada.send(&protocol.Send{ID: 5, Room: "lobby", Topic: "u", Data: mp(t, map[string]any{"x": 1})})
	if ok := expect[*protocol.OK](ada); ok.ID != 5 {
		t.Fatalf("OK %+v, want request 5's", ok)
	}
	for _, p := range []*peer{joe, eve} {
		m := expect[*protocol.Sent](p)
		if m.Room != "lobby" || m.From != "ada" || m.Direct || m.Topic != "u" || valueOf(t, m.Data).(map[string]any)["x"] != int8(1) {
			t.Fatalf("got %+v, want ada's u to everyone", m)
		}
	}

	// In order, without answers.
	for i := range 50 {
		joe.send(&protocol.Send{Room: "lobby", Topic: "n", Data: mp(t, i)})
	}
	for _, p := range []*peer{ada, eve} {
		for i := range 50 {
			if m := expect[*protocol.Sent](p); m.From != "joe" || valueOf(t, m.Data) != int8(i) {
				t.Fatalf("message %d: got %+v", i, m)
			}
		}
	}

	// To joe alone.
	ada.send(&protocol.Send{ID: 6, Room: "lobby", To: "joe", Topic: "hi", Data: mp(t, "hello")})
	expect[*protocol.OK](ada)
	if m := expect[*protocol.Sent](joe); !m.Direct || m.From != "ada" || valueOf(t, m.Data) != "hello" {
		t.Fatalf("joe got %+v, want ada's direct hello", m)
	}
	// Neither ada nor eve got anything more: their next frames are
	// what comes next.
	joe.send(&protocol.Set{ID: 1, Room: "lobby", Entries: []protocol.Entry{entry("x", 1)}})
	expect[*protocol.OK](joe)
	for _, p := range []*peer{ada, eve} {
		if m := expect[*protocol.Presence](p); m.Client != "joe" {
			t.Fatalf("got %+v, want joe's change", m)
		}
	}
}

// TestServer_areaMessages: a message with an area reaches only the
// receivers subscribed to it, observers included, sent to all or to one;
// a receiver that subscribes later gets the next ones, one that left the
// area no more.
func TestServer_areaMessages(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, nil)
	ada := dialPeer(t, hs, "ada")
	ada.join("w", false)
	near := dialPeer(t, hs, "near")
	near.join("w", false)
	far := dialPeer(t, hs, "far")
	far.join("w", false)
	eve := dialPeer(t, hs, "eve")
	eve.join("w", true)
	awaitPresence(t, ada, "far", protocol.EventJoin)
	awaitPresence(t, near, "far", protocol.EventJoin)
	near.sub("w", []string{"c0", "c1"}, nil)
	far.sub("w", []string{"c9"}, nil)
	eve.sub("w", []string{"c1"}, nil)

	ada.send(&protocol.Send{ID: 1, Room: "w", Area: "c1", Topic: "u", Data: mp(t, 1)})
	expectOK(t, ada, 1)
	ada.send(&protocol.Send{ID: 2, Room: "w", Area: "c1", To: "far", Topic: "u", Data: mp(t, 2)})
	expectOK(t, ada, 2) // queued for nobody: far does not see c1
	ada.send(&protocol.Send{ID: 3, Room: "w", Area: "c0", To: "near", Topic: "u", Data: mp(t, 3)})
	expectOK(t, ada, 3)
	for _, p := range []*peer{near, eve} {
		if m := expect[*protocol.Sent](p); m.Area != "c1" || m.Direct || valueOf(t, m.Data) != int8(1) {
			t.Fatalf("got %+v, want ada's message in c1", m)
		}
	}
	if m := expect[*protocol.Sent](near); m.Area != "c0" || !m.Direct || valueOf(t, m.Data) != int8(3) {
		t.Fatalf("near got %+v, want ada's direct message in c0", m)
	}

	// far walks over: c1 in, c9 out.
	far.sub("w", []string{"c1"}, []string{"c9"})
	near.sub("w", nil, []string{"c1"})
	ada.send(&protocol.Send{ID: 4, Room: "w", Area: "c1", Topic: "u", Data: mp(t, 4)})
	expectOK(t, ada, 4)
	ada.send(&protocol.Send{ID: 5, Room: "w", Area: "c9", Topic: "u", Data: mp(t, 5)})
	expectOK(t, ada, 5)
	for _, p := range []*peer{far, eve} {
		if m := expect[*protocol.Sent](p); valueOf(t, m.Data) != int8(4) {
			t.Fatalf("got %+v, want ada's 4th message, in c1", m)
		}
	}
	// Nobody got more (c9 has no one now, near left c1): their next frame
	// is ada's change.
	ada.send(&protocol.Set{ID: 6, Room: "w", Entries: []protocol.Entry{entry("x", 1)}})
	expectOK(t, ada, 6)
	for _, p := range []*peer{near, far, eve} {
		if m := expect[*protocol.Presence](p); m.Client != "ada" || m.Event != protocol.EventChange {
			t.Fatalf("got %+v, want ada's change", m)
		}
	}
}

// TestServer_messageErrors: what a Send may not do, each answered with its
// code and the request id.
func TestServer_messageErrors(t *testing.T) {
	t.Parallel()
	s, hs := testServer(t, &Options{MaxValue: 100})
	ada := dialPeer(t, hs, "ada")
	ada.join("lobby", false)
	eve := dialPeer(t, hs, "eve")
	eve.join("lobby", true)
	if _, err := s.post("lobby", "poster", "192.0.2.1", nil, []byte("[]")); err != nil {
		t.Fatal(err)
	}
	expect[*protocol.Presence](ada) // the poster joined
	expect[*protocol.Presence](eve)

	for _, c := range []struct {
		from *peer
		m    *protocol.Send
		code protocol.Code
	}{
		{ada, &protocol.Send{ID: 1, Room: "hall", Topic: "u", Data: mp(t, 1)}, protocol.CodeNotJoined},
		{eve, &protocol.Send{ID: 2, Room: "lobby", Topic: "u", Data: mp(t, 1)}, protocol.CodeReadOnly},
		{ada, &protocol.Send{ID: 3, Room: "lobby", To: "nobody", Topic: "u", Data: mp(t, 1)}, protocol.CodeNotFound},
		{ada, &protocol.Send{ID: 4, Room: "lobby", To: "eve", Topic: "u", Data: mp(t, 1)}, protocol.CodeNotFound}, // observers are not members
		{ada, &protocol.Send{ID: 5, Room: "lobby", To: "poster", Topic: "u", Data: mp(t, 1)}, protocol.CodeUnsupported},
		{ada, &protocol.Send{ID: 6, Room: "lobby", Topic: "u", Data: mp(t, strings.Repeat("x", 100))}, protocol.CodeValueTooLarge},
		{ada, &protocol.Send{ID: 7, Room: "lobby", Topic: "", Data: mp(t, 1)}, protocol.CodeBadName},
		{ada, &protocol.Send{ID: 8, Room: "lobby", Topic: "u"}, protocol.CodeBadRequest},
		{ada, &protocol.Send{ID: 9, Room: "lob/by", Topic: "u", Data: mp(t, 1)}, protocol.CodeBadName},
		{ada, &protocol.Send{ID: 11, Room: "lobby", Area: "a\x01", Topic: "u", Data: mp(t, 1)}, protocol.CodeBadName},
	} {
		c.from.send(c.m)
		if e := c.from.expectError(c.code); e.ID != c.m.ID {
			t.Errorf("request %d: error %+v, want its id", c.m.ID, e)
		}
	}
	// Nothing reached eve: her next frame is ada's leave.
	ada.send(&protocol.Leave{ID: 10, Room: "lobby"})
	if p := expect[*protocol.Presence](eve); p.Event != protocol.EventLeave || p.Client != "ada" {
		t.Fatalf("eve got %+v, want ada's leave", p)
	}
}

// TestServer_messageFloodCutsTheSlowReader: messages are held only in the
// receivers' queues, whose bound cuts a member that does not read, while
// the sender and the room go on.
func TestServer_messageFloodCutsTheSlowReader(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, &Options{SendBuffer: 64 << 10, MaxQueued: 1 << 20, WriteTimeout: time.Second, Rate: -1, MaxValue: 16 << 10})
	pub := dialPeer(t, hs, "pub")
	pub.join("room", false)
	slow := dialPeer(t, hs, "slow")
	slow.join("room", false) // and never reads again
	expect[*protocol.Presence](pub)

	big := mp(t, strings.Repeat("x", 15000))
	cut := false
	for sent := 0; sent < 20000 && !cut; sent++ {
		pub.send(&protocol.Send{ID: uint32(sent + 1), Room: "room", Topic: "blob", Data: big})
		for waiting := true; waiting; {
			switch m := expect[protocol.Message](pub).(type) {
			case *protocol.OK:
				waiting = false
			case *protocol.Presence:
				cut = m.Event == protocol.EventLeave && m.Client == "slow" && m.Reason == protocol.CodeSlowConsumer
			}
		}
	}
	if !cut {
		t.Fatal("the reader that never reads was not cut after 20,000 messages of 15 KB")
	}
	pub.send(&protocol.Send{ID: 99999, Room: "room", Topic: "after", Data: mp(t, 1)})
	if ok := expect[*protocol.OK](pub); ok.ID != 99999 {
		t.Fatalf("after the cut: %+v", ok)
	}
}

// TestCluster_messages: a member's messages reach the room's receivers on
// every node, in order and after its join; one to a member of another
// node reaches that member alone.
func TestCluster_messages(t *testing.T) {
	t.Parallel()
	hsA, hsB := twoNodes(t)
	ada := dialPeer(t, hsA, "ada")
	ada.join("lobby", false)
	ann := dialPeer(t, hsA, "ann")
	ann.join("lobby", false)
	joe := dialPeer(t, hsB, "joe")
	if j := joe.join("lobby", false); len(j.Members) < 3 {
		for _, c := range []string{"ada", "ann"} {
			if !slices.ContainsFunc(j.Members, func(m protocol.Member) bool { return m.Client == c }) {
				awaitPresence(t, joe, c, protocol.EventJoin)
			}
		}
	}
	awaitPresence(t, ada, "joe", protocol.EventJoin)
	awaitPresence(t, ann, "joe", protocol.EventJoin)

	// joe, on B: his messages reach both members on A, in order.
	for i := range 50 {
		joe.send(&protocol.Send{Room: "lobby", Topic: "n", Data: mp(t, i)})
	}
	for _, p := range []*peer{ada, ann} {
		for i := range 50 {
			if m := expect[*protocol.Sent](p); m.From != "joe" || m.Direct || valueOf(t, m.Data) != int8(i) {
				t.Fatalf("message %d: got %+v", i, m)
			}
		}
	}
	ada.send(&protocol.Send{ID: 3, Room: "lobby", Topic: "u", Data: mp(t, "all")})
	expectOK(t, ada, 3)
	for _, p := range []*peer{ann, joe} {
		if m := expect[*protocol.Sent](p); m.From != "ada" || valueOf(t, m.Data) != "all" {
			t.Fatalf("got %+v, want ada's message to all", m)
		}
	}
	joe.send(&protocol.Send{ID: 4, Room: "lobby", To: "ada", Topic: "hi", Data: mp(t, "only you")})
	expectOK(t, joe, 4)
	if m := expect[*protocol.Sent](ada); !m.Direct || m.From != "joe" || valueOf(t, m.Data) != "only you" {
		t.Fatalf("ada got %+v, want joe's direct message", m)
	}
	joe.send(&protocol.Send{ID: 5, Room: "lobby", To: "nobody", Topic: "hi", Data: mp(t, 1)})
	joe.expectError(protocol.CodeNotFound)
	// ann got neither: her next frame is joe's change.
	joe.send(&protocol.Set{ID: 6, Room: "lobby", Entries: []protocol.Entry{entry("x", 1)}})
	expectOK(t, joe, 6)
	if p := expect[*protocol.Presence](ann); p.Client != "joe" || p.Event != protocol.EventChange {
		t.Fatalf("ann got %+v, want joe's change", p)
	}
}

// TestCluster_areaMessages: with JetStream (areas need shared objects), a
// message with an area reaches the other node's receivers subscribed to
// it, and no one else there, sent to all or to one.
func TestCluster_areaMessages(t *testing.T) {
	t.Parallel()
	_, hsA, _, hsB := twoNodesOn(t, runNATS(t, true), &Options{}, &Options{})
	ada := dialPeer(t, hsA, "ada")
	ada.join("lobby", false)
	ann := dialPeer(t, hsA, "ann")
	ann.join("lobby", false)
	joe := dialPeer(t, hsB, "joe")
	joe.join("lobby", false)
	awaitPresence(t, ada, "joe", protocol.EventJoin)
	awaitPresence(t, ann, "joe", protocol.EventJoin)
	ann.sub("lobby", []string{"c1"}, nil)

	joe.send(&protocol.Send{ID: 1, Room: "lobby", Area: "c1", Topic: "u", Data: mp(t, "near")})
	expectOK(t, joe, 1)
	joe.send(&protocol.Send{ID: 2, Room: "lobby", Area: "c1", To: "ada", Topic: "u", Data: mp(t, "not you")})
	expectOK(t, joe, 2)
	joe.send(&protocol.Send{ID: 3, Room: "lobby", Area: "c1", To: "ann", Topic: "u", Data: mp(t, "you")})
	expectOK(t, joe, 3)
	if m := expect[*protocol.Sent](ann); m.Area != "c1" || m.Direct || valueOf(t, m.Data) != "near" {
		t.Fatalf("ann got %+v, want joe's message in c1", m)
	}
	if m := expect[*protocol.Sent](ann); m.Area != "c1" || !m.Direct || valueOf(t, m.Data) != "you" {
		t.Fatalf("ann got %+v, want joe's direct message in c1", m)
	}
	// ada got nothing, ann no more: their next frame is joe's change.
	joe.send(&protocol.Set{ID: 4, Room: "lobby", Entries: []protocol.Entry{entry("x", 1)}})
	expectOK(t, joe, 4)
	for _, p := range []*peer{ada, ann} {
		if m := expect[*protocol.Presence](p); m.Client != "joe" || m.Event != protocol.EventChange {
			t.Fatalf("got %+v, want joe's change", m)
		}
	}
}
