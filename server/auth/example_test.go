//go:build !js

package auth_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/synkhq/synk/server"
	"github.com/synkhq/synk/server/auth"
)

// With auth, a client presents a token minted for it (here by
// Mint; any JWT library will do) and may do what its rooms claim says.
func ExampleNew() {
	key := []byte("a secret of at least thirty-two bytes")
	verifier, err := auth.New(key)
	if err != nil {
		panic(err)
	}
	token, err := auth.Mint(key, auth.Claims{
		Rooms: map[string][]auth.Capability{"lobby": {auth.CapPresence, auth.CapObserve}},
		RegisteredClaims: jwt.RegisteredClaims{Subject: "ada",
			ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))},
	})
	if err != nil {
		panic(err)
	}
	s, err := server.New(&server.Options{Auth: verifier})
	if err != nil {
		panic(err)
	}
	hs := httptest.NewServer(s)
	defer hs.Close()
	defer s.Shutdown(context.Background())

	for _, url := range []string{"/synk/lobby", "/synk/lobby?token=" + token, "/synk/attic?token=" + token} {
		resp, err := http.Get(hs.URL + url)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode)
	}
	// Output:
	// 401
	// 200
	// 403
}
