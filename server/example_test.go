//go:build !js

package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/synkhq/synk/server"
)

// A server is an http.Handler. Here two supersynk-style posters meet.
func ExampleNew() {
	s, err := server.New(nil)
	if err != nil {
		panic(err)
	}
	hs := httptest.NewServer(s)
	defer hs.Close()
	defer s.Shutdown(context.Background())

	post := func(body string) string {
		resp, err := http.Post(hs.URL+"/synk/lobby", "application/json", strings.NewReader(body))
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.TrimSpace(string(b))
	}
	fmt.Println(post(`{"c":"ada","d":[{"k":"head","v":"0 1.6 0"}]}`))
	fmt.Println(post(`{"c":"joe","d":[{"k":"head","v":"2 1.7 1"}]}`))
	fmt.Println(s.Rooms())
	// Output:
	// []
	// [{"c":"ada","d":[{"k":"head","v":"0 1.6 0"}]}]
	// [{lobby 2 0}]
}

// Server code keeps typed objects; only changed fields reach subscribers.
func ExampleNewObjects() {
	s, _ := server.New(nil)
	defer s.Shutdown(context.Background())

	type crate struct {
		X    float64 `msgpack:"x"`
		Mass int     `msgpack:"mass"`
	}
	crates := server.NewObjects[crate](s, "world", "crate")
	crates.Create("c1", "0:0", &crate{X: 1, Mass: 40})
	v, _ := crates.Update("c1", func(c *crate) { c.X += 2 })
	crates.Move("c1", "0:1")
	c, area, version, _ := crates.Get("c1")
	fmt.Println(v, c.X, c.Mass, area, version)
	// Output: 2 3 40 0:1 3
}
