//go:build !js

package server

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/synkhq/synk/protocol"
)

// reply returns the OK, Joined or Error answering request id, skipping
// other frames.
func reply(p *peer, id uint32) protocol.Message {
	p.t.Helper()
	for {
		switch m := expect[protocol.Message](p).(type) {
		case *protocol.OK:
			if m.ID == id {
				return m
			}
		case *protocol.Joined:
			if m.ID == id {
				return m
			}
		case *protocol.Error:
			if m.ID == id {
				return m
			}
		}
	}
}

// blob is a presence entry or object field of about n bytes.
func blob(k string, n int) protocol.Entry { return entry(k, strings.Repeat("x", n)) }

// TestBudget_roomPresence: issue 15.5. Members may fill a room's presence
// only up to MaxRoomPresence: the one who would pass it is refused with
// TooMany and the room stays as it was, joinable by everyone else; a
// member who leaves frees its share.
func TestBudget_roomPresence(t *testing.T) {
	t.Parallel()
	s, hs := testServer(t, &Options{MaxRoomPresence: 100 << 10})
	var members []*peer
	for i := 0; ; i++ {
		p := dialPeer(t, hs, fmt.Sprintf("m%d", i))
		id := p.id()
		p.send(&protocol.Join{ID: id, Room: "r", Entries: []protocol.Entry{blob("a", 15000), blob("b", 15000)}})
		m, _ := p.recv()
		if e, ok := m.(*protocol.Error); ok {
			if e.Code != protocol.CodeTooMany || e.ID != id || !strings.Contains(e.Message, "presence") {
				t.Fatalf("join %d refused with %+v, want TooMany about presence", i, e)
			}
			if i != 3 {
				t.Fatalf("refused at member %d, want 3 (3 × 30 KB fit in 100 KB)", i)
			}
			break
		}
		members = append(members, p)
	}
	obs := dialPeer(t, hs, "")
	if j := obs.join("r", true); len(j.Members) != 3 {
		t.Fatalf("the room has %d members, want 3", len(j.Members))
	}
	// A change that would pass the limit is refused; a small one is not.
	m0 := members[0]
	m0.send(&protocol.Set{ID: 50, Room: "r", Entries: []protocol.Entry{blob("c", 15000)}})
	if e, ok := reply(m0, 50).(*protocol.Error); !ok || e.Code != protocol.CodeTooMany {
		t.Fatalf("Set 50 answered %+v, want TooMany", e)
	}
	m0.send(&protocol.Set{ID: 51, Room: "r", Entries: []protocol.Entry{blob("a", 10)}})
	if _, ok := reply(m0, 51).(*protocol.OK); !ok {
		t.Fatal("Set 51 not answered OK")
	}
	m0.ws.CloseNow() // frees its share, once the server sees it go
	for {
		if p := expect[*protocol.Presence](obs); p.Event == protocol.EventLeave && p.Client == "m0" {
			break
		}
	}
	late := dialPeer(t, hs, "late")
	late.join("r", false, blob("a", 15000), blob("b", 15000))
	s.hold.mu.Lock()
	defer s.hold.mu.Unlock()
	if s.hold.presence > 100<<10 {
		t.Fatalf("the server counts %d bytes of presence, over the room's 100 KB", s.hold.presence)
	}
}

// TestBudget_presenceServerAndIP: issue 15.6. Past the server's budget of
// presence a join is refused with Overloaded, past an address's share with
// TooMany; leaving frees both.
func TestBudget_presenceServerAndIP(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		opts Options
		code protocol.Code
	}{
		{"server", Options{MaxPresence: 100 << 10}, protocol.CodeOverloaded},
		{"ip", Options{MaxPresencePerIP: 100 << 10}, protocol.CodeTooMany},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, hs := testServer(t, &tt.opts)
			p := dialPeer(t, hs, "p")
			joined := 0
			for i := range 16 { // in many rooms, each within its own limit
				id := p.id()
				p.send(&protocol.Join{ID: id, Room: fmt.Sprintf("r%d", i), Entries: []protocol.Entry{blob("a", 15000), blob("b", 15000)}})
				m, _ := p.recv()
				if e, ok := m.(*protocol.Error); ok {
					if e.Code != tt.code {
						t.Fatalf("join %d refused with %+v, want %v", i, e, tt.code)
					}
					break
				}
				joined++
			}
			if joined != 3 {
				t.Fatalf("joined %d rooms, want 3", joined)
			}
			p.send(&protocol.Leave{ID: 99, Room: "r0"})
			expect[*protocol.OK](p)
			p.join("again", false, blob("a", 15000), blob("b", 15000))
			s.hold.mu.Lock()
			defer s.hold.mu.Unlock()
			if len(s.hold.perIP) != 1 || s.hold.presence > 100<<10 {
				t.Fatalf("held %d bytes of presence from %d addresses", s.hold.presence, len(s.hold.perIP))
			}
		})
	}
}

// TestBudget_objects: issue 15.6. Objects fill a room up to
// MaxRoomObjectBytes (TooMany) and all rooms up to MaxObjectBytes
// (Overloaded); deleting frees them.
func TestBudget_objects(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t, &Options{MaxRoomObjectBytes: 100 << 10, MaxObjectBytes: 250 << 10})
	fill := func(room string) (int, error) {
		for i := 0; ; i++ {
			if _, err := s.Write(create(room, fmt.Sprint(i), "A", blob("f", 15000))); err != nil {
				return i, err
			}
		}
	}
	n, err := fill("a")
	if protocol.ErrorCode(err) != protocol.CodeTooMany || n != 6 {
		t.Fatalf("room a took %d objects, then %v; want 6, then TooMany", n, err)
	}
	fill("b")
	n, err = fill("c")
	if protocol.ErrorCode(err) != protocol.CodeOverloaded || n != 4 {
		t.Fatalf("room c took %d objects, then %v; want 4, then Overloaded", n, err)
	}
	mustWrite(t, s, del("a", "0"))
	mustWrite(t, s, create("c", "again", "A", blob("f", 15000)))
	s.hold.mu.Lock()
	defer s.hold.mu.Unlock()
	if s.hold.objects > 250<<10 {
		t.Fatalf("the server counts %d bytes of objects, over 250 KB", s.hold.objects)
	}
}

// TestBudget_rooms: issue 15.6. Past MaxRoomsTotal a join that would make
// a room is refused with Overloaded, over websocket and HTTP; a room freed
// makes room.
func TestBudget_rooms(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, &Options{MaxRoomsTotal: 2})
	p := dialPeer(t, hs, "p")
	p.join("a", false)
	p.join("b", false)
	p.send(&protocol.Join{ID: 10, Room: "c"})
	if e := p.expectError(protocol.CodeOverloaded); e.ID != 10 {
		t.Fatalf("error %+v, want one for Join 10", e)
	}
	resp, body := post(t, hs, "/synk/d", `{"c":"poster","d":[]}`)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, `"code":217`) {
		t.Fatalf("POST to a new room: %d %s, want 503 Overloaded", resp.StatusCode, body)
	}
	p.send(&protocol.Leave{ID: 11, Room: "a"})
	expect[*protocol.OK](p)
	p.join("c", false)
}

// TestBudget_posters: issue 15.7. One address keeps at most
// MaxPostersPerIP HTTP posters in rooms: the next gets 429.
func TestBudget_posters(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, &Options{MaxPostersPerIP: 3})
	for i := range 3 {
		if resp, body := post(t, hs, fmt.Sprintf("/synk/r%d", i), `{"c":"poster","d":[{"k":"a","v":1}]}`); resp.StatusCode != http.StatusOK {
			t.Fatalf("post %d: %d %s", i, resp.StatusCode, body)
		}
	}
	resp, body := post(t, hs, "/synk/r3", `{"c":"poster","d":[{"k":"a","v":1}]}`)
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "HTTP posters") {
		t.Fatalf("fourth poster: %d %s, want 429", resp.StatusCode, body)
	}
	// The same poster again in a room it is in is no new poster.
	if resp, body := post(t, hs, "/synk/r0", `{"c":"poster","d":[{"k":"a","v":2}]}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("post again: %d %s", resp.StatusCode, body)
	}
}

func post(t *testing.T, hs *httptest.Server, path, body string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Post(hs.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestJoined_parts: issue 15.5. A snapshot of more than joinedPart bytes
// comes in several Joined frames, all but the last marked More, whose
// members together are the room's.
func TestJoined_parts(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, nil)
	var big []protocol.Entry
	for k := range 4 {
		big = append(big, blob(fmt.Sprint("k", k), 15000))
	}
	for i := range 40 { // 40 × 60 KB
		dialPeer(t, hs, fmt.Sprintf("m%02d", i)).join("r", false, big...)
	}
	p := dialPeer(t, hs, "")
	p.send(&protocol.Join{ID: 7, Room: "r", Observer: true})
	var members []string
	frames := 0
	for {
		j := expect[*protocol.Joined](p)
		frames++
		if j.ID != 7 || j.Room != "r" || j.Handle == 0 {
			t.Fatalf("part %d: %+v", frames, j)
		}
		for _, m := range j.Members {
			members = append(members, m.Client)
		}
		if !j.More {
			break
		}
	}
	if frames < 4 || len(members) != 40 || members[0] != "m00" || members[39] != "m39" {
		t.Fatalf("%d frames carried %v, want at least 4 (2.4 MB in parts of 512 KiB) carrying m00…m39", frames, members)
	}
}

// TestBudget_replaceInFullRoom: a client joining again from a new
// connection (its old one not yet seen gone) takes its own place in a
// room at its presence limit: the bytes of the member it replaces count
// as freed.
func TestBudget_replaceInFullRoom(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, &Options{MaxRoomPresence: 70 << 10})
	dialPeer(t, hs, "a").join("r", false, blob("a", 15000), blob("b", 15000))
	dialPeer(t, hs, "b").join("r", false, blob("a", 15000), blob("b", 15000))
	again := dialPeer(t, hs, "a")
	again.join("r", false, blob("a", 15000), blob("b", 15000)) // fails the test if refused
	other := dialPeer(t, hs, "c")
	other.send(&protocol.Join{ID: 9, Room: "r", Entries: []protocol.Entry{blob("a", 15000)}})
	if e := other.expectError(protocol.CodeTooMany); e.ID != 9 {
		t.Fatalf("error %+v, want TooMany for Join 9", e)
	}
}

// TestBudget_roomsPerIP: issue 15.6. Clients from one address may have
// created at most MaxRoomsPerIP open rooms: the next new room is refused
// with TooMany (joining rooms others made is not), and a freed room makes
// room.
func TestBudget_roomsPerIP(t *testing.T) {
	t.Parallel()
	s, hs := testServer(t, &Options{MaxRoomsPerIP: 2})
	p := dialPeer(t, hs, "p")
	p.join("a", true)
	p.join("b", true)
	p.send(&protocol.Join{ID: 10, Room: "c", Observer: true})
	if e := p.expectError(protocol.CodeTooMany); e.ID != 10 || !strings.Contains(e.Message, "create") {
		t.Fatalf("error %+v, want TooMany for Join 10", e)
	}
	if resp, body := post(t, hs, "/synk/d", `{"c":"poster","d":[]}`); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("POST to a new room: %d %s, want 429", resp.StatusCode, body)
	}
	dialPeer(t, hs, "q").join("b", false) // a room made already
	p.send(&protocol.Leave{ID: 11, Room: "a"})
	if _, ok := reply(p, 11).(*protocol.OK); !ok {
		t.Fatal("Leave not answered OK")
	}
	p.join("c", true)
	s.hold.mu.Lock()
	defer s.hold.mu.Unlock()
	if n := s.hold.perIP["127.0.0.1"].rooms; n != 2 {
		t.Fatalf("the address counts %d rooms, want 2 (b and c)", n)
	}
}
