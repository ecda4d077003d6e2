//go:build !js

package client_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/synkhq/synk/client"
	"github.com/synkhq/synk/protocol"
	"github.com/synkhq/synk/server"
)

// Two clients join a room; one sees the other arrive and move. (The
// example runs a real server in-process; the client package itself never
// imports it.)
func ExampleDial() {
	s, _ := server.New(nil)
	hs := httptest.NewServer(s)
	defer hs.Close()
	defer s.Shutdown(context.Background())
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ada, err := client.Dial(ctx, url, &client.DialOptions{Client: "ada"})
	if err != nil {
		panic(err)
	}
	defer ada.Close()
	lobby, err := ada.Join(ctx, "lobby", &client.JoinOptions{Presence: map[string]any{"color": "teal"}})
	if err != nil {
		panic(err)
	}

	joe, _ := client.Dial(ctx, url, &client.DialOptions{Client: "joe"})
	defer joe.Close()
	room, _ := joe.Join(ctx, "lobby", nil)
	room.Set(ctx, map[string]any{"pos": []float32{1, 0, 2}})

	for e := range ada.Events() {
		fmt.Println(e.Kind, e.Client)
		if e.Kind == client.EventChange {
			var pos []float32
			client.Member{Entries: e.Entries}.Get("pos", &pos)
			fmt.Println("pos", pos)
			break
		}
	}
	for _, m := range lobby.Members() {
		fmt.Println(m.Client, len(m.Entries), "keys")
	}
	// Output:
	// Join joe
	// Change joe
	// pos [1 0 2]
	// ada 1 keys
	// joe 1 keys
}

// One member sends the room a message and another member one of its own;
// messages are not kept, so they suit what is fleeting (a nudge, a chat
// line, a scene's updates).
func ExampleRoom_Send() {
	s, _ := server.New(nil)
	hs := httptest.NewServer(s)
	defer hs.Close()
	defer s.Shutdown(context.Background())
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ada, _ := client.Dial(ctx, url, &client.DialOptions{Client: "ada"})
	defer ada.Close()
	ra, _ := ada.Join(ctx, "lobby", nil)
	joe, _ := client.Dial(ctx, url, &client.DialOptions{Client: "joe"})
	defer joe.Close()
	joe.Join(ctx, "lobby", nil)

	if err := ra.Send(ctx, "", "chat", "hello, room"); err != nil {
		panic(err)
	}
	if err := ra.Send(ctx, "joe", "nudge", "psst"); err != nil {
		panic(err)
	}
	for n := 0; n < 2; {
		e := <-joe.Events()
		if e.Kind != client.EventMessage {
			continue
		}
		var text string
		client.Member{Entries: map[string]protocol.RawMessage{"d": e.Data}}.Get("d", &text)
		fmt.Println(e.Client, e.Topic, text, "direct:", e.Direct)
		n++
	}
	// Output:
	// ada chat hello, room direct: false
	// ada nudge psst direct: true
}

// A program keeps its room in a file: the next run starts from the cached
// objects and resumes from their position, and a write it queued while
// offline goes out then.
func ExampleOpenFile() {
	s, _ := server.New(nil)
	hs := httptest.NewServer(s)
	defer hs.Close()
	defer s.Shutdown(context.Background())
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"
	dir, _ := os.MkdirTemp("", "synk-example")
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	run := func(work func(*client.Room)) {
		st, err := client.OpenFile(filepath.Join(dir, "state.db"))
		if err != nil {
			panic(err)
		}
		defer st.Close()
		c, err := client.Dial(ctx, url, &client.DialOptions{Store: st})
		if err != nil {
			panic(err)
		}
		defer c.Close() // flushes the cache to the file
		room, err := c.Join(ctx, "world", nil)
		if err != nil {
			panic(err)
		}
		work(room)
	}
	run(func(room *client.Room) {
		room.Subscribe(ctx, []string{"hall"}, nil)
		room.Create(ctx, "lamp", "item", "hall", map[string]any{"on": false})
	})
	run(func(room *client.Room) {
		for _, o := range room.Objects() { // from the file, before any change arrives
			var on bool
			o.Get("on", &on)
			fmt.Println(o.ID, o.Area, on)
		}
	})
	// Output: lamp hall false
}
